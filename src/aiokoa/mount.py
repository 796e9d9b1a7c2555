"""`mount(prefix, app)`: serve another aiokoa app, a middleware, or any ASGI app under a prefix.

An aiokoa app or a middleware is run as koa-mount runs it: on the same context, with
`ctx.path` shortened by the prefix while it runs, and falling through to the rest of the
chain when it calls `next()`. Any other ASGI app (Starlette, FastAPI, ...) gets a scope
whose `root_path` is extended by the prefix while `path` stays the full path, as the ASGI
spec asks; it answers through `ctx.send`, so aiokoa sends nothing itself. The other way
round needs nothing: an aiokoa app is an ASGI app, and it strips `root_path` from the path.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from .core.application import Koa
from .core.compose import Step, adapt, chain
from .router.router import Router

if TYPE_CHECKING:
    from .core.compose import Middleware, Next
    from .core.context import Context
    from .types import ASGIApp, Scope


def mount(prefix: str, app: Any) -> Middleware:
    """A middleware serving `app` under `prefix` (`app.use(mount("/api", api))`).

    `app` may be an aiokoa app, a router, a `(ctx, next)` middleware, or an ASGI app;
    a request outside the prefix goes straight to `next()`.
    """
    if not prefix.startswith("/"):
        raise ValueError(f"mount prefix must start with '/', got {prefix!r}")
    prefix = prefix.rstrip("/")
    if isinstance(app, Router):
        app = app.routes()
    if isinstance(app, Koa):
        return _mount_koa(prefix, app)
    if _is_asgi(app):
        return _mount_asgi(prefix, app)
    return _mount_middleware(prefix, adapt(app), app)


def _strip(prefix: str, path: str) -> str | None:
    """The path below `prefix`, or None when the path is not under it (segment-wise)."""
    if not prefix:
        return path
    if not path.startswith(prefix):
        return None
    rest = path[len(prefix) :]
    if not rest:
        return "/"
    return rest if rest[0] == "/" else None


def _mount_koa(prefix: str, app: Koa) -> Middleware:
    cache: list[Any] = [None, -1]  # (step, middleware count): recomposed if app.use() ran since

    async def mounted_app(ctx: Context, next: Next) -> Any:
        step: Step | None = cache[0]
        if step is None or cache[1] != len(app.middleware):
            step = cache[0] = chain(app.middleware)
            cache[1] = len(app.middleware)
        return await _run_below(prefix, step, ctx, next)

    mounted_app.__qualname__ = f"mount({prefix!r}, {app!r})"
    return mounted_app


def _mount_middleware(prefix: str, middleware: Middleware, original: Any) -> Middleware:
    step = chain([middleware])

    async def mounted_middleware(ctx: Context, next: Next) -> Any:
        return await _run_below(prefix, step, ctx, next)

    mounted_middleware.__qualname__ = f"mount({prefix!r}, {getattr(original, '__qualname__', original)!r})"
    return mounted_middleware


async def _run_below(prefix: str, step: Step, ctx: Context, next: Next) -> Any:
    # Hot path for mounted apps: one prefix test, then the mounted chain.
    outer_path = ctx.path
    path = _strip(prefix, outer_path)
    if path is None:
        return await next()

    async def upstream() -> Any:
        ctx.path = outer_path  # the rest of the outer chain sees the outer path
        try:
            return await next()
        finally:
            ctx.path = path

    ctx.path = path
    try:
        return await step(ctx, upstream)
    finally:
        ctx.path = outer_path


def _mount_asgi(prefix: str, app: ASGIApp) -> Middleware:
    async def mounted_asgi(ctx: Context, next: Next) -> Any:
        path = _strip(prefix, ctx.path)
        if path is None:
            return await next()
        await app(_child_scope(ctx, prefix, path), ctx.receive, ctx.send)
        return None

    mounted_asgi.__qualname__ = f"mount({prefix!r}, {app!r})"
    return mounted_asgi


def _child_scope(ctx: Context, prefix: str, path: str) -> Scope:
    """The scope a mounted ASGI app sees: `root_path` grows by what was consumed above it.

    `ctx.path` may already be shortened by an enclosing mount, so what lies between the
    request's root path and `ctx.path` counts as consumed too.
    """
    scope = ctx.scope
    root = scope.get("root_path", "")
    original = ctx.original_url.split("?", 1)[0]
    consumed = original[: len(original) - len(ctx.path)] if original.endswith(ctx.path) else ""
    child_root = root + unquote(consumed + prefix)
    child = dict(scope)
    child["root_path"] = child_root
    child["path"] = child_root + unquote(path)
    child["raw_path"] = (quote(child_root) + path).encode("latin-1", "replace")
    child["query_string"] = ctx.querystring.encode("latin-1", "replace")
    return child


def _is_asgi(app: Any) -> bool:
    """An ASGI app requires (scope, receive, send); a middleware takes (ctx, next)."""
    target = app if inspect.isfunction(app) or inspect.ismethod(app) else getattr(app, "__call__", None)  # noqa: B004
    if target is None:
        raise TypeError(f"cannot mount {app!r}: not an app or a middleware")
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return False
    required = [
        p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return len(required) == 3  # a middleware's third parameter has a default
