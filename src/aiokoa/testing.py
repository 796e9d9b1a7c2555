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
from types import TracebackType
from typing import Any

import httpx

from .types import ASGIApp, Message

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


class _LoopThread:
    """An event loop in a daemon thread, for sync code to run coroutines on."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="aiokoa-test-loop")
        self._thread.start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
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
            body = await response.aread()
            return response.status_code, response.headers.raw, body

        status, headers, body = self._loop.run(exchange())
        return httpx.Response(status, headers=headers, content=body, request=request)


class TestClient(httpx.Client):
    """`with TestClient(app) as client: client.get("/")`: a synchronous client for tests."""

    __test__ = False  # not a pytest test class

    def __init__(self, app: ASGIApp, base_url: str = BASE_URL, **options: Any) -> None:
        self._loop = _LoopThread()
        super().__init__(transport=_SyncASGITransport(app, self._loop), base_url=base_url, **options)
        self.app = app
        self._lifespan: Lifespan | None = None

    def __enter__(self) -> TestClient:
        super().__enter__()

        async def start() -> Lifespan:
            return await Lifespan(self.app).__aenter__()

        self._lifespan = self._loop.run(start())
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
        self._loop.close()
