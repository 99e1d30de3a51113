"""The shape of the FHIR interop package: one concept per module, one direction of dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

INTEROP = Path(__file__).resolve().parents[2] / "src" / "ketenzorg" / "interop"
MAX_LINES = 600
GENERATED_OR_DATA = {"r4layout_gen.py"}


def _modules() -> dict[str, Path]:
    found = {f"ketenzorg.interop.{p.stem}": p for p in INTEROP.glob("*.py") if p.stem != "__init__"}
    for package in INTEROP.iterdir():
        if package.is_dir() and (package / "__init__.py").exists():
            for p in package.glob("*.py"):
                name = f"ketenzorg.interop.{package.name}"
                found[name if p.stem == "__init__" else f"{name}.{p.stem}"] = p
    return found


def _imports(path: Path) -> set[str]:
    """Every ketenzorg module a file imports, at module level or inside a function."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("ketenzorg"))
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").startswith("ketenzorg")
        ):
            module = str(node.module)
            out.add(module)
            out.update(f"{module}.{a.name}" for a in node.names)
    return out


def test_no_module_of_interop_is_over_the_size_limit() -> None:
    sizes = {
        name: len(path.read_text(encoding="utf-8").splitlines())
        for name, path in _modules().items()
        if path.name not in GENERATED_OR_DATA
    }
    assert sizes, "found no modules"
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_interop_never_imports_the_command_line() -> None:
    offenders = {
        name: sorted(i for i in _imports(path) if i.startswith(("ketenzorg.cli", "ketenzorg.loading")))
        for name, path in _modules().items()
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_import_cycle_inside_interop() -> None:
    modules = _modules()
    graph = {
        name: {i for i in _imports(path) if i in modules and i != name} for name, path in modules.items()
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


@pytest.mark.parametrize("name", ["fhir", "export", "read", "definitions"])
def test_the_mapping_modules_exist(name: str) -> None:
    assert f"ketenzorg.interop.{name}" in _modules()
