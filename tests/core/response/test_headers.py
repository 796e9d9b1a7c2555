"""Response header helpers (Koa's response/set, append, get, has, remove, vary, etag,
last-modified, attachment, redirect and flushHeaders tests) and their guards."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiokoa import Context, Koa, Next, ResponseSentError
from aiokoa.testing import make_context

from ...conftest import Serve


def test_set_get_has_remove() -> None:
    ctx = make_context()
    ctx.set("X-Num", 5)
    ctx.set({"X-A": "1", "X-List": ["a", "b"]})
    response = ctx.response
    assert response.get("x-num") == 5  # not coerced
    assert response.get("X-LIST") == ["a", "b"]
    assert response.get("x-missing") is None
    assert ctx.has("X-A") and response.has("x-a") and not ctx.has("x-missing")
    ctx.remove("X-A")
    assert not ctx.has("x-a")
    assert response.headers is response.header


def test_append() -> None:
    ctx = make_context()
    ctx.append("Link", "<a>")
    ctx.append("Link", ["<b>", "<c>"])
    assert ctx.response.get("Link") == ["<a>", "<b>", "<c>"]
    ctx.set("Link", "<d>")
    assert ctx.response.get("Link") == "<d>"


@pytest.mark.parametrize("value", ["a\r\nb", "a\nb", "a\x00b"])
def test_set_rejects_header_injection(value: str) -> None:
    with pytest.raises(ValueError, match="CR, LF, NUL or another control character"):
        make_context().set("X-A", value)


@given(st.text(alphabet=st.characters(max_codepoint=0x2FF), max_size=12))
def test_any_header_value_is_sent_as_set_or_rejected(value: str) -> None:
    """The ASCII fast paths (validation, encoding) agree with the general rules: a value is
    refused only for a control character other than HTAB (CR, LF, NUL, ...) or a character
    outside Latin-1, else sent byte for byte."""
    ctx = make_context()
    unsafe = any((ord(char) < 0x20 and char != "\t") or char == "\x7f" or ord(char) > 0xFF for char in value)
    if unsafe:
        with pytest.raises(ValueError):
            ctx.set("X-A", value)
        return
    ctx.set("X-A", value)
    assert ctx.response.get("x-a") == value
    assert (b"x-a", value.encode("latin-1")) in ctx._start_message()["headers"]


@pytest.mark.parametrize("name", ["X A", "X:A", "X\r\nA", ""])
def test_set_rejects_bad_names(name: str) -> None:
    ctx = make_context()
    if name:
        with pytest.raises(ValueError, match="invalid header name"):
            ctx.set(name, "1")
    else:
        ctx.set(name, "1")  # a falsy field is ignored, as in Koa
        assert ctx.response.headers == {}


@pytest.mark.parametrize("field", ["", "bad header", ["ok", "no pe"]])
def test_vary_rejects_invalid_names(field: str | list[str]) -> None:
    with pytest.raises(ValueError):
        make_context().vary(field)


def test_vary_merges_an_existing_list_header() -> None:
    ctx = make_context()
    ctx.set("Vary", ["Accept", "Origin"])
    ctx.vary("origin")
    ctx.vary("Cookie")
    assert ctx.response.get("Vary") == "Accept, Origin, Cookie"


def test_etag_and_last_modified_getters() -> None:
    ctx = make_context()
    assert ctx.etag is None and ctx.last_modified is None
    when = datetime(2015, 10, 21, 7, 28, tzinfo=UTC)
    ctx.last_modified = when
    assert ctx.last_modified == ctx.response.last_modified == when
    ctx.last_modified = datetime(2015, 10, 21, 9, 28, 0, 999, tzinfo=timezone(timedelta(hours=2)))
    assert ctx.response.get("Last-Modified") == "Wed, 21 Oct 2015 07:28:00 GMT"
    ctx.last_modified = datetime(2015, 10, 21, 7, 28)  # naive means UTC
    assert ctx.last_modified == when
    ctx.last_modified = 0
    assert ctx.response.get("Last-Modified") == "Thu, 01 Jan 1970 00:00:00 GMT"
    with pytest.raises(ValueError):
        ctx.last_modified = "not a date"


def test_attachment_keeps_a_content_type_already_set() -> None:
    ctx = make_context()
    ctx.type = "bin"
    ctx.attachment("page.html")
    assert ctx.response.get("Content-Type") == "application/octet-stream"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"type": "inline"}, 'inline; filename="r\u00e9sum\u00e9.pdf"'),
        ({"fallback": False}, "attachment; filename*=UTF-8''%E2%82%AC.pdf"),
        ({"fallback": "EUR.pdf"}, "attachment; filename=\"EUR.pdf\"; filename*=UTF-8''%E2%82%AC.pdf"),
    ],
)
def test_attachment_options(options: dict[str, Any], expected: str) -> None:
    ctx = make_context()
    ctx.response.attachment("€.pdf" if "fallback" in options else "résumé.pdf", **options)
    assert ctx.response.get("Content-Disposition") == expected


def test_response_is() -> None:
    ctx = make_context()
    assert ctx.response.is_("json") is False
    ctx.type = "json"
    assert ctx.response.is_() == "application/json"
    assert ctx.response.is_("html", "json") == "json"
    assert ctx.response.is_("application/*") == "application/json"
    assert ctx.response.is_("text/*") is False


@pytest.mark.parametrize(
    "change",
    [
        lambda ctx: ctx.vary("Accept"),
        lambda ctx: setattr(ctx, "etag", "x"),
        lambda ctx: setattr(ctx, "last_modified", datetime.now(UTC)),
        lambda ctx: ctx.attachment("a.pdf"),
        lambda ctx: ctx.redirect("/elsewhere"),
        lambda ctx: ctx.response.set("X-Late", "1"),
        lambda ctx: ctx.response.remove("X-Early"),
        lambda ctx: ctx.response.headers.setdefault("x-late", "1"),
        lambda ctx: ctx.response.headers.clear(),
    ],
    ids=["vary", "etag", "last_modified", "attachment", "redirect", "set", "remove", "setdefault", "clear"],
)
async def test_helpers_raise_after_the_headers_went_out(change: Callable[[Context], object]) -> None:
    """Koa ignores them silently; the change could never reach the client, so aiokoa says so."""
    ctx = make_context()
    ctx.status = 200
    ctx.set("X-Early", "1")
    await ctx.flush_headers()
    assert ctx.header_sent and ctx.response.header_sent
    with pytest.raises(ResponseSentError, match="after the headers of the response to GET / had already been sent"):
        change(ctx)
    assert ctx.status == 200
    assert ctx.response.headers == {"x-early": "1"}


async def test_response_headers_stay_readable_after_they_went_out() -> None:
    ctx = make_context()
    ctx.set("X-Early", "1")
    before = ctx.response.headers
    await ctx.flush_headers()
    after = ctx.response.headers
    assert after == before == {"x-early": "1"} and isinstance(after, dict)
    assert ctx.response.get("X-Early") == "1" and ctx.has("x-early")


def test_redirect_keeps_a_redirect_status_and_overrides_type_and_body() -> None:
    ctx = make_context(headers={"accept": "text/html"})
    ctx.status = 301
    ctx.type = "json"
    ctx.body = {"a": 1}
    ctx.redirect("/x?a=<b>")
    assert (ctx.status, ctx.type, ctx.body) == (301, "text/html", "Redirecting to /x?a=&lt;b&gt;.")
    assert ctx.response.get("Location") == "/x?a=%3Cb%3E"


def test_redirect_to_an_invalid_absolute_url_is_an_error() -> None:
    with pytest.raises(ValueError):
        make_context().redirect("http://exa mple.com/")


def test_redirect_and_back_over_http(serve: Serve) -> None:
    app = Koa()

    @app.use
    async def mw(ctx: Context, next: Next) -> None:
        if ctx.path == "/back":
            ctx.response.back("/home")
        else:
            ctx.redirect("http://example.com/😓")

    client = serve(app)
    response = client.get("/", headers={"Accept": "text/html"})
    assert response.status_code == 302
    assert response.headers["location"] == "http://example.com/%F0%9F%98%93"
    assert response.text == "Redirecting to http://example.com/%F0%9F%98%93."
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    host = client.base_url.netloc.decode()
    same = client.get("/back", headers={"Referer": f"http://{host}/from"})
    assert same.headers["location"] == f"http://{host}/from"
    other = client.get("/back", headers={"Referer": "http://evil.com/from"})
    assert other.headers["location"] == "/home"


def test_attachment_over_http(serve: Serve) -> None:
    app = Koa()

    @app.use
    async def mw(ctx: Context, next: Next) -> None:
        ctx.attachment("€ rates.json")
        ctx.body = b"{}"

    response = serve(app).get("/")
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"? rates.json\"; filename*=UTF-8''%E2%82%AC%20rates.json"
    )
    assert response.headers["content-type"] == "application/json; charset=utf-8"


def test_flush_headers_over_http(serve: Serve) -> None:
    app = Koa()

    @app.use
    async def mw(ctx: Context, next: Next) -> None:
        ctx.status = 200
        ctx.set("X-Early", "1")
        await ctx.response.flush_headers()
        ctx.body = "body"

    response = serve(app).get("/")
    assert response.status_code == 200
    assert response.headers["x-early"] == "1"
    assert response.text == "body"
