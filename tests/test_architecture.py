"""The shape of the engine: the core never pulls in the interop stack, nothing is global."""

from __future__ import annotations

import subprocess
import sys


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
        if path.name != "cli.py" and "ketenzorg.interop" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_every_library_the_package_imports_is_a_declared_dependency() -> None:
    """A plain `pip install .` (the quick start) must bring everything the code imports."""
    import ast
    import re
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    declared = {
        re.split(r"[<>=!~ \[]", dep, maxsplit=1)[0].lower()
        for dep in tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"][
            "dependencies"
        ]
    }
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
