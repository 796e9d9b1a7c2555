"""`Koa(lifespan=...)` with the `startup` and `shutdown` listeners: the order they run in, the
state every ctx reads, and failures told to the server. Real servers stopping on a failed
startup: tests/test_realtime_servers.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from aiokoa import Context, Koa
from aiokoa.testing import TestClient
from aiokoa.types import Message


async def drive(app: Koa, *incoming: str, state: dict[str, Any] | None = None) -> list[Message]:
    """Run the app's lifespan receiving `incoming` message types; what it sent."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    for kind in incoming:
        inbox.put_nowait({"type": kind})
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {} if state is None else state}
    await asyncio.wait_for(app(scope, inbox.get, send), 5)
    return sent


def test_the_order_of_startup_and_shutdown_and_the_state_on_every_ctx() -> None:
    order: list[str] = []

    @asynccontextmanager
    async def lifespan(app: Koa) -> AsyncIterator[dict[str, Any]]:
        order.append("enter")
        yield {"pool": "the pool"}
        order.append("exit")

    app = Koa(lifespan=lifespan)
    app.on("startup", lambda: order.append("startup"))
    app.on("shutdown", lambda: order.append("shutdown"))

    async def work() -> None:
        order.append("after-work")

    @app.use
    async def respond(ctx: Context) -> None:
        ctx.lifespan_state["mine"] = ctx.path  # a request's copy: the next one does not see it
        ctx.after(work)
        ctx.body = sorted(ctx.lifespan_state.items())

    with TestClient(app) as client:
        assert order == ["enter", "startup"]
        assert client.get("/a").json() == [["mine", "/a"], ["pool", "the pool"]]
        assert client.get("/b").json() == [["mine", "/b"], ["pool", "the pool"]]
    assert order == ["enter", "startup", "after-work", "after-work", "shutdown", "exit"]


async def test_the_state_goes_into_the_server_s_lifespan_state() -> None:
    """The server copies its lifespan scope's state into each request's scope."""

    @asynccontextmanager
    async def lifespan(app: Koa) -> AsyncIterator[dict[str, str]]:
        yield {"db": "connected"}

    app = Koa(lifespan=lifespan)
    state: dict[str, Any] = {}
    sent = await drive(app, "lifespan.startup", "lifespan.shutdown", state=state)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert state == {"db": "connected"}


@pytest.mark.parametrize(
    ("yielded", "message"),
    [
        (None, None),
        (["not", "a", "mapping"], "aiokoa: startup failed: TypeError: Koa(lifespan=...) yields a mapping"),
    ],
)
async def test_what_a_lifespan_may_yield(yielded: Any, message: str | None) -> None:
    @asynccontextmanager
    async def lifespan(app: Koa) -> AsyncIterator[Any]:
        yield yielded

    sent = await drive(Koa(lifespan=lifespan), "lifespan.startup", "lifespan.shutdown")
    if message is None:
        assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]
    else:
        assert sent[0]["type"] == "lifespan.startup.failed"
        assert sent[0]["message"].startswith(message)


async def test_a_lifespan_that_fails_on_exit_fails_the_shutdown(capsys: pytest.CaptureFixture[str]) -> None:
    @asynccontextmanager
    async def lifespan(app: Koa) -> AsyncIterator[None]:
        yield
        raise OSError("flush failed")

    sent = await drive(Koa(lifespan=lifespan), "lifespan.startup", "lifespan.shutdown")
    assert sent[-1] == {"type": "lifespan.shutdown.failed", "message": "aiokoa: shutdown failed: OSError: flush failed"}
    err = capsys.readouterr().err
    assert "aiokoa: the app's shutdown failed\nTraceback" in err
    assert 'raise OSError("flush failed")' in err


async def test_a_failed_startup_leaves_what_the_lifespan_opened() -> None:
    left: list[bool] = []

    @asynccontextmanager
    async def lifespan(app: Koa) -> AsyncIterator[None]:
        try:
            yield
        finally:
            left.append(True)

    app = Koa(lifespan=lifespan)

    @app.on("startup")
    async def refuse() -> None:
        raise RuntimeError("no cache")

    sent = await drive(app, "lifespan.startup")
    assert sent == [{"type": "lifespan.startup.failed", "message": "aiokoa: startup failed: RuntimeError: no cache"}]
    assert left == [True]
