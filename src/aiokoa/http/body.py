"""Request bodies as chunks: inflating `Content-Encoding`, counting against a limit, and
decoding text and JSON, with errors a client can act on.

`BodyError` carries the status it answers with (`status`, `expose`), the shape HTTP
errors have, so whatever serves the request can answer it as it is.
"""

from __future__ import annotations

import codecs
import json
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from .jsonbody import loads
from .sizes import format_size

try:
    import brotli
except ImportError:  # pragma: no cover - depends on the environment
    brotli = None


class BodyError(ValueError):
    """A request body that cannot be accepted: 400 (malformed), 413 (too large) or 415
    (an encoding, charset or type not supported); `message` says what to change."""

    expose = True

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def too_large(limit: int, what: str = "request body") -> BodyError:
    return BodyError(413, f"{what} is larger than the limit of {format_size(limit)} ({limit} bytes)")


def check_length(declared: int | None, limit: int | None) -> None:
    """413 from `Content-Length` alone, before a byte is read."""
    if limit is not None and declared is not None and declared > limit:
        raise too_large(limit)


async def limited(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    """The chunks, stopping with 413 as soon as more than `limit` bytes came."""
    seen = 0
    async for chunk in chunks:
        seen += len(chunk)
        if seen > limit:
            raise too_large(limit)
        yield chunk


# -- Content-Encoding --------------------------------------------------------------------

OUT = 64 * 1024
"""Inflated bytes produced at a time: a zip bomb never gets more than this past its limit."""

Inflate = Callable[[bytes], list[bytes]]
"""Feed compressed bytes (b"" at the end), get inflated pieces of at most `OUT` bytes."""


def _zlib(wbits: int, name: str) -> Inflate:
    inflater = zlib.decompressobj(wbits)
    raw = name == "deflate"  # `deflate` is zlib-wrapped by the RFC, raw by some clients: take both

    def feed(data: bytes) -> list[bytes]:
        nonlocal inflater, raw
        pieces = []
        try:
            if not data and not inflater.eof:
                raise BodyError(400, f"the {name} body is truncated")
            while data:
                piece = inflater.decompress(data, OUT)
                if piece:
                    pieces.append(piece)
                data = inflater.unconsumed_tail
            if inflater.unused_data:
                raise BodyError(400, f"data after the end of the {name} stream")
        except zlib.error as err:
            if raw and not pieces:
                raw = False
                inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                return feed(data)
            raise BodyError(400, f"invalid {name} data: {err}") from None
        raw = False
        return pieces

    return feed


def _brotli() -> Inflate:
    inflater = brotli.Decompressor()

    def feed(data: bytes) -> list[bytes]:
        pieces = []
        try:
            if not data and not inflater.is_finished():
                raise BodyError(400, "the br body is truncated")
            piece = inflater.process(data, output_buffer_limit=OUT)
            while piece:
                pieces.append(piece)
                if inflater.can_accept_more_data():
                    break
                piece = inflater.process(b"", output_buffer_limit=OUT)
        except brotli.error as err:
            raise BodyError(400, f"invalid br data: {err}") from None
        return pieces

    return feed


def inflaters(content_encoding: str) -> list[Inflate]:
    """What undoes `Content-Encoding` (`gzip`, `deflate`, `br`, in the order they were
    applied); 415 for any other coding, or `br` without the `brotli` package."""
    found: list[Inflate] = []
    for coding in reversed([part.strip().lower() for part in content_encoding.split(",")]):
        if coding in ("", "identity"):
            continue
        if coding in ("gzip", "x-gzip"):
            found.append(_zlib(16 + zlib.MAX_WBITS, "gzip"))
        elif coding == "deflate":
            found.append(_zlib(zlib.MAX_WBITS, "deflate"))
        elif coding == "br" and brotli is not None:
            found.append(_brotli())
        else:
            known = "gzip, deflate, br" if brotli is not None else "gzip, deflate"
            raise BodyError(415, f"unsupported Content-Encoding {coding!r}: send {known} or identity")
    return found


async def inflated(chunks: AsyncIterator[bytes], inflate: list[Inflate]) -> AsyncIterator[bytes]:
    """The chunks with every coding undone, in pieces of at most `OUT` bytes."""
    async for chunk in chunks:
        for piece in _through(inflate, chunk):
            yield piece
    for piece in _through(inflate, b""):
        yield piece


def _through(inflate: list[Inflate], data: bytes) -> list[bytes]:
    pieces = [data]
    for feed in inflate:
        out = [inflated for piece in pieces if piece for inflated in feed(piece)]
        if not data:  # the end: each coding's stream must be complete
            out += feed(b"")
        pieces = out
    return pieces


# -- text and JSON -----------------------------------------------------------------------


def charset_codec(charset: str) -> str:
    """The codec for a charset parameter (`utf-8` when none); 415 if Python has none."""
    try:
        return codecs.lookup(charset or "utf-8").name
    except LookupError:
        raise BodyError(415, f"unsupported charset {charset!r}: send utf-8") from None


def decode_text(data: bytes, charset: str = "") -> str:
    codec = charset_codec(charset)
    try:
        return data.decode(codec)
    except UnicodeDecodeError as err:
        raise BodyError(400, f"the body is not valid {codec}: {err.reason} at byte {err.start}") from None


def check_strict(data: bytes) -> None:
    """400 unless the JSON text is an object or an array (what `json_strict` accepts)."""
    if data.lstrip(b" \t\r\n")[:1] not in (b"{", b"["):
        raise BodyError(400, "the JSON body must be an object or an array")


def decode_json(data: bytes, charset: str = "", *, strict: bool = False) -> Any:
    """The JSON value of a body; 400 naming the line and column of a syntax error, and
    with `strict`, for anything but an object or an array."""
    if charset and charset_codec(charset) != "utf-8":
        data = decode_text(data, charset).encode()
    if strict:
        check_strict(data)
    try:
        return loads(data)
    except UnicodeDecodeError as err:
        raise BodyError(400, f"the JSON body is not valid UTF-8: {err.reason} at byte {err.start}") from None
    except json.JSONDecodeError as err:
        raise BodyError(400, f"invalid JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
