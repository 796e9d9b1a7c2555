"""Dispatch details: a router bound to a host, `exclusive="specificity"` whatever the
registration order, and redirects on a context without `redirect`."""

from __future__ import annotations

from typing import Any

from aiokoa import Router
from aiokoa.router.router import _redirect
from aiokoa.testing import TestClient

from .conftest import app_with, body


def test_a_host_bound_router_does_not_match_a_request_without_a_host() -> None:
    router = Router(host="example.com")
    router.get("/", body("bound"))
    with TestClient(app_with(router)) as client:
        assert client.get("/", headers={"host": "example.com"}).text == "bound"
        assert client.get("/", headers={"host": "other.org"}).status_code == 404
        assert client.get("/", headers={"host": ""}).status_code == 404


def test_specificity_prefers_fewer_parameters_registered_later() -> None:
    router = Router(exclusive="specificity")
    router.get("/:kind/:id", body("two params"))
    router.get("/users/:id", body("one param"))
    router.get("/users/me", body("static"))
    router.get("/users/:id/:tab", body("not this path"))
    with TestClient(app_with(router)) as client:
        assert client.get("/users/me").text == "static"
        assert client.get("/users/7").text == "one param"
        assert client.get("/posts/7").text == "two params"


class Bare:
    """A context of one's own making with only what a redirect needs: no `redirect()`."""

    def __init__(self) -> None:
        self.headers: dict[str, Any] = {}
        self.status = 404
        self.body: Any = None

    def set(self, name: str, value: str) -> None:
        self.headers[name] = value


def test_a_redirect_on_a_context_without_redirect_sets_location_and_302() -> None:
    bare = Bare()
    _redirect(bare, "/new")  # type: ignore[arg-type]
    assert (bare.headers, bare.status, bare.body) == ({"Location": "/new"}, 302, "Redirecting to /new.")
