"""Writing the response to ASGI once the chain has returned (Koa's `respond()`).

A short decision list, as in Koa: bypassed, already answered, empty status, HEAD, no body,
bytes/str, stream, JSON. Streams are read only as the client takes them, an error before
the first chunk still gets a proper error response, and a client that goes away stops
(and closes) the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import os
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from ..http.cookies import signer_of
from ..http.jsonbody import dumps
from ..http.statuses import EMPTY
from .after import response_over
from .body import on_disk, reading, release
from .cookies import Cookies
from .errors import ClientDisconnect
from .response import PATHSEND, TEXT, discard, is_stream
from .sse import EventStream

if TYPE_CHECKING:
    from ..types import Message, Receive
    from .context import Context

CHUNK = 64 * 1024


def body_to_send(ctx: Context) -> bytes | Awaitable[None] | None:
    """The body to send once the chain has returned (Koa's `respond()`): the bytes of a
    complete body, which `Koa.__call__` sends; for a stream, an awaitable that sends it;
    None when nothing is to be sent (`ctx.respond = False`, or already answered)."""
    if ctx.respond is False or ctx._ended:
        return None
    body = ctx._body
    status = ctx._status
    headers = ctx._headers
    if status in EMPTY:
        ctx._drop_body()  # Koa's `ctx.body = null`: also strips a Content-Type set by hand
        return b""
    if (ctx._method or ctx.scope["method"]) == "HEAD":  # ctx.method, without a property call
        if body is None and not ctx._explicit_null_body:
            # The headers a GET would get (Koa sends none; docs/koa-differences.md), but a type
            # or length set by hand stays, as in Koa.
            by_hand = [(name, headers[name]) for name in ("content-type", "content-length") if name in headers]
            _status_body(ctx)
            headers.update(by_hand)
        elif "content-length" not in headers and not ctx._header_sent:
            length = ctx.length
            if length is not None:
                headers["content-length"] = length
        if is_stream(body):
            discard(body)
        return b""
    if body is None:
        if ctx._explicit_null_body:
            headers.pop("content-type", None)
            headers.pop("transfer-encoding", None)
            headers["content-length"] = 0
            return b""
        return _status_body(ctx).encode()
    kind = type(body)
    if kind is str:
        encoded: bytes = body.encode()
        return encoded
    if kind is bytes:
        return body  # type: ignore[no-any-return]
    if kind is bytearray or kind is memoryview:
        return bytes(body)
    if kind is not dict and kind is not list and is_stream(body):
        if kind is EventStream:
            return _send_stream(ctx, body.respond(ctx))
        if isinstance(body, PurePath) and PATHSEND in (ctx.scope.get("extensions") or ()):
            return _send_path(ctx, body)
        return _send_stream(ctx, _pump(ctx, _chunks(body)))
    data = dumps(body)
    if not ctx._header_sent:
        headers["content-length"] = len(data)
    return data


def finish(ctx: Context) -> tuple[Message | None, Message] | Awaitable[None] | None:
    """What `Koa.__call__` sends once the chain has returned: the start message (None when
    the headers already went out) and the body message; for a stream, or an answer after
    which a form's files are closed, an awaitable that sends it; None when there is nothing
    to send."""
    # Hot path.
    ctx._finished = True
    body = body_to_send(ctx)
    if ctx._request is not None or ctx._response is not None or ctx._cookies is not None:
        unlink(ctx)
    if type(body) is bytes:
        if ctx._request_body is not None and ctx._request_body.uploads:
            return _send_then_release(ctx, messages(ctx, body))
        return messages(ctx, body)
    if body is None:
        if ctx._request_body is not None:
            release(ctx)  # (a stream, which may be one of the files, closes them once sent)
        if ctx._after is not None:
            response_over(ctx)  # nothing more to send
    return body  # type: ignore[return-value]  # None, or a stream's awaitable


async def _send_then_release(ctx: Context, out: tuple[Message | None, Message]) -> None:
    """Send a complete answer, then close the form's files: removing a large temporary file
    takes the kernel a while (freeing its pages), which the client need not wait for. Files
    on disk are closed in a thread: some servers (granian) put the answer out only once the
    event loop runs again."""
    start, end = out
    send = ctx._send
    try:
        if start is not None:
            await send(start)
        await send(end)
    except BaseException:
        release(ctx)
        raise
    if on_disk(ctx):
        await asyncio.to_thread(release, ctx)
    else:
        release(ctx)


def unlink(ctx: Context) -> None:
    """Drop the context's hold on its `ctx.request`, `ctx.response` and `ctx.cookies` once
    the response is decided. Each points back at the context, and that cycle would leave
    everything the request holds (its scope, headers, body and what was parsed of it) to the
    garbage collector rather than free it when the request ends: with many requests in
    flight, the collector's passes over them cost more than the body's reading. One that
    holds nothing but the context (no attribute set on it; the app's keys) is made again, the
    same, if asked for later (by an `error` listener, a streamed body, work after the
    response); one that holds more stays."""
    request = ctx._request
    if request is not None and not getattr(request, "__dict__", None):
        ctx._request = None
    response = ctx._response
    if response is not None and not getattr(response, "__dict__", None):
        ctx._response = None
    cookies = ctx._cookies
    if type(cookies) is Cookies and cookies.secure is None and cookies.keys is signer_of(ctx.app.keys):
        ctx._cookies = None


def messages(ctx: Context, body: bytes) -> tuple[Message | None, Message]:
    """The ASGI messages of a complete body."""
    start = None if ctx._header_sent else ctx._start_message()
    ctx._ended = True
    return start, {"type": "http.response.body", "body": body}


def _status_body(ctx: Context) -> str:
    """`Not Found`, `Bad Request`, ...: the body of a response that has only a status."""
    code = ctx._status
    text = str(code) if ctx.scope.get("http_version") == "2" else ctx.message or str(code)
    if not ctx._header_sent:
        ctx._headers["content-type"] = TEXT
        ctx._headers["content-length"] = len(text.encode())
    return text


def error_response(ctx: Context, err: Exception) -> tuple[Message | None, Message] | None:
    """The error response's messages, once `ctx.onerror` has rewritten the response; None
    when the headers are already out: the response is then left unfinished, which makes the
    server abort it rather than present a truncated body as complete."""
    ctx._finished = True
    if ctx._request_body is not None:
        release(ctx)
    if isinstance(err, ClientDisconnect):  # no one to answer, nothing to report
        ctx._ended = True
        response_over(ctx)
        return None
    ctx.onerror(err)
    unlink(ctx)
    if ctx._header_sent or ctx._ended:
        response_over(ctx)
        return None
    return messages(ctx, b"" if ctx.method == "HEAD" else ctx._body.encode())


async def _chunks(body: Any) -> AsyncGenerator[bytes, None]:
    """Every stream body as async chunks of bytes; blocking reads run in a thread."""
    try:
        if isinstance(body, PurePath):
            file, chunk = await _blocking(_open_and_read, body)
            try:
                while chunk:
                    yield chunk
                    if len(chunk) < CHUNK:  # a short read of a file is its end: no read to learn it
                        break
                    chunk = await _blocking(file.read, CHUNK)
            finally:
                file.close()
        elif hasattr(body, "__aiter__"):
            async for item in body:
                yield item.encode() if isinstance(item, str) else bytes(item)
        elif hasattr(body, "read"):
            while chunk := await _blocking(body.read, CHUNK):
                yield chunk.encode() if isinstance(chunk, str) else chunk
        else:
            done = object()
            while (item := await _blocking(next, body, done)) is not done:
                yield item.encode() if isinstance(item, str) else bytes(item)
    finally:
        close = getattr(body, "aclose", None)
        if close is not None:
            await close()
        elif hasattr(body, "close"):
            body.close()


def _open_and_read(path: PurePath) -> tuple[Any, bytes]:
    """The open file and its first chunk, in one trip to a thread (a small file needs no other)."""
    file = open(path, "rb")  # noqa: SIM115  # closed by `_chunks`
    try:
        return file, file.read(CHUNK)
    except BaseException:
        file.close()
        raise


async def _blocking(read: Callable[..., Any], *args: Any) -> Any:
    """`read(*args)` in a thread. Cancelled (the client left), it still waits for the read to
    return, so the stream is never closed while a thread is reading it."""
    call = functools.partial(contextvars.copy_context().run, read, *args)
    future = asyncio.get_running_loop().run_in_executor(None, call)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait((future,))
        raise


async def _send_path(ctx: Context, path: PurePath) -> None:
    """A whole file, sent by the server from its path: no chunk passes through Python, and
    the server may hand the file to the kernel (sendfile)."""
    if not ctx._header_sent:
        await ctx._send_start()
    ctx._ended = True
    await ctx._send({"type": PATHSEND, "path": os.path.abspath(path)})


async def _send_stream(ctx: Context, sending: Coroutine[Any, Any, None]) -> None:
    """Run `sending` (which sends the stream and the end of the response) in its own task,
    cancelled if the client goes away first."""
    # Watched from the start: a client that leaves while the first chunk is still awaited
    # closes the stream too, rather than once that chunk comes.
    pump = asyncio.ensure_future(sending)
    # While a reader takes the request body (a response streaming `ctx.stream()`), the
    # messages are its own, and it hears of a client that leaves itself.
    watch = None if reading(ctx) else asyncio.ensure_future(_disconnect(ctx.receive))
    try:
        await asyncio.wait((pump,) if watch is None else (pump, watch), return_when=asyncio.FIRST_COMPLETED)
    finally:
        if watch is not None:
            watch.cancel()
        if not pump.done():  # the client went away: stop reading the stream
            pump.cancel()
            ctx._ended = True
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        finally:
            if ctx._request_body is not None:
                release(ctx)
            response_over(ctx)


async def _pump(ctx: Context, chunks: AsyncGenerator[bytes, None]) -> None:
    """Send the stream; an error before its first chunk leaves the headers unsent, so that
    the error response can still be made."""
    send = ctx._send
    try:
        first = await anext(chunks, b"")
        if not ctx._header_sent:
            await ctx._send_start()
        if first:
            await send({"type": "http.response.body", "body": first, "more_body": True})
        async for chunk in chunks:
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
    finally:
        await chunks.aclose()
    ctx._ended = True
    await send({"type": "http.response.body", "body": b""})


async def _disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
