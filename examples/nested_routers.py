"""Nested routers: an API router under `/api/v1`, a users router inside it whose posts router
inherits the `:user_id` parameter, a `param()` loader, typed parameters, named routes and
`allowed_methods()` answering 405/501/OPTIONS.

    python examples/nested_routers.py
    curl -i http://127.0.0.1:3000/api/v1/users/1              # {"id": 1, "name": "Ada"}
    curl -i http://127.0.0.1:3000/api/v1/users/1/posts/2      # post 2 of user 1
    curl -i http://127.0.0.1:3000/api/v1/users/9              # 404: the param() loader
    curl -i http://127.0.0.1:3000/api/v1/users/abc            # 404: {id:int} does not match
    curl -i -X DELETE http://127.0.0.1:3000/api/v1/users/1    # 405, Allow: HEAD, GET, PUT
    curl -i -X OPTIONS http://127.0.0.1:3000/api/v1/users/1   # 200, Allow: HEAD, GET, PUT
    curl -i http://127.0.0.1:3000/old-home                    # 301 to /
"""

import os
from typing import Any

from aiokoa import Context, Koa, Next, Router

USERS: dict[int, dict[str, Any]] = {1: {"id": 1, "name": "Ada"}, 2: {"id": 2, "name": "Grace"}}
POSTS: dict[int, list[str]] = {1: ["Notes on the Analytical Engine", "Sketch", "Bernoulli numbers"], 2: ["COBOL"]}

app = Koa()

# /api/v1/users/{user_id}/posts/...: knows nothing of where it is mounted.
posts = Router()


@posts.get("/", name="posts")
async def list_posts(ctx: Context) -> None:
    ctx.body = {"user": ctx.state["user"]["name"], "posts": POSTS.get(ctx.params["user_id"], [])}


@posts.get("/{index:int}", name="post")
async def show_post(ctx: Context) -> None:
    titles = POSTS.get(ctx.params["user_id"], [])
    ctx.assert_(ctx.params["index"] < len(titles), 404, "no such post")
    ctx.body = {"user_id": ctx.params["user_id"], "index": ctx.params["index"], "title": titles[ctx.params["index"]]}


users = Router()


async def load_user(user_id: int, ctx: Context, next: Next) -> None:
    """Runs once per request before any route with `user_id`, nested routers' routes included."""
    user = USERS.get(user_id)
    if user is None:
        ctx.throw(404, f"no user {user_id}")
    ctx.state["user"] = user
    await next()


users.param("user_id", load_user)


@users.get("/", name="users")
async def list_users(ctx: Context) -> None:
    ctx.body = [{"id": user["id"], "url": api.url("user", user["id"])} for user in USERS.values()]


@users.get("/{user_id:int}", name="user")
async def show_user(ctx: Context) -> None:
    ctx.body = ctx.state["user"]


@users.put("/{user_id:int}")
async def rename_user(ctx: Context) -> None:
    ctx.state["user"]["name"] = ctx.query.get("name", ctx.state["user"]["name"])
    ctx.body = ctx.state["user"]


users.use("/{user_id:int}/posts", posts)

api = Router(prefix="/api/v1")


@api.use
async def api_header(ctx: Context, next: Next) -> None:
    """`use()` middleware of a router runs only when one of its routes matched."""
    await next()
    ctx.set("X-Route", ctx.route_name or "")


api.use("/users", users)

root = Router()
root.get("/", lambda ctx, next: setattr(ctx, "body", "home"))
root.redirect("/old-home", "/")
root.use(api)

app.use(root.routes())
app.use(root.allowed_methods())

if __name__ == "__main__":
    app.listen(int(os.environ.get("PORT", "3000")))
