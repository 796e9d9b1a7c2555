"""Router behaviour, ported from @koa/router's documented cases."""

from __future__ import annotations

import re
from typing import Any

import pytest

from aiokoa import Context, HttpError, Koa, Next, Router
from aiokoa.router import ALL_METHODS, NoMatchFound
from aiokoa.testing import TestClient

from .conftest import MakeClient, body


def test_verbs_register_routes_and_chain_on_the_router(client: MakeClient) -> None:
    router = Router()
    for verb in ("get", "post", "put", "patch", "delete", "options"):
        assert getattr(router, verb)("/thing", body(verb)).router is router
    app = client(router)
    for verb in ("get", "post", "put", "patch", "delete", "options"):
        response = app.request(verb.upper(), "/thing")
        assert (response.status_code, response.text) == (200, verb)


def test_head_route_and_get_route_answering_head(client: MakeClient) -> None:
    router = Router()
    router.get("/page", body("hello"))
    seen: list[str] = []

    async def head_only(ctx: Context, next: Next) -> None:
        seen.append(ctx.method)
        ctx.status = 204

    router.head("/probe", head_only)
    app = client(router)
    head = app.head("/page")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == "5"
    assert app.head("/probe").status_code == 204
    assert app.get("/probe").status_code == 404
    assert seen == ["HEAD"]


def test_all_answers_every_method(client: MakeClient) -> None:
    router = Router()
    router.all("/any", body("any"))
    app = client(router)
    for method in ("GET", "POST", "DELETE", "PURGE", "PROPFIND"):
        assert app.request(method, "/any").text == "any"
    assert router.match("/any", "GET").path[0].methods[:2] == ("HEAD", "ACL")  # HEAD first, as Koa
    assert set(router.match("/any", "GET").path[0].methods) == set(ALL_METHODS)


def test_decorator_forms_with_both_path_spellings(client: MakeClient) -> None:
    router = Router()

    @router.get("/users/{id}")
    async def show(ctx: Context, next: Next) -> None:
        ctx.body = {"id": ctx.params["id"]}

    @router.post("/users/:id", name="update")
    async def update(ctx: Context) -> None:  # a handler that never calls next() may omit it
        ctx.body = {"updated": ctx.params["id"]}

    assert show.__name__ == "show"  # the decorator hands the function back
    app = client(router)
    assert app.get("/users/7").json() == {"id": "7"}
    assert app.post("/users/7").json() == {"updated": "7"}
    assert router.url("update", 7) == "/users/7"


def test_sync_one_argument_handler_and_koa_style_lambda(client: MakeClient) -> None:
    router = Router()

    def plain(ctx: Context) -> None:
        ctx.body = "plain"

    router.get("/plain", plain)
    router.get("/lambda", lambda ctx, next: setattr(ctx, "body", "lambda"))
    app = client(router)
    assert app.get("/plain").text == "plain"
    assert app.get("/lambda").text == "lambda"


def test_handlers_with_defaults_keep_them(client: MakeClient) -> None:
    router = Router()
    for i in range(3):

        @router.get(f"/n/{i}")
        async def numbered(ctx: Context, i: int = i) -> None:
            ctx.body = str(i)

    @router.get("/keyword")
    async def keyword(ctx: Context, *, next: Next) -> None:
        ctx.set("X-Below", "ran")
        await next()

    router.use(body("below"))
    app = client(router)
    assert [app.get(f"/n/{i}").text for i in range(3)] == ["0", "1", "2"]
    answer = app.get("/keyword")
    assert (answer.text, answer.headers["x-below"]) == ("below", "ran")


def require_user(ctx: Context, next: Next) -> Any:
    if ctx.get("authorization") != "yes":
        ctx.throw(401)
    ctx.state["user"] = "ada"
    return next()


def test_route_middleware_in_decorator_form(client: MakeClient) -> None:
    router = Router()

    @router.post("/notes", require_user)
    async def create_note(ctx: Context) -> None:
        ctx.status = 201
        ctx.body = {"by": ctx.state["user"]}

    @router.all("/any", require_user, name="any")
    async def any_method(ctx: Context) -> None:
        ctx.body = ctx.method

    @router.get("named", "/named", require_user)
    async def named(ctx: Context, next: Next) -> None:
        ctx.body = "named"

    assert create_note.__name__ == "create_note"  # the decorator hands the function back
    assert (any_method.__name__, named.__name__) == ("any_method", "named")
    app = client(router)
    assert app.post("/notes").status_code == 401
    answer = app.post("/notes", headers={"authorization": "yes"})
    assert (answer.status_code, answer.json()) == (201, {"by": "ada"})
    assert app.delete("/any", headers={"authorization": "yes"}).text == "DELETE"
    assert app.get("/named", headers={"authorization": "yes"}).text == "named"
    assert router.url("any") == "/any"
    assert router.url("named") == "/named"
    assert [len(layer.stack) for layer in router.stack] == [2, 2, 2]


def test_router_use_in_decorator_form(client: MakeClient) -> None:
    router = Router()

    @router.use("/admin")
    async def admin_only(ctx: Context, next: Next) -> None:
        ctx.set("X-Admin", "1")
        await next()

    @router.use("/admin", require_user)
    async def audited(ctx: Context, next: Next) -> None:
        ctx.set("X-Audited", ctx.state["user"])
        await next()

    router.get("/admin/page", body("page")).get("/admin/other", body("other"))  # Koa's chaining
    assert (admin_only.__name__, audited.__name__) == ("admin_only", "audited")
    app = client(router)
    assert app.get("/admin/page").status_code == 401
    answer = app.get("/admin/other", headers={"authorization": "yes"})
    assert (answer.text, answer.headers["x-admin"], answer.headers["x-audited"]) == ("other", "1", "ada")


def test_koa_name_first_form_and_name_keyword(client: MakeClient) -> None:
    router = Router()
    router.get("user", "/users/:id", body("u"))
    router.get("/books/:id", body("b"), name="book")
    assert router.url("user", 1) == "/users/1"
    assert router.url("book", id=2) == "/books/2"
    assert router.route("user").path == "/users/:id"  # type: ignore[union-attr]
    assert router.route("nope") is None
    with pytest.raises(TypeError, match="given twice"):
        router.get("a", "/a", body("a"), name="b")


def test_several_paths_at_once(client: MakeClient) -> None:
    router = Router()
    router.use(["/a", "/c"], _header("x-used", "yes"))
    router.get(["/a", "/b"], body("ab"))
    app = client(router)
    assert app.get("/a").text == app.get("/b").text == "ab"
    assert app.get("/a").headers.get("x-used") == "yes"
    assert "x-used" not in app.get("/b").headers


def test_middleware_lists_are_flattened(client: MakeClient) -> None:
    router = Router()
    router.get("/x", [_header("x-one", "1"), [_header("x-two", "2")]], body("x"))
    router.use([_header("x-use", "u")])
    response = client(router).get("/x")
    assert (response.text, response.headers["x-one"], response.headers["x-two"]) == ("x", "1", "2")


def test_registration_errors_are_immediate() -> None:
    router = Router()
    with pytest.raises(TypeError, match="needs a path"):
        router.get(body("x"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a function"):
        router.get("/x", "not middleware", 3)
    with pytest.raises(TypeError, match="at least one middleware"):
        router.use()
    with pytest.raises(TypeError, match="needs at least one middleware"):
        router.register("/x", ["GET"])
    with pytest.raises(ValueError, match="exclusive"):
        Router(exclusive="yes")
    with pytest.raises(ValueError, match="must start with '/'"):
        Router(prefix="api")


def test_context_gets_params_matched_route_name_and_path(client: MakeClient) -> None:
    router = Router()
    seen: dict[str, Any] = {}

    async def record(ctx: Context, next: Next) -> None:
        seen.update(
            params=ctx.params,
            matched=[layer.path for layer in ctx.matched or []],
            name=ctx.route_name,
            path=ctx.route_path,
            router=ctx.router,
        )
        await next()

    router.use(record)
    router.get("/users/{id:int}", body("u"), name="user")
    client(router).get("/users/5")
    assert seen == {
        "params": {"id": 5},  # use() middleware already sees the route's parameters
        "matched": ["", "/users/{id:int}"],
        "name": "user",  # the route's, not the middleware layer's (koajs/router #126)
        "path": "/users/{id:int}",
        "router": router,
    }


def test_context_before_and_without_a_router() -> None:
    app = Koa()
    seen: list[Any] = []

    @app.use
    async def check(ctx: Context, next: Next) -> None:
        seen.extend([ctx.params, ctx.matched, ctx.route_name, ctx.route_path, ctx.router])

    with TestClient(app) as test_client:
        test_client.get("/")
    assert seen == [{}, None, None, None, None]  # params is always a dict


def test_matched_is_set_even_when_nothing_matched_and_accumulates() -> None:
    first, second = Router(), Router()
    first.get("/x", _next_only())
    second.get("/x", body("second"))
    second.get("/y", body("y"))
    app = Koa()
    matched: list[Any] = []

    @app.use
    async def spy(ctx: Context, next: Next) -> None:
        await next()
        matched.append([layer.path for layer in ctx.matched or []])

    app.use(first.routes())
    app.use(second.routes())
    with TestClient(app) as test_client:
        assert test_client.get("/x").text == "second"
        test_client.get("/nothing")
    assert matched == [["/x", "/x"], []]


def test_route_middleware_is_part_of_the_onion(client: MakeClient) -> None:
    order: list[str] = []
    router = Router()

    async def outer_mw(ctx: Context, next: Next) -> None:
        order.append("route mw in")
        await next()
        order.append("route mw out")

    async def handler(ctx: Context, next: Next) -> None:
        order.append("handler")
        ctx.body = "done"

    router.get("/x", outer_mw, handler)
    app = Koa()

    @app.use
    async def app_mw(ctx: Context, next: Next) -> None:
        order.append("app in")
        await next()
        order.append("app out")

    app.use(router.routes())

    @app.use
    async def downstream(ctx: Context, next: Next) -> None:
        order.append("downstream")

    with TestClient(app) as test_client:
        assert test_client.get("/x").text == "done"
        assert order == ["app in", "route mw in", "handler", "route mw out", "app out"]
        order.clear()
        test_client.get("/unrouted")
        assert order == ["app in", "downstream", "app out"]


def test_outer_next_runs_when_the_last_handler_calls_next() -> None:
    router = Router()
    router.get("/x", _next_only())
    app = Koa()
    app.use(router.routes())

    @app.use
    async def after(ctx: Context, next: Next) -> None:
        ctx.body = f"after router, params={ctx.params}"

    with TestClient(app) as test_client:
        assert test_client.get("/x").text == "after router, params={}"


def test_return_values_propagate_through_the_router() -> None:
    router = Router()

    async def handler(ctx: Context, next: Next) -> str:
        return "from route"

    router.get("/x", handler)
    app = Koa()

    @app.use
    async def top(ctx: Context, next: Next) -> None:
        ctx.body = await next()

    app.use(router.routes())
    with TestClient(app) as test_client:
        assert test_client.get("/x").text == "from route"


def test_errors_flow_upstream_through_app_middleware() -> None:
    router = Router()

    async def fail(ctx: Context, next: Next) -> None:
        ctx.throw(418, "teapot")

    router.get("/x", fail)
    app = Koa(silent=True)

    @app.use
    async def catch(ctx: Context, next: Next) -> None:
        try:
            await next()
        except HttpError as err:
            ctx.status = 200
            ctx.body = f"caught {err.status} {err.message}"

    app.use(router.routes())
    with TestClient(app) as test_client:
        assert test_client.get("/x").text == "caught 418 teapot"


def test_misusing_next_in_a_route_is_reported() -> None:
    router = Router()

    async def twice(ctx: Context, next: Next) -> None:
        await next()
        await next()

    async def forgot(ctx: Context, next: Next) -> None:
        next()

    router.get("/twice", twice)
    router.get("/forgot", forgot, body("never"))
    app = Koa(silent=True)
    errors: list[BaseException] = []
    app.on("error", lambda err, ctx: errors.append(err))
    app.use(router.routes())
    with TestClient(app) as test_client:
        assert test_client.get("/twice").status_code == 500
        assert test_client.get("/forgot").status_code == 500
    assert re.search(r"next\(\) called multiple times in middleware \S+\.twice \(", str(errors[0]))
    assert re.search(r"not awaited in middleware \S+\.forgot \(", str(errors[1]))


def test_multiple_matching_routes_run_in_order_when_each_calls_next(client: MakeClient) -> None:
    router = Router()

    async def first(ctx: Context, next: Next) -> None:
        ctx.state["seen"] = [ctx.route_name]
        await next()

    async def second(ctx: Context, next: Next) -> None:
        ctx.body = [*ctx.state["seen"], ctx.route_name, ctx.params]

    router.get("/users/:id", first, name="first")
    router.get("/users/{id:int}", second, name="second")
    assert client(router).get("/users/3").json() == ["first", "second", {"id": 3}]


def test_exclusive_runs_only_the_last_matching_layer(client: MakeClient) -> None:
    router = Router(exclusive=True)
    router.get("/users/:id", body("param"))
    router.get("/users/me", body("static"))
    assert client(router).get("/users/me").text == "static"
    specific = Router(exclusive="specificity")
    specific.get("/users/me", body("static"))
    specific.get("/users/:id", body("param"))
    assert client(specific).get("/users/me").text == "static"
    assert client(specific).get("/users/9").text == "param"


def test_use_middleware_runs_only_when_a_route_matched(client: MakeClient) -> None:
    calls: list[str] = []
    router = Router()

    async def mw(ctx: Context, next: Next) -> None:
        calls.append(ctx.path)
        await next()

    router.use(mw)
    router.get("/x", body("x"))
    app = client(router)
    app.get("/x")
    app.get("/y")
    app.post("/x")
    assert calls == ["/x"]


def test_use_order_relative_to_routes(client: MakeClient) -> None:
    router = Router()
    router.get("/x", _next_only())
    router.use(_header("x-after", "ran"))
    router.use(body("set by trailing middleware"))
    response = client(router).get("/x")
    assert response.text == "set by trailing middleware"
    assert response.headers["x-after"] == "ran"


def test_use_with_a_path_scopes_middleware(client: MakeClient) -> None:
    router = Router()
    router.use("/admin", _header("x-admin", "yes"))
    router.get("/admin/panel", body("panel"))
    router.get("/public", body("public"))
    app = client(router)
    assert app.get("/admin/panel").headers.get("x-admin") == "yes"
    assert "x-admin" not in app.get("/public").headers


def test_use_with_parameters_in_the_path(client: MakeClient) -> None:
    router = Router()

    async def tenant(ctx: Context, next: Next) -> None:
        ctx.state["tenant"] = ctx.params["tenant"]
        await next()

    router.use("/t/:tenant", tenant)
    router.get("/t/:tenant/items", lambda ctx: setattr(ctx, "body", ctx.state))
    assert client(router).get("/t/acme/items").json() == {"tenant": "acme"}


# -- nesting ---------------------------------------------------------------------------


def test_nested_router_with_prefix_and_parameter_inheritance(client: MakeClient) -> None:
    comments = Router()
    comments.get("/", lambda ctx: setattr(ctx, "body", {"list": ctx.params}))
    comments.get("/:comment_id", lambda ctx: setattr(ctx, "body", ctx.params))
    posts = Router(prefix="/posts/:post_id")
    posts.use("/comments", comments.routes())
    api = Router(prefix="/api")
    api.use("/users/{user_id:int}", posts)
    app = client(api)
    assert app.get("/api/users/1/posts/2/comments/3").json() == {"user_id": 1, "post_id": "2", "comment_id": "3"}
    assert app.get("/api/users/1/posts/2/comments").json() == {"list": {"user_id": 1, "post_id": "2"}}
    assert app.get("/api/users/x/posts/2/comments").status_code == 404
    assert [layer.path for layer in api.stack] == [
        "/api/users/{user_id:int}/posts/:post_id/comments",
        "/api/users/{user_id:int}/posts/:post_id/comments/:comment_id",
    ]


def test_nested_without_path_uses_the_parent_prefix(client: MakeClient) -> None:
    child = Router()
    child.get("/ping", body("pong"))
    parent = Router(prefix="/v1")
    parent.use(child)
    app = client(parent)
    assert app.get("/v1/ping").text == "pong"
    assert app.get("/ping").status_code == 404


def test_routes_added_to_a_child_after_nesting_are_served(client: MakeClient) -> None:
    child = Router()
    parent = Router()
    parent.use("/child", child)
    app = client(parent)
    assert app.get("/child/late").status_code == 404
    child.get("/late", body("late"))  # @koa/router would miss this one
    assert app.get("/child/late").text == "late"
    child.prefix("/renamed")
    assert app.get("/child/renamed/late").text == "late"


def test_nested_router_middleware_stays_under_its_mount_point(client: MakeClient) -> None:
    admin = Router()
    admin.use(_header("x-admin", "yes"))
    admin.get("/panel", body("panel"))
    root = Router()
    root.get("/public", body("public"))
    root.use("/admin", admin)
    app = client(root)
    assert app.get("/admin/panel").headers.get("x-admin") == "yes"
    assert "x-admin" not in app.get("/public").headers


def test_nested_in_several_parents_and_three_levels_deep(client: MakeClient) -> None:
    leaf = Router()
    leaf.get("/leaf", lambda ctx: setattr(ctx, "body", ctx.route_path))
    middle = Router()
    middle.use("/m", leaf)
    one, two = Router(prefix="/one"), Router(prefix="/two")
    one.use(middle)
    two.use("/x", middle)
    assert client(one).get("/one/m/leaf").text == "/one/m/leaf"
    assert client(two).get("/two/x/m/leaf").text == "/two/x/m/leaf"


def test_a_router_cannot_contain_itself() -> None:
    parent, child = Router(), Router()
    parent.use(child)
    with pytest.raises(ValueError, match="inside itself"):
        child.use(parent)
    with pytest.raises(ValueError, match="inside itself"):
        parent.use(parent)


def test_routes_of_a_nested_router_used_as_plain_route_middleware(client: MakeClient) -> None:
    inner = Router()
    inner.get("/inner", body("inner"))
    outer = Router()
    outer.get("/inner", inner.routes())  # dispatches again on the same path
    assert client(outer).get("/inner").text == "inner"


# -- prefix ----------------------------------------------------------------------------


def test_prefix_method_replaces_the_prefix_of_existing_routes(client: MakeClient) -> None:
    router = Router(prefix="/old")
    router.get("/", body("root"))
    router.get("/x", body("x"))
    router.prefix("/new/")
    app = client(router)
    assert app.get("/new").text == "root"
    assert app.get("/new/x").text == "x"
    assert app.get("/old/x").status_code == 404


def test_prefix_with_parameters_and_strict_root(client: MakeClient) -> None:
    router = Router(prefix="/users/:user_id")
    router.use(_header("x-user", "mw"))  # before the route: a route that does not call next() ends it
    router.get("/", lambda ctx: setattr(ctx, "body", ctx.params))
    app = client(router)
    response = app.get("/users/5")
    assert response.json() == {"user_id": "5"}
    assert response.headers["x-user"] == "mw"
    strict = Router(prefix="/s", strict=True)
    strict.get("/", body("strict root"))
    app2 = client(strict)
    assert app2.get("/s/").text == "strict root"
    assert app2.get("/s").status_code == 404


# -- param() ---------------------------------------------------------------------------


def test_param_handler_loads_before_the_route_once_per_request(client: MakeClient) -> None:
    users = {"1": "ada"}
    calls: list[str] = []
    router = Router()

    async def load(user_id: str, ctx: Context, next: Next) -> None:
        calls.append(user_id)
        if user_id not in users:
            ctx.status = 404
            return
        ctx.state["user"] = users[user_id]
        await next()

    router.param("user", load)
    router.get("/users/:user", _next_only())
    router.get("/users/:user", lambda ctx: setattr(ctx, "body", ctx.state["user"]))
    router.get("/users/:user/friends", lambda ctx: setattr(ctx, "body", f"friends of {ctx.state['user']}"))
    app = client(router)
    assert app.get("/users/1").text == "ada"
    assert calls == ["1"]  # two layers have :user; the handler ran once
    assert app.get("/users/1/friends").text == "friends of ada"
    assert app.get("/users/2").status_code == 404


def test_param_handlers_run_in_path_order_whatever_the_registration_order(client: MakeClient) -> None:
    router = Router()
    order: list[str] = []

    def recorder(label: str) -> Any:
        async def handler(value: str, ctx: Context, next: Next) -> None:
            order.append(f"{label}={value}")
            await next()

        return handler

    router.get("/:a/:b", lambda ctx: setattr(ctx, "body", "ok"))
    router.param("b", recorder("b"))  # registered after the route, and before :a's handler
    router.param("a", recorder("a"))
    client(router).get("/1/2")
    assert order == ["a=1", "b=2"]


def test_parent_param_handlers_apply_to_nested_routes(client: MakeClient) -> None:
    child = Router()
    child.get("/:id", lambda ctx: setattr(ctx, "body", ctx.state))
    parent = Router()

    async def load(value: str, ctx: Context, next: Next) -> None:
        ctx.state["loaded"] = value
        await next()

    parent.param("id", load)
    parent.use("/things", child)
    assert client(parent).get("/things/9").json() == {"loaded": "9"}


def test_param_handler_sees_converted_values_and_may_throw(client: MakeClient) -> None:
    router = Router()

    def positive(value: int, ctx: Context, next: Next) -> Any:
        if value == 0:
            ctx.throw(422, "zero")
        return next()

    router.param("n", positive)
    router.get("/n/{n:int}", lambda ctx: setattr(ctx, "body", ctx.params))
    app = client(router)
    assert app.get("/n/3").json() == {"n": 3}
    assert app.get("/n/0").status_code == 422


# -- redirect, url ---------------------------------------------------------------------


def test_redirect_paths_names_and_status(client: MakeClient) -> None:
    router = Router()
    router.get("/sign-in", body("form"), name="sign-in")
    router.redirect("/login", "sign-in")
    router.redirect("/old", "https://example.com/new", status=302)
    router.redirect("sign-in", "/elsewhere", 307)
    app = client(router)
    login = app.post("/login")
    assert (login.status_code, login.headers["location"]) == (301, "/sign-in")
    old = app.get("/old")
    assert (old.status_code, old.headers["location"]) == (302, "https://example.com/new")
    assert app.get("/sign-in").text == "form"  # the earlier route still runs first
    with pytest.raises(NoMatchFound, match="no route named 'missing'"):
        router.redirect("/x", "missing")


def test_url_for_named_routes_including_nested_ones() -> None:
    child = Router()
    child.get("/posts/{post:int}", body("p"), name="post")
    router = Router(prefix="/api")
    router.get("/users/:id", body("u"), name="user")
    router.use("/u/:uid", child)
    assert router.url("user", 3) == "/api/users/3"
    assert router.url("user", {"id": "a b"}) == "/api/users/a%20b"
    assert router.url("user", id=3, query={"limit": 1}) == "/api/users/3?limit=1"
    assert router.url("post", uid=1, post=2) == "/api/u/1/posts/2"
    with pytest.raises(NoMatchFound, match="missing parameter 'uid'"):
        router.url("post", post=2)
    with pytest.raises(NoMatchFound, match="no route named 'nope'"):
        router.url("nope")
    regex = Router()
    regex.get(re.compile(r"/r/(?P<x>\d+)"), body("r"), name="r")
    with pytest.raises(TypeError, match="regular-expression route"):
        regex.url("r", x=1)


def test_url_from_a_handler_through_ctx_router(client: MakeClient) -> None:
    router = Router()
    router.get("/users/:id", body("u"), name="user")
    router.get("/me", lambda ctx: setattr(ctx, "body", ctx.router.url("user", 42)))
    assert client(router).get("/me").text == "/users/42"


# -- host ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "ok", "other"),
    [
        ("example.com", "example.com", "other.com"),
        (["a.example.com", "b.example.com"], "b.example.com", "c.example.com"),
        (re.compile(r"^\w+\.example\.com$"), "api.example.com", "example.org"),
    ],
)
def test_host_matching(client: MakeClient, host: str | list[str] | re.Pattern[str], ok: str, other: str) -> None:
    router = Router(host=host)
    router.get("/", body("hosted"))
    app = client(router)
    assert app.get("/", headers={"host": ok}).text == "hosted"
    assert app.get("/", headers={"host": other}).status_code == 404


def test_host_mismatch_leaves_matched_unset() -> None:
    router = Router(host="example.com")
    router.get("/", body("x"))
    app = Koa()
    seen: list[Any] = []

    @app.use
    async def spy(ctx: Context, next: Next) -> None:
        await next()
        seen.append(ctx.matched)

    app.use(router.routes())
    with TestClient(app) as test_client:
        test_client.get("/", headers={"host": "nope.com"})
    assert seen == [None]


# -- bad input -------------------------------------------------------------------------


def test_malformed_parameter_is_a_400_with_a_readable_message(client: MakeClient) -> None:
    router = Router()
    router.get("/q/:term", body("q"))
    router.get("/static", body("static"))
    app = client(router)
    bad = app.get("/q/%ZZ")
    assert bad.status_code == 400
    assert bad.text == "malformed percent-encoding in path parameter '%ZZ'"
    assert app.get("/q/%FF").status_code == 400
    assert app.get("/q/a%00b").status_code == 400
    assert app.get("/static%ZZ").status_code == 404


def _header(name: str, value: str) -> Any:
    async def set_header(ctx: Context, next: Next) -> None:
        ctx.set(name, value)
        await next()

    return set_header


def _next_only() -> Any:
    async def passthrough(ctx: Context, next: Next) -> None:
        await next()

    return passthrough
