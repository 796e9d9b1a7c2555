"""Path syntax: parsing both spellings, optional groups, converters, and URL building."""

from __future__ import annotations

import uuid

import pytest

from aiokoa import Router
from aiokoa.router import NoMatchFound, register_converter
from aiokoa.router.path import (
    CONVERTERS,
    Group,
    IntConverter,
    Param,
    Text,
    param_names,
    parse,
    segments,
    variants,
)


def test_koa_and_starlette_spellings_parse_to_the_same_tokens() -> None:
    assert parse("/users/:id") == parse("/users/{id}") == (Text("/users/"), Param("id"))
    assert parse("/files/*rest") == (Text("/files/"), Param("rest", wildcard=True))
    token = parse("/files/{rest:path}")[1]
    assert isinstance(token, Param)
    assert token.wildcard
    assert token.converter is CONVERTERS["path"]


def test_brace_with_more_than_a_name_is_an_optional_group() -> None:
    assert parse("/x{/:y}") == (Text("/x"), Group((Text("/"), Param("y"))))
    assert parse("/x{/{y:int}}")[1] == Group((Text("/"), Param("y", CONVERTERS["int"])))


def test_str_converter_is_a_plain_parameter() -> None:
    assert parse("/{name:str}") == parse("/:name")


def test_escapes_and_literal_text() -> None:
    assert parse(r"/a\:b") == (Text("/a:b"),)
    assert parse("/café") == (Text("/caf%C3%A9"),)  # as it arrives in a raw request path


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("/users/:id(\\d+)", "regular-expression parameters are not supported"),
        ("/users/:", "missing parameter name"),
        ("/users/*", "missing parameter name"),
        ("/users/{id:nope}", "unknown converter 'nope'"),
        ("/users/{/:id", "unterminated"),
        ("/users/}", "unexpected '}'"),
    ],
)
def test_bad_patterns_fail_at_registration_with_a_clear_message(pattern: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse(pattern)
    with pytest.raises(ValueError, match=message):
        Router().get(pattern, lambda ctx, next: None)


def test_optional_groups_expand_to_variants() -> None:
    forms = variants(parse("/a{/:b{/:c}}"))
    assert forms == [
        (Text("/a"),),
        (Text("/a/"), Param("b")),
        (Text("/a/"), Param("b"), Text("/"), Param("c")),
    ]
    assert param_names(parse("/a/:b{/:c}/*d")) == ["b", "c", "d"]


def test_too_many_optional_groups_are_refused() -> None:
    with pytest.raises(ValueError, match="too many optional groups"):
        variants(parse("".join(f"{{/:p{i}}}" for i in range(9))))


def test_segments_drop_the_optional_trailing_slash_unless_strict() -> None:
    (pieces,) = variants(parse("/users/"))
    assert segments(pieces, strict=False) == [(Text("users"),)]
    assert segments(pieces, strict=True) == [(Text("users"),), ()]
    (root,) = variants(parse("/"))
    assert segments(root, strict=False) == segments(root, strict=True) == []
    (relative,) = variants(parse("users"))
    assert segments(relative, strict=False) is None


def test_url_building_encodes_once_and_fills_optional_groups() -> None:
    url = Router.url
    assert url("/users/:id", 3) == "/users/3"
    assert url("/users/{id}", {"id": "a b/c+d"}) == "/users/a%20b%2Fc%2Bd"
    assert url("/users/:id", id=3, query={"q": "x y", "tags": ["a", "b"]}) == "/users/3?q=x%20y&tags=a&tags=b"
    assert url("/users/:id", 3, query="limit=1") == "/users/3?limit=1"
    assert url("/x{/:y}", {}) == "/x"
    assert url("/x{/:y}", y=1) == "/x/1"
    assert url("/files/*rest", rest=["a b", "c"]) == "/files/a%20b/c"
    assert url("/files/{rest:path}", rest="a/b c") == "/files/a/b%20c"
    assert url("/:a/:b", 1, 2) == "/1/2"


def test_url_with_converters_checks_the_value() -> None:
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert Router.url("/u/{id:uuid}", id=ident) == f"/u/{ident}"
    assert Router.url("/n/{n:int}", n=5) == "/n/5"
    assert Router.url("/f/{x:float}", x=1.5) == "/f/1.5"
    with pytest.raises(NoMatchFound, match="invalid value 'abc' for parameter 'n'"):
        Router.url("/n/{n:int}", n="abc")
    with pytest.raises(NoMatchFound, match="'n'"):
        Router.url("/n/{n:int}", n=-1)


def test_url_missing_parameter_raises_clearly() -> None:
    with pytest.raises(NoMatchFound, match="missing parameter 'id' for '/users/:id'"):
        Router.url("/users/:id")
    with pytest.raises(NoMatchFound, match="empty value"):
        Router.url("/users/:id", id="")
    with pytest.raises(TypeError, match="3 values given for 1 parameters"):
        Router.url("/users/:id", 1, 2, 3)


class _Hex:
    regex = "[0-9a-f]+"

    def convert(self, value: str) -> int:
        return int(value, 16)

    def to_string(self, value: int) -> str:
        return format(value, "x")


def test_custom_converter_registered_by_name() -> None:
    register_converter("hex", _Hex())
    try:
        assert parse("/c/{colour:hex}")[1] == Param("colour", CONVERTERS["hex"])
        assert Router.url("/c/{colour:hex}", colour=255) == "/c/ff"
    finally:
        del CONVERTERS["hex"]


def test_converter_names_and_regexes_are_checked_when_registered() -> None:
    with pytest.raises(ValueError, match="identifier"):
        register_converter("no-dash", _Hex())
    broken = _Hex()
    broken.regex = "("
    with pytest.raises(Exception, match="missing \\)"):
        register_converter("broken", broken)


def test_builtin_converters_round_trip() -> None:
    assert IntConverter().convert("42") == 42
    assert CONVERTERS["float"].convert("1.25") == 1.25
    assert CONVERTERS["float"].to_string(2.0) == "2"
    with pytest.raises(ValueError):
        CONVERTERS["float"].to_string(float("inf"))
    with pytest.raises(ValueError):
        CONVERTERS["str"].to_string("")
    assert CONVERTERS["path"].to_string(["a", "b"]) == "a/b"
