"""Host, hostname, protocol, IPs, subdomains, href and URL, with and without a trusted
proxy (Koa's request/host, hostname, protocol, secure, ips, ip, subdomains, href, origin
and whatwg-url tests, and what Koa 3.3 was seen to answer behind proxies). Expected values
are Koa 3.3's."""

from typing import Any

import pytest

from aiokoa import Context, Koa, Next
from aiokoa.testing import make_context

from ...conftest import Serve

# (app options, request, what Koa answers)
WHERE_FROM = [
    (
        {},
        {"headers": {"host": "foo.com:3000"}},
        {
            "host": "foo.com:3000",
            "hostname": "foo.com",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://foo.com:3000/",
            "origin": None,
            "URL": "http://foo.com:3000/",
        },
    ),
    (
        {},
        {"headers": {}},
        {
            "host": "",
            "hostname": "",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http:///",
            "origin": None,
            "URL": None,
        },
    ),
    (
        {},
        {"headers": {"host": "user@example.com:80"}},
        {
            "host": "example.com",
            "hostname": "example.com",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://example.com/",
            "origin": None,
            "URL": "http://example.com/",
        },
    ),
    (
        {},
        {"headers": {"host": "user:pw@Example.COM:8080"}},
        {
            "host": "example.com:8080",
            "hostname": "example.com",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://example.com:8080/",
            "origin": None,
            "URL": "http://example.com:8080/",
        },
    ),
    (
        {},
        {"headers": {"host": "a@b@c.com"}},
        {
            "host": "c.com",
            "hostname": "c.com",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://c.com/",
            "origin": None,
            "URL": "http://c.com/",
        },
    ),
    (
        {},
        {"headers": {"host": "user@[::1]:80"}},
        {
            "host": "[::1]",
            "hostname": "[::1]",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://[::1]/",
            "origin": None,
            "URL": "http://[::1]/",
        },
    ),
    (
        {},
        {"headers": {"host": "user@exa mple.com"}},
        {
            "host": "",
            "hostname": "",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http:///",
            "origin": None,
            "URL": None,
        },
    ),
    (
        {},
        {"headers": {"host": "user@example.com:99999"}},
        {
            "host": "",
            "hostname": "",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http:///",
            "origin": None,
            "URL": None,
        },
    ),
    (
        {},
        {"headers": {"host": "user@example.com/evil"}},
        {
            "host": "example.com",
            "hostname": "example.com",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://example.com/",
            "origin": None,
            "URL": "http://example.com/",
        },
    ),
    (
        {},
        {"headers": {"host": "[::1]"}},
        {
            "host": "[::1]",
            "hostname": "[::1]",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://[::1]/",
            "origin": None,
            "URL": "http://[::1]/",
        },
    ),
    (
        {},
        {"headers": {"host": "[::1]:80"}},
        {
            "host": "[::1]:80",
            "hostname": "[::1]",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://[::1]:80/",
            "origin": None,
            "URL": "http://[::1]/",
        },
    ),
    (
        {},
        {"headers": {"host": "[::1]:1337"}},
        {
            "host": "[::1]:1337",
            "hostname": "[::1]",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://[::1]:1337/",
            "origin": None,
            "URL": "http://[::1]:1337/",
        },
    ),
    (
        {},
        {"headers": {"host": "[2001:cdba:0000:0000:0000:0000:3257:9652]:1337"}},
        {
            "host": "[2001:cdba:0000:0000:0000:0000:3257:9652]:1337",
            "hostname": "[2001:cdba::3257:9652]",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://[2001:cdba:0000:0000:0000:0000:3257:9652]:1337/",
            "origin": None,
            "URL": "http://[2001:cdba::3257:9652]:1337/",
        },
    ),
    (
        {},
        {"headers": {"host": "[invalidIPv6]"}},
        {
            "host": "[invalidIPv6]",
            "hostname": "",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://[invalidIPv6]/",
            "origin": None,
            "URL": None,
        },
    ),
    (
        {},
        {"headers": {"host": "[::1]/x"}},
        {
            "host": "[::1]/x",
            "hostname": "",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://[::1]/x/",
            "origin": None,
            "URL": "http://[::1]/x/",
        },
    ),
    (
        {},
        {"headers": {"host": "[::ffff:1.2.3.4]"}},
        {
            "host": "[::ffff:1.2.3.4]",
            "hostname": "[::ffff:102:304]",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://[::ffff:1.2.3.4]/",
            "origin": None,
            "URL": "http://[::ffff:102:304]/",
        },
    ),
    (
        {},
        {"headers": {"host": "[::1"}},
        {
            "host": "[::1",
            "hostname": "",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://[::1/",
            "origin": None,
            "URL": None,
        },
    ),
    (
        {},
        {"headers": {"host": "127.0.0.1:3000"}},
        {
            "host": "127.0.0.1:3000",
            "hostname": "127.0.0.1",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://127.0.0.1:3000/",
            "origin": None,
            "URL": "http://127.0.0.1:3000/",
        },
    ),
    (
        {},
        {"headers": {"host": "tobi.ferrets.example.com:3000"}},
        {
            "host": "tobi.ferrets.example.com:3000",
            "hostname": "tobi.ferrets.example.com",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": ["ferrets", "tobi"],
            "href": "http://tobi.ferrets.example.com:3000/",
            "origin": None,
            "URL": "http://tobi.ferrets.example.com:3000/",
        },
    ),
    (
        {},
        {"headers": {"host": "foo.com", "x-forwarded-host": "bar.com"}},
        {
            "host": "foo.com",
            "hostname": "foo.com",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://foo.com/",
            "origin": None,
            "URL": "http://foo.com/",
        },
    ),
    (
        {"proxy": True},
        {"headers": {"host": "foo.com", "x-forwarded-host": "bar.com, baz.com"}},
        {
            "host": "bar.com",
            "hostname": "bar.com",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://bar.com/",
            "origin": None,
            "URL": "http://bar.com/",
        },
    ),
    (
        {"proxy": True},
        {"headers": {"host": "foo.com", "x-forwarded-host": "u@bar.com:80"}},
        {
            "host": "bar.com",
            "hostname": "bar.com",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://bar.com/",
            "origin": None,
            "URL": "http://bar.com/",
        },
    ),
    (
        {"proxy": True},
        {
            "headers": {"host": "bar.com:8000", ":authority": "foo.com:3000", "x-forwarded-host": "proxy.com:8080"},
            "http_version": "2",
        },
        {
            "host": "proxy.com:8080",
            "hostname": "proxy.com",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://proxy.com:8080/",
            "origin": None,
            "URL": "http://proxy.com:8080/",
        },
    ),
    (
        {},
        {
            "headers": {"host": "bar.com:8000", ":authority": "foo.com:3000", "x-forwarded-host": "proxy.com:8080"},
            "http_version": "2",
        },
        {
            "host": "foo.com:3000",
            "hostname": "foo.com",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://foo.com:3000/",
            "origin": None,
            "URL": "http://foo.com:3000/",
        },
    ),
    (
        {},
        {"headers": {"host": "bar.com:8000"}, "http_version": "2"},
        {
            "host": "bar.com:8000",
            "hostname": "bar.com",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://bar.com:8000/",
            "origin": None,
            "URL": "http://bar.com:8000/",
        },
    ),
    (
        {},
        {"headers": {"host": "bar.com:8000", ":authority": "foo.com:3000"}},
        {
            "host": "bar.com:8000",
            "hostname": "bar.com",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://bar.com:8000/",
            "origin": None,
            "URL": "http://bar.com:8000/",
        },
    ),
    (
        {},
        {
            "headers": {
                "host": "tobi.ferrets.example.com:3000",
                "x-forwarded-for": "1.1.1.1, 2.2.2.2, 3.3.3.3",
                "x-forwarded-host": "a.b.example.org, other",
                "x-forwarded-proto": "HTTPS, http",
            },
            "url": "/path?x=1",
        },
        {
            "host": "tobi.ferrets.example.com:3000",
            "hostname": "tobi.ferrets.example.com",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": ["ferrets", "tobi"],
            "href": "http://tobi.ferrets.example.com:3000/path?x=1",
            "origin": None,
            "URL": "http://tobi.ferrets.example.com:3000/path?x=1",
        },
    ),
    (
        {"proxy": True},
        {
            "headers": {
                "host": "tobi.ferrets.example.com:3000",
                "x-forwarded-for": "1.1.1.1, 2.2.2.2, 3.3.3.3",
                "x-forwarded-host": "a.b.example.org, other",
                "x-forwarded-proto": "HTTPS, http",
            },
            "url": "/path?x=1",
        },
        {
            "host": "a.b.example.org",
            "hostname": "a.b.example.org",
            "protocol": "https",
            "secure": True,
            "ips": ["1.1.1.1", "2.2.2.2", "3.3.3.3"],
            "ip": "1.1.1.1",
            "subdomains": ["b", "a"],
            "href": "https://a.b.example.org/path?x=1",
            "origin": None,
            "URL": "https://a.b.example.org/path?x=1",
        },
    ),
    (
        {"proxy": True, "max_ips_count": 2},
        {"headers": {"host": "x.com", "x-forwarded-for": "1.1.1.1, 2.2.2.2, 3.3.3.3"}},
        {
            "host": "x.com",
            "hostname": "x.com",
            "protocol": "http",
            "secure": False,
            "ips": ["2.2.2.2", "3.3.3.3"],
            "ip": "2.2.2.2",
            "subdomains": [],
            "href": "http://x.com/",
            "origin": None,
            "URL": "http://x.com/",
        },
    ),
    (
        {"proxy": True, "max_ips_count": 5},
        {"headers": {"host": "x.com", "x-forwarded-for": "1.1.1.1, 2.2.2.2"}},
        {
            "host": "x.com",
            "hostname": "x.com",
            "protocol": "http",
            "secure": False,
            "ips": ["1.1.1.1", "2.2.2.2"],
            "ip": "1.1.1.1",
            "subdomains": [],
            "href": "http://x.com/",
            "origin": None,
            "URL": "http://x.com/",
        },
    ),
    (
        {"proxy": True, "proxy_ip_header": "X-Real-IP"},
        {"headers": {"host": "x.com", "x-real-ip": "9.9.9.9", "x-forwarded-for": "1.1.1.1"}},
        {
            "host": "x.com",
            "hostname": "x.com",
            "protocol": "http",
            "secure": False,
            "ips": ["9.9.9.9"],
            "ip": "9.9.9.9",
            "subdomains": [],
            "href": "http://x.com/",
            "origin": None,
            "URL": "http://x.com/",
        },
    ),
    (
        {"proxy": True},
        {"headers": {"host": "x.com", "x-forwarded-for": ""}},
        {
            "host": "x.com",
            "hostname": "x.com",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://x.com/",
            "origin": None,
            "URL": "http://x.com/",
        },
    ),
    (
        {"proxy": True},
        {"headers": {"host": "x.com", "x-forwarded-proto": ""}},
        {
            "host": "x.com",
            "hostname": "x.com",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://x.com/",
            "origin": None,
            "URL": "http://x.com/",
        },
    ),
    (
        {"proxy": True},
        {"headers": {"host": "x.com", "x-forwarded-proto": "http"}, "scheme": "https"},
        {
            "host": "x.com",
            "hostname": "x.com",
            "protocol": "https",
            "secure": True,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "https://x.com/",
            "origin": None,
            "URL": "https://x.com/",
        },
    ),
    (
        {},
        {"headers": {"host": "x.com"}, "scheme": "https"},
        {
            "host": "x.com",
            "hostname": "x.com",
            "protocol": "https",
            "secure": True,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "https://x.com/",
            "origin": None,
            "URL": "https://x.com/",
        },
    ),
    (
        {},
        {"headers": {"host": "x.com"}, "client": None},
        {
            "host": "x.com",
            "hostname": "x.com",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "",
            "subdomains": [],
            "href": "http://x.com/",
            "origin": None,
            "URL": "http://x.com/",
        },
    ),
    (
        {},
        {"headers": {"host": "x.com", "origin": "http://a.com"}},
        {
            "host": "x.com",
            "hostname": "x.com",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://x.com/",
            "origin": "http://a.com",
            "URL": "http://x.com/",
        },
    ),
    (
        {},
        {"headers": {"host": "192.168.0.1:80"}},
        {
            "host": "192.168.0.1:80",
            "hostname": "192.168.0.1",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://192.168.0.1:80/",
            "origin": None,
            "URL": "http://192.168.0.1/",
        },
    ),
    (
        {},
        {"headers": {"host": "localhost"}},
        {
            "host": "localhost",
            "hostname": "localhost",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://localhost/",
            "origin": None,
            "URL": "http://localhost/",
        },
    ),
    (
        {"subdomain_offset": 1},
        {"headers": {"host": "tobi.ferrets.example.com"}},
        {
            "host": "tobi.ferrets.example.com",
            "hostname": "tobi.ferrets.example.com",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": ["example", "ferrets", "tobi"],
            "href": "http://tobi.ferrets.example.com/",
            "origin": None,
            "URL": "http://tobi.ferrets.example.com/",
        },
    ),
    (
        {"subdomain_offset": 3},
        {"headers": {"host": "tobi.ferrets.example.com"}},
        {
            "host": "tobi.ferrets.example.com",
            "hostname": "tobi.ferrets.example.com",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": ["tobi"],
            "href": "http://tobi.ferrets.example.com/",
            "origin": None,
            "URL": "http://tobi.ferrets.example.com/",
        },
    ),
    (
        {},
        {"headers": {"host": "localhost"}, "url": "/users/1?next=/"},
        {
            "host": "localhost",
            "hostname": "localhost",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://localhost/users/1?next=/",
            "origin": None,
            "URL": "http://localhost/users/1?next=/",
        },
    ),
    (
        {},
        {"headers": {"host": "localhost"}, "url": "/a b"},
        {
            "host": "localhost",
            "hostname": "localhost",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://localhost/a b",
            "origin": None,
            "URL": "http://localhost/a%20b",
        },
    ),
    (
        {},
        {"headers": {"host": "localhost"}, "url": "/%7Efoo/../bar?q"},
        {
            "host": "localhost",
            "hostname": "localhost",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://localhost/%7Efoo/../bar?q",
            "origin": None,
            "URL": "http://localhost/bar?q",
        },
    ),
    (
        {},
        {"headers": {"host": "local host"}},
        {
            "host": "local host",
            "hostname": "local host",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://local host/",
            "origin": None,
            "URL": None,
        },
    ),
    (
        {},
        {"headers": {"host": "Example.COM:080"}},
        {
            "host": "Example.COM:080",
            "hostname": "Example.COM",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://Example.COM:080/",
            "origin": None,
            "URL": "http://example.com/",
        },
    ),
    (
        {},
        {"headers": {"host": " foo.com , bar.com"}},
        {
            "host": "foo.com",
            "hostname": "foo.com",
            "protocol": "http",
            "secure": False,
            "ips": [],
            "ip": "127.0.0.1",
            "subdomains": [],
            "href": "http://foo.com/",
            "origin": None,
            "URL": "http://foo.com/",
        },
    ),
]


@pytest.mark.parametrize(("options", "request_", "expected"), WHERE_FROM)
def test_where_the_request_came_from_matches_koa(
    options: dict[str, Any], request_: dict[str, Any], expected: dict[str, object]
) -> None:
    ctx = make_context(Koa(**options), **request_)
    url = ctx.URL
    seen = {name: getattr(ctx, name) for name in expected if name != "URL"}
    seen["URL"] = None if url is None else url.href
    assert seen == expected
    view = ctx.request
    assert (view.host, view.hostname, view.protocol, view.ips, view.ip) == (
        expected["host"],
        expected["hostname"],
        expected["protocol"],
        expected["ips"],
        expected["ip"],
    )


def test_ip_is_memoised_and_settable() -> None:
    ctx = make_context(Koa(proxy=True), headers={"x-forwarded-for": "1.1.1.1"})
    assert ctx.ip == "1.1.1.1"
    ctx.scope["headers"] = []
    ctx._request_headers = None
    assert ctx.ip == "1.1.1.1"  # memoised
    ctx.ip = "9.9.9.9"
    assert ctx.ip == ctx.request.ip == "9.9.9.9"
    ctx.request.ip = "8.8.8.8"
    assert ctx.ip == "8.8.8.8"


def test_subdomain_offset_zero_works_from_the_constructor() -> None:
    ctx = make_context(Koa(subdomain_offset=0), headers={"host": "a.b.com"})
    assert ctx.subdomains == ["com", "b", "a"]


def test_socket_describes_the_peer() -> None:
    socket = make_context(client=("10.1.2.3", 4567), scheme="https").socket
    assert (socket.remote_address, socket.remote_port, socket.encrypted) == ("10.1.2.3", 4567, True)
    assert make_context(client=None).socket.remote_address is None


def test_url_fields() -> None:
    ctx = make_context(url="/a/b?x=1&y=2", headers={"host": "Example.com:8080"})
    url = ctx.URL
    assert url is not None
    assert (url.protocol, url.hostname, url.port, url.host, url.pathname, url.search) == (
        "http:",
        "example.com",
        "8080",
        "example.com:8080",
        "/a/b",
        "?x=1&y=2",
    )
    assert url.origin == "http://example.com:8080"
    assert str(url) == "http://example.com:8080/a/b?x=1&y=2"


@pytest.mark.parametrize("host", ["", "local host", "[invalid]", "a@b c", "[::1"])
def test_url_of_an_invalid_host_is_none(host: str) -> None:
    assert make_context(headers={"host": host} if host else {}).URL is None


# -- over real HTTP: X-Forwarded-* only count when the proxy is trusted -------------------

FORWARDED = {
    "Host": "tobi.ferrets.example.com:3000",
    "X-Forwarded-For": "1.1.1.1, 2.2.2.2, 3.3.3.3",
    "X-Forwarded-Host": "a.b.example.org, other",
    "X-Forwarded-Proto": "HTTPS, http",
}


def _echo(app: Koa) -> Koa:
    @app.use
    async def echo(ctx: Context, next: Next) -> None:
        ctx.body = {
            "host": ctx.host,
            "protocol": ctx.protocol,
            "ips": ctx.ips,
            "ip": ctx.ip,
            "subdomains": ctx.subdomains,
            "href": ctx.href,
        }

    return app


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            {},
            {
                "host": "tobi.ferrets.example.com:3000",
                "protocol": "http",
                "ips": [],
                "ip": "127.0.0.1",
                "subdomains": ["ferrets", "tobi"],
                "href": "http://tobi.ferrets.example.com:3000/path",
            },
        ),
        (
            {"proxy": True},
            {
                "host": "a.b.example.org",
                "protocol": "https",
                "ips": ["1.1.1.1", "2.2.2.2", "3.3.3.3"],
                "ip": "1.1.1.1",
                "subdomains": ["b", "a"],
                "href": "https://a.b.example.org/path",
            },
        ),
        (
            {"proxy": True, "max_ips_count": 2},
            {
                "host": "a.b.example.org",
                "protocol": "https",
                "ips": ["2.2.2.2", "3.3.3.3"],
                "ip": "2.2.2.2",
                "subdomains": ["b", "a"],
                "href": "https://a.b.example.org/path",
            },
        ),
        # aiokoa: a trust list the peer (127.0.0.1) is not in: the headers are ignored
        (
            {"proxy": True, "trusted_proxies": ["10.0.0.0/8"]},
            {
                "host": "tobi.ferrets.example.com:3000",
                "protocol": "http",
                "ips": [],
                "ip": "127.0.0.1",
                "subdomains": ["ferrets", "tobi"],
                "href": "http://tobi.ferrets.example.com:3000/path",
            },
        ),
        # ... and one it is in: trusted; ip is the rightmost address that is no proxy
        (
            {"proxy": True, "trusted_proxies": ["127.0.0.1", "3.3.3.0/24"]},
            {
                "host": "a.b.example.org",
                "protocol": "https",
                "ips": ["1.1.1.1", "2.2.2.2", "3.3.3.3"],
                "ip": "2.2.2.2",
                "subdomains": ["b", "a"],
                "href": "https://a.b.example.org/path",
            },
        ),
    ],
)
def test_forwarded_headers_over_http(serve: Serve, options: dict[str, Any], expected: dict[str, object]) -> None:
    client = serve(_echo(Koa(**options)), proxy_headers=False)
    assert client.get("/path", headers=FORWARDED).json() == expected


def test_proxy_ip_header_over_http(serve: Serve) -> None:
    client = serve(_echo(Koa(proxy=True, proxy_ip_header="X-Real-IP")), proxy_headers=False)
    body = client.get("/", headers={"X-Real-IP": "9.9.9.9", "X-Forwarded-For": "1.1.1.1"}).json()
    assert (body["ips"], body["ip"]) == (["9.9.9.9"], "9.9.9.9")


# -- trusted_proxies, unit level ----------------------------------------------------------


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "ip", "protocol"),
    [
        (["10.0.0.0/8"], "10.1.1.1", "1.1.1.1, 10.0.0.5", "1.1.1.1", "https"),
        (["10.0.0.0/8"], "10.1.1.1", "6.6.6.6, 1.1.1.1", "1.1.1.1", "https"),  # spoofed leftmost ignored
        (["10.0.0.0/8"], "192.168.1.1", "1.1.1.1", "192.168.1.1", "http"),  # peer not trusted
        (["10.0.0.0/8"], "10.1.1.1", "10.0.0.2, 10.0.0.3", "10.0.0.2", "https"),  # all hops trusted
        (["::1", "fd00::/8"], "::1", "2001:db8::1, fd00::2", "2001:db8::1", "https"),
        (["127.0.0.1"], "::ffff:127.0.0.1", "5.5.5.5", "5.5.5.5", "https"),  # v4-mapped peer
        ("127.0.0.1", "127.0.0.1", "5.5.5.5", "5.5.5.5", "https"),  # a single address as a str
    ],
)
def test_trusted_proxies(trusted: str | list[str], peer: str, forwarded: str, ip: str, protocol: str) -> None:
    app = Koa(proxy=True, trusted_proxies=trusted)
    headers = {"x-forwarded-for": forwarded, "x-forwarded-proto": "https", "host": "x.com"}
    ctx = make_context(app, headers=headers, client=(peer, 1))
    assert (ctx.ip, ctx.protocol) == (ip, protocol)


def test_trusted_proxies_need_proxy_true_and_can_change_at_runtime() -> None:
    app = Koa(trusted_proxies=["127.0.0.1"])
    headers = {"x-forwarded-host": "b.com", "host": "a.com"}
    assert make_context(app, headers=headers).host == "a.com"
    app.proxy = True
    assert make_context(app, headers=headers).host == "b.com"
    app.trusted_proxies = ["10.0.0.0/8"]
    assert make_context(app, headers=headers).host == "a.com"
    app.trusted_proxies = None
    assert make_context(app, headers=headers).host == "b.com"


def test_trusted_proxies_reject_garbage_at_startup() -> None:
    with pytest.raises(ValueError, match="not an IP address or network"):
        Koa(proxy=True, trusted_proxies=["10.0.0.0/8", "proxy.local"])
