"""Helpers for the router tests: an app around routers, driven in-process or over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import pytest

from aiokoa import Context, Koa, Middleware, Next, Router
from aiokoa.testing import TestClient


def app_with(*routers: Router, allowed: bool = False, **allowed_options: Any) -> Koa:
    """An app that uses each router's `routes()` (and `allowed_methods()` if asked)."""
    app = Koa(silent=True)
    for router in routers:
        app.use(router.routes())
        if allowed:
            app.use(router.allowed_methods(**allowed_options))
    return app


def body(value: object) -> Middleware:
    """A route handler that answers `value`."""

    async def handler(ctx: Context, next: Next) -> None:
        ctx.body = value

    return handler


class MakeClient(Protocol):
    """What the `client` fixture gives."""

    def __call__(self, *routers: Router, allowed: bool = False, **allowed_options: Any) -> TestClient: ...


@pytest.fixture
def client() -> Iterator[MakeClient]:
    """`client(router, ...)`: an in-process client for an app using those routers."""
    clients: list[TestClient] = []

    def make(*routers: Router, **options: Any) -> TestClient:
        test_client = TestClient(app_with(*routers, **options))
        test_client.__enter__()
        clients.append(test_client)
        return test_client

    yield make
    for test_client in clients:
        test_client.__exit__()
