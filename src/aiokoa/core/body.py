"""Reading the request body: `ctx.read()`, `text()`, `json()`, `form()` and `stream()`.

The body comes from `ctx.receive` once: what a reader read is kept on the context (in
`ctx._request_body`, None until a reader runs), so later calls return it. Every reader has a
limit, checked against Content-Length before anything is read when the body declares one,
else by counting, and always against the inflated size of a compressed body. The files of
a multipart form are kept there too, and closed (their temporary files removed) when the
response ends, also after an error or a client that left.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from ..http.body import (
    BodyError,
    Inflate,
    check_length,
    check_strict,
    decode_json,
    decode_text,
    inflated,
    inflaters,
    limited,
    too_large,
)
from ..http.forms import (
    MAX_FIELD_SIZE,
    MAX_FIELDS,
    MAX_FILE_SIZE,
    MAX_FILES,
    SPOOL,
    FormData,
    UploadFile,
    parse_multipart,
    parse_urlencoded,
)
from ..http.headers import content_length, parse_content_type
from ..http.sizes import parse_size
from . import heap
from .errors import ClientDisconnect, HttpError

if TYPE_CHECKING:
    from .request import RequestMixin

Size = int | str
"""A number of bytes, or a string such as `"1mb"` or `"56kb"`."""

LIMIT = "1mb"
"""What `read()`, `text()` and `json()` accept unless given `limit=`: body_parser's JSON limit."""
FORM_LIMIT = "56kb"
"""What `form()` accepts of a urlencoded body unless given `limit=`: body_parser's form limit."""


class FormOptions(TypedDict, total=False):
    """`form()`'s limits beside `limit` (each a number, sizes also as `"10mb"` strings):
    `max_fields` (1,000), `max_files` (1,000), `max_file_size` ("200mb"), `max_field_size`
    ("1mb", each text field) and `spool` ("1mb": a file past it goes to a temporary file)."""

    max_fields: int
    max_files: int
    max_file_size: Size
    max_field_size: Size
    spool: Size


_MISSING: Any = object()


class RequestBody:
    """What was read of one request's body, what a body parser made of it, and the files
    to close when the response ends."""

    __slots__ = ("consumed", "done", "raw", "form", "json", "parsed", "raw_body", "files", "uploads")

    def __init__(self) -> None:
        self.consumed = False  # a reader has started taking the body from the server
        self.done = False  # and has had its last message
        self.raw: bytes | None = None
        self.form: FormData[str | UploadFile] | None = None
        self.json: Any = _MISSING
        self.parsed: Any = None
        self.raw_body: bytes | None = None
        self.files: FormData[UploadFile] | None = None
        self.uploads: list[UploadFile] = []


def state(ctx: RequestMixin) -> RequestBody:
    body = ctx._request_body
    if body is None:
        body = ctx._request_body = RequestBody()
    return body


def release(ctx: RequestMixin) -> None:
    """Close every file a form opened (removing its temporary file); the response has ended."""
    body = ctx._request_body
    if body is not None and body.uploads:
        uploads, body.uploads = body.uploads, []
        for upload in uploads:
            upload.file.close()


def on_disk(ctx: RequestMixin) -> bool:
    """Whether a form's file is in a temporary file (closing it frees the file's pages)."""
    body = ctx._request_body
    return body is not None and any(not upload.in_memory for upload in body.uploads)


LEFT = "the client disconnected before its request body was read"


async def _received(ctx: RequestMixin) -> AsyncIterator[bytes]:
    receive = ctx.receive
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect, the only other one ASGI has
            raise ClientDisconnect(LEFT)
        chunk = message.get("body", b"")
        last = not message.get("more_body", False)
        if last:
            state(ctx).done = True
        if chunk:
            if len(chunk) >= heap.LARGE:  # freed once handled: keep its memory in the heap
                heap.settle()
            yield chunk
        if last:
            return


def _size(limit: Size | None) -> int | None:
    return limit if limit is None or type(limit) is int else parse_size(limit)


def _take(ctx: RequestMixin, limit: int | None) -> list[Inflate]:
    """Mark the body taken, after the checks made before reading: its codings (415 for an
    unknown one) and, when it is not encoded, its declared length against `limit`."""
    body = state(ctx)
    if body.consumed:
        raise RuntimeError("the request body was already read as a stream; read it once (ctx.read() keeps it)")
    headers = ctx.headers
    encoding = headers.get("content-encoding")
    inflate = inflaters(encoding) if encoding else []
    if not inflate:
        check_length(content_length(headers.get("content-length")), limit)
    body.consumed = True
    return inflate


def _chunks(ctx: RequestMixin, limit: int | None, inflate: list[Inflate]) -> AsyncIterator[bytes]:
    """The body's chunks as they arrive, inflated, stopped at `limit` bytes."""
    chunks = _received(ctx)
    if inflate:
        chunks = inflated(chunks, inflate)
    # Without a limit, no layer between: an upload's every chunk goes through each one.
    return chunks if limit is None else limited(chunks, limit)


async def _read(ctx: RequestMixin, limit: Size | None = LIMIT) -> bytes:
    body = state(ctx)
    size = _size(limit)
    raw = body.raw
    if raw is not None:
        if size is not None and len(raw) > size:
            raise too_large(size)
        return raw
    inflate = _take(ctx, size)
    if inflate:
        raw = body.raw = b"".join([chunk async for chunk in _chunks(ctx, size, inflate)])
        return raw
    # Read in a plain loop, without generators. Most bodies come in one message; granian
    # sends the end of each body as an empty message of its own, which is not waited for
    # once the declared Content-Length has come (a receive() there costs a trip through
    # the server's threads).
    declared = content_length(ctx.headers.get("content-length"))
    receive = ctx.receive
    chunks: list[bytes] = []
    seen = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnect(LEFT)
        chunk = message.get("body", b"")
        if chunk:
            seen += len(chunk)
            if size is not None and seen > size:
                raise too_large(size)
            chunks.append(chunk)
        if not message.get("more_body", False) or seen == declared:
            break
    body.done = True
    raw = body.raw = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    return raw


def _stream(ctx: RequestMixin, limit: Size | None = None) -> AsyncIterator[bytes]:
    """The body's chunks as they arrive (a body already read comes as one chunk). The body
    is taken now, not at the first chunk: a response streaming it (`ctx.body =
    ctx.stream()`) then leaves the reading to it."""
    size = _size(limit)
    raw = state(ctx).raw
    if raw is not None:
        if size is not None and len(raw) > size:
            raise too_large(size)
        return _one(raw)
    return _chunks(ctx, size, _take(ctx, size))


async def _one(raw: bytes) -> AsyncIterator[bytes]:
    if raw:
        yield raw


def _charset(ctx: RequestMixin) -> str:
    value = ctx.headers.get("content-type", "")
    if ";" not in value:  # no parameters, so no charset
        return ""
    parsed = parse_content_type(value)
    return parsed[1].get("charset", "") if parsed else ""


async def _text(ctx: RequestMixin, limit: Size | None = LIMIT) -> str:
    return decode_text(await _read(ctx, limit), _charset(ctx))


async def _json(ctx: RequestMixin, limit: Size | None = LIMIT, *, strict: bool = False) -> Any:
    raw = await _read(ctx, limit)
    if strict:
        check_strict(raw)
    body = state(ctx)
    if body.json is _MISSING:
        body.json = decode_json(raw, _charset(ctx))
    return body.json


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def _form(
    ctx: RequestMixin,
    limit: Size | None = FORM_LIMIT,
    *,
    max_fields: int = MAX_FIELDS,
    max_files: int = MAX_FILES,
    max_file_size: Size = MAX_FILE_SIZE,
    max_field_size: Size = MAX_FIELD_SIZE,
    spool: Size = SPOOL,
) -> FormData[str | UploadFile]:
    body = state(ctx)
    if body.form is not None:
        return body.form
    parsed = parse_content_type(ctx.headers.get("content-type", ""))
    kind, params = parsed if parsed else ("", {})
    if kind == "application/x-www-form-urlencoded":
        fields = parse_urlencoded(await _read(ctx, limit), charset=params.get("charset", ""), max_fields=max_fields)
        body.form = FormData[str | UploadFile](fields.multi_items())
        return body.form
    if kind != "multipart/form-data":
        shown = ctx.headers.get("content-type") or "none"
        raise BodyError(415, f"a form must be sent as {' or '.join(FORM_TYPES)}, not {shown}")
    boundary = params.get("boundary")
    if not boundary:
        raise BodyError(400, "the multipart/form-data Content-Type has no boundary parameter")
    body.form = await parse_multipart(
        _stream(ctx),
        boundary,
        max_files=max_files,
        max_fields=max_fields,
        max_file_size=parse_size(max_file_size),
        max_field_size=parse_size(max_field_size),
        spool=parse_size(spool),
        track=body.uploads.append,
    )
    return body.form


# The readers: a body the request cannot have is the HTTP error it answers with (400, 413, 415).


async def read(ctx: RequestMixin, limit: Size | None = LIMIT) -> bytes:
    try:
        return await _read(ctx, limit)
    except BodyError as err:
        raise HttpError(err.status, err.message) from err


async def text(ctx: RequestMixin, limit: Size | None = LIMIT) -> str:
    try:
        return await _text(ctx, limit)
    except BodyError as err:
        raise HttpError(err.status, err.message) from err


async def json(ctx: RequestMixin, limit: Size | None = LIMIT, *, strict: bool = False) -> Any:
    try:
        return await _json(ctx, limit, strict=strict)
    except BodyError as err:
        raise HttpError(err.status, err.message) from err


async def form(
    ctx: RequestMixin, limit: Size | None = FORM_LIMIT, **options: Unpack[FormOptions]
) -> FormData[str | UploadFile]:
    try:
        return await _form(ctx, limit, **options)
    except BodyError as err:
        raise HttpError(err.status, err.message) from err


def stream(ctx: RequestMixin, limit: Size | None = None) -> AsyncIterator[bytes]:
    try:
        return _http_errors(_stream(ctx, limit))
    except BodyError as err:
        raise HttpError(err.status, err.message) from err


async def _http_errors(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    try:
        async for chunk in chunks:
            yield chunk
    except BodyError as err:
        raise HttpError(err.status, err.message) from err


def used(ctx: RequestMixin) -> bool:
    """Whether the body's chunks were taken from the server (by any reader)."""
    body = ctx._request_body
    return body is not None and body.consumed


def reading(ctx: RequestMixin) -> bool:
    """Whether a reader has started on the body and not had its last message: the messages
    `ctx.receive` gives are then the reader's to take."""
    body = ctx._request_body
    return body is not None and body.consumed and not body.done
