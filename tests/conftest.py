"""Shared fixtures: both implementations, real HTTP against uvicorn on 127.0.0.1, and the
in-process client."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

import httpx
import pytest
import uvicorn
from hypothesis import HealthCheck, settings

from aiokoa.core import implementations
from aiokoa.types import ASGIApp

from .browser import Browser
from .browser import available as browser_available

if TYPE_CHECKING:  # tests/redis_server.py takes its ports from here
    from .redis_server import RedisServer

AS_IMPORTED = implementations.implementation()

# One profile for every property test: no deadline and no "too slow to generate" failure,
# as a machine busy with parallel tests makes timing unreliable; 150 examples each
# (AIOKOA_HYPOTHESIS_EXAMPLES: `./dev test` gives the interpreters after the first fewer).
settings.register_profile(
    "aiokoa",
    max_examples=int(os.environ.get("AIOKOA_HYPOTHESIS_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("aiokoa")


def pytest_configure(config: pytest.Config) -> None:
    """gcov writes the C extension's counts when a worker process exits, and xdist kills a
    worker still exiting 10 s after the run, as one may be on a loaded machine: the run that
    measures the C's coverage (AIOKOA_C_COVERAGE=1) waits for its workers instead."""
    if os.environ.get("AIOKOA_C_COVERAGE") and config.pluginmanager.hasplugin("xdist"):
        from xdist.workermanage import NodeManager  # type: ignore[import-untyped]

        NodeManager.EXIT_TIMEOUT = 300


IMPLEMENTATIONS = ["c", "python"] if AS_IMPORTED == "c" else ["python"]
"""Both, unless the C extension is not built here or is turned off (AIOKOA_PURE_PYTHON=1);
AIOKOA_TEST_IMPLEMENTATIONS=c runs only the first, for a run that measures the C's coverage."""
if os.environ.get("AIOKOA_TEST_IMPLEMENTATIONS") == "c" and AS_IMPORTED == "c":
    IMPLEMENTATIONS = ["c"]

collect_ignore = [] if AS_IMPORTED == "c" else ["core/test_parity.py", "reliability/test_fuzz_parity.py"]
"""The tests that compare C with Python: with no C extension, there is nothing to compare."""


@pytest.fixture(autouse=True, params=IMPLEMENTATIONS)
def implementation(request: pytest.FixtureRequest) -> Iterator[implementations.Implementation]:
    """Every test runs twice: apps and chains made with the C extension (`[c]`), then in
    pure Python (`[python]`); only the second where there is no C extension."""
    name: implementations.Implementation = request.param
    implementations.use(name)
    # Servers the test starts as processes of their own run the same implementation.
    with pytest.MonkeyPatch.context() as env:
        if name == "python":
            env.setenv("AIOKOA_PURE_PYTHON", "1")
        yield name
    implementations.use(AS_IMPORTED)


class TestServer(uvicorn.Server):
    """uvicorn as `running()` serves a test: it stops as soon as it is asked, where uvicorn
    looks every 0.1 s and pauses 0.1 s more before it waits for its connections. Most tests
    start a server, so that 0.2 to 0.3 s each was half the suite's time."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets)

    def stop(self) -> None:
        """Ask the server to stop, from any thread."""
        self.should_exit = True
        self._loop.call_soon_threadsafe(self._wake.set)

    async def main_loop(self) -> None:
        ticks = 0  # uvicorn counts tenths of a second: every 10th refreshes the Date header
        while not await self.on_tick(ticks):
            ticks += 10
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1):
                    await self._wake.wait()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()  # an idle keep-alive connection closes; a busy one finishes first
        async with asyncio.timeout(self.config.timeout_graceful_shutdown):
            while self.server_state.connections or self.server_state.tasks:
                await asyncio.sleep(0.005)
        for server in self.servers:
            await server.wait_closed()
        await self.lifespan.shutdown()


@contextmanager
def running(app: ASGIApp, **options: object) -> Iterator[str]:
    """Serve `app` on uvicorn (uvloop + httptools) on a free 127.0.0.1 port; yield its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", **options)  # type: ignore[arg-type]
    server = TestServer(config)
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
        server.stop()
        thread.join(10)
        sock.close()
        # A connection still open when the server stopped (it did not finish within the
        # join) is dropped with its loop, unclosed: the server's to close, not the app's.
        # Collected here, its warning would otherwise fail whichever later test the garbage
        # collector happens to run in. (A full collection costs 0.05 s: only then.)
        if server.server_state.connections or thread.is_alive():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                gc.collect()


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


class LoopReports(logging.Handler):
    """What asyncio reports on its logger: an exception never retrieved, a task destroyed
    while pending, an error in a callback. Not the slow callbacks its debug mode reports
    (PYTHONASYNCIODEBUG=1): those time the machine, busy with parallel tests, not the code;
    aiokoa's own development check names a middleware that blocks the loop."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not str(record.msg).startswith("Executing "):
            self.records.append(record)


loop_reports = LoopReports()
logging.getLogger("asyncio").addHandler(loop_reports)


@pytest.fixture(autouse=True)
def asyncio_reports_nothing(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test passes only if asyncio reported no mistake meanwhile, unless it provokes one
    on purpose: it reads the log itself (takes `caplog`) or is marked `loop_reports`."""
    loop_reports.records.clear()
    yield
    if "caplog" not in request.fixturenames and request.node.get_closest_marker("loop_reports") is None:
        assert [record.getMessage() for record in loop_reports.records] == []


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


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """A headless Chromium shared by the session's browser tests (see tests/browser.py)."""
    if not browser_available():
        pytest.skip("Chromium is not installed (`./dev test` installs chromium and chromium-driver)")
    chromium = Browser()
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server on a free 127.0.0.1 port, one per test process."""
    from .redis_server import RedisServer

    server = RedisServer()
    yield server
    server.close()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A server of the test's own, which it may stop and start again."""
    from .redis_server import RedisServer

    server = RedisServer()
    yield server
    server.close()
