"""Turn measurements into RESULTS.md, PNG plots and PASS/MISS lines for the targets.

The targets are the project's performance promises; printing them next to the
raw figures keeps each promise checked by every run rather than by hand.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from battery_costs import BatteryCost
from battery_costs import table as battery_table
from inprocess import Measurement
from network import NGINX, MemoryResult, NetMeasurement
from registry import AIOKOA, AIOKOA_UNTYPED, BLACKSHEEP, FRAMEWORKS, KOA, RAW
from scale_out import ScaleResult
from scale_out import table as scale_table
from scenarios import DEPTHS, ROUTE_COUNTS
from sse import SseMeasurement
from sse import table as sse_table
from static_files import LARGE_CONNECTIONS, LargeResult
from upload import UploadMeasurement
from upload import table as upload_table
from websocket_echo import WebSocketMeasurement
from websocket_echo import table as websocket_table

HERE = Path(__file__).resolve().parent
PLOTS = HERE / "plots"

PACKAGES = (
    "aiokoa", "python-multipart", "uvicorn", "granian", "uvloop", "httptools", "starlette", "fastapi", "pydantic",
    "blacksheep", "falcon", "litestar", "msgspec", "sanic", "aiohttp", "matplotlib",
)  # fmt: skip

COMPRESS_LIMIT = 1.3  # compress(): req/s against Starlette's GZipMiddleware
SLOPE_LIMIT_US = 0.3
FLAT_LIMIT = 1.10  # cost at 1,000 routes at most 10 % above the cost at 10 routes
RSS_LIMIT = 1.05
STATIC_PEER_RATIO = 1.2
LARGE_RATIO = 0.5
BATTERIES_LIMITS = (("starlette", 1.5), ("fastapi", 1.5), ("litestar", 1.2))
"""batteries: aiokoa's req/s against each Python peer with its equivalents, on uvicorn too."""
BATTERIES_KOA_LIMIT = 1.2
TYPED_PEERS = (("fastapi", 2.0), ("litestar", 1.2), (BLACKSHEEP, 1.0))
"""Typed handlers: how many times the peer's speed aiokoa must reach on the typed cases."""
TYPED_CASES = ("typed-post", "typed-get")
LARGE_RSS_MIB = 16.0
"""The RSS sending the 100 MB file may gain over its level before the load: buffers, not the file."""


@dataclass(frozen=True)
class Verdict:
    """One target: PASS, MISS, or N/A when the run did not measure what it needs (INFO: a
    figure reported beside the targets, with none of its own)."""

    name: str
    status: str
    detail: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.name}: {self.detail}"


# --- machine ---------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _loadavg() -> str:
    """Other work on the machine skews timings; the load average tells whether there was any."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _command_version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def _node_package(name: str) -> str:
    try:
        meta = json.loads((HERE / "node" / "node_modules" / name / "package.json").read_text())
        return str(meta["version"])
    except (OSError, ValueError, KeyError):
        return "not installed"


def _aiokoa_build() -> str:
    from aiokoa.core.extension import speedups

    if speedups is not None:
        return "with its C extension"
    if os.environ.get("AIOKOA_PURE_PYTHON"):
        return "pure Python (AIOKOA_PURE_PYTHON=1)"
    return "pure Python (the C extension is not built here)"


def machine() -> dict[str, str]:
    """What the figures were measured on: they mean little without it."""
    info = {
        "CPU": _cpu_model(),
        "Cores": str(os.cpu_count()),
        "OS": platform.platform(),
        "Load average when the report was written": _loadavg(),
        "Python": platform.python_version(),
        "Node.js": _command_version(["node", "--version"]),
        "wrk": _command_version(["wrk", "--version"]).split(" [")[0],
        "koa": _node_package("koa"),
        "@koa/router": _node_package("@koa/router"),
        "@koa/bodyparser": _node_package("@koa/bodyparser"),
        "koa-body": _node_package("koa-body"),
        "@koa/cors": _node_package("@koa/cors"),
        "koa-helmet": _node_package("koa-helmet"),
        "koa-session": _node_package("koa-session"),
        "koa-ratelimit": _node_package("koa-ratelimit"),
        "aiokoa build": _aiokoa_build(),
    }
    for name in PACKAGES:
        try:
            info[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            info[name] = "not installed"
    return info


@dataclass(frozen=True)
class CpuSnapshot:
    """Machine-wide busy CPU time next to this suite's own (itself, its servers and wrk)."""

    busy_s: float
    ours_s: float
    wall_s: float

    @classmethod
    def take(cls) -> CpuSnapshot:
        ticks = os.sysconf("SC_CLK_TCK")
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        t = os.times()
        ours = t.user + t.system + t.children_user + t.children_system
        return cls((sum(fields[:8]) - idle) / ticks, ours, time.monotonic())


def foreign_load(start: CpuSnapshot, end: CpuSnapshot) -> str:
    """How busy other processes kept the machine while the suite ran: noise in every figure."""
    other = max(0.0, (end.busy_s - start.busy_s) - (end.ours_s - start.ours_s))
    wall = max(end.wall_s - start.wall_s, 1e-9)
    cores = os.cpu_count() or 1
    return f"{other:.0f} CPU-seconds in {wall:.0f} s ({other / wall / cores * 100:.0f}% of the machine's {cores} cores)"


# --- lookups -----------------------------------------------------------------------------


def _us(inproc: Sequence[Measurement], framework: str, case: str) -> float | None:
    for m in inproc:
        if m.framework == framework and m.case == case:
            return m.median_us
    return None


def _net(net: Sequence[NetMeasurement], target: str, case: str) -> NetMeasurement | None:
    for m in net:
        if m.target == target and m.case == case:
            return m
    return None


def depth_slope(inproc: Sequence[Measurement], framework: str) -> float | None:
    """Least-squares µs per extra middleware over the depth cases."""
    points = [(d, _us(inproc, framework, f"depth-{d}")) for d in DEPTHS]
    xy = [(float(x), y) for x, y in points if y is not None]
    if len(xy) < 2:
        return None
    mx = sum(x for x, _ in xy) / len(xy)
    my = sum(y for _, y in xy) / len(xy)
    return sum((x - mx) * (y - my) for x, y in xy) / sum((x - mx) ** 2 for x, _ in xy)


# --- targets -----------------------------------------------------------------------------


def _ratio_verdict(name: str, mine: float | None, theirs: float | None, limit: float, le: bool, unit: str) -> Verdict:
    if mine is None or theirs is None or theirs == 0:
        return Verdict(name, "N/A", "not measured in this run")
    ratio = mine / theirs
    ok = ratio <= limit if le else ratio >= limit
    return Verdict(name, "PASS" if ok else "MISS", f"{ratio:.2f}x ({mine:,.2f} vs {theirs:,.2f} {unit})")


def evaluate(
    inproc: Sequence[Measurement],
    net: Sequence[NetMeasurement],
    memory: MemoryResult | None,
    large: Sequence[LargeResult] = (),
    uploads: Sequence[UploadMeasurement] = (),
    sse: Sequence[SseMeasurement] = (),
    websockets: Sequence[WebSocketMeasurement] = (),
    scale: ScaleResult | None = None,
) -> list[Verdict]:
    """Every target of the project, judged on this run's figures."""
    out: list[Verdict] = []
    for case in ("hello", "stack"):
        out.append(
            _ratio_verdict(
                f"in-process {case} <= 0.7x BlackSheep us/request",
                _us(inproc, AIOKOA, case), _us(inproc, BLACKSHEEP, case), 0.7, True, "us",
            )
        )  # fmt: skip
    slope = depth_slope(inproc, AIOKOA)
    if slope is None:
        out.append(Verdict("each pass-through middleware <= 0.3 us", "N/A", "depth not measured"))
    else:
        status = "PASS" if slope <= SLOPE_LIMIT_US else "MISS"
        out.append(Verdict("each pass-through middleware <= 0.3 us", status, f"slope {slope:.3f} us/middleware"))
    for where in ("last", "mid"):
        lo, hi = ROUTE_COUNTS[0], ROUTE_COUNTS[-1]
        a, b = _us(inproc, AIOKOA, f"routes-{lo}-{where}"), _us(inproc, AIOKOA, f"routes-{hi}-{where}")
        name = f"route lookup flat from {lo} to {hi:,} routes ({where} route, <= {FLAT_LIMIT:.2f}x)"
        out.append(_ratio_verdict(name, b, a, FLAT_LIMIT, True, "us"))

    def rps(target: str, case: str) -> float | None:
        m = _net(net, target, case)
        return m.median("rps") if m else None

    for case in TYPED_CASES:
        for peer, factor in TYPED_PEERS:
            name = f"in-process {case} >= {factor:g}x {peer}'s speed (us/request <= {1 / factor:.2f}x)"
            out.append(_ratio_verdict(name, _us(inproc, AIOKOA, case), _us(inproc, peer, case), 1 / factor, True, "us"))
            name = f"uvicorn {case} >= {factor:g}x {peer} req/s"
            ours, theirs = rps(f"{AIOKOA}@uvicorn", case), rps(f"{peer}@uvicorn", case)
            out.append(_ratio_verdict(name, ours, theirs, factor, False, "req/s"))
        typed, untyped = _us(inproc, AIOKOA, case), _us(inproc, AIOKOA_UNTYPED, case)
        if typed is not None and untyped is not None:
            detail = f"{typed - untyped:+.2f} us ({typed:.2f} typed vs {untyped:.2f} us, same handler untyped)"
            out.append(Verdict(f"in-process {case}: validation per request", "INFO", detail))

    mine, raw, koa = f"{AIOKOA}@granian", f"{RAW}@granian", f"{KOA}@node"
    name = "granian hello >= 0.95x raw ASGI req/s"
    out.append(_ratio_verdict(name, rps(mine, "hello"), rps(raw, "hello"), 0.95, False, "req/s"))
    for case in ("hello", "stack"):
        name = f"granian {case} >= 1.1x Koa-on-Node req/s"
        out.append(_ratio_verdict(name, rps(mine, case), rps(koa, case), 1.1, False, "req/s"))
    uvicorn_peers = {m.target for m in net if m.server == "uvicorn" and m.framework not in (AIOKOA, RAW)}
    basic = ["hello", "stack", "json", "post"]
    for case in sorted({m.case for m in net} & set(basic), key=basic.index):
        ours = rps(f"{AIOKOA}@uvicorn", case)
        theirs = {t: rps(t, case) for t in uvicorn_peers}
        best = max(((v, t) for t, v in theirs.items() if v is not None), default=None)
        if ours is None or best is None:
            out.append(Verdict(f"uvicorn {case}: ahead of every uvicorn peer", "N/A", "not measured"))
            continue
        status = "PASS" if ours > best[0] else "MISS"
        detail = f"aiokoa {ours:,.0f} req/s vs best peer {best[1]} {best[0]:,.0f} req/s ({ours / best[0]:.2f}x)"
        out.append(Verdict(f"uvicorn {case}: ahead of every uvicorn peer", status, detail))
    # The same 100 kB of JSON through aiokoa's compress() (gzip, then br) and through
    # Starlette's GZipMiddleware, which has no br.
    starlette_gzip = rps("starlette@uvicorn", "compress-gzip")
    for coding in ("gzip", "br"):
        name = f"uvicorn compress-{coding} >= {COMPRESS_LIMIT}x Starlette GZipMiddleware req/s"
        ours = rps(f"{AIOKOA}@uvicorn", f"compress-{coding}")
        out.append(_ratio_verdict(name, ours, starlette_gzip, COMPRESS_LIMIT, False, "req/s"))
    out += _static_verdicts(net, large)
    name = "post (JSON echo through body_parser) >= 1.2x Koa with @koa/bodyparser req/s"
    out.append(_ratio_verdict(name, rps(mine, "post"), rps(koa, "post"), 1.2, False, "req/s"))
    peers = {m.target for m in net if m.framework not in (AIOKOA, RAW, KOA) and m.case == "post"}
    ours_post = max((v for v in (rps(f"{AIOKOA}@{s}", "post") for s in ("uvicorn", "granian")) if v), default=None)
    best_post = max(((v, t) for t in peers if (v := rps(t, "post")) is not None), default=None)
    if ours_post is None or best_post is None:
        out.append(Verdict("post: ahead of every Python peer on any server", "N/A", "not measured"))
    else:
        status = "PASS" if ours_post > best_post[0] else "MISS"
        detail = f"aiokoa {ours_post:,.0f} req/s vs best peer {best_post[1]} {best_post[0]:,.0f} req/s"
        out.append(
            Verdict(
                "post: ahead of every Python peer on any server", status, f"{detail} ({ours_post / best_post[0]:.2f}x)"
            )
        )
    for peer, limit in BATTERIES_LIMITS:
        name = f"batteries >= {limit}x {peer} with its equivalents req/s (both on uvicorn)"
        out.append(
            _ratio_verdict(name, rps(f"{AIOKOA}@uvicorn", "batteries"), rps(f"{peer}@uvicorn", "batteries"), limit,
                           False, "req/s")
        )  # fmt: skip
    name = f"batteries >= {BATTERIES_KOA_LIMIT}x Koa with @koa/cors, koa-helmet, koa-session, koa-ratelimit req/s"
    out.append(_ratio_verdict(name, rps(mine, "batteries"), rps(koa, "batteries"), BATTERIES_KOA_LIMIT, False, "req/s"))
    out += _upload_verdicts(uploads)
    out += _sse_verdicts(sse)
    out += _websocket_verdicts(websockets)
    out += _scale_figures(scale)
    if memory is None:
        out.append(
            Verdict("RSS after 1M requests within 5% of RSS after the first 10,000", "N/A", "memory run skipped")
        )
    else:
        growth = memory.rss_end_kib / memory.rss_first_kib
        status = "PASS" if growth <= RSS_LIMIT and memory.total_requests >= 1_000_000 else "MISS"
        detail = (
            f"{memory.rss_end_kib / 1024:.1f} MiB after {memory.total_requests:,} vs "
            f"{memory.rss_first_kib / 1024:.1f} MiB after {memory.first_requests:,} ({(growth - 1) * 100:+.1f}%)"
        )
        out.append(Verdict("RSS after 1M requests within 5% of RSS after the first 10,000", status, detail))
    return out


def _static_verdicts(net: Sequence[NetMeasurement], large: Sequence[LargeResult]) -> list[Verdict]:
    """The static-file targets: 1 KB against the Python peers and Koa, 100 MB against nginx."""
    case = "static-1k"
    figures = {m.target: m.median("rps") for m in net if m.case == case}
    mine = figures.get(f"{AIOKOA}@granian")
    peers = {t: v for t, v in figures.items() if not t.startswith((AIOKOA, KOA, NGINX))}
    best = max(((v, t) for t, v in peers.items()), default=None)
    name = f"static 1 KB >= {STATIC_PEER_RATIO}x the best Python peer req/s (aiokoa on granian)"
    if mine is None or best is None:
        out = [Verdict(name, "N/A", "not measured")]
    else:
        status = "PASS" if mine >= STATIC_PEER_RATIO * best[0] else "MISS"
        detail = f"{mine / best[0]:.2f}x ({mine:,.0f} vs {best[1]} {best[0]:,.0f} req/s)"
        out = [Verdict(name, status, detail)]
    out.append(
        _ratio_verdict(
            "static 1 KB >= Koa with koa-static req/s", mine, figures.get(f"{KOA}@node"), 1.0, False, "req/s"
        )
    )
    ceiling = figures.get(f"{NGINX}@{NGINX}")
    if mine is not None and ceiling:
        out.append(
            Verdict(
                "static 1 KB: nginx, the ceiling",
                "INFO",
                f"aiokoa at {mine / ceiling:.2f}x nginx's {ceiling:,.0f} req/s",
            )
        )
    by_target = {r.target: r for r in large}
    ours, nginx = by_target.get(f"{AIOKOA}@granian"), by_target.get(f"{NGINX}@{NGINX}")
    out.append(
        _ratio_verdict(
            f"static 100 MB >= {LARGE_RATIO}x nginx sendfile throughput (aiokoa on granian, pathsend)",
            ours.median("mib_s") if ours else None,
            nginx.median("mib_s") if nginx else None,
            LARGE_RATIO,
            False,
            "MiB/s",
        )
    )
    name = f"static 100 MB: RSS flat (peak within {LARGE_RSS_MIB:.0f} MiB of the RSS before the load)"
    if ours is None:
        out.append(Verdict(name, "N/A", "not measured"))
    else:
        status = "PASS" if ours.growth_mib <= LARGE_RSS_MIB else "MISS"
        out.append(Verdict(name, status, f"+{ours.growth_mib:.1f} MiB at the peak, on granian"))
    return out


def _upload_verdicts(uploads: Sequence[UploadMeasurement]) -> list[Verdict]:
    by_target = {m.target: m for m in uploads}

    def mb_s(target: str) -> float | None:
        m = by_target.get(target)
        return m.median("mb_s") if m else None

    ours = f"{AIOKOA}@uvicorn"
    out = [
        _ratio_verdict(
            "upload 100 MiB multipart >= 1.5x Starlette form() MB/s",
            mb_s(ours),
            mb_s("starlette@uvicorn"),
            1.5,
            False,
            "MB/s",
        ),
        _ratio_verdict(
            "upload 100 MiB multipart on granian >= 1.5x Starlette form() on granian MB/s",
            mb_s(f"{AIOKOA}@granian"),
            mb_s("starlette@granian"),
            1.5,
            False,
            "MB/s",
        ),
        _ratio_verdict(
            "upload 100 MiB multipart >= Koa with koa-body MB/s", mb_s(ours), mb_s(f"{KOA}@node"), 1.0, False, "MB/s"
        ),
    ]
    for server in ("uvicorn", "granian"):
        mine, floor = mb_s(f"{AIOKOA}@{server}"), mb_s(f"{RAW}@{server}")
        if mine is not None and floor:
            detail = f"aiokoa at {mine / floor:.2f}x the floor ({mine:,.0f} vs {floor:,.0f} MB/s)"
            out.append(Verdict(f"upload on {server}: raw ASGI with python-multipart and os.write", "INFO", detail))
    name = "upload 100 MiB multipart: server RSS grows < 32 MiB"
    m = by_target.get(ours)
    if m is None:
        out.append(Verdict(name, "N/A", "upload not measured"))
    else:
        growth = m.median("rss_growth_mib")
        out.append(Verdict(name, "PASS" if growth < 32 else "MISS", f"+{growth:.1f} MiB"))
    return out


def _sse_verdicts(sse: Sequence[SseMeasurement]) -> list[Verdict]:
    by_target = {m.target: m for m in sse}

    def events_s(target: str) -> float | None:
        m = by_target.get(target)
        return m.median("events_s") if m else None

    return [
        _ratio_verdict(
            f"SSE fan-out (1,000 clients x 100 events) >= 1.2x {peer} events/s",
            events_s(AIOKOA),
            events_s(peer),
            1.2,
            False,
            "events/s",
        )
        for peer in ("starlette", "sse-starlette")
    ]


def _scale_figures(scale: ScaleResult | None) -> list[Verdict]:
    """The scale scenario has no target of its own: its figures, beside the targets."""
    if scale is None:
        return []
    one, most = scale.measurements[0], scale.measurements[-1]
    cost = scale.redis_cost
    return [
        Verdict(
            f"scale: batteries on Redis, {most.workers} workers vs 1 worker req/s",
            "INFO",
            f"{scale.ratio():.2f}x ({most.median('rps'):,.0f} vs {one.median('rps'):,.0f} req/s)",
        ),
        Verdict(
            "scale: what Redis costs a worker per request",
            "INFO",
            f"{cost.adds_cpu_us():.0f} us of its CPU ({cost.adds_us(1):.0f} us of wall time one request at a time,"
            " round trips included)",
        ),
    ]


def _websocket_verdicts(measured: Sequence[WebSocketMeasurement]) -> list[Verdict]:
    by_target = {m.target: m.median("rtt_s") for m in measured}
    ours = by_target.get(f"{AIOKOA}@uvicorn")  # Starlette's server
    best = max((by_target[t] for t in (f"{AIOKOA}@uvicorn", f"{AIOKOA}@granian") if t in by_target), default=None)
    return [
        _ratio_verdict(
            "websocket echo >= 1.2x Starlette's WebSocket round trips/s",
            ours, by_target.get("starlette@uvicorn"), 1.2, False, "round trips/s",
        ),
        _ratio_verdict(
            "websocket echo (aiokoa on its faster server) >= Koa with koa-websocket round trips/s",
            best, by_target.get(f"{KOA}@node"), 1.0, False, "round trips/s",
        ),
    ]  # fmt: skip


# --- plots -------------------------------------------------------------------------------


def plots(inproc: Sequence[Measurement], net: Sequence[NetMeasurement]) -> list[Path]:
    """Bar and line charts; matplotlib's Agg backend so no display is needed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    PLOTS.mkdir(exist_ok=True)
    written: list[Path] = []
    frameworks = [f.name for f in FRAMEWORKS if any(m.framework == f.name for m in inproc)]

    basic = [c for c in ("hello", "stack", "json", "post") if any(m.case == c for m in inproc)]
    if basic:
        fig, ax = plt.subplots(figsize=(10, 0.5 * len(frameworks) * len(basic) / 2 + 2))
        height = 0.8 / len(basic)
        for j, case in enumerate(basic):
            values = [_us(inproc, f, case) or 0.0 for f in frameworks]
            ys = [i + j * height for i in range(len(frameworks))]
            ax.barh(ys, values, height=height, label=case)
        ax.set_yticks([i + 0.4 - height / 2 for i in range(len(frameworks))], frameworks)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel("µs per request, in-process (log scale; lower is better)")
        ax.set_title("In-process cost per request by framework")
        ax.legend()
        written.append(_save(fig, "inprocess_by_framework.png"))

    colors = {f: f"C{i}" for i, f in enumerate(frameworks)}
    for kind, xs, label in (
        ("depth", DEPTHS, "pass-through middlewares"),
        ("routes", ROUTE_COUNTS, "registered routes"),
    ):
        if not any(m.scenario == kind for m in inproc):
            continue
        variants = [("", "-")] if kind == "depth" else [("-last", "-"), ("-mid", ":")]
        series: dict[str, list[tuple[str, list[tuple[int, float]]]]] = {}
        for f in frameworks:
            for suffix, style in variants:
                pts = [(x, _us(inproc, f, f"{kind}-{x}{suffix}")) for x in xs]
                got = [(x, y) for x, y in pts if y is not None]
                if got:
                    series.setdefault(f, []).append((style, got))
        ours = max((y for _, pts in series.get(AIOKOA, []) for _, y in pts), default=0.0)
        close = [f for f in series if max(y for _, pts in series[f] for _, y in pts) <= 10 * ours]
        fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
        for ax, names, log in ((axes[0], list(series), True), (axes[1], close, False)):
            for f in names:
                for i, (style, got) in enumerate(series[f]):
                    ax.plot([x for x, _ in got], [y for _, y in got], style, marker="o", color=colors[f],
                            label=f if i == 0 else "_")  # fmt: skip
            ax.set_xlabel(label)
            ax.set_ylabel("µs per request" + (" (log scale)" if log else ""))
            if log:
                ax.set_yscale("log")
            if kind == "routes":
                ax.set_xscale("log")
            ax.legend(fontsize=8, ncol=2)
        axes[0].set_title("all frameworks")
        axes[1].set_title("within 10x of aiokoa, linear scale")
        sub = "" if kind == "depth" else " (solid: last registered route, dotted: middle route)"
        fig.suptitle(f"In-process cost against {label}{sub}")
        written.append(_save(fig, f"inprocess_{kind}.png"))

    net_cases = [c for c in ("hello", "stack", "json", "post") if any(m.case == c for m in net)]
    if net_cases:
        targets = list(dict.fromkeys(m.target for m in net))
        fig, ax = plt.subplots(figsize=(10, 0.35 * len(targets) * len(net_cases) / 2 + 2))
        height = 0.8 / len(net_cases)
        for j, case in enumerate(net_cases):
            values = []
            for t in targets:
                m = _net(net, t, case)
                values.append(m.median("rps") if m else 0.0)
            ax.barh([i + j * height for i in range(len(targets))], values, height=height, label=case)
        ax.set_yticks([i + 0.4 - height / 2 for i in range(len(targets))], targets)
        ax.invert_yaxis()
        ax.set_xlabel("requests/s, one server core (higher is better)")
        ax.set_title("Network throughput (wrk on 127.0.0.1)")
        ax.legend()
        written.append(_save(fig, "network_rps.png"))
    return written


def _save(fig: object, name: str) -> Path:
    import matplotlib.pyplot as plt

    path = PLOTS / name
    fig.tight_layout()  # type: ignore[attr-defined]
    fig.savefig(path, dpi=110)  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    return path


# --- markdown ----------------------------------------------------------------------------


def _inproc_table(inproc: Sequence[Measurement]) -> list[str]:
    frameworks = [f.name for f in FRAMEWORKS if any(m.framework == f.name for m in inproc)]
    cases = list(dict.fromkeys(m.case for m in inproc))
    lines = ["| case | " + " | ".join(frameworks) + " |", "|---" * (len(frameworks) + 1) + "|"]
    for case in cases:
        floor = _us(inproc, RAW, case)
        cells = []
        for f in frameworks:
            us = _us(inproc, f, case)
            if us is None:
                cells.append("—")
            elif floor and f != RAW:
                cells.append(f"{us:,.2f} ({us / floor:.1f}x)")
            else:
                cells.append(f"{us:,.2f}")
        lines.append(f"| {case} | " + " | ".join(cells) + " |")
    return lines


def _net_table(net: Sequence[NetMeasurement]) -> list[str]:
    lines = [
        "| case | target | req/s | p50 ms | p99 ms | server CPU µs/req | runs |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for m in net:
        lines.append(
            f"| {m.case} | {m.target} | {m.median('rps'):,.0f} | {m.median('p50_ms'):.2f} | "
            f"{m.median('p99_ms'):.2f} | {m.median('cpu_us'):.1f} | {len(m.rps)} |"
        )
    return lines


def write(
    path: Path,
    *,
    mode: str,
    inproc: Sequence[Measurement],
    net: Sequence[NetMeasurement],
    memory: MemoryResult | None,
    large: Sequence[LargeResult] = (),
    uploads: Sequence[UploadMeasurement] = (),
    sse: Sequence[SseMeasurement] = (),
    websockets: Sequence[WebSocketMeasurement] = (),
    verdicts: Sequence[Verdict] = (),
    images: Sequence[Path],
    notes: Sequence[str],
    settings: dict[str, object],
    battery_costs: Sequence[BatteryCost] = (),
    scale: ScaleResult | None = None,
) -> None:
    """Write RESULTS.md and a JSON copy of every sample next to it."""
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# aiokoa benchmark results",
        "",
        f"Generated by `python benchmarks/run.py {' '.join(sys.argv[1:])}`".rstrip() + f" ({mode} mode) on {when}.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in machine().items()],
        "",
        "## Targets",
        "",
        "```",
        *[v.line() for v in verdicts],
        "```",
        "",
    ]
    gap = path.parent / "GAP.md"
    if gap.exists():  # the hand-written account of the targets missed, kept with the figures
        lines += [gap.read_text().strip(), ""]
    if notes:
        lines += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    if inproc:
        lines += [
            "## In-process (µs per request, median of interleaved rounds; ratio to raw ASGI)",
            "",
            "Each ASGI app is called directly with a fake receive/send pair, under uvloop.",
            "aiohttp is not an ASGI framework and is measured in network mode only.",
            "",
            *_inproc_table(inproc),
            "",
        ]
    if battery_costs:
        lines += [
            "## Each battery's own cost (in process; aiokoa with and without it, median of the rounds' differences)",
            "",
            "The request is the `batteries` scenario's: `GET /api/users/42` with an `Origin` header and, for a",
            "session read and CSRF, the cookie of a login; CSRF checks a `POST` with its token.",
            "",
            *battery_table(list(battery_costs)),
            "",
        ]
    if net:
        lines += [
            "## Network (wrk on 127.0.0.1; server on core 0, wrk on core 1; median of rounds, each with fresh servers)",
            "",
            *_net_table(net),
            "",
        ]
    if large:
        lines += [
            f"## Large file (100 MB; {LARGE_CONNECTIONS} connections downloading it again and again; median of rounds)",
            "",
            "| target | MiB/s | RSS before, MiB | RSS peak, MiB | RSS after, MiB | runs |",
            "|---|---:|---:|---:|---:|---:|",
            *[
                f"| {r.target} | {r.median('mib_s'):,.0f} | {r.median('rss_start_kib') / 1024:.1f} | "
                f"{r.median('rss_peak_kib') / 1024:.1f} | {r.median('rss_end_kib') / 1024:.1f} | {len(r.mib_s)} |"
                for r in large
            ],
            "",
        ]
    if memory:
        lines += [
            "## Memory (aiokoa on uvicorn, `stack`)",
            "",
            "| point | requests served | RSS MiB |",
            "|---|---:|---:|",
            f"| after startup | 1 | {memory.rss_start_kib / 1024:.1f} |",
            f"| after the first batch of requests | {memory.first_requests:,} | {memory.rss_first_kib / 1024:.1f} |",
            f"| at the end ({memory.seconds:.0f} s) | {memory.total_requests:,} | {memory.rss_end_kib / 1024:.1f} |",
            "",
        ]
    if uploads:
        lines += [
            "## Upload (one 100 MiB file in a multipart form; median of rounds, fresh servers each)",
            "",
            *upload_table(uploads),
            "",
        ]
    if sse:
        lines += [
            "## SSE fan-out (1,000 clients connected at once, each receiving 100 events; fresh servers each round)",
            "",
            "Events per second delivered, from the publish to the last stream's end; the server's RSS",
            "with every client connected, less its RSS before, per connection.",
            "",
            *sse_table(sse),
            "",
        ]
    if websockets:
        lines += [
            "## WebSocket echo (50 connections, one message in flight on each; median of rounds)",
            "",
            *websocket_table(websockets),
            "",
        ]
    if scale:
        lines += [
            "## Scale out (`batteries` with its sessions and rate limit in Redis; 1 worker vs 2; nothing pinned)",
            "",
            "`aiokoa run --workers N` on this machine's cores, shared with wrk and redis-server; median of",
            "rounds, each with fresh servers. Redis CPU is redis-server's own, per request served.",
            "",
            *scale_table(scale),
            "",
        ]
    if images:
        lines += ["## Plots", ""] + [f"![{p.stem}]({p.relative_to(path.parent)})" for p in images] + [""]
    lines += ["## Settings", "", "```", json.dumps(settings, indent=2), "```", ""]
    soak = path.read_text().partition("\n## Soak\n") if path.exists() else ("", "", "")
    if soak[1]:  # the soak's figures come from `./dev soak`, not from this run: kept as they are
        lines += [soak[1].strip("\n"), "", soak[2].strip("\n"), ""]
    path.write_text("\n".join(lines))
    data = {
        "mode": mode,
        "generated": when,
        "machine": machine(),
        "settings": settings,
        "inprocess": [asdict(m) for m in inproc],
        "network": [asdict(m) for m in net],
        "memory": asdict(memory) if memory else None,
        "large": [asdict(r) for r in large],
        "upload": [asdict(m) for m in uploads],
        "battery_costs": [asdict(c) for c in battery_costs],
        "sse": [asdict(m) for m in sse],
        "websocket": [asdict(m) for m in websockets],
        "scale": asdict(scale) if scale else None,
        "targets": [asdict(v) for v in verdicts],
    }
    path.with_suffix(".json").write_text(json.dumps(data, indent=1))
