"""The app the real-socket websocket tests serve: echo, JSON, refusal, failure, limits."""

from __future__ import annotations

from typing import Any

from aiokoa import Context, Koa, Next, Router

app = Koa()
app.ws.max_message_size = "64kb"
errors: list[str] = []
ended: list[str] = []
app.on("error", lambda err, ctx: errors.append(repr(err)))

router = Router()


@router.ws("/echo")
async def echo(ctx: Context, next: Next) -> None:
    chosen = "chat.v1" if "chat.v1" in ctx.websocket.subprotocols else None
    await ctx.websocket.accept(chosen)
    async for message in ctx.websocket:
        await ctx.websocket.send(message)
    ended.append("echo")


@router.ws("/json/{name}")
async def json(ctx: Context, next: Next) -> None:
    await ctx.websocket.accept()
    await ctx.websocket.send({"name": ctx.params["name"], "query": ctx.query})


@router.ws("/private")
async def private(ctx: Context, next: Next) -> None:
    if ctx.get("Authorization") != "Bearer ok":
        ctx.throw(403)
    await ctx.websocket.accept()
    await ctx.websocket.send("welcome")


@router.ws("/fail")
async def fail(ctx: Context, next: Next) -> None:
    await ctx.websocket.accept()
    await ctx.websocket.receive()
    raise RuntimeError("handler failed")


app.ws.use(router.routes())


@app.use
async def report(ctx: Context, next: Next) -> None:
    body: dict[str, Any] = {"errors": errors, "ended": ended}
    ctx.body = body
