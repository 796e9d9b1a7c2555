"""Random input never makes a parser raise anything but its documented error."""

import contextlib
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiokoa import Koa
from aiokoa.core.request import parse_query
from aiokoa.http.cookies import CookieError, parse_cookie_header, serialize_cookie
from aiokoa.http.fresh import etag_matches, is_fresh
from aiokoa.http.headers import content_disposition, encode_url, parse_content_type, split_list, vary_append
from aiokoa.http.negotiation import (
    preferred_charsets,
    preferred_encodings,
    preferred_languages,
    preferred_media_types,
    type_is,
)
from aiokoa.http.url import parse_url
from aiokoa.testing import make_context

latin1 = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60)
header_chars = st.text(alphabet=string.printable + "éü€\x00", max_size=60)
tokens = st.lists(
    st.sampled_from(
        ["text", "html", "*", "/", ";", "q=", "0.5", ",", " ", '"', "=", "json", "en", "-", "US", "gzip", "+"]
    ),
    max_size=20,
).map("".join)
headers_text = st.one_of(header_chars, tokens)


@given(headers_text)
def test_query_strings(text: str) -> None:
    query = parse_query(text)
    assert all(isinstance(value, (str, list)) for value in query.values())


@given(headers_text)
def test_cookie_header(text: str) -> None:
    assert isinstance(parse_cookie_header(text), dict)


@given(st.text(max_size=20), st.text(max_size=40))
def test_cookie_serialisation_raises_only_cookie_error(name: str, value: str) -> None:
    try:
        header = serialize_cookie(name, value)
    except CookieError:
        return
    assert "\r" not in header and "\n" not in header and parse_cookie_header(header).get(name) == value.strip('"')


@given(
    headers_text, st.lists(st.sampled_from(["html", "json", "text/*", "image/png", "+json", "png", "nope"]), max_size=3)
)
def test_accept(text: str, offered: list[str]) -> None:
    assert isinstance(preferred_media_types(text), list)
    result = make_context(headers={"accept": text}).accepts(*offered)
    assert result is False or result in offered or isinstance(result, list)


@given(headers_text, st.lists(st.sampled_from(["gzip", "br", "identity", "utf-8", "en", "en-US", "*"]), max_size=3))
def test_accept_encoding_charset_language(text: str, offered: list[str]) -> None:
    for parse in (preferred_encodings, preferred_charsets, preferred_languages):
        assert isinstance(parse(text), list)
        assert set(parse(text, offered)) <= set(offered)


@given(headers_text)
def test_content_type(text: str) -> None:
    parsed = parse_content_type(text)
    assert parsed is None or "/" in parsed[0]
    assert type_is(text, ("json", "text/*")) in (False, "json", parsed[0] if parsed else None) or isinstance(
        type_is(text, ("text/*",)), str
    )


@given(headers_text, headers_text)
def test_etag_lists_and_freshness(if_none_match: str, etag: str) -> None:
    assert isinstance(etag_matches(if_none_match, etag), bool)
    assert isinstance(
        is_fresh(
            {"if-none-match": if_none_match, "if-modified-since": etag}, {"etag": etag, "last-modified": if_none_match}
        ),
        bool,
    )


@given(headers_text, st.booleans(), st.booleans())
def test_host(text: str, proxy: bool, http2: bool) -> None:
    app = Koa(proxy=proxy)
    name = "x-forwarded-host" if proxy else "host"
    ctx = make_context(app, headers={name: text.replace("\x00", "")}, http_version="2" if http2 else "1.1")
    assert isinstance(ctx.host, str) and isinstance(ctx.hostname, str)
    assert isinstance(ctx.subdomains, list) and isinstance(ctx.href, str)
    assert ctx.URL is None or ctx.URL.protocol in ("http:", "https:")


@given(headers_text)
def test_url_parser_raises_only_value_error(text: str) -> None:
    try:
        url = parse_url(text)
    except ValueError:
        return
    assert url.protocol.endswith(":")


@given(header_chars)
def test_encode_url_gives_ascii(text: str) -> None:
    assert encode_url(text.replace("\x00", "")).isascii()


@given(st.text(max_size=30))
def test_content_disposition(name: str) -> None:
    header = content_disposition(name)
    header.encode("latin-1")
    assert "\n" not in header


@given(st.text(max_size=30), headers_text)
def test_vary_raises_only_value_error(header: str, field: str) -> None:
    with contextlib.suppress(ValueError):
        vary_append(header, field)
    assert isinstance(split_list(header), list)


@pytest.mark.parametrize("value", ["", ",", " , ", "a,,b"])
def test_split_list_keeps_empty_items(value: str) -> None:
    assert len(split_list(value)) == value.count(",") + 1
