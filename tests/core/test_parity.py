"""C and pure Python answer the same request sequences the same way: status, headers, body."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiokoa import Context, Koa, Next, Router
from aiokoa.core import implementations
from aiokoa.testing import TestClient


def _app() -> Koa:
    """One app whose routes reach most of what a request can do: bodies of every kind,
    errors thrown and crashed, a stream, a redirect, a short circuit, 404 and 405."""
    app = Koa(env="production", silent=True)
    router = Router()

    async def seen(ctx: Context, next: Next) -> None:
        await next()
        ctx.set("X-Seen", f"{ctx.method} {ctx.status}")

    async def gate(ctx: Context, next: Next) -> None:
        if ctx.query.get("stop"):
            ctx.status = 403  # downstream never runs
            return
        await next()

    async def user(ctx: Context, next: Next) -> None:
        ctx.body = {"id": ctx.params["id"], "tags": ["a", "b"]}

    async def text(ctx: Context, next: Next) -> None:
        ctx.body = "plain é"

    async def html(ctx: Context, next: Next) -> None:
        ctx.body = "  <p>hi</p>"

    async def raw(ctx: Context, next: Next) -> None:
        ctx.body = b"\x00\x01"

    async def empty(ctx: Context, next: Next) -> None:
        ctx.status = 204

    async def thrown(ctx: Context, next: Next) -> None:
        ctx.throw(int(ctx.params["code"]), "thrown here")

    async def crash(ctx: Context, next: Next) -> None:
        raise ValueError("boom")

    async def stream(ctx: Context, next: Next) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"one,"
            yield b"two"

        ctx.body = chunks()

    async def moved(ctx: Context, next: Next) -> None:
        ctx.redirect("/text")

    async def echo(ctx: Context, next: Next) -> None:
        ctx.status = 201
        ctx.body = ctx.get("X-In") or None

    router.get("/users/:id", user)
    router.get("/text", text)
    router.get("/html", html)
    router.get("/raw", raw)
    router.get("/empty", empty)
    router.get("/throw/:code", thrown)
    router.get("/crash", crash)
    router.get("/stream", stream)
    router.get("/moved", moved)
    router.post("/echo", echo)
    app.use(seen)
    app.use(gate)
    app.use(router.routes())
    app.use(router.allowed_methods())
    return app


PATHS = [
    "/users/42",
    "/users/%C3%A9",
    "/text",
    "/html",
    "/raw",
    "/empty",
    "/throw/418",
    "/throw/500",
    "/crash",
    "/stream",
    "/moved",
    "/echo",
    "/missing",
    "/text?stop=1",
]
requests = st.lists(
    st.tuples(
        st.sampled_from(["GET", "HEAD", "POST", "PUT", "OPTIONS"]),
        st.sampled_from(PATHS),
        st.sampled_from([{}, {"X-In": "in"}, {"Accept": "application/json"}, {"Accept": "text/html"}]),
    ),
    min_size=1,
    max_size=6,
)


def _answers(
    implementation: implementations.Implementation, sequence: list[tuple[str, str, dict[str, str]]]
) -> list[object]:
    implementations.use(implementation)
    with TestClient(_app()) as client:
        answers: list[object] = []
        for method, path, headers in sequence:
            response = client.request(method, path, headers=headers)
            answers.append((method, path, response.status_code, response.headers.raw, response.content))
        return answers


@pytest.fixture(autouse=True)
def implementation() -> Iterator[implementations.Implementation]:
    """This module compares the two itself: its tests run once, not once per implementation
    (`tests/conftest.py` leaves it out where there is no C extension to compare)."""
    yield implementations.implementation()


@settings(max_examples=40, deadline=None)
@given(requests)
def test_c_and_python_answer_alike(sequence: list[tuple[str, str, dict[str, str]]]) -> None:
    chosen = implementations.implementation()
    try:
        assert _answers("c", sequence) == _answers("python", sequence)
    finally:
        implementations.use(chosen)
