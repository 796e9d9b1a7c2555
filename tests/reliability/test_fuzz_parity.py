"""The C extension and pure Python answer random requests byte for byte alike.

The catalogue app (it reads everything aiokoa parses, routes `/items/:id` and `/back`)
runs under two uvicorn processes on free 127.0.0.1 ports, one with the C extension and
one with `AIOKOA_PURE_PYTHON=1`. Each random request (method, odd path, percent-encoding,
query, cookies, Accept*, conditional and X-Forwarded-* headers) goes to both over a real
socket; status line, headers (except Date) and body must be the same, and never a 500.

This compares C with Python itself, so it runs once, not once per implementation, and
`tests/conftest.py` leaves it out where there is no C extension to compare with.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from aiokoa.core.extension import speedups

from ..conftest import ServerProcess, free_port
from .catalogue import get, send
from .fuzzing import FUZZ, PIECES, header_text
from .test_catalogue import ROOT


@pytest.fixture(autouse=True)
def implementation() -> Iterator[str]:
    """Both run side by side here, each in its own server."""
    yield "both"


def start(pure_python: bool) -> ServerProcess:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "tests.reliability.catalogue_app:app", "--app-dir", str(ROOT)]
    # uvicorn would rewrite the client from X-Forwarded-For itself: the app's `proxy=True` reads them
    argv += ["--port", str(port), "--no-proxy-headers", "--log-level", "warning"]
    return ServerProcess(argv, port, AIOKOA_PURE_PYTHON="1" if pure_python else "")


@pytest.fixture(scope="module")
def ports() -> Iterator[tuple[int, int]]:
    """(C port, pure-Python port)."""
    assert speedups is not None, (
        "the C extension is not built, so C/Python parity cannot be checked: build it with "
        "`pip install -e .` and a C compiler, or run the suite with AIOKOA_PURE_PYTHON=1"
    )
    servers = [start(pure_python=False), start(pure_python=True)]
    try:
        yield int(servers[0].url.rsplit(":", 1)[1]), int(servers[1].url.rsplit(":", 1)[1])
    finally:
        for server in servers:
            server.stop()


def without_date(answer: bytes | None) -> bytes | None:
    if answer is None:
        return None
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"date:")]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


URL_CHARS = st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="#")
segments = st.one_of(
    st.sampled_from(["items", "back", "%zz", "%ff", "%2e", "%2F", "%e2%82%ac", ".", "..", "", ";", "%00", "*", "~"]),
    st.text(URL_CHARS, max_size=6),
)
targets = st.builds(
    lambda parts, query: "/" + "/".join(parts) + (f"?{query}" if query else ""),
    st.lists(segments, max_size=5),
    st.one_of(st.none(), st.text(URL_CHARS, max_size=30), st.lists(st.sampled_from(PIECES)).map("".join)),
).map(lambda target: target.replace(" ", "%20").replace("\t", "%09")) | st.just("*")
HEADERS = [
    "Cookie", "Accept", "Accept-Encoding", "Accept-Language", "Accept-Charset", "If-None-Match",
    "If-Modified-Since", "Cache-Control", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
    "Host", "Referer", "Content-Type", "Origin", "Range",
]  # fmt: skip
value_text = header_text.map(lambda text: text.strip(" \t")).filter(lambda text: "\x7f" not in text)
requests = st.builds(
    lambda method, target, headers: get(target, *(f"{name}: {value}" for name, value in headers), method=method),
    st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]),
    targets,
    st.lists(st.tuples(st.sampled_from(HEADERS), value_text), max_size=6),
)


@settings(FUZZ, max_examples=FUZZ.max_examples * 4)  # two local round trips each: cheap
@given(request=requests)
@example(request=get("/items/%e2%82%ac?a=1&a=2", 'If-None-Match: W/"v1"', "X-Forwarded-Proto: https"))
@example(request=get("/back", "Referer: http://app.example/prev", method="HEAD"))
@example(request=get("/%zz/..;/items/%ff", 'Cookie: session="a b"; signed=1; signed.sig=x', "Accept: */*;q=0"))
def test_c_and_python_answer_alike(ports: tuple[int, int], request: bytes) -> None:
    c_port, python_port = ports
    from_c = without_date(send(c_port, request))
    from_python = without_date(send(python_port, request))
    assert from_c is not None
    assert from_c == from_python
    assert not from_c.startswith(b"HTTP/1.1 500"), "no request input makes aiokoa answer 500"


def test_both_answer_the_catalogue_app(ports: tuple[int, int]) -> None:
    """The comparison means something: both servers run the app and answer 200."""
    for port in ports:
        answer = send(port, get("/?a=1"))
        assert answer is not None and answer.startswith(b"HTTP/1.1 200") and b"x-catalogue: seen" in answer
