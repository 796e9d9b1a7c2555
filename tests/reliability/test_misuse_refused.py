"""App-level misuse that would become a vulnerability is refused at the line that makes it.

A header value or name that could end the header line (CR, LF), truncate it (NUL) or that a
server drops the whole response for (any other control character) raises ValueError where
it is set; cookie names and values that would break the Set-Cookie syntax raise CookieError.
`attachment()` and `redirect()` take untrusted names and URLs, as Koa does: they encode them
instead, so nothing a client sent can reach a header raw. `back()` follows the Referer only
when it is on this host.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiokoa import Context, CookieError, Koa
from aiokoa.testing import TestClient, make_context

CONTROL = ["\r\n", "\r", "\n", "\x00", "\x01", "\x08", "\x0b", "\x1b", "\x1f", "\x7f"]
"""Characters no header may carry (HTAB is allowed inside a value)."""

VALUE_SETTERS: dict[str, Callable[[Context, str], Any]] = {
    "ctx.set": lambda ctx, bad: ctx.set("X-Note", f"a{bad}Injected: 1"),
    "ctx.set, a list": lambda ctx, bad: ctx.set("X-Note", ["fine", f"a{bad}b"]),
    "ctx.set, a mapping": lambda ctx, bad: ctx.set({"X-Note": f"a{bad}b"}),
    "ctx.append": lambda ctx, bad: ctx.append("X-Note", f"a{bad}b"),
    "ctx.response.set": lambda ctx, bad: ctx.response.set("X-Note", f"a{bad}b"),
    "ctx.type": lambda ctx, bad: setattr(ctx, "type", f"text/html{bad}X-Note: 1"),
    "ctx.type, a parameter": lambda ctx, bad: setattr(ctx, "type", f"text/html; charset=utf-8{bad}"),
    "ctx.etag": lambda ctx, bad: setattr(ctx, "etag", f"v1{bad}"),
    "ctx.length": lambda ctx, bad: setattr(ctx, "length", f"1{bad}X-Note: 1"),
}


@pytest.mark.parametrize("bad", CONTROL)
@pytest.mark.parametrize("setter", VALUE_SETTERS)
def test_a_control_character_in_a_header_value_is_refused(setter: str, bad: str) -> None:
    ctx = make_context()
    ctx.set("X-Note", "before")
    before = dict(ctx.response.headers)
    with pytest.raises(ValueError, match="contains CR, LF, NUL or another control character") as raised:
        VALUE_SETTERS[setter](ctx, bad)
    assert "header injection" in str(raised.value)
    assert dict(ctx.response.headers) == before


def test_tabs_and_latin1_text_stay_allowed_in_values() -> None:
    ctx = make_context()
    ctx.set("X-Note", "a\tb caf\xe9")
    assert ctx.response.get("X-Note") == "a\tb caf\xe9"


NAME_SETTERS: dict[str, Callable[[Context, str], Any]] = {
    "ctx.set": lambda ctx, name: ctx.set(name, "1"),
    "ctx.set, a mapping": lambda ctx, name: ctx.set({name: "1"}),
    "ctx.append": lambda ctx, name: ctx.append(name, "1"),
    "ctx.remove": lambda ctx, name: ctx.remove(name),
}


@pytest.mark.parametrize("name", [f"X-A{bad}B" for bad in [*CONTROL, " ", ":", "\t", "(", "\xe9"]])
@pytest.mark.parametrize("setter", NAME_SETTERS)
def test_a_header_name_that_is_not_a_token_is_refused(setter: str, name: str) -> None:
    ctx = make_context()
    with pytest.raises(ValueError, match=r"invalid header name .*: use letters, digits"):
        NAME_SETTERS[setter](ctx, name)


@pytest.mark.parametrize("name", ["X-A\r\nB", "X-A B", "X-A:B"])
def test_vary_refuses_a_name_that_is_not_a_token(name: str) -> None:
    with pytest.raises(ValueError, match="is not a valid header name"):
        make_context().vary(name)


# -- cookies (RFC 6265: the name a token, the value cookie-octets) -------------------------

COOKIE_BREAKERS = [";", ",", " ", "\t", '"', "\\", *CONTROL, "\xe9"]


@pytest.mark.parametrize("bad", [*COOKIE_BREAKERS, "=", "(", "@"])
def test_a_cookie_name_that_breaks_the_header_is_refused(bad: str) -> None:
    ctx = make_context()
    with pytest.raises(CookieError, match=r"invalid cookie name .*: use an RFC 6265 token"):
        ctx.cookies.set(f"id{bad}x", "1")
    assert ctx.response.get("Set-Cookie") is None


@pytest.mark.parametrize("bad", COOKIE_BREAKERS)
def test_a_cookie_value_that_breaks_the_header_is_refused(bad: str) -> None:
    ctx = make_context()
    with pytest.raises(CookieError, match=r"invalid value for cookie id: .*encode it"):
        ctx.cookies.set("id", f"1{bad}admin=true")
    assert ctx.response.get("Set-Cookie") is None


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("path", "/\r\nX-Note: 1", "invalid path"),
        ("path", "/; domain=evil.example", "invalid path"),
        ("domain", "app.example; secure", "invalid domain"),
        ("domain", "app.example\r\n", "invalid domain"),
        ("same_site", "lax; domain=evil.example", "same_site must be"),
        ("priority", "high\r\nX-Note: 1", "priority must be"),
    ],
)
def test_a_cookie_option_that_breaks_the_header_is_refused(option: str, value: str, message: str) -> None:
    ctx = make_context()
    with pytest.raises(CookieError, match=message):
        ctx.cookies.set("id", "1", **{option: value})  # type: ignore[arg-type]
    assert ctx.response.get("Set-Cookie") is None


def test_a_signed_cookie_can_only_carry_what_the_unsigned_one_can() -> None:
    ctx = make_context(Koa(keys=["secret"]))
    with pytest.raises(CookieError, match="invalid value"):
        ctx.cookies.set("id", "1;admin=true", signed=True)
    assert ctx.response.get("Set-Cookie") is None


# -- attachment() and redirect() encode what they are given -----------------------------


def _header_safe(value: str) -> bool:
    return not any((ord(char) < 0x20 and char != "\t") or char == "\x7f" for char in value)


@given(st.text())
def test_attachment_encodes_any_filename(filename: str) -> None:
    ctx = make_context()
    ctx.attachment(filename)
    assert _header_safe(str(ctx.response.get("Content-Disposition")))


@pytest.mark.parametrize("bad", CONTROL)
def test_attachment_sends_a_hostile_filename_encoded(bad: str) -> None:
    ctx = make_context()
    ctx.attachment(f"report{bad}X-Note: 1.pdf")
    header = ctx.response.get("Content-Disposition")
    quoted = "%" + "%".join(f"{byte:02X}" for byte in bad.encode())
    fallback = "report" + "?" * len(bad) + "X-Note: 1.pdf"
    assert header == f"attachment; filename=\"{fallback}\"; filename*=UTF-8''report{quoted}X-Note%3A%201.pdf"


def test_attachment_refuses_a_disposition_type_that_is_not_a_token() -> None:
    with pytest.raises(ValueError, match="invalid Content-Disposition type"):
        make_context().attachment("a.pdf", type="inline\r\nX-Note: 1")


@given(st.text())
def test_redirect_encodes_any_url(url: str) -> None:
    ctx = make_context(headers={"host": "app.example"})
    try:
        ctx.redirect(url)
    except ValueError:  # an absolute URL with an invalid host, or "back"
        return
    location = str(ctx.response.get("Location"))
    assert location.isascii() and location.isprintable() and " " not in location


@pytest.mark.parametrize("url", ["/next\r\nSet-Cookie: admin=1", "http://app.example/\r\nSet-Cookie: admin=1"])
def test_redirect_keeps_a_hostile_url_in_its_header(url: str) -> None:
    ctx = make_context()
    ctx.redirect(url)
    assert ctx.response.get("Set-Cookie") is None
    assert ctx.response.get("Location") in (
        "/next%0D%0ASet-Cookie:%20admin=1",
        "http://app.example/Set-Cookie:%20admin=1",
    )


def test_redirect_back_is_refused_with_the_fix() -> None:
    ctx = make_context(headers={"referer": "https://evil.example/"})
    with pytest.raises(ValueError, match=r"ctx.redirect\('back'\) is gone \(Koa 3\): use ctx.back\(alt\)"):
        ctx.redirect("back")
    assert ctx.response.get("Location") is None
    ctx.redirect("./back")
    assert ctx.response.get("Location") == "./back"


# -- back() follows the Referer only on this host -----------------------------------------

HOSTILE_REFERERS = [
    "//evil.example",
    "//evil.example/path",
    "https://evil.example",
    "http://evil.example/",
    "HTTPS://EVIL.EXAMPLE/",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "http:/\\evil.example",
    "https:evil.example",
    "http://app.example@evil.example/",
    "http://evil.example\\@app.example/",
    "http://app.example.evil.example/",
    "http://app.example:8080/",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "http://[::1/",
]


@pytest.mark.parametrize("alt", [None, "/home"])
@pytest.mark.parametrize("referer", HOSTILE_REFERERS)
def test_back_does_not_follow_a_referer_on_another_host(referer: str, alt: str | None) -> None:
    ctx = make_context(headers={"host": "app.example", "referer": referer})
    ctx.back(alt)
    assert (ctx.status, ctx.response.get("Location")) == (302, alt or "/")


@pytest.mark.parametrize(
    ("referer", "location"),
    [
        ("/prev?page=2", "/prev?page=2"),
        ("prev", "prev"),
        ("http://app.example/prev", "http://app.example/prev"),
        ("HTTP://App.Example:80/prev", "http://app.example/prev"),
    ],
)
def test_back_follows_a_referer_on_this_host(referer: str, location: str) -> None:
    ctx = make_context(headers={"host": "app.example", "referer": referer})
    ctx.back("/home")
    assert ctx.response.get("Location") == location


# -- over HTTP: the refusal is a 500, and nothing of the bad value goes out ----------------


def test_a_refused_header_becomes_a_500_without_it() -> None:
    app = Koa()
    errors: list[BaseException] = []
    app.on("error", lambda err, ctx: errors.append(err))

    @app.use
    async def echo_note(ctx: Context) -> None:
        ctx.set("X-Note", ctx.query.get("note", ""))
        ctx.body = "noted"

    with TestClient(app) as client:
        answer = client.get("/", params={"note": "ok\r\nSet-Cookie: admin=1"})
        assert answer.status_code == 500
        assert "set-cookie" not in answer.headers and "x-note" not in answer.headers
        assert client.get("/", params={"note": "fine"}).headers["x-note"] == "fine"
    assert [type(err) for err in errors] == [ValueError]
