"""Texts a person reads, in Dutch and English: what plugins return, the engine's enumeration values,
the command line's output and the case format."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from factories import run_cli
from ketenzorg import Engine, RiskFactor, Text, caseformat
from ketenzorg.domain import IncidentSeverity, PartnerType, PartyRole
from ketenzorg.errors import ValidationError
from ketenzorg.hookspecs import hookimpl
from ketenzorg.instruments import (
    AdvisedSetting,
    AnswerType,
    Classification,
    InstrumentResult,
    InstrumentSpec,
    Item,
    SafetyCode,
    Urgency,
    load_data,
)
from ketenzorg.messages import Message, enum_label, is_known_key, render
from ketenzorg.testing import T0, new_case

# --- the Text type -------------------------------------------------------------------------------


def test_a_result_takes_texts_in_both_languages_and_shows_each_in_its_own() -> None:
    result = InstrumentResult(
        classifications=(Classification(code="c", display={"nl": "Profiel", "en": "Profile"}),),
        risk_factors=(RiskFactor(id="r", text={"nl": "Stress", "en": "Stress (en)"}),),
        advice=({"nl": "Advies", "en": "Advice"},),
        explanation=(Text("Reden", "Reason"),),
    )
    assert result.advice == (Text("Advies", "Advice"),)
    assert [t.in_language("en") for t in result.explanation] == ["Reason"]
    assert result.classifications[0].display.in_language("nl") == "Profiel"
    assert result.risk_factors[0].text.in_language("en") == "Stress (en)"
    assert result.single_language_texts() == []


def test_a_plain_string_is_dutch_only_and_shows_its_dutch_in_english_too() -> None:
    result = InstrumentResult(
        advice=("Alleen Nederlands",), classifications=(Classification(code="c", display="P"),)
    )
    assert result.advice == (Text("Alleen Nederlands"),)
    assert result.advice[0].in_language("en") == "Alleen Nederlands"
    assert result.single_language_texts() == ["classifications[0].display", "advice[0]"]


@pytest.mark.parametrize(
    ("build", "path"),
    [
        (lambda: Classification(code="c", display={"en": "only English"}), "display"),
        (lambda: Classification(code="c", display={"nl": "x", "en": " "}), "display"),
        (lambda: Classification(code="c", display={"nl": "x", "de": "y"}), "display"),
        (lambda: RiskFactor(id="r", text=""), "text"),
        (lambda: InstrumentResult(advice=({"nl": ""},)), "advice[0]"),
        (lambda: InstrumentResult(explanation="one string, not a tuple"), "explanation"),
    ],
)
def test_a_text_that_is_not_one_is_refused_naming_the_field(build: Any, path: str) -> None:
    with pytest.raises(ValidationError) as caught:
        build()
    assert [p.path for p in caught.value.problems] == [path]


def test_an_older_plugin_returning_plain_strings_still_works_with_a_deprecation_warning() -> None:
    class Older:
        spec = InstrumentSpec(
            id="older",
            version="1",
            name={"nl": "Oud", "en": "Old"},
            description={"nl": "Oud", "en": "Old"},
            items=(Item(id="q", text={"nl": "V", "en": "Q"}, answer_type=AnswerType.BOOLEAN),),
            canonical="https://fhir.example.org/older",
        )

        def assess(self, answers: Mapping[str, Any]) -> InstrumentResult:
            return InstrumentResult(advice=("Bel de huisarts",), explanation=({"nl": "ja", "en": "yes"},))

    class Plugin:
        ketenzorg_plugin_name = "org.older"

        @hookimpl
        def ketenzorg_register_instruments(self, registry: Any) -> None:
            registry.add(Older())

    engine = Engine(plugins=[Plugin()])
    with pytest.warns(DeprecationWarning, match=r"plugin 'org.older'.*\(advice\[0\]\)"):
        case = engine.assess(new_case(), "older", {"q": True}, at=T0 + timedelta(days=1))
    applied = case.events[-1]
    assert applied.result.advice == (Text("Bel de huisarts"),)  # type: ignore[attr-defined]


# --- the engine's enumeration values -------------------------------------------------------------

ENUMS = (SafetyCode, Urgency, AdvisedSetting, PartyRole, PartnerType, IncidentSeverity)


@pytest.mark.parametrize("kind", ENUMS, ids=lambda k: k.__name__)
def test_every_enumeration_value_a_person_reads_has_a_dutch_and_an_english_label(kind: Any) -> None:
    from ketenzorg.messages import _ENUM_KEYS

    for value in kind:
        assert is_known_key(f"{_ENUM_KEYS[kind]}.{value.value}"), f"{value} has no label"
        assert "_" not in enum_label(value, "nl") + enum_label(value, "en")


def test_an_enumeration_value_in_a_message_is_shown_in_the_readers_language() -> None:
    message = Message("alert.instrument-urgent", {"instrument": "x", "date": "1 mei", "code": SafetyCode.RED})
    assert "(code rood)" in render(message, "nl")
    assert "(code red)" in render(message, "en")


# --- the command line ----------------------------------------------------------------------------

ENGLISH_VALUES = {v.value for kind in ENUMS for v in kind} - {"school"}  # "school" is Dutch too


def _shipped_dutch_texts() -> set[str]:
    texts: set[str] = set()
    ga = load_data("ketenzorg.plugins", "data/geweldsanalyse.json")
    texts |= {f["nl"] for f in ga["risk_factors"].values() if f["nl"] != f["en"]}
    texts |= {a["nl"] for a in ga["advice"].values()}
    gp = load_data("ketenzorg.plugins", "data/gezinsprofielen.json")
    for profile in gp["profiles"]:
        texts |= {profile["display"]["nl"], profile["emphasis"]["nl"]}
        texts |= {a["nl"] for a in profile["advice"]}
        texts |= {f["nl"] for f in profile["risk_factors"]}
    return texts | {"punten", "rode vlag", "rood", "oranje", "groen"}


ANSWERS = {
    "nature": ["physical", "stalking"], "frequency": "weekly", "injury": True, "weapon": False,
    "strangulation": True, "threats_to_kill": False, "fear_for_life": True, "escalation": True,
    "coercive_control": True, "children_witness": True, "separation": "recent",
    "perpetrator_access": "knows_address", "violence_against_children": False,
}  # fmt: skip
PROFILE_ANSWERS = {
    item["id"]: item["id"] in ("power_imbalance", "coercive_control", "fear_of_partner")
    for item in load_data("ketenzorg.plugins", "data/gezinsprofielen.json")["items"]
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("texts")
    assert run_cli("demo", "--out", str(folder)).returncode == 0
    case = folder / "case-open.json"
    (folder / "ga.json").write_bytes(orjson.dumps(ANSWERS))
    (folder / "gp.json").write_bytes(orjson.dumps(PROFILE_ANSWERS))
    out: dict[str, str] = {}
    for lang in ("nl", "en"):
        first = run_cli(
            "assess", str(case), "geweldsanalyse", str(folder / "ga.json"),
            "--lang", lang, "--out", str(folder / f"a-{lang}.json"),
        )  # fmt: skip
        second = run_cli(
            "assess", str(folder / f"a-{lang}.json"), "gezinsprofielen",
            str(folder / "gp.json"), "--lang", lang,
        )  # fmt: skip
        evaluate = run_cli("evaluate", str(folder / f"a-{lang}.json"), "--lang", lang)
        for result in (first, second, evaluate):
            assert result.returncode == 0, result.stderr
        out[lang] = first.stdout + second.stdout + evaluate.stdout
    return out


def test_dutch_output_of_assess_and_evaluate_has_no_english_enumeration_values(
    outputs: dict[str, str],
) -> None:
    found = sorted(
        {v for v in ENGLISH_VALUES if re.search(rf"(?<![\w-]){re.escape(v)}(?![\w-])", outputs["nl"])}
    )
    assert found == []
    assert "veiligheidscode: rood" in outputs["nl"]
    assert "urgentie: direct" in outputs["nl"]


def test_english_output_of_assess_and_evaluate_has_no_dutch_instrument_text(outputs: dict[str, str]) -> None:
    found = sorted(t for t in _shipped_dutch_texts() if t in outputs["en"])
    assert found == []
    assert "safety code: red" in outputs["en"]
    assert "risk factor: Coercive control" in outputs["en"]
    assert "classification: Intimate terrorism" in outputs["en"]


# --- the case format -----------------------------------------------------------------------------


def _result_case() -> Any:
    engine = Engine()
    at = T0 + timedelta(days=1)
    case = engine.assess(new_case(), "gezinsprofielen", PROFILE_ANSWERS, at=at)
    return engine.assess(case, "geweldsanalyse", ANSWERS, at=at)


def test_the_case_format_carries_both_languages_and_round_trips_exactly() -> None:
    case = _result_case()
    written = caseformat.dumps(case)
    data = orjson.loads(written)
    result = data["events"][-2]["result"]
    assert result["classifications"][0]["display"] == {"nl": "Intieme terreur", "en": "Intimate terrorism"}
    assert set(result["advice"][0]) == {"nl", "en"}
    again = caseformat.loads(written)
    assert again.events == case.events
    assert caseformat.dumps(again) == written


def test_a_case_stored_with_plain_strings_still_loads_as_dutch() -> None:
    data = orjson.loads(caseformat.dumps(_result_case()))
    result = data["events"][-2]["result"]
    result["classifications"][0]["display"] = "Intieme terreur"
    result["classifications"][0]["emphasis"] = ""
    result["advice"] = ["Oud advies"]
    result["risk_factors"][0]["text"] = "Dwingende controle"
    loaded = caseformat.case_from_dict(data)
    old = loaded.events[-2].result  # type: ignore[attr-defined]
    assert old.classifications[0].display == Text("Intieme terreur")
    assert old.classifications[0].emphasis is None
    assert old.advice == (Text("Oud advies"),)
    assert old.risk_factors[0].text == Text("Dwingende controle")


@pytest.mark.parametrize(
    "bad", [{"en": "x"}, {"nl": "x", "fr": "y"}, {"nl": ""}, 3, {"nl": "x", "en": 4}], ids=str
)
def test_a_bad_text_in_a_case_file_is_refused_with_its_path(bad: Any) -> None:
    from ketenzorg.errors import CaseFormatError

    data = orjson.loads(caseformat.dumps(_result_case()))
    data["events"][-1]["result"]["advice"][0] = bad
    with pytest.raises(CaseFormatError) as caught:
        caseformat.case_from_dict(data)
    assert any(p.path.endswith("result.advice[0]") for p in caught.value.problems), caught.value.problems


def test_the_case_schema_accepts_both_forms_of_a_text() -> None:
    import jsonschema

    schema = orjson.loads(
        (Path(__file__).resolve().parent.parent / "schemas" / "case.schema.json").read_bytes()
    )
    data = orjson.loads(caseformat.dumps(_result_case()))
    jsonschema.validate(data, schema)
    data["events"][-1]["result"]["advice"][0] = "Oud advies"
    jsonschema.validate(data, schema)
    data["events"][-1]["result"]["advice"][0] = {"en": "English only"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)
