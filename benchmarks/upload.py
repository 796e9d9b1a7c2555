"""The upload scenario: one 100 MiB file in a multipart form, streamed to each server.

aiokoa (`ctx.form()`) and Starlette (`request.form()`) on uvicorn and on granian (whose
reading of the socket costs the server less than uvicorn's: the frameworks' own work weighs
more there), the floor beside them (raw ASGI doing only the parse and the write a
framework on python-multipart must do), and Koa with koa-body (formidable) on Node, each
pinned to the server core like every network run. The client
sends the body from this process in 1 MiB writes over 127.0.0.1 and times the exchange
from the first byte sent to the last byte of the answer (the file's name and size as
JSON, checked; what the server does after it, until it closes the connection, is not
waited for), after one upload to warm the server up; the server's CPU time for it comes
from /proc, which tells what the parsing costs when the socket, not the server, sets the
pace. From before that first upload to
the end of the timed one, the server's RSS is sampled every 10 ms: its growth shows
whether the file was streamed to disk or held in memory.
"""

from __future__ import annotations

import json
import socket
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from network import BASE_PORT, HOST, PerRound, Server, Target, cpu_seconds, rss_kib, target_available
from registry import AIOKOA, KOA, RAW

SIZE = 100 << 20
BOUNDARY = "aiokoa-upload-benchmark"
FILENAME = "upload.bin"
TARGETS = (
    Target(AIOKOA, "uvicorn"),
    Target("starlette", "uvicorn"),
    Target(RAW, "uvicorn"),
    Target(AIOKOA, "granian"),
    Target("starlette", "granian"),
    Target(RAW, "granian"),
    Target(KOA, "node"),
)
CHUNK = bytes(range(256)) * 4096  # 1 MiB


@dataclass
class UploadMeasurement(PerRound):
    target: str
    mb_s: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    rss_growth_mib: list[float] = field(default_factory=list)


def _body_parts() -> tuple[bytes, bytes]:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{FILENAME}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return head, f"\r\n--{BOUNDARY}--\r\n".encode()


def upload_once(port: int) -> float:
    """Send the upload; the seconds it took. Raises unless the answer names the whole file."""
    head, tail = _body_parts()
    length = len(head) + SIZE + len(tail)
    request = (
        f"POST /upload HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((HOST, port), timeout=120) as sock:
        started = time.perf_counter()
        sock.sendall(request + head)
        for _ in range(SIZE // len(CHUNK)):
            sock.sendall(CHUNK)
        sock.sendall(tail)
        answer = b""
        while not _complete(answer) and (chunk := sock.recv(65536)):
            answer += chunk
        elapsed = time.perf_counter() - started
        # The server closes the connection once its work for the request is done: waited
        # for (untimed) so that the CPU time read next counts all of it.
        while sock.recv(65536):
            pass
    status_line, _, rest = answer.partition(b"\r\n")
    body = rest.partition(b"\r\n\r\n")[2]
    if b" 200 " not in status_line or json.loads(body) != {"filename": FILENAME, "size": SIZE}:
        raise AssertionError(f"upload answered {status_line!r} {body[:200]!r}")
    return elapsed


def _complete(answer: bytes) -> bool:
    """Whether the answer's headers and all the body its Content-Length announces have come."""
    head, found, body = answer.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False  # no length: the answer ends with the connection


class PeakRss:
    """The highest RSS of a process (tree) while the block runs, sampled every 10 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            self._stop.wait(0.01)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_kib(self.pid))


def run(rounds: int) -> list[UploadMeasurement]:
    """Each target, `rounds` times round-robin, each round on fresh servers."""
    targets = [t for t in TARGETS if target_available(t)]
    results = {t.name: UploadMeasurement(t.name) for t in targets}
    with tempfile.TemporaryDirectory(prefix="aiokoa-upload-") as tmp:
        for _ in range(rounds):
            servers = [Server(t, "upload", BASE_PORT - 10 - i, Path(tmp)) for i, t in enumerate(targets)]
            for server in servers:
                server.start()
            try:
                for server in servers:
                    server.wait_ready()
                for server in servers:
                    before = rss_kib(server.pid)
                    with PeakRss(server.pid) as peak:
                        upload_once(server.port)  # warm-up (imports, first allocations): its RSS counts
                        cpu = cpu_seconds(server.pid)
                        seconds = upload_once(server.port)
                        cpu = cpu_seconds(server.pid) - cpu
                    measured = results[server.target.name]
                    measured.mb_s.append(SIZE / (1 << 20) / seconds)
                    measured.cpu_ms.append(cpu * 1000)
                    measured.rss_growth_mib.append((peak.peak - before) / 1024)
            finally:
                for server in servers:
                    server.stop()
    for m in results.values():
        print(
            f"  upload {m.target}: {m.median('mb_s'):,.0f} MB/s, server CPU {m.median('cpu_ms'):,.0f} ms,"
            f" RSS +{m.median('rss_growth_mib'):.1f} MiB"
        )
    return list(results.values())


def table(measured: Sequence[UploadMeasurement]) -> list[str]:
    lines = [
        "| target | MB/s | server CPU ms for the upload | RSS growth, MiB | runs |",
        "|---|---:|---:|---:|---:|",
    ]
    for m in measured:
        lines.append(
            f"| {m.target} | {m.median('mb_s'):,.0f} | {m.median('cpu_ms'):,.0f} | {m.median('rss_growth_mib'):.1f} |"
            f" {len(m.mb_s)} |"
        )
    return lines


def as_json(measured: list[UploadMeasurement]) -> list[dict[str, object]]:
    return [asdict(m) for m in measured]
