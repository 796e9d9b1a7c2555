"""Response helpers against Koa 3.3: `type`, `redirect`, `back`, `attachment`, `etag`,
`vary` and `last_modified` (Koa's response/*.test.js plus more cases; every expected value
is what Koa answers for the same call)."""

import pytest

from aiokoa.testing import make_context

# (value, (Content-Type header or None, ctx.type))
TYPE = [
    ("json", ["application/json; charset=utf-8", "application/json"]),
    ("html", ["text/html; charset=utf-8", "text/html"]),
    ("text", ["text/plain; charset=utf-8", "text/plain"]),
    ("bin", ["application/octet-stream", "application/octet-stream"]),
    ("js", ["text/javascript; charset=utf-8", "text/javascript"]),
    ("png", ["image/png", "image/png"]),
    (".png", ["image/png", "image/png"]),
    ("text/plain", ["text/plain; charset=utf-8", "text/plain"]),
    ("text/html; charset=foo", ["text/html; charset=foo", "text/html"]),
    ("nosuchext", [None, ""]),
    ("image/svg+xml", ["image/svg+xml", "image/svg+xml"]),
    ("xml", ["application/xml", "application/xml"]),
    ("md", ["text/markdown; charset=utf-8", "text/markdown"]),
    ("csv", ["text/csv; charset=utf-8", "text/csv"]),
    ("pdf", ["application/pdf", "application/pdf"]),
    ("file.json", ["application/json; charset=utf-8", "application/json"]),
    ("application/javascript", ["application/javascript; charset=utf-8", "application/javascript"]),
    ("woff2", ["font/woff2", "font/woff2"]),
    ("mp4", ["video/mp4", "video/mp4"]),
    ("jpg", ["image/jpeg", "image/jpeg"]),
    ("ico", ["image/vnd.microsoft.icon", "image/vnd.microsoft.icon"]),
    ("txt", ["text/plain; charset=utf-8", "text/plain"]),
    ("css", ["text/css; charset=utf-8", "text/css"]),
    ("zip", ["application/zip", "application/zip"]),
    ("gz", ["application/gzip", "application/gzip"]),
    ("webp", ["image/webp", "image/webp"]),
    ("map", ["application/json; charset=utf-8", "application/json"]),
    ("yaml", ["text/yaml; charset=utf-8", "text/yaml"]),
]

# ((url, Accept), [Location, status, Content-Type, body])
REDIRECT = [
    (
        ("http://google.com", None),
        ["http://google.com/", 302, "text/html; charset=utf-8", "Redirecting to http://google.com/."],
    ),
    (
        ("http://google.com", "application/json"),
        ["http://google.com/", 302, "text/plain; charset=utf-8", "Redirecting to http://google.com/."],
    ),
    (
        ("HTTP://Google.COM/Path", None),
        ["http://google.com/Path", 302, "text/html; charset=utf-8", "Redirecting to http://google.com/Path."],
    ),
    (
        ("HTTP://Google.COM/Path", "application/json"),
        ["http://google.com/Path", 302, "text/plain; charset=utf-8", "Redirecting to http://google.com/Path."],
    ),
    (
        ("http://google.com\\@apple.com", None),
        [
            "http://google.com/@apple.com",
            302,
            "text/html; charset=utf-8",
            "Redirecting to http://google.com/@apple.com.",
        ],
    ),
    (
        ("http://google.com\\@apple.com", "application/json"),
        [
            "http://google.com/@apple.com",
            302,
            "text/plain; charset=utf-8",
            "Redirecting to http://google.com/@apple.com.",
        ],
    ),
    (
        ("https://example.com:443/a/./b/../c?x=1#f", None),
        [
            "https://example.com/a/c?x=1#f",
            302,
            "text/html; charset=utf-8",
            "Redirecting to https://example.com/a/c?x=1#f.",
        ],
    ),
    (
        ("https://example.com:443/a/./b/../c?x=1#f", "application/json"),
        [
            "https://example.com/a/c?x=1#f",
            302,
            "text/plain; charset=utf-8",
            "Redirecting to https://example.com/a/c?x=1#f.",
        ],
    ),
    (("/relative path", None), ["/relative%20path", 302, "text/html; charset=utf-8", "Redirecting to /relative path."]),
    (
        ("/relative path", "application/json"),
        ["/relative%20path", 302, "text/plain; charset=utf-8", "Redirecting to /relative path."],
    ),
    (
        ('/foo?bar=<script>&a="b"', None),
        [
            "/foo?bar=%3Cscript%3E&a=%22b%22",
            302,
            "text/html; charset=utf-8",
            "Redirecting to /foo?bar=&lt;script&gt;&amp;a=&quot;b&quot;.",
        ],
    ),
    (
        ('/foo?bar=<script>&a="b"', "application/json"),
        [
            "/foo?bar=%3Cscript%3E&a=%22b%22",
            302,
            "text/plain; charset=utf-8",
            'Redirecting to /foo?bar=<script>&a="b".',
        ],
    ),
    (
        ("http://example.com/😓", None),
        [
            "http://example.com/%F0%9F%98%93",
            302,
            "text/html; charset=utf-8",
            "Redirecting to http://example.com/%F0%9F%98%93.",
        ],
    ),
    (
        ("http://example.com/😓", "application/json"),
        [
            "http://example.com/%F0%9F%98%93",
            302,
            "text/plain; charset=utf-8",
            "Redirecting to http://example.com/%F0%9F%98%93.",
        ],
    ),
    (("/%20ok%zz", None), ["/%20ok%25zz", 302, "text/html; charset=utf-8", "Redirecting to /%20ok%zz."]),
    (("/%20ok%zz", "application/json"), ["/%20ok%25zz", 302, "text/plain; charset=utf-8", "Redirecting to /%20ok%zz."]),
    (("http://[::1]:80/", None), ["http://[::1]/", 302, "text/html; charset=utf-8", "Redirecting to http://[::1]/."]),
    (
        ("http://[::1]:80/", "application/json"),
        ["http://[::1]/", 302, "text/plain; charset=utf-8", "Redirecting to http://[::1]/."],
    ),
    (
        ("mailto:foo@bar.com", None),
        ["mailto:foo@bar.com", 302, "text/html; charset=utf-8", "Redirecting to mailto:foo@bar.com."],
    ),
    (
        ("mailto:foo@bar.com", "application/json"),
        ["mailto:foo@bar.com", 302, "text/plain; charset=utf-8", "Redirecting to mailto:foo@bar.com."],
    ),
    (("//evil.com", None), ["//evil.com", 302, "text/html; charset=utf-8", "Redirecting to //evil.com."]),
    (
        ("//evil.com", "application/json"),
        ["//evil.com", 302, "text/plain; charset=utf-8", "Redirecting to //evil.com."],
    ),
    (
        ("javascript:alert(1)", None),
        ["javascript:alert(1)", 302, "text/html; charset=utf-8", "Redirecting to javascript:alert(1)."],
    ),
    (
        ("javascript:alert(1)", "application/json"),
        ["javascript:alert(1)", 302, "text/plain; charset=utf-8", "Redirecting to javascript:alert(1)."],
    ),
]

# ((Referer, alt), Location): only a same-host Referer is followed (no open redirect)
BACK = [
    ((None, None), "/"),
    ((None, "/index.html"), "/index.html"),
    (("http://example.com/foo", None), "http://example.com/foo"),
    (("http://example.com/foo", "/index.html"), "http://example.com/foo"),
    (("/login", None), "/login"),
    (("/login", "/index.html"), "/login"),
    (("login?next=/", None), "login?next=/"),
    (("login?next=/", "/index.html"), "login?next=/"),
    (("http://other.com/x", None), "/"),
    (("http://other.com/x", "/index.html"), "/index.html"),
    (("//evil.com/login", None), "/"),
    (("//evil.com/login", "/index.html"), "/index.html"),
    (("https://example.com/x", None), "https://example.com/x"),
    (("https://example.com/x", "/index.html"), "https://example.com/x"),
    (("http://EXAMPLE.com/x", None), "http://example.com/x"),
    (("http://EXAMPLE.com/x", "/index.html"), "http://example.com/x"),
    (("javascript:alert(1)", None), "/"),
    (("javascript:alert(1)", "/index.html"), "/index.html"),
    (("\\\\evil.com", None), "/"),
    (("\\\\evil.com", "/index.html"), "/index.html"),
    (("/\\evil.com", None), "/"),
    (("/\\evil.com", "/index.html"), "/index.html"),
    (("http:evil.com", None), "http:evil.com"),
    (("http:evil.com", "/index.html"), "http:evil.com"),
    (("https:evil.com", None), "/"),
    (("https:evil.com", "/index.html"), "/index.html"),
    (("http://example.com@evil.com/", None), "/"),
    (("http://example.com@evil.com/", "/index.html"), "/index.html"),
    (("http://evil.com\\@example.com/", None), "/"),
    (("http://evil.com\\@example.com/", "/index.html"), "/index.html"),
]

# (filename, [Content-Disposition, Content-Type])
ATTACHMENT = [
    ("test.png", ['attachment; filename="test.png"', "image/png"]),
    ("path/to/tobi.png", ['attachment; filename="tobi.png"', "image/png"]),
    (
        "include-no-ascii-char-???-ok.json",
        ['attachment; filename="include-no-ascii-char-???-ok.json"', "application/json; charset=utf-8"],
    ),
    ("résumé.pdf", ['attachment; filename="résumé.pdf"', "application/pdf"]),
    (
        "€ rates.pdf",
        ["attachment; filename=\"? rates.pdf\"; filename*=UTF-8''%E2%82%AC%20rates.pdf", "application/pdf"],
    ),
    ("plans.pdf", ['attachment; filename="plans.pdf"', "application/pdf"]),
    ("100%.txt", ['attachment; filename="100%.txt"', "text/plain; charset=utf-8"]),
    ('a"b.txt', ['attachment; filename="a\\"b.txt"', "text/plain; charset=utf-8"]),
    (
        "文件.html",
        ["attachment; filename=\"??.html\"; filename*=UTF-8''%E6%96%87%E4%BB%B6.html", "text/html; charset=utf-8"],
    ),
    ("x", ['attachment; filename="x"', None]),
    ("dir/", ['attachment; filename="dir"', None]),
    ("noext", ['attachment; filename="noext"', None]),
    (None, ["attachment", None]),
]

# (value set, value read)
ETAG = [
    ("abc", '"abc"'),
    ('"abc"', '"abc"'),
    ('W/"abc"', 'W/"abc"'),
    ("w/abc", '"w/abc"'),
    ("W/x", '"W/x"'),
    ("123", '"123"'),
]

# (successive vary() arguments, Vary)
VARY = [
    (["Accept"], "Accept"),
    (["Accept", "accept-encoding, Accept", "Origin"], "Accept, accept-encoding, Origin"),
    (["*"], "*"),
    (["Accept", "*"], "*"),
    (["Origin, Accept", "origin"], "Origin, Accept"),
    ([["Origin", "User-Agent"], "user-agent"], "Origin, User-Agent"),
]

# (value set, Last-Modified)
LAST_MODIFIED = [
    ("Wed, 21 Oct 2015 07:28:00 GMT", "Wed, 21 Oct 2015 07:28:00 GMT"),
    ("2015-10-21T07:28:00Z", "Wed, 21 Oct 2015 07:28:00 GMT"),
    ("2015-10-21T07:28:00.123+02:00", "Wed, 21 Oct 2015 05:28:00 GMT"),
    ("Thu, 01 Jan 1970 00:00:00 GMT", "Thu, 01 Jan 1970 00:00:00 GMT"),
]


@pytest.mark.parametrize(("value", "expected"), TYPE)
def test_type(value: str, expected: list[str | None]) -> None:
    ctx = make_context()
    ctx.type = value
    assert [ctx.response.get("Content-Type"), ctx.type] == expected


@pytest.mark.parametrize(("request_", "expected"), REDIRECT)
def test_redirect(request_: tuple[str, str | None], expected: list[str | int]) -> None:
    url, accept = request_
    ctx = make_context(headers={"host": "example.com", **({"accept": accept} if accept else {})})
    ctx.redirect(url)
    assert [ctx.response.get("Location"), ctx.status, ctx.response.get("Content-Type"), ctx.body] == expected


@pytest.mark.parametrize(("request_", "expected"), BACK)
@pytest.mark.parametrize("header", ["Referer", "Referrer"])
def test_back(request_: tuple[str | None, str | None], expected: str, header: str) -> None:
    referrer, alt = request_
    headers = {"host": "example.com", "accept": "text/plain"}
    if referrer is not None:
        headers[header] = referrer
    ctx = make_context(headers=headers)
    ctx.back(alt)
    assert ctx.response.get("Location") == expected


@pytest.mark.parametrize(("filename", "expected"), ATTACHMENT)
def test_attachment(filename: str | None, expected: list[str | None]) -> None:
    ctx = make_context()
    ctx.attachment(filename)
    assert [ctx.response.get("Content-Disposition"), ctx.response.get("Content-Type")] == expected


@pytest.mark.parametrize(("value", "expected"), ETAG)
def test_etag(value: str, expected: str) -> None:
    ctx = make_context()
    ctx.etag = value
    assert ctx.etag == ctx.response.etag == ctx.response.get("ETag") == expected


@pytest.mark.parametrize(("fields", "expected"), VARY)
def test_vary(fields: list[str | list[str]], expected: str) -> None:
    ctx = make_context()
    for field in fields:
        ctx.vary(field)
    assert ctx.response.get("Vary") == expected


@pytest.mark.parametrize(("value", "expected"), LAST_MODIFIED)
def test_last_modified(value: str, expected: str) -> None:
    ctx = make_context()
    ctx.last_modified = value
    assert ctx.response.get("Last-Modified") == expected
