"""The body readers in process: `ctx.read()`, `text()`, `json()`, `form()`, `stream()`, on
`ctx` and `ctx.request`, read once and kept, within their limits, and the form's files
closed when the response ends whatever ends it."""

from __future__ import annotations

import asyncio
import gc
import gzip
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import pytest

from aiokoa import ClientDisconnect, Context, FormData, HttpError, Koa, Next, UploadFile
from aiokoa.testing import TestClient
from aiokoa.types import Message, Scope

from ...multipart import multipart, multipart_type, part

Handler = Callable[[Context], Awaitable[None]]


def app_of(handler: Handler) -> Koa:
    app = Koa()

    async def middleware(ctx: Context, next: Next) -> None:
        await handler(ctx)

    app.use(middleware)
    return app


async def call(app: Koa, chunks: list[bytes], headers: dict[str, str], *, disconnect: bool = False) -> list[Message]:
    """One request over raw ASGI: the body in `chunks` (the client leaving after them with
    `disconnect`); the messages the app sent."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [(name.encode(), value.encode("latin-1")) for name, value in headers.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }
    pending: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": disconnect or index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]
    received: list[Message] = []
    sent: list[Message] = []
    answered = asyncio.Event()

    async def receive() -> Message:
        if not pending and not disconnect:
            await answered.wait()  # a client that stays until its answer is complete
        message = pending.pop(0) if pending else {"type": "http.disconnect"}
        received.append(message)
        return message

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            answered.set()

    await app(scope, receive, send)
    sent.append({"type": "test.received", "count": len(received)})
    return sent


def answer(sent: list[Message]) -> tuple[int, bytes]:
    return sent[0]["status"], b"".join(message.get("body", b"") for message in sent[1:])


def test_read_text_json_on_ctx_and_request() -> None:
    seen: list[Any] = []

    async def handler(ctx: Context) -> None:
        seen.extend([await ctx.read(), await ctx.request.read(), await ctx.text(), await ctx.request.json()])
        seen.append(await ctx.json(strict=True))
        seen.append(ctx.request.body_used)
        ctx.body = "ok"

    with TestClient(app_of(handler)) as client:
        assert client.post("/", json={"a": "é"}).text == "ok"
    raw = b'{"a":"\xc3\xa9"}'
    assert seen == [raw, raw, '{"a":"é"}', {"a": "é"}, {"a": "é"}, True]


def test_text_in_the_content_type_charset() -> None:
    async def handler(ctx: Context) -> None:
        ctx.body = await ctx.request.text()

    with TestClient(app_of(handler)) as client:
        latin = client.post(
            "/", content="café".encode("latin-1"), headers={"content-type": "text/plain; charset=latin1"}
        )
        assert latin.text == "café"
        unknown = client.post("/", content=b"x", headers={"content-type": "text/plain; charset=klingon"})
        assert (unknown.status_code, unknown.text) == (415, "unsupported charset 'klingon': send utf-8")
        invalid = client.post("/", content=b"caf\xe9", headers={"content-type": "text/plain"})
        assert invalid.status_code == 400
        assert "not valid utf-8" in invalid.text


def test_stream_then_read_refuses_and_read_then_stream_gives_the_bytes() -> None:
    async def handler(ctx: Context) -> None:
        if ctx.get("x-first") == "stream":
            streamed = [chunk async for chunk in ctx.request.stream()]
            try:
                await ctx.read()
            except RuntimeError as err:
                ctx.body = {"streamed": b"".join(streamed).decode(), "then": str(err)}
        else:
            await ctx.read()
            ctx.body = {"streamed": b"".join([chunk async for chunk in ctx.stream()]).decode()}

    with TestClient(app_of(handler)) as client:
        first = client.post("/", content=b"abc", headers={"x-first": "stream"}).json()
        assert first["streamed"] == "abc"
        assert "already read as a stream" in first["then"]
        assert client.post("/", content=b"abc").json() == {"streamed": "abc"}


async def test_413_from_content_length_before_reading() -> None:
    async def handler(ctx: Context) -> None:
        ctx.body = await ctx.read(limit=10)

    sent = await call(app_of(handler), [b"x" * 11], {"content-length": "11"})
    assert answer(sent[:-1]) == (413, b"request body is larger than the limit of 10b (10 bytes)")
    assert sent[-1]["count"] == 0  # not a byte was received


async def test_413_by_counting_a_chunked_body_stops_reading() -> None:
    async def handler(ctx: Context) -> None:
        ctx.body = await ctx.read(limit="1kb")

    sent = await call(app_of(handler), [b"x" * 600] * 10, {"transfer-encoding": "chunked"})
    assert answer(sent[:-1])[0] == 413
    assert sent[-1]["count"] == 2  # the rest was never taken


async def test_the_limit_is_on_the_inflated_size() -> None:
    async def handler(ctx: Context) -> None:
        ctx.body = str(len(await ctx.read(limit="1mb")))

    bomb = gzip.compress(b"\x00" * (20 << 20), mtime=0)
    sent = await call(app_of(handler), [bomb], {"content-length": str(len(bomb)), "content-encoding": "gzip"})
    assert answer(sent[:-1])[0] == 413
    small = gzip.compress(b"a" * 1000, mtime=0)
    sent = await call(app_of(handler), [small[:10], small[10:]], {"content-encoding": "gzip"})
    assert answer(sent[:-1]) == (200, b"1000")


def test_a_cached_body_over_a_smaller_limit_is_413() -> None:
    async def handler(ctx: Context) -> None:
        await ctx.read()
        ctx.body = await ctx.read(limit=2)

    with TestClient(app_of(handler)) as client:
        assert client.post("/", content=b"abc").status_code == 413


def test_json_errors() -> None:
    async def handler(ctx: Context) -> None:
        ctx.body = {"value": await ctx.json(strict=ctx.get("x-strict") == "1")}

    with TestClient(app_of(handler)) as client:
        bad = client.post("/", content=b'{\n "a": tru }')
        assert (bad.status_code, bad.text) == (400, "invalid JSON at line 2 column 7: Expecting value")
        scalar = client.post("/", content=b"3", headers={"x-strict": "1"})
        assert (scalar.status_code, scalar.text) == (400, "the JSON body must be an object or an array")
        assert client.post("/", content=b"3").json() == {"value": 3}


def test_reader_errors_are_http_errors() -> None:
    caught: list[BaseException] = []

    async def handler(ctx: Context) -> None:
        try:
            await ctx.json()
        except HttpError as err:
            caught.append(err)
            raise

    with TestClient(app_of(handler)) as client:
        assert client.post("/", content=b"{").status_code == 400
    assert isinstance(caught[0], HttpError)
    assert caught[0].status == 400


def test_form_urlencoded_and_multipart() -> None:
    async def handler(ctx: Context) -> None:
        form = await ctx.form()
        again = await ctx.request.form()
        assert again is form
        ctx.body = {
            name: [
                value if isinstance(value, str) else [value.filename, (await value.read()).decode()]
                for value in form.getall(name)
            ]
            for name in form
        }

    with TestClient(app_of(handler)) as client:
        assert client.post("/", data={"a": ["1", "2"], "b": "é"}).json() == {"a": ["1", "2"], "b": ["é"]}
        got = client.post("/", data={"a": "1"}, files={"f": ("x.txt", b"hello")}).json()
        assert got == {"a": ["1"], "f": [["x.txt", "hello"]]}
        wrong = client.post("/", json={})
        assert wrong.status_code == 415
        assert wrong.text == (
            "a form must be sent as application/x-www-form-urlencoded or multipart/form-data, not application/json"
        )
        no_boundary = client.post("/", content=b"x", headers={"content-type": "multipart/form-data"})
        assert (no_boundary.status_code, no_boundary.text) == (
            400,
            "the multipart/form-data Content-Type has no boundary parameter",
        )


def test_form_after_read_parses_the_kept_bytes() -> None:
    async def handler(ctx: Context) -> None:
        await ctx.read()
        form = await ctx.form()
        ctx.body = form

    body = multipart(part("a", "1"), part("a", "2"))
    with TestClient(app_of(handler)) as client:
        assert client.post("/", content=body, headers={"content-type": multipart_type()}).json() == {"a": ["1", "2"]}


# -- the files of a form are closed when the response ends ------------------------------

UPLOAD = multipart(part("f", b"x" * 5000, filename="f.bin"))


def uploads_app(end: str, kept: list[UploadFile], errors: list[BaseException]) -> Koa:
    app = Koa()
    app.on("error", lambda err, ctx: errors.append(err))

    async def handler(ctx: Context, next: Next) -> None:
        form = await ctx.form(spool=100)
        upload = form["f"]
        assert isinstance(upload, UploadFile)
        kept.append(upload)
        assert not upload.closed
        if end == "error":
            raise ValueError("the app failed")
        if end == "stream":
            ctx.body = upload
        elif end == "none":
            ctx.respond = False
            await ctx.send({"type": "http.response.start", "status": 204, "headers": []})
            await ctx.send({"type": "http.response.body", "body": b""})
        else:
            ctx.body = str(upload.size)

    app.use(handler)
    return app


@pytest.mark.parametrize(
    ("end", "status", "body"),
    [
        ("body", 200, b"5000"),
        ("error", 500, b"Internal Server Error"),
        ("stream", 200, b"x" * 5000),
        ("none", 204, b""),
    ],
)
async def test_uploads_are_closed_when_the_response_ends(end: str, status: int, body: bytes) -> None:
    kept: list[UploadFile] = []
    errors: list[BaseException] = []
    sent = await call(
        uploads_app(end, kept, errors), [UPLOAD[:1000], UPLOAD[1000:]], {"content-type": multipart_type()}
    )
    assert answer(sent[:-1]) == (status, body)
    assert kept[0].closed
    assert len(errors) == (end == "error")


async def test_a_client_that_leaves_mid_body_ends_the_request_quietly(capsys: pytest.CaptureFixture[str]) -> None:
    kept: list[UploadFile] = []
    errors: list[BaseException] = []
    app = Koa()
    app.on("error", lambda err, ctx: errors.append(err))
    caught: list[BaseException] = []

    async def handler(ctx: Context, next: Next) -> None:
        try:
            await ctx.form(spool=100)
        except ClientDisconnect as err:
            caught.append(err)
            assert ctx._request_body is not None
            kept.extend(ctx._request_body.uploads)
            raise

    app.use(handler)
    half = UPLOAD[: len(UPLOAD) // 2]
    sent = await call(app, [half], {"content-type": multipart_type()}, disconnect=True)
    assert sent[:-1] == []  # nothing was answered
    assert isinstance(caught[0], ClientDisconnect)
    assert kept[0].closed
    assert errors == []
    assert capsys.readouterr().err == ""


async def test_a_form_that_fails_midway_closes_its_partial_file() -> None:
    opened: list[UploadFile] = []

    async def handler(ctx: Context) -> None:
        try:
            await ctx.form(spool=100, max_file_size=3000)
        finally:
            state = ctx._request_body
            assert state is not None
            opened.extend(state.uploads)

    sent = await call(app_of(handler), [UPLOAD[:2000], UPLOAD[2000:]], {"content-type": multipart_type()})
    assert answer(sent[:-1]) == (413, b"file 'f.bin' is larger than the limit of 3000b (3000 bytes)")
    assert opened
    assert all(upload.closed for upload in opened)


def test_body_is_typed_for_narrowing() -> None:
    async def handler(ctx: Context) -> None:
        value = await ctx.json()
        names: list[str] = []
        if isinstance(value, dict):
            names = [str(name) for name in value]
        form: FormData[str | UploadFile] = FormData()
        ctx.body = {"names": names, "form": len(form), "body": ctx.request.body, "files": len(ctx.request.files)}

    with TestClient(app_of(handler)) as client:
        assert client.post("/", json={"a": 1}).json() == {"names": ["a"], "form": 0, "body": None, "files": 0}


async def test_a_response_can_stream_the_request_body() -> None:
    async def handler(ctx: Context) -> None:
        async def upper() -> AsyncIterator[bytes]:
            async for chunk in ctx.stream():
                yield chunk.upper()

        ctx.body = upper()

    sent = await call(app_of(handler), [b"abc", b"def", b"ghi"], {"transfer-encoding": "chunked"})
    assert answer(sent[:-1]) == (200, b"ABCDEFGHI")


async def test_a_client_that_leaves_while_its_body_streams_back() -> None:
    errors: list[BaseException] = []
    app = app_of(_echo_stream)
    app.on("error", lambda err, ctx: errors.append(err))
    sent = await call(app, [b"abc", b"def"], {"transfer-encoding": "chunked"}, disconnect=True)
    # the headers and the chunks went out; then the client left: the response is left unfinished
    assert sent[0]["status"] == 200
    assert [message.get("body") for message in sent[1:-1]] == [b"abc", b"def"]
    assert errors == []


async def _echo_stream(ctx: Context) -> None:
    ctx.body = ctx.stream()


def test_stream_refuses_an_unknown_encoding_when_called() -> None:
    async def handler(ctx: Context) -> None:
        try:
            ctx.stream()
        except HttpError as err:
            ctx.body = f"{err.status} {err.message}"

    with TestClient(app_of(handler)) as client:
        answer = client.post("/", content=b"x", headers={"content-encoding": "zz"}).text
        assert answer == "415 unsupported Content-Encoding 'zz': send gzip, deflate, br or identity"


def test_stream_limits_and_a_kept_body() -> None:
    async def handler(ctx: Context) -> None:
        if ctx.get("x-read"):
            await ctx.read()
            try:
                ctx.stream(limit=1)
            except HttpError as err:
                kept = [chunk.decode() async for chunk in ctx.stream()]
                empty = [chunk async for chunk in _empty_stream(ctx)]
                ctx.body = {"kept": kept, "small": err.status, "empty": empty}
            return
        got = b""
        try:
            async for chunk in ctx.stream(limit=4):
                got += chunk
        except HttpError as err:
            ctx.body = {"got": got.decode(), "status": err.status}

    with TestClient(app_of(handler)) as client:
        assert client.post("/", content=b"abc", headers={"x-read": "1"}).json() == {
            "kept": ["abc"],
            "small": 413,
            "empty": [],
        }
    sent = asyncio.run(call(app_of(handler), [b"abc", b"def"], {"transfer-encoding": "chunked"}))
    assert answer(sent[:-1]) == (200, b'{"got":"abc","status":413}')


def _empty_stream(ctx: Context) -> AsyncIterator[bytes]:
    """A kept empty body streams as no chunk at all."""
    state = ctx._request_body
    assert state is not None
    raw, state.raw = state.raw, b""
    try:
        return ctx.stream()
    finally:
        state.raw = raw


async def test_a_body_with_an_empty_last_message_is_read_without_waiting_for_it() -> None:
    # granian sends each body's end as an empty message of its own: once Content-Length
    # bytes have come, read() does not wait for it; a streamed answer's watch for a client
    # that leaves then takes it as any other message.
    async def stream(ctx: Context) -> None:
        data = await ctx.read()

        async def chunks() -> AsyncIterator[bytes]:
            yield data

        ctx.body = chunks()

    data = b'{"a": 1}'
    declared = {"content-type": "application/json", "content-length": str(len(data))}
    for handler in (echo_json, stream):
        sent = await call(app_of(handler), [data, b""], declared)
        assert sent[-1]["count"] == (1 if handler is echo_json else 3)  # the watch: the end, then disconnect
        assert answer(sent[:-1])[1] in (b'{"a":1}', data)
    # Without a declared length, the end is the last message.
    sent = await call(app_of(echo_json), [data[:3], data[3:], b""], {"content-type": "application/json"})
    assert (answer(sent[:-1]), sent[-1]["count"]) == ((200, b'{"a":1}'), 3)


async def echo_json(ctx: Context) -> None:
    ctx.body = await ctx.json()


async def test_a_finished_request_is_freed_without_the_garbage_collector() -> None:
    # ctx.request and ctx.response point back at the context: the response ending breaks
    # that cycle, so that a request's objects go as soon as it ends.
    refs: list[weakref.ref[Any]] = []

    async def handler(ctx: Context) -> None:
        refs.extend([weakref.ref(ctx), weakref.ref(ctx.request), weakref.ref(ctx.response)])
        ctx.request.body = await ctx.request.json()
        ctx.response.body = ctx.request.body

    gc.collect()
    gc.disable()
    try:
        sent = await call(app_of(handler), [b"[1]"], {"content-type": "application/json"})
        assert answer(sent[:-1]) == (200, b"[1]")
        assert [ref() for ref in refs] == [None, None, None]
    finally:
        gc.enable()


def test_ctx_request_after_the_response_is_the_same_request() -> None:
    # Made again when it held nothing but the context; kept when an attribute was set on it.
    seen: list[Any] = []
    app = Koa()

    @app.use
    async def respond(ctx: Context) -> None:
        plain = ctx.response
        setattr(ctx.request, "user", "ada")  # what an app adds to its requests
        ctx.body = await ctx.request.json()
        ctx.after(lambda: seen.extend([getattr(ctx.request, "user"), ctx.response.status, ctx.response is plain]))

    with TestClient(app) as client:
        assert client.post("/", json={"a": 1}).json() == {"a": 1}
    assert seen == ["ada", 200, False]


def watching_bodies(app: Koa, watch: Callable[[Message], Awaitable[None]]) -> Koa:
    """`app` behind a server that calls `watch` with each body message before sending it."""

    async def server(scope: Scope, receive: Callable[[], Awaitable[Message]], send: Any) -> None:
        async def watching(message: Message) -> None:
            if message["type"] == "http.response.body":
                await watch(message)
            await send(message)

        await app(scope, receive, watching)

    return cast(Koa, server)


async def test_the_form_files_close_once_the_answer_is_sent() -> None:
    # Removing a large temporary file takes a while: the client does not wait for it, and
    # the file is gone before the request's handling ends.
    kept: list[UploadFile] = []
    open_when_sent: list[bool] = []

    async def watch(message: Message) -> None:
        open_when_sent.append(not kept[0].closed)

    sent = await call(
        watching_bodies(uploads_app("body", kept, []), watch), [UPLOAD], {"content-type": multipart_type()}
    )
    assert answer(sent[:-1]) == (200, b"5000")
    assert open_when_sent == [True]
    assert kept[0].closed


async def test_the_form_files_close_when_the_answer_cannot_be_sent() -> None:
    kept: list[UploadFile] = []
    bodies: list[Message] = []

    async def fail(message: Message) -> None:
        bodies.append(message)
        raise OSError("the connection is gone")

    await call(watching_bodies(uploads_app("body", kept, []), fail), [UPLOAD], {"content-type": multipart_type()})
    assert len(bodies) == 1
    assert kept[0].closed


async def test_a_client_that_leaves_while_read_waits_ends_the_request_quietly() -> None:
    caught: list[BaseException] = []

    async def handler(ctx: Context) -> None:
        try:
            await ctx.read()
        except ClientDisconnect as err:
            caught.append(err)
            raise

    app = app_of(handler)
    errors: list[BaseException] = []
    app.on("error", lambda err, ctx: errors.append(err))
    sent = await call(app, [b'{"a": '], {"content-type": "application/json"}, disconnect=True)
    assert sent == [{"type": "test.received", "count": 2}]  # no answer: no one to take it
    assert [str(err) for err in caught] == ["the client disconnected before its request body was read"]
    assert errors == []
