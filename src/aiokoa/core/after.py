"""Work after the response: `ctx.after(fn, *args, **kwargs)`.

The work a request queues starts once its response is over: when its last message has gone
to the server, or when it can no longer go (the client left, an error came after the
headers were sent). It runs in a task of its own, in the order it was queued, so the
request's task ends and its connection serves the next request meanwhile. A coroutine
function is awaited; a plain function runs in a thread, as it may block. What one raises
goes to the app's `error` event with the request's ctx, never to the client, and the next
one runs all the same. The app's lifespan shutdown awaits the work still running, for up
to `app.after_timeout` seconds, then cancels it.

Nothing here runs for a request that queues no work: the first `ctx.after()` wraps the
request's send to see its last message.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .response import PATHSEND

if TYPE_CHECKING:
    from ..types import Message, Send
    from .application import Koa
    from .context import Context

Work = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class AfterResponse:
    """One request's queued work, started once its response is over."""

    __slots__ = ("ctx", "send", "work", "started")

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.send: Send = ctx._send
        self.work: list[Work] = []
        self.started = False
        ctx._send = self.sending

    def add(self, work: Work) -> None:
        self.work.append(work)
        if self.started:  # queued after the response was over: it starts now
            self._spawn()

    async def sending(self, message: Message) -> None:
        try:
            await self.send(message)
        finally:
            kind = message["type"]
            if (kind == "http.response.body" and not message.get("more_body", False)) or kind == PATHSEND:
                self.start()

    def start(self) -> None:
        """The response is over: start the work (once)."""
        if not self.started:
            self.started = True
            self._spawn()

    def _spawn(self) -> None:
        work, self.work = self.work, []
        task = asyncio.ensure_future(_run(self.ctx, work))
        pending = self.ctx.app.after_tasks
        pending.add(task)
        task.add_done_callback(pending.discard)


def queue(ctx: Context, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """`ctx.after(fn, *args, **kwargs)`."""
    if not callable(fn):
        raise TypeError(f"ctx.after() takes a function to call after the response, not {fn!r}")
    after = ctx._after
    if after is None:
        after = ctx._after = AfterResponse(ctx)
        if ctx._ended:  # the response was sent by hand (`ctx.send`) before
            after.start()
    after.add((fn, args, kwargs))


def response_over(ctx: Context) -> None:
    """The response is over without its last message (a client that left, an aborted
    response): the queued work starts now."""
    if ctx._after is not None:
        ctx._after.start()


async def _run(ctx: Context, work: list[Work]) -> None:
    for fn, args, kwargs in work:
        try:
            if inspect.iscoroutinefunction(fn):
                await fn(*args, **kwargs)
            else:
                result = await asyncio.to_thread(fn, *args, **kwargs)
                if inspect.isawaitable(result):
                    await result
        except Exception as err:
            ctx.app.emit("error", err, ctx)


async def drain(app: Koa) -> None:
    """Wait for the work still running, up to `app.after_timeout` seconds; cancel the rest."""
    pending = set(app.after_tasks)
    if not pending:
        return
    timeout = app.after_timeout
    _, late = await asyncio.wait(pending, timeout=timeout)
    if late:
        print(
            f"aiokoa: {len(late)} ctx.after() task(s) still running {timeout} s after shutdown began: cancelled",
            file=sys.stderr,
        )
        for task in late:
            task.cancel()
        await asyncio.wait(late)
