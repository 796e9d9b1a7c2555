"""A layer: one route (`router.get(...)`) or one `router.use(...)` middleware, fully prefixed.

Routers keep what was registered, unprefixed; layers are made from it when a router compiles,
with the prefixes of every router above applied, so `ctx.matched` and `ctx.route_path` show
the full pattern. A layer's middleware (its `param()` handlers first) is composed once, then.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..core.compose import Step, chain
from .path import Token, build_url, param_names, parse

_NOTHING: Step = chain(())  # a layer's step until its router compiles it


def normalize_methods(methods: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Upper-case, no duplicates, and HEAD with GET (Koa puts HEAD first: `Allow: HEAD, GET`)."""
    out: list[str] = []
    for method in methods:
        upper = method.upper()
        if upper == "GET" and "HEAD" not in out:
            out.insert(0, "HEAD")
        if upper not in out:
            out.append(upper)
    return tuple(out)


class Layer:
    """A route or middleware layer: `path` (the full pattern), `methods` (empty for `use()`
    middleware), `name`, `param_names`, and `stack` (its middleware, in order)."""

    __slots__ = (
        "_method_set",
        "_tokens",
        "end",
        "handlers",
        "methods",
        "name",
        "param_names",
        "path",
        "route_path",
        "sensitive",
        "stack",
        "step",
        "strict",
    )

    def __init__(
        self,
        path: str | re.Pattern[str],
        methods: tuple[str, ...],
        stack: list[Any],
        *,
        name: str | None = None,
        end: bool = True,
        sensitive: bool = False,
        strict: bool = False,
        handlers: list[tuple[str, Any]] | None = None,
    ) -> None:
        self.path = path
        self.route_path = path if isinstance(path, str) else path.pattern
        """The pattern as `ctx.route_path` shows it."""
        self.methods = normalize_methods(methods)
        self._method_set = frozenset(self.methods)
        self.stack = stack
        self.name = name
        self.end = end
        self.sensitive = sensitive
        self.strict = strict
        self.handlers: list[tuple[str, Any]] = handlers or []
        """`param()` handlers that apply to this layer: (parameter name, handler)."""
        self.step: Step = _NOTHING
        if isinstance(path, str):
            self._tokens: tuple[Token, ...] | None = parse(path)
            self.param_names = param_names(self._tokens)
        else:
            self._tokens = None
            self.param_names = list(path.groupindex)

    @property
    def tokens(self) -> tuple[Token, ...] | None:
        return self._tokens

    def accepts(self, method: str) -> bool:
        """Whether this layer runs for `method`: middleware runs for any."""
        return not self._method_set or method in self._method_set

    def prefixed(self, prefix: str) -> Layer:
        """A copy under `prefix` (Koa's `setPrefix`: a root route becomes the prefix itself)."""
        if not prefix or not isinstance(self.path, str):
            return self
        path = prefix if self.path == "/" and not self.strict else prefix + self.path
        return Layer(
            path,
            self.methods,
            self.stack,
            name=self.name,
            end=self.end,
            sensitive=self.sensitive,
            strict=self.strict,
            handlers=list(self.handlers),
        )

    def url(self, *args: Any, query: Mapping[str, Any] | str | None = None, **params: Any) -> str:
        """This route's URL: `url(3)`, `url({"id": 3})`, `url(id=3)`, with `query=` too."""
        if self._tokens is None:
            raise TypeError(f"cannot build a URL for a regular-expression route ({self.path!r})")
        return build_url(str(self.path), self._tokens, url_params(self.param_names, args, params), query)

    def match(self, path: str) -> bool:
        """Whether `path` matches this layer alone (a convenience; routers never call it)."""
        from .matcher import Matcher, compile_layer

        matcher = Matcher()
        compile_layer(matcher, 0, self)
        return bool(matcher.lookup(path))

    def __repr__(self) -> str:
        methods = ",".join(self.methods) or "use"
        name = f" {self.name!r}" if self.name else ""
        return f"<Layer {methods} {self.path!r}{name}>"


def url_params(names: list[str], args: tuple[Any, ...], params: Mapping[str, Any]) -> dict[str, Any]:
    """Koa's `url()` argument forms: one mapping, or values in parameter order; plus keywords."""
    if len(args) == 1 and isinstance(args[0], Mapping):
        return {**args[0], **params}
    if len(args) > len(names):
        raise TypeError(f"{len(args)} values given for {len(names)} parameters {names}")
    return {**dict(zip(names, args, strict=False)), **params}
