"""Shared fixtures: real HTTP against uvicorn on 127.0.0.1, and the in-process client."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

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


@pytest.fixture
def serve() -> Iterator[Callable[[ASGIApp], httpx.Client]]:
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
