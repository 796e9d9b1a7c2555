"""Start one benchmark app on one server, in the foreground, with one worker.

The network runner launches this under ``taskset -c 0``; servers inherit the
affinity, so the whole server (and any worker process it forks) stays on one core.

    python serve.py --framework aiokoa --server granian --app stack --port 8101
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from registry import BY_NAME  # noqa: E402
from scenarios import AppSpec  # noqa: E402

ENV_FRAMEWORK = "AIOKOA_BENCH_FRAMEWORK"
ENV_APP = "AIOKOA_BENCH_APP"


def parse_app(key: str) -> AppSpec:
    """``stack`` -> AppSpec("stack"); ``depth-5`` -> AppSpec("depth", 5)."""
    kind, _, size = key.partition("-")
    return AppSpec(kind, int(size or 0))


def app_factory() -> Any:
    """Granian imports this in its worker process; the choice travels in the environment."""
    return BY_NAME[os.environ[ENV_FRAMEWORK]].build(parse_app(os.environ[ENV_APP]))


def serve(framework: str, server: str, app_key: str, port: int) -> None:
    host = "127.0.0.1"
    if server == "uvicorn":
        import uvicorn

        app = BY_NAME[framework].build(parse_app(app_key))
        uvicorn.run(
            app,
            host=host,
            port=port,
            loop="uvloop",
            http="httptools",
            lifespan="auto",
            access_log=False,
            log_level="warning",
            workers=1,
        )
    elif server == "granian":
        from granian import Granian
        from granian.constants import HTTPModes, Interfaces, Loops
        from granian.log import LogLevels

        os.environ[ENV_FRAMEWORK] = framework
        os.environ[ENV_APP] = app_key
        Granian(
            "serve:app_factory",
            address=host,
            port=port,
            interface=Interfaces.ASGI,
            workers=1,
            loop=Loops.uvloop,
            http=HTTPModes.http1,
            websockets=app_key == "websocket",
            log_level=LogLevels.warning,
            factory=True,
            working_dir=HERE,
        ).serve()
    elif server == "sanic":
        app = BY_NAME[framework].build(parse_app(app_key))
        app.run(host=host, port=port, single_process=True, access_log=False, debug=False, motd=False)
    elif server == "aiohttp":
        import uvloop
        from aiohttp import web

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        logging.getLogger("aiohttp.access").disabled = True
        web.run_app(BY_NAME[framework].build(parse_app(app_key)), host=host, port=port, access_log=None, print=None)
    else:
        raise SystemExit(f"unknown server {server!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--framework", required=True, choices=sorted(BY_NAME))
    parser.add_argument("--server", required=True)
    parser.add_argument("--app", required=True, help="hello, stack, json, post, depth-N or routes-N")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    serve(args.framework, args.server, args.app, args.port)


if __name__ == "__main__":
    main()
