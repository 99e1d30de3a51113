"""Plugin settings: declared by the plugin, set in the organisation's policy, read per engine.

The plugin here is a synthetic DASH-style checklist (three yes/no items, not the real instrument).
"""

from __future__ import annotations

import importlib
import json
import re
import sys
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from factories import case_in_phase_1_ready, day, new_case
from ketenzorg import Engine, Policy, PolicyError, RuleStatus, ValidationError, caseformat, cli, hookimpl
from ketenzorg.decision import RuleResult
from ketenzorg.instruments import (
    Answer,
    AnswerType,
    InstrumentResult,
    InstrumentSpec,
    Item,
    SafetyCode,
)
from ketenzorg.messages import Message
from ketenzorg.pluginhost import InstrumentRegistry, PluginError, RuleRegistry, SettingRegistry
from ketenzorg.rules import Finding, RuleContext, rule
from ketenzorg.settings import Setting, Settings

PLUGIN = "org.dash"
RULE = "org.dash.review"
ITEMS = ("q1", "q2", "q3")


class Dash:
    """Red from ``high_risk_yes_count`` yes answers on (a setting)."""

    spec = InstrumentSpec(
        id="org.dash",
        version="1",
        canonical="https://fhir.example.org",
        name={"nl": "Checklist", "en": "Checklist"},
        description={"nl": "Synthetisch", "en": "Synthetic"},
        items=tuple(
            Item(id=i, text={"nl": "Vraag", "en": "Question"}, answer_type=AnswerType.BOOLEAN) for i in ITEMS
        ),
    )

    def assess(self, answers: Mapping[str, Answer], *, settings: Settings) -> InstrumentResult:
        yes = sum(1 for i in ITEMS if answers.get(i) is True)
        high = yes >= settings.value("high_risk_yes_count", int)
        return InstrumentResult(safety_code=SafetyCode.RED if high else SafetyCode.GREEN)


@rule(RULE)
def review_rule(ctx: RuleContext) -> Finding:
    """A gate that holds every case for review while the organisation asks for it."""
    held = ctx.settings.value("hold_for_review", bool)
    message = Message.literal(nl="Beoordeling", en="Review")
    return Finding(RuleResult(RULE, RuleStatus.FAILED if held else RuleStatus.PASSED, message, gate=True))


class DashPlugin:
    ketenzorg_plugin_name = PLUGIN

    @hookimpl
    def ketenzorg_register_settings(self, registry: SettingRegistry) -> None:
        registry.add(Setting("high_risk_yes_count", 3, minimum=1, maximum=3))
        registry.add(Setting("hold_for_review", False))
        registry.add(Setting("weight", 1.5, minimum=0))
        registry.add(Setting("mode", "standard", choices=("standard", "strict")))

    @hookimpl
    def ketenzorg_register_instruments(self, registry: InstrumentRegistry) -> None:
        registry.add(Dash())

    @hookimpl
    def ketenzorg_register_rules(self, registry: RuleRegistry) -> None:
        registry.add(review_rule)


def _engine(plugins: Mapping[str, object] | None = None, **kwargs: object) -> Engine:
    policy = Policy.from_mapping({"plugins": plugins}) if plugins is not None else Policy()
    return Engine(policy, plugins=[DashPlugin()], **kwargs)  # type: ignore[arg-type]


def _code(engine: Engine, yes: int) -> SafetyCode:
    answers = {item: index < yes for index, item in enumerate(ITEMS)}
    applied = engine.assess(new_case(), PLUGIN, answers, at=new_case().state.latest_at).events[-1]
    return applied.result.safety_code  # type: ignore[attr-defined, no-any-return]


def _problems(error: pytest.ExceptionInfo[PolicyError]) -> dict[str, str]:
    return {p.path: p.message for p in error.value.problems}


# --- declaring and defaulting ---------------------------------------------------------------------


def test_declared_settings_take_their_defaults() -> None:
    engine = _engine()
    assert engine.settings(PLUGIN) == {
        "high_risk_yes_count": 3,
        "hold_for_review": False,
        "weight": 1.5,
        "mode": "standard",
    }
    assert _code(engine, 2) is SafetyCode.GREEN
    assert _code(engine, 3) is SafetyCode.RED
    assert engine.settings("ketenzorg.method") == {}


def test_the_policy_sets_a_plugin_setting_and_the_others_keep_their_default() -> None:
    engine = _engine({PLUGIN: {"high_risk_yes_count": 2, "weight": 2}})
    assert engine.settings(PLUGIN)["high_risk_yes_count"] == 2
    assert engine.settings(PLUGIN).value("weight", float) == 2.0  # a whole number for a number setting
    assert engine.settings(PLUGIN)["mode"] == "standard"
    assert _code(engine, 2) is SafetyCode.RED


def test_two_engines_run_one_plugin_object_with_different_settings() -> None:
    plugin = DashPlugin()
    strict = Engine(
        Policy.from_mapping({"plugins": {PLUGIN: {"high_risk_yes_count": 1, "hold_for_review": True}}}),
        plugins=[plugin],
    )
    lenient = Engine(Policy(), plugins=[plugin])
    assert (_code(strict, 1), _code(lenient, 1)) == (SafetyCode.RED, SafetyCode.GREEN)
    case = case_in_phase_1_ready(lenient)
    assert lenient.evaluate(case, at=day(8)).advance is not None
    decision = strict.evaluate(case, at=day(8))
    assert decision.advance is None
    assert {r.rule_id: r.status for r in decision.results}[RULE] is RuleStatus.FAILED
    # And again the first: nothing of the second stayed behind in the plugin.
    assert _code(lenient, 1) is SafetyCode.GREEN


def test_a_rule_of_a_plugin_without_settings_sees_none() -> None:
    seen: list[Settings] = []

    @rule("org.plain.check", gate=False)
    def check(ctx: RuleContext) -> Finding:
        seen.append(ctx.settings)
        return Finding(RuleResult("org.plain.check", RuleStatus.PASSED, Message.literal(nl="ok", en="ok")))

    class Plain:
        ketenzorg_plugin_name = "org.plain"

        @hookimpl
        def ketenzorg_register_rules(self, registry: RuleRegistry) -> None:
            registry.add(check)

    engine = Engine(
        Policy.from_mapping({"plugins": {PLUGIN: {"hold_for_review": True}}}), plugins=[Plain(), DashPlugin()]
    )
    engine.evaluate(new_case(), at=day(1))
    assert seen == [Settings()]


# --- the policy refuses what does not fit, naming plugin and field --------------------------------


@pytest.mark.parametrize(
    ("settings", "path", "message"),
    [
        ({"high_risk_yes_count": "3"}, "plugins.org.dash.high_risk_yes_count", "expected a whole number"),
        ({"high_risk_yes_count": 2.5}, "plugins.org.dash.high_risk_yes_count", "expected a whole number"),
        ({"high_risk_yes_count": True}, "plugins.org.dash.high_risk_yes_count", "expected a whole number"),
        ({"high_risk_yes_count": 9}, "plugins.org.dash.high_risk_yes_count", "must be between 1 and 3"),
        ({"weight": -1}, "plugins.org.dash.weight", "must be at least 0"),
        ({"hold_for_review": 1}, "plugins.org.dash.hold_for_review", "expected true or false"),
        ({"mode": "loose"}, "plugins.org.dash.mode", "is not one of the codes: standard, strict"),
        (
            {"treshold": 3},
            "plugins.org.dash.treshold",
            "not a setting of this plugin; its settings: high_risk_yes_count, hold_for_review, mode, weight",
        ),
    ],
)
def test_a_bad_setting_is_refused_at_its_path(settings: dict[str, object], path: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        _engine({PLUGIN: settings})
    assert _problems(caught) == {path: message}


def test_a_setting_for_a_plugin_the_engine_does_not_have_is_refused() -> None:
    with pytest.raises(PolicyError) as caught:
        _engine({"org.dahs": {"high_risk_yes_count": 2}})
    assert _problems(caught) == {
        "plugins.org.dahs": "no plugin of this name is loaded (not installed, or not given to the engine)"
    }


def test_a_setting_for_a_plugin_without_settings_is_refused() -> None:
    with pytest.raises(PolicyError) as caught:
        _engine({"ketenzorg.geweldsanalyse": {"anything": 1}})
    assert _problems(caught) == {"plugins.ketenzorg.geweldsanalyse": "this plugin declares no settings"}


def test_the_settings_of_a_blocked_plugin_are_left_unused() -> None:
    engine = _engine({PLUGIN: {"high_risk_yes_count": 2}}, block={PLUGIN})
    assert PLUGIN not in engine.instruments
    assert engine.settings(PLUGIN) == {}


def test_a_bad_text_value_is_never_repeated() -> None:
    with pytest.raises(PolicyError) as caught:
        _engine({PLUGIN: {"mode": "Jan de Vries", "high_risk_yes_count": 1234567}})
    assert "Jan de Vries" not in str(caught.value)
    assert "1234567" not in str(caught.value)
    assert set(_problems(caught)) == {"plugins.org.dash.mode", "plugins.org.dash.high_risk_yes_count"}


# --- the policy holds them ------------------------------------------------------------------------


def test_policy_holds_plugin_settings_as_a_hashable_value_and_writes_them_back() -> None:
    data = {"advance_threshold": 6, "plugins": {PLUGIN: {"high_risk_yes_count": 2, "mode": "strict"}}}
    policy = Policy.from_mapping(data)
    same = Policy.from_mapping(json.loads(json.dumps(data)))
    other = Policy.from_mapping({"plugins": {PLUGIN: {"high_risk_yes_count": 3}}})
    assert policy == same
    assert hash(policy) == hash(same)
    assert policy != other
    assert policy.to_mapping()["plugins"] == data["plugins"]
    assert Policy.from_mapping(policy.to_mapping()) == policy
    assert "plugins" not in Policy().to_mapping()
    with pytest.raises(TypeError):
        policy.plugins[PLUGIN]["mode"] = "standard"  # type: ignore[index]


@pytest.mark.parametrize(
    ("plugins", "path", "message"),
    [
        ([1], "plugins", "expected an object of plugin names, each with an object of settings"),
        ({PLUGIN: 3}, "plugins.org.dash", "expected an object of settings"),
        ({PLUGIN: {"mode": ["a"]}}, "plugins.org.dash.mode", "expected true or false, a number or a text"),
    ],
)
def test_the_shape_of_plugin_settings_is_checked_when_the_policy_is_read(
    plugins: object, path: str, message: str
) -> None:
    with pytest.raises(PolicyError) as caught:
        Policy.from_mapping({"plugins": plugins})
    assert _problems(caught) == {path: message}


# --- declarations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Setting("count", 5, minimum=1, maximum=3), "the default: must be between 1 and 3"),
        (lambda: Setting("count", 2, minimum=3, maximum=1), "the minimum is above the maximum"),
        (lambda: Setting("mode", "a", choices=("b",)), "the default is not one of the choices"),
        (lambda: Setting("flag", True, maximum=1), "a maximum is only for a number"),
        (lambda: Setting("count", 1, choices=("a",)), "choices are only for a text"),
        (lambda: Setting("Count", 1), "a setting's name is lower case letters"),
        (lambda: Setting("items", [1]), "the default is true/false, a whole number, a number or a text"),  # type: ignore[arg-type]
    ],
)
def test_a_declaration_that_contradicts_itself_is_refused(make: object, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        make()  # type: ignore[operator]
    assert message in str(caught.value)


def test_a_setting_declared_twice_names_the_plugin() -> None:
    class Twice:
        ketenzorg_plugin_name = "org.twice"

        @hookimpl
        def ketenzorg_register_settings(self, registry: SettingRegistry) -> None:
            registry.add(Setting("count", 1))
            registry.add(Setting("count", 2))

    with pytest.raises(PluginError) as caught:
        Engine(plugins=[Twice()])
    assert (caught.value.plugin, caught.value.hook) == ("org.twice", "ketenzorg_register_settings")
    assert "setting 'count' is declared twice" in str(caught.value)


def test_settings_value_checks_the_type_the_plugin_asks_for() -> None:
    settings = Settings({"count": 3, "flag": True})
    assert settings.value("count", int) == 3
    with pytest.raises(TypeError):
        settings.value("flag", int)
    with pytest.raises(TypeError):
        settings.value("count", str)


# --- through the command line, with an installed plugin ------------------------------------------

INSTALLED = """
    from ketenzorg import hookimpl
    from ketenzorg.instruments import AnswerType, InstrumentResult, InstrumentSpec, Item, SafetyCode
    from ketenzorg.settings import Setting

    class Dash:
        spec = InstrumentSpec(
            id="org.dash",
            version="1",
            canonical="https://fhir.example.org",
            name={"nl": "Checklist", "en": "Checklist"},
            description={"nl": "Synthetisch", "en": "Synthetic"},
            items=tuple(
                Item(id=i, text={"nl": "Vraag", "en": "Question"}, answer_type=AnswerType.BOOLEAN)
                for i in ("q1", "q2", "q3")
            ),
        )

        def assess(self, answers, *, settings):
            yes = sum(1 for value in answers.values() if value is True)
            high = yes >= settings["high_risk_yes_count"]
            return InstrumentResult(safety_code=SafetyCode.RED if high else SafetyCode.GREEN)

    @hookimpl
    def ketenzorg_register_settings(registry):
        registry.add(Setting("high_risk_yes_count", 3, minimum=1, maximum=3))

    @hookimpl
    def ketenzorg_register_instruments(registry):
        registry.add(Dash())
"""
DIST = "org-fake-dash"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    """An installed distribution ``org-fake-dash`` whose entry point is the plugin ``org-fake-dash``."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "org_fake_dash.py").write_text(textwrap.dedent(INSTALLED), encoding="utf-8")
    info = root / "org_fake_dash-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {DIST}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[ketenzorg]\n{DIST} = org_fake_dash\n")
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    yield tmp_path
    sys.path.remove(str(root))
    sys.modules.pop("org_fake_dash", None)
    importlib.invalidate_caches()


def _files(tmp_path: Path, settings: object) -> tuple[str, str, str]:
    case = tmp_path / "case.json"
    case.write_bytes(caseformat.dumps(new_case()))
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"q1": True, "q2": True, "q3": False}), encoding="utf-8")
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"plugins": {DIST: settings}}), encoding="utf-8")
    return str(case), str(answers), str(policy)


def _assess(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["assess", *args, "--json", "--at", day(1).isoformat()])
    out, err = capsys.readouterr()
    return code, out, err


def test_assess_reads_the_plugin_setting_from_the_policy_file(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case, answers, policy = _files(site, {"high_risk_yes_count": 2})
    code, out, err = _assess(capsys, case, "org.dash", answers, "--policy", policy)
    assert code == 0, err
    assert json.loads(out)["result"]["safety_code"] == "red"
    code, out, err = _assess(capsys, case, "org.dash", answers)
    assert code == 0, err
    assert json.loads(out)["result"]["safety_code"] == "green"


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"high_risk_yes_count": 7}, "plugins.org-fake-dash.high_risk_yes_count: must be between 1 and 3"),
        (
            {"high_risk_yes_count": "two"},
            "plugins.org-fake-dash.high_risk_yes_count: expected a whole number",
        ),
        ({"treshold": 2}, "plugins.org-fake-dash.treshold: not a setting of this plugin"),
    ],
)
def test_evaluate_refuses_a_bad_plugin_setting_naming_the_file_and_path(
    site: Path, capsys: pytest.CaptureFixture[str], settings: object, expected: str
) -> None:
    case, _, policy = _files(site, settings)
    code = cli.main(["evaluate", case, "--policy", policy])
    _, err = capsys.readouterr()
    assert code == 1
    assert f"{policy}: {expected}" in err
    assert "two" not in err  # the value itself is not shown


def test_a_setting_for_a_plugin_that_is_not_installed_is_refused_by_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case, _, policy = _files(tmp_path, {"high_risk_yes_count": 2})
    code = cli.main(["evaluate", case, "--policy", policy])
    _, err = capsys.readouterr()
    assert code == 1
    assert f"{policy}: plugins.{DIST}: no plugin of this name is loaded" in err


def test_the_guide_settings_example_runs() -> None:
    guide = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"
    blocks = re.findall(r"```python\n(.*?)```", guide.read_text(encoding="utf-8"), flags=re.S)
    (example,) = [b for b in blocks if "class DashPlugin" in b]
    namespace: dict[str, object] = {"__name__": "guide_settings_example"}
    exec(compile(example, str(guide), "exec"), namespace)
    strict, standard = namespace["strict"], namespace["standard"]
    assert isinstance(strict, Engine)
    assert isinstance(standard, Engine)
    answers = {"threats": True, "strangulation": False, "escalation": False}
    codes = [
        e.assess(new_case(), "org.dash", answers, at=day(1)).events[-1].result.safety_code  # type: ignore[attr-defined]
        for e in (strict, standard)
    ]
    assert codes == [SafetyCode.RED, SafetyCode.GREEN]
    case = case_in_phase_1_ready(standard)
    assert standard.evaluate(case, at=day(8)).advance is not None
    assert strict.evaluate(case, at=day(8)).advance is None


def test_what_reads_the_settings_cannot_change_them() -> None:
    engine = _engine()
    settings = engine.settings(PLUGIN)
    with pytest.raises(TypeError):
        settings._data["mode"] = "strict"  # type: ignore[index]
    with pytest.raises(AttributeError):
        settings._data = {}  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del settings._hash
    assert engine.settings(PLUGIN)["mode"] == "standard"
