"""Clients that leave early, over a real socket, on each server aiokoa runs on.

A client that closes its connection while its streamed body is being sent, before the first
chunk, or while the handler still awaits: the stream is closed (its `finally` runs) within a
second, the app's `error` listener hears nothing and the server prints no traceback. Many such
clients leave the server's RSS flat.
"""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from aiokoa import Koa

from ..conftest import ServerProcess, free_port
from .longrun import length, network, soak

ROOT = Path(__file__).parent.parent.parent
SERVERS = ("uvicorn", "granian")
# Granian notes each response cut short with an INFO line ("ASGI transport error"): the
# server's own log of a client that left, not an error of the app.
NOISE = ("Traceback", "never retrieved", "Exception", "ERROR", "aiokoa: error")


def start(server: str) -> ServerProcess:
    port = free_port()
    argv = [sys.executable, "-m", "aiokoa", "run", "tests.reliability.disconnect_app:app", "--app-dir", str(ROOT)]
    return ServerProcess([*argv, "--server", server, "--port", str(port)], port)


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    process = start(request.param)
    try:
        yield process
    finally:
        process.stop()


def events(server: ServerProcess) -> dict[str, Any]:
    with urllib.request.urlopen(server.url + "/events", timeout=5) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


def request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def all_closed_within(server: ServerProcess, seconds: float, opened: int) -> dict[str, Any]:
    """The app's events once it has opened `opened` streams and closed all it opened, or
    after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        seen = events(server)
        if opened <= seen["opened"] == seen["closed"] or time.monotonic() > deadline:
            return seen
        time.sleep(0.02)


def settled(server: ServerProcess, seconds: float) -> dict[str, Any]:
    """The app's events once every stream it opened is closed and no more open (a handler that
    awaits opens its stream late; granian may drop a request whose client left before it was
    passed on), or after `seconds`."""
    deadline = time.monotonic() + seconds
    before = events(server)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        seen = events(server)
        if seen == before and seen["opened"] == seen["closed"]:
            break
        before = seen
    return before


def quiet(server: ServerProcess) -> str:
    """Everything the server printed, once stopped; it must hold no error."""
    out, err = server.output()
    return "\n".join(line for line in (out + err).splitlines() if any(word in line for word in NOISE))


@pytest.mark.parametrize(
    ("path", "read_first"),
    [("/stream", True), ("/iterator", True), ("/late", False), ("/sleep", False)],
    ids=["async generator", "blocking iterator", "before the first chunk", "while the handler awaits"],
)
def test_a_client_that_leaves_closes_the_stream_quietly(server: ServerProcess, path: str, read_first: bool) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    for n in range(1, 4):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            client.sendall(request(path))
            if read_first:
                assert client.recv(65536).startswith(b"HTTP/1.1 200")
            else:
                time.sleep(0.1)
        seen = all_closed_within(server, 1.0, opened=n)
        assert seen["opened"] == seen["closed"] == n
    assert seen["errors"] == []
    assert quiet(server) == ""


async def leave(port: int, path: str, read_first: bool, limit: asyncio.Semaphore) -> None:
    async with limit:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request(path))
        if read_first:
            await reader.readuntil(b"\r\n\r\n")
            await reader.read(1)
        else:
            await asyncio.sleep(0.01)
        writer.close()
        await writer.wait_closed()


def leave_many(port: int, count: int) -> None:
    """`count` clients that leave: mid-stream, before the first chunk and while the handler awaits."""
    kinds = [("/stream", True), ("/iterator", True), ("/late", False), ("/sleep", False)]

    async def main() -> None:
        limit = asyncio.Semaphore(32)
        await asyncio.gather(*(leave(port, *kinds[n % len(kinds)], limit) for n in range(count)))

    asyncio.run(main())


@pytest.mark.measures
def test_many_disconnects_leave_rss_flat(server: ServerProcess) -> None:
    count = length(1_000, 10_000)
    port = int(server.url.rsplit(":", 1)[1])
    pid = server.process.pid
    leave_many(port, 1_000)  # warm-up: the allocator's pools and the server's buffers settle
    warm_up = settled(server, 10)
    warm = network.rss_kib(pid)
    started = time.monotonic()
    leave_many(port, count)
    seconds = time.monotonic() - started
    seen = settled(server, 10)
    end = network.rss_kib(pid)
    print(f"\n{count:,} disconnects in {seconds:.1f} s: RSS {warm / 1024:.2f} -> {end / 1024:.2f} MiB")
    assert seen["opened"] == seen["closed"] > warm_up["opened"] + count // 2
    assert seen["errors"] == []
    assert end - warm < soak.flat_bound_kib(count)
    assert quiet(server) == ""


async def test_a_receive_that_fails_mid_stream_leaves_no_task_exception_behind() -> None:
    """A server whose `receive` raises while the body streams (its connection broke): the
    stream stops and closes as for a disconnect, and the failure is not left in a task
    that nobody awaits, which asyncio would report as "Task exception was never retrieved"."""
    app = Koa()
    closed = asyncio.Event()

    async def stream() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"x"
                await asyncio.sleep(0.01)
        finally:
            closed.set()

    app.use(lambda ctx, next: setattr(ctx, "body", stream()))
    messages = iter([{"type": "http.request", "body": b""}])

    async def receive() -> dict[str, Any]:
        for message in messages:
            return message
        await asyncio.sleep(0.05)
        raise OSError("connection reset")

    async def send(message: Any) -> None:
        pass

    reported: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda loop, context: reported.append(context))
    scope = {"type": "http", "method": "GET", "path": "/", "raw_path": b"/", "query_string": b"", "headers": []}
    await asyncio.wait_for(app(scope, receive, send), 5)
    assert closed.is_set()
    gc.collect()
    await asyncio.sleep(0)
    assert [context["message"] for context in reported] == []
