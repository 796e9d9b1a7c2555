"""Koa's application/respond tests: what `respond()` writes for each body, status and method."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from aiokoa import Context, Koa, Next
from aiokoa.http.statuses import MESSAGES
from aiokoa.testing import TestClient

from ...conftest import Serve
from ..conftest import RecordErrors

PACKAGE = {"name": "aiokoa", "version": "0.1.0", "description": "Koa for asyncio"}


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A JSON file to stream (Koa streams its package.json)."""
    path = tmp_path / "package.json"
    path.write_text(json.dumps(PACKAGE, indent=2))
    return path


def app_with(middleware: Callable[..., Any]) -> Koa:
    app = Koa()
    app.use(middleware)
    return app


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


# -- when ctx.respond is False ------------------------------------------------------------


async def _answer_lol(ctx: Context) -> None:
    start = {"type": "http.response.start", "status": 200}
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"3")]
    await ctx.send({**start, "headers": headers})
    await ctx.send({"type": "http.response.body", "body": b"lol"})


def test_respond_false_lets_middleware_answer_through_send(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = "Hello"
        ctx.respond = False
        await asyncio.sleep(0)  # Koa answers from setImmediate
        await _answer_lol(ctx)

    response = serve(app_with(mw)).get("/")
    assert response.status_code == 200
    assert response.text == "lol"


@pytest.mark.parametrize(
    "change",
    [lambda ctx: ctx.set("foo", "bar"), lambda ctx: setattr(ctx, "status", 201)],
    ids=["set", "status"],
)
def test_respond_false_change_after_headers_sent_raises(serve: Serve, errors: RecordErrors, change: Any) -> None:
    """Koa ignores the change; aiokoa raises, as the response it answered cannot change."""

    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = "Hello"
        ctx.respond = False
        await _answer_lol(ctx)
        change(ctx)

    app = app_with(mw)
    events = errors(app)
    response = serve(app).get("/")
    assert response.status_code == 200
    assert response.text == "lol"
    assert "foo" not in response.headers
    deadline = time.monotonic() + 5
    while not events and time.monotonic() < deadline:
        time.sleep(0.01)  # the error comes after the answer went out: the client may be first
    assert [type(err).__name__ for err in events] == ["ResponseSentError"]


# -- when ctx.type is None ----------------------------------------------------------------


def test_type_none_sends_no_content_type(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = ""
        ctx.type = None

    response = serve(app_with(mw)).get("/")
    assert response.status_code == 200
    assert "content-type" not in response.headers
    assert response.headers["content-length"] == "0"


# -- when HEAD is used --------------------------------------------------------------------


def test_head_does_not_send_the_body(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = "Hello"

    response = serve(app_with(mw)).head("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == "5"
    assert response.content == b""


@pytest.mark.parametrize(
    ("body", "content_type", "length"),
    [
        ({"hello": "world"}, "application/json; charset=utf-8", "17"),
        ("hello world", "text/plain; charset=utf-8", "11"),
        (b"hello world", "application/octet-stream", "11"),
        (bytearray(b"hello world"), "application/octet-stream", "11"),  # Koa's Blob
    ],
    ids=["json", "string", "bytes", "blob"],
)
def test_head_keeps_the_headers_of_the_body(serve: Serve, body: Any, content_type: str, length: str) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = body

    client = serve(app_with(mw))
    head = client.head("/")
    assert head.status_code == 200
    assert head.headers["content-type"] == content_type
    assert head.headers["content-length"] == length
    assert head.content == b""
    get = client.get("/")
    assert (get.headers["content-type"], get.headers["content-length"]) == (content_type, length)


def test_head_keeps_stream_content_length_set_manually(serve: Serve, package: Path) -> None:
    opened: list[BinaryIO] = []

    async def mw(ctx: Context, next: Next) -> None:
        ctx.length = package.stat().st_size
        opened.append(package.open("rb"))
        ctx.body = opened[0]

    response = serve(app_with(mw)).head("/")
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == package.stat().st_size
    assert response.content == b""
    assert opened[0].closed  # a HEAD never reads the stream, but closes it


def test_head_without_body_is_404_with_the_headers_a_get_gets(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        pass

    client = serve(app_with(mw))
    response = client.head("/")
    assert response.status_code == 404
    # a deliberate fix (docs/koa-differences.md): Koa sends no Content-Type/Length on this HEAD; a GET's are sent.
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == "9"
    assert response.content == b""
    assert client.get("/").text == "Not Found"


def test_head_with_empty_string_body_is_200(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = ""

    response = serve(app_with(mw)).head("/")
    assert response.status_code == 200
    assert response.headers["content-length"] == "0"


def test_head_does_not_overwrite_a_content_type_set_by_hand(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.status = 200
        ctx.type = "application/javascript"

    response = serve(app_with(mw)).head("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")


def test_head_keeps_a_length_set_by_hand_without_a_body(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.length = 42

    response = serve(app_with(mw)).head("/")
    assert response.status_code == 404
    assert response.headers["content-length"] == "42"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"  # the GET's, none set by hand
    assert response.content == b""


def test_head_keeps_a_type_and_length_set_by_hand_without_a_body(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.status = 200
        ctx.type = "json"
        ctx.length = 42

    response = serve(app_with(mw)).head("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["content-length"] == "42"


# -- when no middleware is present --------------------------------------------------------


def test_no_middleware_responds_404_not_found(serve: Serve) -> None:
    response = serve(Koa()).get("/")
    assert response.status_code == 404
    assert response.text == "Not Found"


# -- when the response was already written to ---------------------------------------------


def test_partial_raw_send_does_not_cause_an_app_error(serve: Serve, errors: RecordErrors) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.status = 200
        await ctx.send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await ctx.send({"type": "http.response.body", "body": b"Hello", "more_body": True})

    app = app_with(mw)
    events = errors(app)
    response = serve(app).get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html"
    assert response.text == "HelloOK"  # respond() ends it with the status body, as Koa does
    assert events == []


def test_raw_send_finished_later_sends_the_right_body(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.status = 200
        await ctx.send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await ctx.send({"type": "http.response.body", "body": b"Hello", "more_body": True})
        await asyncio.sleep(0)
        await ctx.send({"type": "http.response.body", "body": b"Goodbye"})

    response = serve(app_with(mw)).get("/")
    assert response.status_code == 200
    assert response.text == "HelloGoodbye"


# -- when the body is missing -------------------------------------------------------------


def test_missing_body_with_status_400_sends_the_status_message(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.status = 400

    response = serve(app_with(mw)).get("/")
    assert response.status_code == 400
    assert response.headers["content-length"] == "11"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "Bad Request"


@pytest.mark.parametrize("status", [204, 205, 304])
def test_missing_body_with_empty_status_sends_nothing(serve: Serve, status: int) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.status = status

    response = serve(app_with(mw)).get("/")
    assert response.status_code == status
    assert response.content == b""
    assert "content-type" not in response.headers


# uvicorn cannot send statuses above 599: these two go through the in-process client.


def test_missing_body_with_custom_status_700_sends_its_registered_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(MESSAGES, 700, "custom status")

    async def mw(ctx: Context, next: Next) -> None:
        ctx.status = 700

    with TestClient(app_with(mw)) as client:
        response = client.get("/")
    assert response.status_code == 700
    assert response.text == "custom status"  # ASGI has no reason phrase: only the body shows it


def test_missing_body_with_custom_message_sends_the_message(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.status = 200
        ctx.message = "ok"

    response = serve(app_with(mw)).get("/")
    assert response.status_code == 200
    assert response.text == "ok"


def test_missing_body_with_unknown_status_sends_the_code() -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.status = 701

    with TestClient(app_with(mw)) as client:
        response = client.get("/")
    assert response.status_code == 701
    assert response.text == "701"


# -- when the body is None (Koa's null and undefined) -------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [(None, 204), (200, 204), (205, 205), (304, 304)],
    ids=["default", "status-200", "status-205", "status-304"],
)
def test_none_body_responds_empty(serve: Serve, status: int | None, expected: int) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        if status is not None:
            ctx.status = status
        ctx.body = None

    response = serve(app_with(mw)).get("/")
    assert response.status_code == expected
    assert response.content == b""
    assert "content-type" not in response.headers


# -- bodies of each type ------------------------------------------------------------------


def test_string_body_is_sent(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = "Hello"

    assert serve(app_with(mw)).get("/").text == "Hello"


@pytest.mark.parametrize("body", [b"Hello", bytearray(b"Hello"), memoryview(b"Hello")], ids=type)
def test_binary_body_is_sent(serve: Serve, body: Any) -> None:
    """Koa's Buffer and Blob."""

    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = body

    response = serve(app_with(mw)).get("/")
    assert response.status_code == 200
    assert response.content == b"Hello"
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-length"] == "5"


def test_async_iterator_body_on_head_is_octet_stream_and_closed(serve: Serve) -> None:
    """Koa's `new ReadableStream()` on HEAD (without Koa's `Content-Length: 2`, the length of `{}`)."""
    closed = threading.Event()

    async def stream() -> AsyncIterator[bytes]:
        try:
            yield b"never read"
        finally:
            closed.set()

    async def mw(ctx: Context, next: Next) -> None:
        body = stream()
        await body.__anext__()  # started, so closing it runs `finally`
        ctx.body = body

    response = serve(app_with(mw)).head("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert "content-length" not in response.headers
    assert closed.wait(5)


def test_async_iterator_body_sends_its_chunks(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = chunks(b"he", b"llo")

    response = serve(app_with(mw)).get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content == b"hello"


# -- when the body is a stream ------------------------------------------------------------


def test_file_body_is_streamed_without_content_length(serve: Serve, package: Path) -> None:
    opened: list[BinaryIO] = []

    async def mw(ctx: Context, next: Next) -> None:
        opened.append(package.open("rb"))
        ctx.body = opened[0]
        ctx.set("Content-Type", "application/json; charset=utf-8")

    response = serve(app_with(mw)).get("/")
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert "content-length" not in response.headers
    assert response.json() == PACKAGE
    assert opened[0].closed


def test_stream_body_strips_content_length_when_overwriting(serve: Serve, package: Path) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = "hello"
        ctx.body = package.open("rb")
        ctx.set("Content-Type", "application/json; charset=utf-8")

    response = serve(app_with(mw)).get("/")
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert "content-length" not in response.headers
    assert response.json() == PACKAGE


def test_stream_body_keeps_content_length_if_not_overwritten(serve: Serve, package: Path) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.length = package.stat().st_size
        ctx.body = package.open("rb")
        ctx.set("Content-Type", "application/json; charset=utf-8")

    response = serve(app_with(mw)).get("/")
    assert response.headers["content-length"] == str(package.stat().st_size)
    assert response.json() == PACKAGE


def test_stream_body_keeps_content_length_if_overwritten_with_the_same_stream(serve: Serve, package: Path) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.length = package.stat().st_size
        stream = package.open("rb")
        ctx.body = stream
        ctx.body = stream
        ctx.set("Content-Type", "application/json; charset=utf-8")

    response = serve(app_with(mw)).get("/")
    assert response.headers["content-length"] == str(package.stat().st_size)
    assert response.json() == PACKAGE


def test_missing_file_body_is_an_error_response(serve: Serve, errors: RecordErrors) -> None:
    """Koa 3 hangs up the socket; the path's size is read at assignment here, so it is a 500."""

    async def mw(ctx: Context, next: Next) -> None:
        ctx.set("Content-Type", "application/json; charset=utf-8")
        ctx.body = Path("does not exist")

    app = app_with(mw)
    events = errors(app)
    response = serve(app).get("/")
    assert response.status_code == 500
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "Internal Server Error"
    assert [type(err) for err in events] == [FileNotFoundError]


async def failing() -> AsyncIterator[bytes]:
    raise OSError("no such stream")
    yield b""  # pragma: no cover - makes this an async generator


def test_stream_failing_before_its_first_chunk_gets_an_error_response(serve: Serve, errors: RecordErrors) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.set("Content-Type", "application/json; charset=utf-8")
        ctx.body = failing()

    app = app_with(mw)
    events = errors(app)
    response = serve(app).get("/")
    assert response.status_code == 500
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert [str(err) for err in events] == ["no such stream"]


def test_failing_stream_with_empty_status_is_never_read(serve: Serve, errors: RecordErrors) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.status = 204
        ctx.body = failing()

    app = app_with(mw)
    events = errors(app)
    response = serve(app).get("/")
    assert response.status_code == 204
    assert events == []


def test_all_intermediate_failing_stream_bodies_end_in_one_error(serve: Serve, errors: RecordErrors) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = failing()
        ctx.body = failing()
        ctx.body = failing()

    app = app_with(mw)
    events = errors(app)
    response = serve(app).get("/")
    assert response.status_code == 500
    assert len(events) == 1


def _read_a_little_then_close(url: str) -> None:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")


def test_client_abort_closes_an_async_generator_body(serve: Serve) -> None:
    started, closed = threading.Event(), threading.Event()

    async def endless() -> AsyncIterator[bytes]:
        started.set()
        try:
            while True:
                yield b"x" * 1024
                await asyncio.sleep(0.005)
        finally:
            closed.set()

    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = endless()

    client = serve(app_with(mw))
    _read_a_little_then_close(str(client.base_url).rstrip("/"))
    assert started.is_set()
    assert closed.wait(5)


def test_client_abort_closes_a_sync_iterator_body(serve: Serve) -> None:
    closed = threading.Event()

    def endless() -> Iterator[bytes]:
        try:
            while True:
                yield b"x" * 1024
                time.sleep(0.005)
        finally:
            closed.set()

    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = endless()

    client = serve(app_with(mw))
    _read_a_little_then_close(str(client.base_url).rstrip("/"))
    assert closed.wait(5)


def test_sync_iterator_body_sends_str_and_bytes_chunks(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = iter(["he", b"llo"])

    response = serve(app_with(mw)).get("/")
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content == b"hello"


def test_path_body_sends_the_file_with_its_type_and_length(serve: Serve, package: Path) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = package

    response = serve(app_with(mw)).get("/")
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["content-length"] == str(package.stat().st_size)
    assert response.json() == PACKAGE


# -- when the body is an object -----------------------------------------------------------


def test_object_body_is_sent_as_json(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = {"hello": "world"}

    response = serve(app_with(mw)).get("/")
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["content-length"] == "17"
    assert response.text == '{"hello":"world"}'


def test_object_body_after_headers_flushed_is_sent_with_the_flushed_headers(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.length = 17
        ctx.type = "json"
        ctx.set("foo", "bar")
        await ctx.flush_headers()
        ctx.body = {"hello": "world"}

    response = serve(app_with(mw)).get("/")
    assert response.status_code == 404  # the status when the headers went out, as in Koa
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["content-length"] == "17"
    assert response.headers["foo"] == "bar"
    assert response.text == '{"hello":"world"}'


# -- when an error occurs -----------------------------------------------------------------


def test_error_is_emitted_on_the_app(serve: Serve, errors: RecordErrors) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        raise RuntimeError("boom")

    app = app_with(mw)
    events = errors(app)
    serve(app).get("/")
    assert [str(err) for err in events] == ["boom"]


def test_error_with_expose_sends_its_message(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        err = RuntimeError("sorry!")
        err.status = 403  # type: ignore[attr-defined]
        err.expose = True  # type: ignore[attr-defined]
        raise err

    response = serve(app_with(mw)).get("/")
    assert (response.status_code, response.text) == (403, "sorry!")


def test_error_with_status_responds_with_that_status(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        err = RuntimeError("s3 explodes")
        err.status = 403  # type: ignore[attr-defined]
        raise err

    response = serve(app_with(mw)).get("/")
    assert (response.status_code, response.text) == (403, "Forbidden")


def test_error_responds_500(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        raise RuntimeError("boom!")

    response = serve(app_with(mw)).get("/")
    assert (response.status_code, response.text) == (500, "Internal Server Error")


def test_error_is_catchable_upstream(serve: Serve, errors: RecordErrors) -> None:
    app = Koa()
    events = errors(app)

    @app.use
    async def catcher(ctx: Context, next: Next) -> None:
        try:
            await next()
            ctx.body = "Hello"
        except RuntimeError:
            ctx.body = "Got error"

    @app.use
    async def thrower(ctx: Context, next: Next) -> None:
        raise RuntimeError("boom!")

    response = serve(app).get("/")
    assert (response.status_code, response.text) == (200, "Got error")
    assert events == []


# -- status and body together -------------------------------------------------------------


def test_status_200_after_304_and_body_sends_the_body(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.status = 304
        ctx.body = "hello"
        ctx.status = 200

    response = serve(app_with(mw)).get("/")
    assert (response.status_code, response.text) == (200, "hello")


def test_status_204_after_body_drops_the_content_type(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.status = 200
        ctx.body = "hello"
        ctx.set("content-type", "text/plain; charset=utf8")
        ctx.status = 204

    response = serve(app_with(mw)).get("/")
    assert response.status_code == 204
    assert "content-type" not in response.headers
    assert response.content == b""


# -- with an explicit None body -----------------------------------------------------------


def test_explicit_none_body_keeps_a_status_set_later(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = None
        ctx.status = 404

    response = serve(app_with(mw)).get("/")
    assert response.status_code == 404
    assert response.content == b""


def test_explicit_none_body_sends_content_length_0_only(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = None
        ctx.status = 401

    response = serve(app_with(mw)).get("/")
    assert response.status_code == 401
    assert response.content == b""
    assert "transfer-encoding" not in response.headers
    assert "content-type" not in response.headers
    assert response.headers["content-length"] == "0"


def test_explicit_none_body_overwrites_a_content_length_set_by_hand(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = None
        ctx.length = 10
        ctx.status = 404

    response = serve(app_with(mw)).get("/")
    assert response.status_code == 404
    assert response.content == b""
    assert response.headers["content-length"] == "0"
