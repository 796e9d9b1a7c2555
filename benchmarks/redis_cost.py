"""What Redis costs a request: the same app with its session and rate limit in memory, then
in a real Redis, served in process; the difference per request, in µs.

    python benchmarks/redis_cost.py [--quick] [--requests N]

The app is what a multi-worker deployment runs: `rate_limit()` (one Lua script in Redis)
and `session()` whose data changes on every request (a read and a write in Redis: three
round trips in all). Each request carries the session cookie. It is measured two ways:
one request at a time (the latency Redis adds: its round trips, waited for) and 64 at a
time (the CPU Redis costs the worker: building commands and parsing replies, while the
round trips overlap). Each gives wall time and this process's CPU time per request: on a
busy machine the wall time also counts the waits for a core, the CPU time does not. A bare
PING loop gives the cost of one round trip. redis-server is started on a free 127.0.0.1
port and stopped by its process id.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio
from inprocess import Exchange, Lifespan, new_loop, request_scope

from aiokoa import Context, Koa, Next
from aiokoa.middleware import MemoryStore, RedisStore, rate_limit, session

CONCURRENCY = 64
ROUNDS = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisProcess:
    """redis-server on a free port, saving nothing, stopped by its process id."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        self.directory = tempfile.TemporaryDirectory(prefix="aiokoa-redis-cost-")
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen([*argv, "--dir", self.directory.name], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        self.close()
        raise SystemExit("redis-server did not start")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self.directory.cleanup()


def app_with(make: Callable[[Koa], tuple[object, dict[str, object]]]) -> Koa:
    app = Koa(keys=["a long random secret"], env="production")
    store, limiter = make(app)
    app.use(rate_limit(max=10**9, duration=3600, **limiter))  # type: ignore[arg-type]
    app.use(session(store=store))  # type: ignore[arg-type]

    @app.use
    async def count(ctx: Context, next: Next) -> None:
        views = ctx.session.get("views", 0) + 1  # type: ignore[attr-defined]
        ctx.session["views"] = views  # type: ignore[attr-defined]
        ctx.body = str(views)

    return app


def scope(cookie: bytes | None) -> dict[str, object]:
    return request_scope("GET", "/", [("cookie", cookie.decode())] if cookie else [])


async def call(app: Any, request: dict[str, object]) -> Exchange:
    exchange = Exchange(b"")
    await app(dict(request), exchange.receive, exchange.send)
    assert exchange.status == 200, exchange.status
    return exchange


async def per_request_us(app: Koa, requests: int, concurrency: int) -> tuple[float, float]:
    """Wall and CPU µs per request (this process's CPU: the app, redis-py and the loop, not
    redis-server's), `concurrency` requests at a time, after a warm-up; the session cookie is
    the one the first response set, sent with every request."""
    lifespan = Lifespan(app)
    await lifespan.startup()
    try:
        first = await call(app, scope(None))
        cookies = [value.split(b";", 1)[0] for name, value in first.headers if name == b"set-cookie"]
        request = scope(b"; ".join(cookies))
        for _ in range(50):
            await call(app, request)
        batches = max(1, requests // concurrency)
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(batches):
            await asyncio.gather(*(call(app, request) for _ in range(concurrency)))
        count = batches * concurrency
        return (time.perf_counter() - started) / count * 1e6, (time.process_time() - cpu) / count * 1e6
    finally:
        await lifespan.shutdown()


async def round_trip_us(port: int, count: int) -> float:
    client = redis.asyncio.Redis(port=port)
    try:
        await client.ping()
        started = time.perf_counter()
        for _ in range(count):
            await client.ping()
        return (time.perf_counter() - started) / count * 1e6
    finally:
        await client.aclose()


@dataclass
class Figures:
    """Medians of the rounds, by concurrency: wall µs per request, and this process's CPU µs."""

    round_trip_us: float
    memory_us: dict[int, float]
    redis_us: dict[int, float]
    memory_cpu_us: dict[int, float]
    redis_cpu_us: dict[int, float]

    def adds_us(self, concurrency: int = 1) -> float:
        """Wall µs Redis adds to a request, `concurrency` at a time (one: its round trips waited for)."""
        return self.redis_us[concurrency] - self.memory_us[concurrency]

    def adds_cpu_us(self, concurrency: int = CONCURRENCY) -> float:
        """The worker's CPU µs Redis adds to a request: building commands, parsing replies."""
        return self.redis_cpu_us[concurrency] - self.memory_cpu_us[concurrency]

    def table(self) -> list[str]:
        """The figures as a Markdown table, for RESULTS.md: wall µs, and CPU µs in brackets."""
        levels = list(self.memory_us)
        rows = [
            ("memory", self.memory_us, self.memory_cpu_us),
            ("Redis (3 round trips)", self.redis_us, self.redis_cpu_us),
            (
                "what Redis adds",
                {c: self.adds_us(c) for c in levels},
                {c: self.adds_cpu_us(c) for c in levels},
            ),
        ]
        return [
            "| | " + " | ".join("one at a time" if c == 1 else f"{c} at a time" for c in levels) + " |",
            "|---" + "|---:" * len(levels) + "|",
            *[
                f"| {name} | " + " | ".join(f"{wall[c]:,.1f} µs (CPU {cpu[c]:,.1f})" for c in levels) + " |"
                for name, wall, cpu in rows
            ],
        ]

    def report(self) -> str:
        lines = [f"one Redis round trip (PING, one at a time): {self.round_trip_us:.1f} µs"]
        for c in self.memory_us:
            lines.append(
                f"{c:>2} at a time: memory {self.memory_us[c]:7.1f} µs/request (CPU {self.memory_cpu_us[c]:6.1f}),"
                f" Redis {self.redis_us[c]:7.1f} (CPU {self.redis_cpu_us[c]:6.1f}),"
                f" Redis costs {self.adds_us(c):6.1f} µs/request, CPU {self.adds_cpu_us(c):6.1f} (3 round trips)"
            )
        return "\n".join(lines)


async def measure(requests: int, port: int) -> Figures:
    def in_memory(app: Koa) -> tuple[object, dict[str, object]]:
        return MemoryStore(), {}

    def in_redis(app: Koa) -> tuple[object, dict[str, object]]:
        client = redis.asyncio.Redis(port=port, max_connections=CONCURRENCY * 2)
        app.on("shutdown", client.aclose)
        return RedisStore(client), {"driver": "redis", "db": client, "prefix": f"limit:{time.time()}:"}

    # Rounds alternate memory and Redis so that the machine's other load falls on both;
    # each figure is the median of its rounds.
    medians: list[dict[int, float]] = [{}, {}, {}, {}]  # memory wall, Redis wall, memory CPU, Redis CPU
    for concurrency in (1, CONCURRENCY):
        memory: list[tuple[float, float]] = []
        in_redis_: list[tuple[float, float]] = []
        for _ in range(ROUNDS):
            memory.append(await per_request_us(app_with(in_memory), requests // ROUNDS, concurrency))
            in_redis_.append(await per_request_us(app_with(in_redis), requests // ROUNDS, concurrency))
        for kind, rounds in enumerate((memory, in_redis_, memory, in_redis_)):
            medians[kind][concurrency] = statistics.median(r[kind // 2] for r in rounds)
    return Figures(await round_trip_us(port, requests), *medians)


def figures(requests: int, port: int) -> Figures:
    """The measure, on the Redis listening on `port`, under uvloop."""
    with asyncio.Runner(loop_factory=new_loop) as runner:
        return runner.run(measure(requests, port))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer requests (indicative figures)")
    parser.add_argument("--requests", type=int, help="requests per measurement (default 20,000; 2,000 quick)")
    args = parser.parse_args(argv)
    requests = args.requests or (2_000 if args.quick else 20_000)
    server = RedisProcess()
    try:
        measured = figures(requests, server.port)
    finally:
        server.close()
    print(measured.report())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
