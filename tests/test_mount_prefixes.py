"""`mount()` at the edges: an ASGI app is not called outside its prefix, and what cannot be
called is refused."""

from __future__ import annotations

from typing import Any

import pytest

from aiokoa import Context, Koa, Next, mount
from aiokoa.testing import TestClient


def test_an_asgi_app_outside_its_prefix_falls_through() -> None:
    called: list[str] = []

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        called.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"asgi"})

    async def fallback(ctx: Context, next: Next) -> None:
        ctx.body = "aiokoa"

    app = Koa()
    app.use(mount("/asgi", asgi))
    app.use(fallback)
    with TestClient(app) as client:
        assert client.get("/other").text == "aiokoa"
        assert client.get("/asgi/x").text == "asgi"
    assert called == ["/asgi/x"]


def test_a_middleware_mounted_at_the_root_sees_every_path() -> None:
    async def echo(ctx: Context, next: Next) -> None:
        ctx.body = ctx.path

    app = Koa()
    app.use(mount("/", echo))
    with TestClient(app) as client:
        assert client.get("/a/b").text == "/a/b"


def test_what_is_not_callable_is_refused() -> None:
    with pytest.raises(TypeError, match="cannot mount 42: not an app or a middleware"):
        mount("/x", 42)
