"""`ctx.after()`: work that starts once the response is over, in order, its errors on the
`error` event, awaited at shutdown for a bounded time. The client's side over a real socket
(the response arrives before the work ends): tests/test_realtime_servers.py."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from aiokoa import Context, Koa
from aiokoa.testing import AsyncTestClient, TestClient


def test_work_runs_in_order_after_the_response_async_awaited_plain_in_a_thread() -> None:
    done: list[Any] = []
    main = threading.get_ident()
    app = Koa()

    async def record(value: str, *, suffix: str = "") -> None:
        done.append(value + suffix)

    def blocking(value: str) -> None:
        done.append((value, threading.get_ident() != main))

    @app.use
    async def respond(ctx: Context) -> None:
        ctx.after(record, "first", suffix="!")
        ctx.after(blocking, "second")
        ctx.after(lambda: record("third"))  # a plain function returning an awaitable
        ctx.body = "ok"
        assert done == []

    with TestClient(app) as client:
        assert client.get("/").text == "ok"
    # The loop's thread runs the test client's app: the plain function ran in another.
    assert done == ["first!", ("second", True), "third"]


def test_errors_go_to_the_error_event_with_ctx_and_the_next_work_still_runs() -> None:
    reported: list[tuple[str, str]] = []
    done: list[str] = []
    app = Koa()
    app.on("error", lambda err, ctx: reported.append((str(err), ctx.path)))

    async def fail() -> None:
        raise RuntimeError("mail server down")

    @app.use
    async def respond(ctx: Context) -> None:
        ctx.after(fail)
        ctx.after(done.append, "next")
        ctx.body = "saved"

    with TestClient(app) as client:
        response = client.get("/signup")
        assert (response.status_code, response.text) == (200, "saved")
    assert reported == [("mail server down", "/signup")]
    assert done == ["next"]


@pytest.mark.parametrize("how", ["error", "stream error", "by hand", "queued late"])
def test_work_starts_however_the_response_ends(how: str) -> None:
    done: list[str] = []
    app = Koa(silent=True)

    async def failing() -> AsyncIterator[bytes]:
        yield b"part"
        raise RuntimeError("cut short")

    @app.use
    async def respond(ctx: Context) -> None:
        if how == "queued late":
            ctx.body = "ok"
            await ctx.send({"type": "http.response.start", "status": 200, "headers": []})
            await ctx.send({"type": "http.response.body", "body": b"by hand"})
            ctx.respond = False
            ctx.after(done.append, how)  # the response is over: it starts at once
            return
        ctx.after(done.append, how)
        if how == "error":
            ctx.throw(400, "bad input")
        elif how == "stream error":
            ctx.body = failing()
        else:
            ctx.respond = False
            await ctx.send({"type": "http.response.start", "status": 200, "headers": []})
            await ctx.send({"type": "http.response.body", "body": b"by hand"})

    with TestClient(app) as client:
        if how == "stream error":
            with pytest.raises(AssertionError):  # the test transport refuses a response cut short
                client.get("/")
        else:
            client.get("/")
    assert done == [how]


def test_work_queued_without_a_response_sent_starts_when_the_chain_ends() -> None:
    done: list[str] = []
    app = Koa()

    @app.use
    async def respond(ctx: Context) -> None:
        ctx.respond = False
        ctx.after(done.append, "later")
        await ctx.send({"type": "http.response.start", "status": 204, "headers": []})
        await ctx.send({"type": "http.response.body", "body": b"", "more_body": True})

    async def run() -> None:
        sent: list[Any] = []

        async def send(message: Any) -> None:
            sent.append(message)

        async def receive() -> Any:
            return {"type": "http.request", "body": b""}

        scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
        await app(scope, receive, send)
        await asyncio.wait(app.after_tasks)

    asyncio.run(run())
    assert done == ["later"]


def test_a_work_that_is_not_callable_is_refused() -> None:
    app = Koa()

    @app.use
    async def respond(ctx: Context) -> None:
        ctx.after("not a function")  # type: ignore[arg-type]

    with TestClient(app) as client:
        assert client.get("/").status_code == 500


async def test_shutdown_awaits_the_work_for_after_timeout_then_cancels_it(capsys: pytest.CaptureFixture[str]) -> None:
    finished: list[str] = []
    cancelled: list[str] = []
    app = Koa(after_timeout=1.0)

    async def work(seconds: float, name: str) -> None:
        try:
            await asyncio.sleep(seconds)
            finished.append(name)
        except asyncio.CancelledError:
            cancelled.append(name)
            raise

    @app.use
    async def respond(ctx: Context) -> None:
        seconds = str(ctx.query["s"])
        ctx.after(work, float(seconds), seconds)
        ctx.body = "ok"

    async with AsyncTestClient(app) as client:
        await client.get("/?s=0")
        await client.get("/?s=30")
    assert finished == ["0"]
    assert cancelled == ["30"]
    assert "1 ctx.after() task(s) still running 1.0 s after shutdown began: cancelled" in capsys.readouterr().err
