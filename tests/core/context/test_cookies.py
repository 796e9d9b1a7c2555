"""`ctx.cookies` (Koa's context/cookies tests, cookies' and keygrip's rules, RFC 6265)."""

import gc
import weakref
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from aiokoa import Context, Koa, Middleware, Next
from aiokoa.core.cookies import Cookies
from aiokoa.http.cookies import CookieError, Keygrip
from aiokoa.testing import TestClient, make_context

from ...conftest import Serve


def _app(middleware: Middleware, **options: Any) -> Koa:
    app = Koa(**options)
    app.use(middleware)
    return app


def set_cookies(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


# -- over HTTP (Koa's context/cookies.test.js) ------------------------------------------


def test_set_an_unsigned_cookie(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.cookies.set("name", "jon")
        ctx.status = 204

    response = serve(_app(mw)).get("/")
    assert set_cookies(response) == ["name=jon; path=/; httponly"]


def test_signed_without_keys_is_a_500_with_a_clear_error(serve: Serve) -> None:
    errors = []

    async def mw(ctx: Context, next: Next) -> None:
        ctx.cookies.set("foo", "bar", signed=True)

    app = _app(mw)
    app.on("error", lambda err, ctx: errors.append(err))
    assert serve(app).get("/").status_code == 500
    assert isinstance(errors[0], CookieError)
    assert "keys required" in str(errors[0])


def test_signed_cookie_sends_a_sig_cookie(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.cookies.set("name", "jon", signed=True)
        ctx.status = 204

    response = serve(_app(mw, keys=["a", "b"])).get("/")
    sig = Keygrip(["a"]).sign("name=jon")
    assert set_cookies(response) == ["name=jon; path=/; httponly", f"name.sig={sig}; path=/; httponly"]


def test_secure_cookie_is_allowed_behind_a_trusted_proxy(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.cookies.set("name", "jon", secure=True)
        ctx.status = 204

    client = serve(_app(mw, proxy=True), proxy_headers=False)
    response = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert set_cookies(response) == ["name=jon; path=/; secure; httponly"]


def test_secure_cookie_over_plain_http_is_an_error(serve: Serve) -> None:
    errors = []

    async def mw(ctx: Context, next: Next) -> None:
        ctx.cookies.set("name", "jon", secure=True)

    app = _app(mw)
    app.on("error", lambda err, ctx: errors.append(err))
    client = serve(app, proxy_headers=False)
    assert client.get("/", headers={"X-Forwarded-Proto": "https"}).status_code == 500
    assert "unencrypted connection" in str(errors[0])


def test_cookies_can_be_replaced(serve: Serve) -> None:
    class Stub:
        def get(self, name: str, **options: object) -> str:
            return "stub"

    async def mw(ctx: Context, next: Next) -> None:
        ctx.cookies = Stub()  # type: ignore[assignment]  # any object may stand in for the jar
        ctx.body = ctx.cookies.get("x")

    assert serve(_app(mw)).get("/").text == "stub"


def test_signed_round_trip_and_key_rotation_over_http(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        if ctx.path == "/set":
            ctx.cookies.set("sid", "abc", signed=True)
            ctx.status = 204
        else:
            ctx.body = {"sid": ctx.cookies.get("sid", signed=True)}

    app = _app(mw, keys=["old"])
    client = serve(app)
    client.get("/set")
    assert client.get("/get").json() == {"sid": "abc"}
    app.keys = ["new", "old"]  # rotation: the new key goes in front, at run time
    response = client.get("/get")
    assert response.json() == {"sid": "abc"}
    assert set_cookies(response) == [f"sid.sig={Keygrip(['new']).sign('sid=abc')}; path=/; httponly"]
    app.keys = ["newer"]
    response = client.get("/get")
    assert response.json() == {"sid": None}


# -- get -------------------------------------------------------------------------------

SIG = Keygrip(["k1"]).sign("a=1")
SIG_OLD = Keygrip(["k0"]).sign("a=1")


@pytest.mark.parametrize(
    ("header", "signed", "value", "set_cookie"),
    [
        ("", False, None, None),
        ("a=1", False, "1", None),
        ('a="1"', False, "1", None),
        ("b=2; a=1; a=3", False, "1", None),  # the first one wins
        ("a=%20x", False, "%20x", None),  # not percent-decoded
        ("a=1", True, None, None),  # no .sig
        (f"a=1; a.sig={SIG}", True, "1", None),
        (f"a=2; a.sig={SIG}", True, None, "a.sig=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly"),
        ("a=1; a.sig=garbage", True, None, "a.sig=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly"),
        (f"a=1; a.sig={SIG_OLD}", True, "1", f"a.sig={SIG}; path=/; httponly"),  # re-signed
        (f"a=1; a.sig={SIG}", False, "1", None),
    ],
)
def test_get(header: str, signed: bool, value: str | None, set_cookie: str | None) -> None:
    ctx = make_context(Koa(keys=["k1", "k0"]), headers={"cookie": header} if header else {})
    assert ctx.cookies.get("a", signed=signed) == value
    assert ctx.response.get("Set-Cookie") == ([set_cookie] if set_cookie else None)


# -- set -------------------------------------------------------------------------------

FIXED = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("args", "options", "expected"),
    [
        (("a", "b"), {}, "a=b; path=/; httponly"),
        (("a", None), {}, "a=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly"),
        (("a", ""), {"max_age": 10}, "a=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly"),
        (("a", "b"), {"expires": FIXED}, "a=b; path=/; expires=Wed, 02 Jan 2030 03:04:05 GMT; httponly"),
        (
            ("a", "b"),
            {"max_age": 60, "expires": FIXED},
            "a=b; path=/; max-age=60; expires=Wed, 02 Jan 2030 03:04:05 GMT; httponly",
        ),
        (("a", "b"), {"path": "/x", "domain": "example.com"}, "a=b; path=/x; domain=example.com; httponly"),
        (("a", "b"), {"path": None, "http_only": False}, "a=b"),
        (("a", "b"), {"same_site": True}, "a=b; path=/; samesite=strict; httponly"),
        (("a", "b"), {"same_site": "Lax"}, "a=b; path=/; samesite=lax; httponly"),
        (("a", "b"), {"same_site": "none"}, "a=b; path=/; samesite=none; httponly"),
        (("a", "b"), {"priority": "High"}, "a=b; path=/; priority=high; httponly"),
        (("a", "b"), {"partitioned": True}, "a=b; path=/; httponly; partitioned"),
        (('a"b', "c"), {}, CookieError),
        (("a b", "c"), {}, CookieError),
        (("a;b", "c"), {}, CookieError),
        (("a=b", "c"), {}, CookieError),
        (("", "c"), {}, CookieError),
        (("a", "b c"), {}, CookieError),
        (("a", "b;c"), {}, CookieError),
        (("a", "b,c"), {}, CookieError),
        (("a", "b\\c"), {}, CookieError),
        (("a", "b\r\nSet-Cookie: x=y"), {}, CookieError),
        (("a", "é"), {}, CookieError),
        (("a", "b"), {"path": "/x;y"}, CookieError),
        (("a", "b"), {"domain": "exa mple.com"}, CookieError),
        (("a", "b"), {"same_site": "sometimes"}, CookieError),
        (("a", "b"), {"priority": "urgent"}, CookieError),
        (("a", "b"), {"max_age": float("inf")}, CookieError),
    ],
)
def test_set(args: tuple[str, str | None], options: dict[str, Any], expected: str | type[CookieError]) -> None:
    ctx = make_context()
    if expected is CookieError:
        with pytest.raises(CookieError):
            ctx.cookies.set(*args, **options)
        assert ctx.response.get("Set-Cookie") is None
    else:
        ctx.cookies.set(*args, **options)
        assert ctx.response.get("Set-Cookie") == [expected]


@pytest.mark.parametrize("max_age", [3600, timedelta(hours=1), 3600.7])
def test_max_age_is_in_seconds(max_age: float | timedelta) -> None:
    ctx = make_context()
    before = datetime.now(UTC).replace(microsecond=0)
    ctx.cookies.set("a", "b", max_age=max_age)
    header = str(ctx.response.headers["set-cookie"][0])  # type: ignore[index]
    assert "max-age=3600;" in header
    expires = datetime.strptime(header.split("expires=")[1].split(";", maxsplit=1)[0], "%a, %d %b %Y %H:%M:%S GMT")
    assert 3599 <= (expires.replace(tzinfo=UTC) - before).total_seconds() <= 3602


def test_secure_defaults_to_the_request_being_secure() -> None:
    ctx = make_context(scheme="https")
    ctx.cookies.set("a", "b")
    ctx.cookies.set("c", "d", secure=False)
    assert ctx.response.get("Set-Cookie") == ["a=b; path=/; secure; httponly", "c=d; path=/; httponly"]


def test_overwrite_replaces_earlier_cookies_of_the_same_name() -> None:
    ctx = make_context(Koa(keys=["k"]))
    ctx.cookies.set("a", "1", signed=True)
    ctx.cookies.set("ab", "x")
    ctx.cookies.set("a", "2", signed=True, overwrite=True)
    sig = Keygrip(["k"]).sign("a=2")
    assert ctx.response.get("Set-Cookie") == [
        "ab=x; path=/; httponly",
        "a=2; path=/; httponly",
        f"a.sig={sig}; path=/; httponly",
    ]


def test_set_keeps_other_set_cookie_headers_and_chains() -> None:
    ctx = make_context()
    ctx.append("Set-Cookie", "x=1")
    assert ctx.cookies.set("a", "b").set("c", "d") is ctx.cookies
    assert ctx.response.get("Set-Cookie") == ["x=1", "a=b; path=/; httponly", "c=d; path=/; httponly"]


async def test_set_after_the_headers_went_out_is_an_error() -> None:
    from aiokoa import ResponseSentError

    ctx = make_context()
    await ctx.flush_headers()
    with pytest.raises(ResponseSentError):
        ctx.cookies.set("a", "b")


def test_custom_signer_as_app_keys() -> None:
    class Upper:
        def sign(self, data: str) -> str:
            return data.upper().replace("=", "-")

        def index(self, data: str, digest: str) -> int:
            return 0 if self.sign(data) == digest else -1

    ctx = make_context(Koa(keys=None), headers={"cookie": "a=1; a.sig=A-1"})
    ctx.cookies = Cookies(ctx, Upper())
    assert ctx.cookies.get("a", signed=True) == "1"


def test_an_error_response_drops_set_cookie(serve: Serve) -> None:
    async def mw(ctx: Context, next: Next) -> None:
        ctx.cookies.set("sid", "x")
        ctx.throw(400, "bad")

    response = serve(_app(mw)).get("/")
    assert (response.status_code, response.text) == (400, "bad")
    assert "set-cookie" not in response.headers


def test_a_finished_request_with_cookies_is_freed_without_the_garbage_collector() -> None:
    # ctx.cookies points back at the context: the response ending lets go of a jar the
    # context can make again, so that the request's objects go as soon as it ends.
    contexts: list[weakref.ref[Context]] = []
    app = Koa(keys=["a secret"])

    @app.use
    async def handler(ctx: Context) -> None:
        contexts.append(weakref.ref(ctx))
        ctx.body = ctx.cookies.get("name", signed=True) or "none"
        ctx.cookies.set("name", "ada", signed=True)

    with TestClient(app) as client:
        signed = client.get("/").headers.get_list("set-cookie")
        gc.collect()
        gc.disable()
        try:
            cookie = "; ".join(header.split(";")[0] for header in signed)
            assert client.get("/", headers={"cookie": cookie}).text == "ada"
            assert contexts[-1]() is None
        finally:
            gc.enable()
