"""`body_parser()`: JSON, form, text and multipart bodies parsed into `ctx.request.body`.

@koa/bodyparser's model: for the methods in `parsed_methods`, a body whose Content-Type is
one of the enabled kinds is read (within that kind's limit) and parsed before the
downstream middleware run. `ctx.request.body` is then the JSON value, a `FormData` of the
form's text fields, or the text; `{}` when there is no body or its type is not enabled.
`ctx.request.raw_body` keeps the bytes of a JSON, form or text body, and the files of a
multipart body are on `ctx.request.files` (closed when the response ends). A bad body is
the HTTP error it deserves (400, 413, 415), or goes to `on_error(err, ctx)` if given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aiokoa.core.compose import Middleware, Next
from aiokoa.core.context import Context
from aiokoa.http.forms import MAX_FIELDS, MAX_FILE_SIZE, MAX_FILES, FormData, UploadFile
from aiokoa.http.negotiation import has_body
from aiokoa.http.sizes import parse_size

KINDS = ("json", "form", "text", "multipart")

TYPES: dict[str, tuple[str, ...]] = {
    "json": (
        "application/json",
        "application/json-patch+json",
        "application/vnd.api+json",
        "application/csp-report",
        "application/scim+json",
    ),
    "form": ("application/x-www-form-urlencoded",),
    "text": ("text/plain",),
    "multipart": ("multipart/form-data",),
}
"""The Content-Types each kind parses (as @koa/bodyparser); `extend_types` adds to them."""


def body_parser(
    *,
    enable_types: Iterable[str] = ("json", "form"),
    json_limit: int | str = "1mb",
    form_limit: int | str = "56kb",
    text_limit: int | str = "1mb",
    json_strict: bool = True,
    parsed_methods: Iterable[str] = ("POST", "PUT", "PATCH"),
    extend_types: Mapping[str, Iterable[str]] | None = None,
    on_error: Callable[[Exception, Context], Any] | None = None,
    max_file_size: int | str = MAX_FILE_SIZE,
    max_files: int = MAX_FILES,
    max_fields: int = MAX_FIELDS,
) -> Middleware:
    """Parse request bodies into `ctx.request.body` (see the module's documentation).

    `enable_types`: of "json", "form" (urlencoded), "text" and "multipart". Limits are
    bytes, or strings such as "1mb"; a multipart body has `max_file_size` per file,
    `max_files` files and `max_fields` text fields (each up to 1mb)."""
    enabled = tuple(enable_types)
    unknown = sorted(set(enabled) - set(KINDS))
    if unknown:
        raise ValueError(f"enable_types: unknown {unknown}; choose from {list(KINDS)}")
    extra = dict(extend_types or {})
    wrong = sorted(set(extra) - set(KINDS))
    if wrong:
        raise ValueError(f"extend_types: unknown {wrong}; choose from {list(KINDS)}")
    types = [(kind, (*TYPES[kind], *extra.get(kind, ()))) for kind in enabled]
    # The usual Content-Types, found by a lookup; patterns ("+json", "text/*") by ctx.is_()
    exact = {mime: kind for kind, accepted in reversed(types) for mime in accepted if "/" in mime and "*" not in mime}
    methods = frozenset(method.upper() for method in parsed_methods)
    limits = {"json": parse_size(json_limit), "form": parse_size(form_limit), "text": parse_size(text_limit)}
    file_size = parse_size(max_file_size)

    async def parse(ctx: Context) -> None:
        request = ctx.request
        if ctx.method not in methods or not has_body(ctx.headers):
            request.body = {}
            return
        kind = exact.get(request.type) or next((kind for kind, accepted in types if ctx.is_(*accepted)), None)
        if kind is None:
            request.body = {}
            return
        if kind == "multipart":
            form = await ctx.form(max_files=max_files, max_fields=max_fields, max_file_size=file_size)
            request.files = FormData(
                [(name, value) for name, value in form.multi_items() if isinstance(value, UploadFile)]
            )
            request.body = FormData([(name, value) for name, value in form.multi_items() if isinstance(value, str)])
            return
        limit = limits[kind]
        raw = await ctx.read(limit)
        request.raw_body = raw
        if kind == "json":
            request.body = await ctx.json(limit, strict=json_strict) if raw and not raw.isspace() else {}
        elif kind == "form":
            request.body = await ctx.form(limit, max_fields=max_fields)
        else:
            request.body = await ctx.text(limit)

    async def body_parser(ctx: Context, next: Next) -> Any:
        request = ctx.request
        if request.body is None and not request.body_used:
            try:
                await parse(ctx)
            except Exception as err:
                if on_error is None:
                    raise
                on_error(err, ctx)
        return await next()

    return body_parser
