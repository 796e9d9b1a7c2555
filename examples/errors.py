"""Where errors go: upstream through `try: await next() except`, and what nobody catches
to the app's `error` listeners, while the client gets a plain 500.

    python examples/errors.py
    curl -i http://127.0.0.1:3000/users/7      # 404 as JSON, made by the error handler
    curl -i http://127.0.0.1:3000/crash        # 500; the `error` listener reports it
"""

import os
import sys

from aiokoa import Context, HttpError, Koa, Next

app = Koa()


@app.on("error")
def report(err: Exception, ctx: Context) -> None:
    """Uncaught errors end here (log them, alert on them); the client already has its 500."""
    print(f"error event: {type(err).__name__}: {err} ({ctx.method} {ctx.path})", file=sys.stderr, flush=True)


@app.use
async def json_errors(ctx: Context, next: Next) -> None:
    """HTTP errors raised anywhere downstream come back up through this `await next()`."""
    try:
        await next()
    except HttpError as err:
        ctx.status = err.status
        ctx.body = {"error": {"status": err.status, "message": err.message if err.expose else "Error"}}
    # Anything else keeps flowing upstream: aiokoa answers 500 and emits `error`.


@app.use
async def users(ctx: Context, next: Next) -> None:
    if ctx.path.startswith("/users/"):
        ctx.throw(404, f"no user {ctx.path.rsplit('/', 1)[-1]}")
    if ctx.path == "/crash":
        raise RuntimeError("database unreachable")
    await next()


if __name__ == "__main__":
    app.listen(int(os.environ.get("PORT", "3000")))
