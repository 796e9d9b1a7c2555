"""`mount()`: aiokoa apps, routers and middleware (koa-mount's way), any ASGI app (Starlette,
FastAPI) under a prefix, and aiokoa apps mounted inside Starlette and FastAPI; over real HTTP."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route

from aiokoa import Context, Koa, Next, Router, mount

from .conftest import Serve


def koa_sub() -> Koa:
    sub = Koa()

    @sub.use
    async def echo(ctx: Context, next: Next) -> None:
        if ctx.path == "/pass":
            await next()  # falls through to the outer app's chain
            return
        ctx.body = {"path": ctx.path, "url": ctx.url, "original": ctx.original_url}

    return sub


def starlette_app() -> Starlette:
    async def where(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "path": request.url.path,
                "root_path": request.scope["root_path"],
                "scope_path": request.scope["path"],
                "item": request.path_params.get("item"),
                "query": dict(request.query_params),
                "url_for": str(request.url_for("item", item="x y")),
            }
        )

    async def echo_body(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"got {(await request.body()).decode()}", status_code=201)

    return Starlette(routes=[Route("/items/{item}", where, name="item"), Route("/echo", echo_body, methods=["POST"])])


def test_mounted_aiokoa_app_sees_its_own_paths_and_falls_through(serve: Serve) -> None:
    app = Koa()
    app.use(mount("/sub", koa_sub()))

    @app.use
    async def after(ctx: Context, next: Next) -> None:
        ctx.body = f"outer saw {ctx.path}"

    client = serve(app)
    assert client.get("/sub/a/b?x=1").json() == {"path": "/a/b", "url": "/a/b?x=1", "original": "/sub/a/b?x=1"}
    assert client.get("/sub").json()["path"] == "/"
    assert client.get("/sub/pass").text == "outer saw /sub/pass"  # the outer chain sees its path
    assert client.get("/subway").text == "outer saw /subway"  # not under the prefix


def test_middleware_added_to_the_sub_app_after_mounting_runs(serve: Serve) -> None:
    sub = Koa()
    app = Koa()
    app.use(mount("/sub", sub))

    @sub.use
    async def late(ctx: Context, next: Next) -> None:
        ctx.body = "late"

    assert serve(app).get("/sub/x").text == "late"


def test_mounted_router_and_middleware(serve: Serve) -> None:
    router = Router()
    router.get("/users/:id", lambda ctx: setattr(ctx, "body", {"id": ctx.params["id"], "path": ctx.path}))
    app = Koa()
    app.use(mount("/api", router))

    async def tag(ctx: Context, next: Next) -> None:
        ctx.body = f"tagged {ctx.path}"

    app.use(mount("/tag", tag))
    client = serve(app)
    assert client.get("/api/users/3").json() == {"id": "3", "path": "/users/3"}
    assert client.get("/tag/x").text == "tagged /x"
    assert client.get("/users/3").status_code == 404


def test_mounted_middleware_gets_next_by_the_same_rule_as_use(serve: Serve) -> None:
    app = Koa()
    for i in range(2):

        async def numbered(ctx: Context, i: int = i) -> None:
            ctx.body = f"{i} {ctx.path}"

        app.use(mount(f"/n{i}", numbered))

    async def extra(ctx: Context, next: Next, note: str = "kept") -> None:
        ctx.set("X-Note", note)  # three parameters, but a middleware: not an ASGI app
        await next()

    async def below(ctx: Context, next: Next) -> None:
        ctx.body = "below"

    app.use(mount("/x", extra), below)
    client = serve(app)
    assert [client.get(f"/n{i}/a").text for i in range(2)] == ["0 /a", "1 /a"]
    answer = client.get("/x/y")
    assert (answer.text, answer.headers["x-note"]) == ("below", "kept")


def test_starlette_app_mounted_in_aiokoa_gets_root_path_as_asgi_expects(serve: Serve) -> None:
    app = Koa()
    app.use(mount("/star", starlette_app()))
    client = serve(app)
    response = client.get("/star/items/42?q=a+b")
    assert response.status_code == 200
    data = response.json()
    assert data["path"] == "/star/items/42"
    assert data["scope_path"] == "/star/items/42"
    assert data["root_path"] == "/star"
    assert data["item"] == "42"
    assert data["query"] == {"q": "a b"}
    assert urlsplit(data["url_for"]).path.startswith("/star/items/x")  # url_for includes root_path
    assert client.get("/star/nothing").status_code == 404  # Starlette's own 404
    posted = client.post("/star/echo", content=b"hello")
    assert (posted.status_code, posted.text) == (201, "got hello")


def test_fastapi_app_mounted_in_aiokoa(serve: Serve) -> None:
    api = FastAPI()

    @api.get("/items/{item_id}")
    async def read_item(item_id: int, request: Request) -> dict[str, Any]:
        return {"item_id": item_id, "root_path": request.scope["root_path"]}

    app = Koa()
    app.use(mount("/fast", api))
    client = serve(app)
    assert client.get("/fast/items/5").json() == {"item_id": 5, "root_path": "/fast"}
    assert client.get("/fast/items/x").status_code == 422  # FastAPI's validation answers
    assert client.get("/fast/openapi.json").json()["paths"].keys() == {"/items/{item_id}"}


def test_asgi_app_below_an_aiokoa_mount_gets_the_whole_consumed_prefix(serve: Serve) -> None:
    inner = Koa()
    inner.use(mount("/star", starlette_app()))
    app = Koa()
    app.use(mount("/outer", inner))
    data = serve(app).get("/outer/star/items/1").json()
    assert data["root_path"] == "/outer/star"
    assert data["path"] == "/outer/star/items/1"


def aiokoa_app() -> Koa:
    router = Router()
    router.get("/hello/:name", lambda ctx: setattr(ctx, "body", {"name": ctx.params["name"], "path": ctx.path}))
    app = Koa()
    app.use(router.routes())
    app.use(router.allowed_methods())
    return app


def test_aiokoa_app_mounted_in_starlette(serve: Serve) -> None:
    outer = Starlette(routes=[Mount("/koa", app=aiokoa_app())])
    client = serve(outer)
    assert client.get("/koa/hello/ada").json() == {"name": "ada", "path": "/hello/ada"}
    assert client.delete("/koa/hello/ada").status_code == 405
    assert client.get("/koa/nope").status_code == 404


def test_aiokoa_app_mounted_in_fastapi(serve: Serve) -> None:
    api = FastAPI()

    @api.get("/native")
    async def native() -> dict[str, str]:
        return {"from": "fastapi"}

    api.mount("/koa", aiokoa_app())
    client = serve(api)
    assert client.get("/native").json() == {"from": "fastapi"}
    assert client.get("/koa/hello/grace").json() == {"name": "grace", "path": "/hello/grace"}


def test_mount_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="must start with '/'"):
        mount("api", Koa())
    with pytest.raises(TypeError, match="cannot mount"):
        mount("/x", object())
