"""Route path syntax: parsing, typed converters, and URL building.

Both spellings are accepted and may be mixed: Koa's (path-to-regexp v8) `:id`, `*rest` and
`{/optional}` groups, and Starlette's `{id}`, `{id:int}`, `{rest:path}`. A brace holding a
bare name (optionally `:converter`) is a parameter; any other brace is an optional group.
Everything here runs when a route is registered or compiled, never per request.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias
from urllib.parse import quote, urlencode

MAX_OPTIONAL_GROUPS = 8
"""A pattern expands into 2**groups variants; more groups than this is surely a mistake."""


class Converter(Protocol):
    """A typed parameter: `regex` (matched against the raw segment), `convert`, `to_string`.

    Starlette's convertors have the same shape, so they can be registered as they are.
    """

    regex: str

    def convert(self, value: str) -> Any: ...

    def to_string(self, value: Any) -> str: ...


class StringConverter:
    regex: str = "[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: Any) -> str:
        text = str(value)
        if not text:
            raise ValueError("a str parameter cannot be empty")
        return text


class PathConverter:
    """The rest of the path, slashes included (as Koa's `*rest`); at least one character."""

    regex: str = ".+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: Any) -> str:
        if isinstance(value, (list, tuple)):
            return "/".join(str(part) for part in value)
        return str(value)


class IntConverter:
    regex: str = "[0-9]+"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: Any) -> str:
        number = int(value)
        if number < 0:
            raise ValueError("an int parameter cannot be negative")
        return str(number)


class FloatConverter:
    regex: str = r"[0-9]+(?:\.[0-9]+)?"

    def convert(self, value: str) -> float:
        return float(value)

    def to_string(self, value: Any) -> str:
        number = float(value)
        if number < 0 or not math.isfinite(number):
            raise ValueError("a float parameter must be finite and not negative")
        return f"{number:.20f}".rstrip("0").rstrip(".")


class UUIDConverter:
    regex: str = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

    def convert(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)

    def to_string(self, value: Any) -> str:
        return str(value)


CONVERTERS: dict[str, Converter] = {
    "str": StringConverter(),
    "path": PathConverter(),
    "int": IntConverter(),
    "float": FloatConverter(),
    "uuid": UUIDConverter(),
}


def register_converter(name: str, converter: Converter) -> None:
    """Make `{param:name}` available to every router (as Starlette's `register_url_convertor`).

    Register before the routes that use it; a pattern is parsed when its route is added.
    """
    if not re.fullmatch(r"[A-Za-z_]\w*", name):
        raise ValueError(f"converter name must be an identifier, got {name!r}")
    re.compile(converter.regex)  # a broken regex fails here, not on the first request
    CONVERTERS[name] = converter


# -- tokens ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    value: str


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    converter: Converter | None = None  # None: a plain segment, `[^/]+`
    wildcard: bool = False  # `*rest` or `{rest:path}`: may span segments

    @property
    def regex(self) -> str:
        if self.converter is not None:
            return self.converter.regex
        return ".+" if self.wildcard else "[^/]+"


@dataclass(frozen=True, slots=True)
class Group:
    tokens: tuple[Token, ...]


Token: TypeAlias = "Text | Param | Group"
Piece: TypeAlias = "Text | Param"

_NAME = re.compile(r"[A-Za-z_]\w*")
_BRACE_PARAM = re.compile(r"\{([A-Za-z_]\w*)(?::([A-Za-z_]\w*))?\}")
_URL_SAFE = "-_.!~*'()"  # encodeURIComponent's unescaped set
_PATH_SAFE = "/:@!$&'()*+,;=~-._%"  # what may stay as written in a route's literal text


def parse(pattern: str) -> tuple[Token, ...]:
    """Parse a route pattern into tokens; a ValueError says where the pattern is wrong."""
    tokens, end = _parse(pattern, 0, nested=False)
    assert end == len(pattern)
    return tokens


def _parse(pattern: str, index: int, *, nested: bool) -> tuple[tuple[Token, ...], int]:
    tokens: list[Token] = []
    text: list[str] = []

    def flush() -> None:
        if text:
            tokens.append(Text(_encode_literal("".join(text))))
            text.clear()

    length = len(pattern)
    while index < length:
        char = pattern[index]
        if char == "\\" and index + 1 < length:
            text.append(pattern[index + 1])
            index += 2
        elif char in ":*":
            match = _NAME.match(pattern, index + 1)
            if match is None:
                raise ValueError(f"missing parameter name after {char!r} at {index} in {pattern!r}")
            flush()
            tokens.append(Param(match.group(), wildcard=char == "*"))
            index = match.end()
        elif char == "{":
            flush()
            match = _BRACE_PARAM.match(pattern, index)
            if match is not None:
                tokens.append(_brace_param(match.group(1), match.group(2), pattern))
                index = match.end()
            else:
                group, index = _parse(pattern, index + 1, nested=True)
                tokens.append(Group(group))
        elif char == "}":
            if not nested:
                raise ValueError(f"unexpected '}}' at {index} in {pattern!r}")
            flush()
            return tuple(tokens), index + 1
        elif char == "(":
            raise ValueError(
                f"regular-expression parameters are not supported ({pattern!r}); "
                "use a converter such as {id:int}, or register_converter() for your own"
            )
        else:
            text.append(char)
            index += 1
    if nested:
        raise ValueError(f"unterminated '{{' in {pattern!r}")
    flush()
    return tuple(tokens), index


def _brace_param(name: str, kind: str | None, pattern: str) -> Param:
    if kind is None:
        return Param(name)
    converter = CONVERTERS.get(kind)
    if converter is None:
        known = ", ".join(sorted(CONVERTERS))
        raise ValueError(f"unknown converter {kind!r} in {pattern!r} (known: {known})")
    if kind == "str":
        return Param(name)
    return Param(name, converter, wildcard=kind == "path")


def _encode_literal(text: str) -> str:
    """Literal route text as it appears in a raw request path (`/café` → `/caf%C3%A9`)."""
    return text if text.isascii() else quote(text, safe=_PATH_SAFE)


def variants(tokens: Sequence[Token]) -> list[tuple[Piece, ...]]:
    """Every flat form of a pattern: each optional group either present or absent."""
    groups = sum(1 for _ in _groups(tokens))
    if groups > MAX_OPTIONAL_GROUPS:
        raise ValueError(f"too many optional groups ({groups} > {MAX_OPTIONAL_GROUPS})")
    out: list[tuple[Piece, ...]] = [()]
    for token in tokens:
        if isinstance(token, Group):
            inner = variants(token.tokens)
            out = [head + tail for head in out for tail in [(), *inner]]
        else:
            out = [(*head, token) for head in out]
    return [_merge_text(variant) for variant in out]


def _groups(tokens: Sequence[Token]) -> Iterator[Group]:
    for token in tokens:
        if isinstance(token, Group):
            yield token
            yield from _groups(token.tokens)


def _merge_text(pieces: Sequence[Piece]) -> tuple[Piece, ...]:
    out: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, Text) and out and isinstance(out[-1], Text):
            out[-1] = Text(out[-1].value + piece.value)
        else:
            out.append(piece)
    return tuple(out)


def param_names(tokens: Sequence[Token]) -> list[str]:
    names: list[str] = []
    for token in tokens:
        if isinstance(token, Param):
            if token.name not in names:
                names.append(token.name)
        elif isinstance(token, Group):
            names.extend(name for name in param_names(token.tokens) if name not in names)
    return names


def segments(pieces: Sequence[Piece], *, strict: bool) -> list[tuple[Piece, ...]] | None:
    """A variant as path segments, or None when it does not start with `/`.

    Without `strict` a trailing slash is optional, so it is dropped here as it is dropped
    from request paths; `/` itself is no segment at all.
    """
    parts: list[list[Piece]] = [[]]
    for piece in pieces:
        if isinstance(piece, Text):
            first, *rest = piece.value.split("/")
            if first:
                parts[-1].append(Text(first))
            for part in rest:
                parts.append([Text(part)] if part else [])
        else:
            parts[-1].append(piece)
    if parts[0]:
        return None
    out = [tuple(part) for part in parts[1:]]
    if out and not out[-1] and (not strict or len(out) == 1):
        out.pop()
    return out


def pieces_regex(pieces: Sequence[Piece]) -> str:
    """The regex of a run of pieces; parameters are the positional groups, in order.

    A plain parameter followed by text stops before that text's first character, as
    path-to-regexp v8 does (`:from-:to` splits at the first `-`), which keeps matching
    linear however long the input: no group can give characters back to another.
    """
    out: list[str] = []
    for index, piece in enumerate(pieces):
        if isinstance(piece, Text):
            out.append(re.escape(piece.value))
        elif piece.converter is not None or piece.wildcard:
            out.append(f"({piece.regex})")
        else:
            following = pieces[index + 1] if index + 1 < len(pieces) else None
            stop = re.escape(following.value[0]) if isinstance(following, Text) and following.value else ""
            out.append(f"([^/{stop}]+)")
    return "".join(out)


def regex_source(pieces: Sequence[Piece], *, strict: bool, end: bool) -> str:
    """The whole-path regex of a variant (path-to-regexp's), for the few routes the segment
    tree cannot hold; parameters are the positional groups, in order."""
    out = ["^", pieces_regex(pieces)]
    if not strict:
        out.append("/?" if end else "(?:/$)?")
    out.append("$" if end else "(?=/|$)")
    return "".join(out)


# -- URL building ------------------------------------------------------------------------


class NoMatchFound(LookupError):
    """No route by that name, or a parameter the route needs is missing or invalid."""


def build_url(
    pattern: str,
    tokens: Sequence[Token],
    params: Mapping[str, Any],
    query: Mapping[str, Any] | str | None = None,
) -> str:
    """The URL of a pattern with `params` filled in and percent-encoded, plus a query."""
    url = _fill(tokens, params, pattern, required=True)
    assert url is not None
    if not url.startswith("/") and pattern.startswith("/"):
        url = "/" + url
    if query:
        querystring = query if isinstance(query, str) else urlencode(dict(query), doseq=True, quote_via=quote)
        querystring = querystring.removeprefix("?")
        if querystring:
            url += ("&" if "?" in url else "?") + querystring
    return url


def _fill(tokens: Sequence[Token], params: Mapping[str, Any], pattern: str, *, required: bool) -> str | None:
    out: list[str] = []
    for token in tokens:
        if isinstance(token, Text):
            out.append(token.value)
        elif isinstance(token, Group):
            out.append(_fill(token.tokens, params, pattern, required=False) or "")
        else:
            value = params.get(token.name)
            if value is None:
                if not required:
                    return None
                raise NoMatchFound(f"missing parameter {token.name!r} for {pattern!r}")
            out.append(_encode_param(token, value, pattern))
    return "".join(out)


def _encode_param(token: Param, value: Any, pattern: str) -> str:
    converter = token.converter
    try:
        if converter is not None:
            text = converter.to_string(value)
        elif token.wildcard and isinstance(value, (list, tuple)):
            text = "/".join(str(part) for part in value)
        else:
            text = str(value)
    except (TypeError, ValueError) as err:
        raise NoMatchFound(f"invalid value {value!r} for parameter {token.name!r} of {pattern!r}: {err}") from None
    if not text:
        raise NoMatchFound(f"empty value for parameter {token.name!r} of {pattern!r}")
    if converter is not None and not re.fullmatch(converter.regex, text):
        raise NoMatchFound(f"value {text!r} does not fit parameter {token.name!r} of {pattern!r}")
    if token.wildcard:
        return "/".join(quote(part, safe=_URL_SAFE) for part in text.split("/"))
    return quote(text, safe=_URL_SAFE)
