"""rate_limit(): koa-ratelimit's headers and answers, counted in memory and in a real Redis."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from itertools import count
from typing import Any

import httpx
import pytest

from aiokoa import Context, Koa, Next
from aiokoa.middleware import rate_limit
from aiokoa.testing import AsyncTestClient, TestClient

from ..conftest import Serve, running
from ..redis_server import RedisServer
from .conftest import redis_client

Limited = Callable[..., Koa]
unique = count()


def limited_app(make_db: Callable[[Koa], dict[str, Any]], **options: Any) -> Koa:
    """An app behind rate_limit(**options) whose handler counts the requests it saw;
    /fail raises after the limiter let the request through."""
    app = Koa()
    db = make_db(app)
    app.use(rate_limit(**db, **options))
    seen: list[str] = []
    app.seen = seen  # type: ignore[attr-defined]

    @app.use
    async def handler(ctx: Context, next: Next) -> None:
        seen.append(ctx.path)
        if ctx.path == "/fail":
            raise RuntimeError("downstream failed")
        ctx.body = "ok"

    return app


@pytest.fixture(params=["memory", "redis"])
def limited(request: pytest.FixtureRequest) -> Iterator[Limited]:
    """`limited(**options)`: an app limited by the memory driver, or by the redis driver on
    the real server (each app with keys of its own)."""
    if request.param == "memory":
        yield lambda **options: limited_app(lambda app: {}, **options)
    else:
        server: RedisServer = request.getfixturevalue("redis_server")

        def redis_db(app: Koa) -> dict[str, Any]:
            return {"driver": "redis", "db": redis_client(app, server), "prefix": f"limit:{next(unique)}:{time.time()}"}

        yield lambda **options: limited_app(redis_db, **options)


def test_the_limit_over_real_http(serve: Serve, limited: Limited) -> None:
    app = limited(max=2, duration=60)
    client = serve(app)
    before = time.time()
    first = client.get("/")
    assert first.status_code == 200
    assert first.headers["x-ratelimit-limit"] == "2"
    assert first.headers["x-ratelimit-remaining"] == "1"
    assert before + 59 <= int(first.headers["x-ratelimit-reset"]) <= time.time() + 61
    assert client.get("/").headers["x-ratelimit-remaining"] == "0"
    over = client.get("/")
    assert over.status_code == 429
    assert over.text == "Rate limit exceeded, retry in 1 minute."
    assert 59 <= int(over.headers["retry-after"]) <= 60
    assert over.headers["x-ratelimit-remaining"] == "0"
    assert app.seen == ["/", "/"]  # type: ignore[attr-defined]


def test_the_window_starts_again(limited: Limited) -> None:
    with TestClient(limited(max=1, duration=1)) as client:  # a loaded machine may take long between two requests
        assert client.get("/").status_code == 200
        assert client.get("/").status_code == 429
        time.sleep(1.05)
        assert client.get("/").status_code == 200


def test_clients_are_counted_apart_by_id(limited: Limited) -> None:
    app = limited(max=1, id=lambda ctx: ctx.get("x-user") or None)
    with TestClient(app) as client:
        assert client.get("/", headers={"x-user": "ada"}).status_code == 200
        assert client.get("/", headers={"x-user": "bob"}).status_code == 200
        assert client.get("/", headers={"x-user": "ada"}).status_code == 429
        anonymous = client.get("/")  # id None: not counted
        assert anonymous.status_code == 200 and "x-ratelimit-limit" not in anonymous.headers


def test_deny_and_allow_lists(limited: Limited) -> None:
    async def banned(ctx: Context) -> bool:
        return ctx.get("x-banned") == "yes"

    app = limited(max=1, deny_list=banned, allow_list=lambda ctx: ctx.path == "/health")
    with TestClient(app) as client:
        assert client.get("/", headers={"x-banned": "yes"}).status_code == 403
        for _ in range(3):
            health = client.get("/health")
            assert health.status_code == 200 and "x-ratelimit-limit" not in health.headers
        assert client.get("/").status_code == 200
        assert client.get("/").status_code == 429
    with TestClient(limited(max=1, allow_list={"127.0.0.1"}, deny_list=["10.0.0.1"])) as client:
        assert [client.get("/").status_code for _ in range(3)] == [200, 200, 200]
    with TestClient(limited(deny_list={"127.0.0.1"})) as client:
        assert client.get("/").text == "Forbidden"


async def test_an_async_id(limited: Limited) -> None:
    async def user(ctx: Context) -> str | None:
        await asyncio.sleep(0)
        return ctx.query.get("u")  # type: ignore[return-value]

    async with AsyncTestClient(limited(max=1, id=user)) as client:
        assert (await client.get("/?u=a")).status_code == 200
        assert (await client.get("/?u=a")).status_code == 429
        assert (await client.get("/?u=b")).status_code == 200


def test_renamed_and_disabled_headers_custom_answer(limited: Limited) -> None:
    names = {"remaining": "Rate-Remaining", "reset": "Rate-Reset", "total": "Rate-Total"}
    app = limited(max=1, headers=names, status=503, error_message="slow down")
    with TestClient(app) as client:
        assert client.get("/").headers["rate-total"] == "1"
        over = client.get("/")
        assert (over.status_code, over.text) == (503, "slow down")
        assert over.headers["rate-remaining"] == "0" and "x-ratelimit-limit" not in over.headers
    with TestClient(limited(max=1, disable_header=True)) as client:
        assert "x-ratelimit-limit" not in client.get("/").headers
        over = client.get("/")
        assert over.status_code == 429 and "retry-after" in over.headers
        assert "x-ratelimit-remaining" not in over.headers


def test_throw_raises_the_429_with_its_headers(limited: Limited) -> None:
    app = limited(max=1, throw=True)
    errors: list[BaseException] = []
    app.on("error", lambda err, ctx: errors.append(err))
    with TestClient(app) as client:
        client.get("/")
        over = client.get("/")
        assert over.status_code == 429
        assert over.text.startswith("Rate limit exceeded, retry in")
        assert over.headers["x-ratelimit-remaining"] == "0" and int(over.headers["retry-after"]) > 0
    assert [getattr(err, "status", None) for err in errors] == [429]  # for the app's error handling
    with TestClient(limited(max=1, throw=True, disable_header=True)) as client:
        client.get("/")
        over = client.get("/")
        assert "retry-after" in over.headers and "x-ratelimit-limit" not in over.headers


def test_the_headers_stay_on_error_responses(limited: Limited) -> None:
    with TestClient(limited(max=5)) as client:
        failed = client.get("/fail")
        assert failed.status_code == 500
        assert failed.headers["x-ratelimit-remaining"] == "4"


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="needs db="):
        rate_limit(driver="redis")
    with pytest.raises(ValueError, match="use 'memory' or 'redis'"):
        rate_limit(driver="mongo")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        rate_limit(max=0)
    with pytest.raises(ValueError, match="positive"):
        rate_limit(duration=-1)


def test_the_memory_driver_forgets_ended_windows() -> None:
    db: dict[str, Any] = {}
    app = Koa()
    app.use(rate_limit(db=db, duration=0.6, id=lambda ctx: ctx.query.get("u")))  # type: ignore[arg-type,return-value]
    app.use(lambda ctx, next: setattr(ctx, "body", "ok"))
    with TestClient(app) as client:
        for user in "abc":
            client.get(f"/?u={user}")
        assert set(db) == {"a", "b", "c"}
        time.sleep(0.65)
        client.get("/?u=d")
        assert set(db) == {"d"}


def test_redis_counts_across_servers_atomically(redis_server: RedisServer) -> None:
    """Two servers, each with its own event loop and client, share one count; concurrent requests never
    let more than `max` through."""
    apps = []
    prefix = f"shared:{time.time()}:"
    for _ in range(2):
        app = Koa()
        app.use(rate_limit(driver="redis", db=redis_client(app, redis_server), max=25, prefix=prefix))
        app.use(lambda ctx, next: setattr(ctx, "body", "ok"))
        apps.append(app)
    with running(apps[0]) as first, running(apps[1]) as second:

        async def burst() -> list[int]:
            async with httpx.AsyncClient(timeout=10) as client:
                answers = await asyncio.gather(*(client.get(url) for url in [first, second] * 20))
            return [answer.status_code for answer in answers]

        statuses = asyncio.run(burst())
    assert statuses.count(200) == 25 and statuses.count(429) == 15
    left = int(redis_server.command("PTTL", prefix + "127.0.0.1").strip()[1:])
    assert 3_590_000 < left <= 3_600_000


@pytest.mark.parametrize("fail_open", [False, True])
def test_redis_going_away_and_coming_back(
    serve: Serve, own_redis: RedisServer, fail_open: bool, caplog: pytest.LogCaptureFixture
) -> None:
    app = Koa()
    app.use(rate_limit(driver="redis", db=redis_client(app, own_redis), max=3, fail_open=fail_open))
    app.use(lambda ctx, next: setattr(ctx, "body", "ok"))
    client = serve(app)
    assert client.get("/").headers["x-ratelimit-remaining"] == "2"
    own_redis.stop()
    with caplog.at_level(logging.INFO, "aiokoa.rate_limit"):
        for _ in range(2):
            down = client.get("/")
            if fail_open:
                assert down.status_code == 200 and "x-ratelimit-limit" not in down.headers
            else:
                assert down.status_code == 503
                assert down.text.startswith("rate limiting is unavailable: Redis is unavailable")
        own_redis.start()  # empty: the count starts again
        assert client.get("/").headers["x-ratelimit-remaining"] == "2"
    messages = [record.getMessage() for record in caplog.records if record.name == "aiokoa.rate_limit"]
    assert len(messages) == 2  # the outage once, however many requests it touched, and its end
    assert messages[0].startswith("rate limiting suspended") and messages[1] == "rate limiting resumed"


@pytest.mark.parametrize(
    ("seconds", "spelt"),
    [(0, "0 seconds"), (1, "1 second"), (2, "2 seconds"), (61, "1 minute"), (90, "2 minutes"), (5400, "2 hours")],
)
def test_the_wait_is_spelt_out(seconds: int, spelt: str) -> None:
    from aiokoa.middleware.rate_limit import _spell

    assert _spell(seconds) == spelt
