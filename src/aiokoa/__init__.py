"""aiokoa: Koa's middleware cascade for Python's asyncio and ASGI."""

from .broadcast import Broadcast, BroadcastUnavailable, Subscription, SubscriptionOverflow
from .core.application import Application, Koa
from .core.compose import Middleware, Next, compose
from .core.context import Context
from .core.errors import ClientDisconnect, HttpError, create_error, is_http_error
from .core.misuse import MiddlewareError, ResponseSentError
from .core.request import Request
from .core.response import Response
from .core.sse import EventStream, ServerSentEvent
from .core.websocket import WebSocket, WebSocketDisconnect, WebSocketRefused
from .http.cookies import CookieError
from .http.forms import FormData, UploadFile
from .mount import mount
from .router import NoMatchFound, RegistrationError, Router
from .tracing import Tracer, trace

__all__ = [
    "Application",
    "Broadcast",
    "BroadcastUnavailable",
    "ClientDisconnect",
    "Context",
    "CookieError",
    "EventStream",
    "FormData",
    "HttpError",
    "Koa",
    "Middleware",
    "MiddlewareError",
    "Next",
    "NoMatchFound",
    "RegistrationError",
    "Request",
    "Response",
    "ResponseSentError",
    "Router",
    "ServerSentEvent",
    "Subscription",
    "SubscriptionOverflow",
    "Tracer",
    "UploadFile",
    "WebSocket",
    "WebSocketDisconnect",
    "WebSocketRefused",
    "compose",
    "create_error",
    "is_http_error",
    "mount",
    "trace",
]
__version__ = "0.1.0"
