"""`aiokoa._speedups`, the optional C extension, or None: not built here, turned off with
`AIOKOA_PURE_PYTHON=1`, or a free-threaded Python (the C relies on the GIL). Only
`implementations.py` uses it."""

from __future__ import annotations

import os
import sysconfig
from types import ModuleType


def load() -> ModuleType | None:
    """The extension where it can run, else None."""
    if os.environ.get("AIOKOA_PURE_PYTHON") or sysconfig.get_config_var("Py_GIL_DISABLED"):
        return None
    try:
        from .. import _speedups
    except ImportError:  # not compiled here: pure Python
        return None
    return _speedups


speedups = load()
