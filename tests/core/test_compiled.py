"""The C extension against the pure Python it mirrors, side by side in one process.

The whole suite also runs twice (`./dev test`): once as installed, with the extension, and
once with `AIOKOA_PURE_PYTHON=1`.
"""

from __future__ import annotations

import gc
import os
import shutil
import sysconfig
import weakref
from collections.abc import Generator
from typing import cast

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


def test_the_extension_is_used_where_it_can_be_built():
    """With a C compiler, the install builds it, and a silent fallback would leave the C
    code untested; `AIOKOA_PURE_PYTHON=1` turns it off."""
    compiler = shutil.which(str(sysconfig.get_config_var("CC") or "cc").split()[0]) is not None
    assert (speedups is not None) == (compiler and not PURE)
    assert (compiled.finish is respond_module.finish) == (speedups is None)


UNSET = object()


def _slots(ctx: Context) -> dict[str, object]:
    return {name: getattr(ctx, name, UNSET) for name in Context.__slots__}


def test_a_context_made_in_c_is_the_one_python_makes():
    app = Koa()
    scope = make_context().scope
    made = compiled.context_maker(app.context)(app, scope, None, None)  # type: ignore[arg-type]
    expected = app.context(app, scope, None, None)  # type: ignore[arg-type]
    assert type(made) is app.context
    assert _slots(made) == _slots(expected)
    assert made._headers is not expected._headers  # each context has its own headers
    made.user = "extension attributes work"  # type: ignore[attr-defined]


def test_a_context_class_with_its_own_init_is_called_as_is():
    class Custom(Context):
        __slots__ = ()

        def __init__(self, *args: object) -> None:
            super().__init__(*args)  # type: ignore[arg-type]
            self.respond = False

    assert compiled.context_maker(Custom) is Custom


def test_the_factory_takes_only_contexts():
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
def test_the_messages_carry_the_headers_python_sends(headers):
    def messages(finish):  # the messages, or the type of the error it raised
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
def test_what_is_sent_is_what_python_sends(body, status, method, state):
    def outcome(finish):
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


def test_a_chain_left_suspended_in_a_cycle_is_collected():
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


def test_a_chain_refuses_calls_it_cannot_make():
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
                call()
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
def test_setting_a_body_is_what_python_does(value, previous, headers, explicit_status):
    def outcome(setter):
        ctx = make_context()
        ctx._body = previous
        ctx._headers.update(headers)
        if explicit_status:
            ctx.status = 201
        setter(ctx, value)
        return ctx._body, ctx._status, ctx._explicit_status, ctx._message, list(ctx._headers.items())

    compiled_setter = cast(property, vars(ResponseMixin)["body"]).fset
    assert outcome(compiled_setter) == outcome(set_body_in_python)


def test_a_context_class_set_after_the_first_request_is_used():
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
