"""The command line, run as a user would: in a subprocess, checking output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factories import GEWELDSANALYSE_ORANGE as ANSWERS_ORANGE
from factories import run_cli as run
from ketenzorg import PhaseChanged, TransitionKind, __version__, caseformat

SECRET = "Schuilhoek 7, 1234 AB Geheimstad"


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    result = run("demo", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"ketenzorg {__version__}"


def test_console_script_entry_point_is_declared(repo: Path) -> None:
    text = (repo / "pyproject.toml").read_text(encoding="utf-8")
    assert 'ketenzorg = "ketenzorg.cli:main"' in text


def test_demo_walks_the_whole_method() -> None:
    result = run("demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    steps = [line for line in out.splitlines() if line.startswith("=== ")]
    assert len(steps) == 11
    # Blocked at the first conference, with the reason.
    assert "refused: Transition to phase 2 (risk-driven care) blocked" in out
    assert "Politie basisteam Demo scores 5, at least 6 is needed" in out
    # The acute incident raises the alert and proposes the relapse.
    assert "Acute incident on 2 May 2026 since the last case conference; protect at once" in out
    assert "Proposed: relapse to phase 1 (immediate safety)" in out
    # The stability window blocks, then recovery care, then closing.
    assert "last incident on 2 May 2026; stable from 31 July 2026" in out
    assert "Current phase: phase 3 (recovery care)" in out
    assert "Case closed" in out
    phases = [line.split(": ", 1)[1] for line in out.splitlines() if "Current phase:" in line]
    assert [p.split(" ", 2)[1] for p in phases] == [
        "1", "1", "2", "2", "2", "1", "2", "2", "3", "3", "3",
    ]  # fmt: skip


def test_demo_in_dutch() -> None:
    result = run("demo", "--lang", "nl")
    assert result.returncode == 0
    assert "Huidige fase: fase 1 (directe veiligheid)" in result.stdout
    assert "geweigerd: Overgang naar fase 2 (risicogestuurde zorg) geblokkeerd" in result.stdout
    assert "Casus afgesloten" in result.stdout


def test_demo_out_writes_the_case(demo_dir: Path) -> None:
    case = caseformat.loads((demo_dir / "case.json").read_bytes())
    assert case.state.is_closed
    changes = [e for e in case.events if isinstance(e, PhaseChanged)]
    assert [(c.from_phase, c.to_phase, c.kind) for c in changes] == [
        (1, 2, TransitionKind.ADVANCE),
        (2, 1, TransitionKind.RELAPSE),
        (1, 2, TransitionKind.ADVANCE),
        (2, 3, TransitionKind.ADVANCE),
    ]


def test_evaluate_prints_the_decision(demo_dir: Path) -> None:
    result = run("evaluate", str(demo_dir / "case.json"), "--lang", "en")
    assert result.returncode == 0
    assert "Current phase: phase 3 (recovery care)" in result.stdout
    assert "Case closed" in result.stdout


def test_evaluate_json(demo_dir: Path) -> None:
    result = run("evaluate", str(demo_dir / "case.json"), "--json", "--at", "2026-10-06T12:00:00+00:00")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["phase"] == 3
    assert data["closed"] is True
    assert data["at"] == "2026-10-06T12:00:00+00:00"
    assert {r["rule_id"] for r in data["results"]} >= {"alert.acute-score", "plan.top-3"}


def test_evaluate_a_case_in_progress(tmp_path: Path) -> None:
    from ketenzorg.demo import walk

    blocked = walk()[1]  # the first conference, police at 5
    path = tmp_path / "case.json"
    path.write_bytes(caseformat.dumps(blocked.case))
    result = run("evaluate", str(path), "--json", "--at", "2026-01-20T09:00:00+00:00")
    data = json.loads(result.stdout)
    assert data["may_advance"] is False
    assert data["blocking"] == ["advance.safety-consensus"]
    consensus = next(r for r in data["results"] if r["rule_id"] == "advance.safety-consensus")
    assert consensus["missing"] == ["Politie basisteam Demo scores 5, at least 6 is needed"]
    # Sixty days later, every score has gone stale.
    later = run("evaluate", str(path), "--lang", "nl", "--at", "2026-04-01T09:00:00+02:00")
    assert "Politie basisteam Demo heeft niet meer gescoord sinds 19 januari 2026" in later.stdout


def test_policy_file_changes_the_decision(tmp_path: Path) -> None:
    from ketenzorg.demo import walk

    path = tmp_path / "case.json"
    path.write_bytes(caseformat.dumps(walk()[1].case))
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"advance_threshold": 5, "stable_threshold": 7}))
    result = run("evaluate", str(path), "--json", "--policy", str(policy), "--at", "2026-01-20T09:00:00Z")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["may_advance"] is True


def test_invalid_policy_is_a_negative_answer(tmp_path: Path, demo_dir: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"advance_threshold": 8, "stable_threshold": 7, "colour": "red"}))
    result = run("evaluate", str(demo_dir / "case.json"), "--policy", str(policy))
    assert result.returncode == 1
    assert str(policy) in result.stderr
    assert "colour: unknown policy setting" in result.stderr


def test_invalid_case_contents_exit_1_with_path(tmp_path: Path, demo_dir: Path) -> None:
    data = json.loads((demo_dir / "case.json").read_text(encoding="utf-8"))
    index = next(i for i, e in enumerate(data["events"]) if e["type"] == "score_given")
    data["events"][index]["score"] = 11
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    result = run("evaluate", str(path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"{path}: events[{index}].score: 11 is not in 0..10" in result.stderr


def test_secret_address_never_appears_in_cli_output(tmp_path: Path, demo_dir: Path) -> None:
    data = json.loads((demo_dir / "case.json").read_text(encoding="utf-8"))
    data["events"][0]["care_setting"]["location"]["address"] = SECRET
    path = tmp_path / "leak.json"
    path.write_text(json.dumps(data))
    result = run("evaluate", str(path), "--json")
    assert result.returncode == 1
    assert "Schuilhoek" not in result.stdout + result.stderr
    assert "events[0].care_setting.location.address" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a case object"),
        ('{"resourceType": "Patient"}', "expected a Bundle, found Patient"),
        ('{"format": "fhir"}', "not a ketenzorg case document"),
    ],
)
def test_unusable_file_exit_2(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "input.json"
    path.write_text(content)
    result = run("evaluate", str(path))
    assert result.returncode == 2
    assert str(path) in result.stderr
    assert message in result.stderr


def test_a_bundle_that_is_not_valid_fhir_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "input.json"
    path.write_text('{"resourceType": "Bundle"}')
    result = run("evaluate", str(path))
    assert result.returncode == 1
    assert "Bundle.type: a Bundle needs its type" in result.stderr


def test_missing_file_and_directory_exit_2(tmp_path: Path) -> None:
    missing = run("evaluate", str(tmp_path / "nope.json"))
    assert missing.returncode == 2
    assert "nope.json: file not found" in missing.stderr
    directory = run("evaluate", str(tmp_path))
    assert directory.returncode == 2
    assert "is a directory" in directory.stderr


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("frobnicate",),
        ("evaluate",),
        ("evaluate", "x.json", "--lang", "de"),
        ("evaluate", "x.json", "--at", "tomorrow"),
        ("evaluate", "x.json", "--at", "2026-01-01T10:00:00"),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert result.stderr.strip() != ""


# --- plugins and instruments ---------------------------------------------------------------------


def test_plugins_lists_shipped_plugins_instruments_and_rules() -> None:
    result = run("plugins")
    assert result.returncode == 0
    out = result.stdout
    assert f"ketenzorg.geweldsanalyse (shipped): ketenzorg {__version__}" in out
    assert "instrument geweldsanalyse 1.0.0: Violence analysis (reference implementation)" in out
    assert "instrument gezinsprofielen 1.0.0" in out
    assert "hooks: ketenzorg_register_conference_kinds, ketenzorg_register_rules" in out
    data = json.loads(run("plugins", "--json", "--block", "ketenzorg.gezinsprofielen").stdout)
    names = [p["name"] for p in data]
    assert names == ["ketenzorg.method", "ketenzorg.geweldsanalyse"]
    assert "advance.safety-consensus" in data[0]["rules"]
    assert data[1]["instruments"][0]["id"] == "geweldsanalyse"


def test_plugins_lists_conference_kinds_and_speaks_the_language_asked_for() -> None:
    dutch = run("plugins", "--lang", "nl").stdout
    assert "  overlegvorm marac: MARAC-overleg" in dutch
    assert "  regels: alert.acute-score" in dutch
    assert "koppelpunten (hooks): ketenzorg_register_conference_kinds" in dutch
    assert not any(
        line.lstrip().startswith(("hooks:", "rules:", "conference kind")) for line in dutch.splitlines()
    )
    assert "(meegeleverd)" in dutch
    assert "(shipped)" not in dutch
    english = run("plugins").stdout
    assert "  conference kind marac: MARAC" in english
    data = json.loads(run("plugins", "--json").stdout)
    kinds = {k["code"]: k["name"] for p in data for k in p["conference_kinds"]}
    assert kinds["safety-check"] == {"nl": "veiligheidscheck", "en": "safety check"}
    assert all(p["settings"] == [] for p in data)


@pytest.fixture
def case_in_progress(tmp_path: Path) -> Path:
    from ketenzorg.demo import walk

    path = tmp_path / "case.json"
    path.write_bytes(caseformat.dumps(walk()[1].case))
    return path


def test_assess_applies_the_instrument_and_writes_the_case(tmp_path: Path, case_in_progress: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(ANSWERS_ORANGE))
    out = tmp_path / "new.json"
    result = run(
        "assess", str(case_in_progress), "geweldsanalyse", str(answers),
        "--out", str(out), "--at", "2026-01-25T10:00:00+01:00",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "safety code: orange" in result.stdout
    assert "advised setting: specialist ambulant care" in result.stdout
    assert "risk factor: Coercive control" in result.stdout
    assert "Current phase: phase 1 (immediate safety)" in result.stdout
    new = caseformat.loads(out.read_bytes())
    before = caseformat.loads(case_in_progress.read_bytes())
    assert new.events[: len(before.events)] == before.events
    assert new.events[-1].type == "instrument_applied"
    latest = new.state.latest_assessment("geweldsanalyse")
    assert latest is not None
    assert latest.result.safety_code is not None
    assert latest.result.safety_code.value == "orange"


def test_assess_with_bad_answers_names_each_item(tmp_path: Path, case_in_progress: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({**ANSWERS_ORANGE, "injury": "yes", "colour": "red"}))
    out = tmp_path / "new.json"
    result = run("assess", str(case_in_progress), "geweldsanalyse", str(answers), "--out", str(out))
    assert result.returncode == 1
    assert f"{answers}: 2 problems" in result.stderr
    assert "injury: expected true or false" in result.stderr
    assert "an item that geweldsanalyse does not have (names not repeated)" in result.stderr
    assert "colour" not in result.stderr
    assert not out.exists()


def test_assess_unknown_instrument_and_bad_files(tmp_path: Path, case_in_progress: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(ANSWERS_ORANGE))
    unknown = run("assess", str(case_in_progress), "rihg-xyz", str(answers))
    assert unknown.returncode == 1
    assert (
        "INSTRUMENT: not an instrument of this engine; known: geweldsanalyse, gezinsprofielen"
        in unknown.stderr
    )
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert run("assess", str(case_in_progress), "geweldsanalyse", str(broken)).returncode == 2
    blocked = run(
        "assess", str(case_in_progress), "geweldsanalyse", str(answers), "--block", "ketenzorg.geweldsanalyse"
    )
    assert blocked.returncode == 1
    assert "INSTRUMENT: not an instrument of this engine; known: gezinsprofielen" in blocked.stderr
