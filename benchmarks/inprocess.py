"""In-process mode: call each ASGI app directly, so only framework cost is timed.

A fake ``receive``/``send`` pair stands in for the server and behaves as uvicorn's
does: the request body is delivered once, then ``receive()`` blocks until the
response is complete and reports ``http.disconnect``. Frameworks are interleaved
round-robin within each round, so drift in machine speed hits all of them alike.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from registry import RAW, Framework
from scenarios import AppSpec, Case, check_response

Message = dict[str, Any]
App = Any  # an ASGI 3 callable; each framework has its own typing of it


@dataclass(frozen=True)
class Settings:
    """How long to warm up and time each app; quick mode shrinks these."""

    rounds: int = 7
    warmup_s: float = 0.2
    round_s: float = 0.25
    min_requests: int = 10


@dataclass
class Measurement:
    """µs per request for one framework on one case: one value per round."""

    framework: str
    case: str
    scenario: str
    requests_per_round: int
    samples_us: list[float] = field(default_factory=list)

    @property
    def median_us(self) -> float:
        return statistics.median(self.samples_us)


class Exchange:
    """One request's ``receive``/``send`` pair, created fresh per request as a server does."""

    __slots__ = ("body", "body_sent", "complete", "waiter", "status", "headers", "chunks")

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.body_sent = False
        self.complete = False
        self.waiter: asyncio.Future[None] | None = None
        self.status = 0
        self.headers: Iterable[tuple[bytes, bytes]] = ()
        self.chunks: list[bytes] = []

    async def receive(self) -> Message:
        if not self.body_sent:
            self.body_sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        if not self.complete:
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message["status"]
            self.headers = message.get("headers", ())
        elif kind == "http.response.body":
            self.chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                self.complete = True
                if self.waiter is not None and not self.waiter.done():
                    self.waiter.set_result(None)


class Lifespan:
    """Drives the ASGI lifespan protocol so apps that need startup (Litestar, BlackSheep,
    Sanic, ...) are started exactly as a server would start them."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def _exchange(self, message: Message, timeout: float = 30.0) -> Message | None:
        """Send one event; return the app's answer, or None if the app ended the lifespan."""
        assert self._task is not None
        await self._to_app.put(message)
        answer = asyncio.ensure_future(self._from_app.get())
        done, _ = await asyncio.wait({answer, self._task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if answer in done:
            return answer.result()
        answer.cancel()
        if not done:
            raise TimeoutError(f"lifespan {message['type']} got no answer in {timeout}s")
        return None

    async def startup(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}

        async def receive() -> Message:
            return await self._to_app.get()

        async def send(message: Message) -> None:
            await self._from_app.put(message)

        self._task = asyncio.ensure_future(self.app(scope, receive, send))
        answer = await self._exchange({"type": "lifespan.startup"})
        if answer is None:  # the app does not do lifespan; uvicorn's "auto" carries on too
            self._task = None
        elif answer["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"lifespan startup failed: {answer}")

    async def shutdown(self) -> None:
        if self._task is not None and not self._task.done():
            await self._exchange({"type": "lifespan.shutdown"})
            self._task.cancel()


def _scope(case: Case) -> dict[str, Any]:
    return request_scope(case.method, case.path, case.headers)


def request_scope(method: str, target: str, extra_headers: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """The ASGI scope of one HTTP/1.1 request from 127.0.0.1 (`target`: path and query)."""
    headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"aiokoa-bench"), (b"accept", b"*/*")]
    headers += [(k.encode(), v.encode()) for k, v in extra_headers]
    path, _, query = target.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": method,
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": headers,
    }


class Runner:
    """One started app ready to take requests for one case."""

    def __init__(self, framework: Framework, case: Case, started: Lifespan | None = None) -> None:
        self.framework = framework
        self.case = case
        self.lifespan = started or Lifespan(framework.build(case.app))
        self.app: App = self.lifespan.app
        self.template = _scope(case)

    async def request(self, template: dict[str, Any] | None = None, body: bytes | None = None) -> Exchange:
        exchange = Exchange(self.case.body if body is None else body)
        scope = (template or self.template).copy()
        scope["state"] = self.lifespan.state.copy()
        await self.app(scope, exchange.receive, exchange.send)
        return exchange

    async def log_in(self) -> None:
        """For a case with a login route: ask it once, then send its cookies with every request."""
        if not self.case.login:
            return
        login = replace(self.case, path=self.case.login, body=b"")
        ex = await self.request(_scope(login), b"")
        cookies = [v.decode("latin-1") for k, v in ex.headers if k.lower() == b"set-cookie"]
        self.case = self.case.logged_in(cookies)
        self.template = _scope(self.case)

    async def check(self) -> None:
        """One request whose whole answer is compared with what the scenario expects."""
        await self.log_in()
        ex = await self.request()
        headers = {k.decode().lower(): v.decode() for k, v in ex.headers}
        check_response(self.framework.name, self.case, ex.status, headers, b"".join(ex.chunks))

    async def timed(self, n: int) -> float:
        """µs per request over ``n`` back-to-back requests."""
        app, body, template, state = self.app, self.case.body, self.template, self.lifespan.state
        started = time.perf_counter()
        for _ in range(n):
            exchange = Exchange(body)
            scope = template.copy()
            scope["state"] = state.copy()
            await app(scope, exchange.receive, exchange.send)
        elapsed = time.perf_counter() - started
        if exchange.status != self.case.expect.status:
            raise AssertionError(f"{self.framework.name} / {self.case.label}: status {exchange.status} while timed")
        return elapsed / n * 1e6

    async def calibrate(self, settings: Settings) -> int:
        """Warm up for ``warmup_s``; return the request count that fills ``round_s``."""
        n, spent, done = settings.min_requests, 0.0, 0
        while spent < settings.warmup_s:
            spent += await self.timed(n) * n / 1e6
            done += n
            n *= 2
        per_request = spent / done
        return max(settings.min_requests, int(settings.round_s / per_request))


Progress = Callable[[str], None]


async def run_case(
    case: Case, frameworks: list[Framework], settings: Settings, progress: Progress = print
) -> list[Measurement]:
    """Measure every framework that serves the case, interleaved round by round."""
    runners = [Runner(f, case) for f in frameworks if f.serves(case)]
    for runner in runners:
        await runner.lifespan.startup()
    try:
        for runner in runners:
            await runner.check()
        gc.collect()
        gc.freeze()  # apps built for this case stay out of the collector's way while timing
        counts = [await r.calibrate(settings) for r in runners]
        results = [Measurement(r.framework.name, case.label, case.scenario, n) for r, n in zip(runners, counts)]
        for round_no in range(settings.rounds):
            shift = round_no % len(runners)
            for i in list(range(shift, len(runners))) + list(range(shift)):
                results[i].samples_us.append(await runners[i].timed(counts[i]))
    finally:
        gc.unfreeze()
        for runner in runners:
            await runner.lifespan.shutdown()
    floor = next((m.median_us for m in results if m.framework == RAW), None)
    for m in results:
        ratio = f"  {m.median_us / floor:6.2f}x raw" if floor else ""
        progress(f"  {case.label:<18} {m.framework:<19} {m.median_us:9.2f} us/req{ratio}")
    return results


async def check_cases(cases: Iterable[Case], framework: Framework) -> None:
    """Build and start each app once and check every case it serves, untimed (the smoke test)."""
    by_app: dict[AppSpec, list[Case]] = {}
    for case in cases:
        if framework.serves(case):
            by_app.setdefault(case.app, []).append(case)
    for spec, group in by_app.items():
        lifespan = Lifespan(framework.build(spec))
        await lifespan.startup()
        try:
            for case in group:
                await Runner(framework, case, lifespan).check()
        finally:
            await lifespan.shutdown()


def new_loop() -> asyncio.AbstractEventLoop:
    """uvloop, as the servers under test use; the stdlib loop if uvloop is missing."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run_all(cases: list[Case], frameworks: list[Framework], settings: Settings) -> list[Measurement]:
    """Measure all cases; frameworks that are not installed are skipped with a note."""
    present = [f for f in frameworks if f.available()]
    for f in frameworks:
        if f not in present:
            print(f"  (skipping {f.name}: not installed)")
    out: list[Measurement] = []
    with asyncio.Runner(loop_factory=new_loop) as runner:
        for case in cases:
            out += runner.run(run_case(case, present, settings))
    return out
