"""`app.context`, `app.request`, `app.response` and `app.keys` (Koa's application/context,
request, response and index tests)."""

from typing import Any

from aiokoa import Context, Koa, Next
from aiokoa.testing import TestClient, make_context


def test_app_context_members_appear_on_ctx_and_do_not_leak() -> None:
    one, two = Koa(), Koa()
    setattr(one.context, "msg", "hello")
    setattr(one.request, "greeting", property(lambda self: "hi " + self.ctx.path))
    setattr(one.response, "shout", lambda self: self.ctx.body.upper())

    @one.use
    async def mw(ctx: Any, next: Next) -> None:  # Any: the members set above are not in Context's type
        ctx.body = f"{ctx.msg} {ctx.request.greeting}"
        ctx.body = ctx.response.shout()

    @two.use
    async def other(ctx: Context, next: Next) -> None:
        ctx.body = str(hasattr(ctx, "msg") or hasattr(ctx.request, "greeting") or hasattr(ctx.response, "shout"))

    with TestClient(one) as a, TestClient(two) as b:
        assert a.get("/x").text == "HELLO HI /X"
        assert b.get("/").text == "False"


def test_keys_and_options() -> None:
    app = Koa(keys=["a", "b"], proxy=True, subdomain_offset=3, env="production")
    assert (app.keys, app.proxy, app.subdomain_offset, app.env) == (["a", "b"], True, 3, "production")
    assert Koa().keys is None


def test_keys_are_read_each_time_cookies_are_made() -> None:
    app = Koa(keys=["a"])
    first = make_context(app)
    first.cookies.set("x", "1", signed=True)
    app.keys = ["b"]
    second = make_context(app)
    second.cookies.set("x", "1", signed=True)
    assert first.response.get("Set-Cookie") != second.response.get("Set-Cookie")
