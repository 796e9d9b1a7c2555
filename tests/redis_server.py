"""A real Redis server for the tests: Debian's `redis-server` on a free 127.0.0.1 port,
with nothing saved to disk, in a temporary directory.

`./dev test` installs the package before the run when it is missing; a pytest run started
some other way installs it here (as root, with apt-get, one process at a time), or skips
the tests that need Redis where it cannot be installed. `system_binary()` does the same for
the other servers the tests run (nginx)."""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from .conftest import free_port


def system_binary(command: str, package: str) -> str:
    """The path of `command`, installed from Debian's `package` with apt-get when missing."""
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    found = shutil.which(command, path=search)
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(f"{command} is not installed, and apt-get cannot install it here")
    # pytest-xdist's workers start at the same time: one installs, the others wait for it.
    with open(os.path.join(tempfile.gettempdir(), "aiokoa-apt-install.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if shutil.which(command, path=search) is None:
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True, env=env, capture_output=True)
    found = shutil.which(command, path=search)
    assert found, f"apt-get installed {package}, but {command} is not on PATH"
    return found


def redis_server_binary() -> str:
    """The path of `redis-server`, installed with apt-get when missing."""
    return system_binary("redis-server", "redis-server")


class RedisServer:
    """One redis-server process; `stop()` and `start()` again keep its port, so clients
    reconnect to the same address, as after a Redis restart in production."""

    def __init__(self) -> None:
        self.binary = redis_server_binary()
        self.port = free_port()
        self.directory = tempfile.TemporaryDirectory(prefix="aiokoa-redis-")
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        argv += ["--dir", self.directory.name, "--protected-mode", "no"]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode} on port {self.port}")
            if self.ping():
                return
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not answer PING on port {self.port}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def command(self, *args: str) -> bytes:
        """One command in Redis's inline protocol (arguments without spaces); its raw reply."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(" ".join(args).encode() + b"\r\n")
            return sock.recv(65536)

    def stop(self) -> None:
        """Kill the server at once, as a crash would (SIGKILL), by its process id."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None
        self.directory.cleanup()
