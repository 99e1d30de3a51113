"""Published tables: the indicator tables after disclosure control, in the layout of a CBS
StatLine table (one row per area and period, one column per indicator and category).

This is the seam for further outputs (a FHIR MeasureReport, an HTML page): each reads the
:class:`Publication`, never the raw tables.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping

import attrs

from ketenzorg.monitor.indicators import INDICATORS, Indicator, IndicatorTable, levels_from
from ketenzorg.monitor.sdc import TOTAL, Cell, Rules, Suppression, days, percentage, protect

__all__ = ["PERCENTAGES", "Publication", "publish", "to_csv"]

PERCENTAGES: dict[str, tuple[str, str]] = {
    "relapse_6_months": ("relapsed", TOTAL),
    "relapse_12_months": ("relapsed", TOTAL),
    "closed": ("with_handover", TOTAL),
}
"""Percentages published with an indicator: numerator category over denominator category."""


@attrs.frozen
class Publication:
    """What may be published for one period: the suppression decisions and the duration figures."""

    period: str
    level: str
    levels: tuple[str, ...]
    """The requested level and the ones above it, finest first."""
    areas: Mapping[str, tuple[str, ...]]
    """The areas of each level."""
    parents: Mapping[tuple[str, str], tuple[str, str]]
    suppression: Suppression
    categories: Mapping[str, tuple[str, ...]]
    """The categories of each indicator, in order (the total last, where there is one)."""
    durations: Mapping[tuple[str, str, str, str], Mapping[str, float]]
    indicators: tuple[Indicator, ...] = INDICATORS


def publish(
    tables: Mapping[str, Mapping[str, IndicatorTable]],
    parents: Mapping[tuple[str, str], tuple[str, str]],
    level: str,
    period: str,
    *,
    rules: Rules | None = None,
    indicators: tuple[Indicator, ...] = INDICATORS,
) -> Publication:
    """Apply disclosure control to the tables :func:`~ketenzorg.monitor.indicators.run_indicators`
    made, and publish the rows of ``level`` and the levels above it.

    Disclosure control covers every level in ``tables``: run the indicators from the finest
    level (municipality) whatever is published, so that the figures published by lead municipality
    and by municipality are protected as one table, and one cannot be subtracted from the other."""
    cells: list[Cell] = []
    durations: dict[tuple[str, str, str, str], Mapping[str, float]] = {}
    areas: dict[str, set[str]] = {}
    for indicator in indicators:
        for lvl, table in tables[indicator.name].items():
            for row in table.rows:
                area, category = str(row["area"]), str(row["category"])
                areas.setdefault(lvl, set()).add(area)
                cells.append(Cell(indicator.name, lvl, area, category, int(row["n"])))
                if indicator.kind == "duration":
                    durations[(indicator.name, lvl, area, category)] = {
                        q: float(row[q]) for q in ("q1", "median", "q3") if row[q] is not None
                    }
    for (lvl, area), (parent_level, parent) in parents.items():
        areas.setdefault(lvl, set()).add(area)
        areas.setdefault(parent_level, set()).add(parent)
    linked = {i.name: i.total for i in indicators if i.total is not None}
    suppression = protect(cells, parents, rules=rules, linked=linked)
    categories: dict[str, tuple[str, ...]] = {}
    for indicator in indicators:
        found_set = {k[3] for k in suppression.raw if k[0] == indicator.name and k[3] != TOTAL}
        has_total = any(k[0] == indicator.name and k[3] == TOTAL for k in suppression.raw)
        if has_total and indicator.name in PERCENTAGES:
            # a proportion's numerator is a column even when no case is in it (0, not absent), so
            # the CSV says what the MeasureReport's numerator says, half-year after half-year
            found_set.add(PERCENTAGES[indicator.name][0])
        found = sorted(found_set)
        categories[indicator.name] = (*found, *((TOTAL,) if has_total else ()))
    return Publication(
        period,
        level,
        levels_from(level),
        {lvl: tuple(sorted(names)) for lvl, names in areas.items()},
        dict(parents),
        suppression,
        categories,
        durations,
        indicators,
    )


def _columns(publication: Publication) -> list[tuple[str, str, str, str]]:
    """(column name, indicator, category, measure) for every column after the area columns."""
    columns: list[tuple[str, str, str, str]] = []
    for indicator in publication.indicators:
        for category in publication.categories[indicator.name]:
            label = "total" if category == TOTAL else category
            name = indicator.name if category == "all" else f"{indicator.name}.{label}"
            columns.append((name, indicator.name, category, "n"))
            if indicator.kind == "duration":
                for q in ("q1", "median", "q3"):
                    columns.append((f"{name}.{q}_days", indicator.name, category, q))
        if indicator.name in PERCENTAGES:
            columns.append((f"{indicator.name}.pct", indicator.name, "", "pct"))
    return columns


def to_csv(publication: Publication) -> str:
    """The publication as CSV: one row per area (the requested level, then the levels above it)
    and period; ``"."`` where a figure is not published."""
    columns = _columns(publication)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["period", "level", "area", "parent", *(c[0] for c in columns)])
    published = publication.suppression.published
    for lvl in publication.levels:
        for area in publication.areas.get(lvl, ()):
            parent = publication.parents.get((lvl, area), ("", ""))[1]
            row = [publication.period, lvl, area, parent]
            for _, indicator, category, measure in columns:
                key = (indicator, lvl, area, category)
                if measure == "n":
                    row.append(publication.suppression.shown(key) if key in published else "0")
                elif measure == "pct":
                    top, bottom = PERCENTAGES[indicator]
                    row.append(
                        percentage(
                            published.get((indicator, lvl, area, top), 0),
                            published.get((indicator, lvl, area, bottom)),
                        )
                    )
                else:
                    count = published.get(key)
                    row.append(days(publication.durations.get(key, {}).get(measure), count))
            writer.writerow(row)
    return out.getvalue()
