"""Koa's context/throw and context/assert tests: http-errors' argument rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from aiokoa import Context, HttpError, Koa, Next, create_error

from ...conftest import Serve
from ..conftest import MakeContext


def thrown(ctx: Context, *args: Any, **props: Any) -> Any:
    """What `ctx.throw(*args, **props)` raises."""
    with pytest.raises(Exception) as info:
        ctx.throw(*args, **props)
    return info.value


def test_throw_message_is_a_hidden_500(context: MakeContext) -> None:
    err = thrown(context(), "boom")
    assert isinstance(err, HttpError)
    assert (err.status, err.message, err.expose) == (500, "boom", False)


def test_throw_error_makes_it_a_hidden_500(context: MakeContext) -> None:
    original = ValueError("test")
    err = thrown(context(), original)
    assert (err.status, str(err), err.expose) == (500, "test", False)
    assert err is original


def test_throw_status_and_error_sets_the_status_on_that_error(context: MakeContext) -> None:
    original = ValueError("test")
    err = thrown(context(), 422, original)
    assert (err.status, str(err), err.expose) == (422, "test", True)
    assert err is original


def test_throw_status_and_message(context: MakeContext) -> None:
    err = thrown(context(), 400, "name required")
    assert (err.status, err.message, err.expose) == (400, "name required", True)


def test_throw_status_uses_the_status_message(context: MakeContext) -> None:
    err = thrown(context(), 400)
    assert (err.status, err.message, err.expose) == (400, "Bad Request", True)


def test_throw_error_with_invalid_status_is_not_exposed(context: MakeContext) -> None:
    original = ValueError("some error")
    original.status = -1  # type: ignore[attr-defined]
    err = thrown(context(), original)
    assert str(err) == "some error"
    assert err.expose is False
    assert err.status == 500


@pytest.mark.parametrize("style", ["keywords", "mapping"])
def test_throw_status_message_props_mixes_in_props(context: MakeContext, style: str) -> None:
    ctx = context()
    err = thrown(ctx, 400, "msg", prop=True) if style == "keywords" else thrown(ctx, 400, "msg", {"prop": True})
    assert (err.message, err.status, err.expose, err.prop) == ("msg", 400, True, True)


@pytest.mark.parametrize("key", ["status", "status_code"])
def test_throw_ignores_status_in_props(context: MakeContext, key: str) -> None:
    err = thrown(context(), 400, "msg", prop=True, **{key: -1})
    assert (err.message, err.status, err.expose, err.prop) == ("msg", 400, True, True)


def test_throw_message_props_mixes_in_props(context: MakeContext) -> None:
    err = thrown(context(), "msg", prop=True)
    assert (err.message, err.status, err.expose, err.prop) == ("msg", 500, False, True)


def test_throw_status_props_mixes_in_props(context: MakeContext) -> None:
    err = thrown(context(), 400, {"prop": True})
    assert (err.message, err.status, err.expose, err.prop) == ("Bad Request", 400, True, True)


def test_throw_error_props_mixes_in_props(context: MakeContext) -> None:
    err = thrown(context(), ValueError("test"), prop=True)
    assert (str(err), err.status, err.expose, err.prop) == ("test", 500, False, True)


@pytest.mark.parametrize("args", [("msg", 400), (400, 401), (400, 1.5)], ids=repr)
def test_throw_accepts_a_number_only_as_the_first_argument(context: MakeContext, args: tuple[Any, ...]) -> None:
    with pytest.raises(TypeError, match="argument #2 unsupported type"):
        context().throw(*args)


@pytest.mark.parametrize(
    ("status", "expected"),
    [(302, 302), (418, 418), (599, 599), (999, 500), (-1, 500), (0, 500)],
)
def test_throw_status_outside_known_or_4xx_5xx_becomes_500(context: MakeContext, status: int, expected: int) -> None:
    assert thrown(context(), status).status == expected


def test_throw_headers_go_on_the_error_and_into_the_response(serve: Serve) -> None:
    app = Koa()

    @app.use
    async def mw(ctx: Context, next: Next) -> None:
        ctx.throw(401, "login", headers={"WWW-Authenticate": "Basic"})

    response = serve(app).get("/")
    assert (response.status_code, response.text) == (401, "login")
    assert response.headers["www-authenticate"] == "Basic"


def test_create_error_is_what_throw_raises() -> None:
    err = create_error(404, "gone", reason="deleted")
    assert isinstance(err, HttpError)
    assert (err.status, err.message, err.reason) == (404, "gone", "deleted")  # type: ignore[attr-defined]


# -- ctx.assert_ --------------------------------------------------------------------------


def test_assert_throws_an_exposed_error_with_the_status(context: MakeContext) -> None:
    with pytest.raises(HttpError) as info:
        context().assert_(False, 404)
    assert (info.value.status, info.value.expose, info.value.message) == (404, True, "Not Found")


def test_assert_passes_a_truthy_value(context: MakeContext) -> None:
    context().assert_("user", 401)


@pytest.mark.parametrize(
    ("check", "fails"),
    [
        (lambda a: a.equal(1, 2, 400, "neq"), True),
        (lambda a: a.equal(1, 1, 400, "neq"), False),
        (lambda a: a.not_equal(1, 1, 400, "neq"), True),
        (lambda a: a.strict_equal(1, 1.0, 400, "neq"), True),
        (lambda a: a.strict_equal(1, 1, 400, "neq"), False),
        (lambda a: a.not_strict_equal(1, 1.0, 400, "neq"), False),
        (lambda a: a.deep_equal({"a": [1]}, {"a": [1]}, 400, "neq"), False),
        (lambda a: a.ok(0, 400, "neq"), True),
        (lambda a: a.fail(400, "neq"), True),
    ],
    ids=[
        "equal",
        "equal-ok",
        "not_equal",
        "strict_equal",
        "strict_equal-ok",
        "not_strict_equal-ok",
        "deep_equal-ok",
        "ok",
        "fail",
    ],
)
def test_assert_helpers_throw_only_when_the_check_fails(
    context: MakeContext, check: Callable[[Any], None], fails: bool
) -> None:
    ctx = context()
    if fails:
        with pytest.raises(HttpError) as info:
            check(ctx.assert_)
        assert (info.value.status, info.value.message) == (400, "neq")
    else:
        check(ctx.assert_)


def test_assert_over_http_responds_with_the_status_and_message(serve: Serve) -> None:
    app = Koa()

    @app.use
    async def mw(ctx: Context, next: Next) -> None:
        ctx.assert_(ctx.get("Authorization"), 401, "authentication required")
        ctx.body = "ok"

    client = serve(app)
    denied = client.get("/")
    assert (denied.status_code, denied.text) == (401, "authentication required")
    assert client.get("/", headers={"Authorization": "token"}).text == "ok"
