"""The app's event emitter: `on`, `once`, `off`, `listeners`, `emit` (async listeners run as
tasks, a failing listener is reported and does not stop the others)."""

from __future__ import annotations

import asyncio

import pytest

from aiokoa import Koa


def test_once_runs_a_listener_for_the_first_event_only() -> None:
    app = Koa()
    calls: list[tuple[int, str]] = []
    app.once("ping", lambda n, s: calls.append((n, s)))
    assert app.emit("ping", 1, "a") is True
    assert app.emit("ping", 2, "b") is False  # no listener left
    assert calls == [(1, "a")]
    assert app.listeners("ping") == []


def test_off_removes_one_listener_and_ignores_unknown_ones() -> None:
    app = Koa()
    calls: list[str] = []

    def first() -> None:
        calls.append("first")

    def second() -> None:
        calls.append("second")

    app.on("tick", first).on("tick", second)
    assert app.off("tick", first) is app
    app.off("tick", first)  # no longer there: nothing happens
    app.off("never-used", second)
    app.emit("tick")
    assert calls == ["second"]
    assert app.listeners("tick") == [second]


def test_listeners_is_a_copy() -> None:
    app = Koa()
    app.on("tick", print)
    app.listeners("tick").clear()
    assert app.listeners("tick") == [print]


def test_a_failing_listener_is_reported_and_the_next_still_runs(capsys: pytest.CaptureFixture[str]) -> None:
    app = Koa()
    calls: list[str] = []

    def broken() -> None:
        raise RuntimeError("listener bug")

    app.on("tick", broken)
    app.on("tick", lambda: calls.append("after"))
    assert app.emit("tick") is True
    assert calls == ["after"]
    err = capsys.readouterr().err
    assert "aiokoa: the 'tick' listener" in err
    assert "RuntimeError: listener bug" in err


async def test_an_async_listener_runs_as_a_task() -> None:
    app = Koa()
    done = asyncio.Event()
    seen: list[int] = []

    async def listener(value: int) -> None:
        await asyncio.sleep(0)
        seen.append(value)
        done.set()

    app.on("tick", listener)
    assert app.emit("tick", 7) is True
    assert seen == []  # emit does not wait for it
    await asyncio.wait_for(done.wait(), 5)
    assert seen == [7]
    await asyncio.sleep(0)
    assert not app._tasks  # a finished task is not kept


async def test_emit_async_awaits_listeners_in_order() -> None:
    app = Koa()
    order: list[str] = []

    async def slow() -> None:
        await asyncio.sleep(0.01)
        order.append("slow")

    app.on("startup", slow)
    app.on("startup", lambda: order.append("sync"))
    await app.emit_async("startup")
    assert order == ["slow", "sync"]


async def test_prepend_listener_runs_before_the_listeners_already_there() -> None:
    app = Koa()
    calls: list[str] = []
    app.on("shutdown", lambda: calls.append("on"))
    assert app.prepend_listener("shutdown", lambda: calls.append("prepended")) is app
    await app.emit_async("shutdown")
    assert calls == ["prepended", "on"]
