"""An app whose lifespan fails at startup, as one whose database is down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokoa import Koa


@asynccontextmanager
async def lifespan(app: Koa) -> AsyncIterator[None]:
    raise ConnectionRefusedError("no database at 127.0.0.1:5432")
    yield


app = Koa(lifespan=lifespan)
