"""The benchmark apps answer every scenario correctly, so the suite's figures compare like work.

Each Python app is built, started (ASGI lifespan) and asked once per scenario
through the in-process harness, with the same output check the timed runs use.
Nothing is timed and no socket is opened. The development extra installs every
peer, so every app runs here. These tests check the benchmark's apps and scripts, not
aiokoa's behaviour (which the rest of the suite checks in both implementations): each runs
once per pytest run, with the implementation it imported.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from aiokoa.core import implementations

from .conftest import running

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

# The suite is a folder of scripts, not a package: load its modules by name from there.
inprocess = importlib.import_module("inprocess")
registry = importlib.import_module("registry")
scenarios = importlib.import_module("scenarios")


@pytest.fixture(autouse=True)
def implementation() -> Iterator[str]:
    """Once, not once per implementation (see above)."""
    yield implementations.implementation()


CASES = [case for name in scenarios.SCENARIOS for case in scenarios.cases_for(name)]


def _check_all(framework: Any) -> None:
    with asyncio.Runner(loop_factory=inprocess.new_loop) as runner:
        runner.run(inprocess.check_cases(CASES, framework))


@pytest.mark.parametrize("name", [f.name for f in registry.asgi_frameworks()])
def test_asgi_app_answers_every_scenario(name: str) -> None:
    _check_all(registry.BY_NAME[name])


def test_a_wrong_answer_fails_loudly() -> None:
    case = scenarios.cases_for("hello")[0]
    headers = {"content-type": "text/plain; charset=utf-8"}
    with pytest.raises(scenarios.OutputMismatch, match="body"):
        scenarios.check_response("x", case, 200, headers, b"Hello world")
    with pytest.raises(scenarios.OutputMismatch, match="content-type"):
        scenarios.check_response("x", case, 200, {"content-type": "text/html"}, b"Hello World")


def test_aiohttp_app_answers_every_scenario() -> None:
    """aiohttp is not ASGI: its handler chain is driven with a mocked request instead."""
    streams = importlib.import_module("aiohttp.streams")
    make_mocked_request = importlib.import_module("aiohttp.test_utils").make_mocked_request

    framework = registry.BY_NAME["aiohttp"]

    async def run() -> None:
        # Its compression happens as the response is written to a connection, which a mocked
        # request has not: network mode checks those cases before timing them.
        for case in [case for case in CASES if framework.serves(case) and not case.expect.encoding]:
            app: Any = framework.build(case.app)
            app.freeze()
            await app.startup()
            try:
                body = streams.StreamReader(mock.Mock(), 2**16, loop=asyncio.get_running_loop())
                body.feed_data(case.body)
                body.feed_eof()
                request = make_mocked_request(case.method, case.path, dict(case.headers), app=app, payload=body)
                response = await app._handle(request)
                headers = {k.lower(): v for k, v in response.headers.items()}
                scenarios.check_response("aiohttp", case, response.status, headers, response.body)
            finally:
                await app.cleanup()

    asyncio.run(run())


@pytest.mark.parametrize("name", ["aiokoa", "starlette", "blacksheep", "litestar", "sanic"])
def test_static_apps_serve_the_file_byte_for_byte(name: str) -> None:
    """The static-file scenario's ASGI apps, each with its framework's own static serving."""
    scenarios.static_files()
    with asyncio.Runner(loop_factory=inprocess.new_loop) as runner:
        runner.run(inprocess.check_cases([scenarios.static_case()], registry.BY_NAME[name]))


@pytest.mark.parametrize("name", ["aiokoa", "starlette", "raw-asgi"])
def test_upload_apps_answer_the_name_and_size_of_the_file(name: str) -> None:
    """The upload scenario's apps (the scenario itself sends 100 MiB over a socket)."""
    import httpx

    app = registry.BY_NAME[name].build(scenarios.AppSpec("upload"))

    async def run() -> Any:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            files = {"file": ("upload.bin", b"x" * 3_000_000, "application/octet-stream")}
            return (await client.post("/upload", files=files)).json()

    assert asyncio.run(run()) == {"filename": "upload.bin", "size": 3_000_000}


def test_every_target_is_judged_even_on_a_run_that_measured_nothing() -> None:
    """The report judges each target on what the run has, and says N/A for the rest."""
    report = importlib.import_module("report")
    verdicts = report.evaluate([], [], None)
    assert verdicts
    assert {verdict.status for verdict in verdicts} == {"N/A"}


def test_the_redis_cost_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """A few requests each way, on the benchmark's own redis-server (skipped without one)."""
    from .redis_server import redis_server_binary

    redis_server_binary()
    redis_cost = importlib.import_module("redis_cost")
    assert redis_cost.main(["--requests", "200"]) == 0
    report = capsys.readouterr().out
    assert "one Redis round trip" in report
    assert report.count("Redis costs") == 2


def test_the_scale_scenario_runs_one_worker_and_two_on_its_own_redis(capsys: pytest.CaptureFixture[str]) -> None:
    """`aiokoa run --workers N` serving the batteries app with its state in Redis: each answer
    names the login's user whichever worker gives it, and a short wrk run of each worker count
    is reported with their ratio and what Redis costs a request (skipped without wrk)."""
    from .redis_server import redis_server_binary

    redis_server_binary()
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        pytest.skip("wrk and taskset time the scale scenario")
    scale_out = importlib.import_module("scale_out")
    network = importlib.import_module("network")
    report = importlib.import_module("report")
    settings = network.Settings(rounds=1, duration_s=1, warmup_s=0, connections=8)
    result = scale_out.run(settings, 200)
    assert [m.workers for m in result.measurements] == [1, 2]
    for measured in result.measurements:
        assert measured.rps[0] > 0
        assert 1 <= measured.redis_commands[0] < 10  # a session read and the limit's script, at least
    assert result.ratio() > 0
    assert "2 workers / 1 worker" in capsys.readouterr().out
    section = "\n".join(scale_out.table(result))
    assert "| 2 |" in section and "what Redis adds" in section
    info = [v for v in report.evaluate([], [], None, scale=result) if v.status == "INFO"]
    assert [v.name.split(":")[0] for v in info] == ["scale", "scale"]


@pytest.mark.parametrize("name", ["aiokoa", "starlette", "fastapi", "litestar"])
def test_batteries_apps_read_the_session_their_login_signed(name: str) -> None:
    """The batteries scenario times a session read: its answer names the session's user only
    with the cookie the app's own login signed, and a forged one reads as no session."""
    framework = registry.BY_NAME[name]
    case = scenarios.cases_for("batteries")[0]

    async def run() -> list[Any]:
        runner = inprocess.Runner(framework, case)
        await runner.lifespan.startup()
        try:
            await runner.check()  # logs in, then asks with the login's cookies
            cookie = dict(runner.case.headers)["cookie"]
            seen = []
            for headers in (case.headers, (*case.headers, ("cookie", cookie[:-3] + "AAA"))):
                runner.template = inprocess._scope(scenarios.Case(**{**vars(case), "headers": headers}))
                exchange = await runner.request()
                seen.append(json.loads(b"".join(exchange.chunks))["viewer"])
            return seen
        finally:
            await runner.lifespan.shutdown()

    with asyncio.Runner(loop_factory=inprocess.new_loop) as loop:
        assert loop.run(run()) == [None, None]


def test_each_battery_costs_what_its_app_adds() -> None:
    """The per-battery figures come from two apps answering alike, one with the battery."""
    battery_costs = importlib.import_module("battery_costs")
    settings = inprocess.Settings(rounds=2, warmup_s=0.001, round_s=0.001, min_requests=2)
    with asyncio.Runner(loop_factory=inprocess.new_loop) as loop:
        costs = [loop.run(battery_costs.measure(b, settings)) for b in battery_costs.BATTERIES]
    assert [c.battery for c in costs] == [b.name for b in battery_costs.BATTERIES]
    assert all(len(c.with_us) == len(c.without_us) == 2 for c in costs)
    table = battery_costs.table(costs)
    assert len(table) == 2 + len(costs)
    assert "session read" in "\n".join(table)


@pytest.mark.parametrize("name", ["raw-asgi", "aiokoa", "starlette"])
def test_websocket_apps_echo(name: str) -> None:
    """The websocket scenario's apps answer its client (which checks every echo)."""
    websocket_echo = importlib.import_module("websocket_echo")
    app = registry.BY_NAME[name].build(scenarios.AppSpec("websocket"))
    with running(app) as url:
        count, _ = asyncio.run(websocket_echo.drive(int(url.rsplit(":", 1)[1]), 0.1))
        assert count > 0
