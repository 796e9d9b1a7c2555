"""The app the graceful-shutdown tests stop: `GET /?sleep=S` answers "done" after S seconds,
and its `shutdown` listener appends a line to the file `SHUTDOWN_LOG` names, so a test
can tell that it ran; a request that reaches the handler creates the file `REQUEST_STARTED`
names, if set.

    python shutdown_app.py PORT SHUTDOWN_TIMEOUT     # served by app.listen()
    aiokoa run shutdown_app:app ...                  # served by the command line
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from aiokoa import Context, Koa, Next

app = Koa()


@app.use
async def slow(ctx: Context, next: Next) -> None:
    started = os.environ.get("REQUEST_STARTED")
    if started:  # tells the test the request is in the handler, not still in a queue
        Path(started).touch()
    await asyncio.sleep(float(str(ctx.query.get("sleep", 0))))
    ctx.body = "done"


@app.on("shutdown")
async def shutdown() -> None:
    with Path(os.environ["SHUTDOWN_LOG"]).open("a") as log:
        log.write("shutdown listener ran\n")


if __name__ == "__main__":
    app.listen(int(sys.argv[1]), shutdown_timeout=float(sys.argv[2]))
