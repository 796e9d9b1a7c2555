"""`serve_static(root)` and `await send(ctx, path, root=...)`: files from a directory
(koa-static and koa-send).

As in Koa: GET and HEAD only, a missing file falls through to the next middleware
(`defer=True` serves after it, when nothing answered), dot-files stay hidden, index files
and `extensions` are tried, `Cache-Control: max-age` is set, and precompressed `.zst`,
`.br` and `.gz` siblings are sent to clients that accept them. Beyond koa-send, `send`
does what RFC 9110 asks of a file server: a strong `ETag` (size and modification time)
and `Last-Modified`, 304 for a fresh conditional request, and byte ranges (206, several
as `multipart/byteranges`, 416 when none fits, `If-Range`) with `Accept-Ranges: bytes`.

A whole file is the body `Path`: the core sends it in chunks read in a thread, or hands
the path to the server where it offers the ASGI pathsend extension. A range goes out as a
generator the core also reads in a thread. Nothing reads a file whole into memory.

The path is the request's: decoded once (escapes that are not UTF-8 are 400, so overlong
`%c0%ae` is refused, and `%252e` stays a literal `%2e`), and refused with 400 when
it holds a NUL, a backslash or a second leading `/`, with 403 when `..` would leave the
root; a symlink that leads out of the root is not followed unless `follow_symlinks=True`,
and a name the file system cannot hold is simply not found.
"""

from __future__ import annotations

import errno
import os
import posixpath
import re
import secrets
import stat as stat_module
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..core.compose import Middleware, Next
from ..core.context import Context
from ..core.respond import CHUNK
from ..core.response import BINARY
from ..http.headers import http_date, parse_http_date
from ..http.mime import content_type
from ..http.negotiation import preferred_encodings
from ..http.url import percent_decode
from .etag import file_tag

SetHeaders = Callable[[Context, str, os.stat_result], object]
"""`set_headers(ctx, path, stat)`: called before the body is set, to add headers."""

MAX_RANGES = 16
"""More ranges than this in one request are ignored (the whole file is sent): many small or
overlapping ranges cost the server far more than the bytes they ask for."""

# Not there, or not a name the file system can hold: a 404, like a missing file.
_MISSING = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG, errno.ELOOP, errno.EINVAL})
_SIBLINGS = (("zstd", ".zst"), ("br", ".br"), ("gzip", ".gz"))
"""Precompressed siblings, in the order a tie in q-values prefers them."""
_RANGE = re.compile(r"\s*([0-9]*)\s*-\s*([0-9]*)\s*")
_FAR = 10**18
"""Beyond any file: a position of more digits than this is read as this (`int()` of a
5,000-digit string would raise, and cost time before it did)."""


@dataclass(frozen=True, slots=True)
class _Options:
    root: str
    index: str | None
    max_age: int
    immutable: bool
    hidden: bool
    encodings: tuple[tuple[str, str], ...]
    extensions: tuple[str, ...]
    set_headers: SetHeaders | None
    follow_symlinks: bool


def serve_static(
    root: str | os.PathLike[str],
    *,
    index: str | None = "index.html",
    defer: bool = False,
    max_age: int = 0,
    immutable: bool = False,
    hidden: bool = False,
    gzip: bool = True,
    brotli: bool = True,
    zstd: bool = True,
    extensions: Sequence[str] = (),
    set_headers: SetHeaders | None = None,
    follow_symlinks: bool = False,
) -> Middleware:
    """Serve the files under `root` to GET and HEAD; a path with no file goes on to `next()`.

    With `defer=True` the downstream middleware run first, and a file is served only if
    they left no body and a 404."""
    options = _options(
        root, index=index, max_age=max_age, immutable=immutable, hidden=hidden, gzip=gzip, brotli=brotli,
        zstd=zstd, extensions=extensions, set_headers=set_headers, follow_symlinks=follow_symlinks,
    )  # fmt: skip

    async def serve_static(ctx: Context, next: Next) -> None:
        if defer:
            await next()
            if ctx.body is not None or ctx.status != 404:
                return
        # A path with no file to serve goes on; a malformed or hostile one (400, 403) does not.
        served = _send(ctx, ctx.path, options) if ctx.method in ("GET", "HEAD") else None
        if served is None and not defer:
            await next()

    return serve_static


async def send(
    ctx: Context,
    path: str,
    *,
    root: str | os.PathLike[str],
    index: str | None = None,
    max_age: int = 0,
    immutable: bool = False,
    hidden: bool = False,
    gzip: bool = True,
    brotli: bool = True,
    zstd: bool = True,
    extensions: Sequence[str] = (),
    set_headers: SetHeaders | None = None,
    follow_symlinks: bool = False,
) -> str:
    """Answer with the file at `path` (percent-encoded, as `ctx.path` is) under `root`;
    return the path of the file sent. A file that is not there, or not to be served,
    throws 404; a malformed path 400, a path out of the root 403."""
    options = _options(
        root, index=index, max_age=max_age, immutable=immutable, hidden=hidden, gzip=gzip, brotli=brotli,
        zstd=zstd, extensions=extensions, set_headers=set_headers, follow_symlinks=follow_symlinks,
    )  # fmt: skip
    served = _send(ctx, path, options)
    if served is None:
        ctx.throw(404)
    return served


def _options(
    root: str | os.PathLike[str],
    *,
    index: str | None,
    max_age: int,
    immutable: bool,
    hidden: bool,
    gzip: bool,
    brotli: bool,
    zstd: bool,
    extensions: Sequence[str],
    set_headers: SetHeaders | None,
    follow_symlinks: bool,
) -> _Options:
    enabled = {"zstd": zstd, "br": brotli, "gzip": gzip}
    return _Options(
        root=_real_root(os.fspath(root)),
        index=index,
        max_age=max_age,
        immutable=immutable,
        hidden=hidden,
        encodings=tuple(sibling for sibling in _SIBLINGS if enabled[sibling[0]]),
        extensions=tuple(ext if ext.startswith(".") else "." + ext for ext in extensions),
        set_headers=set_headers,
        follow_symlinks=follow_symlinks,
    )


@lru_cache(maxsize=64)
def _real_root(root: str) -> str:
    """The root as the file system names it (symlinks resolved), so that a file's real path
    can be checked against it."""
    return os.path.realpath(root)


def _relative(ctx: Context, path: str) -> str:
    """The request path as a path relative to the root; throws 400 or 403 if it is not one."""
    try:
        decoded = percent_decode(path, "strict")
    except ValueError:  # invalid UTF-8, overlong forms included
        ctx.throw(400, "invalid percent-encoding in the path")
    if "\0" in decoded or "\\" in decoded:
        ctx.throw(400, "malicious path")  # a NUL ends a C string; a backslash is a separator elsewhere
    relative = decoded[1:] if decoded.startswith("/") else decoded
    if relative.startswith("/"):
        ctx.throw(400, "malicious path")  # absolute after the leading slash: `//etc/passwd`
    normal = posixpath.normpath(relative) if relative else "."
    if normal == ".." or normal.startswith("../"):
        ctx.throw(403, "path outside the root")
    if normal == ".":
        return ""
    return normal + "/" if relative.endswith("/") else normal


def _stat(ctx: Context, path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError as err:
        if err.errno in _MISSING:
            return None
        if err.errno in (errno.EACCES, errno.EPERM):
            ctx.throw(403)
        raise


def _find(ctx: Context, relative: str, options: _Options) -> tuple[str, os.stat_result] | None:
    """The file to send and its stat: the path itself, its index, or with an extension.
    The stats run on the event loop: metadata the kernel caches, a few microseconds each,
    where a trip to a thread would cost more than the call."""
    root = options.root
    if not relative or relative.endswith("/"):
        if not options.index:
            return None
        relative = posixpath.join(relative, options.index)
    if not options.hidden and any(part.startswith(".") for part in relative.split("/")):
        return None
    path = os.path.join(root, relative)
    stat = _stat(ctx, path)
    if stat is not None and stat_module.S_ISDIR(stat.st_mode):
        if not options.index:
            return None
        path = os.path.join(path, options.index)
        stat = _stat(ctx, path)
    if stat is None and options.extensions and "." not in posixpath.basename(relative):
        for ext in options.extensions:
            stat = _stat(ctx, path + ext)
            if stat is not None:
                path += ext
                break
    if stat is None or not stat_module.S_ISREG(stat.st_mode):
        return None
    if not options.follow_symlinks and not _inside(path, root):
        return None
    return path, stat


def _inside(path: str, root: str) -> bool:
    """Whether the file, symlinks resolved, is under the root."""
    real = os.path.realpath(path)
    return real != root and os.path.commonpath((real, root)) == root


def _send(ctx: Context, path: str, options: _Options) -> str | None:
    found = _find(ctx, _relative(ctx, path), options)
    if found is None:
        return None
    path, stat = found
    sent, stat, encoding = _sibling(ctx, path, stat, options)
    if options.encodings:
        ctx.vary("Accept-Encoding")
    if encoding:
        ctx.set("Content-Encoding", encoding)
    # The type of the file asked for: a `.gz` sibling is still the same document.
    if not ctx.has("Content-Type"):
        ctx.set("Content-Type", content_type(os.path.basename(path)) or BINARY)
    if not ctx.has("Cache-Control"):
        ctx.set("Cache-Control", f"max-age={options.max_age}" + (", immutable" if options.immutable else ""))
    if not ctx.has("Last-Modified"):
        ctx.set("Last-Modified", http_date(stat.st_mtime))
    if ctx.etag is None:
        ctx.etag = file_tag(stat)
    ctx.set("Accept-Ranges", "bytes")
    if options.set_headers is not None:
        options.set_headers(ctx, sent, stat)
    ctx.status = 200  # even below a middleware that set 404 by hand (`defer`)
    ctx.body = Path(sent)
    if ctx.fresh:
        ctx.status = 304
    elif ctx.method == "GET":
        _ranges(ctx, sent, stat.st_size, bool(encoding))
    return sent


def _sibling(ctx: Context, path: str, stat: os.stat_result, options: _Options) -> tuple[str, os.stat_result, str]:
    """The precompressed file the client prefers, if one is there: (path, stat, encoding)."""
    header = ctx.get("Accept-Encoding")
    if not header or not options.encodings:
        return path, stat, ""
    suffixes = dict(options.encodings)
    for encoding in preferred_encodings(header, [*suffixes, "identity"], server_ties=True):
        if encoding == "identity":
            break
        sibling = path + suffixes[encoding]
        found = _stat(ctx, sibling)
        if (
            found is not None
            and stat_module.S_ISREG(found.st_mode)
            and (options.follow_symlinks or _inside(sibling, options.root))
        ):
            return sibling, found, encoding
    return path, stat, ""


def parse_range(header: str, size: int) -> list[tuple[int, int]] | None:
    """The satisfiable byte ranges of a `Range` header as (first, last) pairs, in the order
    asked; [] when none is satisfiable; None when the header is not a valid byte range set
    (it is then ignored, as RFC 9110 lets a server do)."""
    unit, _, specs = header.partition("=")
    if unit.strip().lower() != "bytes" or not specs.strip():
        return None
    ranges = []
    for spec in specs.split(","):
        if not spec.strip():
            continue  # empty list elements are allowed
        match = _RANGE.fullmatch(spec)
        if match is None:
            return None
        first, last = match.groups()
        if first:
            start = _position(first)
            end = _position(last) if last else size - 1
            if last and end < start:
                return None
            if start < size:
                ranges.append((start, min(end, size - 1)))
        elif last:
            suffix = _position(last)
            if suffix > 0 and size > 0:
                ranges.append((max(size - suffix, 0), size - 1))
        else:
            return None
    return ranges


def _position(digits: str) -> int:
    return int(digits) if len(digits) < 19 else _FAR


def _ranges(ctx: Context, path: str, size: int, encoded: bool) -> None:
    """Turn the 200 into a 206 or a 416 when the request asks for byte ranges and its
    `If-Range`, if any, still matches the file. Several ranges of a precompressed file get
    the whole file: a Content-Encoding would apply to the multipart body, not to its parts."""
    header = ctx.get("Range")
    if not header or not _if_range(ctx):
        return
    ranges = parse_range(header, size)
    if ranges is None or len(ranges) > MAX_RANGES or (encoded and len(ranges) > 1):
        return
    if not ranges:
        ctx.status = 416
        ctx.set("Content-Range", f"bytes */{size}")
        ctx.remove("Content-Type")
        ctx.remove("Content-Encoding")
        ctx.body = ctx.message
        return
    ctx.status = 206
    if len(ranges) == 1:
        start, end = ranges[0]
        ctx.body = _slices(path, [(b"", start, end)], b"")
        ctx.set("Content-Range", f"bytes {start}-{end}/{size}")
        ctx.length = end - start + 1
        return
    boundary = secrets.token_hex(16)
    kind = ctx.response.get("Content-Type")
    parts = [
        (
            f"--{boundary}\r\nContent-Type: {kind}\r\nContent-Range: bytes {start}-{end}/{size}\r\n\r\n".encode(),
            start,
            end,
        )
        for start, end in ranges
    ]
    # Every part's data ends with CRLF before the next delimiter: the first part's head has none.
    parts = [(head if i == 0 else b"\r\n" + head, start, end) for i, (head, start, end) in enumerate(parts)]
    tail = f"\r\n--{boundary}--\r\n".encode()
    ctx.body = _slices(path, parts, tail)
    ctx.set("Content-Type", f"multipart/byteranges; boundary={boundary}")
    ctx.length = sum(len(head) + end - start + 1 for head, start, end in parts) + len(tail)


def _if_range(ctx: Context) -> bool:
    """Whether the ranges apply: no `If-Range`, or one naming this very file. An entity tag
    must match the strong ETag exactly; a date must be the Last-Modified."""
    condition = ctx.get("If-Range")
    if not condition:
        return True
    condition = condition.strip()
    if condition.startswith(('"', "W/")):
        return not condition.startswith("W/") and condition == ctx.etag
    since = parse_http_date(condition)
    return since is not None and since == ctx.last_modified


def _slices(path: str, parts: list[tuple[bytes, int, int]], tail: bytes) -> Iterator[bytes]:
    """Each part's head, then bytes first..last of the file, in chunks; then `tail`. A plain
    generator: the core runs each step in a thread and closes it if the client leaves."""
    with open(path, "rb") as file:
        for head, start, end in parts:
            if head:
                yield head
            file.seek(start)
            left = end - start + 1
            while left > 0:
                chunk = file.read(min(CHUNK, left))
                if not chunk:
                    raise OSError(f"{path} became shorter while it was sent")
                left -= len(chunk)
                yield chunk
    if tail:
        yield tail
