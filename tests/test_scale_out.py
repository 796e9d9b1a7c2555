"""Many workers behind a real load balancer, sharing their state in a real Redis: nginx,
round robin, in front of two `aiokoa run` processes serving examples/scale_out.py (and
HAProxy, with the guide's configuration, for the worker stopped under load).

Through the balancer: a login on one worker is a session on the other; the rate limit is
counted across workers; a message published by one worker reaches a long-polling client, a
WebSocket client and a Server-Sent Events client of the other; Redis restarted meanwhile
gives 503s, then everything works again without restarting the workers; SIGTERM to a worker
during a burst of slow requests lets every started request finish while new ones go to the
other worker, and no client sees an error."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from .conftest import ServerProcess, free_port
from .load_balancer import LoadBalancer
from .redis_server import RedisServer

EXAMPLES = Path(__file__).parent.parent / "examples"


@dataclass
class Cluster:
    redis: RedisServer
    workers: list[ServerProcess]
    balancer: LoadBalancer

    @property
    def pids(self) -> set[str]:
        return {str(worker.process.pid) for worker in self.workers}

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.balancer.url, timeout=20)


@pytest.fixture
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """Redis, two workers and the balancer (nginx unless the test asks for "haproxy")."""
    kind = getattr(request, "param", "nginx")
    redis = RedisServer()
    workers: list[ServerProcess] = []
    balancer: LoadBalancer | None = None
    try:
        for _ in range(2):
            port = free_port()
            argv = [sys.executable, "-m", "aiokoa", "run", "scale_out:app", "--app-dir", str(EXAMPLES)]
            argv += ["--port", str(port), "--graceful-timeout", "10"]
            workers.append(ServerProcess(argv, port, REDIS_URL=redis.url))
        ports = [int(worker.url.rsplit(":", 1)[1]) for worker in workers]
        balancer = LoadBalancer(ports, kind)
        cluster = Cluster(redis, workers, balancer)
        with cluster.client() as client:  # both workers are through their startup
            until(lambda: {client.get("/healthz").headers["x-worker"] for _ in range(4)} == cluster.pids)
        yield cluster
    finally:
        if balancer is not None:
            balancer.close()
        for worker in workers:
            worker.stop()
        redis.close()


def until(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not true within {seconds} s: {condition}")
        time.sleep(0.05)


def workers_of(responses: list[httpx.Response]) -> set[str]:
    return {response.headers["x-worker"] for response in responses}


def poll_for_a_message_from_the_other_worker(cluster: Cluster, client: httpx.Client) -> dict[str, str]:
    """A long poll through the balancer, and messages published through it until the poll
    gets one that another worker published."""
    answer: list[httpx.Response] = []
    poller = threading.Thread(target=lambda: answer.append(client.get("/poll/news?from_other=1&timeout=10")))
    poller.start()
    published = 0
    while poller.is_alive() and published < 200:
        assert client.post("/publish/news", content=f"message {published}").status_code == 202
        published += 1
        poller.join(0.05)
    poller.join()
    assert answer[0].status_code == 200, answer[0].text
    message: dict[str, str] = answer[0].json()
    assert message["from"] != message["worker"]
    assert {message["from"], message["worker"]} == cluster.pids
    assert message["message"].startswith("message ")
    return message


def websocket_and_sse_clients_get_a_message_from_the_other_worker(cluster: Cluster, client: httpx.Client) -> None:
    """A WebSocket client and an SSE client through the balancer, each told which worker it
    is on once that worker has subscribed; then messages POSTed through the balancer, round
    robin, until both workers have published one: each client gets the other worker's."""
    websocket_url = cluster.balancer.url.replace("http://", "ws://") + "/ws/live"
    with connect(websocket_url, open_timeout=10) as websocket, client.stream("GET", "/events/live") as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"] == "text/event-stream; charset=utf-8"
        events = (json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: "))

        def from_websocket() -> dict[str, str]:
            message: dict[str, str] = json.loads(websocket.recv(timeout=10))
            return message

        websocket_worker = from_websocket()["worker"]
        sse_worker = next(events)["worker"]
        assert sse_worker == stream.headers["x-worker"]
        assert {websocket_worker, sse_worker} <= cluster.pids

        publishers: set[str] = set()
        for number in range(20):
            published = client.post("/publish/live", content=f"live {number}")
            assert published.status_code == 202
            publishers.add(published.headers["x-worker"])
            if publishers == cluster.pids:
                break
        assert publishers == cluster.pids
        for receive, worker in ((from_websocket, websocket_worker), (lambda: next(events), sse_worker)):
            message = receive()
            while message["from"] == worker:  # its own worker's message came first
                message = receive()
            assert message["from"] in cluster.pids - {worker}
            assert message["message"].startswith("live ")


def test_sessions_rate_limits_and_messages_are_shared_and_survive_a_redis_restart(cluster: Cluster) -> None:
    with cluster.client() as client:
        # A login on one worker is a session on every worker.
        login = client.post("/login", content="ada")
        assert login.status_code == 200
        mine = [client.get("/me") for _ in range(4)]
        assert [response.json()["user"] for response in mine] == ["ada"] * 4
        assert workers_of(mine) == cluster.pids

        # max=10 per client, counted in Redis: the 11th is 429 wherever it lands. The
        # balancer's X-Forwarded-For, trusted from 127.0.0.1 only, names the client.
        client_a = {"X-Forwarded-For": "203.0.113.7"}
        allowed = [client.get("/limited", headers=client_a) for _ in range(10)]
        assert [response.status_code for response in allowed] == [200] * 10
        assert workers_of(allowed) == cluster.pids
        assert [response.headers["x-ratelimit-remaining"] for response in allowed] == [str(9 - n) for n in range(10)]
        refused = [client.get("/limited", headers=client_a) for _ in range(2)]
        assert [response.status_code for response in refused] == [429, 429]
        assert workers_of(refused) == cluster.pids
        assert client.get("/limited", headers={"X-Forwarded-For": "203.0.113.8"}).status_code == 200

        # A message published on one worker reaches a subscriber on the other.
        poll_for_a_message_from_the_other_worker(cluster, client)
        websocket_and_sse_clients_get_a_message_from_the_other_worker(cluster, client)

        # Redis goes away: the routes that need it answer 503 on both workers, the others work.
        cluster.redis.stop()
        down = [client.get(path) for path in ("/me", "/me", "/limited", "/limited", "/healthz", "/healthz")]
        assert [response.status_code for response in down] == [503] * 6
        assert workers_of(down) == cluster.pids
        assert client.post("/publish/news", content="lost").status_code == 503
        # A request without a session cookie does not read the store.
        assert httpx.get(f"{cluster.balancer.url}/slow?seconds=0").status_code == 200

        # Redis is back (empty: it saves nothing): the same workers serve it again.
        cluster.redis.start()
        until(lambda: all(client.get("/healthz").status_code == 200 for _ in range(2)))
        assert client.get("/me").status_code == 401  # the session was in the Redis that restarted
        assert client.post("/login", content="grace").status_code == 200
        again = [client.get("/me") for _ in range(2)]
        assert [response.json()["user"] for response in again] == ["grace"] * 2
        assert workers_of(again) == cluster.pids
        assert client.get("/limited", headers=client_a).headers["x-ratelimit-remaining"] == "9"
        poll_for_a_message_from_the_other_worker(cluster, client)
    assert all(worker.process.poll() is None for worker in cluster.workers)


@pytest.mark.parametrize("cluster", ["nginx", "haproxy"], indirect=True)
def test_sigterm_to_a_worker_during_a_burst_loses_no_request(cluster: Cluster) -> None:
    stopping, staying = cluster.workers
    with cluster.client() as client, ThreadPoolExecutor(8) as pool:
        # Each slow request on a connection of its own, half of them on each worker.
        burst = [pool.submit(httpx.get, f"{cluster.balancer.url}/slow?seconds=2.5", timeout=20) for _ in range(8)]
        time.sleep(1)  # the requests are in the workers' handlers
        stopping.process.send_signal(signal.SIGTERM)
        time.sleep(0.2)  # the worker has closed its listening socket
        meanwhile = [client.get("/slow?seconds=0") for _ in range(6)]
        assert [response.status_code for response in meanwhile] == [200] * 6
        assert workers_of(meanwhile) == {str(staying.process.pid)}
        finished = [future.result() for future in burst]
    assert [response.status_code for response in finished] == [200] * 8
    # The stopping worker finished the requests it had started, then exited cleanly.
    assert str(stopping.process.pid) in workers_of(finished)
    assert stopping.process.wait(15) == 0
    if cluster.balancer.kind != "nginx":
        return
    # The balancer saw the stopped worker refuse connections (and went elsewhere), never a
    # connection cut in the middle of a request.
    errors = cluster.balancer.errors()
    assert "Connection refused" in errors
    assert not any(cut in errors for cut in ("reset by peer", "prematurely closed", "timed out"))
