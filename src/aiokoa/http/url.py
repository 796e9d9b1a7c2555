"""The parts of the WHATWG URL parser Koa relies on, for http(s) URLs only.

`ctx.URL`, `ctx.hostname` for IPv6, `Host: user@host`, `redirect()`'s normalisation and
`back()`'s same-origin check all go through `new URL(...)` in Koa; `parse_url` does the
same job here: lower-cased scheme and host, default ports dropped, IPv6 compressed,
IPv4 numbers normalised, `\\` read as `/`, dot segments resolved, `/` for an empty path.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import quote

DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443", "ftp": "21"}
_scheme = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_C0_OR_SPACE = "".join(map(chr, range(0x21)))
_forbidden_host = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|\x7f]")
_authority_end = re.compile(r"[/\\?#]")
_PATH_SAFE = "!$&'()*+,;=:@/%[]\\^|-._~"
_QUERY_SAFE = "!$&()*+,;=:@/?%[]\\^`{|}-._~"
MAX_AUTHORITY = 2048
"""The longest `user:password@host:port` accepted: DNS allows 253 characters for a name,
and percent-encoding 64 KB of user name (`Host: @@@...`) would take 5 ms a parse."""
_escape_runs = re.compile(r"((?:%[0-9A-Fa-f]{2})+)")


@dataclass(frozen=True, slots=True)
class URL:
    """A parsed absolute URL with the WHATWG field names (`ctx.URL`)."""

    protocol: str  # "https:"
    username: str
    password: str
    hostname: str  # "example.com", "[::1]"
    port: str  # "" for the scheme's default port
    pathname: str
    search: str  # "" or "?a=1"
    hash: str  # "" or "#top"

    @property
    def host(self) -> str:
        return f"{self.hostname}:{self.port}" if self.port else self.hostname

    @property
    def origin(self) -> str:
        return f"{self.protocol}//{self.host}"

    @property
    def href(self) -> str:
        userinfo = ""
        if self.username or self.password:
            userinfo = self.username + (":" + self.password if self.password else "") + "@"
        return f"{self.protocol}//{userinfo}{self.host}{self.pathname}{self.search}{self.hash}"

    def __str__(self) -> str:
        return self.href


def percent_decode(text: str, errors: str = "replace") -> str:
    """`urllib.parse.unquote`: runs of `%XX` decoded as UTF-8 (invalid bytes as U+FFFD, or
    UnicodeDecodeError with `errors="strict"`), anything else kept. One regex split instead
    of urllib's loop over every `%`, which takes 25 ms on 64 KB of `%` (a KeyError each)."""
    if "%" not in text:
        return text
    parts = _escape_runs.split(text)
    parts[1::2] = [bytes.fromhex(run.replace("%", "")).decode("utf-8", errors) for run in parts[1::2]]
    return "".join(parts)


def parse_ipv4(host: str) -> str | None:
    """WHATWG IPv4: `127.1` and `0x7f.0.0.1` are `127.0.0.1`; None if not an IPv4 form."""
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    if len(parts) > 4 or not parts:
        return None
    numbers = []
    for part in parts:
        if not part:
            return None
        try:
            if part[:2] in ("0x", "0X"):
                number = int(part[2:] or "0", 16)
            elif len(part) > 1 and part[0] == "0":
                number = int(part[1:], 8)
            else:
                number = int(part, 10) if part.isascii() and part.isdigit() else -1
        except ValueError:
            return None
        if number < 0:
            return None
        numbers.append(number)
    last = numbers.pop()
    if any(n > 255 for n in numbers) or last >= 256 ** (4 - len(numbers)):
        raise ValueError(f"invalid IPv4 address {host!r}")
    address = last
    for index, number in enumerate(numbers):
        address += number * 256 ** (3 - index)
    return str(ipaddress.IPv4Address(address))


def _ends_in_number(host: str) -> bool:
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    last = parts[-1]
    return bool(last) and ((last.isascii() and last.isdigit()) or bool(re.fullmatch(r"0[xX][0-9A-Fa-f]*", last)))


def serialize_ipv6(text: str) -> str:
    """`[2001:cdba::3257:9652]` from any valid IPv6 text (no zone id); ValueError otherwise."""
    if "%" in text:
        raise ValueError("zone ids are not allowed in URLs")
    packed = ipaddress.IPv6Address(text).packed
    pieces = [packed[i] << 8 | packed[i + 1] for i in range(0, 16, 2)]
    best_start, best_len, start = -1, 1, -1
    for index, piece in enumerate([*pieces, 1]):
        if piece == 0 and start < 0:
            start = index
        elif piece != 0 and start >= 0:
            if index - start > best_len:
                best_start, best_len = start, index - start
            start = -1
    if best_start < 0:
        return "[" + ":".join(f"{p:x}" for p in pieces) + "]"
    head = ":".join(f"{p:x}" for p in pieces[:best_start])
    tail = ":".join(f"{p:x}" for p in pieces[best_start + best_len :])
    return f"[{head}::{tail}]"


def parse_host(text: str) -> str:
    """A special URL's host, serialised; ValueError when the URL parser would fail."""
    if text.startswith("["):
        if not text.endswith("]"):
            raise ValueError(f"invalid IPv6 host {text!r}")
        return serialize_ipv6(text[1:-1])
    if not text:
        raise ValueError("empty host")
    domain = percent_decode(text, errors="strict")
    if not domain.isascii():
        if len(domain) > 253:  # longer than DNS allows; IDNA would take 60 ms on 64 KB first
            raise ValueError(f"invalid domain {text[:64]!r}...")
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(f"invalid domain {text!r}") from None
    domain = domain.lower()
    if _forbidden_host.search(domain) or not domain:
        raise ValueError(f"invalid host {text!r}")
    if _ends_in_number(domain):
        ipv4 = parse_ipv4(domain)
        if ipv4 is None:
            raise ValueError(f"invalid IPv4 host {text!r}")
        return ipv4
    return domain


def split_authority(authority: str, scheme: str) -> tuple[str, str, str, str]:
    """`(username, password, hostname, port)` of `user:pass@host:port`; ValueError if invalid,
    or longer than `MAX_AUTHORITY`."""
    if len(authority) > MAX_AUTHORITY:
        raise ValueError(f"URL authority longer than {MAX_AUTHORITY} characters: {authority[:64]!r}...")
    userinfo, at, hostport = authority.rpartition("@")
    username = password = ""
    if at:
        username, _, password = userinfo.partition(":")
        username = quote(username, safe="!$&'()*+,;=-._~%")
        password = quote(password, safe="!$&'()*+,;=-._~%")
    if hostport.startswith("["):
        end = hostport.find("]")
        host_text, rest = (hostport[: end + 1], hostport[end + 1 :]) if end != -1 else (hostport, "")
        if rest and not rest.startswith(":"):
            raise ValueError(f"invalid host {hostport!r}")
        port = rest[1:]
    else:
        host_text, _, port = hostport.partition(":")
    if port:
        if not (port.isascii() and port.isdigit()) or int(port) > 65535:
            raise ValueError(f"invalid port {port!r}")
        port = str(int(port))
        if DEFAULT_PORTS.get(scheme) == port:
            port = ""
    return username, password, parse_host(host_text), port


_SINGLE_DOT = frozenset((".", "%2e", "%2E"))
_DOUBLE_DOT = frozenset(first + second for first in _SINGLE_DOT for second in _SINGLE_DOT)


def _normalise_path(path: str) -> str:
    if "." not in path and "%2e" not in path.lower():  # no dot segment: nothing to resolve
        return path.replace("\\", "/")
    segments = path.replace("\\", "/").split("/")[1:]
    if not segments:
        return "/"
    # Written for speed: a 64 KB path of dot segments is a client's to send. The dot
    # spellings are matched in a set, every case of `%2e` included, with no lower() each.
    last = segments.pop()
    out: list[str] = []
    for segment in segments:
        if segment in _DOUBLE_DOT:
            if out:
                out.pop()
        elif segment not in _SINGLE_DOT:
            out.append(segment)
    if last in _DOUBLE_DOT:
        if out:
            out.pop()
        out.append("")
    else:
        out.append("" if last in _SINGLE_DOT else last)
    return "/" + "/".join(out)


def parse_url(text: str, base: URL | None = None) -> URL:
    """Parse an absolute http(s) URL, or one relative to `base`; ValueError when the WHATWG
    parser would throw. Other schemes parse to a URL with an empty host."""
    # three replaces, not a str.translate: that one takes 3 ms on 64 KB of non-ASCII text
    text = text.strip(_C0_OR_SPACE).replace("\t", "").replace("\n", "").replace("\r", "")
    match = _scheme.match(text)
    scheme = match.group(1).lower() if match else ""
    rest = text[match.end() :] if match else text
    if scheme and scheme not in DEFAULT_PORTS:
        if scheme == "file":
            raise ValueError("file URLs are not supported")
        path, _, fragment = rest.partition("#")
        path, question, query = path.partition("?")
        return URL(
            scheme + ":", "", "", "", "", path, "?" + query if question else "", "#" + fragment if fragment else ""
        )
    if base is not None and (not scheme or (scheme == base.protocol[:-1] and rest[:1] not in ("/", "\\"))):
        scheme = base.protocol[:-1]
        if rest[:2] not in ("//", "\\\\", "/\\", "\\/"):
            return _relative(rest, base)
    elif not scheme:
        raise ValueError(f"invalid URL {text!r}: no scheme and no base")
    rest = rest.lstrip("/\\")
    end = _authority_end.search(rest)
    authority, rest = (rest[: end.start()], rest[end.start() :]) if end else (rest, "")
    username, password, hostname, port = split_authority(authority, scheme)
    return _with_path((scheme + ":", username, password, hostname, port), rest)


def _relative(rest: str, base: URL) -> URL:
    host = (base.protocol, base.username, base.password, base.hostname, base.port)
    if rest.startswith(("/", "\\")):
        return _with_path(host, rest)
    if rest.startswith("?"):
        return _with_path(host, base.pathname + rest)
    if rest.startswith("#") or not rest:
        return URL(*host, base.pathname, base.search, rest if rest != "#" else "")
    directory = base.pathname.rsplit("/", 1)[0]
    return _with_path(host, directory + "/" + rest)


def _with_path(origin: tuple[str, str, str, str, str], rest: str) -> URL:
    rest, _, fragment = rest.partition("#")
    path, question, query = rest.partition("?")
    pathname = quote(_normalise_path(path or "/"), safe=_PATH_SAFE)
    search = "?" + quote(query, safe=_QUERY_SAFE) if question and query else ""
    return URL(*origin, pathname, search, "#" + fragment if fragment else "")
