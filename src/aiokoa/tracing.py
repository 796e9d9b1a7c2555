"""The cascade made visible: each request's onion as a tree, and as a Server-Timing header.

    app.use(aiokoa.trace())                              # anywhere in the stack
    app.use(aiokoa.trace(log=None, server_timing=True))  # devtools show each middleware's time

The tracer is an instrument (`aiokoa.core.instrument`): without one the app composes its
plain chain and nothing here runs. With one, each middleware is wrapped once, when the
chain is composed, by a function that notes when the middleware was entered, when it
called `next()`, when it returned and what it raised. The request's `send` is wrapped too:
the final status and the Server-Timing header are taken where the response really goes
out, error responses included. The log is written when the response has been sent,
numbered as the seed example numbers its steps: 1, 2, 3 on the way down and 4, 5 on the
way back up.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable
from time import perf_counter
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .core.compose import Step, adapt, chain, flatten
from .core.instrument import wrap_send
from .core.misuse import code_of
from .http.statuses import MESSAGES

if TYPE_CHECKING:
    from .core.compose import Middleware, Next
    from .core.context import Context
    from .types import Message, Send

Log = Callable[[str], Any]


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Tracer:
    """What to do with each request's trace: `log` it (a function taking the text; stderr by
    default, None for no log) and/or send a `Server-Timing` header.

    Added with `app.use(trace())` it is the app's instrument: the app asks it to build the
    chain, so it wraps all of the app's middleware, wherever it sits, and takes no part in
    the chain itself."""

    __slots__ = ("log", "server_timing")

    def __init__(self, *, log: Log | None = _stderr, server_timing: bool = False) -> None:
        self.log = log
        self.server_timing = server_timing

    async def __call__(self, ctx: Context, next: Next) -> Any:
        return await next()  # only reached inside compose() or a router: nothing to trace

    def chain(self, middleware: Iterable[Any], *, late: bool = False) -> Step:
        """The app's chain with every middleware wrapped, and a trace made per request."""
        fns = [fn for fn in flatten(middleware) if not isinstance(fn, Tracer)]
        labels = [Label(fn) for fn in fns]
        step = chain([_wrap(adapt(fn), label) for fn, label in zip(fns, labels, strict=True)], late=late, checked=late)
        tracer = self

        def start(ctx: Context, outer: Next | None) -> Any:
            trace = Trace(tracer, ctx, len(labels))
            ctx.__dict__["trace"] = trace  # an app's contexts take attributes of their own
            wrap_send(ctx, trace.sending)
            return step(ctx, outer)

        return start

    def report(self, ctx: Context, err: BaseException, status: int) -> Trace | None:
        """The request's trace, which now knows the error that made the `status` response."""
        trace = of(ctx)
        if trace is not None:
            trace.error = err
            trace.status = status
        return trace

    def __repr__(self) -> str:
        return f"<Tracer log={self.log!r} server_timing={self.server_timing}>"


def trace(*, log: Log | None = _stderr, server_timing: bool = False) -> Tracer:
    """`app.use(trace())`: log every request's cascade (to stderr unless `log` is given)."""
    return Tracer(log=log, server_timing=server_timing)


def of(ctx: Context) -> Trace | None:
    """The request's trace (`ctx.trace`, when the app is traced), e.g. for your own error page."""
    return getattr(ctx, "trace", None)


class Label:
    """A middleware as the trace names it: `name (file:line)`, worked out once."""

    __slots__ = ("metric", "name", "where")

    def __init__(self, fn: Any) -> None:
        self.name: str = getattr(fn, "__qualname__", None) or type(fn).__qualname__
        code = code_of(fn)
        self.where = f"{_short(code.co_filename)}:{code.co_firstlineno}" if code else ""
        short = self.name.rsplit(".", 1)[-1]
        self.metric = re.sub(r"[^A-Za-z0-9_.-]", "_", short) or "middleware"


class Span:
    """One middleware in one request: when it ran, and what passed through it."""

    __slots__ = ("end", "error", "label", "next_at", "route_after", "route_before", "start")

    def __init__(self, label: Label, route: str | None) -> None:
        self.label = label
        self.start = perf_counter()
        self.next_at: float | None = None
        self.end: float | None = None
        self.error: BaseException | None = None
        self.route_before = route
        self.route_after: str | None = None


def _wrap(fn: Middleware, label: Label) -> Middleware:
    """`fn` noting its span: a compose-time wrapper, so an untraced app never has one."""

    async def traced(ctx: Context, next: Next) -> Any:
        span = Span(label, getattr(ctx, "route_path", None))
        ctx.__dict__["trace"].spans.append(span)

        def traced_next() -> Any:
            span.next_at = perf_counter()
            return next()

        try:
            result = await fn(ctx, traced_next)
        except BaseException as err:
            span.error = err
            raise
        finally:
            span.end = perf_counter()
            span.route_after = getattr(ctx, "route_path", None)
        return result

    traced.__wrapped__ = fn  # type: ignore[attr-defined]  # misuse messages name the user's function
    traced.__qualname__ = label.name
    return traced


class Trace:
    """One request's trace: a span per middleware reached, in order, and how it ended."""

    __slots__ = ("chain_length", "ctx", "end", "error", "spans", "start", "status", "tracer")

    def __init__(self, tracer: Tracer, ctx: Context, chain_length: int) -> None:
        self.tracer = tracer
        self.ctx = ctx
        self.chain_length = chain_length
        self.spans: list[Span] = []
        self.start = perf_counter()
        self.end: float | None = None
        self.status: int | None = None
        self.error: BaseException | None = None
        """The error that made the response (given to `Tracer.report`)."""

    def sending(self, send: Send) -> Send:
        """`send` that takes the status, adds Server-Timing, and logs once the body is out."""
        tracer = self.tracer

        async def traced_send(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                self.status = message["status"]
                if tracer.server_timing:
                    timing = (b"server-timing", self.server_timing().encode("latin-1"))
                    message = {**message, "headers": [*message.get("headers", ()), timing]}
            elif kind == "http.response.body" and not message.get("more_body", False) and self.end is None:
                self.end = perf_counter()
                if tracer.log is not None:
                    tracer.log(self.render())
            await send(message)

        return traced_send

    # -- Server-Timing -----------------------------------------------------------------

    def server_timing(self) -> str:
        """`1.x_response_time;dur=0.412;desc="down 0.030ms / up 0.020ms", ...`: each
        middleware's time including downstream, so devtools draw the onion's layers."""
        metrics = []
        for index, span in enumerate(self.spans):
            if span.end is None:
                continue  # headers sent while it runs (streaming): no duration yet
            down, up = self._down_up(index)
            desc = f"{down:.3f}ms" if up is None else f"down {down:.3f}ms / up {up:.3f}ms"
            dur = (span.end - span.start) * 1000
            metrics.append(f'{index + 1}.{span.label.metric};dur={dur:.3f};desc="{desc}"')
        return ", ".join(metrics)

    def _down_up(self, index: int) -> tuple[float, float | None]:
        """Milliseconds before `next()` and after downstream returned (None: no next())."""
        span = self.spans[index]
        end = span.end if span.end is not None else perf_counter()
        if span.next_at is None:
            return (end - span.start) * 1000, None
        child = self.spans[index + 1] if index + 1 < len(self.spans) else None
        back = child.end if child is not None and child.end is not None else span.next_at
        return (span.next_at - span.start) * 1000, max(end - back, 0.0) * 1000

    # -- the tree ----------------------------------------------------------------------

    def render(self, *, status: int | None = None) -> str:
        """The cascade as text, the seed's numbering: down 1, 2, 3, then back up 4, 5."""
        ctx = self.ctx
        code = status if status is not None else self.status if self.status is not None else ctx.status
        end = self.end if self.end is not None else perf_counter()
        route = next((s.route_after for s in reversed(self.spans) if s.route_after), None) or getattr(
            ctx, "route_path", None
        )
        head = f"{ctx.method} {ctx.original_url} -> {code} {MESSAGES.get(code, '')}".rstrip()
        head += f" in {_ms(end - self.start)}"
        if route:
            head += f" (route {route})"
        lines = [head]
        step = 0
        ups: list[tuple[int, int]] = []
        for index, span in enumerate(self.spans):
            step += 1
            lines.append(self._down(index, step))
            if span.next_at is not None:
                ups.append((index, len(lines)))
        for index, _ in reversed(ups):
            step += 1
            lines.append(self._up(index, step))
        lines += self._ending(code)
        return "\n".join(lines)

    def _down(self, index: int, step: int) -> str:
        span = self.spans[index]
        label = span.label
        where = f" ({label.where})" if label.where else ""
        down, up = self._down_up(index)
        text = f"{'  ' * index}{step}) {label.name}{where}"
        if up is None:
            text += f" {_ms(down / 1000)}, no next()" if span.end is not None else " still running"
            text += self._handled(index)
            if span.error is not None and self._raised_here(index):
                text += f", raised {_where_raised(span.error)}"
            return text
        text += f" down {_ms(down / 1000)}"
        if index + 1 >= len(self.spans) and self._below(index):
            text += ", next() not awaited: nothing downstream ran"
        return text

    def _up(self, index: int, step: int) -> str:
        span = self.spans[index]
        text = f"{'  ' * index}{step}) {span.label.name}"
        if span.end is None:
            return text + " still running"
        _, up = self._down_up(index)
        text += f" up {_ms((up or 0.0) / 1000)}" + self._handled(index)
        child = self.spans[index + 1] if index + 1 < len(self.spans) else None
        below = child.error if child is not None else None
        if below is not None and below is not span.error:
            text += f", caught {_name(below)} from {child.label.name}" if child is not None else ""
        if span.error is not None:
            if span.error is below:
                text += f", {_name(span.error)} passed through"
            else:
                text += f", raised {_where_raised(span.error)}"
        return text

    def _below(self, index: int) -> bool:
        """Whether the middleware's `next()` led to another one (not to the chain's end)."""
        return index + 1 < self.chain_length

    def _raised_here(self, index: int) -> bool:
        child = self.spans[index + 1] if index + 1 < len(self.spans) else None
        error = self.spans[index].error
        return child is None or child.error is not error

    def _handled(self, index: int) -> str:
        span = self.spans[index]
        if span.route_after is None or span.route_after == span.route_before:
            return ""
        child = self.spans[index + 1] if index + 1 < len(self.spans) else None
        if child is not None and child.route_after == span.route_after and child.route_before != child.route_after:
            return ""  # a middleware further down matched the route
        return f", route {span.route_after}"

    def _ending(self, code: int) -> list[str]:
        err = self.error
        if err is None:
            return []
        first = self.spans[0] if self.spans else None
        if first is not None and first.error is err:
            return [f"{_name(err)} was not caught by any middleware: the app answered {code} and emitted 'error'"]
        if all(span.error is not err for span in self.spans):
            return [f"{_where_raised(err)}, after the middleware returned: the app answered {code}"]
        return []

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"<Trace {self.ctx.method} {self.ctx.original_url} spans={len(self.spans)}>"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}ms"


def _name(err: BaseException) -> str:
    return type(err).__name__


def _where_raised(err: BaseException) -> str:
    """`HttpError: no user 7 at examples/errors.py:38 in users`: the deepest frame of the
    traceback that is not aiokoa's own."""
    text = str(err).split("\n", 1)[0]
    head = f"{_name(err)}: {text}" if text else _name(err)
    frame = _user_frame(err.__traceback__)
    return f"{head} at {frame}" if frame else head


def _user_frame(tb: TracebackType | None) -> str | None:
    found = None
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if not (module == "aiokoa" or module.startswith("aiokoa.")):
            code = tb.tb_frame.f_code
            found = f"{_short(code.co_filename)}:{tb.tb_lineno} in {code.co_qualname}"
        tb = tb.tb_next
    return found


def _short(filename: str) -> str:
    """A path relative to the working directory when it is under it, as people write them."""
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive (Windows)
        return filename
    return filename if relative.startswith("..") else relative
