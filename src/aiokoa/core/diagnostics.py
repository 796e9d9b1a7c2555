"""Development checks: the mistakes that raise nothing, only a surprise response.

A development app (`app.env != "production"`) composes its chain, and the chains of the
routers in it, with each middleware wrapped here; it also makes its contexts from a class
that checks new attribute names. Production chains and contexts are built without any of
this and pay nothing for it. Each finding is logged once per middleware, as a warning on
the `aiokoa` logger, with the function's `file:line` and the fix.
"""

from __future__ import annotations

import logging
import threading
import types
from collections.abc import Generator
from time import perf_counter
from typing import TYPE_CHECKING, Any

from .misuse import DOCS, describe

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from .compose import Middleware, Next
    from .context import Context

log = logging.getLogger("aiokoa")

BLOCKING = 0.1
"""Seconds a middleware may run without awaiting before it is reported."""


class _Clock(threading.local):
    """Seconds spent, during the current step, in the steps of wrapped middleware below."""

    below = 0.0


_clock = _Clock()


def watched(fns: list[Middleware], *, outermost: bool) -> list[Middleware]:
    """`fns` each wrapped by the checks; with `outermost` (an app's own chain), its first
    layer also reports a value returned where no body was set, once the chain is done."""
    return [_watch(fn, outermost=outermost and index == 0) for index, fn in enumerate(fns)]


def _watch(fn: Middleware, *, outermost: bool) -> Middleware:
    reported: set[str] = set()

    async def checked(ctx: Context, next: Next) -> Any:
        result = await _timed(fn(ctx, next), fn, ctx, reported)
        if result is not None and getattr(ctx, "_returned_by", None) is None:
            ctx._returned_by = (fn, result, reported)  # the innermost middleware that returned it
        if outermost:
            _returned_without_body(ctx)
        return result

    checked.__wrapped__ = fn  # type: ignore[attr-defined]  # misuse messages name the user's function
    checked.__qualname__ = getattr(fn, "__qualname__", checked.__qualname__)
    return checked


@types.coroutine
def _timed(awaitable: Awaitable[Any], fn: Any, ctx: Context, reported: set[str]) -> Generator[Any, Any, Any]:
    """`await awaitable`, timing each step it runs without awaiting (`yield from`'s rules).

    A step's own time leaves out the steps of the wrapped middleware it ran below, so a
    middleware whose downstream blocked is not blamed for it."""
    steps = awaitable.__await__()
    clock = _clock
    sending: Any = None
    thrown: BaseException | None = None
    while True:
        above = clock.below
        clock.below = 0.0
        start = perf_counter()
        try:
            signal = steps.send(sending) if thrown is None else steps.throw(thrown)
        except StopIteration as stop:
            return stop.value
        finally:
            spent = perf_counter() - start
            own = spent - clock.below
            clock.below = above + spent
            if own > BLOCKING and "blocking" not in reported:
                reported.add("blocking")
                _blocked(fn, ctx, own)
        try:
            sending, thrown = (yield signal), None
        except GeneratorExit:
            steps.close()
            raise
        except BaseException as err:  # a cancellation or thrown error goes down to the middleware
            sending, thrown = None, err


def _blocked(fn: Any, ctx: Context, seconds: float) -> None:
    log.warning(
        "%s held the event loop for %d ms without awaiting (in %s %s): no other request ran meanwhile.\n"
        "Fix: await an async version of the slow call, or run it in a thread: "
        "`await asyncio.to_thread(slow_call, ...)`. See %s#blocking-the-event-loop",
        describe(fn),
        seconds * 1000,
        ctx.method,
        ctx.original_url,
        DOCS,
    )


def _returned_without_body(ctx: Context) -> None:
    returned = getattr(ctx, "_returned_by", None)
    if returned is None or ctx._body is not None or ctx._explicit_null_body:
        return
    if not ctx.respond or ctx._header_sent or ctx._ended:
        return  # the middleware answered through ctx.send itself
    fn, value, reported = returned
    if "returned" in reported:
        return
    reported.add("returned")
    kind = type(value).__name__
    log.warning(
        "%s returned a %s; set `ctx.body = ...`: return values are not sent, so %s %s was answered "
        "%d %s. See %s#the-response-is-ctxbody",
        describe(fn),
        kind,
        ctx.method,
        ctx.original_url,
        ctx._status,
        ctx.message,
        DOCS,
    )


# -- ctx.<typo> = value ----------------------------------------------------------------


def checked_context(cls: type[Context]) -> type[Context]:
    """A subclass of `cls` whose contexts refuse a new attribute named one or two letters
    away from one of theirs (`ctx.bodyy = ...`); any other name is set as usual."""
    fine: set[str] = set()

    def __setattr__(self: Context, name: str, value: Any) -> None:
        if name not in fine and not hasattr(type(self), name):
            member = close_member(type(self), name)
            if member is not None:
                raise AttributeError(
                    f"ctx.{name} = ...: {name!r} is not a context attribute; did you mean {member!r}? "
                    f"aiokoa never reads ctx.{name}, so the value would be lost. For your own data, use "
                    f"ctx.state[{name!r}] (or a name further from ctx's own). See {DOCS}#your-own-data-on-ctx",
                    name=name,
                    obj=self,
                )
            fine.add(name)
        object.__setattr__(self, name, value)

    return type(cls.__name__, (cls,), {"__setattr__": __setattr__, "__slots__": (), "__module__": cls.__module__})


def close_member(cls: type, name: str) -> str | None:
    """The public attribute of `cls` that `name` misspells, if any: one edit away for names of
    up to five letters, two for longer ones; names under four letters are never suspected."""
    if len(name) < 4 or name.startswith("_"):
        return None
    limit = 1 if len(name) <= 5 else 2
    best: tuple[int, str] | None = None
    for member in dir(cls):
        if member.startswith("_") or abs(len(member) - len(name)) > limit:
            continue
        distance = _edits(name, member)
        if distance <= limit and (best is None or distance < best[0]):
            best = (distance, member)
    return best[1] if best else None


def _edits(a: str, b: str) -> int:
    """Insertions, deletions, substitutions and swaps of neighbours that turn `a` into `b`."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]
