"""`ctx.state`, `ctx.params` and `keep_on_error()` set more than once, how a context, its
request and response name themselves, and the cookie options that are refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from aiokoa import Context, CookieError, Koa, Next
from aiokoa.testing import TestClient

MakeContext = Callable[..., Context]


def test_state_and_params_can_be_replaced(context: MakeContext) -> None:
    ctx = context()
    ctx.state["user"] = "ann"
    ctx.state = {"user": "bob"}
    ctx.params = {"id": "3"}
    assert (ctx.state, ctx.params) == ({"user": "bob"}, {"id": "3"})


def test_keep_on_error_adds_to_the_kept_headers() -> None:
    app = Koa(silent=True)

    @app.use
    async def failing(ctx: Context, next: Next) -> None:
        ctx.set({"X-Request-Id": "r1", "Access-Control-Allow-Origin": "*", "X-Dropped": "1"})
        ctx.keep_on_error("X-Request-Id")
        ctx.keep_on_error("Access-Control-Allow-Origin", "x-request-id")
        raise RuntimeError("boom")

    with TestClient(app) as client:
        response = client.get("/")
    assert response.status_code == 500
    assert (response.headers["x-request-id"], response.headers["access-control-allow-origin"]) == ("r1", "*")
    assert "x-dropped" not in response.headers


def test_a_context_and_its_request_name_themselves(context: MakeContext) -> None:
    ctx = context(method="POST", url="/items?page=2")
    ctx.status = 201
    assert repr(ctx) == "<Context POST /items?page=2 -> 201>"
    assert repr(ctx.request) == "<Request POST /items?page=2>"
    assert ctx.request.response is ctx.response


def test_setting_the_same_querystring_changes_nothing(context: MakeContext) -> None:
    ctx = context(url="/items?page=2")
    query = ctx.query
    ctx.querystring = "page=2"
    assert ctx.query is query  # not parsed again
    assert ctx.url == "/items?page=2"


def test_a_repeated_query_key_collects_every_value(context: MakeContext) -> None:
    assert context(url="/?a=1&a=2&a=3&b=").query == {"a": ["1", "2", "3"], "b": ""}


def test_an_absolute_request_target_is_the_href(context: MakeContext) -> None:
    ctx = context(url="http://example.com/p?q=1", headers={"host": "other.org"})
    assert ctx.href == "http://example.com/p?q=1"


def test_a_cookie_value_must_be_a_string(context: MakeContext) -> None:
    with pytest.raises(CookieError, match="cookie count: the value must be a str, not int"):
        context().cookies.set("count", 5)  # type: ignore[arg-type]


def test_cookie_expires_must_be_a_datetime(context: MakeContext) -> None:
    ctx = context()
    with pytest.raises(CookieError, match="cookie a: expires must be a datetime"):
        ctx.cookies.set("a", "b", expires="tomorrow")  # type: ignore[arg-type]
    ctx.cookies.set("a", "b", expires=datetime(2030, 1, 2, tzinfo=UTC))
    assert "expires=Wed, 02 Jan 2030 00:00:00 GMT" in str(ctx.response.get("Set-Cookie"))
