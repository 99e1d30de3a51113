"""An instrument's level, its actions, the plan's tasks and conference kinds in FHIR: exact round-trips."""

from __future__ import annotations

from typing import Any

import orjson

from ketenzorg import Case
from ketenzorg.case import tasks_from_actions
from ketenzorg.conferences import MARAC
from ketenzorg.disclosure import Recipient
from ketenzorg.events import PlanRevised
from ketenzorg.interop import conformance
from ketenzorg.interop.canonical import level_system
from ketenzorg.interop.definitions import X_ACTION, X_CONFERENCE_KIND, X_RESULT_LEVEL, X_TASK
from ketenzorg.interop.fhir import bundle_to_case, case_to_bundle
from ketenzorg.interop.fhirxml import from_xml, to_xml
from ketenzorg.interop.validate import validate_bundle
from ketenzorg.testing import conference, day, engine_with, new_case
from test_results import DASH_SPEC, HIGH, DashPlugin


def _case() -> tuple[Case, Any]:
    engine = engine_with(DashPlugin())
    case, _ = conference(engine, new_case(), day(1))
    case = engine.assess(case, "org.dash5", HIGH, at=day(1))
    case, marac = conference(engine, case, day(2), conference_id="marac-2", kind=MARAC)
    case = engine.record(
        case, PlanRevised(id="plan-1", at=day(2), conference_id=marac, tasks=tasks_from_actions(case.state))
    )
    case, _ = conference(engine, case, day(3), conference_id="huddle-3", kind="org.huddle")
    return case, engine


def _of_type(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_the_level_is_a_second_prediction_in_the_instruments_own_code_system() -> None:
    case, engine = _case()
    (assessment,) = _of_type(
        case_to_bundle(case, recipient=Recipient.internal(), engine=engine), "RiskAssessment"
    )
    (level,) = [p for p in assessment["prediction"] if "extension" in p]
    assert level["qualitativeRisk"]["coding"] == [
        {"system": "https://fhir.example.org/CodeSystem/org.dash5-level", "code": "high", "display": "hoog"}
    ]
    assert level["extension"] == [{"url": X_RESULT_LEVEL, "valueString": "high"}]
    (action,) = [x for x in assessment["extension"] if x["url"] == X_ACTION]
    assert {p["url"]: p["valueString"] for p in action["extension"]} == {
        "kind": "referral",
        "conferenceKind": MARAC,
        "nl": "Verwijs naar de MARAC",
        "en": "Refer to the MARAC",
    }


def test_kinds_and_tasks_are_in_the_encounter_and_the_plan() -> None:
    case, engine = _case()
    bundle = case_to_bundle(case, recipient=Recipient.internal(), engine=engine)
    kinds = [
        [x["valueString"] for x in e.get("extension", ()) if x["url"] == X_CONFERENCE_KIND]
        for e in _of_type(bundle, "Encounter")
        if any(x["url"] == X_CONFERENCE_KIND for x in e.get("extension", ()))
    ]
    assert kinds == [[MARAC], ["org.huddle"]]  # a case conference has none: as written before kinds
    plans = [p for p in _of_type(bundle, "CarePlan") if "activity" in p]
    (task,) = [a["detail"] for a in plans[0]["activity"]]
    assert task["status"] == "not-started"
    assert [x["url"] for x in task["extension"]] == [X_TASK]


def test_level_actions_tasks_and_kinds_round_trip_exactly_through_json_and_xml() -> None:
    case, engine = _case()
    bundle = case_to_bundle(case, recipient=Recipient.internal(), engine=engine)
    assert bundle_to_case(orjson.loads(orjson.dumps(bundle)), engine=engine).events == case.events
    assert bundle_to_case(from_xml(to_xml(bundle)), engine=engine).events == case.events


def test_the_bundle_is_valid_against_the_profile() -> None:
    case, engine = _case()
    outcome = validate_bundle(
        case_to_bundle(case, recipient=Recipient.internal(), engine=engine), engine=engine, strict=True
    )
    errors = [i for i in outcome["issue"] if i["severity"] in ("error", "fatal")]
    assert errors == []


def test_the_conformance_package_publishes_the_level_code_system_of_every_installed_instrument() -> None:
    engine = engine_with(DashPlugin())
    published = {
        r["url"]: r for r in conformance.resources(engine.instruments) if r["resourceType"] == "CodeSystem"
    }
    levels = published[level_system(DASH_SPEC)]
    assert [(c["code"], c["display"], c["definition"]) for c in levels["concept"]] == [
        ("standard", "standaard", "standard"),
        ("medium", "gemiddeld", "medium"),
        ("high", "hoog", "high"),
    ]
    assert levels["version"] == "1"
    # the shipped instruments have no scale of their own: no level code system for them
    instruments = [url for url in published if url.endswith("-level") and "/alert-level" not in url]
    assert instruments == [level_system(DASH_SPEC)]
