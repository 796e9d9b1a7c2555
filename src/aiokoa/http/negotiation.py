"""Content negotiation (`ctx.accepts*`) and `ctx.is_`, with the rules of Koa's `accepts`,
`negotiator` and `type-is`: q-values, wildcards, specificity, and names like `"json"`.

Parsing never raises: an entry that cannot be read is skipped, as negotiator does.
Only the first `MAX_ENTRIES` entries of a header (and parameters of an entry) are read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import NamedTuple

from . import mime

_media_range = re.compile(r"\s*([^\s/;]+)/([^;\s]+)\s*(?:;(.*))?", re.S)
_simple = re.compile(r"\s*([^\s;]+)\s*(?:;(.*))?", re.S)
_language = re.compile(r"\s*([^\s\-;]+)(?:-([^\s;]+))?\s*(?:;(.*))?", re.S)
_js_float = re.compile(r"\s*[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|Infinity)")

MAX_ENTRIES = 100
"""Entries read from an Accept* header, and `;` parameters from one entry; the rest is
ignored. Browsers send a handful: without the cap, 64 KB of commas would cost a parse and
a sort of 65,000 entries (about 100 ms) on every request that negotiates."""


def _split(text: str, separator: str) -> list[str]:
    """`text.split(separator)`, at most `MAX_ENTRIES` items (the rest dropped, not joined)."""
    return text.split(separator, MAX_ENTRIES)[:MAX_ENTRIES]


def _quality(text: str | None) -> float:
    """JavaScript's `parseFloat`: the leading number, 0 (not acceptable) if there is none."""
    match = _js_float.match(text or "")
    return float(match.group(0)) if match else 0.0


def _split_quoted(text: str, separator: str) -> list[str]:
    """Split on `separator` outside double quotes (at most `MAX_ENTRIES` raw items)."""
    parts = _split(text, separator)
    out = [parts[0]]
    for part in parts[1:]:
        if out[-1].count('"') % 2:
            out[-1] += separator + part
        else:
            out.append(part)
    return out


class _Spec(NamedTuple):
    value: str  # the full name: "text/html", "gzip", "en-US"
    q: float
    order: int  # position in the header
    params: tuple[tuple[str, str], ...] = ()


class _Priority(NamedTuple):
    q: float
    s: int  # specificity
    o: int  # order in the header
    i: int  # order among the offered values


def _order(priority: _Priority) -> tuple[float, int, int, int]:
    return (-priority.q, -priority.s, priority.o, priority.i)


# -- media types -------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _media_ranges(header: str) -> tuple[_Spec, ...]:
    specs = []
    for index, item in enumerate(_split_quoted(header, ",")):
        spec = _media_range_of(item, index)
        if spec is not None:
            specs.append(spec)
    return tuple(specs)


def _media_range_of(text: str, index: int) -> _Spec | None:
    match = _media_range.fullmatch(text)
    if match is None:
        return None
    q = 1.0
    params = []
    if match.group(3):
        for parameter in _split_quoted(match.group(3), ";"):
            key, _, value = parameter.strip().partition("=")
            if len(value) > 1 and value[0] == '"' and value[-1] == '"':
                value = value[1:-1]
            if key.lower() == "q":
                q = _quality(value)
                break
            params.append((key.lower(), value))
    return _Spec(f"{match.group(1)}/{match.group(2)}", q, index, tuple(params))


def _media_priority(offered: str, index: int, ranges: Sequence[_Spec]) -> _Priority:
    best = _Priority(0, 0, -1, 0)
    parsed = _media_range_of(offered, 0)
    if parsed is None:
        return best
    kind, _, subtype = parsed.value.lower().partition("/")
    params = dict(parsed.params)
    for spec in ranges:
        spec_kind, _, spec_sub = spec.value.partition("/")
        s = 0
        if spec_kind.lower() == kind:
            s |= 4
        elif spec_kind != "*":
            continue
        if spec_sub.lower() == subtype:
            s |= 2
        elif spec_sub != "*":
            continue
        if spec.params:
            if all(v == "*" or v.lower() == params.get(k, "").lower() for k, v in spec.params):
                s |= 1
            else:
                continue
        candidate = _Priority(spec.q, s, spec.order, index)
        if (best.s - s or best.q - spec.q or best.o - spec.order) < 0:
            best = candidate
    return best


def preferred_media_types(header: str | None, offered: Sequence[str] | None = None) -> list[str]:
    ranges = _media_ranges("*/*" if header is None else header)
    if offered is None:
        ordered = sorted(ranges, key=lambda spec: (-spec.q, 0, spec.order))
        return [spec.value for spec in ordered if spec.q > 0]
    return _choose(offered, [_media_priority(value, i, ranges) for i, value in enumerate(offered)])


def _choose(offered: Sequence[str], priorities: list[_Priority]) -> list[str]:
    ranked = sorted((p for p in priorities if p.q > 0), key=_order)
    return [offered[p.i] for p in ranked]


# -- encodings, charsets, languages --------------------------------------------------------


@lru_cache(maxsize=256)
def _simple_specs(header: str, identity: bool) -> tuple[_Spec, ...]:
    specs = []
    lowest = 1.0
    has_identity = False
    items = _split(header, ",")
    for index, item in enumerate(items):
        match = _simple.fullmatch(item.strip())
        if match is None:
            continue
        q = 1.0
        for parameter in _split(match.group(2), ";") if match.group(2) else ():
            key, _, value = parameter.strip().partition("=")
            if key == "q":
                q = _quality(value)
                break
        spec = _Spec(match.group(1), q, index)
        specs.append(spec)
        if identity:
            has_identity = has_identity or spec.value.lower() in ("identity", "*")
            lowest = min(lowest, q or 1.0)
    if identity and not has_identity:
        specs.append(_Spec("identity", lowest, len(items)))
    return tuple(specs)


def _simple_priority(offered: str, index: int, specs: Sequence[_Spec]) -> _Priority:
    best = _Priority(0, 0, -1, 0)
    lowered = offered.lower()
    for spec in specs:
        if spec.value.lower() == lowered:
            s = 1
        elif spec.value == "*":
            s = 0
        else:
            continue
        if (best.s - s or best.q - spec.q or best.o - spec.order) < 0:
            best = _Priority(spec.q, s, spec.order, index)
    return best


def _preferred_simple(specs: tuple[_Spec, ...], offered: Sequence[str] | None) -> list[str]:
    if offered is None:
        ordered = sorted(specs, key=lambda spec: (-spec.q, spec.order))
        return [spec.value for spec in ordered if spec.q > 0]
    return _choose(offered, [_simple_priority(value, i, specs) for i, value in enumerate(offered)])


def preferred_encodings(
    header: str | None, offered: Sequence[str] | None = None, *, server_ties: bool = False
) -> list[str]:
    """The acceptable encodings, best first. Encodings of equal q come in the header's order,
    or with `server_ties` in the order offered (a server's own preference, `zstd` before `gzip`)."""
    specs = _simple_specs(header or "", True)
    if not server_ties or offered is None:
        return _preferred_simple(specs, offered)
    priorities = [_simple_priority(value, i, specs) for i, value in enumerate(offered)]
    return [offered[p.i] for p in sorted((p for p in priorities if p.q > 0), key=lambda p: (-p.q, p.i))]


def preferred_charsets(header: str | None, offered: Sequence[str] | None = None) -> list[str]:
    return _preferred_simple(_simple_specs("*" if header is None else header, False), offered)


@lru_cache(maxsize=256)
def _language_specs(header: str) -> tuple[tuple[_Spec, str], ...]:
    specs = []
    for index, item in enumerate(_split(header, ",")):
        spec = _language_of(item.strip(), index)
        if spec is not None:
            specs.append(spec)
    return tuple(specs)


def _language_of(text: str, index: int) -> tuple[_Spec, str] | None:
    match = _language.fullmatch(text)
    if match is None:
        return None
    prefix, suffix = match.group(1), match.group(2)
    q = 1.0
    for parameter in _split(match.group(3), ";") if match.group(3) else ():
        key, _, value = parameter.strip().partition("=")
        if key == "q":
            q = _quality(value)
            break
    return _Spec(f"{prefix}-{suffix}" if suffix else prefix, q, index), prefix


def preferred_languages(header: str | None, offered: Sequence[str] | None = None) -> list[str]:
    specs = _language_specs("*" if header is None else header)
    if offered is None:
        ordered = sorted((spec for spec, _ in specs), key=lambda spec: (-spec.q, spec.order))
        return [spec.value for spec in ordered if spec.q > 0]
    priorities = []
    for index, value in enumerate(offered):
        best = _Priority(0, 0, -1, 0)
        parsed = _language_of(value, 0)
        if parsed is not None:
            full, prefix = parsed[0].value.lower(), parsed[1].lower()
            for spec, spec_prefix in specs:
                spec_full = spec.value.lower()
                if spec_full == full:
                    s = 4
                elif spec_prefix.lower() == full:
                    s = 2
                elif spec_full == prefix:
                    s = 1
                elif spec.value == "*":
                    s = 0
                else:
                    continue
                if (best.s - s or best.q - spec.q or best.o - spec.order) < 0:
                    best = _Priority(spec.q, s, spec.order, index)
        priorities.append(best)
    return _choose(offered, priorities)


# -- the `accepts` object ----------------------------------------------------------------


def _flatten(values: tuple[str | Sequence[str], ...]) -> list[str]:
    if len(values) == 1 and not isinstance(values[0], str):
        return list(values[0])
    return [value for value in values if isinstance(value, str)]


def _to_mime(value: str) -> str | None:
    return value if "/" in value else mime.lookup(value)


class Accepts:
    """What the client accepts, read from a request's headers (Koa's `ctx.accept`)."""

    __slots__ = ("headers",)

    def __init__(self, headers: Mapping[str, str]) -> None:
        self.headers = headers

    def types(self, *types: str | Sequence[str]) -> list[str] | str | bool:
        """With no argument, the accepted types best first; else the best of `types` (names
        like `"json"`, extensions or mime types, returned as given), or False."""
        offered = _flatten(types)
        header = self.headers.get("accept")
        if not offered:
            return preferred_media_types(header)
        if not header:
            return offered[0]
        mimes = [_to_mime(value) for value in offered]
        valid = [value for value in mimes if value is not None]
        best = preferred_media_types(header, valid)
        return offered[mimes.index(best[0])] if best else False

    def encodings(self, *encodings: str | Sequence[str]) -> list[str] | str | bool:
        return self._best("accept-encoding", preferred_encodings, encodings)

    def charsets(self, *charsets: str | Sequence[str]) -> list[str] | str | bool:
        return self._best("accept-charset", preferred_charsets, charsets)

    def languages(self, *languages: str | Sequence[str]) -> list[str] | str | bool:
        return self._best("accept-language", preferred_languages, languages)

    def _best(
        self,
        field: str,
        preferred: Callable[[str | None, Sequence[str] | None], list[str]],
        offered: tuple[str | Sequence[str], ...],
    ) -> list[str] | str | bool:
        """All accepted values by preference without offers, else the best offer or False."""
        values = _flatten(offered)
        header = self.headers.get(field)
        if not values:
            return preferred(header, None)
        best = preferred(header, values)
        return best[0] if best else False


# -- type-is -----------------------------------------------------------------------------


def _normalize(value: str) -> str | None:
    if value == "urlencoded":
        return "application/x-www-form-urlencoded"
    if value == "multipart":
        return "multipart/*"
    if value.startswith("+"):
        return "*/*" + value
    return value if "/" in value else mime.lookup(value)


def _mime_match(expected: str | None, actual: str) -> bool:
    if expected is None:
        return False
    actual_parts = actual.split("/")
    expected_parts = expected.split("/")
    if len(actual_parts) != 2 or len(expected_parts) != 2:
        return False
    if expected_parts[0] != "*" and expected_parts[0] != actual_parts[0]:
        return False
    if expected_parts[1][:2] == "*+":
        suffix = expected_parts[1][1:]
        return len(expected_parts[1]) <= len(actual_parts[1]) + 1 and actual_parts[1].endswith(suffix)
    return expected_parts[1] in ("*", actual_parts[1])


_typer = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}").fullmatch


@lru_cache(maxsize=128)
def _bare_type(content_type: str) -> str | None:
    """The lower-cased mime type of a Content-Type (parameters not checked), or None."""
    mime_type = content_type.split(";", 1)[0].strip()
    return mime_type.lower() if _typer(mime_type) else None


def type_is(content_type: str | None, types: tuple[str | Sequence[str], ...]) -> str | bool:
    """The first of `types` that `content_type` matches (the full mime for wildcards and
    `+suffix` forms), False if none does or there is no valid type; with no `types`, the
    bare mime type."""
    actual = _bare_type(content_type) if content_type else None
    if actual is None:
        return False
    wanted = _flatten(types)
    if not wanted:
        return actual
    for value in wanted:
        if _mime_match(_normalize(value), actual):
            return actual if value.startswith("+") or "*" in value else value
    return False


def has_body(headers: Mapping[str, str]) -> bool:
    """Whether a request carries a body: Transfer-Encoding, or a numeric Content-Length."""
    if "transfer-encoding" in headers:
        return True
    length = headers.get("content-length")
    if length is None:
        return False
    length = length.strip()
    if not length:
        return True
    try:
        float(length)
    except ValueError:
        return False
    return True
