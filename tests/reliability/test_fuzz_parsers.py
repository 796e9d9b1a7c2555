"""Random and adversarial input for every parser of request input.

Each parser raises nothing but its documented exceptions on any input a client could
send, and takes less than `BUDGET` (10 ms) of CPU time on 64 KB of adversarial input.
These parsers are Python in both implementations (the C extension routes, builds
contexts and sends responses, and calls them), so the C/Python parity of what they read
is checked through the whole app, in `test_fuzz_parity.py`.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, unquote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from aiokoa.core.request import MAX_QUERY_PAIRS, parse_query
from aiokoa.http.cookies import MAX_COOKIE_PAIRS, parse_cookie_header
from aiokoa.http.negotiation import MAX_ENTRIES, preferred_languages
from aiokoa.http.url import MAX_AUTHORITY, parse_url, percent_decode
from aiokoa.testing import make_context

from .atheris_parsers import one_input
from .fuzzing import (
    BUDGET,
    CRASHES,
    FUZZ,
    FUZZ_LARGE,
    PARSERS,
    SIZE,
    Parser,
    cpu_time,
    header_text,
    large_text,
    repeated,
)


@pytest.mark.parametrize("parser", PARSERS, ids=repr)
@FUZZ
@given(text=header_text)
@example(text='a/b;q="1,2", "\\", ;;q=, */*;q=1e999')
@example(text="%ff%zz%e2%82")
@example(text="[::1")
def test_raises_only_what_it_documents(parser: Parser, text: str) -> None:
    parser.run(text)


@pytest.mark.measures
@pytest.mark.parametrize("parser", PARSERS, ids=repr)
@FUZZ_LARGE
@given(text=large_text)
# each was over the budget before the limit or the rewrite named in the parser
@example(text=repeated(","))  # Accept*: 90 ms sorting 65,536 empty entries
@example(text=repeated("a;q=1,"))  # Accept-Language: 180 ms
@example(text=repeated(";"))  # Cookie: 23 ms
@example(text=repeated("%"))  # percent-decoding (query, decoded_path, Host): 25 ms
@example(text=repeated("%2"))
@example(text=repeated("/"))  # the URL's dot-segment walk: 23 ms
@example(text=repeated('W/"x",'))  # If-None-Match: 15 ms
@example(text=repeated("%41&"))  # the query: 16 ms for 16,384 pairs
@example(text=repeated("@"))  # a URL's user name percent-encoded, twice for ctx.URL: 13 ms
@example(text=repeated(".\\"))  # 32,768 dot segments: 7.7 ms for a Host, 2.9 since the walk matches them in sets
@example(text=repeated("\x80"))  # IDNA on a non-ASCII host: 60 ms; str.translate in the URL parser
def test_64_kb_takes_less_than_the_budget(parser: Parser, text: str) -> None:
    assert len(text) == SIZE
    spent = cpu_time(parser, text)
    for _ in range(3):  # a machine busy with the rest of the suite costs a linear parser a few ms
        if spent < BUDGET:
            break
        time.sleep(0.1)
        spent = min(spent, cpu_time(parser, text))
    assert spent < BUDGET, f"{parser.name}: {spent * 1000:.1f} ms on {text[:40]!r}..."


def test_the_atheris_harness_runs_every_parser() -> None:
    calls: list[str] = []
    spy = Parser("spy", calls.append)
    one_input([*PARSERS, spy], b"a=\xff; %zz, */*;q=0.5")
    assert calls == ["a=\xff; %zz, */*;q=0.5"]


@pytest.mark.parametrize("parser", PARSERS, ids=repr)
def test_inputs_atheris_found_stay_fixed(parser: Parser) -> None:
    """`./dev fuzz` keeps what atheris finds in `fuzz-crashes/`; each input stays a test."""
    for crash in sorted(CRASHES.glob("crash-*")):
        parser.run(crash.read_bytes().decode("latin-1"))


# -- the limits and rewrites keep what the parsers answer -------------------------------


@FUZZ
@given(text=header_text)
@example(text="%C3x%A9%c3%a9+%")
def test_percent_decoding_is_urllibs(text: str) -> None:
    assert percent_decode(text) == unquote(text)


@FUZZ
@given(text=header_text)
@example(text="a=1&&b&=c&a=%ff+2&;x=y")
def test_the_query_is_parse_qsl(text: str) -> None:
    expected: dict[str, list[str]] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        expected.setdefault(key, []).append(value)
    query = parse_query(text)
    assert {key: value if isinstance(value, list) else [value] for key, value in query.items()} == expected


def test_only_the_first_accept_entries_are_read() -> None:
    header = ", ".join(f"x{n}" for n in range(MAX_ENTRIES)) + ", en"
    assert preferred_languages(header, ["en"]) == []
    assert "en" not in preferred_languages(header)
    assert preferred_languages("en, " + header, ["en"]) == ["en"]
    assert len(preferred_languages(header + ", fr")) == MAX_ENTRIES


def test_only_the_first_query_pairs_are_read() -> None:
    query = parse_query("&".join(f"k{n}=v" for n in range(MAX_QUERY_PAIRS)) + "&last=1")
    assert len(query) == MAX_QUERY_PAIRS and "last" not in query
    assert parse_query("last=1&" + "&" * MAX_QUERY_PAIRS) == {"last": "1"}


def test_only_the_first_cookie_pairs_are_read() -> None:
    header = "; ".join(f"c{n}=v" for n in range(MAX_COOKIE_PAIRS)) + "; session=1"
    assert len(parse_cookie_header(header)) == MAX_COOKIE_PAIRS
    assert "session" not in parse_cookie_header(header)
    assert parse_cookie_header("session=1; " + header)["session"] == "1"


@given(st.just(0))
def test_the_profile_is_bounded_in_the_normal_run(_: int) -> None:
    assert FUZZ.max_examples <= 5000 and FUZZ.deadline is None


def test_a_non_ascii_host_longer_than_dns_allows_is_invalid() -> None:
    assert make_context(headers={"host": "café.example"}).hostname == "café.example"
    assert str(make_context(headers={"host": "café.example"}).URL) == "http://xn--caf-dma.example/"
    assert make_context(headers={"host": "café." * 51 + "example"}).URL is None


def test_a_url_authority_longer_than_the_limit_is_invalid() -> None:
    assert make_context(headers={"host": "u" * 2000 + "@app.example"}).host == "app.example"
    assert make_context(headers={"host": "u" * MAX_AUTHORITY + "@app.example"}).host == ""
    with pytest.raises(ValueError, match="authority longer than"):
        parse_url("http://" + "@" * (MAX_AUTHORITY + 1))
