"""`conditional_get()`: answer 304 Not Modified when the client's copy is still fresh
(koa-conditional-get).

After the downstream middleware ran, a GET or HEAD whose 2xx response carries an `ETag`
or `Last-Modified` the request's `If-None-Match` or `If-Modified-Since` matches becomes a
304 without a body. Freshness is `ctx.fresh`: unlike Koa's, an `If-None-Match` makes the
server ignore `If-Modified-Since`, as RFC 9110 says. Use it above `etag()`.
"""

from __future__ import annotations

from ..core.compose import Middleware, Next
from ..core.context import Context


def conditional_get() -> Middleware:
    """Turn fresh 2xx responses to GET and HEAD into `304 Not Modified`."""

    async def conditional_get(ctx: Context, next: Next) -> None:
        await next()
        if ctx.fresh:
            ctx.status = 304
            ctx.body = None

    return conditional_get
