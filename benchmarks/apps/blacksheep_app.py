"""BlackSheep: the fastest Python peer in-process, with ``(request, handler)`` middleware.

Handlers take the ``Request`` and read ``route_values`` directly, the leanest
documented style, so the comparison against aiokoa is a conservative one.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from blacksheep import Application, FromJSON, FromQuery, Request, Response, json, text
from blacksheep.server.compression import GzipMiddleware
from blacksheep.server.routing import Router
from scenarios import COMPRESS_PAYLOAD, HELLO, JSON_PAYLOAD, STATIC_DIR, AppSpec, route_path, route_text, user_payload

from apps.orders import OrderModel as Order

Handler = Callable[[Request], Awaitable[Response]]


async def pass_through(request: Request, handler: Handler) -> Response:
    return await handler(request)


async def response_time(request: Request, handler: Handler) -> Response:
    start = time.perf_counter()
    response = await handler(request)
    response.add_header(b"X-Response-Time", f"{(time.perf_counter() - start) * 1000:.3f}ms".encode())
    return response


async def logger(request: Request, handler: Handler) -> Response:
    start = time.perf_counter()
    response = await handler(request)
    _ = (request.method, request.url.path, time.perf_counter() - start)
    return response


async def hello(request: Request) -> Response:
    return text(HELLO)


async def user(request: Request) -> Response:
    return json(user_payload(request.route_values["id"] or ""))


async def payload(request: Request) -> Response:
    return json(JSON_PAYLOAD)


async def big_payload(request: Request) -> Response:
    return json(COMPRESS_PAYLOAD)


async def echo(request: Request) -> Response:
    return json(await request.json())


def _route(index: int) -> Handler:
    async def endpoint(request: Request) -> Response:
        return text(route_text(index, request.route_values["id"] or ""))

    return endpoint


async def create_order(order: FromJSON[Order]) -> Response:
    return json(order.value.model_dump())


async def items(limit: FromQuery[int], offset: FromQuery[int], q: FromQuery[str]) -> Response:
    return json({"limit": limit.value, "offset": offset.value, "q": q.value})


def build(spec: AppSpec) -> Application:
    """Return the BlackSheep app for ``spec``; middlewares run in list order."""
    app = Application(router=Router(), show_error_details=False)  # own router: several apps per process
    router = app.router
    if spec.kind in ("hello", "depth"):
        router.add_get("/", hello)
        app.middlewares.extend([pass_through] * spec.size)
    elif spec.kind == "stack":
        router.add_get("/users/{id}", user)
        app.middlewares.extend([response_time, logger, pass_through, pass_through, pass_through])
    elif spec.kind == "json":
        router.add_get("/json", payload)
    elif spec.kind == "post":
        router.add_post("/echo", echo)
    elif spec.kind == "compress":
        router.add_get("/compress", big_payload)
        app.middlewares.append(GzipMiddleware())  # its defaults: level 5, from 500 bytes
    elif spec.kind == "routes":
        for i in range(spec.size):
            router.add_get(route_path(i), _route(i))
    elif spec.kind == "static":
        app.serve_files(STATIC_DIR, root_path="static", extensions={".bin"})
    elif spec.kind == "typed":
        router.add_post("/orders", create_order)
        router.add_get("/items", items)
    else:
        raise ValueError(spec.kind)
    return app
