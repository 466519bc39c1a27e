"""Architecture contracts of our own for import-linter (configured in pyproject.toml).

- `public_api`: code outside a domain package imports only the names its `__init__`
  exports (`from annotation.quality import compute_agreement`), never its modules
  (`annotation.quality.agreement`). Inside the package, modules import each other freely.
- `private_names`: no module imports a private name (`_x`, not a dunder) from another
  module; a name other modules need is made public where it is defined.

Both read the graph grimp builds (imports anywhere in a module, inside functions too);
`private_names` also reads the import statements themselves, since the graph records
which modules import each other but not the names they take.
"""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from importlinter import Contract, ContractCheck, fields, output


@dataclass(frozen=True, order=True)
class Violation:
    importer: str
    line: int
    message: str


def _render(check: ContractCheck, guidance: str) -> None:
    for item in check.metadata["violations"]:
        output.print_error(f"- {item.importer}:{item.line} {item.message}", bold=False)
    output.new_line()
    output.print(guidance)


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


class PublicApiContract(Contract):
    """Modules outside each listed package import the package, never its submodules."""

    type_name = "public_api"

    packages = fields.ListField(subfield=fields.StringField())

    def check(self, graph: Any, verbose: bool) -> ContractCheck:
        violations: list[Violation] = []
        for package in self.packages:  # type: ignore[attr-defined]
            for submodule in sorted(graph.find_descendants(package)):
                for importer in sorted(graph.find_modules_that_directly_import(submodule)):
                    if _inside(importer, package):
                        continue
                    for detail in graph.get_import_details(importer=importer, imported=submodule):
                        violations.append(
                            Violation(
                                importer,
                                detail["line_number"],
                                f"imports {submodule}; import its names from {package}",
                            )
                        )
        return ContractCheck(kept=not violations, metadata={"violations": sorted(violations)})

    def render_broken_contract(self, check: ContractCheck) -> None:
        _render(
            check,
            "Export the name from the package's __init__ (and its __all__) and import it "
            "from the package.",
        )


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _source_file(module: str, roots: dict[str, Path]) -> Path | None:
    """The file of `module`, found from its root package's folder without importing it."""
    top, *rest = module.split(".")
    root = roots.get(top)
    if root is None:
        return None
    base = root.joinpath(*rest)
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def private_name_imports(module: str, path: Path, modules: set[str]) -> list[Violation]:
    """Imports in `path` (module `module`) of private names from other project modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Violation] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            target = ".".join([*base, node.module] if node.module else base)
        else:
            target = node.module or ""
        if target == module or target not in modules:
            continue
        for alias in node.names:
            if _is_private(alias.name) and f"{target}.{alias.name}" not in modules:
                found.append(
                    Violation(module, node.lineno, f"imports the private {target}.{alias.name}")
                )
    return found


class PrivateNamesContract(Contract):
    """No module imports another module's private names."""

    type_name = "private_names"

    def check(self, graph: Any, verbose: bool) -> ContractCheck:
        # External packages appear in the graph squashed to one node: only ours are read.
        modules = {module for module in graph.modules if not graph.is_module_squashed(module)}
        tops = {module.split(".")[0] for module in modules}
        roots: dict[str, Path] = {}
        for top in tops:
            spec = importlib.util.find_spec(top)
            if spec is not None and spec.origin and spec.origin.endswith("__init__.py"):
                roots[top] = Path(spec.origin).parent
        violations: list[Violation] = []
        for module in sorted(modules):
            path = _source_file(module, roots)
            if path is not None:
                violations += private_name_imports(module, path, modules)
        return ContractCheck(kept=not violations, metadata={"violations": sorted(violations)})

    def render_broken_contract(self, check: ContractCheck) -> None:
        _render(
            check,
            "Make the name public in the module that owns it (drop the underscore), "
            "or move it to the module that uses it.",
        )
