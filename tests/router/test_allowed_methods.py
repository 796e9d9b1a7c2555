"""`allowed_methods()` over real HTTP: 405, 501 and OPTIONS exactly as @koa/router 15."""

from __future__ import annotations

import pytest

from aiokoa import Context, HttpError, Koa, Next, Router

from ..conftest import Serve
from .conftest import app_with, body


def users_router(**options: object) -> Router:
    router = Router(**options)  # type: ignore[arg-type]
    router.get("/users/:id", body("get"))
    router.post("/users/:id", body("post"))
    return router


def test_known_path_with_another_method_is_405_with_allow(serve: Serve) -> None:
    client = serve(app_with(users_router(), allowed=True))
    response = client.put("/users/1")
    assert response.status_code == 405
    assert response.headers["allow"] == "HEAD, GET, POST"
    assert response.text == "Method Not Allowed"
    assert client.request("HEAD", "/nowhere").status_code == 404


def test_method_the_router_does_not_implement_is_501_even_without_a_matching_path(serve: Serve) -> None:
    client = serve(app_with(users_router(), allowed=True))
    known = client.request("PURGE", "/users/1")
    assert known.status_code == 501
    assert known.headers["allow"] == "HEAD, GET, POST"
    assert known.text == "Not Implemented"
    unknown = client.request("PROPFIND", "/nowhere")
    assert unknown.status_code == 501
    assert unknown.headers["allow"] == ""


def test_options_is_200_with_allow_and_an_empty_body(serve: Serve) -> None:
    client = serve(app_with(users_router(), allowed=True))
    response = client.options("/users/1")
    assert response.status_code == 200
    assert response.headers["allow"] == "HEAD, GET, POST"
    assert response.content == b""
    assert response.headers["content-length"] == "0"
    assert client.options("/nowhere").status_code == 404  # no path matched: untouched


def test_explicit_options_and_all_routes_answer_themselves(serve: Serve) -> None:
    router = users_router()
    router.options("/users/:id", body("custom options"))
    router.all("/anything", body("all"))
    client = serve(app_with(router, allowed=True))
    assert client.options("/users/1").text == "custom options"
    assert client.options("/anything").text == "all"
    assert client.request("PURGE", "/anything").text == "all"


def test_nothing_happens_when_downstream_answered_or_the_router_did_not_run(serve: Serve) -> None:
    router = users_router()
    app = Koa()
    app.use(router.routes())
    app.use(router.allowed_methods())

    @app.use
    async def fallback(ctx: Context, next: Next) -> None:
        if ctx.path == "/users/answered":
            ctx.body = "downstream answered"

    client = serve(app)
    assert client.delete("/users/answered").text == "downstream answered"
    assert client.delete("/users/other").status_code == 405
    only_allowed = Koa()
    only_allowed.use(router.allowed_methods())
    plain = serve(only_allowed)
    assert plain.request("PURGE", "/users/1").status_code == 404  # ctx.matched never set


def test_a_404_streamed_downstream_is_left_as_it_went_out(serve: Serve) -> None:
    router = users_router()
    app = Koa()
    errors: list[BaseException] = []
    app.on("error", lambda err, ctx: errors.append(err))
    app.use(router.routes())
    app.use(router.allowed_methods())

    @app.use
    async def streamed_404(ctx: Context, next: Next) -> None:
        ctx.status = 404
        await ctx.flush_headers()
        ctx.body = "gone"

    response = serve(app).delete("/users/1")
    assert (response.status_code, response.text) == (404, "gone")
    assert "allow" not in response.headers
    assert errors == []


def test_methods_option_sets_what_is_implemented(serve: Serve) -> None:
    router = Router(methods=["GET"])
    router.get("/x", body("x"))
    client = serve(app_with(router, allowed=True))
    assert client.post("/x").status_code == 501
    assert client.options("/x").status_code == 501  # OPTIONS is not implemented either
    assert client.get("/x").text == "x"


def test_allow_collects_methods_from_every_router_and_nested_ones(serve: Serve) -> None:
    child = Router()
    child.put("/item", body("put"))
    first = Router()
    first.get("/item", body("get"))
    first.use(child)
    second = Router()
    second.delete("/item", body("delete"))
    app = Koa()
    app.use(first.routes())
    app.use(second.routes())
    app.use(first.allowed_methods())
    client = serve(app)
    response = client.patch("/item")
    assert response.status_code == 405
    assert response.headers["allow"] == "HEAD, GET, PUT, DELETE"


def test_throw_raises_errors_that_carry_allow(serve: Serve) -> None:
    app = Koa(silent=True)
    caught: list[tuple[int, str]] = []

    @app.use
    async def record(ctx: Context, next: Next) -> None:
        try:
            await next()
        except HttpError as err:
            caught.append((err.status, (err.headers or {}).get("Allow", "")))
            raise

    router = users_router()
    app.use(router.routes())
    app.use(router.allowed_methods(throw=True))
    client = serve(app)
    not_allowed = client.put("/users/1")
    assert not_allowed.status_code == 405
    assert not_allowed.headers["allow"] == "HEAD, GET, POST"
    assert client.request("PURGE", "/users/1").status_code == 501
    assert caught == [(405, "HEAD, GET, POST"), (501, "HEAD, GET, POST")]


@pytest.mark.parametrize(("method", "status"), [("PUT", 409), ("PURGE", 418)])
def test_throw_with_custom_error_factories(serve: Serve, method: str, status: int) -> None:
    router = users_router()
    app = Koa(silent=True)
    app.use(router.routes())
    app.use(
        router.allowed_methods(
            throw=True,
            method_not_allowed=lambda: HttpError(409, "custom not allowed"),
            not_implemented=lambda: HttpError(418, "custom not implemented"),
        )
    )
    client = serve(app)
    assert client.request(method, "/users/1").status_code == status
