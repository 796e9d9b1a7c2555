"""OpenAPI 3.1 from a router's routes, and the routes that serve it with Swagger UI.

Typed handlers describe themselves (their parameters, body, response model and `operation()`);
other routes get their path parameters and a bare response. Schemas are JSON Schema 2020-12,
made by msgspec (pydantic's own for pydantic models), shared under `components/schemas`.
"""

from __future__ import annotations

import inspect
import mimetypes
from collections.abc import Iterable, Mapping
from pathlib import Path as FilePath
from typing import TYPE_CHECKING, Any

import msgspec

from ..http.statuses import EMPTY, MESSAGES
from .path import Group, Param, Text
from .typed import _MISSING, Parameter, Signature, _pydantic, is_pydantic, schema_hook, signature_of

if TYPE_CHECKING:
    from .layer import Layer
    from .router import Router

REF = "#/components/schemas/{name}"
VALIDATION_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "message", "details"],
            "properties": {
                "status": {"type": "integer", "const": 422},
                "message": {"type": "string"},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["location", "name", "pointer", "expected", "message"],
                        "properties": {
                            "location": {"enum": ["path", "query", "header", "cookie", "body"]},
                            "name": {"type": "string"},
                            "pointer": {"type": "string", "description": "a JSON pointer into the body"},
                            "expected": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        }
    },
}
_VERBS = ("get", "put", "post", "delete", "options", "patch", "trace")


def openapi_path(layer: Layer) -> str | None:
    """`/users/:id` as OpenAPI writes it, `/users/{id}` (optional groups included); None for
    a regular expression."""
    tokens = layer.tokens
    if tokens is None:
        return None

    def render(tokens: Iterable[Any]) -> str:
        out = []
        for token in tokens:
            if isinstance(token, Text):
                out.append(token.value)
            elif isinstance(token, Param):
                out.append("{" + token.name + "}")
            elif isinstance(token, Group):
                out.append(render(token.tokens))
        return "".join(out)

    return render(tokens) or "/"


class _Schemas:
    """Every type the document names, turned into schemas at once so names are shared."""

    def __init__(self) -> None:
        self.types: list[Any] = []
        self.made: dict[int, dict[str, Any]] = {}
        self.components: dict[str, Any] = {}

    def add(self, annotation: Any) -> int:
        self.types.append(annotation)
        return len(self.types) - 1

    def build(self) -> None:
        plain = [(index, kind) for index, kind in enumerate(self.types) if not is_pydantic(kind)]
        schemas, components = msgspec.json.schema_components(
            [kind for _, kind in plain], schema_hook=schema_hook, ref_template=REF
        )
        self.components.update(components)
        for (index, _), schema in zip(plain, schemas, strict=True):
            self.made[index] = schema
        for index, kind in enumerate(self.types):
            if index not in self.made:
                schema = _pydantic().TypeAdapter(kind).json_schema(ref_template=REF.replace("{name}", "{model}"))
                self.components.update(schema.pop("$defs", {}))
                if isinstance(kind, type):  # a model is a component, as msgspec's Structs are
                    self.components[kind.__name__] = schema
                    schema = {"$ref": REF.format(name=kind.__name__)}
                self.made[index] = schema

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.made[index]


def _parameter(parameter: Parameter, schema: dict[str, Any]) -> dict[str, Any]:
    schema = dict(schema)
    if not parameter.required and parameter.default is not None:
        schema["default"] = msgspec.to_builtins(parameter.default)
    out: dict[str, Any] = {"name": parameter.alias, "in": parameter.location}
    if parameter.location == "path" or parameter.required:
        out["required"] = True
    if parameter.description:
        out["description"] = parameter.description
    out["schema"] = schema
    return out


def _docstring(fn: Any) -> tuple[str | None, str | None]:
    doc = inspect.getdoc(fn)
    if not doc:
        return None, None
    summary, _, rest = doc.partition("\n\n")
    return " ".join(summary.split()), rest.strip() or None


def build(
    router: Router,
    *,
    title: str,
    version: str,
    description: str | None = None,
    servers: Iterable[Mapping[str, Any]] = (),
    security_schemes: Mapping[str, Mapping[str, Any]] | None = None,
    security: Iterable[Mapping[str, list[str]]] | None = None,
    tags: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `router`'s routes (see `Router.openapi`)."""
    schemas = _Schemas()
    pending: list[tuple[str, str, Layer, Signature | None, dict[str, int]]] = []
    for layer in router.stack:
        path = openapi_path(layer)
        if path is None or not layer.methods or any(getattr(fn, "__aiokoa_hidden__", False) for fn in layer.stack):
            continue
        found = next((s for s in map(signature_of, reversed(layer.stack)) if s is not None), None)
        refs: dict[str, int] = {}
        if found is not None:
            for parameter in found.parameters:
                refs[parameter.name] = schemas.add(parameter.schema_type)
            if found.body is not None:
                refs["(body)"] = schemas.add(found.body.annotation)
            if found.response is not _MISSING:
                refs["(response)"] = schemas.add(found.response)
        for method in layer.methods:
            if method.lower() in _VERBS:
                pending.append((path, method.lower(), layer, found, refs))
    schemas.build()
    schemas.components["ValidationError"] = VALIDATION_ERROR
    paths: dict[str, dict[str, Any]] = {}
    used_ids: set[str] = set()
    for path, method, layer, found, refs in pending:
        operation = _operation(layer, method, found, refs, schemas)
        operation_id = operation["operationId"]
        base, count = operation_id, 2
        while operation_id in used_ids:
            operation_id, count = f"{base}_{count}", count + 1
        operation["operationId"] = operation_id
        used_ids.add(operation_id)
        paths.setdefault(path, {}).setdefault(method, operation)
    info: dict[str, Any] = {"title": title, "version": version}
    if description:
        info["description"] = description
    document: dict[str, Any] = {"openapi": "3.1.0", "info": info}
    if servers:
        document["servers"] = [dict(server) for server in servers]
    document["paths"] = paths
    components: dict[str, Any] = {"schemas": dict(sorted(schemas.components.items()))}
    if security_schemes:
        components["securitySchemes"] = {name: dict(scheme) for name, scheme in security_schemes.items()}
    document["components"] = components
    if security is not None:
        document["security"] = [dict(item) for item in security]
    if tags:
        document["tags"] = [dict(tag) for tag in tags]
    return document


def _operation(
    layer: Layer, method: str, found: Signature | None, refs: dict[str, int], schemas: _Schemas
) -> dict[str, Any]:
    handler = found.handler if found is not None else (layer.stack[-1] if layer.stack else None)
    name = getattr(handler, "__name__", None) or "route"
    operation: dict[str, Any] = {}
    described = found.operation if found is not None else None
    summary, description = _docstring(handler)
    if described is not None:
        summary = described.summary or summary
        description = described.description or description
        if described.tags:
            operation["tags"] = list(described.tags)
    if summary:
        operation["summary"] = summary
    if description:
        operation["description"] = description
    operation["operationId"] = (described.operation_id if described else None) or (
        name if method in ("get", "post") and len(layer.methods) <= 2 else f"{name}_{method}"
    )
    parameters: list[dict[str, Any]] = []
    declared = set()
    if found is not None:
        for parameter in found.parameters:
            parameters.append(_parameter(parameter, schemas[refs[parameter.name]]))
            if parameter.location == "path":
                declared.add(parameter.alias)
    parameters[:0] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in layer.param_names
        if name not in declared
    ]
    if parameters:
        operation["parameters"] = parameters
    if found is not None and found.body is not None:
        body = found.body
        operation["requestBody"] = {
            "required": body.default is _MISSING,
            "content": {body.media_type: {"schema": schemas[refs["(body)"]]}},
        }
    status = described.status if described is not None else 200
    response: dict[str, Any] = {"description": MESSAGES.get(status, "Response")}
    if "(response)" in refs and status not in EMPTY:
        response["content"] = {"application/json": {"schema": schemas[refs["(response)"]]}}
    responses: dict[str, Any] = {str(status): response}
    if found is not None and (found.parameters or found.body is not None):
        responses["422"] = {
            "description": "The request does not validate: every failing field is listed",
            "content": {"application/json": {"schema": {"$ref": REF.format(name="ValidationError")}}},
        }
    operation["responses"] = responses
    if described is not None:
        if described.security is not None:
            operation["security"] = [dict(item) for item in described.security]
        if described.deprecated:
            operation["deprecated"] = True
    return operation


# -- serving it ------------------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/swagger-ui-init.js"></script>
</body>
</html>
"""


def swagger_ui_files() -> FilePath:
    """Where Swagger UI's files are: the `openapi-ui-bundles` package (`pip install aiokoa[openapi]`)."""
    try:
        from openapi_ui_bundles import swagger_ui
    except ImportError as err:
        raise ImportError(
            "router.docs() serves Swagger UI from openapi-ui-bundles: install the openapi extra (.[openapi])"
        ) from err
    return FilePath(swagger_ui.static_path)


def asset(name: str, spec_url: str) -> tuple[bytes, str] | None:
    """One of the page's files: its bytes and type (the start script is written here, so
    the page needs no inline script and a strict Content-Security-Policy can allow it)."""
    if name == "swagger-ui-init.js":
        url = msgspec.json.encode(spec_url).decode()
        script = f"window.ui = SwaggerUIBundle({{url: {url}, dom_id: '#swagger-ui', deepLinking: true}});\n"
        return script.encode(), "application/javascript"
    if name not in ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"):
        return None
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return (swagger_ui_files() / name).read_bytes(), kind


def page(title: str, assets: str) -> str:
    from html import escape

    return _PAGE.format(title=escape(title), assets=escape(assets))
