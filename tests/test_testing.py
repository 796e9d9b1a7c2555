"""aiokoa.testing: the socket-less clients apps are tested with."""

from __future__ import annotations

import asyncio
import gc
import gzip
import threading
import zlib
from collections.abc import AsyncIterator, Callable

import brotli
import httpx
import pytest
import zstandard

from aiokoa import Context, Koa, Next
from aiokoa.testing import AsyncTestClient, TestClient

from .conftest import Serve


def make_app() -> tuple[Koa, list[str]]:
    app = Koa()
    events: list[str] = []
    app.on("startup", lambda: events.append("startup"))

    @app.on("shutdown")
    async def shutdown() -> None:
        await asyncio.sleep(0)
        events.append("shutdown")

    @app.use
    async def echo(ctx: Context, next: Next) -> None:
        if ctx.method == "POST":
            body = b""
            while True:
                message = await ctx.receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            ctx.body = {"got": body.decode(), "type": ctx.get("content-type")}
        else:
            ctx.body = {"path": ctx.path, "query": ctx.query}

    return app, events


def test_sync_client_runs_requests_and_lifespan() -> None:
    app, events = make_app()
    with TestClient(app) as client:
        assert events == ["startup"]
        response = client.get("/a?x=1&x=2")
        assert response.status_code == 200
        assert response.json() == {"path": "/a", "query": {"x": ["1", "2"]}}
        posted = client.post("/", content=b"hi", headers={"content-type": "text/plain"})
        assert posted.json() == {"got": "hi", "type": "text/plain"}
    assert events == ["startup", "shutdown"]


async def test_async_client_runs_requests_and_lifespan() -> None:
    app, events = make_app()
    async with AsyncTestClient(app) as client:
        assert events == ["startup"]
        response = await client.post("/", json={"a": 1})
        assert response.json() == {"got": '{"a":1}', "type": "application/json"}
    assert events == ["startup", "shutdown"]


def test_sync_client_keeps_the_loop_running_between_requests() -> None:
    """Callbacks an app schedules run later, as they would in a server."""
    app = Koa()
    fired: list[str] = []

    @app.use
    async def schedule(ctx: Context, next: Next) -> None:
        asyncio.get_running_loop().call_later(0.01, fired.append, ctx.path)
        ctx.body = "ok"

    with TestClient(app) as client:
        client.get("/first")
        client.get("/wait")
        for _ in range(100):
            if len(fired) == 2:
                break
            asyncio.run(asyncio.sleep(0.01))
    assert fired == ["/first", "/wait"]


def test_startup_failure_is_reported() -> None:
    app = Koa()

    @app.on("startup")
    def broken() -> None:
        raise RuntimeError("no database")

    with pytest.raises(RuntimeError, match="startup failed: aiokoa: startup failed: RuntimeError: no database"):
        TestClient(app).__enter__()


def test_client_without_context_manager_skips_lifespan() -> None:
    app, events = make_app()
    client = TestClient(app)
    assert client.get("/").status_code == 200
    client.close()
    assert events == []


def loop_threads() -> int:
    return sum(thread.name == "aiokoa-test-loop" for thread in threading.enumerate())


def test_a_client_never_closed_stops_its_loop_once_dropped() -> None:
    app, _ = make_app()
    gc.collect()  # clients earlier tests dropped stop first
    before = loop_threads()
    for _ in range(3):
        assert TestClient(app).get("/").status_code == 200
    gc.collect()
    assert loop_threads() == before  # and each loop closed: its descriptors are not kept


TEXT = "encoded " * 200
ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": zstandard.compress,
}


def encoded_app(encoding: str) -> Koa:
    """An app that sends TEXT compressed, as a compression middleware would: in one piece
    at `/`, in three chunks at `/stream`."""
    app = Koa()
    payload = ENCODERS[encoding](TEXT.encode())

    async def chunks() -> AsyncIterator[bytes]:
        third = len(payload) // 3
        yield payload[:third]
        yield payload[third : 2 * third]
        yield payload[2 * third :]

    @app.use
    async def compressed(ctx: Context, next: Next) -> None:
        ctx.set("Content-Encoding", encoding)
        ctx.type = "text/plain"
        ctx.body = chunks() if ctx.path == "/stream" else payload

    return app


@pytest.mark.parametrize("path", ["/", "/stream"])
@pytest.mark.parametrize("encoding", sorted(ENCODERS))
def test_clients_decode_content_encoding_as_over_a_socket(serve: Serve, encoding: str, path: str) -> None:
    """httpx decodes the body by its Content-Encoding, so the test clients must hand it the
    bytes the app sent, not bytes already decoded once."""
    app = encoded_app(encoding)
    over_socket = serve(app).get(path)
    with TestClient(app) as client:
        sync = client.get(path)

    async def fetch() -> httpx.Response:
        async with AsyncTestClient(app) as client:
            return await client.get(path)

    for response in (over_socket, sync, asyncio.run(fetch())):
        assert response.status_code == 200
        assert response.headers["content-encoding"] == encoding
        assert response.text == TEXT
