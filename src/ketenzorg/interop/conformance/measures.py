"""Measures: one per monitoring indicator, with its exact definition in Dutch and English.

The layout of groups, populations and stratifiers is the one the MeasureReports of ``ketenzorg
monitor`` use (:mod:`ketenzorg.interop.measurereport`); the texts come from
:mod:`ketenzorg.monitor.measures`, the queries from ``ketenzorg/monitor/sql/``.
"""

from __future__ import annotations

from typing import Any, Final

from ketenzorg.interop.conformance.common import metadata, pascal, translated
from ketenzorg.interop.definitions import (
    DATA_ABSENT_REASON,
    MEASURE_POPULATION,
    MEASURE_SCORING,
    MEASURE_TYPE,
    measure_url,
)
from ketenzorg.interop.measurereport import (
    group_codes,
    improvement,
    populations,
    stratifier_code,
    stratifiers,
    text_code,
)
from ketenzorg.monitor.indicators import INDICATORS, Indicator
from ketenzorg.monitor.measures import MeasureText, measure_text

__all__ = ["measure", "measures"]

UNSUPPORTED_LANGUAGE: Final = {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": "unsupported"}]}
"""The criteria are SQL (DuckDB's dialect), which R4's Expression.language (1..1) cannot name: its
JSON Schema allows only CQL, FHIRPath and FHIR queries. The language is present as an element
with the data-absent-reason ``unsupported`` and no value, and the description says what it is."""

_COLUMNS: Final = {
    "region": "region",
    "lead_municipality": "lead_municipality",
    "municipality": "municipality",
    "category": "category",
}
"""The column of the indicator's result each stratifier groups by."""

_POPULATION: Final = {
    "initial-population": {
        "nl": "De rijen van de query (per gebied en categorie).",
        "en": "The rows of the query (per area and category).",
    },
    "denominator": {"nl": "Het totaal over de categorieën.", "en": "The total over the categories."},
    "numerator": {"nl": "De categorie {category}.", "en": "The category {category}."},
    "measure-population": {
        "nl": "De duren waarover de kwartielen gaan.",
        "en": "The durations the quartiles are taken over.",
    },
}


def _query(indicator: Indicator) -> str:
    params = "".join(f" with {k}={v}" for k, v in sorted(indicator.params.items()))
    return f"ketenzorg/monitor/sql/{indicator.query}.sql{params}"


def _criteria(expression: str, description: str) -> dict[str, Any]:
    return {
        "description": f"{description} (SQL: {expression})",
        "_language": UNSUPPORTED_LANGUAGE,
        "expression": expression,
    }


def _population(code: str, text: MeasureText, indicator: Indicator) -> dict[str, Any]:
    words = {lang: v.format(category=text.numerator or "") for lang, v in _POPULATION[code].items()}
    return {
        "code": {"coding": [{"system": MEASURE_POPULATION, "code": code}]},
        **translated("description", words),
        "criteria": _criteria(_query(indicator), words["en"]),
    }


def _stratifier(columns: tuple[str, ...]) -> dict[str, Any]:
    code = stratifier_code(columns)
    if len(columns) == 1:
        return {"code": text_code(code), "criteria": _criteria(_COLUMNS[columns[0]], f"by {code}")}
    return {
        "code": text_code(code),
        "component": [{"code": text_code(c), "criteria": _criteria(_COLUMNS[c], f"by {c}")} for c in columns],
    }


def measure(indicator: Indicator) -> dict[str, Any]:
    """The Measure of ``indicator``."""
    text = measure_text(indicator.name)
    url = measure_url(indicator.name)
    resource = metadata("Measure", url.rsplit("/", 1)[1], url, pascal(indicator.name), text.title["nl"])
    resource["language"] = "nl"
    resource |= translated("title", {str(k): v for k, v in text.title.items()})
    resource |= translated("description", {str(k): v for k, v in text.definition.items()})
    resource["scoring"] = {"coding": [{"system": MEASURE_SCORING, "code": text.scoring}]}
    kind = "outcome" if text.scoring == "proportion" else "process"
    resource["type"] = [{"coding": [{"system": MEASURE_TYPE, "code": kind}]}]
    if text.scoring == "continuous-variable":
        resource["scoring"]["text"] = "days; quartiles by linear interpolation"
    if text.scoring == "proportion":
        resource["improvementNotation"] = improvement(text)
    resource |= translated(
        "disclaimer",
        {
            "nl": "Gepubliceerd na statistische beveiliging: aantallen afgerond op veelvouden van 5, "
            "aantallen onder 10 en cellen waaruit die te herleiden zijn niet gepubliceerd.",
            "en": "Published after statistical disclosure control: counts rounded to multiples of 5, "
            "counts below 10 and cells they could be recomputed from not published.",
        },
    )
    resource["group"] = [
        {
            "code": text_code(code),
            "population": [_population(p, text, indicator) for p in populations(text)],
            "stratifier": [_stratifier(columns) for columns in stratifiers(text)],
        }
        for code in group_codes(text)
    ]
    return resource


def measures() -> list[dict[str, Any]]:
    """A Measure per indicator, in the order of the published table."""
    return [measure(indicator) for indicator in INDICATORS]
