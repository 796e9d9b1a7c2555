"""`Router`: @koa/router's model (verbs, `use` nesting, `param`, `allowed_methods`, `url`).

What differs from @koa/router, on purpose:
- nesting is resolved when the router compiles, not when `use()` is called, so routes added
  to a child router after it was mounted are served too (koa-router silently drops them);
- `ctx.params` holds every matched layer's parameters before the first layer runs, so
  `use()` middleware sees the route's parameters; `ctx.route_path`/`ctx.route_name` name
  the matched route, never a middleware layer (koajs/router #126);
- a parameter that is not valid percent-encoding is a 400, not passed on undecoded;
- `allowed_methods(throw=True)` errors carry the `Allow` header.

A router compiles on its first request after a change: layers are made, each one's chain is
composed, and the matcher is built. A request then costs one tree walk and the chain.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar, overload

from msgspec.json import encode as json_encode

from ..core.compose import Step, adapt, chain, check_downstream, flatten
from ..core.errors import create_error
from ..core.websocket import METHOD as WEBSOCKET
from .layer import Layer, normalize_methods, url_params
from .matcher import NO_PARAMS, Hit, Matcher, compile_layer
from .openapi import asset, page
from .openapi import build as build_openapi
from .path import NoMatchFound, build_url, param_names, parse
from .typed import typed_handler

if TYPE_CHECKING:
    from ..core.compose import Middleware, Next
    from ..core.context import Context

PathSpec: TypeAlias = "str | re.Pattern[str] | list[str] | tuple[str, ...]"
HostSpec: TypeAlias = "str | Iterable[str] | re.Pattern[str] | None"
M = TypeVar("M", bound=Callable[..., Any])

DEFAULT_METHODS = ("HEAD", "OPTIONS", "GET", "PUT", "PATCH", "POST", "DELETE")
ALL_METHODS = (
    *("ACL", "BIND", "CHECKOUT", "CONNECT", "COPY", "DELETE", "GET", "HEAD", "LINK", "LOCK", "M-SEARCH", "MERGE"),
    *("MKACTIVITY", "MKCALENDAR", "MKCOL", "MOVE", "NOTIFY", "OPTIONS", "PATCH", "POST", "PROPFIND", "PROPPATCH"),
    *("PURGE", "PUT", "QUERY", "REBIND", "REPORT", "SEARCH", "SOURCE", "SUBSCRIBE", "TRACE", "UNBIND", "UNLINK"),
    *("UNLOCK", "UNSUBSCRIBE"),
)
"""What `router.all()` answers: Node's `http.METHODS`, as @koa/router uses."""


@dataclass(slots=True)
class _Def:
    """What one `router.get(...)`/`router.use(...)` registered, before any prefix."""

    path: str | re.Pattern[str]
    methods: tuple[str, ...]
    stack: list[Any]
    name: str | None
    end: bool


@dataclass(slots=True)
class _Mount:
    """`router.use([path], child)`: the child's layers, resolved when this router compiles."""

    path: str
    router: Router


@dataclass(slots=True)
class _Compiled:
    layers: list[Layer]
    matcher: Matcher
    by_name: dict[str, Layer] = field(default_factory=dict)


# -- verbs and url(), as descriptors ------------------------------------------------------


class _BoundVerb:
    """`router.get(...)`: register a route; given no middleware, the function it decorates."""

    __slots__ = ("_methods", "_router", "_verb")

    def __init__(self, router: Router, verb: str, methods: tuple[str, ...]) -> None:
        self._router = router
        self._verb = verb
        self._methods = methods

    def __call__(self, path: PathSpec, /, *middleware: Any, name: str | None = None) -> Registration:
        return self._router._verb(self._verb, self._methods, (path, *middleware), name)


class _Verb:
    __slots__ = ("methods", "verb")

    def __init__(self, *methods: str) -> None:
        self.methods = methods
        self.verb = methods[0].lower() if len(methods) == 1 else "all"

    @overload
    def __get__(self, router: None, owner: type[Router]) -> _Verb: ...
    @overload
    def __get__(self, router: Router, owner: type[Router]) -> _BoundVerb: ...
    def __get__(self, router: Router | None, owner: type[Router]) -> _Verb | _BoundVerb:
        return self if router is None else _BoundVerb(router, self.verb, self.methods)


class _Url:
    """`router.url(name, ...)` on a router; `Router.url(path, ...)` on the class (as Koa)."""

    def __get__(self, router: Router | None, owner: type[Router]) -> Callable[..., str]:
        return owner.url_for_path if router is None else router.url_for


class Registration:
    """What a verb or `router.use()` returns.

    As a decorator it adds the function below it after the middleware given (if any), and
    leaves the name bound to the function: `@router.post("/notes", require_user)` runs
    `require_user`, then the handler. Every other attribute is the router's, so Koa's
    chaining (`router.get(...).post(...)`) works as before."""

    __slots__ = ("_add", "router")

    def __init__(self, router: Router, add: Callable[[Any], object]) -> None:
        self.router = router
        self._add = add

    def __call__(self, fn: M) -> M:
        self._add(fn)
        return fn

    def __getattr__(self, name: str) -> Any:
        # Read without falling back here, so a half-made copy cannot recurse.
        return getattr(object.__getattribute__(self, "router"), name)

    def __repr__(self) -> str:
        return f"<Registration on {self.router!r}>"


class Match:
    """`router.match(path, method)`: the layers matching the path, and those that run."""

    __slots__ = ("hits", "method", "path_and_method", "route")

    def __init__(self, hits: list[Hit], method: str) -> None:
        self.hits = hits
        self.method = method
        self.path_and_method, route = _for_method(hits, method)
        self.route = route is not None

    @property
    def path(self) -> list[Layer]:
        return [hit[0] for hit in self.hits]

    @property
    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for hit in self.path_and_method:
            params.update(hit[1])
        return params

    def __repr__(self) -> str:
        return f"<Match route={self.route} path={self.path} run={[hit[0] for hit in self.path_and_method]}>"


class Router:
    """Routes requests by method and path; `app.use(router.routes())`.

    Options: `prefix` for every route, `host` (a string, several, or a compiled regex) the
    request's Host must match, `methods` this router implements (501 for others), and
    `sensitive`/`strict` (case and trailing slash). With `exclusive` only the last matching
    layer runs (`exclusive="specificity"`: the one with the fewest parameters).
    """

    def __init__(
        self,
        *,
        prefix: str = "",
        host: HostSpec = None,
        methods: Iterable[str] | None = None,
        sensitive: bool = False,
        strict: bool = False,
        exclusive: bool | str = False,
    ) -> None:
        self._prefix = _clean_prefix(prefix)
        self.host = host if host is None or isinstance(host, (str, re.Pattern)) else frozenset(host)
        self.methods = [method.upper() for method in (methods or DEFAULT_METHODS)]
        self.sensitive = sensitive
        self.strict = strict
        if exclusive not in (False, True, "specificity"):
            raise ValueError(f"exclusive must be True, False or 'specificity', got {exclusive!r}")
        self.exclusive = exclusive
        self.params: dict[str, list[Any]] = {}
        """`param()` handlers by parameter name."""
        self._entries: list[_Def | _Mount] = []
        self._parents: list[Router] = []
        self._compiled: _Compiled | None = None
        self._checked = False  # route chains with the development checks (a development app serves it)

    # -- registration ------------------------------------------------------------------

    get = _Verb("GET")
    post = _Verb("POST")
    put = _Verb("PUT")
    patch = _Verb("PATCH")
    delete = _Verb("DELETE")
    head = _Verb("HEAD")
    options = _Verb("OPTIONS")
    all = _Verb(*ALL_METHODS)
    """`router.all(path, ...)`: every method (Node's list, as @koa/router)."""
    url = _Url()
    """`router.url(name, ...)` builds a named route's URL; `Router.url(path, ...)` a pattern's."""

    def ws(self, path: PathSpec, /, *middleware: Any, name: str | None = None) -> Registration:
        """A websocket route, served through `app.ws.use(router.routes())`: `ctx.params` as
        for the verbs, `ctx.websocket` to talk. A decorator when given only the path."""
        return self._verb("ws", (WEBSOCKET,), (path, *middleware), name)

    def register(self, path: PathSpec, methods: Iterable[str], *middleware: Any, name: str | None = None) -> Router:
        """Add a route for `methods` (the verbs call this); at least one middleware."""
        self._register(path, methods, middleware, name)
        return self

    def _register(
        self, path: PathSpec, methods: Iterable[str], middleware: Iterable[Any], name: str | None
    ) -> Registration:
        names = _param_names(path)
        stack = [typed_handler(fn, names) for fn in flatten(middleware)]
        if not stack:
            raise TypeError(f"{list(methods)} {path!r}: a route needs at least one middleware")
        for fn in stack:
            _check_middleware(fn, path)
        verbs = normalize_methods(tuple(methods))
        for one in _paths(path):
            if isinstance(one, str):
                parse(one)  # a malformed pattern fails here, where it was written
            self._entries.append(_Def(one, verbs, stack, name, True))
        self._changed()

        def add(fn: Any) -> None:
            fn = typed_handler(fn, names)
            _check_middleware(fn, path)
            stack.append(fn)  # the route's defs share this one stack
            self._changed()

        return Registration(self, add)

    def _verb(self, verb: str, methods: tuple[str, ...], args: tuple[Any, ...], name: str | None) -> Registration:
        if len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], (str, re.Pattern)):
            if name is not None:
                raise TypeError(f"router.{verb}(): the name is given twice")
            name, args = args[0], args[1:]  # Koa's router.get("user", "/users/:id", ...)
        if not args:
            raise TypeError(f"router.{verb}() needs a path")
        path, middleware = args[0], args[1:]
        _check_path(path, verb)
        if middleware:
            return self._register(path, methods, middleware, name)
        return Registration(self, lambda fn: self._register(path, methods, [fn], name))

    def use(self, *args: Any) -> Registration:
        """Add middleware or nested routers, for every path or under a path (or paths).

        `use(mw)`, `use("/admin", auth, admin_router)`, `use(["/a", "/b"], mw)`; a router (or
        its `routes()`) is nested: its routes are served under this router's prefix and path,
        and its parameters and `param()` handlers are inherited. Given only a path it is a
        decorator, `@router.use("/admin")`; given middleware, it can decorate too: the function
        below is added after them.
        """
        items = list(args)
        paths: list[str | None] = [None]
        if items and isinstance(items[0], (list, tuple)) and items[0] and all(isinstance(p, str) for p in items[0]):
            paths = list(items.pop(0))
        elif items and isinstance(items[0], (str, re.Pattern)):
            first = items.pop(0)
            if isinstance(first, re.Pattern):
                raise TypeError("router.use() takes a string path; use a verb for RegExp routes")
            paths = [first]
        for path in paths:
            parse(path or "")
        items = flatten(items)
        where = () if paths == [None] else args[:1]  # the path as given, for what is added later
        if not items and not where:
            raise TypeError("router.use() needs at least one middleware or router")
        for path in paths:
            for item in items:
                child = _router_of(item)
                if child is not None:
                    self._mount(child, _clean_prefix(path or ""))
                    continue
                _check_middleware(item, path)
                if path is None or path == "":
                    self._entries.append(_Def("", (), [item], None, False))
                else:
                    self._entries.append(_Def(path, (), [item], None, path == "/"))
        self._changed()
        return Registration(self, lambda fn: self.use(*where, fn))

    def _mount(self, child: Router, path: str) -> None:
        if child is self or self in child._ancestors_and_self_below():
            raise ValueError("a router cannot be nested inside itself")
        self._entries.append(_Mount(path, child))
        if self not in child._parents:
            child._parents.append(self)

    def _ancestors_and_self_below(self) -> list[Router]:
        """Every router nested (at any depth) inside this one."""
        out: list[Router] = []
        for entry in self._entries:
            if isinstance(entry, _Mount):
                out.append(entry.router)
                out.extend(entry.router._ancestors_and_self_below())
        return out

    def param(self, name: str, handler: Callable[..., Any]) -> Router:
        """Run `handler(value, ctx, next)` before any route with parameter `name` (once per
        request, even if several matched layers have it). For loading and validating."""
        if not callable(handler):
            raise TypeError(f"param handler for {name!r} must be callable, got {handler!r}")
        self.params.setdefault(name, []).append(handler)
        self._changed()
        return self

    def prefix(self, prefix: str) -> Router:
        """Set (replace) the prefix of every route, including those already added."""
        self._prefix = _clean_prefix(prefix)
        self._changed()
        return self

    def redirect(self, source: str, destination: str, status: int = 301) -> Router:
        """Answer `source` (a path or route name) with a redirect to `destination` (a path,
        URL or route name) for every method, with `status` (301 by default)."""
        if not source.startswith("/"):
            source = self.url(source)
        if not destination.startswith("/") and "://" not in destination:
            destination = self.url(destination)
        target = destination

        async def redirect(ctx: Context, next: Next) -> None:
            _redirect(ctx, target)
            ctx.status = status

        self.all(source, redirect)
        return self

    def _changed(self) -> None:
        """Drop the compiled form here and in every router this one is nested in."""
        self._compiled = None
        for parent in self._parents:
            parent._changed()

    # -- lookup ------------------------------------------------------------------------

    def _layers(self) -> list[Layer]:
        """Every layer, nested routers flattened, with this router's prefix and handlers."""
        layers: list[Layer] = []
        for entry in self._entries:
            if isinstance(entry, _Def):
                path = entry.path
                layer = Layer(
                    path,
                    entry.methods,
                    entry.stack,
                    name=entry.name,
                    end=entry.end,
                    sensitive=self.sensitive,
                    strict=self.strict,
                )
                layers.append(_under(layer, self._prefix))
            else:
                layers.extend(_under(_under(inner, entry.path), self._prefix) for inner in entry.router._layers())
        for layer in layers:
            for name, handlers in self.params.items():
                if name in layer.param_names:
                    layer.handlers.extend((name, handler) for handler in handlers)
        return layers

    def _compile(self) -> _Compiled:
        matcher = Matcher()
        layers = self._layers()
        compiled = _Compiled(layers, matcher)
        for order, layer in enumerate(layers):
            step = chain([*_param_middleware(layer), *layer.stack], checked=self._checked)
            layer.step = _websocket_only(step) if layer._method_set == _WEBSOCKET_ROUTE else step
            compile_layer(matcher, order, layer)
            if layer.name is not None:
                compiled.by_name.setdefault(layer.name, layer)
        self._compiled = compiled
        return compiled

    @property
    def stack(self) -> list[Layer]:
        """The compiled layers, in order (nested routers' layers included)."""
        return (self._compiled or self._compile()).layers

    def match(self, path: str, method: str) -> Match:
        """The layers that match `path`, and which of them run for `method`."""
        compiled = self._compiled or self._compile()
        return Match(compiled.matcher.lookup(path), method.upper())

    def route(self, name: str) -> Layer | None:
        """The first route named `name`, or None."""
        return (self._compiled or self._compile()).by_name.get(name)

    def url_for(self, name: str, *args: Any, query: Mapping[str, Any] | str | None = None, **params: Any) -> str:
        """The URL of the route named `name`: `url("user", 3)`, `url("user", id=3, query={...})`.

        Raises `NoMatchFound` for an unknown name or a missing or unfitting parameter.
        """
        layer = self.route(name)
        if layer is None:
            raise NoMatchFound(f"no route named {name!r}")
        return layer.url(*args, query=query, **params)

    @staticmethod
    def url_for_path(path: str, *args: Any, query: Mapping[str, Any] | str | None = None, **params: Any) -> str:
        """`Router.url("/users/:id", 3)`: fill in a pattern without registering it."""
        tokens = parse(path)
        return build_url(path, tokens, url_params(param_names(tokens), args, params), query)

    # -- middleware --------------------------------------------------------------------

    def routes(self) -> RouterMiddleware:
        """The middleware that dispatches to the matching routes (`app.use(router.routes())`)."""
        return RouterMiddleware(self)

    middleware = routes

    def allowed_methods(
        self,
        *,
        throw: bool = False,
        not_implemented: Callable[[], Exception] | None = None,
        method_not_allowed: Callable[[], Exception] | None = None,
    ) -> Middleware:
        """After downstream, answer what no route did: OPTIONS with 200 and `Allow`, a known
        path with another method with 405, a method this router lacks with 501, as @koa/router."""
        router = self

        async def allowed_methods(ctx: Context, next: Next) -> None:
            await next()
            matched = ctx.matched
            if matched is None or ctx.status != 404 or ctx.header_sent:  # a streamed 404 is downstream's answer
                return
            allowed: dict[str, None] = {}
            for layer in matched:
                for method in layer.methods:
                    if method != WEBSOCKET:  # a websocket route answers no HTTP method
                        allowed[method] = None
            allow = ", ".join(allowed)
            method = ctx.method.upper()
            if method not in router.methods:
                if throw:
                    raise not_implemented() if not_implemented else create_error(501, headers={"Allow": allow})
                ctx.status = 501
                ctx.set("Allow", allow)
            elif method == "OPTIONS" and allowed:
                ctx.status = 200
                ctx.body = ""
                ctx.set("Allow", allow)
            elif allowed and method not in allowed:
                if throw:
                    raise method_not_allowed() if method_not_allowed else create_error(405, headers={"Allow": allow})
                ctx.status = 405
                ctx.set("Allow", allow)

        return allowed_methods

    # -- OpenAPI ---------------------------------------------------------------------------

    def openapi(self, *, title: str, version: str, **options: Any) -> dict[str, Any]:
        """The OpenAPI 3.1 document of every route: typed handlers' parameters, bodies and
        response models, their 422, summaries and tags (`operation()`, the docstring).
        `options`: `description`, `servers`, `security_schemes` (components' securitySchemes),
        `security` (the default requirement) and `tags`."""
        return build_openapi(self, title=title, version=version, **options)

    def docs(
        self, *, title: str, version: str, path: str = "/docs", spec: str = "/openapi.json", **options: Any
    ) -> Router:
        """Serve `openapi(...)` as JSON at `spec` and Swagger UI at `path` (its files from the
        `openapi-ui-bundles` package, not a CDN). The document is made at its first request
        and again after routes change; these routes are not in it."""
        router = self
        made: list[Any] = [None, b""]  # the compiled routes it was made from, and its JSON
        base = self._prefix + spec

        async def openapi_json(ctx: Context) -> None:
            compiled = router._compiled or router._compile()
            if made[0] is not compiled:
                made[:] = [compiled, json_encode(router.openapi(title=title, version=version, **options))]
            ctx.body = made[1]
            ctx.type = "application/json"

        async def docs_page(ctx: Context) -> None:
            ctx.body = page(title, self._prefix + path)
            ctx.type = "text/html"

        async def docs_asset(ctx: Context) -> None:
            found = asset(ctx.params["file"], base)
            if found is not None:
                ctx.body, ctx.type = found
                ctx.set("Cache-Control", "public, max-age=86400")

        for fn in (openapi_json, docs_page, docs_asset):
            fn.__aiokoa_hidden__ = True  # type: ignore[attr-defined]
        self.get(spec, openapi_json)
        self.get(path, docs_page)
        self.get(path.rstrip("/") + "/:file", docs_asset)
        return self

    def _host_matches(self, ctx: Context) -> bool:
        host = self.host
        value = getattr(ctx, "host", None) or ctx.get("host")
        if not value:
            return False
        if isinstance(host, str):
            return value == host
        if isinstance(host, re.Pattern):
            return host.search(value) is not None
        return host is not None and value in host

    def __repr__(self) -> str:
        prefix = f" prefix={self._prefix!r}" if self._prefix else ""
        return f"<Router{prefix} entries={len(self._entries)}>"


class RouterMiddleware:
    """`router.routes()`: an `async (ctx, next)` middleware that knows its router."""

    __slots__ = ("router",)

    def __init__(self, router: Router) -> None:
        self.router = router

    async def __call__(self, ctx: Context, next: Next) -> Any:
        # Hot path: runs on every request the router sees.
        router = self.router
        compiled = router._compiled or router._compile()
        if router.host is not None and not router._host_matches(ctx):
            return await next()
        hits = compiled.matcher.lookup(ctx.path)
        matched = ctx.matched
        if matched is None:
            ctx.matched = [hits[0][0]] if len(hits) == 1 else [hit[0] for hit in hits]
        else:
            matched.extend(hit[0] for hit in hits)
        ctx.router = router
        if not hits:
            return await next()
        if len(hits) == 1 and hits[0][0]._method_set:  # one route, the usual case: no lists
            route, params, error = hits[0]
            if (ctx._method or ctx.scope["method"]) not in route._method_set:  # ctx.method, inlined
                return await next()
            if error is not None:
                ctx.throw(400, error)
            base = ctx.params  # {} until a router set some
            ctx.params = {**base, **params} if base else base if params is NO_PARAMS else params
            step = route.step
        else:
            selected = _select(ctx, hits, router.exclusive)
            if selected is None:
                return await next()
            route, step = selected
        ctx.route_path = route.route_path
        ctx.route_name = route.name
        pending = ctx._pending
        result = await step(ctx, next)
        if ctx._pending is not pending:  # the route handed out a next(): was it awaited?
            check_downstream(ctx)
        return result

    def check_routes(self) -> None:
        """Compose the router's route chains with the development checks (a development
        app's chain asks this of the routers in it)."""
        router = self.router
        if not router._checked:
            router._checked = True
            router._changed()
            router._compile()  # now, not in the first request's timed step

    def __repr__(self) -> str:
        return f"<RouterMiddleware {self.router!r}>"


_WEBSOCKET_ROUTE = frozenset((WEBSOCKET,))


def _websocket_only(step: Step) -> Step:
    """A websocket route's chain: an HTTP request sent with its method is not served."""

    # A plain function handing back the chain's first awaitable: no coroutine of its own
    # stays between the router and the handler, to be resumed on every message.
    def websocket_only(ctx: Context, next: Next | None) -> Awaitable[Any]:
        if ctx.scope["type"] != "websocket":
            ctx.throw(501)
        return step(ctx, next)

    return websocket_only


def _for_method(hits: list[Hit], method: str) -> tuple[list[Hit], Layer | None]:
    """The hits that run for `method` (middleware layers and its routes), and its last route."""
    run: list[Hit] = []
    route = None
    for hit in hits:
        methods = hit[0]._method_set
        if not methods:
            run.append(hit)
        elif method in methods:
            run.append(hit)
            route = hit[0]
    return run, route


def _select(ctx: Context, hits: list[Hit], exclusive: bool | str) -> tuple[Layer, Step] | None:
    """Several matched layers (`use()` middleware, routes for other methods): the route that
    answers and the chain running every layer that applies, with their params merged."""
    run, route = _for_method(hits, ctx.method)
    if route is None:
        return None
    if exclusive and len(run) > 1:
        run = [_exclusive(run, exclusive)]
    params = dict(ctx.params)
    for _layer, layer_params, error in run:
        if error is not None:
            ctx.throw(400, error)
        if layer_params:
            params.update(layer_params)
    ctx.params = params
    if len(run) == 1:
        return route, run[0][0].step
    return route, lambda ctx, outer: _run(ctx, run, 0, outer)


def _run(ctx: Context, run: list[Hit], index: int, outer: Next) -> Any:
    """Several matched layers: each layer's chain, its last `next()` leading to the next one."""
    layer = run[index][0]
    if layer.methods:
        ctx.route_path = layer.route_path
        ctx.route_name = layer.name
    if index + 1 == len(run):
        return layer.step(ctx, outer)
    return layer.step(ctx, lambda: _run(ctx, run, index + 1, outer))


def _exclusive(run: list[Hit], mode: bool | str) -> Hit:
    if mode == "specificity":
        best = run[0]
        for hit in run[1:]:
            if len(hit[0].param_names) < len(best[0].param_names):
                best = hit
        return best
    return run[-1]


def _param_middleware(layer: Layer) -> list[Middleware]:
    """The layer's `param()` handlers, ordered by their parameter's place in the path."""
    names = layer.param_names
    ordered = sorted(layer.handlers, key=lambda item: names.index(item[0]))
    return [_param_step(name, handler) for name, handler in ordered]


def _param_step(name: str, handler: Callable[..., Any]) -> Middleware:
    async def param_middleware(ctx: Context, next: Next) -> Any:
        seen: set[Any] = ctx.__dict__.setdefault("param_handlers_run", set())  # across nested routers
        if handler in seen:
            return await next()
        seen.add(handler)
        result = handler(ctx.params.get(name), ctx, next)
        return await result if inspect.isawaitable(result) else result

    param_middleware.__qualname__ = getattr(handler, "__qualname__", "param_middleware")
    return param_middleware


def _under(layer: Layer, prefix: str) -> Layer:
    """`layer` under `prefix`; a `use()` layer without a path then matches the prefix and below."""
    if not prefix:
        return layer
    if layer.path != "" or layer.methods:
        return layer.prefixed(prefix)
    return Layer(
        prefix,
        layer.methods,
        layer.stack,
        name=layer.name,
        end=False,
        sensitive=layer.sensitive,
        strict=layer.strict,
        handlers=list(layer.handlers),
    )


def _clean_prefix(prefix: str) -> str:
    if prefix and not prefix.startswith("/"):
        raise ValueError(f"a prefix must start with '/', got {prefix!r}")
    parse(prefix)
    return prefix.rstrip("/")


def _paths(path: PathSpec) -> list[str | re.Pattern[str]]:
    if isinstance(path, (list, tuple)):
        return list(path)
    return [path]


def _param_names(path: PathSpec) -> list[str]:
    """The parameters of a route's path(s): a typed handler's parameters of these names come from it."""
    names: list[str] = []
    for one in _paths(path):
        names.extend(param_names(parse(one)) if isinstance(one, str) else one.groupindex)
    return names


def _check_path(path: object, verb: str) -> None:
    if isinstance(path, (str, re.Pattern)):
        return
    if isinstance(path, (list, tuple)) and path and all(isinstance(p, (str, re.Pattern)) for p in path):
        return
    raise TypeError(f"router.{verb}() needs a path (a string, a RegExp, or a list of them), got {path!r}")


def _router_of(item: Any) -> Router | None:
    if isinstance(item, Router):
        return item
    if isinstance(item, RouterMiddleware):
        return item.router
    return None


def _check_middleware(fn: Any, path: object) -> None:
    try:
        adapt(fn)
    except TypeError as err:
        raise TypeError(f"{path!r}: {err}") from None


def _redirect(ctx: Context, url: str) -> None:
    redirect = getattr(ctx, "redirect", None)
    if callable(redirect):
        redirect(url)
        return
    ctx.set("Location", url)
    ctx.status = 302
    ctx.body = f"Redirecting to {url}."
