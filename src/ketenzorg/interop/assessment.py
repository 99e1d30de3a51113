"""An instrument application as ``QuestionnaireResponse`` + ``RiskAssessment``: written, and read back.

The result of the instrument is qualitative, and so is its FHIR form: the safety code is a
``prediction.qualitativeRisk`` in the profile's ``safety-code`` system, a classification (a family
profile, say) a ``prediction.outcome`` in the instrument's own code system, with its degree of fit
in the ``classification`` extension. No ``prediction.probability[x]`` is written: a degree of fit
or a code is no probability of an outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ketenzorg.domain import PartyRole, RiskFactor
from ketenzorg.errors import Problem
from ketenzorg.events import InstrumentApplied
from ketenzorg.instruments import (
    AdvisedSetting,
    Answer,
    Classification,
    InstrumentResult,
    SafetyCode,
    Urgency,
)
from ketenzorg.interop.definitions import (
    EVENT_ID,
    X_ADVICE,
    X_ADVISED_SETTING,
    X_APPLIED_BY,
    X_CLASSIFICATION,
    X_EXPLANATION,
    X_MULTIPLE,
    X_NO_CODES,
    X_PROVENANCE,
    X_RISK_FACTOR,
    X_SEQUENCE,
    X_URGENCY,
)
from ketenzorg.interop.reading import (
    Entries,
    FhirMappingError,
    code,
    ext,
    exts,
    ident,
    read_moment,
    sequence,
    sub,
)
from ketenzorg.interop.terminology import CANONICAL, code_system
from ketenzorg.interop.writing import Writer, coding, concept, optional, ref, x, xs

__all__ = ["read_assessment", "read_risk_factors", "risk_factor_extensions", "write_assessment"]


# --- writing -------------------------------------------------------------------------------------


def risk_factor_extensions(factors: tuple[RiskFactor, ...]) -> list[dict[str, Any]]:
    """The ``risk-factor`` extensions of a plan or an instrument result."""
    return [
        x(X_RISK_FACTOR, extension=[xs("id", r.id), xs("text", r.text), *optional("code", r.code)])
        for r in factors
    ]


def _predictions(instrument_id: str, result: InstrumentResult) -> list[dict[str, Any]]:
    predictions: list[dict[str, Any]] = []
    if result.safety_code is not None:
        predictions.append({"qualitativeRisk": concept("safety-code", result.safety_code.value)})
    system = code_system(instrument_id)
    for c in result.classifications:
        prediction: dict[str, Any] = {
            "extension": [
                x(
                    X_CLASSIFICATION,
                    extension=[xs("code", c.code), xs("display", c.display), x("fit", valueDecimal=c.fit)],
                )
            ],
            "outcome": {"coding": [{"system": system, "code": c.code, "display": c.display}]},
        }
        if c.emphasis:
            prediction["rationale"] = c.emphasis
        predictions.append(prediction)
    return predictions


def write_assessment(
    w: Writer, seq: int, event: InstrumentApplied, item_types: Mapping[tuple[str, str], str]
) -> None:
    """The answers (QuestionnaireResponse) and the result (RiskAssessment) of an application."""
    rid = w.event_rid(event.id)
    qr = w.rid("answers", event.id)
    questionnaire = f"{CANONICAL}/Questionnaire/{event.instrument_id}|{event.instrument_version}"
    items = [answer_item(item_types, event.instrument_id, link, v) for link, v in event.answers.items()]
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": qr,
        "identifier": {"system": EVENT_ID, "value": f"{event.id}#answers"},
        "questionnaire": questionnaire,
        "status": "completed",
        "subject": ref(w.patient),
        "authored": event.at.isoformat(),
        "item": items,
    }
    if event.applied_by is not None:
        response["author"] = w.party_ref(event.applied_by)
    w.add(response)
    result = event.result
    extensions: list[dict[str, Any]] = [
        x(X_SEQUENCE, valueInteger=seq),
        x(
            X_PROVENANCE,
            extension=[
                xs("instrument", event.instrument_id),
                xs("version", event.instrument_version),
                xs("plugin", event.plugin),
                *optional("distribution", event.distribution),
                *optional("distributionVersion", event.distribution_version),
            ],
        ),
    ]
    if result.urgency is not None:
        extensions.append(x(X_URGENCY, valueCoding=coding("urgency", result.urgency.value)))
    if result.advised_setting is not None:
        extensions.append(
            x(X_ADVISED_SETTING, valueCoding=coding("advised-setting", result.advised_setting.value))
        )
    extensions += risk_factor_extensions(result.risk_factors)
    extensions += [xs(X_ADVICE, line) for line in result.advice]
    extensions += [xs(X_EXPLANATION, line) for line in result.explanation]
    resource: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "id": rid,
        "extension": extensions,
        "identifier": [{"system": EVENT_ID, "value": event.id}],
        "basedOn": ref(w.careplan),
        "status": "final",
        "method": {"coding": [{"system": code_system("instrument"), "code": event.instrument_id}]},
        "subject": ref(w.patient),
        "occurrenceDateTime": event.at.isoformat(),
        "basis": [ref(qr)],
    }
    if event.applied_by is not None:
        applied_by = w.party_ref_with_id(event.applied_by)
        extensions.append(x(X_APPLIED_BY, valueReference=applied_by))
        party = w.state.known_parties[event.applied_by]
        if party.role is PartyRole.PRACTITIONER and party.person_id is None:
            resource["performer"] = applied_by  # R4 allows only a Practitioner here
    predictions = _predictions(event.instrument_id, result)
    if predictions:
        resource["prediction"] = predictions
    if result.advice:
        resource["mitigation"] = "\n".join(result.advice)
    if result.explanation:
        resource["note"] = [{"text": "\n".join(result.explanation)}]
    w.add(resource)


def answer_item(
    item_types: Mapping[tuple[str, str], str], instrument_id: str, link: str, value: Answer
) -> dict[str, Any]:
    if isinstance(value, bool):
        answers: list[dict[str, Any]] = [{"valueBoolean": value}]
    elif isinstance(value, int):
        answers = [{"valueInteger": value}]
    elif isinstance(value, str):
        # A code of a choice item is a Coding; free text (or an unknown instrument) a string.
        kind = item_types.get((instrument_id, link))
        answers = [{"valueCoding": {"code": value}} if kind == "choice" else {"valueString": value}]
    else:
        if not value:  # several codes possible, none chosen
            return {"linkId": link, "extension": [x(X_NO_CODES, valueBoolean=True)]}
        answers = [{"valueCoding": {"code": c}} for c in value]
        return {"linkId": link, "extension": [x(X_MULTIPLE, valueBoolean=True)], "answer": answers}
    return {"linkId": link, "answer": answers}


# --- reading -------------------------------------------------------------------------------------


def read_risk_factors(element: Mapping[str, Any]) -> tuple[RiskFactor, ...]:
    """The risk factors in the ``risk-factor`` extensions of an element."""
    return tuple(
        RiskFactor(id=sub(f, "id"), text=sub(f, "text"), code=sub(f, "code"))
        for f in exts(element, X_RISK_FACTOR)
    )


def _read_predictions(
    resource: Mapping[str, Any], where: str
) -> tuple[SafetyCode | None, tuple[Classification, ...]]:
    safety: SafetyCode | None = None
    classifications = []
    for n, prediction in enumerate(resource.get("prediction", ())):
        found = code(prediction.get("qualitativeRisk"), "safety-code")
        info = ext(prediction, X_CLASSIFICATION)
        if found is not None:
            safety = SafetyCode(found)
        elif info is not None:
            fit = sub(info, "fit")
            if isinstance(fit, bool) or not isinstance(fit, int | float | Decimal):
                raise TypeError("fit")
            classifications.append(
                Classification(
                    code=sub(info, "code"),
                    display=sub(info, "display"),
                    fit=float(fit),
                    emphasis=prediction.get("rationale", ""),
                )
            )
        else:  # never dropped in silence (e.g. a safety code as an outcome, as written before)
            raise FhirMappingError(
                [
                    Problem(
                        f"{where}.prediction[{n}]",
                        "a prediction is a safety code (qualitativeRisk) or a classification (extension)",
                    )
                ]
            )
    return safety, tuple(classifications)


def read_assessment(
    entries: Entries, index: int, resource: Mapping[str, Any]
) -> tuple[int, InstrumentApplied]:
    """Read a RiskAssessment (and the QuestionnaireResponse it is based on) into the application."""
    where = entries.where(index)
    provenance = ext(resource, X_PROVENANCE) or {}
    qr_index, qr = entries.resolve(resource["basis"][0], index, "basis[0]")
    answers: dict[str, Answer] = {}
    for n, item in enumerate(qr.get("item", ())):
        values = item.get("answer")
        if not values:
            answers[item["linkId"]] = ()
            continue
        if ext(item, X_MULTIPLE) is not None:
            answers[item["linkId"]] = tuple(v["valueCoding"]["code"] for v in values)
        elif "valueCoding" in values[0]:
            answers[item["linkId"]] = values[0]["valueCoding"]["code"]
        else:
            given = [v for k, v in values[0].items() if k.startswith("value")]
            if not given:
                at = entries.where(qr_index, f"item[{n}].answer[0]")
                raise FhirMappingError([Problem(at, "an answer needs its value[x]")])
            answers[item["linkId"]] = given[0]
    safety_code, classifications = _read_predictions(resource, where)
    urgency = ext(resource, X_URGENCY)
    setting = ext(resource, X_ADVISED_SETTING)
    applied_by = ext(resource, X_APPLIED_BY)
    return sequence(resource, where), InstrumentApplied(
        id=ident(resource, EVENT_ID) or "",
        at=read_moment(resource, "occurrenceDateTime", where),
        instrument_id=sub(provenance, "instrument"),
        instrument_version=sub(provenance, "version"),
        plugin=sub(provenance, "plugin"),
        distribution=sub(provenance, "distribution"),
        distribution_version=sub(provenance, "distributionVersion"),
        answers=answers,
        result=InstrumentResult(
            safety_code=safety_code,
            classifications=classifications,
            risk_factors=read_risk_factors(resource),
            advised_setting=AdvisedSetting(setting["valueCoding"]["code"]) if setting else None,
            urgency=Urgency(urgency["valueCoding"]["code"]) if urgency else None,
            advice=tuple(a["valueString"] for a in exts(resource, X_ADVICE)),
            explanation=tuple(e["valueString"] for e in exts(resource, X_EXPLANATION)),
        ),
        applied_by=applied_by["valueReference"]["identifier"]["value"] if applied_by else None,
    )
