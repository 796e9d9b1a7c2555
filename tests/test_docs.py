"""Every ```python block of every page of the documentation site (docs/, mkdocs.yml) runs: a
page's blocks in order, in one namespace.

Each block is compiled with the page as its file name and its real line numbers, so a
failing snippet (or a traceback, or a trace) points at the line of the page.

A block that cannot run in a test says so in its fence, with the reason, which the site
does not show (mkdocs.yml lets superfences ignore options it does not know):

    ```python skip="serves on port 3000 until stopped"
    app.listen(3000)
    ```

Blocks in other languages (sh, text, toml, ...) are shown, not run."""

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
PAGES = sorted((ROOT / "docs").rglob("*.md"))
# A fenced block at the start of a line: its language, the rest of its info string, its source.
FENCE = re.compile(r"^```([\w+-]*)([^\n]*)\n(.*?)^```$", re.S | re.M)
SKIP = re.compile(r'^ skip="([^"]+)"$')


def fences(page: Path) -> list[tuple[int, str, str, str]]:
    """(first line, language, the rest of the info string, source) for each fenced block."""
    text = page.read_text()
    return [
        (text.count("\n", 0, match.start(3)) + 1, match.group(1), match.group(2), match.group(3))
        for match in FENCE.finditer(text)
    ]


def blocks(page: Path) -> list[tuple[int, str]]:
    """(first line, source) for each python block of the page that runs."""
    return [(line, source) for line, language, info, source in fences(page) if language == "python" and not info]


# onion.md shows a callback that sets the body after the response went out: asyncio reports it.
PROVOKING = {"onion.md"}


@pytest.fixture(scope="module")
def docs_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.close()


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(
            page, id=str(page.relative_to(ROOT / "docs")), marks=[pytest.mark.loop_reports] * (page.name in PROVOKING)
        )
        for page in PAGES
    ],
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


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT / "docs")))
def test_every_python_block_runs_or_says_why_not(page: Path) -> None:
    """A block is python and runs, or says `skip="<why>"`; a block in a spelling of Python the
    test would not recognise (py, python3, pycon, an option with a typo) would silently never run."""
    for line, language, info, _ in fences(page):
        where = f"{page.relative_to(ROOT)}:{line - 1}"
        assert language.lower() not in {"py", "py3", "python3", "pycon", "pyi"}, f"{where}: write ```python"
        if language == "python" and info:
            assert SKIP.match(info), f'{where}: the only option of a python block is skip="<why it cannot run>"'


INCLUDE = re.compile(r'^--8<-- "([^":]+)(?::([\w-]+))?"$', re.M)


def test_included_files_hold_no_python_to_run(tmp_path: Path) -> None:
    """A page may include a file of the repository (`--8<-- "benchmarks/RESULTS.md"`) or a
    section of one between `--8<-- [start:name]` and `[end:name]` markers; the test runs the
    page's own blocks, so what is included must not bring python blocks."""
    included = {match for page in PAGES for match in INCLUDE.findall(page.read_text())}
    assert {("benchmarks/RESULTS.md", ""), ("README.md", "names")} <= included
    for target, section in included:
        text = (ROOT / target).read_text()
        if section:
            start, end = f"--8<-- [start:{section}]", f"--8<-- [end:{section}]"
            assert start in text and end in text, f"{target} has no section {section}"
            text = text[text.index(start) : text.index(end)]
        (tmp_path / "included.md").write_text(text)
        assert not blocks(tmp_path / "included.md"), f"{target}:{section} is in a page: its python would not run"


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


def test_the_api_reference_documents_every_public_name() -> None:
    """Each name `aiokoa`, `aiokoa.middleware`, `aiokoa.router` and `aiokoa.testing` export is
    on an API page: a `::: module.name` line, or under a module's `members:`."""
    import aiokoa
    import aiokoa.middleware
    import aiokoa.router

    text = "\n".join(page.read_text() for page in (ROOT / "docs" / "api").glob("*.md"))
    documented = set(re.findall(r"^::: [\w.]*?(\w+)$", text, re.M)) | set(re.findall(r"^ +- (\w+)$", text, re.M))
    exported = {*aiokoa.__all__, *aiokoa.middleware.__all__, "TestClient", "AsyncTestClient", "make_context"}
    exported |= set(aiokoa.router.__all__) - {"ALL_METHODS", "CONVERTERS", "DEFAULT_METHODS"}
    assert exported - {"Application"} <= documented  # Application is Koa's other name
