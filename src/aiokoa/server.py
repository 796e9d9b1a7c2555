"""Serving an app: uvicorn (with uvloop and httptools) is the embedded server."""

from __future__ import annotations

from typing import Any

from .types import ASGIApp


def serve(app: ASGIApp, *, host: str = "127.0.0.1", port: int = 3000, **options: Any) -> None:
    import uvicorn

    options.setdefault("log_level", "warning")
    print(f"aiokoa listening on http://{host}:{port}", flush=True)
    uvicorn.run(app, host=host, port=port, **options)
