"""`ctx.type = "json"`: names, extensions and full types to a Content-Type value."""

import mimetypes
from functools import lru_cache

# A fixed table (no /etc/mime.types) so a type resolves the same on every machine.
_db = mimetypes.MimeTypes(filenames=())
_NAMES = {
    "json": "application/json",
    "html": "text/html",
    "text": "text/plain",
    "txt": "text/plain",
    "bin": "application/octet-stream",
    "js": "text/javascript",
    "mjs": "text/javascript",
    "css": "text/css",
    "xml": "application/xml",
    "form": "application/x-www-form-urlencoded",
    "urlencoded": "application/x-www-form-urlencoded",
    "multipart": "multipart/form-data",
    "svg": "image/svg+xml",
    "wasm": "application/wasm",
    "webp": "image/webp",
    "woff2": "font/woff2",
    "md": "text/markdown",
}
_UTF8 = frozenset({"application/json", "application/javascript", "application/ld+json"})


def lookup(name: str) -> str | None:
    """The bare mime type of a name (`json`), an extension (`.png`) or a filename (`a.pdf`)."""
    ext = name.rsplit(".", 1)[-1].lower()
    return _NAMES.get(ext) or _db.types_map[True].get("." + ext)


@lru_cache(maxsize=256)
def content_type(value: str) -> str | None:
    """The header value for `value`, with `charset=utf-8` where text is meant; None if unknown."""
    if "/" in value:
        mime = value
    else:
        found = lookup(value)
        if found is None:
            return None
        mime = found
    if "charset" in mime.lower():
        return mime
    base = mime.split(";", 1)[0].strip().lower()
    if base.startswith("text/") or base in _UTF8 or base.endswith("+json"):
        return mime + "; charset=utf-8"
    return mime
