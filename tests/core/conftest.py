"""Unit-level helpers for the core tests: a context built without a server (Koa's
`test-helpers/context.js`), and a recorder for an app's `error` events."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from aiokoa import Context, Koa
from aiokoa.testing import make_context

MakeContext = Callable[..., Context]


@pytest.fixture
def context() -> MakeContext:
    """`ctx = context()`: a context for `GET /` on a new app (options: `make_context`'s)."""
    return make_context


class Errors(list[BaseException]):
    """Every error an app emitted on `error`, in order."""

    def __init__(self, app: Koa) -> None:
        super().__init__()
        app.on("error", self._record)

    def _record(self, err: BaseException, ctx: Context) -> None:
        self.append(err)


RecordErrors = Callable[[Koa], Errors]


@pytest.fixture
def errors() -> RecordErrors:
    """`events = errors(app)`: start recording `app`'s error events (replaces the logger)."""
    return Errors
