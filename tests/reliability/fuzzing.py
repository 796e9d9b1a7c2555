"""The parsers of untrusted input, the inputs to throw at them, and how long they may take.

Shared by the property tests (`test_fuzz_parsers.py`) and the atheris harness
(`atheris_parsers.py`). `AIOKOA_FUZZ=long` (what `./dev fuzz` sets) selects the long
Hypothesis profile: many more random examples, and failing ones saved in `fuzz-examples/`
(committed, replayed by every later long run; a fixed one becomes an `@example`, which
every run tries). The normal test run uses the short profile: a fixed number of examples
from a seed derived from each test, so it is the same every run.
"""

from __future__ import annotations

import contextlib
import gc
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

from aiokoa import Koa
from aiokoa.core.request import parse_query
from aiokoa.http import mime, negotiation
from aiokoa.http.cookies import parse_cookie_header
from aiokoa.http.fresh import etag_matches, is_fresh
from aiokoa.http.headers import parse_content_type, parse_http_date, split_list
from aiokoa.http.proxy import TrustedProxies, parse_address
from aiokoa.http.url import parse_url, percent_decode
from aiokoa.router.matcher import BadParam, decode
from aiokoa.testing import make_context

HERE = Path(__file__).parent
LONG = os.environ.get("AIOKOA_FUZZ") == "long"
DATABASE = DirectoryBasedExampleDatabase(HERE / "fuzz-examples")
CRASHES = HERE / "fuzz-crashes"
"""Inputs atheris found failing (its `crash-*` files), replayed by the property tests."""

settings.register_profile(
    "fuzz-short",
    max_examples=50,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "fuzz-long",
    max_examples=5000,
    deadline=None,
    database=DATABASE,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ = settings.get_profile("fuzz-long" if LONG else "fuzz-short")
"""The settings of every fuzz property: `@FUZZ` above `@given`."""
FUZZ_LARGE = settings(FUZZ, max_examples=FUZZ.max_examples // 10)
"""For the 64 KB inputs: each example costs three timed calls on 64 KB."""

BUDGET = 0.010
"""The most one parser call may take on a 64 KB input, in seconds of CPU time."""
SIZE = 65536

# -- the parsers -----------------------------------------------------------------------

PROXY_APP = Koa(proxy=True)
TRUSTING_APP = Koa(proxy=True, trusted_proxies=["10.0.0.0/8", "::1", "127.0.0.1"])
TRUSTED = TrustedProxies(["10.0.0.0/8", "fd00::/8"])
BASE = parse_url("http://app.example/a/b")
OFFERED_TYPES = ("html", "json", "text/plain", "image/*", "+json")


def _accept(text: str) -> object:
    accept = make_context(headers={"accept": text}).accept
    return accept.types(), accept.types(*OFFERED_TYPES)


def _url(text: str) -> object:
    return parse_url(text), parse_url(text, BASE)


def _fresh(text: str) -> object:
    validators = {"etag": 'W/"v1"', "last-modified": "Wed, 01 Jan 2020 00:00:00 GMT"}
    return (
        is_fresh({"if-none-match": text, "cache-control": text}, validators),
        is_fresh({"if-modified-since": text}, validators),
        etag_matches(text, '"v1"'),
    )


def _target(text: str) -> object:
    """The request target: path, percent-decoding, query, and the URL built from it."""
    path, _, query = text.partition("?")
    ctx = make_context()
    # as a server passes it; make_context's own unquote would be timed too
    ctx.scope["raw_path"] = ("/" + path.lstrip("/")).encode("latin-1")
    ctx.scope["query_string"] = query.encode("latin-1")
    return ctx.path, ctx.decoded_path, ctx.query, ctx.URL, ctx.href


def _host(text: str) -> object:
    ctx = make_context(headers={"host": text})
    return ctx.host, ctx.hostname, ctx.URL, ctx.subdomains, ctx.href


def _forwarded(app: Koa) -> Callable[[str], object]:
    """X-Forwarded-For/-Host/-Proto as `app` reads them."""

    def read(text: str) -> object:
        headers = {"x-forwarded-for": text, "x-forwarded-host": text, "x-forwarded-proto": text}
        ctx = make_context(app, headers=headers, client=("10.1.2.3", 1234))
        return ctx.ips, ctx.ip, ctx.host, ctx.hostname, ctx.protocol, ctx.secure, ctx.URL

    return read


def _content_type(text: str) -> object:
    return parse_content_type(text), negotiation.type_is(text, ("json", "text/*", "+xml", "multipart"))


@dataclass(frozen=True)
class Parser:
    name: str
    call: Callable[[str], object]
    raises: tuple[type[Exception], ...] = ()
    """The exceptions the parser documents; anything else is a bug."""

    def __repr__(self) -> str:
        return self.name

    def run(self, text: str) -> None:
        """Call the parser; a documented exception is an answer, any other one propagates."""
        with contextlib.suppress(*self.raises):
            self.call(text)


PARSERS = [
    Parser("cookie", parse_cookie_header),
    Parser("query", parse_query),
    Parser("accept", _accept),
    Parser("accept-encoding", lambda text: negotiation.preferred_encodings(text, ["gzip", "br", "identity"])),
    Parser("accept-encoding all", negotiation.preferred_encodings),
    Parser("accept-charset", lambda text: negotiation.preferred_charsets(text, ["utf-8", "iso-8859-1"])),
    Parser("accept-language", lambda text: negotiation.preferred_languages(text, ["en", "fr-CH", "de"])),
    Parser("accept-language all", negotiation.preferred_languages),
    Parser("percent-decoding", percent_decode),
    Parser("route parameter", decode, (BadParam,)),
    Parser("url", _url, (ValueError,)),
    Parser("request target", _target),
    Parser("host", _host),
    Parser("x-forwarded-* (proxy)", _forwarded(PROXY_APP)),
    Parser("x-forwarded-* (trusted proxies)", _forwarded(TRUSTING_APP)),
    Parser("proxy addresses", lambda text: (TRUSTED.client(split_list(text)), parse_address(text))),
    Parser("conditional headers", _fresh),
    Parser("http date", parse_http_date),
    Parser("content-type", _content_type),
    Parser("mime lookup", lambda text: (mime.lookup(text), mime.content_type(text))),
]
"""Every parser of request input (aiokoa reads no Range header: it serves no ranges)."""


_CACHED = (
    negotiation._media_ranges,
    negotiation._simple_specs,
    negotiation._language_specs,
    negotiation._bare_type,
    parse_content_type,
    mime.content_type,
)


def cpu_time(parser: Parser, text: str) -> float:
    """The CPU time of one call (the best of five, caches emptied before each): CPU time
    and not wall time, so that a busy machine does not make a linear parser look slow, and
    with the garbage collector paused, whose full collections (60 ms after thousands of
    examples) are not the parser's cost."""
    best = float("inf")
    gc.disable()
    try:
        for _ in range(5):
            for cached in _CACHED:
                cached.cache_clear()
            start = time.thread_time()
            parser.run(text)
            best = min(best, time.thread_time() - start)
    finally:
        gc.enable()
    return best


# -- the inputs ------------------------------------------------------------------------

HEADER_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
"""What an HTTP/1 server passes in a header value, read as Latin-1 (plus HTAB)."""
PIECES = [
    ",", ";", "=", "q=", ";q=", ";q=0.5", "*", "*/*", "/", "text/html", "json", "gzip", "en-US", "-", '"', "\\",
    "W/", '"v1"', "%", "%2", "%zz", "%ff", "%e2%82%ac", "%2e", "%2F", ".", "..", "&", "+", "?", "#", "@", ":",
    "[", "]", "::1", "10.0.0.1", "127.1", "0x7f", "app.example", "http://", "https", " ", "\t", "é", "ÿ",
    "Wed, 21 Oct 2015 07:28:00 GMT", "no-cache", "(", ")", "<", ">", "{", "}",
]  # fmt: skip
"""Fragments with meaning to some parser, so random strings reach their branches."""

header_text = st.one_of(
    st.text(HEADER_CHARS, max_size=80),
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(HEADER_CHARS, max_size=3)), max_size=30).map("".join),
)
"""A header value or request target as a client could send it."""


def repeated(unit: str) -> str:
    """`unit` repeated to exactly `SIZE` characters."""
    return (unit * (SIZE // len(unit) + 1))[:SIZE]


def nested(opening: str) -> str:
    """`SIZE` characters of nesting: `((((...))))`, `[[[...]]]`, `"\\"\\"..."`."""
    closing = {"(": ")", "[": "]", "{": "}", "<": ">"}.get(opening, opening)
    return repeated(opening)[: SIZE // 2] + repeated(closing)[: SIZE - SIZE // 2]


large_text = st.one_of(
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map("".join).map(repeated),
    st.text(HEADER_CHARS, min_size=1, max_size=8).map(repeated),
    st.sampled_from(["(", "[", "{", "<", '"', '\\"']).map(nested),
)
"""64 KB of adversarial input: a short pattern repeated (many commas, `=`, `;q=`, `%`,
dot segments...) or deep nesting."""
