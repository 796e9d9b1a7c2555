"""csrf(): the Origin / Sec-Fetch-Site check and the session's token, over a real cookie jar."""

from __future__ import annotations

from typing import Any

import pytest

from aiokoa import Context, Koa, Next
from aiokoa.middleware import SessionContext, csrf, csrf_token, session
from aiokoa.testing import TestClient

from ..conftest import Serve


def guarded_app(**options: Any) -> Koa:
    """GET /token gives a token; POST /transfer changes state; /form takes the token from a
    parsed form body, as a body parser leaves it on ctx.request.body."""
    app = Koa(keys=["secret"])
    app.use(session())

    @app.use
    async def form_body(ctx: Context, next: Next) -> None:
        if ctx.path == "/form":
            ctx.request.body = {"_csrf": ctx.query.get("token", "")}
        await next()

    app.use(csrf(**options))

    @app.use
    async def routes(ctx: SessionContext, next: Next) -> None:
        if ctx.path == "/token":
            ctx.body = {"token": csrf_token(ctx)}
        else:
            ctx.session["transfers"] = ctx.session.get("transfers", 0) + 1
            ctx.body = {"transfers": ctx.session["transfers"]}

    return app


def test_a_token_from_the_session_lets_unsafe_requests_through(serve: Serve) -> None:
    client = serve(guarded_app())
    token = client.get("/token").json()["token"]
    other = client.get("/token").json()["token"]
    assert token != other  # salted: each differs, both valid
    same_origin = {"Origin": str(client.base_url).rstrip("/"), "Sec-Fetch-Site": "same-origin"}
    assert client.post("/transfer", headers={"X-CSRF-Token": token, **same_origin}).json() == {"transfers": 1}
    assert client.post("/transfer", headers={"X-CSRF-Token": other}).json() == {"transfers": 2}
    assert client.get("/transfer").status_code == 200  # a safe method is never checked


def test_a_missing_token_is_refused() -> None:
    with TestClient(guarded_app()) as client:
        client.get("/token")
        refused = client.post("/transfer")
        assert refused.status_code == 403
        assert refused.text.startswith("CSRF token missing: send csrf_token(ctx) in the X-CSRF-Token header")


@pytest.mark.parametrize("token", ["garbage", ".", "a.b", "x" * 500, "salt.\u00e9", "\u00e9.\u00e9"])
def test_a_wrong_token_is_refused(token: str) -> None:
    with TestClient(guarded_app()) as client:
        client.get("/token")
        refused = client.post("/transfer", headers={b"X-CSRF-Token": token.encode()})
        assert refused.status_code == 403
        assert refused.text == "CSRF token invalid: it was not made for this session"


def test_a_token_from_another_session_is_refused() -> None:
    app = guarded_app()
    with TestClient(app) as attacker:
        stolen = attacker.get("/token").json()["token"]
        assert attacker.post("/transfer", headers={"X-CSRF-Token": stolen}).status_code == 200
    with TestClient(app) as victim:
        victim.get("/token")
        assert victim.post("/transfer", headers={"X-CSRF-Token": stolen}).status_code == 403
    with TestClient(app) as fresh:  # no session at all
        assert fresh.post("/transfer", headers={"X-CSRF-Token": stolen}).status_code == 403


def test_the_token_in_a_form_field() -> None:
    with TestClient(guarded_app()) as client:
        token = client.get("/token").json()["token"]
        assert client.post(f"/form?token={token}").status_code == 200
        assert client.post("/form?token=nope").status_code == 403


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"Sec-Fetch-Site": "cross-site"}, "CSRF: a cross-site request may not POST here (Sec-Fetch-Site: cross-site)"),
        ({"Sec-Fetch-Site": "same-site"}, "CSRF: a same-site request may not POST here (Sec-Fetch-Site: same-site)"),
        ({"Sec-Fetch-Site": "garbage"}, "CSRF: a garbage request may not POST here (Sec-Fetch-Site: garbage)"),
        ({"Origin": "https://evil.example"}, "CSRF: a request from https://evil.example may not POST here"),
        ({"Origin": "null"}, "CSRF: a request from null may not POST here"),
        ({"Origin": "http://testserver.evil.example"}, "CSRF: a request from http://testserver.evil.example"),
        ({"Origin": "https://testserver"}, "CSRF: a request from https://testserver may not"),  # another scheme
    ],
)
def test_requests_from_elsewhere_are_refused_even_with_a_token(headers: dict[str, str], message: str) -> None:
    with TestClient(guarded_app()) as client:
        token = client.get("/token").json()["token"]
        refused = client.post("/transfer", headers={"X-CSRF-Token": token, **headers})
        assert refused.status_code == 403
        assert refused.text.startswith(message)


def test_trusted_origins_and_other_options() -> None:
    app = guarded_app(trusted_origins=["https://admin.example/"], header="X-XSRF-Token", safe_methods=["GET", "POST"])
    with TestClient(app) as client:
        # POST is a safe method here
        assert client.post("/transfer", headers={"Origin": "https://evil.example"}).status_code == 200
        token = client.get("/token").json()["token"]
        trusted = {"Origin": "https://ADMIN.example", "Sec-Fetch-Site": "cross-site", "X-XSRF-Token": token}
        assert client.put("/transfer", headers=trusted).status_code == 200
        assert client.put("/transfer", headers={"X-CSRF-Token": token}).status_code == 403


def test_csrf_needs_the_session_first() -> None:
    app = Koa()
    app.use(csrf())
    app.use(lambda ctx, next: setattr(ctx, "body", csrf_token(ctx)))
    errors: list[BaseException] = []
    app.on("error", lambda err, ctx: errors.append(err))
    with TestClient(app) as client:
        assert client.post("/", headers={"X-CSRF-Token": "a.b"}).status_code == 500
        assert client.get("/").status_code == 500
    assert all("app.use(session()) before app.use(csrf())" in str(err) for err in errors)
    assert len(errors) == 2
