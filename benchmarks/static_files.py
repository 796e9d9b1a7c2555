"""Static files over the network: a 1 KB file, and a 100 MB one.

`static-1k` asks every framework's own static-file serving for one 1 KB file under
`/static/`: aiokoa's `serve_static` (on uvicorn, and on granian where it goes out through
pathsend), Starlette's `StaticFiles`, BlackSheep's `serve_files`, Litestar's static files
router, Sanic's `app.static`, aiohttp's `add_static`, Koa with koa-static, and nginx as
the ceiling (one process, `sendfile on`). It runs like every network scenario: one core
each, round-robin, fresh processes every round.

The 100 MB run loads aiokoa on granian (pathsend), aiokoa on uvicorn (chunks read in a
thread) and nginx (sendfile) with a few connections downloading the whole file over and
over, and reads the throughput from wrk and the server's RSS from /proc every 0.2 s.
"""

from __future__ import annotations

import hashlib
import http.client
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import network
from network import HOST, NGINX, NetMeasurement, PerRound, Server, Settings, Target
from registry import AIOKOA, KOA
from scenarios import LARGE_NAME, LARGE_SIZE, AppSpec, Case, Expected, static_case, static_files

PEERS = (
    Target(AIOKOA, "uvicorn"),
    Target(AIOKOA, "granian"),
    Target("starlette", "uvicorn"),
    Target("blacksheep", "uvicorn"),
    Target("litestar", "uvicorn"),
    Target("sanic", "sanic"),
    Target("aiohttp", "aiohttp"),
    Target(KOA, "node"),
    Target(NGINX, NGINX),
)
LARGE_TARGETS = (Target(AIOKOA, "granian"), Target(AIOKOA, "uvicorn"), Target(NGINX, NGINX))
LARGE_CONNECTIONS = 4
_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


@dataclass
class LargeResult(PerRound):
    """One server sending the 100 MB file over and over: MiB/s per round, and its RSS."""

    target: str
    mib_s: list[float] = field(default_factory=list)
    rss_start_kib: list[int] = field(default_factory=list)
    rss_peak_kib: list[int] = field(default_factory=list)
    rss_end_kib: list[int] = field(default_factory=list)

    @property
    def growth_mib(self) -> float:
        """How far the RSS rose above its level before the load, at its peak (the worst round)."""
        return max(peak - start for peak, start in zip(self.rss_peak_kib, self.rss_start_kib, strict=True)) / 1024


def run_static(settings: Settings) -> list[NetMeasurement]:
    """The 1 KB file on every peer that serves static files."""
    static_files()
    return network.run_all([static_case()], list(PEERS), settings)


def _transfer(text: str) -> float:
    """wrk's `Transfer/sec` in bytes per second."""
    for line in text.splitlines():
        if line.startswith("Transfer/sec:"):
            value = line.split(":", 1)[1].strip()
            number = value.rstrip("KMGTB")
            return float(number) * _UNITS[value[len(number) :]]
    raise ValueError(f"no Transfer/sec in wrk output:\n{text}")


def _check_large(port: int, digest: str) -> None:
    """The whole file, byte for byte, before it is timed."""
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        conn.request("GET", f"/static/{LARGE_NAME}")
        response = conn.getresponse()
        hasher, size = hashlib.sha256(), 0
        while chunk := response.read(1 << 20):
            hasher.update(chunk)
            size += len(chunk)
    finally:
        conn.close()
    if response.status != 200 or size != LARGE_SIZE or hasher.hexdigest() != digest:
        raise AssertionError(f"port {port}: the 100 MB file came back as {response.status}, {size:,} bytes")


def _load(server: Server, seconds: float, case: Case, workdir: Path) -> tuple[float, int]:
    """Bytes per second under wrk, and the peak RSS seen while it ran."""
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, network.rss_kib(server.pid))
            done.wait(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        cmd = network.wrk_command(server.port, case, seconds, LARGE_CONNECTIONS, None)
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    finally:
        done.set()
        sampler.join()
    network.checked_wrk(server.port, case, out)
    return _transfer(out), peak


def run_large(rounds: int, seconds: float) -> list[LargeResult]:
    """The 100 MB file on aiokoa (granian, uvicorn) and nginx, interleaved round by round."""
    directory = static_files(large=True)
    with open(directory / LARGE_NAME, "rb") as file:
        digest = hashlib.file_digest(file, "sha256").hexdigest()
    case = Case("static", "static-100m", AppSpec("static"), "GET", f"/static/{LARGE_NAME}", Expected(200, "", b""))
    targets = [t for t in LARGE_TARGETS if network.target_available(t)]
    results = [LargeResult(t.name) for t in targets]
    with tempfile.TemporaryDirectory(prefix="aiokoa-large-") as tmp:
        for _ in range(rounds):
            servers = [Server(t, "static", network.BASE_PORT + 50 + i, Path(tmp)) for i, t in enumerate(targets)]
            try:
                for s in servers:
                    s.start()
                for s in servers:
                    s.wait_ready()
                    _check_large(s.port, digest)
                for s, result in zip(servers, results, strict=True):
                    result.rss_start_kib.append(network.rss_kib(s.pid))
                    rate, peak = _load(s, seconds, case, Path(tmp))
                    time.sleep(0.5)  # the last responses drain before the RSS is read again
                    result.mib_s.append(rate / 1024**2)
                    result.rss_peak_kib.append(peak)
                    result.rss_end_kib.append(network.rss_kib(s.pid))
            finally:
                for s in servers:
                    s.stop()
    for r in results:
        print(
            f"  static-100m {r.target:<22} {r.median('mib_s'):>9,.0f} MiB/s  RSS {r.median('rss_start_kib') / 1024:.1f}"
            f" -> peak {r.median('rss_peak_kib') / 1024:.1f} -> {r.median('rss_end_kib') / 1024:.1f} MiB"
        )
    return results
