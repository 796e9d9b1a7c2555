"""An access log, as koa-logger writes it, or one JSON object per response.

`app.use(logger())` prints `<-- GET /users` when a request comes in and
`--> GET /users 200 3ms 1.2kb` once its response has gone out: `xxx` instead of `-->` when
the middleware below raised (the error response is logged), `-x-` when the client went
away before the end. The length is the body's bytes as sent, streams included: the logger
watches the response's messages through `wrap_send`, the core's public hook for it, and the
request's `receive` for the client's going away. Colours as koa-logger's when the output is
a terminal; `transporter=fn` receives each line and its parts, `fn(line, args)`, as
koa-logger's does.

`logger(json=True)` writes one JSON object per response instead, for log collectors: time,
method, url, path, route, status, duration (seconds), length (bytes), ip, user agent and
outcome (`completed`, `error` or `closed`).

What it cannot see: a response that nothing was sent for, and one that a failing stream or a
cancelled request cut short after its headers went out; those are not logged.
"""

from __future__ import annotations

import json as jsonlib
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..core.compose import Middleware, Next
from ..core.context import Context
from ..core.errors import status_of
from ..core.instrument import wrap_send
from ..types import Message, Receive, Send

Transporter = Callable[[str, list[Any]], Any]

_COLOURS = {7: 35, 5: 31, 4: 33, 3: 36, 2: 32, 1: 32, 0: 33}  # by status class: magenta, red, ...
_UNITS = ("b", "kb", "mb", "gb", "tb", "pb")
IN = "  %s %s %s"
OUT = "  %s %s %s %s %s %s"


def size(length: int) -> str:
    """`12b`, `1.5kb`, `3mb`: bytes as koa-logger shows them (two decimals at most)."""
    value = float(length)
    unit = 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value /= 1024
        unit += 1
    return f"{value:.2f}".rstrip("0").rstrip(".") + _UNITS[unit]


def duration(seconds: float) -> str:
    """`3ms`, `1,234ms`, `12s`, as koa-logger shows the time a request took."""
    ms = int(seconds * 1000)
    return f"{ms:,}ms" if ms < 10_000 else f"{round(ms / 1000):,}s"


def _printable(text: str) -> str:
    """`text` with control characters escaped: a request cannot forge a line of the log or
    send escape sequences to the terminal."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def _paint(code: int, text: str, colour: bool) -> str:
    if not colour:
        return text
    close = 22 if code == 1 else 39  # bold ends with 22, a colour with 39
    return f"\x1b[{code}m{text}\x1b[{close}m"


class _Record:
    """One request's log: what its response sent, until it is written (once)."""

    __slots__ = ("ctx", "error", "length", "log", "start", "started", "status", "written")

    def __init__(self, ctx: Context, log: _Log) -> None:
        self.ctx = ctx
        self.log = log
        self.start = time.perf_counter()
        self.started = time.time()
        self.status: int | None = None
        self.length = 0
        self.error: BaseException | None = None
        self.written = False

    def sending(self, send: Send) -> Send:
        async def counted(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                self.status = message["status"]
            elif kind == "http.response.body":
                self.length += len(message.get("body", b""))
            try:
                await send(message)
            except BaseException:
                self.write("closed")
                raise
            if kind == "http.response.body" and not message.get("more_body", False):
                self.write("error" if self.error is not None else "completed")

        return counted

    def receiving(self, receive: Receive) -> Receive:
        async def watched() -> Message:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.write("closed")  # before the end of the response, or it was written already
            return message

        return watched

    def write(self, outcome: str) -> None:
        if self.written:
            return
        self.written = True
        ctx = self.ctx
        error = self.error
        status = self.status or (status_of(error) if error is not None else ctx.status)
        self.log.write(self, outcome, status)
        # The line is out: let go of the context, which holds this record through its send
        # (a cycle that would leave the whole request to the garbage collector).
        del self.ctx


class _Log:
    """Where the lines go, and in what form."""

    def __init__(self, transporter: Transporter | None, structured: bool, colour: bool | None) -> None:
        self.transporter = transporter
        self.structured = structured
        self.colour = colour

    def coloured(self) -> bool:
        if self.colour is not None:
            return self.colour
        # As koa-logger: colours for a terminal only, and never into a transporter's file.
        return self.transporter is None and "NO_COLOR" not in os.environ and sys.stdout.isatty()

    def emit(self, line: str, args: list[Any]) -> None:
        if self.transporter is not None:
            self.transporter(line, args)
        else:
            print(line, flush=True)

    def incoming(self, ctx: Context) -> None:
        colour = self.coloured()
        url = _printable(ctx.original_url)
        args = [IN, _paint(90, "<--", colour), _paint(1, _printable(ctx.method), colour), _paint(90, url, colour)]
        self.emit(IN % tuple(args[1:]), args)

    def write(self, record: _Record, outcome: str, status: int) -> None:
        ctx = record.ctx
        seconds = time.perf_counter() - record.start
        if self.structured:
            entry = {
                "time": datetime.fromtimestamp(record.started, UTC).isoformat(timespec="milliseconds"),
                "method": ctx.method,
                "url": ctx.original_url,
                "path": ctx.path,
                "route": ctx.route_path,
                "status": status,
                "duration": round(seconds, 6),
                "length": record.length,
                "ip": ctx.ip,
                "user_agent": ctx.get("User-Agent") or None,
                "outcome": outcome,
            }
            self.emit(jsonlib.dumps(entry, separators=(",", ":")), [entry])
            return
        colour = self.coloured()
        if outcome == "error":
            upstream = _paint(31, "xxx", colour)
        elif outcome == "closed":
            upstream = _paint(33, "-x-", colour)
        else:
            upstream = _paint(90, "-->", colour)
        length = "" if status in (204, 205, 304) else size(record.length) if record.length else "-"
        args = [
            OUT,
            upstream,
            _paint(1, _printable(ctx.method), colour),
            _paint(90, _printable(ctx.original_url), colour),
            _paint(_COLOURS.get(status // 100, 33), str(status), colour),
            _paint(90, duration(seconds), colour),
            _paint(90, length, colour),
        ]
        self.emit(OUT % tuple(args[1:]), args)


def logger(
    *,
    transporter: Transporter | None = None,
    json: bool = False,
    colour: bool | None = None,
) -> Middleware:
    """Log each request and its response (see the module's docstring).

    - `transporter`: `fn(line, args)` instead of printing to stdout; `args` is the format
      and its values, as koa-logger passes them (with `json=True`: `[the entry as a dict]`).
    - `json`: one JSON object per response, written when it has gone out.
    - `colour`: force colours on or off; by default on when stdout is a terminal (and
      `NO_COLOR` is not set), never into a transporter.
    """
    log = _Log(transporter, json, colour)

    async def logger(ctx: Context, next: Next) -> Any:
        record = _Record(ctx, log)
        if not json:
            log.incoming(ctx)
        wrap_send(ctx, record.sending)
        ctx.receive = record.receiving(ctx.receive)
        try:
            return await next()
        except Exception as err:
            record.error = err
            if ctx.header_sent:  # no error response can follow: log it now
                record.write("error")
            raise

    return logger
