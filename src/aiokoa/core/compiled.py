"""The C versions of the costliest per-request steps (`aiokoa._speedups`), when built.

`pip install` compiles them where a C compiler is found. Elsewhere, or with
`AIOKOA_PURE_PYTHON=1` in the environment, aiokoa runs the pure-Python code they mirror,
which stays the reference: the test suite runs in both modes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeAlias

from ..http.jsonbody import dumps
from ..http.statuses import EMPTY
from . import respond as respond_module
from .compose import check_downstream
from .context import Context
from .cookies import Cookies
from .extension import speedups
from .request import Request
from .response import Response, _encoded_names

if TYPE_CHECKING:
    from ..types import Message, Receive, Scope, Send
    from .application import Koa

ContextMaker: TypeAlias = "Callable[[Koa, Scope, Receive, Send], Context]"

if speedups is not None:
    # C learns the context's fields and their first values from a context made by Python.
    _prototype = Context.__new__(Context)
    Context.__init__(_prototype, None, None, None, None)  # type: ignore[arg-type]
    speedups.bind(Context, _prototype, _encoded_names)
    del _prototype
    # A finished context is reset and made again when only its own views still refer to it.
    speedups.bind_views((("_request", Request, "ctx"), ("_response", Response, "ctx"), ("_cookies", Cookies, "_ctx")))
    speedups.bind_respond(respond_module.respond, EMPTY, dumps)

finish: Callable[[Context], tuple[Message | None, Message] | Awaitable[None] | None] = (
    respond_module.finish if speedups is None else speedups.finish
)
"""`respond.finish`: in C for GET-like requests with a str, bytes, dict or list body."""


def bind_app(koa: type[Koa]) -> None:
    """Calling a `koa` app runs the C twin of `koa.__call__`; so does calling an app of a
    subclass that keeps that `__call__` (`serve_in_c`). Only the class's call slot changes:
    `app.__call__` stays the Python method, which servers inspect (uvicorn tells ASGI 3
    apps by it) and subclasses extend."""
    if speedups is not None:
        speedups.bind_serve(koa, check_downstream, respond_module.failed)
        serve_in_c(koa, koa.__call__)


def serve_in_c(cls: type[Koa], call: Callable[..., Awaitable[None]]) -> None:
    """A subclass of the bound app class: its calls run in C too, unless it has its own `__call__`."""
    if speedups is not None:
        speedups.serve_in_c(cls, call)


def context_maker(cls: type[Context]) -> ContextMaker:
    """What makes an app's contexts: C, unless the class has its own `__init__`."""
    if speedups is not None and cls.__init__ is Context.__init__:
        return speedups.ContextFactory(cls)  # type: ignore[no-any-return]
    return cls
