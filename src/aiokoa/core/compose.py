"""koa-compose: many middleware become one, built once and run per request.

The chain is precomposed (see `_chain_code`): per request a layer costs the middleware's own
coroutine and one small frame. Every `next()` records the coroutine it hands out on the
context, so one check when the chain returns tells whether a middleware forgot to await it
(the coroutine never started) or left it running in a task (it is still suspended); no
per-layer wrapper coroutine is needed.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable
from functools import cache
from types import CodeType, CoroutineType
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from . import diagnostics, misuse

if TYPE_CHECKING:
    from .context import Context

Next: TypeAlias = Callable[[], Awaitable[Any]]
Middleware: TypeAlias = Callable[["Context", Next], Awaitable[Any]]
"""`async def mw(ctx, next)`: the one shape every middleware has once `use()` adapted it."""
Step: TypeAlias = Callable[["Context", "Next | None"], Awaitable[Any]]
"""A composed chain: `step(ctx, outer_next)` runs it, `outer_next` after its last layer."""


class _Done:
    """`await next()` below the last middleware: an awaitable that is already finished."""

    __slots__ = ()

    def __await__(self) -> Any:
        return iter(())


DONE: Awaitable[Any] = _Done()


def adapt(fn: Any) -> Middleware:
    """Accept every middleware shape once, at `use()`/compose time, never per request.

    `async def mw(ctx, next)` is used as is; `async def mw(ctx): ... yield ...` is Koa 1's
    generator style; a plain `def mw(ctx, next)` may return an awaitable (Koa's
    `(ctx, next) => next()`). Whether a function gets `next`, and how, is `passes_next`'s rule.
    """
    if inspect.isasyncgenfunction(fn):
        return _from_generator(fn)
    if not callable(fn):
        if inspect.iscoroutine(fn):
            fn.close()  # no "never awaited" warning on top of this error
            name = fn.__qualname__
            raise misuse.not_a_middleware(
                fn.cr_code, f"was called: use() got the coroutine {name}(...)", f"pass the function, `use({name})`"
            )
        raise TypeError(f"middleware must be a function, got {fn!r}")
    if inspect.isgeneratorfunction(fn):
        raise misuse.not_a_middleware(
            fn,
            "is a plain generator, which cannot await downstream",
            "write `async def mw(ctx, next)` with `await next()`, or `async def mw(ctx)` with `yield` (Koa 1 style)",
        )
    passing = passes_next(fn)
    is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__)
    if passing == "positional" and is_async:
        return fn  # type: ignore[no-any-return]
    call: Callable[[Context, Next], Any] = fn if passing == "positional" else _calling(fn, passing)
    # An async function's coroutine is the layer's awaitable itself: no wrapper coroutine.
    return _layer(call if is_async else _from_function(call), fn)


_LAYER = inspect.Signature([inspect.Parameter(name, inspect.Parameter.POSITIONAL_ONLY) for name in ("ctx", "next")])


def _layer(middleware: Any, fn: Any) -> Middleware:
    """`middleware`, made from `fn`, marked as the chain calls it."""
    middleware.__wrapped__ = fn  # misuse messages and traces name the user's function
    middleware.__qualname__ = getattr(fn, "__qualname__", type(fn).__qualname__)
    middleware.__signature__ = _LAYER  # adapted again (a mount, a trace), it is used as is
    return middleware  # type: ignore[no-any-return]


Passing: TypeAlias = Literal["positional", "keyword"] | None


def passes_next(fn: Any) -> Passing:
    """How `fn` gets `next`: "positional" (a required second positional parameter, whatever
    its name, one named `next`, or `*args`), "keyword" (a keyword-only `next`), or None (it
    takes only `ctx`; a parameter with a default keeps it, as `def h(ctx, i=i)` in a loop).

    Raises when `fn` can be called neither as `fn(ctx)` nor as `fn(ctx, next)`."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return "positional"  # a builtin or C callable: called as Koa calls it
    parameters = signature.parameters.values()
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    rest = positional[1:]
    varargs = any(p.kind is p.VAR_POSITIONAL for p in parameters)
    keyword = [p for p in parameters if p.kind is p.KEYWORD_ONLY]
    required = [p for p in rest if p.default is p.empty]
    stray = [p for p in keyword if p.default is p.empty and p.name != "next"]
    if (not positional and not varargs) or len(required) > 1 or stray:
        raise misuse.not_a_middleware(
            fn,
            f"takes {signature}, but a middleware is called as fn(ctx) or fn(ctx, next)",
            "take `ctx`, and `next` second when it runs what follows: `async def mw(ctx, next)`",
        )
    if required or (rest and rest[0].name == "next"):
        return "positional"
    if any(p.name == "next" for p in keyword):
        return "keyword"
    return "positional" if varargs and not rest else None


def _calling(fn: Callable[..., Any], passing: Passing) -> Callable[[Context, Next], Any]:
    """`fn` called as the chain calls every layer, `(ctx, next)`."""
    if passing == "keyword":

        def with_keyword(ctx: Context, next: Next) -> Any:
            return fn(ctx, next=next)

        return with_keyword

    def without_next(ctx: Context, next: Next) -> Any:
        return fn(ctx)

    return without_next


def _from_function(fn: Callable[[Context, Next], Any]) -> Middleware:
    async def sync_middleware(ctx: Context, next: Next) -> Any:
        result = fn(ctx, next)
        return await result if inspect.isawaitable(result) else result

    return sync_middleware


def _from_generator(fn: Callable[[Context], Any]) -> Middleware:
    async def generator_middleware(ctx: Context, next: Next) -> None:
        gen = fn(ctx)
        try:
            await gen.__anext__()  # up to `yield`
        except StopAsyncIteration:
            return  # never yielded: downstream does not run
        try:
            await next()
        except Exception as err:
            try:
                await gen.athrow(err)  # `try: yield except ...` sees downstream's error
            except StopAsyncIteration:
                return
        else:
            try:
                await gen.__anext__()
            except StopAsyncIteration:
                return
        await gen.aclose()
        raise misuse.MiddlewareError(
            f"{misuse.describe(fn)} yielded more than once; yield hands control downstream once"
        )

    return _layer(generator_middleware, fn)


def flatten(middleware: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for fn in middleware:
        if isinstance(fn, (list, tuple)):
            out.extend(flatten(fn))
        else:
            out.append(fn)
    return out


def chain(middleware: Iterable[Any], *, late: bool = False, checked: bool = False) -> Step:
    """The precomposed chain: `step(ctx, outer_next)` returns the first layer's awaitable.

    With `late` (the app's chain in development), a `next()` called after the response
    was sent raises a clear error instead of running downstream for nobody; it costs one
    check per layer, so production chains are built without it. With `checked` (the chains
    of a development app and of its routers), each middleware is wrapped by the development
    checks (`diagnostics`); a chain that is both is the app's own, whose first layer reports
    a value returned where no body was set."""
    fns = [adapt(fn) for fn in flatten(middleware)]
    if checked:
        for fn in fns:
            check_routes = getattr(inspect.unwrap(fn), "check_routes", None)
            if check_routes is not None:
                check_routes()  # a router's route chains get the same checks
        fns = diagnostics.watched(fns, outermost=late)
    return make_step(tuple(fns), late)


def python_step(fns: tuple[Any, ...], late: bool) -> Step:
    """The step of a chain of `fns`, as generated Python (see `_chain_code`)."""
    namespace: dict[str, Any] = {f"f{k}": fn for k, fn in enumerate(fns)}
    namespace.update(
        __name__=__name__, DONE=DONE, twice=misuse.next_called_twice, late=misuse.next_called_late, new=object.__new__
    )
    exec(_chain_code(len(fns), late), namespace)
    start = namespace["start"]
    start.layers = fns
    return start  # type: ignore[no-any-return]


make_step: Callable[[tuple[Any, ...], bool], Step] = python_step
"""What `chain` makes its step with: `python_step`, or a twin with the same behaviour
(`aiokoa.core.implementations.use` puts the C extension's here)."""


@cache
def _chain_code(layers: int, late: bool = False) -> CodeType:
    """Code for a chain of `layers` middleware, compiled once per length.

    Hot path, generated on purpose: each layer's `next` is the bound method `run.s{k+1}`,
    found by a literal attribute name (the fastest lookup CPython has), so a layer costs
    its own coroutine plus one small frame; no closure or cell per layer per request.
    Koa's rule for a second `next()` (`i <= index`) is kept as is. For 2 layers:

        class Run:
            __slots__ = ("ctx", "outer", "index")
            def s1(self):                      # the `next` given to layer 0
                if 1 <= self.index:
                    raise twice(f0)
                self.index = 1
                ctx = self.ctx
                awaitable = ctx._pending = f1(ctx, self.s2)
                ctx._pending_by = f0
                return awaitable
            def s2(self): ...                  # below the last layer: the outer next
        def start(ctx, outer): ...             # run = Run(); return f0(ctx, run.s1)
    """
    lines = ["class Run:", "    __slots__ = ('ctx', 'outer', 'index')"]
    for k in range(1, layers):
        lines += [
            f"    def s{k}(self):",
            f"        if {k} <= self.index:",
            f"            raise twice(f{k - 1})",
            f"        self.index = {k}",
            "        ctx = self.ctx",
            *([f"        if ctx._finished: raise late(ctx, f{k - 1})"] if late else []),
            f"        awaitable = ctx._pending = f{k}(ctx, self.s{k + 1})",
            f"        ctx._pending_by = f{k - 1}",
            "        return awaitable",
        ]
    lines += [
        f"    def s{layers}(self):",
        f"        if {layers} <= self.index:",
        f"            raise twice(f{layers - 1})",
        f"        self.index = {layers}",
        *([f"        if self.ctx._finished: raise late(self.ctx, f{layers - 1})"] if late else []),
        "        outer = self.outer",
        "        return outer() if outer is not None else DONE",
        "def start(ctx, outer):",
        f"    if not {layers}:",
        "        return outer() if outer is not None else DONE",
        "    run = new(Run)",
        "    run.ctx = ctx",
        "    run.outer = outer",
        "    run.index = 0",
        "    return f0(ctx, run.s1)",
    ]
    return compile("\n".join(lines), f"<aiokoa chain of {layers}{' (checked)' if late else ''}>", "exec")


def check_downstream(ctx: Context) -> None:
    """Raise if the last `next()` handed out was never awaited or is still running."""
    pending = ctx._pending
    if pending is None or type(pending) is not CoroutineType or pending.cr_frame is None or pending.cr_running:
        return  # finished, or an enclosing chain's layer that is running right now
    owner = ctx._pending_by
    if pending.cr_suspended or any(task.get_coro() is pending for task in asyncio.all_tasks()):
        raise misuse.next_still_running(owner)  # started in a task: it runs for nobody
    pending.close()  # nobody will ever run it: no late "never awaited" warning
    raise misuse.next_not_awaited(owner)


def compose(*middleware: Any) -> Callable[..., Awaitable[Any]]:
    """One middleware from many (koa-compose): `await composed(ctx)` or used as a middleware.

    Takes a list (as Koa) or the middleware themselves; nested lists are flattened. Return
    values propagate upstream, and the `next` given to the composed function runs after the
    last middleware, which is how routers nest chains.
    """
    if len(middleware) == 1 and isinstance(middleware[0], (list, tuple)):
        middleware = tuple(middleware[0])
    elif any(not callable(fn) and not isinstance(fn, (list, tuple)) for fn in middleware):
        raise TypeError("Middleware stack must be a list of functions")
    step = chain(middleware)

    async def composed(ctx: Context, next: Next | None = None) -> Any:
        result = await step(ctx, next)
        check_downstream(ctx)
        return result

    composed.middleware = flatten(middleware)  # type: ignore[attr-defined]
    return composed
