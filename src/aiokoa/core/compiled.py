"""Where the C extension (`aiokoa._speedups`) binds to the core: the one module that knows it.

`pip install` compiles it where a C compiler is found. It holds twins of three steps every
request takes: making a context (`Context.__init__`), the cascade's `next()`
(`compose.python_step`) and one call of an app (`application.serve`). Elsewhere, with
`AIOKOA_PURE_PYTHON=1` in the environment or on a free-threaded Python, aiokoa runs the
pure-Python code they mirror, which stays the reference: the test suite runs in both modes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from . import compose, misuse
from .compose import DONE, Step, check_downstream
from .context import Context
from .extension import speedups
from .respond import failed, finish

if TYPE_CHECKING:
    from ..types import Receive, Scope, Send
    from .application import Koa

ContextMaker: TypeAlias = "Callable[[Koa, Scope, Receive, Send], Context]"
Serve: TypeAlias = "Callable[[Koa, Scope, Receive, Send], Awaitable[None]]"


def _c_step(fns: tuple[Any, ...], late: bool) -> Step:
    return speedups.Chain(fns, late, misuse.next_called_twice, misuse.next_called_late, DONE)  # type: ignore[union-attr, no-any-return]


if speedups is not None:
    # C learns the context's fields and their first values from a context made by Python.
    _prototype = Context.__new__(Context)
    Context.__init__(_prototype, None, None, None, None)  # type: ignore[arg-type]
    speedups.bind(Context, _prototype)
    del _prototype
    compose.make_step = _c_step


def context_maker(cls: type[Context]) -> ContextMaker:
    """What makes an app's contexts: C, unless the class has its own `__init__`."""
    if speedups is not None and cls.__init__ is Context.__init__:
        return speedups.ContextFactory(cls)  # type: ignore[no-any-return]
    return cls


def server(koa: type[Koa], serve: Serve) -> Serve:
    """What serves one call of an app of class `koa` (or a subclass): `serve`, or its C twin."""
    if speedups is not None:
        return speedups.Server(koa, check_downstream, finish, failed)  # type: ignore[no-any-return]
    return serve
