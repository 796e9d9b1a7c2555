"""What the long runs share: the flag that makes them full length, and the benchmark's soak
driver (benchmarks/soak.py), which also samples a server's RSS.

`AIOKOA_SOAK=full` runs the soak with 1,000,000 requests and the disconnects 10,000 times;
without it the test command runs them short.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

FULL = os.environ.get("AIOKOA_SOAK") == "full"

BENCHMARKS = Path(__file__).parent.parent.parent / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))
soak = importlib.import_module("soak")
network = importlib.import_module("network")
report = importlib.import_module("report")


def length(short: int, full: int) -> int:
    """`full` with `AIOKOA_SOAK=full`, else `short`."""
    return full if FULL else short
