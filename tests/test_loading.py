"""Loading input files (ketenzorg.loading): one place for every command, the caller's engine judges
a bundle, and whatever ketenzorg writes within the limits it reads back (tested at the boundary)."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from factories import run_cli
from ketenzorg import caseformat, limits, loading
from ketenzorg.cli import main
from ketenzorg.demo import walk
from ketenzorg.disclosure import Recipient
from ketenzorg.engine import Engine
from ketenzorg.errors import OutputLimitError
from ketenzorg.interop import safeinput, validate, validate_structure
from ketenzorg.interop.fhir import case_to_bundle
from ketenzorg.interop.validate import is_valid, validate_bundle
from ketenzorg.policy import Policy

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "ketenzorg"


def _three_goals_case() -> Any:
    """A demo step whose plan has three active work goals (the default Top 3 allows them)."""
    case = walk(Engine())[3].case
    assert case.state.plan is not None
    assert sum(1 for g in case.state.plan.work_goals if g.status.value == "active") == 3
    return case


# --- validation uses the caller's engine --------------------------------------------------------------


def test_validation_judges_the_case_by_the_callers_policy() -> None:
    bundle = case_to_bundle(_three_goals_case(), recipient=Recipient.internal(), engine=Engine())
    assert is_valid(validate_bundle(bundle, engine=Engine()))
    outcome = validate_bundle(bundle, engine=Engine(Policy(max_active_goals=1)))
    found = [i for i in outcome["issue"] if i["severity"] == "error"]
    assert found, "a policy of one active goal refuses a plan of three"
    assert all(i["code"] == "business-rule" for i in found)
    assert all(e.endswith(".goal") for i in found for e in i["expression"])


def test_validate_and_import_on_the_command_line_use_the_policy_file(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.json"
    bundle.write_bytes(
        orjson.dumps(case_to_bundle(_three_goals_case(), recipient=Recipient.internal(), engine=Engine()))
    )
    policy = tmp_path / "policy.json"
    policy.write_bytes(orjson.dumps({"max_active_goals": 1}))
    assert run_cli("validate", str(bundle)).returncode == 0
    refused = run_cli("validate", str(bundle), "--policy", str(policy))
    assert refused.returncode == 1, refused.stderr
    # the plan's own Top 3 check, under the file's policy (not only a phase change re-decided by it)
    assert re.search(r"\.goal: 3 active work goals, at most 1", refused.stdout), refused.stdout
    imported = run_cli("import", str(bundle), "--policy", str(policy))
    assert imported.returncode == 1, imported.stderr
    assert imported.stdout == ""


# --- the shape: one loader, interop never reaches back, strict libraries only when strict ------------


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_interop_never_imports_the_command_line_or_its_loading() -> None:
    offenders = {
        path.name: sorted(n for n in _imports(path) if n in ("ketenzorg.cli", "ketenzorg.loading"))
        for path in (SRC / "interop").glob("*.py")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_command_line_no_longer_reads_files_itself() -> None:
    tree = ast.parse((SRC / "cli.py").read_text(encoding="utf-8"))
    defined = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    assert not defined & {"_read", "_load_json", "_load_document", "_load_case", "_load_replayed"}
    assert "ketenzorg.loading" not in {n.module for n in tree.body if isinstance(n, ast.ImportFrom)}, (
        "loaded lazily, by the commands, never at start-up"
    )


def test_validation_without_strict_loads_no_models(tmp_path: Path) -> None:
    """fhir.resources and pydantic are loaded by ``strict=True`` only, also for an unreadable resource."""
    bundle = case_to_bundle(walk(Engine())[-1].case, recipient=Recipient.internal(), engine=Engine())
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    patient["name"][0]["text"] = ["x"]  # the case reader cannot read it: a refinement would load the models
    path = tmp_path / "bundle.json"
    path.write_bytes(orjson.dumps(bundle))
    code = (
        "import sys, orjson\n"
        "from ketenzorg.engine import Engine\n"
        "from ketenzorg.interop.validate import validate_bundle\n"
        f"out = validate_bundle(orjson.loads(open({str(path)!r}, 'rb').read()), engine=Engine())\n"
        "assert out['issue'][0]['severity'] == 'error'\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fhir', 'pydantic')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# --- the limits: stated once, in the README, and tested at the boundary --------------------------------


def test_the_readme_states_each_limit_as_the_code_has_it() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(MAX_[A-Z_]+)` \| ([\d,]+)", readme, flags=re.MULTILINE))
    expected = {name: getattr(limits, name) for name in limits.__all__}
    assert {name: int(value.replace(",", "")) for name, value in rows.items()} == expected


def _set_byte_limit(monkeypatch: pytest.MonkeyPatch, value: int) -> None:
    for module in (loading, safeinput):
        monkeypatch.setattr(module, "MAX_BYTES", value)


def _set_entry_limit(monkeypatch: pytest.MonkeyPatch, value: int) -> None:
    for module in (loading, validate, validate_structure):
        monkeypatch.setattr(module, "MAX_ENTRIES", value)


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def case_file(tmp_path: Path) -> Path:
    path = tmp_path / "case.json"
    path.write_bytes(caseformat.dumps(walk(Engine())[-1].case))
    return path


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_export_exactly_at_the_byte_limit_is_written_and_read_back(
    fmt: str,
    case_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _cli(
        capsys, "export", str(case_file), "--for", "internal", "--log", os.devnull, "--format", fmt
    )
    assert code == 0
    size = len(out.encode("utf-8"))
    assert len(case_file.read_bytes()) < size  # so the case itself is read under the same limit
    _set_byte_limit(monkeypatch, size)
    code, again, err = _cli(
        capsys, "export", str(case_file), "--for", "internal", "--log", os.devnull, "--format", fmt
    )
    assert (code, again) == (0, out), err
    exported = tmp_path / f"bundle.{fmt}"
    exported.write_bytes(again.encode("utf-8"))
    code, case_json, err = _cli(capsys, "import", str(exported))
    assert code == 0, err
    assert caseformat.loads(case_json.encode()).case_id == caseformat.loads(case_file.read_bytes()).case_id


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_export_one_byte_over_the_limit_is_refused_not_written(
    fmt: str,
    case_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _cli(
        capsys, "export", str(case_file), "--for", "internal", "--log", os.devnull, "--format", fmt
    )
    size = len(out.encode("utf-8"))
    _set_byte_limit(monkeypatch, size - 1)
    code, written, err = _cli(
        capsys, "export", str(case_file), "--for", "internal", "--log", os.devnull, "--format", fmt
    )
    assert code == 1
    assert written == ""
    assert "MAX_BYTES" in err
    assert f"{size:,} bytes of {fmt.upper()}" in err
    over = tmp_path / f"bundle.{fmt}"
    over.write_bytes(out.encode("utf-8"))
    code, _, err = _cli(capsys, "import", str(over))  # and the reader refuses the same file
    assert code == 2
    assert f"larger than {size - 1} bytes" in err


def test_convert_to_xml_refuses_what_the_xml_reader_would_refuse(
    case_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The XML form is larger than compact JSON: a JSON bundle within the limit may have no XML form
    within it; ``convert`` says so instead of writing XML that ``convert`` itself cannot read."""
    _, bundle, _ = _cli(capsys, "export", str(case_file), "--for", "internal", "--log", os.devnull)
    source = tmp_path / "bundle.json"
    source.write_bytes(orjson.dumps(orjson.loads(bundle)))
    _, xml, _ = _cli(capsys, "convert", str(source), "--to", "xml")
    assert len(xml.encode("utf-8")) > len(source.read_bytes())
    _set_byte_limit(monkeypatch, len(xml.encode("utf-8")))
    code, again, err = _cli(capsys, "convert", str(source), "--to", "xml")
    assert (code, again) == (0, xml), err
    _set_byte_limit(monkeypatch, len(xml.encode("utf-8")) - 1)
    code, again, err = _cli(capsys, "convert", str(source), "--to", "xml")
    assert (code, again) == (1, "")
    assert "MAX_BYTES" in err


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_entry_limit_at_the_boundary(
    fmt: str,
    case_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, out, _ = _cli(
        capsys, "export", str(case_file), "--for", "internal", "--log", os.devnull, "--format", fmt
    )
    entries = len(
        case_to_bundle(
            caseformat.loads(case_file.read_bytes()), recipient=Recipient.internal(), engine=Engine()
        )["entry"]
    )
    exported = tmp_path / f"bundle.{fmt}"
    exported.write_bytes(out.encode("utf-8"))
    _set_entry_limit(monkeypatch, entries)
    assert _cli(capsys, "export", str(case_file), "--for", "internal", "--log", os.devnull, "--format", fmt)[
        :2
    ] == (0, out)
    assert _cli(capsys, "import", str(exported))[0] == 0
    _set_entry_limit(monkeypatch, entries - 1)
    code, written, err = _cli(
        capsys, "export", str(case_file), "--for", "internal", "--log", os.devnull, "--format", fmt
    )
    assert (code, written) == (1, "")
    assert f"{entries:,} entries" in err  # the XML writer itself already refuses it, like the reader
    assert f"at most {entries - 1}" in err
    code, _, err = _cli(capsys, "import", str(exported))
    assert code == 2
    assert f"{entries} entries: a bundle may hold at most {entries - 1}" in err


def test_ensure_loadable_names_a_nesting_limit_it_would_break(monkeypatch: pytest.MonkeyPatch) -> None:
    deep = b'{"a":' * 70 + b"1" + b"}" * 70
    with pytest.raises(OutputLimitError) as caught:
        loading.ensure_loadable(deep, "json", what="out.json")
    assert "nested deeper than 64" in str(caught.value)
    assert str(caught.value).startswith("out.json: ")
    assert loading.ensure_loadable(b'{"a":1}', "json", what="out.json") == b'{"a":1}'
