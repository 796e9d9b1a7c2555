"""Falcon's ASGI app: resources, and middleware as request/response hook components.

Falcon middleware cannot wrap the responder in one coroutine, so a "pass-through"
layer here is a component with a no-op ``process_request`` and ``process_response``.
"""

from __future__ import annotations

import time
from typing import Any

import falcon
import falcon.asgi
from scenarios import HELLO, JSON_PAYLOAD, AppSpec, route_path, route_text, user_payload

Req = falcon.asgi.Request
Resp = falcon.asgi.Response


class PassThrough:
    async def process_request(self, req: Req, resp: Resp) -> None:
        pass

    async def process_response(self, req: Req, resp: Resp, resource: Any, req_succeeded: bool) -> None:
        pass


class ResponseTime:
    async def process_request(self, req: Req, resp: Resp) -> None:
        req.context.rt_start = time.perf_counter()

    async def process_response(self, req: Req, resp: Resp, resource: Any, req_succeeded: bool) -> None:
        elapsed = (time.perf_counter() - req.context.rt_start) * 1000
        resp.set_header("X-Response-Time", f"{elapsed:.3f}ms")


class Logger:
    async def process_request(self, req: Req, resp: Resp) -> None:
        req.context.log_start = time.perf_counter()

    async def process_response(self, req: Req, resp: Resp, resource: Any, req_succeeded: bool) -> None:
        _ = (req.method, req.path, time.perf_counter() - req.context.log_start)


class Hello:
    async def on_get(self, req: Req, resp: Resp) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = HELLO


class User:
    async def on_get(self, req: Req, resp: Resp, id: str) -> None:
        resp.media = user_payload(id)


class Payload:
    async def on_get(self, req: Req, resp: Resp) -> None:
        resp.media = JSON_PAYLOAD


class Echo:
    async def on_post(self, req: Req, resp: Resp) -> None:
        resp.media = await req.get_media()


class Numbered:
    def __init__(self, index: int) -> None:
        self.index = index

    async def on_get(self, req: Req, resp: Resp, id: str) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = route_text(self.index, id)


def build(spec: AppSpec) -> falcon.asgi.App[Req, Resp]:
    """Return the Falcon ASGI app for ``spec``; components run in list order."""
    middleware: list[Any] = []
    if spec.kind == "stack":
        middleware = [ResponseTime(), Logger(), PassThrough(), PassThrough(), PassThrough()]
    elif spec.kind == "depth":
        middleware = [PassThrough() for _ in range(spec.size)]
    app = falcon.asgi.App(middleware=middleware)
    if spec.kind in ("hello", "depth"):
        app.add_route("/", Hello())
    elif spec.kind == "stack":
        app.add_route("/users/{id}", User())
    elif spec.kind == "json":
        app.add_route("/json", Payload())
    elif spec.kind == "post":
        app.add_route("/echo", Echo())
    elif spec.kind == "routes":
        for i in range(spec.size):
            app.add_route(route_path(i), Numbered(i))
    else:
        raise ValueError(spec.kind)
    return app
