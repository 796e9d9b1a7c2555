"""FastAPI as its tutorial teaches it: ``@app.middleware("http")``, handlers returning data.

``@app.middleware("http")`` is a ``BaseHTTPMiddleware`` underneath; its cost per
layer is part of what is measured. Handlers return dicts, serialized by FastAPI.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Body, FastAPI, Request, Response
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import PlainTextResponse
from scenarios import (
    COMPRESS_PAYLOAD,
    HELLO,
    JSON_PAYLOAD,
    LOGIN_PATH,
    SESSION_USER,
    AppSpec,
    batteries_payload,
    route_path,
    route_text,
    user_payload,
)

from apps.orders import OrderModel as Order
from apps.starlette_app import batteries_middleware, limiter

CallNext = Callable[[Request], Awaitable[Response]]


async def pass_through(request: Request, call_next: CallNext) -> Response:
    return await call_next(request)


async def response_time(request: Request, call_next: CallNext) -> Response:
    start = time.perf_counter()
    response = await call_next(request)
    response.headers["X-Response-Time"] = f"{(time.perf_counter() - start) * 1000:.3f}ms"
    return response


async def logger(request: Request, call_next: CallNext) -> Response:
    start = time.perf_counter()
    response = await call_next(request)
    _ = (request.method, request.url.path, time.perf_counter() - start)
    return response


def _route(index: int) -> Callable[[str], Awaitable[str]]:
    async def endpoint(id: str) -> str:
        return route_text(index, id)

    return endpoint


async def create_order(order: Order) -> Order:
    return order


async def items(limit: int = 20, offset: int = 0, q: str = "") -> dict[str, Any]:
    return {"limit": limit, "offset": offset, "q": q}


def build(spec: AppSpec) -> FastAPI:
    """Return the FastAPI app for ``spec``; the last middleware added runs first."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    if spec.kind in ("hello", "depth"):

        @app.get("/", response_class=PlainTextResponse)
        async def hello() -> str:
            return HELLO

        for _ in range(spec.size):
            app.middleware("http")(pass_through)
    elif spec.kind == "stack":

        @app.get("/users/{id}")
        async def user(id: str) -> dict[str, str]:
            return user_payload(id)

        for _ in range(3):
            app.middleware("http")(pass_through)
        app.middleware("http")(logger)
        app.middleware("http")(response_time)
    elif spec.kind == "json":

        @app.get("/json")
        async def payload() -> dict[str, Any]:
            return JSON_PAYLOAD

    elif spec.kind == "compress":

        @app.get("/compress")
        async def big_payload() -> dict[str, Any]:
            return COMPRESS_PAYLOAD

        app.add_middleware(GZipMiddleware)
    elif spec.kind == "post":

        @app.post("/echo")
        async def echo(body: dict[str, Any] = Body()) -> dict[str, Any]:
            return body

    elif spec.kind == "batteries":

        @app.get(LOGIN_PATH)
        async def login(request: Request) -> dict[str, str]:
            request.session["user"] = SESSION_USER
            return {"user": SESSION_USER}

        @app.get("/api/users/{id}")
        async def api_user(id: str, request: Request) -> dict[str, Any]:
            return batteries_payload(id, request.session)

        # Starlette's own middleware classes: FastAPI re-exports them and its users add them
        for layer in reversed(batteries_middleware()):  # the last added runs first
            app.add_middleware(layer.cls, *layer.args, **layer.kwargs)
        app.state.limiter = limiter()
    elif spec.kind == "routes":
        for i in range(spec.size):
            app.add_api_route(route_path(i), _route(i), methods=["GET"], response_class=PlainTextResponse)
    elif spec.kind == "typed":
        app.post("/orders")(create_order)
        app.get("/items")(items)
    else:
        raise ValueError(spec.kind)
    return app
