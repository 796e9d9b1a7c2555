"""Graceful shutdown over real processes: on SIGTERM (or Ctrl+C's SIGINT) `app.listen()` and
`aiokoa run` refuse new connections at once, let the requests in flight finish, run the
`shutdown` listeners and exit with status 0; a request still running after the shutdown
timeout is cut, and the process exits all the same."""

from __future__ import annotations

import select
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

from ..conftest import ServerProcess, StartServer, free_port

HERE = Path(__file__).parent
RAN = "shutdown listener ran\n"


def command(runner: str, port: int, timeout: float) -> list[str]:
    if runner == "listen":
        return [sys.executable, str(HERE / "shutdown_app.py"), str(port), str(timeout)]
    argv = [sys.executable, "-m", "aiokoa", "run", "shutdown_app:app", "--app-dir", str(HERE), "--port", str(port)]
    return [*argv, "--shutdown-timeout", str(timeout), "--server", runner]


def start(server_process: StartServer, runner: str, timeout: float, log: Path) -> tuple[ServerProcess, int]:
    port = free_port()
    started = log.with_name("request-started")
    return server_process(
        command(runner, port, timeout), port, SHUTDOWN_LOG=str(log), REQUEST_STARTED=str(started)
    ), port


def in_handler(log: Path) -> bool:
    """Whether a request has reached the handler (on a busy machine, a connection can wait
    in the server's queue for a while: a stop signal then closes it unanswered)."""
    started = log.with_name("request-started")
    deadline = time.monotonic() + 10
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return started.exists()


def request(port: int, sleep: float) -> socket.socket:
    """A connection with `GET /?sleep=...` sent on it; its answer is read later."""
    client = socket.create_connection(("127.0.0.1", port), timeout=30)
    client.sendall(f"GET /?sleep={sleep} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
    return client


def answer(client: socket.socket) -> bytes:
    """Everything the server sends on `client` until it closes the connection."""
    chunks = []
    with client:
        while chunk := client.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def refused_within(port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except ConnectionRefusedError:
            return True
        except TimeoutError:  # a listener that is closing may leave the attempt unanswered
            continue
        time.sleep(0.05)
    return False


def stopped(server: ServerProcess, stop: signal.Signals) -> tuple[int, float]:
    """Send `stop`; the exit status and the seconds it took to exit."""
    sent = time.monotonic()
    server.process.send_signal(stop)
    status = server.process.wait(30)
    return status, time.monotonic() - sent


RUNNERS = [
    pytest.param("listen", signal.SIGTERM, id="listen-SIGTERM"),
    pytest.param("listen", signal.SIGINT, id="listen-SIGINT"),
    pytest.param("uvicorn", signal.SIGTERM, id="run-uvicorn-SIGTERM"),
    pytest.param("granian", signal.SIGTERM, id="run-granian-SIGTERM"),
]


@pytest.mark.parametrize(("runner", "stop"), RUNNERS)
def test_a_request_in_flight_finishes_and_new_connections_are_refused(
    server_process: StartServer, tmp_path: Path, runner: str, stop: signal.Signals
) -> None:
    log = tmp_path / "shutdown.log"
    server, port = start(server_process, runner, 30, log)
    in_flight = request(port, 3)
    assert in_handler(log)
    server.process.send_signal(stop)
    assert refused_within(port, 2.5), "a new connection was still accepted after the stop signal"
    waiting = select.poll()  # not select(): a worker's descriptors can pass its 1,024 limit
    waiting.register(in_flight, select.POLLIN)
    assert waiting.poll(0) == []  # refused while the request still runs
    response = answer(in_flight)
    assert response.startswith(b"HTTP/1.1 200 "), response
    assert response.endswith(b"done")
    assert server.process.wait(30) == 0
    err = server.output()[1]
    assert "Traceback" not in err, err
    assert log.read_text() == RAN


@pytest.mark.measures
@pytest.mark.parametrize("runner", ["listen", "uvicorn"])
def test_uvicorn_cuts_a_request_longer_than_the_timeout_then_runs_the_listeners(
    server_process: StartServer, tmp_path: Path, runner: str
) -> None:
    log = tmp_path / "shutdown.log"
    server, port = start(server_process, runner, 0.5, log)
    in_flight = request(port, 30)
    time.sleep(0.3)
    status, took = stopped(server, signal.SIGTERM)
    assert status == 0
    assert took < 10
    assert answer(in_flight).startswith(b"HTTP/1.1 500 ")  # uvicorn's answer to a cancelled app
    assert log.read_text() == RAN


def test_granian_kills_a_worker_still_busy_after_the_timeout(server_process: StartServer, tmp_path: Path) -> None:
    log = tmp_path / "shutdown.log"
    server, port = start(server_process, "granian", 0.5, log)
    in_flight = request(port, 30)
    time.sleep(0.3)
    status, took = stopped(server, signal.SIGTERM)
    assert status == 0
    assert took < 10
    assert answer(in_flight) == b""  # the connection closes with no answer
    assert not log.exists()  # the killed worker ran no listener
