"""The arguments `ctx.attachment()` and the date headers refuse, with the reason."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from aiokoa import Context
from aiokoa.http.headers import content_disposition

MakeContext = Callable[..., Context]


def test_attachment_refuses_a_disposition_type_that_is_no_token(context: MakeContext) -> None:
    with pytest.raises(ValueError, match="invalid Content-Disposition type 'form data'"):
        context().attachment("a.pdf", type="form data")


def test_a_disposition_refuses_a_filename_that_is_no_string() -> None:
    with pytest.raises(TypeError, match="filename must be a str"):
        content_disposition(b"a.pdf")  # type: ignore[arg-type]


def test_attachment_refuses_a_fallback_outside_latin1(context: MakeContext) -> None:
    with pytest.raises(ValueError, match="fallback filename must be ISO-8859-1"):
        context().attachment("résumé.pdf", fallback="€.pdf")


def test_attachment_with_only_a_type(context: MakeContext) -> None:
    ctx = context()
    ctx.attachment(type="inline")
    assert ctx.response.get("Content-Disposition") == "inline"


@pytest.mark.parametrize(
    ("value", "header"),
    [
        (datetime(2015, 10, 21, 7, 28, 0, 999), "Wed, 21 Oct 2015 07:28:00 GMT"),  # naive is UTC
        ("2015-10-21T09:28:00+02:00", "Wed, 21 Oct 2015 07:28:00 GMT"),  # ISO 8601
        ("Wed, 21 Oct 2015 07:28:00 GMT", "Wed, 21 Oct 2015 07:28:00 GMT"),
        (1445412480, "Wed, 21 Oct 2015 07:28:00 GMT"),  # a Unix timestamp
    ],
)
def test_last_modified_takes_a_datetime_a_date_string_or_a_timestamp(
    context: MakeContext, value: object, header: str
) -> None:
    ctx = context()
    ctx.last_modified = value  # type: ignore[assignment]
    assert ctx.response.get("Last-Modified") == header
    assert ctx.last_modified == datetime(2015, 10, 21, 7, 28, tzinfo=UTC)


@pytest.mark.parametrize(("value", "error"), [("yesterday", ValueError), (True, TypeError), ([2015], TypeError)])
def test_last_modified_refuses_what_is_no_date(context: MakeContext, value: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        context().last_modified = value  # type: ignore[assignment]
