"""The extension point for code that watches the cascade, such as `aiokoa.trace()`.

An *instrument* is an object added with `app.use()`, anywhere in the stack, that has the
two methods of `Instrument`. When the app composes its chain it asks the first instrument
it finds to build it, instead of `compose.chain`: the instrument can then wrap each
middleware once, at compose time, and start a record per request. When an error replaces
the response, the app asks the instrument for its `report` on the request, which the
development error page shows.

An app without an instrument composes its plain chain: nothing here runs per request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .compose import Step, flatten

if TYPE_CHECKING:
    from ..types import Send
    from .context import Context


@runtime_checkable
class Instrument(Protocol):
    """What makes a middleware object an instrument (see the module's docstring)."""

    def chain(self, middleware: Iterable[Any], *, late: bool = False) -> Step:
        """The app's chain, as `compose.chain(middleware, late=late)` builds it, instrumented.
        The instrument itself is in `middleware`: it leaves itself out of the chain."""
        ...

    def report(self, ctx: Context, err: BaseException, status: int) -> object | None:
        """What the instrument knows of a request that `err` turned into a `status` response
        (None: nothing); its `str()` is shown on the development error page. Called when
        the error response is made, and again by that page: it may be called twice."""
        ...


def instrument_of(middleware: Iterable[Any]) -> Instrument | None:
    """The first instrument among an app's middleware, or None."""
    return next((fn for fn in flatten(middleware) if isinstance(fn, Instrument)), None)


def wrap_send(ctx: Context, wrap: Callable[[Send], Send]) -> None:
    """Send this request's response through `wrap(send)`, where `send` is the ASGI send the
    app would use: every message of the response goes through it, error responses and
    streams included. For an instrument's chain, before anything was sent."""
    ctx._send = wrap(ctx._send)
