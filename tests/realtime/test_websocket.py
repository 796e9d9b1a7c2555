"""WebSockets through `app.ws`, in process: the onion, ctx.websocket, refusals, errors, limits."""

from __future__ import annotations

from typing import Any

import pytest

from aiokoa import Context, Koa, Next, Router, WebSocketDisconnect, WebSocketRefused
from aiokoa.http.cookies import signer_of
from aiokoa.testing import AsyncTestClient
from aiokoa.types import Message


def echo_app(**options: Any) -> Koa:
    app = Koa(keys=["k"], **options)

    @app.ws.use
    async def echo(ctx: Context, next: Next) -> None:
        await ctx.websocket.accept()
        async for message in ctx.websocket:
            await ctx.websocket.send(message)

    return app


async def test_echo_text_bytes_and_json() -> None:
    app = Koa()

    @app.ws.use
    async def echo(ctx: Context, next: Next) -> None:
        assert not ctx.websocket.accepted
        await ctx.websocket.accept()
        assert ctx.websocket.accepted and not ctx.websocket.closed
        async for message in ctx.websocket:
            await ctx.websocket.send(message)
            await ctx.websocket.send({"echo": message if isinstance(message, str) else len(message)})

    async with AsyncTestClient(app) as client, client.websocket_connect("/") as ws:
        await ws.send("hé")
        assert await ws.receive() == "hé"
        assert await ws.receive() == '{"echo":"hé"}'
        await ws.send(b"\x00\xff")
        assert await ws.receive() == b"\x00\xff"
        assert await ws.receive() == '{"echo":2}'


async def test_the_context_has_the_request_side() -> None:
    app = Koa(keys=["secret"])
    seen: dict[str, Any] = {}

    @app.ws.use
    async def outer(ctx: Context, next: Next) -> None:
        ctx.state["user"] = "ann"
        await next()

    @app.ws.use
    async def inner(ctx: Context, next: Next) -> None:
        seen.update(
            method=ctx.method,
            path=ctx.path,
            query=ctx.query,
            origin=ctx.get("Origin"),
            cookie=ctx.cookies.get("plain"),
            signed=ctx.cookies.get("id", signed=True),
            forged=ctx.cookies.get("forged", signed=True),
            ip=ctx.ip,
            protocol=ctx.protocol,
            user=ctx.state["user"],
        )
        await ctx.websocket.accept()

    signer = signer_of(["secret"])
    assert signer is not None
    signature = signer.sign("id=7")
    cookie = f"plain=1; id=7; id.sig={signature}; forged=8; forged.sig=nope"
    async with AsyncTestClient(app) as client:
        async with client.websocket_connect("/room?name=a", headers={"Origin": "http://x", "Cookie": cookie}):
            pass
    assert seen == {
        "method": "WEBSOCKET",
        "path": "/room",
        "query": {"name": "a"},
        "origin": "http://x",
        "cookie": "1",
        "signed": "7",
        "forged": None,
        "ip": "127.0.0.1",
        "protocol": "http",
        "user": "ann",
    }


async def test_subprotocol_and_headers() -> None:
    app = Koa()

    @app.ws.use
    async def choose(ctx: Context, next: Next) -> None:
        assert ctx.websocket.subprotocols == ["v2", "v1"]
        await ctx.websocket.accept("v1", headers={"X-Room": "main"})

    async with AsyncTestClient(app) as client, client.websocket_connect("/", subprotocols=["v2", "v1"]) as ws:
        assert ws.subprotocol == "v1"
        assert ws.headers == [(b"x-room", b"main")]
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive()
        assert closed.value.code == 1000  # the middleware returned: closed normally


async def test_refusal_is_an_http_response_or_1008() -> None:
    app = Koa()
    errors: list[BaseException] = []
    app.on("error", lambda err, ctx: errors.append(err))

    @app.ws.use
    async def guard(ctx: Context, next: Next) -> None:
        if ctx.query.get("token") != "ok":
            ctx.throw(403, "no token", headers={"X-Why": "token"})
        await next()

    app.ws.use(lambda ctx: ctx.websocket.accept())
    async with AsyncTestClient(app) as client:
        with pytest.raises(WebSocketRefused) as refused:
            async with client.websocket_connect("/"):
                pass
        assert (refused.value.status, refused.value.body) == (403, b"no token")
        with pytest.raises(WebSocketRefused) as refused:
            async with client.websocket_connect("/", denial_response=False):
                pass
        assert (refused.value.status, refused.value.code) == (None, 1008)
        async with client.websocket_connect("/?token=ok"):
            pass
    assert [getattr(err, "status", None) for err in errors] == [403, 403]


async def test_a_connection_nobody_accepts_is_refused_with_its_status() -> None:
    app = Koa()
    router = Router()
    router.ws("/known", lambda ctx: ctx.websocket.accept())
    app.ws.use(router.routes())

    @app.ws.use
    async def teapot(ctx: Context, next: Next) -> None:
        if ctx.path == "/tea":
            ctx.status = 200  # not an error status: refused as 403

    async with AsyncTestClient(app) as client:
        for path, status in (("/unknown", 404), ("/tea", 403)):
            with pytest.raises(WebSocketRefused) as refused:
                async with client.websocket_connect(path):
                    pass
            assert refused.value.status == status
        async with client.websocket_connect("/known"):
            pass


async def test_an_error_before_accept_is_a_500_with_one_error_event() -> None:
    app = Koa(silent=True)
    errors: list[BaseException] = []
    app.on("error", lambda err, ctx: errors.append(err))
    app.ws.use(lambda ctx: 1 / 0)
    async with AsyncTestClient(app) as client:
        with pytest.raises(WebSocketRefused) as refused:
            async with client.websocket_connect("/"):
                pass
    assert refused.value.status == 500
    assert [type(err) for err in errors] == [ZeroDivisionError]


async def test_an_error_after_accept_closes_1011_with_one_error_event() -> None:
    app = Koa()
    errors: list[tuple[BaseException, Context]] = []
    app.on("error", lambda err, ctx: errors.append((err, ctx)))

    @app.ws.use
    async def failing(ctx: Context, next: Next) -> None:
        await ctx.websocket.accept()
        await ctx.websocket.receive()
        raise ValueError("boom")

    async with AsyncTestClient(app) as client, client.websocket_connect("/x") as ws:
        await ws.send("go")
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive()
    assert closed.value.code == 1011
    assert len(errors) == 1
    err, ctx = errors[0]
    assert isinstance(err, ValueError) and ctx.path == "/x" and ctx.websocket.closed


async def test_the_default_listener_reports_it(capsys: pytest.CaptureFixture[str]) -> None:
    app = Koa()

    @app.ws.use
    async def failing(ctx: Context, next: Next) -> None:
        await ctx.websocket.accept()
        raise ValueError("boom")

    async with AsyncTestClient(app) as client, client.websocket_connect("/chat") as ws:
        with pytest.raises(WebSocketDisconnect):
            await ws.receive()
    assert "aiokoa: error in WEBSOCKET /chat" in capsys.readouterr().err


async def test_a_client_that_leaves_ends_the_loop_quietly() -> None:
    app = Koa()
    errors: list[BaseException] = []
    app.on("error", lambda err, ctx: errors.append(err))
    ended: list[object] = []

    @app.ws.use
    async def loop(ctx: Context, next: Next) -> None:
        await ctx.websocket.accept()
        async for message in ctx.websocket:
            ended.append(message)
        ended.append(ctx.websocket.close_code)
        with pytest.raises(WebSocketDisconnect):
            await ctx.websocket.send("too late")
        await ctx.websocket.receive()  # raises: the connection ends quietly too

    async with AsyncTestClient(app) as client:
        ws = client.websocket_connect("/")
        async with ws:
            await ws.send("one")
        assert ended == ["one", 1000]
        ws = client.websocket_connect("/")
        async with ws:
            pass
    assert errors == []


async def test_misuse_is_a_clear_error() -> None:
    app = Koa()
    raised: list[str] = []

    @app.ws.use
    async def misuse(ctx: Context, next: Next) -> None:
        for call in (ctx.websocket.receive(), ctx.websocket.send("x")):
            try:
                await call
            except RuntimeError as err:
                raised.append(str(err))
        await ctx.websocket.accept()
        with pytest.raises(RuntimeError, match="already accepted"):
            await ctx.websocket.accept()
        await ctx.websocket.close(4000, "bye")
        await ctx.websocket.close()  # twice: nothing
        assert repr(ctx.websocket) == "<WebSocket / closed>"

    async with AsyncTestClient(app) as client, client.websocket_connect("/") as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive()
        assert (closed.value.code, closed.value.reason) == (4000, "bye")
    assert raised == ["ctx.websocket.receive() before accept()", "ctx.websocket.send() before accept()"]


@pytest.mark.parametrize("message", ["x" * 11, "é" * 6, b"x" * 11])
async def test_a_message_over_the_limit_closes_1009(message: str | bytes) -> None:
    app = echo_app()
    app.ws.max_message_size = "10b"
    async with AsyncTestClient(app) as client, client.websocket_connect("/") as ws:
        await ws.send("é" * 5)  # 10 bytes: passes
        assert await ws.receive() == "é" * 5
        await ws.send(message)
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive()
    assert closed.value.code == 1009


async def test_an_idle_connection_is_closed_1001() -> None:
    app = echo_app()
    app.ws.receive_timeout = 0.2
    async with AsyncTestClient(app) as client, client.websocket_connect("/") as ws:
        await ws.send("still here")
        assert await ws.receive() == "still here"
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive()
    assert (closed.value.code, closed.value.reason) == (1001, "idle")


async def test_router_ws_routes_with_params() -> None:
    app = Koa()
    router = Router()

    @router.ws("/rooms/{room}")
    async def room(ctx: Context, next: Next) -> None:
        await ctx.websocket.accept()
        await ctx.websocket.send(f"{ctx.params['room']} {ctx.route_path}")

    router.get("/rooms/{room}", lambda ctx: setattr(ctx, "body", "page"))
    app.use(router.routes())
    app.ws.use(router.routes())
    async with AsyncTestClient(app) as client:
        async with client.websocket_connect("/rooms/blue") as ws:
            assert await ws.receive() == "blue /rooms/{room}"
        assert (await client.get("/rooms/blue")).text == "page"
        # An HTTP request cannot reach a websocket route by sending its method.
        assert (await client.request("WEBSOCKET", "/rooms/blue")).status_code == 501


async def test_allowed_methods_leaves_websocket_routes_out() -> None:
    app = Koa()
    router = Router()
    router.ws("/live", lambda ctx: ctx.websocket.accept())
    router.get("/both", lambda ctx: setattr(ctx, "body", "page"))
    router.ws("/both", lambda ctx: ctx.websocket.accept())
    app.use(router.routes(), router.allowed_methods())
    async with AsyncTestClient(app) as client:
        assert (await client.get("/live")).status_code == 404
        assert (await client.options("/live")).status_code == 404
        answer = await client.post("/both")
        assert (answer.status_code, answer.headers["allow"]) == (405, "HEAD, GET")


async def test_an_app_without_ws_middleware_closes_at_once() -> None:
    async with AsyncTestClient(Koa()) as client:
        with pytest.raises(WebSocketRefused) as refused:
            async with client.websocket_connect("/"):
                pass
    assert refused.value.code == 1000


async def test_a_client_that_leaves_during_the_handshake() -> None:
    app = echo_app()
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.disconnect", "code": 1006}

    async def send(message: Any) -> None:
        sent.append(message)

    await app({"type": "websocket", "path": "/", "headers": []}, receive, send)
    assert sent == []


def test_use_needs_middleware() -> None:
    with pytest.raises(TypeError):
        Koa().ws.use()
    app = Koa()
    assert app.ws.use(print) is print
    assert app.ws.use(print, print) is None


async def test_a_refusal_carries_the_body_and_headers_set() -> None:
    app = Koa()

    @app.ws.use
    async def teapot(ctx: Context, next: Next) -> None:
        ctx.status = 418
        ctx.set("X-Tea", "earl grey")
        ctx.body = b"short and stout"

    async with AsyncTestClient(app) as client:
        with pytest.raises(WebSocketRefused) as refused:
            async with client.websocket_connect("/"):
                pass
    assert (refused.value.status, refused.value.body) == (418, b"short and stout")


async def test_a_send_the_server_cannot_make_is_a_disconnect() -> None:
    """Servers raise OSError from send() once the client is gone (uvicorn's ClientDisconnected)."""
    app = Koa()
    errors: list[BaseException] = []
    app.on("error", lambda err, ctx: errors.append(err))
    codes: list[int | None] = []

    @app.ws.use
    async def talk(ctx: Context, next: Next) -> None:
        await ctx.websocket.accept()
        try:
            await ctx.websocket.send("anyone?")
        finally:
            codes.append(ctx.websocket.close_code)

    incoming = [{"type": "websocket.connect"}]

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        if message["type"] == "websocket.send":
            raise OSError("gone")

    await app({"type": "websocket", "path": "/", "headers": []}, receive, send)
    assert (codes, errors) == ([1006], [])


async def test_an_accept_the_server_cannot_send_is_a_disconnect() -> None:
    """A client gone during the handshake: `accept()` raises `WebSocketDisconnect` (1006),
    which ends the connection quietly."""
    app = Koa()
    errors: list[BaseException] = []
    app.on("error", lambda err, ctx: errors.append(err))
    seen: list[tuple[int | None, bool]] = []

    @app.ws.use
    async def talk(ctx: Context, next: Next) -> None:
        try:
            await ctx.websocket.accept()
        finally:
            seen.append((ctx.websocket.close_code, ctx.websocket.closed))

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        if message["type"] == "websocket.accept":
            raise OSError("gone")

    await app({"type": "websocket", "path": "/", "headers": []}, receive, send)
    assert (seen, errors) == ([(1006, True)], [])
