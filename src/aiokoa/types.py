"""Type aliases shared by the whole package (ASGI and middleware signatures)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from .core.context import Context

Scope: TypeAlias = MutableMapping[str, Any]
Message: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]

Next: TypeAlias = Callable[[], Awaitable[Any]]
Middleware: TypeAlias = Callable[["Context", Next], Awaitable[Any]]
"""`async def mw(ctx, next)`: the one shape every middleware has once `use()` adapted it."""

HeaderValue: TypeAlias = "str | int | list[str]"
