"""aiokoa, written the way its documentation teaches: Koa's cascade, one ctx per request.

Runs in production mode, as a deployed app would.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from scenarios import (
    COMPRESS_PAYLOAD,
    HELLO,
    JSON_PAYLOAD,
    LOGIN_PATH,
    RATE_LIMIT_MAX,
    SESSION_SECRET,
    SESSION_USER,
    STATIC_DIR,
    AppSpec,
    batteries_payload,
    route_path,
    route_text,
    user_payload,
)

from aiokoa import Context, Koa, Next, Router, UploadFile, mount
from aiokoa.middleware import RedisStore, SessionContext, cors, helmet, rate_limit, session
from aiokoa.middleware.body_parser import body_parser
from aiokoa.middleware.compress import compress
from aiokoa.middleware.static import serve_static
from apps.orders import Order

Handler = Callable[[Context, Next], Awaitable[None]]


async def _hello(ctx: Context, next: Next) -> None:
    ctx.body = HELLO


async def _pass(ctx: Context, next: Next) -> None:
    await next()


async def _x_response_time(ctx: Context, next: Next) -> None:
    start = time.perf_counter()
    await next()
    ctx.set("X-Response-Time", f"{(time.perf_counter() - start) * 1000:.3f}ms")


async def _logger(ctx: Context, next: Next) -> None:
    """Koa's logger example, measuring but not printing (printing would time the terminal)."""
    start = time.perf_counter()
    await next()
    _ = (ctx.method, ctx.path, time.perf_counter() - start)


async def _json(ctx: Context, next: Next) -> None:
    ctx.body = JSON_PAYLOAD


async def _big_json(ctx: Context, next: Next) -> None:
    ctx.body = COMPRESS_PAYLOAD


def _route_handler(index: int) -> Handler:
    async def handler(ctx: Context, next: Next) -> None:
        ctx.body = route_text(index, ctx.params["id"])

    return handler


def _batteries(app: Koa, store: RedisStore | None = None, limits: dict[str, Any] | None = None) -> None:
    """Security headers, CORS, a signed cookie session read and a rate limit, then the router:
    the usual front of an API a browser app on another origin logs in to. `store` keeps the
    sessions (in the cookie when None); `limits` are the rate limit's driver options."""
    app.keys = [SESSION_SECRET]
    router = Router()

    @router.get(LOGIN_PATH)
    async def login(ctx: SessionContext) -> None:
        ctx.session["user"] = SESSION_USER
        ctx.body = {"user": SESSION_USER}

    @router.get("/api/users/{id}")
    async def user(ctx: SessionContext) -> None:
        ctx.body = batteries_payload(ctx.params["id"], ctx.session)

    app.use(helmet())
    app.use(cors())
    app.use(session(store=store))
    app.use(rate_limit(max=RATE_LIMIT_MAX, **(limits or {})))
    app.use(router.routes())


def build_batteries_on_redis(url: str) -> Koa:
    """The batteries app as each worker of a multi-worker deployment runs it: its sessions in
    Redis (`RedisStore`) and its rate limit counted there, through its own client."""
    import redis.asyncio

    app = Koa(env="production")
    client = redis.asyncio.Redis.from_url(url)
    app.on("shutdown", client.aclose)
    _batteries(app, RedisStore(client), {"driver": "redis", "db": client})
    return app


def build(spec: AppSpec) -> Koa:
    """Return the aiokoa app (itself an ASGI 3 callable) for ``spec``."""
    app = Koa(env="production")
    if spec.kind == "hello":
        app.use(_hello)
    elif spec.kind == "depth":
        for _ in range(spec.size):
            app.use(_pass)
        app.use(_hello)
    elif spec.kind == "json":
        app.use(_json)
    elif spec.kind == "post":
        router = Router()

        @router.post("/echo")
        async def echo(ctx: Context) -> None:
            ctx.body = ctx.request.body

        app.use(body_parser())
        app.use(router.routes())
    elif spec.kind == "compress":
        app.use(compress())
        app.use(_big_json)
    elif spec.kind == "websocket":
        # Each message comes back as it came, through the websocket onion and a route.
        router = Router()

        @router.ws("/echo")
        async def echo(ctx: Context, next: Next) -> None:
            websocket = ctx.websocket
            await websocket.accept()
            async for message in websocket:
                await websocket.send(message)

        app.ws.use(router.routes())
    elif spec.kind == "upload":
        router = Router()

        @router.post("/upload")
        async def upload(ctx: Context) -> None:
            file = (await ctx.form())["file"]
            assert isinstance(file, UploadFile)
            ctx.body = {"filename": file.filename, "size": file.size}

        app.use(router.routes())
    elif spec.kind == "stack":
        router = Router()

        @router.get("/users/{id}")
        async def user(ctx: Context, next: Next) -> None:
            ctx.body = user_payload(ctx.params["id"])

        app.use(_x_response_time)
        app.use(_logger)
        for _ in range(3):
            app.use(_pass)
        app.use(router.routes())
    elif spec.kind == "batteries":
        _batteries(app)
    elif spec.kind == "routes":
        router = Router()
        for i in range(spec.size):
            router.get(route_path(i))(_route_handler(i))
        app.use(router.routes())
    elif spec.kind == "static":
        app.use(mount("/static", serve_static(STATIC_DIR)))
    elif spec.kind == "typed":
        app.use(_typed_router().routes())
    else:
        raise ValueError(spec.kind)
    return app


# -- typed handlers: the order (10 fields, a list of lines) and three query parameters --------


def _typed_router() -> Router:
    router = Router()

    @router.post("/orders")
    async def create_order(ctx: Context, order: Order) -> Order:
        return order

    @router.get("/items")
    async def items(ctx: Context, limit: int = 20, offset: int = 0, q: str = "") -> dict[str, Any]:
        return {"limit": limit, "offset": offset, "q": q}

    return router


def build_untyped(spec: AppSpec) -> Koa:
    """The typed cases' handlers without types: the body parsed and the query read as they
    come, nothing validated."""
    if spec.kind != "typed":
        raise ValueError(spec.kind)
    router = Router()

    @router.post("/orders")
    async def create_order(ctx: Context) -> None:
        ctx.body = await ctx.json()

    @router.get("/items")
    async def items(ctx: Context) -> None:
        query = ctx.query
        ctx.body = {"limit": int(query["limit"]), "offset": int(query["offset"]), "q": query["q"]}

    app = Koa(env="production")
    app.use(router.routes())
    return app
