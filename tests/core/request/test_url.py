"""URL members: path, query, querystring, search, url, original_url and their setters
(Koa's request/path, query, querystring, search tests and its URL rewriting rules)."""

import pytest

from aiokoa import Koa
from aiokoa.core.request import Query
from aiokoa.testing import make_context


@pytest.mark.parametrize(
    ("url", "path", "querystring", "search", "query"),
    [
        ("/", "/", "", "", {}),
        ("/login?next=/dashboard", "/login", "next=/dashboard", "?next=/dashboard", {"next": "/dashboard"}),
        ("/a?x=1&x=2&y=", "/a", "x=1&x=2&y=", "?x=1&x=2&y=", {"x": ["1", "2"], "y": ""}),
        (
            "/a?a[b]=1&c=x+y&d=%C3%A9",
            "/a",
            "a[b]=1&c=x+y&d=%C3%A9",
            "?a[b]=1&c=x+y&d=%C3%A9",
            {"a[b]": "1", "c": "x y", "d": "é"},
        ),
        ("/a?f", "/a", "f", "?f", {"f": ""}),
        ("/caf%C3%A9/x%2Fy", "/caf%C3%A9/x%2Fy", "", "", {}),  # the path is not decoded
    ],
)
def test_getters(url: str, path: str, querystring: str, search: str, query: Query) -> None:
    ctx = make_context(url=url)
    assert (ctx.path, ctx.querystring, ctx.search, ctx.query, ctx.url, ctx.original_url) == (
        path,
        querystring,
        search,
        query,
        url,
        url,
    )
    assert ctx.request.query == query


def test_decoded_path() -> None:
    assert make_context(url="/caf%C3%A9/a%20b").decoded_path == "/café/a b"


def test_query_is_memoised_per_querystring() -> None:
    ctx = make_context(url="/?a=1")
    assert ctx.query is ctx.query
    ctx.querystring = "a=2"
    assert ctx.query == {"a": "2"}


@pytest.mark.parametrize(
    ("start", "change", "url", "querystring", "query"),
    [
        ("/old?q=1", ("path", "/new"), "/new?q=1", "q=1", {"q": "1"}),
        ("/p?x=1", ("search", "z=9"), "/p?z=9", "z=9", {"z": "9"}),
        ("/p?x=1", ("search", "?z=9"), "/p?z=9", "z=9", {"z": "9"}),
        ("/p?x=1", ("querystring", "a=b"), "/p?a=b", "a=b", {"a": "b"}),
        (
            "/p",
            ("query", {"a": [1, 2], "b": "x y", "c": {"n": 1}, "d": True}),
            "/p?a=1&a=2&b=x+y&c=&d=true",
            "a=1&a=2&b=x+y&c=&d=true",
            {"a": ["1", "2"], "b": "x y", "c": "", "d": "true"},
        ),
        ("/p?x=1", ("url", "/other?y=2#frag"), "/other?y=2#frag", "y=2", {"y": "2"}),
        ("/p?x=1", ("path", "/p"), "/p?x=1", "x=1", {"x": "1"}),  # unchanged
    ],
)
def test_setters_rebuild_the_url_and_keep_original_url(
    start: str, change: tuple[str, object], url: str, querystring: str, query: Query
) -> None:
    ctx = make_context(url=start)
    setattr(ctx.request, *change)
    assert (ctx.url, ctx.querystring, ctx.query, ctx.original_url) == (url, querystring, query, start)


def test_method_is_settable_and_upper_cased() -> None:
    ctx = make_context(method="POST")
    ctx.method = "put"
    assert ctx.request.method == "PUT"


@pytest.mark.parametrize(
    ("method", "idempotent"),
    [(m, True) for m in ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"]] + [("POST", False), ("PATCH", False)],
)
def test_idempotent(method: str, idempotent: bool) -> None:
    assert make_context(method=method).idempotent is idempotent


@pytest.mark.parametrize(
    ("headers", "field", "value"),
    [
        ({"host": "x.com"}, "HOST", "x.com"),
        ({}, "host", ""),
        ({"referer": "http://a.com"}, "Referrer", "http://a.com"),
        ({"referrer": "http://b.com"}, "referer", "http://b.com"),
        ({"content-type": "text/plain"}, "Content-Type", "text/plain"),
    ],
)
def test_get(headers: dict[str, str], field: str, value: str) -> None:
    ctx = make_context(headers=headers)
    assert ctx.get(field) == ctx.request.get(field) == value


@pytest.mark.parametrize(("value", "length"), [("10", 10), (None, None), ("abc", None), (" 7 ", 7), ("", None)])
def test_request_length(value: str | None, length: int | None) -> None:
    assert make_context(headers={} if value is None else {"content-length": value}).request.length == length


def test_headers_get_and_set() -> None:
    ctx = make_context(headers=[("X-A", "1"), ("Cookie", "a=1"), ("Cookie", "b=2"), ("Accept", "a"), ("Accept", "b")])
    assert ctx.headers == {"x-a": "1", "cookie": "a=1; b=2", "accept": "a, b"}
    assert ctx.header is ctx.headers is ctx.request.header
    ctx.request.headers = {"X-B": "2"}
    assert ctx.get("x-b") == "2" and ctx.get("x-a") == ""


def test_origin() -> None:
    assert make_context(headers={"origin": "http://a.com"}).origin == "http://a.com"
    assert make_context().request.origin is None


def test_to_json() -> None:
    ctx = make_context(Koa(env="test"), url="/x?y=1", headers={"host": "a"})
    assert ctx.request.to_json() == {"method": "GET", "url": "/x?y=1", "header": {"host": "a"}}
    ctx.status = 200
    data = ctx.to_json()
    assert data["response"] == {"status": 200, "message": "OK", "header": {}}
    assert data["app"] == {"subdomain_offset": 2, "proxy": False, "env": "test"}
    assert data["original_url"] == "/x?y=1"
