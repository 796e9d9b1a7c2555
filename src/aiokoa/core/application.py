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
from collections.abc import Callable, Iterable
from typing import Any, Self, TypeVar, overload

from ..types import ASGIApp, Receive, Scope, Send
from .compose import Step, adapt, chain, check_downstream
from .context import Context
from .request import Request
from .respond import respond, respond_error
from .response import Response

Listener = Callable[..., Any]
L = TypeVar("L", bound=Listener)


class EventEmitter:
    """The few EventEmitter methods Koa apps use: `on`, `once`, `off`, `emit`, `listeners`."""

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

    Options are Koa's: `env` (default `$AIOKOA_ENV` or "development"), `keys` (for signed
    cookies), `proxy` (trust X-Forwarded-*), `subdomain_offset`, `proxy_ip_header`,
    `max_ips_count`, and `silent` (the default error listener logs nothing).
    """

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
    ) -> None:
        super().__init__()
        self.env = env or os.environ.get("AIOKOA_ENV") or "development"
        self.keys = list(keys) if keys else None
        self.proxy = proxy
        self.subdomain_offset = subdomain_offset  # 0 works here (Koa's `|| 2` cannot take it)
        self.proxy_ip_header = proxy_ip_header
        self.max_ips_count = max_ips_count
        self.silent = silent
        self.keep_headers_on_error = [name.lower() for name in keep_headers_on_error]
        """Response headers an error response keeps (CORS, security headers); Koa drops all."""
        self.middleware: list[Any] = []
        # Per-app subclasses: what is added to them appears on this app's contexts only.
        self.request: type[Request] = type("Request", (Request,), {})
        self.response: type[Response] = type("Response", (Response,), {})
        self.context: type[Context] = type(
            "Context", (Context,), {"request_class": self.request, "response_class": self.response}
        )
        self._step: Step | None = None

    def use(self, middleware: Any) -> Koa:
        """Add a middleware; returns the app, so calls chain. Works as `@app.use` too."""
        adapt(middleware)  # reject what can never run now, at use() time
        self.middleware.append(middleware)
        self._step = None
        return self

    def callback(self) -> ASGIApp:
        """The ASGI callable, its chain composed now (else at the first request)."""
        self._compose()
        return self

    def _compose(self) -> Step:
        if not self.listeners("error"):
            self.on("error", self.onerror)
        step = self._step = chain(self.middleware)
        return step

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Hot path: one context, the precomposed chain, one check, respond.
        if scope["type"] != "http":
            return await self._other(scope, receive, send)
        step = self._step or self._compose()
        ctx = self.context(self, scope, receive, send)
        try:
            await step(ctx, None)
            if ctx._pending is not None:
                check_downstream(ctx)
            ctx._finished = True
            await respond(ctx)
        except Exception as err:
            ctx._finished = True
            await respond_error(ctx, err)

    async def _other(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1000})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """ASGI lifespan: `startup` and `shutdown` events, awaited before serving/exiting."""
        while True:
            message = await receive()
            phase = message["type"].rsplit(".", 1)[-1]
            try:
                await self.emit_async(phase)
            except Exception as err:
                await send({"type": f"lifespan.{phase}.failed", "message": repr(err)})
                if phase == "startup":
                    return
                continue
            await send({"type": f"lifespan.{phase}.complete"})
            if phase == "shutdown":
                return

    def onerror(self, err: BaseException, ctx: Context | None = None) -> None:
        """The default `error` listener: the traceback on stderr, unless the error is a 404,
        is exposed to the client (a 4xx), or the app is `silent`."""
        if getattr(err, "status", None) == 404 or getattr(err, "expose", False) or self.silent:
            return
        text = "".join(traceback.format_exception(err)).rstrip("\n")
        where = f" in {ctx.method} {ctx.original_url}" if ctx is not None else ""
        indented = "\n".join("  " + line for line in text.split("\n"))
        print(f"\n  aiokoa: error{where}\n{indented}\n", file=sys.stderr)

    def listen(self, port: int = 3000, host: str = "127.0.0.1", **server_options: Any) -> None:
        """Serve on uvicorn and block until stopped, like Koa's `app.listen(3000)`."""
        from ..server import serve

        serve(self, host=host, port=port, **server_options)

    def to_json(self) -> dict[str, Any]:
        return {"subdomain_offset": self.subdomain_offset, "proxy": self.proxy, "env": self.env}

    def __repr__(self) -> str:
        return f"<Koa {self.to_json()} middleware={len(self.middleware)}>"


Application = Koa
