"""The cascade: x-response-time -> logger -> response, numbered in the order they run.

    python examples/hello.py      # then: curl -i http://127.0.0.1:3000/

Each middleware runs its code before `await next()` on the way down (1, 2, 3) and its
code after it on the way back up (4, 5), like layers of an onion.
"""

import os
import time

from aiokoa import Context, Koa, Next

app = Koa()


@app.use
async def x_response_time(ctx: Context, next: Next) -> None:
    print("1) x-response-time: start the clock", flush=True)
    start = time.perf_counter()
    await next()
    ms = (time.perf_counter() - start) * 1000
    ctx.set("X-Response-Time", f"{ms:.2f}ms")
    print(f"5) x-response-time: X-Response-Time: {ms:.2f}ms", flush=True)


@app.use
async def logger(ctx: Context, next: Next) -> None:
    print("2) logger: start the clock", flush=True)
    start = time.perf_counter()
    await next()
    ms = (time.perf_counter() - start) * 1000
    print(f"4) logger: {ctx.method} {ctx.url} - {ms:.2f}ms", flush=True)


@app.use
async def response(ctx: Context, next: Next) -> None:
    print("3) response: ctx.body = 'Hello World'", flush=True)
    ctx.body = "Hello World"


if __name__ == "__main__":
    app.listen(int(os.environ.get("PORT", "3000")))
