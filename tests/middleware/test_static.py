"""serve_static and send: koa-static's behaviour, validators, ranges, precompressed
siblings, pathsend, and paths sent as an attacker would send them."""

from __future__ import annotations

import asyncio
import errno
import gzip
import os
import re
import socket
import sys
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import brotli
import httpx
import pytest
import zstandard

from aiokoa import Context, Koa, Next
from aiokoa.middleware.static import parse_range, send, serve_static
from aiokoa.testing import TestClient
from aiokoa.types import Message

from ..conftest import Serve, ServerProcess, free_port, running

ROOT_DIR = Path(__file__).parent.parent.parent
HELLO = b"Hello, world!\n"
BIG = bytes(range(256)) * 1200  # 307,200 bytes: several 64 KB chunks
SCRIPT = b"console.log('hi');\n" * 100


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`public/` (the root) beside `secret.txt`, which must never be served."""
    base = tmp_path_factory.mktemp("site")
    (base / "secret.txt").write_text("the secret")
    root = base / "public"
    root.mkdir()
    (root / "hello.txt").write_bytes(HELLO)
    (root / "index.html").write_text("<p>home</p>")
    (root / "page.html").write_text("<p>page</p>")
    (root / "big.bin").write_bytes(BIG)
    (root / "empty.txt").write_bytes(b"")
    (root / ".env").write_text("TOKEN=1")
    (root / "docs").mkdir()
    (root / "docs" / "index.html").write_text("<p>docs</p>")
    (root / "bare").mkdir()
    (root / "bare" / "a.txt").write_text("a")
    (root / "app.js").write_bytes(SCRIPT)
    (root / "app.js.gz").write_bytes(gzip.compress(SCRIPT))
    (root / "app.js.br").write_bytes(brotli.compress(SCRIPT))
    (root / "app.js.zst").write_bytes(zstandard.ZstdCompressor().compress(SCRIPT))
    (root / "link-out.txt").symlink_to(base / "secret.txt")
    (root / "link-dir").symlink_to(base)
    (root / "link-in.txt").symlink_to(root / "hello.txt")
    return root


def app_for(root: Path, **options: Any) -> Koa:
    """serve_static over `root`, then a fallback that says it was reached."""
    app = Koa()
    app.use(serve_static(root, **options))

    @app.use
    async def fallback(ctx: Context, next: Next) -> None:
        ctx.set("X-Fallback", "yes")

    return app


@pytest.fixture
def client(site: Path) -> Iterator[TestClient]:
    with TestClient(app_for(site)) as client:
        yield client


# -- what koa-static does ----------------------------------------------------------------


def test_a_file_is_served_with_its_headers(client: TestClient, site: Path) -> None:
    response = client.get("/hello.txt")
    assert response.status_code == 200
    assert response.content == HELLO
    stat = (site / "hello.txt").stat()
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == str(len(HELLO))
    assert response.headers["etag"] == f'"{stat.st_size:x}-{stat.st_mtime_ns // 1_000_000:x}"'
    assert response.headers["last-modified"] == formatdate(stat.st_mtime, usegmt=True)
    assert response.headers["cache-control"] == "max-age=0"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["vary"] == "Accept-Encoding"
    assert "x-fallback" not in response.headers


def test_head_sends_the_headers_without_the_body(client: TestClient) -> None:
    response = client.head("/big.bin")
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["content-length"] == str(len(BIG))
    assert response.headers["content-type"] == "application/octet-stream"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
def test_other_methods_go_on_to_the_next_middleware(client: TestClient, method: str) -> None:
    response = client.request(method, "/hello.txt")
    assert response.headers["x-fallback"] == "yes"
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["/missing.txt", "/bare", "/bare/", "/.env", "/hello.txt/", "/docs/missing/x"])
def test_a_path_without_a_file_to_serve_goes_on(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert (response.status_code, response.headers["x-fallback"]) == (404, "yes")


def test_index_files(client: TestClient, site: Path) -> None:
    assert client.get("/").text == "<p>home</p>"
    assert client.get("/docs").text == "<p>docs</p>"
    assert client.get("/docs/").text == "<p>docs</p>"
    with TestClient(app_for(site, index=None)) as bare:
        assert bare.get("/").headers["x-fallback"] == "yes"
        assert bare.get("/docs").headers["x-fallback"] == "yes"


def test_hidden_files_are_served_only_when_asked(site: Path) -> None:
    with TestClient(app_for(site, hidden=True)) as client:
        assert client.get("/.env").text == "TOKEN=1"


def test_extensions_are_tried_for_a_path_without_one(site: Path) -> None:
    with TestClient(app_for(site, extensions=["html", ".txt"])) as client:
        assert client.get("/page").text == "<p>page</p>"
        assert client.get("/hello").content == HELLO
        assert client.get("/nothing").headers["x-fallback"] == "yes"


def test_max_age_and_immutable(site: Path) -> None:
    with TestClient(app_for(site, max_age=31_536_000, immutable=True)) as client:
        assert client.get("/hello.txt").headers["cache-control"] == "max-age=31536000, immutable"


def test_headers_set_before_are_kept_and_set_headers_adds_its_own(site: Path) -> None:
    seen: list[tuple[str, int]] = []

    def set_headers(ctx: Context, path: str, stat: os.stat_result) -> None:
        seen.append((path, stat.st_size))
        ctx.set("X-Served", os.path.basename(path))

    app = Koa()

    @app.use
    async def first(ctx: Context, next: Next) -> None:
        ctx.set("Cache-Control", "no-store")
        ctx.type = "text/x-custom"
        ctx.etag = "v1"
        ctx.last_modified = 0
        await next()

    app.use(serve_static(site, set_headers=set_headers))
    with TestClient(app) as client:
        response = client.get("/hello.txt")
    assert response.headers["cache-control"] == "no-store"
    assert (response.headers["etag"], response.headers["last-modified"]) == ('"v1"', "Thu, 01 Jan 1970 00:00:00 GMT")
    assert response.headers["content-type"].startswith("text/x-custom")
    assert response.headers["x-served"] == "hello.txt"
    assert seen == [(str(site.resolve() / "hello.txt"), len(HELLO))]


def test_defer_serves_only_what_downstream_left_unanswered(site: Path) -> None:
    app = Koa()
    app.use(serve_static(site, defer=True))

    @app.use
    async def downstream(ctx: Context, next: Next) -> None:
        if ctx.path == "/hello.txt":
            ctx.body = "from the app"
        elif ctx.path == "/page.html":
            ctx.status = 404  # set by hand: the file still answers, with 200

    with TestClient(app) as client:
        assert client.get("/hello.txt").text == "from the app"
        page = client.get("/page.html")
        assert (page.status_code, page.text) == (200, "<p>page</p>")
        assert client.get("/index.html").text == "<p>home</p>"
        assert client.get("/missing").status_code == 404


async def test_send_returns_the_path_it_sent_and_throws_404_for_none(site: Path) -> None:
    app = Koa()
    sent: list[str] = []

    @app.use
    async def download(ctx: Context, next: Next) -> None:
        sent.append(await send(ctx, ctx.path.removeprefix("/download"), root=site, index="index.html"))

    with TestClient(app) as client:
        assert client.get("/download/docs/").text == "<p>docs</p>"
        assert client.get("/download/nothing").status_code == 404
        assert client.get("/download/").text == "<p>home</p>"
    assert sent == [str(site.resolve() / "docs" / "index.html"), str(site.resolve() / "index.html")]


def test_a_symlink_inside_the_root_is_served(client: TestClient) -> None:
    assert client.get("/link-in.txt").content == HELLO


def test_a_symlink_out_of_the_root_is_served_only_with_follow_symlinks(client: TestClient, site: Path) -> None:
    assert client.get("/link-out.txt").headers["x-fallback"] == "yes"
    assert client.get("/link-dir/secret.txt").headers["x-fallback"] == "yes"
    with TestClient(app_for(site, follow_symlinks=True)) as following:
        assert following.get("/link-out.txt").text == "the secret"


def test_a_root_given_through_a_symlink(site: Path, tmp_path: Path) -> None:
    (tmp_path / "root").symlink_to(site)
    with TestClient(app_for(tmp_path / "root")) as client:
        assert client.get("/hello.txt").content == HELLO
        assert client.get("/link-out.txt").headers["x-fallback"] == "yes"


# -- precompressed siblings ------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "encoding"),
    [
        ("gzip", "gzip"),
        ("br", "br"),
        ("zstd", "zstd"),
        ("gzip, br, zstd", "zstd"),  # a tie: zstd, then br, then gzip
        ("gzip, br", "br"),
        ("gzip;q=1, br;q=0.5", "gzip"),
        ("*", "zstd"),
        ("identity", None),
        ("br;q=0, gzip;q=0", None),
        ("deflate", None),
    ],
)
def test_the_preferred_precompressed_sibling_is_sent(client: TestClient, accept: str, encoding: str | None) -> None:
    response = client.get("/app.js", headers={"Accept-Encoding": accept})
    assert response.headers.get("content-encoding") == encoding
    assert response.content == SCRIPT  # decoded back by the client
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["vary"] == "Accept-Encoding"
    plain = client.get("/app.js", headers={"Accept-Encoding": "identity"}).headers["etag"]
    assert (response.headers["etag"] == plain) == (encoding is None)  # each file its own tag


def test_a_disabled_codec_is_not_served(site: Path) -> None:
    with TestClient(app_for(site, brotli=False, zstd=False)) as client:
        response = client.get("/app.js", headers={"Accept-Encoding": "br, zstd, gzip;q=0.1"})
        assert response.headers["content-encoding"] == "gzip"
    with TestClient(app_for(site, gzip=False, brotli=False, zstd=False)) as client:
        response = client.get("/app.js", headers={"Accept-Encoding": "gzip"})
        assert "content-encoding" not in response.headers
        assert "vary" not in response.headers


def test_a_sibling_that_is_not_a_file_in_the_root_is_not_sent(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "a.css").write_text("a{}")
    (tmp_path / "root" / "a.css.gz").symlink_to(tmp_path / "elsewhere.gz")
    (tmp_path / "elsewhere.gz").write_bytes(gzip.compress(b"leaked"))
    (tmp_path / "root" / "a.css.br").mkdir()
    with TestClient(app_for(tmp_path / "root")) as client:
        response = client.get("/a.css", headers={"Accept-Encoding": "br, gzip"})
    assert "content-encoding" not in response.headers
    assert response.text == "a{}"


def test_errors_of_the_file_system(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file the server may not read is 403; a failing disk is the server's error (500)."""
    for error, status in ((PermissionError(errno.EACCES, "denied"), 403), (OSError(errno.EIO, "I/O error"), 500)):

        def failing(path: Any, error: OSError = error) -> os.stat_result:
            raise error

        with TestClient(app_for(site)) as client:
            monkeypatch.setattr(os, "stat", failing)
            try:
                assert client.get("/hello.txt").status_code == status
            finally:
                monkeypatch.undo()


def test_a_file_cut_short_while_it_is_sent_is_an_error(tmp_path: Path, serve: Serve) -> None:
    """Before the first chunk, a 500; after it, the response is aborted, never completed short."""
    (tmp_path / "a.bin").write_bytes(b"x" * 1000)
    sizes = iter([0, 10, 10])

    def truncate(ctx: Context, path: str, stat: os.stat_result) -> None:
        os.truncate(path, next(sizes))

    client = serve(app_for(tmp_path, set_headers=truncate))
    assert client.get("/a.bin", headers={"Range": "bytes=0-99"}).status_code == 500
    (tmp_path / "a.bin").write_bytes(b"x" * 1000)
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/a.bin", headers={"Range": "bytes=0-99"})
    assert client.get("/a.bin").content == b"x" * 10


def test_a_file_without_siblings_is_sent_as_it_is(client: TestClient) -> None:
    response = client.get("/hello.txt", headers={"Accept-Encoding": "gzip, br, zstd"})
    assert "content-encoding" not in response.headers
    assert response.content == HELLO


# -- validators and 304 ------------------------------------------------------------------


def test_if_none_match_gives_304(client: TestClient) -> None:
    first = client.get("/hello.txt")
    again = client.get("/hello.txt", headers={"If-None-Match": first.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["cache-control"] == "max-age=0"
    assert "content-length" not in again.headers
    weak = client.get("/hello.txt", headers={"If-None-Match": "W/" + first.headers["etag"]})
    assert weak.status_code == 304  # If-None-Match compares weakly
    assert client.get("/hello.txt", headers={"If-None-Match": '"other"'}).status_code == 200


def test_if_modified_since_gives_304_unless_if_none_match_says_otherwise(client: TestClient) -> None:
    modified = client.get("/hello.txt").headers["last-modified"]
    assert client.get("/hello.txt", headers={"If-Modified-Since": modified}).status_code == 304
    old = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert client.get("/hello.txt", headers={"If-Modified-Since": old}).status_code == 200
    # RFC 9110: with If-None-Match present, If-Modified-Since is not looked at
    both = {"If-None-Match": '"other"', "If-Modified-Since": modified}
    assert client.get("/hello.txt", headers=both).status_code == 200


def test_a_conditional_head_gives_304(client: TestClient) -> None:
    tag = client.head("/big.bin").headers["etag"]
    assert client.head("/big.bin", headers={"If-None-Match": tag}).status_code == 304


def test_a_rewritten_file_gets_a_new_etag(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one")
    with TestClient(app_for(tmp_path)) as client:
        before = client.get("/a.txt").headers["etag"]
        os.utime(tmp_path / "a.txt", (1_000_000_000, 1_000_000_000))
        after = client.get("/a.txt", headers={"If-None-Match": before})
    assert after.status_code == 200
    assert after.headers["etag"] != before


# -- ranges ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=0-99", 0, 99),
        ("bytes=100-199999", 100, 199_999),  # across chunk boundaries
        ("bytes=65535-65536", 65_535, 65_536),
        ("bytes=-500", len(BIG) - 500, len(BIG) - 1),
        ("bytes=307000-", 307_000, len(BIG) - 1),
        ("bytes=5-999999999", 5, len(BIG) - 1),  # clipped to the end
        ("bytes=-999999999", 0, len(BIG) - 1),
        ("BYTES = 10 - 20", 10, 20),
        ("bytes=400000-, 2-3", 2, 3),  # the unsatisfiable one is dropped
    ],
)
def test_a_single_range_gives_206_byte_exact(client: TestClient, header: str, first: int, last: int) -> None:
    response = client.get("/big.bin", headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {first}-{last}/{len(BIG)}"
    assert response.headers["content-length"] == str(last - first + 1)
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content == BIG[first : last + 1]


def multipart(response: httpx.Response) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart/byteranges body, checked to be exactly as RFC 9110 frames them."""
    match = re.fullmatch(r"multipart/byteranges; boundary=(\S+)", response.headers["content-type"])
    assert match is not None
    delimiter = b"--" + match.group(1).encode()
    body = response.content
    assert body.startswith(delimiter + b"\r\n")
    assert body.endswith(b"\r\n" + delimiter + b"--\r\n")
    assert int(response.headers["content-length"]) == len(body)
    parts = []
    for chunk in body[: -len(delimiter) - 6].split(b"\r\n" + delimiter + b"\r\n"):
        head, _, data = chunk.removeprefix(delimiter + b"\r\n").partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        parts.append((headers, data))
    return parts


def test_several_ranges_give_multipart_byteranges(client: TestClient) -> None:
    response = client.get("/big.bin", headers={"Range": "bytes=0-9, 100000-165535, -4"})
    assert response.status_code == 206
    assert "content-range" not in response.headers
    expected = [(0, 9), (100_000, 165_535), (len(BIG) - 4, len(BIG) - 1)]
    parts = multipart(response)
    assert [headers["Content-Range"] for headers, _ in parts] == [f"bytes {a}-{b}/{len(BIG)}" for a, b in expected]
    assert {headers["Content-Type"] for headers, _ in parts} == {"application/octet-stream"}
    assert [data for _, data in parts] == [BIG[a : b + 1] for a, b in expected]


@pytest.mark.parametrize("header", ["bytes=307200-", "bytes=400000-500000", "bytes=307200-307200, 999999-"])
def test_an_unsatisfiable_range_gives_416(client: TestClient, header: str) -> None:
    response = client.get("/big.bin", headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(BIG)}"
    assert response.text == "Range Not Satisfiable"


def test_any_range_of_an_empty_file_is_unsatisfiable(client: TestClient) -> None:
    for header in ("bytes=0-", "bytes=-5", "bytes=0-0"):
        response = client.get("/empty.txt", headers={"Range": header})
        assert (response.status_code, response.headers["content-range"]) == (416, "bytes */0")


@pytest.mark.parametrize(
    "header",
    [
        "bytes=abc-def",
        "bytes=5-1",
        "bytes=-",
        "bytes=",
        "items=0-5",
        "bytes 0-5",
        "bytes=0-5;x",
        ",".join(f"{n}-{n}" for n in range(17)).join(["bytes=", ""]),  # too many ranges
    ],
)
def test_an_invalid_or_abusive_range_is_ignored(client: TestClient, header: str) -> None:
    response = client.get("/big.bin", headers={"Range": header})
    assert (response.status_code, response.content) == (200, BIG)


def test_if_range(client: TestClient) -> None:
    full = client.get("/big.bin")
    tag, modified = full.headers["etag"], full.headers["last-modified"]
    ranged = {"Range": "bytes=0-3"}
    assert client.get("/big.bin", headers={**ranged, "If-Range": tag}).content == BIG[:4]
    assert client.get("/big.bin", headers={**ranged, "If-Range": modified}).status_code == 206
    for stale in ['"other"', "W/" + tag, "Mon, 01 Jan 2001 00:00:00 GMT", "not a date"]:
        response = client.get("/big.bin", headers={**ranged, "If-Range": stale})
        assert (response.status_code, len(response.content)) == (200, len(BIG)), stale


def test_a_range_with_head_or_a_fresh_request(client: TestClient) -> None:
    head = client.head("/big.bin", headers={"Range": "bytes=0-3"})
    assert (head.status_code, head.headers["content-length"]) == (200, str(len(BIG)))
    tag = head.headers["etag"]
    assert client.get("/big.bin", headers={"Range": "bytes=0-3", "If-None-Match": tag}).status_code == 304


def test_ranges_of_a_precompressed_sibling(client: TestClient, site: Path) -> None:
    encoded = (site / "app.js.gz").read_bytes()
    with client.stream("GET", "/app.js", headers={"Accept-Encoding": "gzip", "Range": "bytes=0-9"}) as response:
        assert response.status_code == 206
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["content-range"] == f"bytes 0-9/{len(encoded)}"
        assert b"".join(response.iter_raw()) == encoded[:10]
    # several ranges of an encoded file: the whole file, as a multipart body cannot carry the encoding
    several = client.get("/app.js", headers={"Accept-Encoding": "gzip", "Range": "bytes=0-1,4-5"})
    assert (several.status_code, several.content) == (200, SCRIPT)


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-0", 10, [(0, 0)]),
        ("bytes=0-", 10, [(0, 9)]),
        ("bytes=-3", 10, [(7, 9)]),
        ("bytes=8-20", 10, [(8, 9)]),
        ("bytes=1-2,,5-6, ", 10, [(1, 2), (5, 6)]),
        ("bytes=5-6,1-2", 10, [(5, 6), (1, 2)]),  # in the order asked
        ("bytes=10-", 10, []),
        ("bytes=-0", 10, []),
        ("bytes=0-", 0, []),
        ("bytes=2-1", 10, None),
        ("bytes=a-", 10, None),
        ("bytes=1", 10, None),
        ("bytes=--1", 10, None),
        ("bits=0-1", 10, None),
        ("bytes=0-1-2", 10, None),
        ("bytes=99999999999999999999999-", 10, []),
        ("bytes=" + "9" * 5000 + "-", 10, []),
        ("bytes=0-" + "9" * 5000, 10, [(0, 9)]),
        ("bytes=-" + "9" * 5000, 10, [(0, 9)]),
        ("bytes=\u0660-\u0661", 10, None),  # only ASCII digits
    ],
)
def test_parse_range(header: str, size: int, expected: list[tuple[int, int]] | None) -> None:
    assert parse_range(header, size) == expected


# -- pathsend ----------------------------------------------------------------------------


async def call(app: Koa, path: str, extensions: dict[str, Any], **headers: str) -> list[Message]:
    """One GET straight through ASGI, as a server offering `extensions` would make it."""
    sent: list[Message] = []
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "server": ("a", 80),
        "client": ("b", 1), "extensions": extensions,
        "headers": [(name.lower().replace("_", "-").encode(), value.encode()) for name, value in headers.items()],
    }  # fmt: skip

    requested = False

    async def receive() -> Message:
        nonlocal requested
        if requested:  # as a server does: nothing more until the client leaves
            await asyncio.Event().wait()
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send_(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send_)
    return sent


async def test_a_whole_file_goes_out_through_pathsend_where_the_server_offers_it(site: Path) -> None:
    app = app_for(site)
    start, last = await call(app, "/big.bin", {"http.response.pathsend": {}})
    assert start["type"] == "http.response.start"
    assert (start["status"], dict(start["headers"])[b"content-length"]) == (200, str(len(BIG)).encode())
    assert last == {"type": "http.response.pathsend", "path": str(site.resolve() / "big.bin")}
    # without the extension, or for a range, the body goes out in chunks
    chunks = await call(app, "/big.bin", {})
    assert b"".join(m.get("body", b"") for m in chunks[1:]) == BIG
    assert {m["type"] for m in chunks[1:]} == {"http.response.body"}
    ranged = await call(app, "/big.bin", {"http.response.pathsend": {}}, Range="bytes=1-2")
    assert [m["type"] for m in ranged[1:]][-1] == "http.response.body"
    assert b"".join(m.get("body", b"") for m in ranged[1:]) == BIG[1:3]


async def test_pathsend_from_a_relative_path_sends_an_absolute_one(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(site)
    app = Koa()
    app.use(lambda ctx, next: setattr(ctx, "body", Path("hello.txt")))
    _, last = await call(app, "/", {"http.response.pathsend": {}})
    assert last == {"type": "http.response.pathsend", "path": str(site.resolve() / "hello.txt")}


@pytest.fixture(scope="module")
def granian(site: Path) -> Iterator[str]:
    """The static app on granian, which offers pathsend, as its own process."""
    port = free_port()
    argv = [sys.executable, "-m", "aiokoa", "run", "tests.middleware.static_app:app", "--app-dir", str(ROOT_DIR)]
    server = ServerProcess([*argv, "--server", "granian", "--port", str(port)], port, AIOKOA_STATIC_ROOT=str(site))
    try:
        yield server.url
    finally:
        server.stop()


def test_granian_sends_files_through_pathsend(granian: str, site: Path) -> None:
    with httpx.Client(base_url=granian, timeout=10) as client:
        response = client.get("/big.bin")
        assert response.headers["x-pathsend"] == "yes"
        assert (response.status_code, response.content) == (200, BIG)
        assert response.headers["content-length"] == str(len(BIG))
        ranged = client.get("/big.bin", headers={"Range": "bytes=70000-70009, -1"})
        assert [data for _, data in multipart(ranged)] == [BIG[70_000:70_010], BIG[-1:]]
        assert client.head("/hello.txt").headers["content-length"] == str(len(HELLO))
        assert client.get("/hello.txt", headers={"If-None-Match": response.headers["etag"]}).status_code == 200
        tag = client.get("/hello.txt").headers["etag"]
        assert client.get("/hello.txt", headers={"If-None-Match": tag}).status_code == 304


# -- paths as an attacker sends them, over real HTTP --------------------------------------


def raw_status(url: str, target: str) -> int:
    """The status of `GET <target>` sent byte for byte (an HTTP client would normalise it)."""
    host, port = url.removeprefix("http://").split(":")
    request = f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode("latin-1")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert b"the secret" not in answer
    return int(answer.split(b" ", 2)[1])


ATTACKS = [
    ("/../secret.txt", 403),
    ("/public/../../secret.txt", 403),
    ("/docs/../../secret.txt", 403),
    ("/%2e%2e/secret.txt", 403),
    ("/%2E%2E/secret.txt", 403),
    ("/.%2e/secret.txt", 403),
    ("/%2e%2e%2fsecret.txt", 403),
    ("/docs%2f..%2f..%2fsecret.txt", 403),
    ("/..%5csecret.txt", 400),
    ("/%5c..%5csecret.txt", 400),
    ("/..\\secret.txt", 400),
    ("/%c0%ae%c0%ae/secret.txt", 400),  # overlong UTF-8 for `.`
    ("/%c0%af..%c0%afsecret.txt", 400),  # overlong UTF-8 for `/`
    ("/%e0%80%ae%e0%80%ae/secret.txt", 400),
    ("/%252e%252e/secret.txt", 404),  # decoded once: a name `%2e%2e`, not `..`
    ("/%252e%252e%252fsecret.txt", 404),
    ("//etc/passwd", 400),
    ("/%2fetc%2fpasswd", 400),
    ("/%2f%2e%2e/secret.txt", 400),
    ("/hello.txt%00.png", 400),
    ("/%00", 400),
    ("/link-out.txt", 404),
    ("/link-dir/secret.txt", 404),
    ("/" + "a" * 300, 404),  # longer than a file name may be
    ("/" + "a/" * 3000 + "x", 404),  # longer than a path may be
    ("/bare", 404),
    ("/bare/", 404),
    ("/.env", 404),
    ("/docs/.%2e/.env", 404),
    ("/%ff", 400),
]


@pytest.fixture(scope="module")
def uvicorn_url(site: Path) -> Iterator[str]:
    app = Koa()
    app.use(serve_static(site))
    with running(app) as url:
        yield url


@pytest.mark.parametrize(("target", "status"), ATTACKS, ids=[target[:40] for target, _ in ATTACKS])
def test_an_attack_on_the_path_over_uvicorn(uvicorn_url: str, target: str, status: int) -> None:
    assert raw_status(uvicorn_url, target) == status
    assert raw_status(uvicorn_url, "/hello.txt") == 200


@pytest.mark.parametrize(("target", "status"), ATTACKS, ids=[target[:40] for target, _ in ATTACKS])
def test_an_attack_on_the_path_over_granian(granian: str, target: str, status: int) -> None:
    assert raw_status(granian, target) == status
    assert raw_status(granian, "/hello.txt") == 200
