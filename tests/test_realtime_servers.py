"""Event streams, lifespan state and `ctx.after()` over real sockets, on uvicorn and granian
(`tests/realtime_app.py` as a process of its own), read by httpx as a browser's EventSource
reads them; and an app whose startup fails stops each server with its message."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import ServerProcess, free_port

ROOT = Path(__file__).parent.parent
SERVERS = ("uvicorn", "granian")


def start(server: str, app: str) -> ServerProcess:
    port = free_port()
    argv = [sys.executable, "-m", "aiokoa", "run", app, "--app-dir", str(ROOT), "--server", server]
    return ServerProcess([*argv, "--port", str(port)], port)


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    process = start(request.param, "tests.realtime_app:app")
    try:
        yield process
    finally:
        process.stop()


def read_events(response: httpx.Response, count: int) -> list[dict[str, str]]:
    """The first `count` events of a stream, parsed as EventSource parses them (comments left out)."""
    found: list[dict[str, str]] = []
    event: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if event:
                found.append(event)
                event = {}
            if len(found) == count:
                return found
            continue
        name, _, value = line.partition(":")
        if name:
            value = value.removeprefix(" ")
            event[name] = f"{event[name]}\n{value}" if name == "data" and name in event else value
        else:
            event.setdefault("comments", "")
            event["comments"] += value
    return found


def counts(client: httpx.Client) -> dict[str, Any]:
    result: dict[str, Any] = client.get("/counts").json()
    return result


def wait_for(client: httpx.Client, name: str, value: int, seconds: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while (seen := counts(client))[name] != value and time.monotonic() < deadline:
        time.sleep(0.02)
    return seen


def test_event_streams_lifespan_and_after_work(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=15) as client:
        # The stream: its headers, its framing, the browser's reconnection.
        with client.stream("GET", "/events", headers={"Accept-Encoding": "identity"}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
            assert response.headers["cache-control"] == "no-cache"
            assert response.headers["x-accel-buffering"] == "no"
            assert "content-length" not in response.headers
            assert read_events(response, 3) == [
                {"data": "first line\nsecond line"},
                {"data": '{"n":2}'},
                {"event": "count", "id": "3", "data": "three"},
            ]
        # The client left while the source waited for its next event: its finally ran.
        assert wait_for(client, "closed", 1)["closed"] == 1
        with client.stream("GET", "/events", headers={"Last-Event-ID": "1"}) as response:
            assert read_events(response, 1) == [{"data": '{"n":2}'}]
        # Compressed, each event is flushed as it comes, not held until the stream ends.
        with client.stream("GET", "/events", headers={"Accept-Encoding": "gzip"}) as response:
            assert response.headers["content-encoding"] == "gzip"
            assert len(read_events(response, 3)) == 3
        # Silence is broken by a comment every 0.1 s.
        with client.stream("GET", "/quiet") as response:
            started = time.monotonic()
            assert read_events(response, 2) == [{"comments": " ping"}, {"comments": " ping"}]
            assert time.monotonic() - started < 5  # (0.2 s on a machine at rest)
        assert wait_for(client, "closed", 4)["opened"] == 4

        # What the lifespan yielded, on every ctx.
        assert client.get("/state").text == "yes"

        # The response arrives while its after-work still waits; the work ends later.
        response = client.get("/after")
        assert response.text == "answered"
        assert wait_for(client, "after_started", 1)["after_done"] == 0
        client.get("/release")
        assert wait_for(client, "after_done", 1)["after_done"] == 1

        # An error in after-work reaches the error event, and the client got its answer.
        assert client.get("/broken").text == "fine"
        deadline = time.monotonic() + 15
        while not counts(client)["errors"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert counts(client)["errors"] == ["RuntimeError: the work failed in /broken"]
    _out, err = server.output()
    assert "Traceback" not in err


@pytest.mark.parametrize("server_name", SERVERS)
def test_a_failed_startup_stops_the_server_with_its_message(server_name: str) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "aiokoa", "run", "tests.realtime_failing_app:app", "--app-dir", str(ROOT)]
    argv += ["--server", server_name, "--port", str(port)]
    done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=30)
    assert done.returncode == (3 if server_name == "uvicorn" else 1)
    # The server logs the message (granian on stdout), the traceback says where.
    assert "aiokoa: startup failed: ConnectionRefusedError: no database at 127.0.0.1:5432" in done.stdout + done.stderr
    assert 'realtime_failing_app.py", line 13, in lifespan' in done.stderr
