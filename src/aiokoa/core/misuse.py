"""Clear messages for the classic middleware mistakes.

Everything here runs only once a mistake has happened, so it may be slow: it walks frames
and code objects to say *where* the mistake is, in terms of the user's own middleware.
"""

from __future__ import annotations

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


def _code_of(fn: Any) -> CodeType | None:
    fn = inspect.unwrap(fn)
    code = getattr(fn, "__code__", None)
    if code is None and callable(fn):
        code = getattr(type(fn).__call__, "__code__", None)
    return code if isinstance(code, CodeType) else None


def describe(fn: Any) -> str:
    """`name (file:line)` for a middleware, as a user would search for it."""
    name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    code = _code_of(fn)
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
    candidates = [(fn, _code_of(fn)) for fn in middleware]
    while frame is not None:
        for fn, code in candidates:
            if code is not None and _contains(code, frame.f_code):
                return fn
        frame = frame.f_back
    return None


def response_sent(ctx: Context, field: str) -> ResponseSentError:
    """The error for `ctx.<field>` changed after the response went out (the classic Koa 404)."""
    frame = _user_frame(3)
    where = f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_qualname}" if frame else "?"
    owner = _middleware_for(frame, ctx.app.middleware)
    sent = f"{ctx._status} {ctx.message}"
    lines = [
        f"ctx.{field} was changed after the response to {ctx.method} {ctx.original_url} "
        f"had already been sent ({sent}); the change is lost.",
        f"  changed at: {where}",
    ]
    if owner is not None:
        lines.append(f"  middleware: {describe(owner)}")
    lines += [
        "The middleware returned before this code ran (a callback or task nobody awaited),",
        "so the response was sent without it.",
        "Fix: await the work inside the middleware before it returns, e.g.",
        "    await asyncio.sleep(0.1)             # not loop.call_later(0.1, callback)",
        "    ctx.body = await fetch_result()      # not asyncio.create_task(...) left running",
        "  or turn a callback API into a Future (loop.create_future()) and await it.",
        f"See {DOCS}#async-work-done-right",
    ]
    return ResponseSentError("\n".join(lines))


def next_called_twice(fn: Any) -> MiddlewareError:
    return MiddlewareError(
        f"next() called multiple times in middleware {describe(fn)}.\n"
        "Each middleware may call next() once: it runs everything downstream.\n"
        f"Fix: call `await next()` exactly once. See {DOCS}#the-order"
    )


def next_not_awaited(fn: Any) -> MiddlewareError:
    return MiddlewareError(
        f"next() was called but not awaited in middleware {describe(fn)}, so nothing "
        "downstream ran.\n"
        "Fix: write `await next()` (or `return await next()`). See "
        f"{DOCS}#the-order"
    )


def next_still_running(fn: Any) -> MiddlewareError:
    return MiddlewareError(
        f"middleware {describe(fn)} returned while the downstream it started with next() "
        "was still running, so the response would be sent before downstream finished.\n"
        f"Fix: await next() instead of running it in a task or callback. See {DOCS}#the-order"
    )
