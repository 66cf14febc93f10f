"""The import graph of a package, read from its source with ``ast``, and the circles in it.

Every ``import`` counts: at module level and inside functions alike. A function-level import
delays the cost of an import, it does not make two modules independent, so a circle through one is
still a circle (two modules that need each other are one module, or share a third). Imports under
``if TYPE_CHECKING:`` do not count (they never run). An edge goes to the module named, resolved to
the deepest module of the package that exists (``from seqkit.host import plugins`` is an edge to
``seqkit.host.plugins``, ``from seqkit.io.data import cache_dir`` one to ``seqkit.io.data``); the
packages above it, whose ``__init__`` also runs, are left out: keep each ``__init__`` free of
imports of its own package's modules, and they cannot close a circle.

Point it at a plugin's package as well::

    from seqkit.testing.import_graph import import_cycles

    def test_no_import_circles():
        assert import_cycles("src/seqkit_mine") == []
"""

from __future__ import annotations

import ast
from pathlib import Path


def _modules(package_dir: Path, package: str) -> dict[str, Path]:
    found = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(not p.isidentifier() for p in parts):  # templates, data folders ...
            continue
        found[".".join([package, *parts])] = path
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, module: str, is_package: bool):
    """``(name, imported names)`` for every import statement that runs (relative ones resolved)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                if not is_package:
                    parts = parts[:-1]
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, *([base] if base else [])])
            yield base, [a.name for a in node.names]
        stack.extend(ast.iter_child_nodes(node))


def import_graph(package_dir: str | Path, package: str | None = None) -> dict[str, set[str]]:
    """``module -> modules of the same package it imports`` for the package in ``package_dir``
    (its import name defaults to the folder's name)."""
    package_dir = Path(package_dir)
    package = package or package_dir.name
    modules = _modules(package_dir, package)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        edges = set()
        for base, names in _imports(tree, name, path.name == "__init__.py"):
            targets = [f"{base}.{n}" for n in names if f"{base}.{n}" in modules] or [base]
            for target in targets:
                while target and target not in modules:  # `import a.b.c` of a name inside a.b ...
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def import_cycles(package_dir: str | Path, package: str | None = None,
                  allowed: dict[tuple[str, str], str] | None = None) -> list[list[str]]:
    """The import circles in a package: each as a list of modules, the first repeated at the end
    (``[]`` when there is none). ``allowed`` names edges ``(importer, imported)`` to leave out, each
    with the reason it is needed."""
    graph = import_graph(package_dir, package)
    for edge in allowed or {}:
        graph.get(edge[0], set()).discard(edge[1])
    cycles, state, path = [], {}, []

    def visit(node):  # depth-first; a grey node met again closes a circle
        state[node] = "grey"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "grey":
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = "black"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles
