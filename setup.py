"""The optional C extension; everything else is in pyproject.toml.

Where no C compiler is found the build goes on without it and aiokoa runs in pure Python.
`AIOKOA_REQUIRE_EXTENSION=1` makes a failed build an error, and `AIOKOA_STRICT_BUILD=1` makes
every compiler warning one (`./dev test` sets both): a plain `pip install` is not broken by a
warning a newer compiler adds. `AIOKOA_SANITIZE=1` builds with AddressSanitizer and UBSan
(`./dev asan`). `AIOKOA_C_COVERAGE=1` builds it for gcov, unoptimised so that each line and
branch of the source is one in the binary (`./dev ccov`).
"""

import os

from setuptools import Extension, setup

required = bool(os.environ.get("AIOKOA_REQUIRE_EXTENSION"))
flags = ["-Wall", "-Wextra", "-Werror"] if os.environ.get("AIOKOA_STRICT_BUILD") else []
sanitize = (
    ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g"]
    if os.environ.get("AIOKOA_SANITIZE")
    else []
)
coverage = ["--coverage", "-O0"] if os.environ.get("AIOKOA_C_COVERAGE") else []
setup(
    ext_modules=[
        Extension(
            "aiokoa._speedups",
            ["src/aiokoa/_speedups.c"],
            optional=not required,
            extra_compile_args=flags + sanitize + coverage,
            extra_link_args=sanitize + coverage,
        )
    ]
)
