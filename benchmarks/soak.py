"""Soak: the ``stack`` app on one uvicorn worker on 127.0.0.1, loaded by wrk for a fixed
number of requests, with the server's RSS sampled at a fixed interval.

    python benchmarks/soak.py [--requests 1000000] [--warmup 10000] [--interval 10]

The implementation is the one the environment selects (``AIOKOA_PURE_PYTHON=1`` for pure
Python): the server process inherits it. The RSS after the warm-up requests is the baseline;
every later sample must stay within the bound ``flat_bound_kib`` gives for the run's length.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import bootstrap  # noqa: E402
import network  # noqa: E402
from scenarios import cases_for, check_response  # noqa: E402

FULL_REQUESTS = 1_000_000
FULL_BOUND_KIB = 5 * 1024
FLOOR_KIB = 2 * 1024


def flat_bound_kib(requests: int) -> int:
    """The allowed RSS growth after warm-up: 5 MiB for a million requests, less for fewer, but
    never under 2 MiB, the noise of the allocator taking one more arena or two."""
    return FLOOR_KIB + (FULL_BOUND_KIB - FLOOR_KIB) * min(requests, FULL_REQUESTS) // FULL_REQUESTS


def implementation() -> str:
    """What the server runs: it inherits this process's environment."""
    from aiokoa.core.extension import speedups

    return "pure Python" if speedups is None or os.environ.get("AIOKOA_PURE_PYTHON") else "C extension"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((network.HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class SoakResult:
    """One soak run: RSS in KiB after the warm-up requests, every ``interval`` s, and at the end."""

    implementation: str
    requests: int
    warmup_requests: int
    seconds: float
    rss_warm_kib: int
    rss_end_kib: int
    samples: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, RSS KiB)

    @property
    def growth_kib(self) -> int:
        """The largest RSS seen after warm-up, less the RSS at warm-up."""
        return max(rss for _, rss in self.samples) - self.rss_warm_kib

    def summary(self) -> str:
        low = min(rss for _, rss in self.samples)
        high = max(rss for _, rss in self.samples)
        return (
            f"{self.implementation}: {self.requests:,} requests in {self.seconds:.0f} s"
            f" ({self.requests / self.seconds:,.0f} req/s); RSS {self.rss_warm_kib / 1024:.1f} MiB after"
            f" {self.warmup_requests:,} warm-up requests, {self.rss_end_kib / 1024:.1f} MiB at the end;"
            f" {len(self.samples)} samples from {low / 1024:.1f} to {high / 1024:.1f} MiB;"
            f" growth {self.growth_kib / 1024:+.2f} MiB"
        )


def soak(requests: int, warmup: int, interval: float, max_s: float, port: int | None = None) -> SoakResult:
    """Serve ``stack``, send ``warmup`` then ``requests`` in all (at most ``max_s`` seconds)."""
    if not bootstrap.ensure_command("wrk", "wrk"):
        raise RuntimeError("wrk is needed for the soak and cannot be installed here")
    case = cases_for("stack")[0]
    target = network.Target("aiokoa", "uvicorn")
    with tempfile.TemporaryDirectory(prefix="aiokoa-soak-") as tmp:
        workdir = Path(tmp)
        server = network.Server(target, case.app.key, port or free_port(), workdir)
        server.start()
        try:
            server.wait_ready()
            status, headers, body = network.fetch(server.port, case)
            check_response(target.name, case, status, headers, body)
            started = time.monotonic()
            done = 1 + network.load_until(server, case, warmup, max_s, workdir)
            warm = network.rss_kib(server.pid)
            samples = [(time.monotonic() - started, warm)]
            next_sample = time.monotonic() + interval

            def tick() -> None:
                nonlocal next_sample
                if time.monotonic() >= next_sample:
                    samples.append((time.monotonic() - started, network.rss_kib(server.pid)))
                    next_sample += interval

            while done < requests and time.monotonic() - started < max_s:
                budget = max(max_s - (time.monotonic() - started), 1)
                done += network.load_until(server, case, requests - done, budget, workdir, tick)
            seconds = time.monotonic() - started
            end = network.rss_kib(server.pid)
            samples.append((seconds, end))
        finally:
            server.stop()
    return SoakResult(implementation(), done, warmup, seconds, warm, end, samples)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=FULL_REQUESTS)
    parser.add_argument("--warmup", type=int, default=10_000, help="requests before the baseline RSS")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between RSS samples")
    parser.add_argument("--max-seconds", type=float, default=1800.0)
    args = parser.parse_args(argv)
    result = soak(args.requests, args.warmup, args.interval, args.max_seconds)
    for seconds, rss in result.samples:
        print(f"  {seconds:7.1f} s  {rss / 1024:7.2f} MiB")
    print(result.summary())
    bound = flat_bound_kib(result.requests)
    flat = result.growth_kib < bound and result.requests >= args.requests
    print(f"{'PASS' if flat else 'FAIL'}: growth under {bound / 1024:.2f} MiB after all {args.requests:,} requests")
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
