"""``ketenzorg store open``: an intake as a case file or as flags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.factories import run_cli

from ketenzorg import caseformat
from ketenzorg.demo import walk

ACTOR = ("--user", "u-17", "--role", "practitioner", "--organisation", "org-1")
INTAKE = (
    "--region", "Regio Test", "--lead-municipality", "Centrumstad", "--municipality", "Dorpstad",
    "--client", "Cliënt T", "--client-birth-year", "1990", "--practitioner", "Hulpverlener T",
    "--partner", "police=Politie Test", "--partner", "veilig_thuis=Veilig Thuis Test",
    "--opened-at", "2026-01-05T10:00:00+01:00",
)  # fmt: skip


def _shown(store: Path, case_id: str) -> dict[str, object]:
    result = run_cli("store", "show", case_id, "--json", "--store", str(store))
    assert result.returncode == 0, result.stderr
    shown: dict[str, object] = json.loads(result.stdout)
    return shown


def test_open_from_a_file(tmp_path: Path) -> None:
    case = walk()[1].case
    (tmp_path / "intake.json").write_bytes(caseformat.dumps(case))
    store = tmp_path / "s.db"
    result = run_cli("store", "open", "--from", str(tmp_path / "intake.json"), "--store", str(store), *ACTOR)
    assert result.returncode == 0, result.stderr
    assert _shown(store, case.case_id)["version"] == len(case.events)


def test_open_from_flags(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    result = run_cli(
        "store", "open", *INTAKE, "--case-id", "c-flags", "--json", "--store", str(store), *ACTOR
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"case_id": "c-flags", "version": 1}
    shown = _shown(store, "c-flags")
    members = shown["members"]
    assert isinstance(members, list)
    assert sorted((m["role"], m["partner_type"]) for m in members) == [
        ("chain_partner", "police"),
        ("chain_partner", "veilig_thuis"),
        ("client", None),
        ("practitioner", None),
    ]
    assert {m["name"] for m in members if m["role"] == "chain_partner"} == {
        "Politie Test",
        "Veilig Thuis Test",
    }
    assert all(m["periods"][0]["joined"] == "2026-01-05T10:00:00+01:00" for m in members)
    decision = shown["decision"]
    assert isinstance(decision, dict)
    assert decision["phase"] == 1
    # The text form prints the team with party ids, for the next commands.
    text = run_cli("store", "open", *INTAKE, "--store", str(tmp_path / "t.db"), *ACTOR)
    assert text.returncode == 0, text.stderr
    assert "chain partner: police, Politie Test" in text.stdout


def test_open_from_flags_with_a_party_file_and_a_shelter(tmp_path: Path) -> None:
    party = {"id": "p-ggz", "role": "chain_partner", "name": "GGZ Test", "partner_type": "ggz"}
    (tmp_path / "party.json").write_text(json.dumps(party), encoding="utf-8")
    secret = "Geheime Opvang Test"
    (tmp_path / "loc.json").write_text(json.dumps({"id": "loc-1", "name": secret, "secret": True}), "utf-8")
    store = tmp_path / "s.db"
    result = run_cli(
        "store", "open", *INTAKE, "--case-id", "c-2", "--party-file", str(tmp_path / "party.json"),
        "--care-setting", "shelter", "--location-file", str(tmp_path / "loc.json"),
        "--store", str(store), *ACTOR,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert secret not in result.stdout + result.stderr
    members = _shown(store, "c-2")["members"]
    assert isinstance(members, list)
    assert "p-ggz" in {m["party_id"] for m in members}


@pytest.mark.parametrize(
    ("change", "flag"),
    [
        (("--lead-municipality", ""), "--lead-municipality"),
        (("--partner", "surgeon=Jan de Vries"), "--partner"),
        (("--partner", "police"), "--partner"),
        (("--client-birth-year", "1700"), "--client"),
        (("--opened-at", "yesterday"), "--opened-at"),
        (("--care-setting", "shelter"), "--location-file"),
        (("--from", "intake.json"), "--opened-at: give the intake as a file (--from) or as flags, not both"),
    ],
)
def test_a_bad_intake_flag_is_named_and_nothing_is_written(
    tmp_path: Path, change: tuple[str, str], flag: str
) -> None:
    store = tmp_path / "s.db"
    result = run_cli("store", "open", *INTAKE, *change, "--store", str(store), *ACTOR)
    assert result.returncode == 2
    assert f"error: {flag}" in result.stderr
    assert "Jan de Vries" not in result.stderr
    assert not store.exists()


def test_open_needs_a_file_or_the_client(tmp_path: Path) -> None:
    result = run_cli("store", "open", "--store", str(tmp_path / "s.db"), *ACTOR)
    assert result.returncode == 2
    assert "--client" in result.stderr
    assert "--from" in result.stderr
