"""What every benchmark app must do, and how a response is judged correct.

Every app, in every framework, is built from an ``AppSpec`` and must answer each
``Case`` exactly as ``Case.expect`` says; a benchmark figure from an app that
answers differently would compare unlike work, so the harnesses check first.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

SCENARIOS = ("hello", "stack", "json", "depth", "routes", "post", "compress", "batteries", "typed")
DEPTHS = (0, 5, 20, 50)
ROUTE_COUNTS = (10, 100, 1000)

TEXT = "text/plain"
JSON = "application/json"
BINARY = "application/octet-stream"
HELLO = "Hello World"
USER_ID = "42"
ROUTE_PARAM = "7"


def _make_json_payload(count: int = 132) -> dict[str, Any]:
    """About 10 kB once serialized compactly (80 bytes an item); deterministic so every app
    sends the same."""
    items = [
        {
            "id": i,
            "name": f"item-{i:03d}",
            "active": i % 3 != 0,
            "score": round(i * 1.25, 2),
            "tags": ["alpha", "beta"] if i % 2 else ["gamma"],
        }
        for i in range(count)
    ]
    return {"count": len(items), "items": items}


def _make_post_payload() -> dict[str, Any]:
    """About 1 kB once serialized compactly: the request body of the ``post`` scenario."""
    return {
        "user": {"id": 1234, "name": "Ada Lovelace", "email": "ada@example.com"},
        "tags": [f"tag{i}" for i in range(20)],
        "lines": [{"sku": f"SKU-{i:04d}", "qty": i + 1, "price": 9.5 + i} for i in range(12)],
        "note": "x" * 275,
    }


def _make_order() -> dict[str, Any]:
    """The ``typed-post`` body: an order of 10 fields, one a list of 5 line objects."""
    return {
        "id": 1042,
        "customer": "Ada Lovelace",
        "email": "ada@example.com",
        "status": "paid",
        "currency": "EUR",
        "total": 123.45,
        "paid": True,
        "priority": 2,
        "notes": "leave at the door",
        "lines": [{"sku": f"SKU-{i:04d}", "qty": i + 1, "price": 9.5 + i} for i in range(5)],
    }


ORDER: dict[str, Any] = _make_order()
ORDER_BODY: bytes = json.dumps(ORDER, separators=(",", ":")).encode()
TYPED_QUERY = {"limit": 10, "offset": 20, "q": "lamp"}
"""``typed-get``: `GET /items?limit=10&offset=20&q=lamp`, each parameter typed (int, int, str)."""


STATIC_DIR = Path(__file__).resolve().parent / ".static"
"""The directory every static-file app serves under `/static/` (made by `static_files()`)."""
FILE_1K = bytes((i * 7 + 3) % 256 for i in range(1024))
LARGE_NAME = "file-100m.bin"
LARGE_SIZE = 100 * 1024 * 1024


def static_files(*, large: bool = False) -> Path:
    """Write the files the static scenarios serve (the 100 MB one only when asked)."""
    STATIC_DIR.mkdir(exist_ok=True)
    small = STATIC_DIR / "file-1k.bin"
    if not small.exists() or small.read_bytes() != FILE_1K:
        small.write_bytes(FILE_1K)
    big = STATIC_DIR / LARGE_NAME
    if large and (not big.exists() or big.stat().st_size != LARGE_SIZE):
        with open(big, "wb") as file:
            for _ in range(LARGE_SIZE // (1024 * 1024)):
                file.write(os.urandom(1024 * 1024))
    return STATIC_DIR


def static_case() -> Case:
    """`GET /static/file-1k.bin`: a 1 KB file from a directory, byte for byte."""
    return Case("static", "static-1k", AppSpec("static"), "GET", "/static/file-1k.bin", Expected(200, BINARY, FILE_1K))


JSON_PAYLOAD: dict[str, Any] = _make_json_payload()
COMPRESS_PAYLOAD: dict[str, Any] = _make_json_payload(1320)
"""About 100 kB of JSON: the body of the ``compress`` scenario, sent gzip- or br-encoded."""
COMPRESS_CODINGS = ("gzip", "br")
POST_PAYLOAD: dict[str, Any] = _make_post_payload()
POST_BODY: bytes = json.dumps(POST_PAYLOAD, separators=(",", ":")).encode()


def user_payload(user_id: str) -> dict[str, str]:
    """The body of ``GET /users/{id}`` in the ``stack`` scenario."""
    return {"id": user_id, "name": "user" + user_id}


SESSION_USER = "ada"
"""What the login route of the ``batteries`` scenario puts in the session, under ``user``."""
LOGIN_PATH = "/login"
ORIGIN = "http://app.example"
"""The cross-origin front end the ``batteries`` requests come from (CORS allows any)."""
SESSION_SECRET = "benchmark-secret-32-bytes-long!!"
"""Every framework's session signing key (Litestar's AES-GCM wants 16, 24 or 32 bytes)."""
REDIS_URL_ENV = "AIOKOA_BENCH_REDIS_URL"
"""Where the scale scenario tells the workers of its batteries app which Redis to use."""
RATE_LIMIT_MAX = 1_000_000_000
"""Requests per client per hour: the limit is counted on every request but never reached."""
HELMET_HEADERS: tuple[tuple[str, str], ...] = (
    (
        "content-security-policy",
        "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';"
        "frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';"
        "script-src-attr 'none';style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests",
    ),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("origin-agent-cluster", "?1"),
    ("referrer-policy", "no-referrer"),
    ("strict-transport-security", "max-age=31536000; includeSubDomains"),
    ("x-content-type-options", "nosniff"),
    ("x-dns-prefetch-control", "off"),
    ("x-download-options", "noopen"),
    ("x-frame-options", "SAMEORIGIN"),
    ("x-permitted-cross-domain-policies", "none"),
    ("x-xss-protection", "0"),
)
"""helmet 8's default header set: what aiokoa's `helmet()` and koa-helmet send, and what the
peers without a helmet of their own are given to send."""


def batteries_payload(user_id: str, session: dict[str, Any]) -> dict[str, Any]:
    """The body of ``GET /api/users/{id}`` in the ``batteries`` scenario: the user, and who
    asks for it as the session says (null without a valid session cookie)."""
    return {"id": user_id, "name": "user" + user_id, "viewer": session.get("user")}


def route_path(index: int) -> str:
    """Pattern of the ``index``-th route of the ``routes`` scenario, in ``{param}`` syntax."""
    return f"/r{index}/{{id}}"


def route_text(index: int, param: str) -> str:
    """Body of the ``index``-th route: names the route so a wrong match cannot pass."""
    return f"r{index}:{param}"


@dataclass(frozen=True)
class AppSpec:
    """Which app to build: ``kind`` is a scenario name, ``size`` the depth or route count."""

    kind: str
    size: int = 0

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.size}" if self.kind in ("depth", "routes") else self.kind


@dataclass(frozen=True)
class Expected:
    """What a correct response looks like."""

    status: int
    media_type: str
    body: Any  # str for text, decoded JSON value for JSON
    headers: tuple[str, ...] = ()  # header names that must be present (lower case)
    encoding: str = ""  # the Content-Encoding the body must come in ("": none)


@dataclass(frozen=True)
class Case:
    """One request against one app, and the answer it must get."""

    scenario: str
    label: str
    app: AppSpec
    method: str
    path: str
    expect: Expected
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = field(default=())
    login: str = ""  # a path to GET first: the cookies it sets go with every timed request

    def logged_in(self, set_cookies: list[str]) -> Case:
        """This case with a `Cookie` header carrying the cookies of a login answer's
        `Set-Cookie` headers (each framework signs its own session cookie)."""
        jar: SimpleCookie = SimpleCookie()
        for line in set_cookies:
            jar.load(line)
        if not jar:
            raise OutputMismatch(f"{self.label}: {self.login} set no cookie")
        cookie = "; ".join(f"{name}={morsel.coded_value}" for name, morsel in jar.items())
        return replace(self, headers=(*self.headers, ("cookie", cookie)), login="")


def _hello(app: AppSpec, scenario: str, label: str) -> Case:
    return Case(scenario, label, app, "GET", "/", Expected(200, TEXT, HELLO))


def cases_for(scenario: str) -> list[Case]:
    """All cases of one scenario, in the order they are reported."""
    if scenario == "hello":
        return [_hello(AppSpec("hello"), "hello", "hello")]
    if scenario == "stack":
        expect = Expected(200, JSON, user_payload(USER_ID), ("x-response-time",))
        return [Case("stack", "stack", AppSpec("stack"), "GET", f"/users/{USER_ID}", expect)]
    if scenario == "json":
        return [Case("json", "json", AppSpec("json"), "GET", "/json", Expected(200, JSON, JSON_PAYLOAD))]
    if scenario == "depth":
        return [_hello(AppSpec("depth", d), "depth", f"depth-{d}") for d in DEPTHS]
    if scenario == "routes":
        out: list[Case] = []
        for n in ROUTE_COUNTS:
            for where, index in (("last", n - 1), ("mid", n // 2)):
                path = route_path(index).replace("{id}", ROUTE_PARAM)
                expect = Expected(200, TEXT, route_text(index, ROUTE_PARAM))
                out.append(Case("routes", f"routes-{n}-{where}", AppSpec("routes", n), "GET", path, expect))
        return out
    if scenario == "compress":
        return [
            Case(
                "compress", f"compress-{coding}", AppSpec("compress"), "GET", "/compress",
                Expected(200, JSON, COMPRESS_PAYLOAD, encoding=coding), headers=(("accept-encoding", coding),),
            )
            for coding in COMPRESS_CODINGS
        ]  # fmt: skip
    if scenario == "post":
        headers = (("content-type", "application/json"), ("content-length", str(len(POST_BODY))))
        expect = Expected(200, JSON, POST_PAYLOAD)
        return [Case("post", "post", AppSpec("post"), "POST", "/echo", expect, POST_BODY, headers)]
    if scenario == "batteries":
        expect = Expected(
            200, JSON, batteries_payload(USER_ID, {"user": SESSION_USER}),
            (*(name for name, _ in HELMET_HEADERS), "access-control-allow-origin"),
        )  # fmt: skip
        path, headers = f"/api/users/{USER_ID}", (("origin", ORIGIN),)
        return [Case("batteries", "batteries", AppSpec("batteries"), "GET", path, expect, b"", headers, LOGIN_PATH)]
    if scenario == "typed":
        headers = (("content-type", "application/json"), ("content-length", str(len(ORDER_BODY))))
        query = "&".join(f"{key}={value}" for key, value in TYPED_QUERY.items())
        app = AppSpec("typed")
        return [
            Case("typed", "typed-post", app, "POST", "/orders", Expected(200, JSON, ORDER), ORDER_BODY, headers),
            Case("typed", "typed-get", app, "GET", f"/items?{query}", Expected(200, JSON, TYPED_QUERY)),
        ]
    raise ValueError(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}")


def _brotli_decompress(data: bytes) -> bytes:
    import brotli

    return brotli.decompress(data)  # type: ignore[no-any-return]


DECODERS: dict[str, Callable[[bytes], bytes]] = {"gzip": gzip.decompress, "br": _brotli_decompress}


class OutputMismatch(AssertionError):
    """An app answered differently from the others: its timings would mean nothing."""


def check_response(who: str, case: Case, status: int, headers: dict[str, str], body: bytes) -> None:
    """Raise ``OutputMismatch`` unless status, content type, coding, body and headers are as expected.

    ``headers`` has lower-case names. Text must be ``text/plain; charset=utf-8``
    byte for byte; JSON is compared after decoding (serializers differ in
    whitespace) and its charset parameter, if any, must be utf-8.
    """
    exp = case.expect
    problems: list[str] = []
    encoding = headers.get("content-encoding", "")
    if encoding != exp.encoding:
        problems.append(f"content-encoding {encoding!r} is not {exp.encoding!r}")
    elif encoding:
        body = DECODERS[encoding](body)
    if status != exp.status:
        problems.append(f"status {status} != {exp.status}")
    ctype = headers.get("content-type", "")
    media, _, params = ctype.partition(";")
    charset = params.strip().lower().replace(" ", "")
    if media.strip().lower() != exp.media_type:
        problems.append(f"content-type {ctype!r} is not {exp.media_type}")
    elif exp.media_type == TEXT and charset != "charset=utf-8":
        problems.append(f"content-type {ctype!r} lacks charset=utf-8")
    elif exp.media_type == JSON and charset not in ("", "charset=utf-8"):
        problems.append(f"content-type {ctype!r} has a charset other than utf-8")
    if exp.media_type == JSON:
        try:
            value = json.loads(body)
        except ValueError:
            value = None
        if value != exp.body:
            problems.append(f"JSON body differs: {body[:120]!r}")
    elif isinstance(exp.body, bytes):
        if body != exp.body:
            problems.append(f"body differs: {len(body)} bytes, {body[:40]!r}")
    elif body != str(exp.body).encode():
        problems.append(f"body {body[:120]!r} != {str(exp.body)[:120]!r}")
    for name in exp.headers:
        if name not in headers:
            problems.append(f"missing header {name}")
    if problems:
        raise OutputMismatch(f"{who} / {case.label} ({case.method} {case.path}): " + "; ".join(problems))
