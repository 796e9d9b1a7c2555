"""A real browser talks to the app: headless Chromium loads a page that opens a WebSocket
and an `EventSource`, and reports what it received."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from aiokoa import Context, EventStream, Koa, Next, Router, ServerSentEvent

from ..browser import Browser
from ..conftest import running

PAGE = """<!doctype html>
<title>live</title>
<script>
window.results = {messages: [], done: false, events: [], opens: 0, streamed: false};
const ws = new WebSocket(`ws://${location.host}/ws/echo`, ["echo.v1"]);
ws.onopen = () => { ws.send("hello"); ws.send(JSON.stringify({n: 1})); };
ws.onmessage = (event) => {
  window.results.messages.push(event.data);
  if (window.results.messages.length === 3) ws.close(1000);
};
ws.onclose = (event) => { window.results.protocol = ws.protocol; window.results.done = event.code; };

const source = new EventSource("/events");
const seen = (event) => {
  window.results.events.push({type: event.type, data: event.data, lastEventId: event.lastEventId});
};
source.onopen = () => { window.results.opens += 1; };
source.onmessage = seen;
source.addEventListener("done", (event) => { seen(event); source.close(); window.results.streamed = true; });
</script>
"""

LOG = [
    # retry: a browser waits that long before it reconnects, here after the first stream ends.
    ServerSentEvent("first line\nsecond line", id="1", retry=0.05),
    ServerSentEvent({"n": 2, "words": ["a", "b"]}, id="2"),
    ServerSentEvent("missed", id="3"),
    ServerSentEvent("bye", event="done", id="4"),
]
SENT_BEFORE_THE_BREAK = 2


def live_app(last_event_ids: list[str | None]) -> Koa:
    """The page, a WebSocket echo, and an event stream over `LOG` that ends after its second
    event (as a restarting server would) and resumes after the `Last-Event-ID` it is sent."""
    app = Koa()
    router = Router()

    @router.get("/")
    async def page(ctx: Context, next: Next) -> None:
        ctx.type = "html"
        ctx.body = PAGE

    @router.ws("/ws/echo")
    async def echo(ctx: Context, next: Next) -> None:
        await ctx.websocket.accept(ctx.websocket.subprotocols[0])
        browser = "chrome" if "HeadlessChrome" in ctx.get("User-Agent") else "?"
        await ctx.websocket.send(f"welcome {browser}")
        async for message in ctx.websocket:
            assert isinstance(message, str)  # a browser sends a string as a text message
            await ctx.websocket.send(f"echo {message}")

    @router.get("/events")
    async def events(ctx: Context, next: Next) -> None:
        last = ctx.last_event_id
        last_event_ids.append(last)
        ctx.body = EventStream(follow(int(last) if last is not None else 0), ping=None)

    async def follow(after: int) -> AsyncIterator[ServerSentEvent]:
        if after == 0:
            for event in LOG[:SENT_BEFORE_THE_BREAK]:
                yield event
            return  # the stream ends: the browser reconnects
        for event in LOG[after:]:
            yield event
        await asyncio.Event().wait()  # open until the page closes its EventSource

    app.use(router.routes())
    app.ws.use(router.routes())
    return app


def test_a_page_talks_over_a_websocket_and_an_event_stream(browser: Browser) -> None:
    last_event_ids: list[str | None] = []
    with running(live_app(last_event_ids)) as url:
        browser.open(url + "/")
        assert browser.wait_for("window.results.done") == 1000
        assert browser.wait_for("window.results.streamed") is True
        results = browser.wait_for("window.results")
    assert results["messages"] == ["welcome chrome", "echo hello", 'echo {"n":1}']
    assert results["protocol"] == "echo.v1"
    events = results["events"]
    assert [(event["type"], event["lastEventId"]) for event in events] == [
        ("message", "1"),
        ("message", "2"),
        ("message", "3"),
        ("done", "4"),
    ]
    # One data field per line, joined back with "\n"; JSON in a single field.
    assert events[0]["data"] == "first line\nsecond line"
    assert json.loads(events[1]["data"]) == {"n": 2, "words": ["a", "b"]}
    assert [event["data"] for event in events[2:]] == ["missed", "bye"]
    # The stream ended after id 2: the browser reconnected once, sending it, and got only the rest.
    assert results["opens"] == 2
    assert last_event_ids == [None, "2"]
