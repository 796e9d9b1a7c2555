"""`create_error()` and `HttpError` as `ctx.throw()` uses them: extra properties, an
existing exception given a status and headers, and what cannot be thrown."""

from __future__ import annotations

import pytest

from aiokoa import HttpError, create_error


def test_an_http_error_keeps_extra_properties() -> None:
    err = HttpError(418, "short and stout", code="E_TEAPOT")
    assert (err.status, err.message, err.expose, err.code) == (418, "short and stout", True, "E_TEAPOT")  # type: ignore[attr-defined]


def test_an_existing_exception_gets_the_status_and_headers() -> None:
    original = ValueError("bad input")
    err = create_error(400, original, headers={"X-Reason": "input"})
    assert err is original
    assert (err.status, err.expose, err.headers) == (400, True, {"X-Reason": "input"})  # type: ignore[attr-defined]


def test_an_existing_server_error_is_not_exposed() -> None:
    err = create_error(503, RuntimeError("database down"))
    assert (err.status, err.expose) == (503, False)  # type: ignore[attr-defined]
    assert not hasattr(err, "headers")


def test_an_http_error_with_its_own_status_is_returned_as_it_is() -> None:
    original = HttpError(404, "gone", headers={"X-A": "1"})
    err = create_error(original, {"detail": "more"})
    assert err is original
    assert (original.status, original.headers, original.detail) == (404, {"X-A": "1"}, "more")  # type: ignore[attr-defined]


def test_a_base_exception_that_is_no_exception_cannot_be_thrown() -> None:
    with pytest.raises(TypeError, match="argument #2 cannot be a KeyboardInterrupt"):
        create_error(500, KeyboardInterrupt())


def test_an_argument_of_another_type_is_refused() -> None:
    with pytest.raises(TypeError, match="argument #2 unsupported type float"):
        create_error(400, 1.5)
