"""session(): cookie sessions (signed, encrypted) and store sessions (memory, Redis), across
requests with a real cookie jar, over real HTTP where the cookie's path matters."""

from __future__ import annotations

import base64
import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from aiokoa import Koa, Next, Router
from aiokoa.middleware import MemoryStore, RedisStore, session
from aiokoa.middleware.session import Session, SessionContext, SessionTooLarge
from aiokoa.middleware.stores import Store
from aiokoa.testing import TestClient

from ..conftest import Serve
from ..redis_server import RedisServer
from .conftest import redis_client

KEYS = ["new secret", "old secret"]


def counter_app(keys: list[str] | None = None, make_store: Callable[[Koa], Store] | None = None, **options: Any) -> Koa:
    """GET / counts visits; /login regenerates; /logout destroys; /peek only reads;
    /replace assigns a dict; /big stores `n` bytes."""
    app = Koa(keys=keys if keys is not None else KEYS)
    app.use(session(store=make_store(app) if make_store else None, **options))

    @app.use
    async def routes(ctx: SessionContext, next: Next) -> None:
        if ctx.path == "/logout":
            ctx.session = None
            ctx.body = {"gone": True}
        elif ctx.path == "/login":
            ctx.session.regenerate()
            ctx.session["user"] = "ada"
            ctx.body = {"user": "ada"}
        elif ctx.path == "/peek":
            ctx.body = {"views": ctx.session.get("views"), "new": ctx.session.is_new}
        elif ctx.path == "/replace":
            ctx.session = {"replaced": True}
            ctx.body = {}
        elif ctx.path == "/big":
            ctx.session["blob"] = "x" * int(str(ctx.query["n"]))
            ctx.body = {}
        elif ctx.path == "/nested":
            ctx.session.setdefault("cart", []).append(str(ctx.query["item"]))
            ctx.body = ctx.session["cart"]
        elif ctx.path == "/short":
            ctx.session.max_age = 2  # the cookie's Expires is whole seconds: it lives 1 to 2 s
            ctx.session["short"] = True
            ctx.body = {}
        else:
            ctx.session["views"] = ctx.session.get("views", 0) + 1
            ctx.body = {"views": ctx.session["views"], "new": ctx.session.is_new}

    return app


def plant(client: httpx.Client, name: str, value: str) -> None:
    """Put a cookie of the client's choosing in its jar, in place of the server's."""
    host = client.base_url.host
    domains = {cookie.domain for cookie in client.cookies.jar if cookie.name == name}
    domains = domains or {host if "." in host else host + ".local"}  # as the jar names a dotless host
    client.cookies.delete(name)
    for domain in domains:
        client.cookies.set(name, value, domain=domain)


def carry(client: httpx.Client, jar: dict[str, str]) -> None:
    for name, value in jar.items():
        plant(client, name, value)


def set_cookies(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


# -- cookie sessions ------------------------------------------------------------------


def test_a_signed_cookie_session_lives_across_requests_over_http(serve: Serve) -> None:
    client = serve(counter_app())
    first = client.get("/")
    assert first.json() == {"views": 1, "new": True}
    names = [line.split("=", 1)[0] for line in set_cookies(first)]
    assert names == ["koa.sess", "koa.sess.sig"]
    assert "httponly" in set_cookies(first)[0] and "samesite=lax" in set_cookies(first)[0]
    assert "max-age=86400" in set_cookies(first)[0]
    assert client.get("/").json() == {"views": 2, "new": False}
    # Only read: nothing changed, so no Set-Cookie.
    peek = client.get("/peek")
    assert peek.json() == {"views": 2, "new": False}
    assert set_cookies(peek) == []


def test_a_new_session_left_empty_sets_no_cookie() -> None:
    with TestClient(counter_app()) as client:
        peek = client.get("/peek")
        assert peek.json() == {"views": None, "new": True}
        assert set_cookies(peek) == []


def test_nested_changes_are_saved() -> None:
    with TestClient(counter_app()) as client:
        client.get("/nested?item=a")
        assert client.get("/nested?item=b").json() == ["a", "b"]


def test_what_the_session_saves_it_reads_back_and_what_json_lacks_is_refused() -> None:
    """Infinity and NaN round-trip as Python's JSON writes them; a value JSON has no form
    for (a date) fails the request when saved, instead of coming back as something else."""
    import datetime

    app = Koa(keys=KEYS)
    app.use(session())

    @app.use
    async def routes(ctx: SessionContext, next: Next) -> None:
        if ctx.path == "/set":
            ctx.session["far"] = float("inf")
        elif ctx.path == "/date":
            ctx.session["when"] = datetime.date(2030, 1, 1)
        ctx.body = {"far": repr(ctx.session.get("far"))}

    with TestClient(app) as client:
        client.get("/set")
        assert client.get("/").json() == {"far": "inf"}
        assert client.get("/date").status_code == 500


def test_destroying_expires_both_cookies_and_starts_over() -> None:
    with TestClient(counter_app()) as client:
        client.get("/")
        gone = client.get("/logout")
        lines = set_cookies(gone)
        assert [line.split(";")[0] for line in lines] == ["koa.sess=", "koa.sess.sig="]
        assert all("expires=Thu, 01 Jan 1970" in line for line in lines)
        assert client.get("/").json() == {"views": 1, "new": True}


def test_assigning_a_dict_replaces_the_data() -> None:
    with TestClient(counter_app()) as client:
        client.get("/")
        client.get("/replace")
        assert client.get("/peek").json() == {"views": None, "new": False}


def test_a_tampered_signature_starts_a_new_session() -> None:
    with TestClient(counter_app()) as client:
        client.get("/")
        value = client.cookies["koa.sess"]
        payload = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        payload["d"]["views"] = 1000
        forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
        plant(client, "koa.sess", forged)
        answer = client.get("/")
        assert answer.json() == {"views": 1, "new": True}


def test_key_rotation_reads_old_sessions_and_resigns_them() -> None:
    old = counter_app(keys=["old secret"])
    with TestClient(old) as client:
        client.get("/")
        jar = dict(client.cookies)
    rotated = counter_app(keys=KEYS)
    with TestClient(rotated) as client:
        carry(client, jar)
        peek = client.get("/peek")
        assert peek.json() == {"views": 1, "new": False}
        assert [line.split("=", 1)[0] for line in set_cookies(peek)] == ["koa.sess.sig"]  # re-signed
    with TestClient(counter_app(keys=["another"])) as client:
        carry(client, jar)
        assert client.get("/peek").json() == {"views": None, "new": True}


def test_an_expired_cookie_session_starts_over() -> None:
    with TestClient(counter_app(signed=False)) as client:
        client.get("/")
        payload = {"d": {"views": 5}, "e": time.time() - 1, "m": 60}
        plant(client, "koa.sess", base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("="))
        assert client.get("/").json() == {"views": 1, "new": True}


@pytest.mark.parametrize(
    "value",
    [
        "",
        "x",
        "%%%%",
        "eyJkIjp7fX0",  # {"d":{}}: no expiry
        base64.urlsafe_b64encode(b'{"d": [], "e": 9e99}').decode(),
        base64.urlsafe_b64encode(b'{"d": {}, "e": "tomorrow"}').decode(),
        base64.urlsafe_b64encode(b'{"d": {"a": 1}, "e": 9e99, "m": "long"}').decode(),
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "A" * 5000,
    ],
)
def test_a_garbage_unsigned_cookie_starts_a_new_session(value: str) -> None:
    with TestClient(counter_app(signed=False)) as client:
        plant(client, "koa.sess", value)
        answer = client.get("/peek")
        assert answer.status_code == 200
        assert answer.json()["views"] is None or answer.json() == {"views": None, "new": False}


def test_a_session_too_large_for_a_cookie_is_a_clear_error() -> None:
    app = counter_app()
    errors: list[BaseException] = []
    app.on("error", lambda err, ctx: errors.append(err))
    with TestClient(app) as client:
        assert client.get("/big?n=2000").status_code == 200
        assert client.get("/big?n=4000").status_code == 500
    assert isinstance(errors[0], SessionTooLarge)
    assert "MemoryStore" in str(errors[0]) and "RedisStore" in str(errors[0])


def test_signed_sessions_need_app_keys() -> None:
    app = counter_app(keys=[])
    errors: list[BaseException] = []
    app.on("error", lambda err, ctx: errors.append(err))
    with TestClient(app) as client:
        assert client.get("/").status_code == 500
    assert "app.keys required" in str(errors[0])


def test_rolling_saves_on_every_request() -> None:
    with TestClient(counter_app(rolling=True)) as client:
        client.get("/")
        assert [line.split("=", 1)[0] for line in set_cookies(client.get("/peek"))] == ["koa.sess", "koa.sess.sig"]


def test_renew_saves_only_when_half_the_life_is_gone() -> None:
    with TestClient(counter_app(renew=True, max_age=100)) as client:
        client.get("/")
        assert set_cookies(client.get("/peek")) == []
    with TestClient(counter_app(renew=True, max_age=100, signed=False)) as client:
        payload = {"d": {"views": 3}, "e": time.time() + 10, "m": 100}
        plant(client, "koa.sess", base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("="))
        renewed = client.get("/peek")
        assert renewed.json() == {"views": 3, "new": False}
        assert "max-age=100" in set_cookies(renewed)[0]


def test_an_error_response_saves_nothing() -> None:
    app = Koa(keys=KEYS)
    app.use(session())

    @app.use
    async def fails(ctx: SessionContext, next: Next) -> None:
        ctx.session["x"] = 1
        ctx.throw(400, "no")

    with TestClient(app) as client:
        answer = client.get("/")
        assert answer.status_code == 400
        assert set_cookies(answer) == []


def test_assigning_something_else_than_a_dict_is_an_error() -> None:
    app = Koa(keys=KEYS)
    app.use(session())
    errors: list[BaseException] = []
    app.on("error", lambda err, ctx: errors.append(err))

    @app.use
    async def wrong(ctx: Any, next: Next) -> None:
        ctx.session = 3
        ctx.body = "ok"

    with TestClient(app) as client:
        assert client.get("/").status_code == 500
    assert "ctx.session = int" in str(errors[0])


def test_what_is_put_in_the_session_after_destroying_it_starts_a_new_one(
    store_for: Callable[[Koa], Store],
) -> None:
    app = Koa(keys=KEYS)
    app.use(session(store=store_for(app), signed=False))  # unsigned: the old id can be sent back

    @app.use
    async def routes(ctx: SessionContext, next: Next) -> None:
        if ctx.path == "/logout":
            ctx.session = None
            ctx.session["flash"] = "logged out"
        elif ctx.path == "/login":
            ctx.session["user"] = "ada"
        ctx.body = dict(ctx.session)

    with TestClient(app) as client:
        client.get("/login")
        before = client.cookies["koa.sess"]
        assert client.get("/logout").json() == {"flash": "logged out"}
        after = client.cookies["koa.sess"]
        assert after != before
        assert client.get("/").json() == {"flash": "logged out"}
        plant(client, "koa.sess", before)
        assert client.get("/").json() == {}  # the store forgot the old id


def test_ctx_session_without_the_middleware_says_so() -> None:
    app = Koa(keys=KEYS)
    router = Router()
    router.get("/with", session(), lambda ctx: setattr(ctx, "body", dict(ctx.session)))
    router.get("/without", lambda ctx: setattr(ctx, "body", dict(ctx.session)))
    app.use(router.routes())
    errors: list[BaseException] = []
    app.on("error", lambda err, ctx: errors.append(err))
    with TestClient(app) as client:
        assert client.get("/with").json() == {}
        assert client.get("/without").status_code == 500
    assert str(errors[0]).startswith("ctx.session: no session() middleware ran for GET /without")
    assert not hasattr(Koa().context, "session")  # other apps' contexts are untouched


def test_an_unsigned_session_is_destroyed_without_a_sig_cookie() -> None:
    with TestClient(counter_app(signed=False)) as client:
        assert set_cookies(client.get("/logout")) == []  # nothing to destroy yet
        client.get("/")
        assert [line.split(";")[0] for line in set_cookies(client.get("/logout"))] == ["koa.sess="]


def test_assigning_a_session_object_keeps_it() -> None:
    app = Koa(keys=KEYS)
    app.use(session())

    @app.use
    async def swap(ctx: SessionContext, next: Next) -> None:
        fresh = Session({"swapped": True}, max_age=60)
        ctx.session = fresh
        assert ctx.session is fresh
        ctx.body = {}

    with TestClient(app) as client:
        assert "max-age=60" in set_cookies(client.get("/"))[0]


def test_encrypted_without_cryptography_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cryptography.hazmat.primitives.ciphers.aead", None)
    app = counter_app(encrypted=True)
    errors: list[BaseException] = []
    app.on("error", lambda err, ctx: errors.append(err))
    with TestClient(app) as client:
        client.get("/")
    assert "pip install 'aiokoa[crypto]'" in str(errors[0])


def test_the_session_mapping() -> None:
    data = Session({"a": 1}, max_age=10, expires=time.time() + 10)
    assert not data.is_new and not data.changed()
    assert list(data) == ["a"] and len(data) == 1 and data.to_dict() == {"a": 1}
    del data["a"]
    assert data.changed()
    assert repr(Session({}, max_age=1)) == "<Session {} new>"


# -- encrypted cookie sessions ---------------------------------------------------------


def test_an_encrypted_session_is_unreadable_and_authenticated() -> None:
    with TestClient(counter_app(encrypted=True)) as client:
        first = client.get("/login")
        assert [line.split("=", 1)[0] for line in set_cookies(first)] == ["koa.sess"]  # no .sig: GCM authenticates
        value = client.cookies["koa.sess"]
        assert b"ada" not in base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        assert client.get("/").json() == {"views": 1, "new": False}
        flipped = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
        plant(client, "koa.sess", flipped)
        assert client.get("/peek").json() == {"views": None, "new": True}
        plant(client, "koa.sess", value[:10])  # truncated
        assert client.get("/peek").json() == {"views": None, "new": True}
        plant(client, "koa.sess", "!!not base64")
        assert client.get("/peek").json() == {"views": None, "new": True}


def test_an_encrypted_session_survives_key_rotation() -> None:
    with TestClient(counter_app(keys=["old secret"], encrypted=True)) as client:
        client.get("/")
        old = client.cookies["koa.sess"]
    with TestClient(counter_app(keys=KEYS, encrypted=True)) as client:
        plant(client, "koa.sess", old)
        peek = client.get("/peek")
        assert peek.json() == {"views": 1, "new": False}
        assert client.cookies["koa.sess"] != old  # sealed again with the new key
    with TestClient(counter_app(keys=["new secret"], encrypted=True)) as again:
        plant(again, "koa.sess", client.cookies["koa.sess"])
        assert again.get("/peek").json() == {"views": 1, "new": False}


def test_encrypted_needs_keys_and_no_store() -> None:
    with pytest.raises(ValueError, match="encrypts a cookie session"):
        session(encrypted=True, store=MemoryStore())
    app = counter_app(keys=[], encrypted=True)
    errors: list[BaseException] = []
    app.on("error", lambda err, ctx: errors.append(err))
    with TestClient(app) as client:
        plant(client, "koa.sess", "abc")
        assert client.get("/").status_code == 500
    assert "needs app.keys" in str(errors[0])


# -- store sessions: both stores -------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def store_for(request: pytest.FixtureRequest) -> Iterator[Callable[[Koa], Store]]:
    """A function giving a new app its store: a MemoryStore, or a RedisStore on the real server."""
    if request.param == "memory":
        yield lambda app: MemoryStore()
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        yield lambda app: RedisStore(redis_client(app, server), prefix=f"test:{time.monotonic_ns()}:")


def store_app(store_for: Callable[[Koa], Store], **options: Any) -> Koa:
    return counter_app(make_store=store_for, **options)


def test_a_store_session_keeps_only_a_random_id_in_the_cookie(serve: Serve, store_for: Callable[[Koa], Store]) -> None:
    app = store_app(store_for)
    client = serve(app)
    assert client.get("/").json() == {"views": 1, "new": True}
    session_id = client.cookies["koa.sess"]
    assert len(session_id) == 22 and "views" not in session_id  # 128 random bits, base64url
    assert client.get("/").json() == {"views": 2, "new": False}
    assert client.cookies["koa.sess"] == session_id
    assert client.get("/logout").json() == {"gone": True}
    assert client.get("/peek").json() == {"views": None, "new": True}


def test_regenerate_gives_a_new_id_and_forgets_the_old(store_for: Callable[[Koa], Store]) -> None:
    app = store_app(store_for, signed=False)  # unsigned: the old id can be sent back
    with TestClient(app) as client:
        client.get("/")
        before = client.cookies["koa.sess"]
        client.get("/login")
        after = client.cookies["koa.sess"]
        assert after != before
        assert client.get("/peek").json() == {"views": 1, "new": False}  # same data
        plant(client, "koa.sess", before)
        assert client.get("/peek").json() == {"views": None, "new": True}


def test_regenerating_then_replacing_the_data_still_changes_the_id() -> None:
    app = Koa(keys=KEYS)
    app.use(session(store=MemoryStore()))

    @app.use
    async def login(ctx: SessionContext, next: Next) -> None:
        if ctx.path == "/login":
            ctx.session.regenerate()
            ctx.session = {"user": "ada"}
        else:
            ctx.session["visits"] = 1
        ctx.body = dict(ctx.session)

    with TestClient(app) as client:
        client.get("/")
        before = client.cookies["koa.sess"]
        assert client.get("/login").json() == {"user": "ada"}
        assert client.cookies["koa.sess"] != before


def test_an_unknown_or_malformed_id_starts_a_new_session(store_for: Callable[[Koa], Store]) -> None:
    app = store_app(store_for, signed=False)
    with TestClient(app) as client:
        for value in ["A" * 22, "short", "../../etc/passwd", "A" * 3000]:
            plant(client, "koa.sess", value)
            assert client.get("/peek").json() == {"views": None, "new": True}


def test_a_store_session_expires(store_for: Callable[[Koa], Store]) -> None:
    app = store_app(store_for)
    with TestClient(app) as client:
        client.get("/short")
        assert client.get("/peek").json() == {"views": None, "new": False}
        time.sleep(2.05)
        assert client.get("/peek").json() == {"views": None, "new": True}


def test_the_ttl_is_kept_by_redis(redis_server: RedisServer) -> None:
    app = counter_app(make_store=lambda app: RedisStore(redis_client(app, redis_server), prefix="ttl:"), max_age=120)
    with TestClient(app) as client:
        client.get("/")
        key = "ttl:" + client.cookies["koa.sess"]
    ttl = int(redis_server.command("PTTL", key).strip()[1:])
    assert 115_000 < ttl <= 120_000
    stored = redis_server.command("GET", key).split(b"\r\n")[1]
    assert json.loads(stored)["d"] == {"views": 1}


def test_redis_sessions_answer_503_while_redis_is_down_and_recover(serve: Serve, own_redis: RedisServer) -> None:
    app = counter_app(make_store=lambda app: RedisStore(redis_client(app, own_redis)))
    client = serve(app)
    assert client.get("/").json() == {"views": 1, "new": True}
    own_redis.stop()
    down = client.get("/")
    assert down.status_code == 503
    assert "Redis is unavailable" in down.text
    own_redis.start()  # same port, empty: the session is gone, a new one starts
    assert client.get("/").json() == {"views": 1, "new": True}
    assert client.get("/").json() == {"views": 2, "new": False}
