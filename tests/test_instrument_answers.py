"""Answers that may be missing ("unknown", "not asked"), items required on a condition, and the
person assessed (subject): through Python, the data file format, the case format and the CLI."""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest

from factories import run_cli
from ketenzorg import Case, InvalidEventError, caseformat, hookimpl
from ketenzorg.errors import CaseFormatError
from ketenzorg.events import InstrumentApplied
from ketenzorg.instruments import (
    AnswerType,
    Condition,
    InstrumentDataError,
    InstrumentResult,
    InstrumentSpec,
    Item,
    Missing,
    ResponseError,
    SafetyCode,
    spec_from_data,
    validate_answers,
)
from ketenzorg.testing import OTHER_PERSON, PRACTITIONER, CaseBuilder, answers_for, day, engine_with

ROOT = Path(__file__).resolve().parent.parent
TEXT = {"nl": "Vraag (synthetisch)", "en": "Question (synthetic)"}
CANONICAL = "https://fhir.example.org"

DATA: dict[str, Any] = {
    "id": "org.check",
    "version": "1",
    "canonical": CANONICAL,
    "name": {"nl": "Controle", "en": "Check"},
    "description": {"nl": "Synthetisch", "en": "Synthetic"},
    "items": [
        {
            "id": "weapon",
            "answer_type": "boolean",
            "text": TEXT,
            "allow_unknown": True,
            "allow_not_asked": True,
        },
        {"id": "count", "answer_type": "integer", "text": TEXT, "required": False, "allow_unknown": True},
        {"id": "judgement", "answer_type": "choice", "allowed": ["standard", "high"], "text": TEXT},
        {
            "id": "rationale",
            "answer_type": "text",
            "text": TEXT,
            "required": False,
            "required_if": {"item": "judgement", "equals": "high"},
        },
    ],
}


def spec() -> InstrumentSpec:
    return spec_from_data(copy.deepcopy(DATA))


class Check:
    """Red on a weapon or a high judgement; orange when it is not known whether there is a weapon."""

    spec = spec()

    def assess(self, answers: Any) -> InstrumentResult:
        if answers["weapon"] is True or answers["judgement"] == "high":
            return InstrumentResult(safety_code=SafetyCode.RED)
        if answers["weapon"] is Missing.UNKNOWN:
            return InstrumentResult(safety_code=SafetyCode.ORANGE)
        return InstrumentResult(safety_code=SafetyCode.GREEN)


class Plugin:
    @hookimpl
    def ketenzorg_register_instruments(self, registry: Any) -> None:
        registry.add(Check())


def builder() -> CaseBuilder:
    return CaseBuilder(engine_with(Plugin()))


# --- unknown / not asked ---------------------------------------------------------------------------


def test_an_unknown_answer_reaches_the_instrument_and_is_recorded() -> None:
    b = builder().assess("org.check", {"weapon": Missing.UNKNOWN, "judgement": "standard"}, day(1))
    applied = b.case.events[-1]
    assert isinstance(applied, InstrumentApplied)
    assert applied.answers["weapon"] is Missing.UNKNOWN
    assert applied.result.safety_code is SafetyCode.ORANGE


def test_unknown_keeps_the_items_type_a_text_is_no_unknown() -> None:
    with pytest.raises(ResponseError) as caught:
        validate_answers(spec(), {"weapon": "unknown", "judgement": "standard"})
    assert [(p.path, p.message) for p in caught.value.problems] == [("weapon", "expected true or false")]


def test_a_missing_reason_only_where_the_item_allows_it() -> None:
    answers = {"weapon": False, "count": Missing.NOT_ASKED, "judgement": Missing.UNKNOWN}
    with pytest.raises(ResponseError) as caught:
        validate_answers(spec(), answers)
    assert [p.path for p in caught.value.problems] == ["count", "judgement"]
    assert "'not-asked' is not an answer this item allows" in str(caught.value)
    allowed = {"weapon": Missing.NOT_ASKED, "count": Missing.UNKNOWN, "judgement": "high", "rationale": "r"}
    assert validate_answers(spec(), allowed)["count"] is Missing.UNKNOWN


def test_an_item_without_allow_flags_refuses_missing() -> None:
    item = Item(id="x", text=TEXT, answer_type=AnswerType.BOOLEAN)
    assert item.check(Missing.UNKNOWN) is not None
    assert (
        Item(id="x", text=TEXT, answer_type=AnswerType.BOOLEAN, allow_unknown=True).check(Missing.UNKNOWN)
        is None
    )


# --- required on a condition -----------------------------------------------------------------------


def test_an_item_required_on_a_condition_the_answers_meet() -> None:
    with pytest.raises(ResponseError) as caught:
        validate_answers(spec(), {"weapon": False, "judgement": "high"})
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("rationale", "required when judgement is high: no answer")
    ]
    assert "rationale" not in validate_answers(spec(), {"weapon": False, "judgement": "standard"})
    assert validate_answers(spec(), {"weapon": False, "judgement": "high", "rationale": "reden"})


def test_the_engine_refuses_a_missing_conditionally_required_answer() -> None:
    b = builder()
    with pytest.raises(ResponseError):
        b.assess("org.check", {"weapon": False, "judgement": "high"}, day(1))
    assert len(b.case.events) == 1


@pytest.mark.parametrize(
    ("condition", "kind"),
    [
        ({"item": "weapon", "is_true": True}, True),
        ({"item": "judgement", "one_of": ["high"]}, True),
        ({"item": "judgement", "one_of": ["standard"]}, False),
        ({"item": "count", "equals": 3}, False),
    ],
)
def test_condition_kinds(condition: dict[str, Any], kind: bool) -> None:
    data = copy.deepcopy(DATA)
    data["items"][3]["required_if"] = condition
    answers = {"weapon": True, "judgement": "high", "count": 2}
    assert spec_from_data(data).item("rationale").is_required(answers) is kind


def test_a_condition_on_several_codes_tests_whether_the_code_is_chosen() -> None:
    condition = Condition(item="kinds", equals="b")
    assert condition.holds({"kinds": ("a", "b")})
    assert not condition.holds({"kinds": ("a",)})
    assert not condition.holds({"kinds": Missing.UNKNOWN})
    assert not Condition(item="n", equals=1).holds({"n": True})  # True is not the number 1


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"item": "nothing", "equals": "high"}, "items[3].required_if.item"),
        ({"item": "judgement", "equals": "medium"}, "items[3].required_if.equals"),
        ({"item": "judgement", "is_true": True}, "items[3].required_if.is_true"),
        ({"item": "judgement", "equals": "high", "one_of": ["high"]}, "items[3].required_if"),
        ({"item": "judgement", "equal": "high"}, "items[3].required_if.equal"),
        ({"item": "rationale", "equals": "x"}, "items[3].required_if.item"),
    ],
)
def test_a_bad_condition_is_refused_when_the_spec_is_built(change: dict[str, Any], path: str) -> None:
    data = copy.deepcopy(DATA)
    data["items"][3]["required_if"] = change
    with pytest.raises(InstrumentDataError) as caught:
        spec_from_data(data, source="org/check.json")
    assert path in [p.path for p in caught.value.problems]


def test_a_cycle_of_conditions_is_refused() -> None:
    data = copy.deepcopy(DATA)
    data["items"][2] |= {"required": False, "required_if": {"item": "rationale", "equals": "x"}}
    with pytest.raises(InstrumentDataError) as caught:
        spec_from_data(data, source="org/check.json")
    messages = {p.path: p.message for p in caught.value.problems}
    assert (
        messages["items[2].required_if"] == "the conditions form a cycle: judgement -> rationale -> judgement"
    )


def test_an_always_required_item_takes_no_condition() -> None:
    data = copy.deepcopy(DATA)
    del data["items"][3]["required"]
    with pytest.raises(InstrumentDataError) as caught:
        spec_from_data(data)
    assert [p.path for p in caught.value.problems] == ["items[3].required_if"]


def test_the_schema_agrees_with_the_loader_on_the_new_keys() -> None:
    schema = json.loads((ROOT / "schemas" / "instrument.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(DATA)) == []
    bad = copy.deepcopy(DATA)
    bad["items"][3]["required_if"] = {"item": "judgement", "equal": "high"}
    assert list(validator.iter_errors(bad))
    always = copy.deepcopy(DATA)
    del always["items"][3]["required"]
    assert list(validator.iter_errors(always))
    typo = copy.deepcopy(DATA)
    typo["items"][0]["allow_unknwn"] = True
    assert list(validator.iter_errors(typo))
    with pytest.raises(InstrumentDataError):
        spec_from_data(typo)


# --- answers_for -----------------------------------------------------------------------------------


def test_answers_for_answers_what_a_condition_requires_and_takes_missing() -> None:
    answers = answers_for(spec(), judgement="high", weapon=Missing.UNKNOWN)
    assert answers["weapon"] is Missing.UNKNOWN
    assert "rationale" in answers
    assert validate_answers(spec(), answers)
    assert "rationale" not in answers_for(spec())


# --- subject ---------------------------------------------------------------------------------------


def test_the_person_assessed_is_recorded_and_defaults_to_the_client() -> None:
    b = builder().assess("org.check", answers_for(spec()), day(1))
    b.assess("org.check", answers_for(spec()), day(2), subject=OTHER_PERSON.id)
    first, second = b.case.state.assessments
    assert first.subject is None
    assert second.subject == OTHER_PERSON.id


def test_a_subject_that_is_no_person_of_the_case_is_refused() -> None:
    b = builder()
    with pytest.raises(InvalidEventError) as caught:
        b.assess("org.check", answers_for(spec()), day(1), subject=PRACTITIONER.id)
    assert caught.value.problems[0].path.endswith("subject")
    assert len(b.case.events) == 1


# --- case format -----------------------------------------------------------------------------------


def _assessed() -> Case:
    b = builder().assess(
        "org.check",
        {"weapon": Missing.UNKNOWN, "count": Missing.UNKNOWN, "judgement": "high", "rationale": "reden"},
        day(1),
        subject=OTHER_PERSON.id,
    )
    return b.case


def test_the_case_format_round_trips_missing_answers_and_the_subject() -> None:
    case = _assessed()
    written = caseformat.dumps(case)
    event = orjson.loads(written)["events"][-1]
    assert event["answers"]["weapon"] == {"missing": "unknown"}
    assert event["subject"] == OTHER_PERSON.id
    assert caseformat.loads(written) == case
    schema = json.loads((ROOT / "schemas" / "case.schema.json").read_text(encoding="utf-8"))
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(orjson.loads(written))) == []


def test_the_case_format_refuses_an_unknown_missing_reason() -> None:
    data = orjson.loads(caseformat.dumps(_assessed()))
    data["events"][-1]["answers"]["weapon"] = {"missing": "maybe"}
    with pytest.raises(CaseFormatError) as caught:
        caseformat.case_from_dict(data)
    assert caught.value.problems[0].path == "events[1].answers"
    assert "maybe" not in str(caught.value)


def test_a_case_written_before_subjects_loads_with_the_client_as_subject() -> None:
    data = orjson.loads(caseformat.dumps(builder().assess("org.check", answers_for(spec()), day(1)).case))
    del data["events"][-1]["subject"]
    loaded = caseformat.case_from_dict(data)
    event = loaded.events[-1]
    assert isinstance(event, InstrumentApplied)
    assert event.subject is None


# --- the command line ------------------------------------------------------------------------------

MODULE = "org_check_missing"
PLUGIN_MODULE = f"""
import copy
from ketenzorg.hookspecs import hookimpl
from ketenzorg.instruments import InstrumentResult, Missing, SafetyCode, spec_from_data

DATA = {DATA!r}


class Check:
    spec = spec_from_data(copy.deepcopy(DATA))

    def assess(self, answers):
        if answers["weapon"] is Missing.UNKNOWN:
            return InstrumentResult(safety_code=SafetyCode.ORANGE)
        return InstrumentResult(safety_code=SafetyCode.GREEN)


@hookimpl
def ketenzorg_register_instruments(registry):
    registry.add(Check())
"""


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "site"
    (root / MODULE).mkdir(parents=True)
    (root / MODULE / "__init__.py").write_text(PLUGIN_MODULE, encoding="utf-8")
    info = root / f"{MODULE}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: org-check\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[ketenzorg]\norg-check = {MODULE}\n", encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    yield tmp_path
    sys.modules.pop(MODULE, None)


def test_cli_assess_takes_a_subject_and_missing_answers(installed: Path) -> None:
    case_file = installed / "case.json"
    case_file.write_bytes(caseformat.dumps(builder().case))
    answers = installed / "answers.json"
    answers.write_text(
        json.dumps({"weapon": {"missing": "unknown"}, "judgement": "standard"}), encoding="utf-8"
    )
    out = installed / "new.json"
    args = ("assess", str(case_file), "org.check", str(answers), "--at", day(1).isoformat())
    result = run_cli(*args, "--subject", OTHER_PERSON.id, "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["subject"] == OTHER_PERSON.id
    assert shown["result"]["safety_code"] == "orange"
    event = caseformat.loads(out.read_bytes()).events[-1]
    assert isinstance(event, InstrumentApplied)
    assert event.subject == OTHER_PERSON.id
    assert event.answers["weapon"] is Missing.UNKNOWN


def test_cli_assess_refuses_a_subject_that_is_no_person(installed: Path) -> None:
    case_file = installed / "case.json"
    case_file.write_bytes(caseformat.dumps(builder().case))
    answers = installed / "answers.json"
    answers.write_text(json.dumps({"weapon": False, "judgement": "standard"}), encoding="utf-8")
    result = run_cli("assess", str(case_file), "org.check", str(answers), "--subject", "nobody")
    assert result.returncode in (1, 2)
    assert "--subject" in result.stderr


def test_cli_assess_refuses_a_missing_conditionally_required_answer(installed: Path) -> None:
    case_file = installed / "case.json"
    case_file.write_bytes(caseformat.dumps(builder().case))
    answers = installed / "answers.json"
    answers.write_text(json.dumps({"weapon": False, "judgement": "high"}), encoding="utf-8")
    result = run_cli("assess", str(case_file), "org.check", str(answers))
    assert result.returncode in (1, 2)
    assert "rationale: required when judgement is high" in result.stderr
