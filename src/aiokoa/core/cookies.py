"""`ctx.cookies`: the request's cookies read, and Set-Cookie headers added to its response.

The header formats and the signing live in `aiokoa.http.cookies`; this is the jar bound to
one context.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..http.cookies import CookieError, Signer, parse_cookie_header, serialize_cookie, signer_of
from . import misuse

if TYPE_CHECKING:
    from .context import Context


class Cookies:
    """`ctx.cookies`: `get(name, signed=...)` reads the request, `set(...)` adds Set-Cookie."""

    __slots__ = ("_ctx", "_parsed", "keys", "secure")

    def __init__(self, ctx: Context, keys: Signer | Sequence[str | bytes] | None = None, secure: bool | None = None):
        self._ctx = ctx
        self._parsed: dict[str, str] | None = None
        self.keys = signer_of(keys)
        self.secure = secure
        """Whether the request is secure; None asks the request (`ctx.secure`) when needed."""

    def _signer(self) -> Signer:
        if self.keys is None:
            raise CookieError("app.keys required for signed cookies: Koa(keys=['a secret', ...])")
        return self.keys

    def get(self, name: str, *, signed: bool = False) -> str | None:
        """The cookie's value, or None. With `signed=True`, None unless `<name>.sig` holds a
        valid signature; a bad signature also expires `<name>.sig`, an old key re-signs."""
        parsed = self._parsed
        if parsed is None:
            parsed = self._parsed = parse_cookie_header(self._ctx.headers.get("cookie", ""))
        value = parsed.get(name)
        if value is None or not signed:
            return value
        remote = parsed.get(name + ".sig")
        if not remote:
            return None
        data = f"{name}={value}"
        signer = self._signer()
        index = signer.index(data, remote)
        if index < 0:
            self.set(name + ".sig", None, signed=False)
            return None
        if index > 0:
            self.set(name + ".sig", signer.sign(data), signed=False)
        return value

    def set(
        self,
        name: str,
        value: str | None = None,
        *,
        max_age: float | timedelta | None = None,
        expires: datetime | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool | None = None,
        http_only: bool = True,
        same_site: str | bool | None = None,
        partitioned: bool = False,
        priority: str | None = None,
        overwrite: bool = False,
        signed: bool = False,
    ) -> Cookies:
        """Add a Set-Cookie header; `value=None` (or "") deletes the cookie.

        `max_age` is in **seconds** (Koa's is in milliseconds) or a `timedelta`; it is sent
        as `max-age` and as `expires`. `secure` defaults to whether the request is secure,
        and `secure=True` over plain HTTP raises `CookieError` (behind a TLS proxy, trust it:
        `Koa(proxy=True)`). `same_site=True` means `strict`. `overwrite=True` drops earlier
        Set-Cookie headers for the same name. `signed=True` adds `<name>.sig`.
        """
        ctx = self._ctx
        if ctx._finished or ctx._header_sent:
            raise misuse.response_sent(ctx, f"cookies.set({name!r})")
        request_secure = ctx.secure if self.secure is None else self.secure
        if secure and not request_secure:
            raise CookieError(
                f"cannot send the secure cookie {name!r} over an unencrypted connection "
                "(behind a TLS-terminating proxy, set Koa(proxy=True) so X-Forwarded-Proto is trusted)"
            )
        options = {
            "max_age": max_age,
            "expires": expires,
            "path": path,
            "domain": domain,
            "secure": request_secure if secure is None else secure,
            "http_only": http_only,
            "same_site": same_site,
            "partitioned": partitioned,
            "priority": priority,
        }
        headers = [serialize_cookie(name, value, **options)]  # type: ignore[arg-type]
        if signed:
            data = headers[0].split(";", 1)[0]
            headers.append(serialize_cookie(name + ".sig", self._signer().sign(data), **options))  # type: ignore[arg-type]
        previous = ctx._headers.get("set-cookie")
        existing = [] if previous is None else list(previous) if isinstance(previous, list) else [str(previous)]
        if overwrite:
            for header in headers:
                prefix = header.split("=", 1)[0] + "="
                existing = [line for line in existing if not line.startswith(prefix)]
        ctx.set("Set-Cookie", existing + headers)
        return self
