"""Answers as QuestionnaireResponse items: written as the exporter writes them, read back checked."""

from __future__ import annotations

import copy
import functools
import subprocess
import sys
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.factories import GEWELDSANALYSE_ORANGE, PRACTITIONER, day, new_case
from tests.interop.test_fuzz import json_values

from ketenzorg import Case, Engine
from ketenzorg.demo import walk
from ketenzorg.disclosure import Recipient
from ketenzorg.errors import ValidationError
from ketenzorg.events import InstrumentApplied
from ketenzorg.hookspecs import hookimpl
from ketenzorg.instruments import (
    Answer,
    AnswerType,
    InstrumentResult,
    InstrumentSpec,
    Item,
    SafetyCode,
    Urgency,
    validate_answers,
)
from ketenzorg.interop.answers import (
    AnswerIssue,
    UnknownInstrumentError,
    answer_items,
    instrument_spec,
    read_answers,
)
from ketenzorg.interop.definitions import X_MULTIPLE, X_NO_CODES
from ketenzorg.interop.fhir import case_to_bundle
from ketenzorg.interop.recheck import result_issues
from ketenzorg.pluginhost import InstrumentRegistry, PluginError, RegisteredInstrument

WHERE = "Bundle.entry[7].resource"
TEXT = {"nl": "Vraag (synthetisch)", "en": "Question (synthetic)"}


def _item(item_id: str, answer_type: AnswerType, **kw: Any) -> Item:
    return Item(id=item_id, text=TEXT, answer_type=answer_type, **kw)


COUNTING = InstrumentSpec(
    id="org.counting",
    version="2.0",
    canonical="https://fhir.example.org",
    name={"nl": "Teltest", "en": "Counting test"},
    description={"nl": "Alleen voor tests", "en": "For tests only"},
    items=(
        _item("flag", AnswerType.BOOLEAN),
        _item("count", AnswerType.INTEGER, minimum=0, maximum=10),
        _item("pick", AnswerType.CHOICE, allowed=("a", "b", "c")),
        _item("many", AnswerType.MULTI_CHOICE, allowed=("x", "y", "z")),
        _item("remark", AnswerType.TEXT),
        _item("note", AnswerType.TEXT, required=False),
        _item("open_count", AnswerType.INTEGER, required=False),
    ),
)
"""A third party's instrument with every answer type (the shipped ones have no integer item)."""

COUNTING_ANSWERS: dict[str, Answer] = {
    "flag": True,
    "count": 7,
    "pick": "b",
    "many": ("x", "z"),
    "remark": "Synthetische opmerking",
    "open_count": -40,
}


class Counting:
    """Red from a count of 6 up; green below."""

    spec = COUNTING

    def assess(self, answers: Mapping[str, Answer]) -> InstrumentResult:
        count = answers["count"]
        red = isinstance(count, int) and count > 5
        return InstrumentResult(
            safety_code=SafetyCode.RED if red else SafetyCode.GREEN,
            urgency=Urgency.IMMEDIATE if red else Urgency.ROUTINE,
        )


class _CountingPlugin:
    ketenzorg_plugin_name = "org.counting"

    def __init__(self, instrument: Any = None) -> None:
        self.instrument = instrument or Counting()

    @hookimpl
    def ketenzorg_register_instruments(self, registry: InstrumentRegistry) -> None:
        registry.add(self.instrument)


@functools.cache
def _engine() -> Engine:
    return Engine(plugins=[_CountingPlugin()])


def _spec(instrument_id: str) -> InstrumentSpec:
    return _engine().instruments[instrument_id].spec


def _read(
    response: Any, spec: InstrumentSpec | None = COUNTING
) -> tuple[dict[str, Answer], list[AnswerIssue]]:
    return read_answers(response, where=WHERE, spec=spec)


def _errors(issues: list[AnswerIssue]) -> list[AnswerIssue]:
    return [issue for issue in issues if issue.severity == "error"]


def _response(answers: Mapping[str, Answer], spec: InstrumentSpec = COUNTING) -> dict[str, Any]:
    return {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": answer_items(spec, answers),
    }


# --- round trip ------------------------------------------------------------------------------------

ROUND_TRIPS: list[tuple[str, dict[str, Answer]]] = [
    ("org.counting", COUNTING_ANSWERS),
    ("org.counting", {**COUNTING_ANSWERS, "many": (), "note": "Nog een opmerking", "count": 0}),
    ("org.counting", {**COUNTING_ANSWERS, "flag": False, "count": 10, "open_count": 2**31 - 1}),
    ("geweldsanalyse", {k: tuple(v) if isinstance(v, list) else v for k, v in GEWELDSANALYSE_ORANGE.items()}),
    (
        "geweldsanalyse",
        {
            **{k: tuple(v) if isinstance(v, list) else v for k, v in GEWELDSANALYSE_ORANGE.items()},
            "nature": (),
            "notes": "Synthetische toelichting",
        },
    ),
    (
        "gezinsprofielen",
        {item.id: n % 2 == 0 for n, item in enumerate(Engine().instruments["gezinsprofielen"].spec.items)},
    ),
]


@pytest.mark.parametrize(("instrument_id", "answers"), ROUND_TRIPS)
def test_answers_round_trip_exactly_in_their_order(instrument_id: str, answers: dict[str, Answer]) -> None:
    spec = _spec(instrument_id)
    assert validate_answers(spec, answers) == answers  # valid answers, the ones a case holds
    read, issues = _read(_response(answers, spec), spec)
    assert issues == []
    assert read == answers
    assert list(read) == list(answers)


def test_every_answer_type_has_its_value_type_on_the_wire() -> None:
    items = {item["linkId"]: item for item in answer_items(COUNTING, {**COUNTING_ANSWERS, "note": "x"})}
    assert items["flag"] == {"linkId": "flag", "answer": [{"valueBoolean": True}]}
    assert items["count"] == {"linkId": "count", "answer": [{"valueInteger": 7}]}
    assert items["pick"] == {"linkId": "pick", "answer": [{"valueCoding": {"code": "b"}}]}
    assert items["many"] == {
        "linkId": "many",
        "extension": [{"url": X_MULTIPLE, "valueBoolean": True}],
        "answer": [{"valueCoding": {"code": "x"}}, {"valueCoding": {"code": "z"}}],
    }
    assert items["remark"] == {"linkId": "remark", "answer": [{"valueString": "Synthetische opmerking"}]}
    none = answer_items(COUNTING, {"many": ()})
    assert none == [{"linkId": "many", "extension": [{"url": X_NO_CODES, "valueBoolean": True}]}]


@functools.cache
def _demo() -> Case:
    return walk(Engine())[-1].case


def _assessed_case() -> Case:
    engine = _engine()
    case = new_case()
    case = engine.assess(
        case,
        "geweldsanalyse",
        {**GEWELDSANALYSE_ORANGE, "nature": [], "notes": "Synthetisch"},
        at=day(1),
        applied_by=PRACTITIONER.id,
    )
    case = engine.assess(case, "org.counting", COUNTING_ANSWERS, at=day(2))
    return engine.assess(case, "geweldsanalyse", {**GEWELDSANALYSE_ORANGE, "notes": "  "}, at=day(3))


@pytest.mark.parametrize("which", ["demo", "assessed"])
def test_the_writer_gives_the_items_the_exporter_writes_today(which: str) -> None:
    case = _demo() if which == "demo" else _assessed_case()
    bundle = case_to_bundle(case, recipient=Recipient.internal(), engine=_engine())
    responses = [
        (n, entry["resource"])
        for n, entry in enumerate(bundle["entry"])
        if entry["resource"]["resourceType"] == "QuestionnaireResponse"
    ]
    events = [event for event in case.events if isinstance(event, InstrumentApplied)]
    assert len(responses) == len(events) >= 2
    for (n, response), event in zip(responses, events, strict=True):
        spec = instrument_spec(_engine().instruments, event.instrument_id)
        assert answer_items(spec, event.answers) == response["item"]
        read, issues = read_answers(response, where=f"Bundle.entry[{n}].resource", spec=spec)
        assert issues == []
        assert read == dict(event.answers)
        assert list(read) == list(event.answers)


@pytest.mark.parametrize("blank", ["", " ", "\n\t"])
def test_an_empty_text_never_becomes_an_item(blank: str) -> None:
    assert answer_items(COUNTING, {"flag": True, "note": blank}) == [
        {"linkId": "flag", "answer": [{"valueBoolean": True}]}
    ]
    # also for an item the spec does not have (it would go out as an empty valueString)
    assert answer_items(COUNTING, {"gone": blank}) == []


@pytest.mark.parametrize("value", [2**31, -(2**31) - 1, 2**70])
def test_an_integer_answer_is_one_a_fhir_integer_can_carry(value: int) -> None:
    # the engine accepted it, the export wrote it, and the reader (and FHIR's xs:int) refused it
    answers = {**COUNTING_ANSWERS, "open_count": value}
    with pytest.raises(ValidationError, match="open_count"):
        _engine().assess(new_case(), "org.counting", answers, at=day(1))
    response = _response(answers)
    assert [i.expression for i in _errors(_read(response)[1])] == [
        f"{WHERE}.item[{_index('open_count')}].answer[0].valueInteger"
    ]


def test_the_writer_refuses_an_instrument_that_is_not_installed() -> None:
    with pytest.raises(UnknownInstrumentError) as caught:
        instrument_spec(Engine(block=["ketenzorg.geweldsanalyse"]).instruments, "geweldsanalyse")
    assert "geweldsanalyse" in str(caught.value)
    assert caught.value.problems[0].path == "instrument_id"


@pytest.mark.parametrize("value", [1.5, None, {"a": 1}, ("x", 3)])
def test_the_writer_refuses_a_value_that_is_no_answer_by_position(value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        answer_items(COUNTING, {"flag": True, "secret-marker": value})
    assert [p.path for p in caught.value.problems] == ["answers[1]"]
    assert "secret-marker" not in str(caught.value)


# --- tampering -------------------------------------------------------------------------------------

Tamper = Callable[[list[dict[str, Any]]], None]


def _at(link: str) -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
    return lambda items: next(item for item in items if item["linkId"] == link)


def _index(link: str) -> int:
    return list(COUNTING_ANSWERS).index(link)


FLAG, COUNT, PICK, MANY, REMARK = (_at(link) for link in ("flag", "count", "pick", "many", "remark"))


def _set(get: Callable[[list[dict[str, Any]]], dict[str, Any]], **answer: Any) -> Tamper:
    return lambda items: get(items).__setitem__("answer", [answer])


def _drop(link: str) -> Tamper:
    return lambda items: items.remove(_at(link)(items))


def _rename(link: str, new: str) -> Tamper:
    return lambda items: _at(link)(items).__setitem__("linkId", new)


def _many_ext(**ext: Any) -> Tamper:
    return lambda items: MANY(items).__setitem__("extension", [ext] if ext else [])


TAMPERS: list[tuple[str, Tamper, str, str]] = [
    # (name, tamper, expression after WHERE, issue code)
    (
        "bool as string",
        _set(FLAG, valueString="true"),
        f".item[{_index('flag')}].answer[0].valueString",
        "value",
    ),
    (
        "bool as integer",
        _set(FLAG, valueBoolean=1),
        f".item[{_index('flag')}].answer[0].valueBoolean",
        "value",
    ),
    (
        "integer above",
        _set(COUNT, valueInteger=11),
        f".item[{_index('count')}].answer[0].valueInteger",
        "value",
    ),
    (
        "integer below",
        _set(COUNT, valueInteger=-1),
        f".item[{_index('count')}].answer[0].valueInteger",
        "value",
    ),
    (
        "integer fraction",
        _set(COUNT, valueInteger=1.5),
        f".item[{_index('count')}].answer[0].valueInteger",
        "value",
    ),
    (
        "integer as bool",
        _set(COUNT, valueInteger=True),
        f".item[{_index('count')}].answer[0].valueInteger",
        "value",
    ),
    (
        "integer as text",
        _set(COUNT, valueInteger="3"),
        f".item[{_index('count')}].answer[0].valueInteger",
        "value",
    ),
    (
        "integer beyond 32 bits",
        lambda items: _at("open_count")(items).__setitem__("answer", [{"valueInteger": 2**31}]),
        f".item[{_index('open_count')}].answer[0].valueInteger",
        "value",
    ),
    (
        "code not allowed",
        _set(PICK, valueCoding={"code": "d"}),
        f".item[{_index('pick')}].answer[0].valueCoding.code",
        "value",
    ),
    (
        "code as string",
        _set(PICK, valueString="b"),
        f".item[{_index('pick')}].answer[0].valueString",
        "value",
    ),
    (
        "code with a system",
        _set(PICK, valueCoding={"system": "http://example.org/codes", "code": "b"}),
        f".item[{_index('pick')}].answer[0].valueCoding.system",
        "value",
    ),
    (
        "coding without code",
        _set(PICK, valueCoding={"display": "B"}),
        f".item[{_index('pick')}].answer[0].valueCoding.code",
        "required",
    ),
    ("empty text", _set(REMARK, valueString=""), f".item[{_index('remark')}].answer[0].valueString", "value"),
    (
        "two value[x]",
        _set(FLAG, valueBoolean=True, valueString="ja"),
        f".item[{_index('flag')}].answer[0]",
        "structure",
    ),
    ("no value[x]", _set(FLAG), f".item[{_index('flag')}].answer[0]", "required"),
    ("decimal", _set(COUNT, valueDecimal=3), f".item[{_index('count')}].answer[0].valueDecimal", "value"),
    (
        "several answers on a single-answer item",
        lambda items: FLAG(items)["answer"].append({"valueBoolean": False}),
        f".item[{_index('flag')}].answer[1]",
        "value",
    ),
    (
        "item without answer",
        lambda items: FLAG(items).pop("answer"),
        f".item[{_index('flag')}].answer",
        "required",
    ),
    ("unknown linkId", _rename("open_count", "injected"), f".item[{_index('open_count')}].linkId", "value"),
    (
        "duplicated linkId",
        lambda items: items.append(copy.deepcopy(FLAG(items))),
        f".item[{len(COUNTING_ANSWERS)}].linkId",
        "duplicate",
    ),
    ("missing required item", _drop("count"), "", "required"),
    ("missing required text", _drop("remark"), "", "required"),
    ("blank required text", _set(REMARK, valueString=" "), "", "required"),
    (
        "nested item",
        lambda items: FLAG(items).__setitem__("item", [{"linkId": "count"}]),
        f".item[{_index('flag')}].item",
        "structure",
    ),
    ("multiple-codes removed", _many_ext(), f".item[{_index('many')}].extension", "required"),
    (
        "multiple-codes false",
        _many_ext(url=X_MULTIPLE, valueBoolean=False),
        f".item[{_index('many')}].extension[0]",
        "value",
    ),
    (
        "no-codes-chosen next to answers",
        lambda items: MANY(items)["extension"].append({"url": X_NO_CODES, "valueBoolean": True}),
        f".item[{_index('many')}].answer",
        "value",
    ),
    (
        "multiple-codes without answers",
        lambda items: MANY(items).pop("answer"),
        f".item[{_index('many')}].answer",
        "required",
    ),
    (
        "several codes on a single choice",
        lambda items: PICK(items).__setitem__("extension", [{"url": X_MULTIPLE, "valueBoolean": True}]),
        f".item[{_index('pick')}].extension",
        "value",
    ),
    (
        "no codes on a boolean",
        lambda items: FLAG(items).update(extension=[{"url": X_NO_CODES, "valueBoolean": True}], answer=[]),
        f".item[{_index('flag')}].extension",
        "value",
    ),
    (
        "code not allowed among several",
        lambda items: MANY(items)["answer"].append({"valueCoding": {"code": "q"}}),
        f".item[{_index('many')}].answer[2].valueCoding.code",
        "value",
    ),
    (
        "a code twice",
        lambda items: MANY(items)["answer"].append({"valueCoding": {"code": "x"}}),
        f".item[{_index('many')}].answer[2]",
        "value",
    ),
    (
        "a text for one of several codes",
        lambda items: MANY(items)["answer"].append({"valueString": "y"}),
        f".item[{_index('many')}].answer[2].valueString",
        "value",
    ),
    (
        "empty multiple without no-codes-chosen",
        lambda items: MANY(items).update(extension=[], answer=[]),
        f".item[{_index('many')}].answer",
        "required",
    ),
]


@pytest.mark.parametrize(
    ("tamper", "expression", "code"), [t[1:] for t in TAMPERS], ids=[t[0] for t in TAMPERS]
)
def test_every_tampered_answer_is_an_error_at_its_place(tamper: Tamper, expression: str, code: str) -> None:
    response = _response(COUNTING_ANSWERS)
    assert _read(response)[1] == []  # untouched, it passes
    tamper(response["item"])
    answers, issues = _read(response)
    errors = _errors(issues)
    assert [(e.expression, e.code) for e in errors] == [(WHERE + expression, code)], errors
    # what was refused is not among the answers returned (a repeated item is not read twice)
    assert answers != COUNTING_ANSWERS or code == "duplicate"
    assert all(COUNTING.item(link).check(value) is None for link, value in answers.items())


def test_a_missing_required_item_is_named_by_the_instruments_own_id() -> None:
    response = _response({k: v for k, v in COUNTING_ANSWERS.items() if k != "count"})
    (issue,) = _read(response)[1]
    assert (issue.severity, issue.expression) == ("error", WHERE)
    assert "item count" in issue.message
    assert "required" in issue.message


def test_an_optional_blank_text_is_no_answer_with_a_warning() -> None:
    response = _response(COUNTING_ANSWERS)
    response["item"].append({"linkId": "note", "answer": [{"valueString": "   "}]})
    answers, issues = _read(response)
    assert answers == COUNTING_ANSWERS
    assert [(i.severity, i.expression) for i in issues] == [("warning", f"{WHERE}.item[6].answer[0]")]


@pytest.mark.parametrize(
    ("response", "expression"),
    [
        ([], ""),
        ("QuestionnaireResponse", ""),
        ({"item": {"linkId": "flag"}}, ".item"),
        ({"item": ["flag"]}, ".item[0]"),
        ({"item": [{"linkId": 3}]}, ".item[0].linkId"),
        ({"item": [{"linkId": "flag", "answer": {"valueBoolean": True}}]}, ".item[0].answer"),
        ({"item": [{"linkId": "flag", "answer": [True]}]}, ".item[0].answer[0]"),
        (
            {"item": [{"linkId": "flag", "extension": {}, "answer": [{"valueBoolean": True}]}]},
            ".item[0].extension",
        ),
        ({"item": [{"linkId": "many", "extension": [7], "answer": []}]}, ".item[0].extension[0]"),
        ({"item": [{"linkId": "pick", "answer": [{"valueCoding": "b"}]}]}, ".item[0].answer[0].valueCoding"),
    ],
)
def test_wrong_json_types_are_errors_at_their_place(response: Any, expression: str) -> None:
    answers, issues = _read(response)
    assert WHERE + expression in [issue.expression for issue in _errors(issues)]
    assert all(isinstance(value, bool | int | str | tuple) for value in answers.values())


# --- an instrument the reader does not know ------------------------------------------------------


def test_an_unknown_instrument_is_one_warning_and_its_answers_are_read_by_type() -> None:
    response = _response({**COUNTING_ANSWERS, "count": 99, "pick": "unlisted"})
    answers, issues = _read(response, spec=None)
    assert [(i.severity, i.code, i.expression) for i in issues] == [("warning", "not-supported", WHERE)]
    assert answers == {**COUNTING_ANSWERS, "count": 99, "pick": "unlisted"}


def test_an_unknown_instrument_still_refuses_what_cannot_be_read() -> None:
    response = _response(COUNTING_ANSWERS)
    response["item"][0]["answer"].append({"valueBoolean": False})
    response["item"].append({"linkId": "flag", "answer": [{"valueBoolean": True}]})
    response["item"].append({"linkId": "other", "answer": [{"valueQuantity": {"value": 1}}]})
    _, issues = _read(response, spec=None)
    assert [i.expression for i in _errors(issues)] == [
        f"{WHERE}.item[0].answer[1]",
        f"{WHERE}.item[{len(COUNTING_ANSWERS)}].linkId",
        f"{WHERE}.item[{len(COUNTING_ANSWERS) + 1}].answer[0].valueQuantity",
    ]


# --- hostile input -------------------------------------------------------------------------------

HOSTILE = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
ITEM_NAMES = st.sampled_from(["linkId", "answer", "extension", "item", "valueCoding", "valueBoolean"])
LINKS = st.sampled_from([item.id for item in COUNTING.items]) | st.text(max_size=4)
hostile_items = st.dictionaries(ITEM_NAMES, json_values, max_size=4) | st.builds(
    lambda link, answer, ext: {"linkId": link, "answer": answer, "extension": ext},
    LINKS,
    st.lists(
        st.dictionaries(
            st.sampled_from(["valueCoding", "valueInteger", "valueString", "valueBoolean"]),
            json_values,
            max_size=2,
        ),
        max_size=3,
    )
    | json_values,
    st.lists(
        st.fixed_dictionaries(
            {"url": st.sampled_from([X_MULTIPLE, X_NO_CODES]) | json_values, "valueBoolean": json_values}
        ),
        max_size=2,
    )
    | json_values,
)
hostile_responses = json_values | st.builds(
    lambda items: {"item": items}, st.lists(hostile_items, max_size=5)
)


def _checked(response: Any, spec: InstrumentSpec | None) -> None:
    answers, issues = read_answers(response, where=WHERE, spec=spec)
    assert all(isinstance(issue, AnswerIssue) and issue.expression.startswith(WHERE) for issue in issues)
    assert all(isinstance(value, bool | int | str | tuple) for value in answers.values())
    if spec is not None and not _errors(issues):
        validate_answers(spec, answers)  # what passes is what the engine accepts


@HOSTILE
@given(hostile_responses, st.booleans())
def test_any_json_value_gives_issues_never_an_exception(response: Any, known: bool) -> None:
    _checked(response, COUNTING if known else None)


@HOSTILE
@given(st.data())
def test_any_json_value_in_place_of_a_written_element_gives_issues(data: st.DataObject) -> None:
    response = _response(COUNTING_ANSWERS)
    item = data.draw(st.sampled_from(response["item"]))
    key = data.draw(st.sampled_from(["linkId", "answer", "extension", "item"]))
    item[key] = data.draw(json_values)
    _checked(response, COUNTING)


MARKER = "ZQXMARKER"


def test_messages_never_repeat_what_the_input_holds() -> None:
    planted = {
        "item": [
            {"linkId": MARKER, "answer": [{"valueString": MARKER}]},
            {"linkId": "pick", "answer": [{"valueCoding": {"system": MARKER, "code": MARKER}}]},
            {
                "linkId": "many",
                "extension": [{"url": X_MULTIPLE, "valueBoolean": True}],
                "answer": [{"valueCoding": {"code": MARKER}}],
            },
            {"linkId": "count", "answer": [{"valueInteger": 987654}]},
            {"linkId": "remark", "answer": [{"valueBoolean": MARKER}]},
            {"linkId": "flag", "answer": [{f"value{MARKER}": MARKER}]},
            {"linkId": "open_count", "answer": [{"valueString": MARKER}]},
            {"linkId": MARKER, "answer": [{"valueBoolean": True}]},
        ]
    }
    _, issues = _read(planted)
    assert len(_errors(issues)) >= 8
    _, unknown = _read(planted, spec=None)
    for issue in issues + unknown:
        assert MARKER.lower() not in (issue.message + issue.expression).lower()
        assert "987654" not in issue.message


# --- the recorded result ---------------------------------------------------------------------------


def _counted(answers: Mapping[str, Answer] = COUNTING_ANSWERS) -> InstrumentApplied:
    case = _engine().assess(new_case(), "org.counting", dict(answers), at=day(1))
    event = case.events[-1]
    assert isinstance(event, InstrumentApplied)
    return event


def test_a_recorded_result_that_matches_the_instrument_passes() -> None:
    registered = _engine().instruments["org.counting"]
    assert result_issues(registered, _counted(), where=WHERE, hook_timeout=5.0) == []


@pytest.mark.parametrize(
    ("change", "part"),
    [
        ({"safety_code": SafetyCode.GREEN}, "safety code"),
        ({"urgency": Urgency.SOON}, "urgency"),
        ({"safety_code": None}, "safety code"),
    ],
)
def test_a_changed_result_is_an_error(change: dict[str, Any], part: str) -> None:
    event = _counted()
    import attrs

    forged = attrs.evolve(event, result=attrs.evolve(event.result, **change))
    (issue,) = result_issues(_engine().instruments["org.counting"], forged, where=WHERE)
    assert (issue.severity, issue.code, issue.expression) == ("error", "business-rule", WHERE)
    assert part in issue.message


def test_answers_changed_under_a_recorded_result_are_caught() -> None:
    import attrs

    event = _counted()  # red: count 7
    forged = attrs.evolve(event, answers={**COUNTING_ANSWERS, "count": 2})
    messages = [i.message for i in result_issues(_engine().instruments["org.counting"], forged, where=WHERE)]
    assert any("safety code" in m for m in messages)
    assert any("urgency" in m for m in messages)


def test_a_changed_classification_of_the_shipped_profiles_is_caught() -> None:
    import attrs

    engine = Engine()
    answers = {item.id: n < 5 for n, item in enumerate(engine.instruments["gezinsprofielen"].spec.items)}
    event = engine.assess(new_case(), "gezinsprofielen", answers, at=day(1)).events[-1]
    assert isinstance(event, InstrumentApplied)
    assert event.result.classifications
    forged = attrs.evolve(event, result=attrs.evolve(event.result, classifications=()))
    (issue,) = result_issues(engine.instruments["gezinsprofielen"], forged, where=WHERE)
    assert "classifications" in issue.message


def test_another_version_is_a_warning_that_the_result_cannot_be_rechecked() -> None:
    import attrs

    event = attrs.evolve(
        _counted(), instrument_version="1.0", result=InstrumentResult(safety_code=SafetyCode.GREEN)
    )
    (issue,) = result_issues(_engine().instruments["org.counting"], event, where=WHERE)
    assert (issue.severity, issue.code) == ("warning", "not-supported")
    assert result_issues(None, event, where=WHERE) == []


def test_answers_that_do_not_fit_cannot_be_rechecked() -> None:
    import attrs

    event = attrs.evolve(_counted(), answers={"flag": "nee"})
    (issue,) = result_issues(_engine().instruments["org.counting"], event, where=WHERE)
    assert issue.severity == "warning"


class _Failing(Counting):
    def assess(self, answers: Mapping[str, Answer]) -> InstrumentResult:
        raise RuntimeError("broken")


def test_an_instrument_that_fails_on_recheck_is_a_plugin_error() -> None:
    event = _counted()
    registered = RegisteredInstrument(_Failing(), "org.counting", lambda: (None, None))
    with pytest.raises(PluginError, match=r"org\.counting"):
        result_issues(registered, event, where=WHERE)
    wrong = RegisteredInstrument(_Returning(), "org.counting", lambda: (None, None))
    with pytest.raises(PluginError, match="not an InstrumentResult"):
        result_issues(wrong, event, where=WHERE)


class _Returning(Counting):
    def assess(self, answers: Mapping[str, Answer]) -> Any:
        return {"safety_code": "red"}


def test_the_instrument_gets_a_read_only_copy_of_the_answers() -> None:
    seen: list[Mapping[str, Answer]] = []

    class Spying(Counting):
        def assess(self, answers: Mapping[str, Answer]) -> InstrumentResult:
            seen.append(answers)
            with pytest.raises(TypeError):
                answers["count"] = 0  # type: ignore[index]
            return super().assess(answers)

    event = _counted()
    assert (
        result_issues(
            RegisteredInstrument(Spying(), "org.counting", lambda: (None, None)), event, where=WHERE
        )
        == []
    )
    assert seen
    assert seen[0] is not event.answers


def test_reading_answers_does_not_change_the_response() -> None:
    response = _response(COUNTING_ANSWERS)
    before = copy.deepcopy(response)
    _read(response)
    assert response == before


def test_importing_the_module_loads_no_validator_and_no_plugin_host() -> None:
    code = (
        "import sys, ketenzorg.interop.answers; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'fhir', 'lxml', 'pluggy') "
        "or m in ('ketenzorg.interop.fhir', 'ketenzorg.pluginhost', 'ketenzorg.engine')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
