"""Run aiokoa's benchmark suite: in-process, over the network, and memory.

    python benchmarks/run.py [--quick] [--only SCENARIO,...] [--skip-network]

The first run creates ``benchmarks/.venv`` with the pinned peers, installs wrk
and Koa if needed, then re-runs itself inside that venv. It writes
``benchmarks/RESULTS.md`` (plus ``RESULTS.json`` and ``plots/``) and prints the
project's performance targets as PASS/MISS lines. Any app whose answer differs
from the scenario's expected answer stops the run with an error.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import bootstrap

SCENARIO_NAMES = ("hello", "stack", "json", "depth", "routes", "post", "compress", "batteries", "typed", "static")
# depth and routes isolate framework cost: in-process only
NETWORK_SCENARIOS = ("hello", "stack", "json", "post", "compress", "batteries", "typed")
QUICK_NETWORK_SCENARIOS = ("hello", "stack")
LARGE_ROUNDS, LARGE_SECONDS = 3, 10.0  # the 100 MB file; quick mode: 1 round of 2 s
MEMORY_TOTAL = 1_000_000
MEMORY_FIRST = 10_000
MEMORY_MAX_S = 600.0
EXTRA = ("upload", "sse", "websocket", "scale", "memory")  # network scenarios of their own
SCALE_COST_REQUESTS = 20_000  # redis_cost.py's requests per measure; quick mode: 2,000


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="aiokoa benchmark suite")
    parser.add_argument("--quick", action="store_true", help="short runs, under two minutes; no memory run")
    parser.add_argument(
        "--only",
        default="",
        help=f"comma-separated scenarios among {', '.join(SCENARIO_NAMES)}, {', '.join(map(repr, EXTRA))}",
    )
    parser.add_argument("--skip-network", action="store_true", help="in-process mode only (no servers, no wrk)")
    parser.add_argument("--skip-inprocess", action="store_true", help="network mode (and memory) only")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(chosen) - {*SCENARIO_NAMES, *EXTRA}
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(sorted(unknown))}")
    args.scenarios = [s for s in SCENARIO_NAMES if not chosen or s in chosen]
    args.memory = not args.quick and not args.skip_network and (not chosen or "memory" in chosen)
    args.upload = not args.skip_network and (not chosen or "upload" in chosen)
    args.sse = not args.skip_network and (not chosen or "sse" in chosen)
    args.websocket = not args.skip_network and (not chosen or "websocket" in chosen)
    args.scale = not args.skip_network and (not chosen or "scale" in chosen)
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress shows when piped
    bootstrap.ensure_venv()
    bootstrap.reexec_in_venv()
    started = time.monotonic()
    network_ok = not args.skip_network and bootstrap.ensure_taskset() and bootstrap.ensure_command("wrk", "wrk")
    if not args.skip_network:
        bootstrap.ensure_node_modules()

    # Imported only inside the venv, where the frameworks are installed.
    import battery_costs
    import inprocess
    import network
    import report
    import scale_out
    import scenarios
    import sse
    import static_files
    import upload
    import websocket_echo as websocket
    from registry import AIOKOA, BY_NAME, asgi_frameworks

    if not BY_NAME[AIOKOA].available():
        raise SystemExit("aiokoa is not importable in benchmarks/.venv: the subject of the benchmark is missing")
    quick = args.quick
    cpu_start = report.CpuSnapshot.take()
    notes: list[str] = []
    if quick:
        notes.append("Quick mode: few rounds and 1-second wrk runs; figures are indicative only.")
    notes.append("aiohttp is not ASGI: it is measured in network mode only, on its own server.")
    notes.append("Sanic runs on its own server in network mode and as ASGI in-process.")

    in_settings = inprocess.Settings(rounds=3, warmup_s=0.02, round_s=0.03) if quick else inprocess.Settings()
    net_settings = (
        network.Settings(rounds=1, duration_s=1, warmup_s=1, warmup_together=True) if quick else network.Settings()
    )
    # static is network only: it times the servers' file handling as much as the framework
    cases = [c for s in args.scenarios if s != "static" for c in scenarios.cases_for(s)]

    inproc: list[inprocess.Measurement] = []
    if not args.skip_inprocess and cases:
        print(f"== in-process ({len(cases)} cases, {in_settings.rounds} rounds, uvloop)")
        print("  (aiohttp is not ASGI: it is measured in network mode only)")
        inproc = inprocess.run_all(cases, asgi_frameworks(), in_settings)
    costs: list[battery_costs.BatteryCost] = []
    if not args.skip_inprocess and "batteries" in args.scenarios:
        print(f"== each battery's own cost (aiokoa with and without it, {in_settings.rounds} rounds)")
        costs = battery_costs.run_all(in_settings)

    net: list[network.NetMeasurement] = []
    large: list[static_files.LargeResult] = []
    memory: network.MemoryResult | None = None
    uploads: list[upload.UploadMeasurement] = []
    fan_out: list[sse.SseMeasurement] = []
    websockets: list[websocket.WebSocketMeasurement] = []
    scale: scale_out.ScaleResult | None = None
    if args.skip_network:
        notes.append("Network mode was skipped (--skip-network).")
    elif not network_ok:
        notes.append("Network mode was skipped: wrk or taskset is not available.")
    else:
        wanted = QUICK_NETWORK_SCENARIOS if quick and not args.only else NETWORK_SCENARIOS
        net_cases = [c for c in cases if c.scenario in wanted]
        if net_cases:
            print(
                f"== network ({len(net_cases)} cases, {net_settings.rounds} x {net_settings.duration_s:g} s wrk runs)"
            )
            net = network.run_all(net_cases, network.all_targets(), net_settings)
        if "static" in args.scenarios and (not quick or args.only):
            print("== static files (1 KB on every peer, then 100 MB on aiokoa and nginx)")
            net += static_files.run_static(net_settings)
            rounds, seconds = (1, 2.0) if quick else (LARGE_ROUNDS, LARGE_SECONDS)
            large = static_files.run_large(rounds, seconds)
        elif "static" in args.scenarios:
            notes.append("Quick mode runs the static-file scenarios only with --only static.")
        if any(s in ("depth", "routes") for s in args.scenarios):
            notes.append("depth and routes are measured in-process only.")
        if args.upload:
            rounds = 1 if quick else 3
            print(f"== upload ({upload.SIZE >> 20} MiB multipart, {rounds} round(s), fresh servers each)")
            uploads = upload.run(rounds)
        if args.sse:
            rounds = 1 if quick else 3
            print(
                f"== sse fan-out ({sse.CLIENTS:,} clients x {sse.EVENTS} events, {rounds} round(s), fresh servers each)"
            )
            fan_out = sse.run(rounds)
        if args.websocket:
            rounds, seconds = (1, 2.0) if quick else (3, 10.0)
            print(f"== websocket echo ({websocket.CONNECTIONS} connections, {rounds} x {seconds:g} s)")
            websockets = websocket.run(rounds, seconds)
        if args.scale and not bootstrap.ensure_command("redis-server", "redis-server"):
            notes.append("The scale scenario was skipped: redis-server is not installed.")
        elif args.scale:
            requests = SCALE_COST_REQUESTS // 10 if quick else SCALE_COST_REQUESTS
            print(f"== scale (batteries on Redis, {' and '.join(map(str, scale_out.WORKERS))} workers)")
            scale = scale_out.run(net_settings, requests)
        if args.memory:
            print(f"== memory (aiokoa on uvicorn, stack, up to {MEMORY_TOTAL:,} requests)")
            memory = network.run_memory(scenarios.cases_for("stack")[0], MEMORY_TOTAL, MEMORY_FIRST, MEMORY_MAX_S)
        elif not quick:
            notes.append("The memory run was not selected.")
        else:
            notes.append("Quick mode skips the 1M-request memory run.")

    load = report.foreign_load(cpu_start, report.CpuSnapshot.take())
    notes.append(f"Other processes on the machine used {load} during this run.")
    print(f"== other processes used {load}")
    verdicts = report.evaluate(inproc, net, memory, large, uploads, fan_out, websockets, scale)
    images = report.plots(inproc, net)
    settings = {"inprocess": vars(in_settings), "network": vars(net_settings), "scenarios": args.scenarios}
    results = Path(__file__).resolve().parent / "RESULTS.md"
    mode = "quick" if quick else "full"
    report.write(
        results, mode=mode, inproc=inproc, net=net, memory=memory, large=large, uploads=uploads, sse=fan_out,
        websockets=websockets, verdicts=verdicts, images=images, notes=notes, settings=settings, battery_costs=costs,
        scale=scale,
    )  # fmt: skip
    print("== targets")
    for v in verdicts:
        print(v.line())
    print(f"== wrote {results} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
