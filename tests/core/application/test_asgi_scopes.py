"""What an app does with each ASGI scope besides HTTP: the lifespan protocol (startup and
shutdown listeners, failures reported to the server) and WebSocket connections, which an
app without a WebSocket handler closes."""

from __future__ import annotations

import asyncio

from aiokoa import Context, Koa, Next
from aiokoa.types import Message


async def drive(app: Koa, scope_type: str, *incoming: str) -> list[Message]:
    """Run the app on a `scope_type` scope that receives `incoming` message types; return
    what it sent. The app must return by itself once the protocol is over."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    for kind in incoming:
        inbox.put_nowait({"type": kind})
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": scope_type, "asgi": {"version": "3.0"}, "state": {}}
    await asyncio.wait_for(app(scope, inbox.get, send), 5)
    return sent


async def test_lifespan_runs_startup_then_shutdown() -> None:
    app = Koa()
    events: list[str] = []
    app.on("startup", lambda: events.append("startup"))
    app.on("shutdown", lambda: events.append("shutdown"))
    sent = await drive(app, "lifespan", "lifespan.startup", "lifespan.shutdown")
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert events == ["startup", "shutdown"]


async def test_a_failed_startup_is_reported_and_ends_the_lifespan() -> None:
    app = Koa()

    def refuse() -> None:
        raise RuntimeError("no database")

    app.on("startup", refuse)
    sent = await drive(app, "lifespan", "lifespan.startup")
    assert sent == [{"type": "lifespan.startup.failed", "message": "aiokoa: startup failed: RuntimeError: no database"}]


async def test_a_failed_shutdown_is_reported_and_ends_the_lifespan() -> None:
    """The server sends nothing after shutdown: the app must return, not wait for more."""
    app = Koa()

    async def refuse() -> None:
        raise RuntimeError("flush failed")

    app.on("shutdown", refuse)
    sent = await drive(app, "lifespan", "lifespan.startup", "lifespan.shutdown")
    assert sent == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.failed", "message": "aiokoa: shutdown failed: RuntimeError: flush failed"},
    ]


async def test_a_websocket_connection_is_closed_normally() -> None:
    app = Koa()
    ran: list[str] = []

    @app.use
    async def middleware(ctx: Context, next: Next) -> None:
        ran.append("http only")

    sent = await drive(app, "websocket", "websocket.connect")
    assert sent == [{"type": "websocket.close", "code": 1000}]
    assert ran == []


async def test_an_unknown_scope_type_is_ignored() -> None:
    assert await drive(Koa(), "something-new") == []
