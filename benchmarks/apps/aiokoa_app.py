"""aiokoa, written the way its documentation teaches: Koa's cascade, one ctx per request.

Runs in production mode, as a deployed app would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokoa import Koa

from scenarios import HELLO, JSON_PAYLOAD, AppSpec, route_path, route_text, user_payload

Handler = Callable[[Any, Callable[[], Awaitable[Any]]], Awaitable[None]]

try:
    from aiokoa import Router
except ImportError:  # FALLBACK-ROUTER: delete this branch once aiokoa ships Router.
    Router = None


class _FallbackRouter:
    """FALLBACK-ROUTER: a stand-in for ``aiokoa.Router`` until it exists; delete with it.

    Handles only ``/prefix/{param}`` patterns with an exact dict lookup on the
    prefix, so it flatters route lookup; figures taken with it say so in RESULTS.md.
    """

    def __init__(self) -> None:
        self._table: dict[str, tuple[str, Handler]] = {}

    def get(self, pattern: str) -> Callable[[Handler], Handler]:
        prefix, _, param = pattern.rpartition("/")
        assert param.startswith("{") and param.endswith("}"), pattern

        def register(fn: Handler) -> Handler:
            self._table[prefix] = (param[1:-1], fn)
            return fn

        return register

    def routes(self) -> Handler:
        table = self._table

        async def dispatch(ctx: Any, next: Callable[[], Awaitable[Any]]) -> None:
            prefix, _, value = ctx.path.rpartition("/")
            hit = table.get(prefix) if ctx.method == "GET" else None
            if hit is None:
                await next()
                return
            ctx.params = {hit[0]: value}
            await hit[1](ctx, next)

        return dispatch


USING_FALLBACK_ROUTER = Router is None


def _router() -> Any:
    return _FallbackRouter() if Router is None else Router()


async def _hello(ctx: Any, next: Callable[[], Awaitable[Any]]) -> None:
    ctx.body = HELLO


async def _pass(ctx: Any, next: Callable[[], Awaitable[Any]]) -> None:
    await next()


async def _x_response_time(ctx: Any, next: Callable[[], Awaitable[Any]]) -> None:
    start = time.perf_counter()
    await next()
    ctx.set("X-Response-Time", f"{(time.perf_counter() - start) * 1000:.3f}ms")


async def _logger(ctx: Any, next: Callable[[], Awaitable[Any]]) -> None:
    """Koa's logger example, measuring but not printing (printing would time the terminal)."""
    start = time.perf_counter()
    await next()
    _ = (ctx.method, ctx.path, time.perf_counter() - start)


async def _json(ctx: Any, next: Callable[[], Awaitable[Any]]) -> None:
    ctx.body = JSON_PAYLOAD


async def _echo(ctx: Any, next: Callable[[], Awaitable[Any]]) -> None:
    """Reads the raw ASGI body until aiokoa has a body parser."""
    receive = ctx.receive
    message = await receive()
    body: bytes = message.get("body", b"")
    while message.get("more_body"):
        message = await receive()
        body += message.get("body", b"")
    ctx.body = json.loads(body)


def _route_handler(index: int) -> Handler:
    async def handler(ctx: Any, next: Callable[[], Awaitable[Any]]) -> None:
        ctx.body = route_text(index, ctx.params["id"])

    return handler


def build(spec: AppSpec) -> Any:
    """Return the aiokoa app (itself an ASGI 3 callable) for ``spec``."""
    app = Koa(env="production")
    if spec.kind == "hello":
        app.use(_hello)
    elif spec.kind == "depth":
        for _ in range(spec.size):
            app.use(_pass)
        app.use(_hello)
    elif spec.kind == "json":
        app.use(_json)
    elif spec.kind == "post":
        app.use(_echo)
    elif spec.kind == "stack":
        router = _router()

        @router.get("/users/{id}")
        async def user(ctx: Any, next: Callable[[], Awaitable[Any]]) -> None:
            ctx.body = user_payload(ctx.params["id"])

        app.use(_x_response_time)
        app.use(_logger)
        for _ in range(3):
            app.use(_pass)
        app.use(router.routes())
    elif spec.kind == "routes":
        router = _router()
        for i in range(spec.size):
            router.get(route_path(i))(_route_handler(i))
        app.use(router.routes())
    else:
        raise ValueError(spec.kind)
    return app
