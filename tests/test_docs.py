"""Every ```python block of docs/*.md runs: a page's blocks in order, in one namespace.

Each block is compiled with the page as its file name and its real line numbers, so a
failing snippet (or a traceback, or a trace) points at the line of the page."""

from __future__ import annotations

import re
import sys
import tomllib
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from .redis_server import RedisServer

ROOT = Path(__file__).parent.parent
PAGES = sorted((ROOT / "docs").glob("*.md"))
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)


def blocks(page: Path) -> list[tuple[int, str]]:
    """(first line, source) for each python block of the page."""
    text = page.read_text()
    return [(text.count("\n", 0, match.start(1)) + 1, match.group(1)) for match in BLOCK.finditer(text)]


# onion.md shows a callback that sets the body after the response went out: asyncio reports it.
PROVOKING = {"onion.md"}


@pytest.fixture(scope="module")
def docs_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.close()


@pytest.mark.parametrize(
    "page",
    [pytest.param(page, id=page.name, marks=[pytest.mark.loop_reports] * (page.name in PROVOKING)) for page in PAGES],
)
def test_page_snippets_run(
    page: Path, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = str(page.relative_to(ROOT))
    if "REDIS_URL" in page.read_text():  # the page's Redis examples connect to a real server
        monkeypatch.setenv("REDIS_URL", request.getfixturevalue("docs_redis").url)
    # A module of its own, as a page's code would be: models' string annotations resolve in it.
    module = types.ModuleType(f"docs.{page.stem}")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace: dict[str, object] = module.__dict__
    for line, source in blocks(page):
        code = compile("\n" * (line - 1) + source, name, "exec")
        exec(code, namespace)


def test_the_onion_page_has_the_anchors_the_error_messages_link() -> None:
    headings = re.findall(r"^#+ (.+)$", (ROOT / "docs" / "onion.md").read_text(), re.M)
    anchors = {re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-") for heading in headings}
    linked = {"the-order", "async-work-done-right", "streaming", "where-errors-go"}
    linked |= {"the-response-is-ctxbody", "blocking-the-event-loop", "your-own-data-on-ctx"}
    assert linked <= anchors


def test_the_onion_page_runs_python_blocks() -> None:
    assert len(blocks(ROOT / "docs" / "onion.md")) >= 8


PIP_INSTALL = re.compile(r"pip install [\"']?([^\s\"'`]+)")


def test_install_lines_work_from_this_repository() -> None:
    """aiokoa is not on the package index: every `pip install` the docs show installs this
    repository (a path, with extras it declares) or a tool that is on the index."""
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    targets = [target for page in [ROOT / "README.md", *PAGES] for target in PIP_INSTALL.findall(page.read_text())]
    assert {".", ".[speed]", ".[testing]"} <= set(targets)
    for target in targets:
        name, _, wanted = target.partition("[")
        assert not name.lower().startswith("aiokoa"), f"pip install {target}: aiokoa is not on the package index"
        if name in (".", "/path/to/aiokoa"):
            assert set(wanted.rstrip("]").split(",")) - {""} <= extras, target
