"""Missing answers, items required on a condition and the person assessed, in FHIR R4.

A missing answer is the core ``data-absent-reason`` extension on the response item (no answer, so
the item keeps its type); the person assessed is the response's subject with its person id. Both
come back exactly through JSON and XML, and the answers reader refuses what the instrument does not
allow.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from test_fhir import needs_schema, schema_errors

from ketenzorg import Case
from ketenzorg.disclosure import Recipient
from ketenzorg.instruments import Missing
from ketenzorg.interop.answers import answer_items, read_answers
from ketenzorg.interop.definitions import DATA_ABSENT_REASON, PERSON_ID
from ketenzorg.interop.fhir import FhirMappingError, bundle_to_case, case_to_bundle
from ketenzorg.interop.fhirxml import from_xml, to_xml
from ketenzorg.interop.validate import validate_bundle
from ketenzorg.testing import OTHER_PERSON, CaseBuilder, day, engine_with
from test_instrument_answers import Plugin, spec

ANSWERS = {"weapon": Missing.UNKNOWN, "count": Missing.UNKNOWN, "judgement": "high", "rationale": "reden"}


def engine() -> Any:
    return engine_with(Plugin())


def assessed(subject: str | None = OTHER_PERSON.id) -> Case:
    return CaseBuilder(engine()).assess("org.check", ANSWERS, day(1), subject=subject).case


def _of_type(bundle: dict[str, Any], resource_type: str) -> dict[str, Any]:
    found = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]
    assert len(found) == 1
    return found[0]


def _where(bundle: dict[str, Any], resource_type: str) -> str:
    index = next(i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == resource_type)
    return f"Bundle.entry[{index}].resource"


def test_a_missing_answer_is_the_data_absent_reason_extension_without_answer() -> None:
    items = answer_items(spec(), {"weapon": Missing.UNKNOWN, "count": Missing.NOT_ASKED})
    assert items == [
        {"linkId": "weapon", "extension": [{"url": DATA_ABSENT_REASON, "valueCode": "unknown"}]},
        {"linkId": "count", "extension": [{"url": DATA_ABSENT_REASON, "valueCode": "not-asked"}]},
    ]


@pytest.mark.parametrize("subject", [OTHER_PERSON.id, None])
def test_json_round_trip_is_exact(subject: str | None) -> None:
    case = assessed(subject)
    bundle = orjson.loads(orjson.dumps(case_to_bundle(case, recipient=Recipient.internal(), engine=engine())))
    assert bundle_to_case(bundle, engine=engine()) == case


def test_xml_round_trip_is_exact() -> None:
    case = assessed()
    bundle = case_to_bundle(case, recipient=Recipient.internal(), engine=engine())
    again = from_xml(to_xml(bundle))
    assert again == orjson.loads(orjson.dumps(bundle))
    assert bundle_to_case(again, engine=engine()) == case


def test_the_response_names_the_person_assessed_and_the_risk_assessment_the_client() -> None:
    bundle = case_to_bundle(assessed(), recipient=Recipient.internal(), engine=engine())
    response = _of_type(bundle, "QuestionnaireResponse")
    assert response["subject"]["identifier"] == {"system": PERSON_ID, "value": OTHER_PERSON.id}
    target = next(e["resource"] for e in bundle["entry"] if e["fullUrl"] == response["subject"]["reference"])
    assert target["resourceType"] == "RelatedPerson"
    risk = _of_type(bundle, "RiskAssessment")
    patient = next(e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    assert risk["subject"] == {"reference": patient}  # R4: a Patient or Group only
    assert (
        "identifier"
        not in _of_type(
            case_to_bundle(assessed(None), recipient=Recipient.internal(), engine=engine()),
            "QuestionnaireResponse",
        )["subject"]
    )


@needs_schema
def test_the_export_is_valid_r4() -> None:
    assert schema_errors(case_to_bundle(assessed(), recipient=Recipient.internal(), engine=engine())) == []


def test_the_validator_accepts_the_export() -> None:
    outcome = validate_bundle(
        case_to_bundle(assessed(), recipient=Recipient.internal(), engine=engine()), engine=engine()
    )
    assert [i for i in outcome["issue"] if i["severity"] == "error"] == []


def _response(bundle: dict[str, Any]) -> dict[str, Any]:
    return _of_type(bundle, "QuestionnaireResponse")


def test_the_reader_refuses_unknown_where_the_item_does_not_allow_it() -> None:
    bundle = case_to_bundle(assessed(), recipient=Recipient.internal(), engine=engine())
    response = copy.deepcopy(_response(bundle))
    judgement = next(i for i in response["item"] if i["linkId"] == "judgement")
    judgement.pop("answer")
    judgement["extension"] = [{"url": DATA_ABSENT_REASON, "valueCode": "unknown"}]
    _, issues = read_answers(response, where="QR", spec=spec())
    errors = [(i.expression, i.message) for i in issues if i.is_error]
    assert errors == [
        (
            f"QR.item[{response['item'].index(judgement)}].extension",
            "item judgement allows no 'unknown' answer",
        )
    ]


def test_the_reader_refuses_not_asked_where_only_unknown_is_allowed_and_a_bad_reason() -> None:
    bundle = case_to_bundle(assessed(), recipient=Recipient.internal(), engine=engine())
    response = copy.deepcopy(_response(bundle))
    count = next(i for i in response["item"] if i["linkId"] == "count")
    count["extension"][0]["valueCode"] = "not-asked"
    assert any(
        "allows no 'not-asked'" in i.message for i in read_answers(response, where="QR", spec=spec())[1]
    )
    count["extension"][0]["valueCode"] = "masked"
    messages = [i.message for i in read_answers(response, where="QR", spec=spec())[1] if i.is_error]
    assert messages
    assert "masked" not in " ".join(messages)
    for hostile in (["unknown"], {"code": "unknown"}, None):
        count["extension"] = [{"url": DATA_ABSENT_REASON, "valueCode": hostile}]
        assert any(i.is_error for i in read_answers(response, where="QR", spec=spec())[1])
    count["extension"] = [{"url": DATA_ABSENT_REASON, "valueCode": "unknown"}] * 2
    assert any(i.code == "duplicate" for i in read_answers(response, where="QR", spec=spec())[1])


def test_the_reader_refuses_a_missing_conditionally_required_answer() -> None:
    bundle = case_to_bundle(assessed(), recipient=Recipient.internal(), engine=engine())
    response = _response(bundle)
    response["item"] = [i for i in response["item"] if i["linkId"] != "rationale"]
    _, issues = read_answers(response, where="QR", spec=spec())
    assert [(i.code, i.message) for i in issues if i.is_error] == [
        ("required", "item rationale: required when judgement is high: no answer")
    ]
    with pytest.raises(FhirMappingError):
        bundle_to_case(bundle, engine=engine())


def test_the_reader_refuses_a_subject_whose_person_id_is_not_the_persons() -> None:
    bundle = case_to_bundle(assessed(), recipient=Recipient.internal(), engine=engine())
    _response(bundle)["subject"]["identifier"]["value"] = "person-client"
    with pytest.raises(FhirMappingError) as caught:
        bundle_to_case(bundle, engine=engine())
    assert any(p.path == f"{_where(bundle, 'QuestionnaireResponse')}.subject" for p in caught.value.problems)
