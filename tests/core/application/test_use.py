"""Koa's application/use tests: `app.use(fn)` composes middleware in onion order."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from aiokoa import Context, Koa, Next
from aiokoa.testing import TestClient

from ...conftest import Serve
from ..conftest import MakeContext


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


def test_use_returns_the_function_so_the_decorated_name_stays_bound(context: MakeContext) -> None:
    app = Koa()

    @app.use
    async def powered_by(ctx: Context, next: Next) -> None:
        ctx.set("X-Powered-By", "aiokoa")
        await next()

    async def b(ctx: Context, next: Next) -> None:
        await next()

    assert inspect.iscoroutinefunction(powered_by)  # not the app: reusable, and testable alone
    assert app.use(b) is b
    assert app.middleware == [powered_by, b]
    ctx = context()
    downstream: list[str] = []

    async def next_() -> None:
        downstream.append("ran")

    asyncio.run(powered_by(ctx, next_))
    assert (ctx.response.get("X-Powered-By"), downstream) == ("aiokoa", ["ran"])


def test_use_adds_several_in_order_and_returns_none(serve: Serve) -> None:
    app = Koa()
    calls: list[int] = []

    def layer(n: int) -> Callable[[Context, Next], Awaitable[None]]:
        async def mw(ctx: Context, next: Next) -> None:
            calls.append(n)
            await next()

        return mw

    first, second, third = layer(1), layer(2), layer(3)
    assert app.use(first, second, third) is None
    app.use(layer(4))
    assert app.middleware[:3] == [first, second, third]
    assert serve(app).get("/").status_code == 404
    assert calls == [1, 2, 3, 4]


def test_use_adds_none_of_several_when_one_cannot_run() -> None:
    app = Koa()

    async def fine(ctx: Context, next: Next) -> None:
        await next()

    with pytest.raises(TypeError, match="middleware must be a function"):
        app.use(fine, "not a function")
    assert app.middleware == []
    with pytest.raises(TypeError, match="needs at least one middleware"):
        app.use()  # type: ignore[call-overload]


def test_use_gives_next_only_to_a_function_that_takes_it() -> None:
    app = Koa()
    seen: list[object] = []
    for i in range(3):

        @app.use
        async def keeps_its_default(ctx: Context, next: Next, i: int = i) -> None:
            seen.append(i)
            await next()

    @app.use
    async def answer(ctx: Context, i: int = 7) -> None:
        ctx.body = f"answered {i}"  # the last middleware: takes no next, keeps its default

    with TestClient(app) as client:
        assert client.get("/").text == "answered 7"
    assert seen == [0, 1, 2]


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
