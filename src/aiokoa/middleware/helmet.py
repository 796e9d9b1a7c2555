"""Security headers, as helmet 8 sets them (koa-helmet wraps it for Koa).

`app.use(helmet())` sets helmet's default headers, with its default values, before
`next()`: Content-Security-Policy, Cross-Origin-Opener-Policy, Cross-Origin-Resource-Policy,
Origin-Agent-Cluster, Referrer-Policy, Strict-Transport-Security, X-Content-Type-Options,
X-DNS-Prefetch-Control, X-Download-Options, X-Frame-Options,
X-Permitted-Cross-Domain-Policies and `X-XSS-Protection: 0`. Each option is helmet's, in
snake_case: `False` leaves the header out, `True` takes the default, a dict of options
configures it (`strict_transport_security={"max_age": 63072000, "preload": True}`).
Cross-Origin-Embedder-Policy is off unless asked for, as in helmet.

Beyond koa-helmet: the headers are kept on error responses (Koa drops them there, so an
error page went out without its CSP); `content_security_policy={"nonce": True}` makes a
fresh nonce per request, in `ctx.state["csp_nonce"]` and in `script-src`, for inline
scripts; a directive value may be a function of `ctx`. aiokoa never sends
`X-Powered-By`, so there is nothing for helmet's `x_powered_by` to remove.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeAlias

from ..core.compose import Middleware, Next
from ..core.context import Context

Setting: TypeAlias = "bool | Mapping[str, Any]"
DirectiveValue: TypeAlias = "str | Callable[[Context], str]"

DEFAULT_DIRECTIVES: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "base-uri": ["'self'"],
    "font-src": ["'self'", "https:", "data:"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "script-src": ["'self'"],
    "script-src-attr": ["'none'"],
    "style-src": ["'self'", "https:", "'unsafe-inline'"],
    "upgrade-insecure-requests": [],
}
"""helmet 8's Content-Security-Policy directives."""

DANGEROUSLY_DISABLE_DEFAULT_SRC = object()
"""The value of `default-src` that leaves it out (helmet refuses a policy without it otherwise)."""

_directive_name = re.compile(r"[a-z](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?").fullmatch
_camel = re.compile(r"[A-Z]")
# Keywords and hashes that only mean something quoted: unquoted, they are host names.
_SHOULD_BE_QUOTED = {
    "none",
    "self",
    "strict-dynamic",
    "report-sample",
    "inline-speculation-rules",
    "unsafe-inline",
    "unsafe-eval",
    "unsafe-hashes",
    "wasm-unsafe-eval",
}
# Each policy header's default value first, then the other values it takes.
_POLICIES = {
    "Cross-Origin-Embedder-Policy": ("require-corp", "credentialless", "unsafe-none"),
    "Cross-Origin-Opener-Policy": ("same-origin", "same-origin-allow-popups", "noopener-allow-popups", "unsafe-none"),
    "Cross-Origin-Resource-Policy": ("same-origin", "same-site", "cross-origin"),
}
_REFERRER_TOKENS = {
    "no-referrer",
    "no-referrer-when-downgrade",
    "same-origin",
    "origin",
    "strict-origin",
    "origin-when-cross-origin",
    "strict-origin-when-cross-origin",
    "unsafe-url",
    "",
}


def _options(header: str, setting: Setting, defaults: Mapping[str, Any]) -> dict[str, Any] | None:
    """The options of one header: None when switched off, else the defaults updated."""
    if setting is False:
        return None
    if setting is True:
        return dict(defaults)
    if not isinstance(setting, Mapping):
        raise TypeError(f"helmet(): {header} takes True, False or a dict of options, not {setting!r}")
    unknown = set(setting) - set(defaults)
    if unknown:
        known = ", ".join(sorted(defaults)) or "none"
        raise ValueError(f"helmet(): {header} has no option {', '.join(sorted(unknown))} (it takes: {known})")
    return {**defaults, **setting}


def _one_of(header: str, value: object, allowed: Iterable[str]) -> str:
    if value not in set(allowed):
        raise ValueError(f"helmet(): {header} does not support {value!r} (use one of {sorted(allowed)})")
    return str(value)


def _check_value(name: str, value: str) -> str:
    if ";" in value or "," in value or not (value.isascii() and value.isprintable()):
        raise ValueError(f"helmet(): Content-Security-Policy's {name} has an invalid value {value!r}")
    if value in _SHOULD_BE_QUOTED or value.startswith(("nonce-", "sha256-", "sha384-", "sha512-")):
        raise ValueError(f"helmet(): Content-Security-Policy's {name} value {value!r} should be quoted: \"'{value}'\"")
    return value


def _directives(options: Mapping[str, Any]) -> list[tuple[str, list[DirectiveValue]]]:
    """The policy's directives in order, validated; `script_src`, `scriptSrc` and
    `script-src` name the same directive."""
    result: dict[str, list[DirectiveValue]] = (
        {name: list(values) for name, values in DEFAULT_DIRECTIVES.items()} if options["use_defaults"] else {}
    )
    disabled_default = False
    seen: set[str] = set()
    for raw_name, raw_value in dict(options["directives"]).items():
        name = _camel.sub(lambda upper: "-" + upper.group().lower(), str(raw_name).replace("_", "-"))
        if not _directive_name(name):
            raise ValueError(f"helmet(): Content-Security-Policy has an invalid directive name {raw_name!r}")
        if name in seen:
            raise ValueError(f"helmet(): Content-Security-Policy has the directive {name!r} twice")
        seen.add(name)
        if raw_value is DANGEROUSLY_DISABLE_DEFAULT_SRC and name == "default-src":
            disabled_default = True
            result.pop(name, None)
        elif raw_value is None:
            if name == "default-src":
                raise ValueError(
                    "helmet(): Content-Security-Policy needs a default-src; to leave it out, set it to "
                    "DANGEROUSLY_DISABLE_DEFAULT_SRC (from aiokoa.middleware.helmet)"
                )
            result.pop(name, None)
        else:
            values = [raw_value] if isinstance(raw_value, str) or callable(raw_value) else list(raw_value)
            result[name] = [value if callable(value) else _check_value(name, str(value)) for value in values]
    if not result:
        raise ValueError("helmet(): Content-Security-Policy has no directives: set some, or switch the header off")
    if "default-src" not in result and not disabled_default:
        raise ValueError("helmet(): Content-Security-Policy needs a default-src")
    nonce = options["nonce"]
    for name in ["script-src"] if nonce is True else list(nonce or ()):
        result.setdefault(name, ["'self'"]).append(_nonce_source)
    return list(result.items())


def _nonce_source(ctx: Context) -> str:
    return f"'nonce-{ctx.state['csp_nonce']}'"


Template: TypeAlias = "list[str | tuple[str, Callable[[Context], str]]]"


def _template(directives: list[tuple[str, list[DirectiveValue]]]) -> Template:
    """The policy as text with holes: each function of `ctx` (with its directive's name),
    between the texts around it; a policy without functions is one text."""
    parts: Template = []
    text = ""
    for index, (name, values) in enumerate(directives):
        text += (";" if index else "") + name
        for value in values:
            if callable(value):
                parts += [text + " ", (name, value)]
                text = ""
            else:
                text += " " + value
    parts.append(text)
    return [part for part in parts if part]


def _render(template: Template, ctx: Context) -> str:
    return "".join(part if isinstance(part, str) else _check_value(part[0], part[1](ctx)) for part in template)


def _static_headers(
    *,
    cross_origin_embedder_policy: Setting,
    cross_origin_opener_policy: Setting,
    cross_origin_resource_policy: Setting,
    origin_agent_cluster: bool,
    referrer_policy: Setting,
    strict_transport_security: Setting,
    x_content_type_options: bool,
    x_dns_prefetch_control: Setting,
    x_download_options: bool,
    x_frame_options: Setting,
    x_permitted_cross_domain_policies: Setting,
    x_xss_protection: bool,
) -> dict[str, str]:
    """Every header but the CSP, as name -> value; they do not change per request."""
    headers: dict[str, str] = {}
    policies = {
        "Cross-Origin-Embedder-Policy": cross_origin_embedder_policy,
        "Cross-Origin-Opener-Policy": cross_origin_opener_policy,
        "Cross-Origin-Resource-Policy": cross_origin_resource_policy,
    }
    for header, setting in policies.items():
        default, *allowed = _POLICIES[header]
        if chosen := _options(header, setting, {"policy": default}):
            headers[header] = _one_of(header, chosen["policy"], [default, *allowed])
    if origin_agent_cluster:
        headers["Origin-Agent-Cluster"] = "?1"
    if referrer := _options("Referrer-Policy", referrer_policy, {"policy": "no-referrer"}):
        tokens = [referrer["policy"]] if isinstance(referrer["policy"], str) else list(referrer["policy"])
        if not tokens or len(set(tokens)) != len(tokens):
            raise ValueError(f"helmet(): Referrer-Policy needs distinct policy tokens, not {tokens!r}")
        headers["Referrer-Policy"] = ",".join(_one_of("Referrer-Policy", token, _REFERRER_TOKENS) for token in tokens)
    hsts_defaults = {"max_age": 365 * 24 * 60 * 60, "include_sub_domains": True, "preload": False}
    if hsts := _options("Strict-Transport-Security", strict_transport_security, hsts_defaults):
        max_age = hsts["max_age"]
        if not isinstance(max_age, (int, float)) or not 0 <= max_age < float("inf"):
            raise ValueError(f"helmet(): Strict-Transport-Security's max_age must be seconds >= 0, not {max_age!r}")
        directives = [f"max-age={int(max_age)}"]
        directives += ["includeSubDomains"] * bool(hsts["include_sub_domains"]) + ["preload"] * bool(hsts["preload"])
        headers["Strict-Transport-Security"] = "; ".join(directives)
    if x_content_type_options:
        headers["X-Content-Type-Options"] = "nosniff"
    if dns := _options("X-DNS-Prefetch-Control", x_dns_prefetch_control, {"allow": False}):
        headers["X-DNS-Prefetch-Control"] = "on" if dns["allow"] else "off"
    if x_download_options:
        headers["X-Download-Options"] = "noopen"
    if frame := _options("X-Frame-Options", x_frame_options, {"action": "sameorigin"}):
        action = str(frame["action"]).upper().replace("SAME-ORIGIN", "SAMEORIGIN")
        headers["X-Frame-Options"] = _one_of("X-Frame-Options", action, ("DENY", "SAMEORIGIN"))
    permitted = _options(
        "X-Permitted-Cross-Domain-Policies", x_permitted_cross_domain_policies, {"permitted_policies": "none"}
    )
    if permitted:
        policies_allowed = ("none", "master-only", "by-content-type", "all")
        value = _one_of("X-Permitted-Cross-Domain-Policies", permitted["permitted_policies"], policies_allowed)
        headers["X-Permitted-Cross-Domain-Policies"] = value
    if x_xss_protection:
        headers["X-XSS-Protection"] = "0"  # the browsers' XSS auditor did more harm than good
    return headers


def helmet(
    *,
    content_security_policy: Setting = True,
    cross_origin_embedder_policy: Setting = False,
    cross_origin_opener_policy: Setting = True,
    cross_origin_resource_policy: Setting = True,
    origin_agent_cluster: bool = True,
    referrer_policy: Setting = True,
    strict_transport_security: Setting = True,
    x_content_type_options: bool = True,
    x_dns_prefetch_control: Setting = True,
    x_download_options: bool = True,
    x_frame_options: Setting = True,
    x_permitted_cross_domain_policies: Setting = True,
    x_xss_protection: bool = True,
    keep_headers_on_error: bool = True,
) -> Middleware:
    """helmet 8's security headers, each switchable (`False`) and configurable (a dict).

    - `content_security_policy`: `{"directives": {...}, "use_defaults": True,
      "report_only": False, "nonce": False}`. Directives add to or replace helmet's
      defaults (`None` removes one); values are strings or functions of `ctx`. `nonce`:
      True puts a fresh `'nonce-...'` in `script-src` per request (a list of directive
      names puts it in those), its value in `ctx.state["csp_nonce"]`.
    - `cross_origin_embedder_policy` (off by default), `cross_origin_opener_policy`,
      `cross_origin_resource_policy`, `referrer_policy`: `{"policy": ...}`.
    - `strict_transport_security`: `{"max_age": 31536000, "include_sub_domains": True, "preload": False}`.
    - `x_dns_prefetch_control`: `{"allow": False}`; `x_frame_options`: `{"action": "sameorigin"}`;
      `x_permitted_cross_domain_policies`: `{"permitted_policies": "none"}`.
    - `origin_agent_cluster`, `x_content_type_options`, `x_download_options`,
      `x_xss_protection`: on or off.
    - `keep_headers_on_error`: keep them on error responses (an error page needs its CSP too).
    """
    headers = _static_headers(
        cross_origin_embedder_policy=cross_origin_embedder_policy,
        cross_origin_opener_policy=cross_origin_opener_policy,
        cross_origin_resource_policy=cross_origin_resource_policy,
        origin_agent_cluster=origin_agent_cluster,
        referrer_policy=referrer_policy,
        strict_transport_security=strict_transport_security,
        x_content_type_options=x_content_type_options,
        x_dns_prefetch_control=x_dns_prefetch_control,
        x_download_options=x_download_options,
        x_frame_options=x_frame_options,
        x_permitted_cross_domain_policies=x_permitted_cross_domain_policies,
        x_xss_protection=x_xss_protection,
    )
    csp_defaults = {"directives": {}, "use_defaults": True, "report_only": False, "nonce": False}
    csp = _options("Content-Security-Policy", content_security_policy, csp_defaults)
    directives = _directives(csp) if csp else []
    template = _template(directives)
    dynamic = not all(isinstance(part, str) for part in template)
    nonce = bool(csp and csp["nonce"])
    csp_name = "Content-Security-Policy-Report-Only" if csp and csp["report_only"] else "Content-Security-Policy"
    if csp and not dynamic:
        headers = {csp_name: str(template[0]), **headers}
    # Lower-case names and values checked above: the response's own dict takes them as they are.
    fixed = {name.lower(): value for name, value in headers.items()}
    names = list(fixed) + [csp_name] * dynamic

    async def helmet(ctx: Context, next: Next) -> Any:
        ctx.response.headers.update(fixed)
        if dynamic:
            if nonce:
                ctx.state["csp_nonce"] = secrets.token_urlsafe(16)
            ctx.set(csp_name, _render(template, ctx))
        if keep_headers_on_error:
            ctx.keep_on_error(*names)
        return await next()

    return helmet
