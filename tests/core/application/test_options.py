"""Koa's application options and helpers not covered elsewhere: `compose`, `create_context`,
`is_http_error` (Koa's application/compose, application/index and 3.3's exports)."""

from __future__ import annotations

from typing import Any

import pytest

from aiokoa import Context, HttpError, Koa, Next, compose, is_http_error
from aiokoa.testing import TestClient


def test_custom_compose_builds_the_chain() -> None:
    seen: list[list[Any]] = []

    def my_compose(middleware: list[Any]) -> Any:
        seen.append(list(middleware))
        return compose(middleware)

    app = Koa(compose=my_compose)

    async def hello(ctx: Context, next: Next) -> None:
        ctx.body = "composed by hand"

    app.use(hello)

    with TestClient(app) as client:
        assert client.get("/").text == "composed by hand"
        assert client.get("/").text == "composed by hand"
    assert seen == [[hello]]  # built once, not per request


def test_default_compose_is_aiokoas() -> None:
    assert Koa().compose is None


def test_create_context_builds_a_context_of_the_app() -> None:
    app = Koa()
    app.context.db = "the database"  # type: ignore[attr-defined]
    scope = {"type": "http", "method": "GET", "path": "/x", "raw_path": b"/x", "query_string": b"a=1", "headers": []}

    async def receive() -> Any:
        return {}

    async def send(message: Any) -> None:
        return None

    ctx = app.create_context(scope, receive, send)
    assert (ctx.app, ctx.path, ctx.query, ctx.status) == (app, "/x", {"a": "1"}, 404)
    assert ctx.db == "the database"  # type: ignore[attr-defined]
    assert isinstance(ctx, app.context)


class Shaped(Exception):
    status = 409
    expose = True


class NoExpose(Exception):
    status = 409


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (HttpError(404), True),
        (Shaped(), True),
        (NoExpose(), False),
        (ValueError("x"), False),
        ("not an error", False),
        (None, False),
    ],
)
def test_is_http_error_recognises_errors_by_shape(value: object, expected: bool) -> None:
    assert is_http_error(value) is expected
