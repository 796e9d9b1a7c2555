"""The `aiokoa` command: `run` serves for real; `inspect` and `routes` print the stack."""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path

import httpx
import pytest

from aiokoa.cli import main

from .conftest import StartServer, free_port

ROOT = Path(__file__).parent.parent
EXAMPLES = str(ROOT / "examples")


def lines_of(path: str, *names: str) -> list[int]:
    source = (ROOT / path).read_text().splitlines()
    return [next(k for k, line in enumerate(source) if line.startswith(f"async def {name}(")) for name in names]


def test_inspect_prints_the_middleware_stack(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["inspect", "hello:app", "--app-dir", "examples"]) == 0
    a, b, c = lines_of("examples/hello.py", "x_response_time", "logger", "response")
    assert capsys.readouterr().out == (
        "middleware (3), in the order they run:\n"
        f"  1)  x_response_time  examples/hello.py:{a}\n"
        f"  2)  logger           examples/hello.py:{b}\n"
        f"  3)  response         examples/hello.py:{c}\n"
        "\n"
        "routes (0):\n"
        "  (no router: add one with app.use(router.routes()))\n"
    )


def test_routes_prints_every_route_of_nested_routers(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["routes", "nested_routers:app", "--app-dir", "examples"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "routes (8):"
    assert out[1].split() == ["METHODS", "PATH", "NAME", "HANDLER"]
    rows = [line.split() for line in out[2:]]
    assert rows[4][:4] == ["HEAD,GET", "/api/v1/users/{user_id:int}", "user", "show_user"]
    assert rows[4][4].startswith("(examples/nested_routers.py:")
    assert rows[5][:3] == ["PUT", "/api/v1/users/{user_id:int}", "rename_user"]
    assert rows[1][:2] == ["ALL", "/old-home"]
    assert rows[2][:2] == ["use", "/api/v1"]


def test_inspect_a_router_app_names_the_router_middleware(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", "nested_routers:app", "--app-dir", EXAMPLES]) == 0
    out = capsys.readouterr().out
    assert "  1)  Router.routes()  " in out
    assert "  2)  Router.allowed_methods()  " in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["inspect", "no_such_module:app"], "aiokoa inspect: no module named 'no_such_module' in "),
        (["routes", "hello:nope", "--app-dir", EXAMPLES], "aiokoa routes: module 'hello' has no attribute 'nope'"),
        (
            ["inspect", "hello:time", "--app-dir", EXAMPLES],
            "aiokoa inspect: hello:time is module, not an aiokoa app (Koa)",
        ),
    ],
)
def test_mistakes_are_one_clear_line(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith(message)


def test_granian_when_not_installed(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: None if name == "granian" else find_spec(name))
    assert main(["run", "hello:app", "--app-dir", EXAMPLES, "--server", "granian"]) == 2
    assert "granian is not installed: pip install granian" in capsys.readouterr().err


def test_the_console_script_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["aiokoa"] == "aiokoa.cli:main"


@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_run_serves_the_app_with_python_m_aiokoa(server_process: StartServer, server: str) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "aiokoa", "run", "hello:app", "--app-dir", EXAMPLES, "--port", str(port)]
    running = server_process([*argv, "--server", server], port)
    answer = httpx.get(running.url + "/")
    assert (answer.status_code, answer.text) == (200, "Hello World")
    out, _ = running.output()
    # granian binds in its own supervisor and says itself when it listens
    said = "aiokoa listening on" if server == "uvicorn" else "aiokoa starting granian on"
    assert f"{said} http://127.0.0.1:{port}" in out
