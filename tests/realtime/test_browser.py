"""A real browser talks to the app: headless Chromium loads a page that opens a WebSocket."""

from __future__ import annotations

from aiokoa import Context, Koa, Next, Router

from ..browser import Browser
from ..conftest import running

PAGE = """<!doctype html>
<title>live</title>
<script>
window.results = {messages: [], done: false};
const ws = new WebSocket(`ws://${location.host}/ws/echo`, ["echo.v1"]);
ws.onopen = () => { ws.send("hello"); ws.send(JSON.stringify({n: 1})); };
ws.onmessage = (event) => {
  window.results.messages.push(event.data);
  if (window.results.messages.length === 3) ws.close(1000);
};
ws.onclose = (event) => { window.results.protocol = ws.protocol; window.results.done = event.code; };
</script>
"""


def live_app() -> Koa:
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

    app.use(router.routes())
    app.ws.use(router.routes())
    return app


def test_a_page_exchanges_messages_over_a_websocket(browser: Browser) -> None:
    with running(live_app()) as url:
        browser.open(url + "/")
        assert browser.wait_for("window.results.done") == 1000
        assert browser.wait_for("window.results") == {
            "messages": ["welcome chrome", "echo hello", 'echo {"n":1}'],
            "protocol": "echo.v1",
            "done": 1000,
        }
