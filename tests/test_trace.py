"""`aiokoa.trace()` and Server-Timing: the cascade as a tree, the seed's
numbering, errors raised and caught, routes, and nothing at all when off."""

from __future__ import annotations

import asyncio
import importlib.util
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import aiokoa
from aiokoa import Context, HttpError, Koa, Next, Router
from aiokoa.testing import TestClient
from aiokoa.tracing import Tracer, of

from .conftest import Serve

ROOT = Path(__file__).parent.parent


def blank(text: str) -> str:
    return re.sub(r"\d+\.\d\dms", "0.01ms", text)


def seed_app() -> Koa:
    """examples/hello.py, imported as a module (its `print`s are the seed's own log)."""
    spec = importlib.util.spec_from_file_location("seed_hello", ROOT / "examples" / "hello.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app  # type: ignore[no-any-return]


def lines_of(path: str, *names: str) -> list[int]:
    source = (ROOT / path).read_text().splitlines()
    return [next(k + 1 for k, line in enumerate(source) if line.startswith(f"async def {name}(")) - 1 for name in names]


SEED_TRACE = """\
GET / -> 200 OK in 0.01ms
1) x_response_time (examples/hello.py:{0}) down 0.01ms
  2) logger (examples/hello.py:{1}) down 0.01ms
    3) response (examples/hello.py:{2}) 0.01ms, no next()
  4) logger up 0.01ms
5) x_response_time up 0.01ms"""


def test_the_seed_apps_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    log: list[str] = []
    app = seed_app()
    app.use(aiokoa.trace(log=log.append))
    with TestClient(app) as client:
        assert client.get("/").text == "Hello World"
    expected = SEED_TRACE.format(*lines_of("examples/hello.py", "x_response_time", "logger", "response"))
    assert [blank(text) for text in log] == [expected]


def test_the_docs_show_the_same_trace_for_the_same_app() -> None:
    page = (ROOT / "docs" / "onion.md").read_text()
    shown = SEED_TRACE.replace("examples/hello.py:{0}", "docs/onion.md:23")
    shown = shown.replace("examples/hello.py:{1}", "docs/onion.md:32").replace(
        "examples/hello.py:{2}", "docs/onion.md:38"
    )
    assert shown in page


def test_koa_trace_true_logs_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    async def hello(ctx: Context, next: Next) -> None:
        ctx.body = "hi"

    app = Koa()
    app.use(hello, aiokoa.trace())
    with TestClient(app) as client:
        client.get("/x?y=1")
    err = capsys.readouterr().err
    assert re.search(
        r"^GET /x\?y=1 -> 200 OK in \d+\.\d\dms\n1\) .*hello \(tests/test_trace.py:\d+\) \d+\.\d\dms, no next\(\)$",
        err,
        re.M,
    )


def test_errors_raised_caught_and_uncaught() -> None:
    log: list[str] = []
    app = Koa()
    app.use(Tracer(log=log.append))
    app.on("error", lambda err, ctx: None)

    async def handler(ctx: Context, next: Next) -> None:
        try:
            await next()
        except HttpError as err:
            ctx.status = err.status
            ctx.body = err.message

    async def passing(ctx: Context, next: Next) -> None:
        await next()

    async def failing(ctx: Context, next: Next) -> None:
        if ctx.path == "/crash":
            raise RuntimeError("boom")
        ctx.throw(409, "taken")

    app.use(handler, passing, failing)
    with TestClient(app) as client:
        assert client.get("/").status_code == 409
        assert client.get("/crash").status_code == 500
    caught, crashed = (blank(text) for text in log)
    assert caught.splitlines()[0] == "GET / -> 409 Conflict in 0.01ms"
    assert re.search(
        r"^    3\) .*failing \(.*\) 0.01ms, no next\(\), raised HttpError: taken at tests/test_trace.py:\d+ in ",
        caught,
        re.M,
    )
    assert re.search(r"^  4\) .*passing up 0.01ms, HttpError passed through$", caught, re.M)
    assert re.search(r"^5\) .*handler up 0.01ms, caught HttpError from .*failing$", caught, re.M) is None
    assert re.search(r"^5\) .*handler up 0.01ms, caught HttpError from .*passing$", caught, re.M)
    assert crashed.splitlines()[0] == "GET /crash -> 500 Internal Server Error in 0.01ms"
    assert "raised RuntimeError: boom at tests/test_trace.py:" in crashed
    assert crashed.splitlines()[-1] == (
        "RuntimeError was not caught by any middleware: the app answered 500 and emitted 'error'"
    )


def test_misuse_is_still_reported_and_named_when_traced() -> None:
    log: list[str] = []
    errors: list[BaseException] = []
    app = Koa()
    app.use(Tracer(log=log.append))
    app.on("error", lambda err, ctx: errors.append(err))

    async def forgetful(ctx: Context, next: Next) -> None:
        next()  # forgot `await`

    async def below(ctx: Context, next: Next) -> None:
        ctx.body = "never"

    app.use(forgetful, below)
    with TestClient(app) as client:
        assert client.get("/").status_code == 500
    assert str(errors[0]).startswith("next() was called but not awaited in middleware ")
    assert "forgetful (" in str(errors[0])
    text = blank(log[0])
    assert "forgetful (tests/test_trace.py:" in text
    assert "down 0.01ms, next() not awaited: nothing downstream ran" in text
    assert text.splitlines()[-1].startswith("MiddlewareError: next() was called but not awaited")


def test_the_route_that_handled_the_request() -> None:
    log: list[str] = []
    router = Router()

    @router.get("/users/{id:int}")
    async def show(ctx: Context, next: Next) -> None:
        ctx.body = {"id": ctx.params["id"]}

    app = Koa()
    app.use(Tracer(log=log.append), router.routes())
    with TestClient(app) as client:
        assert client.get("/users/7").json() == {"id": 7}
    text = blank(log[0])
    assert text.splitlines()[0] == "GET /users/7 -> 200 OK in 0.01ms (route /users/{id:int})"
    assert ", route /users/{id:int}" in text.splitlines()[1]


def test_server_timing_over_http_and_on_error_responses(serve: Serve) -> None:
    async def outer(ctx: Context, next: Next) -> None:
        await next()

    async def inner(ctx: Context, next: Next) -> None:
        await asyncio.sleep(0.002)
        if ctx.path == "/fail":
            raise RuntimeError("no")
        ctx.body = "ok"

    app = Koa(silent=True)
    app.use(aiokoa.trace(log=None, server_timing=True), outer, inner)
    client = serve(app)
    for path, status in (("/", 200), ("/fail", 500)):
        answer = client.get(path)
        assert answer.status_code == status
        metrics = answer.headers["server-timing"].split(", ")
        assert re.fullmatch(r'1\.outer;dur=\d+\.\d{3};desc="down \d+\.\d{3}ms / up \d+\.\d{3}ms"', metrics[0])
        assert re.fullmatch(r'2\.inner;dur=\d+\.\d{3};desc="\d+\.\d{3}ms"', metrics[1])
        assert float(metrics[1].split("dur=")[1].split(";")[0]) >= 2.0


def test_server_timing_alone_logs_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    async def hello(ctx: Context, next: Next) -> None:
        ctx.body = "hi"

    app = Koa()
    app.use(aiokoa.trace(log=None, server_timing=True), hello)
    with TestClient(app) as client:
        assert "server-timing" in client.get("/").headers
    assert capsys.readouterr().err == ""


def test_traced_middleware_without_next_keeps_its_defaults() -> None:
    log: list[str] = []
    app = Koa()
    app.use(Tracer(log=log.append))

    @app.use
    async def around(ctx: Context) -> AsyncIterator[None]:
        yield  # Koa 1 style: downstream runs here

    @app.use
    async def answer(ctx: Context, greeting: str = "hi") -> None:
        ctx.body = greeting

    with TestClient(app) as client:
        assert client.get("/").text == "hi"
    assert "answer" in log[0]


def test_off_is_the_plain_chain_with_nothing_added() -> None:
    seen: list[Any] = []

    async def hello(ctx: Context, next: Next) -> None:
        seen.append(of(ctx))
        ctx.body = "hi"

    app = Koa(env="production")  # development wraps each middleware in its checks
    app.use(hello)
    step = app._compose()
    assert step.layers == (hello,)  # type: ignore[attr-defined]  # the user's function itself, not a wrapper
    with TestClient(app) as client:
        assert "server-timing" not in client.get("/").headers
    assert seen == [None]


def test_trace_middleware_marks_the_app_and_takes_no_part() -> None:
    log: list[str] = []

    async def hello(ctx: Context, next: Next) -> None:
        ctx.body = "hi"

    app = Koa()
    app.use(hello, aiokoa.trace(log=log.append))  # position does not matter
    with TestClient(app) as client:
        client.get("/")
    assert len(blank(log[0]).splitlines()) == 2
    assert "Tracer" not in log[0]
