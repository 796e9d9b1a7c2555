"""Where the C extension (`aiokoa._speedups`) binds to the core: the one module that knows it.

`pip install` compiles it where a C compiler is found. It holds twins of three steps every
request takes: making a context (`Context.__init__`), the cascade's `next()`
(`compose.python_step`) and one call of an app (`application.handle`). Elsewhere, with
`AIOKOA_PURE_PYTHON=1` in the environment or on a free-threaded Python, aiokoa runs the
pure-Python code they mirror, which stays the reference. `use()` chooses between the two
for the apps and chains made after it: the test suite runs every test with both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from . import compose, misuse
from .compose import DONE, Step, check_downstream
from .context import Context
from .extension import speedups
from .respond import error_response, finish

if TYPE_CHECKING:
    from ..types import Receive, Scope, Send
    from .application import Koa

ContextMaker: TypeAlias = "Callable[[Koa, Scope, Receive, Send], Context]"
Serve: TypeAlias = "Callable[[Koa, Scope, Receive, Send], Awaitable[None]]"
Implementation: TypeAlias = Literal["c", "python"]


def _c_step(fns: tuple[Any, ...], late: bool) -> Step:
    return speedups.Chain(fns, late, misuse.next_called_twice, misuse.next_called_late, DONE)  # type: ignore[union-attr, no-any-return]


if speedups is not None:
    # C learns the context's fields and their first values from a context made by Python.
    _prototype = Context.__new__(Context)
    Context.__init__(_prototype, None, None, None, None)  # type: ignore[arg-type]
    speedups.bind(Context, _prototype)
    del _prototype


class _Chosen:
    implementation: Implementation = "python"


def implementation() -> Implementation:
    """What apps and chains made from now on run (`use()`)."""
    return _Chosen.implementation


def use(name: Implementation) -> None:
    """Make apps (their contexts and their call) and chains with `name`'s code from now on;
    what was made before keeps its own."""
    if name == "c" and speedups is None:
        raise RuntimeError("the C extension is not built here, or is turned off")
    _Chosen.implementation = name
    compose.make_step = _c_step if name == "c" else compose.python_step


def context_maker(cls: type[Context]) -> ContextMaker:
    """What makes an app's contexts: C, unless the class has its own `__init__` or `__new__`."""
    if _Chosen.implementation == "c" and cls.__init__ is Context.__init__ and cls.__new__ is Context.__new__:
        return speedups.ContextFactory(cls)  # type: ignore[union-attr, no-any-return]
    return cls


def server(koa: type[Koa], serve: Serve) -> Serve:
    """What serves one call of an app of class `koa` (or a subclass): `serve`, or its C twin."""
    if _Chosen.implementation == "python":
        return serve
    made = _servers.get(koa)
    if made is None:
        made = _servers[koa] = speedups.Server(koa, check_downstream, finish, error_response)  # type: ignore[union-attr]
    return made


_servers: dict[type[Koa], Serve] = {}  # one C twin per app class that asks


use("c" if speedups is not None else "python")
