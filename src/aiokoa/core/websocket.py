"""WebSockets through their own onion: `app.ws.use(mw)`.

A websocket connection gets a context like a request's (path, query, headers, cookies,
`state`, `ip`, ...) with `ctx.websocket` added, and runs through the middleware given to
`app.ws.use()`, which are kept apart from the HTTP chain: an HTTP request never pays for
them. Its method reads "WEBSOCKET", which is what `Router.ws()` routes on.

A middleware refuses a connection by throwing before `accept()` (`ctx.throw(403)`): the
client gets that HTTP response where the server can send one (the ASGI
`websocket.http.response` extension), else the close code 1008. A connection that no
middleware accepted is refused the same way, with its status (404 if none was set, 403 if
it was not an error status). An
error raised after `accept()` closes the connection with 1011 and is told to the app's
`error` listeners once; a client that goes away ends `async for message in ctx.websocket`
and raises `WebSocketDisconnect` from `receive()`, which ends the connection quietly.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from ..http.jsonbody import dumps
from ..http.sizes import parse_size
from ..http.statuses import MESSAGES
from .compose import Step, adapt, chain
from .errors import ClientDisconnect

if TYPE_CHECKING:
    from ..types import Message, Receive, Scope, Send
    from .application import Koa
    from .context import Context

METHOD = "WEBSOCKET"
"""`ctx.method` of a websocket connection, and the method `Router.ws()` routes."""

DENIAL = "websocket.http.response"  # the ASGI extension for an HTTP answer to a handshake

# Close codes (RFC 6455): normal, going away, policy violation, message too big, server error.
NORMAL, GOING_AWAY, POLICY, TOO_BIG, SERVER_ERROR = 1000, 1001, 1008, 1009, 1011

_CONNECTING, _OPEN, _CLOSED = 0, 1, 2


class WebSocketDisconnect(ClientDisconnect):
    """The connection is closed: the client left or closed it, or a limit closed it
    (`code` 1009 for a message too big, 1001 for an idle connection). Raised by
    `receive()` and `send()`; the connection then ends quietly, with no `error` event."""

    __module__ = "aiokoa"

    def __init__(self, code: int = 1005, reason: str = "") -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"websocket closed ({code}{': ' + reason if reason else ''})")


class WebSocketRefused(WebSocketDisconnect):
    """A handshake the app refused, as a client sees it (`aiokoa.testing`'s
    `websocket_connect`): an HTTP `status` and `body`, or only a close `code`."""

    __module__ = "aiokoa"

    def __init__(self, status: int | None, body: bytes = b"", code: int = POLICY) -> None:
        self.status = status
        self.body = body
        super().__init__(code, f"refused with {status}" if status else "refused")


class WebSocket:
    """`ctx.websocket`: accept, send, receive, iterate, close."""

    __slots__ = ("_receive", "_send", "_state", "close_code", "max_message_size", "receive_timeout", "scope")

    def __init__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        max_message_size: int | None = None,
        receive_timeout: float | None = None,
    ) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send
        self._state = _CONNECTING
        self.close_code: int | None = None
        """Who closed and why, once closed: the client's code or the one sent to it."""
        self.max_message_size = max_message_size
        """A longer message (in bytes) closes the connection with 1009; None: no limit."""
        self.receive_timeout = receive_timeout
        """Seconds `receive()` waits before closing an idle connection with 1001; None: forever."""

    @property
    def subprotocols(self) -> list[str]:
        """The subprotocols the client offered, in its order of preference."""
        return list(self.scope.get("subprotocols") or ())

    @property
    def accepted(self) -> bool:
        """The handshake is over: `accept()` was called (or `close()`, which refuses)."""
        return self._state != _CONNECTING

    @property
    def closed(self) -> bool:
        return self._state == _CLOSED

    async def accept(self, subprotocol: str | None = None, headers: Mapping[str, str] | None = None) -> None:
        """Complete the handshake, choosing one of `subprotocols` and adding response headers."""
        if self._state != _CONNECTING:
            raise RuntimeError("ctx.websocket.accept(): the connection was already accepted or closed")
        message: Message = {"type": "websocket.accept", "subprotocol": subprotocol}
        if headers:
            message["headers"] = [
                (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
            ]
        self._state = _OPEN
        try:
            await self._send(message)
        except OSError as err:
            self._lost(err)

    async def send(self, data: str | bytes | bytearray | memoryview | Mapping[str, Any] | list[Any]) -> None:
        """Send a text message (str), a binary one (bytes), or JSON as text (a dict or list)."""
        # Hot path, once per message: the server's send awaited here, not in one more coroutine.
        if self._state != _OPEN:
            self._unusable("send")
        if isinstance(data, str):
            message: Message = {"type": "websocket.send", "text": data}
        elif isinstance(data, (bytes, bytearray, memoryview)):
            message = {"type": "websocket.send", "bytes": bytes(data)}
        else:
            message = {"type": "websocket.send", "text": dumps(data).decode()}
        try:
            await self._send(message)
        except OSError as err:
            self._lost(err)

    # Hot path: `receive()` and `__anext__()` are plain functions that hand back the one
    # coroutine doing the work, rather than coroutines awaiting another: a message then
    # makes and resumes one coroutine fewer.
    def receive(self) -> Coroutine[Any, Any, str | bytes]:
        """The next message: a str for a text message, bytes for a binary one. Raises
        `WebSocketDisconnect` once the connection is closed."""
        return self._next(False)

    def __aiter__(self) -> WebSocket:
        return self

    def __anext__(self) -> Coroutine[Any, Any, str | bytes]:
        """`async for message in ctx.websocket`: ends when the connection closes."""
        return self._next(True)

    async def _next(self, iterating: bool) -> str | bytes:
        """The next message; once the connection is closed, `WebSocketDisconnect`, or
        `StopAsyncIteration` for `async for`."""
        try:
            if self._state != _OPEN:
                self._unusable("receive")
            timeout = self.receive_timeout
            message = await (self._receive() if timeout is None else self._receive_within(timeout))
            if message["type"] == "websocket.disconnect":
                self._state = _CLOSED
                self.close_code = message.get("code", 1005)
                raise WebSocketDisconnect(self.close_code, message.get("reason") or "")
            data: str | bytes | None = message.get("text")
            if data is None:
                data = message.get("bytes") or b""
            limit = self.max_message_size
            if limit is not None and _size(data) > limit:
                await self.close(TOO_BIG, "message too big")
                raise WebSocketDisconnect(TOO_BIG, "message too big")
            return data
        except WebSocketDisconnect:
            if iterating:
                raise StopAsyncIteration from None
            raise

    async def _receive_within(self, timeout: float) -> Message:
        """The server's next message, or close 1001 and `WebSocketDisconnect` after `timeout`
        seconds. Waited on aside, never cancelled mid-wait: a timer that fires as the message
        arrives then loses nothing and leaves no cancellation behind."""
        waiting = asyncio.ensure_future(self._receive())
        try:
            await asyncio.wait((waiting,), timeout=timeout)
        finally:
            waiting.cancel()  # nothing if it is done
        if not waiting.done() or waiting.cancelled():
            await self.close(GOING_AWAY, "idle")
            raise WebSocketDisconnect(GOING_AWAY, "idle")
        return waiting.result()

    async def close(self, code: int = NORMAL, reason: str = "") -> None:
        """Close the connection (before `accept()`: refuse it). Closing twice does nothing."""
        if self._state == _CLOSED:
            return
        self._state = _CLOSED
        self.close_code = code
        with contextlib.suppress(OSError):  # a client already gone: closed either way
            await self._send({"type": "websocket.close", "code": code, "reason": reason})

    def _lost(self, err: OSError) -> NoReturn:
        """The server's send raised `err`, its sign that the client left."""
        self._state = _CLOSED
        self.close_code = 1006
        raise WebSocketDisconnect(1006) from err

    def _unusable(self, action: str) -> None:
        if self._state == _CONNECTING:
            raise RuntimeError(f"ctx.websocket.{action}() before accept()")
        raise WebSocketDisconnect(self.close_code or 1005)

    def __repr__(self) -> str:
        state = ("connecting", "open", "closed")[self._state]
        return f"<WebSocket {self.scope.get('path', '')} {state}>"


def _size(data: str | bytes) -> int:
    if isinstance(data, bytes) or data.isascii():
        return len(data)
    return len(data.encode())


class WebSocketServer:
    """`app.ws`: the onion websocket connections go through.

    `max_message_size` (bytes, or a size such as "1mb") and `receive_timeout` (seconds)
    are the defaults of every connection's `ctx.websocket`; None (the default) sets no limit.
    """

    def __init__(self, app: Koa) -> None:
        self.app = app
        self.middleware: list[Any] = []
        self.max_message_size: int | str | None = None
        self.receive_timeout: float | None = None
        self._step: Step | None = None
        self._context: type[Context] | None = None

    def use(self, *middleware: Any) -> Any:
        """Add middleware for websocket connections, in order; like `app.use()`."""
        if not middleware:
            raise TypeError("app.ws.use() needs at least one middleware")
        for fn in middleware:
            adapt(fn)
        self.middleware.extend(middleware)
        self._step = None
        return middleware[0] if len(middleware) == 1 else None

    def _compose(self) -> Step:
        app = self.app
        if not app.listeners("error"):
            app.on("error", app.onerror)
        # The app's context class, with room for `ctx.websocket`.
        self._context = type("WebSocketContext", (app.context,), {"__slots__": ("websocket",)})
        step = self._step = chain(self.middleware, checked=app.env != "production")
        return step

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return  # the client left during the handshake
        step = self._step or self._compose()
        assert self._context is not None
        ctx: Any = self._context(self.app, scope, receive, send)
        ctx._method = METHOD
        limit = self.max_message_size
        websocket = ctx.websocket = WebSocket(
            scope,
            receive,
            send,
            max_message_size=None if limit is None else parse_size(limit),
            receive_timeout=self.receive_timeout,
        )
        try:
            await step(ctx, None)
        except WebSocketDisconnect:
            return
        except Exception as err:
            if websocket.accepted:
                self.app.emit("error", err, ctx)
                await websocket.close(SERVER_ERROR)
            else:
                ctx.onerror(err)  # tells the `error` listeners and makes the error response
                await _refuse(ctx, websocket)
            return
        if not websocket.accepted:
            if ctx._status < 400:  # a status that says nothing went wrong cannot refuse
                ctx._status = 403
            await _refuse(ctx, websocket)
        await websocket.close()


async def _refuse(ctx: Context, websocket: WebSocket) -> None:
    """Answer the handshake with the context's response, or close 1008 where the server
    cannot send an HTTP response to a websocket."""
    if DENIAL not in (ctx.scope.get("extensions") or {}):
        await websocket.close(POLICY)
        return
    body = ctx._body
    if isinstance(body, str):
        data = body.encode()
    elif isinstance(body, bytes):
        data = body
    else:
        data = MESSAGES[ctx._status].encode()
        ctx._headers["content-type"] = "text/plain; charset=utf-8"
    ctx._headers["content-length"] = len(data)
    websocket._state = _CLOSED
    websocket.close_code = POLICY
    send = ctx._send
    await send({"type": "websocket.http.response.start", "status": ctx._status, "headers": ctx._raw_headers()})
    await send({"type": "websocket.http.response.body", "body": data})
