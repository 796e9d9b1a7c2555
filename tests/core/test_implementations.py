"""The C extension against the pure Python it mirrors, side by side in one process.

Every test of the suite also runs with each (the `implementation` fixture), and
`test_parity.py` drives the same request sequences through both.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import inspect
import os
import shutil
import sys
import sysconfig
import types
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from functools import partial
from typing import Any

import pytest

from aiokoa import Context, Koa, Next
from aiokoa.core import compose, extension, implementations
from aiokoa.core.application import handle
from aiokoa.core.compose import chain
from aiokoa.core.extension import speedups
from aiokoa.core.respond import error_response
from aiokoa.testing import TestClient, make_context

PURE = bool(os.environ.get("AIOKOA_PURE_PYTHON"))


def test_the_extension_is_used_where_it_can_be_built(implementation: implementations.Implementation) -> None:
    """With a C compiler, the install builds it, and a silent fallback would leave the C
    code untested; `AIOKOA_PURE_PYTHON=1` turns it off."""
    compiler = shutil.which(str(sysconfig.get_config_var("CC") or "cc").split()[0]) is not None
    assert (speedups is not None) == (compiler and not PURE and not sysconfig.get_config_var("Py_GIL_DISABLED"))
    assert implementations.implementation() == implementation
    assert (compose.make_step is compose.python_step) == (implementation == "python")
    assert (implementations.server(Koa, handle) is handle) == (implementation == "python")
    assert (implementations.context_maker(Context) is Context) == (implementation == "python")


def test_c_can_be_chosen_only_where_it_is_built() -> None:
    if speedups is not None:
        implementations.use("c")
        assert implementations.implementation() == "c"
        return
    with pytest.raises(RuntimeError):
        implementations.use("c")
    assert implementations.implementation() == "python"


def test_each_copy_of_the_extension_keeps_its_own_state() -> None:
    """The module keeps what bind() learns in its own state, not in C globals: a second
    copy starts unbound and binds on its own."""
    spec = importlib.util.find_spec("aiokoa._speedups")  # found even where it is turned off
    if spec is None:
        pytest.skip("the C extension is not built here")
    assert spec.loader is not None
    copy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copy)
    assert copy is not speedups and (speedups is None or copy.Chain is not speedups.Chain)
    with pytest.raises(TypeError):  # not bound yet in this copy
        copy.ContextFactory(Context)
    with pytest.raises(RuntimeError):
        copy.Server(Koa, handle, handle, handle)
    # its chains take any object as the context, as before bind()
    namespace = types.SimpleNamespace()
    with pytest.raises(StopIteration):
        copy.Chain((_awaits_next, _last), False, None, None, compose.DONE)(namespace, None).send(None)
    assert namespace._pending_by is _awaits_next
    prototype = Context.__new__(Context)
    Context.__init__(prototype, None, None, None, None)  # type: ignore[arg-type]
    wrongs: tuple[tuple[object, ...], ...] = ((Context,), (Context, object()), (5, 5), (dict, {}))
    for wrong in wrongs:
        with pytest.raises(TypeError):
            copy.bind(*wrong)
    fields = ("app", "scope", "receive", "_send", "_pending", "_pending_by", "_finished")
    unlisted: Any = type("Unlisted", (), {"__slots__": fields})
    del unlisted.__slots__  # its fields stay; the list of them is gone
    with pytest.raises(AttributeError):
        copy.bind(unlisted, unlisted())
    weak = type("Weak", (), {"__slots__": (*fields, "__weakref__")})  # not a field holding an object
    with pytest.raises(TypeError):
        copy.bind(weak, weak())
    prototype._headers["x-shared"] = "by every context"
    with pytest.raises(TypeError):  # a dict each context must have its own
        copy.bind(Context, prototype)
    prototype._headers.clear()
    copy.bind(Context, prototype)
    app = Koa()
    made = copy.ContextFactory(app.context)(app, _scope(), None, None)
    assert _slots(made) == _slots(app.context(app, _scope(), None, None))  # type: ignore[arg-type]


def test_a_free_threaded_python_runs_the_pure_python_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """The C shares contexts and chains between requests without locks: it needs the GIL."""
    monkeypatch.delenv("AIOKOA_PURE_PYTHON", raising=False)
    real = sysconfig.get_config_var
    monkeypatch.setattr(sysconfig, "get_config_var", lambda name: 1 if name == "Py_GIL_DISABLED" else real(name))
    assert extension.load() is None
    monkeypatch.setattr(sysconfig, "get_config_var", lambda name: 0 if name == "Py_GIL_DISABLED" else real(name))
    assert extension.load() is speedups or PURE


def test_pure_python_is_chosen_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOKOA_PURE_PYTHON", "1")
    assert extension.load() is None


UNSET = object()


def _slots(ctx: Context) -> dict[str, object]:
    return {name: getattr(ctx, name, UNSET) for name in Context.__slots__}


def test_a_context_made_in_c_is_the_one_python_makes() -> None:
    app = Koa()
    scope = make_context().scope
    made = implementations.context_maker(app.context)(app, scope, None, None)  # type: ignore[arg-type]
    expected = app.context(app, scope, None, None)  # type: ignore[arg-type]
    assert type(made) is app.context
    assert _slots(made) == _slots(expected)
    assert made._headers is not expected._headers  # each context has its own headers
    made.user = "extension attributes work"  # type: ignore[attr-defined]


def test_making_and_freeing_contexts_leaves_every_reference_count_as_it_was() -> None:
    """C copies the prototype's fields in one go and adds their references per value."""
    app = Koa()
    scope = make_context().scope
    make = implementations.context_maker(app.context)
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

    assert implementations.context_maker(Custom) is Custom


def test_a_context_class_with_its_own_new_is_called_as_is() -> None:
    made: list[type[Context]] = []

    class Counted(Context):
        __slots__ = ()

        def __new__(cls, *args: object) -> Counted:
            made.append(cls)
            return super().__new__(cls)

    app = Koa()
    app.context = Counted
    ctx = implementations.context_maker(app.context)(app, _scope(), None, None)  # type: ignore[arg-type]
    assert type(ctx) is app.context and made == [app.context]


def test_the_factory_takes_only_contexts() -> None:
    if speedups is None:  # pure Python: the class itself makes contexts
        assert implementations.context_maker(Context) is Context
        return
    for wrong in (dict, 5):
        with pytest.raises(TypeError):
            speedups.ContextFactory(wrong)
    factory = speedups.ContextFactory(Context)
    with pytest.raises(TypeError):
        factory(None, None)
    with pytest.raises(TypeError):
        factory(None, None, None, send=None)
    with pytest.raises(TypeError):
        factory(None, None, None, None, extra=None)
    with pytest.raises(TypeError):
        speedups.ContextFactory(cls=Context)
    no_keywords: dict[str, Any] = {}  # given as an empty dict
    assert type(speedups.ContextFactory(Context, **no_keywords)(Koa(), _scope(), None, None)) is Context
    with pytest.raises(RuntimeError):  # once: contexts already made have the first one's fields
        speedups.bind(Context, Context(Koa(), {}, None, None))  # type: ignore[arg-type]


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

    def refuse(next: Next) -> None:
        for call in (lambda: next(1), lambda: next(late=True)):  # type: ignore[call-arg]
            try:
                call()  # type: ignore[no-untyped-call]  # mypy sees a tuple of lambdas as untyped
            except TypeError as err:
                refused.append(type(err))

    async def first(ctx: Context, next: Next) -> None:
        refuse(next)
        await next()

    async def second(ctx: Context, next: Next) -> None:
        refuse(next)

    with pytest.raises(StopIteration):
        chain([first, second])(make_context(), None).send(None)  # type: ignore[attr-defined]
    assert refused == [TypeError] * 4


def _run_chain(fns: tuple[Any, ...], late: bool, ctx: object) -> str:
    """What a chain made as `chain()` makes it does with `ctx`: returns, or raises what."""
    try:
        compose.make_step(fns, late)(ctx, None).send(None)  # type: ignore[arg-type, attr-defined]
    except StopIteration:
        return "returned"
    except Exception as err:
        return type(err).__name__
    raise AssertionError("suspended")  # pragma: no cover


class _OnlyPending:
    __slots__ = ("_pending",)


async def _awaits_next(ctx: Any, next: Next) -> None:
    await next()


def _last(ctx: Any, next: Next) -> Awaitable[Any]:
    return compose.DONE  # no coroutine left unawaited where next() fails


def test_a_chain_records_what_next_hands_out_on_any_object() -> None:
    """compose() takes any object as the context: next() sets its `_pending` and
    `_pending_by` as attributes, and the checked chain reads its `_finished`."""
    namespace = types.SimpleNamespace()
    assert _run_chain((_awaits_next, _last), False, namespace) == "returned"
    assert namespace._pending_by is _awaits_next
    assert _run_chain((_awaits_next, _last), False, object()) == "AttributeError"
    assert _run_chain((_awaits_next, _last), False, _OnlyPending()) == "AttributeError"
    assert _run_chain((_awaits_next, _last), True, types.SimpleNamespace(_finished=False)) == "returned"
    assert _run_chain((_awaits_next, _last), True, types.SimpleNamespace()) == "AttributeError"
    # the error of a next() after the response says which request: this object cannot
    assert _run_chain((_awaits_next, _last), True, types.SimpleNamespace(_finished=True)) == "AttributeError"
    finished = make_context()
    finished._finished = True
    assert _run_chain((_awaits_next, _last), True, finished) == "MiddlewareError"


def test_a_layer_that_fails_when_called_fails_the_next_that_calls_it() -> None:
    def fails(ctx: Context, next: Next) -> None:
        raise _Gone("called")

    assert _run_chain((_awaits_next, fails), False, make_context()) == "_Gone"


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


# -- one call of an app: `application.handle` and its C twin, which `Koa.__call__` awaits ---


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


_in_c = implementations.server(Koa, handle)
"""What `Koa.__call__` awaits: C where built; `handle` is the Python."""


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
    python = _outcome(handle, APPS[name], method, failing)
    assert _outcome(_in_c, APPS[name], method, failing) == python


def test_calling_an_app_awaits_the_twin() -> None:
    class Plain(Koa):
        pass

    class Own(Koa):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await super().__call__(scope, receive, send)

    twin = "handle" if speedups is None else "Serve"
    for app in (Koa(), Plain(), Own()):
        running = _in_c(app, _scope(), None, None)  # type: ignore[arg-type]
        assert getattr(running, "__qualname__", type(running).__name__) == twin
        running.close()  # type: ignore[attr-defined]
        # what servers inspect: uvicorn tells an ASGI 3 app by its coroutine __call__
        assert inspect.iscoroutinefunction(app.__call__) and asyncio.iscoroutinefunction(app.__call__)
    assert _outcome(Koa.__call__, [_ok], "GET", "") == _outcome(handle, [_ok], "GET", "")


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


def _attempt(seen: list[str], fn: Callable[[], object]) -> None:
    """Note what `fn()` returns, or the type of what it raises."""
    try:
        seen.append(f"-> {fn()!r}")
    except BaseException as err:
        seen.append(f"!! {type(err).__name__}")


def _coroutine_protocol(call: Callable[..., Any]) -> list[str]:
    """The coroutine protocol's edges, as Python's own coroutines behave at them."""
    seen: list[str] = []

    async def waits(ctx: Context, next: Next) -> None:
        try:
            for _ in range(2):  # the first throw() gives what it waits on next, the second its end
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

    attempt = partial(_attempt, seen)

    fresh = call(app, _scope(), None, send)
    attempt(lambda: fresh.send(1))  # a just-started coroutine takes only None
    attempt(lambda: fresh.send(None))  # and is over once it failed
    thrown = call(app, _scope(), None, send)
    attempt(lambda: thrown.throw(_Gone("before the start")))
    attempt(lambda: thrown.send(None))
    recovering = call(app, _scope(), None, send)
    attempt(lambda: recovering.send(None))  # suspended in the middleware
    attempt(lambda: recovering.throw(_Gone("at the await")))  # caught there
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
    python = _coroutine_protocol(handle)
    assert "-> None" in python and "thrown in" in python and "finally" in python
    assert _coroutine_protocol(_in_c) == python


def _closing(call: Callable[..., Any]) -> list[str]:
    """What close() does when closing what the call waits on raises: raised at the await, as
    Python's coroutines do, where the app's error handling may answer (and must not wait)."""
    seen: list[str] = []

    async def fails_when_closed(ctx: Context, next: Next) -> None:
        try:
            await _Never()
        finally:
            raise _Gone("in finally")

    app = Koa(env="production")
    app.silent = True
    app.use(fails_when_closed)
    app.on("error", lambda err, ctx: seen.append(f"error {err!r}"))

    async def send(message: dict[str, Any]) -> None:
        seen.append(message["type"])

    attempt = partial(_attempt, seen)

    answered = call(app, _scope(), None, send)
    attempt(lambda: answered.send(None))
    attempt(answered.close)  # the error response goes out
    waiting = call(app, _scope(), None, lambda message: _Bare())
    attempt(lambda: waiting.send(None))
    attempt(waiting.close)  # the error response waits on its send: refused, left waiting there
    attempt(waiting.close)  # which has no close(): closed
    attempt(lambda: waiting.send(None))
    return seen


def test_closing_a_call_raises_at_the_await_as_python_does() -> None:
    python = _closing(handle)
    assert python.count("error _Gone('in finally')") == 2 and "!! RuntimeError" in python
    assert _closing(_in_c) == python


class _Prickly:
    """An iterator whose throw and close fail to be looked up."""

    def __await__(self) -> Any:
        return self

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> None:
        return None

    @property
    def throw(self) -> Any:
        raise _Gone("looking up throw")

    @property
    def close(self) -> Any:
        raise _Gone("looking up close")


def _prickly(call: Callable[..., Any]) -> list[str]:
    seen: list[str] = []
    app = Koa()
    app.use(_ok)

    attempt = partial(_attempt, seen)

    running = call(app, _scope(), None, lambda message: _Prickly())
    attempt(lambda: running.send(None))
    attempt(lambda: running.throw(_Halt()))  # the lookup's error, the call left as it was
    attempt(lambda: running.send(None))
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: seen.append(f"unraisable {unraisable.exc_value!r}")
    try:
        attempt(running.close)  # closed as an iterator without close()
    finally:
        sys.unraisablehook = hook
    attempt(lambda: running.send(None))
    return seen


def test_an_awaitable_whose_methods_fail_to_be_found_is_thrown_into_and_closed_as_in_python() -> None:
    python = _prickly(handle)
    assert "!! _Gone" in python and "unraisable _Gone('looking up close')" in python
    assert _prickly(_in_c) == python


class _Bare:
    """Awaits an iterator that has neither throw() nor close(), as `__await__` may return."""

    def __await__(self) -> Any:
        return iter([None])


class _AwaitsAnInt:
    def __await__(self) -> Any:
        return 5


class _AwaitFails:
    def __await__(self) -> Any:
        raise _Gone("in __await__")


class _AwaitsACoroutine:
    def __await__(self) -> Any:
        coroutine = _ok(make_context(), _nothing)
        coroutine.close()  # never started: no "never awaited" warning
        return coroutine


class _NoAwait:
    """Its class has the slots of an awaitable, but no `__await__`."""


async def _nothing() -> None:
    pass


async def _async_generator() -> AsyncIterator[None]:
    yield None


def _fails_when_called() -> None:
    raise _Gone("when called")


REFUSED: tuple[Callable[[], object], ...] = (
    lambda: 5,
    _AwaitsAnInt,
    _AwaitFails,
    _AwaitsACoroutine,
    _NoAwait,
    _async_generator,
    _fails_when_called,
)
"""What a `send` may give that `await` refuses or that fails: the call fails with it,
outside the app's error handling, as when the awaited send fails (the server then aborts
the response)."""


def _odd_awaitables(call: Callable[..., Any]) -> list[str]:
    """What a call does when `send` gives something `await` refuses or an iterator that
    cannot be thrown into or closed, and when it is thrown a class, a non-exception or
    nothing, before its start and after its end."""
    seen: list[str] = []
    app = Koa()
    app.silent = True
    app.use(_ok)

    attempt = partial(_attempt, seen)

    for odd in (*REFUSED, _Bare):
        running = call(app, _scope(), None, lambda message, odd=odd: odd())
        attempt(lambda: running.send(None))  # refused at the first send, or suspended in it
        attempt(lambda: running.throw(_Gone("at the await")))
        attempt(lambda: running.throw(5))
    closing = call(app, _scope(), None, lambda message: _Bare())
    attempt(lambda: closing.send(None))
    attempt(closing.close)
    for thrown in ((_Gone,), (5,), (int,), ()):
        unstarted = call(app, _scope(), None, lambda message: _Bare())
        attempt(lambda: unstarted.throw(*thrown))
        attempt(lambda: unstarted.send(None))  # over, or untouched by a throw() of no exception
        unstarted.close()
    stepped = call(app, _scope(), None, lambda message: _Bare())
    attempt(lambda: next(stepped.__await__()))
    stepped.close()
    return seen


def test_a_call_awaits_odd_objects_as_python_does() -> None:
    python = _odd_awaitables(handle)
    assert "!! TypeError" in python and "!! _Gone" in python and "-> None" in python
    assert "!! RuntimeError" in python  # thrown into after its end, as a finished coroutine
    assert _odd_awaitables(_in_c) == python


class _Halt(BaseException):
    """Not an Exception: no middleware or error handling catches it."""


class _FailingOnerror(Context):
    __slots__ = ()

    def onerror(self, err: BaseException | None) -> None:
        raise _Gone("in onerror")


def _not_initialised(app: Koa, scope: dict[str, object]) -> Koa:
    return Koa.__new__(Koa)


def _without_a_type(app: Koa, scope: dict[str, object]) -> Koa:
    del scope["type"]
    return app


def _failing_compose(app: Koa, scope: dict[str, object]) -> Koa:
    app.middleware.append(5)  # not a middleware, found when the chain is composed
    return app


def _without_make_context(app: Koa, scope: dict[str, object]) -> Koa:
    app.callback()
    del app._make_context
    return app


def _failing_onerror(app: Koa, scope: dict[str, object]) -> Koa:
    app.context = _FailingOnerror
    app.use(_crash)
    return app


def _halting(app: Koa, scope: dict[str, object]) -> Koa:
    @app.use
    async def halt(ctx: Context, next: Next) -> None:
        raise _Halt()

    return app


def _without_send(app: Koa, scope: dict[str, object]) -> Koa:
    @app.use
    async def forget(ctx: Context, next: Next) -> None:
        ctx.body = "unsent"
        del ctx._send

    return app


def _composed_into_a_non_awaitable(app: Koa, scope: dict[str, object]) -> Koa:
    app.compose = lambda middleware: lambda ctx, outer: 5  # type: ignore[assignment, return-value]
    return app


def _failing_body(app: Koa, scope: dict[str, object]) -> Koa:
    @app.use
    async def unserialisable(ctx: Context, next: Next) -> None:
        ctx.body = {"not json": object()}

    return app


ODD_APPS = {
    fn.__name__.strip("_"): fn
    for fn in (
        _not_initialised,
        _without_a_type,
        _failing_compose,
        _without_make_context,
        _failing_onerror,
        _halting,
        _without_send,
        _composed_into_a_non_awaitable,
        _failing_body,
    )
}


def _odd_outcome(call: Callable[..., Awaitable[None]], make: Callable[[Koa, dict[str, object]], Koa]) -> object:
    """What a call of an app that is broken in some way sends, the `error` events it emits
    and what it raises (by type: the messages of C and Python may differ)."""
    app = Koa(env="production")
    app.silent = True
    errors: list[str] = []
    app.on("error", lambda err, ctx: errors.append(type(err).__name__))
    scope = _scope()
    app = make(app, scope)
    sent: list[object] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message.get("status", message["type"]))

    async def run() -> str | None:
        try:
            await call(app, scope, None, send)
        except BaseException as err:
            return type(err).__name__
        return None

    return sent, errors, asyncio.run(run())


@pytest.mark.parametrize("name", ODD_APPS)
def test_a_broken_app_fails_as_in_python(name: str) -> None:
    python = _odd_outcome(handle, ODD_APPS[name])
    assert _odd_outcome(_in_c, ODD_APPS[name]) == python


def _reentered(call: Callable[..., Any]) -> list[str]:
    """A middleware that resumes, throws into or closes the very call it runs in."""
    seen: list[str] = []

    async def reenter(ctx: Context, next: Next) -> None:
        task = asyncio.current_task()
        assert task is not None
        running: Any = task.get_coro()
        for attempt in (lambda: running.send(None), lambda: running.throw(_Gone("inside")), running.close):
            try:
                attempt()
            except ValueError as err:
                seen.append(str(err))
        ctx.body = "done"

    app = Koa()
    app.use(reenter)

    async def send(message: dict[str, Any]) -> None:
        seen.append(message["type"])

    asyncio.run(call(app, _scope(), None, send))
    return seen


def test_a_call_refuses_to_be_resumed_from_inside_as_python_does() -> None:
    python = _reentered(handle)
    assert python.count("coroutine already executing") == 3 and python[-1] == "http.response.body"
    assert _reentered(_in_c) == python


def test_the_c_twin_says_what_it_is(implementation: implementations.Implementation) -> None:
    if implementation != "c":
        return
    shown: list[str] = []

    async def show(ctx: Context, next: Next) -> None:
        shown.append(repr(next))
        shown.append(repr(running))
        await next()

    async def inner(ctx: Context, next: Next) -> None:
        shown.append(repr(next))

    async def send(message: object) -> None:
        pass

    app = Koa()
    app.use(show, inner)
    running = _in_c(app, _scope(), None, send)  # type: ignore[arg-type]
    assert repr(running) == "<aiokoa serve coroutine>"
    with pytest.raises(StopIteration):
        running.send(None)  # type: ignore[attr-defined]
    assert len(shown) == 3 and all(text.startswith("<next() of layer 0 of <aiokoa chain of 2") for text in shown[:2])
    assert shown[2].startswith("<next() of layer 1 of <aiokoa chain of 2")
    assert repr(chain([show], late=True)) == "<aiokoa chain of 1 (checked)>"


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
    for cls in (
        int,
        type("NotAnApp", (), {}),
        type("Shadowed", (Koa,), {"_make_context": None}),  # not the field any more
        type("Numeric", (Koa,), {"_step": complex.real}),  # a field, but of a float
    ):
        with pytest.raises(TypeError):
            speedups.Server(cls, None, None, None)
    for wrong in ((5, None, None, None), (Koa, None, None)):
        with pytest.raises(TypeError):
            speedups.Server(*wrong)
    with pytest.raises(TypeError):
        speedups.Server(Koa, None, None, error_response=None)
    with pytest.raises(TypeError):
        _in_c(object(), _scope(), None, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _in_c(Koa(), _scope(), None)  # type: ignore[call-arg, arg-type]
    with pytest.raises(TypeError):
        _in_c(Koa(), _scope(), None, send=None)  # type: ignore[call-arg, arg-type]
    with pytest.raises(TypeError):
        _in_c(Koa(), _scope(), None, None, extra=None)  # type: ignore[call-arg, arg-type]


def test_the_c_twin_refuses_a_context_of_another_class() -> None:
    """It reaches a context's fields at their offsets: a class whose `__new__` makes
    something else fails the call, before any middleware runs on it."""
    if speedups is None:
        return

    class Other(Context):
        __slots__ = ()

        def __new__(cls, *args: Any) -> Any:
            return types.SimpleNamespace()

        def __init__(self, *args: Any) -> None:  # its own: the class itself makes its contexts
            pass

    app = Koa()
    app.context = Other
    with pytest.raises(TypeError, match="not an aiokoa Context"):
        _in_c(app, _scope(), None, None).send(None)  # type: ignore[arg-type, attr-defined]


def test_the_c_twin_awaits_what_finish_gives_that_is_not_a_pair() -> None:
    """`finish()` gives two messages, None, or a stream's awaitable, awaited in the app's
    error handling: anything else fails there."""
    if speedups is None:
        return
    app = Koa(env="production")
    app.silent = True
    app.use(_ok)
    errors: list[BaseException] = []
    app.on("error", lambda err, ctx: errors.append(err))
    sent: list[object] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message.get("status", message["type"]))

    server = speedups.Server(Koa, compose.check_downstream, lambda ctx: (None, None, None), error_response)
    asyncio.run(server(app, _scope(), None, send))
    assert sent == [500, "http.response.body"] and type(errors[0]) is TypeError


def test_the_c_chain_refuses_what_compose_never_gives_it() -> None:
    if speedups is None:
        return
    with pytest.raises(TypeError):
        speedups.Chain(fns=(), late=False, twice=None, late_error=None, done=compose.DONE)
    with pytest.raises(TypeError):
        speedups.Chain([], False, None, None, compose.DONE)  # the layers are a tuple
    no_keywords: dict[str, Any] = {}  # given as an empty dict
    step = speedups.Chain((), False, None, None, compose.DONE, **no_keywords)
    assert repr(step) == "<aiokoa chain of 0>"
    with pytest.raises(TypeError):
        step(make_context(), outer=None)
    with pytest.raises(TypeError):
        step(make_context(), None, extra=None)

    def unmade(fn: object) -> Exception:
        raise _Gone("the error could not be made")

    async def twice(ctx: Context, next: Next) -> None:
        await next()
        await next()

    # what making the error of a second next() raises is what that next() raises
    with pytest.raises(_Gone):
        speedups.Chain((twice,), False, unmade, None, compose.DONE)(make_context(), None).send(None)


# -- many calls ----------------------------------------------------------------------


def _serve(app: Koa, times: int = 1, path: str = "/", together: bool = False) -> list[dict[str, Any]]:
    """Call the app `times` times in one event loop, one after the other or all at once;
    the messages the calls sent."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    def call() -> Awaitable[None]:
        return _in_c(app, {**_scope(), "path": path, "raw_path": path.encode()}, receive, send)  # type: ignore[arg-type]

    async def main() -> None:
        if together:
            await asyncio.gather(*(call() for _ in range(times)))
        for _ in range(0 if together else times):
            await call()

    asyncio.run(main())
    return sent


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


def test_contexts_in_use_at_once_are_distinct() -> None:
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


def test_requests_leave_every_reference_count_as_it_was() -> None:
    """A context made in C takes a reference per field; freeing it drops them."""
    app = Koa()

    @app.use
    async def ok(ctx: Context, next: Next) -> None:
        ctx.status = 202
        ctx.body = "ok"

    first = implementations.context_maker(app.context)(app, _scope(), None, None)  # type: ignore[arg-type]
    values = [getattr(first, name) for name in Context.__slots__ if hasattr(first, name)]
    values = [value for value in values if value not in (None, True, False)]  # also used by asyncio itself
    del first

    counts = []
    for _ in range(3):
        _serve(app, times=300)
        counts.append(sum(sys.getrefcount(value) for value in values))
    assert counts[1] == counts[2], counts
