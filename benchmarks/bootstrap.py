"""Make a fresh machine ready to run the suite; standard library only, as it runs first.

Peers are pinned in a dedicated venv so they never leak into aiokoa's runtime
dependencies; a stamp of the inputs makes the second and later runs instant.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV = BENCH / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".installed"
NODE_DIR = BENCH / "node"


def _run(cmd: list[str], **kwargs: object) -> None:
    print("+ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


def _inputs_digest() -> str:
    digest = hashlib.sha256()
    for path in (BENCH / "requirements.txt", ROOT / "pyproject.toml"):
        digest.update(path.read_bytes() if path.exists() else b"-")
    return digest.hexdigest()


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def ensure_venv() -> None:
    """Create benchmarks/.venv and install the pinned peers plus aiokoa (editable), with its
    `speed` extra (orjson) and its `compress` extra (brotli, zstandard), as a production
    deployment would have them."""
    if not VENV_PYTHON.exists():
        _run([sys.executable, "-m", "venv", str(VENV)])
    digest = _inputs_digest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    pip = [str(VENV_PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    _run([*pip, "-r", str(BENCH / "requirements.txt")])
    if not (ROOT / "pyproject.toml").exists():
        raise SystemExit(f"no pyproject.toml at {ROOT}: the aiokoa package is missing")
    _run([*pip, "-e", f"{ROOT}[speed,compress]"])
    STAMP.write_text(digest)


def reexec_in_venv() -> None:
    """Run the rest of the suite with the venv's interpreter."""
    if not in_venv():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])


def ensure_command(command: str, package: str) -> bool:
    """`command` (wrk, redis-server) from Debian's `package`, installed only when missing and
    when we are root."""
    if shutil.which(command):
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print(f"{command} is missing and cannot be installed here (needs root and apt-get)")
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    _run(["apt-get", "update", "-qq"], env=env)
    _run(["apt-get", "install", "-y", "-qq", package], env=env)
    return shutil.which(command) is not None


def ensure_taskset() -> bool:
    return shutil.which("taskset") is not None


def ensure_node_modules() -> bool:
    """``npm ci`` for Koa, when node is present and the lock file changed since last time."""
    if not shutil.which("node") or not shutil.which("npm"):
        print("node/npm not found: Koa will be skipped")
        return False
    lock = NODE_DIR / "package-lock.json"
    marker = NODE_DIR / "node_modules" / ".package-lock.json"
    if not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime:
        _run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR)
    return True
