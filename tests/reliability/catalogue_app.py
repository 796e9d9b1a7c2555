"""The app the bad-input catalogue talks to: it runs every parser of untrusted input.

Served by each ASGI server in turn (uvicorn in-process, granian through `aiokoa run`),
it answers `GET /` with a JSON report of everything aiokoa reads from a request, so a
hostile request goes through the cookie, Accept*, conditional, proxy, host, path and
query parsers. The `X-Catalogue` header, kept on error responses, tells an answer from
aiokoa apart from one the server wrote itself.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import msgspec

from aiokoa import Context, EventStream, FormData, Koa, Next, Router, ServerSentEvent, UploadFile
from aiokoa.middleware import SessionContext, csrf, session
from aiokoa.middleware.body_parser import body_parser
from aiokoa.middleware.compress import compress
from aiokoa.middleware.cors import cors
from aiokoa.middleware.static import send

app = Koa(keys=["catalogue secret"], proxy=True)
router = Router()

# `/static/...` serves `public/`; `secret.txt` beside it, and `link.txt` in it that points
# there, must never be served.
FILES = Path(tempfile.mkdtemp(prefix="aiokoa-catalogue-"))
atexit.register(shutil.rmtree, FILES, True)
(FILES / "secret.txt").write_text("outside the root")
PUBLIC = FILES / "public"
PUBLIC.mkdir()
(PUBLIC / "a.txt").write_text("0123456789")
(PUBLIC / "link.txt").symlink_to(FILES / "secret.txt")


@router.get("/items/:id")
async def item(ctx: Context) -> None:
    # encoded: a raw `€` would be refused (a header value is Latin-1), and that is the app's 500
    ctx.set("X-Item", quote(ctx.params["id"]))
    ctx.body = {"id": ctx.params["id"]}


class Sample(msgspec.Struct):
    n: int
    tags: list[str] = []


@router.post("/typed/:id")
async def typed(ctx: Context, id: int, sample: Sample, limit: int = 10) -> Sample:
    return sample


@router.get("/back")
async def back(ctx: Context) -> None:
    ctx.back("/home")


@router.get("/compressed", compress())
async def compressed(ctx: Context) -> None:
    ctx.body = "compressible text " * 100


@router.get("/events")
async def events(ctx: Context) -> None:
    """An event stream that resumes after the id a reconnecting browser sends, if it issued it."""
    last = ctx.last_event_id
    issued = [str(n) for n in range(1, 4)]
    start = int(last) if last in issued else 0
    ctx.set("X-Resumed-From", str(start))
    ctx.body = EventStream([ServerSentEvent(f"event {n}", id=str(n)) for n in range(start + 1, 4)])


@router.get("/unchecked")
async def unchecked(ctx: Context) -> None:
    """An app bug on purpose: the live header dict takes a request value unchecked."""
    ctx.body = "unchecked"
    ctx.response.headers["x-note"] = str(ctx.query.get("note", ""))


async def session_state(ctx: SessionContext) -> None:
    """Whether the session cookie was accepted (`X-Session: kept`) or a new session began."""
    ctx.set("X-Session", "new" if ctx.session.is_new else "kept")
    ctx.body = dict(ctx.session)


router.get("/session", session(), session_state)
router.get("/sealed", session(key="sealed", encrypted=True), session_state)
router.post("/csrf", session(), csrf(), session_state)


@router.post(
    "/body",
    body_parser(
        enable_types=("json", "form", "text", "multipart"),
        json_limit="1kb",
        form_limit="1kb",
        text_limit="1kb",
        max_file_size="10kb",
        max_files=2,
        max_fields=3,
    ),
)
async def body(ctx: Context) -> None:
    """What body_parser made of the body: its value, or the names and sizes of its parts."""
    parsed = ctx.request.body
    if isinstance(parsed, FormData):
        parsed = parsed.to_json()
    files = {name: upload.size for name, upload in ctx.request.files.items() if isinstance(upload, UploadFile)}
    ctx.body = {"body": parsed, "files": files}


def report(ctx: Context) -> dict[str, Any]:
    """Everything parsed from the request, as JSON-ready values."""
    url = ctx.URL
    return {
        "method": ctx.method,
        "idempotent": ctx.idempotent,
        "path": ctx.path,
        "decoded_path": ctx.decoded_path,
        "querystring": ctx.querystring,
        "query": ctx.query,
        "href": ctx.href,
        "url": None if url is None else str(url),
        "host": ctx.host,
        "hostname": ctx.hostname,
        "subdomains": ctx.subdomains,
        "protocol": ctx.protocol,
        "secure": ctx.secure,
        "origin": ctx.origin,
        "ip": ctx.ip,
        "ips": ctx.ips,
        "cookie": ctx.cookies.get("session"),
        "signed_cookie": ctx.cookies.get("signed", signed=True),
        "accept": ctx.accepts(),
        "accepts": ctx.accepts("html", "json", "text/plain"),
        "encodings": ctx.accepts_encodings("gzip", "br", "identity"),
        "charsets": ctx.accepts_charsets("utf-8", "latin-1"),
        "languages": ctx.accepts_languages("en", "fr-CH"),
        "type": ctx.request.type,
        "charset": ctx.request.charset,
        "length": ctx.request.length,
        "is_json": ctx.is_("json"),
        "range": ctx.get("Range"),
    }


@app.use
async def read_everything(ctx: Context, next: Next) -> None:
    ctx.set("X-Catalogue", "seen")
    ctx.keep_on_error("X-Catalogue")
    parsed = report(ctx)
    await next()
    if ctx.body is None and ctx.status == 404:
        ctx.etag = "v1"
        ctx.last_modified = datetime(2020, 1, 1, tzinfo=UTC)
        ctx.status = 200
        parsed["fresh"] = ctx.fresh
        if parsed["fresh"]:
            ctx.status = 304
        else:
            ctx.body = parsed


cross_origin = cors(credentials=True)


@app.use
async def cors_routes(ctx: Context, next: Next) -> None:
    """CORS under `/cors`, reflecting the request's Origin (credentials): what a hostile
    Origin or preflight meets."""
    if ctx.path.startswith("/cors"):
        return await cross_origin(ctx, next)  # type: ignore[no-any-return]
    return await next()  # type: ignore[no-any-return]


@app.use
async def static(ctx: Context, next: Next) -> None:
    if ctx.path.startswith("/static/"):
        await send(ctx, ctx.path.removeprefix("/static"), root=PUBLIC)
    else:
        await next()


app.use(router.routes())
app.use(router.allowed_methods())

# `/ws` echoes, for a token, with messages of up to 1 KB: what a hostile handshake or frame meets.
app.ws.max_message_size = "1kb"
sockets = Router()


@sockets.ws("/ws")
async def echo(ctx: Context, next: Next) -> None:
    if ctx.query.get("token") != "ok":
        ctx.throw(403, headers={"X-Catalogue": "seen"})
    await ctx.websocket.accept(headers={"X-Catalogue": "seen"})
    async for message in ctx.websocket:
        await ctx.websocket.send(message)


app.ws.use(sockets.routes())
