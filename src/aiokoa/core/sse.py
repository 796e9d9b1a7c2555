"""Server-Sent Events: `ctx.body = EventStream(source)`, what a browser's `EventSource` reads.

`source` is an async or plain iterable of events: a `str` (the data), a `ServerSentEvent`
(data with its `event`, `id` and `retry` fields), or any other value, sent as JSON. Each
event goes out as soon as the source yields it, in its own chunk, as the text/event-stream
format frames it: one `data:` line per line of the data (`\\r\\n`, `\\r` and `\\n` all end a
line, as the browser splits them), then a blank line. A field that cannot hold a line
break (`event`, `id`) refuses one with `ValueError` rather than let it start another field
or another event; `id` refuses NUL too, which makes browsers ignore the field.

While the source has nothing to say for `ping` seconds, a comment line goes out, so that
proxies and load balancers do not close the idle connection: a timer sends it while the
stream waits for the source, which is never interrupted for it. When the client goes away
the stream is cancelled where the source waits, and the source's `finally` runs then.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

from ..http.jsonbody import dumps

if TYPE_CHECKING:
    from ..types import Send
    from .context import Context

HEADERS = {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",  # nginx: pass each event on at once rather than buffer them
}
PING = b": ping\n\n"
BODY = "http.response.body"
_LINES = re.compile(r"\r\n|\r|\n")


class ServerSentEvent:
    """One event: `data` (a `str`, sent as it is, or any JSON value; None: no data field),
    and the optional `event` (its type: `addEventListener(event, ...)` in the browser), `id`
    (what the browser sends back as `Last-Event-ID` when it reconnects) and `retry` (how
    long the browser waits before reconnecting, in seconds)."""

    __slots__ = ("data", "event", "id", "retry")
    data: Any
    event: str | None
    id: str | None
    retry: float | None

    def __init__(
        self, data: Any = None, *, event: str | None = None, id: str | None = None, retry: float | None = None
    ) -> None:
        if event is not None and _LINES.search(event):
            raise ValueError(f"an event's type cannot hold a line break: {event!r}")
        if id is not None and (_LINES.search(id) or "\0" in id):
            raise ValueError(f"an event's id cannot hold a line break or NUL: {id!r}")
        if retry is not None and not retry >= 0:
            raise ValueError(f"retry is a number of seconds, 0 or more: {retry!r}")
        # Checked once, here: the fields cannot change afterwards.
        for name, value in (("data", data), ("event", event), ("id", id), ("retry", retry)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a ServerSentEvent cannot be changed (its {name}): make a new one")

    def encode(self) -> bytes:
        """The event as the text/event-stream format frames it, its blank line included."""
        lines = []
        if self.event is not None:
            lines.append(f"event: {self.event}\n")
        if self.id is not None:
            lines.append(f"id: {self.id}\n")
        if self.retry is not None:
            lines.append(f"retry: {round(self.retry * 1000)}\n")
        if self.data is not None:
            lines.append(_data(self.data))
        lines.append("\n")
        return "".join(lines).encode()

    def __repr__(self) -> str:
        named = {"event": self.event, "id": self.id, "retry": self.retry}
        fields = [f"{name}={value!r}" for name, value in named.items() if value is not None]
        return f"ServerSentEvent({', '.join([repr(self.data), *fields])})"


def _data(data: Any) -> str:
    if not isinstance(data, str):
        return f"data: {dumps(data).decode()}\n"  # one line: JSON escapes its line breaks
    if "\n" not in data and "\r" not in data:
        return f"data: {data}\n"
    return "".join(f"data: {line}\n" for line in _LINES.split(data))


def encode(item: Any) -> bytes:
    """One item of a source as the bytes of its event."""
    # Hot path: a str of one line, the usual event, framed in one step; a JSON value's bytes
    # are framed as they are (JSON escapes its line breaks), never decoded and encoded again.
    if type(item) is str and "\n" not in item and "\r" not in item:
        return f"data: {item}\n\n".encode()
    if isinstance(item, str):
        return f"{_data(item)}\n".encode()
    if isinstance(item, ServerSentEvent):
        return item.encode()
    return b"data: %b\n\n" % dumps(item)


class EventStream:
    """`ctx.body = EventStream(source, ping=15.0)`: the response streams `source`'s events.

    Setting it as the body sets the headers an event stream needs (`Content-Type:
    text/event-stream; charset=utf-8`, `Cache-Control: no-cache`, `X-Accel-Buffering: no`,
    no `Content-Length`). The headers go out at once, before the first event, so that the
    browser's `onopen` fires; an error the source raises later ends the stream (the browser
    reconnects) and reaches the app's `error` event. `ping=None` sends no pings."""

    __slots__ = ("source", "ping")

    def __init__(self, source: AsyncIterable[Any] | Iterable[Any], *, ping: float | None = 15.0) -> None:
        if not hasattr(source, "__aiter__") and not hasattr(source, "__iter__"):
            raise TypeError(f"EventStream takes an iterable or async iterable of events, not {type(source).__name__}")
        if ping is not None and not ping > 0:
            raise ValueError(f"ping is a number of seconds above 0, or None: {ping!r}")
        self.source = source
        self.ping = ping

    def __aiter__(self) -> AsyncIterator[bytes]:
        """The events' bytes, without pings (which need the response's send: `respond`)."""
        return self._events()

    async def _events(self) -> AsyncIterator[bytes]:
        yield b""  # the headers, at once
        source = self.source
        if hasattr(source, "__aiter__"):
            async for item in source:
                yield encode(item)
        else:
            for item in source:  # type: ignore[union-attr]
                yield encode(item)

    async def respond(self, ctx: Context) -> None:
        """Send the stream as `ctx`'s response: the headers at once (so that the browser's
        `onopen` fires), then each event as the source yields it, and the end. While the
        source waits for its next event, a timer sends the pings through `send` itself, so
        that the source is never interrupted; a ping still going out when the next event
        comes goes first. The source is closed when this ends."""
        # Hot path, once per event: this coroutine takes each item from the source and sends
        # it itself, with no generator of chunks between them.
        send = ctx._send
        source = self.source
        try:
            if not ctx._header_sent:
                await ctx._send_start()
            if not isinstance(source, AsyncIterable):
                for item in source:
                    await send({"type": BODY, "body": encode(item), "more_body": True})
            elif self.ping is None:
                async for item in source:
                    await send({"type": BODY, "body": encode(item), "more_body": True})
            else:
                pinger = _Pinger(send, self.ping)
                pinger.start()
                clock = pinger.loop.time
                try:
                    pinger.idle = True
                    async for item in source:
                        pinger.idle = False
                        sending = pinger.sending
                        if sending is not None:
                            pinger.sending = None
                            await sending
                        # `encode`'s first case, without the call: the default stream's usual event.
                        if type(item) is str and "\n" not in item and "\r" not in item:
                            body = f"data: {item}\n\n".encode()
                        else:
                            body = encode(item)
                        pinger.last = clock()
                        await send({"type": BODY, "body": body, "more_body": True})
                        pinger.idle = True
                finally:
                    pinger.stop()
        finally:
            await self.aclose()
        ctx._ended = True
        await send({"type": BODY, "body": b""})

    async def aclose(self) -> None:
        """Close the source (its `finally` runs, if it started)."""
        close = getattr(self.source, "aclose", None)
        if close is not None:
            await close()
        elif hasattr(self.source, "close"):
            self.source.close()


class _Pinger:
    """Sends a comment through `send` each time the stream was silent for `every` seconds:
    one timer, moved on only when it fires, so events cost it nothing but a clock read."""

    __slots__ = ("send", "every", "idle", "last", "sending", "loop", "timer")

    def __init__(self, send: Send, every: float) -> None:
        self.send = send
        self.every = every
        self.idle = False
        """True while the stream waits for the source: nothing else is being sent then."""
        self.sending: asyncio.Task[None] | None = None
        self.loop = asyncio.get_running_loop()
        self.last = self.loop.time()
        self.timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self.last = self.loop.time()
        self.timer = self.loop.call_at(self.last + self.every, self._fire)

    def _fire(self) -> None:
        now = self.loop.time()
        sending = self.sending
        if sending is not None and sending.done():
            if not sending.cancelled() and sending.exception() is not None:
                return  # the client is gone: the stream raises it with its next event
            sending = self.sending = None
        if now >= self.last + self.every:
            if self.idle and sending is None:
                self.sending = asyncio.ensure_future(self.send({"type": BODY, "body": PING, "more_body": True}))
            self.last = now
        self.timer = self.loop.call_at(self.last + self.every, self._fire)

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        sending = self.sending
        if sending is not None:
            if not sending.done():
                sending.cancel()
            elif not sending.cancelled():
                sending.exception()  # retrieved: the stream ends anyway
