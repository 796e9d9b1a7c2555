"""`app.current_context` (Koa's application/currentContext tests, with a ContextVar)."""

import asyncio
from contextvars import ContextVar

from aiokoa import Context, Koa


def test_off_by_default(serve):
    app = Koa()
    seen = []

    @app.use
    async def mw(ctx, next):
        seen.append(app.current_context)
        ctx.body = "ok"

    assert serve(app).get("/").text == "ok"
    assert seen == [None] and app.ctx_storage is None


def test_in_middleware_and_what_it_awaits(serve):
    app = Koa(context_var=True)

    async def deep():
        await asyncio.sleep(0)
        return app.current_context

    @app.use
    async def mw(ctx, next):
        found = await deep()
        task = await asyncio.create_task(deep())
        ctx.body = {"same": found is ctx and task is ctx, "path": found.path}

    client = serve(app)
    assert client.get("/a").json() == {"same": True, "path": "/a"}
    assert client.get("/b").json() == {"same": True, "path": "/b"}
    assert app.current_context is None  # outside a request


def test_in_the_error_listener(serve):
    app = Koa(context_var=True)
    seen = []
    app.on("error", lambda err, ctx: seen.append(app.current_context is ctx))

    @app.use
    async def mw(ctx, next):
        raise RuntimeError("boom")

    assert serve(app).get("/").status_code == 500
    assert seen == [True]


def test_your_own_context_var(serve):
    storage: ContextVar[Context | None] = ContextVar("mine", default=None)
    app = Koa(context_var=storage)

    @app.use
    async def mw(ctx, next):
        ctx.body = {"same": storage.get() is ctx}

    assert serve(app).get("/").json() == {"same": True}
    assert app.ctx_storage is storage
