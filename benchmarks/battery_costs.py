"""Each of aiokoa's batteries alone: its own cost per request, in process.

For every battery, one aiokoa app with it and the same app without it answer the same
request, timed interleaved round by round as in ``inprocess``; the battery's cost is the
median over the rounds of the difference. The request is the ``batteries`` scenario's
(``GET /api/users/42`` from another origin, with a valid session cookie where a session
is read), so each figure is what that battery adds to such an API.
"""

from __future__ import annotations

import asyncio
import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from inprocess import Lifespan, Runner, Settings, _scope, new_loop
from registry import Framework
from scenarios import (
    JSON,
    LOGIN_PATH,
    ORIGIN,
    RATE_LIMIT_MAX,
    SESSION_SECRET,
    SESSION_USER,
    USER_ID,
    AppSpec,
    Case,
    Expected,
    user_payload,
)

from aiokoa import Context, Koa, Next, Router
from aiokoa.middleware import SessionContext, cors, csrf, csrf_token, helmet, logger, rate_limit, session

Layer = Callable[[Context, Next], Any]


@dataclass(frozen=True)
class Battery:
    """``layers`` go in front of the router in the app with the battery; ``base`` in both."""

    name: str
    layers: Callable[[], list[Layer]]
    base: Callable[[], list[Layer]] = list
    method: str = "GET"
    login: bool = False  # the request carries the session cookie (and CSRF token) of a login
    writes: bool = False  # the handler stores something in the session


def _discard(line: str, args: list[Any]) -> None:
    """koa-logger's lines, made and then dropped: printing would time the terminal."""


BATTERIES: tuple[Battery, ...] = (
    Battery("helmet", lambda: [helmet()]),
    Battery("cors", lambda: [cors()]),
    Battery("session read", lambda: [session()], login=True),
    Battery("session write", lambda: [session()], writes=True),
    Battery("rate_limit (memory)", lambda: [rate_limit(max=RATE_LIMIT_MAX)]),
    Battery("logger", lambda: [logger(transporter=_discard)]),
    # an unsafe request, checked against the token of its session: the session is in both apps
    Battery("csrf (POST with a token)", lambda: [csrf()], base=lambda: [session()], method="POST", login=True),
)
PATH = f"/api/users/{USER_ID}"


def build(battery: Battery, with_it: bool) -> Koa:
    """The app for ``battery``, with or without it."""
    app = Koa(env="production", keys=[SESSION_SECRET])
    router = Router()
    in_session = with_it and "session" in battery.name

    @router.get(LOGIN_PATH)
    async def login(ctx: SessionContext) -> None:
        ctx.session["user"] = SESSION_USER
        ctx.body = {"csrf": csrf_token(ctx)}

    async def user(ctx: SessionContext) -> None:
        if in_session and battery.writes:
            ctx.session["user"] = SESSION_USER
        elif in_session:
            assert ctx.session["user"] == SESSION_USER
        ctx.body = user_payload(ctx.params["id"])

    router.register(PATH.replace(USER_ID, "{id}"), ("GET", "POST"), user)
    for layer in battery.base():
        app.use(layer)
    if with_it:
        for layer in battery.layers():
            app.use(layer)
    app.use(router.routes())
    return app


@dataclass
class BatteryCost:
    """µs per request with and without one battery, one value per round each."""

    battery: str
    with_us: list[float] = field(default_factory=list)
    without_us: list[float] = field(default_factory=list)

    @property
    def cost_us(self) -> float:
        return statistics.median(a - b for a, b in zip(self.with_us, self.without_us))


def _runner(name: str, app: Koa, case: Case) -> Runner:
    framework = Framework(name, "", "", True, (), "")
    return Runner(framework, case, Lifespan(app))


async def _logged_in(battery: Battery, case: Case) -> Case:
    """The case with the cookies and CSRF token of a login on an app that has a session."""
    runner = _runner("login", build(battery, with_it=True), case)
    await runner.lifespan.startup()
    try:
        login = Case(case.scenario, "login", case.app, "GET", LOGIN_PATH, case.expect)
        ex = await runner.request(_scope(login), b"")
    finally:
        await runner.lifespan.shutdown()
    cookies = [v.decode("latin-1") for k, v in ex.headers if k.lower() == b"set-cookie"]
    token = json.loads(b"".join(ex.chunks))["csrf"]
    logged = case.logged_in(cookies)
    return replace(logged, headers=(*logged.headers, ("x-csrf-token", token)))


async def measure(battery: Battery, settings: Settings) -> BatteryCost:
    headers: tuple[tuple[str, str], ...] = (("origin", ORIGIN),)
    if battery.method == "POST":  # an unsafe request from the site's own pages
        headers = (("sec-fetch-site", "same-origin"),)
    expect = Expected(200, JSON, user_payload(USER_ID))
    case = Case("battery", battery.name, AppSpec("battery"), battery.method, PATH, expect, b"", headers)
    if battery.login:
        case = await _logged_in(battery, case)
    runners = [_runner(f"{battery.name} {side}", build(battery, side == "with"), case) for side in ("with", "without")]
    for runner in runners:
        await runner.lifespan.startup()
    try:
        for runner in runners:
            await runner.check()
        counts = [await r.calibrate(settings) for r in runners]
        result = BatteryCost(battery.name)
        for round_no in range(settings.rounds):
            order = (0, 1) if round_no % 2 == 0 else (1, 0)
            timed = {i: await runners[i].timed(counts[i]) for i in order}
            result.with_us.append(timed[0])
            result.without_us.append(timed[1])
    finally:
        for runner in runners:
            await runner.lifespan.shutdown()
    print(
        f"  {battery.name:<26} {result.cost_us:7.2f} us/req"
        f"  ({statistics.median(result.with_us):.2f} with, {statistics.median(result.without_us):.2f} without)"
    )
    return result


def run_all(settings: Settings) -> list[BatteryCost]:
    with asyncio.Runner(loop_factory=new_loop) as runner:
        return [runner.run(measure(battery, settings)) for battery in BATTERIES]


def table(costs: list[BatteryCost]) -> list[str]:
    lines = [
        "| battery | its cost, µs/request | app with it, µs | app without it, µs | rounds |",
        "|---|---:|---:|---:|---:|",
    ]
    for c in costs:
        lines.append(
            f"| {c.battery} | {c.cost_us:.2f} | {statistics.median(c.with_us):.2f} | "
            f"{statistics.median(c.without_us):.2f} | {len(c.with_us)} |"
        )
    return lines
