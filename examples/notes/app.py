"""Notes: a small multi-user notes service, every battery of aiokoa at work in one app.

    ./dev serve notes            # http://127.0.0.1:3000 (installs what it needs on first run)
    python examples/notes/app.py # the same, from a virtual environment with aiokoa installed

Open http://127.0.0.1:3000/ in two tabs, sign up, and write a note: both tabs show it. The
page is static (examples/notes/static/: HTML, JavaScript and CSS, no build step) and talks
to a JSON API:

    GET    /api/session                         who is logged in, and a CSRF token
    POST   /api/signup, /api/login              {"name": ..., "password": ...}
    POST   /api/logout
    GET    /api/notes                           the user's notes
    POST   /api/notes                           {"text": ...}
    DELETE /api/notes/{id}
    POST   /api/notes/{id}/attachments          a multipart form with one `file`
    GET    /api/notes/{id}/attachments/{file}   the file, as it was sent
    GET    /api/events                          Server-Sent Events: the user's notes as they change

Settings, from the environment: PORT (3000); NOTES_DATABASE (the SQLite file, created with
its folder on the first run; examples/notes/data/notes.db by default, a folder git
ignores); NOTES_ORIGINS (other origins, comma-separated, whose pages may call the API:
CORS with credentials, and trusted by the CSRF check; none by default); NOTES_MAX_FILE (the
largest attachment, "1mb"); NOTES_LOGIN_ATTEMPTS (sign-ups and logins per client per minute,
10); NOTES_REQUESTS (requests per client per minute, 600).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import msgspec
from store import Attachment, Note, Store

from aiokoa import Broadcast, EventStream, Koa, Router, ServerSentEvent, UploadFile
from aiokoa.middleware import (
    SessionContext,
    body_parser,
    compress,
    cors,
    csrf,
    csrf_token,
    helmet,
    logger,
    rate_limit,
    serve_static,
    session,
)
from aiokoa.middleware.logger import Transporter
from aiokoa.router import Form, operation

HERE = Path(__file__).parent


@dataclasses.dataclass(frozen=True)
class Config:
    """The settings (see the module's docstring); `from_env()` reads them from the environment."""

    database: str = str(HERE / "data" / "notes.db")
    origins: tuple[str, ...] = ()
    max_file: str = "1mb"
    login_attempts: int = 10
    requests: int = 600
    port: int = 3000

    @classmethod
    def from_env(cls) -> Config:
        env = os.environ
        return cls(
            database=env.get("NOTES_DATABASE", cls.database),
            origins=tuple(origin.strip() for origin in env.get("NOTES_ORIGINS", "").split(",") if origin.strip()),
            max_file=env.get("NOTES_MAX_FILE", cls.max_file),
            login_attempts=int(env.get("NOTES_LOGIN_ATTEMPTS", cls.login_attempts)),
            requests=int(env.get("NOTES_REQUESTS", cls.requests)),
            port=int(env.get("PORT", cls.port)),
        )


# -- what the API reads and writes: validated by the router from the handlers' signatures --


class Credentials(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[\w.-]+$")]
    password: Annotated[str, msgspec.Meta(min_length=8, max_length=200)]


class Account(msgspec.Struct):
    name: str | None
    csrf: str  # sent back in X-CSRF-Token by every request that changes something


class NewNote(msgspec.Struct):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=10_000)]


class Upload(msgspec.Struct):
    file: UploadFile


def create_app(config: Config, *, log: Transporter | None = None) -> Koa:
    """The app for `config`; `log(line, args)` receives the access log as JSON lines
    instead of the usual two lines per request on stdout."""
    store = Store(config.database)
    app = Koa(keys=[store.setup()])  # the key signing the session cookies, made on the first run
    # Each user's changes go out on a channel of their own, to every tab they have open.
    # "memory://" serves one process; a Redis URL would serve several.
    broadcast = Broadcast("memory://")
    app.on("startup", broadcast.connect)
    app.on("shutdown", broadcast.disconnect)

    app.use(logger(transporter=log, json=log is not None))
    # A page may load its scripts, styles, images and API calls from this origin only: no
    # inline script, no other host, no framing.
    only_self = {"default-src": ["'self'"], "base-uri": ["'self'"], "form-action": ["'self'"]}
    only_self |= {"frame-ancestors": ["'none'"], "object-src": ["'none'"]}
    app.use(helmet(content_security_policy={"use_defaults": False, "directives": only_self}))
    allowed = frozenset(config.origins)
    app.use(cors(origin=lambda ctx: ctx.get("Origin") if ctx.get("Origin") in allowed else None, credentials=True))
    app.use(compress())
    app.use(rate_limit(max=config.requests, duration=60))
    app.use(serve_static(HERE / "static"))  # before the session: a file needs none
    app.use(session(key="notes.sid"))
    app.use(csrf(trusted_origins=config.origins))

    router = Router(prefix="/api")
    # One count for sign-ups and logins together: guessing passwords is slow work.
    attempts = rate_limit(max=config.login_attempts, duration=60, prefix="login:")

    def user_of(ctx: SessionContext) -> int:
        user_id = ctx.session.get("user_id")
        if not isinstance(user_id, int):
            ctx.throw(401, "log in first")
        return user_id

    async def publish(user_id: int, change: dict[str, object]) -> None:
        await broadcast.publish(f"user:{user_id}", msgspec.json.encode(change).decode())

    @router.get("/session")
    async def who(ctx: SessionContext) -> Account:
        return Account(ctx.session.get("name"), csrf_token(ctx))

    async def log_in(ctx: SessionContext, user_id: int, name: str) -> Account:
        ctx.session.regenerate()  # a session id planted before the login is worth nothing
        ctx.session.update(user_id=user_id, name=name)
        return Account(name, csrf_token(ctx))

    @router.post("/signup", attempts)
    @operation(status=201)
    async def signup(ctx: SessionContext, credentials: Credentials) -> Account:
        user_id = await store.create_user(credentials.name, credentials.password)
        if user_id is None:
            ctx.throw(409, f"the name {credentials.name!r} is taken")
        return await log_in(ctx, user_id, credentials.name)

    @router.post("/login", attempts)
    async def login(ctx: SessionContext, credentials: Credentials) -> Account:
        user_id = await store.check_password(credentials.name, credentials.password)
        if user_id is None:
            ctx.throw(401, "wrong name or password")
        return await log_in(ctx, user_id, credentials.name)

    @router.post("/logout")
    async def logout(ctx: SessionContext) -> None:
        ctx.session = None
        ctx.status = 204

    @router.get("/notes")
    async def list_notes(ctx: SessionContext) -> list[Note]:
        return await store.notes(user_of(ctx))

    @router.post("/notes")
    @operation(status=201)
    async def add_note(ctx: SessionContext, new: NewNote) -> Note:
        user_id = user_of(ctx)
        note = await store.add_note(user_id, new.text)
        await publish(user_id, {"saved": note})
        return note

    @router.delete("/notes/:id")
    async def delete_note(ctx: SessionContext, id: int) -> None:
        user_id = user_of(ctx)
        if not await store.delete_note(user_id, id):
            ctx.throw(404, f"no note {id}")
        await publish(user_id, {"deleted": id})
        ctx.status = 204

    # The form is parsed before the handler, with its limits: a larger file is a 413.
    one_file = body_parser(enable_types=["multipart"], max_file_size=config.max_file, max_files=1)

    @router.post("/notes/:id/attachments", one_file)
    @operation(status=201)
    async def attach(ctx: SessionContext, id: int, form: Annotated[Upload, Form()]) -> Attachment:
        user_id = user_of(ctx)
        note = await store.note(user_id, id)
        if note is None:
            ctx.throw(404, f"no note {id}")
        attachment = await store.attach(id, form.file.filename or "file", await form.file.read())
        note.attachments.append(attachment)
        await publish(user_id, {"saved": note})
        return attachment

    @router.get("/notes/:id/attachments/:file")
    async def download(ctx: SessionContext, id: int, file: int) -> None:
        found = await store.attachment(user_of(ctx), id, file)
        if found is None:
            ctx.throw(404, f"no file {file} on note {id}")
        name, data = found
        # Always a download, never shown in the page's origin: an uploaded page or script
        # must not run here.
        ctx.type = "application/octet-stream"
        ctx.attachment(name)
        ctx.body = data

    @router.get("/events")
    async def events(ctx: SessionContext) -> None:
        user_id = user_of(ctx)  # refused with a 401 before the stream starts

        async def changes() -> AsyncIterator[ServerSentEvent | str]:
            async with broadcast.subscribe(f"user:{user_id}") as messages:
                yield ServerSentEvent("listening", event="ready")
                async for message in messages:
                    yield message

        ctx.body = EventStream(changes())

    app.use(router.routes())
    app.use(router.allowed_methods())
    return app


if __name__ == "__main__":
    config = Config.from_env()
    create_app(config).listen(config.port)
