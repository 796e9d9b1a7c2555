"""Layers: method normalisation, prefixing (Koa's `setPrefix`), and one layer's own match/url."""

from __future__ import annotations

import re

from aiokoa.router import Layer
from aiokoa.router.layer import normalize_methods

from .conftest import body


def test_methods_are_upper_cased_deduplicated_and_get_brings_head_first() -> None:
    assert normalize_methods(["get"]) == ("HEAD", "GET")
    assert normalize_methods(["post", "get", "head"]) == ("HEAD", "POST", "GET")
    assert normalize_methods([]) == ()


def test_prefixing_a_root_route_gives_the_prefix_itself_unless_strict() -> None:
    root = Layer("/", ("GET",), [body("x")])
    assert root.prefixed("/api").path == "/api"
    assert Layer("/", ("GET",), [body("x")], strict=True).prefixed("/api").path == "/api/"
    assert Layer("/users/:id", ("GET",), [body("x")]).prefixed("/api").param_names == ["id"]
    assert root.prefixed("") is root
    pattern = re.compile(r"^/re$")
    assert Layer(pattern, ("GET",), [body("x")]).prefixed("/api").path is pattern  # as Koa: left alone


def test_a_layer_matches_and_builds_urls_on_its_own() -> None:
    layer = Layer("/users/{id:int}{/:tab}", ("GET",), [body("x")], name="user")
    assert layer.param_names == ["id", "tab"]
    assert layer.match("/users/3")
    assert layer.match("/users/3/posts")
    assert not layer.match("/users/x")
    assert layer.url(3) == "/users/3"
    assert layer.url(3, "posts", query={"page": 2}) == "/users/3/posts?page=2"
    assert layer.accepts("HEAD")
    assert not layer.accepts("POST")
    assert Layer("", (), [body("x")], end=False).accepts("PURGE")  # middleware runs for any method
    assert repr(layer) == "<Layer HEAD,GET '/users/{id:int}{/:tab}' 'user'>"
