"""`compress()`: Koa's koa-compress, with zstd.

The response body is compressed with the best coding the client accepts: the highest
q-value of its Accept-Encoding wins, and on a tie zstd, then br, then gzip, then deflate.
A complete body (str, bytes, JSON) is compressed at once and gets its new Content-Length;
a stream (async or sync iterator, file, path) is compressed as it goes out, each chunk
flushed, so that an event stream or a slow generator reaches the client chunk by chunk.

Differences from koa-compress: zstd is offered (`zstandard`), and so is br only where
`brotli` is installed (both in the `compress` extra), gzip and deflate always; `*` in
Accept-Encoding covers every coding offered, as RFC 9110 says (koa-compress: gzip and
deflate only), and `identity` with a higher q-value than every coding is honoured; a
strong ETag becomes weak on a compressed response, since the bytes sent are no longer
those it names; a path or file body is read off the event loop, and a large complete
body is compressed off it.
"""

from __future__ import annotations

import asyncio
import re
import threading
import zlib
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, NamedTuple

from ..core.instrument import wrap_send
from ..core.response import discard, is_stream
from ..http.jsonbody import dumps
from ..http.mime import compressible
from ..http.negotiation import preferred_encodings
from ..http.sizes import parse_size
from ..http.statuses import EMPTY

if TYPE_CHECKING:
    from ..core.compose import Middleware, Next
    from ..core.context import Context
    from ..types import Message, Send

try:
    import brotli
except ImportError:  # pragma: no cover - depends on the environment
    brotli = None
try:
    import zstandard
except ImportError:  # pragma: no cover - depends on the environment
    zstandard = None  # type: ignore[assignment]

OFF_LOOP = 128 * 1024
"""Complete bodies and stream chunks from this size up are compressed in a thread: below it
compression takes about a millisecond at most (gzip 6 does 100 KB of JSON in 0.5 ms, br 4 in
1.3 ms), less than handing the work to a thread and back costs the request."""

ZSTD_MAX_LEVEL = 19
"""zstd's levels above 19 take windows beyond the 8 MB that HTTP clients must accept (RFC 9659);
up to 19, the window stays within it."""

_no_transform = re.compile(r"(?:^|,)\s*no-transform\s*(?:,|$)", re.I).search


class _Stream(NamedTuple):
    """One stream's compressor: `chunk` returns a chunk's bytes flushed; `end` the last ones."""

    chunk: Callable[[bytes], bytes]
    end: Callable[[bytes], bytes]


class Codec(NamedTuple):
    """A content coding: its name, how it compresses a whole body, and a new stream compressor."""

    name: str
    whole: Callable[[bytes], bytes]
    stream: Callable[[], _Stream]


def _zlib(name: str, wbits: int, level: int = 6, mem_level: int = 8, strategy: int = zlib.Z_DEFAULT_STRATEGY) -> Codec:
    def new() -> Any:
        return zlib.compressobj(level, zlib.DEFLATED, wbits, mem_level, strategy)

    def whole(data: bytes) -> bytes:
        compressor = new()
        return compressor.compress(data) + compressor.flush()  # type: ignore[no-any-return]

    def stream() -> _Stream:
        compressor = new()
        return _Stream(
            lambda data: compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH),
            lambda data: compressor.compress(data) + compressor.flush(),
        )

    new()  # settings out of range fail here, when the app is built
    return Codec(name, whole, stream)


def _gzip(**settings: Any) -> Codec:
    """gzip settings: `level` (0-9, default 6), `mem_level` (1-9, 8), `strategy` (zlib's)."""
    return _zlib("gzip", 16 + zlib.MAX_WBITS, **settings)


def _deflate(**settings: Any) -> Codec:
    """deflate (the zlib format, as HTTP's deflate is): the same settings as gzip."""
    return _zlib("deflate", zlib.MAX_WBITS, **settings)


def _br(quality: int = 4, window_bits: int = 22, mode: str = "generic") -> Codec:
    """br settings: `quality` (0-11, default 4, koa-compress's), `window_bits` (10-24, 22) and
    `mode` ("generic", "text" or "font")."""
    if mode not in ("generic", "text", "font"):
        raise ValueError(f'br mode must be "generic", "text" or "font", not {mode!r}')
    options = {"quality": quality, "lgwin": window_bits, "mode": getattr(brotli, f"MODE_{mode.upper()}")}

    def whole(data: bytes) -> bytes:
        return brotli.compress(data, **options)  # type: ignore[no-any-return]

    def stream() -> _Stream:
        compressor = brotli.Compressor(**options)
        return _Stream(
            lambda data: compressor.process(data) + compressor.flush(),
            lambda data: compressor.process(data) + compressor.finish(),
        )

    whole(b"")  # settings out of range fail here, when the app is built
    return Codec("br", whole, stream)


def _zstd(level: int = 3) -> Codec:
    """zstd settings: `level` (1-19, default 3)."""
    if level > ZSTD_MAX_LEVEL:
        raise ValueError(f"zstd level {level}: at most {ZSTD_MAX_LEVEL}, whose window HTTP clients all accept")
    params = zstandard.ZstdCompressionParameters.from_level(level)
    # A compressor serves one body at a time: one per thread for whole bodies (the loop's
    # and the threads large ones go to), a new one for each stream.
    local = threading.local()

    def whole(data: bytes) -> bytes:
        compressor = getattr(local, "compressor", None)
        if compressor is None:
            compressor = local.compressor = zstandard.ZstdCompressor(compression_params=params)
        return compressor.compress(data)

    def stream() -> _Stream:
        compressor = zstandard.ZstdCompressor(compression_params=params).compressobj()
        return _Stream(
            lambda data: compressor.compress(data) + compressor.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK),
            lambda data: compressor.compress(data) + compressor.flush(),
        )

    return Codec("zstd", whole, stream)


# Best first: the order that breaks a tie between equal q-values.
_CODECS: tuple[tuple[str, Callable[..., Codec], Callable[[], bool]], ...] = (
    ("zstd", _zstd, lambda: zstandard is not None),
    ("br", _br, lambda: brotli is not None),
    ("gzip", _gzip, lambda: True),
    ("deflate", _deflate, lambda: True),
)


def _codecs(choices: Mapping[str, bool | Mapping[str, Any]]) -> list[Codec]:
    codecs = []
    for name, make, available in _CODECS:
        settings = choices[name]
        if settings is False:
            continue
        if not available():
            if settings is True:
                continue  # not installed: not offered
            raise ImportError(f'compress({name}=...) needs the {name} library: pip install ".[compress]"')
        if settings is True:
            settings = {}
        try:
            codecs.append(make(**settings))
        except TypeError as err:
            raise TypeError(f"compress({name}=...): {err}; the settings are: {make.__doc__}") from None
    return codecs


def compress(
    *,
    threshold: int | str = 1024,
    gzip: bool | Mapping[str, Any] = True,
    deflate: bool | Mapping[str, Any] = True,
    br: bool | Mapping[str, Any] = True,
    zstd: bool | Mapping[str, Any] = True,
    filter: Callable[[str], bool] | None = None,
    default_encoding: str = "identity",
) -> Middleware:
    """Compress response bodies with the best coding the client accepts.

    `threshold`: bodies smaller than this (bytes, or "1kb") go as they are; a stream of
    unknown length is always compressed. Each coding takes a dict of settings, or False
    to leave it out. `filter(content_type)` says which types to compress (default: the
    compressible ones: text, JSON, JavaScript, XML, SVG...). `default_encoding` stands for
    the Accept-Encoding of a request without one (`"identity"`: no compression; `"*"` or
    `"gzip"` to compress for clients that send none).

    `ctx.compress = True` compresses a type the filter rejects; `ctx.compress = False`
    leaves the response as it is.
    """
    minimum = parse_size(threshold)
    codecs = _codecs({"zstd": zstd, "br": br, "gzip": gzip, "deflate": deflate})
    accepted = filter or compressible
    by_name = {codec.name: codec for codec in codecs}
    ranked = [*by_name, "identity"]  # ties go to the first: zstd, br, gzip, deflate, then none
    offered = ", ".join(ranked)

    @lru_cache(maxsize=256)
    def choose(header: str) -> Codec | None:
        """The coding for an Accept-Encoding value, None for none; 406 when even identity is
        refused. Cached: clients send a handful of distinct values."""
        acceptable = preferred_encodings(header, ranked, server_ties=True)
        if not acceptable:
            raise LookupError(header)
        return by_name.get(acceptable[0])

    async def compress(ctx: Context, next: Next) -> None:
        ctx.vary("Accept-Encoding")
        await next()
        if ctx.header_sent or not ctx.writable or ctx.respond is False:
            return
        ctx.vary("Accept-Encoding")  # again: downstream may have set a Vary of its own
        body = ctx.body
        forced = getattr(ctx, "compress", None)
        status = ctx.status
        response = ctx.response
        if (
            body is None
            or forced is False
            or ctx.method == "HEAD"
            or status in EMPTY
            or status == 206
            or response.get("Content-Encoding")
            or not (forced is True or accepted(ctx.type))
            or _no_transform(_joined(response.get("Cache-Control")))
        ):
            return
        stream = is_stream(body)
        if stream:
            length = ctx.length
            if length is not None and length < minimum:
                return
            data = b""
        else:
            data = _encoded(body)
            if not data or len(data) < minimum:
                return
        header = ctx.get("Accept-Encoding") if "accept-encoding" in ctx.headers else default_encoding
        try:
            codec = choose(header)
        except LookupError:
            if stream:
                discard(body)
            # The error response keeps Vary: it too depends on Accept-Encoding.
            ctx.throw(406, f"Please accept one of: {offered}.", headers={"Vary": _joined(response.get("Vary"))})
        if codec is None:
            return
        ctx.set("Content-Encoding", codec.name)
        etag = response.get("ETag")
        if etag is not None and not str(etag).startswith("W/"):
            ctx.set("ETag", f"W/{etag}")  # a strong one names the bytes, which are no longer those
        if stream:
            if isinstance(body, PurePath):
                # A path could go to the server to send by itself, past the compressor.
                ctx.body = await asyncio.to_thread(open, body, "rb")
            ctx.remove("Content-Length")
            wrap_send(ctx, lambda send: _compressing(send, codec))
            return
        had_type = response.get("Content-Type") is not None
        ctx.body = codec.whole(data) if len(data) < OFF_LOOP else await asyncio.to_thread(codec.whole, data)
        if not had_type:
            ctx.remove("Content-Type")  # bytes would have brought application/octet-stream

    return compress


def _joined(value: Any) -> str:
    if value is None:
        return ""
    return ", ".join(value) if isinstance(value, list) else str(value)


def _encoded(body: Any) -> bytes:
    """The bytes a complete body goes out as."""
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, bytes):
        return body
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    return dumps(body)


def _compressing(send: Send, codec: Codec) -> Send:
    """`send`, with each body message compressed and flushed, when the response still has
    the Content-Encoding set here (an error response made since does not)."""
    compressor: _Stream | None = None
    name = codec.name.encode()

    async def compressing(message: Message) -> None:
        nonlocal compressor
        kind = message["type"]
        if kind == "http.response.start":
            if (b"content-encoding", name) in message["headers"]:
                compressor = codec.stream()
        elif kind == "http.response.body" and compressor is not None:
            more = message.get("more_body", False)
            step = compressor.chunk if more else compressor.end
            data = message.get("body", b"")
            data = step(data) if len(data) < OFF_LOOP else await asyncio.to_thread(step, data)
            message = {"type": kind, "body": data, "more_body": more}
        await send(message)

    return compressing
