"""Koa's application/use tests: `app.use(fn)` composes middleware in onion order."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from aiokoa import Context, Koa, Next

Serve = Callable[..., httpx.Client]


def test_use_composes_middleware_in_onion_order(serve: Serve) -> None:
    app = Koa()
    calls: list[int] = []

    def layer(before: int, after: int) -> Callable[[Context, Next], Awaitable[None]]:
        async def mw(ctx: Context, next: Next) -> None:
            calls.append(before)
            await next()
            calls.append(after)

        return mw

    app.use(layer(1, 6))
    app.use(layer(2, 5))
    app.use(layer(3, 4))

    response = serve(app).get("/")
    assert response.status_code == 404
    assert calls == [1, 2, 3, 4, 5, 6]


def test_use_composes_mixed_middleware(serve: Serve) -> None:
    app = Koa()
    calls: list[int] = []

    @app.use
    def plain(ctx: Context, next: Next) -> Awaitable[Any]:
        calls.append(1)
        return next()

    @app.use
    async def coroutine(ctx: Context, next: Next) -> None:
        calls.append(2)
        await next()
        calls.append(5)

    @app.use
    async def generator(ctx: Context) -> AsyncIterator[None]:
        calls.append(3)
        yield
        calls.append(4)

    response = serve(app).get("/")
    assert response.status_code == 404
    assert calls == [1, 2, 3, 4, 5]


def test_use_catches_errors_thrown_in_plain_functions(serve: Serve) -> None:
    app = Koa()
    app.use(lambda ctx, next: ctx.throw(404, "Not Found"))
    response = serve(app).get("/")
    assert response.status_code == 404
    assert response.text == "Not Found"


@pytest.mark.parametrize("value", [None, 0, False, "not a function"], ids=repr)
def test_use_rejects_a_non_function(value: Any) -> None:
    app = Koa()
    with pytest.raises(TypeError, match="middleware must be a function"):
        app.use(value)
    assert app.middleware == []


def test_use_returns_the_app_so_calls_chain() -> None:
    async def a(ctx: Context, next: Next) -> None:
        await next()

    async def b(ctx: Context, next: Next) -> None:
        await next()

    app = Koa()
    assert app.use(a).use(b) is app
    assert app.middleware == [a, b]


def test_use_after_serving_adds_to_the_chain(serve: Serve) -> None:
    app = Koa()

    @app.use
    async def first(ctx: Context, next: Next) -> None:
        ctx.body = "first"
        await next()

    client = serve(app)
    assert client.get("/").text == "first"

    @app.use
    async def second(ctx: Context, next: Next) -> None:
        ctx.body = "second"

    assert client.get("/").text == "second"
