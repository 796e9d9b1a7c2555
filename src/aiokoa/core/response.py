"""The response half of the context: status, body, headers, with Koa's side effects.

`ResponseMixin` is mixed into `Context`, whose slots hold the state, so `ctx.body = x`
is one property call (no delegation hop on the hot path). `Response` is the
`ctx.response` view with the members whose names mean something else on `ctx`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import PurePath
from posixpath import splitext
from typing import TYPE_CHECKING, Any, NoReturn

from ..http import mime
from ..http.headers import content_disposition, encode_url, escape_html, http_date, parse_http_date, vary_append
from ..http.jsonbody import dumps
from ..http.negotiation import type_is
from ..http.statuses import EMPTY, MESSAGES, REDIRECT
from ..http.url import parse_url
from . import misuse
from .delegate import Delegate
from .sse import HEADERS as SSE_HEADERS
from .sse import EventStream

if TYPE_CHECKING:
    from ..http.headers import HeaderValue
    from ..types import Message, Send
    from .context import Context
    from .request import Socket

TEXT = "text/plain; charset=utf-8"
HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=utf-8"
BINARY = "application/octet-stream"

_leading_tag = re.compile(r"\s*<").match
_json_word = re.compile(r"\bjson\b", re.I).search
_token = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+").fullmatch
# Control characters (HTAB aside) end or corrupt the header line; servers drop such a response.
_unsafe_value = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]").search
_names: dict[str, str] = {}  # "X-Response-Time" -> "x-response-time", validated once


def _looks_like_html(text: str) -> bool:
    """Koa's sniff: the first character that is not white space is `<`."""
    first = text[:1]
    return first == "<" or (first.isspace() and _leading_tag(text) is not None)


def header_name(field: str) -> str:
    """The lower-case header name, validated once per spelling (no header injection)."""
    name = _names.get(field)
    if name is None:
        if not isinstance(field, str) or not _token(field):
            raise ValueError(f"invalid header name {field!r}: use letters, digits and !#$%&'*+.^_`|~-")
        name = field.lower()
        if len(_names) < 4096:
            _names[field] = name
    return name


_encoded_names: dict[str, bytes] = {}


def _encode_name(name: str) -> bytes:
    encoded = name.encode("latin-1")
    if len(_encoded_names) < 4096:
        _encoded_names[name] = encoded
    return encoded


def _header_value(name: str, value: object) -> HeaderValue:
    # Hot path: printable ASCII, the usual value, is safe as it is (no CR, LF or NUL).
    if type(value) is str and value.isascii() and value.isprintable():
        return value
    if isinstance(value, (list, tuple)):
        values = [str(_header_value(name, v)) for v in value]
        if name in ("content-type", "content-length"):
            if len(values) != 1:
                raise ValueError(f"{name} must contain exactly one value")
            return values[0]
        return values
    if type(value) is int:
        return value
    if not isinstance(value, str):
        raise TypeError(f"header {name} must be a str, an int or a list of str, not {type(value).__name__}")
    if _unsafe_value(value):
        raise ValueError(
            f"header {name} contains CR, LF, NUL or another control character: {value!r} (header injection)"
        )
    if not value.isascii():
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(f"header {name} has characters outside Latin-1: {value!r}") from None
    return value


PATHSEND = "http.response.pathsend"
"""The ASGI extension by which the server sends a file itself, given its path (granian)."""


def is_stream(body: object) -> bool:
    """Bodies sent in chunks: (async) iterators, binary files and paths."""
    return (
        isinstance(body, PurePath) or hasattr(body, "__aiter__") or hasattr(body, "read") or hasattr(body, "__next__")
    )


_closing: set[asyncio.Task[Any]] = set()


def discard(stream: Any) -> None:
    """Close a stream body that will not be sent (Koa's `destroy`)."""
    close = getattr(stream, "close", None)
    if close is not None:
        close()
    elif hasattr(stream, "aclose"):
        task = asyncio.ensure_future(stream.aclose())
        _closing.add(task)
        task.add_done_callback(_closing.discard)


class ResponseMixin:
    """Koa's response members as they appear on `ctx` (`ctx.status`, `ctx.body`, ...)."""

    if not TYPE_CHECKING:  # slot-less mixin; the state is declared by Context
        __slots__ = ()

    _status: int
    _explicit_status: bool
    _explicit_null_body: bool
    _message: str | None
    _body: Any
    _headers: dict[str, HeaderValue]
    _header_sent: bool
    _ended: bool
    _finished: bool
    _send: Send

    # -- status ------------------------------------------------------------------------

    @property
    def status(self) -> int:
        return self._status

    @status.setter
    def status(self, code: int) -> None:
        if self._finished or self._header_sent:
            raise misuse.response_sent(self, "status")  # type: ignore[arg-type]
        self._set_status(code)

    def _set_status(self, code: int) -> None:
        if type(code) is not int:
            raise TypeError(f"status code must be a number, got {code!r}")
        if not 100 <= code <= 999:
            raise ValueError(f"invalid status code: {code}")
        self._explicit_status = True
        self._status = code
        self._message = None
        if self._body is not None and code in EMPTY:
            self._drop_body()

    @property
    def message(self) -> str:
        """The reason phrase; ASGI cannot send it, so it shows only in status bodies."""
        return self._message or MESSAGES.get(self._status, "")

    @message.setter
    def message(self, value: str) -> None:
        if self._finished:
            raise misuse.response_sent(self, "message")  # type: ignore[arg-type]
        self._message = value

    # -- body --------------------------------------------------------------------------

    @property
    def body(self) -> Any:
        return self._body

    @body.setter
    def body(self, value: Any) -> None:
        # Hot path: every request sets a body; the common types are checked first.
        if self._finished:
            raise misuse.response_sent(self, "body")  # type: ignore[arg-type]
        if value is None:
            if self._status not in EMPTY:
                if self.type == "application/json":
                    value = "null"  # Koa: `type = json; body = null` sends the JSON null
                else:
                    self._set_status(204)
            if value is None:
                self._drop_body()
                return
        original = self._body
        self._body = value
        if not self._explicit_status:
            self._status = 200
            self._explicit_status = True
            self._message = None
        headers = self._headers
        set_type = "content-type" not in headers
        kind = type(value)
        if kind is str:
            if set_type:
                headers["content-type"] = HTML if _looks_like_html(value) else TEXT
            if "transfer-encoding" not in headers:
                headers["content-length"] = len(value) if value.isascii() else len(value.encode())
        elif kind is bytes or kind is bytearray or kind is memoryview:
            if set_type:
                headers["content-type"] = BINARY
            if "transfer-encoding" not in headers:
                headers["content-length"] = value.nbytes if kind is memoryview else len(value)
        elif kind is dict or kind is list or not is_stream(value):
            headers.pop("content-length", None)
            if set_type or not _json_word(self.type):
                headers["content-type"] = JSON
        else:
            if original is not None and original is not value:
                headers.pop("content-length", None)
            if isinstance(value, EventStream):
                headers.pop("content-length", None)
                headers["content-type"] = SSE_HEADERS["content-type"]  # what EventSource requires
                for name in ("cache-control", "x-accel-buffering"):
                    headers.setdefault(name, SSE_HEADERS[name])
            elif isinstance(value, PurePath):
                size = _file_size(value)
                if set_type:
                    headers["content-type"] = mime.content_type(value.name) or BINARY
                if "transfer-encoding" not in headers:
                    headers["content-length"] = size
            elif set_type:
                headers["content-type"] = BINARY
            return  # the previous body stays open: a wrapper (compress) may be streaming it
        if original is not None and original is not value and is_stream(original):
            discard(original)

    def _drop_body(self) -> None:
        original = self._body
        self._body = None
        self._explicit_null_body = True
        headers = self._headers
        headers.pop("content-type", None)
        headers.pop("content-length", None)
        headers.pop("transfer-encoding", None)
        if original is not None and is_stream(original):
            discard(original)

    # -- representation headers --------------------------------------------------------

    @property
    def type(self) -> str:
        """The response's mime type without parameters, or ''."""
        value = self._headers.get("content-type")
        return str(value).split(";", 1)[0].strip() if value else ""

    @type.setter
    def type(self, value: str | None) -> None:
        if self._finished or self._header_sent:
            raise misuse.response_sent(self, "type")  # type: ignore[arg-type]
        content_type = mime.content_type(value) if value else None
        if content_type is None:
            self.remove("Content-Type")
        else:
            self.set("Content-Type", content_type)

    @property
    def length(self) -> int | None:
        """Content-Length as sent, or as the body will produce it (None for streams)."""
        value = self._headers.get("content-length")
        if value is not None:
            try:
                return int(str(value))
            except ValueError:
                return 0
        body = self._body
        if body is None or is_stream(body):
            return None
        if isinstance(body, str):
            return len(body.encode())
        if isinstance(body, (bytes, bytearray)):
            return len(body)
        if isinstance(body, memoryview):
            return body.nbytes
        return len(dumps(body))

    @length.setter
    def length(self, value: int) -> None:
        if self._finished or self._header_sent:
            raise misuse.response_sent(self, "length")  # type: ignore[arg-type]
        if "transfer-encoding" not in self._headers:
            self.set("Content-Length", value)

    # -- header helpers ----------------------------------------------------------------

    def set(self, field: str | Mapping[str, Any], value: Any = None) -> None:
        """Set a response header (or several from a mapping)."""
        if self._finished or self._header_sent:
            raise misuse.response_sent(self, f"set({field!r})")  # type: ignore[arg-type]
        if not field:
            return
        if type(field) is not str and isinstance(field, Mapping):  # str first: ABC checks are slow
            for key, item in field.items():
                self.set(key, item)
            return
        name = header_name(field)
        if value is None:
            self._headers.pop(name, None)
        else:
            self._headers[name] = _header_value(name, value)

    def append(self, field: str, value: str | list[str]) -> None:
        """Add values to a header, keeping the ones already there (Set-Cookie, Link, ...)."""
        if self._finished or self._header_sent:
            raise misuse.response_sent(self, f"append({field!r})")  # type: ignore[arg-type]
        previous = self._headers.get(header_name(field))
        if previous is not None:
            before = previous if isinstance(previous, list) else [str(previous)]
            value = before + (list(value) if isinstance(value, (list, tuple)) else [value])
        self.set(field, value)

    def remove(self, field: str) -> None:
        if self._finished or self._header_sent:
            raise misuse.response_sent(self, f"remove({field!r})")  # type: ignore[arg-type]
        self._headers.pop(header_name(field), None)

    def has(self, field: str) -> bool:
        return field.lower() in self._headers

    # -- sending -----------------------------------------------------------------------

    @property
    def header_sent(self) -> bool:
        return self._header_sent

    @property
    def writable(self) -> bool:
        return not self._ended

    async def flush_headers(self) -> None:
        """Send the status and headers now (async: in ASGI sending is a coroutine)."""
        if not self._header_sent:
            await self._send_start()

    def _raw_headers(self) -> list[tuple[bytes, bytes]]:
        # Hot path: runs once per response; names are encoded once per spelling.
        raw = []
        for name, value in self._headers.items():
            key = _encoded_names.get(name) or _encode_name(name)
            if isinstance(value, str):  # ASCII encodes the same, and faster, as UTF-8
                raw.append((key, value.encode() if value.isascii() else value.encode("latin-1")))
            elif isinstance(value, int):
                raw.append((key, b"%d" % value))
            else:
                raw.extend((key, str(item).encode("latin-1")) for item in value)
        return raw

    def _start_message(self) -> Message:
        message = {"type": "http.response.start", "status": self._status, "headers": self._raw_headers()}
        self._header_sent = True
        return message

    async def _send_start(self) -> None:
        await self._send(self._start_message())

    async def _send_tracked(self, message: Message) -> None:
        """`ctx.send`: the raw ASGI send, noted so aiokoa does not answer a second time."""
        kind = message["type"]
        if kind == "http.response.start":
            self._header_sent = True
        elif (kind == "http.response.body" and not message.get("more_body", False)) or kind == PATHSEND:
            self._ended = True
        await self._send(message)

    # -- caching, redirects and downloads ----------------------------------------------

    def vary(self, field: str | list[str]) -> None:
        """Add header names to `Vary` (no duplicates, case-insensitive; `*` wins)."""
        if self._finished or self._header_sent:
            raise misuse.response_sent(self, f"vary({field!r})")  # type: ignore[arg-type]
        current = self._headers.get("vary")
        header = ", ".join(current) if isinstance(current, list) else str(current or "")
        value = vary_append(header, field)
        if value:
            self._headers["vary"] = value  # names vary_append has checked

    @property
    def etag(self) -> str | None:
        value = self._headers.get("etag")
        return None if value is None else str(value)

    @etag.setter
    def etag(self, value: str) -> None:
        """`ctx.etag = "abc"` sends `"abc"`; a value already quoted (`"abc"`, `W/"abc"`) is kept."""
        if self._finished or self._header_sent:
            raise misuse.response_sent(self, "etag")  # type: ignore[arg-type]
        if not _quoted_etag(value):
            value = f'"{value}"'
        self.set("ETag", value)

    @property
    def last_modified(self) -> datetime | None:
        """The Last-Modified header as an aware UTC datetime, or None."""
        value = self._headers.get("last-modified")
        return parse_http_date(str(value)) if value else None

    @last_modified.setter
    def last_modified(self, value: datetime | str | float) -> None:
        """A datetime (naive means UTC), a date string or a timestamp; sent as an HTTP date."""
        if self._finished or self._header_sent:
            raise misuse.response_sent(self, "last_modified")  # type: ignore[arg-type]
        self.set("Last-Modified", http_date(value))

    def redirect(self, url: str) -> None:
        """Redirect to `url` (302 unless a redirect status is already set), with a short
        HTML or text body. Absolute http(s) URLs are normalised, then the Location encoded."""
        if self._finished or self._header_sent:
            raise misuse.response_sent(self, f"redirect({url!r})")  # type: ignore[arg-type]
        ctx: Context = self  # type: ignore[assignment]
        if url == "back":
            # Koa 2's Referer redirect: here it would silently send `Location: back`.
            raise ValueError(
                "ctx.redirect('back') is gone (Koa 3): use ctx.back(alt), which follows the Referer only "
                "when it is on this host; for a path named back, write ctx.redirect('./back')"
            )
        if _absolute_http(url):
            url = str(parse_url(url))
        self.set("Location", encode_url(url))
        if self._status not in REDIRECT:
            self.status = 302
        if ctx.accepts("html"):
            self.type = "text/html; charset=utf-8"
            self.body = f"Redirecting to {escape_html(url)}."
        else:
            self.type = "text/plain; charset=utf-8"
            self.body = f"Redirecting to {url}."

    def back(self, alt: str | None = None) -> None:
        """Redirect to the Referer if it is on this host, else to `alt` (default `/`)."""
        ctx: Context = self  # type: ignore[assignment]
        referrer = ctx.get("Referrer")
        if referrer:
            try:
                base = parse_url(ctx.href)
                same_host = parse_url(referrer, base).host == base.host
            except ValueError:
                same_host = False
            if same_host:
                return self.redirect(referrer)
        return self.redirect(alt or "/")

    def attachment(self, filename: str | None = None, *, type: str = "attachment", fallback: str | bool = True) -> None:
        """`Content-Disposition: attachment; filename="x.pdf"` (RFC 6266, `filename*` for
        non-Latin-1 names); the type comes from the extension unless one is set already."""
        if self._finished or self._header_sent:
            raise misuse.response_sent(self, f"attachment({filename!r})" if filename else "attachment()")  # type: ignore[arg-type]
        if filename and "content-type" not in self._headers:
            self.type = splitext(filename)[1]
        self.set("Content-Disposition", content_disposition(filename, type=type, fallback=fallback))


_quoted_etag = re.compile(r'(?:W/)?"').match
_absolute_http = re.compile(r"https?://", re.I).match


def _file_size(path: PurePath) -> int:
    import os

    return os.stat(path).st_size  # missing file: FileNotFoundError at the assignment


class SentHeaders(dict[str, "HeaderValue"]):
    """`ctx.response.headers` after they went out: a write would be lost, so it raises
    `ResponseSentError` at the user's line, as `ctx.set()` does."""

    __slots__ = ("_ctx",)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx._headers)
        self._ctx = ctx

    def _refuse(self, change: str) -> NoReturn:
        raise misuse.response_sent(self._ctx, f"response.headers{change}")

    def __setitem__(self, name: str, value: Any) -> None:
        self._refuse(f"[{name!r}]")

    def __delitem__(self, name: str) -> None:
        self._refuse(f"[{name!r}]")

    def __ior__(self, other: Any) -> NoReturn:  # type: ignore[misc]  # as in dict's own stub
        self._refuse(".update()")

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._refuse(".update()")

    def setdefault(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._refuse(".setdefault()")

    def pop(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._refuse(".pop()")

    def popitem(self) -> NoReturn:
        self._refuse(".popitem()")

    def clear(self) -> None:
        self._refuse(".clear()")


class Response:
    """`ctx.response`: the same state as `ctx`, with the response's own `get`/`is_`/`headers`."""

    __slots__ = ("ctx",)

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    status: Delegate[int] = Delegate("status")
    message: Delegate[str] = Delegate("message")
    body: Delegate[Any] = Delegate("body")
    type: Delegate[str] = Delegate("type")
    length: Delegate[int | None] = Delegate("length")
    header_sent: Delegate[bool] = Delegate("header_sent", readonly=True)
    writable: Delegate[bool] = Delegate("writable", readonly=True)

    @property
    def headers(self) -> dict[str, HeaderValue]:
        """The response headers; once they went out, a copy that refuses to change."""
        ctx = self.ctx
        if ctx._header_sent or ctx._finished:
            return SentHeaders(ctx)
        return ctx._headers

    def get(self, field: str) -> HeaderValue | None:
        """A response header's raw value, or None (Koa: `undefined`)."""
        return self.ctx._headers.get(field.lower())

    def set(self, field: str | Mapping[str, Any], value: Any = None) -> None:
        self.ctx.set(field, value)

    def append(self, field: str, value: str | list[str]) -> None:
        self.ctx.append(field, value)

    def remove(self, field: str) -> None:
        self.ctx.remove(field)

    def has(self, field: str) -> bool:
        return self.ctx.has(field)

    async def flush_headers(self) -> None:
        await self.ctx.flush_headers()

    @property
    def request(self) -> Any:
        return self.ctx.request

    def __repr__(self) -> str:
        return f"<Response {self.ctx.status} {self.ctx.message!r} {self.ctx._headers!r}>"

    etag: Delegate[str | None] = Delegate("etag")
    last_modified: Delegate[datetime | None] = Delegate("last_modified")
    socket: Delegate[Socket] = Delegate("socket", readonly=True)
    header = headers

    def is_(self, *types: str | Sequence[str]) -> str | bool:
        """The response type if it matches one of `types` (`"json"`, `"text/*"`), else False."""
        return type_is(self.ctx.type, types)

    def vary(self, field: str | list[str]) -> None:
        self.ctx.vary(field)

    def redirect(self, url: str) -> None:
        self.ctx.redirect(url)

    def back(self, alt: str | None = None) -> None:
        self.ctx.back(alt)

    def attachment(self, filename: str | None = None, *, type: str = "attachment", fallback: str | bool = True) -> None:
        self.ctx.attachment(filename, type=type, fallback=fallback)

    def to_json(self) -> dict[str, Any]:
        return {"status": self.ctx.status, "message": self.ctx.message, "header": self.ctx._headers}
