"""Koa's context/onerror and application/onerror tests, and the error outcomes Koa 3.3 was seen to send."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from aiokoa import Context, HttpError, Koa, Next

from ...conftest import Serve
from ..conftest import RecordErrors


def app_with(middleware: Callable[..., Any]) -> Koa:
    app = Koa()
    app.use(middleware)
    return app


def error(message: str, **props: Any) -> Exception:
    err = Exception(message)
    for key, value in props.items():
        setattr(err, key, value)
    return err


# -- ctx.onerror(err) ---------------------------------------------------------------------


def test_onerror_responds_with_the_error_as_plain_text(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = "something else"
        ctx.throw(418, "boom")

    response = serve(app_with(mw)).get("/")
    assert response.status_code == 418
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == "4"
    assert response.text == "boom"


def test_onerror_unsets_all_headers(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.set("Vary", "Accept-Encoding")
        ctx.set("X-CSRF-Token", "asdf")
        ctx.body = "response"
        ctx.throw(418, "boom")

    response = serve(app_with(mw)).get("/")
    assert response.status_code == 418
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == "4"
    assert "vary" not in response.headers
    assert "x-csrf-token" not in response.headers


def test_onerror_sets_the_headers_of_the_error_except_content_ones(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.set("Vary", "Accept-Encoding")
        ctx.set("X-CSRF-Token", "asdf")
        ctx.body = "response"
        headers = {
            "Content-Length": ["1", "2"],
            "cOnTeNt-TyPe": ["text/plain", "application/json"],
            "Set-Cookie": ["first=1", "second=2"],
            "X-New-Header": "Value",
        }
        raise error("boom", status=418, expose=True, headers=headers)

    response = serve(app_with(mw)).get("/")
    assert (response.status_code, response.text) == (418, "boom")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == "4"
    assert response.headers["x-new-header"] == "Value"
    assert "vary" not in response.headers
    assert "x-csrf-token" not in response.headers
    assert response.headers.get_list("set-cookie") == ["first=1", "second=2"]


def test_error_after_headers_sent_aborts_the_response_and_emits_once(serve: Serve, errors: RecordErrors) -> None:
    """Koa emits, then leaves the response hanging (a deliberate fix, docs/koa-differences.md): it is aborted."""

    async def mw(ctx: Context, next: Next) -> None:
        ctx.status = 200
        ctx.set("X-Foo", "Bar")
        await ctx.flush_headers()
        raise RuntimeError("mock error")

    app = app_with(mw)
    events = errors(app)
    with serve(app).stream("GET", "/") as response:
        assert response.status_code == 200
        assert response.headers["x-foo"] == "Bar"
        with pytest.raises(httpx.RemoteProtocolError):
            response.read()
    assert [str(err) for err in events] == ["mock error"]
    assert getattr(events[0], "header_sent", False) is True


def test_onerror_uses_status_code_when_there_is_no_status(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = "something else"
        raise error("Not found", status_code=404)

    response = serve(app_with(mw)).get("/")
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "Not Found"


@pytest.mark.parametrize(
    "props",
    [{"status_code": "notnumber"}, {"status": "notnumber"}, {"status": 9999}],
    ids=["status_code-not-a-number", "status-not-a-number", "status-not-an-http-status"],
)
def test_onerror_responds_500_for_an_invalid_status(serve: Serve, props: dict[str, Any]) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = "something else"
        raise error("some error", **props)

    response = serve(app_with(mw)).get("/")
    assert response.status_code == 500
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "Internal Server Error"


class ForeignError(Exception):
    """An error from another library: it knows Koa's `status`/`expose` only by duck typing
    (Koa's "error from another realm")."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.status = 418
        self.expose = True


def test_onerror_handles_errors_from_other_libraries_like_its_own(serve: Serve, errors: RecordErrors) -> None:
    err = ForeignError("boom")

    async def mw(ctx: Context, next: Next) -> None:
        raise err

    app = app_with(mw)
    events = errors(app)
    response = serve(app).get("/")
    assert (response.status_code, response.text) == (418, "boom")
    assert events == [err]
    assert events[0] is err


@pytest.mark.parametrize("thrown", ["string error", {"key": "value"}, None], ids=repr)
def test_raising_a_non_exception_is_a_500(serve: Serve, errors: RecordErrors, thrown: Any) -> None:
    """Koa wraps it as `non-error thrown: ...` (and hangs on `throw null`); Python cannot
    raise it at all: the TypeError that results is a 500 like any other error."""

    async def mw(ctx: Context, next: Next) -> None:
        raise cast(Exception, thrown)

    app = app_with(mw)
    events = errors(app)
    response = serve(app).get("/")
    assert response.status_code == 500
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "Internal Server Error"
    assert [type(err) for err in events] == [TypeError]


def test_onerror_keeps_the_headers_the_app_keeps_on_error(serve: Serve) -> None:
    app = Koa(keep_headers_on_error=["Access-Control-Allow-Origin"])

    @app.use
    async def mw(ctx: Context, next: Next) -> None:
        ctx.set("Access-Control-Allow-Origin", "*")
        ctx.set("X-Dropped", "1")
        ctx.throw(400)

    response = serve(app).get("/")
    assert response.status_code == 400
    assert response.headers["access-control-allow-origin"] == "*"
    assert "x-dropped" not in response.headers


def test_head_error_response_has_headers_but_no_body(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.throw(403, "nope")

    response = serve(app_with(mw)).head("/")
    assert response.status_code == 403
    assert response.headers["content-length"] == "4"
    assert response.content == b""


# -- app.onerror(err) ---------------------------------------------------------------------


def test_app_onerror_rejects_a_non_error() -> None:
    with pytest.raises(TypeError):
        Koa().onerror(cast(Exception, "foo"))


def test_app_onerror_accepts_errors_from_other_libraries(capsys: pytest.CaptureFixture[str]) -> None:
    Koa().onerror(ForeignError("boom"))
    assert capsys.readouterr().err == ""  # exposed: the client was told, nothing to log


def test_app_onerror_is_silent_for_404(capsys: pytest.CaptureFixture[str]) -> None:
    Koa().onerror(error("", status=404))
    assert capsys.readouterr().err == ""


def test_app_onerror_is_silent_when_the_app_is_silent(capsys: pytest.CaptureFixture[str]) -> None:
    app = Koa()
    app.silent = True
    app.onerror(Exception("quiet"))
    assert capsys.readouterr().err == ""


def test_app_onerror_logs_the_error_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    app = Koa(env="dev")
    try:
        raise ValueError("Foo")
    except ValueError as err:
        app.onerror(err)
    logged = capsys.readouterr().err
    assert "ValueError: Foo" in logged
    assert all(line.startswith("  ") for line in logged.strip("\n").splitlines())  # indented


def test_default_error_listener_logs_500s_over_http(serve: Serve, capfd: pytest.CaptureFixture[str]) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        raise RuntimeError("logged secret")

    response = serve(app_with(mw)).get("/")
    assert response.status_code == 500
    assert "RuntimeError: logged secret" in capfd.readouterr().err


# -- the error outcomes Koa 3.3 was seen to send --------------------------------------------


async def _set_header_then_raise(ctx: Context, next: Next) -> None:
    ctx.set("X-A", "1")
    raise Exception("secret")


async def _cookie_then_throw(ctx: Context, next: Next) -> None:
    ctx.append("Set-Cookie", "sid=x")
    ctx.throw(400, "bad")


async def _throw_with_headers(ctx: Context, next: Next) -> None:
    ctx.throw(401, "login", headers={"WWW-Authenticate": "Basic"})


async def _error_with_content_type(ctx: Context, next: Next) -> None:
    raise error("bad input", status=400, expose=True, headers={"Content-Type": "application/json", "X-B": "2"})


async def _status_9999(ctx: Context, next: Next) -> None:
    raise error("weird", status=9999)


async def _status_not_a_number(ctx: Context, next: Next) -> None:
    raise error("weird", status="notnumber")


async def _status_404(ctx: Context, next: Next) -> None:
    raise error("hidden", status=404)


async def _raise_string(ctx: Context, next: Next) -> None:
    raise cast(Exception, "str")


async def _raise_none(ctx: Context, next: Next) -> None:
    raise cast(Exception, None)


async def _next_twice(ctx: Context, next: Next) -> None:
    await next()
    await next()


async def _status_string(ctx: Context, next: Next) -> None:
    ctx.status = "200"  # type: ignore[assignment]


async def _assert_false(ctx: Context, next: Next) -> None:
    ctx.assert_(False, 422, "nope")


async def _assert_equal(ctx: Context, next: Next) -> None:
    ctx.assert_.equal(1, 2, 400, "neq")


async def _missing_file(ctx: Context, next: Next) -> None:
    ctx.body = Path("/missing")


OBSERVED: list[tuple[str, Callable[..., Any], int, str, dict[str, str | None], str]] = [
    # name, middleware, status, body, headers (None: absent), message of the error event
    ("header-then-error", _set_header_then_raise, 500, "Internal Server Error", {"x-a": None}, "secret"),
    ("set-cookie-dropped", _cookie_then_throw, 400, "bad", {"set-cookie": None}, "bad"),
    ("err-headers-kept", _throw_with_headers, 401, "login", {"www-authenticate": "Basic"}, "login"),
    (
        "err-content-type-ignored",
        _error_with_content_type,
        400,
        "bad input",
        {"content-type": "text/plain; charset=utf-8", "x-b": "2"},
        "bad input",
    ),
    ("status-9999", _status_9999, 500, "Internal Server Error", {}, "weird"),
    ("status-not-a-number", _status_not_a_number, 500, "Internal Server Error", {}, "weird"),
    ("status-404-not-exposed", _status_404, 404, "Not Found", {}, "hidden"),
    # Python cannot raise a non-exception (`throw null` hangs in Koa): a TypeError
    ("raise-str", _raise_string, 500, "Internal Server Error", {}, "exceptions must derive from BaseException"),
    ("raise-none", _raise_none, 500, "Internal Server Error", {}, "exceptions must derive from BaseException"),
    ("next-twice", _next_twice, 500, "Internal Server Error", {}, "next() called multiple times"),
    ("status-string", _status_string, 500, "Internal Server Error", {}, "status code must be a number"),
    ("assert-false", _assert_false, 422, "nope", {}, "nope"),
    ("assert-equal", _assert_equal, 400, "neq", {}, "neq"),
    # Koa 3 hangs up on a missing file stream; a path is stat()ed when assigned here
    ("missing-file", _missing_file, 500, "Internal Server Error", {}, "No such file or directory"),
]


@pytest.mark.parametrize(
    ("middleware", "status", "body", "headers", "message"),
    [case[1:] for case in OBSERVED],
    ids=[case[0] for case in OBSERVED],
)
def test_observed_error_outcome(
    serve: Serve,
    errors: RecordErrors,
    middleware: Callable[..., Any],
    status: int,
    body: str,
    headers: dict[str, str | None],
    message: str,
) -> None:
    app = app_with(middleware)
    events = errors(app)
    response = serve(app).get("/")
    assert response.status_code == status
    assert response.text == body
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == str(len(body))
    for name, value in headers.items():
        assert response.headers.get(name) == value
    assert len(events) == 1
    assert message in str(events[0])
    assert getattr(events[0], "status", status) == status


def test_observed_404_error_is_not_logged_by_default(serve: Serve, capfd: pytest.CaptureFixture[str]) -> None:
    response = serve(app_with(_status_404)).get("/")
    assert response.status_code == 404
    assert "hidden" not in capfd.readouterr().err


def test_observed_stream_error_part_way_gives_a_partial_body_then_an_abort(serve: Serve, errors: RecordErrors) -> None:
    async def partial() -> AsyncIterator[bytes]:
        yield b"partial"
        raise OSError("read failed")

    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = partial()

    app = app_with(mw)
    events = errors(app)
    received = b""
    with serve(app).stream("GET", "/") as response, pytest.raises(httpx.RemoteProtocolError):
        for chunk in response.iter_raw():
            received += chunk
    assert received == b"partial"
    assert [str(err) for err in events] == ["read failed"]  # Koa emits it twice
    assert getattr(events[0], "header_sent", False) is True


def test_http_error_is_exported_and_carries_its_response() -> None:
    err = HttpError(401, "login", headers={"WWW-Authenticate": "Basic"})
    assert (err.status, err.status_code, err.message, err.expose) == (401, 401, "login", True)
    assert err.headers == {"WWW-Authenticate": "Basic"}
