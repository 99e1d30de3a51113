"""``ketenzorg bulk-export`` from a directory of case files and from a store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from tests.factories import run_cli

from ketenzorg.caseformat import dumps
from ketenzorg.disclosure import Disclosure
from ketenzorg.monitor.synth import generate, synth_engine

MARKER = "qqbulkclimarkerqq"
ACTOR = ("--user", "u-7", "--role", "practitioner", "--organisation", "org-1")


@pytest.fixture(scope="module")
def cases_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cases")
    engine = synth_engine(datetime(2026, 10, 1, tzinfo=UTC))
    for case in generate(4, seed=3, marker=MARKER, engine=engine):
        (root / f"{case.case_id}.json").write_bytes(dumps(case))
    return root


def log_of(out: Path) -> list[Disclosure]:
    lines = (out / "manifest.json.disclosures.jsonl").read_bytes().splitlines()
    return [Disclosure.from_mapping(orjson.loads(line)) for line in lines]


def test_without_for_it_refuses_and_lists_the_recipients(cases_dir: Path, tmp_path: Path) -> None:
    result = run_cli("bulk-export", str(cases_dir), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "--for" in result.stderr
    for kind in ("internal", "police", "school", "veilig-thuis"):
        assert kind in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_recipient_or_organisation_is_refused(cases_dir: Path, tmp_path: Path) -> None:
    unknown = run_cli("bulk-export", str(cases_dir), "--for", "baker", "--out", str(tmp_path / "a"))
    assert unknown.returncode == 2
    assert "police" in unknown.stderr
    bad_org = run_cli(
        "bulk-export", str(cases_dir), "--for", "police", "--org", "nobar", "--out", str(tmp_path / "b")
    )
    assert bad_org.returncode == 2
    assert "--org" in bad_org.stderr
    assert list(tmp_path.iterdir()) == []


def test_from_a_directory_with_the_log_next_to_the_manifest(cases_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli(
        "bulk-export", str(cases_dir), "--for", "police", "--org", "urn:oid:2.16.528.1.1007.3.3|99",
        "--out", str(out), "--user", "u-7",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no progress bar outside a terminal
    manifest = json.loads((out / "manifest.json").read_bytes())
    assert {o["type"] for o in manifest["output"]} >= {"Patient", "Observation"}
    records = log_of(out)
    assert sorted(r.case_id for r in records) == sorted(p.stem for p in cases_dir.glob("*.json"))
    assert {(r.recipient.kind, r.recipient.organisation_value, r.user) for r in records} == {
        ("police", "99", "u-7")
    }
    text = "".join(p.read_text(encoding="utf-8") for p in out.glob("*.ndjson"))
    assert f"rationale {MARKER}" not in text  # rationales: not for the police


def test_a_progress_counter_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from ketenzorg import bulkcli

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert bulkcli._progress(3) is None
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    show = bulkcli._progress(3)
    assert show is not None
    for done in (1, 2, 3):
        show(done)
    assert terminal.getvalue() == "\rbulk-export: 1/3 cases\rbulk-export: 2/3 cases\rbulk-export: 3/3 cases\n"


def test_a_case_that_fails_midway_leaves_no_output(cases_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "cases"
    source.mkdir()
    for path in sorted(cases_dir.glob("*.json")):
        (source / path.name).write_bytes(path.read_bytes())
    (source / "case-zz-broken.json").write_bytes(b'{"not": "a case"}')  # sorts after the others
    out = tmp_path / "out"
    result = run_cli("bulk-export", str(source), "--for", "internal", "--out", str(out))
    assert result.returncode == 2  # a bad input file, named with the field that is wrong
    assert "case-zz-broken.json" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cases"]


def test_from_a_store_each_case_is_recorded_in_its_audit_log(cases_dir: Path, tmp_path: Path) -> None:
    from ketenzorg.monitor.flat import cases_from_dir
    from ketenzorg.store import Actor, CaseStore
    from ketenzorg.testing import engine_with

    engine = engine_with()
    store_path = tmp_path / "cases.db"
    with CaseStore.open(store_path, engine=engine) as store:
        for case in cases_from_dir(cases_dir, engine):
            store.create(case, actor=Actor(user="u-1", role="practitioner", organisation="o"), command="t")
    out = tmp_path / "out"
    anonymous = run_cli("bulk-export", "--store", str(store_path), "--for", "gp", "--out", str(out))
    assert anonymous.returncode == 2
    assert "--user" in anonymous.stderr
    assert not out.exists()
    result = run_cli("bulk-export", "--store", str(store_path), "--for", "gp", "--out", str(out), *ACTOR)
    assert result.returncode == 0, result.stderr
    with CaseStore.open(store_path, engine=engine) as store:
        audited = [r.entry for r in store.audit() if r.entry.action == "disclosure"]
    records = log_of(out)
    assert sorted(e.case_id for e in audited) == sorted(r.case_id for r in records)
    assert len(records) == 4
    assert {(e.recipient, e.purpose, e.user, e.command) for e in audited} == {
        ("gp", "COC", "u-7", "bulk-export")
    }
    assert {r.user for r in records} == {"u-7"}
    # the full record is in the case's audit chain: the same hash of the case's lines as in the log
    assert {(e.case_id, (e.disclosure or {}).get("sha256")) for e in audited} == {
        (r.case_id, r.sha256) for r in records
    }


def test_a_profile_the_policy_adds_is_a_bulk_recipient(cases_dir: Path, tmp_path: Path) -> None:
    """The organisation's own profiles (policy ``disclosure``) name the recipients of a bulk export too."""
    policy = tmp_path / "policy.json"
    registry = {
        "version": "1",
        "title": "Regional register (involvement only)",
        "purpose": "COC",
        "legal_basis": {"text": "register of involvement", "reference": "Wmo 2015 art. 4.1.8"},
        "resources": ["client"],
        "free_text": [],
        "rationales": "none",
        "agreements": "none",
        "persons": "concerning",
    }
    policy.write_text(json.dumps({"disclosure": {"register": registry}}), encoding="utf-8")
    out = tmp_path / "out"
    unknown = run_cli("bulk-export", str(cases_dir), "--for", "register", "--out", str(out))
    assert unknown.returncode == 2  # not shipped: known only through the policy
    assert not out.exists()
    made = run_cli(
        "bulk-export", str(cases_dir), "--for", "register", "--out", str(out), "--policy", str(policy)
    )
    assert made.returncode == 0, made.stderr
    assert {(r.profile_id, r.profile_version) for r in log_of(out)} == {("register", "1")}
    assert {p.name for p in out.glob("*.ndjson")} == {"Patient.ndjson"}  # the client only
    assert f"rationale {MARKER}" not in "".join(p.read_text(encoding="utf-8") for p in out.glob("*.ndjson"))
