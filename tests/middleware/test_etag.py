"""etag(): strong tags for complete bodies, weak ones for files, none where it cannot or
should not tag."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from aiokoa import Context, Koa, Next
from aiokoa.middleware.etag import etag
from aiokoa.testing import TestClient


def tag_of(data: bytes) -> str:
    digest = base64.b64encode(hashlib.sha1(data).digest()).decode()[:27]
    return f'"{len(data):x}-{digest}"'


def answer(body: Any, *, status: int = 200, weak: bool = False, preset: str | None = None) -> dict[str, str]:
    app = Koa()
    app.use(etag(weak=weak))

    @app.use
    async def handler(ctx: Context, next: Next) -> None:
        if preset:
            ctx.etag = preset
        ctx.body = body
        if status != 200:
            ctx.status = status

    with TestClient(app) as client:
        return dict(client.get("/").headers)


@pytest.mark.parametrize(
    ("body", "data"),
    [
        ("hello", b"hello"),
        ("héllo €", "héllo €".encode()),
        (b"\x00\xff", b"\x00\xff"),
        ({"a": [1, 2]}, json.dumps({"a": [1, 2]}, separators=(",", ":")).encode()),
        ([1, "x"], b'[1,"x"]'),
    ],
)
def test_complete_bodies_get_a_strong_tag(body: Any, data: bytes) -> None:
    assert answer(body)["etag"] == tag_of(data)
    assert answer(body, weak=True)["etag"] == "W/" + tag_of(data)


def test_a_file_gets_a_weak_tag_from_its_size_and_mtime(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("0123456789")
    stat = path.stat()
    assert answer(path)["etag"] == f'W/"a-{stat.st_mtime_ns // 1_000_000:x}"'


def test_no_tag_for_streams_errors_or_a_tag_already_there() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"a"

    assert "etag" not in answer(chunks())
    assert "etag" not in answer("missing", status=404)
    assert "etag" not in answer("moved", status=301)
    assert answer("hello", preset="mine")["etag"] == '"mine"'
