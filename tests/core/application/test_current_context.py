"""`app.current_context` (Koa's application/currentContext tests, with a ContextVar)."""

import asyncio
from contextvars import ContextVar

from aiokoa import Context, Koa, Next

from ...conftest import Serve


def test_off_by_default(serve: Serve) -> None:
    app = Koa()
    seen = []

    @app.use
    async def mw(ctx: Context, next: Next) -> None:
        seen.append(app.current_context)
        ctx.body = "ok"

    assert serve(app).get("/").text == "ok"
    assert seen == [None] and app.ctx_storage is None


def test_in_middleware_and_what_it_awaits(serve: Serve) -> None:
    app = Koa(context_var=True)

    async def deep() -> Context | None:
        await asyncio.sleep(0)
        return app.current_context

    @app.use
    async def mw(ctx: Context, next: Next) -> None:
        found = await deep()
        assert found is not None
        task = await asyncio.create_task(deep())
        ctx.body = {"same": found is ctx and task is ctx, "path": found.path}

    client = serve(app)
    assert client.get("/a").json() == {"same": True, "path": "/a"}
    assert client.get("/b").json() == {"same": True, "path": "/b"}
    assert app.current_context is None  # outside a request


def test_in_the_error_listener(serve: Serve) -> None:
    app = Koa(context_var=True)
    seen = []
    app.on("error", lambda err, ctx: seen.append(app.current_context is ctx))

    @app.use
    async def mw(ctx: Context, next: Next) -> None:
        raise RuntimeError("boom")

    assert serve(app).get("/").status_code == 500
    assert seen == [True]


def test_your_own_context_var(serve: Serve) -> None:
    storage: ContextVar[Context | None] = ContextVar("mine", default=None)
    app = Koa(context_var=storage)

    @app.use
    async def mw(ctx: Context, next: Next) -> None:
        ctx.body = {"same": storage.get() is ctx}

    assert serve(app).get("/").json() == {"same": True}
    assert app.ctx_storage is storage
