"""Forms without a server: FormData, UploadFile, and the urlencoded and multipart parsers
fed in chunks of every size; hypothesis throws random bytes, boundaries and splits at them."""

from __future__ import annotations

import asyncio
import errno
import gzip
import os
import zlib
from collections.abc import AsyncIterator
from typing import Any

import brotli
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiokoa.http import forms
from aiokoa.http.body import BodyError, decode_json, decode_text, inflated, inflaters, limited
from aiokoa.http.forms import FormData, UploadFile, parse_multipart, parse_urlencoded
from aiokoa.http.jsonbody import loads, loads_stdlib
from aiokoa.http.sizes import format_size, parse_size

from ..multipart import BOUNDARY, multipart, part


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def parse(data: bytes, size: int = 1 << 16, *, boundary: str = BOUNDARY, **limits: int) -> FormData[str | UploadFile]:
    opened: list[UploadFile] = []

    async def run() -> FormData[str | UploadFile]:
        return await parse_multipart(chunks_of(data, size), boundary, track=opened.append, **limits)

    try:
        return asyncio.run(run())
    except BodyError:
        assert all(upload.closed for upload in opened)  # a failed parse closes what it opened
        raise


# -- sizes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"), [(0, 0), (512, 512), ("1mb", 1 << 20), ("56kb", 56 << 10), ("1.5 KB", 1536), ("10", 10)]
)
def test_parse_size(text: int | str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "mb", "1 xb", "-1", -1, "1e3", True])
def test_parse_size_refuses(text: int | str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


def test_format_size() -> None:
    assert [format_size(n) for n in (1 << 20, 56 << 10, 1000, 0)] == ["1mb", "56kb", "1000b", "0b"]


# -- FormData and UploadFile ------------------------------------------------------------


def test_form_data_is_multi_valued() -> None:
    form = FormData([("a", "1"), ("b", "2"), ("a", "3")])
    assert FormData([("a", "1"), ("a", "2"), ("a", "3")]).to_json() == {"a": ["1", "2", "3"]}
    assert form["a"] == "1"
    assert form.getall("a") == ["1", "3"]
    assert form.getall("missing") == []
    assert list(form) == ["a", "b"]
    assert len(form) == 2
    assert form.multi_items() == [("a", "1"), ("b", "2"), ("a", "3")]
    assert form.to_json() == {"a": ["1", "3"], "b": "2"}
    assert form == FormData([("a", "1"), ("b", "2"), ("a", "3")])
    assert form != FormData([("a", "1"), ("b", "2")])
    assert form == {"a": "1", "b": "2"}  # as a mapping: the first value of each name
    assert "FormData([('a', '1')" in repr(form)


async def test_upload_file_spools_to_disk_past_its_threshold() -> None:
    upload = UploadFile("big.bin", spool=10)
    await upload.write(b"12345")
    assert upload.in_memory
    assert await upload.seek(0) == 0
    assert await upload.read() == b"12345"
    await upload.write(b"67890")
    await upload.write(b"1234")
    assert not upload.in_memory
    await upload.write(b"")
    assert upload.size == 14
    await upload.seek(0)
    assert await upload.read() == b"12345678901234"
    await upload.seek(3)
    assert b"".join([chunk async for chunk in upload]) == b"45678901234"
    assert "big.bin" in repr(upload)
    await upload.close()
    assert upload.closed
    upload.close()  # twice is fine, awaited or not


# -- urlencoded --------------------------------------------------------------------------


def test_urlencoded() -> None:
    form = parse_urlencoded(b"a=1&b=%C3%A9+x&a=3&empty=&flag")
    assert form.multi_items() == [("a", "1"), ("b", "é x"), ("a", "3"), ("empty", ""), ("flag", "")]


def test_urlencoded_in_another_charset() -> None:
    assert parse_urlencoded(b"name=caf%E9", charset="latin-1")["name"] == "café"


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (b"name=%ff", 400, "form field 'name' is not valid utf-8"),
        (b"%ff=1", 400, "a form field name is not valid utf-8"),
        (b"a=1&" * 1001, 413, "more than 1000 fields"),
    ],
)
def test_urlencoded_refuses(data: bytes, status: int, message: str) -> None:
    with pytest.raises(BodyError) as caught:
        parse_urlencoded(data)
    assert caught.value.status == status
    assert message in caught.value.message


def test_urlencoded_unknown_charset_is_415() -> None:
    with pytest.raises(BodyError) as caught:
        parse_urlencoded(b"a=1", charset="klingon")
    assert caught.value.status == 415


# -- multipart ---------------------------------------------------------------------------

FORM = multipart(
    part("title", "Hello, wörld"),
    part("file", b"\x00binary\r\n--not-a-boundary", filename="a.bin", content_type="application/x-thing"),
    part("title", "again"),
    part("empty", b"", filename="empty.txt"),
)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 1 << 16])
def test_multipart_in_chunks_of_any_size(size: int) -> None:
    form = parse(FORM, size)
    assert form.getall("title") == ["Hello, wörld", "again"]
    upload = form["file"]
    assert isinstance(upload, UploadFile)
    assert (upload.filename, upload.content_type, upload.size) == ("a.bin", "application/x-thing", 25)
    assert upload.headers["content-type"] == "application/x-thing"
    assert upload.file.read() == b"\x00binary\r\n--not-a-boundary"
    empty = form["empty"]
    assert isinstance(empty, UploadFile)
    assert (empty.size, empty.content_type) == (0, "application/octet-stream")
    for value in form.values():
        if isinstance(value, UploadFile):
            value.close()


def test_multipart_spools_a_large_file() -> None:
    data = bytes(range(256)) * 8192  # 2 MB
    form = parse(multipart(part("f", data, filename="big.bin")), 65536, spool=1 << 20)
    upload = form["f"]
    assert isinstance(upload, UploadFile)
    assert not upload.in_memory
    assert upload.file.read() == data
    upload.close()


@pytest.mark.parametrize("slow", [False, True])
def test_multipart_writes_in_a_thread_once_the_disk_is_slow(monkeypatch: pytest.MonkeyPatch, slow: bool) -> None:
    """Spooled file data is written on the event loop while each write is quick; once one
    took longer than SLOW_WRITE, the rest goes through a thread, in batches."""
    # Every write counts as slow, or none does (however busy the machine).
    monkeypatch.setattr(forms, "SLOW_WRITE", -1.0 if slow else 60.0)
    hops: list[int] = []
    to_thread = asyncio.to_thread

    async def counted(func: Any, /, *args: Any) -> Any:
        writes = getattr(func, "__func__", None) is forms._Multipart.write
        hops.append(sum(len(data) for _, data in args[0]) if writes else 0)
        return await to_thread(func, *args)

    monkeypatch.setattr(asyncio, "to_thread", counted)
    data = bytes(range(256)) * 16384  # 4 MiB: past the spool, then batches of WRITE_BATCH
    form = parse(multipart(part("f", data, filename="big.bin"), part("g", "after")), 65536, spool=1 << 20)
    upload = form["f"]
    assert isinstance(upload, UploadFile)
    assert (upload.size, upload.in_memory, form["g"]) == (len(data), False, "after")
    assert upload.file.read() == data
    upload.close()
    written = [size for size in hops if size]
    if slow:  # the first write to the temporary file was inline (and slow), the rest in batches
        assert written and all(size >= forms.WRITE_BATCH for size in written[:-1])
        assert sum(written) < len(data)
    else:
        assert written == []


class _ShortWrites:
    """The os module, with each write cut to 1,000 bytes."""

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    @staticmethod
    def write(fd: int, data: bytes | memoryview) -> int:
        return os.write(fd, data[:1000])


def _refuse(fd: int, offset: int, length: int) -> None:
    raise OSError(errno.ENOSPC, "no space left for the reserve")


@pytest.mark.parametrize("case", ["reserved", "reserve refused", "no reserve", "short writes"])
def test_multipart_files_on_disk_end_at_their_data(monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    """Past the spool a file's data goes to its descriptor, into disk reserved ahead; each
    file ends where its data does (the reserve given back once its part is complete), also
    when the reserve is refused or not possible, and when a write is cut short."""
    if case == "reserve refused":
        monkeypatch.setattr(forms, "_fallocate", _refuse)
    elif case == "no reserve":
        monkeypatch.setattr(forms, "_fallocate", None)
    elif case == "short writes":
        monkeypatch.setattr(forms, "os", _ShortWrites())
    big = bytes(range(256)) * 12288  # 3 MiB
    other = big[::-1][: (3 << 19) + 5]  # 1.5 MiB and a bit
    data = multipart(
        part("a", big, filename="a.bin"), part("s", b"small", filename="s.bin"), part("b", other, filename="b.bin")
    )
    form = parse(data, 65536, spool=1 << 20)
    for name, content in (("a", big), ("s", b"small"), ("b", other)):
        upload = form[name]
        assert isinstance(upload, UploadFile)
        assert (upload.size, upload.in_memory) == (len(content), name == "s")
        if name != "s":
            assert os.fstat(upload.file.fileno()).st_size == len(content)
        assert upload.file.read() == content
        upload.close()


def test_multipart_utf8_filename() -> None:
    form = parse(multipart(part("f", b"x", filename="résumé.pdf")))
    upload = form["f"]
    assert isinstance(upload, UploadFile)
    assert upload.filename == "résumé.pdf"
    upload.close()


BAD_MULTIPART = [
    (FORM[:-30], {}, 400, "truncated"),
    (b"no boundary at all", {}, 400, "invalid multipart body"),
    (b"", {}, 400, "truncated"),
    (multipart(b"Content-Disposition: form-data\r\n\r\nx"), {}, 400, "no name"),
    (multipart(b"Content-Type: text/plain\r\n\r\nx"), {}, 400, "no Content-Disposition"),
    (multipart(b"X-Long: " + b"a" * 5000 + b"\r\nContent-Disposition: form-data; name=a\r\n\r\nx"), {}, 400, "header"),
    (multipart(part("a", "1"), part("b", "2")), {"max_fields": 1}, 413, "more than 1 fields"),
    (multipart(part("a", "1", filename="1"), part("b", "2", filename="2")), {"max_files": 1}, 413, "more than 1 files"),
    (multipart(part("f", b"x" * 100, filename="f.bin")), {"max_file_size": 99}, 413, "file 'f.bin' is larger"),
    (multipart(part("a", b"x" * 100)), {"max_field_size": 99}, 413, "form field 'a' is larger"),
    (multipart(part("a", b"\xff")), {}, 400, "form field 'a' is not valid utf-8"),
]


@pytest.mark.parametrize(
    ("data", "limits", "status", "message"), BAD_MULTIPART, ids=[case[3] for case in BAD_MULTIPART]
)
@pytest.mark.parametrize("size", [5, 1 << 16])
def test_multipart_refuses(data: bytes, limits: dict[str, Any], status: int, message: str, size: int) -> None:
    with pytest.raises(BodyError) as caught:
        parse(data, size, **limits)
    assert caught.value.status == status
    assert message in caught.value.message


def test_multipart_invalid_boundary() -> None:
    with pytest.raises(BodyError) as caught:
        parse(FORM, boundary="€")
    assert (caught.value.status, caught.value.message) == (400, "invalid multipart boundary '€'")


def test_multipart_latin1_filename() -> None:
    form = parse(multipart(b'Content-Disposition: form-data; name="f"; filename="caf\xe9"\r\n\r\nx'))
    upload = form["f"]
    assert isinstance(upload, UploadFile)
    assert upload.filename == "café"
    upload.close()


@given(
    st.binary(max_size=300),
    st.text(alphabet="abcXYZ019-_'()+,./:=? ", min_size=1, max_size=30),
    st.integers(min_value=1, max_value=64),
)
def test_fuzz_multipart_fails_only_with_a_body_error(data: bytes, boundary: str, size: int) -> None:
    body = multipart(part("a", data), part("f", data, filename="f"), boundary=boundary)
    cut = data[: len(data) // 2]
    for candidate in (data, body, body[: len(body) // 2] + cut, body.replace(b"\r\n", b"\n")):
        try:
            form = parse(candidate, size, boundary=boundary)
        except BodyError as err:
            assert err.status in (400, 413)
        else:
            for value in form.values():
                if isinstance(value, UploadFile):
                    value.close()


@given(st.binary(max_size=300))
def test_fuzz_urlencoded_fails_only_with_a_body_error(data: bytes) -> None:
    try:
        form = parse_urlencoded(data)
    except BodyError as err:
        assert err.status == 400
    else:
        assert all(isinstance(value, str) for value in form.values())


# -- Content-Encoding, text and JSON ------------------------------------------------------


def inflate_all(data: bytes, encoding: str, limit: int | None = None, size: int = 7) -> bytes:
    async def run() -> bytes:
        chunks = inflated(chunks_of(data, size), inflaters(encoding))
        return b"".join([chunk async for chunk in (chunks if limit is None else limited(chunks, limit))])

    return asyncio.run(run())


TEXT = b"The quick brown fox " * 1000


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        ("gzip", gzip.compress(TEXT, mtime=0)),
        ("x-gzip", gzip.compress(TEXT, mtime=0)),
        ("deflate", zlib.compress(TEXT)),
        ("deflate", zlib.compress(TEXT)[2:-4]),  # raw deflate, as some clients send it
        ("br", brotli.compress(TEXT)),
        ("gzip, br", brotli.compress(gzip.compress(TEXT, mtime=0))),
        ("identity", TEXT),
    ],
    ids=["gzip", "x-gzip", "deflate", "raw-deflate", "br", "gzip-br", "identity"],
)
def test_inflate(encoding: str, data: bytes) -> None:
    assert inflate_all(data, encoding) == TEXT


@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate"])
def test_a_bomb_stops_at_the_limit(encoding: str) -> None:
    zeros = b"\x00" * (50 << 20)
    data = {"gzip": gzip.compress, "br": brotli.compress, "deflate": zlib.compress}[encoding](zeros)
    with pytest.raises(BodyError) as caught:
        inflate_all(data, encoding, limit=1 << 20, size=1 << 16)
    assert caught.value.status == 413


@pytest.mark.parametrize(
    ("encoding", "data", "status"),
    [
        ("gzip", b"not gzip at all", 400),
        ("gzip", gzip.compress(TEXT, mtime=0)[:-20], 400),
        ("gzip", gzip.compress(TEXT, mtime=0) + b"trailing", 400),
        ("br", b"not brotli", 400),
        ("br", brotli.compress(TEXT)[:-5], 400),
        ("compress", b"x", 415),
        ("zstd", b"x", 415),
    ],
    ids=["not-gzip", "truncated-gzip", "gzip-trailing", "not-br", "truncated-br", "compress", "zstd"],
)
def test_inflate_refuses(encoding: str, data: bytes, status: int) -> None:
    with pytest.raises(BodyError) as caught:
        inflate_all(data, encoding)
    assert caught.value.status == status


def test_decode_text() -> None:
    assert decode_text("é".encode()) == "é"
    assert decode_text("é".encode("latin-1"), "ISO-8859-1") == "é"
    with pytest.raises(BodyError, match="not valid utf-8") as caught:
        decode_text(b"\xff")
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"a":\n  1,,}', "invalid JSON at line 2 column 5"),
        (b"", "invalid JSON at line 1 column 1"),
        (b"[NaN]", "invalid JSON"),
        (b'"\xff"', "not valid UTF-8"),
    ],
)
def test_decode_json_refuses(data: bytes, message: str) -> None:
    with pytest.raises(BodyError, match=message) as caught:
        decode_json(data)
    assert caught.value.status == 400


def test_decode_json() -> None:
    assert decode_json(b' {"a": [1, 2.5, true, null, "\xc3\xa9"]} ') == {"a": [1, 2.5, True, None, "é"]}
    assert decode_json(b"3") == 3
    assert decode_json(b"123456789012345678901234567890") == 123456789012345678901234567890
    assert decode_json('{"a": "é"}'.encode("utf-16"), "utf-16") == {"a": "é"}
    with pytest.raises(BodyError, match="object or an array"):
        decode_json(b"3", strict=True)
    assert decode_json(b" [3]", strict=True) == [3]


@pytest.mark.parametrize("data", [b'{"a": 1}', b"[1, 2, 3]", b"1e400", b'"\\ud800"', b"123456789012345678901234567890"])
def test_loads_are_the_same_with_or_without_orjson(data: bytes) -> None:
    assert loads(data) == loads_stdlib(data)
