"""The monitoring indicators in FHIR R4: one Measure per indicator (published in the conformance
package) and, for a half-year's figures, one summary MeasureReport per indicator.

One layout for both: a group per figure (a count, a proportion, or, for a duration, one group per
quartile), populations by FHIR's measure-population codes, and stratifiers by area level
(``region``, ``lead_municipality``, ``municipality``), and where an indicator has categories also by
``category`` and by area and category together (stratum components). Group and stratifier codes are
plain text (the indicator's own names), so that no code system has to be defined for them.

A MeasureReport carries the figures after disclosure control and nothing else: it is built from a
:class:`~ketenzorg.monitor.publish.Publication`, the figures the CSV shows. A suppressed count
(``"."`` in the CSV) has no ``count``: its ``_count`` carries the data-absent-reason extension with the
code ``masked`` ("the source system wishes to prevent the value from being known"), so a reader can
tell a suppressed cell from a missing stratum, as the CSV's ``"."`` does. A duration or percentage
that is not published likewise has a ``measureScore`` without a value and with the reason: ``masked``
where its count is suppressed, ``not-applicable`` where there is nothing to compute it from.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

from ketenzorg.interop.definitions import (
    DATA_ABSENT_REASON,
    MEASURE_POPULATION,
    measure_url,
)
from ketenzorg.monitor.measures import MeasureText, measure_text

if TYPE_CHECKING:
    from ketenzorg.monitor.publish import Publication

__all__ = ["LEVELS", "QUARTILES", "measure_report", "measure_reports", "populations", "stratifiers"]

LEVELS: Final = ("region", "lead_municipality", "municipality")
"""The area levels a Measure is stratified by (the total is the group itself)."""

QUARTILES: Final = ("q1", "median", "q3")
"""The groups of a duration indicator, in the CSV's order."""

UCUM: Final = "http://unitsofmeasure.org"
CATEGORY: Final = "category"
IMPROVEMENT: Final = "http://terminology.hl7.org/CodeSystem/measure-improvement-notation"


def text_code(text: str) -> dict[str, Any]:
    """A code as text only: the indicator's own name for a group or stratifier."""
    return {"text": text}


def populations(measure: MeasureText) -> tuple[str, ...]:
    """The population codes of a measure's groups, by its scoring."""
    if measure.scoring == "proportion":
        return ("initial-population", "denominator", "numerator")
    if measure.scoring == "continuous-variable":
        return ("initial-population", "measure-population")
    return ("initial-population",)


def group_codes(measure: MeasureText) -> tuple[str, ...]:
    """The codes of a measure's groups: the indicator's name, or one per quartile."""
    return QUARTILES if measure.scoring == "continuous-variable" else (measure.name,)


def stratifiers(measure: MeasureText) -> tuple[tuple[str, ...], ...]:
    """A measure's stratifiers, each as the columns of its strata (one, or two as components)."""
    out: list[tuple[str, ...]] = [(level,) for level in LEVELS]
    if measure.by_category:
        out = [(CATEGORY,), *out, *((level, CATEGORY) for level in LEVELS)]
    return tuple(out)


def stratifier_code(columns: tuple[str, ...]) -> str:
    return " x ".join(columns)


def _population_code(code: str) -> dict[str, Any]:
    return {"coding": [{"system": MEASURE_POPULATION, "code": code}]}


def _absent(reason: str) -> dict[str, Any]:
    return {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": reason}]}


class _Figures:
    """The published figures of one indicator in a :class:`Publication`, as the CSV shows them."""

    def __init__(self, publication: Publication, measure: MeasureText) -> None:
        self.publication, self.measure = publication, measure
        self.published = publication.suppression.published
        self.categories = publication.categories.get(measure.name, ())

    def count(self, level: str, area: str, category: str) -> int | None:
        """A published count (0 where the table has no such cell, as in the CSV); None if suppressed."""
        return self.published.get((self.measure.name, level, area, category), 0)

    def whole(self) -> str:
        """The category of an area's whole: the total of its categories, or its one figure."""
        from ketenzorg.monitor.sdc import TOTAL

        return TOTAL if self.measure.by_category else "all"

    def populations(self, level: str, area: str, category: str | None) -> list[dict[str, Any]]:
        """The populations of an area (``category`` None: its whole), each with its published count.
        None when the half-year has no figure of the indicator at all: the CSV then has no count
        column for it either, only its (unpublished) percentage."""
        if not self.categories:
            return []
        codes = populations(self.measure)
        if category is not None and self.measure.scoring == "proportion":
            codes = ("initial-population",)  # one category of a proportion: a count, no fraction
        out = []
        for code in codes:
            cell = category or self.whole()
            if code == "numerator":
                cell = self.measure.numerator or cell
            count = self.count(level, area, cell)
            entry: dict[str, Any] = {"code": _population_code(code)}
            if count is None:
                entry["_count"] = _absent("masked")
            else:
                entry["count"] = count
            out.append(entry)
        return out

    def score(self, group: str, level: str, area: str, category: str | None) -> dict[str, Any] | None:
        from ketenzorg.monitor.publish import PERCENTAGES
        from ketenzorg.monitor.sdc import SUPPRESSED, days, percentage

        name = self.measure.name
        if self.measure.scoring == "proportion":
            if category is not None:
                return None
            top, bottom = PERCENTAGES[name]
            counts: tuple[int | None, ...] = (self.count(level, area, top), self.count(level, area, bottom))
            shown = percentage(*counts)
            unit = {"unit": "%", "system": UCUM, "code": "%"}
        elif self.measure.scoring == "continuous-variable":
            cell = category or self.whole()
            counts = (self.count(level, area, cell),)
            value = self.publication.durations.get((name, level, area, cell), {}).get(group)
            shown = days(value, counts[0])
            unit = {"unit": "d", "system": UCUM, "code": "d"}
        else:
            return None
        if shown == SUPPRESSED:
            return _absent("masked" if None in counts else "not-applicable")
        return {"value": float(shown) if "." in shown else int(shown), **unit}

    def stratum(
        self, group: str, columns: tuple[str, ...], level: str, area: str, category: str | None
    ) -> Any:
        values = {CATEGORY: category or "", level: area}
        stratum: dict[str, Any]
        if len(columns) == 1:
            stratum = {"value": text_code(values[columns[0]])}
        else:
            stratum = {"component": [{"code": text_code(c), "value": text_code(values[c])} for c in columns]}
        found = self.populations(level, area, category)
        if found:
            stratum["population"] = found
        score = self.score(group, level, area, category)
        if score is not None:
            stratum["measureScore"] = score
        return stratum

    def strata(self, group: str, columns: tuple[str, ...]) -> Iterator[dict[str, Any]]:
        from ketenzorg.monitor.sdc import TOTAL

        categories = [c for c in self.categories if c != TOTAL]
        if columns == (CATEGORY,):
            for category in categories:
                yield self.stratum(group, columns, "total", "all", category)
            return
        level = columns[0]
        if level not in self.publication.levels:
            return
        for area in self.publication.areas.get(level, ()):
            if len(columns) == 1:
                yield self.stratum(group, columns, level, area, None)
            else:
                for category in categories:
                    yield self.stratum(group, columns, level, area, category)


def _period(label: str) -> dict[str, str]:
    from ketenzorg.monitor.indicators import Period

    period = Period.parse(label)
    return {
        "start": period.start.date().isoformat(),
        "end": (period.end - timedelta(days=1)).date().isoformat(),
    }


def measure_report(publication: Publication, indicator: str, version: str) -> dict[str, Any]:
    """The summary MeasureReport of ``indicator`` in ``publication`` (the Measure of ``version``)."""
    measure = measure_text(indicator)
    figures = _Figures(publication, measure)
    groups = []
    for code in group_codes(measure):
        group: dict[str, Any] = {"code": text_code(code)}
        found = figures.populations("total", "all", None)
        if found:
            group["population"] = found
        score = figures.score(code, "total", "all", None)
        if score is not None:
            group["measureScore"] = score
        strat = []
        for columns in stratifiers(measure):
            strata = list(figures.strata(code, columns))
            if strata:
                strat.append({"code": [text_code(stratifier_code(columns))], "stratum": strata})
        if strat:
            group["stratifier"] = strat
        groups.append(group)
    rid = uuid.uuid5(uuid.NAMESPACE_URL, f"{measure_url(indicator)}/{publication.period}/{publication.level}")
    report: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "id": str(rid),
        "language": "nl",
        "status": "complete",
        "type": "summary",
        "measure": f"{measure_url(indicator)}|{version}",
        "period": _period(publication.period),
        "group": groups,
    }
    if measure.scoring == "proportion":
        report["improvementNotation"] = improvement(measure)
    return report


def improvement(measure: MeasureText) -> dict[str, Any]:
    """Whether a higher proportion is better (a handover) or worse (a relapse)."""
    code = "decrease" if measure.numerator == "relapsed" else "increase"
    return {"coding": [{"system": IMPROVEMENT, "code": code}]}


def measure_reports(publications: list[Publication], version: str | None = None) -> dict[str, Any]:
    """A Bundle (collection) of the summary MeasureReports of every indicator in every publication."""
    from ketenzorg.interop.conformance.common import package_version

    version = version or package_version()
    entries = []
    for publication in publications:
        for indicator in publication.indicators:
            report = measure_report(publication, indicator.name, version)
            entries.append({"fullUrl": f"urn:uuid:{report['id']}", "resource": report})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}
