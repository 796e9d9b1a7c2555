"""The app the real-socket tests of event streams, lifespan and `ctx.after()` run on uvicorn
and granian, as processes of their own; `/counts` tells what happened inside.

    GET /events     three events (multi-line text, JSON, one with an id), the ones after
                    `Last-Event-ID` when the client sends it, then waits until the client leaves
    GET /quiet      an event stream with nothing to say, pinging every 0.1 s
    GET /state      what the lifespan yielded, read on ctx
    GET /after      answers at once; its `ctx.after()` work waits for GET /release
    GET /broken     answers at once; its `ctx.after()` work raises
    GET /counts     {"opened", "closed", "after_started", "after_done", "errors", "started"}
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokoa import Context, EventStream, Koa, Router, ServerSentEvent
from aiokoa.middleware import compress

counts: dict[str, Any] = {"opened": 0, "closed": 0, "after_started": 0, "after_done": 0, "errors": []}
EVENTS = ["first line\nsecond line", {"n": 2}, ServerSentEvent("three", event="count", id="3")]


@asynccontextmanager
async def lifespan(app: Koa) -> AsyncIterator[dict[str, Any]]:
    yield {"release": asyncio.Event(), "started": "yes"}


app = Koa(lifespan=lifespan)
app.use(compress())
router = Router()


@app.on("error")
def record(err: BaseException, ctx: Context | None = None) -> None:
    counts["errors"].append(f"{type(err).__name__}: {err} in {ctx.path if ctx else None}")


async def events(after: str | None) -> AsyncIterator[Any]:
    counts["opened"] += 1
    try:
        for event in EVENTS[1 if after == "1" else 3 if after == "3" else 0 :]:
            yield event
        await asyncio.Event().wait()  # until the client leaves
    finally:
        counts["closed"] += 1


@router.get("/events")
async def stream(ctx: Context) -> None:
    ctx.body = EventStream(events(ctx.last_event_id))


@router.get("/quiet")
async def quiet(ctx: Context) -> None:
    ctx.body = EventStream(events("3"), ping=0.1)


@router.get("/state")
async def state(ctx: Context) -> None:
    ctx.body = ctx.lifespan_state["started"]


async def slow_work(release: asyncio.Event) -> None:
    counts["after_started"] += 1
    await release.wait()
    counts["after_done"] += 1


@router.get("/after")
async def after(ctx: Context) -> None:
    ctx.after(slow_work, ctx.lifespan_state["release"])
    ctx.body = "answered"


@router.get("/release")
async def release(ctx: Context) -> None:
    ctx.lifespan_state["release"].set()
    ctx.body = "released"


def fail() -> None:
    raise RuntimeError("the work failed")


@router.get("/broken")
async def broken(ctx: Context) -> None:
    ctx.after(fail)
    ctx.body = "fine"


@router.get("/counts")
async def report(ctx: Context) -> None:
    ctx.body = counts


app.use(router.routes())
