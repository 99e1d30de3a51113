"""Questionnaires: one per instrument, under the instrument's own canonical base.

A QuestionnaireResponse's ``questionnaire`` (:func:`ketenzorg.interop.canonical.questionnaire_canonical`,
``<base>/Questionnaire/<instrument id>|<version>``) resolves to it.
"""

from __future__ import annotations

from typing import Any, Final

from ketenzorg.instruments import AnswerType, Item
from ketenzorg.interop.canonical import canonical_base, questionnaire_url
from ketenzorg.interop.conformance.common import (
    MAX_VALUE,
    MIN_VALUE,
    metadata,
    pascal,
    resource_id,
    translated,
)
from ketenzorg.interop.conformance.terminology import publisher
from ketenzorg.pluginhost import RegisteredInstrument

__all__ = ["questionnaire"]

_ITEM_TYPES: Final = {
    AnswerType.BOOLEAN: "boolean",
    AnswerType.INTEGER: "integer",
    AnswerType.CHOICE: "choice",
    AnswerType.MULTI_CHOICE: "choice",
    AnswerType.TEXT: "string",
}


def _question(item: Item) -> dict[str, Any]:
    multiple = item.answer_type is AnswerType.MULTI_CHOICE
    out: dict[str, Any] = {"linkId": item.id}
    bounds = [
        {"url": url, "valueInteger": value}
        for url, value in ((MIN_VALUE, item.minimum), (MAX_VALUE, item.maximum))
        if value is not None and item.answer_type is AnswerType.INTEGER
    ]
    if bounds:
        out["extension"] = bounds
    out |= translated("text", item.text)
    out |= {
        "type": _ITEM_TYPES[item.answer_type],
        # Several codes may be chosen and "none" is an answer too (exported as an item without an
        # answer, extension no-codes-chosen): FHIR's required means "at least one answer". So is
        # a missing reason the item allows (an item without answer, extension data-absent-reason).
        "required": item.required and not multiple and not (item.allow_unknown or item.allow_not_asked),
    }
    if multiple:
        out["repeats"] = True
    if item.allowed:
        out["answerOption"] = [{"valueCoding": {"code": code}} for code in item.allowed]
    return out


def questionnaire(registered: RegisteredInstrument) -> dict[str, Any]:
    """The Questionnaire of an instrument: its items, texts in Dutch with English translations."""
    spec = registered.spec
    rid = resource_id(canonical_base(registered), spec.id)
    url = questionnaire_url(registered)
    resource = metadata("Questionnaire", rid, url, pascal(spec.id), spec.name["nl"], publisher(registered))
    resource["language"] = "nl"
    resource["version"] = spec.version
    resource |= translated("title", spec.name)
    return resource | {
        "subjectType": ["Patient"],
        **translated("description", spec.description),
        "item": [_question(item) for item in spec.items],
    }
