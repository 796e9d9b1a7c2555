"""Shared fixtures: real HTTP against uvicorn on 127.0.0.1, and the in-process client."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import httpx
import pytest
import uvicorn

from aiokoa.types import ASGIApp


@contextmanager
def running(app: ASGIApp, **options: object) -> Iterator[str]:
    """Serve `app` on uvicorn (uvloop + httptools) on a free 127.0.0.1 port; yield its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", **options)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        threading.Event().wait(0.01)
    else:  # pragma: no cover - the server failed to start
        raise RuntimeError("uvicorn did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


class Serve(Protocol):
    """What the `serve` fixture gives."""

    def __call__(self, app: ASGIApp, **options: object) -> httpx.Client: ...


@pytest.fixture
def serve() -> Iterator[Serve]:
    """`client = serve(app)`: an httpx client bound to the app served over a real socket."""
    with_stack: list[tuple[object, httpx.Client]] = []

    def start(app: ASGIApp, **options: object) -> httpx.Client:
        manager = running(app, **options)
        url = manager.__enter__()
        client = httpx.Client(base_url=url, timeout=10)
        with_stack.append((manager, client))
        return client

    yield start
    for manager, client in reversed(with_stack):
        client.close()
        manager.__exit__(None, None, None)  # type: ignore[attr-defined]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """A server run as its own process (an example script, the `aiokoa` command), asked
    over real HTTP; started on `port` and ready once it accepts connections."""

    def __init__(self, argv: list[str], port: int, **env: str) -> None:
        self.url = f"http://127.0.0.1:{port}"
        # Files, not pipes: a server that logs more than a pipe holds would block on its next
        # write while nobody reads the pipe. `stop()` closes them.
        self.stdout = tempfile.TemporaryFile("w+")  # noqa: SIM115
        self.stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115
        self.process = subprocess.Popen(argv, env={**os.environ, **env}, stdout=self.stdout, stderr=self.stderr)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        out, err = self.output()
        raise RuntimeError(f"{argv} did not start:\n{out}\n{err}")

    def stop(self) -> None:
        """Stop the server (once) and keep what it printed."""
        if self.stdout.closed:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            self.process.kill()
            self.process.wait()
        printed = []
        for file in (self.stdout, self.stderr):
            file.seek(0)
            printed.append(file.read())
            file.close()
        self.printed = printed[0], printed[1]

    def output(self) -> tuple[str, str]:
        """Stop the server and return everything it printed (stdout, stderr)."""
        self.stop()
        return self.printed


class StartServer(Protocol):
    """What the `server_process` fixture gives."""

    def __call__(self, argv: list[str], port: int, **env: str) -> ServerProcess: ...


@pytest.fixture
def server_process() -> Iterator[StartServer]:
    """`server = server_process(argv, port, **env)`: stopped after the test in any case."""
    started: list[ServerProcess] = []

    def start(argv: list[str], port: int, **env: str) -> ServerProcess:
        server = ServerProcess(argv, port, **env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
