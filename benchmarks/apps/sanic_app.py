"""Sanic: request/response hooks rather than an onion.

A "pass-through" layer is one no-op ``on_request`` plus one no-op ``on_response``
hook, the closest Sanic has to a middleware that acts before and after. The same
app runs on Sanic's own server in network mode and as ASGI in-process.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from sanic import HTTPResponse, Request, Sanic, json, text
from sanic.response import BaseHTTPResponse
from scenarios import HELLO, JSON_PAYLOAD, STATIC_DIR, AppSpec, route_path, route_text, user_payload

_names = itertools.count()


async def noop_request(request: Request) -> None:
    pass


async def noop_response(request: Request, response: BaseHTTPResponse) -> None:
    pass


async def start_timer(request: Request) -> None:
    request.ctx.rt_start = time.perf_counter()


async def add_response_time(request: Request, response: BaseHTTPResponse) -> None:
    elapsed = (time.perf_counter() - request.ctx.rt_start) * 1000
    response.headers["X-Response-Time"] = f"{elapsed:.3f}ms"


async def start_log(request: Request) -> None:
    request.ctx.log_start = time.perf_counter()


async def end_log(request: Request, response: BaseHTTPResponse) -> None:
    _ = (request.method, request.path, time.perf_counter() - request.ctx.log_start)


async def hello(request: Request) -> HTTPResponse:
    return text(HELLO)


async def user(request: Request, id: str) -> HTTPResponse:
    return json(user_payload(id))


async def payload(request: Request) -> HTTPResponse:
    return json(JSON_PAYLOAD)


async def echo(request: Request) -> HTTPResponse:
    return json(request.json)


def _route(index: int) -> Callable[[Request, str], Coroutine[Any, Any, HTTPResponse]]:
    async def endpoint(request: Request, id: str) -> HTTPResponse:
        return text(route_text(index, id))

    return endpoint


def _pass_through(app: Sanic[Any, Any], count: int) -> None:
    for _ in range(count):
        app.middleware(noop_request)
        app.middleware(noop_response, attach_to="response")


def build(spec: AppSpec) -> Sanic[Any, Any]:
    """Return a Sanic app for ``spec``; request hooks run in order, response hooks reversed."""
    # In-process, several Sanic apps share one process; test_mode lets each one's startup
    # re-run TouchUp from the original methods instead of failing on already-rewritten ones.
    Sanic.test_mode = True
    app: Sanic[Any, Any] = Sanic(f"bench_{spec.kind}_{spec.size}_{next(_names)}")
    app.config.ACCESS_LOG = False
    app.config.MOTD = False
    logging.getLogger("sanic.root").setLevel(logging.WARNING)
    if spec.kind in ("hello", "depth"):
        app.add_route(hello, "/", methods=["GET"])
        _pass_through(app, spec.size)
    elif spec.kind == "stack":
        app.add_route(user, "/users/<id>", methods=["GET"])
        app.middleware(start_timer)
        app.middleware(add_response_time, attach_to="response")
        app.middleware(start_log)
        app.middleware(end_log, attach_to="response")
        _pass_through(app, 3)
    elif spec.kind == "json":
        app.add_route(payload, "/json", methods=["GET"])
    elif spec.kind == "post":
        app.add_route(echo, "/echo", methods=["POST"])
    elif spec.kind == "routes":
        for i in range(spec.size):
            path = route_path(i).replace("{id}", "<id>")
            app.add_route(_route(i), path, methods=["GET"], name=f"r{i}")
    elif spec.kind == "static":
        app.static("/static", STATIC_DIR)
    else:
        raise ValueError(spec.kind)
    return app
