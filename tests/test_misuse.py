"""The classic middleware mistakes, each over real HTTP: the exact message aiokoa gives,
and a server that keeps serving afterwards."""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, cast

import httpx
import pytest

from aiokoa import Context, Koa, Middleware, MiddlewareError, Next, ResponseSentError, Router, compose
from aiokoa.core.compose import _chain_code
from aiokoa.core.diagnostics import close_member
from aiokoa.core.implementations import Implementation
from aiokoa.testing import TestClient

from .conftest import Serve

FILE = __file__
SEE_ASYNC = "See aiokoa docs/onion.md#async-work-done-right"
SEE_ORDER = "See aiokoa docs/onion.md#the-order"


def line_of(fn: Any, text: str) -> int:
    """The line number of the first line of `fn`'s source that contains `text`."""
    lines, first = inspect.getsourcelines(fn)
    return first + next(k for k, line in enumerate(lines) if text in line)


def where(fn: Any) -> str:
    return f"{fn.__qualname__} ({FILE}:{fn.__code__.co_firstlineno})"


def errors_of(app: Koa) -> list[BaseException]:
    errors: list[BaseException] = []
    app.on("error", lambda err, ctx: errors.append(err))
    return errors


async def fixed(ctx: Context, next: Next) -> None:
    if ctx.path == "/fixed":
        ctx.body = "still serving"
    else:
        await next()


def loop_errors(caplog: pytest.LogCaptureFixture, count: int = 1) -> list[BaseException]:
    """Errors raised in callbacks, as the event loop logs them (waits for them to happen)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = [r.exc_info[1] for r in caplog.records if r.name == "asyncio" and r.exc_info and r.exc_info[1]]
        if len(found) >= count:
            return found
        time.sleep(0.01)
    raise AssertionError("no error was logged by the event loop")


# -- 1. a callback nobody awaited sets the body --------------------------------------------


answered = threading.Event()
"""Set by the test once the client has the response: the callback below runs after it."""


async def callback_body(ctx: Context, next: Next) -> Any:
    if ctx.path != "/callback":
        return await next()
    loop = asyncio.get_running_loop()

    def reply() -> None:
        if not answered.is_set():  # a busy machine must not let the callback win the race
            loop.call_later(0.01, reply)
            return
        ctx.body = "Hello from a callback"

    loop.call_later(0.02, reply)


def test_unawaited_callback_setting_the_body(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="asyncio")
    app = Koa()
    app.use(fixed, callback_body)
    client = serve(app)
    answered.clear()
    answer = client.get("/callback")
    answered.set()
    assert (answer.status_code, answer.text) == (404, "Not Found")
    [err] = loop_errors(caplog)
    assert isinstance(err, ResponseSentError)
    assert str(err) == "\n".join(
        [
            "ctx.body was changed after the response to GET /callback had already been sent "
            "(404 Not Found); the change is lost.",
            f"  changed at: {FILE}:{line_of(callback_body, 'ctx.body =')} in callback_body.<locals>.reply",
            f"  middleware: {where(callback_body)}",
            "The middleware returned before this code ran (a callback or task nobody awaited),",
            "so the response was sent without it.",
            "Fix: await the work inside the middleware before it returns, e.g.",
            "    await asyncio.sleep(0.1)             # not loop.call_later(0.1, callback)",
            "    ctx.body = await fetch_result()      # not asyncio.create_task(...) left running",
            "  or turn a callback API into a Future (loop.create_future()) and await it.",
            SEE_ASYNC,
        ]
    )
    assert client.get("/fixed").text == "still serving"


# -- 2. next() without await ---------------------------------------------------------------


async def not_awaited(ctx: Context, next: Next) -> None:
    next()  # forgot `await`


async def downstream(ctx: Context, next: Next) -> None:
    ctx.body = "downstream"


def test_next_not_awaited(serve: Serve) -> None:
    app = Koa()
    app.use(fixed, not_awaited, downstream)
    errors = errors_of(app)
    client = serve(app)
    answer = client.get("/")
    assert (answer.status_code, answer.text) == (500, "Internal Server Error")
    [err] = errors
    assert isinstance(err, MiddlewareError)
    assert str(err) == (
        f"next() was called but not awaited in middleware {where(not_awaited)}, so nothing downstream ran.\n"
        f"  next() at: {FILE}:{line_of(not_awaited, 'next()  #')}\n"
        f"Fix: write `await next()` (or `return await next()`). {SEE_ORDER}"
    )
    assert client.get("/fixed").text == "still serving"


# -- 3. next() twice -----------------------------------------------------------------------


async def twice(ctx: Context, next: Next) -> None:
    await next()
    await next()


def test_next_called_twice(serve: Serve) -> None:
    app = Koa()
    app.use(fixed, twice, downstream)
    errors = errors_of(app)
    client = serve(app)
    assert client.get("/").status_code == 500
    [err] = errors
    second = inspect.getsourcelines(twice)[1] + 2
    assert str(err) == (
        f"next() called multiple times in middleware {where(twice)}.\n"
        f"  called at: {FILE}:{second} in twice\n"
        "Each middleware may call next() once: it runs everything downstream.\n"
        f"Fix: call `await next()` exactly once. {SEE_ORDER}"
    )
    assert client.get("/fixed").text == "still serving"


# -- 4. late mutations: every mutator names itself ------------------------------------------

MUTATIONS: dict[str, tuple[Callable[[Context], Any], str]] = {
    "body": (lambda ctx: setattr(ctx, "body", "late"), "ctx.body was changed"),
    "status": (lambda ctx: setattr(ctx, "status", 201), "ctx.status was changed"),
    "message": (lambda ctx: setattr(ctx, "message", "Late"), "ctx.message was changed"),
    "type": (lambda ctx: setattr(ctx, "type", "json"), "ctx.type was changed"),
    "length": (lambda ctx: setattr(ctx, "length", 3), "ctx.length was changed"),
    "set": (lambda ctx: ctx.set("X-Late", "1"), "ctx.set('X-Late') was called"),
    "append": (lambda ctx: ctx.append("X-Late", "1"), "ctx.append('X-Late') was called"),
    "remove": (lambda ctx: ctx.remove("X-Late"), "ctx.remove('X-Late') was called"),
    "vary": (lambda ctx: ctx.vary("Accept"), "ctx.vary('Accept') was called"),
    "etag": (lambda ctx: setattr(ctx, "etag", "abc"), "ctx.etag was changed"),
    "last_modified": (lambda ctx: setattr(ctx, "last_modified", 0), "ctx.last_modified was changed"),
    "redirect": (lambda ctx: ctx.redirect("/elsewhere"), "ctx.redirect('/elsewhere') was called"),
    "attachment": (lambda ctx: ctx.attachment("a.pdf"), "ctx.attachment('a.pdf') was called"),
    "cookies.set": (lambda ctx: ctx.cookies.set("sid", "1"), "ctx.cookies.set('sid') was called"),
    "response.body": (lambda ctx: setattr(ctx.response, "body", "late"), "ctx.body was changed"),
    "response.status": (lambda ctx: setattr(ctx.response, "status", 201), "ctx.status was changed"),
    "response.headers[]": (
        lambda ctx: ctx.response.headers.__setitem__("x-late", "1"),
        "ctx.response.headers['x-late'] was changed",
    ),
    "response.headers.pop": (lambda ctx: ctx.response.headers.pop("x-early"), "ctx.response.headers.pop() was called"),
    "response.headers.update": (
        lambda ctx: ctx.response.headers.update({"x-late": "1"}),
        "ctx.response.headers.update() was called",
    ),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_every_late_mutation_names_the_field_and_the_middleware(serve: Serve, name: str) -> None:
    mutate, what = MUTATIONS[name]
    caught: list[BaseException] = []
    done = asyncio.Event()

    async def late_task(ctx: Context, next: Next) -> Any:
        if ctx.path != "/late":
            return await next()
        ctx.body = "sent"

        async def later() -> None:
            await asyncio.sleep(0.01)
            try:
                mutate(ctx)
            except Exception as err:
                caught.append(err)

        task = asyncio.ensure_future(later())  # started, never awaited
        task.add_done_callback(lambda _: done.set())

    app = Koa()
    app.use(fixed, late_task)
    client = serve(app)
    answer = client.get("/late")
    assert (answer.status_code, answer.text) == (200, "sent")
    deadline = time.monotonic() + 5
    while not caught and time.monotonic() < deadline:
        time.sleep(0.01)
    [err] = caught
    assert isinstance(err, ResponseSentError)
    text = str(err)
    assert text.startswith(
        f"{what} after the response to GET /late had already been sent (200 OK); the change is lost."
    )
    assert f"  middleware: {late_task.__qualname__} ({FILE}:" in text
    assert text.endswith(SEE_ASYNC)
    assert client.get("/fixed").text == "still serving"


# -- 5. a header or the status changed after flush_headers() ----------------------------------

SEE_STREAMING = "See aiokoa docs/onion.md#streaming"
FLUSHED = {name: change for name, change in MUTATIONS.items() if name not in ("body", "message", "response.body")}


async def chunks(*parts: bytes) -> Any:
    for part in parts:
        yield part


@pytest.mark.parametrize("name", list(FLUSHED))
def test_every_header_change_after_flush_headers_names_itself(serve: Serve, name: str) -> None:
    mutate, what = FLUSHED[name]
    caught: list[BaseException] = []

    async def streaming(ctx: Context, next: Next) -> Any:
        if ctx.path != "/stream":
            return await next()
        ctx.status = 200
        ctx.set("X-Early", "1")
        await ctx.flush_headers()
        try:
            mutate(ctx)
        except ResponseSentError as err:
            caught.append(err)
        ctx.body = chunks(b"still ", b"streaming")

    client = serve(app_of(fixed, streaming))
    answer = client.get("/stream")
    assert (answer.status_code, answer.text) == (200, "still streaming")
    assert answer.headers["x-early"] == "1"
    assert "x-late" not in answer.headers
    [err] = caught
    text = str(err)
    assert text.startswith(
        f"{what} after the headers of the response to GET /stream had already been sent (200 OK); the change is lost."
    )
    assert f"  changed at: {FILE}:" in text
    assert f"  middleware: {where(streaming)}" in text
    assert text.endswith(SEE_STREAMING)


async def late_header(ctx: Context, next: Next) -> Any:
    if ctx.path != "/late-header":
        return await next()
    ctx.status = 200
    await ctx.flush_headers()
    ctx.set("X-Late", "1")  # the headers went out
    ctx.body = "never sent"


LATE_HEADER = [
    "ctx.set('X-Late') was called after the headers of the response to GET /late-header had already been sent "
    "(200 OK); the change is lost.",
    f"  changed at: {FILE}:{line_of(late_header, 'X-Late')} in late_header",
    f"  middleware: {where(late_header)}",
    "The status and headers went out with `await ctx.flush_headers()` (or through ctx.send);",
    "only the body can follow them.",
    "Fix: set the status and every header before `await ctx.flush_headers()`. A middleware",
    "  that runs after downstream streamed its response checks `ctx.header_sent` first.",
    SEE_STREAMING,
]


def test_header_after_flush_headers_aborts_the_response_with_an_error_naming_the_line(serve: Serve) -> None:
    app = app_of(fixed, late_header)
    errors = errors_of(app)
    client = serve(app)
    with client.stream("GET", "/late-header") as answer:
        assert answer.status_code == 200
        assert "x-late" not in answer.headers
        with pytest.raises(httpx.RemoteProtocolError):  # an error after the headers went out
            answer.read()
    [err] = errors
    assert isinstance(err, ResponseSentError)
    assert getattr(err, "header_sent", False) is True
    assert str(err) == "\n".join(LATE_HEADER)
    assert client.get("/fixed").text == "still serving"


def test_header_after_flush_headers_over_the_test_client() -> None:
    caught: list[BaseException] = []

    async def catching(ctx: Context, next: Next) -> None:
        try:
            await next()
        except ResponseSentError as err:
            caught.append(err)
            ctx.body = "streamed anyway"  # the body may still follow the headers

    with TestClient(app_of(catching, fixed, late_header)) as client:
        answer = client.get("/late-header")
        assert (answer.status_code, answer.text) == (200, "streamed anyway")
        assert "x-late" not in answer.headers
    [err] = caught
    assert isinstance(err, ResponseSentError)
    assert str(err) == "\n".join(LATE_HEADER)


def test_headers_sent_through_ctx_send_are_final_too(serve: Serve) -> None:
    async def raw(ctx: Context, next: Next) -> None:
        ctx.respond = False
        await ctx.send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"3")]})
        await ctx.send({"type": "http.response.body", "body": b"raw"})
        ctx.status = 201

    app = app_of(raw)
    errors = errors_of(app)
    answer = serve(app).get("/")
    assert (answer.status_code, answer.text) == (200, "raw")
    deadline = time.monotonic() + 5
    while not errors and time.monotonic() < deadline:  # the change comes after the answer went out
        time.sleep(0.01)
    [err] = errors
    assert str(err).startswith(
        "ctx.status was changed after the response to GET / had already been sent; the change is lost."
    )
    assert "(or through ctx.send)" in str(err)


# -- 6. next() left running in a task; next() called after the response -----------------------


async def detached(ctx: Context, next: Next) -> None:
    ctx.state["task"] = asyncio.ensure_future(next())  # started, not awaited


async def slow(ctx: Context, next: Next) -> None:
    await asyncio.sleep(0.01)


def test_next_left_running_in_a_task(serve: Serve) -> None:
    app = Koa()
    app.use(fixed, detached, slow)
    errors = errors_of(app)
    client = serve(app)
    assert client.get("/").status_code == 500
    assert str(errors[0]) == (
        f"middleware {where(detached)} returned while the downstream it started with next() was still "
        "running (or scheduled) in a task or callback, so the response would be sent before downstream "
        "finished.\n"
        f"Fix: `await next()` in the middleware itself; await any task you start before returning. {SEE_ASYNC}"
    )
    assert client.get("/fixed").text == "still serving"


async def next_in_callback(ctx: Context, next: Next) -> Any:
    if ctx.path != "/later":
        return await next()
    asyncio.get_running_loop().call_later(0.01, next)


def test_next_called_by_a_callback_after_the_response(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="asyncio")
    app = Koa()
    app.use(fixed, next_in_callback, downstream)
    client = serve(app)
    assert client.get("/later").status_code == 404
    [err] = loop_errors(caplog)
    assert isinstance(err, MiddlewareError)
    assert str(err).startswith(
        "next() was called after the response to GET /later had already been sent (404 Not Found); "
        f"nothing downstream of middleware {where(next_in_callback)} can run now.\n"
    )
    assert str(err).endswith(
        "The middleware returned before calling next(): it handed next to a callback or task that nobody "
        "awaited.\n"
        f"Fix: await the callback's result inside the middleware (wrap it in a Future), then `await next()` "
        f"there. {SEE_ASYNC}"
    )
    assert client.get("/fixed").text == "still serving"


def test_the_late_next_check_is_not_compiled_into_production_chains() -> None:
    plain = [c for c in _chain_code(3, False).co_consts if inspect.iscode(c)]
    checked = [c for c in _chain_code(3, True).co_consts if inspect.iscode(c)]
    assert not any("late" in code.co_names for run in plain for code in [run, *_codes(run)])
    assert any("late" in code.co_names for run in checked for code in [run, *_codes(run)])
    assert not _checked(Koa(env="production")._compose())
    assert _checked(Koa(env="development")._compose())


def _codes(code: Any) -> list[Any]:
    return [c for c in code.co_consts if inspect.iscode(c)]


def _checked(step: Any) -> bool:
    """Whether a chain checks for a late next(): its generated code's name, or the C chain's repr."""
    code = getattr(step, "__code__", None)
    return "(checked)" in (code.co_filename if code is not None else repr(step))


# -- 7. use() refuses what can never run -------------------------------------------------------


def test_sync_middleware_is_supported(serve: Serve) -> None:
    def passing(ctx: Context, next: Next) -> Any:
        ctx.set("X-Sync", "yes")
        return next()

    app = Koa()
    app.use(passing, downstream)
    answer = serve(app).get("/")
    assert (answer.text, answer.headers["x-sync"]) == ("downstream", "yes")


def plain_generator(ctx: Context) -> Any:
    yield


async def three_arguments(ctx: Context, next: Next, user: str) -> None:
    ctx.body = "never"


def test_use_rejects_what_cannot_run() -> None:
    with pytest.raises(TypeError) as generator:
        Koa().use(plain_generator)
    assert str(generator.value) == (
        f"{where(plain_generator)} is a plain generator, which cannot await downstream.\n"
        "Fix: write `async def mw(ctx, next)` with `await next()`, or `async def mw(ctx)` with `yield` "
        f"(Koa 1 style). {SEE_ORDER}"
    )
    with pytest.raises(TypeError) as arity:
        Koa().use(three_arguments)
    assert str(arity.value) == (
        f"{where(three_arguments)} takes (ctx: 'Context', next: 'Next', user: 'str') -> 'None', "
        "but a middleware is called as fn(ctx) or fn(ctx, next).\n"
        f"Fix: take `ctx`, and `next` second when it runs what follows: `async def mw(ctx, next)`. {SEE_ORDER}"
    )
    with pytest.raises(TypeError) as called:
        Koa().use(downstream(None, None))  # type: ignore[arg-type, call-overload]
    assert str(called.value) == (
        f"{where(downstream)} was called: use() got the coroutine downstream(...).\n"
        f"Fix: pass the function, `use(downstream)`. {SEE_ORDER}"
    )


# -- 7. next() twice, wherever it is called, in the chain this run uses (C or Python) ----------


def test_the_chain_under_test_is_the_one_of_its_implementation(implementation: Implementation) -> None:
    step = app_of(twice, downstream, env="production")._compose()
    assert type(step).__name__ == {"python": "function", "c": "Chain"}[implementation]


async def last_twice(ctx: Context, next: Next) -> None:
    ctx.body = "last"
    await next()
    await next()


def sync_twice(ctx: Context, next: Next) -> Any:
    next()
    return next()


@pytest.mark.parametrize("env", ["development", "production"])
@pytest.mark.parametrize(
    ("stack", "culprit", "second"),
    [
        ([twice, downstream], twice, "await next()\n    await next()"),  # the first layer: its next is the Run
        ([fixed, twice, downstream], twice, "await next()\n    await next()"),
        ([fixed, last_twice], last_twice, "await next()\n    await next()"),  # below the last layer
        ([fixed, sync_twice], sync_twice, "return next()"),  # a plain function, adapted
    ],
    ids=["first", "middle", "last", "sync"],
)
def test_next_called_twice_in_every_layer(env: str, stack: list[Any], culprit: Any, second: str) -> None:
    app = Koa(env=env)
    for fn in stack:
        app.use(fn)
    errors = errors_of(app)
    with TestClient(app) as client:
        assert client.get("/").status_code == 500
    [err] = errors
    lines, first = inspect.getsourcelines(culprit)
    source = "".join(lines)
    at = first + source[: source.index(second) + len(second)].count("\n")
    assert isinstance(err, MiddlewareError)
    assert str(err) == (
        f"next() called multiple times in middleware {where(culprit)}.\n"
        f"  called at: {FILE}:{at} in {culprit.__qualname__}\n"
        "Each middleware may call next() once: it runs everything downstream.\n"
        f"Fix: call `await next()` exactly once. {SEE_ORDER}"
    )


def test_next_called_twice_in_a_route_and_in_compose() -> None:
    router = Router()
    router.get("/", twice, downstream)
    app = app_of(router.routes())
    errors = errors_of(app)
    with TestClient(app) as client:
        assert client.get("/").status_code == 500
    assert str(errors[0]).startswith(f"next() called multiple times in middleware {where(twice)}.\n")

    async def run() -> None:
        await compose(twice, downstream)(Koa().create_context(SCOPE, None, None))  # type: ignore[arg-type]

    with pytest.raises(MiddlewareError, match=r"^next\(\) called multiple times in middleware twice "):
        asyncio.run(run())


# -- 8. development checks: a returned value, a blocked loop, a misspelt attribute -----------

SCOPE: dict[str, Any] = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "aiokoa" and r.levelno == logging.WARNING]


async def returns_dict(ctx: Context, next: Next) -> Any:
    if ctx.path == "/fixed":
        return await next()
    return {"id": 1}


def test_a_returned_value_with_no_body_is_reported_once(caplog: pytest.LogCaptureFixture) -> None:
    app = app_of(fixed, returns_dict)
    with TestClient(app) as client:
        assert client.get("/notes").status_code == 404
        assert client.get("/notes").status_code == 404
        assert client.get("/fixed").text == "still serving"
    assert warnings_of(caplog) == [
        f"{where(returns_dict)} returned a dict; set `ctx.body = ...`: return values are not sent, so "
        "GET /notes was answered 404 Not Found. See aiokoa docs/onion.md#the-response-is-ctxbody"
    ]


async def passes_on(ctx: Context, next: Next) -> Any:
    return await next()


def test_the_innermost_returner_is_named_even_through_a_router(caplog: pytest.LogCaptureFixture) -> None:
    router = Router()

    @router.get("/notes")
    async def list_notes(ctx: Context) -> Any:
        return ["a note"]

    app = app_of(passes_on, router.routes())
    with TestClient(app) as client:
        assert client.get("/notes").status_code == 404
    [warning] = warnings_of(caplog)
    assert warning.startswith(f"{where(list_notes)} returned a list; set `ctx.body = ...`")


def test_no_report_when_the_value_becomes_the_body_or_nothing_is_returned(caplog: pytest.LogCaptureFixture) -> None:
    async def to_body(ctx: Context, next: Next) -> None:
        ctx.body = await next()  # a value-to-body middleware: the returned value is sent

    with TestClient(app_of(to_body, returns_dict)) as client:
        assert client.get("/").json() == {"id": 1}
    with TestClient(app_of(passes_on, downstream)) as client:
        assert client.get("/").text == "downstream"
    assert warnings_of(caplog) == []


async def blocks(ctx: Context, next: Next) -> None:
    time.sleep(0.15)  # a synchronous call: nothing else runs meanwhile
    await next()


async def waits(ctx: Context, next: Next) -> None:
    await asyncio.sleep(0.15)
    ctx.body = "waited"


def test_a_middleware_holding_the_loop_is_named_and_not_its_upstream(caplog: pytest.LogCaptureFixture) -> None:
    app = app_of(passes_on, blocks, waits)
    with TestClient(app) as client:
        assert client.get("/").text == "waited"
        assert client.get("/").text == "waited"
    [warning] = warnings_of(caplog)
    held = int(warning.split(" held the event loop for ")[1].split(" ms")[0])
    assert 150 <= held < 1000
    assert warning == (
        f"{where(blocks)} held the event loop for {held} ms without awaiting (in GET /): no other request ran "
        "meanwhile.\nFix: await an async version of the slow call, or run it in a thread: "
        "`await asyncio.to_thread(slow_call, ...)`. See aiokoa docs/onion.md#blocking-the-event-loop"
    )


def test_a_blocking_route_handler_is_named(caplog: pytest.LogCaptureFixture) -> None:
    router = Router()

    @router.get("/report")
    def report(ctx: Context) -> None:
        time.sleep(0.12)
        ctx.body = "done"

    with TestClient(app_of(passes_on, router.routes())) as client:
        assert client.get("/report").text == "done"
    [warning] = warnings_of(caplog)
    assert warning.startswith(f"{where(report)} held the event loop for ")


async def misspells(ctx: Context, next: Next) -> None:
    if ctx.path == "/status":
        ctx.stauts = 201  # type: ignore[attr-defined]
    elif ctx.path == "/body":
        ctx.bodyy = "hello"  # type: ignore[attr-defined]
    else:
        ctx.user = "ada"  # type: ignore[attr-defined]  # custom attributes work, as in Koa
        ctx.start = 1.0  # type: ignore[attr-defined]  # two letters from `state`, but short
        ctx.body = ctx.user  # type: ignore[attr-defined]


def test_a_misspelt_attribute_raises_and_custom_ones_work() -> None:
    app = app_of(misspells)
    errors = errors_of(app)
    with TestClient(app) as client:
        assert client.get("/status").status_code == 500
        assert client.get("/body").status_code == 500
        assert client.get("/user").text == "ada"
    assert [type(err) for err in errors] == [AttributeError, AttributeError]
    assert str(errors[0]) == (
        "ctx.stauts = ...: 'stauts' is not a context attribute; did you mean 'status'? aiokoa never reads "
        "ctx.stauts, so the value would be lost. For your own data, use ctx.state['stauts'] (or a name further "
        "from ctx's own). See aiokoa docs/onion.md#your-own-data-on-ctx"
    )
    assert "did you mean 'body'?" in str(errors[1])


def test_members_added_to_the_app_context_are_not_typos() -> None:
    app = Koa()
    app.context.bodyy = None  # type: ignore[attr-defined]
    app.use(misspells)
    with TestClient(app) as client:
        assert client.get("/body").status_code == 404


@pytest.mark.parametrize(
    ("name", "member"),
    [("bodyy", "body"), ("stauts", "status"), ("lenght", "length"), ("bdoy", "body"), ("mesage", "message")],
)
def test_close_members(name: str, member: str) -> None:
    assert close_member(Context, name) == member


@pytest.mark.parametrize("name", ["user", "start", "db", "id", "session", "tenant", "items"])
def test_not_close_members(name: str) -> None:
    assert close_member(Context, name) is None


def test_production_has_none_of_the_development_checks(caplog: pytest.LogCaptureFixture) -> None:
    router = Router()
    router.get("/", blocks, returns_dict)
    app = app_of(misspells, router.routes(), env="production")
    step = app._compose()
    assert getattr(step, "layers", None) == (misspells, app.middleware[1])  # the functions themselves
    assert cast(Any, router.stack[0].step).layers == (blocks, returns_dict)
    with TestClient(app) as client:
        assert client.get("/body").status_code == 404  # ctx.bodyy is set, as Koa would
    assert type(app._make_context(app, SCOPE, None, None)) is app.context  # type: ignore[arg-type]
    assert warnings_of(caplog) == []


def app_of(*middleware: Middleware, **options: Any) -> Koa:
    app = Koa(**options)
    app.use(*middleware)
    return app
