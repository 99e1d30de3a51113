"""The shape of the engine: the core never pulls in the interop stack, nothing is global."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_importing_the_core_does_not_import_fhir_or_xml_libraries() -> None:
    code = (
        "import sys, ketenzorg; from ketenzorg import caseformat, Engine; Engine();"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('lxml', 'fhir', 'pydantic')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_core_modules_never_import_interop() -> None:
    from pathlib import Path

    core = Path(__file__).resolve().parent.parent / "src" / "ketenzorg"
    offenders = [
        path.name
        for path in core.glob("*.py")
        # the command line (with its disclosure, bulk export and monitoring commands, which write FHIR)
        # and its loading of input files are edges, like interop itself
        if path.name not in ("cli.py", "bulkcli.py", "disclosurecli.py", "loading.py", "monitorcli.py")
        and "ketenzorg.interop" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_every_library_the_package_imports_is_a_declared_dependency() -> None:
    """A plain `pip install .` (the quick start) must bring everything the code imports."""
    import ast
    import re
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    # a store backend's driver comes with its extra (`pip install 'ketenzorg[postgresql]'`); that it
    # is only ever imported where a store of that kind is opened is tested below
    dependencies = [*project["dependencies"], *project["optional-dependencies"]["postgresql"]]
    declared = {re.split(r"[<>=!~ \[]", dep, maxsplit=1)[0].lower() for dep in dependencies}
    distribution = {"attr": "attrs", "fhir": "fhir.resources"}
    imported: set[str] = set()
    for path in (root / "src" / "ketenzorg").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    third_party = {m for m in imported if m not in sys.stdlib_module_names and m != "ketenzorg"}
    assert third_party, "the scan found no imports"
    missing = sorted(distribution.get(m, m) for m in third_party if distribution.get(m, m) not in declared)
    assert missing == [], f"imported but not declared in [project.dependencies]: {missing}"


# --- start-up: what each entry point loads ----------------------------------------------------------

HEAVY = ("importlib.metadata", "lxml", "fhir", "pydantic", "cryptography", "psycopg", "psycopg_binary")
"""Libraries the core loads only when a feature needs them (entry points, FHIR, signatures, PostgreSQL)."""
ENGINE_STACK = ("attr", "attrs", "cattrs", "orjson", "pluggy", "ketenzorg.engine", "ketenzorg.case")
"""What the engine itself needs: ``import ketenzorg`` and ``ketenzorg --version`` load none of it."""


def _loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code`` (its last line of output)."""
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(result.stdout.strip().splitlines()[-1].split())


def _among(loaded: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in loaded if any(m == n or m.startswith(n + ".") for n in names))


def test_the_postgresql_driver_is_imported_only_by_a_postgresql_module_or_inside_a_function() -> None:
    """psycopg is an optional extra: no module loads it at import time but the PostgreSQL backend's
    own (``postgresql.py``), which is imported only when a ``postgresql://`` store is opened."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "src" / "ketenzorg"
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:  # module level only
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            if path.name != "postgresql.py" and any(n.split(".")[0].startswith("psycopg") for n in names):
                offenders.append(str(path.relative_to(root)))
    assert offenders == []


def test_importing_the_package_loads_neither_the_engine_nor_heavy_libraries() -> None:
    loaded = _loaded_after("import ketenzorg")
    assert _among(loaded, HEAVY + ENGINE_STACK) == []
    assert _among(loaded, ("ketenzorg",)) == ["ketenzorg", "ketenzorg._version"]


def test_an_engine_without_entry_points_does_not_load_importlib_metadata() -> None:
    loaded = _loaded_after("from ketenzorg import Engine\nEngine()")
    assert "ketenzorg.engine" in loaded  # the probe did build an engine
    assert _among(loaded, HEAVY) == []


def test_the_version_is_printed_without_loading_the_engine() -> None:
    code = "from ketenzorg.cli import main\ntry:\n    main(['--version'])\nexcept SystemExit:\n    pass"
    loaded = _loaded_after(code)
    assert "ketenzorg.cli" in loaded
    assert _among(loaded, HEAVY + ENGINE_STACK + ("ketenzorg.messages", "ketenzorg.errors")) == []


def test_every_public_name_resolves_lazily_to_its_defining_module() -> None:
    """``__all__``, the lazy table and the imports type checkers read name the same objects."""
    import ast
    import importlib
    from pathlib import Path

    import ketenzorg

    init = Path(ketenzorg.__file__ or "").read_text(encoding="utf-8")
    typed: dict[str, str] = {}
    for node in ast.parse(init).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom)
                assert stmt.module
                typed.update({alias.name: stmt.module for alias in stmt.names})
    lazy = {name: module for module, names in ketenzorg._EXPORTS.items() for name in names}
    assert typed == lazy
    assert sorted(ketenzorg.__all__) == sorted([*lazy, "__version__"])
    assert set(ketenzorg.__all__) <= set(dir(ketenzorg))
    for name, module in lazy.items():
        assert getattr(ketenzorg, name) is getattr(importlib.import_module(module), name), name


def test_the_plugin_interface_types_are_public() -> None:
    """What a plugin's result, settings and conference kinds are made of is importable from the package."""
    import ketenzorg

    interface = {"PlanTask", "TaskStatus", "ResultLevel", "Action", "ConferenceKind", "Missing", "Condition"}
    assert interface | {"Setting", "Settings", "Text", "Message"} <= set(ketenzorg.__all__)


def test_star_import_dir_and_submodules_work_in_a_fresh_interpreter() -> None:
    code = (
        "import ketenzorg\n"
        "listed = set(dir(ketenzorg))\n"
        "from ketenzorg import *\n"
        "missing = [n for n in ketenzorg.__all__ if n not in globals() or n not in listed]\n"
        "assert missing == [], missing\n"
        "assert ketenzorg.engine.Engine is Engine  # a submodule the eager import used to load\n"
        "Engine()"
    )
    assert "ketenzorg.engine" in _loaded_after(code)


def test_an_unknown_name_is_an_attribute_error() -> None:
    import ketenzorg

    with pytest.raises(AttributeError, match="'Engin'"):
        ketenzorg.Engin  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(ImportError, match="'Engin'"):
        from ketenzorg import Engin  # type: ignore[attr-defined]  # noqa: F401
