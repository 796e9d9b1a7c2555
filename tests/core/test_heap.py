"""The C heap under a streamed body: a server whose reader frees each message at once gets
no page faults for the next one (glibc gave the memory back, and faulted it in again,
before the heap's thresholds were fixed)."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiokoa.core import heap

from ..conftest import StartServer, free_port

BODY = 16 << 20
PAGES = BODY // 4096
APP = """
from aiokoa import Context, Koa

app = Koa()


async def count(ctx: Context) -> None:
    size = 0
    async for chunk in ctx.stream():
        size += len(chunk)
    ctx.body = str(size)

app.use(count)
"""


def minor_faults(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[7])


def post(port: int) -> bytes:
    """The body sent in 1 MiB writes; the answer's body once the server closed."""
    piece = bytes(range(256)) * 4096
    head = f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {BODY}\r\nConnection: close\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        for _ in range(BODY // len(piece)):
            sock.sendall(piece)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer.partition(b"\r\n\r\n")[2]


def faults_of_an_upload(server_process: StartServer, tmp_path: Path, **env: str) -> int:
    """The server's minor page faults while it streams a 16 MiB body on uvicorn (after one
    body that warms it up)."""
    (tmp_path / "counting.py").write_text(APP)
    port = free_port()
    argv = [sys.executable, "-m", "aiokoa", "run", "counting:app", "--app-dir", str(tmp_path)]
    running = server_process([*argv, "--port", str(port), "--server", "uvicorn"], port, **env)
    assert post(port) == str(BODY).encode()
    before = minor_faults(running.process.pid)
    assert post(port) == str(BODY).encode()
    return minor_faults(running.process.pid) - before


def test_a_streamed_body_does_not_fault_in_its_messages(server_process: StartServer, tmp_path: Path) -> None:
    assert faults_of_an_upload(server_process, tmp_path) < PAGES / 10


def test_the_allocator_settings_a_process_was_started_with_stay(server_process: StartServer, tmp_path: Path) -> None:
    # glibc's own starting threshold, set explicitly: every message of over 128 KiB is then
    # mapped apart and faulted in, and the count that stays under a tenth of the pages
    # above goes past it
    faults = faults_of_an_upload(server_process, tmp_path, MALLOC_MMAP_THRESHOLD_=str(128 << 10))
    assert faults > PAGES / 10


@pytest.fixture
def unsettled(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    heap.settle.cache_clear()
    for name in (*heap._SETTINGS, "GLIBC_TUNABLES"):
        monkeypatch.delenv(name, raising=False)
    yield
    heap.settle.cache_clear()


@pytest.mark.usefixtures("unsettled")
def test_settle_fixes_the_thresholds() -> None:
    assert heap.settle() is True


@pytest.mark.usefixtures("unsettled")
@pytest.mark.parametrize("setting", ["MALLOC_TRIM_THRESHOLD_=0", "GLIBC_TUNABLES=glibc.malloc.trim_threshold=0"])
def test_settle_leaves_a_process_s_own_settings(monkeypatch: pytest.MonkeyPatch, setting: str) -> None:
    name, _, value = setting.partition("=")
    monkeypatch.setenv(name, value)
    assert heap.settle() is False


@pytest.mark.usefixtures("unsettled")
def test_settle_leaves_another_c_library(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_glibc(name: str) -> str:
        raise ValueError(f"unrecognized configuration name {name!r}")

    monkeypatch.setattr(os, "confstr", no_glibc)
    assert heap.settle() is False
