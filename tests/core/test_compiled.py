"""The C extension against the pure Python it mirrors, side by side in one process.

The whole suite also runs twice (`./dev test`): once as installed, with the extension, and
once with `AIOKOA_PURE_PYTHON=1`.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import os
import shutil
import sys
import sysconfig
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiokoa import Context, Koa, Next
from aiokoa.core import compiled
from aiokoa.core import respond as respond_module
from aiokoa.core.compose import chain
from aiokoa.core.extension import speedups
from aiokoa.core.response import ResponseMixin, set_body_in_python
from aiokoa.testing import TestClient, make_context

PURE = bool(os.environ.get("AIOKOA_PURE_PYTHON"))
Finish = Callable[[Context], object]


def test_the_extension_is_used_where_it_can_be_built() -> None:
    """With a C compiler, the install builds it, and a silent fallback would leave the C
    code untested; `AIOKOA_PURE_PYTHON=1` turns it off."""
    compiler = shutil.which(str(sysconfig.get_config_var("CC") or "cc").split()[0]) is not None
    assert (speedups is not None) == (compiler and not PURE)
    assert (compiled.finish is respond_module.finish) == (speedups is None)


UNSET = object()


def _slots(ctx: Context) -> dict[str, object]:
    return {name: getattr(ctx, name, UNSET) for name in Context.__slots__}


def test_a_context_made_in_c_is_the_one_python_makes() -> None:
    app = Koa()
    scope = make_context().scope
    made = compiled.context_maker(app.context)(app, scope, None, None)  # type: ignore[arg-type]
    expected = app.context(app, scope, None, None)  # type: ignore[arg-type]
    assert type(made) is app.context
    assert _slots(made) == _slots(expected)
    assert made._headers is not expected._headers  # each context has its own headers
    made.user = "extension attributes work"  # type: ignore[attr-defined]


def test_making_and_freeing_contexts_leaves_every_reference_count_as_it_was() -> None:
    """C copies the prototype's fields in one go and adds their references per value."""
    app = Koa()
    scope = make_context().scope
    make = compiled.context_maker(app.context)
    first = make(app, scope, None, None)  # type: ignore[arg-type]
    values = [getattr(first, name) for name in Context.__slots__ if hasattr(first, name)]
    del first
    before = [sys.getrefcount(value) for value in values]
    for _ in range(1000):
        make(app, scope, None, None)  # type: ignore[arg-type]
    assert [sys.getrefcount(value) for value in values] == before


def test_a_context_class_with_its_own_init_is_called_as_is() -> None:
    class Custom(Context):
        __slots__ = ()

        def __init__(self, *args: object) -> None:
            super().__init__(*args)  # type: ignore[arg-type]
            self.respond = False

    assert compiled.context_maker(Custom) is Custom


def test_the_factory_takes_only_contexts() -> None:
    if speedups is None:  # pure Python: the class itself makes contexts
        assert compiled.context_maker(Context) is Context
        return
    with pytest.raises(TypeError):
        speedups.ContextFactory(dict)
    factory = speedups.ContextFactory(Context)
    with pytest.raises(TypeError):
        factory(None, None)
    with pytest.raises(TypeError):
        speedups.finish(object())
    with pytest.raises(RuntimeError):  # once: contexts already made have the first image's layout
        speedups.bind(Context, Context(Koa(), {}, None, None), {})  # type: ignore[arg-type]


class Text(str):
    pass


header_values = st.one_of(
    st.text(alphabet=st.characters(max_codepoint=0x17F), max_size=8),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.booleans(),
    st.lists(st.one_of(st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=4), st.booleans()), max_size=3),
    st.text(max_size=4).map(Text),
    st.floats(allow_nan=False),
)


@given(st.dictionaries(st.sampled_from(["content-type", "x-a", "set-cookie", "x-ü"]), header_values, max_size=4))
def test_the_messages_carry_the_headers_python_sends(headers: dict[str, Any]) -> None:
    def messages(finish: Finish) -> tuple[object, bool]:  # the messages, or the type of the error it raised
        ctx = make_context()
        ctx.body = "x"
        ctx._headers.update(headers)
        try:
            return finish(ctx), ctx._header_sent
        except (TypeError, UnicodeEncodeError) as err:
            return type(err), ctx._header_sent

    assert messages(compiled.finish) == messages(respond_module.finish)


bodies: st.SearchStrategy[object] = st.one_of(
    st.sampled_from([None, b"", b"bytes", bytearray(b"ba"), [], {}, 0, 1.5, True]),
    st.text(max_size=6),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.lists(st.integers(), max_size=2),
)


@given(
    bodies,
    st.sampled_from([200, 204, 304, 404, 500]),
    st.sampled_from(["GET", "HEAD", "POST"]),
    st.sampled_from(["respond", "no respond", "ended", "headers sent"]),
)
def test_what_is_sent_is_what_python_sends(body: object, status: int, method: str, state: str) -> None:
    def outcome(finish: Finish) -> tuple[object, ...]:
        ctx = make_context(method=method)
        ctx.body = body
        if body is not None or status in (204, 304):
            ctx.status = status
        ctx.respond = state != "no respond"
        ctx._ended = state == "ended"
        ctx._header_sent = state == "headers sent"
        result = finish(ctx)
        return result, ctx._status, dict(ctx._headers), ctx._body, ctx._finished, ctx._ended, ctx._header_sent

    assert outcome(compiled.finish) == outcome(respond_module.finish)


class _Never:
    def __await__(self) -> Generator[None, None, None]:
        yield  # suspends, and nobody resumes it


def test_a_chain_left_suspended_in_a_cycle_is_collected() -> None:
    """ctx -> its state -> a suspended middleware -> its next() -> the chain's run -> ctx:
    a cycle only the garbage collector frees, whichever chain (C or Python) built it."""

    async def outer(ctx: Context, next: Next) -> None:
        await next()

    async def stuck(ctx: Context, next: Next) -> None:
        await _Never()

    ctx = make_context()
    collected = weakref.ref(ctx)
    running = chain([outer, stuck])(ctx, None)
    running.send(None)  # type: ignore[attr-defined]
    ctx.state["running"] = running
    del ctx, running
    gc.collect()
    assert collected() is None


def test_a_chain_refuses_calls_it_cannot_make() -> None:
    step = chain([])
    with pytest.raises(TypeError):
        step(make_context())  # type: ignore[call-arg]
    assert step.layers == ()  # type: ignore[attr-defined]
    refused: list[type[BaseException]] = []

    async def first(ctx: Context, next: Next) -> None:
        await next()

    async def second(ctx: Context, next: Next) -> None:
        for call in (lambda: next(1), lambda: next(late=True)):  # type: ignore[call-arg]
            try:
                call()  # type: ignore[no-untyped-call]  # mypy types a tuple of lambdas as untyped
            except TypeError as err:
                refused.append(type(err))

    with pytest.raises(StopIteration):
        chain([first, second])(make_context(), None).send(None)  # type: ignore[attr-defined]
    assert refused == [TypeError, TypeError]


@given(
    st.one_of(st.text(max_size=5), st.binary(max_size=5), st.sampled_from(["<p>", " \n<p>", "\u2003<", "é"])),
    st.sampled_from([None, "old", b"old", {"a": 1}]),
    st.sampled_from([{}, {"content-type": "text/x"}, {"transfer-encoding": "chunked"}]),
    st.booleans(),
)
def test_setting_a_body_is_what_python_does(
    value: str | bytes, previous: str | bytes | dict[str, int] | None, headers: dict[str, str], explicit_status: bool
) -> None:
    def outcome(setter: Callable[[Context, object], None]) -> tuple[object, ...]:
        ctx = make_context()
        ctx._body = previous
        ctx._headers.update(headers)
        if explicit_status:
            ctx.status = 201
        setter(ctx, value)
        return ctx._body, ctx._status, ctx._explicit_status, ctx._message, list(ctx._headers.items())

    compiled_setter = cast(property, vars(ResponseMixin)["body"]).fset
    assert compiled_setter is not None and set_body_in_python is not None  # property setters are typed optional
    assert outcome(compiled_setter) == outcome(set_body_in_python)


def test_a_context_class_set_after_the_first_request_is_used() -> None:
    app = Koa()

    @app.use
    async def show(ctx: Context, next: Next) -> None:
        ctx.body = type(ctx).__name__

    class Custom(app.context):  # type: ignore[name-defined, misc]
        __slots__ = ()

    with TestClient(app) as client:
        assert client.get("/").text == "Context"
        app.context = Custom
        assert client.get("/").text == "Custom"


# -- Koa.__call__: calling an app runs its C twin; `Koa.__call__(app, ...)` is the Python ---


class _Gone(Exception):
    pass


async def _ok(ctx: Context, next: Next) -> None:
    ctx.body = "hello"


async def _teapot(ctx: Context, next: Next) -> None:
    ctx.throw(418, "short and stout")


async def _crash(ctx: Context, next: Next) -> None:
    raise ValueError("boom")


async def _quiet(ctx: Context, next: Next) -> None:
    ctx.respond = False
    await ctx.send({"type": "http.response.start", "status": 202, "headers": []})
    await ctx.send({"type": "http.response.body", "body": b"by hand"})


async def _late_crash(ctx: Context, next: Next) -> None:
    await ctx._send_start()
    raise ValueError("after the headers")


async def _stream(ctx: Context, next: Next) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"a"
        yield b"b"

    ctx.body = chunks()


async def _broken_stream(ctx: Context, next: Next) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        raise ValueError("no first chunk")
        yield b""  # pragma: no cover

    ctx.body = chunks()


async def _forgets_next(ctx: Context, next: Next) -> None:
    next()


async def _json_after_timer(ctx: Context, next: Next) -> None:
    await asyncio.sleep(0)
    ctx.body = {"id": 42}


async def _passes(ctx: Context, next: Next) -> None:
    await next()
    ctx.set("X-After", "1")


APPS = {
    "hello": [_ok],
    "json after a timer": [_passes, _json_after_timer],
    "http error": [_passes, _teapot],
    "crash": [_crash],
    "respond=False": [_quiet],
    "error after the headers": [_late_crash],
    "stream": [_stream],
    "stream failing before its first chunk": [_broken_stream],
    "next() not awaited": [_forgets_next, _ok],
    "nothing": [],
}


def _in_c(app: Koa, *args: Any) -> Any:
    """Calling the app: its class's call slot (C where built); `Koa.__call__` is the Python."""
    return app(*args)


def _scope(kind: str = "http", method: str = "GET") -> dict[str, object]:
    return {"type": kind, "method": method, "path": "/", "raw_path": b"/", "query_string": b"", "headers": []}


def _outcome(call: Callable[..., Awaitable[None]], middleware: list[Any], method: str, failing: str) -> object:
    """What one call sends, the `error` events it emits, and what it raises."""
    app = Koa(env="production")
    app.silent = True
    for fn in middleware:
        app.use(fn)
    errors: list[str] = []
    app.on("error", lambda err, ctx: errors.append(f"{err!r} handling {sys.exc_info()[1]!r}"))
    sent: list[object] = []

    async def receive() -> dict[str, object]:
        await asyncio.sleep(0)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == failing:
            raise _Gone(failing)
        sent.append(message)

    async def run() -> str | None:
        try:
            await call(app, _scope(method=method), receive, send)
        except Exception as err:
            return repr(err)
        return None

    raised = asyncio.run(run())
    return sent, errors, raised


@pytest.mark.parametrize("name", APPS)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("failing", ["", "http.response.start", "http.response.body"])
def test_calling_an_app_does_what_the_python_method_does(name: str, method: str, failing: str) -> None:
    python = _outcome(Koa.__call__, APPS[name], method, failing)
    assert _outcome(_in_c, APPS[name], method, failing) == python


def test_the_c_twin_is_what_calling_an_app_runs() -> None:
    class Plain(Koa):
        pass

    class Own(Koa):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await super().__call__(scope, receive, send)

    twin = "Koa.__call__" if speedups is None else "Serve"
    for app, expected in ((Koa(), twin), (Plain(), twin), (Own(), "Own.__call__")):
        running = app(_scope(), None, None)  # type: ignore[arg-type]
        assert getattr(running, "__qualname__", type(running).__name__).endswith(expected), app
        running.close()
        # what servers inspect: uvicorn tells an ASGI 3 app by its coroutine __call__
        assert inspect.iscoroutinefunction(app.__call__) and asyncio.iscoroutinefunction(app.__call__)


def test_a_call_is_a_coroutine_to_asyncio_and_takes_keywords() -> None:
    app = Koa()
    app.use(_ok)
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    running = app(scope=_scope(), receive=None, send=send)  # type: ignore[arg-type]
    assert asyncio.iscoroutine(running) and inspect.isawaitable(running)
    asyncio.run(running)
    assert sent[-1]["body"] == b"hello"
    with pytest.raises(TypeError):
        app(_scope())  # type: ignore[call-arg, unused-coroutine]


def _coroutine_protocol(call: Callable[..., Any]) -> list[str]:
    """The coroutine protocol's edges, as Python's own coroutines behave at them."""
    seen: list[str] = []

    async def waits(ctx: Context, next: Next) -> None:
        try:
            await _Never()
        except _Gone:
            seen.append("thrown in")
            ctx.body = "recovered"
        finally:
            seen.append("finally")

    app = Koa()
    app.use(waits)
    sent: list[object] = []

    async def send(message: object) -> None:
        sent.append(message)

    def attempt(fn: Callable[[], object]) -> None:
        try:
            seen.append(f"-> {fn()!r}")
        except BaseException as err:
            seen.append(f"!! {type(err).__name__}")

    fresh = call(app, _scope(), None, send)
    attempt(lambda: fresh.send(1))  # a just-started coroutine takes only None
    attempt(lambda: fresh.send(None))  # and is over once it failed
    thrown = call(app, _scope(), None, send)
    attempt(lambda: thrown.throw(_Gone("before the start")))
    attempt(lambda: thrown.send(None))
    recovering = call(app, _scope(), None, send)
    attempt(lambda: recovering.send(None))  # suspended in the middleware
    attempt(lambda: recovering.throw(_Gone("at the await")))  # caught there: the response goes out
    attempt(lambda: recovering.send(None))
    seen.append(repr([m["type"] for m in sent]))  # type: ignore[index]
    closing = call(app, _scope(), None, send)
    attempt(lambda: closing.send(None))
    attempt(closing.close)  # the middleware's finally runs
    attempt(closing.close)
    attempt(lambda: closing.send(None))
    fresh.close()  # left suspended above
    seen.append("end")
    return seen


def test_a_call_follows_the_coroutine_protocol_as_python_does() -> None:
    python = _coroutine_protocol(Koa.__call__)
    assert "-> None" in python and "thrown in" in python and "finally" in python
    assert _coroutine_protocol(_in_c) == python


def test_a_call_left_suspended_is_collected() -> None:
    """The running call is the next() of its first layer, which the suspended middleware
    holds: a cycle only the garbage collector frees."""
    made: list[weakref.ref[Context]] = []

    async def stuck(ctx: Context, next: Next) -> None:
        made.append(weakref.ref(ctx))
        await next()

    async def waits(ctx: Context, next: Next) -> None:
        await _Never()

    app = Koa()
    app.use(stuck, waits)
    running = app(_scope(), None, None)  # type: ignore[arg-type]
    running.send(None)
    del running
    gc.collect()
    assert made and made[0]() is None


def test_the_c_twin_refuses_calls_it_cannot_make() -> None:
    if speedups is None:
        return
    for cls in (int, type("NotAnApp", (), {})):
        with pytest.raises(TypeError):
            speedups.serve_in_c(cls, Koa.__call__)

    class Own(Koa):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            pass

    assert speedups.serve_in_c(Own, Koa.__call__) is False


# -- contexts made again: a finished context nothing holds is reset and reused (C only) --


# The versions genuinely differ here: contexts are made again on CPython 3.11 only. From 3.12
# on, CPython lays out an instance's dict and weak references itself, and the extension does
# not look into that layout, so each context is freed and a new one allocated.
REUSED = speedups is not None and sys.version_info < (3, 12)


def _pooled(app: Koa) -> int:
    """How many finished contexts the app keeps to make again: none in pure Python."""
    return 0 if speedups is None else cast(Any, app._make_context).pooled


def _serve(app: Koa, times: int = 1, path: str = "/", together: bool = False) -> list[dict[str, Any]]:
    """Call the app `times` times in one event loop, one after the other or all at once;
    the messages the calls sent."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    def call() -> Awaitable[None]:
        return cast(Awaitable[None], _in_c(app, {**_scope(), "path": path, "raw_path": path.encode()}, receive, send))

    async def main() -> None:
        if together:
            await asyncio.gather(*(call() for _ in range(times)))
        for _ in range(0 if together else times):
            await call()

    asyncio.run(main())
    return sent


def test_a_finished_context_is_made_again_as_new() -> None:
    seen: list[tuple[int, dict[str, object], dict[str, object]]] = []
    app = Koa()

    @app.use
    async def record(ctx: Context, next: Next) -> None:
        fresh = Context(ctx.app, ctx.scope, ctx.receive, ctx._send)
        now = {name: dict(value) if isinstance(value, dict) else value for name, value in _slots(ctx).items()}
        seen.append((id(ctx), now, _slots(fresh)))  # not ctx itself: a context still held is not reused
        await next()

    @app.use
    async def use_everything(ctx: Context, next: Next) -> None:
        ctx.state["user"] = "ann"
        ctx.set("X-Kept", "no")
        ctx.keep_on_error("x-kept")
        ctx.cookies.set("sid", "1")
        _ = (ctx.request, ctx.response, ctx.query, ctx.path, ctx.ip, ctx.accepts("json"), ctx.params)
        ctx.status = 201
        ctx.body = {"ok": True}

    sent = _serve(app, times=3)
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [201, 201, 201]
    for _, fields, fresh in seen:
        assert fields == fresh
    if speedups is not None:
        assert cast(Any, app._make_context).reusable == REUSED
    if REUSED:
        assert seen[0][0] == seen[1][0] == seen[2][0]  # one context, reset each time
    assert _pooled(app) == REUSED


def test_a_context_something_still_holds_is_left_as_it_was() -> None:
    kept: list[Context] = []
    headers: list[dict[str, Any]] = []
    app = Koa()

    @app.use
    async def keep(ctx: Context, next: Next) -> None:
        ctx.state["n"] = len(kept)
        ctx.set("X-N", str(len(kept)))
        ctx.body = f"request {len(kept)}"
        if ctx.path == "/keep":
            kept.append(ctx)
        if ctx.path == "/headers":
            headers.append(ctx.response.headers)

    _serve(app, path="/keep")
    _serve(app, path="/headers")
    _serve(app, times=2)
    assert kept[0].state == {"n": 0} and kept[0].body == "request 0" and kept[0].response.get("X-N") == "0"
    assert headers[0]["x-n"] == "1" and headers[0]["content-type"] == "text/plain; charset=utf-8"
    assert kept[0].app is app and kept[0].scope["path"] == "/keep"


def test_a_context_given_attributes_a_weak_reference_or_a_finalizer_is_freed() -> None:
    refs: list[weakref.ref[Context]] = []
    attributes: list[bool] = []
    app = Koa()

    @app.use
    async def mark(ctx: Context, next: Next) -> None:
        attributes.append(hasattr(ctx, "user"))
        if ctx.path == "/attribute":
            ctx.user = "ann"  # type: ignore[attr-defined]
        if ctx.path == "/weak":
            refs.append(weakref.ref(ctx))
        ctx.body = "ok"

    _serve(app, path="/attribute")
    assert _pooled(app) == 0
    _serve(app, path="/weak")
    assert refs[0]() is None and _pooled(app) == 0
    _serve(app)
    assert attributes == [False, False, False]
    finalized: list[str] = []
    app.context.__del__ = lambda self: finalized.append(self.path)  # type: ignore[attr-defined]
    try:
        _serve(app, path="/finalized")
    finally:
        del app.context.__del__  # type: ignore[attr-defined]
    gc.collect()
    assert "/finalized" in finalized


def test_contexts_in_use_at_once_are_distinct_and_few_are_kept() -> None:
    many = 40
    live: list[int] = []
    app = Koa()

    @app.use
    async def wait(ctx: Context, next: Next) -> None:
        live.append(id(ctx))
        await asyncio.sleep(0.01)
        ctx.body = "ok"

    _serve(app, times=many, together=True)
    _serve(app, times=many, together=True)
    assert len(set(live[:many])) == many and len(set(live[many:])) == many
    assert _pooled(app) == (16 if REUSED else 0)


def test_requests_leave_every_reference_count_as_it_was() -> None:
    """Resetting a context drops the values a request set and takes the image's again."""
    app = Koa()

    @app.use
    async def ok(ctx: Context, next: Next) -> None:
        ctx.status = 202
        ctx.body = "ok"

    first = compiled.context_maker(app.context)(app, _scope(), None, None)  # type: ignore[arg-type]
    values = [getattr(first, name) for name in Context.__slots__ if hasattr(first, name)]
    values = [value for value in values if value not in (None, True, False)]  # also used by asyncio itself
    del first

    counts = []
    for _ in range(3):
        _serve(app, times=300)
        counts.append(sum(sys.getrefcount(value) for value in values))
    assert counts[1] == counts[2], counts
