"""`etag()`: an ETag for every 2xx response that has a body and none yet (koa-etag).

Run it below `conditional_get()`, so that the tag exists when freshness is checked on the
way back up. A str, bytes or JSON body gets a strong tag from its length and SHA-1; a file
(`ctx.body = Path(...)`) a weak one from its size and modification time, read without
opening it; other streams none, as reading them to hash would defeat streaming.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import PurePath

from ..core.compose import Middleware, Next
from ..core.context import Context
from ..core.response import is_stream
from ..http.jsonbody import dumps


def file_tag(stat: os.stat_result, *, weak: bool = False) -> str:
    """`"size-mtime"` in hex, as koa-etag and nginx make them: it changes whenever the file
    is rewritten, without reading it."""
    tag = f'"{stat.st_size:x}-{stat.st_mtime_ns // 1_000_000:x}"'
    return "W/" + tag if weak else tag


def entity_tag(data: bytes, *, weak: bool = False) -> str:
    """`"length-sha1"`: the length in hex and 27 characters of the SHA-1 in base64."""
    digest = base64.b64encode(hashlib.sha1(data, usedforsecurity=False).digest()).decode()[:27]
    tag = f'"{len(data):x}-{digest}"'
    return "W/" + tag if weak else tag


def etag(*, weak: bool = False) -> Middleware:
    """Set `ETag` on 2xx responses with a body and no ETag; `weak=True` marks every tag weak."""

    async def etag(ctx: Context, next: Next) -> None:
        await next()
        body = ctx.body
        if body is None or ctx.etag is not None or not 200 <= ctx.status < 300:
            return
        if isinstance(body, PurePath):
            ctx.etag = file_tag(os.stat(body), weak=True)
        elif isinstance(body, str):
            ctx.etag = entity_tag(body.encode(), weak=weak)
        elif isinstance(body, (bytes, bytearray, memoryview)):
            ctx.etag = entity_tag(bytes(body), weak=weak)
        elif isinstance(body, (dict, list)) or not is_stream(body):
            ctx.etag = entity_tag(dumps(body), weak=weak)

    return etag
