"""Error bodies negotiated from Accept (text, JSON, the development HTML page), the
`error_formatter` hook, and the headers an error response keeps."""

from __future__ import annotations

import json
from typing import Any

import pytest

import aiokoa
from aiokoa import Context, Koa, Middleware, Next
from aiokoa.core.errorpage import default_error_body

from .conftest import Serve

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


async def failing(ctx: Context, next: Next) -> None:
    ctx.set("X-Temp", "1")
    if ctx.path == "/404":
        ctx.throw(404, "no <b>user</b> 7")
    raise RuntimeError("secret <script>alert(1)</script>")


def app_for(*first: Middleware, **options: Any) -> Koa:
    app = Koa(silent=True, **options)
    app.use(*first, failing)
    return app


@pytest.mark.parametrize("accept", [None, "*/*", "text/plain", "image/png", "application/json;q=0.5, text/plain"])
def test_text_is_the_default(serve: Serve, accept: str | None) -> None:
    headers = {"accept": accept} if accept else {}
    client = serve(app_for())
    answer = client.get("/404", headers=headers)
    assert (answer.status_code, answer.headers["content-type"], answer.text) == (
        404,
        "text/plain; charset=utf-8",
        "no <b>user</b> 7",
    )
    assert client.get("/", headers=headers).text == "Internal Server Error"


@pytest.mark.parametrize("accept", ["application/json", "application/json, text/plain, */*"])
def test_json_for_clients_that_prefer_it(serve: Serve, accept: str) -> None:
    client = serve(app_for())
    answer = client.get("/404", headers={"accept": accept})
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert answer.json() == {"error": {"status": 404, "message": "no <b>user</b> 7"}}
    assert int(answer.headers["content-length"]) == len(answer.content)
    assert client.get("/", headers={"accept": accept}).json() == {
        "error": {"status": 500, "message": "Internal Server Error"}
    }


def test_html_page_for_browsers_in_development_escapes_everything(serve: Serve) -> None:
    answer = serve(app_for(aiokoa.trace(log=None), env="development")).get("/?q=<i>", headers={"accept": BROWSER})
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    page = answer.text
    assert "<title>500 Internal Server Error</title>" in page
    assert "RuntimeError: secret &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>" not in page and "<i>" not in page
    assert "Traceback (most recent call last)" in page
    assert '<h2 id="cascade">The cascade</h2>' in page
    assert "failing (tests/test_errors_negotiated.py:" in page  # the trace, on the page
    assert "http://" not in page and "https://" not in page  # no external assets


def test_html_page_without_trace_says_how_to_get_one(serve: Serve) -> None:
    page = serve(app_for(env="development")).get("/", headers={"accept": BROWSER}).text
    assert "<code>app.use(aiokoa.trace())</code>" in page


@pytest.mark.parametrize(
    "options", [{"env": "production"}, {"env": "test"}, {}, {"env": "development", "debug": False}]
)
def test_no_html_page_outside_debug_mode(
    serve: Serve, options: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIOKOA_ENV", raising=False)
    app = app_for(**options)
    assert app.env == options.get("env", "development")  # the default env is development, as in Koa...
    answer = serve(app).get("/", headers={"accept": BROWSER})  # ...but shows no traceback
    assert (answer.headers["content-type"], answer.text) == ("text/plain; charset=utf-8", "Internal Server Error")


def test_debug_mode_from_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOKOA_ENV", "development")
    assert Koa().debug is True
    monkeypatch.setenv("AIOKOA_ENV", "production")
    assert (Koa().debug, Koa(debug=True).debug) == (False, True)


def test_head_gets_no_body(serve: Serve) -> None:
    answer = serve(app_for()).head("/404", headers={"accept": "application/json"})
    assert (answer.status_code, answer.content) == (404, b"")
    assert answer.headers["content-type"] == "application/json; charset=utf-8"


def test_error_formatter_replaces_the_body_and_keeps_the_error_event(serve: Serve) -> None:
    seen: list[tuple[Any, ...]] = []
    events: list[BaseException] = []

    def problem(ctx: Context, err: BaseException, status: int, message: str) -> tuple[str, str] | None:
        seen.append((type(err).__name__, status, message))
        if ctx.path == "/default":
            return None
        return "application/problem+json", json.dumps({"status": status, "title": message})

    app = Koa(error_formatter=problem)
    app.use(failing)
    app.on("error", lambda err, ctx: events.append(err))
    client = serve(app)
    answer = client.get("/404")
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json() == {"status": 404, "title": "no <b>user</b> 7"}
    assert client.get("/").json() == {"status": 500, "title": "Internal Server Error"}
    assert client.get("/default").text == "Internal Server Error"
    assert seen == [
        ("HttpError", 404, "no <b>user</b> 7"),
        ("RuntimeError", 500, "Internal Server Error"),
        ("RuntimeError", 500, "Internal Server Error"),
    ]
    assert len(events) == 3


def test_a_failing_formatter_falls_back_to_the_default(serve: Serve, capfd: pytest.CaptureFixture[str]) -> None:
    app = app_for()
    app.error_formatter = lambda ctx, err, status, message: 1 / 0  # type: ignore[assignment, return-value]
    answer = serve(app).get("/404")
    assert (answer.status_code, answer.text) == (404, "no <b>user</b> 7")
    assert "app.error_formatter failed" in capfd.readouterr().err


def test_the_formatter_can_wrap_the_default(serve: Serve) -> None:
    def tagged(ctx: Context, err: BaseException, status: int, message: str) -> tuple[str, str]:
        content_type, body = default_error_body(ctx, err, status, message)
        return content_type, f"[{status}] {body}"

    assert serve(app_for(error_formatter=tagged)).get("/404").text == "[404] no <b>user</b> 7"


def test_headers_kept_per_app_and_per_response(serve: Serve) -> None:
    async def headers(ctx: Context, next: Next) -> None:
        ctx.set("Access-Control-Allow-Origin", "*")
        ctx.set("X-Request-Id", "42")
        ctx.set("Strict-Transport-Security", "max-age=1")
        ctx.cookies.set("sid", "abc")
        ctx.keep_on_error("X-Request-Id", "Set-Cookie")
        await next()

    app = Koa(silent=True, keep_headers_on_error=["Access-Control-Allow-Origin"])
    app.use(headers, failing)
    answer = serve(app).get("/404")
    assert answer.status_code == 404
    assert answer.headers["access-control-allow-origin"] == "*"
    assert answer.headers["x-request-id"] == "42"
    assert answer.headers["set-cookie"].startswith("sid=abc")
    assert "strict-transport-security" not in answer.headers
    assert "x-temp" not in answer.headers


def test_kept_headers_are_per_request(serve: Serve) -> None:
    async def keep_once(ctx: Context, next: Next) -> None:
        ctx.set("X-Once", "1")
        if ctx.query.get("keep"):
            ctx.keep_on_error("X-Once")
        await next()

    app = Koa(silent=True)
    app.use(keep_once, failing)
    client = serve(app)
    assert client.get("/404?keep=1").headers.get("x-once") == "1"
    assert "x-once" not in client.get("/404").headers
