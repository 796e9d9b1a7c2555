"""A real load balancer for the tests, round robin over the given upstream ports on a free
127.0.0.1 port, one process in the foreground with its files in a temporary directory,
stopped by its process id: Debian's nginx, or HAProxy.

nginx's configuration is the one docs/deployment.md recommends, less what a test has no use
for: a worker that refuses connections (stopped, or stopping) is skipped for
`fail_timeout`, and a request it did not take is sent to the next one, so clients never see
the worker go. HAProxy's is the guide's own, with the test's addresses put in."""

from __future__ import annotations

import re
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .conftest import free_port
from .redis_server import system_binary

CONFIG = """
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        "" "";
    }}
    upstream app {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_next_upstream error timeout;
            proxy_buffering off;
            proxy_read_timeout 30s;
        }}
    }}
}}
"""


def haproxy_config(port: int, upstreams: list[int]) -> str:
    """The guide's HAProxy configuration, listening on `port`, with `upstreams` as its servers."""
    text = (Path(__file__).parent.parent / "docs" / "deployment.md").read_text()
    (config,) = re.findall(r"^```haproxy\n(.*?)^```$", text, re.S | re.M)
    config = config.replace("bind :80", f"bind 127.0.0.1:{port}")
    servers = "".join(f"    server w{n} 127.0.0.1:{upstream} check\n" for n, upstream in enumerate(upstreams, 1))
    return re.sub(r"(    server w\d+ .*\n)+", servers, config)


class LoadBalancer:
    """nginx or HAProxy (`kind`) in front of `upstreams` (ports on 127.0.0.1)."""

    def __init__(self, upstreams: list[int], kind: str = "nginx") -> None:
        self.kind = kind
        self.binary = system_binary(kind, kind)
        self.port = free_port()
        self.directory = tempfile.TemporaryDirectory(prefix=f"aiokoa-{kind}-")
        path = Path(self.directory.name)
        if kind == "haproxy":
            (path / "haproxy.cfg").write_text(haproxy_config(self.port, upstreams))
            argv = [self.binary, "-db", "-f", str(path / "haproxy.cfg")]
        else:
            servers = "\n".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in upstreams)
            (path / "nginx.conf").write_text(CONFIG.format(dir=path, port=self.port, servers=servers))
            argv = [self.binary, "-p", str(path), "-c", str(path / "nginx.conf"), "-e", str(path / "error.log")]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        self.close()
        raise RuntimeError(f"{kind} did not start: {self.errors()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def errors(self) -> str:
        log = Path(self.directory.name) / "error.log"
        return log.read_text() if log.exists() else ""

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.directory.cleanup()
