"""The optional C extension; everything else is in pyproject.toml.

Where no C compiler is found the build goes on without it and aiokoa runs in pure Python.
`AIOKOA_REQUIRE_EXTENSION=1` makes a failed build an error (`./dev` sets it where `cc` exists).
"""

import os

from setuptools import Extension, setup

required = bool(os.environ.get("AIOKOA_REQUIRE_EXTENSION"))
setup(ext_modules=[Extension("aiokoa._speedups", ["src/aiokoa/_speedups.c"], optional=not required)])
