"""The SSE fan-out scenario: 1,000 clients connected at once, each receiving 100 events.

Raw ASGI (the floor), aiokoa's `EventStream`, Starlette's `StreamingResponse` and
sse-starlette's `EventSourceResponse`, each on uvicorn (uvloop, httptools) pinned to the server core, serve
the same broadcaster (`apps/sse_apps.py`). The client, pinned to the other core, opens
`CLIENTS` connections to `/events` over 127.0.0.1, waits until the server counts them all
as subscribers, notes the server's RSS, asks `/publish`, and reads every stream to its end.
Events per second is the events delivered (clients x 100, each stream checked complete)
over the time from the publish request to the last stream's end; RSS per connection is
the server's RSS with every client connected, less its RSS before the first, over
`CLIENTS`. Each round runs on fresh servers; quick mode runs one round.

    python benchmarks/sse.py --serve aiokoa --port 18200    (one server, as the runs start it)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from network import BASE_PORT, CLIENT_CORE, HOST, SERVER_CORE, PerRound, cpu_seconds, rss_kib

HERE = Path(__file__).resolve().parent
CLIENTS = 1000
EVENTS = 100
FRAMEWORKS = ("raw-asgi", "aiokoa", "starlette", "sse-starlette")
TIMEOUT = 120.0


@dataclass
class SseMeasurement(PerRound):
    target: str
    events_s: list[float] = field(default_factory=list)
    cpu_us_per_event: list[float] = field(default_factory=list)
    rss_kib_per_connection: list[float] = field(default_factory=list)


def serve(framework: str, port: int) -> None:
    import uvicorn

    sys.path.insert(0, str(HERE))
    from apps.sse_apps import APPS

    app = APPS[framework]()
    uvicorn.run(app, host=HOST, port=port, log_level="warning", loop="uvloop", http="httptools", backlog=4096)


class Server:
    def __init__(self, framework: str, port: int) -> None:
        self.framework, self.port = framework, port
        command = ["taskset", "-c", SERVER_CORE, sys.executable, str(Path(__file__)), "--serve", framework]
        self.proc = subprocess.Popen(
            [*command, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=HERE
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.get("/subscribers")
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{framework} exited: {self.proc.stderr.read().decode()}") from None  # type: ignore[union-attr]
                time.sleep(0.05)
        raise TimeoutError(f"{framework} did not start")

    def get(self, path: str) -> str:
        with urllib.request.urlopen(f"http://{HOST}:{self.port}{path}", timeout=TIMEOUT) as response:
            return str(response.read().decode())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def _stream(port: int, connected: asyncio.Event) -> int:
    """One client: its stream read to the end; the events it carried."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(f"GET /events HTTP/1.1\r\nHost: {HOST}\r\nAccept: text/event-stream\r\n\r\n".encode())
        await connected.wait()
        data = bytearray()
        while not data.endswith(b"0\r\n\r\n"):  # the end of the chunked body
            chunk = await reader.read(65536)
            if not chunk:
                break
            data += chunk
        return data.count(b"data: ")
    finally:
        writer.close()


async def _fan_out(server: Server) -> tuple[float, float, float]:
    """(events per second, server CPU µs per event, RSS KiB per connection) of one round."""
    before = rss_kib(server.proc.pid)
    connected = asyncio.Event()
    streams = [asyncio.ensure_future(_stream(server.port, connected)) for _ in range(CLIENTS)]
    deadline = time.monotonic() + TIMEOUT
    while int(await asyncio.to_thread(server.get, "/subscribers")) < CLIENTS:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{server.framework}: not every client subscribed")
        await asyncio.sleep(0.05)
    per_connection = (rss_kib(server.proc.pid) - before) / CLIENTS
    connected.set()
    cpu = cpu_seconds(server.proc.pid)
    started = time.perf_counter()
    published = await asyncio.to_thread(server.get, "/publish")
    counts = await asyncio.wait_for(asyncio.gather(*streams), TIMEOUT)
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(server.proc.pid) - cpu
    if int(published) != CLIENTS or any(count != EVENTS for count in counts):
        raise AssertionError(f"{server.framework}: published to {published}, streams carried {set(counts)} events")
    return CLIENTS * EVENTS / elapsed, cpu * 1e6 / (CLIENTS * EVENTS), per_connection


def run(rounds: int) -> list[SseMeasurement]:
    """Each framework, `rounds` times round-robin, each round on a fresh server."""
    results = {name: SseMeasurement(name) for name in FRAMEWORKS}
    affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {int(CLIENT_CORE)})
    try:
        for _ in range(rounds):
            for i, name in enumerate(FRAMEWORKS):
                server = Server(name, BASE_PORT + 100 + i)
                try:
                    events_s, cpu_us, per_connection = asyncio.run(_fan_out(server))
                finally:
                    server.stop()
                results[name].events_s.append(events_s)
                results[name].cpu_us_per_event.append(cpu_us)
                results[name].rss_kib_per_connection.append(per_connection)
    finally:
        os.sched_setaffinity(0, affinity)
    for m in results.values():
        print(
            f"  sse {m.target}: {m.median('events_s'):,.0f} events/s,"
            f" {m.median('cpu_us_per_event'):.1f} µs server CPU/event,"
            f" {m.median('rss_kib_per_connection'):.1f} KiB RSS per connection"
        )
    return list(results.values())


def table(measured: Sequence[SseMeasurement]) -> list[str]:
    lines = [
        f"| framework (uvicorn) | events/s ({CLIENTS:,} clients x {EVENTS} events) | server CPU µs per event |"
        " RSS per connection, KiB | runs |",
        "|---|---:|---:|---:|---:|",
    ]
    for m in measured:
        lines.append(
            f"| {m.target} | {m.median('events_s'):,.0f} | {m.median('cpu_us_per_event'):.1f} |"
            f" {m.median('rss_kib_per_connection'):.1f} | {len(m.events_s)} |"
        )
    return lines


def as_json(measured: Sequence[SseMeasurement]) -> list[dict[str, object]]:
    return [asdict(m) for m in measured]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="one server of the SSE fan-out scenario")
    parser.add_argument("--serve", choices=FRAMEWORKS, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    serve(args.serve, args.port)
