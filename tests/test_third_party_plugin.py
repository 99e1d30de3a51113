"""A third-party plugin (the example ``ketenzorg-rihg``: its own result levels, a setting, its own
conference kind asked for by a gate rule, a referral action) installed through its entry point,
used through the command line as an organisation would: ``assess`` with a policy file,
``evaluate``, FHIR ``export`` and ``import``; a case decided before it was installed; both languages.
All case data is synthetic."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from factories import as_exported, run_cli
from ketenzorg import caseformat

EXAMPLE_SRC = Path(__file__).resolve().parent.parent / "examples" / "ketenzorg-rihg" / "src"
DATA = json.loads((EXAMPLE_SRC / "ketenzorg_rihg" / "rihg.json").read_text(encoding="utf-8"))
AT = "2026-01-25T10:00:00+01:00"
THREE_RED_IN_A = dict.fromkeys(("a1_physical_violence", "a3_weapon", "a4_strangulation"), "red")
TWO_RED_IN_A = dict.fromkeys(("a3_weapon", "a4_strangulation"), "red")


@pytest.fixture
def decided_before(tmp_path: Path) -> Path:
    """A case that advanced under the method's rules alone, stored before the plugin was installed."""
    from ketenzorg.demo import walk

    path = tmp_path / "before.json"
    path.write_bytes(caseformat.dumps(walk()[1].case))
    return path


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, decided_before: Path) -> Path:
    """The example installed as the distribution ``ketenzorg-rihg`` with its entry point ``rihg``."""
    site = tmp_path / "site"
    info = site / "ketenzorg_rihg-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: ketenzorg-rihg\nVersion: 0.1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text("[ketenzorg]\nrihg = ketenzorg_rihg\n", encoding="utf-8")
    path = [str(site), str(EXAMPLE_SRC), os.environ.get("PYTHONPATH")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, path)))
    return site


def _answers(tmp_path: Path, answers: dict[str, str]) -> Path:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(answers), encoding="utf-8")
    return path


def _policy(tmp_path: Path, threshold: int) -> Path:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"plugins": {"rihg": {"restraining_order_per_part": threshold}}}))
    return path


def test_the_plugin_is_loaded_through_its_entry_point(installed: Path) -> None:
    listed = run_cli("plugins", "--json")
    assert listed.returncode == 0, listed.stderr
    (entry,) = [p for p in json.loads(listed.stdout) if p["name"] == "rihg"]
    assert (entry["distribution"], entry["version"]) == ("ketenzorg-rihg", "0.1.0")
    assert [k["code"] for k in entry["conference_kinds"]] == ["rihg.huisverbod-overleg"]
    assert [s["name"] for s in entry["settings"]] == ["restraining_order_per_part"]


def test_a_case_decided_before_the_plugin_was_installed_loads_evaluates_and_exports(
    installed: Path, decided_before: Path, tmp_path: Path
) -> None:
    evaluated = run_cli("evaluate", str(decided_before))
    assert evaluated.returncode in (0, 1), evaluated.stderr
    assert "Current phase" in evaluated.stdout
    exported = run_cli("export", str(decided_before), "--for", "internal", "--log", os.devnull)
    assert exported.returncode == 0, exported.stderr
    bundle = tmp_path / "bundle.json"
    bundle.write_text(exported.stdout, encoding="utf-8")
    imported = run_cli("import", str(bundle))
    assert imported.returncode == 0, imported.stderr
    assert caseformat.loads(imported.stdout) == as_exported(caseformat.loads(decided_before.read_bytes()))


def test_the_policy_file_sets_the_plugins_threshold(
    installed: Path, decided_before: Path, tmp_path: Path
) -> None:
    answers = str(_answers(tmp_path, TWO_RED_IN_A))
    default = run_cli("assess", str(decided_before), "rihg", answers, "--at", AT)
    assert default.returncode == 0, default.stderr
    assert "level: temporary restraining order advised" in default.stdout
    stricter = run_cli(
        "assess", str(decided_before), "rihg", answers, "--at", AT, "--policy", str(_policy(tmp_path, 3))
    )
    assert stricter.returncode == 0, stricter.stderr
    assert "level: elevated risk" in stricter.stdout
    refused = run_cli(
        "assess", str(decided_before), "rihg", answers, "--at", AT, "--policy", str(_policy(tmp_path, 99))
    )
    assert refused.returncode in (1, 2)
    assert "plugins.rihg.restraining_order_per_part" in refused.stderr


def test_levels_the_referral_and_the_conference_kind_rule_through_assess_evaluate_and_fhir(
    installed: Path, decided_before: Path, tmp_path: Path
) -> None:
    after = tmp_path / "after.json"
    policy = str(_policy(tmp_path, 3))
    answers = str(_answers(tmp_path, THREE_RED_IN_A))
    assessed = run_cli(
        "assess", str(decided_before), "rihg", answers, "--at", AT, "--policy", policy, "--out", str(after)
    )
    assert assessed.returncode == 0, assessed.stderr
    assert "level: temporary restraining order advised" in assessed.stdout
    assert f"action: {DATA['referral']['en']}" in assessed.stdout
    (applied,) = [e for e in caseformat.loads(after.read_bytes()).events if e.type == "instrument_applied"][
        -1:
    ]
    assert applied.result.level == "restraining_order"  # type: ignore[attr-defined]
    assert applied.result.actions[0].conference_kind == "rihg.huisverbod-overleg"  # type: ignore[attr-defined]

    evaluated = run_cli("evaluate", str(after), "--policy", policy, "--at", AT)
    assert "rihg.restraining-order" in evaluated.stdout
    assert "no restraining-order consultation since" in evaluated.stdout

    exported = run_cli("export", str(after), "--for", "internal", "--log", os.devnull, "--policy", policy)
    assert exported.returncode == 0, exported.stderr
    assert "rihg.huisverbod-overleg" in exported.stdout
    bundle = tmp_path / "bundle.json"
    bundle.write_text(exported.stdout, encoding="utf-8")
    imported = run_cli("import", str(bundle), "--policy", policy)
    assert imported.returncode == 0, imported.stderr
    assert caseformat.loads(imported.stdout) == as_exported(caseformat.loads(after.read_bytes()))


ENGLISH_ENUM_VALUES = ("red", "orange", "green", "immediate", "soon", "routine", "shelter", "ambulant")


def test_dutch_output_has_no_english_enum_values_and_english_no_dutch_instrument_text(
    installed: Path, decided_before: Path, tmp_path: Path
) -> None:
    answers = str(_answers(tmp_path, THREE_RED_IN_A))
    dutch = run_cli("assess", str(decided_before), "rihg", answers, "--at", AT, "--lang", "nl")
    assert dutch.returncode == 0, dutch.stderr
    assert "urgentie: direct" in dutch.stdout
    assert "niveau: tijdelijk huisverbod geadviseerd" in dutch.stdout
    words = {w.strip(".,:;()") for w in dutch.stdout.lower().split()}
    assert words.isdisjoint(ENGLISH_ENUM_VALUES), words & set(ENGLISH_ENUM_VALUES)

    english = run_cli("assess", str(decided_before), "rihg", answers, "--at", AT, "--lang", "en")
    assert english.returncode == 0, english.stderr
    dutch_texts = [
        *(level["display"]["nl"] for level in DATA["levels"]),
        DATA["referral"]["nl"],
        DATA["restraining_order"]["display"]["nl"],
        *(factor["nl"] for factor in DATA["risk_factors"].values()),
    ]
    assert [t for t in dutch_texts if t in english.stdout] == []
