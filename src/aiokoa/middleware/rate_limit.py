"""`rate_limit()`: at most `max` requests per client in each window of `duration` seconds.

    app.use(rate_limit(max=100, duration=60))                       # counted in this process
    app.use(rate_limit(driver="redis", db=redis.asyncio.Redis()))   # counted across processes

Every counted response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
`X-RateLimit-Reset` (when the window ends, in Unix seconds), kept on error responses too.
A client over the limit gets 429 with `Retry-After` (seconds) and the downstream
middleware does not run; one on the deny list gets 403; one on the allow list, or whose
`id` is None, is not counted.

A window starts at a client's first request and ends `duration` seconds later, whatever
the client does meanwhile. With Redis, each request is one round trip: a Lua script
increments the client's counter and gives its time to live, starting the window when the
counter is new. If Redis cannot be reached the request is answered 503, or let through
uncounted with `fail_open=True`; counting resumes when Redis is back.

Where it differs from koa-ratelimit: `duration` is in seconds; the memory driver is the
default (Redis needs a client anyway); `id` returns None, not false, to skip a request;
the allow and deny lists may also be collections of ids; the headers stay on error
responses; `fail_open` says what to do while Redis is away.
"""

from __future__ import annotations

import inspect
import logging
import math
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, Literal

from ..core.compose import Middleware, Next
from ..core.context import Context
from .stores import StoreUnavailable, redis_call

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("aiokoa.rate_limit")

Check = Callable[[Context], "bool | Awaitable[bool]"] | Collection[str]
"""An allow or deny list: a function of the context (async or not), or a collection of
client ids (as `id` gives them: IP addresses by default)."""

_COUNT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""
"""One client's request counted; its count in the window and the window's milliseconds left."""


def rate_limit(
    *,
    driver: Literal["memory", "redis"] = "memory",
    db: Any = None,
    duration: float = 3600,
    max: int = 2500,
    id: Callable[[Context], str | Awaitable[str | None] | None] | None = None,
    allow_list: Check | None = None,
    deny_list: Check | None = None,
    headers: Mapping[str, str] | None = None,
    disable_header: bool = False,
    status: int = 429,
    error_message: str | None = None,
    throw: bool = False,
    fail_open: bool = False,
    prefix: str = "limit:",
) -> Middleware:
    """The rate-limiting middleware. `duration` is in seconds. `db`: a dict for the memory
    driver (to share counts between limiters; a new one by default), a `redis.asyncio.Redis`
    for the redis driver, whose keys are `prefix` + id. `id(ctx)` names the client
    (`ctx.ip` by default; None lets the request through uncounted). `headers` renames
    `{"remaining": ..., "reset": ..., "total": ...}`; `disable_header` sends none.
    `throw=True` raises the 429 (headers in `err.headers`) for your error handling instead of
    answering it here. `fail_open=True` lets requests through while Redis is unreachable."""
    if driver == "redis":
        if db is None:
            raise ValueError('rate_limit(driver="redis") needs db=redis.asyncio.Redis(...)')
        counter: _RedisCounter | _MemoryCounter = _RedisCounter(db, prefix)
    elif driver == "memory":
        counter = _MemoryCounter({} if db is None else db)
    else:
        raise ValueError(f"rate_limit(driver={driver!r}): use 'memory' or 'redis'")
    if not (isinstance(max, int) and max > 0) or not duration > 0:
        raise ValueError("rate_limit(max=..., duration=...) need a positive count and a positive number of seconds")
    names = {"remaining": "X-RateLimit-Remaining", "reset": "X-RateLimit-Reset", "total": "X-RateLimit-Limit"}
    names.update(headers or {})
    remaining_name, reset_name, total_name = names["remaining"], names["reset"], names["total"]
    allowed = _checker(allow_list)
    denied = _checker(deny_list)
    window = float(duration)
    outage: list[bool] = [False]  # whether the last count failed, to log an outage once

    async def rate_limit_middleware(ctx: Context, next: Next) -> Any:
        if id is None:
            client: Any = ctx.ip
        else:
            client = id(ctx)
            if inspect.isawaitable(client):
                client = await client
        if denied is not None and await denied(ctx, client):
            ctx.throw(403, "Forbidden")
        if client is None or (allowed is not None and await allowed(ctx, client)):
            return await next()
        try:
            if isinstance(counter, _MemoryCounter):  # counted in place, no coroutine to await
                count, left = counter.hit(str(client), window)
            else:
                count, left = await counter.count(str(client), window)
        except StoreUnavailable as err:
            if not outage[0]:
                outage[0] = True
                log.warning("rate limiting suspended, %s", err)
            if fail_open:
                return await next()
            raise StoreUnavailable(f"rate limiting is unavailable: {err}") from err
        if outage[0]:
            outage[0] = False
            log.info("rate limiting resumed")
        reset = math.ceil(time.time() + left)
        if not disable_header:
            ctx.set(total_name, max)
            ctx.set(remaining_name, max - count if count < max else 0)
            ctx.set(reset_name, reset)
            ctx.keep_on_error(total_name, remaining_name, reset_name)
        if count <= max:
            return await next()
        after = math.ceil(left)
        message = error_message or f"Rate limit exceeded, retry in {_spell(after)}."
        if throw:
            sent = {} if disable_header else {total_name: max, remaining_name: 0, reset_name: reset}
            ctx.throw(status, message, headers={**sent, "Retry-After": after})
        ctx.set("Retry-After", after)
        ctx.status = status
        ctx.body = message
        return None

    return rate_limit_middleware


class _MemoryCounter:
    """Windows in a dict: client -> [count, end (monotonic)]; ended windows are swept as
    often as a window's length, so clients that went away do not stay."""

    __slots__ = ("db", "sweep_at")

    def __init__(self, db: dict[str, list[float]]) -> None:
        self.db = db
        self.sweep_at = 0.0

    def hit(self, client: str, window: float) -> tuple[int, float]:
        """Count a request of `client`: its requests in the window, and the window's seconds left."""
        now = time.monotonic()
        db = self.db
        if now >= self.sweep_at:
            self.sweep_at = now + window
            for key in [key for key, (_, end) in db.items() if end <= now]:
                del db[key]
        entry = db.get(client)
        if entry is None or entry[1] <= now:
            db[client] = [1, now + window]
            return 1, window
        entry[0] += 1
        return int(entry[0]), entry[1] - now


class _RedisCounter:
    __slots__ = ("prefix", "script")

    def __init__(self, db: Redis, prefix: str) -> None:
        self.script = db.register_script(_COUNT)
        self.prefix = prefix

    async def count(self, client: str, window: float) -> tuple[int, float]:
        """Count a request of `client` (one atomic round trip): its requests in the window,
        and the window's seconds left."""
        count, left = await redis_call(self.script(keys=[self.prefix + client], args=[math.ceil(window * 1000)]))
        return int(count), int(left) / 1000


def _checker(check: Check | None) -> Callable[[Context, Any], Awaitable[bool]] | None:
    """An allow or deny list as one async test of the context and the client's id."""
    if check is None:
        return None
    if callable(check):
        test = check

        async def call(ctx: Context, client: Any) -> bool:
            verdict = test(ctx)
            return bool(await verdict if inspect.isawaitable(verdict) else verdict)

        return call
    ids = frozenset(check)

    async def listed(ctx: Context, client: Any) -> bool:
        return client in ids

    return listed


def _spell(seconds: int) -> str:
    """`59 minutes`, `1 hour`, `30 seconds`: the wait as the 429's message says it, rounded
    to the largest unit it reaches."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= size:
            return f"{round(seconds / size)} {unit}{'s' if seconds >= size * 1.5 else ''}"
    return "0 seconds"
