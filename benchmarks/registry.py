"""The frameworks under test, where their apps live and which servers run them."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any

from scenarios import AppSpec

RAW = "raw-asgi"
AIOKOA = "aiokoa"
BLACKSHEEP = "blacksheep"
KOA = "koa"


@dataclass(frozen=True)
class Framework:
    """One contender. ``asgi`` apps run in-process; ``servers`` are used in network mode."""

    name: str
    module: str  # under apps/; empty for Koa, which is not Python
    builder: str
    asgi: bool
    servers: tuple[str, ...]
    requires: str  # the import that must succeed for it to run

    def available(self) -> bool:
        if not self.requires:
            return True
        return importlib.util.find_spec(self.requires) is not None

    def build(self, spec: AppSpec) -> Any:
        module = importlib.import_module(f"apps.{self.module}")
        return getattr(module, self.builder)(spec)


FRAMEWORKS: tuple[Framework, ...] = (
    Framework(RAW, "raw_asgi", "build", True, ("uvicorn", "granian"), ""),
    Framework(AIOKOA, "aiokoa_app", "build", True, ("uvicorn", "granian"), "aiokoa"),
    Framework(BLACKSHEEP, "blacksheep_app", "build", True, ("uvicorn",), "blacksheep"),
    Framework("falcon", "falcon_app", "build", True, ("uvicorn",), "falcon"),
    Framework("starlette", "starlette_app", "build", True, ("uvicorn",), "starlette"),
    Framework("starlette-basehttp", "starlette_app", "build_base_http", True, ("uvicorn",), "starlette"),
    Framework("litestar", "litestar_app", "build", True, ("uvicorn",), "litestar"),
    Framework("fastapi", "fastapi_app", "build", True, ("uvicorn",), "fastapi"),
    Framework("sanic", "sanic_app", "build", True, ("sanic",), "sanic"),
    Framework("aiohttp", "aiohttp_app", "build", False, ("aiohttp",), "aiohttp"),
    Framework(KOA, "", "", False, ("node",), ""),
)

BY_NAME = {f.name: f for f in FRAMEWORKS}


def asgi_frameworks() -> list[Framework]:
    """The frameworks measured in-process (everything that speaks ASGI)."""
    return [f for f in FRAMEWORKS if f.asgi]


def target_name(framework: str, server: str) -> str:
    """How a framework-on-server pair is labelled in tables, e.g. ``aiokoa@granian``."""
    return f"{framework}@{server}"
