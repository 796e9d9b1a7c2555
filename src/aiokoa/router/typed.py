"""Typed route handlers: parameters validated from the request, a return value as the response.

`async def show(ctx, id: int, limit: int = 20, body: Item) -> Item` is read once, when the
route is registered: each parameter after `ctx` gets its source (the route's path
parameters by name, a `Header()`/`Cookie()`/`Query()`/`Path()` marker, a model as the
body, the query string otherwise) and a converter made by msgspec (pydantic v2 models
validate themselves). A request then only runs the converters; every field that fails is
listed in one 422. Handlers without annotated parameters are not touched.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import inspect
import re
import sys
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeAlias, Union, Unpack, get_args, get_origin

import msgspec

from ..core.body import FORM_LIMIT, LIMIT, FormOptions, Size
from ..core.errors import create_error
from ..http.forms import UploadFile


def _pydantic() -> Any:
    """pydantic, if the program imported it: a pydantic model exists only then, and an app
    without one does not pay for importing it."""
    return sys.modules.get("pydantic")


if TYPE_CHECKING:
    from ..core.compose import Next
    from ..core.context import Context

Location: TypeAlias = Literal["path", "query", "header", "cookie", "body"]
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


# -- markers ------------------------------------------------------------------------------


class Param:
    """Where a parameter comes from: `Annotated[str, Header()]`. `alias` is its name in the
    request (a header's defaults to the parameter's name with `-` for `_`)."""

    location: ClassVar[Location] = "query"
    __slots__ = ("alias", "description")

    def __init__(self, alias: str | None = None, *, description: str | None = None) -> None:
        self.alias = alias
        self.description = description

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.alias!r})" if self.alias else f"{type(self).__name__}()"


class Path(Param):
    """A path parameter: needed only for one a prefix declares (the route's own are found by name)."""

    location = "path"


class Query(Param):
    """A query parameter (what an unmarked scalar parameter is)."""


class Header(Param):
    """A request header."""

    location = "header"


class Cookie(Param):
    """A cookie."""

    location = "cookie"


class Body(Param):
    """The request body as JSON (what a model parameter is), at most `limit` bytes (1 MB
    unless given, a size as an int or a "1mb" string); `Form()` for a form."""

    location = "body"
    media_type: ClassVar[str] = "application/json"
    __slots__ = ("limit", "options")

    def __init__(self, alias: str | None = None, *, description: str | None = None, limit: Size | None = LIMIT) -> None:
        super().__init__(alias, description=description)
        self.limit = limit
        self.options: FormOptions = {}


class Form(Body):
    """The request body as a urlencoded or multipart form; `UploadFile` fields take files.
    `limit` bounds a urlencoded form (56 KB unless given); `options` are a multipart form's
    other limits (`max_file_size`, `max_files`, ...: `FormOptions`), exceeded with a 413."""

    media_type = "multipart/form-data"

    def __init__(
        self,
        alias: str | None = None,
        *,
        description: str | None = None,
        limit: Size | None = FORM_LIMIT,
        **options: Unpack[FormOptions],
    ) -> None:
        super().__init__(alias, description=description, limit=limit)
        self.options = options


@dataclasses.dataclass(frozen=True, slots=True)
class Operation:
    """What `operation(...)` adds to a route: its status and its OpenAPI description."""

    status: int = 200
    summary: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    security: tuple[Mapping[str, list[str]], ...] | None = None
    deprecated: bool = False
    operation_id: str | None = None


F = typing.TypeVar("F", bound=Callable[..., Any])


def operation(
    *,
    status: int = 200,
    summary: str | None = None,
    description: str | None = None,
    tags: Iterable[str] = (),
    security: Iterable[Mapping[str, list[str]]] | None = None,
    deprecated: bool = False,
    operation_id: str | None = None,
) -> Callable[[F], F]:
    """Describe a typed handler: the status of its response (200 by default) and its OpenAPI
    operation (the summary and description come from the docstring otherwise). Put it below
    the route's decorator."""
    found = Operation(
        status,
        summary,
        description,
        tuple(tags),
        None if security is None else tuple(security),
        deprecated,
        operation_id,
    )

    def mark(fn: F) -> F:
        fn.__aiokoa_operation__ = found  # type: ignore[attr-defined]
        return fn

    return mark


# -- what a signature says ------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class Field:
    """One failing field of a request: the 422's `details` entries."""

    location: Location
    name: str
    pointer: str
    expected: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {
            "location": self.location,
            "name": self.name,
            "pointer": self.pointer,
            "expected": self.expected,
            "message": self.message,
        }


_MISSING: Any = inspect.Parameter.empty


@dataclasses.dataclass(slots=True)
class Parameter:
    """A parameter of a typed handler, as the request fills it."""

    name: str
    location: Location
    alias: str
    annotation: Any  # the type, without Annotated's markers
    schema_type: Any  # the type as declared (with constraints), for the validator and the schema
    default: Any
    many: bool  # a list of values (query parameters repeated)
    description: str | None = None

    @property
    def required(self) -> bool:
        return self.default is _MISSING


@dataclasses.dataclass(slots=True)
class BodyParameter:
    name: str
    annotation: Any
    media_type: str
    default: Any
    decode: Callable[[bytes], Any]
    convert: Callable[[Any], Any]
    limit: Size | None = LIMIT
    options: FormOptions = dataclasses.field(default_factory=FormOptions)


@dataclasses.dataclass(slots=True)
class Signature:
    """A typed handler, read: what `openapi()` documents."""

    handler: Callable[..., Any]
    parameters: list[Parameter]
    body: BodyParameter | None
    response: Any  # the return annotation, or _MISSING
    operation: Operation
    passes_next: bool


class RegistrationError(TypeError):
    """A typed handler whose annotations cannot be validated."""


def _name(fn: Any) -> str:
    return str(getattr(fn, "__qualname__", None) or repr(fn))


def _is_next(name: str, annotation: Any) -> bool:
    if name == "next":
        return True
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return bool(re.fullmatch(r"(\w+\.)*Next|Callable\[.*", text)) or get_origin(annotation) is Callable


def is_typed(fn: Any) -> bool:
    """Whether `fn` declares a parameter after `ctx` (other than `next`) with a type, or,
    taking no `next` (whose result is Koa's return value), a return type other than None."""
    if not (inspect.isfunction(fn) or inspect.ismethod(fn)):
        return False
    signature = inspect.signature(fn)
    named = [p for p in list(signature.parameters.values())[1:] if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    takes_next = [p for p in named if _is_next(p.name, p.annotation)]
    if any(p.annotation is not _MISSING for p in named if p not in takes_next):
        return True
    returned = signature.return_annotation
    return (
        not takes_next
        and returned is not _MISSING
        and returned not in (None, "None", Any, "Any", "object")
        and not (isinstance(returned, str) and returned.startswith(("Awaitable", "Coroutine")))
    )


def _resolve(fn: Any, annotation: Any, what: str) -> Any:
    if not isinstance(annotation, str):
        return annotation
    try:
        return eval(annotation, getattr(fn, "__globals__", {}))
    except Exception as err:
        raise RegistrationError(f"{_name(fn)}(): cannot resolve the annotation of {what}: {err}") from None


def _strip(annotation: Any) -> tuple[Any, list[Any]]:
    """The type under `Annotated[...]`, and the metadata."""
    if get_origin(annotation) is Annotated:
        base, *extras = get_args(annotation)
        inner, more = _strip(base)
        return inner, [*more, *extras]
    return annotation, []


def _optional_inner(annotation: Any) -> Any:
    """`T` for `T | None`, else the annotation."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def is_model(annotation: Any) -> bool:
    """A type that is a request body by itself: a Struct, a pydantic model, a dataclass, a TypedDict."""
    annotation = _optional_inner(annotation)
    if not isinstance(annotation, type):
        return False
    return (
        issubclass(annotation, msgspec.Struct)
        or dataclasses.is_dataclass(annotation)
        or typing.is_typeddict(annotation)
        or is_pydantic(annotation)
    )


def is_pydantic(annotation: Any) -> bool:
    """Whether `annotation` is, or holds, a pydantic model: pydantic then validates all of it."""
    pydantic = _pydantic()
    if pydantic is None:
        return False
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return True
    return any(is_pydantic(arg) for arg in get_args(annotation))


def _is_many(annotation: Any) -> bool:
    origin = get_origin(_optional_inner(_strip(annotation)[0]))
    return origin in (list, set, frozenset, tuple)


def schema_hook(annotation: Any) -> dict[str, Any]:
    """The JSON schema of the one type msgspec does not know that a request may hold: a file."""
    if annotation is UploadFile:
        return {"type": "string", "format": "binary"}
    if annotation is object:  # any JSON value, as `Any` (an empty schema would be refused)
        return {"description": "any JSON value"}
    raise NotImplementedError


def _check_type(fn: Any, what: str, annotation: Any) -> None:
    """Fail now if msgspec cannot validate (and so describe) `annotation`."""
    try:
        msgspec.json.schema(annotation, schema_hook=schema_hook)
    except (TypeError, ValueError) as err:
        raise RegistrationError(f"{_name(fn)}(): {what}: unsupported type {annotation!r}: {err}") from None


def inspect_handler(fn: Any, path_names: Iterable[str]) -> Signature:
    """Read `fn`'s signature, once: every parameter's source and validator."""
    path_names = set(path_names)
    signature = inspect.signature(fn)
    parameters: list[Parameter] = []
    body: BodyParameter | None = None
    passes_next = False
    for index, parameter in enumerate(signature.parameters.values()):
        if index == 0:
            continue  # ctx
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD, parameter.POSITIONAL_ONLY):
            raise RegistrationError(f"{_name(fn)}(): parameter {parameter.name!r} must be a named parameter")
        if _is_next(parameter.name, parameter.annotation):
            passes_next = True
            continue
        if parameter.annotation is _MISSING:
            raise RegistrationError(f"{_name(fn)}(): parameter {parameter.name!r} has no type")
        declared = _resolve(fn, parameter.annotation, f"parameter {parameter.name!r}")
        base, extras = _strip(declared)
        marker = next((extra for extra in extras if isinstance(extra, Param)), None)
        if isinstance(marker, Body) or (marker is None and is_model(base)):
            if body is not None:
                raise RegistrationError(
                    f"{_name(fn)}(): parameter {parameter.name!r}: only one body parameter ({body.name!r} is one)"
                )
            body = _body_parameter(fn, parameter.name, declared, parameter.default)
            if isinstance(marker, Body):
                body.media_type, body.limit, body.options = marker.media_type, marker.limit, marker.options
            continue
        location: Location = "path" if parameter.name in path_names else "query"
        if marker is not None:
            location = marker.location
        alias = marker.alias if marker is not None and marker.alias else parameter.name
        if location == "header":  # headers are looked up by their lower-case name
            alias = (marker.alias if marker and marker.alias else parameter.name.replace("_", "-")).lower()
        many = _is_many(declared)
        if location == "path" and many:
            raise RegistrationError(f"{_name(fn)}(): path parameter {parameter.name!r} cannot be a list")
        if is_model(base) or (get_origin(base) is dict or base is dict):
            raise RegistrationError(
                f"{_name(fn)}(): parameter {parameter.name!r}: a {location} parameter takes a scalar or a list"
            )
        _check_type(fn, f"parameter {parameter.name!r}", declared)
        description = marker.description if marker is not None else None
        default = parameter.default
        parameters.append(Parameter(parameter.name, location, alias, base, declared, default, many, description))
    returned = signature.return_annotation
    response = _MISSING
    if returned is not _MISSING:
        response = _resolve(fn, returned, "the return value")
        if response in (None, type(None), Any, object):
            response = _MISSING
        elif not is_pydantic(response):
            _check_type(fn, "the return type", response)
    found = getattr(fn, "__aiokoa_operation__", None) or Operation()
    return Signature(fn, parameters, body, response, found, passes_next)


def _body_parameter(fn: Any, name: str, declared: Any, default: Any) -> BodyParameter:
    """A JSON body parameter with the default limit; a marker changes what it reads."""
    media_type = Body.media_type
    if is_pydantic(declared):
        adapter = _pydantic().TypeAdapter(declared)
        return BodyParameter(name, declared, media_type, default, adapter.validate_json, adapter.validate_python)
    _check_type(fn, f"parameter {name!r}", declared)
    decoder = msgspec.json.Decoder(declared)

    def convert(value: Any) -> Any:
        return msgspec.convert(value, declared, strict=False, from_attributes=True)

    return BodyParameter(name, declared, media_type, default, decoder.decode, convert)


# -- per request ------------------------------------------------------------------------------


def _expected(annotation: Any) -> str:
    annotation = _strip(annotation)[0]
    if isinstance(annotation, type) and get_origin(annotation) is None:
        return annotation.__name__
    return re.sub(r"\b(typing|builtins|[\w.]+)\.(\w+)", r"\2", repr(annotation))


_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_EXPECTED = re.compile(r"^Expected `([^`]+)`")


def _from_msgspec(err: msgspec.ValidationError, location: Location, name: str, annotation: Any) -> Field:
    """msgspec's `Expected `int`, got `str` - at `$.items[0].qty`` as a field."""
    found = _AT.match(str(err))
    assert found is not None
    steps = [(key or index) for key, index in _STEP.findall(found["path"] or "")]
    pointer = "".join("/" + str(step).replace("~", "~0").replace("/", "~1") for step in steps)
    expected = _EXPECTED.match(found["message"])
    message = found["message"]
    return Field(location, name, pointer, expected[1] if expected else _expected(annotation), message)


def _from_pydantic(err: Any, location: Location, name: str) -> list[Field]:
    out = []
    for error in err.errors(include_url=False):
        steps = [step for step in error["loc"] if step != "__root__"]
        pointer = "".join("/" + str(step).replace("~", "~0").replace("/", "~1") for step in steps)
        out.append(Field(location, name, pointer, str(error["type"]), str(error["msg"])))
    return out


def _sources(ctx: Context, locations: Iterable[Location]) -> dict[Location, Callable[[str, Any], Any]]:
    """Where each location's values are, read once per request: `get(name, missing)`."""
    sources: dict[Location, Callable[[str, Any], Any]] = {}
    for location in locations:
        if location == "query":
            sources[location] = ctx.query.get
        elif location == "path":
            sources[location] = ctx.params.get
        elif location == "header":
            sources[location] = ctx.headers.get  # by lower-case name, as the aliases are
        else:
            sources[location] = _cookie_getter(ctx)
    return sources


def _cookie_getter(ctx: Context) -> Callable[[str, Any], Any]:
    cookies = ctx.cookies

    def get(name: str, missing: Any) -> Any:
        value = cookies.get(name)
        return missing if value is None else value

    return get


def _raw(ctx: Context, parameter: Parameter) -> Any:
    return _sources(ctx, (parameter.location,))[parameter.location](parameter.alias, _MISSING)


def _value(parameter: Parameter, raw: Any, errors: list[Field]) -> Any:
    if raw is _MISSING:
        if parameter.default is _MISSING:
            errors.append(
                Field(parameter.location, parameter.alias, "", _expected(parameter.schema_type), "Field required")
            )
            return None
        default = parameter.default
        return copy.copy(default) if isinstance(default, (list, dict, set)) else default
    if parameter.many:
        if not isinstance(raw, list):
            raw = [raw]
    elif isinstance(raw, list):
        raw = raw[-1]  # a scalar given twice: the last one wins
    if parameter.annotation is str and type(raw) is str:
        return raw
    try:
        return msgspec.convert(raw, parameter.schema_type, strict=False)
    except msgspec.ValidationError as err:
        errors.append(_from_msgspec(err, parameter.location, parameter.alias, parameter.schema_type))
        return None


def _collect(value: Any, annotation: Any, pointer: str, out: list[Field]) -> None:
    """Every failing field of a JSON value against a type: msgspec stops at the first."""
    base = _strip(annotation)[0]
    inner = _optional_inner(base)
    if value is None and inner is not base:
        return
    fields = _fields_of(inner)
    if fields is not None and isinstance(value, dict):
        for key, (field_type, required) in fields.items():
            if key not in value:
                if required:
                    out.append(Field("body", key, f"{pointer}/{key}", _expected(field_type), "Field required"))
                continue
            _collect(value[key], field_type, f"{pointer}/{key}", out)
        return
    if get_origin(inner) is list and isinstance(value, list):
        (item_type,) = get_args(inner) or (Any,)
        for index, item in enumerate(value):
            _collect(item, item_type, f"{pointer}/{index}", out)
        return
    try:
        msgspec.convert(value, annotation, strict=True)
    except msgspec.ValidationError as err:
        field = _from_msgspec(err, "body", "", annotation)
        field.pointer = pointer + field.pointer
        field.name = pointer.rsplit("/", 1)[-1]
        out.append(field)


def _fields_of(annotation: Any) -> dict[str, tuple[Any, bool]] | None:
    """A model's fields by their JSON name: (type, required)."""
    if not isinstance(annotation, type):
        return None
    if issubclass(annotation, msgspec.Struct):
        return {f.encode_name: (f.type, f.required) for f in msgspec.structs.fields(annotation)}
    if dataclasses.is_dataclass(annotation):
        hints = typing.get_type_hints(annotation, include_extras=True)
        return {
            f.name: (
                hints[f.name],
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
            )
            for f in dataclasses.fields(annotation)
        }
    if typing.is_typeddict(annotation):
        hints = typing.get_type_hints(annotation, include_extras=True)
        required: frozenset[str] = getattr(annotation, "__required_keys__", frozenset())
        return {key: (hint, key in required) for key, hint in hints.items()}
    return None


def _body_errors(body: BodyParameter, raw: Any, err: Exception) -> list[Field]:
    if _is_invalid_json(err):
        return _from_pydantic(err, "body", body.name)
    assert isinstance(err, msgspec.ValidationError)
    out: list[Field] = []
    try:
        value = msgspec.json.decode(raw) if isinstance(raw, bytes) else raw
    except msgspec.DecodeError:  # pragma: no cover - decoding failed before validating
        value = _MISSING
    if value is not _MISSING:
        _collect(value, body.annotation, "", out)
    if not out:  # a constraint on the whole value
        out.append(_from_msgspec(err, "body", body.name, body.annotation))
    return out


def _unprocessable(errors: list[Field]) -> Exception:
    lines = "; ".join(
        f"{field.location} {field.pointer or field.name}: {field.message}".replace(" : ", ": ") for field in errors
    )
    return create_error(422, f"Invalid request: {lines}", details=[field.as_dict() for field in errors])


async def _read_body(ctx: Context, body: BodyParameter, errors: list[Field]) -> Any:
    if body.media_type == Body.media_type:
        raw = await ctx.read(body.limit)
        if not raw:
            if body.default is not _MISSING:
                return body.default
            errors.append(Field("body", body.name, "", _expected(body.annotation), "A request body is required"))
            return None
        try:
            return body.decode(raw)
        except _invalid() as err:
            if type(err) is msgspec.DecodeError:  # not JSON at all
                errors.append(Field("body", body.name, "", "JSON", f"Invalid JSON: {err}"))
            else:
                errors.extend(_body_errors(body, raw, err))
        return None
    if not ctx.headers.get("content-type") and body.default is not _MISSING:
        return body.default
    form = await ctx.form(body.limit, **body.options)
    fields = _fields_of(_optional_inner(_strip(body.annotation)[0]))
    values: dict[str, Any] = {}
    for key in form:
        many = fields is not None and key in fields and _is_many(fields[key][0])
        values[key] = form.getall(key) if many else form[key]
    try:
        return body.convert(values)
    except _invalid() as err:
        errors.extend(_body_errors(body, values, err))
        return None


def _invalid() -> tuple[type[Exception], ...]:
    """What a body that does not validate raises: msgspec's errors, and pydantic's if loaded."""
    pydantic = _pydantic()
    return (msgspec.DecodeError,) if pydantic is None else (msgspec.DecodeError, pydantic.ValidationError)


def _is_invalid_json(err: BaseException) -> bool:
    """A pydantic model's validation error (which covers malformed JSON too)."""
    pydantic = _pydantic()
    return pydantic is not None and isinstance(err, pydantic.ValidationError)


# -- responses ------------------------------------------------------------------------------


def _response_writer(response: Any) -> Callable[[Any], bytes] | None:
    if response is _MISSING:
        return None
    base = _optional_inner(_strip(response)[0])
    if is_pydantic(response):
        adapter = _pydantic().TypeAdapter(response)

        def pydantic_write(value: Any) -> bytes:
            written: bytes = adapter.dump_json(adapter.validate_python(value, from_attributes=True))
            return written

        return pydantic_write
    encode = msgspec.json.Encoder().encode
    exact = base if isinstance(base, type) and get_origin(base) is None else None  # trusted as returned
    if exact is not None and is_model(exact):

        def write_model(value: Any) -> bytes:
            if type(value) is not exact:
                value = msgspec.convert(value, response, from_attributes=True)
            return encode(value)

        return write_model
    # Anything else is checked by reading back what was written: msgspec's decoder keeps
    # what it learnt of the type, where convert() would read a generic type at every call.
    decode = msgspec.json.Decoder(response).decode
    if _holds_model(response):
        return lambda value: encode(decode(encode(value)))  # only the models' fields are sent

    def write(value: Any) -> bytes:
        written = encode(value)
        decode(written)
        return written

    return write


def _holds_model(annotation: Any) -> bool:
    return is_model(annotation) or any(_holds_model(arg) for arg in get_args(annotation))


def _reader(parameters: list[Parameter]) -> Callable[[Context, list[Field]], dict[str, Any]]:
    """What fills the parameters of a request: one conversion of them all into a Struct made
    for the route (msgspec keeps what it learnt of it); only when that fails, one parameter
    at a time, so that every failing one is listed."""
    if not parameters:
        return lambda ctx, errors: {}
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for parameter in parameters:
        default = parameter.default
        if default is _MISSING:
            fields.append((parameter.name, parameter.schema_type))
        elif isinstance(default, (list, dict, set)):
            factory = msgspec.field(default_factory=functools.partial(copy.copy, default))  # a copy per request
            fields.append((parameter.name, parameter.schema_type, factory))
        else:
            fields.append((parameter.name, parameter.schema_type, default))
    model = msgspec.defstruct("Parameters", fields)
    convert = msgspec.convert
    as_dict = msgspec.structs.asdict
    shaped = [(parameter, parameter.name, parameter.many) for parameter in parameters]

    locations = {parameter.location for parameter in parameters}

    def read(ctx: Context, errors: list[Field]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        sources = _sources(ctx, locations)
        for parameter, name, many in shaped:
            raw = sources[parameter.location](parameter.alias, _MISSING)
            if raw is not _MISSING:
                if many:
                    found[name] = raw if isinstance(raw, list) else [raw]
                else:
                    found[name] = raw[-1] if isinstance(raw, list) else raw  # given twice: the last one wins
        try:
            return as_dict(convert(found, model, strict=False))
        except msgspec.ValidationError:
            return {parameter.name: _value(parameter, _raw(ctx, parameter), errors) for parameter in parameters}

    return read


# -- the middleware ------------------------------------------------------------------------------


def typed_handler(fn: Any, path_names: Iterable[str]) -> Any:
    """`fn` as a `(ctx, next)` middleware that fills its typed parameters, or `fn` itself
    when it declares none."""
    if not is_typed(fn):
        return fn
    found = inspect_handler(fn, path_names)
    parameters = found.parameters
    body = found.body
    passes_next = found.passes_next
    write = _response_writer(found.response)
    status = found.operation.status
    read = _reader(parameters)

    async def typed(ctx: Context, next: Next) -> Any:
        errors: list[Field] = []
        kwargs = read(ctx, errors)
        if body is not None:
            kwargs[body.name] = await _read_body(ctx, body, errors)
        if errors:
            raise _unprocessable(errors)
        if passes_next:
            kwargs["next"] = next
        result = await fn(ctx, **kwargs)
        if write is not None and result is not None:
            ctx.body = write(result)
            ctx.type = "application/json"
        if status != 200 and (ctx.status == 200 or (ctx.status == 404 and ctx.body is None)):
            ctx.status = status  # the route's status, unless the handler chose another
        return None if write is not None else result

    typed.__wrapped__ = fn  # type: ignore[attr-defined]
    typed.__qualname__ = _name(fn)
    typed.__signature__ = _LAYER  # type: ignore[attr-defined]
    typed.__aiokoa_typed__ = found  # type: ignore[attr-defined]
    return typed


_LAYER = inspect.Signature([inspect.Parameter(name, inspect.Parameter.POSITIONAL_ONLY) for name in ("ctx", "next")])


def signature_of(middleware: Any) -> Signature | None:
    """The typed handler behind a route's middleware, if it is one."""
    return getattr(middleware, "__aiokoa_typed__", None)


__all__ = [
    "Body",
    "Cookie",
    "Field",
    "Form",
    "Header",
    "Operation",
    "Param",
    "Path",
    "Query",
    "RegistrationError",
    "Signature",
    "UploadFile",
    "inspect_handler",
    "is_typed",
    "operation",
    "signature_of",
    "typed_handler",
]
