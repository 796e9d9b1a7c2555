"""`python -m build` makes an sdist and a wheel from this repository, and a wheel built
where no C compiler is found installs and runs in pure Python.

Each test builds from its own copy of the project (without isolation, so nothing is
downloaded) and installs the wheel into a directory of its own; deselect them with
`-m "not packaging"` for a quicker run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiokoa.core import implementations

ROOT = Path(__file__).parent.parent
pytestmark = pytest.mark.packaging


@pytest.fixture(autouse=True)
def implementation() -> Iterator[str]:
    """A build does not run aiokoa, and the wheel's app runs as the wheel decides (C where it
    has the extension): each test here runs once, not once per implementation."""
    yield implementations.implementation()


RUN_AN_APP = """
import aiokoa
from aiokoa.core.extension import speedups
from aiokoa.testing import TestClient

app = aiokoa.Koa()

@app.use
async def hello(ctx, next):
    ctx.body = "hello"

with TestClient(app) as client:
    assert client.get("/").text == "hello"
print(aiokoa.__file__, "C" if speedups is not None else "pure Python")
"""


def build(tmp_path: Path, **env: str) -> tuple[Path, Path]:
    """The sdist and the wheel `python -m build` makes (the wheel from the sdist)."""
    source = tmp_path / "aiokoa"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "__pycache__", "*.so", "node_modules"),
    )
    out = tmp_path / "dist"
    clean = {name: value for name, value in os.environ.items() if not name.startswith("AIOKOA_")}
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        env={**clean, **env},
        check=True,
        capture_output=True,
    )
    (sdist,) = out.glob("aiokoa-*.tar.gz")
    (wheel,) = out.glob("aiokoa-*.whl")
    return sdist, wheel


def install_and_run(tmp_path: Path, wheel: Path) -> str:
    """What the app prints when run from the installed wheel: where aiokoa is, C or pure Python."""
    target = tmp_path / "installed"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    env = {name: value for name, value in os.environ.items() if not name.startswith("AIOKOA_")}
    done = subprocess.run(
        [sys.executable, "-c", RUN_AN_APP],
        env={**env, "PYTHONPATH": str(target)},
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    where, _, mode = done.stdout.strip().partition(" ")
    assert Path(where).is_relative_to(target)  # the wheel's aiokoa, not the checkout's
    return mode


def names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_sdist_and_wheel(tmp_path: Path) -> None:
    sdist, wheel = build(tmp_path)
    with tarfile.open(sdist) as archive:
        files = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"setup.py", "pyproject.toml", "README.md", "src/aiokoa/_speedups.c", "src/aiokoa/py.typed"} <= files
    assert {"aiokoa/__init__.py", "aiokoa/py.typed", "aiokoa/_speedups.pyi", "aiokoa/router/router.py"} <= names(wheel)
    compiler = shutil.which("cc") is not None
    assert any(name.startswith("aiokoa/_speedups.") and name.endswith(".so") for name in names(wheel)) == compiler
    assert install_and_run(tmp_path, wheel) == ("C" if compiler else "pure Python")


def test_a_wheel_built_without_a_c_compiler_runs_in_pure_python(tmp_path: Path) -> None:
    _, wheel = build(tmp_path, CC="false")  # a compiler that always fails, as where none is found
    assert not any(name.endswith(".so") for name in names(wheel))
    assert "aiokoa/core/context.py" in names(wheel)
    assert install_and_run(tmp_path, wheel) == "pure Python"
