"""A transition is judged by the rules in force when it was made: recorded with it, checked on replay
where the engine still has them, reported (not refused) where it does not; a forged one is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import attrs
import pytest

from factories import all_score, case_in_phase_1_ready, case_in_phase_2, conference, day, new_case, plan
from ketenzorg import Engine, PhaseChanged, TransitionBlockedError, caseformat, hookimpl
from ketenzorg.decision import RuleResult, RuleStatus
from ketenzorg.domain import Phase
from ketenzorg.events import CaseClosed, TransitionKind
from ketenzorg.messages import Message, render
from ketenzorg.pluginhost import CORE_RULES_PLUGIN, RuleRegistry
from ketenzorg.policy import Policy
from ketenzorg.rules import Finding, Rule, RuleContext
from ketenzorg.ruleset import RuleSet, policy_fingerprint, policy_settings

NO = Message.literal(nl="nee", en="no")


def _gate(ctx: RuleContext) -> Finding:
    return Finding(RuleResult("org.marac", RuleStatus.FAILED, NO))


def _passing_gate(ctx: RuleContext) -> Finding:
    return Finding(RuleResult("org.marac", RuleStatus.PASSED, NO))


def _relapse(ctx: RuleContext) -> Finding:
    return Finding(RuleResult("org.relapse", RuleStatus.FAILED, NO), proposes_relapse=True)


class Plugin:
    """An organisation's plugin with one rule, declaring its distribution and version."""

    ketenzorg_plugin_distribution = "org-gate"

    def __init__(self, rule: Rule, version: str = "1.0") -> None:
        self.ketenzorg_plugin_name = "org.gate"
        self.ketenzorg_plugin_version = version
        self.rule = rule

    @hookimpl
    def ketenzorg_register_rules(self, registry: RuleRegistry) -> None:
        registry.add(self.rule)


def gate(version: str = "1.0", *, passing: bool = False) -> Plugin:
    return Plugin(Rule("org.marac", _passing_gate if passing else _gate, gate=True), version)


def relapser() -> Plugin:
    return Plugin(Rule("org.relapse", _relapse, gate=False))


# --- recording -----------------------------------------------------------------------------------


def test_advance_and_close_record_the_rules_they_were_decided_under() -> None:
    engine = Engine(plugins=[gate(passing=True)])
    case = case_in_phase_2(engine)
    change = case.events[-1]
    assert isinstance(change, PhaseChanged)
    recorded = change.rule_set
    assert recorded == engine.rule_set()
    assert recorded is not None
    [method, plugin] = recorded.plugins
    assert method.name == CORE_RULES_PLUGIN
    assert method.distribution == "ketenzorg"
    assert (plugin.name, plugin.distribution, plugin.version, plugin.rules) == (
        "org.gate",
        "org-gate",
        "1.0",
        ("org.marac",),
    )
    settings = policy_settings(Policy().to_mapping())
    assert recorded.policy == policy_fingerprint(settings)
    assert recorded.policy.startswith("sha256:")
    assert len(recorded.policy) == len("sha256:") + 16
    assert recorded.policy_settings == settings
    case, _ = conference(engine, case, day(200), all_score(case, 7))
    case = engine.close(engine.advance(case, at=day(200)), handover_to=["police"], at=day(201))
    closed = case.events[-1]
    assert isinstance(closed, CaseClosed)
    assert closed.rule_set == engine.rule_set()


def test_the_policy_fingerprint_is_stable_and_tells_policies_apart() -> None:
    assert Engine().rule_set().policy == Engine().rule_set().policy
    assert Engine(Policy(advance_threshold=5)).rule_set().policy != Engine().rule_set().policy


def test_recorded_settings_must_match_the_fingerprint() -> None:
    with pytest.raises(ValueError, match="policy_settings"):
        RuleSet(plugins=(), policy="sha256:0000000000000000", policy_settings="{}")


# --- installing, updating, removing a plugin -----------------------------------------------------


def test_installing_a_plugin_with_a_gate_keeps_an_earlier_case_loadable() -> None:
    before = Engine()
    case = case_in_phase_2(before)
    after = Engine(plugins=[gate()])
    loaded = after.load(case.case_id, case.events)
    assert loaded.state.phase == 2
    decision = after.evaluate(loaded, at=day(8))
    [difference] = decision.judged_under
    assert [p.name for p in difference.added] == ["org.gate"]
    assert difference.not_here == ()
    assert "org.gate (org-gate 1.0)" in decision.explain("en")
    assert decision.to_dict()["judged_under"][0]["added"][0]["name"] == "org.gate"
    assert after.load_json(caseformat.dumps(case)).state.phase == 2
    # the new gate holds for what is decided from now on
    with pytest.raises(TransitionBlockedError):
        after.advance(loaded, at=day(8))


def test_updating_a_plugin_keeps_an_earlier_case_loadable() -> None:
    old = Engine(plugins=[gate("1.0", passing=True)])
    case = case_in_phase_2(old)
    new = Engine(plugins=[gate("1.1")])
    loaded = new.load(case.case_id, case.events)
    [difference] = new.evaluate(loaded, at=day(8)).judged_under
    assert [(p.name, p.version) for p in difference.not_here] == [("org.gate", "1.0")]
    assert [(p.name, p.version) for p in difference.added] == [("org.gate", "1.1")]


def _relapsed(engine: Engine) -> Any:
    case = case_in_phase_2(engine)
    return engine.relapse(case, at=day(9))


def test_a_partner_without_the_plugin_loads_a_relapse_the_plugin_proposed() -> None:
    case = _relapsed(Engine(plugins=[relapser()]))
    change = case.events[-1]
    assert isinstance(change, PhaseChanged)
    assert change.rules == ("org.relapse",)
    partner = Engine()
    loaded = partner.load(case.case_id, case.events)
    assert loaded.state.phase == 1
    *_, difference = partner.evaluate(loaded, at=day(10)).judged_under
    assert difference.index == len(case.events) - 1
    assert [p.name for p in difference.not_here] == ["org.gate"]


def test_removing_a_gate_plugin_keeps_a_case_it_blocked_nothing_of_loadable() -> None:
    case = case_in_phase_2(Engine(plugins=[gate(passing=True)]))
    partner = Engine()
    loaded = partner.load(case.case_id, case.events)
    assert loaded.state.phase == 2
    [difference] = partner.evaluate(loaded, at=day(8)).judged_under
    assert [p.rules for p in difference.not_here] == [("org.marac",)]


# --- forged transitions --------------------------------------------------------------------------


def _forged_advance(engine: Engine, rule_set: RuleSet | None) -> tuple[str, list[Any]]:
    case = new_case()
    case, mdo = conference(engine, case, day(7), all_score(case, 5))
    case = plan(engine, case, mdo, day(7))
    forged = PhaseChanged(
        at=day(8),
        from_phase=Phase.IMMEDIATE_SAFETY,
        to_phase=Phase.RISK_DRIVEN_CARE,
        kind=TransitionKind.ADVANCE,
        rule_set=rule_set,
    )
    return case.case_id, [*case.events, forged]


@pytest.mark.parametrize("claimed", ["same", "none", "other plugins"])
def test_a_forged_advance_the_methods_gates_refuse_is_still_refused(claimed: str) -> None:
    engine = Engine(plugins=[gate(passing=True)])
    rule_set: RuleSet | None = engine.rule_set()
    if claimed == "none":
        rule_set = None
    elif claimed == "other plugins":
        assert rule_set is not None
        rule_set = attrs.evolve(rule_set, plugins=rule_set.plugins[:1])
    case_id, events = _forged_advance(engine, rule_set)
    with pytest.raises(TransitionBlockedError, match=r"events\[\d+\]: phase_changed"):
        engine.load(case_id, events)


def test_a_forged_advance_a_plugins_gate_refuses_is_refused_under_the_same_plugin() -> None:
    engine = Engine(plugins=[gate()])
    case = case_in_phase_1_ready(engine)
    forged = PhaseChanged(
        at=day(8),
        from_phase=Phase.IMMEDIATE_SAFETY,
        to_phase=Phase.RISK_DRIVEN_CARE,
        kind=TransitionKind.ADVANCE,
        rule_set=engine.rule_set(),
    )
    with pytest.raises(TransitionBlockedError, match=r"org\.marac"):
        engine.load(case.case_id, [*case.events, forged])


def test_a_relapse_refused_on_replay_says_why() -> None:
    engine = Engine()
    case = case_in_phase_2(engine)
    forged = PhaseChanged(
        at=day(9),
        from_phase=Phase.RISK_DRIVEN_CARE,
        to_phase=Phase.IMMEDIATE_SAFETY,
        kind=TransitionKind.RELAPSE,
        rule_set=engine.rule_set(),
    )
    with pytest.raises(TransitionBlockedError) as caught:
        engine.load(case.case_id, [*case.events, forged])
    assert "no rule proposed a relapse and no reason was given" in str(caught.value)
    assert "advance." not in str(caught.value)


# --- older case files ----------------------------------------------------------------------------


def _without_rule_sets(data: bytes) -> bytes:
    document = json.loads(data)
    for event in document["events"]:
        event.pop("rule_set", None)
    return json.dumps(document).encode()


def test_a_case_file_without_recorded_rules_still_loads_and_says_so() -> None:
    engine = Engine(plugins=[gate()])
    case = case_in_phase_2(Engine())
    old = _without_rule_sets(caseformat.dumps(case))
    assert b"rule_set" not in old
    loaded = engine.load_json(old)
    assert loaded.state.phase == 2
    [difference] = engine.evaluate(loaded, at=day(8)).judged_under
    assert difference.recorded is None
    assert "records no rules" in render(difference.messages[0], "en")


def test_the_case_format_keeps_the_rule_set() -> None:
    case = case_in_phase_2(Engine(plugins=[gate(passing=True)]))
    assert b'"policy_settings"' in caseformat.dumps(case)
    assert caseformat.loads(caseformat.dumps(case)) == case


# --- the command line ----------------------------------------------------------------------------

GATE_PLUGIN = """
    from ketenzorg import hookimpl
    from ketenzorg.decision import RuleResult, RuleStatus
    from ketenzorg.messages import Message, render
    from ketenzorg.rules import Finding, Rule

    def check(ctx):
        return Finding(RuleResult("org.marac", RuleStatus.FAILED, Message.literal(nl="nee", en="no")))

    @hookimpl
    def ketenzorg_register_rules(registry):
        registry.add(Rule("org.marac", check, gate=True))
"""


def _site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "org_gate.py").write_text(textwrap.dedent(GATE_PLUGIN), encoding="utf-8")
    info = site / "org_gate-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: org-gate\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[ketenzorg]\norg-gate = org_gate\n", encoding="utf-8")
    return site


def _cli(site: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("KETENZORG_PLUGIN_TIMEOUT", "PYTHONPATH")}
    if site is not None:
        environ["PYTHONPATH"] = str(site)
    result = subprocess.run(
        [sys.executable, "-m", "ketenzorg", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        env=environ,
        check=False,
    )
    assert "Traceback" not in result.stderr + result.stdout
    return result


def _evaluate_export_import(site: Path | None, case_file: Path, tmp_path: Path) -> str:
    at = day(30).isoformat()
    evaluated = _cli(site, "evaluate", str(case_file), "--at", at)
    assert evaluated.returncode == 0, evaluated.stderr
    exported = _cli(site, "export", str(case_file), "--for", "internal", "--log", os.devnull)
    assert exported.returncode == 0, exported.stderr
    bundle = tmp_path / "bundle.json"
    bundle.write_text(exported.stdout, encoding="utf-8")
    imported = _cli(site, "import", str(bundle))
    assert imported.returncode == 0, imported.stderr
    assert caseformat.loads(imported.stdout) == caseformat.loads(case_file.read_bytes())
    return evaluated.stdout


def test_the_cli_loads_evaluates_and_exports_a_case_decided_before_a_plugin_was_installed(
    tmp_path: Path,
) -> None:
    case_file = tmp_path / "case.json"
    case_file.write_bytes(caseformat.dumps(case_in_phase_2(Engine())))
    shown = _evaluate_export_import(_site(tmp_path), case_file, tmp_path)
    assert "org-gate 1.0" in shown


def test_the_cli_of_a_partner_without_the_plugin_loads_a_relapse_it_proposed(tmp_path: Path) -> None:
    case_file = tmp_path / "case.json"
    case_file.write_bytes(caseformat.dumps(_relapsed(Engine(plugins=[relapser()]))))
    shown = _evaluate_export_import(None, case_file, tmp_path)
    assert "org.gate (org-gate 1.0)" in shown
