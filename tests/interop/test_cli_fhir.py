"""The FHIR commands of the command line (export, import, merge, validate, evaluate on a bundle),
run as a user would: in a subprocess, checking output, exit codes and the files written."""

from __future__ import annotations

import functools
import json
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from factories import as_exported, shipped_engine
from factories import run_cli as run
from ketenzorg import (
    CareSetting,
    CareSettingChanged,
    CareSettingKind,
    Case,
    Engine,
    Location,
    ScoreGiven,
    caseformat,
)
from ketenzorg.demo import P_POLICE, SECRET_SHELTER
from ketenzorg.demo import walk as _walk
from ketenzorg.disclosure import Recipient
from ketenzorg.interop.definitions import CASE_ID, PARTY_ID, X_SECRET_LOCATION
from ketenzorg.interop.fhir import case_to_bundle
from ketenzorg.interop.terminology import code_system

AT = "2026-10-06T12:00:00+00:00"


@functools.cache
def walk() -> list[Any]:
    return _walk()


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    result = run("demo", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "bundle.json" in result.stdout
    return out


@pytest.fixture(scope="module")
def phase_2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo case in phase 2 (after the Top 3 plan), as case JSON."""
    path = tmp_path_factory.mktemp("phase2") / "case.json"
    path.write_bytes(caseformat.dumps(walk()[3].case))
    return path


def partner_score(
    value: Any = 4, *, note: str | None = "Contactverbod overtreden (synthetisch)."
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "identifier": [
            {"system": "https://politie.example.org/fhir/obs", "value": f"obs-{value}-{note is None}"}
        ],
        "status": "final",
        "code": {"coding": [{"system": code_system("observation-kind"), "code": "safety-score"}]},
        "basedOn": [{"identifier": {"system": CASE_ID, "value": walk()[3].case.case_id}}],
        "performer": [{"identifier": {"system": PARTY_ID, "value": P_POLICE.id}}],
        "effectiveDateTime": "2026-03-20T10:00:00+01:00",
        "valueInteger": value,
    }
    if note is not None:
        resource["note"] = [{"text": note}]
    return resource


def partner_bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:uuid:0c11f41e-0000-4000-8000-{n:012d}", "resource": r}
            for n, r in enumerate(resources)
        ],
    }


def _score_index(bundle: dict[str, Any]) -> int:
    return next(
        i
        for i, e in enumerate(bundle["entry"])
        if e["resource"]["resourceType"] == "Observation" and "valueInteger" in e["resource"]
    )


# --- demo and validate ---------------------------------------------------------------------------


def test_demo_writes_a_bundle_that_validate_accepts(demo_dir: Path) -> None:
    path = demo_dir / "bundle.json"
    bundle = json.loads(path.read_text(encoding="utf-8"))
    assert bundle["resourceType"] == "Bundle"
    assert bundle == json.loads(
        json.dumps(
            case_to_bundle(
                caseformat.loads((demo_dir / "case.json").read_bytes()),
                recipient=Recipient.internal(),
                engine=shipped_engine(),
            )
        )
    )
    assert SECRET_SHELTER.name not in path.read_text(encoding="utf-8")
    result = run("validate", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no problems found" in result.stdout
    assert " error " not in result.stdout


def test_validate_json_prints_the_operation_outcome(demo_dir: Path) -> None:
    result = run("validate", str(demo_dir / "bundle.json"), "--json")
    assert result.returncode == 0
    outcome = json.loads(result.stdout)
    assert outcome["resourceType"] == "OperationOutcome"
    assert [(i["severity"], i["code"]) for i in outcome["issue"]] == [("information", "informational")]


def test_validate_strict(demo_dir: Path, tmp_path: Path) -> None:
    assert run("validate", "--strict", str(demo_dir / "bundle.json")).returncode == 0
    bundle = json.loads((demo_dir / "bundle.json").read_text(encoding="utf-8"))
    patient = next(i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == "Patient")
    bundle["entry"][patient]["resource"]["colour"] = "rood"
    path = write_json(tmp_path / "extra.json", bundle)
    assert run("validate", str(path)).returncode == 0  # the fast layers do not look at unknown elements
    strict = run("validate", "--strict", str(path))
    assert strict.returncode == 1
    assert f"Bundle.entry[{patient}].resource: an element that FHIR R4 does not define here" in strict.stdout
    assert "colour" not in strict.stdout  # a name sent is not repeated


def test_an_invalid_bundle_exits_1_with_the_locations(demo_dir: Path, tmp_path: Path) -> None:
    bundle = json.loads((demo_dir / "bundle.json").read_text(encoding="utf-8"))
    first = _score_index(bundle)
    bundle["entry"][first]["resource"]["valueInteger"] = 11
    del bundle["entry"][first + 1]["resource"]["note"]
    path = write_json(tmp_path / "bad.json", bundle)
    result = run("validate", str(path))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(
        f"Bundle.entry[{first}].resource.valueInteger" in line and "11 is not in 0..10" in line
        for line in lines
    )
    assert any(f"Bundle.entry[{first + 1}].resource.note" in line for line in lines)
    assert all(line.startswith(f"{path}: ") for line in lines)
    as_json = run("validate", str(path), "--json")
    assert as_json.returncode == 1
    expressions = [i["expression"][0] for i in json.loads(as_json.stdout)["issue"]]
    assert expressions == [
        f"Bundle.entry[{first}].resource.valueInteger",
        f"Bundle.entry[{first + 1}].resource.note",
    ]


def test_validate_a_partner_bundle(tmp_path: Path) -> None:
    path = write_json(tmp_path / "partner.json", partner_bundle(partner_score()))
    result = run("validate", str(path))
    assert result.returncode == 0
    assert "case-level rules not applied" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "neither a FHIR resource nor a ketenzorg case document"),
        ('"Bundle"', "neither a FHIR resource nor a ketenzorg case document"),
        ('{"resourceType": "Patient"}', "expected a Bundle"),
    ],
    ids=["not-json", "array", "string", "patient"],
)
def test_validate_unusable_input_exits_2(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "input.json"
    path.write_text(content, encoding="utf-8")
    result = run("validate", str(path))
    assert result.returncode == 2
    assert str(path) in result.stderr
    assert message in result.stderr
    assert result.stdout == ""


def test_validate_a_bundle_that_does_not_read_as_a_case(demo_dir: Path, tmp_path: Path) -> None:
    bundle = json.loads((demo_dir / "bundle.json").read_text(encoding="utf-8"))
    del bundle["entry"][0]["resource"]["name"]  # our own organisation
    path = write_json(tmp_path / "noname.json", bundle)
    result = run("validate", str(path))
    assert result.returncode == 1
    assert "Bundle.entry[0]" in result.stdout + result.stderr


# --- export and import ---------------------------------------------------------------------------


def test_export_prints_a_collection_bundle(demo_dir: Path) -> None:
    result = run("export", str(demo_dir / "case.json"), "--for", "internal", "--log", os.devnull)
    assert result.returncode == 0, result.stderr
    bundle = json.loads(result.stdout)
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "collection"
    assert bundle == json.loads((demo_dir / "bundle.json").read_text(encoding="utf-8"))
    assert SECRET_SHELTER.name not in result.stdout


def test_export_a_transaction(demo_dir: Path) -> None:
    result = run(
        "export",
        str(demo_dir / "case.json"),
        "--for",
        "internal",
        "--log",
        os.devnull,
        "--type",
        "transaction",
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr
    bundle = json.loads(result.stdout)
    assert bundle["type"] == "transaction"
    urls = []
    for entry in bundle["entry"]:
        resource, request = entry["resource"], entry["request"]
        assert request["method"] == "PUT"
        rtype, _, query = request["url"].partition("?identifier=")
        assert rtype == resource["resourceType"]
        system, _, value = query.partition("|")
        identifier = resource["identifier"]
        first = identifier[0] if isinstance(identifier, list) else identifier
        assert unquote(system) == first["system"]
        assert unquote(value) == first["value"]
        # Percent-encoded: nothing in the value that would break the query string.
        assert re.fullmatch(r"[A-Za-z0-9\-._~%]+", value), request["url"]
        urls.append(request["url"])
    assert len(set(urls)) == len(urls)
    assert any("%23" in u for u in urls)  # event ids like plan#goal travel encoded


def test_export_rejects_an_unknown_type(demo_dir: Path) -> None:
    result = run(
        "export", str(demo_dir / "case.json"), "--for", "internal", "--log", os.devnull, "--type", "batch"
    )
    assert result.returncode == 2
    assert result.stdout == ""


def test_import_gives_back_the_demo_case(demo_dir: Path) -> None:
    result = run("import", str(demo_dir / "bundle.json"))
    assert result.returncode == 0, result.stderr
    imported = caseformat.loads(result.stdout)
    original = caseformat.loads((demo_dir / "case.json").read_bytes())
    assert imported == as_exported(original)
    assert imported != original  # only because the secret location's name and id stayed home
    assert SECRET_SHELTER.name not in result.stdout
    assert SECRET_SHELTER.id not in result.stdout
    assert json.loads(result.stdout)["format"] == caseformat.FORMAT_NAME


def test_import_of_a_transaction_gives_the_same_case(demo_dir: Path, tmp_path: Path) -> None:
    exported = run(
        "export",
        str(demo_dir / "case.json"),
        "--for",
        "internal",
        "--log",
        os.devnull,
        "--type",
        "transaction",
    )
    path = tmp_path / "transaction.json"
    path.write_text(exported.stdout, encoding="utf-8")
    imported = run("import", str(path))
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout == run("import", str(demo_dir / "bundle.json")).stdout


def test_import_of_a_broken_bundle_exits_1_with_the_location(demo_dir: Path, tmp_path: Path) -> None:
    bundle = json.loads((demo_dir / "bundle.json").read_text(encoding="utf-8"))
    index = _score_index(bundle)
    bundle["entry"][index]["resource"]["valueInteger"] = 11
    path = write_json(tmp_path / "bad.json", bundle)
    result = run("import", str(path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"Bundle.entry[{index}].resource" in result.stderr


def test_evaluate_a_bundle_like_the_case(demo_dir: Path) -> None:
    on_bundle = run("evaluate", str(demo_dir / "bundle.json"), "--json", "--at", AT)
    on_case = run("evaluate", str(demo_dir / "case.json"), "--json", "--at", AT)
    assert on_bundle.returncode == on_case.returncode == 0, on_bundle.stderr
    assert json.loads(on_bundle.stdout) == json.loads(on_case.stdout)
    assert json.loads(on_bundle.stdout)["phase"] == 3
    text = run("evaluate", str(demo_dir / "bundle.json"), "--at", AT)
    assert "Current phase: phase 3 (recovery care)" in text.stdout


# --- merge ---------------------------------------------------------------------------------------


def test_merge_writes_the_new_case(phase_2: Path, tmp_path: Path) -> None:
    partner = write_json(tmp_path / "partner.json", partner_bundle(partner_score(4)))
    out = tmp_path / "new.json"
    result = run("merge", str(phase_2), str(partner), "--from", P_POLICE.id, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "merged 1 event(s)" in result.stdout
    before = caseformat.loads(phase_2.read_bytes())
    new = caseformat.loads(out.read_bytes())
    assert new.events[: len(before.events)] == before.events
    assert len(new.events) == len(before.events) + 1
    event = new.events[-1]
    assert isinstance(event, ScoreGiven)
    assert (event.party_id, event.score) == (P_POLICE.id, 4)
    assert event.rationale == "Contactverbod overtreden (synthetisch)."
    # The merged score now proposes the relapse.
    at = "2026-03-20T12:00:00+01:00"
    assert json.loads(run("evaluate", str(phase_2), "--json", "--at", at).stdout)["relapse"] is None
    decision = run("evaluate", str(out), "--json", "--at", at)
    assert decision.returncode == 0
    assert json.loads(decision.stdout)["relapse"]["to_phase"] == 1
    # Merging the same bundle again into the new case adds nothing.
    again = run("merge", str(out), str(partner), "--from", P_POLICE.id)
    assert again.returncode == 0
    assert caseformat.loads(again.stdout) == new


def test_merge_without_out_prints_the_case(phase_2: Path, tmp_path: Path) -> None:
    partner = write_json(tmp_path / "partner.json", partner_bundle(partner_score(6)))
    result = run("merge", str(phase_2), str(partner), "--from", P_POLICE.id)
    assert result.returncode == 0, result.stderr
    new = caseformat.loads(result.stdout)
    assert new.events[-1].type == "score_given"


def test_merge_reports_warnings_on_stderr(phase_2: Path, tmp_path: Path) -> None:
    condition = {"resourceType": "Condition", "code": {"text": "Synthetisch"}}
    partner = write_json(tmp_path / "partner.json", partner_bundle(partner_score(6), condition))
    out = tmp_path / "new.json"
    result = run("merge", str(phase_2), str(partner), "--from", P_POLICE.id, "--out", str(out))
    assert result.returncode == 0
    assert "warning [not-supported] Bundle.entry[1].resource" in result.stderr
    assert out.exists()


def test_a_refused_merge_exits_1_and_writes_nothing(phase_2: Path, tmp_path: Path) -> None:
    partner = write_json(
        tmp_path / "partner.json", partner_bundle(partner_score(4, note=None), partner_score(11))
    )
    out = tmp_path / "new.json"
    result = run("merge", str(phase_2), str(partner), "--from", P_POLICE.id, "--out", str(out))
    assert result.returncode == 1
    assert not out.exists()
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if " error " in line]
    assert len(lines) == 2
    assert "Bundle.entry[0].resource.note" in lines[0]
    assert "Bundle.entry[1].resource.valueInteger" in lines[1]
    assert all(line.startswith(f"{partner}: ") for line in lines)


def test_merge_with_an_unusable_bundle_file_exits_2(phase_2: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    out = tmp_path / "new.json"
    result = run("merge", str(phase_2), str(broken), "--from", P_POLICE.id, "--out", str(out))
    assert result.returncode == 2
    assert "not valid JSON" in result.stderr
    assert not out.exists()


def test_merge_with_a_json_array_exits_2(phase_2: Path, tmp_path: Path) -> None:
    array = write_json(tmp_path / "array.json", [partner_score(4)])
    result = run("merge", str(phase_2), str(array), "--from", P_POLICE.id)
    assert result.returncode == 2
    assert "Bundle" in result.stderr


# --- a forged history ----------------------------------------------------------------------------


def _forged(tmp_path: Path) -> Path:
    """The case after conference 1 (police at 5), with hand-written phase changes 1->2 and 2->3."""
    data = json.loads(caseformat.dumps(walk()[1].case))
    for n, (start, end, at) in enumerate(
        [(1, 2, "2026-01-20T10:00:00+00:00"), (2, 3, "2026-01-21T10:00:00+00:00")]
    ):
        data["events"].append(
            {
                "type": "phase_changed",
                "id": f"forged-{n}",
                "at": at,
                "from_phase": start,
                "to_phase": end,
                "kind": "advance",
                "reason": "",
                "rules": [],
                "evidence": [],
            }
        )
    return write_json(tmp_path / "forged.json", data)


def test_evaluate_refuses_a_forged_phase_change(tmp_path: Path) -> None:
    path = _forged(tmp_path)
    index = len(walk()[1].case.events)
    result = run("evaluate", str(path), "--at", "2026-01-22T10:00:00+00:00")
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"events[{index}]: phase_changed at 2026-01-20T10:00:00+00:00 was not allowed" in result.stderr
    assert "advance.safety-consensus" in result.stderr
    assert str(path) in result.stderr


def test_evaluate_refuses_a_forged_phase_change_in_a_bundle(tmp_path: Path) -> None:
    forged = caseformat.loads(_forged(tmp_path).read_bytes())
    path = write_json(
        tmp_path / "forged-bundle.json",
        case_to_bundle(forged, recipient=Recipient.internal(), engine=shipped_engine()),
    )
    result = run("evaluate", str(path))
    assert result.returncode == 1
    assert "was not allowed" in result.stderr
    assert "advance.safety-consensus" in result.stderr


def test_merge_refuses_to_build_on_a_forged_case(tmp_path: Path) -> None:
    path = _forged(tmp_path)
    partner = write_json(tmp_path / "partner.json", partner_bundle(partner_score(6)))
    out = tmp_path / "new.json"
    result = run("merge", str(path), str(partner), "--from", P_POLICE.id, "--out", str(out))
    assert result.returncode == 1
    assert "was not allowed" in result.stderr
    assert not out.exists()


def test_export_refuses_a_case_with_a_forged_phase_change(tmp_path: Path) -> None:
    from ketenzorg.demo import walk

    data = caseformat.case_to_dict(walk()[1].case)  # the police scored 5: no advance allowed
    at = data["events"][-1]["at"]
    data["events"].append(
        {
            "type": "phase_changed",
            "id": "forged-1",
            "at": at,
            "from_phase": 1,
            "to_phase": 2,
            "kind": "advance",
            "reason": "",
            "rules": [],
            "evidence": [],
        }
    )
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(data))
    result = run("export", str(path), "--for", "internal", "--log", os.devnull)
    assert result.returncode == 1
    assert "phase_changed" in result.stderr
    assert "was not allowed" in result.stderr
    assert result.stdout == ""


def test_validate_and_import_refuse_a_forged_phase_change_in_a_bundle(tmp_path: Path) -> None:
    forged = caseformat.loads(_forged(tmp_path).read_bytes())
    path = write_json(
        tmp_path / "forged-bundle.json",
        case_to_bundle(forged, recipient=Recipient.internal(), engine=shipped_engine()),
    )
    result = run("validate", str(path), "--json")
    assert result.returncode == 1
    outcome = json.loads(result.stdout)
    errors = [i for i in outcome["issue"] if i["severity"] == "error"]
    assert len(errors) == 1
    assert errors[0]["code"] == "business-rule"
    assert "was not allowed" in errors[0]["diagnostics"]
    # Located at the Observation that carries the forged phase change.
    where = errors[0]["expression"][0]
    index = int(re.fullmatch(r"Bundle\.entry\[(\d+)\]\.resource", where).group(1))  # type: ignore[union-attr]
    carrier = json.loads(path.read_text())["entry"][index]["resource"]
    assert carrier["resourceType"] == "Observation"
    imported = run("import", str(path))
    assert imported.returncode == 1
    assert imported.stdout == ""
    assert "was not allowed" in imported.stderr


def test_validate_refuses_a_forged_phase_change_in_a_case_file(tmp_path: Path) -> None:
    path = _forged(tmp_path)
    index = len(walk()[1].case.events)
    result = run("validate", str(path), "--json")
    assert result.returncode == 1
    errors = [i for i in json.loads(result.stdout)["issue"] if i["severity"] == "error"]
    assert [e["expression"] for e in errors] == [[f"events[{index}]"]]


def test_validate_and_import_accept_the_lawful_demo(demo_dir: Path) -> None:
    assert run("validate", str(demo_dir / "bundle.json")).returncode == 0
    assert run("validate", str(demo_dir / "case.json")).returncode == 0
    assert run("import", str(demo_dir / "bundle.xml")).returncode == 0


# --- a secret location stays secret --------------------------------------------------------------

SHELTER_ADDRESS = "Schuilweg 7, 1234 AB Nergenshuizen (synthetisch)"
OPEN_SHELTER = Location(id="shelter-open", name="Opvang Open (synthetisch)", address=SHELTER_ADDRESS)
NEW_SECRET = Location(id="shelter-new-secret", name="Opvang Nieuw Geheim (synthetisch)", secret=True)
NEVER_SHOWN = (SHELTER_ADDRESS, OPEN_SHELTER.name, NEW_SECRET.name, NEW_SECRET.id, SECRET_SHELTER.id)


@functools.cache
def open_then_secret() -> Case:
    """The demo in phase 2 (at a secret shelter), then an open shelter with its address, then a
    new secret shelter: a move to a secret shelter recorded the right way, as a new location."""
    engine = Engine()
    case = walk()[3].case
    at = case.state.latest_at
    for n, location in enumerate((OPEN_SHELTER, NEW_SECRET), start=1):
        setting = CareSetting(kind=CareSettingKind.SHELTER, location=location)
        case = engine.record(
            case, CareSettingChanged(id=f"move-{n}", at=at + timedelta(days=n), care_setting=setting)
        )
    return case


def test_a_case_file_that_makes_an_open_location_secret_is_refused(tmp_path: Path) -> None:
    data = caseformat.case_to_dict(open_then_secret())
    index = len(data["events"]) - 1
    data["events"][index]["care_setting"]["location"]["id"] = OPEN_SHELTER.id  # the finding
    path = write_json(tmp_path / "case.json", data)
    for command in ("export", "evaluate"):
        extra = ("--for", "internal", "--log", os.devnull) if command == "export" else ()
        result = run(command, str(path), *extra)
        assert result.returncode == 1, command
        assert result.stdout == ""
        assert f"events[{index}].care_setting.location.secret" in result.stderr
        assert "new location" in result.stderr
        for secret in NEVER_SHOWN:
            assert secret not in result.stderr
    result = run("validate", str(path))
    assert result.returncode == 1
    assert f"events[{index}].care_setting.location.secret" in result.stdout


def test_validate_and_import_refuse_a_bundle_that_ties_a_secret_stay_to_an_address(tmp_path: Path) -> None:
    bundle = json.loads(
        json.dumps(
            case_to_bundle(open_then_secret(), recipient=Recipient.internal(), engine=shipped_engine())
        )
    )
    entries = bundle["entry"]
    place = next(i for i, e in enumerate(entries) if e["resource"]["resourceType"] == "Location")
    stays = [x for e in entries for x in e["resource"].get("extension", ()) if x["url"] == X_SECRET_LOCATION]
    assert len(stays) == 2
    stays[-1]["extension"][0]["valueString"] = OPEN_SHELTER.id  # the finding, forged into a bundle
    path = write_json(tmp_path / "tied.json", bundle)
    for strict in ((), ("--strict",)):
        result = run("validate", str(path), *strict)
        assert result.returncode == 1
        assert f"Bundle.entry[{place}].resource.address" in result.stdout
        assert SHELTER_ADDRESS not in result.stdout + result.stderr
    result = run("import", str(path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"Bundle.entry[{place}].resource.address" in result.stderr
    assert SHELTER_ADDRESS not in result.stderr


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_export_import_export_of_secret_locations_is_stable(tmp_path: Path, fmt: str) -> None:
    case = write_json(tmp_path / "case.json", caseformat.case_to_dict(open_then_secret()))
    first = run(
        "export",
        str(case),
        "--for",
        "internal",
        "--log",
        os.devnull,
        "--format",
        fmt,
        "--type",
        "transaction",
    )
    assert first.returncode == 0, first.stderr
    for secret in NEVER_SHOWN[2:]:
        assert secret not in first.stdout
    assert "secret-location-2" in first.stdout
    bundle = tmp_path / f"bundle.{fmt}"
    bundle.write_text(first.stdout, encoding="utf-8")
    assert run("validate", str(bundle)).returncode == 0
    imported = run("import", str(bundle))
    assert imported.returncode == 0, imported.stderr
    assert caseformat.loads(imported.stdout) == as_exported(open_then_secret())
    again = tmp_path / "imported.json"
    again.write_text(imported.stdout, encoding="utf-8")
    second = run(
        "export",
        str(again),
        "--for",
        "internal",
        "--log",
        os.devnull,
        "--format",
        fmt,
        "--type",
        "transaction",
    )
    assert second.stdout == first.stdout
