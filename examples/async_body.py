"""A body set after awaited async work is sent: a timer, a Future, an HTTP call.

    python examples/async_body.py
    curl http://127.0.0.1:3000/sleep  /future  /fetch

Whatever the middleware awaits, the response waits for: the chain returns only when
every `await` in it has finished.
"""

import asyncio
import os

import httpx

from aiokoa import Context, Koa, Next

PORT = int(os.environ.get("PORT", "3000"))
UPSTREAM = os.environ.get("UPSTREAM_URL", f"http://127.0.0.1:{PORT}/upstream")

app = Koa()


@app.use
async def routes(ctx: Context, next: Next) -> None:
    if ctx.path == "/sleep":
        await asyncio.sleep(0.1)
        ctx.body = "after asyncio.sleep(0.1)"
    elif ctx.path == "/future":
        # A callback API made awaitable: the callback resolves a Future we await.
        loop = asyncio.get_running_loop()
        done: asyncio.Future[str] = loop.create_future()
        loop.call_later(0.1, done.set_result, "after a Future resolved by loop.call_later")
        ctx.body = await done
    elif ctx.path == "/fetch":
        async with httpx.AsyncClient() as client:
            upstream = await client.get(UPSTREAM)
        ctx.body = {"upstream_status": upstream.status_code, "upstream": upstream.json()}
    elif ctx.path == "/upstream":
        ctx.body = {"hello": "from upstream"}
    else:
        await next()


if __name__ == "__main__":
    app.listen(PORT)
