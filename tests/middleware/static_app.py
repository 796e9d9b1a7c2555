"""A static-file app for servers run as their own process (granian, through `aiokoa run`):
it serves the directory `AIOKOA_STATIC_ROOT` names, and says in `X-Pathsend` whether the
server offered the ASGI pathsend extension."""

from __future__ import annotations

import os

from aiokoa import Context, Koa, Next
from aiokoa.middleware.static import serve_static

app = Koa()


@app.use
async def offered(ctx: Context, next: Next) -> None:
    ctx.set("X-Pathsend", "yes" if "http.response.pathsend" in (ctx.scope.get("extensions") or {}) else "no")
    await next()


app.use(serve_static(os.environ.get("AIOKOA_STATIC_ROOT", "."), follow_symlinks=False))
