"""The body of an error response, negotiated from the request's Accept header.

Koa always answers `text/plain` (koajs/koa #787, #172); here a client that prefers JSON
gets `{"error": {"status", "message"}}` (with the error's `details` when a 4xx has them:
a 422's failing fields), and in development a browser gets an HTML page
with the traceback and the report of the app's instrument (with `aiokoa.trace()`, the
cascade). `app.error_formatter` replaces all of this. The message is already public (5xx
messages are hidden before this runs); only the development page shows the traceback,
and everything on it is escaped.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING, TypeAlias

from ..http.jsonbody import dumps
from .response import HTML, JSON, TEXT

if TYPE_CHECKING:
    from .context import Context
    from .instrument import Instrument

ErrorFormatter: TypeAlias = Callable[["Context", BaseException, int, str], "tuple[str, str] | None"]
"""`formatter(ctx, err, status, message) -> (content_type, body)`, or None for the default."""

_OFFERED = ("text/plain", "application/json")
_OFFERED_IN_DEVELOPMENT = (*_OFFERED, "text/html")


def error_body(ctx: Context, err: BaseException, status: int, message: str) -> tuple[str, str]:
    """`(content_type, body)` for the error response; `message` is what the client may see."""
    _report(ctx, err, status)  # the instrument learns which error made the response
    formatter: ErrorFormatter | None = getattr(ctx.app, "error_formatter", None)
    if formatter is not None:
        try:
            result = formatter(ctx, err, status, message)
        except Exception:
            print("aiokoa: app.error_formatter failed; the default error body is sent:", file=sys.stderr)
            traceback.print_exc()
        else:
            if result is not None:
                return result
    return default_error_body(ctx, err, status, message)


def default_error_body(ctx: Context, err: BaseException, status: int, message: str) -> tuple[str, str]:
    """Text (Koa's default, and for `*/*`), JSON for clients that prefer it, and the HTML
    traceback page for browsers when the app is in debug mode. A formatter may fall back
    to this."""
    development = ctx.app.debug
    try:
        kind = ctx.accepts(*(_OFFERED_IN_DEVELOPMENT if development else _OFFERED))
    except Exception:  # a malformed Accept header must not break the error response
        kind = False
    if kind == "application/json":
        error: dict[str, object] = {"status": status, "message": message}
        details = getattr(err, "details", None)
        if details is not None and status < 500:  # what a client error lists (a 422's failing fields)
            error["details"] = details
        return JSON, dumps({"error": error}).decode()
    if kind == "text/html":
        return HTML, html_page(ctx, err, status, message)
    return TEXT, message


_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222}
h1{font-size:1.6rem;margin:0 0 .2rem}h2{font-size:1.1rem;margin:1.6rem 0 .4rem}
.request{color:#666;margin:0}.error{color:#b00020}
pre{background:#f6f6f6;border:1px solid #ddd;border-radius:4px;padding:.8rem;overflow:auto;font-size:13px}
footer{color:#777;font-size:13px;margin-top:2rem}
""".strip()


def html_page(ctx: Context, err: BaseException, status: int, message: str) -> str:
    """The development error page: what failed, the traceback, and the instrument's report."""
    title = f"{status} {message}"
    report = _report(ctx, err, status)
    if report is not None:
        cascade = f"<pre>{escape(str(report))}</pre>"
    else:
        cascade = (
            "<p>Add <code>app.use(aiokoa.trace())</code> to see here how the request went through each middleware.</p>"
        )
    tb = "".join(traceback.format_exception(err))
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>\n"
        f"<h1>{escape(title)}</h1>\n"
        f'<p class="request">{escape(ctx.method)} {escape(ctx.original_url)}</p>\n'
        f'<h2 class="error">{escape(_one_line(err))}</h2>\n'
        f"<pre>{escape(tb)}</pre>\n"
        f'<h2 id="cascade">The cascade</h2>\n{cascade}\n'
        "<footer>This page is shown because the app is in debug mode (<code>Koa(debug=True)</code>, "
        "or <code>env=&quot;development&quot;</code> named explicitly). "
        "Elsewhere the client gets the status message only (5xx details are never sent). "
        "Errors still reach the app&#x27;s <code>error</code> listeners.</footer>\n"
        "</body></html>\n"
    )


def _report(ctx: Context, err: BaseException, status: int) -> object | None:
    instrument: Instrument | None = getattr(ctx.app, "instrument", None)
    return None if instrument is None else instrument.report(ctx, err, status)


def _one_line(err: BaseException) -> str:
    text = str(err).split("\n", 1)[0]
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
