"""`app.keys`, the keys signed cookies are signed with: a list, never one string read as
one key per character."""

from __future__ import annotations

import pytest

from aiokoa import CookieError, Koa
from aiokoa.testing import make_context


@pytest.mark.parametrize("keys", ["secret", b"secret"])
def test_a_single_string_is_refused_when_the_app_is_made(keys: str) -> None:
    with pytest.raises(CookieError, match=r"takes a list of keys, not a single str: Koa\(keys=\["):
        Koa(keys=keys)


def test_a_single_string_set_later_is_refused_at_the_first_cookie() -> None:
    app = Koa()
    app.keys = "secret"  # type: ignore[assignment]
    ctx = make_context(app)
    with pytest.raises(CookieError, match=r"app\.keys must be a list of keys, not a single str"):
        ctx.cookies.set("session", "1", signed=True)


def test_keys_in_any_iterable_are_kept_as_a_list() -> None:
    app = Koa(keys=("new", "old"))
    assert app.keys == ["new", "old"]
    ctx = make_context(app)
    ctx.cookies.set("session", "1", signed=True)
    assert ctx.response.get("Set-Cookie")[1].startswith("session.sig=")  # type: ignore[index]
    assert Koa(keys=[]).keys is None
