"""Import-linter contract types of the project (registered in pyproject.toml's `contract_types`)."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def _is_servicer(name: str) -> bool:
    return name.endswith("Servicer") or (name.startswith("add_") and name.endswith("_to_server"))


def _servicer_names(module: str, generated: str) -> list[tuple[int, str]]:
    """The servicer names (`*Servicer`, `add_*_to_server`) `module` takes from the generated module `generated`."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return []
    tree = ast.parse(Path(spec.origin).read_text())
    aliases: set[str] = set()
    used: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == generated:
            used += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            aliases |= {a.asname or a.name for a in node.names if f"{node.module}.{a.name}" == generated}
        elif isinstance(node, ast.Import):
            aliases |= {a.asname or a.name for a in node.names if a.name == generated}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            used.append((node.lineno, node.attr))
    return [(line, name) for line, name in used if _is_servicer(name)]


class ServicersOnlyInEntrypoints(Contract):
    """Generated gRPC servicers (`*Servicer`, `add_*_to_server`) are imported only by `entrypoints` packages.

    Configuration options:
        - source_modules: the packages whose modules are checked.
    """

    type_name = "servicers_only_in_entrypoints"
    source_modules = fields.SetField(subfield=fields.ModuleExpressionField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        sources = {expression.expression for expression in self.source_modules}  # type: ignore[attr-defined]
        violations = []
        for package in sources:
            for module in sorted(graph.find_descendants(package) | {package}):
                if ".entrypoints" in module:
                    continue
                for imported in sorted(graph.find_modules_directly_imported_by(module)):
                    if not imported.endswith("_pb2_grpc"):
                        continue
                    violations += [
                        f"{module}:{line} imports {name}" for line, name in _servicer_names(module, imported)
                    ]
        return ContractCheck(kept=not violations, warnings=[], metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for violation in check.metadata["violations"]:
            output.print_error(f"-   {violation} (only entrypoints may serve gRPC)", bold=False)
        output.new_line()
