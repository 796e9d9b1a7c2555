"""The bad-input catalogue: hostile requests, sent as raw bytes over a real socket.

Each case is one request (httpx would normalise most of these away, so they are written
byte for byte) and the outcome expected from each server: the status aiokoa answered, the
status the server answered itself before the app saw the request (`400 server`), or
`closed` when the server hung up without answering. `docs/security.md` shows the table
`table()` renders from these cases, and the catalogue test checks both against what the
servers really answer.
"""

from __future__ import annotations

import gzip
import socket
from contextlib import suppress
from dataclasses import dataclass

from aiokoa.http.cookies import Keygrip

SERVERS = ("uvicorn", "h11", "granian")
"""uvicorn with httptools (its default parser), uvicorn with `http="h11"`, granian."""

SERVER_NAMES = {"uvicorn": "uvicorn (httptools)", "h11": "uvicorn (h11)", "granian": "granian"}


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    """What is hostile about the request, as the table shows it."""
    request: bytes
    """The request head (and body) exactly as sent."""
    expected: dict[str, str]
    """Outcome per server: `"200"` (aiokoa's answer), `"400 server"` (the server's), or `"closed"`."""
    behaviour: str
    """What aiokoa does with it, in a few words."""
    header: tuple[str, str] | None = None
    """A header aiokoa's answer must carry (lower-case name, value), where it matters."""


def send(port: int, request: bytes, timeout: float = 5.0) -> bytes | None:
    """Send `request` on a new connection; everything the server answered before it closed
    the connection, or None if it did not within `timeout`."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with suppress(OSError):  # the server stopped reading (and may have answered): read what came
            sock.sendall(request)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            except TimeoutError:
                return None
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def exchange(port: int, request: bytes, timeout: float = 5.0) -> tuple[str, dict[str, str]]:
    """Send `request` on a new connection; the outcome (`"200"`, `"400 server"`, `"closed"`,
    `"timeout"`; `"close 1009"` for a websocket the server accepted, then closed) and the
    response headers (lower-case names)."""
    answer = send(port, request, timeout) if b"Upgrade: websocket" not in request else upgrade(port, request, timeout)
    if answer is None:
        return "timeout", {}
    raw_head, _, rest = answer.partition(b"\r\n\r\n")
    if raw_head.startswith(b"HTTP/1.1 101 "):
        return close_code(rest) or "closed", {}
    head = raw_head.decode("latin-1")
    if not head:
        return "closed", {}
    status_line, *lines = head.split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    status = status_line.split(" ", 2)[1]
    return (status if headers.get("x-catalogue") == "seen" else f"{status} server"), headers


def upgrade(port: int, request: bytes, timeout: float = 5.0) -> bytes | None:
    """Like `send` for a websocket handshake: its frames go once the handshake is answered
    (a server may drop bytes that came with it), and it is done once the answer has a close
    frame (the server then waits for the client's own, which never comes)."""
    head, _, frames = request.partition(b"\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head + b"\r\n\r\n")
        answer = b""
        while True:
            if frames and b"\r\n\r\n" in answer:
                with suppress(OSError):
                    sock.sendall(frames)
                frames = b""
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return answer
            except TimeoutError:
                return None
            answer += chunk
            head, found, rest = answer.partition(b"\r\n\r\n")
            if not chunk or (found and (not head.startswith(b"HTTP/1.1 101 ") or close_code(rest))):
                return answer


def websocket(target: str, *frames: bytes) -> bytes:
    """A websocket handshake for `target`, then `frames` at once."""
    head = get(target, "Upgrade: websocket", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13")
    return head.replace(b"Connection: close", b"Connection: Upgrade") + b"".join(frames)


def frame(opcode: int, payload: bytes) -> bytes:
    """One client frame (final, masked with a zero key, so the payload goes as it is)."""
    size = len(payload)
    length = bytes([0x80 | size]) if size < 126 else bytes([0x80 | 126]) + size.to_bytes(2, "big")
    return bytes([0x80 | opcode]) + length + b"\0\0\0\0" + payload


def close_code(data: bytes) -> str | None:
    """`close NNNN` for the server's first close frame in `data` (frames after the head)."""
    while len(data) >= 2:
        opcode, size, at = data[0] & 0x0F, data[1] & 0x7F, 2
        if size == 126:
            size, at = int.from_bytes(data[2:4], "big"), 4
        if len(data) < at + size:
            return None
        if opcode == 0x8:
            return f"close {int.from_bytes(data[at : at + 2], 'big')}" if size >= 2 else "close"
        data = data[at + size :]
    return None


def get(target: str = "/", *headers: str, method: str = "GET", version: str = "HTTP/1.1", host: bool = True) -> bytes:
    """A request head: `target`, Host (unless `host=False`), `headers`, Connection: close."""
    lines = [f"{method} {target} {version}", *(["Host: app.example"] if host else []), *headers, "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def post(target: str, content_type: str, body: bytes, *headers: str, length: int | None = None) -> bytes:
    """A POST with `body` (its Content-Length unless `length` says otherwise)."""
    declared = len(body) if length is None else length
    return get(target, f"Content-Type: {content_type}", f"Content-Length: {declared}", *headers, method="POST") + body


def same(outcome: str) -> dict[str, str]:
    return dict.fromkeys(SERVERS, outcome)


def each(uvicorn: str, h11: str, granian: str) -> dict[str, str]:
    return {"uvicorn": uvicorn, "h11": h11, "granian": granian}


LONG = "a" * 1_048_576
"""Larger than one read from the server's socket, so h11's 16 KB limit on an incomplete
request head applies whatever the timing (a shorter head that arrives whole passes h11)."""
MANY_HEADERS = [f"X-Header-{n}: {n}" for n in range(250)]

OK = same("200")
NEW_SESSION = ("x-session", "new")


def signed(name: str, value: str) -> str:
    """A Cookie header whose `name` is signed with the catalogue app's key, as aiokoa signs."""
    return f"Cookie: {name}={value}; {name}.sig={Keygrip(['catalogue secret']).sign(f'{name}={value}')}"


MULTIPART = "multipart/form-data; boundary=b"


def parts(*items: bytes) -> bytes:
    return b"".join(b"--b\r\n" + item + b"\r\n" for item in items) + b"--b--\r\n"


def field(name: str, value: bytes, filename: str | None = None) -> bytes:
    file = f'; filename="{filename}"' if filename is not None else ""
    return f'Content-Disposition: form-data; name="{name}"{file}\r\n\r\n'.encode() + value


BACK_TO_ALT = "302 to `/home` (`back()`'s alternative)"

CASES = [
    # -- the request target -----------------------------------------------------------
    Case("invalid percent-encoding `/%zz`", get("/%zz"), OK, "`path` kept as sent; `decoded_path` leaves `%zz`"),
    Case("percent-encoded invalid UTF-8 `/%ff`", get("/%ff"), OK, "`decoded_path` has U+FFFD for the byte"),
    Case("truncated escape `/%`", get("/%"), OK, "kept as sent"),
    Case(
        "bad escapes in the query `?a=%zz&b=%ff&%=%%`",
        get("/?a=%zz&b=%ff&%=%%"),
        OK,
        "`query` keeps `%zz` as sent; `%ff` becomes U+FFFD",
    ),
    Case("invalid percent-encoding in a route parameter", get("/items/%zz"), same("400"), "the router answers 400"),
    Case("invalid UTF-8 in a route parameter", get("/items/%ff"), same("400"), "the router answers 400"),
    Case(
        "raw non-ASCII bytes in the target",
        b"GET /caf\xc3\xa9/\xff HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n",
        same("400 server"),
        "rejected by every server",
    ),
    Case(
        "1 MB URL",
        get("/" + LONG),
        each("400 server", "400 server", "431 server"),
        "rejected by every server",
    ),
    Case(
        "5,000 query parameters",
        get("/?" + "&".join(f"k{n}=v" for n in range(5000))),
        OK,
        "the first 1,000 parsed, the rest ignored",
    ),
    Case(
        "absolute-form target `GET http://other.example/items/7`",
        get("http://other.example/items/7?x=1"),
        OK,
        "routed as `/items/7`; `href` is the target where the server passes it whole (h11), else built from `Host`",
        header=("x-item", "7"),
    ),
    Case(
        "absolute-form `https://` target with a port",
        get("https://other.example:8443/items/8"),
        OK,
        "the same",
        header=("x-item", "8"),
    ),
    Case("`OPTIONS *`", get("*", method="OPTIONS"), OK, "the app sees the path `*`"),
    # -- the method and version ---------------------------------------------------------
    Case(
        "unknown method `BREW`",
        get("/", method="BREW"),
        each("400 server", "501", "501"),
        "the router's `allowed_methods()` answers 501; httptools knows a fixed list of methods",
    ),
    Case("unknown method on a route", get("/items/1", method="BREW"), each("400 server", "501", "501"), "the same"),
    Case(
        "lower-case method `get`",
        get("/", method="get"),
        each("400 server", "200", "200"),
        "methods are case-sensitive: `get` matches no route",
    ),
    Case(
        "`CONNECT app.example:443`",
        get("app.example:443", method="CONNECT"),
        each("400 server", "501", "501"),
        "not a proxy: 501",
    ),
    Case("HTTP/1.0 without Host", get("/", version="HTTP/1.0", host=False), OK, "`host` is `''`"),
    Case(
        "`HTTP/2.0` in an HTTP/1 request line",
        get("/", version="HTTP/2.0"),
        each("200", "200", "400 server"),
        "treated as HTTP/1.1 by uvicorn",
    ),
    Case(
        "`HTTP/9.9`",
        get("/", version="HTTP/9.9"),
        each("400 server", "200", "400 server"),
        "h11 accepts any 1-digit version",
    ),
    # -- header syntax ------------------------------------------------------------------
    Case(
        "1 MB header value",
        get("/", "X-Long: " + LONG),
        each("200", "400 server", "431 server"),
        "httptools sets no limit: the app gets it (limit it in the proxy)",
    ),
    Case("250 headers", get("/", *MANY_HEADERS), each("200", "200", "431 server"), "granian's limit is 100"),
    Case("NUL in a header value", get("/", "X-Note: a\x00b"), same("400 server"), "rejected by every server"),
    Case("bare CR in a header value", get("/", "X-Note: a\rb"), same("400 server"), "rejected by every server"),
    Case("bare LF inside a header", get("/", "X-Note: a\nb"), same("400 server"), "rejected by every server"),
    Case(
        "obsolete line folding",
        get("/", "X-Note: a", " folded"),
        each("400 server", "200", "400 server"),
        "h11 unfolds it into one value",
    ),
    Case(
        "control characters `\\x01`, `\\x7f` in a value",
        get("/", "X-Note: a\x01\x7fb"),
        each("400 server", "200", "400 server"),
        "h11 passes them; aiokoa reads them as Latin-1",
    ),
    Case("Latin-1 bytes in a value", get("/", "X-Note: caf\xe9\xff"), OK, "decoded as Latin-1"),
    Case("no Host in HTTP/1.1", get("/", host=False), each("200", "400 server", "200"), "`host` is `''`"),
    Case("two Host headers", get("/", "Host: other.example"), each("200", "400 server", "200"), "the first one counts"),
    Case(
        "`Content-Length: abc`",
        get("/", "Content-Length: abc", method="POST"),
        same("400 server"),
        "rejected by every server",
    ),
    Case(
        "`Content-Length: -1`",
        get("/", "Content-Length: -1", method="POST"),
        same("400 server"),
        "rejected by every server",
    ),
    Case(
        "Content-Length and Transfer-Encoding both",
        get("/", "Content-Length: 5", "Transfer-Encoding: chunked", method="POST") + b"0\r\n\r\n",
        each("400 server", "200", "200"),
        "h11 and granian let chunked win, as RFC 9112 says; httptools refuses the pair",
    ),
    # -- header values aiokoa parses ----------------------------------------------------
    Case(
        "garbage Cookie",
        get("/", 'Cookie: ;;;==; "; session="unterminated; =x; a=\xff; ==='),
        OK,
        "pairs without a name or `=` are skipped",
    ),
    Case(
        "Cookie with a DEL character",
        get("/", "Cookie: session=\x7f"),
        each("400 server", "200", "400 server"),
        "h11 passes it: the value is kept as sent",
    ),
    Case(
        "forged signature on a signed cookie",
        get("/", "Cookie: signed=1; signed.sig=" + "A" * 43),
        OK,
        "`get(signed=True)` is None and `signed.sig` is expired",
    ),
    Case(
        "garbage Accept",
        get("/", 'Accept: */*;q=abc, text/html;q=2, ;;;, application/json;level="x, /, text/;q=1e999'),
        OK,
        "invalid entries ignored",
    ),
    Case(
        "garbage Accept-Encoding",
        get("/", "Accept-Encoding: gzip;q=nan, br;q=-1, *;q=1e999, identity;q=, ,,;"),
        OK,
        "invalid entries ignored",
    ),
    Case(
        "garbage Accept-Language, 2,000 entries",
        get("/", "Accept-Language: en-US;q=, *;q=0.x, ---, fr;;q=1, " + "x;q=0.5," * 2000),
        OK,
        "invalid entries ignored",
    ),
    Case(
        "garbage Accept-Charset", get("/", "Accept-Charset: utf-8;q=\xff, ;q=1, *;q=-0"), OK, "invalid entries ignored"
    ),
    Case(
        "garbage Accept-Encoding through `compress()`",
        get("/compressed", "Accept-Encoding: gzip;q=nan, br;q=-1, *;q=1e999, identity;q=, ,,;"),
        OK,
        "`*;q=1e999` is the best: zstd, the first coding it covers; the rest is ignored",
        header=("content-encoding", "zstd"),
    ),
    Case(
        "`compress()` with identity refused and no coding it has",
        get("/compressed", "Accept-Encoding: x-unknown, identity;q=0"),
        same("406"),
        "406 Not Acceptable, still with `Vary: Accept-Encoding`",
        header=("vary", "Accept-Encoding"),
    ),
    Case(
        "`compress()` with 2,000 Accept-Encoding entries, gzip last",
        get("/compressed", "Accept-Encoding: " + "x;q=0.5," * 2000 + "gzip"),
        OK,
        "only the first 100 entries are read: sent uncompressed",
    ),
    Case(
        "garbage If-None-Match",
        get("/", 'If-None-Match: W/, "unterminated, *, ,,,'),
        OK,
        "`fresh` is False unless a tag matches",
    ),
    Case(
        "If-None-Match matching the ETag", get("/", 'If-None-Match: W/"v1"'), same("304"), "`fresh`: the app sends 304"
    ),
    Case(
        "garbage If-Modified-Since",
        get("/", "If-Modified-Since: Mon, 99 Xyz 99999 99:99:99 GMT"),
        OK,
        "an unparsable date is not fresh",
    ),
    Case(
        "garbage Range",
        get("/", "Range: bytes=abc-def, -, 5-1, 99999999999999999999999-"),
        OK,
        "`/` is not a file (`send` serves ranges): the full body",
    ),
    Case(
        "garbage Content-Type on a POST",
        get("/", 'Content-Type: text/plain; charset="\xff; ;;=', "Content-Length: 0", method="POST"),
        OK,
        "`request.type` is `text/plain`; `charset` is '' (the parameter is invalid)",
    ),
    # -- event streams (`GET /events` resumes after the Last-Event-ID it issued: 1, 2 or 3) --
    Case(
        "`Last-Event-ID` of 8,000 digits",
        get("/events", "Last-Event-ID: " + "9" * 8000),
        OK,
        "read as sent; no id the app issued, so the stream starts over (`int()` of it would raise)",
        ("x-resumed-from", "0"),
    ),
    Case(
        "`Last-Event-ID` with raw bytes above 0x7F",
        b"GET /events HTTP/1.1\r\nHost: app.example\r\nLast-Event-ID: 2\xff\xfe\r\nConnection: close\r\n\r\n",
        OK,
        "read as Latin-1, no id the app issued: the stream starts over",
        ("x-resumed-from", "0"),
    ),
    Case(
        "`Last-Event-ID` with a NUL byte",
        b"GET /events HTTP/1.1\r\nHost: app.example\r\nLast-Event-ID: 1\x00\r\nConnection: close\r\n\r\n",
        same("400 server"),
        "refused by the server: an id with NUL never reaches `ctx.last_event_id`",
    ),
    # -- static files (`send`, serving `/static/` from a directory) -------------------
    Case("`..` in the path `/static/../secret.txt`", get("/static/../secret.txt"), same("403"), "out of the root: 403"),
    Case("`%2e%2e` for `..`", get("/static/%2e%2e/secret.txt"), same("403"), "decoded, then out of the root: 403"),
    Case("`%2f` for `/` in `..%2fsecret.txt`", get("/static/..%2fsecret.txt"), same("403"), "the same"),
    Case("`%5c` (backslash) for a separator", get("/static/..%5csecret.txt"), same("400"), "a backslash is refused"),
    Case("raw backslash `/static/..\\secret.txt`", get("/static/..\\secret.txt"), same("400"), "the same"),
    Case(
        "overlong UTF-8 `%c0%ae%c0%ae` for `..`",
        get("/static/%c0%ae%c0%ae/secret.txt"),
        same("400"),
        "invalid UTF-8: 400",
    ),
    Case(
        "double encoding `%252e%252e`",
        get("/static/%252e%252e/secret.txt"),
        same("404"),
        "decoded once: a file named `%2e%2e`, not there",
    ),
    Case("absolute path `/static//etc/passwd`", get("/static//etc/passwd"), same("400"), "an absolute path is refused"),
    Case("`%2f` making it absolute", get("/static/%2fetc%2fpasswd"), same("400"), "the same"),
    Case("NUL byte `%00` in a file name", get("/static/a.txt%00.png"), same("400"), "a NUL is refused"),
    Case("symlink out of the root", get("/static/link.txt"), same("404"), "not followed (`follow_symlinks=False`)"),
    Case("file name of 300 characters", get("/static/" + "a" * 300), same("404"), "ENAMETOOLONG: not found"),
    Case("directory without an index `/static/`", get("/static/"), same("404"), "not found"),
    Case(
        "unsatisfiable Range on a file",
        get("/static/a.txt", "Range: bytes=10-"),
        same("416"),
        "416 with `Content-Range: bytes */10`",
        header=("content-range", "bytes */10"),
    ),
    Case(
        "500 ranges of one byte",
        get("/static/a.txt", "Range: bytes=" + ",".join(["0-0"] * 500)),
        OK,
        "more than 16 ranges: the whole file",
    ),
    # -- proxy headers (`app.proxy = True`) and Host -------------------------------------
    Case(
        "garbage X-Forwarded-For",
        get("/", "X-Forwarded-For: , , not-an-ip, 999.999.1.1, [::1]:80, \xff"),
        OK,
        "`ips` lists it as sent; `ip` is its first entry (set `trusted_proxies` to pick the client)",
    ),
    Case("X-Forwarded-Host `[::1`", get("/", "X-Forwarded-Host: [::1"), OK, "`hostname` is '' and `URL` None"),
    Case("X-Forwarded-Host `a@b@[x`", get("/", "X-Forwarded-Host: a@b@[x"), OK, "`host` is ''"),
    Case(
        "X-Forwarded-Host with a port, path and fragment",
        get("/", "X-Forwarded-Host: evil.example:99999/p?x#y"),
        OK,
        "`host` as sent, `hostname` `evil.example`, `URL` None (the port is out of range)",
    ),
    Case(
        "X-Forwarded-Proto `javascript, https`",
        get("/", "X-Forwarded-Proto: javascript, https"),
        OK,
        "`protocol` is the first value, `javascript`, as in Koa: only `https` makes `secure`",
    ),
    Case("empty X-Forwarded-Proto", get("/", "X-Forwarded-Proto: "), OK, "`protocol` is http"),
    Case("Host `[::1`", get("/", "Host: [::1", host=False), OK, "`hostname` is '' and `URL` None"),
    Case("Host `a@b.c@`", get("/", "Host: a@b.c@", host=False), OK, "`host` is ''"),
    Case("Host with a space", get("/", "Host: exa mple", host=False), OK, "`URL` is None"),
    # -- back() and the Referer ----------------------------------------------------------
    Case(
        "`back()` with Referer `//evil.example/x`",
        get("/back", "Referer: //evil.example/x"),
        same("302"),
        BACK_TO_ALT,
        header=("location", "/home"),
    ),
    Case(
        "`back()` with Referer `https://evil.example/`",
        get("/back", "Referer: https://evil.example/"),
        same("302"),
        BACK_TO_ALT,
        header=("location", "/home"),
    ),
    Case(
        "`back()` with Referer `/\\evil.example`",
        get("/back", "Referer: /\\evil.example"),
        same("302"),
        BACK_TO_ALT,
        header=("location", "/home"),
    ),
    Case(
        "`back()` with Referer `/<TAB>/evil.example`",
        get("/back", "Referer: /\t/evil.example"),
        same("302"),
        BACK_TO_ALT,
        header=("location", "/home"),
    ),
    Case(
        "`back()` with Referer `http://app.example@evil.example/`",
        get("/back", "Referer: http://app.example@evil.example/"),
        same("302"),
        BACK_TO_ALT,
        header=("location", "/home"),
    ),
    Case(
        "`back()` with a same-host Referer",
        get("/back", "Referer: http://app.example/prev"),
        same("302"),
        "302 to the Referer",
        header=("location", "http://app.example/prev"),
    ),
    # -- CORS (`cors(credentials=True)` under `/cors`, which reflects a valid Origin) --------
    Case(
        "Origin `null`",
        get("/cors", "Origin: null"),
        OK,
        "reflected, as for any valid origin",
        header=("access-control-allow-origin", "null"),
    ),
    Case(
        "Origin with Latin-1 bytes `caf\\xe9://x`",
        get("/cors", "Origin: caf\xe9://x"),
        OK,
        "not a valid origin: no CORS headers, the request goes on",
    ),
    Case(
        "Origin with a path and user info",
        get("/cors", "Origin: https://user@front.example/path"),
        OK,
        "not a valid origin: no CORS headers",
    ),
    Case(
        "two origins in one Origin",
        get("/cors", "Origin: https://a.example, https://b.example"),
        OK,
        "not a valid origin: no CORS headers",
    ),
    Case(
        "Origin with `\\x01`",
        get("/cors", "Origin: http://a\x01b"),
        each("400 server", "200", "400 server"),
        "h11 passes it: not a valid origin, never echoed",
    ),
    Case(
        "8 KB Origin",
        get("/cors", "Origin: https://" + "a" * 8000 + ".example"),
        OK,
        "reflected: it is a valid origin",
    ),
    Case(
        "preflight with garbage Access-Control-Request-Headers",
        get(
            "/cors",
            "Origin: https://front.example",
            "Access-Control-Request-Method: PUT",
            "Access-Control-Request-Headers: a b, (x), caf\xe9, ,,",
            method="OPTIONS",
        ),
        same("204"),
        "204 without `Access-Control-Allow-Headers`: the browser refuses the request",
    ),
    Case(
        "preflight with a garbage Access-Control-Request-Method",
        get("/cors", "Origin: https://front.example", "Access-Control-Request-Method: G\xe9T; x", method="OPTIONS"),
        same("204"),
        "204 with the configured methods",
        header=("access-control-allow-methods", "GET,HEAD,PUT,POST,DELETE,PATCH"),
    ),
    Case(
        "preflight with a malformed Origin",
        get("/cors", "Origin: javascript:alert(1)", "Access-Control-Request-Method: PUT", method="OPTIONS"),
        OK,
        "not a preflight from an allowed origin: passed on to the app",
    ),
    # -- session cookies -----------------------------------------------------------------
    Case(
        "validly signed session cookie (the control)",
        get("/session", signed("koa.sess", "eyJkIjp7InVzZXIiOiJhZGEifSwiZSI6OTk5OTk5OTk5OX0")),
        OK,
        "the session is read",
        header=("x-session", "kept"),
    ),
    Case(
        "session cookie with a forged signature",
        get("/session", "Cookie: koa.sess=eyJkIjp7InVzZXIiOiJhZG1pbiJ9LCJlIjo5OTk5OTk5OTk5fQ; koa.sess.sig=forged"),
        OK,
        "a new, empty session; the bad `.sig` is expired",
        header=NEW_SESSION,
    ),
    Case(
        "session cookie without its signature",
        get("/session", "Cookie: koa.sess=eyJkIjp7InVzZXIiOiJhZG1pbiJ9LCJlIjo5OTk5OTk5OTk5fQ"),
        OK,
        "a new, empty session",
        header=NEW_SESSION,
    ),
    Case(
        "validly signed session cookie holding garbage",
        get("/session", signed("koa.sess", "%%%not-base64")),
        OK,
        "a new, empty session",
        header=NEW_SESSION,
    ),
    Case(
        "validly signed session cookie holding a JSON list",
        get("/session", signed("koa.sess", "WzEsMl0")),
        OK,
        "a new, empty session",
        header=NEW_SESSION,
    ),
    Case(
        "validly signed session cookie that expired",
        get("/session", signed("koa.sess", "eyJkIjp7InVzZXIiOiJhZGEifSwiZSI6MX0")),
        OK,
        "a new, empty session",
        header=NEW_SESSION,
    ),
    Case(
        "8 KB session cookie",
        get("/session", "Cookie: koa.sess=" + "A" * 8192),
        OK,
        "a new, empty session",
        header=NEW_SESSION,
    ),
    Case(
        "encrypted session cookie, truncated",
        get("/sealed", "Cookie: sealed=AAAAAAAAAAAAAAAA"),
        OK,
        "a new, empty session",
        header=NEW_SESSION,
    ),
    Case(
        "encrypted session cookie, forged",
        get("/sealed", "Cookie: sealed=" + "QUFB" * 40),
        OK,
        "a new, empty session (AES-GCM's tag does not match)",
        header=NEW_SESSION,
    ),
    # -- CSRF ----------------------------------------------------------------------------
    Case("POST without a CSRF token", get("/csrf", method="POST"), same("403"), "403: the token is missing"),
    Case(
        "POST with a garbage CSRF token",
        get("/csrf", "X-CSRF-Token: ../../.;", method="POST"),
        same("403"),
        "403: the token was not made for this session",
    ),
    Case(
        "POST with a CSRF token but no session",
        get("/csrf", "X-CSRF-Token: c2FsdA.bWFj", method="POST"),
        same("403"),
        "403: the token was not made for this session",
    ),
    Case(
        "POST with `Origin: null`",
        get("/csrf", "Origin: null", method="POST"),
        same("403"),
        "403: not this site's origin",
    ),
    Case(
        "POST with `Sec-Fetch-Site: cross-site`",
        get("/csrf", "Sec-Fetch-Site: cross-site", method="POST"),
        same("403"),
        "403: a cross-site request",
    ),
    # -- request bodies (`POST /body` through body_parser: limits 1kb, files 10kb, 2 files, 3 fields)
    Case(
        "malformed JSON body",
        post("/body", "application/json", b'{"a": 1,,}'),
        same("400"),
        "400 `invalid JSON at line 1 column 9: ...`",
    ),
    Case(
        "JSON scalar body",
        post("/body", "application/json", b"42"),
        same("400"),
        "400: `json_strict` takes objects and arrays",
    ),
    Case(
        "Content-Length of 100 MB on a 1kb limit",
        post("/body", "application/json", b"", length=100_000_000),
        same("413"),
        "413 from Content-Length, before any of the body is read",
    ),
    Case(
        "chunked body past its limit",
        get("/body", "Content-Type: text/plain", "Transfer-Encoding: chunked", method="POST")
        + b"400\r\n"
        + b"x" * 1024
        + b"\r\n"
        + b"400\r\n"
        + b"x" * 1024
        + b"\r\n0\r\n\r\n",
        same("413"),
        "413 once 1kb is counted; the rest is not kept",
    ),
    Case(
        "gzip bomb (1 MB of spaces in 1 KB)",
        post("/body", "text/plain", gzip.compress(b" " * 1_048_576, mtime=0), "Content-Encoding: gzip"),
        same("413"),
        "inflated up to the limit only: 413",
    ),
    Case(
        "unknown Content-Encoding",
        post("/body", "text/plain", b"x", "Content-Encoding: compress"),
        same("415"),
        "415 naming the codings it takes",
    ),
    Case(
        "unknown charset", post("/body", "text/plain; charset=klingon", b"x"), same("415"), "415 `unsupported charset`"
    ),
    Case(
        "invalid UTF-8 in a form field",
        post("/body", "application/x-www-form-urlencoded", b"name=%ff"),
        same("400"),
        "400 naming the field",
    ),
    Case(
        "truncated multipart body",
        post("/body", MULTIPART, parts(field("f", b"x" * 100, "f.bin"))[:-10]),
        same("400"),
        "400 `truncated`; the partial file is removed",
    ),
    Case(
        "multipart without a boundary",
        post("/body", "multipart/form-data", b"--b--\r\n"),
        same("400"),
        "400 `no boundary parameter`",
    ),
    Case(
        "multipart part header of 5 KB",
        post("/body", MULTIPART, parts(b"X-Long: " + b"a" * 5000 + b"\r\n" + field("a", b"1"))),
        same("400"),
        "400 `Maximum header size exceeded`",
    ),
    Case(
        "too many files",
        post("/body", MULTIPART, parts(*(field(f"f{n}", b"x", f"{n}.bin") for n in range(3)))),
        same("413"),
        "413 `more than 2 files`; the files opened are removed",
    ),
    Case(
        "file over `max_file_size`",
        post("/body", MULTIPART, parts(field("f", b"x" * 20_000, "big.bin"))),
        same("413"),
        "413 naming the file; the partial file is removed",
    ),
    # -- typed handlers ---------------------------------------------------------------------
    Case(
        "typed route: a JSON body cut short",
        post("/typed/5", "application/json", b'{"n": 1, "tags": ["a"'),
        same("422"),
        "422, `Invalid JSON` with the position",
    ),
    Case(
        "typed route: an array where an object is declared",
        post("/typed/5", "application/json", b"[1, 2, 3]"),
        same("422"),
        "422, `Expected object, got array`",
    ),
    Case(
        "typed route: a wrong path, query and body at once",
        post("/typed/x?limit=1e999", "application/json", b'{"n": "1", "tags": [1]}'),
        same("422"),
        "one 422 listing each field: path `id`, query `limit`, body `/n`, `/tags/0`",
    ),
    # -- websockets ------------------------------------------------------------------------
    Case(
        "websocket handshake without the token the app asks for",
        websocket("/ws"),
        same("403"),
        "refused before the handshake with the app's 403 (close 1008 where a server cannot send HTTP)",
    ),
    Case(
        "websocket message over `max_message_size` (2 KB on 1 KB)",
        websocket("/ws?token=ok", frame(0x1, b"x" * 2048)),
        same("close 1009"),
        "closed with 1009; the handler's `async for` ends",
    ),
    Case(
        "websocket text frame that is not UTF-8",
        websocket("/ws?token=ok", frame(0x1, b"caf\xe9")),
        each("close 1007", "close 1007", "close"),
        "closed by the server (granian's close frame has no code); the app never sees it",
    ),
    # -- the servers' second line: a value written past aiokoa's checks -------------------
    Case(
        "CR LF written into `ctx.response.headers` (an app bug)",
        get("/unchecked?note=a%0D%0AInjected:%201"),
        each("closed", "closed", "500 server"),
        "the live dict is not checked; every server refuses to send the header",
    ),
    Case(
        "`\\x01` written into `ctx.response.headers` (an app bug)",
        get("/unchecked?note=a%01b"),
        each("closed", "200", "500 server"),
        "h11 sends it; httptools and granian refuse to",
    ),
]


def table() -> str:
    """The catalogue as the Markdown table `docs/security.md` shows."""
    columns = [SERVER_NAMES[server] for server in SERVERS]
    lines = [
        "| Input | " + " | ".join(columns) + " | What aiokoa does |",
        "|---|" + "---|" * len(columns) + "---|",
    ]
    for case in CASES:
        cells = [case.name, *(case.expected[server] for server in SERVERS), case.behaviour]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(table(), end="")
