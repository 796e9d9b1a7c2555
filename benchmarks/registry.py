"""The frameworks under test, where their apps live and which servers run them."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any

from scenarios import AppSpec, Case

RAW = "raw-asgi"
AIOKOA = "aiokoa"
AIOKOA_UNTYPED = "aiokoa-untyped"
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
    lacks: frozenset[str] = frozenset()  # labels of the cases it has no feature for (no br, say)
    only: frozenset[str] = frozenset()  # if given, the only labels it serves

    def serves(self, case: Case) -> bool:
        return case.label not in self.lacks and (not self.only or case.label in self.only)

    def available(self) -> bool:
        if not self.requires:
            return True
        return importlib.util.find_spec(self.requires) is not None

    def build(self, spec: AppSpec) -> Any:
        module = importlib.import_module(f"apps.{self.module}")
        return getattr(module, self.builder)(spec)


# Compression: Starlette (so FastAPI), BlackSheep and aiohttp have gzip but no br; Falcon
# and Sanic have none; raw ASGI and Starlette's BaseHTTPMiddleware variant have nothing of
# their own to show there.
NO_BR = frozenset({"compress-br"})
NO_COMPRESSION = frozenset({"compress-gzip", "compress-br"})
# The batteries scenario (session, CORS, security headers, rate limit) compares aiokoa with
# the peers its users would weigh it against: Starlette, FastAPI, Litestar and Koa.
NO_BATTERIES = frozenset({"batteries"})
# Typed handlers (validated parameters and bodies): aiokoa and the peers built on the idea.
NO_TYPED = frozenset({"typed-post", "typed-get"})

FRAMEWORKS: tuple[Framework, ...] = (
    Framework(RAW, "raw_asgi", "build", True, ("uvicorn", "granian"), "", NO_COMPRESSION | NO_BATTERIES | NO_TYPED),
    Framework(AIOKOA, "aiokoa_app", "build", True, ("uvicorn", "granian"), "aiokoa"),
    Framework(BLACKSHEEP, "blacksheep_app", "build", True, ("uvicorn",), "blacksheep", NO_BR | NO_BATTERIES),
    Framework("falcon", "falcon_app", "build", True, ("uvicorn",), "falcon", NO_COMPRESSION | NO_BATTERIES | NO_TYPED),
    Framework("starlette", "starlette_app", "build", True, ("uvicorn",), "starlette", NO_BR | NO_TYPED),
    Framework(
        "starlette-basehttp",
        "starlette_app",
        "build_base_http",
        True,
        ("uvicorn",),
        "starlette",
        NO_COMPRESSION | NO_BATTERIES | NO_TYPED,
    ),
    Framework("litestar", "litestar_app", "build", True, ("uvicorn",), "litestar"),
    Framework("fastapi", "fastapi_app", "build", True, ("uvicorn",), "fastapi", NO_BR),
    Framework("sanic", "sanic_app", "build", True, ("sanic",), "sanic", NO_COMPRESSION | NO_BATTERIES | NO_TYPED),
    Framework("aiohttp", "aiohttp_app", "build", False, ("aiohttp",), "aiohttp", NO_BR | NO_BATTERIES | NO_TYPED),
    Framework(KOA, "", "", False, ("node",), "", NO_TYPED),
    # The typed cases with the same handlers untyped (the body parsed, nothing validated):
    # the difference is what validation costs a request.
    Framework(AIOKOA_UNTYPED, "aiokoa_app", "build_untyped", True, (), "aiokoa", only=NO_TYPED),
)

BY_NAME = {f.name: f for f in FRAMEWORKS}


def asgi_frameworks() -> list[Framework]:
    """The frameworks measured in-process (everything that speaks ASGI)."""
    return [f for f in FRAMEWORKS if f.asgi]


def target_name(framework: str, server: str) -> str:
    """How a framework-on-server pair is labelled in tables, e.g. ``aiokoa@granian``."""
    return f"{framework}@{server}"
