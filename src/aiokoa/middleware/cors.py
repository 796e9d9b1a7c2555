"""Cross-origin resource sharing, as @koa/cors does it.

`app.use(cors())` answers preflights (an `OPTIONS` request with
`Access-Control-Request-Method`) with 204 without calling `next()`, and adds
`Access-Control-Allow-Origin` (and the other headers asked for) to every other response;
`Vary: Origin` goes on every response. `origin` is a string or a function of `ctx`, sync or
async, whose falsy return leaves the request without CORS headers; with `credentials`, the
origin `"*"` becomes the request's own `Origin`.

Beyond @koa/cors: the headers are kept on error responses through `ctx.keep_on_error`
(Koa drops every header there), and request values are echoed only when they are valid:
an `Origin` that is not `null` or `scheme://host[:port]`, or an
`Access-Control-Request-Headers` that is not a list of header names, is never copied into
the response (the request is then treated as from an origin that is not allowed, or the
preflight answers without `Access-Control-Allow-Headers`), so no request can make the
response itself invalid.
"""

from __future__ import annotations

import contextlib
import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeAlias

from ..core.compose import Middleware, Next
from ..core.context import Context
from ..http.headers import split_list, vary_append

Origin: TypeAlias = "str | Callable[[Context], str | Awaitable[str | None] | None]"
Credentials: TypeAlias = "bool | Callable[[Context], bool | Awaitable[bool]]"
Names: TypeAlias = "str | Iterable[str] | None"

# What a browser sends: the opaque `null`, or a scheme, `://` and a host with an optional
# port; no path, no user info, nothing outside visible ASCII.
_valid_origin = re.compile(r"null|[A-Za-z][A-Za-z0-9+.-]*://[^\x00-\x20\x7f-\xff/?#@\\]+").fullmatch
_token = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+").fullmatch

ALLOW_ORIGIN = "Access-Control-Allow-Origin"
ALLOW_CREDENTIALS = "Access-Control-Allow-Credentials"
EXPOSE_HEADERS = "Access-Control-Expose-Headers"
KEPT = ("Vary", ALLOW_ORIGIN, ALLOW_CREDENTIALS, EXPOSE_HEADERS)
"""What an error response keeps: those of these the response has (a preflight never errs)."""


def _joined(names: Names) -> str | None:
    if names is None or isinstance(names, str):
        return names or None
    return ",".join(names) or None


async def _resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _vary_on_origin(err: Exception) -> None:
    """An error's own `Vary` replaces the one kept on the error response: add `Origin` to it."""
    headers = getattr(err, "headers", None)
    if isinstance(headers, Mapping) and any(str(name).lower() == "vary" for name in headers):
        merged = {name: value for name, value in headers.items() if str(name).lower() != "vary"}
        vary = ", ".join(str(value) for name, value in headers.items() if str(name).lower() == "vary")
        merged["Vary"] = vary_append(vary, "Origin")
        with contextlib.suppress(AttributeError):  # an exception type with __slots__
            err.headers = merged  # type: ignore[attr-defined]


def requested_headers(value: str) -> str | None:
    """`Access-Control-Request-Headers` as it may be echoed, or None when it is not a list
    of header names (nothing then is echoed)."""
    names = [name for name in split_list(value.strip()) if name]
    if not names or not all(_token(name) for name in names):
        return None
    return ",".join(names)


def cors(
    *,
    origin: Origin = "*",
    allow_methods: Names = "GET,HEAD,PUT,POST,DELETE,PATCH",
    allow_headers: Names = None,
    expose_headers: Names = None,
    max_age: float | None = None,
    credentials: Credentials = False,
    keep_headers_on_error: bool = True,
    private_network_access: bool = False,
) -> Middleware:
    """CORS headers on every response, and the answer to preflights.

    - `origin`: the `Access-Control-Allow-Origin` value, or a function of `ctx` (may be
      async) returning it; a falsy return sends no CORS header and passes the request on.
    - `allow_methods`, `allow_headers`, `expose_headers`: comma-separated strings or lists
      of names. `allow_headers` defaults to the headers the preflight asks for.
    - `max_age`: seconds a browser may cache a preflight's answer.
    - `credentials`: `Access-Control-Allow-Credentials: true` (or a function of `ctx`); with
      `origin="*"` the request's `Origin` is sent instead of `*`, as browsers require.
    - `keep_headers_on_error`: keep the CORS headers on error responses, so the browser
      lets the page read the error.
    - `private_network_access`: answer `Access-Control-Request-Private-Network` preflights
      with `Access-Control-Allow-Private-Network: true`.
    """
    methods = _joined(allow_methods)
    allowed_headers = _joined(allow_headers)
    exposed = _joined(expose_headers)
    age = None if max_age is None else str(int(max_age))
    origin_of = origin if callable(origin) else None
    fixed_origin = None if callable(origin) else origin or "*"
    credentials_of = credentials if callable(credentials) else None
    fixed_credentials = bool(credentials)

    async def cors(ctx: Context, next: Next) -> Any:
        if ctx.response.has("Vary"):
            ctx.vary("Origin")
        else:
            ctx.set("Vary", "Origin")  # the usual case, without merging into a list
        allowed = fixed_origin if origin_of is None else await _resolve(origin_of(ctx))
        with_credentials = False
        if allowed:
            if credentials_of is None:
                with_credentials = fixed_credentials
            else:
                with_credentials = bool(await _resolve(credentials_of(ctx)))
            if with_credentials and allowed == "*":
                allowed = ctx.get("Origin")
                if not _valid_origin(allowed):
                    allowed = None  # absent or malformed: nothing to allow
        # Not allowed: no CORS header, and the request goes on.
        if allowed and ctx.method != "OPTIONS":
            ctx.set(ALLOW_ORIGIN, allowed)
            if with_credentials:
                ctx.set(ALLOW_CREDENTIALS, "true")
            if exposed:
                ctx.set(EXPOSE_HEADERS, exposed)
        elif allowed and ctx.get("Access-Control-Request-Method"):  # a preflight: answered here
            ctx.set(ALLOW_ORIGIN, allowed)
            if with_credentials:
                ctx.set(ALLOW_CREDENTIALS, "true")
            if age is not None:
                ctx.set("Access-Control-Max-Age", age)
            if private_network_access and ctx.get("Access-Control-Request-Private-Network"):
                ctx.set("Access-Control-Allow-Private-Network", "true")
            if methods:
                ctx.set("Access-Control-Allow-Methods", methods)
            headers = allowed_headers or requested_headers(ctx.get("Access-Control-Request-Headers"))
            if headers:
                ctx.set("Access-Control-Allow-Headers", headers)
            ctx.status = 204
            return None
        if not keep_headers_on_error:
            return await next()
        ctx.keep_on_error(*KEPT)
        try:
            return await next()
        except Exception as err:
            _vary_on_origin(err)
            raise

    return cors
