"""Typed delegation from the `ctx.request`/`ctx.response` views to the context's state."""

from __future__ import annotations

from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class Delegate(Generic[T]):
    """`status: Delegate[int] = Delegate("status")` reads and writes `view.ctx.status`."""

    __slots__ = ("name", "readonly")

    def __init__(self, name: str, *, readonly: bool = False) -> None:
        self.name = name
        self.readonly = readonly

    @overload
    def __get__(self, view: None, owner: type[Any]) -> Delegate[T]: ...
    @overload
    def __get__(self, view: object, owner: type[Any]) -> T: ...
    def __get__(self, view: object | None, owner: type[Any]) -> Delegate[T] | T:
        if view is None:
            return self
        return getattr(view.ctx, self.name)  # type: ignore[attr-defined, no-any-return]

    def __set__(self, view: object, value: T) -> None:
        if self.readonly:
            raise AttributeError(f"{self.name} is read-only")
        setattr(view.ctx, self.name, value)  # type: ignore[attr-defined]
