"""Trying the engine from the command line: the demo's open case, ``team``, party ids in ``evaluate``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factories import GEWELDSANALYSE_ORANGE
from factories import run_cli as run
from ketenzorg import PartnerType, PartyRole, Phase, PhaseChanged, TransitionKind, caseformat
from ketenzorg.demo import P_CLIENT, P_GGZ, P_POLICE, P_PRACTITIONER, SECRET_SHELTER, walk
from ketenzorg.messages import is_known_key
from ketenzorg.testing import NETWORK, POLICE, CaseBuilder, day, engine_with

AT = "2026-01-20T10:00:00+00:00"


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    result = run("demo", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "case-open.json" in result.stdout
    return out


@pytest.fixture(scope="module")
def blocked_case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo just after its first conference: the police (5) blocks the advance."""
    path = tmp_path_factory.mktemp("blocked") / "case.json"
    path.write_bytes(caseformat.dumps(walk()[1].case))
    return path


@pytest.fixture(scope="module")
def changed_team(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A case where the network joined and the police left."""
    case = CaseBuilder(engine_with()).join(NETWORK, day(1)).leave(POLICE.id, day(2)).case
    path = tmp_path_factory.mktemp("team") / "case.json"
    path.write_bytes(caseformat.dumps(case))
    return path


# --- demo --out: an open case ----------------------------------------------------------------------


def test_demo_out_writes_the_case_before_closing(demo_dir: Path) -> None:
    closed = caseformat.loads((demo_dir / "case.json").read_bytes())
    still_open = caseformat.loads((demo_dir / "case-open.json").read_bytes())
    assert not still_open.state.is_closed
    assert still_open.state.phase == 3
    assert still_open.events == closed.events[: len(still_open.events)]
    assert closed.events[len(still_open.events)].type == "case_closed"


def test_the_open_demo_case_can_be_assessed(demo_dir: Path, tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(GEWELDSANALYSE_ORANGE), encoding="utf-8")
    team = json.loads(run("team", str(demo_dir / "case-open.json"), "--json").stdout)
    practitioner = next(m["party_id"] for m in team["members"] if m["role"] == "practitioner")
    result = run(
        "assess",
        str(demo_dir / "case-open.json"),
        "geweldsanalyse",
        str(answers),
        "--by",
        practitioner,
        "--out",
        str(tmp_path / "new.json"),
    )
    assert result.returncode == 0, result.stderr
    assert "safety code: orange" in result.stdout
    new = caseformat.loads((tmp_path / "new.json").read_bytes())
    assert new.state.assessments[-1].applied_by == P_PRACTITIONER.id


# --- team ------------------------------------------------------------------------------------------


def test_team_lists_party_ids_roles_and_since_when(demo_dir: Path) -> None:
    result = run("team", str(demo_dir / "case-open.json"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Care team of case ")
    assert f"  {P_POLICE.id}  chain partner: police, Politie basisteam Demo; since 12 January 2026" in lines
    assert f"  {P_GGZ.id}  chain partner: mental health care (GGZ), GGZ Demo; since 2 March 2026" in lines
    assert f"  {P_CLIENT.id}  client; since 12 January 2026" in lines


def test_team_names_the_client_by_role_only(demo_dir: Path) -> None:
    for args in ((), ("--json",), ("--lang", "nl")):
        result = run("team", str(demo_dir / "case-open.json"), *args)
        assert result.returncode == 0, result.stderr
        assert P_CLIENT.name not in result.stdout
        assert P_CLIENT.id in result.stdout


def test_team_never_shows_a_secret_location(demo_dir: Path) -> None:
    case = caseformat.loads((demo_dir / "case-open.json").read_bytes())
    assert SECRET_SHELTER.id in case.state.secret_locations  # the demo did stay there
    for args in ((), ("--json",), ("--lang", "nl")):
        out = run("team", str(demo_dir / "case-open.json"), *args).stdout
        assert SECRET_SHELTER.name not in out
        assert SECRET_SHELTER.id not in out


def test_team_shows_former_members_with_their_period(changed_team: Path) -> None:
    result = run("team", str(changed_team))
    assert result.returncode == 0, result.stderr
    current, former = result.stdout.split("Former members:\n")
    assert f"  {NETWORK.id}  network, Netwerk Test; since 6 January 2026" in current
    assert former.strip() == (
        f"{POLICE.id}  chain partner: police, Politie Test; from 5 January 2026 to 7 January 2026"
    )


def test_team_json(changed_team: Path) -> None:
    result = run("team", str(changed_team), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["case_id"] == "case-test"
    members = {m["party_id"]: m for m in data["members"]}
    assert list(members) == ["client", "practitioner", "police", "vt", "network"]
    assert members["client"] == {
        "party_id": "client",
        "role": "client",
        "partner_type": None,
        "name": None,
        "label": "client",
        "person_id": "person-client",
        "current": True,
        "periods": [{"joined": "2026-01-05T09:00:00+00:00", "left": None}],
    }
    police = members["police"]
    assert (police["partner_type"], police["name"], police["current"]) == ("police", "Politie Test", False)
    assert police["periods"] == [{"joined": "2026-01-05T09:00:00+00:00", "left": "2026-01-07T09:00:00+00:00"}]
    assert members["network"]["periods"] == [{"joined": "2026-01-06T09:00:00+00:00", "left": None}]


def test_team_in_dutch_has_no_english_role_names(changed_team: Path, demo_dir: Path) -> None:
    out = run("team", str(changed_team), "--lang", "nl").stdout
    assert out.startswith("Zorgteam van casus case-test:")
    assert "ketenpartner: politie, Politie Test; van 5 januari 2026 tot 7 januari 2026" in out
    assert "Eerdere leden:" in out
    demo = run("team", str(demo_dir / "case-open.json"), "--lang", "nl").stdout  # ids that are no words
    for english in (
        "chain partner",
        "police",
        "practitioner",
        "local team",
        "mental health",
        "since",
        "client",
    ):
        assert english not in demo


def test_team_refuses_a_forged_case(tmp_path: Path) -> None:
    stored = walk()[1].case
    forged = PhaseChanged(
        at=stored.state.latest_at,
        from_phase=Phase.IMMEDIATE_SAFETY,
        to_phase=Phase.RISK_DRIVEN_CARE,
        kind=TransitionKind.ADVANCE,
    )
    path = tmp_path / "forged.json"
    path.write_bytes(caseformat.dumps(stored.append(forged)))
    result = run("team", str(path))
    assert result.returncode == 1
    assert "was not allowed" in result.stderr


def test_team_takes_the_engine_options(changed_team: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text('{"advance_treshold": 7}', encoding="utf-8")
    result = run("team", str(changed_team), "--policy", str(policy))
    assert result.returncode == 1
    assert "advance_treshold" in result.stderr
    assert run("team", str(changed_team), "--block", "ketenzorg.gezinsprofielen").returncode == 0


def test_every_role_and_partner_type_has_a_text() -> None:
    for role in PartyRole:
        assert is_known_key(f"role.{role.value}"), role
    for kind in PartnerType:
        assert is_known_key(f"partner.{kind.value}"), kind


# --- evaluate: the blocking parties by id -----------------------------------------------------------


def test_evaluate_names_the_blocking_parties_by_id(blocked_case: Path) -> None:
    result = run("evaluate", str(blocked_case), "--at", AT)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    heading = lines.index("  Parties blocking the advance (ketenzorg team lists the care team):")
    assert lines[heading + 1 :] == [
        f"    {P_POLICE.id} (chain partner: police, Politie basisteam Demo): score below the threshold"
    ]


def test_evaluate_names_the_blocking_parties_in_dutch(blocked_case: Path) -> None:
    out = run("evaluate", str(blocked_case), "--at", AT, "--lang", "nl").stdout
    assert f"    {P_POLICE.id} (ketenpartner: politie, Politie basisteam Demo): score onder de grens" in out


def test_evaluate_names_a_blocking_client_by_role(tmp_path: Path) -> None:
    case = (
        CaseBuilder(engine_with()).conference(day(7), scores={"practitioner": 6, "police": 6, "vt": 6}).case
    )
    path = tmp_path / "case.json"
    path.write_bytes(caseformat.dumps(case))
    out = run("evaluate", str(path), "--at", AT).stdout
    assert "    client (client): has not scored" in out
    assert "Cliënt X" not in out


def test_evaluate_shows_no_blocking_parties_when_none_block(demo_dir: Path) -> None:
    out = run("evaluate", str(demo_dir / "case-open.json")).stdout
    assert "Parties blocking" not in out
