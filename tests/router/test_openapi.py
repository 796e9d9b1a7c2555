"""The OpenAPI 3.1 document and the routes serving it with Swagger UI."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import pytest
from openapi_spec_validator import validate

from aiokoa import Context, Koa, Next, Router
from aiokoa.router.openapi import openapi_path
from aiokoa.router.typed import Cookie, Form, Header, Query, operation
from aiokoa.testing import TestClient

from .test_typed import Order, Person, Upload

EXPECTED = Path(__file__).parent / "data" / "typed_api.openapi.json"
EXAMPLE = Path(__file__).parents[2] / "examples" / "typed_api.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("typed_api_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # the models' annotations resolve in the module
    spec.loader.exec_module(module)
    return module


def test_the_example_apps_document_is_valid_and_as_checked_in() -> None:
    example = load_example()
    with TestClient(example.app) as client:
        document = client.get("/openapi.json").json()
    validate(document)
    assert document == json.loads(EXPECTED.read_text())


def test_every_part_of_an_operation() -> None:
    router = Router(prefix="/api")

    @router.post("/orders/:shop")
    @operation(status=201, tags=["orders"], security=[{"key": []}], deprecated=True, operation_id="newOrder")
    async def create(
        ctx: Context,
        shop: int,
        order: Order,
        key: Annotated[str, Header("x-key", description="the caller's key")],
        session: Annotated[str | None, Cookie()] = None,
        page: Annotated[int, Query("p")] = 1,
        tags: list[str] = [],
    ) -> Order:
        """Create an order.

        It is stored."""
        return order

    @router.put("/people/:name/:kind")
    async def person(ctx: Context, name: str, person: Person) -> Person:
        return person

    @router.post("/upload")
    @operation(summary="Upload", description="A file", status=204)
    async def upload(ctx: Context, form: Annotated[Upload, Form()]) -> None:
        pass

    async def plain(ctx: Context, next: Next) -> None:
        ctx.body = "plain"

    router.get("/plain/:id", plain)
    router.get("/plain-again/:id", plain)
    router.all("/any", plain)
    router.get(__import__("re").compile(r"^/regex$"), plain)
    router.use(plain)
    document = router.openapi(
        title="T",
        version="2",
        description="About",
        servers=[{"url": "https://example.com"}],
        security_schemes={"key": {"type": "apiKey", "in": "header", "name": "x-key"}},
        security=[{"key": []}],
        tags=[{"name": "orders"}],
    )
    validate(document)
    assert document["info"] == {"title": "T", "version": "2", "description": "About"}
    assert document["servers"] == [{"url": "https://example.com"}]
    assert document["security"] == [{"key": []}]
    assert document["tags"] == [{"name": "orders"}]
    create_op = document["paths"]["/api/orders/{shop}"]["post"]
    assert create_op["operationId"] == "newOrder"
    assert (create_op["summary"], create_op["description"]) == ("Create an order.", "It is stored.")
    assert create_op["tags"] == ["orders"] and create_op["deprecated"] is True
    assert create_op["security"] == [{"key": []}]
    assert create_op["parameters"] == [
        {"name": "shop", "in": "path", "required": True, "schema": {"type": "integer"}},
        {
            "name": "x-key",
            "in": "header",
            "required": True,
            "description": "the caller's key",
            "schema": {"type": "string"},
        },
        {"name": "session", "in": "cookie", "schema": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
        {"name": "p", "in": "query", "schema": {"type": "integer", "default": 1}},
        {"name": "tags", "in": "query", "schema": {"type": "array", "items": {"type": "string"}, "default": []}},
    ]
    assert create_op["requestBody"] == {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Order"}}},
    }
    assert create_op["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Order"
    }
    assert create_op["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ValidationError"
    }
    assert set(document["components"]["schemas"]) >= {"Order", "Line", "Person", "Upload", "ValidationError"}
    person_op = document["paths"]["/api/people/{name}/{kind}"]["put"]
    assert [p["name"] for p in person_op["parameters"]] == ["kind", "name"]
    upload_op = document["paths"]["/api/upload"]["post"]
    assert upload_op["summary"] == "Upload" and upload_op["description"] == "A file"
    assert "content" not in upload_op["responses"]["204"]
    form_schema = document["components"]["schemas"]["Upload"]["properties"]["file"]
    assert {"type": "string", "format": "binary"} in form_schema["anyOf"]
    assert list(upload_op["requestBody"]["content"]) == ["multipart/form-data"]
    plain_op = document["paths"]["/api/plain/{id}"]["get"]
    assert plain_op == {
        "operationId": "plain",
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "OK"}},
    }
    assert document["paths"]["/api/plain-again/{id}"]["get"]["operationId"] == "plain_2"
    any_ops = document["paths"]["/api/any"]
    assert "head" not in any_ops and any_ops["delete"]["operationId"] == "plain_delete"
    assert all("regex" not in path for path in document["paths"])


def test_paths_with_optional_groups_and_wildcards() -> None:
    router = Router()
    router.get("/files{/:name}/*rest", lambda ctx: None)
    router.get("/", lambda ctx: None)
    assert [openapi_path(layer) for layer in router.stack] == ["/files/{name}/{rest}", "/"]


def test_docs_page_and_assets_are_served_from_the_package() -> None:
    router = Router(prefix="/v1")

    @router.get("/n")
    async def n(ctx: Context, value: int = 0) -> int:
        return value

    router.docs(title="<T>", version="1", path="/api-docs", spec="/spec.json")
    app = Koa()
    app.use(router.routes())
    with TestClient(app) as client:
        page = client.get("/v1/api-docs")
        assert page.headers["content-type"].startswith("text/html")
        assert "<title>&lt;T&gt;</title>" in page.text
        assert '<script src="/v1/api-docs/swagger-ui-bundle.js">' in page.text
        script = client.get("/v1/api-docs/swagger-ui-bundle.js")
        assert script.status_code == 200 and b"SwaggerUIBundle" in script.content
        assert script.headers["cache-control"] == "public, max-age=86400"
        assert client.get("/v1/api-docs/swagger-ui.css").headers["content-type"].startswith("text/css")
        start = client.get("/v1/api-docs/swagger-ui-init.js").text
        assert 'url: "/v1/spec.json"' in start
        assert client.get("/v1/api-docs/index.html").status_code == 404  # only the page's own files
        first = client.get("/v1/spec.json").json()
        assert list(first["paths"]) == ["/v1/n"]

        @router.get("/m")
        async def m(ctx: Context) -> str:
            return "m"

        assert list(client.get("/v1/spec.json").json()["paths"]) == ["/v1/n", "/v1/m"]


def test_docs_need_the_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openapi_ui_bundles", None)
    router = Router().docs(title="T", version="1")
    app = Koa(silent=True)
    app.use(router.routes())
    with TestClient(app) as client:
        assert client.get("/docs/swagger-ui.css").status_code == 500


def regenerate() -> dict[str, Any]:
    """`python -m tests.router.test_openapi`: write the expected document again."""
    example = load_example()
    document: dict[str, Any] = example.router.openapi(
        title="Books",
        version="1.0.0",
        security_schemes={"apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
    )
    EXPECTED.write_text(json.dumps(document, indent=2) + "\n")
    return document


if __name__ == "__main__":
    regenerate()
    print(f"wrote {EXPECTED}")
