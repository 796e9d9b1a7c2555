"""Where `session(store=...)` keeps session data: in this process, or in Redis.

A store maps a session id (the random value of the session cookie) to the session's
record, a JSON-serialisable dict (the data, and when it expires), for `max_age` seconds.
Anything with the three methods of `Store` will do; `MemoryStore` suits one process and
tests, `RedisStore` several processes or machines, with the expiry kept by Redis itself.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from redis.asyncio import Redis


class Store(Protocol):
    """What `session(store=...)` needs: records by id, kept for `max_age` seconds."""

    async def get(self, key: str) -> dict[str, Any] | None:
        """The session's record, or None when unknown or expired."""

    async def set(self, key: str, data: dict[str, Any], max_age: float) -> None:
        """Keep `data` under `key` for `max_age` seconds (replacing what was there)."""

    async def destroy(self, key: str) -> None:
        """Forget `key` (nothing happens if it is unknown)."""


class StoreUnavailable(ConnectionError):
    """The store (or the rate limiter's Redis) did not answer: the request gets a 503 with
    this message instead of a 500, and the next request tries again."""

    __module__ = "aiokoa.middleware"
    status = 503
    expose = True


class MemoryStore:
    """Sessions in this process's memory: lost on restart and not shared between processes
    (use `RedisStore` for those). Data is copied in and out as JSON, as Redis would, so
    what works here works there. Expired sessions are dropped when read, and all of them
    every `sweep_every` writes, so the dict does not grow with abandoned sessions."""

    __slots__ = ("_sessions", "_writes", "sweep_every")

    def __init__(self, *, sweep_every: int = 1000) -> None:
        self._sessions: dict[str, tuple[float, str]] = {}
        self._writes = 0
        self.sweep_every = sweep_every

    async def get(self, key: str) -> dict[str, Any] | None:
        entry = self._sessions.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            del self._sessions[key]
            return None
        data: dict[str, Any] = json.loads(entry[1])
        return data

    async def set(self, key: str, data: dict[str, Any], max_age: float) -> None:
        self._writes += 1
        if self._writes >= self.sweep_every:
            self._writes = 0
            now = time.monotonic()
            self._sessions = {k: entry for k, entry in self._sessions.items() if entry[0] > now}
        self._sessions[key] = (time.monotonic() + max_age, json.dumps(data, separators=(",", ":")))

    async def destroy(self, key: str) -> None:
        self._sessions.pop(key, None)

    def __len__(self) -> int:
        """How many sessions are held, expired ones not yet swept included."""
        return len(self._sessions)


class RedisStore:
    """Sessions in Redis through redis-py's asyncio client, one string key each
    (`prefix` + id) holding the JSON data, with the session's lifetime as the key's TTL:

        RedisStore(redis.asyncio.Redis(host="127.0.0.1"))

    When Redis cannot be reached the request fails with `StoreUnavailable` (503), and the
    client reconnects on a later request once Redis is back."""

    __slots__ = ("client", "prefix")

    def __init__(self, client: Redis, *, prefix: str = "koa:sess:") -> None:
        self.client = client
        self.prefix = prefix

    async def get(self, key: str) -> dict[str, Any] | None:
        raw = await redis_call(self.client.get(self.prefix + key))
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except ValueError:  # not written by this store
            return None
        return data if isinstance(data, dict) else None

    async def set(self, key: str, data: dict[str, Any], max_age: float) -> None:
        value = json.dumps(data, separators=(",", ":"))
        await redis_call(self.client.set(self.prefix + key, value, px=max(1, int(max_age * 1000))))

    async def destroy(self, key: str) -> None:
        await redis_call(self.client.delete(self.prefix + key))


async def redis_call(call: Any) -> Any:
    """Await a redis-py call; a connection that fails or times out becomes StoreUnavailable."""
    from redis.exceptions import ConnectionError, TimeoutError

    try:
        return await call
    except (ConnectionError, TimeoutError, OSError) as err:
        raise StoreUnavailable(f"Redis is unavailable ({err}); try again shortly") from err
