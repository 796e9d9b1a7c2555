"""Cookie headers and signing: parsing `Cookie`, writing `Set-Cookie`, keygrip's rules."""

import pytest

from aiokoa.http.cookies import CookieError, Keygrip, parse_cookie_header, serialize_cookie


def test_keygrip() -> None:
    grip = Keygrip(["new", b"old"])
    digest = grip.sign("data")
    assert len(digest) == 43 and "=" not in digest  # SHA-256, base64url without padding
    assert grip.index("data", digest) == 0
    assert grip.index("data", Keygrip(["old"]).sign("data")) == 1
    assert grip.index("data", "nope") == -1
    assert grip.index("other", digest) == -1
    assert grip.verify("data", digest)
    with pytest.raises(CookieError):
        Keygrip([])


def test_parse_and_serialize_helpers() -> None:
    assert parse_cookie_header(' a = 1 ;b="x y"; junk; =v; c=') == {"a": "1", "b": "x y", "c": ""}
    assert serialize_cookie("a", "b", http_only=False, path=None, secure=True) == "a=b; secure"
