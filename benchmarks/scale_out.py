"""The scale scenario: the batteries app with its state in Redis, as 1 worker and as 2.

`batteries` with its sessions in a real Redis (`RedisStore`) and its rate limit counted there
(`rate_limit(driver="redis")`): what each worker of a multi-worker deployment runs. It is
served by `aiokoa run apps.batteries_redis:app --workers N` (uvicorn's supervisor and N
worker processes) for N = 1 and 2, against a redis-server this scenario starts on a free
127.0.0.1 port and stops by its process id. Nothing is pinned, unlike the other network
scenarios: the workers, wrk and Redis share the machine's cores as they would on a host of
that size, so the ratio of the two req/s is what a second worker brings on this machine (on
2 cores, with wrk and Redis on them too, it stays well under 2).

Before the timing, one login gets a session cookie, and several requests with it, each on a
new connection (so both workers are likely to answer some), must each name the session's
user, as in `batteries`. Each run gives the server's CPU per request (every worker),
Redis's own CPU per request (from /proc) and the Redis commands per request (INFO's
`total_commands_processed`). Then, on the same Redis, `redis_cost.py`'s measure gives what
Redis costs a worker per request, in µs.

    python benchmarks/scale_out.py [--quick]    (with the suite's venv)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import redis
import redis_cost
from network import PerRound, Server, Settings, Target, cpu_seconds, fetch, log_in, run_wrk
from registry import AIOKOA
from scenarios import REDIS_URL_ENV, Case, cases_for, check_response

HERE = Path(__file__).resolve().parent
WORKERS = (1, 2)
ALL_CORES = f"0-{(os.cpu_count() or 1) - 1}"
CHECKS_PER_WORKER = 4  # answers checked before the timing, each on a new connection


@dataclass
class ScaleMeasurement(PerRound):
    """One worker count: a value per round for each metric."""

    workers: int
    rps: list[float] = field(default_factory=list)
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    server_cpu_us: list[float] = field(default_factory=list)  # every worker and the supervisor
    redis_cpu_us: list[float] = field(default_factory=list)
    redis_commands: list[float] = field(default_factory=list)  # per request


@dataclass
class ScaleResult:
    measurements: list[ScaleMeasurement]
    redis_cost: redis_cost.Figures

    def ratio(self) -> float:
        """req/s with the most workers over req/s with one."""
        one, most = self.measurements[0], self.measurements[-1]
        return most.median("rps") / one.median("rps")


class Workers(Server):
    """`aiokoa run` serving the batteries app on Redis with `workers` processes, on every core."""

    def __init__(self, workers: int, port: int, log_dir: Path, redis_url: str) -> None:
        env = {REDIS_URL_ENV: redis_url}
        super().__init__(Target(AIOKOA, "uvicorn"), f"batteries-redis-{workers}", port, log_dir, env)
        self.workers = workers

    def command(self) -> list[str]:
        return [
            "taskset", "-c", ALL_CORES, sys.executable, "-m", "aiokoa", "run", "apps.batteries_redis:app",
            "--app-dir", str(HERE), "--port", str(self.port), "--workers", str(self.workers), "--env", "production",
        ]  # fmt: skip


def checked_case(server: Workers, case: Case) -> Case:
    """The case with the cookie of a login; raises unless every answer with it names the user."""
    asked = log_in(server.port, case)
    for _ in range(CHECKS_PER_WORKER * server.workers):
        status, headers, body = fetch(server.port, asked)
        check_response(f"aiokoa, {server.workers} worker(s), sessions in Redis", asked, status, headers, body)
    return asked


def commands_processed(client: redis.Redis) -> int:
    return int(client.info("stats")["total_commands_processed"])


def run_round(servers: list[Workers], results: list[ScaleMeasurement], store: redis_cost.RedisProcess,
              settings: Settings, shift: int, workdir: Path) -> None:  # fmt: skip
    """Check each server's answers, warm it up, then time each, starting with the `shift`-th."""
    case = cases_for("batteries")[0]
    asked = [checked_case(server, case) for server in servers]
    for server, served in zip(servers, asked):
        if settings.warmup_s > 0:
            run_wrk(server.port, served, settings.warmup_s, settings.connections, workdir, ALL_CORES)
    client = redis.Redis(port=store.port)
    try:
        for i in [*range(shift, len(servers)), *range(shift)]:
            server, measured = servers[i], results[i]
            cpu, redis_cpu = cpu_seconds(server.pid), cpu_seconds(store.process.pid)
            commands = commands_processed(client)
            w = run_wrk(server.port, asked[i], settings.duration_s, settings.connections, workdir, ALL_CORES)
            requests = max(w.requests, 1)
            measured.rps.append(w.rps)
            measured.p50_ms.append(w.p50_ms)
            measured.p99_ms.append(w.p99_ms)
            measured.server_cpu_us.append((cpu_seconds(server.pid) - cpu) / requests * 1e6)
            measured.redis_cpu_us.append((cpu_seconds(store.process.pid) - redis_cpu) / requests * 1e6)
            # less one: the INFO that read `commands`, counted once it had answered
            measured.redis_commands.append((commands_processed(client) - commands - 1) / requests)
    finally:
        client.close()


def run(settings: Settings, cost_requests: int) -> ScaleResult:
    """Every worker count, `settings.rounds` times round-robin, each round on fresh servers;
    then what Redis costs a request, in process, on the same Redis."""
    results = [ScaleMeasurement(n) for n in WORKERS]
    store = redis_cost.RedisProcess()
    url = f"redis://127.0.0.1:{store.port}/0"
    try:
        with tempfile.TemporaryDirectory(prefix="aiokoa-scale-") as tmp:
            for round_no in range(settings.rounds):
                # free ports, not the suite's fixed ones: the test suite runs this in parallel
                servers = [Workers(n, redis_cost.free_port(), Path(tmp), url) for n in WORKERS]
                try:
                    for server in servers:
                        server.start()
                    for server in servers:
                        server.wait_ready()
                    run_round(servers, results, store, settings, round_no % len(servers), Path(tmp))
                finally:
                    for server in servers:
                        server.stop()
        for m in results:
            print(
                f"  scale {m.workers} worker(s): {m.median('rps'):>8,.0f} req/s  p99 {m.median('p99_ms'):6.2f} ms"
                f"  server cpu {m.median('server_cpu_us'):6.1f} us/req  redis cpu {m.median('redis_cpu_us'):5.1f}"
                f" us/req  {m.median('redis_commands'):.2f} redis commands/req"
            )
        figures = redis_cost.figures(cost_requests, store.port)
    finally:
        store.close()
    result = ScaleResult(results, figures)
    print(f"  scale: {WORKERS[-1]} workers / 1 worker = {result.ratio():.2f}x")
    print("  " + figures.report().replace("\n", "\n  "))
    return result


def table(result: ScaleResult) -> list[str]:
    """RESULTS.md's section: the req/s of each worker count, their ratio, then Redis's cost."""
    lines = [
        "| workers | req/s | p50 ms | p99 ms | server CPU µs/req | Redis CPU µs/req | Redis commands/req | runs |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in result.measurements:
        lines.append(
            f"| {m.workers} | {m.median('rps'):,.0f} | {m.median('p50_ms'):.2f} | {m.median('p99_ms'):.2f} |"
            f" {m.median('server_cpu_us'):.1f} | {m.median('redis_cpu_us'):.1f} | {m.median('redis_commands'):.2f} |"
            f" {len(m.rps)} |"
        )
    figures = result.redis_cost
    return [
        *lines,
        "",
        f"Scaling: {WORKERS[-1]} workers give **{result.ratio():.2f}x** the req/s of 1 worker. Redis commands",
        "count those its scripts run (the rate limit's): two round trips a request, a session read and the script.",
        "",
        "What Redis costs a worker per request (`redis_cost.py`, in process, on the same Redis: the",
        "app's session changed on every request, so a read, a write and the rate limit's script);",
        "wall µs per request, and in brackets the CPU µs of the process serving it:",
        "",
        *figures.table(),
        "",
        f"One round trip (a PING, one at a time): {figures.round_trip_us:.1f} µs. With the round trips",
        f"overlapping, Redis costs the worker **{figures.adds_cpu_us():.0f} µs of CPU per request**: the input of",
        "docs/deployment.md's model of many hosts.",
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="one round of 1 s runs (indicative figures)")
    args = parser.parse_args(argv)
    if args.quick:
        run(Settings(rounds=1, duration_s=1, warmup_s=1), 2_000)
    else:
        run(Settings(), 20_000)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
