"""Small header helpers: token lists, `Vary`, `Content-Type`, `Content-Disposition`,
`Location` encoding, HTML escaping and HTTP dates (vary, content-type, content-disposition,
encodeurl and escape-html of the jshttp family, in a few lines each)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from posixpath import basename
from typing import TypeAlias
from urllib.parse import quote

HeaderValue: TypeAlias = "str | int | list[str]"
"""A header's value as the response keeps it: Content-Length as an int, Set-Cookie as a list."""
_field_name = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+").fullmatch


def split_list(value: str) -> list[str]:
    """A comma-separated header as a list; spaces around items dropped, empty items kept."""
    return [item.strip(" ") for item in value.split(",")]


# -- Vary ------------------------------------------------------------------------------


def vary_append(header: str, field: str | list[str] | tuple[str, ...]) -> str:
    """`header` with the field names of `field` added: no duplicates (case-insensitive),
    the first spelling kept, `*` absorbing everything. Invalid names raise ValueError."""
    if not header and isinstance(field, str) and _field_name(field):
        return field  # the usual call, one name and no Vary yet: nothing to merge
    fields = split_list(field) if isinstance(field, str) else list(field)
    if not fields or fields == [""]:
        raise ValueError("vary() needs at least one header name")
    for name in fields:
        if not isinstance(name, str) or not _field_name(name):
            raise ValueError(f"vary(): {name!r} is not a valid header name")
    if header == "*":
        return header
    seen = split_list(header.lower())
    if "*" in fields or "*" in seen:
        return "*"
    value = header
    for name in fields:
        lower = name.lower()
        if lower not in seen:
            seen.append(lower)
            value = f"{value}, {name}" if value else name
    return value


# -- Content-Type (RFC 9110 §8.3, the content-type package's strict parser) ---------------

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_is_token = re.compile(_TOKEN).fullmatch
_media_type = re.compile(rf"{_TOKEN}/{_TOKEN}").fullmatch
_param = re.compile(
    rf" *; *({_TOKEN}) *= *(\"(?:[\x0b\x20\x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\x0b\x20-\xff])*\"|{_TOKEN}) *"
)
_quoted_pair = re.compile(r"\\([\x0b\x20-\xff])")


def content_length(value: str | None) -> int | None:
    """A Content-Length value as a number, or None when absent or not a number."""
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


@lru_cache(maxsize=128)
def parse_content_type(header: str) -> tuple[str, dict[str, str]] | None:
    """`("text/html", {"charset": "utf-8"})` for a valid media type, else None."""
    index = header.find(";")
    mime = (header[:index] if index != -1 else header).strip()
    if not _media_type(mime):
        return None
    params: dict[str, str] = {}
    if index != -1:
        # the regex starts at the ";", so whitespace before it has to be skipped first
        position = index
        while position < len(header):
            match = _param.match(header, position)
            if match is None:
                return None
            value = match.group(2)
            if value.startswith('"'):
                value = _quoted_pair.sub(r"\1", value[1:-1])
            params[match.group(1).lower()] = value
            position = match.end()
    return mime.lower(), params


# -- Content-Disposition (RFC 6266) -----------------------------------------------------

_latin1_text = re.compile(r"[\x20-\x7e\x80-\xff]+").fullmatch
_non_latin1 = re.compile(r"[^\x20-\x7e\xa0-\xff]")
_hex_escape = re.compile(r"%[0-9A-Fa-f]{2}").search
_ATTR_SAFE = "!#$&+-.^_`|~"  # RFC 8187 attr-char, besides letters and digits


def content_disposition(filename: str | None = None, *, type: str = "attachment", fallback: str | bool = True) -> str:
    """The header for a download: `attachment; filename="a.pdf"`, with `filename*` (RFC 8187,
    UTF-8) when the name is not Latin-1, and a `?`-substituted Latin-1 `filename` fallback."""
    if not _is_token(type):
        raise ValueError(f"invalid Content-Disposition type {type!r}")
    header = type.lower()
    if filename is None:
        return header
    if not isinstance(filename, str):
        raise TypeError("filename must be a str")
    if isinstance(fallback, str) and _non_latin1.search(fallback):
        raise ValueError("the fallback filename must be ISO-8859-1")
    name = basename(filename.rstrip("/"))
    latin1 = bool(_latin1_text(name))
    fallback_name = (
        basename(fallback) if isinstance(fallback, str) else (_non_latin1.sub("?", name) if fallback else None)
    )
    has_fallback = fallback_name is not None and fallback_name != name
    if latin1 or has_fallback:
        shown = fallback_name if has_fallback else name
        header += '; filename="' + str(shown).replace("\\", "\\\\").replace('"', '\\"') + '"'
    if has_fallback or not latin1 or _hex_escape(name):
        header += "; filename*=UTF-8''" + quote(name, safe=_ATTR_SAFE)
    return header


# -- Location (encodeurl) and HTML escaping ---------------------------------------------

_needs_encoding = re.compile(
    r"(?:[^\x21\x23-\x3b\x3d\x3f-\x5f\x61-\x7a\x7c\x7e]|%(?:[^0-9A-Fa-f]|[0-9A-Fa-f][^0-9A-Fa-f]|$))+"
)
_surrogate = re.compile("[\ud800-\udfff]")
_ENCODE_URI_SAFE = ";,/?:@&=+$-_.!~*'()#"


def encode_url(url: str) -> str:
    """Percent-encode what may not appear in a URL, keeping existing `%XX` escapes."""
    url = _surrogate.sub("\ufffd", url)
    return _needs_encoding.sub(lambda match: quote(match.group(0), safe=_ENCODE_URI_SAFE), url)


_html_escapes = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})


def escape_html(text: str) -> str:
    return text.translate(_html_escapes)


# -- HTTP dates --------------------------------------------------------------------------


def http_date(value: datetime | str | float) -> str:
    """An HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`) from a datetime (naive = UTC), an HTTP
    or ISO 8601 date string, or a Unix timestamp in seconds."""
    if isinstance(value, str):
        parsed = parse_http_date(value)
        if parsed is None:
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                raise ValueError(f"not a date: {value!r}") from None
        value = parsed
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        value = datetime.fromtimestamp(value, UTC)
    elif not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, a date string or a timestamp, not {type(value).__name__}")
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return format_datetime(value.replace(microsecond=0), usegmt=True)


def parse_http_date(value: str) -> datetime | None:
    """An aware UTC datetime from an HTTP date (the three RFC 9110 formats), else None."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
