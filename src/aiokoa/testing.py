"""Testing aiokoa apps without a socket: `TestClient` (sync) and `AsyncTestClient`.

Both are httpx clients that call the app's ASGI callable directly, so a test reads like
`client.get("/").text` and runs in microseconds. Used as context managers they also run
the app's lifespan (`startup`/`shutdown` listeners). The sync client drives the app on an
event loop in a background thread that lives as long as the client, so callbacks and
tasks the app schedules keep running between requests, as they would in a server.

    from aiokoa.testing import TestClient
    with TestClient(app) as client:
        assert client.get("/").text == "Hello World"
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import httpx

from .types import ASGIApp, Message, Scope

if TYPE_CHECKING:
    from .core.application import Koa
    from .core.context import Context

BASE_URL = "http://testserver"
CLIENT = ("127.0.0.1", 50000)


class Lifespan:
    """Runs an ASGI app's lifespan: startup on enter, shutdown on exit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def _phase(self, phase: str) -> None:
        await self._to_app.put({"type": f"lifespan.{phase}"})
        message = await self._from_app.get()
        if message["type"].endswith(".failed"):
            raise RuntimeError(f"lifespan {phase} failed: {message.get('message', '')}")

    async def __aenter__(self) -> Lifespan:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._task = asyncio.ensure_future(self.app(scope, self._to_app.get, self._from_app.put))
        await self._phase("startup")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._phase("shutdown")
        if self._task is not None:
            await self._task


class WebSocketSession:
    """An in-process websocket connection to an app: `async with
    client.websocket_connect("/chat") as ws: await ws.send("hi"); await ws.receive()`."""

    def __init__(self, app: ASGIApp, scope: Scope) -> None:
        self.app = app
        self.scope = scope
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.subprotocol: str | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.close_code: int | None = None
        """The code the app closed with, once it did."""

    async def __aenter__(self) -> WebSocketSession:
        self._task = asyncio.ensure_future(self.app(self.scope, self._to_app.get, self._from_app.put))
        await self._to_app.put({"type": "websocket.connect"})
        message = await self._next()
        if message["type"] == "websocket.accept":
            self.subprotocol = message.get("subprotocol")
            self.headers = list(message.get("headers") or ())
            return self
        await self._task
        from .core.websocket import WebSocketRefused

        if message["type"] == "websocket.close":
            raise WebSocketRefused(None, code=message.get("code", 1000))
        body = b""
        while not self._from_app.empty():
            body += (await self._from_app.get()).get("body", b"")
        raise WebSocketRefused(message["status"], body)

    async def _next(self) -> Message:
        """The app's next message; a close when it returned without one."""
        assert self._task is not None
        getting = asyncio.ensure_future(self._from_app.get())
        await asyncio.wait([getting, self._task], return_when=asyncio.FIRST_COMPLETED)
        if getting.done():
            return getting.result()
        getting.cancel()
        self._task.result()  # the app's own error, if it raised one
        return {"type": "websocket.close", "code": 1006}

    async def send(self, data: str | bytes) -> None:
        key = "text" if isinstance(data, str) else "bytes"
        await self._to_app.put({"type": "websocket.receive", key: data})

    async def receive(self) -> str | bytes:
        """The app's next message; `WebSocketDisconnect` once it closed."""
        from .core.websocket import WebSocketDisconnect

        message = await self._next()
        if message["type"] == "websocket.close":
            self.close_code = message.get("code", 1000)
            raise WebSocketDisconnect(self.close_code, message.get("reason") or "")
        data: str | bytes = message["text"] if message.get("text") is not None else message["bytes"]
        return data

    async def close(self, code: int = 1000) -> None:
        """Leave, as a client does, and wait for the app to finish."""
        await self._to_app.put({"type": "websocket.disconnect", "code": code})
        if self._task is not None:
            await self._task

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class AsyncTestClient(httpx.AsyncClient):
    """`async with AsyncTestClient(app) as client: await client.get("/")`."""

    def __init__(self, app: ASGIApp, base_url: str = BASE_URL, **options: Any) -> None:
        transport = httpx.ASGITransport(app=app, client=CLIENT)
        super().__init__(transport=transport, base_url=base_url, **options)
        self.app = app
        self._lifespan = Lifespan(app)

    async def __aenter__(self) -> AsyncTestClient:
        await super().__aenter__()
        await self._lifespan.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        await self._lifespan.__aexit__()
        await super().__aexit__(exc_type, exc, tb)

    def websocket_connect(
        self,
        path: str,
        *,
        subprotocols: Iterable[str] = (),
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        denial_response: bool = True,
    ) -> WebSocketSession:
        """A websocket connection to the app, in process; `denial_response=False` plays a
        server that cannot answer a refused handshake with HTTP (it closes with 1008)."""
        path, _, query = path.partition("?")
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        scope: Scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "scheme": "ws",
            "path": unquote(path),
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", b"testserver")]
            + [(name.lower().encode("latin-1"), _header_bytes(value)) for name, value in pairs],
            "client": CLIENT,
            "server": ("testserver", 80),
            "subprotocols": list(subprotocols),
            "extensions": {"websocket.http.response": {}} if denial_response else {},
        }
        return WebSocketSession(self.app, scope)


class _LoopThread:
    """An event loop in a daemon thread, for sync code to run coroutines on."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="aiokoa-test-loop")
        self._thread.start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.loop.stop)
            if threading.current_thread() is self._thread:
                return  # dropped by code running on this loop: it stops once that code returns
            self._thread.join()
            self.loop.close()


class _SyncASGITransport(httpx.BaseTransport):
    def __init__(self, app: ASGIApp, loop: _LoopThread) -> None:
        self._async = httpx.ASGITransport(app=app, client=CLIENT)
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()
        copy = httpx.Request(request.method, request.url, headers=request.headers, content=content)

        async def exchange() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            response = await self._async.handle_async_request(copy)
            # The bytes as the app sent them: the client decodes Content-Encoding itself.
            body = b"".join([chunk async for chunk in response.aiter_raw()])
            return response.status_code, response.headers.raw, body

        status, headers, body = self._loop.run(exchange())
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body), request=request)


class TestClient(httpx.Client):
    """`with TestClient(app) as client: client.get("/")`: a synchronous client for tests."""

    __test__ = False  # not a pytest test class

    def __init__(self, app: ASGIApp, base_url: str = BASE_URL, **options: Any) -> None:
        self._loop = _LoopThread()
        # A client used without `with` or close() still stops its thread and closes its
        # loop (and the loop's file descriptors) once nothing refers to it.
        self._stop_loop = weakref.finalize(self, self._loop.close)
        super().__init__(transport=_SyncASGITransport(app, self._loop), base_url=base_url, **options)
        self.app = app
        self._lifespan: Lifespan | None = None

    def __enter__(self) -> TestClient:
        super().__enter__()

        async def start() -> Lifespan:
            return await Lifespan(self.app).__aenter__()

        try:
            self._lifespan = self._loop.run(start())
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        if self._lifespan is not None:
            self._loop.run(self._lifespan.__aexit__())
        super().__exit__(exc_type, exc, tb)

    def close(self) -> None:
        """Close the client and stop its event loop thread."""
        super().close()
        self._stop_loop()


def make_context(
    app: Koa | None = None,
    *,
    method: str = "GET",
    url: str = "/",
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    client: tuple[str, int] | None = ("127.0.0.1", 50000),
    scheme: str = "http",
    http_version: str = "1.1",
    sent: list[Message] | None = None,
) -> Context:
    """A context for `GET /` (or what you ask for), without a server: for unit tests of
    middleware and of `ctx`'s members (Koa's `test-helpers/context.js`). The ASGI messages
    it sends are appended to `sent`."""
    from .core.application import Koa

    path, _, query = url.partition("?")
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": http_version,
        "method": method,
        "scheme": scheme,
        "path": unquote(path),
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(name.lower().encode("latin-1"), _header_bytes(value)) for name, value in pairs],
        "client": client,
        "server": ("127.0.0.1", 80),
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if sent is not None:
            sent.append(message)

    app = app if app is not None else Koa()
    return app.context(app, scope, receive, send)


def _header_bytes(value: str) -> bytes:
    """Latin-1 where it fits, else UTF-8 (as a client sending UTF-8 bytes would)."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")
