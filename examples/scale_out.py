"""An app that runs as many workers as you like, on as many hosts: nothing it keeps lives in
one process. Sessions are in Redis (`RedisStore`), the rate limit is counted in Redis, and
messages go through Redis pub/sub (`Broadcast`), so any worker can answer any request.

    REDIS_URL=redis://127.0.0.1:6379/0 aiokoa run scale_out:app --app-dir examples --workers 4
    curl -i -c jar -X POST http://127.0.0.1:3000/login -d ada   # a session, on some worker
    curl -i -b jar http://127.0.0.1:3000/me                     # {"user": "ada"}, on any worker
    curl -i http://127.0.0.1:3000/limited                       # the 11th in a minute is 429
    curl -i http://127.0.0.1:3000/poll/news &                   # waits for a message...
    curl -N http://127.0.0.1:3000/events/news &                 # (Server-Sent Events: every one;
                                                                # ws://127.0.0.1:3000/ws/news too)
    curl -i -X POST http://127.0.0.1:3000/publish/news -d hi    # ... published by any worker
    curl -i http://127.0.0.1:3000/healthz                       # 200, or 503 without Redis

Every response names the process that answered in `X-Worker`. Behind a proxy on the same
host, `proxy=True` with `trusted_proxies` makes `ctx.ip` (what the rate limit counts) the
client's address from X-Forwarded-For, which the client cannot forge.
"""

import asyncio
import contextlib
import os
from collections.abc import AsyncGenerator
from typing import Any

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from aiokoa import Broadcast, Context, EventStream, Koa, Next, Router, SubscriptionOverflow
from aiokoa.middleware import RedisStore, health, rate_limit, session

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
WORKER = str(os.getpid())

app = Koa(
    keys=[os.environ.get("SECRET_KEY", "change me: the same secret on every worker")],
    proxy=True,
    trusted_proxies=["127.0.0.1", "::1"],
)
# One client per worker process, made here and closed by the app's shutdown; a command
# that fails is tried once more on a new connection, so a Redis restart costs one error.
client = redis.asyncio.Redis.from_url(
    REDIS_URL, socket_timeout=2, socket_connect_timeout=2, retry=Retry(NoBackoff(), 1)
)
broadcast = Broadcast(REDIS_URL, reconnect_delay=0.2)
app.on("startup", broadcast.connect)
app.on("shutdown", broadcast.disconnect)
app.on("shutdown", client.aclose)


async def redis_ping() -> None:
    await client.ping()


@app.use
async def name_the_worker(ctx: Context, next: Next) -> None:
    ctx.set("X-Worker", WORKER)
    ctx.keep_on_error("X-Worker")  # on the 503s while Redis is away too
    await next()


app.use(health(checks=[redis_ping], timeout=1))
app.use(session(store=RedisStore(client)))

router = Router()


@router.post("/login")
async def login(ctx: Context) -> None:
    ctx.session["user"] = (await ctx.request.text()) or "anonymous"  # type: ignore[attr-defined]
    ctx.body = {"worker": WORKER}


@router.get("/me")
async def me(ctx: Context) -> None:
    user = ctx.session.get("user")  # type: ignore[attr-defined]
    ctx.assert_(user, 401, "log in first")
    ctx.body = {"user": user, "worker": WORKER}


@router.get("/limited", rate_limit(driver="redis", db=client, max=10, duration=60))
async def limited(ctx: Context) -> None:
    ctx.body = {"worker": WORKER}


@router.get("/slow")
async def slow(ctx: Context) -> None:
    await asyncio.sleep(float(str(ctx.query.get("seconds", "1"))))
    ctx.body = {"worker": WORKER}


@router.post("/publish/{channel}")
async def publish(ctx: Context) -> None:
    await broadcast.publish(ctx.params["channel"], f"{WORKER} {await ctx.request.text()}")
    ctx.status = 202


@router.get("/poll/{channel}")
async def poll(ctx: Context) -> None:
    """Long polling: the next message on the channel, as `{"from": pid, "message": ...}`;
    with `?from_other=1`, the next one published by another worker process. 204 after
    `timeout` seconds without one."""
    wait = float(str(ctx.query.get("timeout", "10")))
    others_only = ctx.query.get("from_other") == "1"
    body: dict[str, Any] | None = None
    async with broadcast.subscribe(ctx.params["channel"]) as messages:
        try:
            async with asyncio.timeout(wait):
                async for message in messages:
                    sender, _, text = message.partition(" ")
                    if not (others_only and sender == WORKER):
                        body = {"from": sender, "message": text, "worker": WORKER}
                        break
        except TimeoutError:
            pass
    if body is None:
        ctx.status = 204
    else:
        ctx.body = body


async def follow(channel: str) -> AsyncGenerator[dict[str, str], None]:
    """`{"worker": pid}` once the channel is subscribed (what is published from then on
    arrives), then each message as `{"from": pid, "message": ...}`."""
    async with broadcast.subscribe(channel) as messages:
        yield {"worker": WORKER}
        async for message in messages:
            sender, _, text = message.partition(" ")
            yield {"from": sender, "message": text}


@router.get("/events/{channel}")
async def events(ctx: Context) -> None:
    """The channel's messages as Server-Sent Events, for as long as the client stays."""
    ctx.body = EventStream(follow(ctx.params["channel"]))


@router.ws("/ws/{channel}")
async def websocket(ctx: Context, next: Next) -> None:
    """The channel's messages as WebSocket text messages, until the client leaves."""
    await ctx.websocket.accept()

    async def forward() -> None:
        try:
            async with contextlib.aclosing(follow(ctx.params["channel"])) as messages:
                async for message in messages:
                    await ctx.websocket.send(message)
        except SubscriptionOverflow:  # the client fell too far behind: it reconnects
            await ctx.websocket.close(1013, "too slow, reconnect")

    forwarding = asyncio.create_task(forward())
    try:
        async for _ in ctx.websocket:  # the client says nothing: this waits for it to leave
            pass
    finally:
        forwarding.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await forwarding


app.use(router.routes())
app.use(router.allowed_methods())
app.ws.use(router.routes())

if __name__ == "__main__":
    app.listen(int(os.environ.get("PORT", "3000")))
