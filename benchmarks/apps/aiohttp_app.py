"""aiohttp's server: onion ``(request, handler)`` middleware. Not ASGI, so network mode only."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware
from scenarios import COMPRESS_PAYLOAD, HELLO, JSON_PAYLOAD, STATIC_DIR, AppSpec, route_path, route_text, user_payload

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def pass_through(request: web.Request, handler: Handler) -> web.StreamResponse:
    return await handler(request)


@web.middleware
async def response_time(request: web.Request, handler: Handler) -> web.StreamResponse:
    start = time.perf_counter()
    response = await handler(request)
    response.headers["X-Response-Time"] = f"{(time.perf_counter() - start) * 1000:.3f}ms"
    return response


@web.middleware
async def logger(request: web.Request, handler: Handler) -> web.StreamResponse:
    start = time.perf_counter()
    response = await handler(request)
    _ = (request.method, request.path, time.perf_counter() - start)
    return response


async def hello(request: web.Request) -> web.StreamResponse:
    return web.Response(text=HELLO)


async def user(request: web.Request) -> web.StreamResponse:
    return web.json_response(user_payload(request.match_info["id"]))


async def payload(request: web.Request) -> web.StreamResponse:
    return web.json_response(JSON_PAYLOAD)


async def big_payload(request: web.Request) -> web.StreamResponse:
    response = web.json_response(COMPRESS_PAYLOAD)
    response.enable_compression()  # gzip or deflate, as Accept-Encoding says
    return response


async def echo(request: web.Request) -> web.StreamResponse:
    return web.json_response(await request.json())


def _route(index: int) -> Handler:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        return web.Response(text=route_text(index, request.match_info["id"]))

    return endpoint


def build(spec: AppSpec) -> web.Application:
    """Return the aiohttp app for ``spec``; middlewares run in list order."""
    middlewares: list[Middleware] = []
    if spec.kind == "stack":
        middlewares = [response_time, logger, pass_through, pass_through, pass_through]
    elif spec.kind == "depth":
        middlewares = [pass_through] * spec.size
    app = web.Application(middlewares=middlewares)
    router = app.router
    if spec.kind in ("hello", "depth"):
        router.add_get("/", hello, allow_head=False)
    elif spec.kind == "stack":
        router.add_get("/users/{id}", user, allow_head=False)
    elif spec.kind == "json":
        router.add_get("/json", payload, allow_head=False)
    elif spec.kind == "post":
        router.add_post("/echo", echo)
    elif spec.kind == "compress":
        router.add_get("/compress", big_payload, allow_head=False)
    elif spec.kind == "routes":
        for i in range(spec.size):
            router.add_get(route_path(i), _route(i), allow_head=False)
    elif spec.kind == "static":
        router.add_static("/static", STATIC_DIR)
    else:
        raise ValueError(spec.kind)
    return app
