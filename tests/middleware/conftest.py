"""A real Redis server per test process (each pytest-xdist worker starts its own), and a
client for each app that uses it, closed by the app's shutdown."""

from __future__ import annotations

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from aiokoa import Koa

from ..redis_server import RedisServer


def redis_client(app: Koa, server: RedisServer) -> redis.asyncio.Redis:
    """A client for `server` made for `app`, closed when the app shuts down (in the loop
    that opened its connections). It tries a command once more on a new connection, at
    once, rather than backing off for seconds as by default: a test that stops Redis gets
    its 503 quickly."""
    client = redis.asyncio.Redis(port=server.port, socket_timeout=2, retry=Retry(NoBackoff(), 1))
    app.on("shutdown", client.aclose)
    return client
