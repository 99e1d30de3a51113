"""The profiles of an instrument application: its result (``RiskAssessment``) and answers
(``QuestionnaireResponse``)."""

from __future__ import annotations

from typing import Any

from ketenzorg.interop.conformance.common import INSTRUMENT_SYSTEM, profile_url, value_set_url
from ketenzorg.interop.conformance.profileids import INSTRUMENT_ANSWERS, INSTRUMENT_APPLICATION, TRAJECTORY
from ketenzorg.interop.conformance.structure import constraint, el, reference, root, structure, x
from ketenzorg.interop.definitions import (
    DATA_ABSENT_REASON,
    X_ACTION,
    X_ADVICE,
    X_ADVISED_SETTING,
    X_CLASSIFICATION,
    X_EXPLANATION,
    X_NO_CODES,
    X_PROVENANCE,
    X_RESULT_LEVEL,
    X_RISK_FACTOR,
    X_SEQUENCE,
    X_URGENCY,
)

__all__ = ["instrument_answers", "instrument_application"]


def _patient() -> list[dict[str, Any]]:
    return reference("Patient")


def instrument_application() -> dict[str, Any]:
    """The profile ``instrument-application``."""
    title = "Toepassing instrument"
    text = "The result of an assessment instrument, with its provenance and the answers as basis."
    return structure(
        INSTRUMENT_APPLICATION,
        "RiskAssessment",
        "resource",
        title,
        text,
        [
            root("RiskAssessment", title, text),
            x("RiskAssessment", "eventSequence", X_SEQUENCE, 1),
            x("RiskAssessment", "provenance", X_PROVENANCE, 1),
            x("RiskAssessment", "urgency", X_URGENCY),
            x("RiskAssessment", "advisedSetting", X_ADVISED_SETTING),
            x("RiskAssessment", "riskFactor", X_RISK_FACTOR, 0, "*"),
            x("RiskAssessment", "advice", X_ADVICE, 0, "*"),
            x("RiskAssessment", "explanation", X_EXPLANATION, 0, "*"),
            x("RiskAssessment", "action", X_ACTION, 0, "*"),
            el("RiskAssessment.identifier", min=1),
            el("RiskAssessment.basedOn", type=reference(profile_url(TRAJECTORY))),
            el(
                "RiskAssessment.method",
                min=1,
                binding={"strength": "extensible", "valueSet": value_set_url(INSTRUMENT_SYSTEM)},
            ),
            el("RiskAssessment.subject", type=_patient()),
            el("RiskAssessment.occurrence[x]", min=1, type=[{"code": "dateTime"}]),
            el(
                "RiskAssessment.basis",
                min=1,
                max="1",
                type=reference(profile_url(INSTRUMENT_ANSWERS)),
            ),
            el(
                "RiskAssessment.prediction",
                constraint=[
                    constraint(
                        "ktz-6",
                        "A prediction is the safety code or the instrument's level (qualitativeRisk) or a "
                        "classification, not both",
                        f"qualitativeRisk.exists() xor extension('{X_CLASSIFICATION}').exists()",
                    )
                ],
            ),
            x("RiskAssessment.prediction", "classification", X_CLASSIFICATION),
            x("RiskAssessment.prediction", "level", X_RESULT_LEVEL),
            el("RiskAssessment.prediction.probability[x]", max="0"),
            el(
                "RiskAssessment.prediction.qualitativeRisk",
                short="The safety code, or (with the result-level extension) the instrument's own level",
                binding={"strength": "extensible", "valueSet": value_set_url("safety-code")},
            ),
        ],
    )


def instrument_answers() -> dict[str, Any]:
    """The profile ``instrument-answers``."""
    title, text = "Antwoorden instrument", "The answers given to an instrument (its Questionnaire)."
    answered = constraint(
        "ktz-4",
        "An item has an answer, says that none of its codes was chosen, or why it has no answer",
        f"answer.exists() or extension('{X_NO_CODES}').exists()"
        f" or extension('{DATA_ABSENT_REASON}').exists()",
    )
    return structure(
        INSTRUMENT_ANSWERS,
        "QuestionnaireResponse",
        "resource",
        title,
        text,
        [
            root("QuestionnaireResponse", title, text),
            el("QuestionnaireResponse.identifier", min=1),
            el("QuestionnaireResponse.questionnaire", min=1, short="<instrument url>|<version>"),
            el("QuestionnaireResponse.subject", min=1, type=reference("Patient", "RelatedPerson")),
            el("QuestionnaireResponse.authored", min=1),
            el("QuestionnaireResponse.item", constraint=[answered]),
            x("QuestionnaireResponse.item", "noCodesChosen", X_NO_CODES),
        ],
    )
