"""Clear messages for the classic middleware mistakes.

Everything here runs only once a mistake has happened, so it may be slow: it walks frames
and code objects to say *where* the mistake is, in terms of the user's own middleware.
"""

from __future__ import annotations

import dis
import inspect
import sys
from collections.abc import Iterable
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .context import Context

DOCS = "aiokoa docs/onion.md"


class MiddlewareError(RuntimeError):
    """A middleware broke the onion's contract (next() twice, not awaited, left running)."""

    __module__ = "aiokoa"


class ResponseSentError(RuntimeError):
    """The response was changed after it had been sent; the change cannot reach the client."""

    __module__ = "aiokoa"


def code_of(fn: Any) -> CodeType | None:
    """The code object of a middleware: of the function it wraps, or of its `__call__`."""
    fn = inspect.unwrap(fn)
    code = getattr(fn, "__code__", None)
    if code is None and callable(fn):
        code = getattr(type(fn).__call__, "__code__", None)
    return code if isinstance(code, CodeType) else None


def describe(fn: Any) -> str:
    """`name (file:line)` for a middleware (or its code), as a user would search for it."""
    if isinstance(fn, CodeType):
        return f"{fn.co_qualname} ({fn.co_filename}:{fn.co_firstlineno})"
    name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    code = code_of(fn)
    return f"{name} ({code.co_filename}:{code.co_firstlineno})" if code else str(name)


def _contains(outer: CodeType, inner: CodeType) -> bool:
    if outer is inner:
        return True
    return any(isinstance(c, CodeType) and _contains(c, inner) for c in outer.co_consts)


def _user_frame(depth: int) -> FrameType | None:
    frame: FrameType | None = sys._getframe(depth)
    package = __name__.rsplit(".", 2)[0] + "."
    while frame is not None and frame.f_globals.get("__name__", "").startswith(package):
        frame = frame.f_back
    return frame


def _middleware_for(frame: FrameType | None, middleware: Iterable[Any]) -> Any:
    candidates = [(fn, code_of(fn)) for fn in middleware]
    while frame is not None:
        for fn, code in candidates:
            if code is not None and _contains(code, frame.f_code):
                return fn
        frame = frame.f_back
    return None


def response_sent(ctx: Context, field: str) -> ResponseSentError:
    """The error for `ctx.<field>` changed after the response went out (the classic Koa 404),
    or, while the chain still runs, after its headers went out (`flush_headers()`)."""
    frame = _user_frame(3)
    where = f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_qualname}" if frame else "?"
    owner = _middleware_for(frame, ctx.app.middleware)
    # A response sent through ctx.send has a status aiokoa never saw.
    sent = "" if ctx.respond is False else f" ({ctx._status} {ctx.message})"
    change = "was called" if field.endswith(")") else "was changed"
    what = "response" if ctx._finished or ctx._ended else "headers of the response"
    lines = [
        f"ctx.{field} {change} after the {what} to {ctx.method} {ctx.original_url} "
        f"had already been sent{sent}; the change is lost.",
        f"  changed at: {where}",
    ]
    if owner is not None:
        lines.append(f"  middleware: {describe(owner)}")
    lines += _LATE if ctx._finished else _FLUSHED
    return ResponseSentError("\n".join(lines))


_LATE = [
    "The middleware returned before this code ran (a callback or task nobody awaited),",
    "so the response was sent without it.",
    "Fix: await the work inside the middleware before it returns, e.g.",
    "    await asyncio.sleep(0.1)             # not loop.call_later(0.1, callback)",
    "    ctx.body = await fetch_result()      # not asyncio.create_task(...) left running",
    "  or turn a callback API into a Future (loop.create_future()) and await it.",
    f"See {DOCS}#async-work-done-right",
]
_FLUSHED = [
    "The status and headers went out with `await ctx.flush_headers()` (or through ctx.send);",
    "only the body can follow them.",
    "Fix: set the status and every header before `await ctx.flush_headers()`. A middleware",
    "  that runs after downstream streamed its response checks `ctx.header_sent` first.",
    f"See {DOCS}#streaming",
]


def _called_at(depth: int) -> str:
    """`  called at: file:line in function` for the user's code that called into aiokoa."""
    frame = _user_frame(depth + 1)
    if frame is None:
        return ""
    return f"\n  called at: {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_qualname}"


def next_called_twice(fn: Any) -> MiddlewareError:
    return MiddlewareError(
        f"next() called multiple times in middleware {describe(fn)}.{_called_at(2)}\n"
        "Each middleware may call next() once: it runs everything downstream.\n"
        f"Fix: call `await next()` exactly once. See {DOCS}#the-order"
    )


def next_not_awaited(fn: Any) -> MiddlewareError:
    line = _unawaited_next(fn)
    at = f"\n  next() at: {line}" if line else ""
    return MiddlewareError(
        f"next() was called but not awaited in middleware {describe(fn)}, so nothing "
        f"downstream ran.{at}\n"
        "Fix: write `await next()` (or `return await next()`). See "
        f"{DOCS}#the-order"
    )


def next_still_running(fn: Any) -> MiddlewareError:
    return MiddlewareError(
        f"middleware {describe(fn)} returned while the downstream it started with next() "
        "was still running (or scheduled) in a task or callback, so the response would be "
        "sent before downstream finished.\n"
        "Fix: `await next()` in the middleware itself; await any task you start before "
        f"returning. See {DOCS}#async-work-done-right"
    )


def next_called_late(ctx: Context, fn: Any) -> MiddlewareError:
    """`next()` called by a callback or task after the request's chain had finished."""
    return MiddlewareError(
        f"next() was called after the response to {ctx.method} {ctx.original_url} had already "
        f"been sent ({ctx._status} {ctx.message}); nothing downstream of middleware "
        f"{describe(fn)} can run now.{_called_at(2)}\n"
        "The middleware returned before calling next(): it handed next to a callback or task "
        "that nobody awaited.\n"
        "Fix: await the callback's result inside the middleware (wrap it in a Future), then "
        f"`await next()` there. See {DOCS}#async-work-done-right"
    )


def not_a_middleware(fn: Any, problem: str, fix: str) -> TypeError:
    """The `use()`-time rejection of something that can never run as `(ctx, next)`."""
    return TypeError(f"{describe(fn)} {problem}.\nFix: {fix}. See {DOCS}#the-order")


def _unawaited_next(fn: Any) -> str | None:
    """`file:line` of a `next()` call in `fn` whose result is not awaited (best effort).

    Reads the bytecode: a call of the second parameter whose result is dropped."""
    code = code_of(fn)
    if code is None or code.co_argcount < 2:
        return None
    name = code.co_varnames[1]
    instructions = list(dis.get_instructions(code))
    for index, ins in enumerate(instructions):
        if ins.opname == "LOAD_FAST" and ins.argval == name:
            rest = [i.opname for i in instructions[index + 1 : index + 5]]
            call = next((k for k, op in enumerate(rest) if op.startswith("CALL")), None)
            if call is not None and rest[call + 1 : call + 2] == ["POP_TOP"]:
                # The call's own position (`starts_line` became a bool in 3.13).
                line = ins.positions.lineno if ins.positions else None
                return f"{code.co_filename}:{line}" if line else None
    return None
