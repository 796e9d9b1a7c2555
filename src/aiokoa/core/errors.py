"""HTTP errors: `HttpError`, `create_error` (http-errors' rules) and `ctx.assert_`.

Python cannot raise a non-exception (`raise None` is itself a `TypeError`), so Koa's
"non-error thrown" and `throw null` hang cannot happen: such code fails with a TypeError,
which becomes a 500 and an `error` event like any other exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from ..http.statuses import MESSAGES


class HttpError(Exception):
    """An error that carries the HTTP response it should produce.

    `expose` decides whether `message` reaches the client (by default only for 4xx);
    `headers` are sent with the error response.
    """

    __module__ = "aiokoa"

    status: int
    expose: bool
    headers: dict[str, str] | None

    def __init__(
        self,
        status: int = 500,
        message: str | None = None,
        *,
        expose: bool | None = None,
        headers: Mapping[str, str] | None = None,
        **props: Any,
    ) -> None:
        self.status = status
        self.message = message or MESSAGES.get(status, "Internal Server Error")
        self.expose = status < 500 if expose is None else expose
        self.headers = dict(headers) if headers else None
        for key, value in props.items():
            setattr(self, key, value)
        super().__init__(self.message)

    @property
    def status_code(self) -> int:
        return self.status

    def __repr__(self) -> str:
        return f"HttpError({self.status}, {self.message!r})"


class ClientDisconnect(Exception):
    """The client went away while its request body was being read (`ctx.read()`, `form()`,
    ...). Nothing can answer it: aiokoa ends the request quietly, with no `error` event and
    nothing logged, and removes the temporary files of its form. Catch it only to stop work
    that is no longer wanted."""

    __module__ = "aiokoa"


def is_http_error(value: object) -> bool:
    """An `HttpError`, or any exception shaped like one (an int `status` and a bool `expose`),
    as Koa 3.3's `isHttpError` recognises errors from other libraries."""
    if isinstance(value, HttpError):
        return True
    return (
        isinstance(value, Exception)
        and type(getattr(value, "status", None)) is int
        and isinstance(getattr(value, "expose", None), bool)
    )


def _valid_status(status: object) -> bool:
    return type(status) is int and (status in MESSAGES or 400 <= status < 600)


def create_error(*args: Any, **props: Any) -> Exception:
    """Build an error as Koa's `ctx.throw` does (http-errors v2).

    Arguments, left to right: a status (first only), a message, an existing exception, and
    keyword properties copied onto the error (`status` among them is ignored).
    """
    err: Exception | None = None
    status = 500
    message: str | None = None
    for index, arg in enumerate(args):
        if isinstance(arg, BaseException):
            if not isinstance(arg, Exception):
                raise TypeError(f"argument #{index + 1} cannot be a {type(arg).__name__}")
            err = arg
            status = getattr(arg, "status", None) or getattr(arg, "status_code", None) or status
        elif type(arg) is int and index == 0:
            status = arg
        elif isinstance(arg, str):
            message = arg
        elif isinstance(arg, Mapping):
            props = {**arg, **props}
        else:
            raise TypeError(f"argument #{index + 1} unsupported type {type(arg).__name__}")
    if not _valid_status(status):
        status = 500
    props.pop("status", None)
    props.pop("status_code", None)
    headers = props.pop("headers", None)
    if err is None:
        err = HttpError(status, message, headers=headers)
    elif not isinstance(err, HttpError) or err.status != status:
        err.expose = status < 500  # type: ignore[attr-defined]
        err.status = status  # type: ignore[attr-defined]
        if headers is not None:
            err.headers = dict(headers)  # type: ignore[attr-defined]
    for key, value in props.items():
        setattr(err, key, value)
    return err


def status_of(err: BaseException) -> int:
    """The status an error answers with: its `status` (or `status_code`) if valid, else 500."""
    status = getattr(err, "status", None) or getattr(err, "status_code", None)
    return status if type(status) is int and status in MESSAGES else 500


class Assert:
    """`ctx.assert_(value, status, message, **props)` and the http-assert helpers."""

    __slots__ = ()

    def __call__(self, value: object, status: int = 500, message: str | None = None, **props: Any) -> None:
        if not value:
            self.fail(status, message, **props)

    ok = __call__

    def fail(self, status: int = 500, message: str | None = None, **props: Any) -> NoReturn:
        raise create_error(status, *([message] if message else []), **props)

    def equal(self, a: object, b: object, status: int = 500, message: str | None = None, **props: Any) -> None:
        self(a == b, status, message, **props)

    def not_equal(self, a: object, b: object, status: int = 500, message: str | None = None, **props: Any) -> None:
        self(a != b, status, message, **props)

    def strict_equal(self, a: object, b: object, status: int = 500, message: str | None = None, **props: Any) -> None:
        self(type(a) is type(b) and a == b, status, message, **props)

    def not_strict_equal(
        self, a: object, b: object, status: int = 500, message: str | None = None, **props: Any
    ) -> None:
        self(type(a) is not type(b) or a != b, status, message, **props)

    deep_equal = equal
    not_deep_equal = not_equal
