"""cors(): @koa/cors's behaviour, its headers kept on error responses, hostile headers."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from aiokoa import Context, Koa, Next
from aiokoa.middleware.cors import cors
from aiokoa.testing import TestClient

from ..conftest import Serve

PREFLIGHT = {"Origin": "https://front.example", "Access-Control-Request-Method": "PUT"}


def app_with(*middleware: Any, body: Any = "ok") -> Koa:
    app = Koa(silent=True)
    app.use(*middleware) if len(middleware) > 1 else app.use(middleware[0])

    @app.use
    async def handler(ctx: Context, next: Next) -> None:
        if ctx.path == "/boom":
            raise RuntimeError("unexpected")
        if ctx.path == "/teapot":
            ctx.throw(418, "short and stout", headers={"Vary": "Accept"})
        ctx.state["seen"] = True
        ctx.body = body

    return app


def call(app: Koa, method: str = "GET", path: str = "/", **headers: str) -> httpx.Response:
    with TestClient(app) as client:
        # bytes: httpx would refuse to encode some of the hostile values itself
        raw = [(name.replace("_", "-").encode(), value.encode("latin-1")) for name, value in headers.items()]
        return client.request(method, path, headers=raw)


def test_the_defaults_allow_any_origin_and_vary_on_origin() -> None:
    response = call(app_with(cors()), Origin="https://front.example")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in response.headers


def test_vary_origin_is_set_without_an_origin_header_and_appended_to_others() -> None:
    async def vary_first(ctx: Context, next: Next) -> None:
        ctx.vary("Accept-Encoding")
        await next()

    response = call(app_with(vary_first, cors()))
    assert response.headers["vary"] == "Accept-Encoding, Origin"


def test_a_preflight_answers_204_without_calling_next() -> None:
    reached: list[str] = []

    async def after(ctx: Context, next: Next) -> None:
        reached.append(ctx.method)
        await next()

    response = call(
        app_with(cors(max_age=600), after), "OPTIONS", **PREFLIGHT, access_control_request_headers="X-A, Content-Type"
    )
    assert response.status_code == 204
    assert reached == []
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-methods"] == "GET,HEAD,PUT,POST,DELETE,PATCH"
    assert response.headers["access-control-allow-headers"] == "X-A,Content-Type"
    assert response.headers["access-control-max-age"] == "600"
    assert response.content == b""


def test_an_options_request_without_request_method_is_not_a_preflight() -> None:
    response = call(app_with(cors()), "OPTIONS", Origin="https://front.example")
    assert response.status_code == 200
    assert response.text == "ok"
    assert "access-control-allow-methods" not in response.headers


def test_options_are_joined_from_lists_and_allow_headers_wins_over_the_request() -> None:
    mw = cors(allow_methods=["GET", "POST"], allow_headers=["X-Token"], expose_headers=["X-Total", "X-Page"])
    preflight = call(app_with(mw), "OPTIONS", **PREFLIGHT, access_control_request_headers="X-Other")
    assert preflight.headers["access-control-allow-methods"] == "GET,POST"
    assert preflight.headers["access-control-allow-headers"] == "X-Token"
    assert "access-control-expose-headers" not in preflight.headers
    actual = call(app_with(mw), Origin="https://front.example")
    assert actual.headers["access-control-expose-headers"] == "X-Total,X-Page"
    assert "access-control-max-age" not in actual.headers


def test_credentials_with_star_reflect_the_request_origin() -> None:
    response = call(app_with(cors(credentials=True)), Origin="https://front.example")
    assert response.headers["access-control-allow-origin"] == "https://front.example"
    assert response.headers["access-control-allow-credentials"] == "true"
    preflight = call(app_with(cors(credentials=True)), "OPTIONS", **PREFLIGHT)
    assert preflight.headers["access-control-allow-origin"] == "https://front.example"
    assert preflight.headers["access-control-allow-credentials"] == "true"


def test_credentials_with_a_fixed_origin_keep_it() -> None:
    response = call(app_with(cors(origin="https://app.example", credentials=True)), Origin="https://evil.example")
    assert response.headers["access-control-allow-origin"] == "https://app.example"


@pytest.mark.parametrize("asynchronous", [False, True])
def test_origin_and_credentials_as_functions_sync_or_async(asynchronous: bool) -> None:
    allowed = {"https://front.example"}

    def decide(ctx: Context) -> str | None:
        origin = ctx.get("Origin")
        return origin if origin in allowed else None

    async def decide_async(ctx: Context) -> str | None:
        await asyncio.sleep(0)
        return decide(ctx)

    async def credentials_async(ctx: Context) -> bool:
        return ctx.path == "/"

    mw = (
        cors(origin=decide_async, credentials=credentials_async)
        if asynchronous
        else cors(origin=decide, credentials=lambda ctx: ctx.path == "/")
    )
    good = call(app_with(mw), Origin="https://front.example")
    assert good.headers["access-control-allow-origin"] == "https://front.example"
    assert good.headers["access-control-allow-credentials"] == "true"
    other_path = call(app_with(mw), path="/x", Origin="https://front.example")
    assert "access-control-allow-credentials" not in other_path.headers
    refused = call(app_with(mw), Origin="https://evil.example")
    assert refused.status_code == 200  # the request goes on, without CORS headers
    assert "access-control-allow-origin" not in refused.headers
    assert refused.headers["vary"] == "Origin"
    refused_preflight = call(app_with(mw), "OPTIONS", **{**PREFLIGHT, "Origin": "https://evil.example"})
    assert refused_preflight.status_code == 200  # passed on: here the app answers it
    assert "access-control-allow-methods" not in refused_preflight.headers


def test_private_network_access_only_when_enabled_and_asked() -> None:
    asked = {**PREFLIGHT, "Access-Control-Request-Private-Network": "true"}
    enabled = call(app_with(cors(private_network_access=True)), "OPTIONS", **asked)
    assert enabled.headers["access-control-allow-private-network"] == "true"
    not_asked = call(app_with(cors(private_network_access=True)), "OPTIONS", **PREFLIGHT)
    assert "access-control-allow-private-network" not in not_asked.headers
    disabled = call(app_with(cors()), "OPTIONS", **asked)
    assert "access-control-allow-private-network" not in disabled.headers


# -- error responses -----------------------------------------------------------------------


@pytest.mark.parametrize(("path", "status"), [("/teapot", 418), ("/boom", 500)])
def test_the_headers_stay_on_error_responses(serve: Serve, path: str, status: int) -> None:
    client = serve(app_with(cors(credentials=True, expose_headers="X-Total")))
    response = client.get(path, headers={"Origin": "https://front.example"})
    assert response.status_code == status
    assert response.headers["access-control-allow-origin"] == "https://front.example"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-expose-headers"] == "X-Total"
    vary = response.headers["vary"]
    assert "Origin" in vary
    if status == 418:  # the error's own headers are merged in
        assert "Accept" in vary


def test_keep_headers_on_error_false_drops_them() -> None:
    response = call(app_with(cors(keep_headers_on_error=False)), path="/teapot", Origin="https://front.example")
    assert response.status_code == 418
    assert "access-control-allow-origin" not in response.headers


def test_preflight_over_http(serve: Serve) -> None:
    client = serve(app_with(cors(credentials=True, max_age=3600)))
    response = client.options("/anything", headers={**PREFLIGHT, "Access-Control-Request-Headers": "content-type"})
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://front.example"
    assert response.headers["access-control-allow-headers"] == "content-type"
    assert response.headers["access-control-max-age"] == "3600"
    assert "content-length" not in response.headers or response.headers["content-length"] == "0"


# -- hostile headers -----------------------------------------------------------------------

BAD_ORIGINS = [
    "http://a\x01b",
    "http://a\x7fb",
    "caf\xe9://x",
    "https://front.example, https://evil.example",
    "https://front.example/path",
    "https://user@front.example",
    "  ",
    "://",
    "javascript:alert(1)",
    "https://" + "a" * 10_000 + "\x00",
]


@pytest.mark.parametrize("origin", BAD_ORIGINS)
def test_a_malformed_origin_is_never_reflected(origin: str) -> None:
    app = app_with(cors(credentials=True))
    actual = call(app, Origin=origin)
    assert actual.status_code == 200
    assert "access-control-allow-origin" not in actual.headers
    preflight = call(app, "OPTIONS", Origin=origin, Access_Control_Request_Method="GET")
    assert preflight.status_code == 200  # not allowed: passed on to the app
    assert "access-control-allow-origin" not in preflight.headers


@pytest.mark.parametrize("origin", ["null", "http://localhost:3000", "https://[::1]:8443", "app-scheme://x.y"])
def test_well_formed_origins_are_reflected(origin: str) -> None:
    response = call(app_with(cors(credentials=True)), Origin=origin)
    assert response.headers["access-control-allow-origin"] == origin


@pytest.mark.parametrize(
    "requested",
    ["a b", "x-a,\x01", "caf\xe9", "x-a;y", ",,,", "", "(x)", "x-a, x-b\t, \x7f"],
)
def test_garbage_request_headers_are_not_echoed(requested: str) -> None:
    response = call(app_with(cors()), "OPTIONS", **PREFLIGHT, Access_Control_Request_Headers=requested)
    assert response.status_code == 204
    assert "access-control-allow-headers" not in response.headers


@pytest.mark.parametrize("method", ["\x01", "caf\xe9", "G E T", "x" * 8000])
def test_a_garbage_request_method_is_still_a_preflight(method: str) -> None:
    response = call(app_with(cors()), "OPTIONS", Origin="https://front.example", Access_Control_Request_Method=method)
    assert response.status_code == 204
    assert response.headers["access-control-allow-methods"] == "GET,HEAD,PUT,POST,DELETE,PATCH"


def test_hostile_headers_over_http_leave_the_server_serving(serve: Serve) -> None:
    client = serve(app_with(cors(credentials=True)))
    statuses = []
    for origin in ["http://a\x01b", "caf\xe9://x", "null", "https://x.example, https://y.example"]:
        for request_headers in ["x-a,\x01", "a b", "content-type"]:
            headers = [
                (b"Origin", origin.encode("latin-1")),
                (b"Access-Control-Request-Method", b"PUT"),
                (b"Access-Control-Request-Headers", request_headers.encode("latin-1")),
            ]
            try:
                statuses.append(client.options("/", headers=headers).status_code)
            except httpx.LocalProtocolError:  # httpx refuses to send some of them itself
                continue
    assert len(statuses) >= 6, statuses
    assert set(statuses) <= {200, 204, 400}
    assert 500 not in statuses
    assert client.get("/", headers={"Origin": "null"}).headers["access-control-allow-origin"] == "null"


def test_no_allowed_methods_leaves_the_header_out() -> None:
    response = call(app_with(cors(allow_methods=[])), "OPTIONS", **PREFLIGHT)
    assert response.status_code == 204
    assert "access-control-allow-methods" not in response.headers


def test_credentials_without_an_origin_header_send_no_cors_headers() -> None:
    response = call(app_with(cors(credentials=True)))
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-credentials" not in response.headers
    assert response.headers["vary"] == "Origin"
