"""Middleware shipped with aiokoa, one module each (`aiokoa.middleware.<name>`).

Each module builds on the core's public surface only (`aiokoa.core`, `aiokoa.http`,
`aiokoa.types`), like any third-party middleware would; see docs/architecture.md. Each
factory is exported here under its module's name (`from aiokoa.middleware import cors`
gives the function), so a module itself is reached through `sys.modules` or
`importlib.import_module("aiokoa.middleware.cors")`.
"""

from .body_parser import body_parser
from .compress import compress
from .conditional import conditional_get
from .cors import cors
from .csrf import csrf, csrf_token
from .etag import etag
from .health import health
from .helmet import helmet
from .logger import logger
from .rate_limit import rate_limit
from .session import Session, SessionContext, SessionTooLarge, session
from .static import send, serve_static
from .stores import MemoryStore, RedisStore, Store, StoreUnavailable

__all__ = [
    "MemoryStore",
    "RedisStore",
    "Session",
    "SessionContext",
    "SessionTooLarge",
    "Store",
    "StoreUnavailable",
    "body_parser",
    "compress",
    "conditional_get",
    "cors",
    "csrf",
    "csrf_token",
    "etag",
    "health",
    "helmet",
    "logger",
    "rate_limit",
    "send",
    "serve_static",
    "session",
]
