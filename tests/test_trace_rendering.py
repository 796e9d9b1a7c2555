"""How a trace reads in the less common cascades: an error replaced on the way up, a route
matched below a plain middleware, headers sent while a middleware still runs; and how the
tracer and a trace describe themselves."""

from __future__ import annotations

import re

from aiokoa import Context, HttpError, Koa, Next, Router, compose, trace
from aiokoa.testing import TestClient, make_context
from aiokoa.tracing import Tracer, of


def blank(text: str) -> str:
    return re.sub(r"\d+\.\d\dms", "0.01ms", text)


def test_an_error_replaced_on_the_way_up_is_raised_by_the_outer_middleware() -> None:
    log: list[str] = []
    app = Koa()
    app.use(Tracer(log=log.append))
    app.on("error", lambda err, ctx: None)

    async def translate(ctx: Context, next: Next) -> None:
        try:
            await next()
        except KeyError as err:
            raise HttpError(404, "no such item") from err

    async def lookup(ctx: Context, next: Next) -> None:
        raise KeyError("item")

    app.use(translate, lookup)
    with TestClient(app) as client:
        assert client.get("/items/1").status_code == 404
    lines = blank(log[0]).splitlines()
    assert lines[0] == "GET /items/1 -> 404 Not Found in 0.01ms"
    assert re.fullmatch(r"  2\) .*lookup \(.*\) 0.01ms, no next\(\), raised KeyError: 'item' at .*", lines[2])
    assert re.fullmatch(
        r"3\) .*translate up 0.01ms, caught KeyError from .*lookup, raised HttpError: no such item at .*", lines[3]
    )
    assert lines[-1] == "HttpError was not caught by any middleware: the app answered 404 and emitted 'error'"


def test_a_route_matched_below_is_named_on_the_router_not_on_the_middleware_above() -> None:
    log: list[str] = []
    router = Router()
    router.get("/users/:id", lambda ctx: setattr(ctx, "body", "user"))

    async def outer(ctx: Context, next: Next) -> None:
        await next()

    app = Koa()
    app.use(Tracer(log=log.append))
    app.use(outer)
    app.use(router.routes())
    with TestClient(app) as client:
        assert client.get("/users/3").text == "user"
    lines = blank(log[0]).splitlines()
    assert lines[0].endswith("(route /users/:id)")
    assert ", route" not in lines[1]  # outer
    assert lines[2].endswith(", route /users/:id")  # the router's middleware


def test_server_timing_skips_a_middleware_still_running_when_the_headers_go() -> None:
    app = Koa()
    app.use(Tracer(log=None, server_timing=True))

    async def streaming(ctx: Context, next: Next) -> None:
        await next()
        ctx.body = "late"

    async def flushing(ctx: Context, next: Next) -> None:
        ctx.status = 200
        await ctx.flush_headers()  # both middleware are still running

    app.use(streaming, flushing)
    with TestClient(app) as client:
        response = client.get("/")
    assert response.text == "late"
    assert "dur=" not in response.headers.get("server-timing", "")  # no duration to give yet


async def test_a_tracer_in_compose_passes_through() -> None:
    ran: list[str] = []

    async def inner(ctx: Context, next: Next) -> None:
        ran.append("inner")

    composed = compose([trace(log=None), inner])
    await composed(make_context())
    assert ran == ["inner"]


def test_the_tracer_and_a_trace_describe_themselves() -> None:
    assert repr(trace(log=None, server_timing=True)) == "<Tracer log=None server_timing=True>"
    seen: list[str] = []

    async def look(ctx: Context, next: Next) -> None:
        seen.append(repr(of(ctx)))
        ctx.body = "ok"

    app = Koa()
    app.use(Tracer(log=None))
    app.use(look)
    with TestClient(app) as client:
        client.get("/x?y=1")
    assert seen == ["<Trace GET /x?y=1 spans=1>"]
