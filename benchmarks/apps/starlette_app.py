"""Starlette, twice: pure ASGI middleware (the fast idiom) and ``BaseHTTPMiddleware``.

``BaseHTTPMiddleware`` is what most Starlette users write, and its per-layer task
and stream cost is the pain a Koa-style ``await next()`` removes, so both are shown.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from scenarios import (
    COMPRESS_PAYLOAD,
    HELLO,
    HELMET_HEADERS,
    JSON_PAYLOAD,
    LOGIN_PATH,
    RATE_LIMIT_MAX,
    SESSION_SECRET,
    SESSION_USER,
    STATIC_DIR,
    AppSpec,
    batteries_payload,
    route_path,
    route_text,
    user_payload,
)
from slowapi import Limiter
from slowapi.middleware import SlowAPIASGIMiddleware
from slowapi.util import get_remote_address
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

JSON_TYPE = "application/json; charset=utf-8"


class CompactJSON(JSONResponse):
    """Starlette's JSONResponse already renders compactly; only the media type is set here."""

    media_type = JSON_TYPE


async def hello(request: Request) -> Response:
    return PlainTextResponse(HELLO)


async def user(request: Request) -> Response:
    return CompactJSON(user_payload(request.path_params["id"]))


async def payload(request: Request) -> Response:
    return CompactJSON(JSON_PAYLOAD)


async def big_payload(request: Request) -> Response:
    return CompactJSON(COMPRESS_PAYLOAD)


async def echo(request: Request) -> Response:
    return CompactJSON(await request.json())


async def echo_websocket(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            message = await websocket.receive_text()
            await websocket.send_text(message)
    except WebSocketDisconnect:
        pass


async def upload(request: Request) -> Response:
    async with request.form(max_part_size=1 << 20) as form:
        file = form["file"]
        assert not isinstance(file, str)
        return CompactJSON({"filename": file.filename, "size": file.size})


async def login(request: Request) -> Response:
    request.session["user"] = SESSION_USER
    return CompactJSON({"user": SESSION_USER})


async def api_user(request: Request) -> Response:
    return CompactJSON(batteries_payload(request.path_params["id"], request.session))


def _route(index: int) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return PlainTextResponse(route_text(index, request.path_params["id"]))

    return endpoint


# --- pure ASGI middleware -------------------------------------------------------------


class PassThrough:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class ResponseTime:
    """Adds x-response-time at ``http.response.start``: the only ASGI point to set a header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()

        async def send_with_time(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed = f"{(time.perf_counter() - start) * 1000:.3f}ms".encode()
                message["headers"] = [*message.get("headers", ()), (b"x-response-time", elapsed)]
            await send(message)

        await self.app(scope, receive, send_with_time)


class Logger:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        await self.app(scope, receive, send)
        _ = (scope.get("method"), scope.get("path"), time.perf_counter() - start)


class SecurityHeaders:
    """helmet's default header set, added at ``http.response.start``: Starlette has no helmet."""

    headers: ClassVar[list[tuple[bytes, bytes]]] = [(name.encode(), value.encode()) for name, value in HELMET_HEADERS]

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*self.headers, *message.get("headers", ())]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def batteries_middleware() -> list[Middleware]:
    """Security headers, CORS, a signed cookie session (itsdangerous) and slowapi's rate limit
    (in memory, with its X-RateLimit headers), outermost first; the app's ``state.limiter``
    must be ``limiter()``'s."""
    return [
        Middleware(SecurityHeaders),
        Middleware(CORSMiddleware, allow_origins=["*"]),
        Middleware(SessionMiddleware, secret_key=SESSION_SECRET),
        Middleware(SlowAPIASGIMiddleware),
    ]


def limiter() -> Limiter:
    return Limiter(key_func=get_remote_address, default_limits=[f"{RATE_LIMIT_MAX}/hour"], headers_enabled=True)


# --- BaseHTTPMiddleware -----------------------------------------------------------------


class BasePassThrough(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        return await call_next(request)


class BaseResponseTime(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        response.headers["X-Response-Time"] = f"{(time.perf_counter() - start) * 1000:.3f}ms"
        return response


class BaseLogger(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        _ = (request.method, request.url.path, time.perf_counter() - start)
        return response


def _routes(spec: AppSpec) -> list[BaseRoute]:
    if spec.kind in ("hello", "depth"):
        return [Route("/", hello)]
    if spec.kind == "stack":
        return [Route("/users/{id}", user)]
    if spec.kind == "json":
        return [Route("/json", payload)]
    if spec.kind == "post":
        return [Route("/echo", echo, methods=["POST"])]
    if spec.kind == "compress":
        return [Route("/compress", big_payload)]
    if spec.kind == "batteries":
        return [Route(LOGIN_PATH, login), Route("/api/users/{id}", api_user)]
    if spec.kind == "upload":
        return [Route("/upload", upload, methods=["POST"])]
    if spec.kind == "websocket":
        return [WebSocketRoute("/echo", echo_websocket)]
    if spec.kind == "routes":
        return [Route(route_path(i), _route(i)) for i in range(spec.size)]
    if spec.kind == "static":
        return [Mount("/static", StaticFiles(directory=STATIC_DIR))]
    raise ValueError(spec.kind)


def _build(spec: AppSpec, base_http: bool) -> Starlette:
    passthrough: Any = BasePassThrough if base_http else PassThrough
    middleware: list[Middleware] = []
    if spec.kind == "stack":
        timing: Any = BaseResponseTime if base_http else ResponseTime
        logger: Any = BaseLogger if base_http else Logger
        middleware = [Middleware(timing), Middleware(logger)] + [Middleware(passthrough)] * 3
    elif spec.kind == "depth":
        middleware = [Middleware(passthrough) for _ in range(spec.size)]
    elif spec.kind == "compress":
        middleware = [Middleware(GZipMiddleware)]  # its defaults: level 9, from 500 bytes
    elif spec.kind == "batteries":
        middleware = batteries_middleware()
    app = Starlette(routes=_routes(spec), middleware=middleware)
    app.state.limiter = limiter()
    return app


def build(spec: AppSpec) -> Starlette:
    """Starlette with pure ASGI middleware."""
    return _build(spec, base_http=False)


def build_base_http(spec: AppSpec) -> Starlette:
    """Starlette with ``BaseHTTPMiddleware`` subclasses."""
    return _build(spec, base_http=True)
