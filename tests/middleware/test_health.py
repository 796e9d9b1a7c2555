"""health(): 200 when every check passes, 503 when one fails or times out, or once the app
is shutting down; a real Redis ping as a check, with Redis stopped and started again."""

from __future__ import annotations

import asyncio

import pytest

from aiokoa import Context, Koa, Middleware, Next
from aiokoa.middleware import health
from aiokoa.testing import AsyncTestClient

from ..redis_server import RedisServer
from .conftest import redis_client


def app_with(*middleware: Middleware) -> Koa:
    app = Koa()
    for fn in middleware:
        app.use(fn)

    @app.use
    async def handler(ctx: Context, next: Next) -> None:
        ctx.body = f"app {ctx.method} {ctx.path}"

    return app


async def passes() -> None:
    pass


async def returns_false() -> bool:
    return False


async def raises() -> None:
    raise ConnectionError("refused")


async def raises_silently() -> None:
    raise RuntimeError


async def test_all_checks_pass() -> None:
    async with AsyncTestClient(app_with(health(checks=[passes]))) as client:
        response = await client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "checks": {"passes": "ok"}}
        assert response.headers["cache-control"] == "no-store"
        head = await client.head("/healthz")
        assert (head.status_code, head.content) == (200, b"")


async def test_no_checks_is_healthy_and_other_paths_pass_through() -> None:
    async with AsyncTestClient(app_with(health(path="/live"))) as client:
        assert (await client.get("/live")).json() == {"status": "ok", "checks": {}}
        assert (await client.get("/healthz")).text == "app GET /healthz"
        assert (await client.post("/live")).text == "app POST /live"


async def test_a_failing_check_is_a_503_saying_which() -> None:
    checks = {"db": passes, "cache": returns_false, "queue": raises, "other": raises_silently}
    async with AsyncTestClient(app_with(health(checks=checks))) as client:
        response = await client.get("/healthz")
        assert response.status_code == 503
        assert response.json() == {
            "status": "failing",
            "checks": {
                "db": "ok",
                "cache": "failed",
                "queue": "failed: ConnectionError: refused",
                "other": "failed: RuntimeError",
            },
        }


async def test_a_slow_check_times_out_and_checks_run_concurrently() -> None:
    async def slow() -> None:
        await asyncio.sleep(10)

    async with AsyncTestClient(app_with(health(checks=[slow, slow], timeout=0.1))) as client:
        started = asyncio.get_running_loop().time()
        response = await client.get("/healthz")
        assert asyncio.get_running_loop().time() - started < 1
        assert response.status_code == 503
        assert response.json()["checks"] == {"slow": "timed out after 0.1 s"}


async def test_503_once_the_app_shuts_down() -> None:
    app = app_with(health())
    seen: list[int] = []
    client = AsyncTestClient(app)

    # Registered at import, before any probe, as an app closes its Redis client: the
    # endpoint says 503 before it runs all the same.
    @app.on("shutdown")
    async def probe_while_closing() -> None:
        if not seen:  # the first shutdown only: the client is closed after it
            seen.append((await client.get("/healthz")).status_code)

    async with client:
        assert (await client.get("/healthz")).status_code == 200
    assert seen == [503]
    async with AsyncTestClient(app) as again:  # still shut down: a process does not come back
        assert (await again.get("/healthz")).json() == {"status": "shutting down"}


def test_a_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        health(timeout=0)


async def test_a_redis_ping_follows_redis(own_redis: RedisServer) -> None:
    app = Koa()
    client = redis_client(app, own_redis)

    async def redis() -> None:
        await client.ping()

    app.use(health(checks=[redis], timeout=1))
    async with AsyncTestClient(app) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok", "checks": {"redis": "ok"}}
        own_redis.stop()
        response = await http.get("/healthz")
        assert response.status_code == 503
        assert response.json()["checks"]["redis"].startswith(("failed: ConnectionError", "timed out"))
        own_redis.start()
        assert (await http.get("/healthz")).status_code == 200
