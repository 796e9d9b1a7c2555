"""The classic mistakes, and what aiokoa tells you about each.

python examples/mistakes.py
curl -i http://127.0.0.1:3000/callback      # 404, and stderr explains why
curl -i http://127.0.0.1:3000/not-awaited   # 500 naming the middleware
curl -i http://127.0.0.1:3000/fixed         # 200: the same work, awaited
"""

import asyncio
import os

from aiokoa import Context, Koa, Next

app = Koa()


@app.use
async def callback_body(ctx: Context, next: Next) -> None:
    if ctx.path != "/callback":
        await next()
        return

    def reply() -> None:
        ctx.body = "Hello from a callback"  # runs 100 ms later: the response is long gone

    asyncio.get_running_loop().call_later(0.1, reply)
    # The middleware returns here, nobody waits for `reply`: the client gets a 404.


@app.use
async def not_awaited(ctx: Context, next: Next) -> None:
    if ctx.path == "/not-awaited":
        next()  # forgot `await`: nothing downstream runs
        return
    await next()


@app.use
async def fixed(ctx: Context, next: Next) -> None:
    if ctx.path == "/fixed":
        loop = asyncio.get_running_loop()
        done: asyncio.Future[str] = loop.create_future()
        loop.call_later(0.1, done.set_result, "Hello from an awaited callback")
        ctx.body = await done


if __name__ == "__main__":
    app.listen(int(os.environ.get("PORT", "3000")))
