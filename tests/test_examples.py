"""The seed scenarios, each run as a real server process and asked over HTTP."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Protocol

import httpx
import pytest

from .conftest import ServerProcess, StartServer, free_port

EXAMPLES = Path(__file__).parent.parent / "examples"


class StartExample(Protocol):
    """What the `example` fixture gives."""

    def __call__(self, script: str, **env: str) -> ServerProcess: ...


@pytest.fixture
def example(server_process: StartServer) -> StartExample:
    """`server = example("hello.py")`: an example script served on a free port."""

    def start(script: str, **env: str) -> ServerProcess:
        port = free_port()
        return server_process([sys.executable, "-u", str(EXAMPLES / script)], port, PORT=str(port), **env)

    return start


def test_cascade_runs_in_onion_order_and_header_reaches_client(example: StartExample) -> None:
    server = example("hello.py")
    response = httpx.get(server.url + "/")
    assert response.status_code == 200
    assert response.text == "Hello World"
    assert re.fullmatch(r"\d+\.\d\dms", response.headers["x-response-time"])
    out, _ = server.output()
    steps = [line for line in out.splitlines() if re.match(r"\d\) ", line)]
    assert [step[:2] for step in steps] == ["1)", "2)", "3)", "4)", "5)"]
    assert re.search(r"^4\) logger: GET / - \d+\.\d\dms$", out, re.M)
    assert f"5) x-response-time: X-Response-Time: {response.headers['x-response-time']}" in out


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/sleep", "after asyncio.sleep(0.1)"),
        ("/future", "after a Future resolved by loop.call_later"),
    ],
)
def test_body_set_after_awaited_work_is_sent(example: StartExample, path: str, body: str) -> None:
    server = example("async_body.py")
    response = httpx.get(server.url + path)
    assert (response.status_code, response.text) == (200, body)


def test_body_set_after_awaited_http_call_to_a_second_server_is_sent(example: StartExample) -> None:
    upstream = example("async_body.py")
    server = example("async_body.py", UPSTREAM_URL=upstream.url + "/upstream")
    response = httpx.get(server.url + "/fetch")
    assert response.status_code == 200
    assert response.json() == {"upstream_status": 200, "upstream": {"hello": "from upstream"}}


def test_body_set_from_unawaited_callback_is_a_404_and_explained(example: StartExample) -> None:
    server = example("mistakes.py")
    response = httpx.get(server.url + "/callback")
    assert response.status_code == 404
    assert response.text == "Not Found"
    time.sleep(0.3)  # the callback fires 100 ms after the response
    assert httpx.get(server.url + "/fixed").text == "Hello from an awaited callback"  # still serving
    _, err = server.output()
    script = str(EXAMPLES / "mistakes.py")
    assert "ResponseSentError: ctx.body was changed after the response to GET /callback" in err
    assert "had already been sent (404 Not Found); the change is lost." in err
    assert re.search(rf"changed at: {re.escape(script)}:\d+ in callback_body.<locals>.reply", err)
    assert re.search(rf"middleware: callback_body \({re.escape(script)}:\d+\)", err)
    assert "Fix: await the work inside the middleware" in err


def test_next_called_without_await_is_a_500_naming_the_middleware(example: StartExample) -> None:
    server = example("mistakes.py")
    response = httpx.get(server.url + "/not-awaited")
    assert response.status_code == 500
    assert httpx.get(server.url + "/fixed").status_code == 200  # still serving
    _, err = server.output()
    assert "MiddlewareError: next() was called but not awaited in middleware not_awaited (" in err
    assert "Fix: write `await next()`" in err
    assert "was never awaited" not in err  # no late RuntimeWarning on top of the real message


def test_errors_flow_upstream_to_handler_and_uncaught_ones_to_error_event(example: StartExample) -> None:
    server = example("errors.py")
    caught = httpx.get(server.url + "/users/7")
    assert caught.status_code == 404
    assert caught.json() == {"error": {"status": 404, "message": "no user 7"}}
    uncaught = httpx.get(server.url + "/crash")
    assert uncaught.status_code == 500
    assert uncaught.text == "Internal Server Error"  # the 5xx message is not exposed
    _, err = server.output()
    assert "error event: RuntimeError: database unreachable (GET /crash)" in err
    assert "no user 7" not in err  # handled errors never reach the error event


def test_typed_api_over_http(example: StartExample) -> None:
    server = example("typed_api.py", API_KEY="secret")
    with httpx.Client(base_url=server.url) as client:
        books = client.get("/books", params={"limit": 1, "order": "year"})
        assert books.status_code == 200
        assert [book["id"] for book in books.json()] == [1]
        assert client.get("/books/2").json()["authors"] == [
            {"name": "Abelson", "born": None},
            {"name": "Sussman", "born": None},
        ]
        missing = client.get("/books/9", headers={"Accept": "application/json"})
        assert missing.json() == {"error": {"status": 404, "message": "no book 9"}}
        bad = client.post(
            "/books",
            json={"title": "", "authors": [{"born": "x"}], "year": 1},
            headers={"Accept": "application/json", "X-API-Key": "secret"},
        )
        assert bad.status_code == 422
        assert [(d["location"], d["pointer"]) for d in bad.json()["error"]["details"]] == [
            ("body", "/title"),
            ("body", "/authors/0/name"),
            ("body", "/authors/0/born"),
        ]
        no_key = client.post("/books", json={"title": "T", "authors": [], "year": 1})
        assert no_key.status_code == 422 and "header x-api-key: Field required" in no_key.text
        added = client.post(
            "/books", json={"title": "T", "authors": [{"name": "A"}], "year": 2000}, headers={"X-API-Key": "secret"}
        )
        assert added.status_code == 201
        assert added.json() == {
            "title": "T",
            "authors": [{"name": "A", "born": None}],
            "year": 2000,
            "tags": [],
            "id": 3,
        }
        assert client.get("/books", params={"limit": 0}).status_code == 422
        assert client.get("/openapi.json").json()["openapi"] == "3.1.0"
        assert "swagger-ui-bundle.js" in client.get("/docs").text
        assert client.get("/docs/swagger-ui-bundle.js").status_code == 200


def test_live_log_streams_lines_to_every_watcher_and_replays_missed_ones(example: StartExample) -> None:
    server = example("live_log.py", PING="0.2")
    with httpx.Client(base_url=server.url, timeout=5) as client:
        assert "new EventSource" in client.get("/").text
        assert client.post("/log", content="first").json() == {"id": 1}
        with client.stream("GET", "/events") as response:
            assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
            lines = response.iter_lines()
            assert [next(lines) for _ in range(4)] == ["event: line", "id: 1", "data: first", ""]
            assert client.post("/log", content="two\nlines").json() == {"id": 2}
            assert [next(lines) for _ in range(5)] == ["event: line", "id: 2", "data: two", "data: lines", ""]
            assert [next(lines) for _ in range(2)] == [": ping", ""]  # 0.2 s of silence
        deadline = time.monotonic() + 5
        while client.get("/watchers").json() != {"watchers": 0} and time.monotonic() < deadline:
            time.sleep(0.02)
        assert client.get("/watchers").json() == {"watchers": 0}  # the generator's finally ran
        # A browser reconnecting after id 1 gets what it missed first.
        with client.stream("GET", "/events", headers={"Last-Event-ID": "1"}) as response:
            lines = response.iter_lines()
            assert [next(lines) for _ in range(3)] == ["event: line", "id: 2", "data: two"]


async def test_chat_room_over_real_websockets(example: StartExample) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    server = example("chat.py")
    assert "<title>chat</title>" in httpx.get(server.url + "/").text
    base = server.url.replace("http://", "ws://") + "/rooms/lobby"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(base):
            pass
    assert refused.value.response.status_code == 403
    async with connect(base + "?name=ann") as ann:
        assert json.loads(await ann.recv()) == {"from": "*", "text": "ann joined"}
        async with connect(base + "?name=bob") as bob:
            assert json.loads(await ann.recv()) == {"from": "*", "text": "bob joined"}
            assert json.loads(await bob.recv()) == {"from": "*", "text": "bob joined"}
            await bob.send("hi ann")
            for ws in (ann, bob):
                assert json.loads(await ws.recv()) == {"from": "bob", "text": "hi ann"}
            await bob.send("x" * 5000)
            with pytest.raises(ConnectionClosed) as closed:
                await bob.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        assert json.loads(await ann.recv()) == {"from": "*", "text": "bob left"}
    _, err = server.output()
    assert "Traceback" not in err
