"""atheris (libFuzzer, coverage-guided) on every parser of request input.

`./dev fuzz` runs it after the long Hypothesis run:
`python -m tests.reliability.atheris_parsers -max_total_time=300 -artifact_prefix=tests/reliability/fuzz-crashes/`.
Each input, read as Latin-1 as a server reads a header, goes to every parser in
`fuzzing.PARSERS`; an exception a parser does not document stops the run, and libFuzzer
writes the input to `fuzz-crashes/crash-*`, which the normal test run then replays.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported in main(), after the instrumentation hook is in place
    from .fuzzing import Parser


def one_input(parsers: Sequence[Parser], data: bytes) -> None:
    text = data.decode("latin-1")
    for parser in parsers:
        parser.run(text)


def main() -> None:
    import atheris

    # Only aiokoa's code is instrumented for coverage: it is imported first here, under the hook.
    with atheris.instrument_imports(include=["aiokoa"]):
        import aiokoa.http
        import aiokoa.router
        import aiokoa.testing  # noqa: F401
    from .fuzzing import PARSERS

    atheris.Setup(sys.argv, lambda data: one_input(PARSERS, data))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
