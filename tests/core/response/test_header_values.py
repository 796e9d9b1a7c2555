"""What a response header may hold (str, int, a list of str; one value for Content-Type and
Content-Length) and how `ctx.length` is worked out from the header or the body."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from aiokoa import Context

MakeContext = Callable[..., Context]


def test_a_list_of_one_value_is_that_value_for_content_type(context: MakeContext) -> None:
    ctx = context()
    ctx.set("Content-Type", ["text/plain"])
    assert ctx.response.get("Content-Type") == "text/plain"


@pytest.mark.parametrize("name", ["Content-Type", "Content-Length"])
def test_content_type_and_length_take_exactly_one_value(context: MakeContext, name: str) -> None:
    ctx = context()
    with pytest.raises(ValueError, match=f"{name.lower()} must contain exactly one value"):
        ctx.set(name, ["1", "2"])
    with pytest.raises(ValueError, match="exactly one value"):
        ctx.set(name, [])


def test_other_headers_keep_every_value_of_a_list(context: MakeContext) -> None:
    ctx = context()
    ctx.set("Link", ("<a>", "<b>"))
    assert ctx.response.get("Link") == ["<a>", "<b>"]


@pytest.mark.parametrize("value", [1.5, None.__class__, b"bytes", {"a": 1}])
def test_a_value_of_another_type_is_refused(context: MakeContext, value: object) -> None:
    ctx = context()
    with pytest.raises(
        TypeError, match=f"header x-value must be a str, an int or a list of str, not {type(value).__name__}"
    ):
        ctx.set("X-Value", value)


def test_length_of_a_garbled_content_length_is_zero(context: MakeContext) -> None:
    ctx = context()
    ctx.set("Content-Length", "many")
    assert ctx.length == 0


@pytest.mark.parametrize(
    ("body", "length"),
    [
        ("héllo", 6),  # UTF-8 bytes, not characters
        (b"abc", 3),
        (bytearray(b"abcd"), 4),
        (memoryview(b"abcdef")[1:], 5),
        ({"a": [1, 2]}, len('{"a":[1,2]}')),
    ],
)
def test_length_without_the_header_is_the_body_s_encoded_size(context: MakeContext, body: object, length: int) -> None:
    ctx = context()
    ctx.body = body
    ctx.remove("Content-Length")
    assert ctx.length == length


def test_setting_length_is_ignored_with_chunked_transfer(context: MakeContext) -> None:
    ctx = context()
    ctx.set("Transfer-Encoding", "chunked")
    ctx.length = 10
    assert not ctx.has("Content-Length")
    assert ctx.length is None  # no header, no body


def test_vary_needs_a_name_and_a_star_absorbs_the_rest(context: MakeContext) -> None:
    ctx = context()
    with pytest.raises(ValueError, match="at least one header name"):
        ctx.vary([])
    ctx.vary(["Accept", "accept"])
    assert ctx.response.get("Vary") == "Accept"
    ctx.set("Vary", "*")
    ctx.vary("Origin")
    assert ctx.response.get("Vary") == "*"


def test_back_to_a_referrer_that_is_no_url_goes_to_the_fallback(context: MakeContext) -> None:
    ctx = context(headers={"host": "example.com", "referer": "http://[::1/broken"})
    ctx.back("/home")
    assert ctx.response.get("Location") == "/home"


async def test_replacing_an_async_stream_body_closes_it(context: MakeContext) -> None:
    closed: list[bool] = []

    async def chunks() -> AsyncIterator[bytes]:
        try:
            yield b"never sent"
        finally:
            closed.append(True)

    stream = chunks()
    await stream.__anext__()  # started, so closing it runs its finally
    ctx = context()
    ctx.body = stream
    ctx.body = "instead"
    for _ in range(5):
        await asyncio.sleep(0)
    assert closed == [True]
