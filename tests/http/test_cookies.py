"""Cookie headers and signing: parsing `Cookie`, writing `Set-Cookie`, keygrip's rules."""

import base64
import hmac

import pytest

from aiokoa.http.cookies import CookieError, Keygrip, parse_cookie_header, serialize_cookie, signer_of


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


@pytest.mark.parametrize("size", [0, 1, 32, 63, 64, 65, 200])
def test_keygrip_signs_what_hmac_sha256_makes(size: int) -> None:
    """Its precomputed pads give the HMAC of the standard library, for keys shorter than,
    as long as and longer than SHA-256's block (which are hashed first), in every position."""
    key = bytes(range(256))[:size]
    for data in ("", "koa.sess=eyJ1c2VyIjoiYWRhIn0", "é" * 100):
        expected = hmac.digest(key, data.encode("latin-1", "replace"), "sha256")
        grip = Keygrip([b"first", key])
        assert grip.index(data, base64.urlsafe_b64encode(expected).rstrip(b"=").decode()) == 1
        assert Keygrip([key]).sign(data) == base64.urlsafe_b64encode(expected).rstrip(b"=").decode()


def test_one_signer_per_list_of_keys() -> None:
    """Every request asks for the app's signer: the same keys give the same one, other keys
    (a rotation, a list changed in place) another, and unhashable keys one of their own."""
    keys = ["k1", "k0"]
    grip = signer_of(keys)
    assert signer_of(["k1", "k0"]) is grip
    keys.insert(0, "k2")
    assert signer_of(keys) is not grip
    assert signer_of(keys).index("a", grip.sign("a")) == 1  # type: ignore[union-attr]
    odd = signer_of([bytearray(b"k1")])  # type: ignore[list-item]
    assert odd is not None and odd.sign("a") == grip.sign("a")  # type: ignore[union-attr]
    assert signer_of([]) is None
    made = [signer_of([f"k{i}"]) for i in range(70)]  # past the number of lists kept
    for i, signer in enumerate(made):
        assert signer is not None and signer.sign("a") == Keygrip([f"k{i}"]).sign("a")
    assert signer_of(["k69"]) is made[69]  # the newest lists are kept: an app's keys stay one signer
    assert signer_of(["k0"]) is not made[0]  # the oldest went, and is made afresh


def test_parse_and_serialize_helpers() -> None:
    assert parse_cookie_header(' a = 1 ;b="x y"; junk; =v; c=') == {"a": "1", "b": "x y", "c": ""}
    assert serialize_cookie("a", "b", http_only=False, path=None, secure=True) == "a=b; secure"


def test_expires_is_formatted_for_each_second() -> None:
    """The last second's date is reused: the same second reads the same, the next one not."""
    from datetime import UTC, datetime, timedelta

    first = datetime(2030, 1, 1, 0, 0, 0, 250000, tzinfo=UTC)
    assert "expires=Tue, 01 Jan 2030 00:00:00 GMT" in serialize_cookie("a", "1", expires=first)
    assert "expires=Tue, 01 Jan 2030 00:00:00 GMT" in serialize_cookie("a", "1", expires=first.replace(microsecond=9))
    later = first + timedelta(seconds=1)
    assert "expires=Tue, 01 Jan 2030 00:00:01 GMT" in serialize_cookie("a", "1", expires=later)
    naive = datetime(2030, 1, 1, 0, 0, 1)  # naive datetimes are UTC
    assert "expires=Tue, 01 Jan 2030 00:00:01 GMT" in serialize_cookie("a", "1", expires=naive)
