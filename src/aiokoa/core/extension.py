"""`aiokoa._speedups`, the optional C extension, or None: not built here, or turned off
with `AIOKOA_PURE_PYTHON=1`. Imports nothing else of aiokoa, so any module may use it."""

from __future__ import annotations

import contextlib
import os
from types import ModuleType

speedups: ModuleType | None = None
if not os.environ.get("AIOKOA_PURE_PYTHON"):
    with contextlib.suppress(ImportError):  # not compiled here: pure Python
        from .. import _speedups as speedups  # noqa: F401 - the name this module exports
