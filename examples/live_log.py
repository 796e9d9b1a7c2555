"""A live log over Server-Sent Events: every POST /log line reaches every browser watching.

    python examples/live_log.py
    open http://127.0.0.1:3000/                       (the page: an EventSource)
    curl -N http://127.0.0.1:3000/events              (the raw stream)
    curl -X POST --data 'deploy started' http://127.0.0.1:3000/log

Each line gets an id; a browser that reconnects sends the last one it saw as
`Last-Event-ID` and gets the lines it missed, from the last 100 kept. The log lives as long
as the app: its lifespan makes it, and each request finds it on `ctx.lifespan_state`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokoa import Context, EventStream, Koa, Router, ServerSentEvent

PORT = int(os.environ.get("PORT", "3000"))
PING = float(os.environ.get("PING", "15"))
KEPT = 100

PAGE = """<!doctype html>
<title>live log</title>
<pre id="log"></pre>
<script>
  const source = new EventSource("/events");
  source.addEventListener("line", (e) => {
    document.getElementById("log").textContent += e.data + "\\n";
  });
</script>
"""


class Log:
    """The last `KEPT` lines, numbered, and a queue per watcher."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, str]] = []
        self.watchers: set[asyncio.Queue[tuple[int, str]]] = set()
        self.count = 0

    def write(self, text: str) -> int:
        self.count += 1
        self.lines = [*self.lines[-(KEPT - 1) :], (self.count, text)]
        for queue in self.watchers:
            queue.put_nowait((self.count, text))
        return self.count

    async def follow(self, last_seen: int) -> AsyncIterator[ServerSentEvent]:
        queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
        self.watchers.add(queue)
        try:
            for number, text in self.lines:
                if number > last_seen:
                    yield ServerSentEvent(text, event="line", id=str(number))
            while True:
                number, text = await queue.get()
                yield ServerSentEvent(text, event="line", id=str(number))
        finally:
            self.watchers.discard(queue)  # the client left: runs at once


@asynccontextmanager
async def lifespan(app: Koa) -> AsyncIterator[dict[str, Any]]:
    yield {"log": Log()}


app = Koa(lifespan=lifespan)
router = Router()


@router.get("/")
async def page(ctx: Context) -> None:
    ctx.body = PAGE


@router.get("/events")
async def events(ctx: Context) -> None:
    last = ctx.last_event_id
    log: Log = ctx.lifespan_state["log"]
    ctx.body = EventStream(log.follow(int(last) if last and last.isdigit() else 0), ping=PING)


@router.post("/log")
async def write(ctx: Context) -> None:
    text = await ctx.text()
    log: Log = ctx.lifespan_state["log"]
    ctx.body = {"id": log.write(text)}
    ctx.status = 201


@router.get("/watchers")
async def watchers(ctx: Context) -> None:
    ctx.body = {"watchers": len(ctx.lifespan_state["log"].watchers)}


app.use(router.routes())

if __name__ == "__main__":
    app.listen(PORT)
