"""The Measures of the monitoring indicators in the conformance package."""

from __future__ import annotations

from typing import Any

import pytest

from ketenzorg.interop import conformance
from ketenzorg.interop.definitions import MEASURE_SCORING, TRANSLATION, measure_url
from ketenzorg.monitor.indicators import INDICATORS
from ketenzorg.monitor.measures import MEASURES, measure_text

MEASURE_RESOURCES = {r["url"]: r for r in conformance.resources() if r["resourceType"] == "Measure"}


def english(element: dict[str, Any]) -> str:
    for translation in element["extension"]:
        assert translation["url"] == TRANSLATION
        parts = {
            p["url"]: next(v for k, v in p.items() if k.startswith("value")) for p in translation["extension"]
        }
        if parts["lang"] == "en":
            return str(parts["content"])
    raise AssertionError("no English translation")


def test_every_indicator_has_its_texts_and_one_measure() -> None:
    assert [m.name for m in MEASURES] == [i.name for i in INDICATORS]
    assert sorted(MEASURE_RESOURCES) == sorted(measure_url(i.name) for i in INDICATORS)


@pytest.mark.parametrize("name", [i.name for i in INDICATORS])
def test_measure_carries_the_exact_definition_scoring_and_area_stratifiers(name: str) -> None:
    text = measure_text(name)
    measure = MEASURE_RESOURCES[measure_url(name)]
    assert measure["description"] == text.definition["nl"]
    assert english(measure["_description"]) == text.definition["en"]
    assert measure["title"] == text.title["nl"]
    assert english(measure["_title"]) == text.title["en"]
    assert measure["scoring"]["coding"] == [{"system": MEASURE_SCORING, "code": text.scoring}]
    for group in measure["group"]:
        codes = [p["code"]["coding"][0]["code"] for p in group["population"]]
        assert codes[0] == "initial-population"
        assert ("numerator" in codes) == (text.scoring == "proportion")
        assert ("measure-population" in codes) == (text.scoring == "continuous-variable")
        stratifiers = [s["code"]["text"] for s in group["stratifier"]]
        assert {"region", "lead_municipality", "municipality"} <= set(stratifiers)
        assert ("category" in stratifiers) == text.by_category
    quartiles = [g["code"]["text"] for g in measure["group"]]
    assert quartiles == (["q1", "median", "q3"] if text.scoring == "continuous-variable" else [name])


def test_the_definitions_are_in_the_docs() -> None:
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "monitoring.md").read_text(encoding="utf-8")
    for text in MEASURES:
        assert text.definition["en"] in " ".join(docs.split()), text.name
