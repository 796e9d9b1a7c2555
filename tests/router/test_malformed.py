"""Malformed request paths over real HTTP: 400 or 404, never a 500."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from aiokoa import Router

from ..conftest import Serve
from .conftest import app_with, body


def routed() -> Router:
    router = Router()
    router.get("/q/:term", lambda ctx: setattr(ctx, "body", ctx.params))
    router.get("/n/{n:int}", lambda ctx: setattr(ctx, "body", ctx.params))
    router.get("/files/*rest", lambda ctx: setattr(ctx, "body", ctx.params))
    router.get("/pair/:a-:b", lambda ctx: setattr(ctx, "body", ctx.params))
    router.get("/static", body("static"))
    return router


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/q/%ZZ", 400, "malformed percent-encoding in path parameter '%ZZ'"),
        ("/q/abc%", 400, "malformed percent-encoding in path parameter 'abc%'"),
        ("/q/%E9t%E9", 400, "path parameter '%E9t%E9' is not UTF-8"),
        ("/q/a%00b", 400, "NUL character in path parameter"),
        ("/files/a/%C0%AF", 400, "path parameter 'a/%C0%AF' is not UTF-8"),
        ("/static%ZZ", 404, "Not Found"),  # no parameter to decode: simply no route
        ("/n/%31", 404, "Not Found"),  # a typed parameter matches the raw text
        ("/n/99999999999999999999999999999", 200, '{"n":99999999999999999999999999999}'),
        ("/q/..%2F..%2Fetc", 200, '{"term":"../../etc"}'),  # decoded once; the route decides
        ("//q//x", 404, "Not Found"),
    ],
)
def test_bad_input_gives_4xx(serve: Serve, path: str, status: int, text: str) -> None:
    client = serve(app_with(routed()))
    response = client.get(path)
    assert (response.status_code, response.text) == (status, text)


def test_overlong_paths_are_404_not_500(serve: Serve) -> None:
    client = serve(app_with(routed()))
    assert client.get("/" + "a/" * 20_000).status_code == 404
    assert client.get("/pair/" + "-" * 20_000).status_code == 404
    long_value = client.get("/q/" + "x" * 60_000)
    assert long_value.status_code == 200
    assert len(long_value.json()["term"]) == 60_000


def test_raw_nul_byte_in_the_request_line_is_a_400(serve: Serve) -> None:
    client = serve(app_with(routed()))
    address = urlsplit(str(client.base_url))
    with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
        sock.sendall(b"GET /q/a\x00b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.split(b" ", 2)[1] == b"400"
