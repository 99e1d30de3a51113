"""Texts in Dutch and English in FHIR: the Dutch as the string, the English in FHIR's ``translation``
extension on it; read back exactly, in JSON and XML; a string without it read as Dutch."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest

from factories import shipped_engine
from ketenzorg import Case, Engine, Text
from ketenzorg.disclosure import Recipient
from ketenzorg.events import InstrumentApplied, PlanRevised
from ketenzorg.instruments import load_data
from ketenzorg.interop.definitions import TRANSLATION, X_ADVICE, X_EXPLANATION, X_RISK_FACTOR
from ketenzorg.interop.fhir import bundle_to_case, case_to_bundle
from ketenzorg.testing import T0, new_case

GA_ANSWERS = {
    "nature": ["physical", "stalking"], "frequency": "weekly", "injury": True, "weapon": False,
    "strangulation": True, "threats_to_kill": False, "fear_for_life": True, "escalation": True,
    "coercive_control": True, "children_witness": True, "separation": "recent",
    "perpetrator_access": "knows_address", "violence_against_children": False,
}  # fmt: skip
GP_ANSWERS = {
    item["id"]: item["id"] in ("power_imbalance", "coercive_control", "fear_of_partner")
    for item in load_data("ketenzorg.plugins", "data/gezinsprofielen.json")["items"]
}


@pytest.fixture(scope="module")
def case() -> Case:
    engine = Engine()
    at = T0 + timedelta(days=1)
    assessed = engine.assess(new_case(), "gezinsprofielen", GP_ANSWERS, at=at)
    return engine.assess(assessed, "geweldsanalyse", GA_ANSWERS, at=at)


def _results(case: Case) -> list[Any]:
    return [e.result for e in case.events if isinstance(e, InstrumentApplied)]


def _risk_assessments(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "RiskAssessment"]


def _english(element: dict[str, Any], field: str) -> str | None:
    for translation in element.get("_" + field, {}).get("extension", ()):
        if translation["url"] == TRANSLATION:
            parts = {p["url"]: p for p in translation["extension"]}
            assert parts["lang"]["valueCode"] == "en"
            return str(parts["content"]["valueString"])
    return None


def test_the_english_travels_in_the_translation_extension_on_the_string(case: Case) -> None:
    bundle = case_to_bundle(case, recipient=Recipient.internal(), engine=shipped_engine())
    profile, violence = _risk_assessments(bundle)
    advice = next(x for x in violence["extension"] if x["url"] == X_ADVICE)
    assert advice["valueString"].startswith("Politie betrekken")
    assert (_english(advice, "valueString") or "").startswith("Involve the police")
    explanation = next(x for x in violence["extension"] if x["url"] == X_EXPLANATION)
    assert _english(explanation, "valueString") == "points 22 (orange from 4, red from 10)"
    factor = next(x for x in violence["extension"] if x["url"] == X_RISK_FACTOR)
    text = next(p for p in factor["extension"] if p["url"] == "text")
    assert (text["valueString"], _english(text, "valueString")) == ("Dwingende controle", "Coercive control")
    prediction = profile["prediction"][0]
    assert (_english(prediction, "rationale") or "").startswith("Protection first")
    assert _english(violence, "mitigation") is not None
    assert _english(violence["note"][0], "text") is not None


def test_json_round_trip_keeps_both_languages_exactly(case: Case) -> None:
    bundle = case_to_bundle(case, recipient=Recipient.internal(), engine=shipped_engine())
    again = bundle_to_case(orjson.loads(orjson.dumps(bundle)), engine=shipped_engine())
    assert _results(again) == _results(case)
    profile = _results(again)[0].classifications[0]
    assert profile.display == Text("Intieme terreur", "Intimate terrorism")
    assert profile.emphasis is not None
    assert profile.emphasis.en is not None


def test_xml_round_trip_keeps_both_languages_exactly(case: Case) -> None:
    from ketenzorg.interop.fhirxml import from_xml, to_xml

    bundle = case_to_bundle(case, recipient=Recipient.internal(), engine=shipped_engine())
    again = bundle_to_case(from_xml(to_xml(bundle)), engine=shipped_engine())
    assert _results(again) == _results(case)


def test_a_plan_risk_factor_keeps_its_english_and_one_in_dutch_only_stays_so() -> None:
    from ketenzorg.demo import build_demo_case

    demo = build_demo_case()
    again = bundle_to_case(
        orjson.loads(
            orjson.dumps(case_to_bundle(demo, recipient=Recipient.internal(), engine=shipped_engine()))
        ),
        engine=shipped_engine(),
    )
    plans = [e for e in again.events if isinstance(e, PlanRevised)]
    texts = {f.text for plan in plans for f in plan.risk_factors}
    assert Text("Dwingende controle door partner", "Coercive control by the partner") in texts


def _strip_translations(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_translations(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_strip_translations(v) for v in value]
    return value


def test_an_older_bundle_with_plain_strings_still_loads_as_dutch(case: Case) -> None:
    older = _strip_translations(
        orjson.loads(
            orjson.dumps(case_to_bundle(case, recipient=Recipient.internal(), engine=shipped_engine()))
        )
    )
    again = bundle_to_case(older, engine=shipped_engine())
    profile, violence = _results(again)
    assert profile.classifications[0].display == Text("Intieme terreur")
    assert violence.advice[0].en is None
    assert violence.advice[0].nl.startswith("Politie betrekken")
    assert [(r.id, r.code) for r in violence.risk_factors] == [
        (r.id, r.code) for r in _results(case)[1].risk_factors
    ]


def test_strict_validation_accepts_the_translations_and_locates_a_broken_one(case: Case) -> None:
    from ketenzorg.interop.validate import validate_bundle

    bundle = orjson.loads(
        orjson.dumps(case_to_bundle(case, recipient=Recipient.internal(), engine=shipped_engine()))
    )
    assert [
        i
        for i in validate_bundle(bundle, engine=shipped_engine(), strict=True)["issue"]
        if i["severity"] == "error"
    ] == []
    index = next(
        i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == "RiskAssessment"
    )
    advice = next(x for x in bundle["entry"][index]["resource"]["extension"] if x["url"] == X_ADVICE)
    advice["_valueString"] = {"extension": [{"url": TRANSLATION, "valueString": 3}]}
    errors = [
        i
        for i in validate_bundle(bundle, engine=shipped_engine(), strict=True)["issue"]
        if i["severity"] == "error"
    ]
    assert errors
    assert all("_valueString" in " ".join(i.get("expression", [])) for i in errors), errors
