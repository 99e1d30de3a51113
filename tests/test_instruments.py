"""The instrument model (items, specs, validated answers) and instruments through the engine.

Everything here is synthetic. The engine-level tests use only the public API: ``Engine.assess``,
``Engine.evaluate``, ``Engine.instruments`` and the case format.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import jsonschema
import pytest

from factories import (
    GEWELDSANALYSE_ORANGE,
    PRACTITIONER,
    all_score,
    case_in_phase_2,
    conference,
    day,
    new_case,
    plan,
    shipped_engine,
)
from ketenzorg import (
    AlertLevel,
    CareSetting,
    CareSettingChanged,
    CareSettingKind,
    Case,
    Engine,
    GoalStatus,
    InvalidEventError,
    Location,
    Phase,
    PlanRevised,
    RiskFactor,
    RuleStatus,
    ValidationError,
    WorkGoal,
    __version__,
    caseformat,
)
from ketenzorg.domain import Text
from ketenzorg.events import InstrumentApplied
from ketenzorg.hookspecs import hookimpl
from ketenzorg.instruments import (
    AdvisedSetting,
    AnswerType,
    InstrumentResult,
    InstrumentSpec,
    Item,
    ResponseError,
    SafetyCode,
    Urgency,
    load_data,
    spec_from_data,
    validate_answers,
)
from ketenzorg.messages import render

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "case.schema.json"

TEXT = {"nl": "Vraag (synthetisch)", "en": "Question (synthetic)"}


def _item(item_id: str, answer_type: AnswerType, **kw: Any) -> Item:
    return Item(id=item_id, text=TEXT, answer_type=answer_type, **kw)


def _spec(*items: Item) -> InstrumentSpec:
    return InstrumentSpec(
        id="test-instrument",
        version="0.1",
        canonical="https://fhir.example.org",
        name={"nl": "Testinstrument", "en": "Test instrument"},
        description={"nl": "Alleen voor tests", "en": "For tests only"},
        items=items,
    )


SPEC = _spec(
    _item("flag", AnswerType.BOOLEAN),
    _item("count", AnswerType.INTEGER, minimum=0, maximum=10),
    _item("pick", AnswerType.CHOICE, allowed=("a", "b", "c")),
    _item("many", AnswerType.MULTI_CHOICE, allowed=("x", "y", "z")),
    _item("note", AnswerType.TEXT, required=False),
    _item("open_count", AnswerType.INTEGER, required=False),
)

VALID = {"flag": True, "count": 3, "pick": "b", "many": ["x", "z"]}


def _problems(error: ValidationError) -> dict[str, str]:
    return {p.path: p.message for p in error.problems}


def _invalid(answers: Any, spec: InstrumentSpec = SPEC) -> dict[str, str]:
    with pytest.raises(ResponseError) as caught:
        validate_answers(spec, answers)
    return _problems(caught.value)


# --- validate_answers ----------------------------------------------------------------------------


def test_valid_answers_are_normalised_lists_become_tuples() -> None:
    out = validate_answers(SPEC, VALID)
    assert out == {"flag": True, "count": 3, "pick": "b", "many": ("x", "z")}
    assert isinstance(out["many"], tuple)


def test_tuple_answers_stay_tuples_and_input_is_not_mutated() -> None:
    answers = {**VALID, "many": ["y"]}
    before = copy.deepcopy(answers)
    assert validate_answers(SPEC, answers)["many"] == ("y",)
    assert answers == before
    assert validate_answers(SPEC, {**VALID, "many": ("y",)})["many"] == ("y",)


def test_optional_items_may_be_absent_or_none_but_are_kept_when_given() -> None:
    assert "note" not in validate_answers(SPEC, VALID)
    assert "note" not in validate_answers(SPEC, {**VALID, "note": None})
    out = validate_answers(SPEC, {**VALID, "note": "toelichting", "open_count": -5})
    assert out["note"] == "toelichting"
    assert out["open_count"] == -5  # no bounds declared: any whole number


def test_an_empty_multi_choice_is_a_valid_answer() -> None:
    assert validate_answers(SPEC, {**VALID, "many": []})["many"] == ()


def test_missing_required_item() -> None:
    answers = dict(VALID)
    del answers["pick"]
    assert _invalid(answers) == {"pick": "required item has no answer"}


def test_none_for_a_required_item_counts_as_missing() -> None:
    assert _invalid({**VALID, "flag": None}) == {"flag": "required item has no answer"}


def test_unknown_item_is_named_with_the_instrument() -> None:
    assert _invalid({**VALID, "surprise": 1}) == {
        "": "an item that test-instrument does not have (names not repeated)"
    }


@pytest.mark.parametrize("value", [1, 0, "yes", "true", None])
def test_boolean_needs_true_or_false(value: Any) -> None:
    problems = _invalid({**VALID, "flag": value})
    expected = "required item has no answer" if value is None else "expected true or false"
    assert problems == {"flag": expected}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "expected a whole number"),
        (False, "expected a whole number"),
        (2.0, "expected a whole number"),
        ("3", "expected a whole number"),
        (-1, "-1 is below 0"),
        (11, "11 is above 10"),
    ],
)
def test_integer_type_and_bounds(value: Any, message: str) -> None:
    assert _invalid({**VALID, "count": value}) == {"count": message}


@pytest.mark.parametrize("value", [0, 10])
def test_integer_bounds_are_inclusive(value: int) -> None:
    assert validate_answers(SPEC, {**VALID, "count": value})["count"] == value


@pytest.mark.parametrize("value", ["d", "A", 1, ["a"], True])
def test_choice_needs_one_allowed_code(value: Any) -> None:
    assert _invalid({**VALID, "pick": value}) == {"pick": "expected one of a, b, c"}


@pytest.mark.parametrize("value", ["x", "x,y", {"x": True}, [1], ["x", None]])
def test_multi_choice_needs_a_list_of_codes(value: Any) -> None:
    assert _invalid({**VALID, "many": value}) == {"many": "expected a list of codes"}


def test_multi_choice_names_unknown_codes() -> None:
    problems = _invalid({**VALID, "many": ["x", "q", "w"]})
    assert problems == {"many": "a code that is not allowed here; allowed: x, y, z"}


def test_multi_choice_refuses_a_duplicate_code() -> None:
    assert _invalid({**VALID, "many": ["x", "y", "x"]}) == {"many": "a code is given twice"}


@pytest.mark.parametrize("value", [1, True, ["text"], b"bytes"])
def test_text_needs_text(value: Any) -> None:
    assert _invalid({**VALID, "note": value}) == {"note": "expected text"}


@pytest.mark.parametrize("answers", [None, [], ["flag"], "flag=true", 42, (("flag", True),)])
def test_answers_must_be_a_mapping(answers: Any) -> None:
    with pytest.raises(ResponseError) as caught:
        validate_answers(SPEC, answers)
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("", "answers are an object of item id to answer")
    ]


def test_every_problem_is_reported_at_once_with_the_item_id_as_path() -> None:
    answers = {
        "flag": "ja",
        "count": 99,
        "many": ["x", "x"],
        "note": 7,
        "extra": True,
    }
    with pytest.raises(ResponseError) as caught:
        validate_answers(SPEC, answers)
    error = caught.value
    assert _problems(error) == {
        "": "an item that test-instrument does not have (names not repeated)",
        "flag": "expected true or false",
        "count": "99 is above 10",
        "pick": "required item has no answer",
        "many": "a code is given twice",
        "note": "expected text",
    }
    assert len(error.problems) == 6
    assert str(error).startswith("6 problems")
    assert isinstance(error, ValidationError)


def test_an_empty_answer_set_lists_every_required_item() -> None:
    problems = _invalid({})
    assert set(problems) == {"flag", "count", "pick", "many"}
    assert set(problems.values()) == {"required item has no answer"}


# --- Item and InstrumentSpec -----------------------------------------------------------------------


@pytest.mark.parametrize("answer_type", [AnswerType.CHOICE, AnswerType.MULTI_CHOICE])
def test_a_choice_item_needs_codes(answer_type: AnswerType) -> None:
    with pytest.raises(ValidationError) as caught:
        _item("q1", answer_type)
    assert _problems(caught.value) == {"allowed": "a choice item needs codes"}


@pytest.mark.parametrize("answer_type", [AnswerType.BOOLEAN, AnswerType.INTEGER, AnswerType.TEXT])
def test_only_choice_items_have_codes(answer_type: AnswerType) -> None:
    with pytest.raises(ValidationError) as caught:
        _item("q2", answer_type, allowed=("a",))
    assert _problems(caught.value) == {"allowed": "only choice items have codes"}


@pytest.mark.parametrize("text", [{"nl": "Vraag"}, {"en": "Question"}, {}, "Vraag", None])
def test_an_item_text_needs_dutch_and_english(text: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        Item(id="q", text=text, answer_type=AnswerType.BOOLEAN)
    assert _problems(caught.value) == {"text": "needs a text in 'nl' and in 'en'"}


def test_an_item_text_must_not_be_empty() -> None:
    with pytest.raises(ValidationError) as caught:
        Item(id="q", text={"nl": "Vraag", "en": "  "}, answer_type=AnswerType.BOOLEAN)
    assert _problems(caught.value) == {"text.en": "must not be empty"}


def test_an_item_needs_an_id() -> None:
    with pytest.raises(ValidationError):
        Item(id=" ", text=TEXT, answer_type=AnswerType.BOOLEAN)


@pytest.mark.parametrize("field", ["name", "description"])
def test_a_spec_needs_its_name_and_description_in_both_languages(field: str) -> None:
    kwargs: dict[str, Any] = {
        "id": "x",
        "version": "1",
        "name": {"nl": "n", "en": "n"},
        "description": {"nl": "d", "en": "d"},
        "items": (),
        field: {"nl": "alleen Nederlands"},
    }
    with pytest.raises(ValidationError) as caught:
        InstrumentSpec(**kwargs)
    assert _problems(caught.value) == {field: "needs a text in 'nl' and in 'en'"}


def test_a_spec_refuses_duplicate_item_ids() -> None:
    with pytest.raises(ValidationError) as caught:
        _spec(
            _item("same", AnswerType.BOOLEAN), _item("other", AnswerType.TEXT), _item("same", AnswerType.TEXT)
        )
    assert _problems(caught.value) == {"items[2].id": "this id is used twice"}


def test_spec_item_lookup() -> None:
    assert SPEC.item("pick").allowed == ("a", "b", "c")
    with pytest.raises(KeyError):
        SPEC.item("nope")


def _raw_spec() -> dict[str, Any]:
    return {
        "id": "raw",
        "version": "2.0",
        "name": {"nl": "Ruw", "en": "Raw"},
        "description": {"nl": "Ruwe data", "en": "Raw data"},
        "items": [
            {"id": "a", "answer_type": "boolean", "text": TEXT},
            {
                "id": "b",
                "answer_type": "multi_choice",
                "allowed": ["p", "q"],
                "required": False,
                "section": "deel 2",
                "text": TEXT,
            },
            {"id": "c", "answer_type": "integer", "minimum": 1, "maximum": 5, "text": TEXT},
        ],
    }


def test_spec_from_data_builds_items_with_defaults() -> None:
    spec = spec_from_data(_raw_spec())
    assert (spec.id, spec.version) == ("raw", "2.0")
    assert [i.id for i in spec.items] == ["a", "b", "c"]
    a, b, c = spec.items
    assert (a.answer_type, a.required, a.allowed, a.section) == (AnswerType.BOOLEAN, True, (), None)
    assert (b.answer_type, b.required, b.allowed, b.section) == (
        AnswerType.MULTI_CHOICE,
        False,
        ("p", "q"),
        "deel 2",
    )
    assert (c.minimum, c.maximum) == (1, 5)


@pytest.mark.parametrize("key", ["id", "version", "name", "description", "items"])
def test_spec_from_data_names_a_missing_top_level_key(key: str) -> None:
    data = _raw_spec()
    del data[key]
    with pytest.raises(ValidationError) as caught:
        spec_from_data(data)
    assert _problems(caught.value) == {key: "missing in instrument data"}


@pytest.mark.parametrize("key", ["id", "text", "answer_type"])
def test_spec_from_data_names_a_missing_item_key(key: str) -> None:
    data = _raw_spec()
    del data["items"][1][key]
    with pytest.raises(ValidationError) as caught:
        spec_from_data(data)
    [problem] = caught.value.problems
    assert key in problem.path
    assert problem.message == "missing in instrument data"


def test_spec_from_data_refuses_a_choice_item_without_codes() -> None:
    data = _raw_spec()
    del data["items"][1]["allowed"]
    with pytest.raises(ValidationError) as caught:
        spec_from_data(data)
    assert _problems(caught.value) == {"items[1].allowed": "a choice item needs codes"}


def test_spec_from_data_refuses_an_unknown_answer_type_as_a_validation_error() -> None:
    data = _raw_spec()
    data["items"][0]["answer_type"] = "slider"
    with pytest.raises(ValidationError) as caught:
        spec_from_data(data)
    assert "items[0].answer_type" in _problems(caught.value)


def test_load_data_reads_the_shipped_files() -> None:
    data = load_data("ketenzorg.plugins", "data/geweldsanalyse.json")
    assert data["id"] == "geweldsanalyse"
    assert spec_from_data(data).id == "geweldsanalyse"
    assert load_data("ketenzorg.plugins", "data/gezinsprofielen.json")["id"] == "gezinsprofielen"


# --- through the engine ---------------------------------------------------------------------------

GREEN = {
    "nature": ["psychological"],
    "injury": False,
    "weapon": False,
    "strangulation": False,
    "threats_to_kill": False,
    "fear_for_life": False,
    "frequency": "once",
    "escalation": False,
    "coercive_control": False,
    "children_witness": False,
    "violence_against_children": False,
    "separation": "none",
    "perpetrator_access": "no_access",
}
RED = {**GREEN, "strangulation": True, "perpetrator_access": "lives_together"}
"""A red flag (strangulation) with an aggravating circumstance: code red."""
ORANGE_OPEN = {**GREEN, "injury": True, "frequency": "weekly", "perpetrator_access": "knows_address"}
"""Five points, no red flag: orange, and the person who used violence knows the address."""
WITH_COERCION = {**GREEN, "coercive_control": True}
"""Three points: green, with one risk factor (coercive control)."""

PROFILE_ITEMS = (
    "power_imbalance",
    "coercive_control",
    "fear_of_partner",
    "severe_violence",
    "one_sided_violence",
    "two_sided_violence",
    "mainly_psychological_violence",
    "piled_up_stressors",
    "violence_under_stress",
    "child_behaviour_problems",
    "parenting_stress",
    "violence_parent_to_child",
    "parent_long_term_care_need",
    "neglect",
    "chronic_multiproblem",
    "separation_conflict",
    "legal_fight_over_children",
    "loyalty_conflict_children",
)
TERREUR = {item: item in {"power_imbalance", "coercive_control", "fear_of_partner"} for item in PROFILE_ITEMS}
"""Intieme terreur fits 8/12."""


def _assessed(engine: Engine, answers: Mapping[str, Any] = RED, at_day: float = 1) -> Case:
    return engine.assess(new_case(), "geweldsanalyse", answers, at=day(at_day), applied_by=PRACTITIONER.id)


def _applied(case: Case) -> list[InstrumentApplied]:
    return [e for e in case.events if isinstance(e, InstrumentApplied)]


def test_engine_has_both_reference_instruments(engine: Engine) -> None:
    assert set(engine.instruments) == {"geweldsanalyse", "gezinsprofielen"}
    registered = engine.instruments["geweldsanalyse"]
    assert registered.spec.id == "geweldsanalyse"
    assert registered.plugin == "ketenzorg.geweldsanalyse"
    assert engine.instruments["gezinsprofielen"].plugin == "ketenzorg.gezinsprofielen"


def test_blocking_a_reference_instrument(engine: Engine) -> None:
    blocked = Engine(block={"ketenzorg.gezinsprofielen"})
    assert "gezinsprofielen" not in blocked.instruments
    assert "geweldsanalyse" in blocked.instruments
    with pytest.raises(InvalidEventError, match="not an instrument of this engine"):
        blocked.assess(new_case(), "gezinsprofielen", TERREUR, at=day(1))
    both = Engine(block={"ketenzorg.gezinsprofielen", "ketenzorg.geweldsanalyse"})
    assert dict(both.instruments) == {}
    assert "gezinsprofielen" in engine.instruments  # another engine is not affected


def test_assess_records_answers_result_and_provenance(engine: Engine) -> None:
    case = new_case()
    new = engine.assess(
        case, "geweldsanalyse", {**RED, "notes": "synthetisch"}, at=day(1), applied_by="practitioner"
    )
    assert case.events == new.events[:-1]
    [event] = _applied(new)
    assert event is new.events[-1]
    assert event.at == day(1)
    assert event.instrument_id == "geweldsanalyse"
    assert event.instrument_version == "1.0.0"
    assert event.plugin == "ketenzorg.geweldsanalyse"
    assert event.distribution == "ketenzorg"
    assert event.distribution_version == __version__
    assert event.applied_by == "practitioner"
    assert dict(event.answers) == {**RED, "nature": ("psychological",), "notes": "synthetisch"}
    assert event.result.safety_code is SafetyCode.RED
    assert event.result.urgency is Urgency.IMMEDIATE
    assert event.result.advised_setting is AdvisedSetting.SECRET_SHELTER
    assert event.result == engine.instruments["geweldsanalyse"].instrument.assess(dict(event.answers))
    assert new.state.latest_assessment("geweldsanalyse") is event
    assert new.state.assessments == (event,)


def test_assess_uses_the_given_event_id(engine: Engine) -> None:
    case = engine.assess(new_case(), "gezinsprofielen", TERREUR, at=day(2), event_id="ga-1")
    [event] = _applied(case)
    assert event.id == "ga-1"
    assert event.plugin == "ketenzorg.gezinsprofielen"
    assert event.applied_by is None
    assert [c.code for c in event.result.classifications] == ["intieme_terreur"]


class _Listener:
    ketenzorg_plugin_name = "org.listener"

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl
    def ketenzorg_event_recorded(self, event: Any) -> None:
        self.seen.append(event.type)


def test_invalid_answers_raise_and_leave_the_case_unchanged() -> None:
    listener = _Listener()
    engine = Engine(plugins=[listener])
    case = new_case()
    events = case.events
    bad = {**GREEN, "frequency": "hourly", "weapon": "yes", "unknown": True}
    del bad["injury"]
    with pytest.raises(ResponseError) as caught:
        engine.assess(case, "geweldsanalyse", bad, at=day(1))
    assert _problems(caught.value) == {
        "": "an item that geweldsanalyse does not have (names not repeated)",
        "injury": "required item has no answer",
        "weapon": "expected true or false",
        "frequency": "expected one of once, occasional, monthly, weekly, daily",
    }
    assert case.events == events
    assert dict(case.state.assessments) == {}
    assert listener.seen == []
    engine.assess(case, "geweldsanalyse", GREEN, at=day(1))
    assert listener.seen == ["instrument_applied"]


def test_unknown_instrument_names_the_known_ones(engine: Engine) -> None:
    case = new_case()
    with pytest.raises(InvalidEventError) as caught:
        engine.assess(case, "dash", {"q1": True}, at=day(1))
    assert _problems(caught.value) == {
        "instrument_id": "not an instrument of this engine; known: geweldsanalyse, gezinsprofielen"
    }
    assert case.events == new_case().events


def test_unknown_instrument_when_none_are_registered() -> None:
    engine = Engine(block={"ketenzorg.gezinsprofielen", "ketenzorg.geweldsanalyse"})
    with pytest.raises(InvalidEventError, match="known: none"):
        engine.assess(new_case(), "geweldsanalyse", GREEN, at=day(1))


def test_assess_by_an_unknown_party_is_refused(engine: Engine) -> None:
    with pytest.raises(InvalidEventError) as caught:
        engine.assess(new_case(), "geweldsanalyse", GREEN, at=day(1), applied_by="stranger")
    assert _problems(caught.value) == {"applied_by": "not a party of this case"}


def test_a_custom_instrument_is_recorded_with_its_own_provenance() -> None:
    class Doubler:
        spec = _spec(_item("count", AnswerType.INTEGER, minimum=0))

        def assess(self, answers: Mapping[str, Any]) -> InstrumentResult:
            return InstrumentResult(
                explanation=(
                    {"nl": f"dubbel: {2 * answers['count']}", "en": f"double: {2 * answers['count']}"},
                )
            )

    class Plugin:
        ketenzorg_plugin_name = "org.custom"

        @hookimpl
        def ketenzorg_register_instruments(self, registry: Any) -> None:
            registry.add(Doubler())

    engine = Engine(plugins=[Plugin()])
    assert set(engine.instruments) == {"geweldsanalyse", "gezinsprofielen", "test-instrument"}
    [event] = _applied(engine.assess(new_case(), "test-instrument", {"count": 4}, at=day(1)))
    assert (event.plugin, event.distribution, event.distribution_version) == ("org.custom", None, None)
    assert event.instrument_version == "0.1"
    assert event.result.explanation == (Text("dubbel: 8", "double: 8"),)


# --- the decision uses the results ----------------------------------------------------------------


def test_red_geweldsanalyse_raises_immediate_protection_in_phase_1(engine: Engine) -> None:
    case = _assessed(engine, RED, at_day=1)
    decision = engine.evaluate(case, at=day(1))
    assert decision.phase is Phase.IMMEDIATE_SAFETY
    urgent = [a for a in decision.alerts if a.rule_id == "alert.instrument-urgent"]
    assert len(urgent) == 1
    assert urgent[0].level is AlertLevel.IMMEDIATE_PROTECTION
    assert [e.event_id for e in urgent[0].evidence] == [case.events[-1].id]
    assert render(urgent[0].message, "en") == (
        "geweldsanalyse of 6 January 2026 is urgent (code red); protect at once"
    )
    result = decision.result("alert.instrument-urgent")
    assert result.status is RuleStatus.FAILED
    assert [render(m) for m in result.missing] == ["a case conference after the result of 6 January 2026"]
    assert result in decision.blocking


@pytest.mark.parametrize("answers", [GREEN, ORANGE_OPEN])
def test_green_and_orange_raise_no_protection_alert(engine: Engine, answers: dict[str, Any]) -> None:
    decision = engine.evaluate(_assessed(engine, answers), at=day(1))
    assert decision.result("alert.instrument-urgent").status is RuleStatus.PASSED
    assert not [a for a in decision.alerts if a.level is AlertLevel.IMMEDIATE_PROTECTION]


def test_urgent_alert_stays_until_a_conference_after_the_result(engine: Engine) -> None:
    case, _ = conference(engine, new_case(), day(1))  # a conference before the result does not count
    case = engine.assess(case, "geweldsanalyse", RED, at=day(2))
    assert engine.evaluate(case, at=day(3)).result("alert.instrument-urgent").status is RuleStatus.FAILED
    case, _ = conference(engine, case, day(4))
    decision = engine.evaluate(case, at=day(4))
    assert decision.result("alert.instrument-urgent").status is RuleStatus.PASSED
    assert not [a for a in decision.alerts if a.rule_id == "alert.instrument-urgent"]


def _ready_after_red(engine: Engine) -> Case:
    """Phase 1, red result on day 6, a conference on day 7 where everyone scored 6, plan made."""
    case = engine.assess(new_case(), "geweldsanalyse", RED, at=day(6))
    case, mdo = conference(engine, case, day(7), all_score(case, 6))
    return plan(engine, case, mdo, day(7))


def test_advice_fails_when_the_setting_is_lighter_than_advised_but_is_no_gate(engine: Engine) -> None:
    case = _ready_after_red(engine)
    decision = engine.evaluate(case, at=day(7))
    advice = decision.result("instrument.advice")
    assert advice.status is RuleStatus.FAILED
    assert advice.gate is False
    assert [render(m) for m in advice.missing] == [
        "geweldsanalyse advises a secret or closed shelter, or a safe house; now ambulant care"
    ]
    assert [e.event_id for e in advice.evidence] == [_applied(case)[0].id]
    assert advice not in decision.blocking
    assert decision.may_advance


def test_advice_for_an_open_shelter_fails_with_ambulant_care(engine: Engine) -> None:
    decision = engine.evaluate(_assessed(engine, ORANGE_OPEN), at=day(1))
    advice = decision.result("instrument.advice")
    assert advice.status is RuleStatus.FAILED
    assert [render(m) for m in advice.missing] == [
        "geweldsanalyse advises an open shelter (Oranje Huis); now ambulant care"
    ]


def _move(engine: Engine, case: Case, at_day: float, *, secret: bool) -> Case:
    location = Location(id="loc-secret" if secret else "loc-open", name="Opvang (synthetisch)", secret=secret)
    setting = CareSetting(kind=CareSettingKind.SHELTER, location=location)
    return engine.record(case, CareSettingChanged(at=day(at_day), care_setting=setting))


def test_advice_passes_in_a_secret_shelter_and_not_in_an_open_one(engine: Engine) -> None:
    case = _assessed(engine, RED)
    open_shelter = _move(engine, case, 2, secret=False)
    assert engine.evaluate(open_shelter, at=day(2)).result("instrument.advice").status is RuleStatus.FAILED
    secret = _move(engine, case, 2, secret=True)
    result = engine.evaluate(secret, at=day(2)).result("instrument.advice")
    assert result.status is RuleStatus.PASSED
    assert result.missing == ()


def test_advice_is_not_applicable_without_an_instrument(engine: Engine) -> None:
    result = engine.evaluate(new_case(), at=day(1)).result("instrument.advice")
    assert result.status is RuleStatus.NOT_APPLICABLE
    assert render(result.message) == "No instrument applied yet"


def test_advice_texts_appear_as_advice_alerts(engine: Engine) -> None:
    case = _assessed(engine, RED)
    case = engine.assess(case, "gezinsprofielen", TERREUR, at=day(1))
    decision = engine.evaluate(case, at=day(1))
    advice = [a for a in decision.alerts if a.level is AlertLevel.ADVICE]
    assert {a.rule_id for a in advice} == {"instrument.advice"}
    texts = [(a.message.params["instrument"], a.message.params["text"]) for a in advice]
    red = engine.instruments["geweldsanalyse"].instrument.assess(RED)
    assert texts == [
        *(("geweldsanalyse", t) for t in red.advice),
        (
            "gezinsprofielen",
            Text(
                "Geen gezamenlijke gesprekken met de partner zonder voorafgaande veiligheidscheck.",
                "No joint sessions with the partner without a safety check first.",
            ),
        ),
    ]
    assert len(red.advice) == 2  # the red advice and the strangulation advice
    assert render(advice[-1].message, "nl") == (
        "gezinsprofielen: Geen gezamenlijke gesprekken met de partner zonder voorafgaande veiligheidscheck."
    )


def test_green_result_gives_no_advice_alert_and_passes(engine: Engine) -> None:
    decision = engine.evaluate(_assessed(engine, GREEN), at=day(1))
    assert decision.result("instrument.advice").status is RuleStatus.PASSED
    assert not [a for a in decision.alerts if a.level is AlertLevel.ADVICE]


def _phase_2_with_coercion(engine: Engine) -> Case:
    case = case_in_phase_2(engine)
    return engine.assess(case, "geweldsanalyse", WITH_COERCION, at=day(8), applied_by=PRACTITIONER.id)


def test_risk_factors_without_a_work_goal_are_listed_in_phase_2(engine: Engine) -> None:
    case = _phase_2_with_coercion(engine)
    decision = engine.evaluate(case, at=day(9))
    assert decision.phase is Phase.RISK_DRIVEN_CARE
    result = decision.result("plan.risk-factors")
    assert result.status is RuleStatus.FAILED
    assert result.gate is False
    assert [render(m) for m in result.missing] == [
        "risk factor 'Coercive control' (geweldsanalyse) is not addressed by an active work goal"
    ]
    assert _applied(case)[0].id in [e.event_id for e in result.evidence]
    assert result not in decision.blocking


def _plan_with_goal(engine: Engine, case: Case, at_day: float, code: str, *, active: bool = True) -> Case:
    case, mdo = conference(engine, case, day(at_day))
    factor = RiskFactor(id="rf-1", text="Controle (synthetisch)", code=code)
    status = GoalStatus.ACTIVE if active else GoalStatus.ON_HOLD
    goal = WorkGoal(id="wg-rf", text="Werken aan controle", rank=1, risk_factor_id="rf-1", status=status)
    return engine.record(
        case,
        PlanRevised(at=day(at_day), conference_id=mdo, risk_factors=(factor,), work_goals=(goal,)),
    )


def test_risk_factors_pass_once_an_active_goal_addresses_the_same_code(engine: Engine) -> None:
    case = _plan_with_goal(engine, _phase_2_with_coercion(engine), 10, "coercive_control")
    result = engine.evaluate(case, at=day(10)).result("plan.risk-factors")
    assert result.status is RuleStatus.PASSED
    assert result.missing == ()


def test_a_goal_on_another_code_or_on_hold_does_not_address_it(engine: Engine) -> None:
    other = _plan_with_goal(engine, _phase_2_with_coercion(engine), 10, "stalking")
    missing = [render(m) for m in engine.evaluate(other, at=day(10)).result("plan.risk-factors").missing]
    assert missing == [
        "risk factor 'Coercive control' (geweldsanalyse) is not addressed by an active work goal"
    ]
    on_hold = _plan_with_goal(engine, _phase_2_with_coercion(engine), 10, "coercive_control", active=False)
    result = engine.evaluate(on_hold, at=day(10)).result("plan.risk-factors")
    assert result.status is RuleStatus.FAILED
    # one factor: the plan's own has the same code as the instrument's, and its goal is on hold
    assert [render(m) for m in result.missing] == missing


def test_the_same_risk_factor_from_two_instruments_counts_once(engine: Engine) -> None:
    case = _phase_2_with_coercion(engine)
    case = engine.assess(case, "gezinsprofielen", TERREUR, at=day(8))
    result = engine.evaluate(case, at=day(9)).result("plan.risk-factors")
    assert len(result.missing) == 1  # both call it coercive_control
    case = _plan_with_goal(engine, case, 10, "coercive_control")
    assert engine.evaluate(case, at=day(10)).result("plan.risk-factors").status is RuleStatus.PASSED


def test_risk_factors_only_in_phase_2_and_the_setting_check_only_in_phase_1(engine: Engine) -> None:
    phase_1 = _assessed(engine, WITH_COERCION)
    assert engine.evaluate(phase_1, at=day(1)).result("plan.risk-factors").status is RuleStatus.NOT_APPLICABLE
    phase_2 = _phase_2_with_coercion(engine)
    advice = engine.evaluate(phase_2, at=day(9)).result("instrument.advice")
    # In phase 2 the advice still applies (shown as alerts), but the setting is not compared.
    assert advice.status is RuleStatus.PASSED
    assert advice.missing == ()
    assert render(advice.message, "en") == "The instruments' advice still applies"


# --- the case format ------------------------------------------------------------------------------


def test_case_format_round_trips_instrument_results_exactly(engine: Engine) -> None:
    case = _assessed(engine, {**RED, "nature": ["physical", "honour_related"], "notes": "Ëën – test"})
    case = engine.assess(case, "gezinsprofielen", TERREUR, at=day(2), applied_by="client")
    data = caseformat.dumps(case)
    again = caseformat.loads(data)
    assert again == case
    assert caseformat.dumps(again) == data
    assert [e.result for e in _applied(again)] == [e.result for e in _applied(case)]
    assert _applied(again)[0].answers["nature"] == ("physical", "honour_related")
    assert _applied(again)[1].result.classifications[0].fit == pytest.approx(8 / 12, abs=1e-4)
    assert engine.evaluate(again, at=day(2)) == engine.evaluate(case, at=day(2))


def test_dumped_instrument_events_fit_the_published_schema(engine: Engine) -> None:
    case = engine.assess(_assessed(engine, RED), "gezinsprofielen", TERREUR, at=day(2))
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    data = json.loads(caseformat.dumps(case))
    assert [e["type"] for e in data["events"]].count("instrument_applied") == 2
    assert list(validator.iter_errors(data)) == []


def test_an_empty_optional_text_is_no_answer_and_never_recorded(engine: Engine) -> None:
    from ketenzorg.demo import walk
    from ketenzorg.interop.fhir import Recipient, case_to_bundle
    from ketenzorg.interop.validate import is_valid, validate_bundle

    case = walk()[1].case
    spec = engine.instruments["geweldsanalyse"].spec
    optional_text = next(i for i in spec.items if i.answer_type is AnswerType.TEXT and not i.required)
    answers = {**GEWELDSANALYSE_ORANGE, optional_text.id: "   "}
    assessed = engine.assess(case, "geweldsanalyse", answers, at=case.state.latest_at)
    applied = assessed.events[-1]
    assert isinstance(applied, InstrumentApplied)
    assert optional_text.id not in applied.answers
    assert is_valid(
        validate_bundle(
            case_to_bundle(assessed, recipient=Recipient.internal(), engine=shipped_engine()),
            engine=shipped_engine(),
        )
    )


# --- the canonical base ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base",
    ["https://fhir.example.org", "http://fhir.example.org/org-a/r4", "https://fhir.example.org:8443/x"],
)
def test_a_canonical_base_is_an_absolute_http_url(base: str) -> None:
    assert attrs.evolve(SPEC, canonical=base).canonical == base


@pytest.mark.parametrize(
    ("base", "message"),
    [
        ("https://fhir.example.org/", "must not end with a slash"),
        ("fhir.example.org", "is not an absolute http(s) URL without query or fragment"),
        (
            "urn:uuid:0b3c1a0e-0000-4000-8000-000000000000",
            "is not an absolute http(s) URL without query or fragment",
        ),
        ("ftp://fhir.example.org", "is not an absolute http(s) URL without query or fragment"),
        ("https://", "is not an absolute http(s) URL without query or fragment"),
        ("https://fhir.example.org/x?y=1", "is not an absolute http(s) URL without query or fragment"),
        ("https://fhir.example.org/x#y", "is not an absolute http(s) URL without query or fragment"),
        ("https://fhir.example.org/a b", "is not an absolute http(s) URL without query or fragment"),
        ("https://fhir.example.org/a|1", "is not an absolute http(s) URL without query or fragment"),
        ("https://user@fhir.example.org", "is not an absolute http(s) URL without query or fragment"),
        ("https://fhir.example.org:port", "is not an absolute http(s) URL without query or fragment"),
        ("", "is not an absolute http(s) URL without query or fragment"),
    ],
)
def test_a_canonical_base_that_is_not_a_usable_url_is_refused(base: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        attrs.evolve(SPEC, canonical=base)
    assert _problems(caught.value) == {"canonical": message}
    if base:
        assert base not in str(caught.value)  # described, not repeated


def test_spec_from_data_takes_the_canonical_base_from_the_argument_or_the_data() -> None:
    data = {**_raw_spec(), "canonical": "https://fhir.example.org/data"}
    assert spec_from_data(data).canonical == "https://fhir.example.org/data"
    assert spec_from_data(data, canonical="https://fhir.example.org").canonical == "https://fhir.example.org"
    assert spec_from_data(_raw_spec()).canonical is None
    with pytest.raises(ValidationError):
        spec_from_data({**_raw_spec(), "canonical": "https://fhir.example.org/"})


def test_a_registered_instrument_without_a_canonical_base_is_refused() -> None:
    from ketenzorg.interop.terminology import CANONICAL
    from ketenzorg.pluginhost import InstrumentRegistry, PluginError

    class NoBase:
        spec = attrs.evolve(SPEC, canonical=None)

        def assess(self, answers: object) -> InstrumentResult:
            return InstrumentResult()

    class Plugin:
        ketenzorg_plugin_name = "org.nobase"

        @hookimpl
        def ketenzorg_register_instruments(self, registry: InstrumentRegistry) -> None:
            registry.add(NoBase())

    with pytest.raises(PluginError, match="declares no canonical base") as caught:
        Engine(plugins=[Plugin()])
    assert (caught.value.plugin, caught.value.hook) == ("org.nobase", "ketenzorg_register_instruments")
    shipped = Engine().instruments
    assert {r.spec.canonical for r in shipped.values()} == {CANONICAL}


def test_load_data_reads_from_a_zipped_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib
    import sys
    import zipfile

    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("org_zipped_items/__init__.py", "")
        zipped.writestr("org_zipped_items/data/items.json", '{"id": "zipped", "weights": [1, 2]}')
    monkeypatch.syspath_prepend(str(archive))
    importlib.invalidate_caches()
    try:
        assert load_data("org_zipped_items", "data/items.json") == {"id": "zipped", "weights": [1, 2]}
    finally:
        sys.modules.pop("org_zipped_items", None)


def test_the_shipped_instruments_load_without_importlib_resources() -> None:
    # importlib.resources costs milliseconds of every command's start-up; an installed package
    # reads its data files from its folder.
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from ketenzorg import Engine\n"
        "assert Engine().instruments\n"
        "print('importlib.resources' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False"]
