"""Unit-level helpers for the core tests: a context built without a server (Koa's
`test-helpers/context.js`), and a recorder for an app's `error` events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from aiokoa import Context, Koa
from aiokoa.types import Message

MakeContext = Callable[..., Context]


def make_context(
    app: Koa | None = None,
    *,
    method: str = "GET",
    path: str = "/",
    headers: list[tuple[bytes, bytes]] | None = None,
    http_version: str = "1.1",
    sent: list[Message] | None = None,
) -> Context:
    """A fresh context for `method path`; the ASGI messages it sends go to `sent`."""
    app = app or Koa()
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": http_version,
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers or [(b"host", b"example.com")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    out = sent if sent is not None else []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        out.append(message)

    return app.context(app, scope, receive, send)


@pytest.fixture
def context() -> MakeContext:
    """`ctx = context()`: a context for `GET /` on a new app (options: see `make_context`)."""
    return make_context


class Errors(list[BaseException]):
    """Every error an app emitted on `error`, in order."""

    def __init__(self, app: Koa) -> None:
        super().__init__()
        app.on("error", self._record)

    def _record(self, err: BaseException, ctx: Context) -> None:
        self.append(err)


@pytest.fixture
def errors() -> Callable[[Koa], Errors]:
    """`events = errors(app)`: start recording `app`'s error events (replaces the logger)."""
    return Errors
