"""The stores on their own: MemoryStore, and RedisStore against the real server."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio

from aiokoa.middleware import MemoryStore, RedisStore, StoreUnavailable

from ..redis_server import RedisServer


def test_memory_store_forgets_expired_sessions() -> None:
    async def run() -> None:
        store = MemoryStore(sweep_every=3)
        await store.set("a", {"x": 1}, 0.01)
        await store.set("b", {"x": 2}, 60)
        await asyncio.sleep(0.02)
        assert len(store) == 2
        await store.set("c", {"x": 3}, 60)  # the third write sweeps "a"
        assert len(store) == 2
        await store.set("d", {"x": 4}, 0.01)
        await asyncio.sleep(0.02)
        assert await store.get("d") is None  # expired: dropped when read
        assert len(store) == 2
        data = await store.get("b")
        assert data == {"x": 2}
        data["x"] = 3  # a copy, as Redis would give
        assert await store.get("b") == {"x": 2}
        await store.destroy("b")
        await store.destroy("b")
        assert await store.get("b") is None

    asyncio.run(run())


def test_redis_store_keeps_json_with_a_ttl(redis_server: RedisServer) -> None:
    async def run() -> None:
        client = redis.asyncio.Redis(port=redis_server.port)
        store = RedisStore(client, prefix="stores:")
        try:
            await store.set("one", {"user": "ada", "cart": [1, 2]}, 30)
            assert await store.get("one") == {"user": "ada", "cart": [1, 2]}
            assert 29_000 < await client.pttl("stores:one") <= 30_000
            await client.set("stores:garbage", b"\xff not json")
            await client.set("stores:list", b"[1, 2]")
            assert await store.get("garbage") is None
            assert await store.get("list") is None
            assert await store.get("unknown") is None
            await store.destroy("one")
            assert await client.exists("stores:one") == 0
        finally:
            await client.aclose()

    asyncio.run(run())


def test_redis_store_unreachable_is_store_unavailable() -> None:
    async def run() -> None:
        from ..conftest import free_port

        client = redis.asyncio.Redis(port=free_port(), socket_connect_timeout=1)
        try:
            with pytest.raises(StoreUnavailable, match="Redis is unavailable") as raised:
                await RedisStore(client).get("x")
            assert raised.value.status == 503 and raised.value.expose
        finally:
            await client.aclose()

    asyncio.run(run())
