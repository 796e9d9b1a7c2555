"""`health()`: the endpoint a load balancer or Kubernetes probes.

    async def redis_ping() -> None:
        await client.ping()

    app.use(health(checks=[redis_ping]))      # GET /healthz

`GET` or `HEAD` on `path` answers 200 with `{"status": "ok", "checks": {"redis_ping": "ok"}}`
when every check passes, and 503 when one fails (it raises, returns False, or takes longer
than `timeout` seconds: its entry then says why) or once the app has begun shutting down
(`{"status": "shutting down"}`), so the balancer stops sending traffic before the process
goes. Checks run concurrently, at every probe; other paths pass through untouched. The
answer is never cached, and the endpoint is placed first so that nothing downstream
(sessions, rate limits, a router) runs for a probe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from ..core.compose import Middleware, Next
from ..core.context import Context

Check = Callable[[], Awaitable[Any]]
"""An async callable that raises, or returns False, when what it checks is unwell."""


def health(
    path: str = "/healthz",
    checks: Iterable[Check] | Mapping[str, Check] = (),
    *,
    timeout: float = 2.0,
) -> Middleware:
    """The health endpoint at `path`. `checks`: async callables, named by their `__name__`,
    or a mapping of name to callable. Each gets `timeout` seconds."""
    named = dict(checks) if isinstance(checks, Mapping) else {_name(check): check for check in checks}
    if not timeout > 0:
        raise ValueError("health(timeout=...) needs a positive number of seconds")
    closing: list[bool] = [False]
    watched: set[int] = set()  # the apps whose shutdown this endpoint listens for

    def shutting_down() -> None:
        closing[0] = True

    async def run(check: Check) -> str:
        try:
            async with asyncio.timeout(timeout):
                result = await check()
        except TimeoutError:
            return f"timed out after {timeout:g} s"
        except Exception as err:
            return f"failed: {type(err).__name__}: {err}" if str(err) else f"failed: {type(err).__name__}"
        return "failed" if result is False else "ok"

    async def health_middleware(ctx: Context, next: Next) -> Any:
        if ctx.path != path or ctx.method not in ("GET", "HEAD"):
            return await next()
        if id(ctx.app) not in watched:
            watched.add(id(ctx.app))
            ctx.app.prepend_listener("shutdown", shutting_down)  # before the app lets go of Redis
        ctx.set("Cache-Control", "no-store")
        if closing[0]:
            ctx.status = 503
            ctx.body = {"status": "shutting down"}
            return None
        results = await asyncio.gather(*(run(check) for check in named.values()))
        report = dict(zip(named, results, strict=True))
        healthy = all(result == "ok" for result in results)
        ctx.status = 200 if healthy else 503
        ctx.body = {"status": "ok" if healthy else "failing", "checks": report}
        return None

    return health_middleware


def _name(check: Check) -> str:
    return getattr(check, "__name__", None) or type(check).__name__
