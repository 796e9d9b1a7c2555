"""The bad-input catalogue over a real socket, with each ASGI server aiokoa runs on.

Every case is sent on a new connection; the outcome must be the one the catalogue (and so
`docs/security.md`) states, never a 500, and a normal request on another new connection
must still succeed afterwards.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiokoa.testing import make_context

from ..conftest import ServerProcess, free_port, running
from .catalogue import CASES, SERVERS, Case, exchange, get, table
from .catalogue_app import app

ROOT = Path(__file__).parent.parent.parent
START, END = "<!-- catalogue: start -->\n", "<!-- catalogue: end -->\n"


@pytest.fixture(scope="module", params=SERVERS)
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, int]]:
    """(server name, port) of the catalogue app, served by each server in turn."""
    name: str = request.param
    if name == "granian":
        port = free_port()
        target = "tests.reliability.catalogue_app:app"
        argv = [sys.executable, "-m", "aiokoa", "run", target, "--app-dir", str(ROOT), "--server", "granian"]
        process = ServerProcess([*argv, "--port", str(port)], port)
        try:
            yield name, port
        finally:
            process.stop()
        return
    # uvicorn reads X-Forwarded-* itself unless told not to; the app's `proxy = True` does it here
    options: dict[str, object] = {"proxy_headers": False, **({"http": "h11"} if name == "h11" else {})}
    with running(app, **options) as url:
        yield name, int(url.rsplit(":", 1)[1])


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_request(server: tuple[str, int], case: Case) -> None:
    name, port = server
    outcome, headers = exchange(port, case.request)
    assert outcome == case.expected[name]
    if case.header is not None:
        name, value = case.header
        assert headers.get(name) == value
    after, _ = exchange(port, get("/"))
    assert after == "200"


def test_no_bad_input_makes_aiokoa_answer_500() -> None:
    assert not [case.name for case in CASES if "500" in case.expected.values()]


def test_docs_show_the_catalogue() -> None:
    """docs/security.md holds `table()` exactly: run `python -m tests.reliability.catalogue` to print it."""
    text = (ROOT / "docs" / "security.md").read_text()
    shown = text[text.index(START) + len(START) : text.index(END)]
    assert shown == table()


@pytest.mark.parametrize(
    "target", ["http://other.example/items/7", "HTTPS://other.example:8443/items/7", "ftp://x/items/7"]
)
def test_an_absolute_form_target_is_routed_by_its_path(target: str) -> None:
    """As Koa reads `req.url`: `path` is the target's path, `href` the target itself."""
    ctx = make_context(url=target + "?x=1")
    assert (ctx.path, ctx.original_url, ctx.query) == ("/items/7", target + "?x=1", {"x": "1"})
    if target.startswith("http"):
        assert ctx.href == target + "?x=1"
    assert make_context(url="http://other.example").path == "/"
