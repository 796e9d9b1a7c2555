"""The floor: hand-written ASGI with no framework, as lean as correct ASGI gets.

Every other app is reported as a multiple of this one. It still does the work the
scenario asks for (serialize JSON on every request, measure the response time,
parse the posted body), so the ratio isolates what a framework adds.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from python_multipart.multipart import MultipartParser, parse_options_header
from scenarios import HELLO, JSON_PAYLOAD, AppSpec, route_text, user_payload

from aiokoa.core import heap

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_TEXT = [(b"content-type", b"text/plain; charset=utf-8")]
_JSON = b"application/json; charset=utf-8"
_dumps = json.JSONEncoder(separators=(",", ":")).encode


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _text_app(text: str) -> ASGIApp:
    body = text.encode()
    headers = [*_TEXT, (b"content-length", str(len(body)).encode())]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await _lifespan(receive, send)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


async def _send_json(send: Send, value: Any, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = _dumps(value).encode()
    headers = [(b"content-type", _JSON), (b"content-length", str(len(body)).encode())]
    if extra:
        headers += extra
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _not_found(send: Send) -> None:
    await send({"type": "http.response.start", "status": 404, "headers": _TEXT})
    await send({"type": "http.response.body", "body": b"Not Found"})


def _stack_app() -> ASGIApp:
    """x-response-time and a silent timing logger around a one-route dispatch."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await _lifespan(receive, send)
        start = time.perf_counter()
        path: str = scope["path"]
        if scope["method"] == "GET" and path.startswith("/users/") and "/" not in path[7:]:
            logged = time.perf_counter()  # the "logger" measures and stays silent
            value = user_payload(path[7:])
            elapsed = f"{(time.perf_counter() - start) * 1000:.3f}ms".encode()
            _ = time.perf_counter() - logged
            await _send_json(send, value, [(b"x-response-time", elapsed)])
        else:
            await _not_found(send)

    return app


def _json_app() -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await _lifespan(receive, send)
        await _send_json(send, JSON_PAYLOAD)

    return app


def _post_app() -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await _lifespan(receive, send)
        message = await receive()
        body: bytes = message.get("body", b"")
        while message.get("more_body"):
            message = await receive()
            body += message.get("body", b"")
        await _send_json(send, json.loads(body))

    return app


def _upload_app() -> ASGIApp:
    """The least a streamed upload takes: python-multipart's parse of each message as it
    comes, the file's bytes written with `os.write` to a temporary file, closed in a thread
    once answered; the C heap kept as aiokoa keeps it, so that what differs is a framework's
    own work. One file part, as the scenario sends."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await _lifespan(receive, send)
        _, options = parse_options_header(dict(scope["headers"])[b"content-type"])
        fd, path = tempfile.mkstemp()
        os.unlink(path)
        header = bytearray()
        headers: list[bytes] = []
        size = 0

        def on_header_value(data: bytes, start: int, end: int) -> None:
            header.extend(data[start:end])

        def on_header_end() -> None:
            headers.append(bytes(header))
            header.clear()

        def on_part_data(data: bytes, start: int, end: int) -> None:
            nonlocal size
            size += os.write(fd, data[start:end])

        callbacks = {"on_header_value": on_header_value, "on_header_end": on_header_end, "on_part_data": on_part_data}
        parser = MultipartParser(options[b"boundary"], callbacks)  # type: ignore[arg-type]
        more = True
        while more:
            message = await receive()
            chunk: bytes = message.get("body", b"")
            if len(chunk) >= heap.LARGE:
                heap.settle()
            parser.write(chunk)
            more = message.get("more_body", False)
        parser.finalize()
        filename = next(parse_options_header(h)[1][b"filename"] for h in headers if b"filename=" in h)
        await _send_json(send, {"filename": filename.decode(), "size": size})
        await asyncio.to_thread(os.close, fd)

    return app


def _pass_through(inner: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        await inner(scope, receive, send)

    return middleware


def _routes_app(count: int) -> ASGIApp:
    """A dict keyed on the first path segment: the O(1) floor for route lookup."""
    table = {f"/r{i}": i for i in range(count)}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await _lifespan(receive, send)
        path: str = scope["path"]
        cut = path.find("/", 1)
        index = table.get(path[:cut]) if cut > 0 else None
        if index is None or "/" in path[cut + 1 :] or scope["method"] != "GET":
            return await _not_found(send)
        body = route_text(index, path[cut + 1 :]).encode()
        headers = [*_TEXT, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def _websocket_app() -> ASGIApp:
    """Accept the connection on `/echo` and send each text message back until it closes."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return await _lifespan(receive, send)
        if scope["type"] != "websocket" or scope["path"] != "/echo":
            return await _not_found(send)
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] != "websocket.receive":
                return
            await send({"type": "websocket.send", "text": message["text"]})

    return app


def build(spec: AppSpec) -> ASGIApp:
    """Return the raw ASGI app for ``spec``."""
    if spec.kind == "hello":
        return _text_app(HELLO)
    if spec.kind == "stack":
        return _stack_app()
    if spec.kind == "json":
        return _json_app()
    if spec.kind == "post":
        return _post_app()
    if spec.kind == "websocket":
        return _websocket_app()
    if spec.kind == "upload":
        return _upload_app()
    if spec.kind == "routes":
        return _routes_app(spec.size)
    if spec.kind == "depth":
        app = _text_app(HELLO)
        for _ in range(spec.size):
            app = _pass_through(app)
        return app
    raise ValueError(spec.kind)
