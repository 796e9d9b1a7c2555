"""The request half of the context: method, URL, path, query and headers, parsed lazily.

`RequestMixin` is mixed into `Context`; nothing is parsed until a middleware asks, and
each parse is cached in a slot. `Request` is the `ctx.request` view, with the members
whose names mean the response on `ctx` (`type`, `length`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

from .delegate import Delegate

if TYPE_CHECKING:
    from ..types import Scope
    from .context import Context

Query = dict[str, "str | list[str]"]


def _scope_path(scope: Scope) -> str:
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else quote(scope["path"], safe="/:@!$&'()*+,;=%~")
    root = scope.get("root_path")
    if root and path.startswith(root):  # mounted under root_path: the app sees its own paths
        path = path[len(root) :] or "/"
    return path


def parse_query(querystring: str) -> Query:
    """Koa's (URLSearchParams) rules: repeated keys give a list, `+` is a space, no nesting."""
    query: Query = {}
    for key, value in parse_qsl(querystring, keep_blank_values=True):
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


class RequestMixin:
    """Koa's request members as they appear on `ctx` (`ctx.path`, `ctx.query`, ...)."""

    if not TYPE_CHECKING:  # slot-less mixin; the state is declared by Context
        __slots__ = ()

    scope: Scope
    _method: str | None
    _path: str | None
    _querystring: str | None
    _url: str | None
    _query: Query | None
    _query_for: str | None
    _request_headers: dict[str, str] | None

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
            path = self._path = _scope_path(self.scope)
        return path

    @path.setter
    def path(self, value: str) -> None:
        if value != self.path:
            self._path = value
            self._url = None

    @property
    def decoded_path(self) -> str:
        """The path with percent-escapes decoded (UTF-8), for display and file lookups."""
        return unquote(self.path)

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

    def get(self, field: str) -> str:
        return self.ctx.get(field)

    @property
    def type(self) -> str:
        """The request's mime type without parameters, or ''."""
        return self.ctx.get("content-type").split(";", 1)[0].strip().lower()

    @property
    def length(self) -> int | None:
        """Content-Length as a number, or None when absent or not a number."""
        value = self.ctx.get("content-length")
        return int(value) if value.isdigit() else None

    @property
    def response(self) -> Any:
        return self.ctx.response

    def __repr__(self) -> str:
        return f"<Request {self.ctx.method} {self.ctx.url}>"
