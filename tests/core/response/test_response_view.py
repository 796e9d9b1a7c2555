"""`ctx.response`: its members read and write the context's state; once the headers went
out, its `headers` refuse every change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from aiokoa import Context, Response, ResponseSentError
from aiokoa.types import Message

MakeContext = Callable[..., Context]


def test_the_delegates_read_and_write_the_context(context: MakeContext) -> None:
    ctx = context()
    response = ctx.response
    response.status = 201
    assert ctx.status == 201
    response.append("Set-Thing", "a")
    response.append("Set-Thing", "b")
    assert ctx.response.get("set-thing") == ["a", "b"]
    response.vary("Accept")
    assert ctx.response.get("Vary") == "Accept"
    assert response.request is ctx.request
    assert response.writable is True
    assert repr(response) == "<Response 201 'Created' {'set-thing': ['a', 'b'], 'vary': 'Accept'}>"
    response.redirect("/elsewhere")
    assert (ctx.status, ctx.response.get("Location")) == (302, "/elsewhere")


def test_read_only_members_cannot_be_set(context: MakeContext) -> None:
    response = context().response
    with pytest.raises(AttributeError, match="header_sent is read-only"):
        response.header_sent = True
    with pytest.raises(AttributeError, match="writable is read-only"):
        response.writable = False


def test_the_class_attribute_is_the_descriptor() -> None:
    assert Response.status.name == "status"
    assert Response.header_sent.readonly is True


@pytest.mark.parametrize(
    "change",
    [
        lambda headers: headers.__setitem__("x-new", "1"),
        lambda headers: headers.__delitem__("x-old"),
        lambda headers: headers.__ior__({"x-new": "1"}),
        lambda headers: headers.update({"x-new": "1"}),
        lambda headers: headers.setdefault("x-new", "1"),
        lambda headers: headers.pop("x-old"),
        lambda headers: headers.popitem(),
        lambda headers: headers.clear(),
    ],
    ids=["setitem", "delitem", "ior", "update", "setdefault", "pop", "popitem", "clear"],
)
async def test_sent_headers_refuse_every_change(context: MakeContext, change: Callable[[Any], object]) -> None:
    sent: list[Message] = []
    ctx = context(sent=sent)
    ctx.set("X-Old", "1")
    await ctx.response.flush_headers()
    await ctx.flush_headers()  # once only
    assert [m["type"] for m in sent] == ["http.response.start"]
    headers = ctx.response.headers
    assert headers["x-old"] == "1"  # still readable
    with pytest.raises(ResponseSentError, match=r"response\.headers"):
        change(headers)
    assert ctx.response.get("X-Old") == "1"
