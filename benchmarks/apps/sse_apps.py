"""The SSE fan-out scenario's apps: one broadcaster, three ways of streaming it.

Each client's `GET /events` subscribes a queue and streams what is published to it as
Server-Sent Events (`data: <n>`), ending after `EVENTS` events. `GET /publish` puts the
`EVENTS` events on every subscriber's queue, one event to all before the next;
`GET /subscribers` tells how many are connected. The broadcaster is the same plain asyncio
code for all: what differs is only how each framework streams the events.

    raw-asgi        the floor: each event framed by hand and sent as one ASGI body message
    aiokoa          ctx.body = EventStream(source)   (its default ping, 15 s)
    starlette       StreamingResponse(source, media_type="text/event-stream")
    sse-starlette   EventSourceResponse(source)      (its default ping, 15 s)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

EVENTS = 100
subscribers: set[asyncio.Queue[int]] = set()


async def events() -> AsyncIterator[int]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    subscribers.add(queue)
    try:
        for _ in range(EVENTS):
            yield await queue.get()
    finally:
        subscribers.discard(queue)


async def publish() -> int:
    count = len(subscribers)
    for n in range(EVENTS):
        for queue in list(subscribers):
            queue.put_nowait(n)
        await asyncio.sleep(0)  # the streams take each event in turn
    return count


def raw_asgi_app() -> Any:
    """No framework: the response's start, then one body message per event, then the end."""
    start = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache")]
    text = [(b"content-type", b"text/plain; charset=utf-8")]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        path = scope["path"]
        if path == "/events":
            await send({"type": "http.response.start", "status": 200, "headers": start})
            async for n in events():
                await send({"type": "http.response.body", "body": f"data: {n}\n\n".encode(), "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        body = str(await publish() if path == "/publish" else len(subscribers)).encode()
        await send({"type": "http.response.start", "status": 200, "headers": text})
        await send({"type": "http.response.body", "body": body})

    return app


def aiokoa_app() -> Any:
    from aiokoa import Context, EventStream, Koa

    app = Koa(env="production")

    @app.use
    async def route(ctx: Context) -> None:
        if ctx.path == "/events":
            ctx.body = EventStream(str(n) async for n in events())
        elif ctx.path == "/publish":
            ctx.body = str(await publish())
        else:
            ctx.body = str(len(subscribers))

    return app


async def _framed() -> AsyncIterator[str]:
    async for n in events():
        yield f"data: {n}\n\n"


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, StreamingResponse
    from starlette.routing import Route

    async def stream(request: Request) -> StreamingResponse:
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(_framed(), media_type="text/event-stream", headers=headers)

    async def publishing(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(await publish()))

    async def count(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(len(subscribers)))

    routes = [Route("/events", stream), Route("/publish", publishing), Route("/subscribers", count)]
    return Starlette(routes=routes)


def sse_starlette_app() -> Any:
    from sse_starlette.sse import EventSourceResponse
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def stream(request: Request) -> EventSourceResponse:
        return EventSourceResponse(str(n) async for n in events())

    async def publishing(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(await publish()))

    async def count(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(len(subscribers)))

    routes = [Route("/events", stream), Route("/publish", publishing), Route("/subscribers", count)]
    return Starlette(routes=routes)


APPS = {"raw-asgi": raw_asgi_app, "aiokoa": aiokoa_app, "starlette": starlette_app, "sse-starlette": sse_starlette_app}
