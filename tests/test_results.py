"""An instrument's own result scale and actions, the plan's tasks, and conference kinds.

The plugin here is DASH-like (synthetic, five yes/no items): its own levels standard / medium /
high, each mapped to the engine's urgency and advised setting; a high result asks for a referral
to a MARAC, which the plan carries as a task; a gate rule asks for a MARAC held since the high
result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import pytest

from ketenzorg import Case, Engine, PluginError, hookimpl
from ketenzorg.case import open_tasks, task_id, tasks_from_actions
from ketenzorg.caseformat import dumps, loads
from ketenzorg.conferences import CASE_CONFERENCE, MARAC, SAFETY_CHECK, ConferenceKind
from ketenzorg.decision import RuleResult, RuleStatus
from ketenzorg.domain import PlanTask, TaskStatus, Text
from ketenzorg.errors import InvalidEventError, ValidationError
from ketenzorg.events import ConferenceHeld, InstrumentApplied, PlanRevised
from ketenzorg.instruments import (
    Action,
    AdvisedSetting,
    Answer,
    AnswerType,
    InstrumentResult,
    InstrumentSpec,
    Item,
    ResultLevel,
    Urgency,
    on_scale,
)
from ketenzorg.messages import Message
from ketenzorg.pluginhost import ConferenceKindRegistry, InstrumentRegistry, RuleRegistry
from ketenzorg.rules import Finding, RuleContext, rule
from ketenzorg.testing import all_score, conference, day, engine_with, new_case, plan

ITEMS = ("threats", "strangulation", "escalation", "separation", "fear")
REFERRAL = Action(
    kind="referral",
    conference_kind=MARAC,
    text={"nl": "Verwijs naar de MARAC", "en": "Refer to the MARAC"},
)
DASH_SPEC = InstrumentSpec(
    id="org.dash5",
    version="1",
    canonical="https://fhir.example.org",
    name={"nl": "DASH (5 vragen, synthetisch)", "en": "DASH (5 questions, synthetic)"},
    description={"nl": "Synthetisch", "en": "Synthetic"},
    items=tuple(
        Item(id=i, text={"nl": f"Vraag {i}", "en": f"Question {i}"}, answer_type=AnswerType.BOOLEAN)
        for i in ITEMS
    ),
    levels=(
        ResultLevel(code="standard", display={"nl": "standaard", "en": "standard"}, urgency=Urgency.ROUTINE),
        ResultLevel(
            code="medium",
            display={"nl": "gemiddeld", "en": "medium"},
            urgency=Urgency.SOON,
            advised_setting=AdvisedSetting.SPECIALIST_AMBULANT,
        ),
        ResultLevel(
            code="high",
            display={"nl": "hoog", "en": "high"},
            urgency=Urgency.IMMEDIATE,
            advised_setting=AdvisedSetting.SECRET_SHELTER,
        ),
    ),
)


class Dash5:
    """Four or five "yes" is high (referral to a MARAC), two or three medium, else standard."""

    spec = DASH_SPEC

    def assess(self, answers: Mapping[str, Answer]) -> InstrumentResult:
        yes = sum(answers[i] is True for i in ITEMS)
        if yes >= 4:
            return InstrumentResult(level="high", actions=(REFERRAL,))
        # medium sets its own urgency: it wins over the level's "soon"
        return (
            InstrumentResult(level="medium", urgency=Urgency.IMMEDIATE)
            if yes >= 2
            else InstrumentResult(level="standard")
        )


@rule("org.dash5.marac-held")
def marac_held(ctx: RuleContext) -> Finding:
    """After a high result, a MARAC must have been held since it before the case advances."""
    high = [a for a in ctx.state.assessments if a.instrument_id == "org.dash5" and a.result.level == "high"]
    latest = max(high, key=ctx.order, default=None)
    held = latest is None or ctx.last_conference(MARAC, since=latest) is not None
    text = Message.literal(
        nl="MARAC gehouden na hoog risico" if held else "Nog geen MARAC na hoog risico",
        en="MARAC held after high risk" if held else "No MARAC yet after high risk",
    )
    return Finding(RuleResult("org.dash5.marac-held", RuleStatus.PASSED if held else RuleStatus.FAILED, text))


class DashPlugin:
    ketenzorg_plugin_name = "org.dash5"

    def __init__(self, instrument: object | None = None) -> None:
        self.instrument = instrument or Dash5()

    @hookimpl
    def ketenzorg_register_instruments(self, registry: InstrumentRegistry) -> None:
        registry.add(self.instrument)  # type: ignore[arg-type]

    @hookimpl
    def ketenzorg_register_rules(self, registry: RuleRegistry) -> None:
        registry.add(marac_held)

    @hookimpl
    def ketenzorg_register_conference_kinds(self, registry: ConferenceKindRegistry) -> None:
        registry.add(ConferenceKind(code="org.huddle", name={"nl": "teamoverleg", "en": "team huddle"}))


HIGH = dict.fromkeys(ITEMS, True)
MEDIUM = {**dict.fromkeys(ITEMS, False), "threats": True, "fear": True}
STANDARD = dict.fromkeys(ITEMS, False)


def _engine() -> Engine:
    return engine_with(DashPlugin())


# --- the scale -----------------------------------------------------------------------------------


def test_the_level_is_recorded_and_its_meaning_filled_in() -> None:
    engine = _engine()
    case = engine.assess(new_case(), "org.dash5", HIGH, at=day(1))
    result = case.events[-1].result  # type: ignore[attr-defined]
    assert result.level == "high"
    assert result.urgency is Urgency.IMMEDIATE
    assert result.advised_setting is AdvisedSetting.SECRET_SHELTER
    assert result.actions == (REFERRAL,)


def test_what_the_instrument_sets_itself_wins_over_the_level() -> None:
    case = _engine().assess(new_case(), "org.dash5", MEDIUM, at=day(1))
    result = case.events[-1].result  # type: ignore[attr-defined]
    assert (result.level, result.urgency) == ("medium", Urgency.IMMEDIATE)  # not the level's "soon"
    assert result.advised_setting is AdvisedSetting.SPECIALIST_AMBULANT  # not set: the level's


def test_a_level_without_meaning_leaves_the_result_as_it_is() -> None:
    result = _engine().assess(new_case(), "org.dash5", STANDARD, at=day(1)).events[-1].result  # type: ignore[attr-defined]
    assert (result.level, result.urgency, result.advised_setting) == ("standard", Urgency.ROUTINE, None)


class OffScale(Dash5):
    def assess(self, answers: Mapping[str, Answer]) -> InstrumentResult:
        return InstrumentResult(level="extreme")


class UnknownConferenceKind(Dash5):
    def assess(self, answers: Mapping[str, Answer]) -> InstrumentResult:
        action = Action(kind="referral", conference_kind="org.tribunal", text={"nl": "x", "en": "x"})
        return InstrumentResult(level="high", actions=(action,))


@pytest.mark.parametrize(
    ("instrument", "words"),
    [(OffScale(), "level is not a level of instrument 'org.dash5'"), (UnknownConferenceKind(), "actions[0]")],
    ids=["a level off the scale", "a referral to a conference kind the engine does not know"],
)
def test_a_result_that_does_not_fit_is_the_plugins_fault_and_nothing_is_recorded(
    instrument: Dash5, words: str
) -> None:
    engine = engine_with(DashPlugin(instrument))
    case = new_case()
    with pytest.raises(PluginError) as caught:
        engine.assess(case, "org.dash5", HIGH, at=day(1))
    assert caught.value.plugin == "org.dash5"
    assert words in str(caught.value)
    assert len(case.events) == 1


def test_on_scale_refuses_a_level_of_an_instrument_without_a_scale() -> None:
    spec = attrs.evolve(DASH_SPEC, levels=())
    with pytest.raises(ValidationError) as caught:
        on_scale(spec, InstrumentResult(level="high"))
    assert caught.value.problems[0].path == "level"


def test_an_impossible_scale_is_refused() -> None:
    a = ResultLevel(code="a", display={"nl": "a", "en": "a"})
    with pytest.raises(ValidationError) as caught:
        attrs.evolve(DASH_SPEC, levels=(a, attrs.evolve(a, display={"nl": "b", "en": "b"})))
    assert caught.value.problems[0].path == "levels[1].code"
    with pytest.raises(ValidationError) as caught:
        ResultLevel(code="a", display={"nl": "a"})
    assert caught.value.problems[0].path == "display"
    with pytest.raises(ValidationError):
        ResultLevel(code=" a", display={"nl": "a", "en": "a"})


# --- actions become tasks of the plan ------------------------------------------------------------


def test_a_referral_becomes_an_open_task_then_the_plan_carries_and_closes_it() -> None:
    engine = _engine()
    case = engine.assess(new_case(), "org.dash5", HIGH, at=day(1))
    applied = case.events[-1]
    pending = tasks_from_actions(case.state)
    assert [(t.id, t.kind, t.conference_kind, t.status, t.source) for t in pending] == [
        (task_id(applied.id, 0), "referral", MARAC, TaskStatus.OPEN, applied.id)
    ]
    assert pending[0].text == Text("Verwijs naar de MARAC", "Refer to the MARAC")
    assert open_tasks(case.state) == pending

    # the next plan revision carries it; from then on the plan holds its status
    case, mdo = conference(engine, case, day(2))
    case = engine.record(case, PlanRevised(id="plan-1", at=day(2), conference_id=mdo, tasks=pending))
    assert tasks_from_actions(case.state) == ()
    assert open_tasks(case.state) == pending
    done = attrs.evolve(pending[0], status=TaskStatus.DONE)
    case, mdo = conference(engine, case, day(3), conference_id="mdo-3")
    case = engine.record(case, PlanRevised(id="plan-2", at=day(3), conference_id=mdo, tasks=(done,)))
    assert open_tasks(case.state) == ()  # done, never reopened from the action
    assert tasks_from_actions(case.state) == ()


def test_a_rule_sees_the_open_tasks_by_kind() -> None:
    engine = _engine()
    case = engine.assess(new_case(), "org.dash5", HIGH, at=day(1))
    ctx = RuleContext(case.state, engine.policy, day(1))
    assert [t.conference_kind for t in ctx.open_tasks("referral")] == [MARAC]
    assert ctx.open_tasks(conference_kind=SAFETY_CHECK) == ()
    assert ctx.open_tasks("phone-call") == ()


def test_a_task_naming_an_application_that_was_not_recorded_is_refused() -> None:
    engine = _engine()
    case, mdo = conference(engine, new_case(), day(1))
    task = PlanTask(id="t", kind="referral", text={"nl": "x", "en": "x"}, source="no-such-event")
    with pytest.raises(InvalidEventError) as caught:
        engine.record(case, PlanRevised(id="p", at=day(1), conference_id=mdo, tasks=(task,)))
    assert caught.value.problems[0].path == "tasks[0].source"


# --- conference kinds ----------------------------------------------------------------------------


def test_the_shipped_kinds_and_a_plugins_own_kind_are_known_by_bilingual_name() -> None:
    kinds = _engine().conference_kinds
    assert {CASE_CONFERENCE, MARAC, SAFETY_CHECK, "org.huddle"} <= set(kinds)
    assert kinds["org.huddle"].name == Text("teamoverleg", "team huddle")
    assert set(Engine().conference_kinds) == {CASE_CONFERENCE, MARAC, SAFETY_CHECK}


def test_two_plugins_registering_one_kind_are_named_both() -> None:
    class Other:
        ketenzorg_plugin_name = "org.other"

        @hookimpl
        def ketenzorg_register_conference_kinds(self, registry: ConferenceKindRegistry) -> None:
            registry.add(ConferenceKind(code="org.huddle", name={"nl": "overleg", "en": "huddle"}))

    with pytest.raises(PluginError) as caught:
        engine_with(DashPlugin(), Other())
    assert "'org.dash5'" in str(caught.value)
    assert "'org.other'" in str(caught.value)


def test_a_conference_of_a_kind_the_engine_does_not_know_is_refused_but_still_loads() -> None:
    case = new_case()
    team = tuple(case.state.care_team)
    unknown = ConferenceHeld(id="c", at=day(1), participants=team, client_present=False, kind="org.huddle")
    with pytest.raises(InvalidEventError) as caught:
        Engine().record(case, unknown)
    assert caught.value.problems[0].path == "kind"
    recorded = _engine().record(case, unknown)
    assert Engine().replay(recorded.case_id, recorded.events).state.conferences["c"].kind == "org.huddle"


def test_a_conference_kind_gate_blocks_the_advance_until_a_marac_is_held() -> None:
    engine = _engine()
    case = engine.assess(new_case(), "org.dash5", HIGH, at=day(1))
    case, mdo = conference(engine, case, day(7), all_score(case, 6))
    case = plan(engine, case, mdo, day(7))
    blocked = engine.evaluate(case, at=day(7))
    assert [r.rule_id for r in blocked.blocking] == ["org.dash5.marac-held"]
    assert Engine().evaluate(case, at=day(7)).may_advance  # without the plugin there is no such gate

    # an ordinary case conference does not do; a MARAC does
    case, _ = conference(engine, case, day(8), conference_id="mdo-8")
    assert not engine.evaluate(case, at=day(8)).may_advance
    case, _ = conference(engine, case, day(9), conference_id="marac-9", kind=MARAC)
    assert engine.evaluate(case, at=day(9)).may_advance
    case = engine.advance(case, at=day(9))
    assert case.state.phase == 2


def test_last_conference_follows_the_recorded_order_at_one_moment() -> None:
    engine = _engine()
    case, _ = conference(engine, new_case(), day(1), conference_id="marac-1", kind=MARAC)
    case = engine.assess(case, "org.dash5", HIGH, at=day(1))  # recorded after the MARAC, same moment
    ctx = RuleContext(case.state, engine.policy, day(1))
    assert ctx.last_conference(MARAC).id == "marac-1"  # type: ignore[union-attr]
    assert ctx.last_conference(MARAC, since=case.events[-1]) is None
    assert ctx.last_conference(SAFETY_CHECK) is None
    assert ctx.last_conference().id == "marac-1"  # type: ignore[union-attr]


# --- stored cases --------------------------------------------------------------------------------


def test_a_case_file_written_before_kinds_levels_and_tasks_loads_unchanged() -> None:
    engine = _engine()
    case, mdo = conference(engine, new_case(), day(1))
    case = plan(engine, case, mdo, day(1))
    case = engine.assess(case, "org.dash5", STANDARD, at=day(2))
    import orjson

    data = orjson.loads(dumps(case))
    for event in data["events"]:  # as written before: no kind, no tasks, no level, no actions
        event.pop("kind", None) if event["type"] == "conference_held" else None
        event.pop("tasks", None)
        if event["type"] == "instrument_applied":
            del event["result"]["level"], event["result"]["actions"]
    old = loads(orjson.dumps(data))
    assert old.state.conferences[mdo].kind == CASE_CONFERENCE
    assert old.state.plan is not None
    assert old.state.plan.tasks == ()
    assert old.events[-1].result.level is None  # type: ignore[attr-defined]


def test_kinds_levels_actions_and_tasks_round_trip_through_the_case_format() -> None:
    engine = _engine()
    case, _ = conference(engine, new_case(), day(1), conference_id="marac-1", kind=MARAC)
    case = engine.assess(case, "org.dash5", HIGH, at=day(1))
    case = engine.record(
        case, PlanRevised(id="p", at=day(1), conference_id="marac-1", tasks=tasks_from_actions(case.state))
    )
    again = loads(dumps(case))
    assert again.events == case.events
    assert isinstance(again.events[2], InstrumentApplied)
    assert again.events[2].result.actions == (REFERRAL,)
    assert Case(again.case_id, again.events).state.conferences["marac-1"].kind == MARAC


def test_the_guides_scale_examples_run_and_load() -> None:
    import json
    import re
    from pathlib import Path

    guide = (Path(__file__).resolve().parent.parent / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = guide.split("## Result scale, actions and tasks", 1)[1].split("\n## Settings", 1)[0]
    (example,) = [b for b in re.findall(r"```python\n(.*?)```", section, flags=re.S) if "LEVELS = (" in b]
    namespace: dict[str, object] = {}
    exec(compile(example, "docs/plugins.md", "exec"), namespace)
    spec = attrs.evolve(DASH_SPEC, levels=namespace["LEVELS"])
    filled = on_scale(spec, InstrumentResult(level="high", actions=(namespace["MARAC_REFERRAL"],)))  # type: ignore[arg-type]
    assert (filled.urgency, filled.advised_setting) == (Urgency.IMMEDIATE, AdvisedSetting.SECRET_SHELTER)
    levels = json.loads("{" + section.split("```json\n", 1)[1].split("```", 1)[0] + "}")["levels"]
    from ketenzorg.instruments import spec_from_data

    data = {"id": "x", "version": "1", "name": TEXTS, "description": TEXTS, "items": [ITEM], "levels": levels}
    assert [level.code for level in spec_from_data(data).levels] == ["standard", "high"]


TEXTS = {"nl": "x", "en": "x"}
ITEM = {"id": "q", "text": TEXTS, "answer_type": "boolean"}


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda text: ResultLevel(code="high", display=text), "display"),
        (lambda text: Action(kind="referral", text=text), "text"),
        (lambda text: PlanTask(id="t-1", kind="referral", text=text), "text"),
        (lambda text: ConferenceKind(code="org.huddle", name=text), "name"),
    ],
)
def test_level_action_task_and_conference_kind_texts_are_texts_in_both_languages(
    build: Any, field: str
) -> None:
    given = build({"nl": "Verwijs naar de MARAC", "en": "Refer to the MARAC"})
    assert getattr(given, field) == Text("Verwijs naar de MARAC", "Refer to the MARAC")
    assert build(Text("Verwijs", "Refer")) == build({"nl": "Verwijs", "en": "Refer"})
    for one_language in ("Verwijs naar de MARAC", {"nl": "Verwijs naar de MARAC"}, Text("Verwijs")):
        with pytest.raises(ValidationError) as raised:
            build(one_language)
        assert [p.path for p in raised.value.problems] == [field]
