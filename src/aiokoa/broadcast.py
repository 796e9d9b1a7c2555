"""`Broadcast`: publish a message on a channel, and every subscriber of that channel gets it.

    broadcast = Broadcast("redis://localhost:6379")   # or "memory://" for one process
    app.on("startup", broadcast.connect)
    app.on("shutdown", broadcast.disconnect)

    await broadcast.publish("chat", "hello")

    async with broadcast.subscribe("chat") as messages:
        async for message in messages:
            ...

`memory://` reaches the subscribers of this process only; `redis://` (and `rediss://`) goes
through Redis pub/sub, so a message published by any worker on any host reaches the
subscribers of every worker. Messages are strings. A subscriber gets the messages published
after its `subscribe()` returned, in order, until it leaves the `async with` block.

Each subscription keeps at most `max_queue` messages (1,000 by default) that its subscriber
has not read yet. A subscriber that falls further behind (a WebSocket client that stopped
reading, its handler stuck in `send()`) loses its subscription, as Redis disconnects a
pub/sub client past its output buffer limit: the messages it kept are dropped and its
`async for` raises `SubscriptionOverflow`, which ends the handler, so the client is
disconnected and reconnects. One slow client cannot grow the process's memory without limit.

If Redis goes away, `publish()` raises `BroadcastUnavailable` (a 503 when it reaches the
client) and subscribers keep waiting: the connection is made again every `reconnect_delay`
seconds, the channels are subscribed again, and the messages published meanwhile are
missed, as with any Redis pub/sub. `disconnect()` ends every subscriber's iteration.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

log = logging.getLogger("aiokoa.broadcast")

_END = object()  # put in subscribers' queues by disconnect()
_OVERFLOW = object()  # what is left in a queue that went past its bound
MAX_QUEUE = 1000


class BroadcastUnavailable(ConnectionError):
    """Redis did not take a published message: the request gets a 503 with this message."""

    __module__ = "aiokoa"
    status = 503
    expose = True


class SubscriptionOverflow(Exception):
    """A subscriber fell more than `max_queue` messages behind: its subscription has ended
    and the messages it had not read are dropped. Raised by its `async for` (and `get()`);
    a 503 if it reaches an HTTP client. Subscribe again to get what is published next."""

    __module__ = "aiokoa"
    status = 503
    expose = True


class Subscription:
    """The messages of one channel for one subscriber: `async for message in subscription`.
    It keeps at most `max_queue` unread messages; one more ends it (`SubscriptionOverflow`)."""

    def __init__(self, channel: str, max_queue: int = MAX_QUEUE) -> None:
        self.channel = channel
        self.max_queue = max_queue
        # Unbounded for the markers: the bound on messages is kept by `_put`.
        self.queue: asyncio.Queue[object] = asyncio.Queue()
        self.overflowed = False

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> str:
        message = await self.queue.get()
        if message is _END:
            self.queue.put_nowait(_END)  # every later read ends too
            raise StopAsyncIteration
        if message is _OVERFLOW:
            self.queue.put_nowait(_OVERFLOW)
            raise SubscriptionOverflow(
                f"the subscriber of {self.channel!r} fell more than {self.max_queue} messages behind:"
                " its subscription has ended"
            )
        return message  # type: ignore[return-value]

    def _end(self) -> None:
        if not self.overflowed:  # an overflow has ended it already
            self.queue.put_nowait(_END)

    def _put(self, message: str) -> None:
        if self.overflowed:
            return
        if self.queue.qsize() < self.max_queue:
            self.queue.put_nowait(message)
            return
        # Past the bound: free what was kept at once, and tell the subscriber at its next read.
        self.overflowed = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(_OVERFLOW)
        log.warning(
            "broadcast: a subscriber of %r fell more than %d messages behind; its subscription ends",
            self.channel,
            self.max_queue,
        )

    async def get(self, timeout: float | None = None) -> str | None:
        """The next message, or None after `timeout` seconds or once the broadcast is
        disconnected; `SubscriptionOverflow` if the subscriber fell too far behind."""
        try:
            async with asyncio.timeout(timeout):
                return await anext(self)
        except (TimeoutError, StopAsyncIteration):
            return None


class Broadcast:
    """A publish/subscribe channel for `url`: `"memory://"` or a Redis URL. `max_queue` is
    how many unread messages each subscription keeps at most (see `SubscriptionOverflow`)."""

    def __init__(self, url: str, *, reconnect_delay: float = 1.0, max_queue: int = MAX_QUEUE) -> None:
        scheme = urlsplit(url).scheme
        if scheme not in ("memory", "redis", "rediss"):
            raise ValueError(f"Broadcast({url!r}): use 'memory://' or a 'redis://' URL")
        self.url = url
        self.reconnect_delay = reconnect_delay
        self.max_queue = _positive(max_queue)
        self._subscribers: dict[str, set[Subscription]] = {}
        self._redis: _RedisPubSub | None = None
        self._connected = False

    async def connect(self) -> None:
        """Connect (for Redis: the publishing client and the listening task); an app's `startup` listener."""
        if self._connected:
            return
        if self.url.startswith("redis"):
            self._redis = _RedisPubSub(self.url, self.reconnect_delay, self._deliver)
            await self._redis.start()
        self._connected = True

    async def disconnect(self) -> None:
        """End every subscription and close the connections; an app's `shutdown` listener."""
        if not self._connected:
            return
        self._connected = False
        if self._redis is not None:
            await self._redis.close()
            self._redis = None
        for subscriptions in self._subscribers.values():
            for subscription in subscriptions:
                subscription._end()

    async def publish(self, channel: str, message: str) -> None:
        """Send `message` to every subscriber of `channel`."""
        self._check()
        if self._redis is None:
            self._deliver(channel, message)
        else:
            await self._redis.publish(channel, message)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str, *, max_queue: int | None = None) -> AsyncIterator[Subscription]:
        """The messages published on `channel` from now until the block is left; `max_queue`
        overrides the broadcast's bound for this subscription."""
        self._check()
        subscription = Subscription(channel, self.max_queue if max_queue is None else _positive(max_queue))
        subscriptions = self._subscribers.setdefault(channel, set())
        subscriptions.add(subscription)
        try:
            if self._redis is not None:
                await self._redis.subscribe(channel)
            yield subscription
        finally:
            subscriptions.discard(subscription)
            if not subscriptions:
                del self._subscribers[channel]
                if self._redis is not None:
                    await self._redis.unsubscribe(channel)

    def _check(self) -> None:
        if not self._connected:
            raise RuntimeError("the broadcast is not connected: call connect() first (an app's startup listener)")

    def _deliver(self, channel: str, message: str) -> None:
        for subscription in self._subscribers.get(channel, ()):
            subscription._put(message)

    def __repr__(self) -> str:
        return f"<Broadcast {self.url} {'connected' if self._connected else 'disconnected'}>"


def _positive(max_queue: int) -> int:
    if max_queue < 1:
        raise ValueError(f"max_queue must be 1 or more, got {max_queue}")
    return max_queue


class _RedisPubSub:
    """One client for publishing, and one pub/sub connection read by one task, which gives
    each message to `deliver` and, when the connection breaks, makes it again and
    subscribes to the same channels."""

    def __init__(self, url: str, reconnect_delay: float, deliver: Callable[[str, str], None]) -> None:
        import redis.asyncio
        import redis.exceptions

        self.client = redis.asyncio.Redis.from_url(url, decode_responses=True, socket_connect_timeout=2)
        self.reconnect_delay = reconnect_delay
        self.deliver = deliver
        self.channels: set[str] = set()
        self.pending: dict[str, asyncio.Future[None]] = {}  # subscriptions Redis has not confirmed
        self.lock = asyncio.Lock()  # one command at a time on the pub/sub connection
        self.pubsub = self.client.pubsub()
        self.task: asyncio.Task[None] | None = None
        self.healthy = True
        self.errors = (ConnectionError, OSError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

    async def start(self) -> None:
        self.task = asyncio.create_task(self._read(), name="aiokoa broadcast")

    async def publish(self, channel: str, message: str) -> None:
        try:
            await self.client.publish(channel, message)
        except self.errors as err:
            raise BroadcastUnavailable(f"Redis is unavailable ({err}); the message was not published") from err

    async def subscribe(self, channel: str) -> None:
        """Subscribe and wait for Redis to confirm, so that what is published next arrives
        (a second subscriber of the channel waits for the same confirmation); while Redis is
        away, return at once: the channel is subscribed on reconnection."""
        confirmed = self.pending.get(channel)
        if confirmed is None:
            if channel in self.channels:
                return  # subscribed and confirmed already
            self.channels.add(channel)
            confirmed = self.pending[channel] = asyncio.get_running_loop().create_future()
            if not await self._command("subscribe", channel):
                confirmed.set_result(None)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await asyncio.shield(confirmed)
        finally:
            if self.pending.get(channel) is confirmed:
                del self.pending[channel]

    async def unsubscribe(self, channel: str) -> None:
        self.channels.discard(channel)
        await self._command("unsubscribe", channel)

    async def _command(self, name: str, *channels: str) -> bool:
        """Send (un)subscribe on the pub/sub connection; False while it is broken."""
        try:
            async with self.lock:
                if not self.healthy:
                    return False
                await getattr(self.pubsub, name)(*channels)
        except self.errors as err:
            self._broken(err)
            return False
        return True

    async def _read(self) -> None:
        while True:
            try:
                if not self.healthy:
                    await self._reconnect()
                if self.pubsub.connection is None:  # nothing subscribed yet
                    await asyncio.sleep(0.05)
                    continue
                message = await self.pubsub.get_message(timeout=1.0)
            except self.errors as err:
                self._broken(err)
                await asyncio.sleep(self.reconnect_delay)
                continue
            if message is None:
                continue
            if message["type"] == "message":
                confirmed = self.pending.get(message["channel"])
                # Until Redis confirms a channel subscribed again, what comes for it was
                # published before (while it was left): not for its new subscribers.
                if confirmed is None or confirmed.done():
                    self.deliver(message["channel"], message["data"])
            elif message["type"] == "subscribe":
                confirmed = self.pending.get(message["channel"])
                if confirmed is not None and not confirmed.done():
                    confirmed.set_result(None)

    def _broken(self, err: BaseException) -> None:
        if self.healthy:
            log.warning("broadcast: lost Redis (%s), reconnecting every %g s", err, self.reconnect_delay)
        self.healthy = False

    async def _reconnect(self) -> None:
        async with self.lock:
            with contextlib.suppress(Exception):
                await self.pubsub.aclose()
            self.pubsub = self.client.pubsub()
            await self.client.ping()
            if self.channels:
                await self.pubsub.subscribe(*self.channels)
            self.healthy = True
        log.info("broadcast: Redis is back, %d channel(s) subscribed again", len(self.channels))

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        with contextlib.suppress(Exception):
            await self.pubsub.aclose()
        await self.client.aclose()
