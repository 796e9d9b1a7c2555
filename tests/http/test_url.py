"""The WHATWG URL parsing behind `ctx.URL`, `ctx.origin` and `ctx.back()`: hosts (IPv4 in
every notation, IPv6, international domains), authorities, relative references, dot
segments and schemes other than http(s)."""

from __future__ import annotations

import pytest

from aiokoa.http.url import parse_host, parse_url, serialize_ipv6

BASE = parse_url("http://example.com/a/b?x=1#top")


@pytest.mark.parametrize(
    ("host", "serialised"),
    [
        ("127.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0X7F.1", "127.0.0.1"),
        ("0x", "0.0.0.0"),  # a bare 0x is zero
        ("010.0.0.1", "8.0.0.1"),  # a leading zero is octal
        ("1.2.3.4.", "1.2.3.4"),  # one trailing dot is allowed
        ("1.256", "1.0.1.0"),  # the last part fills the remaining bytes
        ("4294967295", "255.255.255.255"),
        ("Example.COM", "example.com"),
        ("b%C3%BCcher.de", "xn--bcher-kva.de"),  # percent-decoded, then IDNA
        ("bücher.de", "xn--bcher-kva.de"),
        ("0x1g", "0x1g"),  # not a hex number: a domain
    ],
)
def test_hosts_serialise_as_the_url_standard_does(host: str, serialised: str) -> None:
    assert parse_host(host) == serialised


@pytest.mark.parametrize(
    "host",
    [
        "",
        "[::1",  # unterminated IPv6
        "1.2.3.4.5",  # five parts
        "1..2",  # an empty part
        "09",  # 9 is no octal digit
        "a.1",  # ends in a number, so must be IPv4, and is not
        "256.1",  # a part other than the last over 255
        "4294967296",  # over 32 bits
        "a" * 64 + "é.com",  # an IDNA label over 63 characters
        "exa mple.com",  # a forbidden code point
    ],
)
def test_invalid_hosts_are_refused(host: str) -> None:
    with pytest.raises(ValueError):
        parse_host(host)


@pytest.mark.parametrize(
    ("text", "serialised"),
    [
        ("1:2:3:4:5:6:7:8", "[1:2:3:4:5:6:7:8]"),  # no zeros: nothing to compress
        ("1:0:3:4:5:6:7:8", "[1:0:3:4:5:6:7:8]"),  # a single zero piece stays
        ("1:0:0:4:0:0:0:8", "[1:0:0:4::8]"),  # the longest run is compressed
        ("1:0:0:4:5:0:0:8", "[1::4:5:0:0:8]"),  # of equal runs, the first
        ("0:0:0:0:0:0:0:1", "[::1]"),
        ("2001:DB8::", "[2001:db8::]"),
    ],
)
def test_ipv6_serialisation_compresses_the_first_longest_zero_run(text: str, serialised: str) -> None:
    assert serialize_ipv6(text) == serialised


def test_ipv6_zone_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="zone ids"):
        serialize_ipv6("fe80::1%eth0")


@pytest.mark.parametrize(
    ("text", "href"),
    [
        ("http://user:pa ss@Example.com:80/", "http://user:pa%20ss@example.com/"),  # default port dropped
        ("http://user@example.com", "http://user@example.com/"),
        ("https://[::1]:8443/x", "https://[::1]:8443/x"),
        ("https://[::1]/x", "https://[::1]/x"),
        ("http://example.com:0080/", "http://example.com/"),
        ("http://a.com/b/../c/./d/..", "http://a.com/c/"),
        ("http://a.com/..", "http://a.com/"),  # nothing to pop
        ("http://a.com/b/%2e%2E/c", "http://a.com/c"),  # encoded dot segments count too
        ("http://a.com/b/.", "http://a.com/b/"),
        ("http://a.com\\b\\c", "http://a.com/b/c"),  # backslashes are slashes in special URLs
        ("http://a.com/?", "http://a.com/"),  # an empty query is dropped
    ],
)
def test_absolute_urls(text: str, href: str) -> None:
    assert parse_url(text).href == href


@pytest.mark.parametrize(
    "text",
    [
        "http://[::1]x/",  # something between ] and the port
        "http://example.com:99999/",
        "http://example.com:8o/",
        "http://:80/",  # no host
        "file:///etc/passwd",
        "no-scheme-and-no-base",
    ],
)
def test_invalid_urls_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_url(text)


def test_other_schemes_keep_their_path_query_and_fragment() -> None:
    url = parse_url("mailto:someone@example.com?subject=hi#sig")
    assert (url.protocol, url.host, url.pathname, url.search, url.hash) == (
        "mailto:",
        "",
        "someone@example.com",
        "?subject=hi",
        "#sig",
    )
    assert parse_url("urn:isbn:0451450523").search == ""


@pytest.mark.parametrize(
    ("reference", "href"),
    [
        ("c", "http://example.com/a/c"),
        ("/c?y=2", "http://example.com/c?y=2"),
        ("?y=2", "http://example.com/a/b?y=2"),
        ("#end", "http://example.com/a/b?x=1#end"),
        ("#", "http://example.com/a/b?x=1"),
        ("", "http://example.com/a/b?x=1"),  # the base without its fragment
        ("//other.org/p", "http://other.org/p"),  # scheme-relative
        ("http:c", "http://example.com/a/c"),  # the base's own scheme, no slashes: relative
        ("https://other.org", "https://other.org/"),
    ],
)
def test_references_resolve_against_a_base(reference: str, href: str) -> None:
    assert parse_url(reference, BASE).href == href


def test_userinfo_is_carried_to_relative_references() -> None:
    base = parse_url("http://me:secret@example.com/dir/page")
    url = parse_url("other", base)
    assert (url.username, url.password, url.href) == ("me", "secret", "http://me:secret@example.com/dir/other")
    assert str(parse_url("http://me@example.com/")) == "http://me@example.com/"
    assert parse_url("http://example.com:8080/").origin == "http://example.com:8080"
