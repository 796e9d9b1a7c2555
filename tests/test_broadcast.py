"""Broadcast: in memory for one process, on a real Redis between processes (two Broadcasts
stand for two workers), and through a Redis restart: a gap, not a crash."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from aiokoa import Broadcast, BroadcastUnavailable, Context, Koa, Next
from aiokoa.testing import AsyncTestClient

from .redis_server import RedisServer


@pytest.fixture(params=["memory", "redis"])
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Broadcast, Broadcast]]:
    """A publishing and a subscribing broadcast: the same one in memory, two on Redis."""
    if request.param == "memory":
        one = Broadcast("memory://")
        await one.connect()
        yield one, one
        await one.disconnect()
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    a, b = Broadcast(server.url), Broadcast(server.url)
    await a.connect()
    await b.connect()
    yield a, b
    await a.disconnect()
    await b.disconnect()


async def test_subscribers_get_what_is_published_after_they_subscribed(pair: tuple[Broadcast, Broadcast]) -> None:
    publisher, subscriber = pair
    await publisher.publish("news", "before anyone listens")
    async with subscriber.subscribe("news") as first, subscriber.subscribe("news") as second:
        async with subscriber.subscribe("other") as other:
            for n in range(3):
                await publisher.publish("news", f"m{n}")
            assert [await first.get(2) for _ in range(3)] == ["m0", "m1", "m2"]
            assert [await second.get(2) for _ in range(3)] == ["m0", "m1", "m2"]
            assert await other.get(0.05) is None
        await publisher.publish("other", "nobody left")
        await publisher.publish("news", "m3")
        assert await first.get(2) == "m3"


async def test_a_channel_left_gets_nothing_and_can_be_joined_again(pair: tuple[Broadcast, Broadcast]) -> None:
    publisher, subscriber = pair
    async with subscriber.subscribe("room") as messages:
        await publisher.publish("room", "one")
        assert await messages.get(2) == "one"
    await publisher.publish("room", "while away")
    async with subscriber.subscribe("room") as messages:
        await publisher.publish("room", "two")
        assert await messages.get(2) == "two"


async def test_disconnect_ends_the_subscribers_iteration(pair: tuple[Broadcast, Broadcast]) -> None:
    publisher, subscriber = pair
    received: list[str] = []

    async def listen() -> None:
        async with subscriber.subscribe("feed") as messages:
            async for message in messages:
                received.append(message)

    task = asyncio.create_task(listen())
    while not received:
        await publisher.publish("feed", "hello")
        await asyncio.sleep(0.02)
    await subscriber.disconnect()
    await asyncio.wait_for(task, 2)
    assert received[0] == "hello"
    assert repr(subscriber).endswith("disconnected>")
    await subscriber.disconnect()  # twice is harmless


async def test_not_connected_and_bad_urls() -> None:
    broadcast = Broadcast("memory://")
    with pytest.raises(RuntimeError, match="connect"):
        await broadcast.publish("x", "y")
    await broadcast.connect()
    await broadcast.connect()  # twice is harmless
    assert repr(broadcast) == "<Broadcast memory:// connected>"
    await broadcast.disconnect()
    with pytest.raises(ValueError, match="redis://"):
        Broadcast("kafka://localhost")


async def test_a_redis_restart_is_a_gap_for_subscribers_and_a_503_for_publishers(own_redis: RedisServer) -> None:
    publisher, listener = Broadcast(own_redis.url, reconnect_delay=0.05), Broadcast(own_redis.url, reconnect_delay=0.05)
    app = Koa()
    app.on("startup", publisher.connect)
    app.on("shutdown", publisher.disconnect)

    @app.use
    async def publish(ctx: Context, next: Next) -> None:
        await publisher.publish("events", ctx.path.strip("/"))
        ctx.status = 204

    await listener.connect()
    async with AsyncTestClient(app) as client, listener.subscribe("events") as messages:
        assert (await client.post("/before")).status_code == 204
        assert await messages.get(2) == "before"
        own_redis.stop()
        response = await client.post("/during")
        assert response.status_code == 503
        assert "Redis is unavailable" in response.text
        with pytest.raises(BroadcastUnavailable):
            await publisher.publish("events", "during")
        async with listener.subscribe("joined-during") as late:  # returns at once, subscribed on reconnection
            own_redis.start()
            # The listener reconnects on its own; publish until its subscriptions are back.
            for _ in range(200):
                if (await client.post("/after")).status_code == 204 and await messages.get(0.05) == "after":
                    break
            else:
                pytest.fail("the subscriber did not get messages again after Redis came back")
            await publisher.publish("joined-during", "welcome")
            assert await late.get(2) == "welcome"
    await listener.disconnect()


async def test_subscribers_joining_at_once_all_get_the_next_message(redis_server: RedisServer) -> None:
    publisher, listener = Broadcast(redis_server.url), Broadcast(redis_server.url)
    await publisher.connect()
    await listener.connect()
    async with contextlib.AsyncExitStack() as stack:
        subscriptions = await asyncio.gather(
            *(stack.enter_async_context(listener.subscribe("joined")) for _ in range(3))
        )
        await publisher.publish("joined", "first")
        assert [await subscription.get(2) for subscription in subscriptions] == ["first"] * 3
    await publisher.disconnect()
    await listener.disconnect()
