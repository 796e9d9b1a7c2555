"""docs/deployment.md's examples that are not Python. The Dockerfile, its Python part: the
`pip install` line into a new virtual environment (this repository standing for the
checkout it copies), then its `CMD` started from there on examples/scale_out.py, answering
the health probe. Redis is not running, so the probe says 503 and which check failed: the
app started, as an image would. The nginx and HAProxy configurations pass their servers'
own checks (`nginx -t`, `haproxy -c`); tests/test_scale_out.py runs the nginx one. The
systemd unit passes `systemd-analyze verify`, and the Kubernetes Deployment validates
against the Kubernetes API's schema (offline: kubernetes-validate ships it); the `aiokoa
run` command lines of both are read by aiokoa's own argument parser."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aiokoa import cli
from aiokoa.core import implementations

from .conftest import ServerProcess, free_port
from .redis_server import system_binary

ROOT = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def implementation() -> Iterator[str]:
    """The guide's image and balancer configurations are the same whichever implementation runs:
    each test here runs once."""
    yield implementations.implementation()


DOCKERFILE = re.compile(r"^```dockerfile\n(.*?)^```$", re.S | re.M)


def dockerfile() -> str:
    found = DOCKERFILE.findall((ROOT / "docs" / "deployment.md").read_text())
    assert len(found) == 1
    return str(found[0])


@pytest.mark.packaging
@pytest.mark.once  # the image has one Python of its own, whichever runs the suite
def test_the_images_python_part_installs_and_serves(tmp_path: Path) -> None:
    lines = dockerfile().splitlines()
    (install,) = [line.removeprefix("RUN ") for line in lines if line.startswith("RUN /venv/bin/pip install")]
    (cmd,) = [line.removeprefix("CMD ") for line in lines if line.startswith("CMD ")]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    argv = [arg.replace("/venv/", f"{venv}/").replace("/src/aiokoa", str(ROOT)) for arg in shlex.split(install)]
    subprocess.run(argv, check=True, capture_output=True)

    app_dir = tmp_path / "app"
    app_dir.mkdir()
    shutil.copy(ROOT / "examples" / "scale_out.py", app_dir / "app.py")
    port = free_port()
    command = [arg.replace("/venv/", f"{venv}/") for arg in json_list(cmd)]
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    server = ServerProcess(command, port, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", PYTHONPATH=str(app_dir))
    try:
        probe = httpx.get(f"{server.url}/healthz", timeout=10)
        assert probe.status_code == 503
        assert probe.json()["checks"]["redis_ping"].startswith("failed: ConnectionError")
    finally:
        server.stop()


def json_list(text: str) -> list[str]:
    value = json.loads(text)
    assert isinstance(value, list)
    return [str(item) for item in value]


def config_block(language: str) -> str:
    found = re.findall(rf"^```{language}\n(.*?)^```$", (ROOT / "docs" / "deployment.md").read_text(), re.S | re.M)
    assert len(found) == 1
    return str(found[0])


def test_the_nginx_config_is_valid(tmp_path: Path) -> None:
    """The guide's `upstream` and `server` blocks, in an `http` block, pass `nginx -t`."""
    nginx = system_binary("nginx", "nginx")
    config = tmp_path / "nginx.conf"
    temp = " ".join(
        f"{name}_temp_path {tmp_path / name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config.write_text(f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{\n{temp}\n{config_block('nginx')}}}\n")
    done = subprocess.run(
        [nginx, "-t", "-q", "-p", str(tmp_path), "-c", str(config), "-e", str(tmp_path / "error.log")],
        check=False,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_the_haproxy_config_is_valid(tmp_path: Path) -> None:
    haproxy = system_binary("haproxy", "haproxy")
    config = tmp_path / "haproxy.cfg"
    config.write_text(config_block("haproxy"))
    done = subprocess.run([haproxy, "-c", "-q", "-f", str(config)], check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def aiokoa_command_line(argv: list[str]) -> None:
    """Fails unless `argv`, an `aiokoa` command line, is one aiokoa's parser accepts."""
    assert Path(argv[0]).name == "aiokoa"
    args = cli.parser().parse_args(argv[1:])
    assert args.command == "run" and args.app == "app:app"


def test_the_systemd_unit_is_valid(tmp_path: Path) -> None:
    """`systemd-analyze verify` on an instance of the guide's unit prints nothing: a wrong
    key, value or section is a line of its output. The venv the unit names is this one's."""
    analyze = system_binary("systemd-analyze", "systemd")
    unit = config_block("ini")
    command = re.search(r"^ExecStart=(.*)$", unit, re.M)
    assert command is not None
    argv = shlex.split(command.group(1).replace("%i", "8001"))
    aiokoa_command_line(argv)
    here = str(Path(sys.executable).parent / "aiokoa")
    (tmp_path / "aiokoa@8001.service").write_text(unit.replace(argv[0], here))
    done = subprocess.run(
        [analyze, "verify", str(tmp_path / "aiokoa@8001.service")], check=False, capture_output=True, text=True
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_the_kubernetes_deployment_is_valid() -> None:
    """The guide's manifest against the schema of a recent Kubernetes, strictly: a field
    misspelled or of the wrong type fails."""
    import kubernetes_validate
    import yaml

    manifest = yaml.safe_load(config_block("yaml"))
    kubernetes_validate.validate(manifest, "1.31", strict=True)
    (container,) = manifest["spec"]["template"]["spec"]["containers"]
    aiokoa_command_line(container["command"])
    broken = yaml.safe_load(config_block("yaml").replace("readinessProbe:", "readinesProbe:"))
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(broken, "1.31", strict=True)
