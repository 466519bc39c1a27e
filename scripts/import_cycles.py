"""Find import cycles among the project's own modules, counting imports inside functions.

Python hides a cycle that an import inside a function dodges at load time, but the two
modules still depend on each other. This script reads every module of the project's
packages with ``ast`` (nothing is imported or run), draws an edge for every import of a
project module wherever it stands (module level, inside a function, under
``TYPE_CHECKING``), and prints each strongly connected group of two or more modules.

Importing ``a.b.c`` also runs ``a/__init__`` and ``a/b/__init__``, so those count as
edges too, except a module's own parent packages (a package importing its submodules and
the submodules importing their siblings is how packages work, not a cycle).

Usage: python scripts/import_cycles.py [PACKAGE ...]   (exit 1 when a cycle is found)
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("annotation", "config", "core", "scoring", "training")
SKIPPED_PARTS = {"migrations", "__pycache__"}


def module_files(root: Path, packages: Sequence[str]) -> dict[str, Path]:
    """Dotted module name -> file, for every module below the given packages."""
    modules: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root)
            if SKIPPED_PARTS & set(relative.parts):
                continue
            parts = list(relative.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _absolute(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute name a relative import (``from ..x import y``) refers to."""
    if level == 0:
        return name or ""
    base = module.split(".")
    if not is_package:
        base.pop()
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def imported_names(module: str, path: Path) -> set[str]:
    """Every dotted name the module imports, wherever the import statement stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, is_package, node.level, node.module)
            names.add(target)
            # `from pkg import sub` imports the submodule pkg.sub when there is one.
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return names


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the project modules it imports (and whose package __init__ it runs)."""
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        own_parents = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
        targets: set[str] = set()
        for name in imported_names(module, path):
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                candidate = ".".join(parts[:i])
                if candidate in modules and candidate not in own_parents:
                    targets.add(candidate)
        targets.discard(module)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of two or more modules (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterable[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return sorted(groups)


def find_cycles(root: Path = REPO_ROOT, packages: Sequence[str] = PACKAGES) -> list[list[str]]:
    """The import cycles among the project's modules under ``root``."""
    present = [package for package in packages if (root / package).is_dir()]
    return cycles(import_graph(module_files(root, present)))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    found = find_cycles(REPO_ROOT, args or PACKAGES)
    if not found:
        print("no import cycles")
        return 0
    for group in found:
        print("cycle: " + " <-> ".join(group))
    return 1


if __name__ == "__main__":
    sys.exit(main())
