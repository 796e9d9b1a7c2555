"""Litestar with ``ASGIMiddleware`` (its recommended middleware since 2.15) and typed handlers."""

from __future__ import annotations

import time
from typing import Any

from litestar import Litestar, MediaType, Request, Router, get, post
from litestar.config.compression import CompressionConfig
from litestar.config.cors import CORSConfig
from litestar.datastructures import ResponseHeader
from litestar.handlers import HTTPRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp, Message, Receive, Scope, Send
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

from apps.orders import Order


class PassThrough(ASGIMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        await next_app(scope, receive, send)


class ResponseTime(ASGIMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        start = time.perf_counter()

        async def send_with_time(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed = f"{(time.perf_counter() - start) * 1000:.3f}ms".encode()
                message["headers"] = [*message.get("headers", ()), (b"x-response-time", elapsed)]
            await send(message)

        await next_app(scope, receive, send_with_time)


class Logger(ASGIMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        start = time.perf_counter()
        await next_app(scope, receive, send)
        _ = (scope.get("method"), scope["path"], time.perf_counter() - start)


async def hello() -> str:
    return HELLO


async def user(id: FromPath[str]) -> dict[str, str]:
    return user_payload(id)


async def payload() -> dict[str, Any]:
    return JSON_PAYLOAD


async def big_payload() -> dict[str, Any]:
    return COMPRESS_PAYLOAD


async def echo(data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    return data


async def login(request: Request[Any, Any, Any]) -> dict[str, str]:
    request.set_session({"user": SESSION_USER})
    return {"user": SESSION_USER}


async def api_user(id: FromPath[str], request: Request[Any, Any, Any]) -> dict[str, Any]:
    return batteries_payload(id, request.session)


def _route(index: int) -> HTTPRouteHandler:
    async def endpoint(id: FromPath[str]) -> str:
        return route_text(index, id)

    path = route_path(index).replace("{id}", "{id:str}")
    return get(path, media_type=MediaType.TEXT, name=f"r{index}")(endpoint)


async def create_order(data: JSONBody[Order]) -> Order:
    return data


async def items(limit: FromQuery[int] = 20, offset: FromQuery[int] = 0, q: FromQuery[str] = "") -> dict[str, Any]:
    return {"limit": limit, "offset": offset, "q": q}


def _handlers(spec: AppSpec) -> list[HTTPRouteHandler | Router]:
    """Fresh handler objects per app: Litestar binds a handler to the app that owns it."""
    if spec.kind in ("hello", "depth"):
        return [get("/", media_type=MediaType.TEXT)(hello)]
    if spec.kind == "stack":
        return [get("/users/{id:str}")(user)]
    if spec.kind == "json":
        return [get("/json")(payload)]
    if spec.kind == "post":
        return [post("/echo", status_code=200)(echo)]
    if spec.kind == "compress":
        return [get("/compress")(big_payload)]
    if spec.kind == "batteries":
        return [get(LOGIN_PATH)(login), get("/api/users/{id:str}")(api_user)]
    if spec.kind == "routes":
        return [_route(i) for i in range(spec.size)]
    if spec.kind == "static":
        return [create_static_files_router(path="/static", directories=[STATIC_DIR])]
    if spec.kind == "typed":
        return [post("/orders", status_code=200)(create_order), get("/items")(items)]
    raise ValueError(spec.kind)


def build(spec: AppSpec) -> Litestar:
    """Return the Litestar app for ``spec``; middleware runs in list order."""
    middleware: list[Any] = []
    if spec.kind == "depth":
        middleware = [PassThrough() for _ in range(spec.size)]
    elif spec.kind == "stack":
        middleware = [ResponseTime(), Logger(), PassThrough(), PassThrough(), PassThrough()]
    # br, falling back to gzip, at their defaults (br quality 5, gzip level 9)
    compression = CompressionConfig(backend="brotli", brotli_gzip_fallback=True) if spec.kind == "compress" else None
    if spec.kind != "batteries":
        return Litestar(
            route_handlers=_handlers(spec), middleware=middleware, openapi_config=None, compression_config=compression
        )
    # Its built-ins: a signed and encrypted cookie session (AES-GCM), a rate limit in its
    # memory store (with its RateLimit-* headers), CORS, and helmet's headers as app-wide
    # response headers (Litestar has no helmet).
    return Litestar(
        route_handlers=_handlers(spec),
        middleware=[
            CookieBackendConfig(secret=SESSION_SECRET.encode()).middleware,
            RateLimitConfig(rate_limit=("hour", RATE_LIMIT_MAX)).middleware,
        ],
        cors_config=CORSConfig(allow_origins=["*"]),
        response_headers=[ResponseHeader(name=name, value=value) for name, value in HELMET_HEADERS],
        openapi_config=None,
    )
