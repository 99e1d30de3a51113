"""The example plugin ``examples/ketenzorg-rihg``, installed through pip as an organisation would.

One ``pip install --no-deps --no-build-isolation --target`` per module (hatchling from the test extra);
the target directory is put on ``sys.path`` only while these tests run, so that the
``ketenzorg`` entry-point group finds the distribution. All case data is synthetic.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from factories import all_score, conference, day, new_case, plan
from ketenzorg import (
    AlertLevel,
    Case,
    Engine,
    InvalidEventError,
    Phase,
    RuleStatus,
    TransitionBlockedError,
)
from ketenzorg.events import InstrumentApplied
from ketenzorg.instruments import AnswerType, ResponseError, SafetyCode, Urgency
from ketenzorg.pluginhost import PluginError

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ketenzorg-rihg"
DIST = "ketenzorg-rihg"
PLUGIN = "rihg"
RULE = "rihg.restraining-order"
CONSULTATION = "rihg.huisverbod-overleg"
MODULE = "ketenzorg_rihg"

PARTS = {
    "A": ("a1_physical_violence", "a3_weapon", "a4_strangulation"),
    "B": ("b1_prior_violence", "b2_violated_measures", "b7_weapon_access"),
    "C": ("c1_fear", "c2_separation", "c5_dependency"),
}
"""A few signals of each part."""


def _forget_module() -> None:
    for name in [m for m in sys.modules if m == MODULE or m.startswith(MODULE + ".")]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Install the example with pip into a fresh target and make it importable meanwhile."""
    target = tmp_path_factory.mktemp("rihg-target")
    result = subprocess.run(
        # The build backend (hatchling) comes with the test extra: no network needed here.
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(EXAMPLE),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"pip install of {EXAMPLE} failed:\n{result.stdout + result.stderr}")
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    try:
        yield target
    finally:
        sys.path.remove(str(target))
        importlib.invalidate_caches()
        _forget_module()


@pytest.fixture(scope="module")
def version(installed: Path) -> str:
    return importlib.metadata.version(DIST)


@pytest.fixture
def rihg_engine(installed: Path) -> Engine:
    return Engine(entry_points=True)


def ready_case(engine: Engine) -> Case:
    """Phase 1, everyone scored 6 and the plan with agreements was made on day 7: may advance."""
    case = new_case()
    case, mdo = conference(engine, case, day(7), all_score(case, 6))
    return plan(engine, case, mdo, day(7))


def red(*items: str) -> dict[str, str]:
    return dict.fromkeys(items, "red")


def assessed(engine: Engine, answers: dict[str, str]) -> Case:
    """A ready case with a RiHG applied by the police on day 8."""
    return engine.assess(ready_case(engine), PLUGIN, answers, at=day(8), applied_by="police")


# --- installation and loading --------------------------------------------------------------------


def test_pip_installed_the_distribution_with_its_entry_point(installed: Path, version: str) -> None:
    dist = importlib.metadata.distribution(DIST)
    assert version == importlib.import_module(MODULE).__version__
    assert Path(str(dist.locate_file(""))).resolve() == installed.resolve()
    (entry_point,) = [ep for ep in importlib.metadata.entry_points(group="ketenzorg") if ep.name == PLUGIN]
    assert entry_point.value == MODULE
    files = {str(f) for f in dist.files or ()}
    assert {f"{MODULE}/__init__.py", f"{MODULE}/rihg.json", f"{MODULE}/py.typed"} <= files


def test_engine_with_entry_points_loads_rihg_from_the_installed_distribution(
    rihg_engine: Engine, installed: Path, version: str
) -> None:
    info = {p.name: p for p in rihg_engine.plugin_info()}
    assert info[PLUGIN].distribution == DIST
    assert info[PLUGIN].version == version
    assert not info[PLUGIN].builtin
    assert info[PLUGIN].hooks == (
        "ketenzorg_register_conference_kinds",
        "ketenzorg_register_instruments",
        "ketenzorg_register_rules",
        "ketenzorg_register_settings",
    )
    registered = rihg_engine.instruments[PLUGIN]
    assert (registered.plugin, registered.distribution, registered.version) == (PLUGIN, DIST, version)
    assert rihg_engine.rules[-1].id == RULE
    assert rihg_engine.rules[-1].plugin == PLUGIN
    assert rihg_engine.rules[-1].gate
    # The copy pip installed is used, not the source tree of the example.
    assert Path(sys.modules[MODULE].__file__ or "").resolve().is_relative_to(installed.resolve())


def test_assess_records_the_provenance_in_the_event(rihg_engine: Engine, version: str) -> None:
    case = assessed(rihg_engine, red("a3_weapon"))
    event = case.events[-1]
    assert isinstance(event, InstrumentApplied)
    assert event.instrument_id == PLUGIN
    assert event.instrument_version == "0.1.0-synthetic"
    assert (event.plugin, event.distribution, event.distribution_version) == (PLUGIN, DIST, version)
    assert event.answers == {"a3_weapon": "red"}


def test_not_loaded_without_entry_points(installed: Path) -> None:
    engine = Engine()
    assert PLUGIN not in {p.name for p in engine.plugin_info()}
    assert PLUGIN not in engine.instruments
    assert RULE not in {r.id for r in engine.rules}
    with pytest.raises(InvalidEventError, match="not an instrument of this engine; known: geweldsanalyse"):
        engine.assess(new_case(), PLUGIN, red("a3_weapon"), at=day(1))


def test_not_loaded_when_blocked(installed: Path) -> None:
    engine = Engine(entry_points=True, block={PLUGIN})
    assert PLUGIN not in {p.name for p in engine.plugin_info()}
    assert PLUGIN not in engine.instruments
    assert RULE not in {r.id for r in engine.rules}
    # Blocking one plugin leaves the shipped instruments alone.
    assert {"geweldsanalyse", "gezinsprofielen"} <= set(engine.instruments)


def test_two_engines_in_one_process_do_not_affect_each_other(installed: Path) -> None:
    with_plugin = Engine(entry_points=True)
    without = Engine()
    with_plugin_again = Engine(entry_points=True)
    case = with_plugin.assess(
        ready_case(with_plugin), PLUGIN, red("a3_weapon", "a4_strangulation"), at=day(8)
    )
    assert with_plugin.evaluate(case, at=day(8)).result(RULE).status is RuleStatus.FAILED
    decision = without.evaluate(case, at=day(8))
    with pytest.raises(KeyError):
        decision.result(RULE)
    assert all(a.rule_id != RULE for a in decision.alerts)
    assert PLUGIN not in without.instruments
    assert with_plugin_again.instruments[PLUGIN].instrument is not with_plugin.instruments[PLUGIN].instrument
    assert PLUGIN in with_plugin.instruments


# --- the instrument ------------------------------------------------------------------------------


def test_spec_has_twenty_red_blue_yellow_signals_in_three_parts(rihg_engine: Engine) -> None:
    spec = rihg_engine.instruments[PLUGIN].spec
    assert len(spec.items) == 20
    sections = [item.section for item in spec.items]
    assert {s: sections.count(s) for s in set(sections)} == {"A": 7, "B": 7, "C": 6}
    for item in spec.items:
        assert item.answer_type is AnswerType.CHOICE
        assert item.allowed == ("red", "blue", "yellow")
        assert item.text["nl"].strip()
        assert item.text["en"].strip()
    assert "NIET het officiële instrument" in spec.description["nl"]
    assert "NOT the official instrument" in spec.description["en"]


@pytest.mark.parametrize("part", sorted(PARTS))
def test_two_red_in_one_part_advise_a_restraining_order(rihg_engine: Engine, part: str) -> None:
    first, second, third = PARTS[part]
    answers = {**red(first, second), third: "blue"}
    result = rihg_engine.instruments[PLUGIN].instrument.assess(answers)
    assert result.safety_code is SafetyCode.RED
    assert result.urgency is Urgency.IMMEDIATE
    assert [c.code for c in result.classifications] == ["restraining_order"]
    assert "tijdelijk huisverbod (10 dagen, te verlengen tot 28 dagen)" in result.advice[0].nl
    assert f"Deel {part}" in result.advice[0].nl
    assert [f.id for f in result.risk_factors] == [f"rihg:{first}", f"rihg:{second}"]


def test_the_organisation_sets_the_restraining_order_threshold_in_its_policy(installed: Path) -> None:
    from ketenzorg import Policy, PolicyError

    answers = red(*PARTS["A"][:2])
    policy = Policy.from_mapping({"plugins": {PLUGIN: {"restraining_order_per_part": 3}}})
    stricter = Engine(policy, entry_points=True)
    standard = Engine(entry_points=True)
    assert standard.settings(PLUGIN) == {"restraining_order_per_part": 2}
    assert assessed(standard, answers).events[-1].result.safety_code is SafetyCode.RED  # type: ignore[attr-defined]
    assert assessed(stricter, answers).events[-1].result.safety_code is SafetyCode.ORANGE  # type: ignore[attr-defined]
    assert assessed(stricter, red(*PARTS["A"])).events[-1].result.safety_code is SafetyCode.RED  # type: ignore[attr-defined]
    with pytest.raises(PolicyError) as caught:
        Engine(
            Policy.from_mapping({"plugins": {PLUGIN: {"restraining_order_per_part": 0}}}), entry_points=True
        )
    assert [str(p) for p in caught.value.problems] == [
        "plugins.rihg.restraining_order_per_part: must be between 1 and 10"
    ]


def test_red_in_different_parts_is_orange_without_restraining_order(rihg_engine: Engine) -> None:
    result = rihg_engine.instruments[PLUGIN].instrument.assess(red("a3_weapon", "b1_prior_violence"))
    assert (result.safety_code, result.urgency) == (SafetyCode.ORANGE, Urgency.SOON)
    assert result.classifications == ()
    assert len(result.advice) == 1
    assert result.advice[0].nl.startswith("Rode signalen zonder huisverbod-indicatie")
    assert {f.code for f in result.risk_factors} == {"weapon", "prior_violence"}


def test_no_red_is_green_and_unknown_signals_are_counted(rihg_engine: Engine) -> None:
    answers = {"a1_physical_violence": "blue", "b3_substance_use": "yellow", "c4_isolation": "yellow"}
    result = rihg_engine.instruments[PLUGIN].instrument.assess(answers)
    assert (result.safety_code, result.urgency) == (SafetyCode.GREEN, Urgency.ROUTINE)
    assert result.risk_factors == ()
    assert [t.nl for t in result.advice] == ["Onbekende signalen (geel): 2; zo snel mogelijk aanvullen."]


def test_a_rating_outside_red_blue_yellow_is_refused(rihg_engine: Engine) -> None:
    case = ready_case(rihg_engine)
    with pytest.raises(ResponseError) as caught:
        rihg_engine.assess(case, PLUGIN, {"a1_physical_violence": "green", "x": "red"}, at=day(8))
    assert {p.path for p in caught.value.problems} == {"a1_physical_violence", ""}


# --- the rule ------------------------------------------------------------------------------------


def test_restraining_order_blocks_advancing_and_raises_the_alert(rihg_engine: Engine) -> None:
    case = assessed(rihg_engine, red("a3_weapon", "a4_strangulation"))
    with pytest.raises(TransitionBlockedError, match=RULE) as caught:
        rihg_engine.advance(case, at=day(8))
    decision = caught.value.decision
    assert RULE in {r.rule_id for r in decision.blocking}
    result = decision.result(RULE)
    assert (result.status, result.gate, result.plugin) == (RuleStatus.FAILED, True, PLUGIN)
    assert [m.render("en") for m in result.missing] == [
        "a restraining-order consultation after the RiHG of 2026-01-13"
    ]
    assert result.message.render("nl") == (
        "RiHG adviseert een tijdelijk huisverbod; nog geen huisverbodoverleg sindsdien"
    )
    (alert,) = [a for a in decision.alerts if a.rule_id == RULE]
    assert alert.level is AlertLevel.IMMEDIATE_PROTECTION
    assert "temporary restraining order" in alert.message.render("en")
    assert "tijdelijk huisverbod" in alert.message.render("nl")
    assert [e.event_id for e in alert.evidence] == [case.events[-1].id]


def test_red_in_different_parts_does_not_block(rihg_engine: Engine) -> None:
    case = assessed(rihg_engine, red("a3_weapon", "b1_prior_violence", "c1_fear"))
    decision = rihg_engine.evaluate(case, at=day(8))
    assert decision.result(RULE).status is RuleStatus.PASSED
    assert all(a.rule_id != RULE for a in decision.alerts)
    assert rihg_engine.advance(case, at=day(8)).state.phase is Phase.RISK_DRIVEN_CARE


def test_an_ordinary_case_conference_does_not_clear_the_rule(rihg_engine: Engine) -> None:
    case = assessed(rihg_engine, red("c1_fear", "c2_separation"))
    case, _ = conference(rihg_engine, case, day(9))
    assert rihg_engine.evaluate(case, at=day(9)).result(RULE).status is RuleStatus.FAILED


def test_a_restraining_order_consultation_after_the_result_clears_the_rule(rihg_engine: Engine) -> None:
    case = assessed(rihg_engine, red("c1_fear", "c2_separation"))
    applied = case.events[-1].id
    case, mdo = conference(rihg_engine, case, day(9), kind=CONSULTATION)
    decision = rihg_engine.evaluate(case, at=day(9))
    result = decision.result(RULE)
    assert result.status is RuleStatus.PASSED
    assert [e.event_id for e in result.evidence] == [applied, mdo]
    assert all(a.rule_id != RULE for a in decision.alerts)
    assert rihg_engine.advance(case, at=day(9)).state.phase is Phase.RISK_DRIVEN_CARE


def test_the_rule_is_not_applicable_before_any_rihg(rihg_engine: Engine) -> None:
    decision = rihg_engine.evaluate(ready_case(rihg_engine), at=day(8))
    assert decision.result(RULE).status is RuleStatus.NOT_APPLICABLE
    assert decision.may_advance


# --- the command line ----------------------------------------------------------------------------


def _cli(installed: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(installed), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.run(
        [sys.executable, "-m", "ketenzorg", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=120,
        check=False,
    )


def test_cli_plugins_lists_rihg_with_distribution_and_version(installed: Path, version: str) -> None:
    text = _cli(installed, "plugins")
    assert text.returncode == 0, text.stderr
    assert f"{PLUGIN}: {DIST} {version}" in text.stdout.splitlines()
    listed = _cli(installed, "plugins", "--json")
    assert listed.returncode == 0, listed.stderr
    (entry,) = [p for p in json.loads(listed.stdout) if p["name"] == PLUGIN]
    assert (entry["distribution"], entry["version"], entry["builtin"]) == (DIST, version, False)
    assert [i["id"] for i in entry["instruments"]] == [PLUGIN]
    assert entry["rules"] == [RULE]
    blocked = _cli(installed, "plugins", "--json", "--block", PLUGIN)
    assert blocked.returncode == 0, blocked.stderr
    assert PLUGIN not in {p["name"] for p in json.loads(blocked.stdout)}


# --- the plugin host with an installed plugin ----------------------------------------------------


@pytest.fixture
def broken_distribution(tmp_path: Path) -> Iterator[Path]:
    """A synthetic installed distribution whose plugin ``broken`` implements a misspelt hook."""
    (tmp_path / "broken_plugin_mod").mkdir()
    (tmp_path / "broken_plugin_mod" / "__init__.py").write_text(
        "from ketenzorg.hookspecs import hookimpl\n\n\n"
        "@hookimpl\ndef ketenzorg_register_instrumentz(registry):\n    pass\n",
        encoding="utf-8",
    )
    info = tmp_path / "broken_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text("[ketenzorg]\nbroken = broken_plugin_mod\n", encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    importlib.invalidate_caches()
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        importlib.invalidate_caches()
        sys.modules.pop("broken_plugin_mod", None)


def test_blocking_an_installed_plugin_by_its_entry_point_name_skips_it(broken_distribution: Path) -> None:
    engine = Engine(entry_points=True, block={"broken"})
    assert "broken" not in {p.name for p in engine.plugin_info()}
    assert "broken_plugin_mod" not in sys.modules


def test_a_misspelt_hook_in_an_installed_plugin_names_the_entry_point(broken_distribution: Path) -> None:
    with pytest.raises(PluginError) as caught:
        Engine(entry_points=True)
    assert caught.value.hook == "check_pending"
    assert caught.value.plugin == "broken"


# --- levels, the referral, the conference kind, both languages -----------------------------------


def test_the_result_names_its_level_and_the_level_maps_to_the_engines_urgency(rihg_engine: Engine) -> None:
    spec = rihg_engine.instruments[PLUGIN].spec
    assert [level.code for level in spec.levels] == ["low", "elevated", "restraining_order"]
    assert spec.level("restraining_order").display.in_language("nl") == "tijdelijk huisverbod geadviseerd"
    assert spec.level("elevated").urgency is Urgency.SOON
    for answers, level in (
        (red("a3_weapon", "a4_strangulation"), "restraining_order"),
        (red("a3_weapon", "b1_prior_violence"), "elevated"),
        ({}, "low"),
    ):
        result = rihg_engine.assess(ready_case(rihg_engine), PLUGIN, answers, at=day(8)).events[-1]
        assert isinstance(result, InstrumentApplied)
        assert result.result.level == level


def test_an_advised_order_asks_for_a_referral_the_plan_carries_as_a_task(rihg_engine: Engine) -> None:
    from ketenzorg import TaskStatus
    from ketenzorg.case import open_tasks, tasks_from_actions

    case = assessed(rihg_engine, red("a3_weapon", "a4_strangulation"))
    (task,) = tasks_from_actions(case.state)
    assert (task.kind, task.conference_kind, task.status) == ("referral", CONSULTATION, TaskStatus.OPEN)
    assert task.text.in_language("en").startswith("Discuss the advised temporary restraining order")
    assert open_tasks(case.state) == (task,)
    assert tasks_from_actions(assessed(rihg_engine, red("a3_weapon")).state) == ()


def test_the_conference_kind_is_registered_through_the_hook(rihg_engine: Engine) -> None:
    kind = rihg_engine.conference_kinds[CONSULTATION]
    assert (kind.name.nl, kind.name.en) == ("huisverbodoverleg", "restraining-order consultation")
    assert rihg_engine.conference_kinds_of(PLUGIN) == (kind,)
    assert Engine().conference_kinds.get(CONSULTATION) is None  # without the plugin: unknown


def test_cli_plugins_shows_the_kind_and_the_setting_in_both_languages(installed: Path) -> None:
    dutch = _cli(installed, "plugins", "--lang", "nl").stdout
    assert "  overlegvorm rihg.huisverbod-overleg: huisverbodoverleg" in dutch
    assert "  instelling restraining_order_per_part: geheel getal, standaard 2, 1 t/m 10; gewogen" in dutch
    english = _cli(installed, "plugins").stdout
    assert "  conference kind rihg.huisverbod-overleg: restraining-order consultation" in english
    assert "  setting restraining_order_per_part: whole number, default 2, 1 to 10; weighed" in english
    (entry,) = [p for p in json.loads(_cli(installed, "plugins", "--json").stdout) if p["name"] == PLUGIN]
    assert entry["conference_kinds"] == [
        {"code": CONSULTATION, "name": {"nl": "huisverbodoverleg", "en": "restraining-order consultation"}}
    ]
    (setting,) = entry["settings"]
    assert (setting["name"], setting["type"], setting["minimum"], setting["maximum"]) == (
        "restraining_order_per_part",
        "int",
        1,
        10,
    )
