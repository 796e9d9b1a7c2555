"""`ctx.type = "json"`: names, extensions and full types to a Content-Type value."""

import mimetypes
import re
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
    # common ones Python's built-in table lacks or names differently (as mime-db has them)
    "gz": "application/gzip",
    "map": "application/json",
    "yaml": "text/yaml",
    "yml": "text/yaml",
    "ogg": "audio/ogg",
    "wav": "audio/wav",
    "m4a": "audio/mp4",
    "7z": "application/x-7z-compressed",
    "rar": "application/vnd.rar",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "ics": "text/calendar",
    "rtf": "application/rtf",
    "epub": "application/epub+zip",
    "otf": "font/otf",
    "ttf": "font/ttf",
    "woff": "font/woff",
    "jsonld": "application/ld+json",
    "apng": "image/apng",
    "ts": "video/mp2t",
    "toml": "application/toml",
    "ini": "text/plain",
    "log": "text/plain",
    "xhtml": "application/xhtml+xml",
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
    "webmanifest": "application/manifest+json",
}
# Non-text types that get a charset (text/* always does): mime-db's, plus every +json
# type (mime-types leaves `application/vnd.api+json` without one; JSON is UTF-8, RFC 8259).
_UTF8 = frozenset({"application/json", "application/javascript", "application/ld+json", "application/manifest+json"})


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


# Types worth compressing beyond text/* and the +json/+text/+xml suffixes: mime-db's
# `compressible` entries that are in use. Images, audio, video, fonts in woff/woff2 and
# archives are compressed already: a second pass only costs time.
_COMPRESSIBLE = frozenset(
    {
        "application/ecmascript",
        "application/javascript",
        "application/json",
        "application/postscript",
        "application/rtf",
        "application/tar",
        "application/vnd.ms-fontobject",
        "application/wasm",
        "application/x-font-ttf",
        "application/x-javascript",
        "application/x-sh",
        "application/x-tar",
        "application/x-www-form-urlencoded",
        "application/xml",
        "application/xml-dtd",
        "font/otf",
        "font/ttf",
        "image/bmp",
        "image/svg+xml",
        "image/vnd.microsoft.icon",
        "image/x-icon",
        "image/x-ms-bmp",
    }
)
_compressible_family = re.compile(r"^text/|\+(?:json|text|xml)$")


def compressible(content_type: str) -> bool:
    """Whether a body of this type shrinks when compressed: text, JSON, JavaScript, XML, SVG,
    uncompressed fonts and the like (what Koa's `compressible` says, from mime-db)."""
    base = content_type.split(";", 1)[0].strip().lower()
    return base in _COMPRESSIBLE or _compressible_family.search(base) is not None
