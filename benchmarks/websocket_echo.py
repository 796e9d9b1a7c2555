"""The websocket scenario: echo round trips per second over 50 connections.

Raw ASGI (the floor: an echo loop on `receive` and `send`), aiokoa (`app.ws` with a
`Router.ws` route) and Starlette (`WebSocketRoute`) on uvicorn, raw ASGI and aiokoa on
granian too, and Koa with koa-websocket on Node, each pinned to the server core like every
network run. uvicorn runs its default websocket protocol for all three apps, which with
the `websockets` library installed is `websockets-sansio`: of uvicorn's three, the one that
costs each framework the least server CPU per round trip (the legacy `websockets` one and
`wsproto` cost 1.6x to 1.9x as much, for raw ASGI as for the frameworks). The
client (this process, the `websockets` library on uvloop, 127.0.0.1 only) opens 50
connections; each sends a short text message, waits for it to come back (checked) and sends
the next, for a fixed time after a warm-up. Round trips per second is the total count over
the time. One client process on one core: it can be what limits the rate, which then
shows as ratios near 1; the server's CPU seconds per 1,000 round trips tell the servers
apart even then.

    python benchmarks/websocket_echo.py [--quick]    (on its own, with the suite's venv or any
                                                 with uvicorn, starlette and websockets)
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from network import BASE_PORT, HOST, PerRound, Server, Target, cpu_seconds, target_available
from registry import AIOKOA, KOA, RAW

CONNECTIONS = 50
MESSAGE = "ping " + "x" * 27  # 32 bytes
TARGETS = (
    Target(RAW, "uvicorn"),
    Target(AIOKOA, "uvicorn"),
    Target("starlette", "uvicorn"),
    Target(RAW, "granian"),
    Target(AIOKOA, "granian"),
    Target(KOA, "node"),
)


@dataclass
class WebSocketMeasurement(PerRound):
    target: str
    rtt_s: list[float] = field(default_factory=list)  # round trips per second
    cpu_ms_per_1k: list[float] = field(default_factory=list)


async def drive(port: int, seconds: float) -> tuple[int, float]:
    """(round trips, seconds) of CONNECTIONS clients echoing for `seconds`, timed once all
    are connected."""
    from websockets.asyncio.client import ClientConnection, connect

    url = f"ws://{HOST}:{port}/echo"
    connections = await asyncio.gather(*(connect(url, compression=None) for _ in range(CONNECTIONS)))
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + seconds

    async def echo(ws: ClientConnection) -> int:
        count = 0
        while not count or loop.time() < deadline:  # one echo at least, however late it starts
            await ws.send(MESSAGE)
            if await ws.recv() != MESSAGE:
                raise AssertionError(f"port {port}: the echo differs")
            count += 1
        return count

    try:
        counts = await asyncio.gather(*(echo(ws) for ws in connections))
        elapsed = loop.time() - started
    finally:
        await asyncio.gather(*(ws.close() for ws in connections))
    return sum(counts), elapsed


def measure(port: int, pid: int, seconds: float, warmup: float) -> tuple[float, float]:
    """(round trips per second, server CPU ms per 1,000 round trips)."""
    import uvloop

    uvloop.run(drive(port, warmup))
    cpu = cpu_seconds(pid)
    count, elapsed = uvloop.run(drive(port, seconds))
    cpu = cpu_seconds(pid) - cpu
    return count / elapsed, cpu * 1000 / count * 1000


def run(rounds: int, seconds: float, warmup: float = 1.0) -> list[WebSocketMeasurement]:
    """Each target, `rounds` times round-robin, on servers started once."""
    targets = [t for t in TARGETS if target_available(t)]
    results = {t.name: WebSocketMeasurement(t.name) for t in targets}
    with tempfile.TemporaryDirectory(prefix="aiokoa-websocket-") as tmp:
        servers = [Server(t, "websocket", BASE_PORT - 20 - i, Path(tmp)) for i, t in enumerate(targets)]
        try:
            for server in servers:
                server.start()
            for server in servers:
                server.wait_ready()
            for _ in range(rounds):
                for server in servers:
                    rate, cpu = measure(server.port, server.pid, seconds, warmup)
                    measured = results[server.target.name]
                    measured.rtt_s.append(rate)
                    measured.cpu_ms_per_1k.append(cpu)
        finally:
            for server in servers:
                server.stop()
    for m in results.values():
        print(
            f"  websocket {m.target}: {m.median('rtt_s'):,.0f} round trips/s,"
            f" server CPU {m.median('cpu_ms_per_1k'):.1f} ms per 1,000"
        )
    return list(results.values())


def table(measured: Sequence[WebSocketMeasurement]) -> list[str]:
    lines = [
        f"| target | round trips/s ({CONNECTIONS} connections) | server CPU ms per 1,000 | runs |",
        "|---|---:|---:|---:|",
    ]
    for m in measured:
        lines.append(f"| {m.target} | {m.median('rtt_s'):,.0f} | {m.median('cpu_ms_per_1k'):.1f} | {len(m.rtt_s)} |")
    return lines


def as_json(measured: list[WebSocketMeasurement]) -> list[dict[str, object]]:
    return [asdict(m) for m in measured]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="websocket echo round trips per second")
    parser.add_argument("--quick", action="store_true", help="one round of 2 s")
    args = parser.parse_args()
    run(1, 2.0) if args.quick else run(3, 10.0)
