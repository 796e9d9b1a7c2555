"""Network mode: real servers on 127.0.0.1, loaded by wrk, one core each.

Every server runs under ``taskset -c 0`` and wrk under ``taskset -c 1``, so the
load generator never steals the server's core. All servers for one scenario are
started together on their own ports and then loaded one at a time, round-robin,
so each run of each target sees the same machine conditions; every round starts
them afresh, so each figure is a median over processes. Server CPU time is
read from ``/proc/<pid>/stat`` (the server and any worker it forked), which tells
what each request costs independently of how fast wrk could drive it.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from registry import BY_NAME, FRAMEWORKS, KOA, target_name
from scenarios import Case, check_response

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
SERVER_CORE = "0"
CLIENT_CORE = "1"
BASE_PORT = 18100
TICKS = os.sysconf("SC_CLK_TCK")
JIT_SERVERS = frozenset({"node"})
NGINX = "nginx"


@dataclass(frozen=True)
class Settings:
    """wrk run lengths; quick mode shortens them."""

    rounds: int = 3
    duration_s: float = 5.0
    warmup_s: float = 2.0
    warmup_together: bool = False  # quick mode warms all servers at once to save time
    connections: int = 64


@dataclass(frozen=True)
class Target:
    """A framework on a server, e.g. aiokoa on granian."""

    framework: str
    server: str

    @property
    def name(self) -> str:
        return target_name(self.framework, self.server)


class PerRound:
    """Figures kept one per round, in lists; `median("rps")` is one list's median."""

    def median(self, metric: str) -> float:
        values: list[float] = getattr(self, metric)
        return statistics.median(values)


@dataclass
class NetMeasurement(PerRound):
    """One target on one case: a value per round for each metric."""

    target: str
    framework: str
    server: str
    case: str
    scenario: str
    rps: list[float] = field(default_factory=list)
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class WrkResult:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    errors: str


def all_targets() -> list[Target]:
    """Every framework on each server it is benchmarked on."""
    return [Target(f.name, s) for f in FRAMEWORKS for s in f.servers]


def target_available(target: Target) -> bool:
    if target.framework == KOA:
        return shutil.which("node") is not None and (HERE / "node" / "node_modules" / "koa").is_dir()
    if target.server == NGINX:
        return shutil.which("nginx") is not None
    return BY_NAME[target.framework].available()


# --- processes --------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):  # the process may have just exited
            out += [int(p) for p in task.read_text().split()]
    return out


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (granian and sanic fork workers)."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += _children(current)
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process tree, from /proc/<pid>/stat."""
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / TICKS


def rss_kib(pid: int) -> int:
    """Resident set size of the process tree, from /proc/<pid>/status."""
    total = 0
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


class Server:
    """One pinned server process serving one app on one port."""

    def __init__(
        self, target: Target, app_key: str, port: int, log_dir: Path, env: Mapping[str, str] | None = None
    ) -> None:
        self.target, self.app_key, self.port = target, app_key, port
        self.env = dict(env or {})
        self.log_path = log_dir / f"{target.name}-{app_key}.log".replace("@", "_")
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        pin = ["taskset", "-c", SERVER_CORE]
        if self.target.server == "nginx":
            return [*pin, "nginx", "-c", str(self._nginx_conf()), "-p", str(self.log_path.parent)]
        if self.target.server == "node":
            return [*pin, "node", str(HERE / "node" / "server.js"), self.app_key, str(self.port)]
        return [
            *pin, sys.executable, str(HERE / "serve.py"),
            "--framework", self.target.framework, "--server", self.target.server,
            "--app", self.app_key, "--port", str(self.port),
        ]  # fmt: skip

    def _nginx_conf(self) -> Path:
        """One nginx process (no master, no daemon: its PID is the one started, stopped like
        any other server) serving `/static/` from the static directory with sendfile."""
        from scenarios import STATIC_DIR

        work = self.log_path.parent
        conf = work / f"nginx-{self.port}.conf"
        conf.write_text(
            f"""worker_processes 1;
daemon off;
master_process off;
error_log {work}/nginx-{self.port}-error.log warn;
pid {work}/nginx-{self.port}.pid;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {work}/nginx-body;
    server {{
        listen {HOST}:{self.port};
        location /static/ {{ alias {STATIC_DIR}/; }}
    }}
}}
"""
        )
        return conf

    def start(self) -> None:
        env = dict(os.environ, NODE_ENV="production", PYTHONUNBUFFERED="1", **self.env)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, env=env, cwd=HERE, start_new_session=True
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.target.name} ({self.app_key}) exited:\n{self.log_tail()}")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"{self.target.name} ({self.app_key}) not listening after {timeout}s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-25:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGINT, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue


def fetch(port: int, case: Case) -> tuple[int, dict[str, str], bytes]:
    """One real HTTP request, to check a served app's answer before it is timed."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request(case.method, case.path, body=case.body or None, headers=dict(case.headers))
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


def log_in(port: int, case: Case) -> Case:
    """The case as this server must be asked it: for a case with a login route, with the
    cookies that route set (each framework signs its own), which wrk then sends as a header."""
    if not case.login:
        return case
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", case.login, headers=dict(case.headers))
        resp = conn.getresponse()
        resp.read()
        return case.logged_in(resp.msg.get_all("set-cookie") or [])
    finally:
        conn.close()


# --- wrk ---------------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _latency_ms(text: str, percentile: str) -> float:
    match = re.search(rf"^\s*{percentile}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not match:
        raise ValueError(f"no {percentile}% latency in wrk output:\n{text}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(text: str) -> WrkResult:
    requests = re.search(r"^\s*(\d+) requests in", text, re.M)
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    if not requests or not rps:
        raise ValueError(f"unexpected wrk output:\n{text}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(r"Socket errors:.*", text)
    return WrkResult(
        requests=int(requests.group(1)),
        rps=float(rps.group(1)),
        p50_ms=_latency_ms(text, "50"),
        p99_ms=_latency_ms(text, "99"),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        errors=errors.group(0) if errors else "",
    )


def _lua(case: Case, stop_after: int | None, workdir: Path) -> Path | None:
    """A wrk script for POST bodies and/or for stopping after a number of responses."""
    lines: list[str] = []
    if case.method != "GET":
        lines.append(f'wrk.method = "{case.method}"')
        lines.append(f"wrk.body = [==[{case.body.decode()}]==]")
    lines += [f'wrk.headers["{k}"] = [==[{v}]==]' for k, v in case.headers if k != "content-length"]
    if stop_after is not None:
        lines += [
            "local count = 0",
            "function response(status, headers, body)",
            "  count = count + 1",
            f"  if count >= {stop_after} then wrk.thread:stop() end",
            "end",
        ]
    if not lines:
        return None
    path = workdir / f"{case.label}-{stop_after}-{zlib.crc32(repr(case.headers).encode()):08x}.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


def wrk_command(
    port: int, case: Case, seconds: float, connections: int, script: Path | None, cores: str = CLIENT_CORE
) -> list[str]:
    cmd = ["taskset", "-c", cores, "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    cmd += ["--latency", "--timeout", "5s"]
    if script is not None:
        cmd += ["-s", str(script)]
    return [*cmd, f"http://{HOST}:{port}{case.path}"]


def run_wrk(
    port: int, case: Case, seconds: float, connections: int, workdir: Path, cores: str = CLIENT_CORE
) -> WrkResult:
    """A bounded wrk run on `cores`; a non-2xx answer fails the run loudly."""
    cmd = wrk_command(port, case, seconds, connections, _lua(case, None, workdir), cores)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    return checked_wrk(port, case, out)


def checked_wrk(port: int, case: Case, out: str) -> WrkResult:
    """wrk's figures from its output; a non-2xx answer fails the run loudly."""
    result = parse_wrk(out)
    if result.non_2xx:
        raise AssertionError(f"port {port} {case.label}: {result.non_2xx} non-2xx responses under load")
    return result


# --- the scenario loop -----------------------------------------------------------------


def _start_all(targets: list[Target], app_key: str, log_dir: Path) -> list[Server]:
    servers = [Server(t, app_key, BASE_PORT + i, log_dir) for i, t in enumerate(targets)]
    try:
        for s in servers:
            s.start()
        for s in servers:
            s.wait_ready()
    except BaseException:
        for s in servers:
            s.stop()
        raise
    return servers


def _warm_up(servers: list[Server], cases: list[Case], settings: Settings, workdir: Path) -> None:
    """Load all servers at once: a lighter warm-up that costs one wrk run, not one per server."""
    procs = [
        subprocess.Popen(
            wrk_command(s.port, case, settings.warmup_s, 8, _lua(case, None, workdir)), stdout=subprocess.DEVNULL
        )
        for s, case in zip(servers, cases)
    ]
    for p in procs:
        p.wait(timeout=settings.warmup_s + 30)


def _warm_up_all(servers: list[Server], cases: list[Case], settings: Settings, workdir: Path) -> None:
    """``cases[i]`` is the case as ``servers[i]`` is asked it (with its own cookies)."""
    if settings.warmup_s > 0 and settings.warmup_together:
        _warm_up(servers, cases, settings, workdir)
        for s, case in zip(servers, cases):  # a shared second is too little for V8's JIT: Node gets its own
            if s.target.server in JIT_SERVERS:
                run_wrk(s.port, case, settings.warmup_s, settings.connections, workdir)
    elif settings.warmup_s > 0:
        for s, case in zip(servers, cases):  # one at a time: each gets the whole core, as Node's JIT needs
            run_wrk(s.port, case, settings.warmup_s, settings.connections, workdir)


def run_case(case: Case, targets: list[Target], settings: Settings, workdir: Path) -> list[NetMeasurement]:
    """Check then load every target on one case, interleaved round by round.

    Each round starts fresh server processes: a process's own luck (its hash seed, its
    memory layout) moves a figure by a few percent and lasts as long as the process, so
    the median is taken over as many processes as rounds, not over runs of one."""
    results = [NetMeasurement(t.name, t.framework, t.server, case.label, case.scenario) for t in targets]
    for round_no in range(settings.rounds):
        servers = _start_all(targets, case.app.key, workdir)
        try:
            asked = [log_in(s.port, case) for s in servers]
            for s, served in zip(servers, asked):
                status, headers, body = fetch(s.port, served)
                check_response(s.target.name, served, status, headers, body)
            _warm_up_all(servers, asked, settings, workdir)
            shift = round_no % len(servers)
            for i in list(range(shift, len(servers))) + list(range(shift)):
                s, m = servers[i], results[i]
                before = cpu_seconds(s.pid)
                w = run_wrk(s.port, asked[i], settings.duration_s, settings.connections, workdir)
                used = cpu_seconds(s.pid) - before
                m.rps.append(w.rps)
                m.p50_ms.append(w.p50_ms)
                m.p99_ms.append(w.p99_ms)
                m.requests.append(w.requests)
                m.cpu_us.append(used / max(w.requests, 1) * 1e6)
                if w.errors and "timeout 0" not in w.errors:
                    print(f"    note: {s.target.name}: {w.errors}")
        finally:
            for s in servers:
                s.stop()
    for m in results:
        print(
            f"  {case.label:<8} {m.target:<30} {m.median('rps'):>10,.0f} req/s  p50 {m.median('p50_ms'):6.2f} ms"
            f"  p99 {m.median('p99_ms'):6.2f} ms  cpu {m.median('cpu_us'):6.1f} us/req"
        )
    return results


def run_all(cases: list[Case], targets: list[Target], settings: Settings) -> list[NetMeasurement]:
    """Every case on every available target that serves it."""
    present = [t for t in targets if target_available(t)]
    for t in targets:
        if t not in present:
            print(f"  (skipping {t.name}: not installed)")
    out: list[NetMeasurement] = []
    with tempfile.TemporaryDirectory(prefix="aiokoa-bench-") as tmp:
        for case in cases:
            # nginx, the static files' ceiling, is no framework: it serves what it is given
            serving = [t for t in present if t.framework not in BY_NAME or BY_NAME[t.framework].serves(case)]
            out += run_case(case, serving, settings, Path(tmp))
    return out


# --- memory ------------------------------------------------------------------------------


@dataclass
class MemoryResult:
    """RSS of one aiokoa server across a long run of ``stack`` requests."""

    target: str
    rss_start_kib: int
    rss_first_kib: int
    first_requests: int
    rss_end_kib: int
    total_requests: int
    seconds: float


def load_until(
    server: Server, case: Case, count: int, max_s: float, workdir: Path, tick: Callable[[], None] = lambda: None
) -> int:
    """Send about ``count`` requests; wrk stops itself at the count and is then interrupted
    once the server goes idle, so the run takes as long as the requests do (and never
    longer than ``max_s``). ``tick`` is called about every 0.25 s while wrk runs."""
    script = _lua(case, count, workdir)
    proc = subprocess.Popen(
        wrk_command(server.port, case, max_s, 64, script), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    last, idle_since = cpu_seconds(server.pid), None
    while proc.poll() is None:
        time.sleep(0.25)
        tick()
        now = cpu_seconds(server.pid)
        if now > last:
            last, idle_since = now, None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > 1.0:
            proc.send_signal(signal.SIGINT)
            break
    out, _ = proc.communicate(timeout=30)
    result = parse_wrk(out)
    if result.non_2xx:
        raise AssertionError(f"memory run: {result.non_2xx} non-2xx responses")
    return result.requests


def run_memory(case: Case, total: int, first: int, max_s: float) -> MemoryResult:
    """RSS of aiokoa on uvicorn before load, after ``first`` requests and after ``total``."""
    target = Target("aiokoa", "uvicorn")
    with tempfile.TemporaryDirectory(prefix="aiokoa-mem-") as tmp:
        server = Server(target, case.app.key, BASE_PORT - 1, Path(tmp))
        server.start()
        try:
            server.wait_ready()
            status, headers, body = fetch(server.port, case)
            check_response(target.name, case, status, headers, body)
            rss_start = rss_kib(server.pid)
            started = time.monotonic()
            done = 1 + load_until(server, case, first, 120, Path(tmp))
            rss_first = rss_kib(server.pid)
            first_done = done
            while done < total and time.monotonic() - started < max_s:
                budget = max_s - (time.monotonic() - started)
                done += load_until(server, case, total - done, max(budget, 1), Path(tmp))
            rss_end = rss_kib(server.pid)
            elapsed = time.monotonic() - started
        finally:
            server.stop()
    print(
        f"  memory {target.name}: RSS {rss_start / 1024:.1f} MiB at start, {rss_first / 1024:.1f} MiB after"
        f" {first_done:,} requests, {rss_end / 1024:.1f} MiB after {done:,} ({elapsed:.0f} s)"
    )
    return MemoryResult(target.name, rss_start, rss_first, first_done, rss_end, done, elapsed)
