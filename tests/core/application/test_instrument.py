"""Instruments (`core/instrument.py`): a middleware object the app asks to build its chain,
and to report on a request that an error answered, for the development error page."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiokoa import Context, Koa, Next, compose
from aiokoa.core.compose import Step, chain, flatten
from aiokoa.core.instrument import Instrument, instrument_of, wrap_send
from aiokoa.testing import TestClient
from aiokoa.types import Message, Send

BROWSER = "text/html,application/xhtml+xml"


class Counting:
    """The smallest instrument: counts the requests its chain ran, notes the messages sent,
    and reports the errors it was told of."""

    def __init__(self) -> None:
        self.requests = 0
        self.sent: list[str] = []
        self.reports: list[tuple[str, int]] = []

    async def __call__(self, ctx: Context, next: Next) -> Any:
        raise AssertionError("an instrument leaves itself out of the chain it builds")

    def chain(self, middleware: Iterable[Any], *, late: bool = False) -> Step:
        step = chain([fn for fn in flatten(middleware) if fn is not self], late=late)

        def start(ctx: Context, outer: Next | None) -> Any:
            self.requests += 1
            wrap_send(ctx, self._noting)
            return step(ctx, outer)

        return start

    def _noting(self, send: Send) -> Send:
        async def noting(message: Message) -> None:
            self.sent.append(message["type"])
            await send(message)

        return noting

    def report(self, ctx: Context, err: BaseException, status: int) -> str:
        self.reports.append((type(err).__name__, status))
        return f"request {self.requests} of the <counting> instrument"


async def hello(ctx: Context, next: Next) -> None:
    if ctx.path == "/fail":
        raise RuntimeError("no")
    ctx.body = "hi"


def test_the_app_asks_its_instrument_to_build_the_chain() -> None:
    instrument = Counting()
    assert isinstance(instrument, Instrument)
    app = Koa()
    app.use(hello, instrument)  # anywhere in the stack
    with TestClient(app) as client:
        assert client.get("/").text == "hi"
        assert client.get("/").text == "hi"
    assert app.instrument is instrument
    assert instrument.requests == 2
    assert instrument.sent == ["http.response.start", "http.response.body"] * 2


def test_its_report_is_on_the_development_error_page() -> None:
    instrument = Counting()
    app = Koa(env="development", silent=True)
    app.use(instrument, hello)
    with TestClient(app) as client:
        page = client.get("/fail", headers={"accept": BROWSER}).text
        assert client.get("/fail").text == "Internal Server Error"
    assert "<pre>request 1 of the &lt;counting&gt; instrument</pre>" in page
    assert ("RuntimeError", 500) in instrument.reports
    assert instrument.sent[-2:] == ["http.response.start", "http.response.body"]  # error responses too


def test_no_instrument_is_the_plain_chain() -> None:
    app = Koa(env="production")  # development wraps each middleware in its checks
    app.use(hello)
    step = app._compose()
    assert app.instrument is None
    assert step.layers == (hello,)  # type: ignore[attr-defined]
    assert instrument_of([hello, [compose(hello)]]) is None


def test_a_custom_compose_wins_over_an_instrument() -> None:
    instrument = Counting()
    app = Koa(compose=lambda middleware: compose([fn for fn in middleware if fn is not instrument]))
    app.use(instrument, hello)
    with TestClient(app) as client:
        assert client.get("/").text == "hi"
    assert app.instrument is None
    assert instrument.requests == 0
