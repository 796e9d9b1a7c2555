"""`ctx.body = Path(...)`: read in chunks in a thread, and closed whatever happens."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiokoa import Context, Koa, Next
from aiokoa.core.respond import CHUNK
from aiokoa.testing import TestClient


def app_sending(path: Path) -> Koa:
    app = Koa()

    @app.use
    async def send_file(ctx: Context, next: Next) -> None:
        ctx.body = path

    return app


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK])
def test_a_file_of_any_size_arrives_whole(tmp_path: Path, size: int) -> None:
    data = bytes(n % 251 for n in range(size))
    (tmp_path / "f.bin").write_bytes(data)
    with TestClient(app_sending(tmp_path / "f.bin")) as client:
        response = client.get("/")
    assert (response.content, response.headers["content-length"]) == (data, str(size))


def test_a_file_that_fails_at_its_first_read_is_a_500_and_is_closed() -> None:
    mem = Path("/proc/self/mem")  # opens, then fails to read at offset 0
    if not mem.exists():  # pragma: no cover - not Linux
        pytest.skip("needs /proc/self/mem")
    with TestClient(app_sending(mem)) as client:
        assert client.get("/").status_code == 500
