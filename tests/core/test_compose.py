"""koa-compose's tests (koajs/compose test/test.js), plus the Python middleware shapes."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from aiokoa import Context, Koa, MiddlewareError, Next, compose

MakeContext = Callable[..., Context]
Serve = Callable[..., httpx.Client]


async def wait() -> None:
    await asyncio.sleep(0.001)


def recording(calls: list[int], before: int, after: int) -> Callable[[Context, Next], Awaitable[None]]:
    async def mw(ctx: Context, next: Next) -> None:
        calls.append(before)
        await wait()
        await next()
        await wait()
        calls.append(after)

    return mw


async def test_runs_middleware_in_onion_order(context: MakeContext) -> None:
    calls: list[int] = []
    stack = [recording(calls, 1, 6), recording(calls, 2, 5), recording(calls, 3, 4)]
    await compose(stack)(context())
    assert calls == [1, 2, 3, 4, 5, 6]


async def test_composition_can_be_called_twice(context: MakeContext) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.state.setdefault("calls", []).append(1)
        await wait()
        await next()
        ctx.state["calls"].append(2)

    fn = compose([mw, mw])
    first, second = context(), context()
    await fn(first)
    await fn(second)
    assert first.state["calls"] == [1, 1, 2, 2]
    assert second.state["calls"] == [1, 1, 2, 2]


@pytest.mark.parametrize("stack", [None, 42, "not a list", {}], ids=repr)
def test_only_accepts_a_list_of_middleware(stack: Any) -> None:
    with pytest.raises(TypeError):
        compose(stack)


async def test_next_returns_an_awaitable(context: MakeContext) -> None:
    seen: list[bool] = []

    async def mw(ctx: Context, next: Next) -> None:
        pending = next()
        seen.append(inspect.isawaitable(pending))
        await pending

    async def last(ctx: Context, next: Next) -> None:
        pass

    await compose([mw, mw, last])(context())
    assert seen == [True, True]


async def test_works_with_no_middleware(context: MakeContext) -> None:
    assert await compose([])(context()) is None


@pytest.mark.parametrize("bad", [{}, None, 42, "fn"], ids=repr)
def test_only_accepts_functions_as_middleware(bad: Any) -> None:
    with pytest.raises(TypeError, match="middleware must be a function"):
        compose([bad])


async def test_outer_next_must_be_callable(context: MakeContext) -> None:
    with pytest.raises(TypeError):
        await compose([])(context(), "Not None, not a function")


async def test_awaiting_next_at_the_end_of_the_stack_works(context: MakeContext) -> None:
    called = []

    async def mw(ctx: Context, next: Next) -> None:
        await next()
        called.append(True)

    await compose([mw])(context())
    assert called == [True]


async def test_errors_in_middleware_propagate(context: MakeContext) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await compose([mw])(context())


async def test_every_middleware_gets_the_same_context(context: MakeContext) -> None:
    ctx = context()
    seen: list[Context] = []

    async def mw(ctx2: Context, next: Next) -> None:
        await next()
        seen.append(ctx2)

    await compose([mw, mw, mw])(ctx)
    assert len(seen) == 3
    assert all(item is ctx for item in seen)


async def test_upstream_catches_downstream_errors(context: MakeContext) -> None:
    calls: list[int] = []

    async def first(ctx: Context, next: Next) -> None:
        calls.append(1)
        try:
            calls.append(6)
            await next()
            calls.append(7)
        except RuntimeError:
            calls.append(2)
        calls.append(3)

    async def second(ctx: Context, next: Next) -> None:
        calls.append(4)
        raise RuntimeError("downstream")

    await compose([first, second])(context())
    assert calls == [1, 6, 4, 2, 3]


async def test_outer_next_runs_after_the_last_middleware(context: MakeContext) -> None:
    called: list[str] = []

    async def outer() -> None:
        called.append("outer")

    await compose([])(context(), outer)
    assert called == ["outer"]


async def test_sync_throw_in_a_plain_function_propagates(context: MakeContext) -> None:
    def mw(ctx: Context, next: Next) -> None:
        raise ValueError("sync")

    with pytest.raises(ValueError, match="sync"):
        await compose([mw])(context())


async def test_compositions_compose(context: MakeContext) -> None:
    called: list[int] = []

    def step(number: int) -> Callable[[Context, Next], Awaitable[Any]]:
        def mw(ctx: Context, next: Next) -> Awaitable[Any]:
            called.append(number)
            return next()

        return mw

    await compose([compose([step(1), step(2)]), step(3)])(context())
    assert called == [1, 2, 3]


async def test_calling_next_twice_raises(context: MakeContext) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        await next()
        await next()

    with pytest.raises(MiddlewareError, match="multiple times"):
        await compose([mw])(context())


def test_composition_is_a_valid_app_middleware(serve: Serve) -> None:
    calls: list[str] = []

    def counted(name: str) -> Callable[[Context, Next], Awaitable[Any]]:
        def mw(ctx: Context, next: Next) -> Awaitable[Any]:
            calls.append(name)
            return next()

        return mw

    async def body(ctx: Context, next: Next) -> None:
        ctx.body = ",".join(calls)

    app = Koa()
    app.use(compose([compose([counted("a"), counted("b")]), counted("c")]))
    app.use(body)
    assert serve(app).get("/").text == "a,b,c"


async def test_return_values_propagate_upstream(context: MakeContext) -> None:
    seen: list[Any] = []

    async def first(ctx: Context, next: Next) -> int:
        seen.append(await next())
        return 1

    async def second(ctx: Context, next: Next) -> int:
        seen.append(await next())
        return 2

    async def outer() -> int:
        return 0

    assert await compose([first, second])(context(), outer) == 1
    assert seen == [0, 2]


def test_compose_does_not_change_the_middleware_list() -> None:
    def fn1(ctx: Context, next: Next) -> Awaitable[Any]:
        return next()

    middleware: list[Any] = [fn1, [fn1]]
    compose(middleware)
    assert middleware == [fn1, [fn1]]


async def test_outer_next_is_called_once_and_does_not_get_stuck(context: MakeContext) -> None:
    ctx = context()
    ctx.state.update(middleware=0, next=0)

    def mw(ctx: Context, next: Next) -> Awaitable[Any]:
        ctx.state["middleware"] += 1
        return next()

    async def outer() -> None:
        ctx.state["next"] += 1

    await compose([mw])(ctx, outer)
    assert ctx.state == {"middleware": 1, "next": 1}


async def test_nested_lists_are_flattened(context: MakeContext) -> None:
    calls: list[int] = []
    stack: list[Any] = [recording(calls, 1, 6), [recording(calls, 2, 5), [recording(calls, 3, 4)]]]
    fn = compose(stack)
    assert len(fn.middleware) == 3  # type: ignore[attr-defined]
    await fn(context())
    assert calls == [1, 2, 3, 4, 5, 6]


async def test_variadic_middleware_compose_like_a_list(context: MakeContext) -> None:
    calls: list[int] = []
    await compose(recording(calls, 1, 4), recording(calls, 2, 3))(context())
    assert calls == [1, 2, 3, 4]


# -- Python's middleware shapes ------------------------------------------------------------


async def test_generator_middleware_runs_around_yield(context: MakeContext) -> None:
    calls: list[str] = []

    async def around(ctx: Context) -> AsyncIterator[None]:
        calls.append("before")
        yield
        calls.append("after")

    async def inner(ctx: Context, next: Next) -> None:
        calls.append("inner")

    await compose([around, inner])(context())
    assert calls == ["before", "inner", "after"]


async def test_generator_middleware_sees_downstream_errors_at_yield(context: MakeContext) -> None:
    caught: list[str] = []

    async def handler(ctx: Context) -> AsyncIterator[None]:
        try:
            yield
        except ValueError as err:
            caught.append(str(err))
            ctx.body = "handled"

    async def thrower(ctx: Context, next: Next) -> None:
        raise ValueError("thrown in at yield")

    ctx = context()
    await compose([handler, thrower])(ctx)
    assert caught == ["thrown in at yield"]
    assert ctx.body == "handled"


async def test_generator_middleware_lets_uncaught_errors_through(context: MakeContext) -> None:
    cleaned: list[bool] = []

    async def cleanup(ctx: Context) -> AsyncIterator[None]:
        try:
            yield
        finally:
            cleaned.append(True)

    async def thrower(ctx: Context, next: Next) -> None:
        raise KeyError("nope")

    with pytest.raises(KeyError):
        await compose([cleanup, thrower])(context())
    assert cleaned == [True]


async def test_generator_middleware_that_never_yields_stops_the_chain(context: MakeContext) -> None:
    calls: list[str] = []

    async def gate(ctx: Context) -> AsyncIterator[None]:
        calls.append("gate")
        if False:
            yield

    async def inner(ctx: Context, next: Next) -> None:
        calls.append("inner")

    await compose([gate, inner])(context())
    assert calls == ["gate"]


async def test_generator_middleware_yielding_twice_is_an_error(context: MakeContext) -> None:
    async def twice(ctx: Context) -> AsyncIterator[None]:
        yield
        yield

    with pytest.raises(MiddlewareError, match="yielded more than once"):
        await compose([twice])(context())


async def test_plain_function_returning_next_is_middleware(context: MakeContext) -> None:
    calls: list[str] = []

    def passthrough(ctx: Context, next: Next) -> Awaitable[Any]:
        calls.append("plain")
        return next()

    async def inner(ctx: Context, next: Next) -> str:
        calls.append("inner")
        return "value"

    assert await compose([passthrough, inner])(context()) == "value"
    assert calls == ["plain", "inner"]


def test_plain_generator_function_is_rejected() -> None:
    def gen(ctx: Context) -> Any:
        yield

    with pytest.raises(TypeError, match="plain generator"):
        compose([gen])


async def test_next_not_awaited_is_reported(context: MakeContext) -> None:
    """koa-compose (dev) rejects a middleware that resolves before downstream; in Python an
    un-awaited next() never runs downstream at all."""
    ran: list[bool] = []

    def forgetful(ctx: Context, next: Next) -> None:
        next()

    async def inner(ctx: Context, next: Next) -> None:
        ran.append(True)

    with pytest.raises(MiddlewareError, match="not awaited"):
        await compose([forgetful, inner])(context())
    assert ran == []


async def test_next_left_running_in_a_task_is_reported(context: MakeContext) -> None:
    release = asyncio.Event()

    async def detached(ctx: Context, next: Next) -> None:
        ctx.state["task"] = asyncio.ensure_future(next())
        await asyncio.sleep(0)

    async def slow(ctx: Context, next: Next) -> None:
        await release.wait()

    ctx = context()
    with pytest.raises(MiddlewareError, match="still running"):
        await compose([detached, slow])(ctx)
    release.set()
    await ctx.state["task"]
