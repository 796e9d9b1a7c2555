"""`body_parser()`: @koa/bodyparser's options in process, then every bad body over a real
socket (uvicorn on 127.0.0.1) with its status and message, and a normal request after it."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
from typing import Any

import brotli
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiokoa import Context, FormData, HttpError, Koa, Next, Router, UploadFile
from aiokoa.middleware.body_parser import body_parser
from aiokoa.testing import TestClient

from ..conftest import Serve
from ..core.request.test_body import call
from ..multipart import multipart, multipart_type, part


def describe(value: Any) -> Any:
    if isinstance(value, FormData):
        return [[name, describe(item)] for name, item in value.multi_items()]
    if isinstance(value, UploadFile):
        return {"filename": value.filename, "size": value.size, "type": value.content_type}
    return value


def echo_app(**options: Any) -> tuple[Koa, list[UploadFile]]:
    """An app that answers with what body_parser made of the request; the uploads it saw."""
    app = Koa()
    seen: list[UploadFile] = []
    app.use(body_parser(**options))

    async def echo(ctx: Context, next: Next) -> None:
        request = ctx.request
        seen.extend(request.files.values())
        raw = request.raw_body
        ctx.body = {
            "body": describe(request.body),
            "files": describe(request.files),
            "raw": None if raw is None else raw.decode("latin-1"),
        }

    app.use(echo)
    return app, seen


ALL = ("json", "form", "text", "multipart")


def test_json_form_and_empty_bodies() -> None:
    app, _ = echo_app()
    with TestClient(app) as client:
        assert client.post("/", json={"a": [1]}).json() == {"body": {"a": [1]}, "files": [], "raw": '{"a":[1]}'}
        assert client.post("/", data={"a": ["1", "2"]}).json()["body"] == [["a", "1"], ["a", "2"]]
        assert client.post("/", content=b"", headers={"content-type": "application/json"}).json()["body"] == {}
        assert client.post("/").json() == {"body": {}, "files": [], "raw": None}
        assert client.get("/").json()["body"] == {}
        # text and multipart are opt-in
        assert client.post("/", content=b"hi", headers={"content-type": "text/plain"}).json()["body"] == {}
        assert client.post("/", files={"f": ("a", b"x")}).json()["body"] == {}
        # a method not parsed leaves the body unread
        assert client.request("DELETE", "/", json={"a": 1}).json()["body"] == {}


def test_json_types_include_the_json_family_and_extend_types() -> None:
    app, _ = echo_app(enable_types=ALL, extend_types={"json": ["application/x-javascript"], "text": ["text/csv"]})
    with TestClient(app) as client:
        for kind in ("application/vnd.api+json", "application/csp-report", "application/x-javascript"):
            assert client.post("/", content=b"[1]", headers={"content-type": kind}).json()["body"] == [1]
        assert client.post("/", content=b"a,b", headers={"content-type": "text/csv"}).json()["body"] == "a,b"


def test_text_and_multipart_when_enabled() -> None:
    app, seen = echo_app(enable_types=ALL)
    with TestClient(app) as client:
        text = client.post("/", content="é".encode(), headers={"content-type": "text/plain"}).json()
        assert text == {"body": "é", "files": [], "raw": "Ã©"}
        form = client.post("/", data={"t": "v"}, files={"f": ("a.txt", b"abc", "text/plain")}).json()
        assert form == {
            "body": [["t", "v"]],
            "files": [["f", {"filename": "a.txt", "size": 3, "type": "text/plain"}]],
            "raw": None,
        }
    assert seen[0].closed


def test_json_strict_off_takes_scalars() -> None:
    app, _ = echo_app(json_strict=False)
    with TestClient(app) as client:
        assert client.post("/", content=b'"x"', headers={"content-type": "application/json"}).json()["body"] == "x"


def test_parsed_methods_and_a_body_already_read() -> None:
    app = Koa()

    async def first(ctx: Context, next: Next) -> None:
        if ctx.get("x-read"):
            await ctx.read()
        if ctx.get("x-set"):
            ctx.request.body = {"set": "before"}
        await next()

    app.use(first)
    app.use(body_parser(parsed_methods=["delete"]))

    async def echo(ctx: Context, next: Next) -> None:
        ctx.body = {"body": ctx.request.body}

    app.use(echo)
    with TestClient(app) as client:
        assert client.request("DELETE", "/", json={"a": 1}).json() == {"body": {"a": 1}}
        assert client.post("/", json={"a": 1}).json() == {"body": {}}
        assert client.request("DELETE", "/", json={"a": 1}, headers={"x-read": "1"}).json() == {"body": None}
        assert client.request("DELETE", "/", json={"a": 1}, headers={"x-set": "1"}).json() == {
            "body": {"set": "before"}
        }


def test_on_error_takes_the_error() -> None:
    errors: list[tuple[int, str]] = []

    def on_error(err: Exception, ctx: Context) -> None:
        assert isinstance(err, HttpError)
        errors.append((err.status, err.message))
        ctx.state["bad_body"] = True

    app = Koa()
    app.use(body_parser(on_error=on_error))

    async def echo(ctx: Context, next: Next) -> None:
        ctx.body = {"body": ctx.request.body, "bad": ctx.state.get("bad_body", False)}

    app.use(echo)
    with TestClient(app) as client:
        assert client.post("/", content=b"{", headers={"content-type": "application/json"}).json() == {
            "body": None,
            "bad": True,
        }
    assert errors == [(400, "invalid JSON at line 1 column 2: Expecting property name enclosed in double quotes")]


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="enable_types"):
        body_parser(enable_types=("xml",))
    with pytest.raises(ValueError, match="extend_types"):
        body_parser(extend_types={"yaml": ["text/yaml"]})
    with pytest.raises(ValueError, match="not a size"):
        body_parser(json_limit="lots")


def test_with_a_router() -> None:
    app = Koa()
    router = Router()
    app.use(body_parser())

    @router.post("/users/:id")
    async def update(ctx: Context) -> None:
        body = ctx.request.body
        assert isinstance(body, dict)
        ctx.body = {"id": ctx.params["id"], **body}

    app.use(router.routes())
    with TestClient(app) as client:
        assert client.post("/users/7", json={"name": "Tobi"}).json() == {"id": "7", "name": "Tobi"}


# -- over a real socket: each bad body, its answer, and the server still serving ---------

LIMITS: dict[str, Any] = {
    "enable_types": ALL,
    "json_limit": "1kb",
    "form_limit": "1kb",
    "text_limit": "1kb",
    "max_file_size": "10kb",
    "max_files": 2,
    "max_fields": 3,
}
MP = {"content-type": multipart_type()}
BIG_FILE = multipart(part("f", b"x" * 20_000, filename="big.bin"))

BAD: list[tuple[str, bytes, dict[str, str], int, str]] = [
    ("malformed JSON", b'{"a":\n 1,,}', {"content-type": "application/json"}, 400, "invalid JSON at line 2 column 4"),
    (
        "JSON scalar under json_strict",
        b"42",
        {"content-type": "application/json"},
        400,
        "must be an object or an array",
    ),
    (
        "JSON over its limit",
        b"[" + b"1," * 1000 + b"1]",
        {"content-type": "application/json"},
        413,
        "larger than the limit of 1kb",
    ),
    (
        "form over its limit",
        b"a=" + b"x" * 2000,
        {"content-type": "application/x-www-form-urlencoded"},
        413,
        "limit of 1kb",
    ),
    ("text over its limit", b"x" * 2000, {"content-type": "text/plain"}, 413, "limit of 1kb"),
    (
        "gzip bomb",
        gzip.compress(b"[" + b" " * (2 << 20) + b"]", mtime=0),
        {"content-type": "application/json", "content-encoding": "gzip"},
        413,
        "limit of 1kb",
    ),
    (
        "brotli bomb",
        brotli.compress(b" " * (2 << 20)),
        {"content-type": "text/plain", "content-encoding": "br"},
        413,
        "limit of 1kb",
    ),
    (
        "unknown Content-Encoding",
        b"x",
        {"content-type": "text/plain", "content-encoding": "compress"},
        415,
        "unsupported Content-Encoding 'compress'",
    ),
    ("invalid gzip", b"not gzip", {"content-type": "text/plain", "content-encoding": "gzip"}, 400, "invalid gzip data"),
    (
        "unsupported charset",
        b"x",
        {"content-type": "text/plain; charset=klingon"},
        415,
        "unsupported charset 'klingon'",
    ),
    ("invalid UTF-8 text", b"\xff", {"content-type": "text/plain"}, 400, "not valid utf-8"),
    (
        "invalid UTF-8 in a form field",
        b"name=%ff",
        {"content-type": "application/x-www-form-urlencoded"},
        400,
        "form field 'name' is not valid utf-8",
    ),
    (
        "too many urlencoded fields",
        b"a=1&b=2&c=3&d=4",
        {"content-type": "application/x-www-form-urlencoded"},
        413,
        "more than 3 fields",
    ),
    ("truncated multipart", multipart(part("f", b"x" * 100, filename="f"))[:-30], MP, 400, "truncated"),
    ("multipart without a boundary", b"x", {"content-type": "multipart/form-data"}, 400, "no boundary parameter"),
    ("multipart with another boundary", multipart(part("a", "1"), boundary="other"), MP, 400, "invalid multipart body"),
    (
        "multipart part header too long",
        multipart(b"X-Long: " + b"a" * 5000 + b"\r\n" + part("a", "1")),
        MP,
        400,
        "Maximum header size exceeded",
    ),
    ("too many multipart fields", multipart(*[part(f"f{i}", "v") for i in range(4)]), MP, 413, "more than 3 fields"),
    (
        "too many files",
        multipart(*[part(f"f{i}", b"v", filename=f"{i}") for i in range(3)]),
        MP,
        413,
        "more than 2 files",
    ),
    ("file over max_file_size", BIG_FILE, MP, 413, "file 'big.bin' is larger than the limit of 10kb"),
    (
        "invalid UTF-8 in a multipart field",
        multipart(part("name", b"\xff")),
        MP,
        400,
        "form field 'name' is not valid utf-8",
    ),
]


@pytest.fixture
def served(serve: Serve) -> tuple[httpx.Client, list[UploadFile], list[BaseException]]:
    app, seen = echo_app(**LIMITS)
    errors: list[BaseException] = []
    app.on("error", lambda err, ctx: errors.append(err))

    async def keep_uploads(ctx: Context, next: Next) -> None:
        try:
            await next()
        finally:
            state = ctx._request_body
            if state is not None:
                seen.extend(state.uploads)

    app.middleware.insert(0, keep_uploads)
    return serve(app), seen, errors


def test_bad_bodies_over_http(served: tuple[httpx.Client, list[UploadFile], list[BaseException]]) -> None:
    """One server for every case (a server each would take longer than the cases)."""
    client, seen, _ = served
    for name, body, headers, status, message in BAD:
        response = client.post("/", content=body, headers=headers)
        assert (name, response.status_code) == (name, status)
        assert message in response.text, name
        assert all(upload.closed for upload in seen), name
        after = client.post("/", json={"still": "serving"})
        assert after.json()["body"] == {"still": "serving"}, name


def test_413_from_content_length_before_the_body_is_sent(
    served: tuple[httpx.Client, list[UploadFile], list[BaseException]],
) -> None:
    client, _, _ = served
    port = int(str(client.base_url).rsplit(":", 1)[1].rstrip("/"))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"
        )
        answer = sock.recv(65536)  # answered without a byte of the body
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert answer.endswith(b"request body is larger than the limit of 1kb (1024 bytes)")


def test_chunked_body_over_the_limit(served: tuple[httpx.Client, list[UploadFile], list[BaseException]]) -> None:
    client, _, _ = served

    def chunks() -> Any:
        for _ in range(100):
            yield b"x" * 100

    response = client.post("/", content=chunks(), headers={"content-type": "text/plain"})
    assert (response.status_code, response.text) == (413, "request body is larger than the limit of 1kb (1024 bytes)")
    assert client.post("/", content=b"ok", headers={"content-type": "text/plain"}).json()["body"] == "ok"


def test_uploads_over_http_spool_and_are_removed(
    served: tuple[httpx.Client, list[UploadFile], list[BaseException]],
) -> None:
    client, seen, errors = served
    body = multipart(part("f", b"y" * 9000, filename="a.bin"), part("g", b"z", filename="b.bin"), part("t", "v"))
    response = client.post("/", content=body, headers=MP)
    assert response.json()["files"] == [
        ["f", {"filename": "a.bin", "size": 9000, "type": "application/octet-stream"}],
        ["g", {"filename": "b.bin", "size": 1, "type": "application/octet-stream"}],
    ]
    assert len(seen) >= 2
    deadline = time.monotonic() + 5  # a file on disk is closed in a thread once the answer is out
    while not all(upload.closed for upload in seen) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert all(upload.closed for upload in seen)
    assert errors == []


def test_a_client_that_leaves_mid_upload(
    served: tuple[httpx.Client, list[UploadFile], list[BaseException]], capsys: pytest.CaptureFixture[str]
) -> None:
    client, seen, errors = served
    port = int(str(client.base_url).rsplit(":", 1)[1].rstrip("/"))
    body = multipart(part("f", b"x" * 9000, filename="gone.bin"))
    head = f"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: {multipart_type()}\r\nContent-Length: {len(body)}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head.encode() + body[:5000])
        time.sleep(0.2)  # the server reads the first half and opens the file
    deadline = time.monotonic() + 5
    while not (seen and all(upload.closed for upload in seen)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen
    assert all(upload.closed for upload in seen)
    assert errors == []
    assert "error" not in capsys.readouterr().err
    assert client.post("/", json={"a": 1}).json()["body"] == {"a": 1}


# -- hypothesis: random bodies through the app never make a 500 or leave a file open ------

FUZZ_APP, FUZZ_SEEN = echo_app(enable_types=ALL, max_file_size="2kb", max_files=3, max_fields=5)


async def exchange(app: Koa, content_type: str, chunks: list[bytes]) -> int:
    """One request over raw ASGI with the body in `chunks`; the status answered."""
    sent = await call(app, [*chunks, b""], {"content-type": content_type, "transfer-encoding": "chunked"})
    return int(next(message["status"] for message in sent if message["type"] == "http.response.start"))


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True) if data[a:b]]


@given(
    st.lists(
        st.one_of(
            st.binary(max_size=60),
            st.sampled_from(
                [
                    b"--b\r\n",
                    b"--b--\r\n",
                    b"\r\n\r\n",
                    b'Content-Disposition: form-data; name="a"',
                    b'; filename="f"',
                    b"\r\n",
                ]
            ),
        ),
        max_size=12,
    ),
    st.sampled_from(["b", "", "b" * 71, 'b"; x="y', "\xe9"]),
    st.lists(st.integers(min_value=0, max_value=1000), max_size=6),
)
def test_fuzz_multipart_through_body_parser(pieces: list[bytes], boundary: str, cuts: list[int]) -> None:
    data = b"".join(pieces)
    FUZZ_SEEN.clear()
    status = asyncio.run(exchange(FUZZ_APP, f"multipart/form-data; boundary={boundary}", split(data, cuts)))
    assert status in (200, 400, 413, 415)
    assert all(upload.closed for upload in FUZZ_SEEN)


@given(st.binary(max_size=200), st.lists(st.integers(min_value=0, max_value=200), max_size=4))
def test_fuzz_urlencoded_through_body_parser(data: bytes, cuts: list[int]) -> None:
    status = asyncio.run(exchange(FUZZ_APP, "application/x-www-form-urlencoded", split(data, cuts)))
    assert status in (200, 400, 413)
