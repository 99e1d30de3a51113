"""``ketenzorg report``, run as a user would; ``ketenzorg demo --out`` writes the report too."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import lxml.html
import orjson
import pytest

from factories import run_cli as run
from ketenzorg.disclosure import log_path_for


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    result = run("demo", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def test_demo_writes_the_report(demo_dir: Path) -> None:
    document = lxml.html.document_fromstring((demo_dir / "report.html").read_bytes())
    assert document.xpath("//svg[@id='timeline']")
    assert 0 < (demo_dir / "report.html").stat().st_size <= 1_000_000


@pytest.mark.parametrize("source", ["case-open.json", "bundle.json", "bundle.xml"])
def test_report_from_a_case_file_or_a_bundle(demo_dir: Path, tmp_path: Path, source: str) -> None:
    out = tmp_path / "report.html"
    result = run("report", str(demo_dir / source), "--for", "internal", "--lang", "nl", "--out", str(out))
    assert result.returncode == 0, result.stderr
    document = lxml.html.document_fromstring(out.read_bytes())
    assert document.get("lang") == "nl"
    assert "Tijdlijn" in document.text_content()
    assert os.stat(out).st_mode & 0o077 == 0  # case data: for its owner only


def test_report_to_stdout_is_logged_where_asked(demo_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "reports.jsonl"
    result = run(
        "report", str(demo_dir / "case.json"), "--for", "internal", "--log", str(log),
        "--at", "2026-12-01T12:00:00+01:00",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("<!DOCTYPE html>")
    (record,) = [orjson.loads(line) for line in log.read_bytes().splitlines()]
    assert record["sha256"] == hashlib.sha256(result.stdout.encode("utf-8")).hexdigest()


def test_a_report_names_its_recipient(demo_dir: Path, tmp_path: Path) -> None:
    """A report is a disclosure: without --for it is refused with the known recipients (exit 2);
    a report that is not logged anywhere (stdout without --log) is refused too."""
    refused = run("report", str(demo_dir / "case.json"), "--out", str(tmp_path / "r.html"))
    assert refused.returncode == 2
    assert all(word in refused.stderr for word in ("--for", "police", "internal"))
    assert not (tmp_path / "r.html").exists()
    unknown = run("report", str(demo_dir / "case.json"), "--for", "nobody", "--out", str(tmp_path / "r.html"))
    assert unknown.returncode == 2
    assert "nobody" not in unknown.stderr
    unlogged = run("report", str(demo_dir / "case.json"), "--for", "police")
    assert unlogged.returncode == 2
    assert "--log" in unlogged.stderr
    assert unlogged.stdout == ""


@pytest.mark.parametrize("kind", ["internal", "police", "person-who-used-violence"])
def test_the_report_is_logged_with_the_hash_of_its_bytes(demo_dir: Path, tmp_path: Path, kind: str) -> None:
    out = tmp_path / "report.html"
    result = run(
        "report", str(demo_dir / "case.json"), "--for", kind, "--org", "urn:oid:2.16.528.1.1007.3.3|1234",
        "--user", "j.jansen", "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (record,) = [orjson.loads(line) for line in log_path_for(out).read_bytes().splitlines()]
    assert record["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert record["format"] == "html"
    assert record["recipient"] == {
        "kind": kind,
        "organisation_system": "urn:oid:2.16.528.1.1007.3.3",
        "organisation_value": "1234",
    }
    assert record["profile"]["id"] == kind
    assert record["user"] == "j.jansen"


def test_demo_logs_its_internal_report(demo_dir: Path) -> None:
    (record,) = [
        orjson.loads(line) for line in log_path_for(demo_dir / "report.html").read_bytes().splitlines()
    ]
    assert record["recipient"] == {"kind": "internal"}
    assert record["sha256"] == hashlib.sha256((demo_dir / "report.html").read_bytes()).hexdigest()


def test_report_replaces_a_file_only_with_force(demo_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    out.write_text("kept")
    refused = run("report", str(demo_dir / "case.json"), "--for", "internal", "--out", str(out))
    assert refused.returncode == 2
    assert "--force" in refused.stderr
    assert out.read_text() == "kept"
    forced = run("report", str(demo_dir / "case.json"), "--for", "internal", "--out", str(out), "--force")
    assert forced.returncode == 0
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_report_of_a_missing_or_broken_case_is_a_usage_error(tmp_path: Path) -> None:
    missing = run("report", str(tmp_path / "nothing.json"), "--for", "internal", "--out", str(tmp_path / "r"))
    assert missing.returncode == 2
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert run("report", str(broken), "--for", "internal", "--out", str(tmp_path / "r")).returncode == 2


ACTOR = ("--user", "u-17", "--role", "practitioner", "--organisation", "org-1")


def test_store_report_is_recorded_in_the_audit_trail(demo_dir: Path, tmp_path: Path) -> None:
    """``store report CASE --for ...``: the stored case's report, its disclosure in the store's audit log."""
    from ketenzorg import Engine
    from ketenzorg.store import CaseStore

    store = tmp_path / "ketenzorg.db"
    opened = run("store", "open", "--from", str(demo_dir / "case-phase1.json"), "--store", str(store), *ACTOR)
    assert opened.returncode == 0, opened.stderr
    case_id = orjson.loads((demo_dir / "case-phase1.json").read_bytes())["case_id"]
    refused = run("store", "report", case_id, "--store", str(store), *ACTOR)
    assert refused.returncode == 2
    assert "--for" in refused.stderr
    out = tmp_path / "police.html"
    made = run(
        "store", "report", case_id, "--for", "police", "--org", "urn:oid:2.16.528.1.1007.3.3|1234",
        "--out", str(out), "--store", str(store), *ACTOR,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert out.read_bytes().startswith(b"<!DOCTYPE html>")
    with CaseStore.open(store, engine=Engine()) as reopened:
        entry = reopened.audit(case_id)[-1].entry
    assert (entry.action, entry.command, entry.user) == ("disclosure", "store report", "u-17")
    assert entry.recipient == "police:urn:oid:2.16.528.1.1007.3.3|1234"
    assert entry.purpose == "THREAT"
    assert entry.disclosure is not None  # the full record, with the hash of the exact bytes written
    assert entry.disclosure["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert entry.disclosure["format"] == "html"


def test_a_profile_the_policy_adds_is_a_report_recipient(demo_dir: Path, tmp_path: Path) -> None:
    """The organisation's own profiles (policy ``disclosure``) name recipients of a report as of an export."""
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
    policy.write_text(orjson.dumps({"disclosure": {"sport-club": sport}}).decode(), encoding="utf-8")
    out = tmp_path / "sport.html"
    case = str(demo_dir / "case.json")
    refused = run("report", case, "--for", "sport-club", "--out", str(out))
    assert refused.returncode == 2  # not a shipped profile: known only through the policy
    assert not out.exists()
    made = run("report", case, "--for", "sport-club", "--out", str(out), "--policy", str(policy))
    assert made.returncode == 0, made.stderr
    logged = orjson.loads(log_path_for(out).read_bytes().splitlines()[-1])
    assert logged["profile"] == {"id": "sport-club", "version": "1"}
    assert logged["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()


def test_a_refused_overwrite_records_no_disclosure(demo_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    out.write_bytes(b"keep")
    refused = run("report", str(demo_dir / "case.json"), "--for", "police", "--out", str(out))
    assert refused.returncode == 2
    assert out.read_bytes() == b"keep"
    assert not log_path_for(out).exists()
