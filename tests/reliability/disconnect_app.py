"""The app clients walk away from: slow streams and a slow handler, each recording when its
stream is opened and closed, and any error the app reports; `/events` tells the counts.

    GET /stream     an async generator that yields 1 KB every 50 ms, forever
    GET /iterator   the same as a plain (blocking) generator, read in a thread
    GET /late       an async generator whose first chunk comes after 30 s
    GET /sleep      a handler that awaits 0.3 s, then streams as `/stream`
    GET /events     {"opened": n, "closed": n, "errors": [...]}
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

from aiokoa import Context, Koa, Next, Router

CHUNK = b"x" * 1024

counts = {"opened": 0, "closed": 0}
errors: list[str] = []


async def slow_stream(first_after: float = 0.0) -> AsyncIterator[bytes]:
    counts["opened"] += 1
    try:
        await asyncio.sleep(first_after)
        while True:
            yield CHUNK
            await asyncio.sleep(0.05)
    finally:
        counts["closed"] += 1


def slow_iterator() -> Iterator[bytes]:
    counts["opened"] += 1
    try:
        while True:
            yield CHUNK
            time.sleep(0.05)
    finally:
        counts["closed"] += 1


router = Router()


@router.get("/stream")
async def stream(ctx: Context, next: Next) -> None:
    ctx.body = slow_stream()


@router.get("/iterator")
async def iterator(ctx: Context, next: Next) -> None:
    ctx.body = slow_iterator()


@router.get("/late")
async def late(ctx: Context, next: Next) -> None:
    ctx.body = slow_stream(first_after=30)


@router.get("/sleep")
async def sleep(ctx: Context, next: Next) -> None:
    await asyncio.sleep(0.3)
    ctx.body = slow_stream()


@router.get("/events")
async def events(ctx: Context, next: Next) -> None:
    ctx.body = {**counts, "errors": errors}


app = Koa()
app.on("error", lambda err, ctx: errors.append(repr(err)))
app.use(router.routes())
