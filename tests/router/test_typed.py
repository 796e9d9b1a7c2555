"""Typed handlers: each parameter source, each model kind, the 422s, registration errors."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated, Any, Literal, TypedDict

import msgspec
import pydantic
import pytest

from aiokoa import Context, Koa, Next, Router
from aiokoa.router.typed import Body, Cookie, Form, Header, Path, Query, RegistrationError, UploadFile, operation
from aiokoa.testing import TestClient

from .conftest import MakeClient


class Line(msgspec.Struct):
    sku: str
    qty: int


class Order(msgspec.Struct):
    customer: str
    lines: list[Line]
    note: str | None = None


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


class Movie(TypedDict):
    title: str
    year: int


class Person(pydantic.BaseModel):
    name: str
    age: int = pydantic.Field(ge=0)


class Upload(msgspec.Struct):
    title: str
    count: int
    labels: list[str] = []
    file: UploadFile | None = None


class Opaque:
    pass


def details(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 422, response.text
    found: list[dict[str, str]] = response.json()["error"]["details"]
    return found


JSON = {"Accept": "application/json"}


def test_path_query_header_cookie(client: MakeClient) -> None:
    router = Router()

    @router.get("/users/:id")
    async def show(
        ctx: Context,
        id: int,
        limit: int = 20,
        tags: list[str] = [],
        agent: Annotated[str, Header("user-agent")] = "",
        x_trace: Annotated[str | None, Header()] = None,
        session: Annotated[str, Cookie()] = "none",
        order: Literal["asc", "desc"] = "asc",
    ) -> dict[str, Any]:
        tags.append("seen")
        return {"id": id, "limit": limit, "tags": tags, "agent": agent, "trace": x_trace, "session": session} | {
            "order": order
        }

    app = client(router)
    response = app.get(
        "/users/7?limit=5&tags=a&tags=b&order=desc",
        headers={"User-Agent": "probe", "X-Trace": "t1", "Cookie": "session=s1"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "id": 7,
        "limit": 5,
        "tags": ["a", "b", "seen"],
        "agent": "probe",
        "trace": "t1",
        "session": "s1",
        "order": "desc",
    }
    defaults = app.get("/users/8", headers={"User-Agent": ""}).json()
    assert defaults == {"id": 8, "limit": 20, "tags": ["seen"], "agent": "", "trace": None, "session": "none"} | {
        "order": "asc"
    }
    assert app.get("/users/8").json()["tags"] == ["seen"]  # the default list is not shared


def test_every_failing_parameter_is_listed(client: MakeClient) -> None:
    router = Router()

    @router.get("/items/:id")
    async def item(
        ctx: Context,
        id: uuid.UUID,
        limit: Annotated[int, msgspec.Meta(le=100)],
        token: Annotated[str, Header("x-token")],
        flag: bool = False,
    ) -> None:
        ctx.body = "ok"

    app = client(router)
    found = details(app.get("/items/nope?limit=500&flag=maybe", headers=JSON))
    assert found == [
        {"location": "path", "name": "id", "pointer": "", "expected": "UUID", "message": "Invalid UUID"},
        {
            "location": "query",
            "name": "limit",
            "pointer": "",
            "expected": "int",
            "message": "Expected `int` <= 100",
        },
        {"location": "header", "name": "x-token", "pointer": "", "expected": "str", "message": "Field required"},
        {"location": "query", "name": "flag", "pointer": "", "expected": "bool"}
        | {"message": "Expected `bool`, got `str`"},
    ]
    text = app.get("/items/nope?limit=500")
    assert text.status_code == 422
    assert text.headers["content-type"].startswith("text/plain")
    assert "path id: Invalid UUID; query limit" in text.text
    ok = app.get(f"/items/{uuid.uuid4()}?limit=5&flag=true", headers={"x-token": "t"})
    assert (ok.status_code, ok.text) == (200, "ok")


def test_struct_body_and_all_its_errors(client: MakeClient) -> None:
    router = Router()

    @router.post("/orders")
    @operation(status=201)
    async def create(ctx: Context, order: Order) -> Order:
        return order

    app = client(router)
    sent = {"customer": "ada", "lines": [{"sku": "a", "qty": 2}]}
    response = app.post("/orders", json=sent)
    assert response.status_code == 201
    assert response.json() == {**sent, "note": None}
    bad = {"lines": [{"sku": "a", "qty": "two"}, {"qty": 1}], "note": 3}
    found = details(app.post("/orders", json=bad, headers=JSON))
    assert [(f["location"], f["pointer"], f["expected"]) for f in found] == [
        ("body", "/customer", "str"),
        ("body", "/lines/0/qty", "int"),
        ("body", "/lines/1/sku", "str"),
        ("body", "/note", "str | null"),
    ]
    assert found[0]["message"] == "Field required"
    invalid = details(app.post("/orders", content=b"{oops", headers={**JSON, "content-type": "application/json"}))
    assert invalid[0]["expected"] == "JSON"
    assert invalid[0]["message"].startswith("Invalid JSON")
    empty = details(app.post("/orders", headers=JSON))
    assert empty[0]["message"] == "A request body is required"


def test_dataclass_typeddict_and_list_bodies(client: MakeClient) -> None:
    router = Router()

    @router.post("/points")
    async def point(ctx: Context, point: Point) -> Point:
        return Point(point.x * 2, point.y)

    @router.post("/movies")
    async def movie(ctx: Context, movie: Movie) -> list[Movie]:
        return [movie, movie]

    @router.post("/numbers")
    async def numbers(ctx: Context, values: Annotated[list[int], Body()] = []) -> int:
        return sum(values)

    app = client(router)
    assert app.post("/points", json={"x": 2}).json() == {"x": 4, "y": 0}
    assert details(app.post("/points", json={"y": "a"}, headers=JSON))[0]["pointer"] == "/x"
    assert app.post("/movies", json={"title": "M", "year": 1931}).json() == [{"title": "M", "year": 1931}] * 2
    found = details(app.post("/movies", json={"title": 1}, headers=JSON))
    assert {f["pointer"] for f in found} == {"/title", "/year"}
    assert app.post("/numbers", json=[1, 2, 3]).json() == 6
    assert app.post("/numbers").json() == 0
    assert details(app.post("/numbers", json=[1, "x"], headers=JSON))[0]["pointer"] == "/1"


def test_pydantic_models(client: MakeClient) -> None:
    router = Router()

    @router.put("/people/:name")
    async def update(ctx: Context, name: str, person: Person) -> Person:
        return person.model_copy(update={"name": name})

    @router.get("/people")
    async def people(ctx: Context) -> list[Person]:
        return [Person(name="a", age=1)]

    app = client(router)
    assert app.put("/people/bo", json={"name": "x", "age": 3}).json() == {"name": "bo", "age": 3}
    found = details(app.put("/people/bo", json={"age": -1}, headers=JSON))
    assert [(f["pointer"], f["expected"]) for f in found] == [("/name", "missing"), ("/age", "greater_than_equal")]
    assert app.get("/people").json() == [{"name": "a", "age": 1}]


def test_form_bodies_with_files(client: MakeClient) -> None:
    router = Router()

    @router.post("/upload")
    async def upload(ctx: Context, form: Annotated[Upload, Form()]) -> dict[str, Any]:
        data = form.file.file.read() if form.file else b""
        return {"title": form.title, "count": form.count, "labels": form.labels, "file": data.decode()}

    app = client(router)
    sent = app.post(
        "/upload", data={"title": "t", "count": "3", "labels": ["x", "y"]}, files={"file": ("a.txt", b"hello")}
    )
    assert sent.json() == {"title": "t", "count": 3, "labels": ["x", "y"], "file": "hello"}
    urlencoded = app.post("/upload", data={"title": "t", "count": "1"})
    assert urlencoded.json() == {"title": "t", "count": 1, "labels": [], "file": ""}
    found = details(app.post("/upload", data={"count": "many"}, headers=JSON))
    assert [(f["pointer"], f["expected"]) for f in found] == [("/title", "str"), ("/count", "int")]


def test_body_and_form_markers_carry_their_limits(client: MakeClient) -> None:
    router = Router()

    @router.post("/upload")
    async def upload(ctx: Context, form: Annotated[Upload, Form(max_file_size=4, max_files=1)]) -> int:
        return len(form.file.file.read()) if form.file else 0

    @router.post("/short")
    async def short(ctx: Context, form: Annotated[Upload, Form(limit=20)]) -> str:
        return form.title

    @router.post("/sum")
    async def total(ctx: Context, values: Annotated[list[int], Body(limit=8)]) -> int:
        return sum(values)

    app = client(router)
    fields = {"title": "t", "count": "1"}
    assert app.post("/upload", data=fields, files={"file": ("a", b"four")}).json() == 4
    big = app.post("/upload", data=fields, files={"file": ("a", b"fives")})
    assert (big.status_code, big.text) == (413, "file 'a' is larger than the limit of 4b (4 bytes)")
    two = app.post("/upload", data=fields, files=[("file", ("a", b"1")), ("file", ("b", b"2"))])
    assert two.status_code == 413
    assert app.post("/short", data=fields).json() == "t"
    assert app.post("/short", data={**fields, "title": "t" * 30}).status_code == 413
    assert app.post("/sum", json=[1, 2]).json() == 3
    assert app.post("/sum", json=[1, 2, 3, 4]).status_code == 413
    assert app.post("/upload", data=fields, files={"file": ("a", b"ok")}).json() == 2  # the app goes on


def test_next_and_plain_handlers_are_untouched(client: MakeClient) -> None:
    router = Router()
    seen: list[str] = []

    async def plain(ctx: Context, next: Next) -> None:
        seen.append("plain")
        await next()

    @router.get("/chain/:id", plain)
    async def typed(ctx: Context, next: Next, id: int) -> None:
        seen.append(f"typed {id}")
        await next()

    @router.get("/chain/:id")
    async def last(ctx: Context) -> None:
        ctx.body = "end"

    assert router.stack[0].stack[0] is plain
    app = client(router)
    assert app.get("/chain/3").text == "end"
    assert seen == ["plain", "typed 3"]


def test_route_status_and_handlers_setting_the_body(client: MakeClient) -> None:
    router = Router()

    @router.delete("/things/:id")
    @operation(status=204)
    async def remove(ctx: Context, id: int) -> None:
        pass

    @router.post("/things")
    @operation(status=202)
    async def queue(ctx: Context, count: int = 1) -> None:
        ctx.body = {"queued": count}

    @router.get("/bad")
    async def bad(ctx: Context, count: int = 1) -> Line:
        return {"sku": 1}  # type: ignore[return-value]

    app = client(router)
    assert app.delete("/things/1").status_code == 204
    queued = app.post("/things?count=2")
    assert (queued.status_code, queued.json()) == (202, {"queued": 2})
    assert app.get("/bad").status_code == 500  # a response the model refuses is the server's fault


def test_path_parameter_from_a_prefix(client: MakeClient) -> None:
    child = Router()

    @child.get("/items")
    async def items(ctx: Context, shop: Annotated[int, Path()], q: Annotated[str, Query("search")] = "") -> list[Any]:
        return [shop, q]

    parent = Router()
    parent.use("/shops/:shop", child)
    app = client(parent)
    assert app.get("/shops/4/items?search=x").json() == [4, "x"]


def test_error_event_hears_the_422() -> None:
    router = Router()

    @router.get("/n")
    async def n(ctx: Context, value: int) -> int:
        return value

    app = Koa(silent=True)
    heard: list[int] = []
    app.on("error", lambda err, ctx: heard.append(err.status))
    app.use(router.routes())
    with TestClient(app) as test_client:
        assert test_client.get("/n?value=x").status_code == 422
    assert heard == [422]  # the error event hears it, as any error the app answers

    def formatter(ctx: Context, err: BaseException, status: int, message: str) -> tuple[str, str]:
        return "text/plain", f"custom {status} {len(getattr(err, 'details', []))}"

    app.error_formatter = formatter
    with TestClient(app) as test_client:
        assert test_client.get("/n").text == "custom 422 1"


def test_registration_errors_name_the_handler_and_parameter() -> None:
    router = Router()

    async def no_type(ctx: Context, id: int, other) -> None:  # type: ignore[no-untyped-def]
        pass

    with pytest.raises(RegistrationError, match=r"no_type\(\): parameter 'other' has no type"):
        router.get("/a/:id", no_type)

    async def opaque(ctx: Context, value: Opaque) -> None:
        pass

    with pytest.raises(RegistrationError, match=r"opaque\(\): parameter 'value': unsupported type"):
        router.get("/b", opaque)

    async def two(ctx: Context, a: Point, b: Point) -> None:
        pass

    with pytest.raises(RegistrationError, match=r"two\(\): parameter 'b': only one body parameter"):
        router.post("/c", two)

    async def listed_path(ctx: Context, id: list[int]) -> None:
        pass

    with pytest.raises(RegistrationError, match="cannot be a list"):
        router.get("/d/:id", listed_path)

    async def mapping(ctx: Context, q: dict[str, int]) -> None:
        pass

    with pytest.raises(RegistrationError, match="takes a scalar or a list"):
        router.get("/e", mapping)

    async def unknown(ctx: Context, q: Missing) -> None:  # type: ignore[name-defined]  # noqa: F821
        pass

    with pytest.raises(RegistrationError, match=r"unknown\(\): cannot resolve the annotation of parameter 'q'"):
        router.get("/f", unknown)

    async def bad_return(ctx: Context, q: int) -> Opaque:
        return Opaque()

    with pytest.raises(RegistrationError, match=r"bad_return\(\): the return type: unsupported type"):
        router.get("/g", bad_return)

    async def star(ctx: Context, *args: int) -> int:
        return 1

    with pytest.raises(RegistrationError, match="'args' must be a named parameter"):
        router.get("/h", star)


def test_single_and_repeated_values_and_whole_value_constraints(client: MakeClient) -> None:
    router = Router()

    @router.get("/q")
    async def q(ctx: Context, tags: list[str], n: int = 0) -> list[Any]:
        return [tags, n]

    @router.post("/few")
    async def few(ctx: Context, values: Annotated[list[int], Body(), msgspec.Meta(max_length=2)]) -> int:
        return len(values)

    @router.post("/form")
    async def form(ctx: Context, upload: Annotated[Upload | None, Form()] = None) -> str:
        return "none" if upload is None else upload.title

    @router.post("/orders")
    async def orders(ctx: Context, order: Order) -> str:
        return order.customer

    app = client(router)
    assert app.get("/q?tags=a&n=1&n=2").json() == [["a"], 2]  # a scalar given twice: the last one
    missing = details(app.get("/q", headers=JSON))
    assert (missing[0]["expected"], missing[0]["message"]) == ("list[str]", "Field required")
    too_many = details(app.post("/few", json=[1, 2, 3], headers=JSON))
    assert too_many == [
        {
            "location": "body",
            "name": "values",
            "pointer": "",
            "expected": "array",
            "message": "Expected `array` of length <= 2",
        }
    ]
    assert app.post("/form").json() == "none"
    null_note = details(app.post("/orders", json={"customer": 1, "lines": [], "note": None}, headers=JSON))
    assert [f["pointer"] for f in null_note] == ["/customer"]


def test_markers_and_signatures_read_without_strings() -> None:
    assert repr(Header("x-a")) == "Header('x-a')" and repr(Cookie()) == "Cookie()"

    class Callable_:
        async def __call__(self, ctx: Context, value: int) -> None:
            pass

    from aiokoa.router.typed import inspect_handler, is_typed

    assert not is_typed(Callable_())  # an object with __call__ stays a plain middleware

    async def real(ctx, value, flag=False):  # type: ignore[no-untyped-def]
        return value

    real.__annotations__ = {"value": int, "flag": bool, "return": int}
    found = inspect_handler(real, [])
    assert [(p.name, p.annotation) for p in found.parameters] == [("value", int), ("flag", bool)]
    assert found.response is int


def test_without_pydantic_nothing_is_a_pydantic_model(monkeypatch: pytest.MonkeyPatch) -> None:
    from aiokoa.router.typed import is_pydantic

    monkeypatch.setitem(__import__("sys").modules, "pydantic", None)
    assert not is_pydantic(Person)
