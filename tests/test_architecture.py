"""The package's layers only point down, read from the source of every module.

Layer 0 is what knows nothing of applications: the ASGI signatures (`aiokoa.types`) and
the HTTP helpers (`aiokoa.http`). Layer 1 is the Koa core and the C extension it may bind.
Layer 2 is what is built on the core's public surface: the router, tracing, the test
client, mounting, the command line, the broadcast channel and `aiokoa.middleware`. Layer 3 gathers the public
names (`aiokoa`) and runs the command (`python -m aiokoa`). docs/architecture.md tells the
same. Imports inside functions count, as they run all the same; those made only for the
type checker (`if TYPE_CHECKING:`) count for the direction of the layers, not for cycles
(a module's annotations may name a class of its own package that imports it).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).parent.parent / "src" / "aiokoa"

LAYERS = {
    "aiokoa.types": 0,
    "aiokoa.http": 0,
    "aiokoa._speedups": 1,
    "aiokoa.core": 1,
    "aiokoa.router": 2,
    "aiokoa.tracing": 2,
    "aiokoa.testing": 2,
    "aiokoa.mount": 2,
    "aiokoa.cli": 2,
    "aiokoa.broadcast": 2,
    "aiokoa.middleware": 2,
    "aiokoa.__main__": 3,
    "aiokoa": 3,
}
"""The layer of each module, by its package (the longest name that is a prefix wins);
`aiokoa` is the package's `__init__` only."""

LOADS_THE_C = {"aiokoa.core.extension"}
"""The module that imports the C extension, where it can run."""

BINDS_THE_C = {"aiokoa.core.implementations"}
"""The module that uses it: every other module is unaware of the C."""


@dataclass(frozen=True)
class Import:
    """`importer` imports `target` (a module of the package), taking `names` from it."""

    importer: str
    target: str
    names: tuple[str, ...] = ()
    line: int = 0

    def __str__(self) -> str:
        taken = f" ({', '.join(self.names)})" if self.names else ""
        return f"{self.importer}:{self.line} imports {self.target}{taken}"


def module_names(root: Path) -> dict[str, Path]:
    """Every module of the package by its dotted name; a `.pyi` without its `.py` stands for
    a compiled module (the C extension)."""
    modules: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py*")):
        if path.suffix not in (".py", ".pyi") or (path.suffix == ".pyi" and path.with_suffix(".py").exists()):
            continue
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _statements(node: ast.AST, type_checking: bool) -> Iterator[ast.stmt]:
    """Every statement under `node` that runs, at import time or when a function is called:
    all of them but the body of `if TYPE_CHECKING:`, unless `type_checking`."""
    for child in ast.iter_child_nodes(node):
        if (
            not type_checking
            and isinstance(child, ast.If)
            and ast.unparse(child.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
        ):
            for statement in child.orelse:
                yield statement
                yield from _statements(statement, type_checking)
            continue
        if isinstance(child, ast.stmt):
            yield child
        yield from _statements(child, type_checking)


def imports_of(name: str, path: Path, modules: Iterable[str], type_checking: bool = False) -> list[Import]:
    """The runtime imports of one module that lead to modules of the package (and those made
    for the type checker only, with `type_checking`)."""
    known = set(modules)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Import] = []
    for node in _statements(ast.parse(path.read_text(), str(path)), type_checking):
        if isinstance(node, ast.Import):
            found += [Import(name, alias.name, (), node.lineno) for alias in node.names if alias.name in known]
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            source = node.module or "" if not node.level else ".".join(filter(None, (base, node.module)))
            names = []
            for alias in node.names:
                if f"{source}.{alias.name}" in known:  # `from . import misuse`: the module itself
                    found.append(Import(name, f"{source}.{alias.name}", (), node.lineno))
                else:
                    names.append(alias.name)
            if names and source in known:
                found.append(Import(name, source, tuple(names), node.lineno))
    return found


def import_graph(root: Path = SRC, type_checking: bool = False) -> list[Import]:
    modules = module_names(root)
    return [
        imp
        for name, path in modules.items()
        if path.suffix == ".py"
        for imp in imports_of(name, path, modules, type_checking)
    ]


def layer_of(module: str) -> int:
    owners = [key for key in LAYERS if module == key or (key != "aiokoa" and module.startswith(key + "."))]
    owner = max(owners, key=len, default=None)
    if owner is None:
        raise KeyError(f"{module} is in no layer: add its package to LAYERS (and to docs/architecture.md)")
    return LAYERS[owner]


def package_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


def upward(imports: Iterable[Import]) -> list[Import]:
    """The imports of a module from a higher layer than its own."""
    return [imp for imp in imports if layer_of(imp.target) > layer_of(imp.importer)]


def private_reach(imports: Iterable[Import]) -> list[Import]:
    """What a module above the core takes from another package that is private there: a
    `_name`, or a `_module`."""
    return [
        imp
        for imp in imports
        if layer_of(imp.importer) >= 2
        and package_of(imp.target) != package_of(imp.importer)
        and (
            any(name.startswith("_") and not name.startswith("__") for name in imp.names)
            or any(part.startswith("_") and not part.startswith("__") for part in imp.target.split("."))
        )
    ]


def cycles(imports: Iterable[Import]) -> list[list[str]]:
    """The groups of modules that import each other, directly or not (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        graph.setdefault(imp.importer, set()).add(imp.target)
        graph.setdefault(imp.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in graph[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1 or module in graph[module]:
                groups.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return groups


GRAPH = import_graph()


def test_the_graph_is_read() -> None:
    """The reader finds the imports it must find: relative, of a module, inside a function."""
    edges = {(imp.importer, imp.target) for imp in GRAPH}
    assert ("aiokoa.core.compose", "aiokoa.core.misuse") in edges  # `from . import misuse`
    assert ("aiokoa", "aiokoa.core.application") in edges
    assert ("aiokoa.router.layer", "aiokoa.router.matcher") in edges  # inside a function
    assert any(imp.target == "aiokoa._speedups" for imp in GRAPH)  # `from .. import _speedups`, in a `with`
    assert len(GRAPH) > 50


def test_every_module_has_a_layer() -> None:
    for module in module_names(SRC):
        layer_of(module)


def test_no_import_points_up() -> None:
    """Not even one for the type checker: a layer needs nothing above it to be understood."""
    assert [str(imp) for imp in upward(import_graph(type_checking=True))] == []


def test_the_http_layer_and_the_asgi_types_import_nothing_else_of_aiokoa() -> None:
    """Not even for the type checker: they make sense without an application."""
    outside = [
        str(imp)
        for imp in import_graph(type_checking=True)
        if package_of(imp.importer) in ("aiokoa.http", "aiokoa.types") and package_of(imp.target) != "aiokoa.http"
    ]
    assert outside == []


def test_nothing_above_the_core_takes_private_names() -> None:
    assert [str(imp) for imp in private_reach(GRAPH)] == []


def test_no_import_cycle() -> None:
    assert cycles(GRAPH) == []


def test_the_c_extension_is_bound_in_one_place() -> None:
    importers = {imp.importer for imp in GRAPH if imp.target == "aiokoa._speedups"}
    assert importers == LOADS_THE_C
    users = {imp.importer for imp in GRAPH if imp.target == "aiokoa.core.extension"}
    assert users == BINDS_THE_C


# -- the checks themselves catch what they must -------------------------------------------


def test_a_cycle_is_found() -> None:
    graph = [
        Import("aiokoa.core.a", "aiokoa.core.b"),
        Import("aiokoa.core.b", "aiokoa.core.c"),
        Import("aiokoa.core.c", "aiokoa.core.a"),
        Import("aiokoa.core.c", "aiokoa.http.d"),
        Import("aiokoa.router.e", "aiokoa.router.e"),
    ]
    assert cycles(graph) == [["aiokoa.core.a", "aiokoa.core.b", "aiokoa.core.c"], ["aiokoa.router.e"]]
    assert cycles(graph[:2]) == []


def test_an_upward_import_is_found() -> None:
    up = Import("aiokoa.core.application", "aiokoa.tracing", ("Tracer",), 20)
    down = Import("aiokoa.tracing", "aiokoa.core.compose", ("chain",), 25)
    assert upward([up, down]) == [up]
    assert upward([Import("aiokoa.http.url", "aiokoa.core.request")]) != []
    assert upward([Import("aiokoa.types", "aiokoa.core.context")]) != []


def test_a_private_name_taken_from_below_is_found() -> None:
    taken = Import("aiokoa.tracing", "aiokoa.core.misuse", ("describe", "_code_of"))
    module = Import("aiokoa.router.matcher", "aiokoa._speedups")
    own = Import("aiokoa.core.implementations", "aiokoa.core.response", ("_encoded_names",))
    same_package = Import("aiokoa.router.router", "aiokoa.router.matcher", ("_params",))
    assert private_reach([taken, module, own, same_package]) == [taken, module]


def test_a_module_in_no_layer_is_named() -> None:
    with pytest.raises(KeyError, match=r"aiokoa\.sessions is in no layer"):
        layer_of("aiokoa.sessions")


def test_imports_for_the_type_checker_only_are_left_out(tmp_path: Path) -> None:
    package = tmp_path / "aiokoa"
    (package / "core").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "core" / "__init__.py").write_text("")
    (package / "tracing.py").write_text("")
    (package / "core" / "a.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from ..tracing import Trace\n"
        "def f():\n"
        "    from .. import tracing\n"
        "    return tracing\n"
    )
    assert import_graph(package) == [Import("aiokoa.core.a", "aiokoa.tracing", (), 5)]
    assert import_graph(package, type_checking=True) == [
        Import("aiokoa.core.a", "aiokoa.tracing", ("Trace",), 3),
        Import("aiokoa.core.a", "aiokoa.tracing", (), 5),
    ]
