"""helmet(): helmet 8's headers and values, each switchable and configurable, kept on errors."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from aiokoa import Context, Koa, Next
from aiokoa.middleware.helmet import DANGEROUSLY_DISABLE_DEFAULT_SRC, DEFAULT_DIRECTIVES, helmet
from aiokoa.testing import TestClient

from ..conftest import Serve

# What helmet 8.3.0 sends with no options (read from a running Express server).
HELMET_DEFAULTS = {
    "content-security-policy": "default-src 'self';base-uri 'self';font-src 'self' https: data:;"
    "form-action 'self';frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';"
    "script-src-attr 'none';style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "origin-agent-cluster": "?1",
    "referrer-policy": "no-referrer",
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-dns-prefetch-control": "off",
    "x-download-options": "noopen",
    "x-frame-options": "SAMEORIGIN",
    "x-permitted-cross-domain-policies": "none",
    "x-xss-protection": "0",
}


def app_with(mw: Any) -> Koa:
    app = Koa(silent=True)
    app.use(mw)

    @app.use
    async def handler(ctx: Context, next: Next) -> None:
        if ctx.path == "/boom":
            raise RuntimeError("unexpected")
        if ctx.path == "/forbidden":
            ctx.throw(403)
        nonce = ctx.state.get("csp_nonce")
        ctx.body = f"<script nonce='{nonce}'>1</script>" if nonce else "ok"

    return app


def get(mw: Any, path: str = "/") -> httpx.Response:
    with TestClient(app_with(mw)) as client:
        return client.get(path)


def test_the_defaults_are_helmets() -> None:
    headers = get(helmet()).headers
    assert {name: headers[name] for name in HELMET_DEFAULTS} == HELMET_DEFAULTS
    assert "cross-origin-embedder-policy" not in headers
    assert "x-powered-by" not in headers


@pytest.mark.parametrize("path", ["/forbidden", "/boom", "/missing"])
def test_the_headers_stay_on_error_responses(serve: Serve, path: str) -> None:
    app = app_with(helmet())
    app.middleware.insert(1, lambda ctx, next: next() if ctx.path != "/missing" else None)
    response = serve(app).get(path)
    assert response.status_code == {"/forbidden": 403, "/boom": 500, "/missing": 404}[path]
    assert {name: response.headers.get(name) for name in HELMET_DEFAULTS} == HELMET_DEFAULTS


def test_keep_headers_on_error_false_drops_them() -> None:
    response = get(helmet(keep_headers_on_error=False), "/forbidden")
    assert response.status_code == 403
    assert "content-security-policy" not in response.headers


OPTIONS = [
    "content_security_policy",
    "cross_origin_opener_policy",
    "cross_origin_resource_policy",
    "origin_agent_cluster",
    "referrer_policy",
    "strict_transport_security",
    "x_content_type_options",
    "x_dns_prefetch_control",
    "x_download_options",
    "x_frame_options",
    "x_permitted_cross_domain_policies",
    "x_xss_protection",
]


@pytest.mark.parametrize(("option", "header"), list(zip(OPTIONS, HELMET_DEFAULTS, strict=True)))
def test_each_header_can_be_switched_off(option: str, header: str) -> None:
    headers = get(helmet(**{option: False})).headers
    assert header not in headers
    assert len([name for name in HELMET_DEFAULTS if name in headers]) == len(HELMET_DEFAULTS) - 1


@pytest.mark.parametrize(
    ("options", "header", "value"),
    [
        ({"cross_origin_embedder_policy": True}, "cross-origin-embedder-policy", "require-corp"),
        (
            {"cross_origin_embedder_policy": {"policy": "credentialless"}},
            "cross-origin-embedder-policy",
            "credentialless",
        ),
        (
            {"cross_origin_opener_policy": {"policy": "same-origin-allow-popups"}},
            "cross-origin-opener-policy",
            "same-origin-allow-popups",
        ),
        ({"cross_origin_resource_policy": {"policy": "cross-origin"}}, "cross-origin-resource-policy", "cross-origin"),
        ({"referrer_policy": {"policy": ["origin", "unsafe-url"]}}, "referrer-policy", "origin,unsafe-url"),
        ({"referrer_policy": {"policy": "same-origin"}}, "referrer-policy", "same-origin"),
        (
            {"strict_transport_security": {"max_age": 63072000.7, "include_sub_domains": False, "preload": True}},
            "strict-transport-security",
            "max-age=63072000; preload",
        ),
        ({"x_dns_prefetch_control": {"allow": True}}, "x-dns-prefetch-control", "on"),
        ({"x_frame_options": {"action": "deny"}}, "x-frame-options", "DENY"),
        ({"x_frame_options": {"action": "same-origin"}}, "x-frame-options", "SAMEORIGIN"),
        (
            {"x_permitted_cross_domain_policies": {"permitted_policies": "by-content-type"}},
            "x-permitted-cross-domain-policies",
            "by-content-type",
        ),
    ],
)
def test_headers_are_configurable(options: dict[str, Any], header: str, value: str) -> None:
    assert get(helmet(**options)).headers[header] == value


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cross_origin_opener_policy": {"policy": "nope"}}, "does not support 'nope'"),
        ({"referrer_policy": {"policy": []}}, "distinct policy tokens"),
        ({"referrer_policy": {"policy": ["origin", "origin"]}}, "distinct policy tokens"),
        ({"strict_transport_security": {"max_age": -1}}, "max_age"),
        ({"strict_transport_security": {"maxAge": 3}}, "has no option maxAge"),
        ({"x_frame_options": {"action": "allow-from"}}, "does not support 'ALLOW-FROM'"),
        ({"x_frame_options": "DENY"}, "takes True, False or a dict"),
        ({"content_security_policy": {"directives": {"default-src": None}}}, "needs a default-src"),
        (
            {"content_security_policy": {"use_defaults": False, "directives": {"img-src": "'self'"}}},
            "needs a default-src",
        ),
        ({"content_security_policy": {"use_defaults": False}}, "no directives"),
        ({"content_security_policy": {"directives": {"script-src": ["self"]}}}, "should be quoted"),
        ({"content_security_policy": {"directives": {"script-src": "'self'; img-src *"}}}, "invalid value"),
        ({"content_security_policy": {"directives": {"bad name": "x"}}}, "invalid directive name"),
        ({"content_security_policy": {"directives": {"img-src": "cdn\x01.example"}}}, "invalid value"),
        ({"content_security_policy": {"directives": {"img-src": "caf\xe9.example"}}}, "invalid value"),
        ({"content_security_policy": {"directives": {"script_src": "a", "scriptSrc": "b"}}}, "twice"),
    ],
)
def test_bad_options_fail_at_once(options: dict[str, Any], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        helmet(**options)


# -- Content-Security-Policy -------------------------------------------------------------


def csp(options: dict[str, Any], path: str = "/") -> str:
    return get(helmet(content_security_policy=options), path).headers["content-security-policy"]


def test_directives_add_to_and_replace_the_defaults() -> None:
    value = csp({"directives": {"scriptSrc": ["'self'", "cdn.example"], "img_src": None, "connect-src": "'self'"}})
    assert "script-src 'self' cdn.example" in value
    assert "img-src" not in value
    assert value.endswith(";connect-src 'self'")
    assert value.startswith("default-src 'self';")


def test_without_defaults_only_the_given_directives() -> None:
    assert csp({"use_defaults": False, "directives": {"default-src": ["'none'"], "img-src": ["'self'"]}}) == (
        "default-src 'none';img-src 'self'"
    )
    disabled = {"use_defaults": False, "directives": {"default-src": DANGEROUSLY_DISABLE_DEFAULT_SRC, "img-src": "*"}}
    assert csp(disabled) == "img-src *"


def test_report_only() -> None:
    headers = get(helmet(content_security_policy={"report_only": True})).headers
    assert "content-security-policy" not in headers
    assert headers["content-security-policy-report-only"] == HELMET_DEFAULTS["content-security-policy"]


def test_a_fresh_nonce_per_request_in_state_and_script_src() -> None:
    app = app_with(helmet(content_security_policy={"nonce": True}))
    with TestClient(app) as client:
        first, second = client.get("/"), client.get("/")
    nonces = []
    for response in (first, second):
        nonce = re.fullmatch(r"<script nonce='([A-Za-z0-9_-]{22})'>1</script>", response.text)
        assert nonce is not None
        nonces.append(nonce.group(1))
        assert f"script-src 'self' 'nonce-{nonce.group(1)}';" in response.headers["content-security-policy"]
    assert nonces[0] != nonces[1]


def test_the_nonce_in_chosen_directives_also_on_errors(serve: Serve) -> None:
    client = serve(app_with(helmet(content_security_policy={"nonce": ["script-src", "style-src"]})))
    value = client.get("/boom").headers["content-security-policy"]
    nonce = re.search(r"script-src 'self' 'nonce-([^']+)'", value)
    assert nonce is not None
    assert f"style-src 'self' https: 'unsafe-inline' 'nonce-{nonce.group(1)}'" in value


def test_a_directive_value_may_be_a_function_of_ctx() -> None:
    def report_to(ctx: Context) -> str:
        return f"/csp-report?path={ctx.path}"

    assert csp({"directives": {"report-uri": report_to}}, "/page").endswith(";report-uri /csp-report?path=/page")


def test_a_function_returning_an_unquoted_keyword_is_a_500() -> None:
    assert get(helmet(content_security_policy={"directives": {"script-src": lambda ctx: "self"}})).status_code == 500


def test_downstream_may_override_a_header() -> None:
    app = Koa()
    app.use(helmet())

    @app.use
    async def frames(ctx: Context, next: Next) -> None:
        ctx.set("X-Frame-Options", "DENY")
        ctx.body = "framed"

    with TestClient(app) as client:
        assert client.get("/").headers["x-frame-options"] == "DENY"


def test_the_default_directives_are_not_shared() -> None:
    helmet(content_security_policy={"nonce": True})
    assert DEFAULT_DIRECTIVES["script-src"] == ["'self'"]
