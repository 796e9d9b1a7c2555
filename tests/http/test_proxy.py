"""`trusted_proxies`: which peer addresses are believed, parsed from every form a peer or a
forwarded header writes them in."""

from __future__ import annotations

import ipaddress

import pytest

from aiokoa.http.proxy import TrustedProxies, parse_address


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("1.2.3.4", "1.2.3.4"),
        (" 1.2.3.4:8080 ", "1.2.3.4"),  # a peer with its port
        ("::1", "::1"),
        ("[::1]:443", "::1"),  # bracketed IPv6 with a port
        ("[2001:db8::1]", "2001:db8::1"),
        ("::ffff:10.0.0.1", "10.0.0.1"),  # an IPv4-mapped address is the IPv4 one
    ],
)
def test_parse_address_reads_every_form(text: str, address: str) -> None:
    assert parse_address(text) == ipaddress.ip_address(address)


@pytest.mark.parametrize("text", ["", "unknown", "[::1", "host.example:80", "1.2.3.4.5"])
def test_parse_address_is_none_for_what_is_no_address(text: str) -> None:
    assert parse_address(text) is None


def test_one_string_is_one_entry_not_its_characters() -> None:
    proxies = TrustedProxies("10.0.0.0/8")
    assert proxies.networks == (ipaddress.ip_network("10.0.0.0/8"),)
    assert "10.1.2.3" in proxies
    assert "11.1.2.3" not in proxies


def test_an_entry_that_is_no_address_names_itself() -> None:
    with pytest.raises(ValueError, match="trusted_proxies: 'localhost' is not an IP address or network"):
        TrustedProxies(["127.0.0.1", "localhost"])


def test_membership_of_what_is_not_a_string_is_false() -> None:
    proxies = TrustedProxies(["0.0.0.0/0"])
    assert None not in proxies
    assert 167772161 not in proxies  # 10.0.0.1 as a number: only text is an address here


def test_unparsable_peers_are_not_trusted() -> None:
    assert "garbage" not in TrustedProxies(["0.0.0.0/0", "::/0"])


def test_the_cache_is_bounded_and_stays_correct() -> None:
    proxies = TrustedProxies(["10.0.0.0/8"])
    for k in range(1100):  # more distinct addresses than the cache keeps
        assert f"10.0.{k // 256}.{k % 256}" in proxies
    assert len(proxies._cache) <= 1024
    assert "10.0.0.1" in proxies
    assert "192.168.0.1" not in proxies


@pytest.mark.parametrize(
    ("ips", "client"),
    [
        (["1.1.1.1", "10.0.0.2"], "1.1.1.1"),  # the rightmost hop that is no proxy
        (["6.6.6.6", "1.1.1.1", "10.0.0.2"], "1.1.1.1"),  # a forged leftmost entry is ignored
        (["10.0.0.3", "10.0.0.2"], "10.0.0.3"),  # every hop trusted: the leftmost
        ([], ""),
    ],
)
def test_client_is_the_rightmost_untrusted_hop(ips: list[str], client: str) -> None:
    assert TrustedProxies(["10.0.0.0/8"]).client(ips) == client


def test_repr_lists_the_networks() -> None:
    assert repr(TrustedProxies(["10.0.0.0/8", "::1"])) == "TrustedProxies(['10.0.0.0/8', '::1/128'])"
