"""`ctx.fresh` / `ctx.stale` (Koa's request/fresh and stale tests) with RFC 9110's precedence
of If-None-Match over If-Modified-Since (Koa's `fresh` applies both; docs/koa-differences.md)."""

import pytest

from aiokoa import Context, Koa, Next
from aiokoa.testing import make_context

from ...conftest import Serve

OLD = "Tue, 20 Oct 2015 07:28:00 GMT"
NOW = "Wed, 21 Oct 2015 07:28:00 GMT"
NEW = "Thu, 22 Oct 2015 07:28:00 GMT"


@pytest.mark.parametrize(
    ("method", "status", "request_headers", "response_headers", "fresh"),
    [
        ("POST", 200, {"if-none-match": '"123"'}, {"etag": '"123"'}, False),  # not GET/HEAD
        ("GET", 404, {"if-none-match": '"123"'}, {"etag": '"123"'}, False),  # not 2xx/304
        ("GET", 301, {"if-none-match": '"123"'}, {"etag": '"123"'}, False),
        ("GET", 200, {"if-none-match": '"123"'}, {"etag": '"123"'}, True),
        ("HEAD", 304, {"if-none-match": '"123"'}, {"etag": '"123"'}, True),
        ("GET", 200, {"if-none-match": '"123"'}, {"etag": '"hey"'}, False),
        ("GET", 200, {}, {"etag": '"123"'}, False),
        ("GET", 200, {"if-none-match": '"123"'}, {}, False),
        ("GET", 200, {"if-none-match": '"a", "123"'}, {"etag": '"123"'}, True),
        ("GET", 200, {"if-none-match": 'W/"123"'}, {"etag": '"123"'}, True),  # weak comparison
        ("GET", 200, {"if-none-match": '"123"'}, {"etag": 'W/"123"'}, True),
        ("GET", 200, {"if-none-match": "*"}, {"etag": '"123"'}, True),
        ("GET", 200, {"if-none-match": '"123"', "cache-control": "no-cache"}, {"etag": '"123"'}, False),
        ("GET", 200, {"if-none-match": '"123"', "cache-control": "max-age=0, no-cache"}, {"etag": '"123"'}, False),
        ("GET", 200, {"if-modified-since": NOW}, {"last-modified": OLD}, True),
        ("GET", 200, {"if-modified-since": NOW}, {"last-modified": NOW}, True),
        ("GET", 200, {"if-modified-since": NOW}, {"last-modified": NEW}, False),
        ("GET", 200, {"if-modified-since": NOW}, {}, False),
        ("GET", 200, {"if-modified-since": "garbage"}, {"last-modified": OLD}, False),
        # RFC 9110 §13.2.2: If-None-Match decides; If-Modified-Since is ignored (Koa: False)
        (
            "GET",
            200,
            {"if-none-match": '"123"', "if-modified-since": OLD},
            {"etag": '"123"', "last-modified": NEW},
            True,
        ),
        (
            "GET",
            200,
            {"if-none-match": '"x"', "if-modified-since": NOW},
            {"etag": '"123"', "last-modified": OLD},
            False,
        ),
    ],
)
def test_fresh(
    method: str, status: int, request_headers: dict[str, str], response_headers: dict[str, str], fresh: bool
) -> None:
    ctx = make_context(method=method, headers=request_headers)
    ctx.status = status
    ctx.set(response_headers)
    assert ctx.fresh is fresh
    assert ctx.stale is not fresh
    assert ctx.request.fresh is fresh


def test_conditional_get_over_http(serve: Serve) -> None:
    app = Koa()

    @app.use
    async def conditional(ctx: Context, next: Next) -> None:
        await next()
        if ctx.fresh:
            ctx.status = 304
            ctx.body = None

    @app.use
    async def page(ctx: Context, next: Next) -> None:
        ctx.etag = "abc"
        ctx.body = "hello"

    client = serve(app)
    response = client.get("/", headers={"If-None-Match": '"abc"'})
    assert (response.status_code, response.text, response.headers["etag"]) == (304, "", '"abc"')
    assert "content-type" not in response.headers
    assert client.get("/", headers={"If-None-Match": '"xyz"'}).text == "hello"
    assert client.post("/", headers={"If-None-Match": '"abc"'}).text == "hello"
