"""`app.listen()` and `aiokoa run`: "listening on" only once the socket is bound, and an
address that cannot be used is one line on stderr and exit status 1, never a traceback."""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aiokoa import Koa
from aiokoa.core.server import reason

from .conftest import StartServer, free_port

ROOT = Path(__file__).parent.parent
EXAMPLES = str(ROOT / "examples")
LISTEN = "import sys; from aiokoa import Koa; Koa().listen(int(sys.argv[1]), host=sys.argv[2])"


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another server is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=False, capture_output=True, text=True, timeout=30)


def assert_one_line_and_exit_1(done: subprocess.CompletedProcess[str], message: str) -> None:
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [message]
    assert "listening" not in done.stdout


def test_listen_on_a_port_in_use(taken_port: int) -> None:
    done = run([sys.executable, "-c", LISTEN, str(taken_port), "127.0.0.1"])
    assert_one_line_and_exit_1(
        done,
        f"aiokoa: cannot listen on http://127.0.0.1:{taken_port}: port {taken_port} is in use"
        " (another server is running there: stop it or pick another port)",
    )


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("no-such-host.invalid", "unknown host 'no-such-host.invalid'"),
        ("192.0.2.1", "192.0.2.1 is not an address of this machine"),  # a documentation-only address
    ],
)
def test_listen_on_an_unusable_host(host: str, reason: str) -> None:
    port = free_port()
    done = run([sys.executable, "-c", LISTEN, str(port), host])
    assert_one_line_and_exit_1(done, f"aiokoa: cannot listen on http://{host}:{port}: {reason}")


def test_a_port_that_needs_privileges_says_so() -> None:
    # Run as root, binding port 80 succeeds: the reason is checked on the error itself.
    denied = PermissionError(errno.EACCES, "Permission denied")
    assert reason(denied, "127.0.0.1", 80) == "permission denied (ports below 1024 need privileges: pick a higher port)"
    assert reason(OverflowError("bind(): port must be 0-65535."), "127.0.0.1", 70000) == (
        "a port is a number from 0 to 65535"
    )


def test_listen_serves_and_says_so_once_bound(server_process: StartServer) -> None:
    port = free_port()
    running = server_process([sys.executable, "-c", LISTEN, str(port), "127.0.0.1"], port)
    assert httpx.get(running.url + "/").status_code == 404  # an app with no middleware
    out, err = running.output()
    assert out == f"aiokoa listening on http://127.0.0.1:{port}\n"
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("option", "advice"),
    [
        ({"reload": True}, "aiokoa run module:app --reload"),
        ({"fd": 3}, "uvicorn module:app --fd N"),
        ({"uds": "/tmp/app.sock"}, "uvicorn module:app --uds PATH"),
    ],
)
def test_listen_refuses_what_needs_another_process_or_socket(option: dict[str, object], advice: str) -> None:
    with pytest.raises(TypeError, match=f"^app.listen\\(\\) serves in this process and does not take .*{advice}"):
        Koa().listen(free_port(), **option)  # type: ignore[arg-type]


AIOKOA_RUN = [sys.executable, "-m", "aiokoa", "run", "hello:app", "--app-dir", EXAMPLES]


@pytest.mark.parametrize("options", [[], ["--workers", "2"], ["--server", "granian"]])
def test_run_on_a_port_in_use(taken_port: int, options: list[str]) -> None:
    done = run([*AIOKOA_RUN, "--port", str(taken_port), *options])
    assert_one_line_and_exit_1(
        done,
        f"aiokoa: cannot listen on http://127.0.0.1:{taken_port}: port {taken_port} is in use"
        " (another server is running there: stop it or pick another port)",
    )


def test_run_with_two_workers_serves_from_two_processes(server_process: StartServer, tmp_path: Path) -> None:
    (tmp_path / "pid_app.py").write_text(
        "import os\nfrom aiokoa import Koa\napp = Koa()\n\n\n"
        "@app.use\nasync def pid(ctx, next):\n    ctx.body = str(os.getpid())\n"
    )
    port = free_port()
    argv = [sys.executable, "-m", "aiokoa", "run", "pid_app:app", "--app-dir", str(tmp_path), "--workers", "2"]
    running = server_process([*argv, "--port", str(port)], port)
    pids = set()
    for _ in range(200):  # each request on a new connection, which either worker may accept
        pids.add(httpx.get(running.url + "/").text)
        if len(pids) == 2:
            break
    out, _ = running.output()
    assert len(pids) == 2
    assert out.startswith(f"aiokoa starting uvicorn on http://127.0.0.1:{port} (2 workers)")


WORKERS_APP = """
import asyncio, os, sys
from pathlib import Path
from aiokoa import Koa

app = Koa()
log = Path(sys.argv[2])


@app.on("startup")
def started():
    if os.environ.get("FAIL_STARTUP"):
        raise RuntimeError("no database")
    with log.open("a") as out:
        out.write(f"start {os.getpid()}\\n")


@app.on("shutdown")
def stopped():
    with log.open("a") as out:
        out.write(f"stop {os.getpid()}\\n")


@app.use
async def pid(ctx, next):
    await asyncio.sleep(float(ctx.query.get("sleep", 0)))
    ctx.body = str(os.getpid())


app.listen(int(sys.argv[1]), workers=2, shutdown_timeout=10)
"""


def test_listen_with_two_workers_forks_two_processes_that_stop_gracefully(
    server_process: StartServer, tmp_path: Path
) -> None:
    (tmp_path / "workers_app.py").write_text(WORKERS_APP)
    log = tmp_path / "log"
    port = free_port()
    running = server_process([sys.executable, str(tmp_path / "workers_app.py"), str(port), str(log)], port)
    # The socket is bound before the workers fork: they may still be importing (a loaded
    # machine takes seconds) when it accepts.
    deadline = time.monotonic() + 30
    while (not log.exists() or log.read_text().count("start") < 2) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not log.exists():
        pytest.fail(f"no worker started in 30 s; the server printed {running.output()}")
    started = {line.split()[1] for line in log.read_text().splitlines()}
    assert len(started) == 2 and str(running.process.pid) not in started
    in_flight = socket.create_connection(("127.0.0.1", port), timeout=30)
    in_flight.sendall(b"GET /?sleep=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    time.sleep(0.3)
    running.process.send_signal(signal.SIGTERM)
    with in_flight:
        assert in_flight.makefile("rb").read().startswith(b"HTTP/1.1 200 ")
    assert running.process.wait(15) == 0
    out, err = running.output()
    assert out == f"aiokoa listening on http://127.0.0.1:{port} (2 workers)\n"
    assert "Traceback" not in err
    lines = log.read_text().splitlines()
    assert {line.split()[1] for line in lines if line.startswith("stop")} == started


def test_listen_with_workers_whose_startup_fails_exits_3(tmp_path: Path) -> None:
    (tmp_path / "workers_app.py").write_text(WORKERS_APP)
    argv = [sys.executable, str(tmp_path / "workers_app.py"), str(free_port()), str(tmp_path / "log")]
    done = subprocess.run(
        argv, check=False, capture_output=True, text=True, timeout=30, env={**os.environ, "FAIL_STARTUP": "1"}
    )
    assert done.returncode == 3
    assert "no database" in done.stderr


@pytest.mark.parametrize("workers", [0, -1, 1.5])
def test_listen_needs_one_worker_or_more(workers: object) -> None:
    with pytest.raises(ValueError, match="1 or more"):
        Koa().listen(free_port(), workers=workers)  # type: ignore[arg-type]
