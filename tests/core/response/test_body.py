"""Koa's response/body tests: the side effects of `ctx.body = value`."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from aiokoa import Context, Koa, Next

from ...conftest import Serve
from ..conftest import MakeContext


def header(ctx: Context, name: str) -> Any:
    return ctx.response.get(name)


async def stream(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


# -- when Content-Type is set -------------------------------------------------------------


def test_body_does_not_override_a_content_type_set_before(context: MakeContext) -> None:
    ctx = context()
    ctx.type = "png"
    ctx.body = b"something"
    assert header(ctx, "Content-Type") == "image/png"


def test_object_body_overrides_a_non_json_type_as_json(context: MakeContext) -> None:
    ctx = context()
    ctx.body = "<em>hey</em>"
    assert header(ctx, "Content-Type") == "text/html; charset=utf-8"
    ctx.body = {"foo": "bar"}
    assert header(ctx, "Content-Type") == "application/json; charset=utf-8"


def test_object_body_keeps_a_json_type_set_before(context: MakeContext) -> None:
    ctx = context()
    ctx.type = "application/vnd.api+json"
    ctx.body = {"data": []}
    assert header(ctx, "Content-Type") == "application/vnd.api+json; charset=utf-8"


def test_body_overrides_the_length_when_the_type_is_set(context: MakeContext) -> None:
    ctx = context()
    ctx.type = "html"
    ctx.body = "something"
    assert ctx.length == 9


# -- when a string is given ---------------------------------------------------------------


def test_string_body_defaults_to_text(context: MakeContext) -> None:
    ctx = context()
    ctx.body = "Tobi"
    assert header(ctx, "Content-Type") == "text/plain; charset=utf-8"


def test_string_body_sets_the_length(context: MakeContext) -> None:
    ctx = context()
    ctx.body = "Tobi"
    assert header(ctx, "Content-Length") == 4


def test_string_body_length_counts_utf8_bytes(context: MakeContext) -> None:
    ctx = context()
    ctx.body = "données"
    assert header(ctx, "Content-Length") == len("données".encode())


def test_string_with_a_non_leading_angle_bracket_defaults_to_text(context: MakeContext) -> None:
    ctx = context()
    ctx.body = "aklsdjf < klajsdlfjasd"
    assert header(ctx, "Content-Type") == "text/plain; charset=utf-8"


# -- when an html string is given ---------------------------------------------------------


def test_html_string_body_defaults_to_html(context: MakeContext) -> None:
    ctx = context()
    ctx.body = "<h1>Tobi</h1>"
    assert header(ctx, "Content-Type") == "text/html; charset=utf-8"


def test_html_string_body_sets_the_length(context: MakeContext) -> None:
    ctx = context()
    ctx.body = "<h1>Tobi</h1>"
    assert ctx.length == len(b"<h1>Tobi</h1>")


def test_html_string_body_sets_the_length_when_overridden(context: MakeContext) -> None:
    ctx = context()
    ctx.body = "<h1>Tobi</h1>"
    ctx.body = "<h1>Tobi</h1>" * 2
    assert ctx.length == 2 * len(b"<h1>Tobi</h1>")


def test_html_string_with_leading_whitespace_defaults_to_html(context: MakeContext) -> None:
    ctx = context()
    ctx.body = "    <h1>Tobi</h1>"
    assert header(ctx, "Content-Type") == "text/html; charset=utf-8"


def test_xml_string_body_defaults_to_html(context: MakeContext) -> None:
    """The sniff is only "starts with <": set `ctx.type` for XML."""
    ctx = context()
    ctx.body = '<?xml version="1.0" encoding="UTF-8"?>\n<俄语>данные</俄语>'
    assert header(ctx, "Content-Type") == "text/html; charset=utf-8"


# -- when a stream is given ---------------------------------------------------------------


def test_file_body_defaults_to_an_octet_stream(context: MakeContext, tmp_path: Path) -> None:
    path = tmp_path / "LICENSE"
    path.write_text("MIT")
    ctx = context()
    with path.open("rb") as file:
        ctx.body = file
        assert header(ctx, "Content-Type") == "application/octet-stream"
        assert header(ctx, "Content-Length") is None


@pytest.mark.parametrize(
    "make",
    [lambda: stream(b"x"), lambda: iter([b"x"]), lambda: io.BytesIO(b"x")],
    ids=["async-iterator", "sync-iterator", "file-like"],
)
def test_custom_stream_body_defaults_to_an_octet_stream(context: MakeContext, make: Callable[[], Any]) -> None:
    ctx = context()
    ctx.body = make()
    assert header(ctx, "Content-Type") == "application/octet-stream"


def test_stream_replaced_by_a_stream_is_not_closed(context: MakeContext) -> None:
    """So that wrapping middleware (koa-compress) can read the stream it replaced."""
    ctx = context()
    first, second = io.BytesIO(b"1"), io.BytesIO(b"2")
    ctx.body = first
    ctx.body = second
    assert not first.closed
    assert not second.closed


@pytest.mark.parametrize("count", [3, 4])
def test_sequential_stream_replacements_close_none(context: MakeContext, count: int) -> None:
    ctx = context()
    streams = [io.BytesIO(b"x") for _ in range(count)]
    for item in streams:
        ctx.body = item
    assert [item.closed for item in streams] == [False] * count


@pytest.mark.parametrize(
    "replacement", [None, "hello", b"hello", {"foo": "bar"}], ids=["none", "string", "bytes", "object"]
)
def test_stream_replaced_by_a_non_stream_is_closed(context: MakeContext, replacement: Any) -> None:
    ctx = context()
    original = io.BytesIO(b"x")
    ctx.body = original
    ctx.body = replacement
    assert original.closed


def test_stream_set_twice_is_not_closed(context: MakeContext) -> None:
    ctx = context()
    same = io.BytesIO(b"x")
    ctx.body = same
    ctx.body = same
    assert not same.closed


def test_replacing_a_failing_stream_does_not_raise_or_warn(serve: Serve) -> None:
    async def failing() -> AsyncIterator[bytes]:
        raise OSError("stream1 error")
        yield b""  # pragma: no cover

    app = Koa()

    @app.use
    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = failing()
        ctx.body = stream(b"stream2")

    response = serve(app).get("/")  # an unraisable-exception warning fails the test run
    assert (response.status_code, response.text) == (200, "stream2")


def test_wrapping_stream_middleware_reads_the_stream_it_replaced(serve: Serve) -> None:
    source_closed: list[bool] = []
    app = Koa()

    @app.use
    async def compress(ctx: Context, next: Next) -> None:
        await next()
        source = ctx.body

        async def upper() -> AsyncIterator[bytes]:
            async for chunk in source:
                yield chunk.upper()

        ctx.body = upper()
        source_closed.append(source.ag_frame is None)

    @app.use
    async def body(ctx: Context, next: Next) -> None:
        ctx.body = stream(b"hello ", b"world")

    response = serve(app).get("/")
    assert response.text == "HELLO WORLD"
    assert source_closed == [False]


# -- when bytes are given (Koa's Buffer and Blob) -----------------------------------------


@pytest.mark.parametrize("body", [b"hey", bytearray(b"hey"), memoryview(b"hey")], ids=type)
def test_binary_body_defaults_to_an_octet_stream(context: MakeContext, body: Any) -> None:
    ctx = context()
    ctx.body = body
    assert header(ctx, "Content-Type") == "application/octet-stream"


@pytest.mark.parametrize("body", [b"Tobi", bytearray(b"Tobi"), memoryview(b"Tobi")], ids=type)
def test_binary_body_sets_the_length(context: MakeContext, body: Any) -> None:
    ctx = context()
    ctx.body = body
    assert header(ctx, "Content-Length") == 4


def test_memoryview_body_length_is_in_bytes(context: MakeContext) -> None:
    ctx = context()
    ctx.body = memoryview(bytes(12)).cast("I")  # 3 items of 4 bytes
    assert header(ctx, "Content-Length") == 12


# -- when an object is given --------------------------------------------------------------


@pytest.mark.parametrize("body", [{"foo": "bar"}, [1, 2], 42, 1.5, True, False], ids=repr)
def test_json_body_defaults_to_json(context: MakeContext, body: Any) -> None:
    ctx = context()
    ctx.body = body
    assert header(ctx, "Content-Type") == "application/json; charset=utf-8"
    assert header(ctx, "Content-Length") is None  # computed when sent


def test_object_body_removes_a_stale_content_length(context: MakeContext) -> None:
    ctx = context()
    ctx.body = "hello"
    ctx.body = {"a": 1}
    assert header(ctx, "Content-Length") is None
    assert ctx.length == len(b'{"a":1}')


# -- when an async iterator is given (Koa's ReadableStream) -------------------------------


def test_async_iterator_body_defaults_to_an_octet_stream(context: MakeContext) -> None:
    ctx = context()
    ctx.body = stream()
    assert header(ctx, "Content-Type") == "application/octet-stream"


def test_async_iterator_body_removes_a_stale_content_length(context: MakeContext) -> None:
    ctx = context()
    ctx.body = "hello"
    assert ctx.length == 5
    ctx.body = stream(b"different body")
    assert header(ctx, "Content-Length") is None
    assert ctx.length is None


# -- when a path is given -----------------------------------------------------------------


def test_path_body_sets_the_type_from_the_extension_and_the_length(context: MakeContext, tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text("<p>hi</p>")
    ctx = context()
    ctx.body = path
    assert header(ctx, "Content-Type") == "text/html; charset=utf-8"
    assert header(ctx, "Content-Length") == 9


def test_missing_path_body_raises_when_assigned(context: MakeContext, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        context().body = tmp_path / "missing"


# -- None (Koa's null) --------------------------------------------------------------------


def test_none_body_strips_content_headers_and_sets_204(context: MakeContext) -> None:
    ctx = context()
    ctx.body = "hello"
    ctx.set("Transfer-Encoding", "chunked")
    ctx.body = None
    assert ctx.status == 204
    assert header(ctx, "Content-Type") is None
    assert header(ctx, "Content-Length") is None
    assert header(ctx, "Transfer-Encoding") is None


def test_none_body_with_json_type_is_the_json_null(context: MakeContext) -> None:
    """A deliberate fix (docs/koa-differences.md): Koa keeps the 404; here the body `null` makes it a 200."""
    ctx = context()
    ctx.type = "json"
    ctx.body = None
    assert ctx.body == "null"
    assert ctx.status == 200
    assert header(ctx, "Content-Length") == 4
