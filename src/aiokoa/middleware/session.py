"""`ctx.session`: data that follows a browser from request to request.

    app = Koa(keys=["a secret"])
    app.use(session())                      # the data in a signed cookie
    app.use(session(encrypted=True))        # ... encrypted and authenticated (AES-GCM)
    app.use(session(store=RedisStore(r)))   # only a random id in the cookie, the data in Redis

The middleware reads the session before calling `next()` and saves it after, only when it
changed (or when `rolling`/`renew` ask for a fresh expiry). A cookie that was tampered
with, has expired, or names a session the store no longer knows starts a new, empty
session: a bad cookie is never an error. An error response saves nothing.

`ctx.session` is an attribute of the request's context, set by the middleware: the
context of an app takes attributes of its own, so nothing is added to the context class
and an app without `session()` has no `ctx.session`. For the type checker, annotate the
handlers that use it with `SessionContext`.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections.abc import Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, TypeGuard

from ..core.compose import Middleware, Next
from ..core.context import Context
from ..http.cookies import CookieError
from ..http.jsonbody import loads

if TYPE_CHECKING:
    from .stores import Store

MAX_COOKIE = 4096
"""What browsers keep of one cookie (name, value and attributes): a longer one is dropped."""


class SessionTooLarge(CookieError):
    """The session no longer fits in a cookie."""

    __module__ = "aiokoa.middleware"


class Session(MutableMapping[str, Any]):
    """The session's data (a dict of JSON values) and its life: `is_new`, `max_age`,
    `regenerate()` and `save()`. Set `ctx.session = None` to destroy it."""

    __slots__ = ("_data", "_dirty", "_force", "_loaded", "expires", "id", "is_new", "max_age", "regenerated")

    def __init__(
        self, data: dict[str, Any], *, max_age: float, id: str | None = None, expires: float | None = None
    ) -> None:
        self._data = data
        # Setting or deleting a key marks the session changed; a change inside a list or a
        # dict it holds is found by comparing its JSON with this copy, made only when the
        # session holds one (most hold strings and numbers: no JSON made per request).
        self._loaded = _encode(data) if any(type(value) in (dict, list) for value in data.values()) else None
        self._dirty = self._force = False
        self.id = id
        """The store's key for this session (None for cookie sessions, and before the first save)."""
        self.is_new = id is None and expires is None
        """True when the request brought no valid session."""
        self.max_age = max_age
        """Seconds the session lives after it is saved; change it for this session only."""
        self.expires = expires
        """When the saved session expires (a `time.time()` value), None for a new one."""
        self.regenerated = False

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value
        self._dirty = True

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self._dirty = True

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"<Session {self._data!r}{' new' if self.is_new else ''}>"

    def save(self) -> None:
        """Save at the end of the request even if nothing changed (a new expiry)."""
        self._force = True

    def regenerate(self) -> None:
        """A new id for the same data, the old one forgotten: call it when a user logs in,
        so an id planted in the browser beforehand (session fixation) is worth nothing."""
        self.regenerated = True
        self._force = True

    def to_dict(self) -> dict[str, Any]:
        return dict(self._data)

    def changed(self) -> bool:
        """Whether the data differs from what the request brought (nested changes included)."""
        if self._force or self._dirty:
            return True
        return self._loaded is not None and _encode(self._data) != self._loaded


_CURRENT, _DESTROYED = "_session", "_session_destroyed"
"""Where a request's session lives: entries of the context's own attributes."""


class SessionContext(Context):
    """The contexts of an app that uses `session()`: `ctx.session` reads the request's
    `Session`, and takes a new mapping (its data replaced) or None (destroyed). Annotate
    handlers with it for the type checker: `async def login(ctx: SessionContext, next: Next)`.

    Its `session` property is the one `session()` puts on the app's context class at the
    app's first request, so an app without `session()` has no `ctx.session` at all."""

    __slots__ = ()

    @property
    def session(self) -> Session:
        """The request's session. After `ctx.session = None` it is a new, empty session,
        saved as a new one if filled before the response (a flash message after logout)."""
        current: Session | None = self.__dict__.get(_CURRENT)
        if current is None:
            raise AttributeError(
                f"ctx.session: no session() middleware ran for {self.method} {self.path}; "
                "add app.use(session()) before the middleware that use ctx.session",
                name="session",
                obj=self,
            )
        return current

    @session.setter
    def session(self, value: Mapping[str, Any] | None) -> None:
        fields = self.__dict__
        current = self.session
        if value is None:
            fields[_DESTROYED] = True
            fields[_CURRENT] = Session({}, max_age=current.max_age)
        elif isinstance(value, Session):
            fields[_CURRENT] = value
        elif isinstance(value, Mapping):
            replaced = Session(dict(value), max_age=current.max_age, id=current.id, expires=current.expires)
            replaced.is_new, replaced.regenerated = current.is_new, current.regenerated
            replaced.save()
            fields[_CURRENT] = replaced
        else:
            raise TypeError(f"ctx.session = {type(value).__name__}: set a dict, or None to destroy the session")


_SESSION_PROPERTY = SessionContext.__dict__["session"]


def session(
    *,
    key: str = "koa.sess",
    max_age: float = 86400,
    signed: bool = True,
    encrypted: bool = False,
    store: Store | None = None,
    rolling: bool = False,
    renew: bool = False,
    http_only: bool = True,
    secure: bool | None = None,
    same_site: str | None = "lax",
    path: str = "/",
    domain: str | None = None,
) -> Middleware:
    """The session middleware. `max_age` is in seconds. `signed` signs the cookie with
    `app.keys` (a key put in front rotates them: cookies signed with the older ones are still
    read, and re-signed). `encrypted=True` (cookie sessions, needs `cryptography`) encrypts
    and authenticates the data with keys derived from `app.keys` instead. `store` keeps the
    data server-side (`MemoryStore()`, `RedisStore(client)`), the cookie holding only a
    random 128-bit id. `rolling` saves on every request (a new expiry each time); `renew`
    only when less than half of `max_age` is left. The rest are the cookie's attributes;
    `secure=None` follows the request."""
    if encrypted and store is not None:
        raise ValueError("session(encrypted=True) encrypts a cookie session; with a store the cookie holds only an id")
    options: dict[str, Any] = {
        "path": path,
        "domain": domain,
        "secure": secure,
        "http_only": http_only,
        "same_site": same_site,
        "overwrite": True,
    }
    sign = signed and not encrypted  # AES-GCM authenticates the data itself
    ciphers: list[_Ciphers] = []  # made at the first request, again if app.keys changes

    def cipher(ctx: Context) -> _Ciphers:
        keys = ctx.app.keys
        if not ciphers or ciphers[0].keys != keys:
            ciphers[:] = [_Ciphers(keys)]
        return ciphers[0]

    async def load(ctx: Context) -> Session:
        raw = ctx.cookies.get(key, signed=sign)
        if not raw:
            return Session({}, max_age=max_age)
        if store is not None:
            record = await store.get(raw) if _is_id(raw) else None
            old_key = False
        elif encrypted:
            record, old_key = cipher(ctx).open(raw, key)
        else:
            record, old_key = _decode(raw), False
        # A record is {"d": data, "e": when it expires (Unix time), "m": max_age}, in the
        # cookie or in the store alike.
        if record is None or not isinstance(record.get("d"), dict) or not _number(record.get("e")):
            return Session({}, max_age=max_age)
        if record["e"] <= time.time():
            return Session({}, max_age=max_age)
        lifetime = _seconds(record.get("m"), max_age)
        loaded = Session(record["d"], max_age=lifetime, id=raw if store is not None else None, expires=record["e"])
        if old_key:
            loaded.save()  # encrypt again with the newest key
        return loaded

    async def commit(ctx: Context, before: Session, after: Session, destroyed: bool) -> None:
        if destroyed or (not after and not after.is_new and after.changed()):
            await destroy(ctx, before)
            if not after:
                return
        if not _should_save(after, rolling, renew):
            return
        record = {"d": after._data, "e": time.time() + after.max_age, "m": after.max_age}
        if store is not None:
            if after.regenerated and after.id is not None:
                await store.destroy(after.id)
                after.id = None
            if after.id is None:
                after.id = secrets.token_urlsafe(16)
            await store.set(after.id, record, after.max_age)
            value = after.id
        else:
            value = cipher(ctx).seal(record, key) if encrypted else _b64(_encode(record))
        _check_size(key, value, sign)
        ctx.cookies.set(key, value, max_age=after.max_age, signed=sign, **options)

    async def destroy(ctx: Context, before: Session) -> None:
        if store is not None and before.id is not None:
            await store.destroy(before.id)
        if not before.is_new:
            ctx.cookies.set(key, None, **options)
            if sign:
                ctx.cookies.set(key + ".sig", None, **options)

    async def session_middleware(ctx: Context, next: Next) -> None:
        context_class = type(ctx)
        if getattr(context_class, "session", None) is not _SESSION_PROPERTY:
            context_class.session = _SESSION_PROPERTY  # type: ignore[attr-defined]
        loaded = await load(ctx)
        fields = ctx.__dict__  # an app's contexts take attributes of their own
        fields[_CURRENT] = loaded
        await next()
        await commit(ctx, loaded, fields[_CURRENT], fields.get(_DESTROYED, False))

    return session_middleware


def _should_save(session: Session, rolling: bool, renew: bool) -> bool:
    if session.is_new:
        return bool(session)  # a new session left empty sets no cookie
    if session.changed() or rolling:
        return True
    return renew and session.expires is not None and session.expires - time.time() < session.max_age / 2


def _check_size(key: str, value: str, signed: bool) -> None:
    # name=value plus the attributes' ~150 bytes; the .sig cookie is a cookie of its own
    size = len(key) + 1 + len(value) + 150
    if size > MAX_COOKIE:
        raise SessionTooLarge(
            f"the session cookie {key!r} would be {size} bytes, more than the {MAX_COOKIE} a browser keeps: "
            "keep less in the session, or keep it server-side: session(store=RedisStore(...)) or MemoryStore()"
        )


_encode = json.JSONEncoder(separators=(",", ":")).encode


def _b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _decode(raw: str) -> dict[str, Any] | None:
    """A cookie's payload, or None for anything that is not one (never raises)."""
    try:
        return _parse(_unb64(raw))
    except (ValueError, binascii.Error):
        return None


def _parse(text: bytes) -> dict[str, Any] | None:
    try:
        payload = loads(text)  # orjson's when installed: read on every request
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        try:  # NaN and Infinity, which the encoder writes and strict decoding refuses
            payload = json.loads(text)
        except ValueError:
            return None
    return payload if isinstance(payload, dict) else None


def _number(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _seconds(value: object, default: float) -> float:
    """A number of seconds read back from a cookie or a store; `default` for anything else."""
    return value if _number(value) else default


def _is_id(value: str) -> bool:
    return len(value) == 22 and all(c.isalnum() or c in "-_" for c in value)


class _Ciphers:
    """AES-256-GCM with one key per entry of `app.keys` (derived with HKDF-SHA256): seals
    with the first, opens with any, as signing rotates keys. The cookie's name is the
    associated data, so a value cannot be moved to another cookie."""

    __slots__ = ("aeads", "keys")

    def __init__(self, keys: Any) -> None:
        try:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        except ImportError as err:
            raise ImportError("session(encrypted=True) needs cryptography: pip install 'aiokoa[crypto]'") from err
        if not keys or not isinstance(keys, list):
            raise CookieError("session(encrypted=True) needs app.keys: Koa(keys=['a secret', ...])")
        self.keys = list(keys)
        self.aeads = [AESGCM(_derive(key)) for key in keys]

    def seal(self, payload: dict[str, Any], name: str) -> str:
        nonce = secrets.token_bytes(12)
        return _b64(nonce + self.aeads[0].encrypt(nonce, _encode(payload).encode(), name.encode()))

    def open(self, raw: str, name: str) -> tuple[dict[str, Any] | None, bool]:
        """The payload (None if it does not decrypt), and whether an older key sealed it."""
        from cryptography.exceptions import InvalidTag

        try:
            sealed = _unb64(raw)
        except (ValueError, binascii.Error):
            return None, False
        if len(sealed) < 12 + 16:
            return None, False
        for index, aead in enumerate(self.aeads):
            try:
                plain = aead.decrypt(sealed[:12], sealed[12:], name.encode())
            except InvalidTag:
                continue
            return _parse(plain), index > 0
        return None, False


def _derive(key: str | bytes) -> bytes:
    """A 256-bit AES key from a signing key, distinct from what signing does with it."""
    from cryptography.hazmat.primitives.hashes import SHA256
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    secret = key.encode() if isinstance(key, str) else key
    return HKDF(SHA256(), 32, salt=None, info=b"aiokoa session encryption").derive(secret)
