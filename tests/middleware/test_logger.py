"""logger(): koa-logger's lines, lengths as sent (streams too), errors, closed connections,
colours, transporters, and the JSON access log."""

from __future__ import annotations

import asyncio
import gc
import io
import json
import re
import socket
import threading
import weakref
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from aiokoa import Context, Koa, Next
from aiokoa.middleware.logger import duration, logger, size
from aiokoa.testing import TestClient
from aiokoa.types import Message

from ..conftest import Serve, running

Lines = list[tuple[str, list[Any]]]


def app_with(mw: Any) -> Koa:
    app = Koa(silent=True)
    app.use(mw)

    @app.use
    async def handler(ctx: Context, next: Next) -> None:
        if ctx.path == "/boom":
            raise RuntimeError("unexpected")
        if ctx.path == "/forbidden":
            ctx.throw(403)
        if ctx.path == "/empty":
            ctx.status = 204
        elif ctx.path == "/stream":

            async def chunks() -> AsyncIterator[bytes]:
                for _ in range(3):
                    yield b"x" * 1000

            ctx.body = chunks()
        elif ctx.path == "/late-error":
            ctx.body = "partial"
            await ctx.response.flush_headers()
            raise RuntimeError("after the headers")
        elif ctx.path == "/raw":
            ctx.respond = False
            await ctx.send({"type": "http.response.start", "status": 201, "headers": []})
            await ctx.send({"type": "http.response.body", "body": b"made by hand"})
        else:
            ctx.body = "hello world!"

    return app


def collect(**options: Any) -> tuple[Lines, Any]:
    lines: Lines = []
    return lines, logger(transporter=lambda line, args: lines.append((line, args)), **options)


def test_the_in_and_out_lines() -> None:
    lines, mw = collect()
    with TestClient(app_with(mw)) as client:
        client.get("/?q=1")
    assert lines[0] == ("  <-- GET /?q=1", ["  %s %s %s", "<--", "GET", "/?q=1"])
    line, args = lines[1]
    assert re.fullmatch(r"  --> GET /\?q=1 200 \d+ms 12b", line)
    assert args[0] == "  %s %s %s %s %s %s"
    assert args[1:4] == ["-->", "GET", "/?q=1"] and args[4] == "200" and args[6] == "12b"
    assert len(lines) == 2


@pytest.mark.parametrize(("path", "status", "length"), [("/forbidden", 403, "9b"), ("/boom", 500, "21b")])
def test_errors_are_marked_xxx_with_the_error_status(path: str, status: int, length: str) -> None:
    lines, mw = collect()
    with TestClient(app_with(mw)) as client:
        assert client.get(path).status_code == status
    assert re.fullmatch(rf"  xxx GET {path} {status} \d+ms {length}", lines[1][0])


def test_an_error_after_the_headers_went_out_is_logged_once() -> None:
    lines, mw = collect()
    with TestClient(app_with(mw)) as client, pytest.raises(Exception):
        client.get("/late-error")
    outs = [line for line, _ in lines[1:]]
    assert len(outs) == 1
    assert re.fullmatch(r"  xxx GET /late-error 200 \d+ms -", outs[0])


def test_empty_statuses_have_no_length_and_hand_made_responses_are_logged() -> None:
    lines, mw = collect()
    with TestClient(app_with(mw)) as client:
        client.get("/empty")
        client.get("/raw")
    assert re.fullmatch(r"  --> GET /empty 204 \d+ms ", lines[1][0])
    assert re.fullmatch(r"  --> GET /raw 201 \d+ms 12b", lines[3][0])


def test_stdout_without_colours_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with TestClient(app_with(logger())) as client:
        client.get("/")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "  <-- GET /"
    assert re.fullmatch(r"  --> GET / 200 \d+ms 12b", out[1])


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colours_on_a_terminal_as_koa_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    terminal = Terminal()
    monkeypatch.setattr("sys.stdout", terminal)
    with TestClient(app_with(logger())) as client:
        client.get("/")
        client.get("/forbidden")
    lines = terminal.getvalue().splitlines()
    assert lines[0] == "  \x1b[90m<--\x1b[39m \x1b[1mGET\x1b[22m \x1b[90m/\x1b[39m"
    assert lines[1].startswith("  \x1b[90m-->\x1b[39m \x1b[1mGET\x1b[22m \x1b[90m/\x1b[39m \x1b[32m200\x1b[39m ")
    assert lines[3].startswith("  \x1b[31mxxx\x1b[39m ") and "\x1b[33m403\x1b[39m" in lines[3]
    monkeypatch.setenv("NO_COLOR", "1")
    with TestClient(app_with(logger())) as client:
        client.get("/")
    assert terminal.getvalue().splitlines()[-2] == "  <-- GET /"


def test_colour_can_be_forced_for_a_transporter() -> None:
    lines, mw = collect(colour=True)
    with TestClient(app_with(mw)) as client:
        client.get("/")
    assert "\x1b[32m200\x1b[39m" in lines[1][0]


def test_the_json_access_log() -> None:
    lines, mw = collect(json=True)
    with TestClient(app_with(mw)) as client:
        client.get("/stream?page=2", headers={"User-Agent": "probe/1"})
        client.get("/boom")
    assert len(lines) == 2
    line, args = lines[0]
    entry = json.loads(line)
    assert args == [entry]
    assert entry["method"] == "GET" and entry["url"] == "/stream?page=2" and entry["path"] == "/stream"
    assert entry["status"] == 200 and entry["length"] == 3000 and entry["outcome"] == "completed"
    assert entry["user_agent"] == "probe/1" and entry["ip"] == "127.0.0.1" and entry["route"] is None
    assert 0 <= entry["duration"] < 5
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", entry["time"])
    error = json.loads(lines[1][0])
    assert (error["status"], error["outcome"]) == (500, "error")


def test_streamed_lengths_are_counted_over_http(serve: Serve) -> None:
    lines, mw = collect()
    client = serve(app_with(mw))
    assert len(client.get("/stream").content) == 3000
    assert re.fullmatch(r"  --> GET /stream 200 \d+ms 2\.93kb", lines[1][0])


def test_a_client_that_leaves_mid_stream_is_marked_closed() -> None:
    lines: Lines = []
    logged = threading.Event()
    app = Koa()

    def transporter(line: str, args: list[Any]) -> None:
        lines.append((line, args))
        logged.set()

    app.use(logger(json=True, transporter=transporter))

    @app.use
    async def endless(ctx: Context, next: Next) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            while True:
                yield b"y" * 100
                await asyncio.sleep(0.01)

        ctx.body = chunks()

    with running(app) as url:
        port = urlsplit(url).port
        assert port is not None
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"GET /endless HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(1000)
        assert logged.wait(5)
    entry = json.loads(lines[0][0])
    assert entry["outcome"] == "closed"
    assert entry["length"] >= 100
    assert len(lines) == 1


def test_a_closed_connection_in_the_text_line() -> None:
    lines, mw = collect()
    app = Koa()
    app.use(mw)

    @app.use
    async def waits(ctx: Context, next: Next) -> None:
        await ctx.receive()  # the body
        await ctx.receive()  # the client going away
        ctx.body = "too late"

    async def exchange() -> list[Message]:
        inbox: list[Message] = [{"type": "http.request", "body": b""}, {"type": "http.disconnect"}]
        sent: list[Message] = []

        async def receive() -> Message:
            return inbox.pop(0)

        async def send(message: Message) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/", "raw_path": b"/", "query_string": b"", "headers": []}
        await app(scope, receive, send)
        return sent

    sent = asyncio.run(exchange())
    assert sent  # the server ignores it; the log tells
    assert re.fullmatch(r"  -x- GET / 404 \d+ms -", lines[1][0])  # the status when the client left
    assert len(lines) == 2


@pytest.mark.parametrize(
    ("length", "shown"),
    [
        (1, "1b"),
        (1023, "1023b"),
        (1024, "1kb"),
        (1536, "1.5kb"),
        (2000, "1.95kb"),
        (3 * 1024**2, "3mb"),
        (5 * 1024**5, "5pb"),
    ],
)
def test_sizes_as_koa_logger_shows_them(length: int, shown: str) -> None:
    assert size(length) == shown


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0.0004, "0ms"), (0.003, "3ms"), (1.2345, "1,234ms"), (12.6, "13s"), (1234.0, "1,234s")]
)
def test_durations_as_koa_logger_shows_them(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


def test_a_send_that_fails_is_a_closed_connection() -> None:
    lines, mw = collect()
    app = app_with(mw)

    async def exchange() -> None:
        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        async def send(message: Message) -> None:
            raise OSError("connection reset")

        scope = {"type": "http", "method": "GET", "path": "/", "raw_path": b"/", "query_string": b"", "headers": []}
        await app(scope, receive, send)

    with pytest.raises(OSError, match="connection reset"):
        asyncio.run(exchange())
    assert re.fullmatch(r"  -x- GET / 200 \d+ms -", lines[1][0])
    assert len(lines) == 2


def test_control_characters_in_the_url_are_escaped_in_the_text_line() -> None:
    lines, mw = collect()
    app = app_with(mw)

    async def exchange() -> None:
        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        async def send(message: Message) -> None:
            pass

        raw = b"/\x1b[31mred\r\n  --> GET /forged 200 1ms 2b"
        scope = {"type": "http", "method": "GET", "path": raw.decode(), "raw_path": raw, "query_string": b"q=\x07"}
        await app({**scope, "headers": []}, receive, send)

    asyncio.run(exchange())
    assert lines[0][0] == "  <-- GET /\\x1b[31mred\\r\\n  --> GET /forged 200 1ms 2b?q=\\x07"
    assert "\n" not in lines[1][0] and "\x1b" not in lines[1][0]


def test_a_logged_request_is_freed_without_the_garbage_collector() -> None:
    # The context holds the request's log record through its send: once the line is out,
    # the record lets go of the context, so that the request's objects go as soon as it ends.
    lines, mw = collect()
    app = Koa(silent=True)
    app.use(mw)
    contexts: list[weakref.ref[Context]] = []

    @app.use
    async def handler(ctx: Context, next: Next) -> None:
        contexts.append(weakref.ref(ctx))
        ctx.body = "ok"

    with TestClient(app) as client:
        client.get("/")
        gc.collect()
        gc.disable()
        try:
            assert client.get("/").status_code == 200
            assert len(lines) == 4  # in and out, twice
            assert contexts[-1]() is None
        finally:
            gc.enable()
