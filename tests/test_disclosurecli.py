"""Every export path names its recipient and is logged; the logs answer who received what."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.factories import run_cli

from ketenzorg import caseformat
from ketenzorg.demo import walk
from ketenzorg.interop.fhirxml import to_xml

sys.path.insert(0, str(Path(__file__).parent / "disclosure"))
from disclosure_checks import schema_errors, xsd_errors

ACTOR = ("--user", "u-17", "--role", "practitioner", "--organisation", "org-1")
ORG = "urn:oid:2.16.528.1.1007.3.3|01234567"


@pytest.fixture(scope="module")
def case_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("case") / "case.json"
    path.write_bytes(caseformat.dumps(walk()[-1].case))
    return path


def log_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- export names its recipient ----------------------------------------------------------------------


def test_export_without_a_recipient_is_refused_and_lists_the_kinds(case_file: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    sport = {
        "version": "1",
        "title": "Sport club",
        "purpose": "COC",
        "legal_basis": {"text": "consent", "reference": "AVG art. 6(1)(a)"},
        "resources": ["client"],
        "free_text": [],
        "rationales": "none",
        "agreements": "none",
        "persons": "concerning",
    }
    policy.write_text(json.dumps({"disclosure": {"sport-club": sport}}), encoding="utf-8")
    out = tmp_path / "out.json"
    result = run_cli("export", str(case_file), "--out", str(out), "--policy", str(policy))
    assert result.returncode == 2
    assert "--for" in result.stderr
    for kind in ("internal", "police", "school", "person-who-used-violence", "sport-club"):
        assert kind in result.stderr, kind
    assert result.stdout == ""
    assert not out.exists()
    assert not Path(f"{out}.disclosures.jsonl").exists()
    unknown = run_cli("export", str(case_file), "--for", "bakery", "--out", str(out))
    assert unknown.returncode == 2
    assert "police" in unknown.stderr


def test_the_policy_s_profiles_apply_to_the_export(case_file: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"disclosure": {"school": {"version": "2"}}}), encoding="utf-8")
    out = tmp_path / "school.json"
    result = run_cli("export", str(case_file), "--for", "school", "--out", str(out), "--policy", str(policy))
    assert result.returncode == 0, result.stderr
    (logged,) = log_lines(Path(f"{out}.disclosures.jsonl"))
    assert logged["profile"] == {"id": "school", "version": "2"}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"disclosure": {"school": {"free_text": ["nowhere"]}}}), encoding="utf-8")
    refused = run_cli("export", str(case_file), "--for", "school", "--out", str(out), "--policy", str(bad))
    assert refused.returncode in (1, 2)
    assert "disclosure.school.free_text[0]" in refused.stderr
    assert "nowhere" not in refused.stderr


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_export_to_a_file_is_logged_next_to_it_with_the_hash_of_its_bytes(
    case_file: Path, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / f"police.{fmt}"
    result = run_cli(
        "export", str(case_file), "--for", "police", "--org", ORG, "--format", fmt, "--out", str(out),
        "--user", "u-17", "--responsible-user", "lead-3", "--purpose", "THREAT",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (logged,) = log_lines(tmp_path / f"police.{fmt}.disclosures.jsonl")
    assert logged["sha256"] == sha256(out.read_bytes())
    assert logged["recipient"] == {
        "kind": "police",
        "organisation_system": "urn:oid:2.16.528.1.1007.3.3",
        "organisation_value": "01234567",
    }
    assert (logged["user"], logged["responsible_user"], logged["format"]) == ("u-17", "lead-3", fmt)
    assert (logged["profile"]["id"], logged["purpose"]) == ("police", "THREAT")
    assert logged["sent"]
    again = run_cli("export", str(case_file), "--for", "police", "--format", fmt, "--out", str(out))
    assert again.returncode == 2  # exists: not replaced, and not logged as sent
    assert len(log_lines(tmp_path / f"police.{fmt}.disclosures.jsonl")) == 1


def test_an_export_to_stdout_needs_a_log_and_logs_the_hash_of_what_went_out(
    case_file: Path, tmp_path: Path
) -> None:
    refused = run_cli("export", str(case_file), "--for", "gp")
    assert refused.returncode == 2
    assert "--log" in refused.stderr
    assert refused.stdout == ""
    log = tmp_path / "log.jsonl"
    written = run_cli("export", str(case_file), "--for", "gp", "--log", str(log))
    assert written.returncode == 0, written.stderr
    (logged,) = log_lines(log)
    assert logged["sha256"] == sha256(written.stdout.encode("utf-8"))
    assert logged["recipient"] == {"kind": "gp"}


def test_a_purpose_other_than_the_profile_s_is_refused(case_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "school.json"
    result = run_cli("export", str(case_file), "--for", "school", "--purpose", "THREAT", "--out", str(out))
    assert result.returncode == 2
    assert "COC" in result.stderr
    assert not out.exists()


def test_a_screen_hit_is_counted_on_stderr_and_never_shown(case_file: Path, tmp_path: Path) -> None:
    internal = tmp_path / "internal.json"
    assert run_cli("export", str(case_file), "--for", "internal", "--out", str(internal)).returncode == 0
    bundle = json.loads(internal.read_text(encoding="utf-8"))
    text = next(
        e["resource"]["description"]["text"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Goal" and len(e["resource"]["description"].get("text", "")) > 12
    )
    screen = tmp_path / "secret-addresses.txt"
    screen.write_text(f"# the organisation's register\n{text}\n", encoding="utf-8")
    out = tmp_path / "screened.json"
    result = run_cli(
        "export", str(case_file), "--for", "internal", "--screen", str(screen), "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert "matched the screen" in result.stderr
    assert text not in result.stderr + result.stdout
    assert text not in out.read_text(encoding="utf-8")
    (logged,) = log_lines(Path(f"{out}.disclosures.jsonl"))
    assert logged["withheld"]["screened_texts"] >= 1
    assert str(logged["withheld"]["screened_texts"]) in result.stderr


def test_the_demo_s_bundles_are_logged_as_internal(tmp_path: Path) -> None:
    result = run_cli("demo", "--out", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr
    for name, fmt in (("bundle.json", "json"), ("bundle.xml", "xml")):
        (logged,) = log_lines(tmp_path / "demo" / f"{name}.disclosures.jsonl")
        assert logged["sha256"] == sha256((tmp_path / "demo" / name).read_bytes())
        assert (logged["recipient"], logged["format"]) == ({"kind": "internal"}, fmt)


# --- the file log answers ----------------------------------------------------------------------------


def test_the_file_log_lists_filters_by_resource_and_gives_audit_events(
    case_file: Path, tmp_path: Path
) -> None:
    log = tmp_path / "log.jsonl"
    for kind in ("police", "school", "gp"):
        run_cli("export", str(case_file), "--for", kind, "--log", str(log), "--org", f"urn:x|{kind}")
    records = log_lines(log)
    assert [r["recipient"]["kind"] for r in records] == ["police", "school", "gp"]
    listed = run_cli("disclosures", str(log))
    assert listed.returncode == 0, listed.stderr
    assert [line.split("  to ")[1].split()[0] for line in listed.stdout.splitlines()] == [
        "police",
        "school",
        "gp",
    ]
    sent = {
        kind: {f"{t}/{i}" for t, i, _ in r["sent"]}
        for kind, r in zip(("police", "school", "gp"), records, strict=True)
    }
    police_only = sorted(sent["police"] - sent["school"] - sent["gp"])
    assert police_only
    found = run_cli("disclosures", str(log), "--resource", police_only[0], "--json")
    assert [r["recipient"]["kind"] for r in json.loads(found.stdout)] == ["police"]
    shared = sorted(sent["police"] & sent["school"] & sent["gp"])[0]
    found = run_cli("disclosures", str(log), "--resource", shared, "--json")
    assert [r["recipient"]["kind"] for r in json.loads(found.stdout)] == ["police", "school", "gp"]
    fhir = run_cli("disclosures", str(log), "--fhir")
    bundle = json.loads(fhir.stdout)
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["AuditEvent"] * 3
    assert schema_errors(bundle) == []
    assert xsd_errors(to_xml(bundle)) == []
    assert run_cli("disclosures", str(log), "--resource", "no-slash").returncode == 2
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"case_id": "x"}\n', encoding="utf-8")
    refused = run_cli("disclosures", str(broken))
    assert refused.returncode == 2
    assert "line 1" in refused.stderr


# --- the store's audit trail answers -------------------------------------------------------------------


@pytest.fixture
def exported_store(tmp_path: Path) -> tuple[Path, str, dict[str, set[str]]]:
    """A store with the demo case after its first conference, exported to police, school and the client."""
    case = walk()[1].case
    (tmp_path / "intake.json").write_bytes(caseformat.dumps(case))
    store = tmp_path / "ketenzorg.db"
    opened = run_cli("store", "open", "--from", str(tmp_path / "intake.json"), "--store", str(store), *ACTOR)
    assert opened.returncode == 0, opened.stderr
    sent: dict[str, set[str]] = {}
    for kind in ("police", "school", "client"):
        out = tmp_path / f"{kind}.json"
        result = run_cli(
            "store", "export", case.case_id, "--for", kind, "--org", f"urn:x|{kind}-org", "--out", str(out),
            "--store", str(store), *ACTOR, "--on-behalf-of", "lead-3",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        bundle = json.loads(out.read_text(encoding="utf-8"))
        sent[kind] = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]}
    return store, case.case_id, sent


def test_store_export_refuses_without_a_recipient(
    exported_store: tuple[Path, str, dict[str, set[str]]],
) -> None:
    store, case_id, _ = exported_store
    result = run_cli("store", "export", case_id, "--store", str(store), *ACTOR)
    assert result.returncode == 2
    assert "police" in result.stderr
    assert result.stdout == ""


def test_store_disclosures_list_what_went_to_whom(
    exported_store: tuple[Path, str, dict[str, set[str]]], tmp_path: Path
) -> None:
    store, case_id, sent = exported_store
    listed = run_cli("store", "disclosures", case_id, "--json", "--store", str(store))
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [r["recipient"]["kind"] for r in rows] == ["police", "school", "client"]
    for row in rows:
        kind = row["recipient"]["kind"]
        assert row["sha256"] == sha256((tmp_path / f"{kind}.json").read_bytes())
        assert row["resources"] == len(sent[kind])
        assert (row["user"], row["responsible_user"]) == ("u-17", "lead-3")
    text = run_cli("store", "disclosures", case_id, "--store", str(store))
    assert "profile school v1" in text.stdout
    assert run_cli("store", "verify", "--store", str(store)).returncode == 0


def test_store_received_finds_every_recipient_and_only_them(
    exported_store: tuple[Path, str, dict[str, set[str]]],
) -> None:
    store, _, sent = exported_store
    every = set().union(*sent.values())
    assert every - sent["school"]  # some went not to the school: the test can fail
    for ref in sorted(every):
        result = run_cli("store", "received", ref, "--json", "--store", str(store))
        assert result.returncode == 0, result.stderr
        kinds = [r["recipient"]["kind"] for r in json.loads(result.stdout)]
        assert kinds == [k for k in ("police", "school", "client") if ref in sent[k]], ref
    assert run_cli("store", "received", "not-a-ref", "--store", str(store)).returncode == 2


@pytest.mark.parametrize(
    ("lang", "heading", "police", "by"),
    [
        (
            "nl",
            "Wie heeft gegevens uit uw dossier ontvangen",
            "gedeeld met de politie",
            "Door: hulpverlener van org-1",
        ),
        (
            "en",
            "Who received information from your file",
            "shared with the police",
            "By: practitioner of org-1",
        ),
    ],
)
def test_the_client_view_says_who_received_what_in_plain_words(
    exported_store: tuple[Path, str, dict[str, set[str]]], lang: str, heading: str, police: str, by: str
) -> None:
    store, case_id, _ = exported_store
    result = run_cli("store", "disclosures", case_id, "--client-view", "--lang", lang, "--store", str(store))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(heading)
    lines = [line for line in result.stdout.splitlines() if line.startswith("- ")]
    assert len(lines) == 3
    assert police in lines[0]
    assert all(by in line for line in lines)
    # NEN 7513: the sender by role and organisation, no user ids; no hashes or internal ids either
    for hidden in ("u-17", "lead-3", "sha256", "Patient/", "urn:"):
        assert hidden not in result.stdout, hidden


def test_the_store_s_disclosures_as_fhir_audit_events_validate(
    exported_store: tuple[Path, str, dict[str, set[str]]],
) -> None:
    store, case_id, _ = exported_store
    result = run_cli("store", "disclosures", case_id, "--fhir", "--store", str(store))
    assert result.returncode == 0, result.stderr
    bundle = json.loads(result.stdout)
    events = [e["resource"] for e in bundle["entry"]]
    assert [e["resourceType"] for e in events] == ["AuditEvent"] * 3
    assert len({e["id"] for e in events}) == 3
    destinations = [
        a["who"]["identifier"]["value"]
        for e in events
        for a in e["agent"]
        if a["type"]["coding"][0]["code"] == "110152"
    ]
    assert destinations == ["police-org", "school-org", "client-org"]
    assert schema_errors(bundle) == []
    assert xsd_errors(to_xml(bundle)) == []
