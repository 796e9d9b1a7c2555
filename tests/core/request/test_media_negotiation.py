"""`ctx.accepts()`, `ctx.accepts_languages()` and `ctx.is_()` where the headers carry
parameters, quoted text, or nothing usable, as Koa's negotiator and type-is read them."""

from __future__ import annotations

from collections.abc import Callable

from aiokoa import Context

MakeContext = Callable[..., Context]


def test_a_media_range_with_parameters_matches_only_types_with_them(context: MakeContext) -> None:
    # the quoted ";" belongs to the parameter's value, not between parameters
    ctx = context(headers={"accept": 'text/html;foo="a;b";q=0.5, application/json;q=0.4'})
    assert ctx.accepts("json", "html") == "json"  # html lacks foo="a;b"
    assert ctx.accepts('text/html;foo="a;b"', "json") == 'text/html;foo="a;b"'


def test_parameters_of_a_range_and_of_the_offered_type(context: MakeContext) -> None:
    ctx = context(headers={"accept": "text/html;level=1, text/html;q=0.1"})
    assert ctx.accepts("text/plain", "text/html;level=1") == "text/html;level=1"
    assert ctx.accepts("text/html;level=2") == "text/html;level=2"  # by the q=0.1 range


def test_offered_types_that_name_nothing_are_skipped(context: MakeContext) -> None:
    ctx = context(headers={"accept": "text/*"})
    assert ctx.accepts("no-such-extension", "html") == "html"
    assert ctx.accepts("text/") is False


def test_an_offered_language_that_is_no_tag_is_skipped(context: MakeContext) -> None:
    ctx = context(headers={"accept-language": "en;q=0.8, fr"})
    assert ctx.accepts_languages("!!", "en") == "en"
    assert ctx.accepts_languages() == ["fr", "en"]


def test_an_empty_content_length_means_a_body(context: MakeContext) -> None:
    ctx = context(method="POST", headers={"content-type": "text/plain", "content-length": ""})
    assert ctx.is_("text") == "text"
    assert ctx.is_("no-such-extension") is False
    assert ctx.is_("json") is False


def test_a_content_length_that_is_no_number_means_no_body(context: MakeContext) -> None:
    ctx = context(method="POST", headers={"content-type": "text/plain", "content-length": "abc"})
    assert ctx.is_("text") is None


def test_a_content_type_that_is_no_media_type_matches_nothing(context: MakeContext) -> None:
    ctx = context(method="POST", headers={"content-type": "textplain", "content-length": "3"})
    assert ctx.is_("text/plain") is False
    assert ctx.is_("*/*") is False


def test_a_suffix_matches_structured_types(context: MakeContext) -> None:
    ctx = context(method="POST", headers={"content-type": "application/vnd.api+json", "content-length": "3"})
    assert ctx.is_("+json") == "application/vnd.api+json"
