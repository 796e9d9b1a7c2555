"""The request half of the context: method, URL, path, query and headers, parsed lazily.

`RequestMixin` is mixed into `Context`; nothing is parsed until a middleware asks, and
each parse is cached in a slot. `Request` is the `ctx.request` view, with the members
whose names mean the response on `ctx` (`type`, `length`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Unpack
from urllib.parse import quote, urlencode

from ..http.forms import FormData, UploadFile
from ..http.fresh import is_fresh
from ..http.headers import HeaderValue, content_length, parse_content_type, split_list
from ..http.negotiation import Accepts, has_body, type_is
from ..http.url import URL, parse_url, percent_decode
from . import body as bodies
from .body import FORM_LIMIT, LIMIT, FormOptions, Size
from .delegate import Delegate

if TYPE_CHECKING:
    from ..types import Receive, Scope
    from .application import Koa
    from .context import Context

Query = dict[str, "str | list[str]"]


def _scope_path(scope: Scope) -> str:
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else quote(scope["path"], safe="/:@!$&'()*+,;=%~")
    root = scope.get("root_path")
    if root and path.startswith(root):  # mounted under root_path: the app sees its own paths
        path = path[len(root) :] or "/"
    return path


MAX_QUERY_PAIRS = 1000
"""`&`-separated pairs read from a query string; the rest is ignored (Node's querystring
and qs stop at 1,000 too). 64 KB of `%41&` (16,384 pairs) would otherwise take 16 ms."""


def parse_query(querystring: str) -> Query:
    """Koa's (URLSearchParams) rules: repeated keys give a list, `+` is a space, no nesting.
    `urllib.parse.parse_qsl(keep_blank_values=True)` with a faster percent-decoding, on the
    first `MAX_QUERY_PAIRS` pairs."""
    query: Query = {}
    for pair in querystring.replace("+", " ").split("&", MAX_QUERY_PAIRS)[:MAX_QUERY_PAIRS]:
        if not pair:
            continue
        key, _, value = pair.partition("=")
        key = percent_decode(key)
        value = percent_decode(value)
        seen = query.get(key)
        if seen is None:
            query[key] = value
        elif isinstance(seen, list):
            seen.append(value)
        else:
            query[key] = [seen, value]
    return query


def _query_value(value: object) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    return str(value) if isinstance(value, (str, int, float)) else ""


def stringify_query(query: Mapping[str, Any]) -> str:
    pairs = []
    for key, value in query.items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            pairs.append((key, _query_value(item)))
    return urlencode(pairs)


_http_prefix = re.compile(r"https?://", re.I).match
_scheme_and_authority = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/]*").match
_invalid_ipv6_host = re.compile(r"[/?#\\\s]").search
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
Accepted = list[str] | str | bool
"""What `ctx.accepts*` answer: the accepted values (no argument), the best one, or False."""


class Socket(NamedTuple):
    """The connection a request came in on (Koa's `ctx.socket`), from the ASGI scope."""

    remote_address: str | None
    remote_port: int | None
    encrypted: bool


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class RequestMixin:
    """Koa's request members as they appear on `ctx` (`ctx.path`, `ctx.query`, ...)."""

    if not TYPE_CHECKING:  # slot-less mixin; the state is declared by Context
        __slots__ = ()

    app: Koa
    scope: Scope
    receive: Receive
    _request_body: bodies.RequestBody | None
    _method: str | None
    _path: str | None
    _querystring: str | None
    _url: str | None
    _query: Query | None
    _query_for: str | None
    _request_headers: dict[str, str] | None
    _ip: str | None
    _accept: Accepts | None
    _status: int
    _headers: dict[str, HeaderValue]

    @property
    def method(self) -> str:
        return self._method or self.scope["method"]

    @method.setter
    def method(self, value: str) -> None:
        self._method = value.upper()

    @property
    def original_url(self) -> str:
        """The URL as the request line had it; rewrites (`ctx.url = ...`) leave it alone."""
        scope = self.scope
        path = _scope_path(scope)
        query = scope.get("query_string", b"")
        return f"{path}?{query.decode('latin-1')}" if query else path

    @property
    def url(self) -> str:
        url = self._url
        if url is None:
            querystring = self.querystring
            url = self._url = f"{self.path}?{querystring}" if querystring else self.path
        return url

    @url.setter
    def url(self, value: str) -> None:
        path, _, querystring = value.split("#", 1)[0].partition("?")
        self._path = path
        self._querystring = querystring
        self._url = value

    @property
    def path(self) -> str:
        """The path as sent, not percent-decoded (Koa); `ctx.decoded_path` decodes it."""
        path = self._path
        if path is None:
            path = _scope_path(self.scope)
            if path[:1] != "/":
                # An absolute-form target (`GET http://host/p`), which h11 passes whole: route `/p`.
                authority = _scheme_and_authority(path)
                if authority is not None:
                    path = path[authority.end() :] or "/"
            self._path = path
        return path

    @path.setter
    def path(self, value: str) -> None:
        if value != self.path:
            self._path = value
            self._url = None

    @property
    def decoded_path(self) -> str:
        """The path with percent-escapes decoded (UTF-8), for display and file lookups."""
        return percent_decode(self.path)

    @property
    def querystring(self) -> str:
        querystring = self._querystring
        if querystring is None:
            querystring = self._querystring = self.scope.get("query_string", b"").decode("latin-1")
        return querystring

    @querystring.setter
    def querystring(self, value: str) -> None:
        if value != self.querystring:
            self._querystring = value
            self._url = None

    @property
    def search(self) -> str:
        querystring = self.querystring
        return "?" + querystring if querystring else ""

    @search.setter
    def search(self, value: str) -> None:
        self.querystring = value[1:] if value.startswith("?") else value

    @property
    def query(self) -> Query:
        """The parsed query string, memoised: the same dict while the query string is unchanged."""
        querystring = self.querystring
        if self._query_for != querystring or self._query is None:
            self._query = parse_query(querystring)
            self._query_for = querystring
        return self._query

    @query.setter
    def query(self, value: Mapping[str, Any]) -> None:
        self.querystring = stringify_query(value)

    @property
    def headers(self) -> dict[str, str]:
        """Request headers by lower-case name; repeated headers joined as Node joins them."""
        headers = self._request_headers
        if headers is None:
            headers = self._request_headers = {}
            for raw_name, raw_value in self.scope["headers"]:
                name = raw_name.decode("latin-1").lower()
                value = raw_value.decode("latin-1")
                if name in headers:
                    value = headers[name] + ("; " if name == "cookie" else ", ") + value
                headers[name] = value
        return headers

    @headers.setter
    def headers(self, value: Mapping[str, str]) -> None:
        self._request_headers = {name.lower(): item for name, item in value.items()}

    def get(self, field: str) -> str:
        """A request header, case-insensitive, '' when missing; Referer and Referrer alike."""
        name = field.lower()
        headers = self.headers
        if name in ("referer", "referrer"):
            return headers.get("referer") or headers.get("referrer") or ""
        return headers.get(name, "")

    @property
    def last_event_id(self) -> str | None:
        """The `Last-Event-ID` header a browser's `EventSource` sends when it reconnects: the
        `id` of the last event it received (see `EventStream`), or None on its first connection."""
        return self.headers.get("last-event-id")

    header = headers

    # -- where the request came from (X-Forwarded-* believed only with `proxy`) ---------

    @property
    def socket(self) -> Socket:
        """The peer's address and port (`scope["client"]`) and whether TLS was used."""
        client = self.scope.get("client")
        encrypted = self.scope.get("scheme") in ("https", "wss")
        return Socket(client[0], client[1], encrypted) if client else Socket(None, None, encrypted)

    def _trusts_proxy(self) -> bool:
        """`app.proxy`, and with `app.trusted_proxies` the peer must be one of them."""
        app = self.app
        if not app.proxy:
            return False
        trusted = app._trusted_proxies
        if trusted is None:
            return True
        client = self.scope.get("client")
        return client is not None and client[0] in trusted

    @property
    def host(self) -> str:
        """`Host` with its port (X-Forwarded-Host when the proxy is trusted); '' if none."""
        headers = self.headers
        host = headers.get("x-forwarded-host") if self._trusts_proxy() else None
        if not host:
            if self.scope.get("http_version") == "2":
                host = headers.get(":authority")
            if not host:
                host = headers.get("host")
                if not host:
                    return ""
        host = host.split(",", 1)[0].strip()
        if "@" in host:  # `user@host` is not a valid Host: read it as a URL parser would
            try:
                return parse_url("http://" + host).host
            except ValueError:
                return ""
        return host

    @property
    def hostname(self) -> str:
        """`host` without the port; an IPv6 host keeps its brackets (`[::1]`); '' if invalid."""
        host = self.host
        if not host:
            return ""
        if host[0] == "[":
            if _invalid_ipv6_host(host):
                return ""
            try:
                return parse_url("http://" + host).hostname
            except ValueError:
                return ""
        return host.split(":", 1)[0]

    @property
    def protocol(self) -> str:
        """'https' or 'http'; X-Forwarded-Proto's first value when the proxy is trusted."""
        if self.scope.get("scheme") in ("https", "wss"):
            return "https"
        if not self._trusts_proxy():
            return "http"
        proto = self.headers.get("x-forwarded-proto")
        return proto.split(",", 1)[0].strip().lower() if proto else "http"

    @property
    def secure(self) -> bool:
        return self.protocol == "https"

    @property
    def origin(self) -> str | None:
        """The `Origin` request header, or None (Koa 3)."""
        return self.headers.get("origin") or None

    @property
    def href(self) -> str:
        """The full URL: `https://example.com/path?q=1`."""
        original = self.original_url
        if _http_prefix(original):
            return original
        return f"{self.protocol}://{self.host}{original}"

    @property
    def URL(self) -> URL | None:
        """The request URL parsed (WHATWG field names), or None if the host is invalid."""
        original = self.original_url
        try:
            return parse_url(original if _http_prefix(original) else f"{self.protocol}://{self.host}{original}")
        except ValueError:
            return None

    @property
    def ips(self) -> list[str]:
        """The `app.proxy_ip_header` list when the proxy is trusted (last `max_ips_count`)."""
        app = self.app
        value = self.headers.get(app.proxy_ip_header.lower()) if self._trusts_proxy() else None
        ips = split_list(value) if value else []
        if app.max_ips_count > 0:
            ips = ips[-app.max_ips_count :]
        return ips

    @property
    def ip(self) -> str:
        """The client address: `ips[0]` (with `trusted_proxies`, the rightmost untrusted
        one), else the peer's address, else ''. Memoised; settable."""
        ip = self._ip
        if not ip:
            ips = self.ips
            trusted = self.app._trusted_proxies
            ip = (trusted.client(ips) if trusted is not None else ips[0]) if ips else ""
            if not ip:
                client = self.scope.get("client")
                ip = client[0] if client else ""
            self._ip = ip
        return ip

    @ip.setter
    def ip(self, value: str) -> None:
        self._ip = value

    @property
    def subdomains(self) -> list[str]:
        """`tobi.ferrets.example.com` -> `["ferrets", "tobi"]` (offset 2); [] for an IP."""
        hostname = self.hostname
        bare = hostname[1:-1] if hostname.startswith("[") else hostname
        if _is_ip(bare):
            return []
        return hostname.split(".")[::-1][self.app.subdomain_offset :]

    # -- caching and negotiation ---------------------------------------------------------

    @property
    def fresh(self) -> bool:
        """GET/HEAD with a 2xx/304 status whose validators match the request's (RFC 9110)."""
        method = self.method
        if method not in ("GET", "HEAD"):
            return False
        status = self._status
        if 200 <= status < 300 or status == 304:
            return is_fresh(self.headers, self._headers)
        return False

    @property
    def stale(self) -> bool:
        return not self.fresh

    @property
    def idempotent(self) -> bool:
        return self.method in IDEMPOTENT

    @property
    def accept(self) -> Accepts:
        accept = self._accept
        if accept is None:
            accept = self._accept = Accepts(self.headers)
        return accept

    @accept.setter
    def accept(self, value: Accepts) -> None:
        self._accept = value

    def accepts(self, *types: str | Sequence[str]) -> Accepted:
        """`ctx.accepts("html", "json")`: the best type the client takes, or False."""
        return self.accept.types(*types)

    def accepts_encodings(self, *encodings: str | Sequence[str]) -> Accepted:
        return self.accept.encodings(*encodings)

    def accepts_charsets(self, *charsets: str | Sequence[str]) -> Accepted:
        return self.accept.charsets(*charsets)

    def accepts_languages(self, *languages: str | Sequence[str]) -> Accepted:
        return self.accept.languages(*languages)

    def is_(self, *types: str | Sequence[str]) -> str | bool | None:
        """`ctx.is_("json", "urlencoded")`: the matching type, False, or None without a body."""
        headers = self.headers
        if not has_body(headers):
            return None
        return type_is(headers.get("content-type"), types)

    # -- the body (read once, kept; see docs/bodies.md) ----------------------------------

    async def read(self, limit: Size | None = LIMIT) -> bytes:
        """The body's bytes (a gzip, deflate or br body inflated); 413 past `limit` bytes."""
        return await bodies.read(self, limit)

    async def text(self, limit: Size | None = LIMIT) -> str:
        """The body decoded in the Content-Type's charset (UTF-8 by default)."""
        return await bodies.text(self, limit)

    async def json(self, limit: Size | None = LIMIT, *, strict: bool = False) -> Any:
        """The body's JSON value: a dict, list, str, int, float, bool or None (with `strict`,
        only a dict or a list); 400 naming the line and column of a syntax error."""
        return await bodies.json(self, limit, strict=strict)

    async def form(self, limit: Size | None = FORM_LIMIT, **options: Unpack[FormOptions]) -> FormData[str | UploadFile]:
        """A urlencoded (at most `limit` bytes) or multipart form: text fields as `str`,
        files as `UploadFile`; 415 for any other Content-Type. `options` are the other limits
        (`FormOptions`)."""
        return await bodies.form(self, limit, **options)

    @property
    def body_used(self) -> bool:
        """Whether a reader has taken the body from the server (what it kept, it returns again)."""
        return bodies.used(self)

    def stream(self, limit: Size | None = None) -> AsyncIterator[bytes]:
        """The body's chunks as they arrive, for bodies processed piece by piece; nothing is
        kept, so the body can be streamed once (after `read()`, it comes as one chunk)."""
        return bodies.stream(self, limit)


class Request:
    """`ctx.request`: the same state as `ctx`, with the request's own `type` and `length`."""

    __slots__ = ("ctx",)

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    method: Delegate[str] = Delegate("method")
    url: Delegate[str] = Delegate("url")
    original_url: Delegate[str] = Delegate("original_url", readonly=True)
    path: Delegate[str] = Delegate("path")
    querystring: Delegate[str] = Delegate("querystring")
    search: Delegate[str] = Delegate("search")
    query: Delegate[Query] = Delegate("query")
    headers: Delegate[dict[str, str]] = Delegate("headers")
    header: Delegate[dict[str, str]] = Delegate("headers")
    origin: Delegate[str | None] = Delegate("origin", readonly=True)
    href: Delegate[str] = Delegate("href", readonly=True)
    host: Delegate[str] = Delegate("host", readonly=True)
    hostname: Delegate[str] = Delegate("hostname", readonly=True)
    URL: Delegate[URL | None] = Delegate("URL", readonly=True)
    protocol: Delegate[str] = Delegate("protocol", readonly=True)
    secure: Delegate[bool] = Delegate("secure", readonly=True)
    ips: Delegate[list[str]] = Delegate("ips", readonly=True)
    ip: Delegate[str] = Delegate("ip")
    subdomains: Delegate[list[str]] = Delegate("subdomains", readonly=True)
    fresh: Delegate[bool] = Delegate("fresh", readonly=True)
    stale: Delegate[bool] = Delegate("stale", readonly=True)
    idempotent: Delegate[bool] = Delegate("idempotent", readonly=True)
    socket: Delegate[Socket] = Delegate("socket", readonly=True)
    accept: Delegate[Accepts] = Delegate("accept")
    params: Delegate[dict[str, Any]] = Delegate("params")
    last_event_id: Delegate[str | None] = Delegate("last_event_id", readonly=True)

    def get(self, field: str) -> str:
        return self.ctx.get(field)

    def accepts(self, *types: str | Sequence[str]) -> Accepted:
        return self.ctx.accepts(*types)

    def accepts_encodings(self, *encodings: str | Sequence[str]) -> Accepted:
        return self.ctx.accepts_encodings(*encodings)

    def accepts_charsets(self, *charsets: str | Sequence[str]) -> Accepted:
        return self.ctx.accepts_charsets(*charsets)

    def accepts_languages(self, *languages: str | Sequence[str]) -> Accepted:
        return self.ctx.accepts_languages(*languages)

    def is_(self, *types: str | Sequence[str]) -> str | bool | None:
        return self.ctx.is_(*types)

    async def read(self, limit: Size | None = LIMIT) -> bytes:
        return await self.ctx.read(limit)

    async def text(self, limit: Size | None = LIMIT) -> str:
        return await self.ctx.text(limit)

    async def json(self, limit: Size | None = LIMIT, *, strict: bool = False) -> Any:
        return await self.ctx.json(limit, strict=strict)

    async def form(self, limit: Size | None = FORM_LIMIT, **options: Unpack[FormOptions]) -> FormData[str | UploadFile]:
        return await self.ctx.form(limit, **options)

    def stream(self, limit: Size | None = None) -> AsyncIterator[bytes]:
        return self.ctx.stream(limit)

    body_used: Delegate[bool] = Delegate("body_used", readonly=True)

    @property
    def body(self) -> Any:
        """What a body parser made of the body (`aiokoa.middleware.body_parser`): the JSON
        value, a `FormData` of text fields, or the text; `{}` when it parsed nothing; None
        where no parser ran. `Any`, so that each app states the shape it expects."""
        state = self.ctx._request_body
        return None if state is None else state.parsed

    @body.setter
    def body(self, value: Any) -> None:
        bodies.state(self.ctx).parsed = value

    @property
    def raw_body(self) -> bytes | None:
        """The bytes a body parser parsed (JSON, form and text bodies), e.g. to check a signature."""
        state = self.ctx._request_body
        return None if state is None else state.raw_body

    @raw_body.setter
    def raw_body(self, value: bytes | None) -> None:
        bodies.state(self.ctx).raw_body = value

    @property
    def files(self) -> FormData[UploadFile]:
        """The files of a multipart body a body parser parsed, by field name (empty otherwise)."""
        state = self.ctx._request_body
        return FormData() if state is None or state.files is None else state.files

    @files.setter
    def files(self, value: FormData[UploadFile]) -> None:
        bodies.state(self.ctx).files = value

    @property
    def charset(self) -> str:
        """The Content-Type's charset parameter, or '' (none, or an invalid Content-Type)."""
        parsed = parse_content_type(self.ctx.get("content-type"))
        return parsed[1].get("charset", "") if parsed else ""

    def to_json(self) -> dict[str, Any]:
        return {"method": self.ctx.method, "url": self.ctx.url, "header": self.ctx.headers}

    @property
    def type(self) -> str:
        """The request's mime type without parameters, or ''."""
        return self.ctx.get("content-type").split(";", 1)[0].strip().lower()

    @property
    def length(self) -> int | None:
        """Content-Length as a number, or None when absent or not a number."""
        return content_length(self.ctx.get("content-length"))

    @property
    def response(self) -> Any:
        return self.ctx.response

    def __repr__(self) -> str:
        return f"<Request {self.ctx.method} {self.ctx.url}>"
