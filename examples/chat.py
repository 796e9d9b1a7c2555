"""A chat room over WebSockets: `app.ws` runs its own onion, `Router.ws` routes it.

    python examples/chat.py       # then open http://127.0.0.1:3000/ in two browser tabs

Everyone in a room gets every message said there, as JSON. A name is required (a
connection without one is refused with 403 before the handshake completes), messages over
4 KB close the connection with 1009, and a connection silent for five minutes is closed.
"""

import contextlib
import os
from typing import Any

from aiokoa import Context, Koa, Next, Router, WebSocket, WebSocketDisconnect

PAGE = """<!doctype html>
<title>chat</title>
<ul id="log"></ul>
<form id="say"><input id="text" autofocus><button>say</button></form>
<script>
const name = prompt("your name") || "anon";
const ws = new WebSocket(`ws://${location.host}/rooms/lobby?name=${encodeURIComponent(name)}`);
ws.onmessage = (event) => {
  const {from, text} = JSON.parse(event.data);
  log.insertAdjacentHTML("beforeend", "<li></li>");
  log.lastChild.textContent = `${from}: ${text}`;
};
say.onsubmit = (event) => { event.preventDefault(); ws.send(text.value); text.value = ""; };
</script>
"""

app = Koa()
app.ws.max_message_size = "4kb"
app.ws.receive_timeout = 300.0
router = Router()
rooms: dict[str, set[WebSocket]] = {}


@router.get("/")
async def page(ctx: Context, next: Next) -> None:
    ctx.type = "html"
    ctx.body = PAGE


async def say(room: str, message: dict[str, Any]) -> None:
    for member in list(rooms.get(room, ())):
        # A member whose client just left: its own handler notices and leaves the room.
        with contextlib.suppress(WebSocketDisconnect):
            await member.send(message)


@router.ws("/rooms/{room}")
async def chat(ctx: Context, next: Next) -> None:
    name = ctx.query.get("name")
    if not name:
        ctx.throw(403, "a name is required: ?name=...")
    room = ctx.params["room"]
    await ctx.websocket.accept()
    members = rooms.setdefault(room, set())
    members.add(ctx.websocket)
    try:
        await say(room, {"from": "*", "text": f"{name} joined"})
        async for text in ctx.websocket:
            await say(room, {"from": name, "text": text})
    finally:
        members.discard(ctx.websocket)
        await say(room, {"from": "*", "text": f"{name} left"})


app.use(router.routes())
app.ws.use(router.routes())

if __name__ == "__main__":
    app.listen(int(os.environ.get("PORT", "3000")))
