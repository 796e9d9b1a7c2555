"""The ASGI lifespan of an app: what runs before the first request and after the last.

Startup enters `Koa(lifespan=fn)`'s context (`fn(app)`, an async context manager such as
an `@asynccontextmanager` function), whose yielded mapping becomes the lifespan state every
request reads as `ctx.lifespan_state`, then awaits the `startup` listeners in turn.
Shutdown awaits the work still running from `ctx.after()` (up to `app.after_timeout`
seconds), the `shutdown` listeners, then leaves the lifespan context: the reverse order,
so that what startup opened is still open for what shutdown runs.

A failure in either phase is told to the server as `lifespan.<phase>.failed` with a message
naming the phase and the error, and its traceback is printed on stderr: uvicorn and granian
then stop with that message instead of serving an app whose startup did not finish.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .after import drain

if TYPE_CHECKING:
    from ..types import Receive, Scope, Send
    from .application import Koa


async def lifespan(app: Koa, scope: Scope, receive: Receive, send: Send) -> None:
    async with contextlib.AsyncExitStack() as resources:
        await receive()  # lifespan.startup
        try:
            if app.lifespan is not None:
                state = await resources.enter_async_context(app.lifespan(app))
                if state is not None:
                    if not isinstance(state, Mapping):
                        raise TypeError(f"Koa(lifespan=...) yields a mapping (its state) or None, not {state!r}")
                    app.lifespan_state = dict(state)
                    if "state" in scope:  # the server copies it into each request's scope
                        scope["state"].update(state)
            await app.emit_async("startup")
        except Exception as err:
            # The server sends nothing after a failure: waiting for another message would
            # keep this coroutine pending forever.
            await send({"type": "lifespan.startup.failed", "message": _failure("startup", err)})
            return
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        try:
            await drain(app)
            await app.emit_async("shutdown")
            await resources.aclose()
        except Exception as err:
            await send({"type": "lifespan.shutdown.failed", "message": _failure("shutdown", err)})
            return
        await send({"type": "lifespan.shutdown.complete"})


def _failure(phase: str, err: BaseException) -> str:
    """The failure's traceback on stderr, and one line for the server to log."""
    text = "".join(traceback.format_exception(err)).rstrip("\n")
    print(f"aiokoa: the app's {phase} failed\n{text}", file=sys.stderr, flush=True)
    return f"aiokoa: {phase} failed: {type(err).__name__}: {err}"
