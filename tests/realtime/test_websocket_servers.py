"""WebSockets over real sockets: the `websockets` library as client, uvicorn and granian as servers."""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from ..conftest import ServerProcess, free_port

ROOT = Path(__file__).parent.parent.parent
SERVERS = ("uvicorn", "granian")


@pytest.fixture(scope="module", params=SERVERS)
def server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    port = free_port()
    argv = [sys.executable, "-m", "aiokoa", "run", "tests.realtime.ws_app:app", "--app-dir", str(ROOT)]
    process = ServerProcess([*argv, "--server", request.param, "--port", str(port)], port)
    try:
        yield process
    finally:
        _, err = process.output()
    # What the tests provoked (refusals, a failing handler, clients that left) left no trace.
    assert "Traceback" not in err and "ERROR" not in err, err


def ws_url(server: ServerProcess, path: str) -> str:
    return server.url.replace("http://", "ws://") + path


def report(server: ServerProcess) -> dict[str, Any]:
    with urllib.request.urlopen(server.url + "/report", timeout=5) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


async def test_echo_text_binary_and_subprotocol(server: ServerProcess) -> None:
    async with connect(ws_url(server, "/echo"), subprotocols=["chat.v2", "chat.v1"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "chat.v1"
        await ws.send("héllo")
        assert await ws.recv() == "héllo"
        await ws.send(b"\x00\x01\xff")
        assert await ws.recv() == b"\x00\x01\xff"
        for n in range(20):
            await ws.send(str(n))
        assert [await ws.recv() for _ in range(20)] == [str(n) for n in range(20)]


async def test_json_with_params_and_query(server: ServerProcess) -> None:
    async with connect(ws_url(server, "/json/ann?x=1")) as ws:
        assert json.loads(await ws.recv()) == {"name": "ann", "query": {"x": "1"}}
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000


async def test_refusal_is_403_or_1008(server: ServerProcess) -> None:
    try:
        async with connect(ws_url(server, "/private")) as ws:
            await ws.recv()
        raise AssertionError("accepted")
    except InvalidStatus as refused:  # the server sends the app's HTTP response
        assert refused.response.status_code == 403
        assert refused.response.body == b"Forbidden"
    except ConnectionClosed as closed:  # no denial response on this server: a close code
        assert closed.rcvd is not None and closed.rcvd.code == 1008
    async with connect(ws_url(server, "/private"), additional_headers={"Authorization": "Bearer ok"}) as ws:
        assert await ws.recv() == "welcome"
    with pytest.raises((InvalidStatus, ConnectionClosed)):
        async with connect(ws_url(server, "/nowhere")) as ws:
            await ws.recv()


async def test_an_error_after_accept_closes_1011_and_is_reported_once(server: ServerProcess) -> None:
    before = len(report(server)["errors"])
    async with connect(ws_url(server, "/fail")) as ws:
        await ws.send("go")
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
    await asyncio.sleep(0.05)
    assert report(server)["errors"][before:] == ["RuntimeError('handler failed')"]


async def test_a_client_that_leaves_mid_loop_ends_it_quietly(server: ServerProcess) -> None:
    state = report(server)
    ended, errors = state["ended"].count("echo"), len(state["errors"])
    async with connect(ws_url(server, "/echo")) as ws:
        await ws.send("one")
        assert await ws.recv() == "one"
    # A client that drops the TCP connection without a closing handshake.
    ws = await connect(ws_url(server, "/echo"))
    await ws.send("two")
    assert await ws.recv() == "two"
    ws.transport.abort()  # no closing handshake
    for _ in range(100):
        state = report(server)
        if state["ended"].count("echo") == ended + 2:
            break
        await asyncio.sleep(0.02)
    assert state["ended"].count("echo") == ended + 2
    assert len(state["errors"]) == errors
    await ws.close()


async def test_a_message_over_the_limit_closes_1009(server: ServerProcess) -> None:
    async with connect(ws_url(server, "/echo"), max_size=None) as ws:
        await ws.send("x" * 65536)
        assert await ws.recv() == "x" * 65536
        await ws.send(b"x" * 65537)
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
