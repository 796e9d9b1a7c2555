"""`ctx.throw` and `ctx.assert_` (Koa's context/throw and context/assert tests, §2.6)."""

from typing import Any

import pytest

from aiokoa import HttpError, Koa
from aiokoa.testing import make_context


class Boom(Exception):
    pass


@pytest.mark.parametrize(
    ("args", "props", "status", "message", "expose"),
    [
        ((400,), {}, 400, "Bad Request", True),
        ((400, "name required"), {}, 400, "name required", True),
        (("boom",), {}, 500, "boom", False),
        ((404,), {}, 404, "Not Found", True),
        ((503, "down"), {}, 503, "down", False),
        ((400, {"prop": 1}), {}, 400, "Bad Request", True),
        ((400, "msg", {"status": -1}), {}, 400, "msg", True),
        ((401, "login"), {"headers": {"WWW-Authenticate": "Basic"}}, 401, "login", True),
        ((9999,), {}, 500, "Internal Server Error", False),
    ],
)
def test_throw(args, props, status, message, expose):
    ctx = make_context()
    with pytest.raises(Exception) as info:
        ctx.throw(*args, **props)
    err: Any = info.value
    assert (err.status, err.message, err.expose) == (status, message, expose)
    if "headers" in props:
        assert err.headers == {"WWW-Authenticate": "Basic"}
    if len(args) > 1 and isinstance(args[-1], dict) and "prop" in args[-1]:
        assert err.prop == 1


def test_throw_an_existing_error():
    ctx = make_context()
    err = Boom("secret")
    with pytest.raises(Boom) as info:
        ctx.throw(err)
    thrown: Any = info.value
    assert (thrown.status, thrown.expose) == (500, False)
    err2 = Boom("bad input")
    with pytest.raises(Boom) as info:
        ctx.throw(422, err2)
    rethrown: Any = info.value
    assert (rethrown.status, rethrown.expose, rethrown is err2) == (422, True, True)


@pytest.mark.parametrize(
    ("call", "status", "message"),
    [
        (lambda a: a(False, 422, "nope"), 422, "nope"),
        (lambda a: a(0, 401), 401, "Unauthorized"),
        (lambda a: a.equal(1, 2, 400, "neq"), 400, "neq"),
        (lambda a: a.not_equal(1, 1, 400), 400, "Bad Request"),
        (lambda a: a.strict_equal(1, 1.0, 409), 409, "Conflict"),
        (lambda a: a.not_strict_equal("a", "a", 418), 418, "I'm a Teapot"),
        (lambda a: a.deep_equal([1], [2], 400), 400, "Bad Request"),
        (lambda a: a.ok(None, 403, "no"), 403, "no"),
        (lambda a: a.fail(410), 410, "Gone"),
    ],
)
def test_assert(call, status, message):
    ctx = make_context()
    with pytest.raises(HttpError) as info:
        call(ctx.assert_)
    assert (info.value.status, info.value.message) == (status, message)


def test_assert_passes():
    ctx = make_context()
    ctx.assert_(True, 400)
    ctx.assert_.equal(1, 1, 400)
    ctx.assert_.strict_equal("a", "a", 400)


def test_throw_and_assert_over_http(serve):
    app = Koa()

    @app.use
    async def mw(ctx, next):
        if ctx.path == "/assert":
            ctx.assert_(ctx.query.get("ok"), 422, "nope")
            ctx.body = "ok"
        else:
            ctx.throw(401, "login", headers={"WWW-Authenticate": "Basic"})

    client = serve(app)
    response = client.get("/")
    assert (response.status_code, response.text, response.headers["www-authenticate"]) == (401, "login", "Basic")
    response = client.get("/assert")
    assert (response.status_code, response.text) == (422, "nope")
    assert client.get("/assert?ok=1").text == "ok"
