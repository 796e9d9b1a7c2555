"""The application: middleware list, the ASGI entry point, the `error` event.

`app.use()` only records middleware; the chain is composed once, when the app first
serves (or `callback()` is called), and again only if `use()` is called later (Koa keeps
serving the old chain then; here the new middleware takes part).
"""

from __future__ import annotations

import asyncio
import os
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from typing import Any, Self, TypeVar, overload

from ..http.cookies import CookieError
from ..http.proxy import TrustedProxies
from ..types import ASGIApp, Receive, Scope, Send
from .compose import DONE, Step, adapt, chain, check_downstream
from .context import Context
from .diagnostics import checked_context
from .errorpage import ErrorFormatter
from .implementations import ContextMaker, Serve, context_maker, server
from .instrument import Instrument, instrument_of
from .lifespan import lifespan as run_lifespan
from .request import Request
from .respond import error_response, finish
from .response import Response
from .server import SHUTDOWN_TIMEOUT, serve
from .websocket import WebSocketServer

Listener = Callable[..., Any]
L = TypeVar("L", bound=Listener)
M = TypeVar("M", bound=Callable[..., Any])


class EventEmitter:
    """The few EventEmitter methods Koa apps use: `on`, `once`, `off`, `emit`, `listeners`,
    and `prepend_listener` (Node's `prependListener`)."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    @overload
    def on(self, event: str) -> Callable[[L], L]: ...
    @overload
    def on(self, event: str, listener: Listener) -> Self: ...
    def on(self, event: str, listener: Listener | None = None) -> Self | Callable[[L], L]:
        """`app.on("error", fn)`, or `@app.on("error")` as a decorator."""
        if listener is None:

            def decorator(fn: L) -> L:
                self.on(event, fn)
                return fn

            return decorator
        self._listeners.setdefault(event, []).append(listener)
        return self

    def prepend_listener(self, event: str, listener: Listener) -> Self:
        """Like `on()`, but the listener runs before the ones already there."""
        self._listeners.setdefault(event, []).insert(0, listener)
        return self

    def once(self, event: str, listener: Listener) -> Self:
        def once(*args: Any) -> Any:
            self.off(event, once)
            return listener(*args)

        return self.on(event, once)

    def off(self, event: str, listener: Listener) -> Self:
        if listener in self._listeners.get(event, ()):
            self._listeners[event].remove(listener)
        return self

    def listeners(self, event: str) -> list[Listener]:
        return list(self._listeners.get(event, ()))

    def emit(self, event: str, *args: Any) -> bool:
        """Call the listeners now; an async listener runs as a task. A failing listener is
        reported on stderr and never breaks the request that emitted the event."""
        listeners = self._listeners.get(event)
        if not listeners:
            return False
        for listener in list(listeners):
            try:
                result = listener(*args)
                if asyncio.iscoroutine(result):
                    task = asyncio.ensure_future(result)
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
            except Exception:
                print(f"aiokoa: the {event!r} listener {listener!r} failed:", file=sys.stderr)
                traceback.print_exc()
        return True

    async def emit_async(self, event: str, *args: Any) -> None:
        """Call the listeners one by one, awaiting async ones (startup, shutdown)."""
        for listener in self.listeners(event):
            result = listener(*args)
            if asyncio.iscoroutine(result):
                await result


class Koa(EventEmitter):
    """A Koa application; it is itself an ASGI 3 app (`uvicorn module:app`).

    Options are Koa's: `env` (default `$AIOKOA_ENV` or "development"; any env but
    "production" runs the development checks of docs/onion.md), `keys` (for signed
    cookies), `proxy` (trust X-Forwarded-*), `subdomain_offset`, `proxy_ip_header`,
    `max_ips_count`, `compose` (a custom chain builder), and `silent` (the default error
    listener logs nothing).

    Beyond Koa: `debug` (the HTML traceback page for browsers), `trusted_proxies` (with
    `proxy=True`, believe forwarded headers only from these addresses or networks, e.g.
    `["10.0.0.0/8", "127.0.0.1"]`), `context_var`
    (`True` or your own ContextVar: `app.current_context` is the request's ctx anywhere in
    its task, error listeners included; off by default, so it costs nothing),
    `keep_headers_on_error` and `error_formatter` (see `core/errorpage.py`), `lifespan`
    (`fn(app)`, an async context manager around the app's life whose yielded mapping is
    `ctx.lifespan_state`: `core/lifespan.py`) and `after_timeout` (the seconds `ctx.after()`
    work still running gets at shutdown).
    """

    __slots__ = ("_make_context", "_serve", "_step")  # read per request; apps keep a __dict__
    _make_context: ContextMaker

    def __init__(
        self,
        *,
        env: str | None = None,
        keys: Iterable[str] | None = None,
        proxy: bool = False,
        subdomain_offset: int = 2,
        proxy_ip_header: str = "X-Forwarded-For",
        max_ips_count: int = 0,
        silent: bool = False,
        keep_headers_on_error: Iterable[str] = (),
        trusted_proxies: Iterable[str] | None = None,
        context_var: bool | ContextVar[Context | None] = False,
        error_formatter: ErrorFormatter | None = None,
        debug: bool | None = None,
        compose: Callable[[list[Any]], Step] | None = None,
        lifespan: Callable[[Koa], AbstractAsyncContextManager[Mapping[str, Any] | None]] | None = None,
        after_timeout: float | None = 30.0,
    ) -> None:
        super().__init__()
        named_env = env or os.environ.get("AIOKOA_ENV")
        self.env = named_env or "development"
        self.debug = named_env == "development" if debug is None else debug
        """Browsers get the HTML traceback page for errors. Off unless asked for, or unless
        the environment was *named* "development": Koa's default env alone never shows it."""
        if isinstance(keys, (str, bytes)):  # list() would make a one-letter key of each character
            raise CookieError(f"Koa(keys=...) takes a list of keys, not a single str: Koa(keys=[{keys!r}])")
        self.keys = list(keys) if keys else None
        self.proxy = proxy
        self.subdomain_offset = subdomain_offset  # 0 works here (Koa's `|| 2` cannot take it)
        self.proxy_ip_header = proxy_ip_header
        self.max_ips_count = max_ips_count
        self.silent = silent
        self.trusted_proxies = trusted_proxies
        self.keep_headers_on_error = [name.lower() for name in keep_headers_on_error]
        """Response headers an error response keeps (CORS, security headers); Koa drops all."""
        self.error_formatter = error_formatter
        """`fn(ctx, err, status, message) -> (content_type, body)` (or None: the default
        body, negotiated text, JSON or the development HTML page) for error responses."""
        self.middleware: list[Any] = []
        self.ws = WebSocketServer(self)
        """The onion of websocket connections: `app.ws.use(mw)` (see `core/websocket.py`)."""
        # Per-app subclasses: what is added to them appears on this app's contexts only.
        self.request: type[Request] = type("Request", (Request,), {})
        self.response: type[Response] = type("Response", (Response,), {})
        self.context = type("Context", (Context,), {"request_class": self.request, "response_class": self.response})
        self._step: Step | None = None
        self.instrument: Instrument | None = None
        """The instrument that built the chain (`core/instrument.py`), found among the
        middleware when the chain is composed; None: the plain chain."""
        self._serve: Serve = server(Koa, handle)  # `handle`, or its twin in C
        self.compose = compose
        """Koa's `compose` option: builds the chain from `app.middleware` instead of aiokoa's."""
        self.ctx_storage: ContextVar[Context | None] | None = None
        """The ContextVar behind `current_context` (Koa's `ctxStorage`); None when off."""
        if context_var is not False:
            storage = context_var if isinstance(context_var, ContextVar) else ContextVar("aiokoa.context")
            self.ctx_storage = storage
            self.context = _storing(self.context, storage)
        self.lifespan = lifespan
        """`fn(app)`, an async context manager entered at startup and left at shutdown
        (`core/lifespan.py`); the mapping it yields is `ctx.lifespan_state`."""
        self.lifespan_state: dict[str, Any] = {}
        self.after_timeout = after_timeout
        """Seconds the work queued with `ctx.after()` gets to finish at shutdown (None: no limit)."""
        self.after_tasks: set[asyncio.Task[None]] = set()
        """The `ctx.after()` work running now."""

    @overload
    def use(self, middleware: M, /) -> M: ...
    @overload
    def use(self, first: Any, second: Any, /, *more: Any) -> None: ...
    def use(self, *middleware: Any) -> Any:
        """Add middleware, in order. `use(fn)` returns `fn`, so `@app.use` leaves the name bound
        to the function; `use(a, b, c)` adds several and returns None (no Koa-style chaining:
        a function cannot also be the app)."""
        if not middleware:
            raise TypeError("app.use() needs at least one middleware")
        for fn in middleware:
            adapt(fn)  # reject what can never run now, at use() time, before adding any
        self.middleware.extend(middleware)
        self._step = None
        return middleware[0] if len(middleware) == 1 else None

    def callback(self) -> ASGIApp:
        """The ASGI callable, its chain composed now (else at the first request)."""
        self._compose()
        return self

    def create_context(self, scope: Scope, receive: Receive, send: Send) -> Context:
        """A context for an ASGI request, as every request gets (Koa's `createContext`), for
        code that handles a connection itself, such as a WebSocket upgrade."""
        return self.context(self, scope, receive, send)

    def _compose(self) -> Step:
        if not self.listeners("error"):
            self.on("error", self.onerror)
        # In development: next() called after the response is a clear error, and the
        # development checks watch the middleware and the names set on contexts.
        development = self.env != "production"
        context = checked_context(self._context) if development else self._context
        self._make_context = context_maker(context)
        self.instrument = None
        if self.compose is not None:
            step = self._step = self.compose(self.middleware)
        elif (instrument := instrument_of(self.middleware)) is None:
            step = self._step = chain(self.middleware, late=development, checked=development)
        else:
            self.instrument = instrument
            step = self._step = instrument.chain(self.middleware, late=development)
        return step

    @property
    def context(self) -> type[Context]:
        """The class of this app's contexts (Koa's `app.context`): add to it, or replace it."""
        return self._context

    @context.setter
    def context(self, cls: type[Context]) -> None:
        self._context = cls
        self._make_context = context_maker(cls)  # the hot path's way to make one

    @property
    def trusted_proxies(self) -> TrustedProxies | None:
        """With `proxy=True`, the proxies whose forwarded headers are believed (None: any)."""
        return self._trusted_proxies

    @trusted_proxies.setter
    def trusted_proxies(self, value: Iterable[str] | TrustedProxies | None) -> None:
        self._trusted_proxies = value if value is None or isinstance(value, TrustedProxies) else TrustedProxies(value)

    @property
    def current_context(self) -> Context | None:
        """The context of the request being handled (needs `Koa(context_var=True)`), or None.

        Set in the request's own task (each ASGI request runs in one), so it is there in
        middleware, in what they await, in tasks they start and in `error` listeners."""
        storage = self.ctx_storage
        return None if storage is None else storage.get(None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._serve(self, scope, receive, send)

    def _other(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # The awaitable itself rather than a coroutine awaiting it: a websocket connection
        # resumes every frame between the server and its handler on each message.
        kind = scope["type"]
        if kind == "websocket":
            if self.ws.middleware:
                return self.ws(scope, receive, send)
            return send({"type": "websocket.close", "code": 1000})  # no websocket middleware: no connection
        if kind == "lifespan":
            return run_lifespan(self, scope, receive, send)
        return DONE

    def onerror(self, err: BaseException, ctx: Context | None = None) -> None:
        """The default `error` listener: the traceback on stderr, unless the error is a 404,
        is exposed to the client (a 4xx), or the app is `silent`."""
        if getattr(err, "status", None) == 404 or getattr(err, "expose", False) or self.silent:
            return
        text = "".join(traceback.format_exception(err)).rstrip("\n")
        where = f" in {ctx.method} {ctx.original_url}" if ctx is not None else ""
        indented = "\n".join("  " + line for line in text.split("\n"))
        print(f"\n  aiokoa: error{where}\n{indented}\n", file=sys.stderr)

    def listen(
        self,
        port: int = 3000,
        host: str = "127.0.0.1",
        *,
        shutdown_timeout: float | None = SHUTDOWN_TIMEOUT,
        workers: int = 1,
        **server_options: Any,
    ) -> None:
        """Serve on uvicorn and block until stopped, like Koa's `app.listen(3000)`. SIGTERM or
        Ctrl+C stops it gracefully: no new connections, the requests in flight get up to
        `shutdown_timeout` seconds to finish, then the `shutdown` listeners run and it returns.
        `workers=N` serves from N forked processes, each with its own startup and shutdown."""
        serve(self, host=host, port=port, shutdown_timeout=shutdown_timeout, workers=workers, **server_options)

    def to_json(self) -> dict[str, Any]:
        return {"subdomain_offset": self.subdomain_offset, "proxy": self.proxy, "env": self.env}

    def __repr__(self) -> str:
        return f"<Koa {self.to_json()} middleware={len(self.middleware)}>"


Application = Koa


async def handle(app: Koa, scope: Scope, receive: Receive, send: Send) -> None:
    """One call of `app` (`Koa.__call__`)."""
    # Hot path: one context, the precomposed chain, one check, respond.
    if scope["type"] != "http":
        return await app._other(scope, receive, send)
    step = app._step or app._compose()
    ctx = app._make_context(app, scope, receive, send)
    try:
        await step(ctx, None)
        if ctx._pending is not None:
            check_downstream(ctx)
        out = finish(ctx)
        if type(out) is not tuple:
            if out is not None:
                await out  # type: ignore[misc]  # a stream sends itself
            return
    except Exception as err:
        out = error_response(ctx, err)
        if out is None:
            return
    # A complete body: two messages, sent here rather than in one more coroutine.
    start, end = out
    send = ctx._send  # which an instrument may have wrapped
    if start is not None:
        await send(start)
    await send(end)


def _storing(context: type[Context], storage: ContextVar[Context | None]) -> type[Context]:
    """A context class that makes each new context the current one (`app.current_context`)."""

    def __init__(self: Context, app: Koa, scope: Scope, receive: Receive, send: Send) -> None:
        context.__init__(self, app, scope, receive, send)
        storage.set(self)

    return type("Context", (context,), {"__init__": __init__, "__slots__": ()})
