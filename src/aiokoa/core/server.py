"""Serving an app: uvicorn (with uvloop and httptools) is the embedded server.

The socket is bound before anything is printed, so "listening on" is true when it shows;
an address that cannot be used (a port in use, an unknown host, a port that needs
privileges) ends the program with one line on stderr and exit status 1.

SIGTERM or SIGINT (Ctrl+C) stops the server gracefully: it stops accepting, lets the
requests in flight finish for up to `shutdown_timeout` seconds (then cancels them), runs
the app's `shutdown` listeners and returns, so the process exits with status 0. A second
Ctrl+C quits at once, without waiting and without the `shutdown` listeners.

`workers=N` forks N processes after binding, each serving the same socket with its own
event loop, startup and shutdown; the first process waits for them, passes a stop signal on
to each (they ignore Ctrl+C's own SIGINT, so that one Ctrl+C is one stop), and exits with
the status of the first that failed, or 0.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..types import ASGIApp

if TYPE_CHECKING:
    import uvicorn

# uvicorn's exit status when the app's startup fails.
STARTUP_FAILURE = 3

# Seconds the requests in flight get to finish once a stop signal arrives.
SHUTDOWN_TIMEOUT = 30.0

# uvicorn's X-Forwarded-For handling is off: it would replace the peer's address before the
# app sees it, so the app's own `proxy` and `trusted_proxies` settings, which decide whom to
# believe, would check the client's claimed address instead of the proxy's.
PROXY_HEADERS = False

# What `listen()` cannot do in one process with an app object, and what does it.
NOT_FROM_LISTEN = {
    "reload": "reloading needs the app by its import name: `aiokoa run module:app --reload`",
    "fd": "listen() binds host:port itself: serve the app with `uvicorn module:app --fd N`",
    "uds": "listen() binds host:port itself: serve the app with `uvicorn module:app --uds PATH`",
}


def url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host:port`; exits with one line on stderr if there is none."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # connections wait in the backlog until the server accepts them
    except (OSError, OverflowError) as err:
        sock.close()
        print(f"aiokoa: cannot listen on {url(host, port)}: {reason(err, host, port)}", file=sys.stderr)
        raise SystemExit(1) from None
    sock.set_inheritable(True)
    return sock


def reason(err: OSError | OverflowError, host: str, port: int) -> str:
    if isinstance(err, OverflowError):
        return "a port is a number from 0 to 65535"
    if isinstance(err, socket.gaierror):
        return f"unknown host {host!r}"
    if err.errno == errno.EADDRINUSE:
        return f"port {port} is in use (another server is running there: stop it or pick another port)"
    if err.errno == errno.EACCES:
        return "permission denied (ports below 1024 need privileges: pick a higher port)"
    if err.errno == errno.EADDRNOTAVAIL:
        return f"{host} is not an address of this machine"
    return err.strerror or str(err)


def serve(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 3000,
    shutdown_timeout: float | None = SHUTDOWN_TIMEOUT,
    workers: int = 1,
    **options: Any,
) -> None:
    """Serve `app` until stopped, in this process or in `workers` forked ones; `options` are
    uvicorn's (`log_level`, `proxy_headers`, ...), except the ones that need another socket.
    `shutdown_timeout=None` lets the requests in flight take as long as they need."""
    for name, instead in NOT_FROM_LISTEN.items():
        if name in options:
            raise TypeError(f"app.listen() serves in this process and does not take {name}=: {instead}")
    if not (isinstance(workers, int) and workers >= 1):
        raise ValueError(f"app.listen(workers=...) needs 1 or more processes, got {workers!r}")
    if workers > 1 and not hasattr(os, "fork"):
        raise TypeError("app.listen(workers=...) forks, which this system cannot: `aiokoa run module:app --workers N`")
    import uvicorn

    options.setdefault("log_level", "warning")
    options.setdefault("proxy_headers", PROXY_HEADERS)
    # uvicorn types the limit as an int but waits with asyncio.timeout, which takes any seconds.
    options["timeout_graceful_shutdown"] = shutdown_timeout
    config = uvicorn.Config(app, host=host, port=port, **options)
    sock = bind(host, port)
    processes = f" ({workers} workers)" if workers > 1 else ""
    print(f"aiokoa listening on {url(host, sock.getsockname()[1])}{processes}", flush=True)
    with sock:  # closed however serving ends, a failed startup included
        status = serve_workers(config, sock, workers) if workers > 1 else serve_here(config, sock)
    if status:
        raise SystemExit(status)


def serve_here(config: uvicorn.Config, sock: socket.socket, signals: tuple[int, ...] | None = None) -> int:
    """Serve on `sock` in this process; STARTUP_FAILURE if the app's startup failed (uvicorn
    has said why), else 0."""
    server = graceful_server(config, signals)
    server.run(sockets=[sock])
    return 0 if server.started else STARTUP_FAILURE


def serve_workers(config: uvicorn.Config, sock: socket.socket, workers: int) -> int:
    """Fork `workers` processes serving `sock`; wait for them, passing SIGTERM and SIGINT on
    as SIGTERM. One that fails stops the others. Returns the first failure's status, or 0."""
    children: set[int] = set()
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child's coverage is not collected after fork
            status = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches it through the parent
                status = serve_here(config, sock, (signal.SIGTERM,))
            except SystemExit as exit:  # uvicorn's own, when the app's startup fails
                status = exit.code if isinstance(exit.code, int) else 1
            finally:
                os._exit(status)
        children.add(pid)

    def stop(sig: int = signal.SIGTERM, frame: object = None) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    status = 0
    try:
        while children:
            pid, wait_status = os.wait()
            children.discard(pid)
            code = os.waitstatus_to_exitcode(wait_status)
            if code != 0 and status == 0:
                status = code if code > 0 else 1
                stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status


def graceful_server(config: uvicorn.Config, signals: tuple[int, ...] | None = None) -> uvicorn.Server:
    """A `uvicorn.Server` for `config` after which a stop signal is done with: uvicorn raises
    the signal again once it has shut down, so the process would die of it (or print a
    KeyboardInterrupt traceback) after a clean stop instead of exiting with status 0.
    `signals`: the ones it handles (uvicorn's by default)."""
    import uvicorn
    from uvicorn.server import HANDLED_SIGNALS  # SIGINT, SIGTERM, and SIGBREAK on Windows

    class GracefulServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield  # only the main thread can handle signals
                return
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in signals or HANDLED_SIGNALS}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return GracefulServer(config)
