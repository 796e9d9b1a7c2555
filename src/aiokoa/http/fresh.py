"""Conditional GET: is the client's cached copy still fresh? (RFC 9110 §13.1.1, §13.1.3)

Unlike Koa's `fresh@0.5.2`, If-None-Match takes precedence: when it is present,
If-Modified-Since is ignored (RFC 9110 §13.2.2 step 3-4).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .headers import parse_http_date, split_list

_no_cache = re.compile(r"(?:^|,)\s*?no-cache\s*?(?:,|$)")


def _opaque(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison of an ETag against an If-None-Match list (`W/` prefixes ignored)."""
    opaque = _opaque(etag)
    if opaque not in if_none_match:  # one substring scan before splitting a list of up to 64 KB
        return False
    return any(_opaque(item.strip()) == opaque for item in split_list(if_none_match) if item)


def is_fresh(request: Mapping[str, str], response: Mapping[str, object]) -> bool:
    """Whether a 2xx/304 response to a GET/HEAD `request` need not be sent again."""
    if_none_match = request.get("if-none-match")
    if_modified_since = request.get("if-modified-since")
    if not if_none_match and not if_modified_since:
        return False
    cache_control = request.get("cache-control")
    if cache_control and _no_cache.search(cache_control):
        return False
    if if_none_match:
        if if_none_match.strip() == "*":
            return True
        etag = response.get("etag")
        return bool(etag) and etag_matches(if_none_match, str(etag))
    last_modified = response.get("last-modified")
    if not last_modified or not if_modified_since:
        return False
    modified = parse_http_date(str(last_modified))
    since = parse_http_date(if_modified_since)
    return modified is not None and since is not None and modified <= since
