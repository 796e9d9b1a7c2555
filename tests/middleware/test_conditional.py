"""conditional_get() with etag(), over real HTTP: a fresh GET or HEAD becomes a 304."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aiokoa import Context, Koa, Next
from aiokoa.middleware.conditional import conditional_get
from aiokoa.middleware.etag import etag

from ..conftest import Serve

MODIFIED = "Wed, 01 Jan 2020 00:00:00 GMT"


def app() -> Koa:
    app = Koa()
    app.use(conditional_get())
    app.use(etag())

    @app.use
    async def handler(ctx: Context, next: Next) -> None:
        if ctx.path == "/dated":
            ctx.last_modified = datetime(2020, 1, 1, tzinfo=UTC)
        if ctx.path == "/missing":
            ctx.status = 404
            ctx.body = "not here"
            return
        ctx.body = {"hello": "world"}

    return app


def test_a_matching_if_none_match_gives_304(serve: Serve) -> None:
    client = serve(app())
    first = client.get("/")
    assert first.status_code == 200
    tag = first.headers["etag"]
    again = client.get("/", headers={"If-None-Match": tag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", tag)
    assert "content-type" not in again.headers
    assert client.head("/", headers={"If-None-Match": f'"x", {tag}'}).status_code == 304
    assert client.get("/", headers={"If-None-Match": '"other"'}).json() == {"hello": "world"}
    assert client.get("/", headers={"If-None-Match": tag, "Cache-Control": "no-cache"}).status_code == 200


@pytest.mark.parametrize(
    ("since", "status"),
    [(MODIFIED, 304), ("Thu, 01 Jan 2030 00:00:00 GMT", 304), ("Tue, 31 Dec 2019 00:00:00 GMT", 200)],
)
def test_if_modified_since(serve: Serve, since: str, status: int) -> None:
    assert serve(app()).get("/dated", headers={"If-Modified-Since": since}).status_code == status


def test_if_none_match_wins_over_if_modified_since(serve: Serve) -> None:
    """RFC 9110: a server that has If-None-Match does not evaluate If-Modified-Since."""
    headers = {"If-None-Match": '"other"', "If-Modified-Since": MODIFIED}
    assert serve(app()).get("/dated", headers=headers).status_code == 200


def test_only_get_and_head_and_only_2xx(serve: Serve) -> None:
    client = serve(app())
    tag = client.get("/").headers["etag"]
    assert client.post("/", headers={"If-None-Match": tag}).status_code == 200
    assert client.get("/missing", headers={"If-None-Match": "*"}).status_code == 404
