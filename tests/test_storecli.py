"""``ketenzorg store ...``: the operator's command line on a case store, run as a user runs it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from tests.factories import run_cli

from ketenzorg import caseformat
from ketenzorg.demo import SECRET_SHELTER, walk

ACTOR = ("--user", "u-17", "--role", "practitioner", "--organisation", "org-1")
POLICE = "9b289252eb9d5437a4346eed27d3c79d"


@pytest.fixture
def phase1(tmp_path: Path) -> tuple[Path, str]:
    """A fresh store holding the demo case after its first conference (phase 1)."""
    case = walk()[1].case
    (tmp_path / "intake.json").write_bytes(caseformat.dumps(case))
    store = tmp_path / "ketenzorg.db"
    result = run_cli("store", "open", "--from", str(tmp_path / "intake.json"), "--store", str(store), *ACTOR)
    assert result.returncode == 0, result.stderr
    return store, case.case_id


def test_json_outputs_and_the_disclosure(phase1: tuple[Path, str], tmp_path: Path) -> None:
    store, case_id = phase1
    shown = json.loads(run_cli("store", "show", case_id, "--json", "--store", str(store)).stdout)
    assert shown["version"] == 10
    assert POLICE in {m["party_id"] for m in shown["members"]}
    assert shown["plan"]["version"] == 1
    assert shown["decision"]["phase"] == 1
    scored = run_cli(
        "store", "score", case_id, "--party", POLICE, "--score", "6", "--rationale", "ok",
        "--json", "--store", str(store), *ACTOR,
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["version"] == 11
    out = tmp_path / "out.xml"
    exported = run_cli(
        "store", "export", case_id, "--for", "veilig-thuis", "--purpose", "COC", "--format", "xml",
        "--out", str(out), "--store", str(store), *ACTOR,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    assert out.read_bytes().startswith(b"<?xml")
    from ketenzorg import Engine
    from ketenzorg.store import CaseStore

    with CaseStore.open(store, engine=Engine()) as opened:
        disclosure = opened.audit(case_id)[-1].entry
    assert (disclosure.action, disclosure.recipient, disclosure.user) == (
        "disclosure",
        "veilig-thuis",
        "u-17",
    )
    assert disclosure.command == "store export"


def test_export_without_a_recipient_is_refused(phase1: tuple[Path, str]) -> None:
    store, case_id = phase1
    result = run_cli("store", "export", case_id, "--purpose", "COC", "--store", str(store), *ACTOR)
    assert result.returncode == 2
    assert "--for" in result.stderr
    assert "police" in result.stderr  # the kinds are listed
    assert "internal" in result.stderr
    assert result.stdout == ""


def test_a_stale_writer_gets_the_conflict(phase1: tuple[Path, str]) -> None:
    store, case_id = phase1
    first = run_cli(
        "store", "incident", case_id, "--severity", "minor", "--not-acute", "--expected-version", "10",
        "--store", str(store), *ACTOR,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    stale = run_cli(
        "store", "score", case_id, "--party", POLICE, "--score", "6", "--rationale", "ok",
        "--expected-version", "10", "--store", str(store), *ACTOR,
    )  # fmt: skip
    assert stale.returncode == 1
    assert "expected version 10, the store holds version 11; nothing was written" in stale.stderr
    listed = json.loads(run_cli("store", "list", "--json", "--store", str(store)).stdout)
    assert listed["cases"][0]["version"] == 11


def test_an_append_without_a_user_is_refused(phase1: tuple[Path, str]) -> None:
    store, case_id = phase1
    env_free = list(ACTOR[2:])
    result = run_cli("store", "advance", case_id, "--store", str(store), *env_free)
    assert result.returncode == 2
    assert "--user" in result.stderr
    assert "KETENZORG_USER" in result.stderr


def test_a_blocked_advance_stores_nothing(phase1: tuple[Path, str]) -> None:
    store, case_id = phase1
    result = run_cli("store", "advance", case_id, "--store", str(store), *ACTOR)
    assert result.returncode == 1
    assert "advance.safety-consensus" in result.stderr
    assert (
        json.loads(run_cli("store", "list", "--json", "--store", str(store)).stdout)["cases"][0]["version"]
        == 10
    )


def test_verify_clean_then_tampered(phase1: tuple[Path, str]) -> None:
    store, case_id = phase1
    clean = run_cli("store", "verify", "--store", str(store))
    assert clean.returncode == 0, clean.stdout
    with sqlite3.connect(store) as raw:
        raw.execute("UPDATE audit SET content = replace(content, 'u-17', 'u-99')")
    raw.close()
    tampered = run_cli("store", "verify", "--json", "--store", str(store))
    assert tampered.returncode == 1
    problems = json.loads(tampered.stdout)["problems"]
    assert any(p["path"] == f"cases[{case_id}].audit[1]" for p in problems)


def test_destroy_then_show_is_not_found(phase1: tuple[Path, str]) -> None:
    store, case_id = phase1
    unconfirmed = run_cli("store", "destroy", case_id, "--reason", "ECLI:NL:X", "--store", str(store), *ACTOR)
    assert unconfirmed.returncode == 2
    destroyed = run_cli(
        "store", "destroy", case_id, "--reason", "ECLI:NL:X", "--yes", "--force-early", "court order",
        "--store", str(store), *ACTOR,
    )  # fmt: skip
    assert destroyed.returncode == 0, destroyed.stderr
    shown = run_cli("store", "show", case_id, "--store", str(store))
    assert shown.returncode == 1
    assert f"case {case_id} was destroyed" in shown.stderr
    assert run_cli("store", "verify", "--store", str(store)).returncode == 0


def test_opening_an_existing_case_is_refused(phase1: tuple[Path, str], tmp_path: Path) -> None:
    store, case_id = phase1
    again = run_cli("store", "open", "--from", str(tmp_path / "intake.json"), "--store", str(store), *ACTOR)
    assert again.returncode == 1
    assert f"case {case_id} is in the store already" in again.stderr


def test_import_a_bundle_as_a_new_case(tmp_path: Path) -> None:
    assert run_cli("demo", "--out", str(tmp_path / "demo")).returncode == 0
    store = str(tmp_path / "s.db")
    imported = run_cli("store", "import", str(tmp_path / "demo" / "bundle.xml"), "--store", store, *ACTOR)
    assert imported.returncode == 0, imported.stderr
    listed = json.loads(run_cli("store", "list", "--json", "--store", store).stdout)
    assert listed["cases"][0]["closed"] is True


def test_no_secret_location_in_any_output(tmp_path: Path) -> None:
    store = str(tmp_path / "demo.db")
    outputs = [run_cli("demo", "--store", store, *ACTOR)]
    case_id = walk()[-1].case.case_id
    for args in (
        ("store", "list"),
        ("store", "list", "--json"),
        ("store", "show", case_id),
        ("store", "show", case_id, "--json"),
        ("store", "verify"),
        ("store", "export", case_id, "--for", "internal", *ACTOR),
        ("store", "export", case_id, "--for", "police", "--format", "xml", *ACTOR),
        ("store", "disclosures", case_id),
        ("store", "disclosures", case_id, "--client-view"),
        ("store", "disclosures", case_id, "--fhir"),
        ("store", "advance", case_id, *ACTOR),
    ):
        outputs.append(run_cli(*args, "--store", store))
    assert outputs[0].returncode == 0, outputs[0].stderr
    assert case_id in outputs[1].stdout
    for result in outputs:
        assert SECRET_SHELTER.name not in result.stdout + result.stderr


# --- plan, join, leave, setting, assess ------------------------------------------------------------


def _show(store: Path, case_id: str) -> dict[str, object]:
    result = run_cli("store", "show", case_id, "--json", "--store", str(store))
    assert result.returncode == 0, result.stderr
    shown: dict[str, object] = json.loads(result.stdout)
    return shown


def _plan_file(tmp_path: Path, **changes: object) -> Path:
    """The demo's plan_revised event as the case format writes it, without its id and at."""
    events = caseformat.case_to_dict(walk()[1].case)["events"]
    plan = next(e for e in reversed(events) if e["type"] == "plan_revised")
    del plan["id"], plan["at"]
    plan["agreements"][0]["what"] = "Afspraak herzien"
    plan |= changes
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    return path


def test_store_plan_records_a_revision(phase1: tuple[Path, str], tmp_path: Path) -> None:
    store, case_id = phase1
    result = run_cli(
        "store", "plan", case_id, "--from", str(_plan_file(tmp_path)), "--expected-version", "10",
        "--json", "--store", str(store), *ACTOR,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["version"] == 11
    plan = _show(store, case_id)["plan"]
    assert isinstance(plan, dict)
    assert plan["version"] == 2
    assert plan["agreements"][0]["what"] == "Afspraak herzien"


def test_store_plan_refuses_a_bad_file(phase1: tuple[Path, str], tmp_path: Path) -> None:
    store, case_id = phase1
    bad = _plan_file(tmp_path, agreements=[{"id": "a1", "what": "x", "status": "Jan de Vries"}])
    result = run_cli("store", "plan", case_id, "--from", str(bad), "--store", str(store), *ACTOR)
    assert result.returncode == 2
    assert "agreements[0].status" in result.stderr
    assert "Jan de Vries" not in result.stderr
    wrong_type = _plan_file(tmp_path, type="score_given")
    result = run_cli("store", "plan", case_id, "--from", str(wrong_type), "--store", str(store), *ACTOR)
    assert result.returncode == 2
    assert "type" in result.stderr
    assert _show(store, case_id)["version"] == 10


def test_store_join_and_leave(phase1: tuple[Path, str], tmp_path: Path) -> None:
    store, case_id = phase1
    party = {"id": "p-ggz-2", "role": "chain_partner", "name": "GGZ Test", "partner_type": "ggz"}
    (tmp_path / "party.json").write_text(json.dumps(party), encoding="utf-8")
    joined = run_cli(
        "store", "join", case_id, "--party-file", str(tmp_path / "party.json"), "--json",
        "--store", str(store), *ACTOR,
    )  # fmt: skip
    assert joined.returncode == 0, joined.stderr
    members = _show(store, case_id)["members"]
    assert isinstance(members, list)
    assert {m["party_id"]: m["current"] for m in members}["p-ggz-2"] is True
    left = run_cli(
        "store", "leave", case_id, "--party", "p-ggz-2", "--reason", "done", "--expected-version", "11",
        "--store", str(store), *ACTOR,
    )  # fmt: skip
    assert left.returncode == 0, left.stderr
    assert "recorded leave" in left.stdout
    members = _show(store, case_id)["members"]
    assert isinstance(members, list)
    assert {m["party_id"]: m["current"] for m in members}["p-ggz-2"] is False


def test_store_join_refuses_a_bad_party(phase1: tuple[Path, str], tmp_path: Path) -> None:
    store, case_id = phase1
    party = {"id": "p-x", "role": "surgeon", "name": "Jan de Vries"}
    (tmp_path / "party.json").write_text(json.dumps(party), encoding="utf-8")
    result = run_cli(
        "store", "join", case_id, "--party-file", str(tmp_path / "party.json"), "--store", str(store), *ACTOR
    )
    assert result.returncode == 2
    assert "role" in result.stderr
    assert "Jan de Vries" not in result.stderr + result.stdout
    assert _show(store, case_id)["version"] == 10


def test_store_leave_refuses_an_unknown_party(phase1: tuple[Path, str]) -> None:
    store, case_id = phase1
    result = run_cli("store", "leave", case_id, "--party", "nobody", "--store", str(store), *ACTOR)
    assert result.returncode == 1
    assert "--party" in result.stderr
    assert _show(store, case_id)["version"] == 10


def test_store_setting_never_shows_a_secret_location(phase1: tuple[Path, str], tmp_path: Path) -> None:
    store, case_id = phase1
    secret = "Geheime Opvang Zuid"
    (tmp_path / "loc.json").write_text(json.dumps({"id": "loc-2", "name": secret, "secret": True}), "utf-8")
    loc = str(tmp_path / "loc.json")
    ambulant = run_cli("store", "setting", case_id, "--kind", "ambulant", "--store", str(store), *ACTOR)
    shelter = run_cli(
        "store", "setting", case_id, "--kind", "shelter", "--location-file", loc,
        "--json", "--store", str(store), *ACTOR,
    )  # fmt: skip
    outputs = [ambulant, shelter]
    assert [o.returncode for o in outputs] == [0, 0], [o.stderr for o in outputs]
    # A secret location with an address is refused, naming the field, not the location.
    leaky = {"id": "loc-3", "name": secret, "secret": True, "address": "Straat 1"}
    (tmp_path / "leaky.json").write_text(json.dumps(leaky), "utf-8")
    refused = run_cli(
        "store", "setting", case_id, "--kind", "shelter", "--location-file", str(tmp_path / "leaky.json"),
        "--store", str(store), *ACTOR,
    )  # fmt: skip
    assert refused.returncode == 2
    assert "address" in refused.stderr
    outputs.append(refused)
    no_location = run_cli("store", "setting", case_id, "--kind", "shelter", "--store", str(store), *ACTOR)
    assert no_location.returncode == 2
    assert "--location-file" in no_location.stderr
    for args in (("show", case_id), ("show", case_id, "--json"), ("list",), ("verify",)):
        outputs.append(run_cli("store", *args, "--store", str(store)))
    for output in outputs:
        assert secret not in output.stdout + output.stderr
        assert "Straat 1" not in output.stdout + output.stderr
    assert _show(store, case_id)["version"] == 12


def test_store_assess_records_the_instrument(phase1: tuple[Path, str], tmp_path: Path) -> None:
    from ketenzorg.demo import GEWELDSANALYSE_ANSWERS, P_PRACTITIONER

    store, case_id = phase1
    answers = caseformat.converter().unstructure(dict(GEWELDSANALYSE_ANSWERS))
    (tmp_path / "answers.json").write_text(json.dumps(answers), "utf-8")
    result = run_cli(
        "store", "assess", case_id, "geweldsanalyse", str(tmp_path / "answers.json"), "--by",
        P_PRACTITIONER.id, "--json", "--store", str(store), *ACTOR,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["version"] == 11
    assert "result" in shown
    assert shown["subject"] is None
    text = run_cli(
        "store", "assess", case_id, "geweldsanalyse", str(tmp_path / "answers.json"), "--by",
        P_PRACTITIONER.id, "--store", str(store), *ACTOR,
    )  # fmt: skip
    assert text.returncode == 0, text.stderr
    assert "recorded assess" in text.stdout


def test_store_assess_refuses_an_unknown_party(phase1: tuple[Path, str], tmp_path: Path) -> None:
    from ketenzorg.demo import GEWELDSANALYSE_ANSWERS

    store, case_id = phase1
    answers = caseformat.converter().unstructure(dict(GEWELDSANALYSE_ANSWERS))
    (tmp_path / "answers.json").write_text(json.dumps(answers), "utf-8")
    result = run_cli(
        "store", "assess", case_id, "geweldsanalyse", str(tmp_path / "answers.json"), "--by", "nobody",
        "--store", str(store), *ACTOR,
    )  # fmt: skip
    assert result.returncode == 1
    assert "--by" in result.stderr
    (tmp_path / "bad.json").write_text(json.dumps({"no-such-item": 1}), "utf-8")
    bad = run_cli(
        "store", "assess", case_id, "geweldsanalyse", str(tmp_path / "bad.json"), "--by", "nobody",
        "--store", str(store), *ACTOR,
    )  # fmt: skip
    assert bad.returncode in (1, 2)
    assert "bad.json" in bad.stderr
    assert _show(store, case_id)["version"] == 10


def test_new_store_commands_on_the_demo_store_hide_the_shelter(tmp_path: Path) -> None:
    store = str(tmp_path / "demo.db")
    assert run_cli("demo", "--store", store, *ACTOR).returncode == 0
    case_id = walk()[-1].case.case_id
    outputs = [
        run_cli("store", "leave", case_id, "--party", POLICE, "--store", store, *ACTOR),
        run_cli("store", "setting", case_id, "--kind", "ambulant", "--json", "--store", store, *ACTOR),
    ]
    for output in outputs:
        assert output.returncode in (0, 1), output.stderr
        assert "Traceback" not in output.stderr
        assert SECRET_SHELTER.name not in output.stdout + output.stderr


def test_a_bad_scores_file_is_refused_without_repeating_its_keys(tmp_path: Path) -> None:
    from ketenzorg.errors import MalformedInputError
    from ketenzorg.storecli.recording import scores_file  # the reader `store conference --scores` uses

    marker = "Planted Name 7Q"
    scores = tmp_path / "scores.json"
    scores.write_text(json.dumps({marker: {"score": "high", "rationale": 3}}), encoding="utf-8")
    with pytest.raises(MalformedInputError) as caught:
        scores_file(str(scores))
    assert marker not in str(caught.value)
    assert "score 1 of the file.score" in str(caught.value)
