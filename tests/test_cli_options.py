"""The `aiokoa` command's less travelled paths: malformed targets, a broken app module,
`--env` and `--workers`, a traced app, routers seen by what they expose."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

from aiokoa import Koa
from aiokoa.cli import format_inspect, load, main


def write_module(directory: Path, name: str, source: str) -> str:
    """A module `name` in `directory`, importable as `name` once `--app-dir` points there."""
    (directory / f"{name}.py").write_text(textwrap.dedent(source))
    return str(directory)


def test_a_target_without_a_module_is_a_mistake(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", ":app"]) == 2
    assert capsys.readouterr().err == "aiokoa inspect: expected module:app, got ':app'\n"


def test_an_import_error_inside_the_app_module_is_not_hidden(tmp_path: Path) -> None:
    """Only the app module itself missing is a command-line mistake; a module it imports
    that is missing is the app's own error, shown with its traceback."""
    app_dir = write_module(tmp_path, "imports_a_missing_module", "import a_module_nobody_has\n")
    with pytest.raises(ModuleNotFoundError, match="a_module_nobody_has"):
        main(["inspect", "imports_a_missing_module:app", "--app-dir", app_dir])


def test_the_attribute_defaults_to_app_and_may_be_dotted(tmp_path: Path) -> None:
    app_dir = write_module(
        tmp_path,
        "dotted_target",
        """
        from aiokoa import Koa
        app = Koa()
        class holder:
            inner = Koa()
        """,
    )
    module_app = load("dotted_target", app_dir)
    assert isinstance(module_app, Koa)
    assert load("dotted_target:holder.inner", app_dir) is not module_app


def test_env_sets_the_app_env_and_the_environment_before_anything_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIOKOA_ENV", "development")
    app_dir = write_module(tmp_path, "env_app", "from aiokoa import Koa\napp = Koa(env='development')\n")
    # --workers 0 stops the command after the options are applied, before serving
    assert main(["run", "env_app:app", "--app-dir", app_dir, "--env", "production", "--workers", "0"]) == 2
    assert capsys.readouterr().err == "aiokoa run: --workers must be 1 or more, got 0\n"
    assert load("env_app:app", app_dir).env == "production"
    assert os.environ["AIOKOA_ENV"] == "production"


def test_env_with_a_plain_asgi_app_sets_only_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOKOA_ENV", "development")
    app_dir = write_module(tmp_path, "plain_asgi", "async def app(scope, receive, send):\n    pass\n")
    assert main(["run", "plain_asgi:app", "--app-dir", app_dir, "--env", "test", "--workers", "-1"]) == 2
    assert os.environ["AIOKOA_ENV"] == "test"
    assert not hasattr(load("plain_asgi:app", app_dir), "env")


def test_inspect_shows_the_tracer_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app_dir = write_module(
        tmp_path,
        "traced_app",
        """
        from aiokoa import Koa
        from aiokoa.tracing import trace
        app = Koa()
        app.use(trace(log=None))
        @app.use
        async def hello(ctx, next):
            ctx.body = "hi"
        """,
    )
    assert main(["inspect", "traced_app:app", "--app-dir", app_dir]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "middleware (2), in the order they run:"
    assert lines[1].split() == ["1)", "trace()", "(traces", "the", "whole", "chain)"]
    assert lines[2].split()[:2] == ["2)", "hello"]


def test_routes_of_a_router_without_routes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app_dir = write_module(
        tmp_path,
        "empty_router",
        """
        from aiokoa import Koa
        from aiokoa.router import Router
        app = Koa()
        app.use(Router().routes())
        """,
    )
    assert main(["routes", "empty_router:app", "--app-dir", app_dir]) == 0
    assert capsys.readouterr().out == "routes (0):\n  (none)\n"


class DuckLayer:
    """A route as the commands read it: methods, path, name and its handlers."""

    def __init__(self, methods: list[str], path: Any, name: str | None, stack: list[Any]) -> None:
        self.methods = methods
        self.path = path
        self.name = name
        self.stack = stack


class DuckRouter:
    """Any router: the commands find it by its `stack`, here a method rather than a list."""

    def __init__(self, layers: list[DuckLayer]) -> None:
        self._layers = layers

    def stack(self) -> list[DuckLayer]:
        return self._layers


async def show(ctx: Any, next: Any) -> None:
    pass


def test_routes_of_any_router_found_by_what_it_exposes() -> None:
    async def dispatch(ctx: Any, next: Any) -> None:
        pass

    dispatch.router = DuckRouter(  # type: ignore[attr-defined]
        [DuckLayer(["GET"], "/items/:id", "item", [show]), DuckLayer([], "", None, [])]
    )
    app = Koa()
    app.use(dispatch)
    out = format_inspect(app, middleware=False).splitlines()
    assert out[0] == "routes (2):"
    assert out[2].split()[:4] == ["GET", "/items/:id", "item", "show"]
    assert out[3].split() == ["use", "(any)"]  # no methods, no path, no handler


@pytest.mark.parametrize("option", ["--graceful-timeout", "--shutdown-timeout"])
def test_the_graceful_timeout_and_proxy_headers_reach_uvicorn_with_workers(
    option: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    app_dir = write_module(tmp_path, "timeout_app", "from aiokoa import Koa\napp = Koa()\n")
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append({"app": app, **options}))
    argv = ["run", "timeout_app:app", "--app-dir", app_dir, "--port", "0", "--workers", "2", option, "7.5"]
    assert main(argv) == 0
    assert calls[0]["app"] == "timeout_app:app"
    assert calls[0]["workers"] == 2
    assert calls[0]["timeout_graceful_shutdown"] == 7.5
    # The app's proxy and trusted_proxies settings decide whose X-Forwarded-For to believe.
    assert calls[0]["proxy_headers"] is False
