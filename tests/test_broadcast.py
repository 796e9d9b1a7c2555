"""Broadcast: in memory for one process, on a real Redis between processes (two Broadcasts
stand for two workers), and through a Redis restart: a gap, not a crash."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import tracemalloc
from collections.abc import AsyncIterator

import pytest

from aiokoa import (
    Broadcast,
    BroadcastUnavailable,
    Context,
    Koa,
    Next,
    Router,
    SubscriptionOverflow,
    WebSocketDisconnect,
)
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
    for _ in range(20):  # a message published as the channel is left is on its way in some rounds
        async with subscriber.subscribe("room") as messages:
            await publisher.publish("room", "one")
            assert await messages.get(2) == "one"
            away = asyncio.create_task(publisher.publish("room", "while away"))
            await asyncio.sleep(0)
        await away
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


async def test_a_subscriber_past_its_bound_loses_its_subscription_and_nobody_else_does(
    pair: tuple[Broadcast, Broadcast],
) -> None:
    publisher, subscriber = pair
    async with subscriber.subscribe("ticks", max_queue=3) as slow, subscriber.subscribe("ticks") as reader:
        for n in range(3):
            await publisher.publish("ticks", f"t{n}")
        assert [await reader.get(2) for _ in range(3)] == ["t0", "t1", "t2"]  # delivered to both
        assert await slow.get(2) == "t0"  # reading makes room for one more
        await publisher.publish("ticks", "t3")
        assert await reader.get(2) == "t3"
        assert slow.queue.qsize() == 3
        await publisher.publish("ticks", "t4")  # one past the bound
        assert await reader.get(2) == "t4"
        assert slow.queue.qsize() == 1  # what it kept is dropped at once: only the end remains
        await publisher.publish("ticks", "t5")
        assert await reader.get(2) == "t5"
        assert slow.queue.qsize() == 1
        with pytest.raises(SubscriptionOverflow, match=r"'ticks' fell more than 3 messages behind") as raised:
            async for _ in slow:
                pytest.fail("an overflowed subscription yields nothing more")
        assert raised.value.status == 503 and raised.value.expose
        with pytest.raises(SubscriptionOverflow):
            await slow.get(0)
    async with subscriber.subscribe("ticks", max_queue=3) as again:  # the client subscribes again
        await publisher.publish("ticks", "t6")
        assert await again.get(2) == "t6"


async def test_a_subscriber_that_never_reads_holds_a_bounded_amount_of_memory(
    pair: tuple[Broadcast, Broadcast],
) -> None:
    """2,000 messages of 1 kB each to a subscriber that reads none: without a bound it would
    hold 2 MB, with `max_queue=50` at most 50 kB, and nothing once it has overflowed."""
    publisher, subscriber = pair
    async with subscriber.subscribe("feed", max_queue=50) as stuck, subscriber.subscribe("feed") as reader:
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for n in range(2000):
                await publisher.publish("feed", f"{n:04d}" + "x" * 1000)
                assert stuck.queue.qsize() <= 50
                assert await reader.get(2) is not None  # delivered everywhere before the next
                await asyncio.sleep(0)  # the loop runs, and drops the cancelled timers of get()
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert stuck.overflowed
        assert grown < 200_000, f"{grown} bytes kept for a subscriber that reads nothing"
        with pytest.raises(SubscriptionOverflow):
            await stuck.get(0)


async def test_a_websocket_handler_too_slow_for_its_channel_closes_its_client() -> None:
    """The overflow ends the handler's `async for`: the connection closes (1011), quietly (no
    traceback: the error is exposed), and the client connects again."""
    broadcast, resume = Broadcast("memory://", max_queue=2), asyncio.Event()
    app, router = Koa(), Router()
    errors: list[BaseException] = []
    app.on("error", lambda err, ctx: errors.append(err))

    @router.ws("/feed")
    async def feed(ctx: Context, next: Next) -> None:
        async with broadcast.subscribe("feed") as messages:
            await ctx.websocket.accept()
            await ctx.websocket.send("ready")
            await resume.wait()  # a send stuck on a client that stopped reading
            async for message in messages:
                await ctx.websocket.send(message)

    app.ws.use(router.routes())
    await broadcast.connect()
    async with AsyncTestClient(app) as client:
        async with client.websocket_connect("/feed") as ws:
            assert await ws.receive() == "ready"
            for n in range(3):
                await broadcast.publish("feed", f"m{n}")
            resume.set()
            with pytest.raises(WebSocketDisconnect) as closed:
                await ws.receive()
            assert closed.value.code == 1011
        assert [type(err) for err in errors] == [SubscriptionOverflow]
        async with client.websocket_connect("/feed") as ws:  # the reconnection is served
            assert await ws.receive() == "ready"
            await broadcast.publish("feed", "fresh")
            assert await ws.receive() == "fresh"
            await broadcast.disconnect()  # ends the handler's `async for`


async def test_max_queue_is_one_or_more() -> None:
    with pytest.raises(ValueError, match="max_queue must be 1 or more"):
        Broadcast("memory://", max_queue=0)
    broadcast = Broadcast("memory://")
    assert broadcast.max_queue == 1000
    await broadcast.connect()
    with pytest.raises(ValueError, match="max_queue"):
        async with broadcast.subscribe("x", max_queue=-1):
            pass
    await broadcast.disconnect()


async def test_disconnect_after_an_overflow_still_ends_with_the_overflow() -> None:
    broadcast = Broadcast("memory://", max_queue=1)
    await broadcast.connect()
    async with broadcast.subscribe("x") as messages:
        await broadcast.publish("x", "a")
        await broadcast.publish("x", "b")
        await broadcast.disconnect()
        for _ in range(2):  # every read, not only the first
            with pytest.raises(SubscriptionOverflow):
                await anext(messages)
    broadcast = Broadcast("memory://")
    await broadcast.connect()
    async with broadcast.subscribe("x") as messages:
        await broadcast.disconnect()
        assert await messages.get(0) is None
        assert await messages.get(0) is None  # an ended subscription stays ended
