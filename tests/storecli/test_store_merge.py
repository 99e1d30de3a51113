"""``ketenzorg store merge``: a partner's bundle merged into a stored case, as ``merge`` does for a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.factories import run_cli

from ketenzorg import Engine, ScoreGiven, caseformat
from ketenzorg.demo import P_CLIENT, P_POLICE, walk
from ketenzorg.interop.definitions import CASE_ID, PARTY_ID
from ketenzorg.interop.terminology import code_system
from ketenzorg.store import CaseStore

ACTOR = ("--user", "u-17", "--role", "practitioner", "--organisation", "org-1")
WHEN = "2026-03-20T10:00:00+01:00"  # after the demo's Top 3 plan (2026-03-09)


def _score(case_id: str, value: int, *, party: str = P_POLICE.id) -> dict[str, Any]:
    """A partner's bundle with one safety score, as a partner's system writes it."""
    observation = {
        "resourceType": "Observation",
        "identifier": [
            {"system": "https://politie.example.org/fhir/NamingSystem/observatie", "value": "o-1"}
        ],
        "status": "final",
        "code": {"coding": [{"system": code_system("observation-kind"), "code": "safety-score"}]},
        "basedOn": [{"identifier": {"system": CASE_ID, "value": case_id}}],
        "performer": [{"identifier": {"system": PARTY_ID, "value": party}}],
        "effectiveDateTime": WHEN,
        "note": [{"text": "Contactverbod nageleefd (synthetisch)."}],
        "valueInteger": value,
    }
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:0a7e57ed-0000-4000-8000-000000000001", "resource": observation}],
    }


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Path, str]:
    """A store holding the demo case in phase 2, after its Top 3 plan."""
    case = walk()[3].case
    (tmp_path / "intake.json").write_bytes(caseformat.dumps(case))
    store = tmp_path / "s.db"
    opened = run_cli("store", "open", "--from", str(tmp_path / "intake.json"), "--store", str(store), *ACTOR)
    assert opened.returncode == 0, opened.stderr
    return store, case.case_id


def _events(store: Path, case_id: str) -> tuple[int, list[Any]]:
    with CaseStore.open(store, engine=Engine()) as opened:
        loaded = opened.load(case_id)
        audit = opened.audit(case_id)
    return loaded.version, [loaded.case, audit]


def _bundle(tmp_path: Path, data: dict[str, Any]) -> str:
    path = tmp_path / "partner.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_a_merge_adds_the_partners_score_audited(stored: tuple[Path, str], tmp_path: Path) -> None:
    store, case_id = stored
    before, _ = _events(store, case_id)
    partner = _bundle(tmp_path, _score(case_id, 4))
    result = run_cli(
        "store", "merge", case_id, partner, "--from", P_POLICE.id, "--json", "--store", str(store), *ACTOR
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["version"] == before + 1
    assert len(shown["event_ids"]) == 1
    version, (case, audit) = _events(store, case_id)
    assert version == before + 1
    last = case.events[-1]
    assert isinstance(last, ScoreGiven)
    assert (last.party_id, last.score) == (P_POLICE.id, 4)
    entry = audit[-1].entry
    assert (entry.command, entry.user, entry.action) == ("store merge", "u-17", "append")


def test_a_forged_sender_is_refused_and_nothing_is_written(stored: tuple[Path, str], tmp_path: Path) -> None:
    store, case_id = stored
    before, (_, audit_before) = _events(store, case_id)
    # The police's bundle claims a score of the client: not the police's to say.
    forged = _bundle(tmp_path, _score(case_id, 0, party=P_CLIENT.id))
    result = run_cli("store", "merge", case_id, forged, "--from", P_POLICE.id, "--store", str(store), *ACTOR)
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"{forged}: error [business-rule] Bundle.entry[0].resource.performer[0]: " in result.stderr
    version, (_, audit) = _events(store, case_id)
    assert version == before
    assert len(audit) == len(audit_before)
    unknown = run_cli("store", "merge", case_id, forged, "--store", str(store), *ACTOR)
    assert unknown.returncode == 2
    assert "--from" in unknown.stderr


def test_re_merging_the_same_bundle_adds_nothing(stored: tuple[Path, str], tmp_path: Path) -> None:
    store, case_id = stored
    partner = _bundle(tmp_path, _score(case_id, 4))
    args = ("store", "merge", case_id, partner, "--from", P_POLICE.id, "--store", str(store), *ACTOR)
    assert run_cli(*args).returncode == 0
    once, (_, audit_once) = _events(store, case_id)
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    assert "nothing new" in again.stdout
    version, (_, audit) = _events(store, case_id)
    assert version == once
    assert len(audit) == len(audit_once)


def test_a_stale_view_gets_the_conflict(stored: tuple[Path, str], tmp_path: Path) -> None:
    store, case_id = stored
    before, _ = _events(store, case_id)
    partner = _bundle(tmp_path, _score(case_id, 4))
    stale = run_cli(
        "store", "merge", case_id, partner, "--from", P_POLICE.id, "--expected-version", str(before - 1),
        "--store", str(store), *ACTOR,
    )  # fmt: skip
    assert stale.returncode == 1
    assert f"expected version {before - 1}, the store holds version {before}" in stale.stderr
    assert _events(store, case_id)[0] == before
