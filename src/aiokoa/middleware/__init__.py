"""Middleware shipped with aiokoa, one module each (`aiokoa.middleware.<name>`).

Each module builds on the core's public surface only (`aiokoa.core`, `aiokoa.http`,
`aiokoa.types`), like any third-party middleware would; see docs/architecture.md.
"""

from .csrf import csrf, csrf_token
from .rate_limit import rate_limit
from .session import Session, SessionContext, SessionTooLarge, session
from .stores import MemoryStore, RedisStore, Store, StoreUnavailable

__all__ = [
    "MemoryStore",
    "RedisStore",
    "Session",
    "SessionContext",
    "SessionTooLarge",
    "Store",
    "StoreUnavailable",
    "csrf",
    "csrf_token",
    "rate_limit",
    "session",
]
