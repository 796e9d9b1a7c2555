"""`examples/nested_routers.py`: served over real HTTP, and run as a script."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import httpx
import pytest

from aiokoa import Koa

from ..conftest import Serve, StartServer, free_port

SCRIPT = Path(__file__).parent.parent.parent / "examples" / "nested_routers.py"


@pytest.fixture(scope="module")
def example_app() -> Koa:
    app = runpy.run_path(str(SCRIPT))["app"]
    assert isinstance(app, Koa)
    return app


@pytest.mark.parametrize(
    ("method", "path", "status", "expected"),
    [
        ("GET", "/api/v1/users", 200, [{"id": 1, "url": "/api/v1/users/1"}, {"id": 2, "url": "/api/v1/users/2"}]),
        ("GET", "/api/v1/users/1", 200, {"id": 1, "name": "Ada"}),
        ("GET", "/api/v1/users/2/posts", 200, {"user": "Grace", "posts": ["COBOL"]}),
        ("GET", "/api/v1/users/1/posts/2", 200, {"user_id": 1, "index": 2, "title": "Bernoulli numbers"}),
        ("GET", "/api/v1/users/1/posts/9", 404, "no such post"),
        ("GET", "/api/v1/users/9", 404, "no user 9"),
        ("GET", "/api/v1/users/9/posts", 404, "no user 9"),  # the parent's param() guards the child
        ("GET", "/api/v1/users/abc", 404, "Not Found"),
        ("GET", "/", 200, "home"),
    ],
)
def test_nested_routes(serve: Serve, example_app: Koa, method: str, path: str, status: int, expected: object) -> None:
    response = serve(example_app).request(method, path)
    assert response.status_code == status
    assert (response.json() if isinstance(expected, (list, dict)) else response.text) == expected


def test_route_name_header_set_by_router_middleware(serve: Serve, example_app: Koa) -> None:
    client = serve(example_app)
    assert client.get("/api/v1/users/1/posts/0").headers["x-route"] == "post"
    assert "x-route" not in client.get("/").headers  # the api router's middleware did not run


def test_allowed_methods_and_redirect(serve: Serve, example_app: Koa) -> None:
    client = serve(example_app)
    deleted = client.delete("/api/v1/users/1")
    assert (deleted.status_code, deleted.headers["allow"]) == (405, "HEAD, GET, PUT")
    options = client.options("/api/v1/users/1/posts")
    assert (options.status_code, options.headers["allow"]) == (200, "HEAD, GET")
    assert client.request("PURGE", "/api/v1/users").status_code == 501
    moved = client.get("/old-home")
    assert (moved.status_code, moved.headers["location"]) == (301, "/")


def test_runs_as_a_script(server_process: StartServer) -> None:
    port = free_port()
    running = server_process([sys.executable, str(SCRIPT)], port, PORT=str(port))
    response = httpx.get(running.url + "/api/v1/users/1/posts/0")
    assert response.json() == {"user_id": 1, "index": 0, "title": "Notes on the Analytical Engine"}
    out, _ = running.output()
    assert f"listening on http://127.0.0.1:{port}" in out
