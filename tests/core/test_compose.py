"""koa-compose's tests (koajs/compose test/test.js), plus the Python middleware shapes."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from aiokoa import Context, Koa, MiddlewareError, Next, compose
from aiokoa.core.compose import adapt

from ..conftest import Serve
from .conftest import MakeContext


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


# -- which functions get `next` ----------------------------------------------------------


def got(ctx: Context, *values: object) -> None:
    ctx.state["got"] = values


async def only_ctx(ctx: Context) -> None:
    got(ctx)


async def named_next(ctx: Context, next: Next) -> None:
    got(ctx, "next")
    await next()


async def other_name(ctx: Context, nxt: Next) -> None:
    got(ctx, "next")
    await nxt()


async def keeps_default(ctx: Context, i: int = 7) -> None:
    got(ctx, i)


async def next_with_default(ctx: Context, next: Next | None = None) -> None:
    got(ctx, "next" if next else None)
    if next:
        await next()


async def keyword_next(ctx: Context, *, next: Next) -> None:
    got(ctx, "next")
    await next()


async def keyword_default(ctx: Context, *, i: int = 7) -> None:
    got(ctx, i)


async def star_args(ctx: Context, *args: Next) -> None:
    got(ctx, len(args))
    await args[0]()


def sync_keeps_default(ctx: Context, i: int = 7) -> None:
    got(ctx, i)


async def tagged(tag: str, ctx: Context, next: Next) -> None:
    got(ctx, tag)
    await next()


async def with_i(ctx: Context, i: int) -> None:
    got(ctx, i)


class Handler:
    async def __call__(self, ctx: Context) -> None:
        got(ctx, "object")

    async def show(self, ctx: Context, i: int = 7) -> None:
        got(ctx, "method", i)

    async def pass_on(self, ctx: Context, next: Next) -> None:
        got(ctx, "method", "next")
        await next()


class Passing:
    async def __call__(self, ctx: Context, next: Next) -> None:
        got(ctx, "object", "next")
        await next()


SHAPES: list[tuple[str, Any, tuple[object, ...], bool]] = [
    ("(ctx)", only_ctx, (), False),
    ("(ctx, next)", named_next, ("next",), True),
    ("(ctx, nxt)", other_name, ("next",), True),
    ("(ctx, i=i)", keeps_default, (7,), False),
    ("(ctx, next=None)", next_with_default, ("next",), True),
    ("(ctx, *, next)", keyword_next, ("next",), True),
    ("(ctx, *, i=i)", keyword_default, (7,), False),
    ("(ctx, *args)", star_args, (1,), True),
    ("def (ctx, i=i)", sync_keeps_default, (7,), False),
    ("partial(tag, ctx, next)", functools.partial(tagged, "p"), ("p",), True),
    ("partial(ctx, i), i=3", functools.partial(with_i, i=3), (3,), False),
    ("object (ctx)", Handler(), ("object",), False),
    ("object (ctx, next)", Passing(), ("object", "next"), True),
    ("method (ctx, i=i)", Handler().show, ("method", 7), False),
    ("method (ctx, next)", Handler().pass_on, ("method", "next"), True),
]


@pytest.mark.parametrize(("shape", "expected", "downstream"), [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES])
async def test_next_goes_only_to_a_function_that_takes_it(
    context: MakeContext, shape: Any, expected: tuple[object, ...], downstream: bool
) -> None:
    """A required second positional parameter (whatever its name), a parameter named `next`,
    or `*args` gets `next`; a parameter with a default keeps its default."""
    ran: list[bool] = []

    async def below(ctx: Context, next: Next) -> None:
        ran.append(True)

    ctx = context()
    await compose([shape, below])(ctx)
    assert (ctx.state["got"], ran == [True]) == (expected, downstream)


async def test_the_loop_idiom_keeps_each_default(context: MakeContext) -> None:
    handlers = []
    for i in range(3):

        async def handler(ctx: Context, i: int = i) -> None:
            got(ctx, i)

        handlers.append(handler)
    for i, handler in enumerate(handlers):
        ctx = context()
        await compose([handler])(ctx)
        assert ctx.state["got"] == (i,)


async def none(*, ctx: Context) -> None:
    pass


async def extra(ctx: Context, next: Next, user: str) -> None:
    pass


async def keyword_user(ctx: Context, *, user: str) -> None:
    pass


@pytest.mark.parametrize("shape", [none, extra, keyword_user], ids=["()", "(ctx, next, user)", "(ctx, *, user)"])
def test_a_function_that_cannot_be_called_is_rejected_at_compose_time(shape: Any) -> None:
    with pytest.raises(TypeError, match=r"but a middleware is called as fn\(ctx\) or fn\(ctx, next\)"):
        compose([shape])


def test_the_usual_shape_is_used_as_is() -> None:
    assert compose([named_next]).middleware == [named_next]  # type: ignore[attr-defined]
    assert adapt(named_next) is named_next  # no wrapper per layer for `async def mw(ctx, next)`
