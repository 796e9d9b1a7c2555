"""`csrf()`: refuse the state-changing requests another site makes a browser send.

    app.use(session())
    app.use(csrf())
    # in a page or a JSON answer for the front end:
    ctx.body = {"csrf": csrf_token(ctx)}

A browser sends the session cookie with any request to the site, even one a page of
another site made: for a request that is not GET, HEAD or OPTIONS (`safe_methods`), two
checks refuse it with 403 and a message saying which failed:

- where it comes from: `Sec-Fetch-Site` must be `same-origin` or `none` (typed by the
  user), or else, from browsers that do not send it, `Origin` must be this site's own
  origin. `trusted_origins` adds others. A request with neither header goes on to:
- a token: `X-CSRF-Token` (`header`) or the `_csrf` field (`field`) of a parsed form body
  (`ctx.request.body`, when a body parser ran before) must be a token made by
  `csrf_token(ctx)` for this session. Tokens are salted, so each one differs (a page's
  compressed bytes do not reveal the secret), and any of them is valid for the
  session's life; a token from another session is not.

The secret behind the tokens lives in the session (`ctx.session`, so `session()` must run
first), made the first time a token is asked for.

Where it differs from @koa/csrf: the token is `csrf_token(ctx)`, not a `ctx.csrf` getter;
the Origin / Sec-Fetch-Site check comes first, so a cross-site request is refused even
with a token that leaked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Collection, Mapping
from typing import Any

from ..core.compose import Middleware, Next
from ..core.context import Context

SECRET = "_csrf"
"""The session's key holding the secret tokens are made from."""


def csrf(
    *,
    header: str = "X-CSRF-Token",
    field: str = "_csrf",
    safe_methods: Collection[str] = ("GET", "HEAD", "OPTIONS"),
    trusted_origins: Collection[str] = (),
) -> Middleware:
    """The CSRF middleware (after `session()`). `trusted_origins` lists other origins allowed
    to send unsafe requests (`"https://admin.example"`)."""
    safe = frozenset(method.upper() for method in safe_methods)
    trusted = frozenset(origin.lower().rstrip("/") for origin in trusted_origins)

    async def csrf_middleware(ctx: Context, next: Next) -> Any:
        if ctx.method not in safe:
            _check_source(ctx, trusted)
            _check_token(ctx, header, field)
        return await next()

    return csrf_middleware


def csrf_token(ctx: Context) -> str:
    """A token for the request's session, to send back in `X-CSRF-Token` or a `_csrf` form
    field; makes the session's secret the first time."""
    data = _session(ctx)
    secret = data.get(SECRET)
    if not isinstance(secret, str):
        secret = data[SECRET] = secrets.token_urlsafe(24)
    salt = secrets.token_urlsafe(9)
    return f"{salt}.{_mac(secret, salt)}"


def _check_source(ctx: Context, trusted: frozenset[str]) -> None:
    origin = ctx.get("Origin").lower()
    if origin and origin in trusted:
        return
    site = ctx.get("Sec-Fetch-Site")
    if site:
        if site not in ("same-origin", "none"):
            ctx.throw(403, f"CSRF: a {site} request may not {ctx.method} here (Sec-Fetch-Site: {site})")
    elif origin and origin != f"{ctx.protocol}://{ctx.host}".lower():
        ctx.throw(403, f"CSRF: a request from {origin} may not {ctx.method} here (Origin is not this site's)")


def _check_token(ctx: Context, header: str, field: str) -> None:
    token = ctx.get(header)
    if not token:
        body = getattr(ctx.request, "body", None)
        value = body.get(field) if isinstance(body, Mapping) else None
        token = value if isinstance(value, str) else ""
    if not token:
        ctx.throw(403, f"CSRF token missing: send csrf_token(ctx) in the {header} header or a {field} form field")
    secret = _session(ctx).get(SECRET)
    salt, _, mac = token.partition(".")
    if not isinstance(secret, str) or not hmac.compare_digest(mac.encode(), _mac(secret, salt).encode()):
        ctx.throw(403, "CSRF token invalid: it was not made for this session")


def _mac(secret: str, salt: str) -> str:
    digest = hmac.new(secret.encode(), salt.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _session(ctx: Context) -> Any:
    data = getattr(ctx, "session", None)
    if data is None:
        raise RuntimeError("csrf() keeps its secret in the session: app.use(session()) before app.use(csrf())")
    return data
