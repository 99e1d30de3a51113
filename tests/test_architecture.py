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
