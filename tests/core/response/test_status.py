"""Koa's response/status tests, and what Koa 3.3 was seen to send for each way of setting a
status and a body."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from aiokoa import Context, Koa, Next, ResponseSentError
from aiokoa.http.statuses import MESSAGES
from aiokoa.testing import AsyncTestClient, TestClient
from aiokoa.types import Message, Receive, Scope, Send

from ...conftest import Serve
from ..conftest import MakeContext

# -- ctx.status = code --------------------------------------------------------------------


def test_valid_status_is_set(context: MakeContext) -> None:
    ctx = context()
    ctx.status = 403
    assert ctx.status == 403
    assert ctx.response.status == 403


@pytest.mark.parametrize("code", [99, 1000, -1])
def test_invalid_status_raises(context: MakeContext, code: int) -> None:
    ctx = context()
    with pytest.raises(ValueError, match=f"invalid status code: {code}"):
        ctx.status = code
    assert ctx.status == 404


@pytest.mark.parametrize("code", [700, 999])
def test_custom_status_is_set(context: MakeContext, code: int) -> None:
    ctx = context()
    ctx.status = code
    assert ctx.status == code
    assert ctx.message == ""


def test_custom_status_with_a_registered_message(context: MakeContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(MESSAGES, 700, "custom status")
    ctx = context()
    ctx.status = 700
    assert ctx.message == "custom status"


@pytest.mark.parametrize("code", ["forbidden", "200", 200.0, None], ids=repr)
def test_status_that_is_not_an_int_raises(context: MakeContext, code: Any) -> None:
    with pytest.raises(TypeError, match="status code must be a number"):
        context().status = code


async def test_status_raises_once_headers_are_sent(context: MakeContext) -> None:
    """Koa ignores it silently; the status could never reach the client, so aiokoa says so."""
    sent: list[Message] = []
    ctx = context(sent=sent)
    ctx.status = 200
    await ctx.flush_headers()
    with pytest.raises(ResponseSentError, match=r"ctx\.status was changed after the headers"):
        ctx.status = 500
    with pytest.raises(ResponseSentError, match=r"ctx\.status was changed after the headers"):
        ctx.response.status = 500
    assert ctx.status == 200
    assert [m["status"] for m in sent] == [200]


async def test_http2_status_body_is_the_bare_code() -> None:
    """HTTP/2 has no reason phrase, so Koa's status body there is `'404'`."""
    app = Koa()

    async def http2(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, "http_version": "2"}, receive, send)

    async with AsyncTestClient(http2) as client:
        response = await client.get("/")
    assert (response.status_code, response.text) == (404, "404")
    assert response.headers["content-length"] == "3"


# -- strip content headers for 204/205/304 ------------------------------------------------


@pytest.mark.parametrize("status", [204, 205, 304])
def test_empty_status_strips_content_headers(serve: Serve, status: int) -> None:
    stripped: list[Any] = []
    app = Koa()

    @app.use
    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = {"foo": "bar"}
        ctx.set("Content-Type", "application/json; charset=utf-8")
        ctx.set("Content-Length", "15")
        ctx.set("Transfer-Encoding", "chunked")
        ctx.status = status
        stripped.extend(ctx.response.get(name) for name in ("Content-Type", "Content-Length", "Transfer-Encoding"))

    response = serve(app).get("/")
    assert response.status_code == status
    assert stripped == [None, None, None]
    for name in ("content-type", "content-length", "content-encoding"):  # a 205 may be chunked, as in Node
        assert name not in response.headers
    assert response.content == b""


@pytest.mark.parametrize("status", [204, 205, 304])
def test_empty_status_strips_content_headers_set_after_it(serve: Serve, status: int) -> None:
    app = Koa()

    @app.use
    async def mw(ctx: Context, next: Next) -> None:
        ctx.status = status
        ctx.body = {"foo": "bar"}
        ctx.set("Content-Type", "application/json; charset=utf-8")
        ctx.set("Content-Length", "15")
        ctx.set("Transfer-Encoding", "chunked")

    response = serve(app).get("/")
    assert response.status_code == status
    for name in ("content-type", "content-length", "content-encoding"):  # a 205 may be chunked, as in Node
        assert name not in response.headers
    assert response.content == b""


@pytest.mark.parametrize("status", [204, 205, 304])
def test_empty_status_without_body_strips_content_headers_set_by_hand(serve: Serve, status: int) -> None:
    app = Koa()

    @app.use
    async def mw(ctx: Context, next: Next) -> None:
        ctx.status = status
        ctx.set("Content-Type", "text/plain")
        ctx.set("X-Kept", "1")

    response = serve(app).get("/")
    assert response.status_code == status
    assert "content-type" not in response.headers
    assert response.headers["x-kept"] == "1"


# -- what Koa 3.3 was seen to send -----------------------------------------------------------


async def _stream() -> AsyncIterator[bytes]:
    yield b"streamed"


def _steps(*steps: Callable[[Context], None]) -> Callable[..., Any]:
    async def mw(ctx: Context, next: Next) -> None:
        for step in steps:
            step(ctx)

    return mw


def body(value: Any) -> Callable[[Context], None]:
    def step(ctx: Context) -> None:
        ctx.body = value

    return step


def status(code: int) -> Callable[[Context], None]:
    def step(ctx: Context) -> None:
        ctx.status = code

    return step


def set_header(name: str, value: str) -> Callable[[Context], None]:
    def step(ctx: Context) -> None:
        ctx.set(name, value)

    return step


def message(text: str) -> Callable[[Context], None]:
    def step(ctx: Context) -> None:
        ctx.message = text

    return step


def type_(value: str) -> Callable[[Context], None]:
    def step(ctx: Context) -> None:
        ctx.type = value

    return step


TEXT = "text/plain; charset=utf-8"
HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=utf-8"
BIN = "application/octet-stream"
ABSENT = None

# id, method, steps, status, headers (None: absent), body
OBSERVED: list[tuple[str, str, list[Callable[[Context], None]], int, dict[str, str | None], bytes]] = [
    ("empty-middleware", "GET", [], 404, {"content-type": TEXT, "content-length": "9"}, b"Not Found"),
    # a deliberate fix (docs/koa-differences.md): Koa sends no Content-Type/Length on this HEAD
    ("head-empty-middleware", "HEAD", [], 404, {"content-type": TEXT, "content-length": "9"}, b""),
    ("string", "GET", [body("hello")], 200, {"content-type": TEXT, "content-length": "5"}, b"hello"),
    ("html-sniff", "GET", [body("  <p>hi</p>")], 200, {"content-type": HTML}, b"  <p>hi</p>"),
    ("bytes", "GET", [body(b"abc")], 200, {"content-type": BIN, "content-length": "3"}, b"abc"),
    ("dict", "GET", [body({"a": 1})], 200, {"content-type": JSON, "content-length": "7"}, b'{"a":1}'),
    ("list", "GET", [body([1, 2])], 200, {"content-type": JSON}, b"[1,2]"),
    ("int", "GET", [body(42)], 200, {"content-type": JSON}, b"42"),
    ("false", "GET", [body(False)], 200, {"content-type": JSON}, b"false"),
    (
        "none",
        "GET",
        [body(None)],
        204,
        {"content-type": ABSENT, "content-length": ABSENT, "transfer-encoding": ABSENT},
        b"",
    ),
    ("none-then-404", "GET", [body(None), status(404)], 404, {"content-length": "0", "content-type": ABSENT}, b""),
    ("status-200", "GET", [status(200)], 200, {"content-type": TEXT, "content-length": "2"}, b"OK"),
    ("status-201", "GET", [status(201)], 201, {"content-type": TEXT}, b"Created"),
    ("custom-message", "GET", [status(200), message("Yay")], 200, {}, b"Yay"),
    ("204-then-body", "GET", [status(204), body("x")], 204, {"content-type": ABSENT, "content-length": ABSENT}, b""),
    ("body-then-304", "GET", [body("x"), status(304)], 304, {"content-type": ABSENT, "content-length": ABSENT}, b""),
    ("304-body-200", "GET", [status(304), body("hello"), status(200)], 200, {}, b"hello"),
    (
        "body-type-then-204",
        "GET",
        [status(200), body("hello"), set_header("Content-Type", "text/plain"), status(204)],
        204,
        {"content-type": ABSENT},
        b"",
    ),
    # a deliberate fix (docs/koa-differences.md): Koa keeps the 404
    ("json-none", "GET", [type_("json"), body(None)], 200, {"content-type": JSON, "content-length": "4"}, b"null"),
    # #1317: the first body assignment made the 204 explicit, as in Koa
    ("200-none-object", "GET", [status(200), body(None), body({"a": 1})], 204, {}, b""),
    ("500-none", "GET", [status(500), body(None)], 204, {}, b""),
    ("unknown-type", "GET", [type_("nosuchext"), body("x")], 200, {"content-type": TEXT}, b"x"),
    (
        "chunked",
        "GET",
        [set_header("Transfer-Encoding", "chunked"), body("hello")],
        200,
        {"transfer-encoding": "chunked", "content-length": ABSENT},
        b"hello",
    ),
    ("head-string", "HEAD", [body("hello")], 200, {"content-type": TEXT, "content-length": "5"}, b""),
    ("head-dict", "HEAD", [body({"a": 1})], 200, {"content-type": JSON, "content-length": "7"}, b""),
    (
        "head-file",
        "HEAD",
        [lambda ctx: setattr(ctx, "body", io.BytesIO(b"file"))],
        200,
        {"content-type": BIN, "content-length": ABSENT},
        b"",
    ),
    # Koa sends `Content-Length: 2` for a ReadableStream on HEAD (the length of `{}`); not ported
    ("head-async-stream", "HEAD", [lambda ctx: setattr(ctx, "body", _stream())], 200, {"content-length": ABSENT}, b""),
    ("options", "OPTIONS", [], 404, {"content-type": TEXT}, b"Not Found"),
]


@pytest.mark.parametrize(
    ("method", "steps", "code", "headers", "content"),
    [case[1:] for case in OBSERVED],
    ids=[case[0] for case in OBSERVED],
)
def test_observed_outcome(
    serve: Serve,
    method: str,
    steps: list[Callable[[Context], None]],
    code: int,
    headers: dict[str, str | None],
    content: bytes,
) -> None:
    app = Koa()
    app.use(_steps(*steps))
    response = serve(app).request(method, "/")
    assert response.status_code == code
    for name, value in headers.items():
        assert response.headers.get(name) == value, name
    assert response.content == content


def test_observed_status_999_sends_the_code_as_body() -> None:
    """uvicorn cannot send a status above 599, so this row runs in-process."""
    app = Koa()
    app.use(_steps(status(999)))
    with TestClient(app) as client:
        response = client.get("/")
    assert response.status_code == 999
    assert response.headers["content-type"] == TEXT
    assert response.text == "999"
