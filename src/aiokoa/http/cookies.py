"""Cookie headers: parsing `Cookie`, writing `Set-Cookie`, and signing (Koa's `keygrip`).

Names and values follow RFC 6265 §4.1.1 (a token; cookie-octets, optionally quoted);
anything else raises `CookieError` instead of producing a header a browser would mangle.
Signed cookies carry a second cookie `<name>.sig` holding an HMAC-SHA256 of `name=value`
made with `app.keys[0]`; a value signed with an older key is still accepted and re-signed
with the first key, so keys rotate by putting the new one in front.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from .headers import http_date

_token = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+").fullmatch
_cookie_value = re.compile(
    r'[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*|"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*"'
).fullmatch
_path_value = re.compile(r"[\x20-\x3a\x3c-\x7e]+").fullmatch
_domain = re.compile(
    r"\.?[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*", re.I
).fullmatch
_SAME_SITE = {"lax": "lax", "strict": "strict", "none": "none"}
_PRIORITY = ("low", "medium", "high")
_EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"
MAX_COOKIE_PAIRS = 1000
"""`;`-separated pairs read from a Cookie header; the rest is ignored. A browser sends at
most a few hundred cookies to one site; 64 KB of `;` would otherwise cost 20 ms a request."""


class CookieError(ValueError):
    """A cookie that cannot be written (invalid name, value or option) or verified."""

    __module__ = "aiokoa"


class Signer(Protocol):
    """What `app.keys` may be besides a list of keys: an object with keygrip's methods."""

    def sign(self, data: str) -> str: ...
    def index(self, data: str, digest: str) -> int: ...


class Keygrip:
    """Sign with the first key, verify against all of them (HMAC-SHA256, base64url)."""

    __slots__ = ("keys", "_pads")

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise CookieError("Keygrip needs at least one key")
        self.keys = [key.encode() if isinstance(key, str) else bytes(key) for key in keys]
        self._pads = [_hmac_pads(key) for key in self.keys]

    def _digest(self, position: int, data: str) -> str:
        # HMAC from the key's hashed pads, made once: each signature then hashes only the
        # data, where hmac.digest() sets the key up again on every call (4 times slower).
        inner, outer = self._pads[position]
        hashed = inner.copy()
        hashed.update(data.encode("latin-1", "replace"))
        mac = outer.copy()
        mac.update(hashed.digest())
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")

    def sign(self, data: str) -> str:
        return self._digest(0, data)

    def index(self, data: str, digest: str) -> int:
        """The position of the key that made `digest`, or -1 (constant-time comparisons)."""
        expected = digest.encode("latin-1", "replace")
        for position in range(len(self._pads)):
            if hmac.compare_digest(self._digest(position, data).encode("ascii"), expected):
                return position
        return -1

    def verify(self, data: str, digest: str) -> bool:
        return self.index(data, digest) > -1


def _hmac_pads(key: bytes) -> tuple[Any, Any]:
    """SHA-256 already fed with the key's inner and outer pads: HMAC's two keyed prefixes."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return hashlib.sha256(key.translate(_INNER)), hashlib.sha256(key.translate(_OUTER))


_BLOCK = hashlib.sha256().block_size
_INNER = bytes(x ^ 0x36 for x in range(256))
_OUTER = bytes(x ^ 0x5C for x in range(256))
_signers: dict[tuple[str | bytes, ...], Keygrip] = {}


def signer_of(keys: Signer | Sequence[str | bytes] | None) -> Signer | None:
    """A Keygrip for a list of keys (one per distinct list, the last 64 kept: every request
    asks for the app's); a signer object as it is; None for no keys."""
    if keys is None or isinstance(keys, (str, bytes)):
        if keys:
            raise CookieError("app.keys must be a list of keys, not a single str")
        return None
    if isinstance(keys, Sequence):
        if not keys:
            return None
        try:
            frozen = tuple(keys)
            signer = _signers.get(frozen)
        except TypeError:  # a bytearray key: no cache
            return Keygrip(keys)
        if signer is None:
            signer = Keygrip(frozen)
            if len(_signers) >= 64:  # keys rotated many times over: the oldest list goes
                _signers.pop(next(iter(_signers)), None)
            _signers[frozen] = signer
        return signer
    return keys


def parse_cookie_header(header: str) -> dict[str, str]:
    """`a=1; b="2"` as `{"a": "1", "b": "2"}`: first occurrence wins, quotes stripped,
    values not percent-decoded; pairs without `=` are skipped, and so is everything after
    the first `MAX_COOKIE_PAIRS` pairs. Never raises."""
    cookies: dict[str, str] = {}
    for pair in header.split(";", MAX_COOKIE_PAIRS)[:MAX_COOKIE_PAIRS]:
        name, eq, value = pair.partition("=")
        name = name.strip(" \t")
        if not eq or not name or name in cookies:
            continue
        value = value.strip(" \t")
        if len(value) > 1 and value[0] == '"' and value[-1] == '"':
            value = value[1:-1]
        cookies[name] = value
    return cookies


_last_date: list[tuple[datetime | None, str]] = [(None, "")]


def _cookie_date(when: datetime) -> str:
    """`http_date(when)`, kept for the last second asked: a signed cookie and its `.sig`,
    and the cookies of every response in that second, share one formatting."""
    second = when.replace(microsecond=0)
    last, text = _last_date[0]  # one read: a thread replacing it cannot mix two seconds
    if last != second:
        text = http_date(second)
        _last_date[0] = (second, text)
    return text


def serialize_cookie(
    name: str,
    value: str | None,
    *,
    max_age: float | timedelta | None = None,
    expires: datetime | None = None,
    path: str | None = "/",
    domain: str | None = None,
    secure: bool = False,
    http_only: bool = True,
    same_site: str | bool | None = None,
    partitioned: bool = False,
    priority: str | None = None,
) -> str:
    """One Set-Cookie value; an empty or None value deletes the cookie (expired in 1970)."""
    if not isinstance(name, str) or not _token(name):
        raise CookieError(f"invalid cookie name {name!r}: use an RFC 6265 token (no spaces, =, ;, quotes)")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise CookieError(f"cookie {name}: the value must be a str, not {type(value).__name__}")
    if not _cookie_value(value):
        raise CookieError(
            f"invalid value for cookie {name}: {value!r}; RFC 6265 allows no spaces, commas, semicolons, "
            "backslashes or quotes inside (encode it, e.g. with urllib.parse.quote)"
        )
    parts = [f"{name}={value}"]
    if path:
        if not _path_value(path):
            raise CookieError(f"cookie {name}: invalid path {path!r}")
        parts.append(f"path={path}")
    if not value:
        parts.append(f"expires={_EPOCH}")
    else:
        if max_age is not None:
            seconds = max_age.total_seconds() if isinstance(max_age, timedelta) else max_age
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
                raise CookieError(f"cookie {name}: max_age must be a finite number of seconds or a timedelta")
            parts.append(f"max-age={math.floor(seconds)}")
            if expires is None:
                expires = datetime.now(UTC) + timedelta(seconds=seconds)
        if expires is not None:
            if not isinstance(expires, datetime):
                raise CookieError(f"cookie {name}: expires must be a datetime")
            parts.append(f"expires={_cookie_date(expires)}")
    if domain:
        if not _domain(domain):
            raise CookieError(f"cookie {name}: invalid domain {domain!r}")
        parts.append(f"domain={domain}")
    if priority:
        if str(priority).lower() not in _PRIORITY:
            raise CookieError(f"cookie {name}: priority must be low, medium or high, not {priority!r}")
        parts.append(f"priority={priority.lower()}")
    if same_site:
        site = "strict" if same_site is True else _SAME_SITE.get(str(same_site).lower())
        if site is None:
            raise CookieError(f"cookie {name}: same_site must be 'lax', 'strict', 'none' or True, not {same_site!r}")
        parts.append(f"samesite={site}")
    if secure:
        parts.append("secure")
    if http_only:
        parts.append("httponly")
    if partitioned:
        parts.append("partitioned")
    return "; ".join(parts)
