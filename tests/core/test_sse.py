"""`EventStream` and `ServerSentEvent` in process: the text/event-stream framing (a property
test parses what is sent as a browser does), the fields that refuse a line break, pings,
headers, and how the stream ends. Over real sockets: tests/test_realtime_servers.py."""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import AsyncIterator, Generator, Iterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from aiokoa import Context, EventStream, Koa, ServerSentEvent
from aiokoa.core.sse import PING, _Pinger, encode
from aiokoa.testing import TestClient
from aiokoa.types import Message


def parse(stream: str) -> list[dict[str, str]]:
    """The events a browser's EventSource dispatches from `stream` (its parsing algorithm:
    lines end at CRLF, CR or LF; a blank line dispatches; one space after the colon is dropped)."""
    events: list[dict[str, str]] = []
    data: list[str] | None = None
    fields: dict[str, str] = {}
    for line in re.split(r"\r\n|\r|\n", stream):
        if not line:
            if data is not None:
                events.append({**fields, "data": "\n".join(data)})
            data, fields = None, {}
            continue
        name, colon, value = line.partition(":")
        if not name:
            continue  # a comment
        value = value.removeprefix(" ") if colon else ""
        if name == "data":
            data = [*(data or []), value]
        elif name in ("event", "id", "retry"):
            fields[name] = value
        else:
            fields.setdefault("unknown", name)
    return events


def normalised(text: str) -> str:
    return re.sub(r"\r\n|\r", "\n", text)


@given(st.text(), st.text(), st.text())
@example("a\r\nb\rc\nd", "", "")
@example("", "x", "y")
@example("\n", "data: forged", "event: x")
@example(" leading space\n", "", "")
def test_any_text_arrives_as_sent_and_as_one_event(first: str, second: str, third: str) -> None:
    """Whatever the data, each item is one event whose data is the text, line breaks
    normalised to \\n: no text can start another field or another event."""
    sent = b"".join(encode(item) for item in (first, second, third)).decode()
    assert parse(sent) == [{"data": normalised(text)} for text in (first, second, third)]


@given(st.text(), st.text().filter(lambda s: not re.search(r"[\r\n]", s)))
def test_an_event_with_fields_is_parsed_back(data: str, name: str) -> None:
    ident = name.replace("\0", "")
    event = ServerSentEvent(data, event=name, id=ident, retry=1.5)
    assert parse(event.encode().decode()) == [{"event": name, "id": ident, "retry": "1500", "data": normalised(data)}]


@given(st.dictionaries(st.text(), st.text() | st.integers() | st.none()))
def test_json_data_is_one_data_line(value: dict[str, Any]) -> None:
    import json

    framed = encode(value).decode()
    assert framed.count("\n") == 2
    assert json.loads(parse(framed)[0]["data"]) == value


@pytest.mark.parametrize(
    ("fields", "refused"),
    [
        ({"event": "a\nevent: forged"}, "type cannot hold a line break"),
        ({"event": "a\r"}, "type cannot hold a line break"),
        ({"id": "1\r\ndata: forged"}, "id cannot hold a line break or NUL"),
        ({"id": "1\0"}, "id cannot hold a line break or NUL"),
        ({"retry": -1}, "retry is a number of seconds"),
        ({"retry": float("nan")}, "retry is a number of seconds"),
    ],
)
def test_fields_that_would_inject_are_refused(fields: dict[str, Any], refused: str) -> None:
    with pytest.raises(ValueError, match=refused):
        ServerSentEvent("data", **fields)


def test_an_event_cannot_be_changed_past_its_checks() -> None:
    event = ServerSentEvent("x", event="ok")
    with pytest.raises(AttributeError, match="cannot be changed \\(its event\\)"):
        event.event = "a\nevent: forged"


def test_an_event_without_data_and_its_repr() -> None:
    assert ServerSentEvent(retry=3).encode() == b"retry: 3000\n\n"
    assert repr(ServerSentEvent("x", id="7")) == "ServerSentEvent('x', id='7')"
    assert repr(ServerSentEvent({"a": 1})) == "ServerSentEvent({'a': 1})"


def test_a_stream_refuses_what_is_not_a_source_or_a_bad_ping() -> None:
    with pytest.raises(TypeError, match="iterable or async iterable of events, not int"):
        EventStream(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ping is a number of seconds above 0"):
        EventStream([], ping=0)


def serve(body: Any, *, status: int | None = None) -> Koa:
    app = Koa()

    @app.use
    async def respond(ctx: Context) -> None:
        ctx.set("Content-Length", "5")
        ctx.type = "text/plain"
        ctx.body = body() if callable(body) else body
        if status is not None:
            ctx.status = status

    return app


@pytest.mark.parametrize("ping", [15.0, None])
def test_a_list_of_events_with_the_stream_s_headers(ping: float | None) -> None:
    app = serve(lambda: EventStream(["a", {"b": 2}, ServerSentEvent("c", event="e")], ping=ping))
    with TestClient(app) as client:
        response = client.get("/")
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert "content-length" not in response.headers
    assert response.text == 'data: a\n\ndata: {"b":2}\n\nevent: e\ndata: c\n\n'


class Text(str):
    """A str subclass: still text, never JSON."""


@pytest.mark.parametrize("ping", [15.0, None])
def test_an_async_source_frames_every_kind_of_item(ping: float | None) -> None:
    items = ["one", "two\r\nlines", Text("sub\rclass"), {"n": [1, "x\ny"]}, 7, ServerSentEvent({"a": 1}, event="e")]

    async def source() -> AsyncIterator[Any]:
        for item in items:
            yield item

    with TestClient(serve(lambda: EventStream(source(), ping=ping))) as client:
        text = client.get("/").text
    assert parse(text) == [
        {"data": "one"},
        {"data": "two\nlines"},
        {"data": "sub\nclass"},
        {"data": '{"n":[1,"x\\ny"]}'},
        {"data": "7"},
        {"event": "e", "data": '{"a":1}'},
    ]


def test_a_cache_control_set_by_hand_stays() -> None:
    app = Koa()

    @app.use
    async def respond(ctx: Context) -> None:
        ctx.set("Cache-Control", "no-store")
        ctx.body = EventStream(iter(["a"]))

    with TestClient(app) as client:
        assert client.get("/").headers["cache-control"] == "no-store"


def test_silence_is_broken_by_pings_and_the_source_is_never_interrupted() -> None:
    async def slow() -> AsyncIterator[str]:
        await asyncio.sleep(0.25)  # a ping would cancel this sleep if it interrupted the source
        yield "late"

    with TestClient(serve(lambda: EventStream(slow(), ping=0.05))) as client:
        text = client.get("/").text
    assert text.endswith("data: late\n\n")
    assert text.count(": ping\n\n") >= 2


@pytest.mark.parametrize("ping", [15.0, None])
async def test_an_error_in_the_source_ends_the_stream_and_reaches_the_error_event(ping: float | None) -> None:
    """The headers went out before the first event: the response is left unfinished, which
    makes the server abort it, and the browser reconnects."""
    seen: list[BaseException] = []

    async def failing() -> AsyncIterator[str]:
        yield "one"
        raise RuntimeError("the feed broke")

    app = serve(lambda: EventStream(failing(), ping=ping))
    app.on("error", lambda err, ctx: seen.append(err))
    sent: list[Message] = []

    async def receive() -> Message:
        await asyncio.Event().wait()
        raise AssertionError  # pragma: no cover

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
    await app(scope, receive, send)
    assert [(m["type"], m.get("body"), m.get("more_body")) for m in sent] == [
        ("http.response.start", None, None),
        ("http.response.body", b"data: one\n\n", True),
    ]
    assert sent[0]["status"] == 200
    assert [str(err) for err in seen] == ["the feed broke"]


def test_a_head_request_closes_the_source_unread() -> None:
    def source() -> Generator[str, None, None]:
        yield "never"  # pragma: no cover

    events = source()
    with TestClient(serve(lambda: EventStream(events))) as client:
        response = client.head("/")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert response.text == ""
    assert inspect.getgeneratorstate(events) == "GEN_CLOSED"


async def test_closing_a_stream_closes_its_source() -> None:
    closed: list[str] = []

    async def source() -> AsyncIterator[str]:
        try:
            yield "a"
            await asyncio.Event().wait()
        finally:
            closed.append("async")

    def plain() -> Iterator[str]:
        try:
            yield "a"
        finally:
            closed.append("plain")

    for made, ping in ((source(), 15.0), (plain(), None)):
        stream = EventStream(made, ping=ping)
        chunks = aiter(stream)
        assert await anext(chunks) == b""  # the headers go out at once
        assert await anext(chunks) == b"data: a\n\n"
        await stream.aclose()
    assert closed == ["async", "plain"]


def test_last_event_id_reads_the_header() -> None:
    app = Koa()

    @app.use
    async def respond(ctx: Context) -> None:
        ctx.body = {"ctx": ctx.last_event_id, "request": ctx.request.last_event_id}

    with TestClient(app) as client:
        assert client.get("/").json() == {"ctx": None, "request": None}
        assert client.get("/", headers={"Last-Event-ID": "42"}).json() == {"ctx": "42", "request": "42"}


async def test_the_pinger_waits_for_silence_and_an_idle_stream_and_stops_when_a_ping_fails() -> None:
    sent: list[bytes] = []
    gone = asyncio.Event()

    async def send(message: Message) -> None:
        sent.append(message["body"])
        if len(sent) == 2:
            gone.set()
            raise OSError("the client is gone")

    pinger = _Pinger(send, 0.02)
    pinger.stop()  # before start: nothing to stop
    pinger.start()
    pinger._fire()  # before its time: only moved on
    await asyncio.sleep(0.1)
    assert sent == []  # the stream is busy (sending, or encoding an event): no ping
    pinger.idle = True
    await asyncio.wait_for(gone.wait(), 5)
    await asyncio.sleep(0.1)
    assert sent == [PING, PING]  # none after the failed one
    assert pinger.sending is not None
    with pytest.raises(OSError, match="the client is gone"):
        await pinger.sending  # what the stream raises with its next event
    pinger.stop()


async def test_stopping_the_pinger_cancels_a_ping_still_going_out() -> None:
    async def send(message: Message) -> None:
        await asyncio.Event().wait()  # a client that reads nothing

    pinger = _Pinger(send, 0.01)
    pinger.idle = True
    pinger.start()
    while pinger.sending is None:
        await asyncio.sleep(0.01)
    sending = pinger.sending
    pinger.stop()
    await asyncio.wait((sending,))
    assert sending.cancelled()
