"""`compress()`: koa-compress with zstd. Every coding decoded back by the client, the choice
by q-values, 406, the rules that leave a response alone, and streams flushed chunk by chunk
over real HTTP."""

from __future__ import annotations

import asyncio
import gzip
import importlib
import io
import json
import threading
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import brotli
import httpx
import pytest
import zstandard

from aiokoa import Context, Koa, Next
from aiokoa.middleware import compress
from aiokoa.testing import TestClient

from ..conftest import Serve

compress_module = importlib.import_module("aiokoa.middleware.compress")

TEXT = "Koa's onion, compressed. " * 200  # 5,000 bytes of text
PAYLOAD = {"items": [{"id": i, "name": f"item-{i}", "tags": ["a", "b"]} for i in range(200)]}

DECODE: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.decompress,
    "deflate": zlib.decompress,
    "br": brotli.decompress,
    "zstd": lambda raw: zstandard.ZstdDecompressor().decompressobj().decompress(raw),
}


def app_with(handler: Callable[[Context], Any], **options: Any) -> Koa:
    app = Koa()
    app.use(compress(**options))

    async def respond(ctx: Context, next: Next) -> None:
        result = handler(ctx)
        if asyncio.iscoroutine(result):
            await result

    app.use(respond)
    return app


def text(ctx: Context) -> None:
    ctx.body = TEXT


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(app_with(text)) as client:
        yield client


def raw(client: httpx.Client, path: str = "/", **headers: str) -> httpx.Response:
    """The response with its body as sent, not decoded."""
    with client.stream("GET", path, headers=headers) as response:
        response._content = b"".join(response.iter_raw())
    return response


# -- every coding, decoded back ---------------------------------------------------------


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_each_coding_is_decoded_back_by_the_client(client: TestClient, coding: str) -> None:
    response = client.get("/", headers={"Accept-Encoding": coding})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == coding
    assert response.text == TEXT
    sent = raw(client, **{"Accept-Encoding": coding})
    assert int(sent.headers["content-length"]) == len(sent.content) < len(TEXT) // 10
    assert DECODE[coding](sent.content).decode() == TEXT
    assert sent.headers["content-type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_json_bodies_are_serialised_then_compressed(coding: str) -> None:
    def handler(ctx: Context) -> None:
        ctx.body = PAYLOAD

    with TestClient(app_with(handler)) as client:
        response = client.get("/", headers={"Accept-Encoding": coding})
    assert response.headers["content-encoding"] == coding
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == PAYLOAD


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview"])
def test_binary_bodies_of_a_compressible_type(kind: str) -> None:
    data = TEXT.encode()

    def handler(ctx: Context) -> None:
        ctx.type = "text/css"
        ctx.body = {"bytes": data, "bytearray": bytearray(data), "memoryview": memoryview(data)}[kind]

    with TestClient(app_with(handler)) as client:
        response = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["content-type"] == "text/css; charset=utf-8"
    assert response.content == data


# -- which coding -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("gzip, deflate, br, zstd", "zstd"),  # a tie: zstd > br > gzip > deflate
        ("deflate, gzip", "gzip"),  # the tie is broken by the server's order, not the header's
        ("deflate, br", "br"),
        ("GZip", "gzip"),
        ("gzip;q=0.5, deflate", "deflate"),
        ("br;q=0.9, zstd;q=0.8, gzip;q=0.9", "br"),
        ("zstd;q=0.1, gzip;q=0.2", "gzip"),
        ("*", "zstd"),
        ("zstd;q=0, br;q=0, *", "gzip"),
        ("*;q=0.1, deflate", "deflate"),
        ("identity;q=0.5, gzip", "gzip"),
        ("identity, gzip", "gzip"),  # a tie with identity: compressed
        ("gzip;q=0.5", "gzip"),  # identity, unnamed, takes the lowest q: a tie again
        ("identity, gzip;q=0.5", None),  # the client prefers it as it is
        ("identity", None),
        ("", None),
        ("compress, x-unknown", None),
        ("gzip;q=0", None),
    ],
)
def test_the_coding_follows_the_q_values(client: TestClient, accept: str, coding: str | None) -> None:
    response = client.get("/", headers={"Accept-Encoding": accept})
    assert response.status_code == 200
    assert response.headers.get("content-encoding") == coding
    assert response.text == TEXT


def test_no_accept_encoding_means_the_default_encoding() -> None:
    with TestClient(app_with(text)) as client:
        del client.headers["Accept-Encoding"]  # httpx sends one of its own
        response = raw(client)
    assert "content-encoding" not in response.headers
    assert response.content == TEXT.encode()
    for default, coding in (("gzip", "gzip"), ("*", "zstd")):
        with TestClient(app_with(text, default_encoding=default)) as client:
            del client.headers["Accept-Encoding"]
            response = raw(client)
            assert response.headers["content-encoding"] == coding
            # a header sent, even empty, is the client's word
            assert "content-encoding" not in client.get("/", headers={"Accept-Encoding": ""}).headers


@pytest.mark.parametrize("accept", ["identity;q=0", "*;q=0", "x-unknown, identity;q=0", "gzip;q=0, identity;q=0"])
def test_406_when_nothing_is_acceptable(client: TestClient, accept: str) -> None:
    response = client.get("/", headers={"Accept-Encoding": accept, "Accept": "application/json"})
    assert response.status_code == 406
    assert response.headers["vary"] == "Accept-Encoding"
    assert "content-encoding" not in response.headers
    assert "identity" in response.json()["error"]["message"]


def test_406_closes_a_stream_body() -> None:
    closed = threading.Event()

    class File(io.BytesIO):
        def close(self) -> None:
            closed.set()
            super().close()

    def handler(ctx: Context) -> None:
        ctx.type = "text"
        ctx.body = File(TEXT.encode())

    with TestClient(app_with(handler)) as client:
        assert client.get("/", headers={"Accept-Encoding": "identity;q=0"}).status_code == 406
    assert closed.is_set()


def test_identity_refused_but_a_coding_accepted(client: TestClient) -> None:
    response = client.get("/", headers={"Accept-Encoding": "identity;q=0, br"})
    assert response.headers["content-encoding"] == "br"


def test_406_only_where_the_body_would_be_compressed() -> None:
    def small(ctx: Context) -> None:
        ctx.body = "tiny"

    with TestClient(app_with(small)) as client:
        response = client.get("/", headers={"Accept-Encoding": "identity;q=0"})
    assert response.status_code == 200
    assert response.text == "tiny"


# -- Vary -------------------------------------------------------------------------------


def test_vary_is_added_to_every_response_keeping_other_values() -> None:
    def handler(ctx: Context) -> None:
        if ctx.path == "/replaced":
            ctx.set("Vary", "Origin")  # replaces what compress set before next()
        else:
            ctx.vary("Origin")
        ctx.body = "small" if ctx.path == "/small" else TEXT

    with TestClient(app_with(handler)) as client:
        for path in ("/", "/small", "/replaced"):
            for accept in ("gzip", "identity"):
                vary = client.get(path, headers={"Accept-Encoding": accept}).headers["vary"]
                assert sorted(vary.split(", ")) == ["Accept-Encoding", "Origin"], (path, vary)


# -- what is left alone -----------------------------------------------------------------


def test_head_is_not_compressed(client: TestClient) -> None:
    response = client.head("/", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert response.headers["content-length"] == str(len(TEXT))
    assert response.headers["vary"] == "Accept-Encoding"


@pytest.mark.parametrize("status", [204, 205, 304])
def test_empty_statuses_are_not_compressed(status: int) -> None:
    def handler(ctx: Context) -> None:
        ctx.body = TEXT
        ctx.status = status

    with TestClient(app_with(handler)) as client:
        response = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == status
    assert "content-encoding" not in response.headers
    assert response.content == b""


def test_partial_content_is_not_compressed() -> None:
    def handler(ctx: Context) -> None:
        ctx.status = 206
        ctx.set("Content-Range", f"bytes 0-{len(TEXT) - 1}/{len(TEXT) * 2}")
        ctx.body = TEXT

    with TestClient(app_with(handler)) as client:
        response = raw(client, **{"Accept-Encoding": "gzip"})
    assert response.status_code == 206
    assert "content-encoding" not in response.headers
    assert response.content == TEXT.encode()


def test_an_existing_content_encoding_is_kept() -> None:
    packed = gzip.compress(TEXT.encode())

    def handler(ctx: Context) -> None:
        ctx.type = "text"
        ctx.set("Content-Encoding", "gzip")
        ctx.body = packed

    with TestClient(app_with(handler)) as client:
        response = raw(client, **{"Accept-Encoding": "br"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == packed  # not compressed twice


@pytest.mark.parametrize("cache_control", ["no-transform", "public, no-transform", "No-Transform , max-age=60"])
def test_cache_control_no_transform_is_respected(cache_control: str) -> None:
    def handler(ctx: Context) -> None:
        ctx.set("Cache-Control", cache_control)
        ctx.body = TEXT

    with TestClient(app_with(handler)) as client:
        response = raw(client, **{"Accept-Encoding": "gzip"})
    assert "content-encoding" not in response.headers
    assert response.content == TEXT.encode()


def test_a_similar_cache_control_does_not_stop_compression() -> None:
    def handler(ctx: Context) -> None:
        ctx.set("Cache-Control", "no-transformation-here")
        ctx.body = TEXT

    with TestClient(app_with(handler)) as client:
        assert client.get("/", headers={"Accept-Encoding": "gzip"}).headers["content-encoding"] == "gzip"


@pytest.mark.parametrize("threshold", [1024, "1kb", "1 KB"])
def test_bodies_under_the_threshold_go_as_they_are(threshold: int | str) -> None:
    def handler(ctx: Context) -> None:
        ctx.body = "x" * int(str(ctx.query["size"]))

    with TestClient(app_with(handler, threshold=threshold)) as client:
        under = client.get("/?size=1023", headers={"Accept-Encoding": "gzip"})
        at = client.get("/?size=1024", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in under.headers
    assert at.headers["content-encoding"] == "gzip"
    assert at.text == "x" * 1024


def test_threshold_zero_compresses_everything_but_an_empty_body() -> None:
    def handler(ctx: Context) -> None:
        ctx.body = ctx.query["text"]

    with TestClient(app_with(handler, threshold=0)) as client:
        assert client.get("/?text=a", headers={"Accept-Encoding": "gzip"}).headers["content-encoding"] == "gzip"
        empty = client.get("/?text=", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in empty.headers
    assert empty.content == b""


def test_a_bad_threshold_fails_when_the_app_is_built() -> None:
    with pytest.raises(ValueError, match="not a size"):
        compress(threshold="lots")


@pytest.mark.parametrize(
    ("content_type", "compressed"),
    [
        ("text/html", True),
        ("text/event-stream", True),
        ("application/json", True),
        ("application/vnd.api+json", True),
        ("application/atom+xml", True),
        ("image/svg+xml", True),
        ("text/javascript", True),
        ("application/wasm", True),
        ("image/png", False),
        ("application/octet-stream", False),
        ("application/zip", False),
        ("font/woff2", False),
        ("video/mp4", False),
    ],
)
def test_the_default_filter_takes_compressible_types(content_type: str, compressed: bool) -> None:
    def handler(ctx: Context) -> None:
        ctx.type = content_type
        ctx.body = TEXT.encode()

    with TestClient(app_with(handler)) as client:
        response = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert ("content-encoding" in response.headers) is compressed
    assert response.content == TEXT.encode()


def test_a_body_without_a_type_is_not_compressed_unless_forced() -> None:
    def handler(ctx: Context) -> None:
        ctx.body = TEXT
        ctx.remove("Content-Type")
        if ctx.path == "/forced":
            ctx.compress = True  # type: ignore[attr-defined]

    with TestClient(app_with(handler)) as client:
        plain = client.get("/", headers={"Accept-Encoding": "gzip"})
        forced = client.get("/forced", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert forced.headers["content-encoding"] == "gzip"
    assert "content-type" not in forced.headers  # not made application/octet-stream
    assert forced.text == TEXT


def test_a_filter_of_ones_own() -> None:
    seen: list[str] = []

    def only_csv(content_type: str) -> bool:
        seen.append(content_type)
        return content_type == "text/csv"

    def handler(ctx: Context) -> None:
        ctx.type = "text/csv" if ctx.path == "/csv" else "text/html"
        ctx.body = TEXT

    with TestClient(app_with(handler, filter=only_csv)) as client:
        assert client.get("/csv", headers={"Accept-Encoding": "gzip"}).headers["content-encoding"] == "gzip"
        assert "content-encoding" not in client.get("/html", headers={"Accept-Encoding": "gzip"}).headers
    assert seen == ["text/csv", "text/html"]


def test_ctx_compress_overrides_per_response() -> None:
    def handler(ctx: Context) -> None:
        if ctx.path == "/png":
            ctx.type = "image/png"
            ctx.compress = True  # type: ignore[attr-defined]
        else:
            ctx.compress = False  # type: ignore[attr-defined]
        ctx.body = TEXT.encode()

    with TestClient(app_with(handler)) as client:
        png = client.get("/png", headers={"Accept-Encoding": "br"})
        off = client.get("/text", headers={"Accept-Encoding": "br"})
    assert png.headers["content-encoding"] == "br"
    assert png.content == TEXT.encode()
    assert "content-encoding" not in off.headers
    assert off.headers["vary"] == "Accept-Encoding"


def test_nothing_happens_when_the_response_went_out_already() -> None:
    async def handler(ctx: Context) -> None:
        ctx.type = "text"
        await ctx.flush_headers()
        ctx.body = TEXT

    with TestClient(app_with(handler)) as client:
        response = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in response.headers
    assert response.text == TEXT


def test_no_body_no_compression() -> None:
    def handler(ctx: Context) -> None:
        ctx.status = 404

    with TestClient(app_with(handler)) as client:
        response = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 404
    assert response.text == "Not Found"
    assert "content-encoding" not in response.headers


# -- ETag -------------------------------------------------------------------------------


def test_a_strong_etag_becomes_weak_when_compressed() -> None:
    def handler(ctx: Context) -> None:
        ctx.etag = "v1" if ctx.path == "/strong" else 'W/"v1"'
        ctx.body = TEXT

    with TestClient(app_with(handler)) as client:
        assert client.get("/strong", headers={"Accept-Encoding": "gzip"}).headers["etag"] == 'W/"v1"'
        assert client.get("/strong", headers={"Accept-Encoding": "identity"}).headers["etag"] == '"v1"'
        assert client.get("/weak", headers={"Accept-Encoding": "gzip"}).headers["etag"] == 'W/"v1"'


# -- options ----------------------------------------------------------------------------


def test_a_coding_turned_off_is_not_offered() -> None:
    with TestClient(app_with(text, zstd=False, br=False)) as client:
        response = client.get("/", headers={"Accept-Encoding": "zstd, br, deflate"})
        assert response.headers["content-encoding"] == "deflate"
        refused = client.get("/", headers={"Accept-Encoding": "zstd, identity;q=0"})
    assert refused.status_code == 406
    assert "gzip, deflate, identity" in refused.text


@pytest.mark.parametrize(
    ("coding", "low", "high"),
    [
        ("gzip", {"level": 1}, {"level": 9, "mem_level": 9}),
        ("deflate", {"level": 1}, {"level": 9}),
        ("br", {"quality": 0}, {"quality": 11, "window_bits": 24, "mode": "text"}),
        ("zstd", {"level": 1}, {"level": 19}),
    ],
)
def test_settings_reach_the_compressor(coding: str, low: dict[str, Any], high: dict[str, Any]) -> None:
    body = json.dumps([{"n": i, "word": f"w{i % 97}", "half": i / 2} for i in range(3000)])

    def handler(ctx: Context) -> None:
        ctx.type = "json"
        ctx.body = body

    sizes = []
    for settings in (low, high):
        with TestClient(app_with(handler, **{coding: settings})) as client:
            response = raw(client, **{"Accept-Encoding": coding})
        assert DECODE[coding](response.content).decode() == body
        sizes.append(len(response.content))
    assert sizes[1] < sizes[0]


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"gzip": {"levle": 9}}, TypeError),
        ({"gzip": {"level": 12}}, ValueError),
        ({"br": {"mode": "poetry"}}, ValueError),
        ({"br": {"quality": 99}}, brotli.error),
        ({"zstd": {"window": 10}}, TypeError),
    ],
)
def test_bad_settings_fail_when_the_app_is_built(options: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        compress(**options)


def test_zstd_keeps_its_window_within_8_mb() -> None:
    async def stream() -> AsyncIterator[str]:
        yield TEXT  # a stream: its frame names the window in full, the size being unknown

    def handler(ctx: Context) -> None:
        ctx.type = "text"
        ctx.body = stream()

    with pytest.raises(ValueError, match="at most 19"):
        compress(zstd={"level": 20})
    with TestClient(app_with(handler, zstd={"level": 19})) as client:
        response = raw(client, **{"Accept-Encoding": "zstd"})
    assert zstandard.get_frame_parameters(response.content).window_size == 8 * 1024 * 1024
    strict = zstandard.ZstdDecompressor(max_window_size=8 * 1024 * 1024)
    assert strict.decompressobj().decompress(response.content).decode() == TEXT


def test_missing_libraries_leave_br_and_zstd_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compress_module, "brotli", None)
    monkeypatch.setattr(compress_module, "zstandard", None)
    with TestClient(app_with(text)) as client:
        assert client.get("/", headers={"Accept-Encoding": "zstd, br, gzip"}).headers["content-encoding"] == "gzip"
        assert "content-encoding" not in client.get("/", headers={"Accept-Encoding": "zstd, br"}).headers
    with pytest.raises(ImportError, match=r"pip install \"\.\[compress\]\""):
        compress(br={"quality": 5})


# -- big bodies go to a thread ----------------------------------------------------------


def test_a_large_body_is_compressed_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []
    to_thread = asyncio.to_thread

    async def watched(fn: Callable[..., Any], *args: Any) -> Any:
        threads.append(getattr(fn, "__name__", ""))
        return await to_thread(fn, *args)

    monkeypatch.setattr(asyncio, "to_thread", watched)
    big = TEXT * 30  # 150 KB

    def handler(ctx: Context) -> None:
        ctx.body = big if ctx.path == "/big" else TEXT

    with TestClient(app_with(handler)) as client:
        assert client.get("/small", headers={"Accept-Encoding": "gzip"}).text == TEXT
        assert threads == []
        response = client.get("/big", headers={"Accept-Encoding": "gzip"})
    assert response.text == big
    assert threads == ["whole"]


# -- streams ----------------------------------------------------------------------------


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_an_async_generator_is_compressed_as_it_streams(coding: str) -> None:
    async def events() -> AsyncIterator[str]:
        for i in range(50):
            yield f"data: {i}\n\n"

    def handler(ctx: Context) -> None:
        ctx.type = "text/event-stream"
        ctx.body = events()

    with TestClient(app_with(handler)) as client:
        response = raw(client, **{"Accept-Encoding": coding})
    assert response.headers["content-encoding"] == coding
    assert "content-length" not in response.headers
    assert DECODE[coding](response.content).decode() == "".join(f"data: {i}\n\n" for i in range(50))


def test_a_path_body_is_compressed_and_its_file_closed(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(TEXT)
    small = tmp_path / "small.html"
    small.write_text("<p>hi</p>")

    def handler(ctx: Context) -> None:
        ctx.body = page if ctx.path == "/page" else small

    with TestClient(app_with(handler)) as client:
        response = raw(client, "/page", **{"Accept-Encoding": "br"})
        tiny = raw(client, "/small", **{"Accept-Encoding": "br"})
    assert response.headers["content-encoding"] == "br"
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "content-length" not in response.headers
    assert brotli.decompress(response.content).decode() == TEXT
    # its Content-Length is known: under the threshold, it goes as it is
    assert "content-encoding" not in tiny.headers
    assert tiny.headers["content-length"] == "9"


def test_a_file_body_with_a_length_set_by_hand(tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    page.write_text(TEXT)

    def handler(ctx: Context) -> None:
        ctx.type = "text"
        ctx.body = page.open("rb")
        ctx.length = len(TEXT)

    with TestClient(app_with(handler)) as client:
        response = raw(client, **{"Accept-Encoding": "gzip"})
    assert "content-length" not in response.headers
    assert gzip.decompress(response.content).decode() == TEXT


def test_a_sync_iterator_and_a_large_chunk() -> None:
    big = TEXT.encode() * 30  # one chunk of 150 KB: compressed in a thread

    def handler(ctx: Context) -> None:
        ctx.type = "text"
        ctx.body = iter([b"first ", big, b" last"])

    with TestClient(app_with(handler)) as client:
        response = client.get("/", headers={"Accept-Encoding": "zstd"})
    assert response.headers["content-encoding"] == "zstd"
    assert response.content == b"first " + big + b" last"


def test_a_stream_that_fails_first_gets_a_plain_error_response() -> None:
    async def broken() -> AsyncIterator[bytes]:
        raise RuntimeError("the database went away")
        yield b""

    def handler(ctx: Context) -> None:
        ctx.type = "text"
        ctx.body = broken()

    app = app_with(handler)
    app.silent = True
    with TestClient(app) as client:
        response = raw(client, **{"Accept-Encoding": "gzip"})
    assert response.status_code == 500
    assert "content-encoding" not in response.headers
    assert response.content == b"Internal Server Error"


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_each_chunk_reaches_the_client_before_the_generator_goes_on(serve: Serve, coding: str) -> None:
    """Over real HTTP: the generator waits for the client to have decoded each chunk."""
    received = [threading.Event() for _ in range(3)]
    finished = threading.Event()

    async def events() -> AsyncIterator[str]:
        for i, event in enumerate(received):
            yield f"data: {i}\n\n"
            if not await asyncio.to_thread(event.wait, 10):
                return  # the client never saw it: the test fails below
        finished.set()

    def handler(ctx: Context) -> None:
        ctx.type = "text/event-stream"
        ctx.body = events()

    client = serve(app_with(handler))
    with client.stream("GET", "/", headers={"Accept-Encoding": coding}) as response:
        assert response.headers["content-encoding"] == coding
        chunks = response.iter_text()
        for i, event in enumerate(received):
            assert next(chunks) == f"data: {i}\n\n"
            assert not finished.is_set()
            event.set()
        assert list(chunks) == []
    assert finished.is_set()


def test_head_of_a_stream_over_http(serve: Serve) -> None:
    async def events() -> AsyncIterator[str]:
        yield TEXT

    def handler(ctx: Context) -> None:
        ctx.type = "text"
        ctx.body = events()

    response = serve(app_with(handler)).head("/", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert response.headers["vary"] == "Accept-Encoding"


def test_json_over_http_in_every_coding(serve: Serve) -> None:
    def handler(ctx: Context) -> None:
        ctx.body = PAYLOAD

    client = serve(app_with(handler))
    for coding in ("gzip", "deflate", "br", "zstd"):
        response = client.get("/", headers={"Accept-Encoding": coding})
        assert response.headers["content-encoding"] == coding
        assert response.json() == PAYLOAD
