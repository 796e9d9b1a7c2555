"""The precompiled matcher: a segment tree, so lookup cost follows the path, not the routes.

Koa's router tests every layer's regex in turn and runs every layer that matches (routes and
`use()` middleware alike, in registration order). The tree gives the same answer: each node
holds static children in a dict, one child for plain `:param` segments, a few for typed or
mixed segments (`{id:int}`, `:from-:to`), and the `*rest` wildcards that end there. A lookup
walks only the branches the path can take, collects every terminal it reaches, then puts
them back in registration order. Patterns the tree cannot hold (a wildcard that is not the
last segment, a user RegExp) go to a short list of regexes tried one by one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from ..http.url import percent_decode
from .path import Param, PathConverter, Piece, StringConverter, Text, pieces_regex, regex_source, segments, variants

if TYPE_CHECKING:
    from .layer import Layer

Spec: TypeAlias = "tuple[str, Callable[[str], Any] | None]"
Terminal: TypeAlias = "tuple[int, Layer, tuple[Spec, ...]]"
"""A route's end in the tree: its registration order, the layer, and its parameters."""
Found: TypeAlias = "list[tuple[Terminal, tuple[str, ...]]]"
"""What a walk finds: each terminal the path reaches, with the values captured on the way."""
Hit: TypeAlias = "tuple[Layer, dict[str, Any], str | None]"
"""A matched layer, its decoded parameters, and the reason they are unusable (400) or None."""

NO_PARAMS: dict[str, Any] = {}  # shared by every parameterless hit: never mutated
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class BadParam(Exception):
    """A parameter that cannot be decoded: the request is malformed (400), not unmatched."""


def decode(raw: str) -> str:
    """Percent-decode a captured value once (`+` stays `+`); malformed input is a BadParam."""
    if "%" not in raw:
        if "\x00" in raw:
            raise BadParam("NUL character in path parameter")
        return raw
    if _BAD_ESCAPE.search(raw):
        raise BadParam(f"malformed percent-encoding in path parameter {raw[:64]!r}")
    try:
        value = percent_decode(raw, errors="strict")
    except UnicodeDecodeError:
        raise BadParam(f"path parameter {raw[:64]!r} is not UTF-8") from None
    if "\x00" in value:
        raise BadParam("NUL character in path parameter")
    return value


class Node:
    __slots__ = ("ends", "param", "patterns", "prefixes", "static", "tails")

    def __init__(self) -> None:
        self.static: dict[str, Node] = {}
        self.param: Node | None = None
        self.patterns: list[tuple[re.Pattern[str], Node]] = []
        self.tails: list[tuple[Terminal, re.Pattern[str] | None]] = []
        self.ends: list[Terminal] = []  # the path ends here
        self.prefixes: list[Terminal] = []  # the path starts with this node's path (use())


class Tree:
    """The routes sharing one `sensitive`/`strict` setting (usually all of them)."""

    def __init__(self, *, sensitive: bool, strict: bool) -> None:
        self.sensitive = sensitive
        self.strict = strict
        self.root = Node()
        self._patterns: dict[tuple[int, str], tuple[re.Pattern[str], Node]] = {}

    def add(self, segs: list[tuple[Piece, ...]], terminal: Terminal, *, end: bool) -> None:
        node = self.root
        last = len(segs) - 1
        for index, seg in enumerate(segs):
            if len(seg) == 1 and isinstance(seg[0], Param) and seg[0].wildcard and index == last:
                converter = seg[0].converter
                tail = None if converter is None or isinstance(converter, PathConverter) else converter.regex
                node.tails.append((terminal, None if tail is None else re.compile(tail, re.DOTALL)))
                return
            if all(isinstance(piece, Text) for piece in seg):
                key = "".join(piece.value for piece in seg if isinstance(piece, Text))
                node = node.static.setdefault(key if self.sensitive else key.lower(), Node())
            elif len(seg) == 1 and isinstance(seg[0], Param) and seg[0].converter is None:
                if node.param is None:
                    node.param = Node()
                node = node.param
            else:
                node = self._pattern_child(node, seg)
        (node.ends if end else node.prefixes).append(terminal)

    def _pattern_child(self, node: Node, seg: tuple[Piece, ...]) -> Node:
        source = pieces_regex(seg)
        key = (id(node), source)
        found = self._patterns.get(key)
        if found is None:
            flags = 0 if self.sensitive else re.IGNORECASE
            found = self._patterns[key] = (re.compile(source, flags), Node())
            node.patterns.append(found)
        return found[1]


def _collect(root: Node, path: str, strict: bool, sensitive: bool, out: Found) -> None:
    """Every terminal of the tree at `root` that `path` reaches, with its captured values."""
    # Hot path: split once, walk the branches the path can take.
    trailing = not strict and len(path) > 1 and path[-1] == "/"
    if trailing:
        path = path[:-1]  # optional for routes; a `*rest` still captures it, as in Koa
    if path[:1] != "/":
        out.extend((terminal, ()) for terminal in root.prefixes)
        return
    if len(path) == 1:
        segs: list[str] = []
        lows = segs
    else:
        rest = path[1:]
        segs = rest.split("/")
        low = rest if sensitive else rest.lower()
        lows = segs if low == rest else low.split("/")
    count = len(segs)
    if trailing:  # past `count`, seen only by `*rest`: "/a/" leaves it "a/", "//" leaves "/"
        segs = [*segs, ""] if count else ["", ""]
    _walk(root, segs, lows, 0, count, (), out)


def _walk(  # noqa: PLR0917 - positional on purpose: this is the per-request walk
    node: Node,
    segs: list[str],
    lows: list[str],
    index: int,
    count: int,
    caps: tuple[str, ...],
    out: Found,
) -> None:
    # Hot path: follows the path in a loop while one branch can match (a static child or a
    # plain `:param`), and recurses only where several can.
    while True:
        if node.prefixes:
            for terminal in node.prefixes:
                out.append((terminal, caps))
        if index == count:
            for terminal in node.ends:
                out.append((terminal, caps))
            if node.tails:
                _tails(node, segs, index, caps, out)
            return
        seg = segs[index]
        child = node.static.get(lows[index])
        param = node.param if seg else None
        if not (node.patterns or node.tails):
            if param is not None:
                if child is not None:  # both match: walk the static branch, go on with the param
                    _walk(child, segs, lows, index + 1, count, caps, out)
                node = param
                caps = (*caps, seg)
            elif child is not None:
                node = child
            else:
                return
            index += 1
            continue
        if child is not None:
            _walk(child, segs, lows, index + 1, count, caps, out)
        if param is not None:
            _walk(param, segs, lows, index + 1, count, (*caps, seg), out)
        if seg:
            for regex, pattern_child in node.patterns:
                found = regex.fullmatch(seg)
                if found is not None:
                    _walk(pattern_child, segs, lows, index + 1, count, caps + found.groups(), out)
        if node.tails:
            _tails(node, segs, index, caps, out)
        return


def _tails(node: Node, segs: list[str], index: int, caps: tuple[str, ...], out: Found) -> None:
    """The `*rest` wildcards ending at `node`: they take what is left, empty segments too."""
    rest = "/".join(segs[index:])
    if rest:
        for terminal, tail in node.tails:
            if tail is None or tail.fullmatch(rest):
                out.append((terminal, (*caps, rest)))


class Matcher:
    """All of a router's layers (nested routers flattened), compiled for lookup."""

    def __init__(self) -> None:
        self.trees: list[Tree] = []
        self.regexes: list[tuple[Terminal, re.Pattern[str], tuple[int, ...]]] = []

    def add_pattern(
        self, terminal: Terminal, variant: tuple[Piece, ...], *, sensitive: bool, strict: bool, end: bool
    ) -> None:
        segs = segments(variant, strict=strict)
        if segs is not None and _fits_tree(segs):
            self._tree(sensitive, strict).add(segs, terminal, end=end)
            return
        flags = re.DOTALL | (0 if sensitive else re.IGNORECASE)
        regex = re.compile(regex_source(variant, strict=strict, end=end), flags)
        self.regexes.append((terminal, regex, tuple(range(1, regex.groups + 1))))

    def add_regex(self, terminal: Terminal, regex: re.Pattern[str]) -> None:
        """A user's RegExp route: its named groups are the parameters."""
        groups = tuple(sorted(regex.groupindex.values()))
        self.regexes.append((terminal, regex, groups))

    def _tree(self, sensitive: bool, strict: bool) -> Tree:
        for tree in self.trees:
            if tree.sensitive == sensitive and tree.strict == strict:
                return tree
        tree = Tree(sensitive=sensitive, strict=strict)
        self.trees.append(tree)
        return tree

    def lookup(self, path: str) -> list[Hit]:
        """Every layer matching `path`, in registration order, with its parameters."""
        # Hot path: one tree walk (per setting in use), then decode only what matched.
        found: Found = []
        for tree in self.trees:
            _collect(tree.root, path, tree.strict, tree.sensitive, found)
        if self.regexes:
            for terminal, regex, groups in self.regexes:
                match = regex.search(path)
                if match is not None:
                    found.append((terminal, tuple(match.group(index) or "" for index in groups)))
        if len(found) != 1:
            if not found:
                return []
            found.sort(key=_first_order)
        return _hits(found)


def _hits(found: Found) -> list[Hit]:
    """The hits of what the walk found (in registration order): parameters decoded and
    converted; a malformed one makes a 400 hit, a converter's ValueError no hit."""
    # Hot path.
    out: list[Hit] = []
    seen = -1
    for (order, layer, specs), caps in found:
        if order == seen:
            continue  # two variants of one pattern (`{/}`) matched the same path
        if not specs:
            out.append((layer, NO_PARAMS, None))
            seen = order
            continue
        try:
            params = _params(specs, caps)
        except BadParam as err:
            out.append((layer, {}, str(err)))
        except ValueError:
            continue  # a converter refused the value: this route does not match
        else:
            out.append((layer, params, None))
        seen = order
    return out


def _first_order(item: tuple[Terminal, tuple[str, ...]]) -> int:
    return item[0][0]


def _params(specs: tuple[Spec, ...], caps: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for (name, convert), raw in zip(specs, caps):  # noqa: B905 - one capture per spec; strict= costs 0.1 µs
        if not raw:
            continue  # an optional group's parameter that is absent (Koa leaves it out)
        value = decode(raw)
        params[name] = value if convert is None else convert(value)
    return params


def _fits_tree(segs: list[tuple[Piece, ...]]) -> bool:
    last = len(segs) - 1
    for index, seg in enumerate(segs):
        for piece in seg:
            if isinstance(piece, Param) and piece.wildcard and (index != last or len(seg) != 1):
                return False
    return True


def specs_of(variant: tuple[Piece, ...]) -> tuple[Spec, ...]:
    """The parameters a variant captures, in order, with their conversion (None: keep str)."""
    out: list[Spec] = []
    for piece in variant:
        if isinstance(piece, Param):
            converter = piece.converter
            identity = converter is None or isinstance(converter, (PathConverter, StringConverter))
            out.append((piece.name, None if identity or converter is None else converter.convert))
    return tuple(out)


def compile_layer(matcher: Matcher, order: int, layer: Layer) -> None:
    """Add one layer: each optional-group variant of its pattern, or its RegExp."""
    tokens = layer.tokens
    if tokens is None:
        assert isinstance(layer.path, re.Pattern)
        matcher.add_regex((order, layer, tuple((name, None) for name in layer.param_names)), layer.path)
        return
    for variant in variants(tokens):
        terminal = (order, layer, specs_of(variant))
        matcher.add_pattern(terminal, variant, sensitive=layer.sensitive, strict=layer.strict, end=layer.end)
