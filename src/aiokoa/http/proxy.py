"""Which proxies to believe: `Koa(proxy=True, trusted_proxies=["10.0.0.0/8", "127.0.0.1"])`.

With `proxy=True` alone, X-Forwarded-Host/-Proto and `proxy_ip_header` are trusted from
any peer, as in Koa. `trusted_proxies` narrows that to peers inside the listed addresses
or networks: a request from anywhere else is read as if there were no proxy. It also
makes `ctx.ip` the rightmost forwarded address that is not itself a trusted proxy
(nginx's `real_ip_recursive`), which a client cannot forge by sending its own header.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address from `1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]:80`; None if it is none."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else text
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    """A set of proxy addresses and networks, checked with a small per-address cache."""

    __slots__ = ("_cache", "networks")

    def __init__(self, entries: Iterable[str]) -> None:
        if isinstance(entries, str):
            entries = [entries]
        networks: list[Network] = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise ValueError(f"trusted_proxies: {entry!r} is not an IP address or network") from None
        self.networks = tuple(networks)
        self._cache: dict[str, bool] = {}

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, str):
            return False
        known = self._cache.get(address)
        if known is None:
            parsed = parse_address(address)
            known = parsed is not None and any(parsed in network for network in self.networks)
            if len(self._cache) >= 1024:
                self._cache.clear()
            self._cache[address] = known
        return known

    def client(self, ips: Sequence[str]) -> str:
        """The rightmost address not in the set; the leftmost one if every hop is trusted."""
        for address in reversed(ips):
            if address not in self:
                return address
        return ips[0] if ips else ""

    def __repr__(self) -> str:
        return f"TrustedProxies({[str(network) for network in self.networks]!r})"
