"""Mistakes in registering routes fail where they are written, with what was wrong; the
registration objects and matches describe themselves."""

from __future__ import annotations

import re

import pytest

from aiokoa import Router

from .conftest import body


def test_a_name_given_twice_is_refused() -> None:
    with pytest.raises(TypeError, match=r"router\.get\(\): the name is given twice"):
        Router().get("user", "/users/:id", body("x"), name="person")


def test_use_refuses_a_regex_path() -> None:
    with pytest.raises(TypeError, match="use a verb for RegExp routes"):
        Router().use(re.compile("^/admin"), body("x"))


def test_a_router_cannot_be_nested_inside_itself() -> None:
    outer, inner = Router(), Router()
    with pytest.raises(ValueError, match="cannot be nested inside itself"):
        outer.use(outer)
    outer.use("/inner", inner)
    with pytest.raises(ValueError, match="cannot be nested inside itself"):
        inner.use(outer)


def test_nesting_a_router_twice_keeps_one_parent_link() -> None:
    outer, inner = Router(), Router()
    inner.get("/x", body("x"))
    outer.use("/a", inner)
    outer.use("/b", inner)
    assert inner._parents == [outer]
    assert [hit[0].path for hit in outer.match("/b/x", "GET").path_and_method] == ["/b/x"]


def test_a_param_handler_must_be_callable() -> None:
    with pytest.raises(TypeError, match="param handler for 'id' must be callable, got 3"):
        Router().param("id", 3)  # type: ignore[arg-type]


def test_register_returns_the_router_for_chaining() -> None:
    router = Router()
    assert router.register("/x", ["GET"], body("x")) is router
    assert router.match("/x", "GET").route


def test_a_registration_and_a_match_describe_themselves() -> None:
    router = Router()
    registration = router.get("/items/:id")
    assert repr(registration) == f"<Registration on {router!r}>"
    registration(body("item"))
    match = router.match("/items/3", "GET")
    assert repr(match).startswith("<Match route=True path=[")
    assert match.params == {"id": "3"}
    assert not router.match("/items/3", "DELETE").route
