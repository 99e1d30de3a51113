"""The indicators: each defined once as SQL over the flat events table (``sql/*.sql``).

An indicator's query sees a view ``ev``: the flat table with one more column, ``area``, the
column the figures are broken down by (region, lead municipality, municipality, or one area for
the whole table). It returns ``area, category, n`` (a count indicator) or ``area, category, d``,
one duration in days per row (a duration indicator, summarised by :data:`QUANTILES_SQL` into
``n`` and the quartiles). Period bounds come in as ``{period}``, ``{start}``, ``{end}``.

The SQL is written in a dialect DuckDB runs and SQLGlot translates to Spark SQL (:func:`to_spark`):
no engine-specific date arithmetic (durations come precomputed as ``case_day``), no quantile
aggregates (SQLGlot maps them to Spark's approximate percentile), no ``FILTER`` clauses, no
grouping by an alias.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any, Literal

import attrs

from ketenzorg.monitor import MonitorError, require

__all__ = [
    "AREA_COLUMNS",
    "INDICATORS",
    "QUANTILES_SQL",
    "Indicator",
    "IndicatorTable",
    "Period",
    "area_parents",
    "indicator_sql",
    "levels_from",
    "run_indicators",
    "to_spark",
]

AreaLevel = Literal["region", "lead_municipality", "municipality", "total"]

AREA_COLUMNS: dict[str, str] = {
    "region": "region",
    "lead_municipality": "lead_municipality",
    "municipality": "municipality",
    "total": "'all'",
}
"""The breakdowns: the column ``area`` is taken from (``total``: one area for the whole table)."""

PARENT: dict[str, str] = {
    "municipality": "lead_municipality",
    "lead_municipality": "region",
    "region": "total",
}
"""The level whose totals a level's rows add up to (the margins secondary suppression protects):
municipalities nest in their lead municipality's area, those in their region."""


def levels_from(level: str) -> tuple[str, ...]:
    """``level`` and every level above it, finest first."""
    if level not in PARENT:
        raise MonitorError(f"by: expected one of {', '.join(PARENT)}")
    chain = [level]
    while chain[-1] in PARENT:
        chain.append(PARENT[chain[-1]])
    return tuple(chain)


@attrs.frozen
class Period:
    """A half-year: ``2026H1`` is [2026-01-01, 2026-07-01) UTC, ``2026H2`` [2026-07-01, 2027-01-01)."""

    label: str

    @classmethod
    def parse(cls, text: str) -> Period:
        match = re.fullmatch(r"(\d{4})H([12])", text.strip())
        if match is None or not 1900 <= int(match.group(1)) <= 2198:
            raise MonitorError("period: expected a half-year such as 2026H1 or 2026H2")
        return cls(f"{match.group(1)}H{match.group(2)}")

    @property
    def start(self) -> datetime:
        year, half = int(self.label[:4]), int(self.label[5])
        return datetime(year, 1 if half == 1 else 7, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        year, half = int(self.label[:4]), int(self.label[5])
        return datetime(year, 7, 1, tzinfo=UTC) if half == 1 else datetime(year + 1, 1, 1, tzinfo=UTC)


@attrs.frozen
class Indicator:
    """An indicator: its name, the query file, its kind and fixed parameters."""

    name: str
    query: str
    kind: Literal["count", "duration"] = "count"
    params: Mapping[str, str] = attrs.field(factory=dict)
    total: str | None = None
    """Indicators whose row totals are the same population share a ``total`` name: a total
    suppressed in one is suppressed in all of them (:mod:`ketenzorg.monitor.sdc`)."""


INDICATORS: tuple[Indicator, ...] = (
    Indicator("cases_opened", "cases_opened"),
    Indicator("phase_at_end", "phase_at_end", total="open_at_end"),
    Indicator("care_setting_at_end", "care_setting_at_end", total="open_at_end"),
    Indicator("time_to_phase_2", "time_to_phase_2", "duration"),
    Indicator("time_to_phase_3", "time_to_phase_3", "duration"),
    Indicator("phase_duration", "phase_duration", "duration"),
    Indicator("relapse_6_months", "relapse", params={"days": "183"}, total="phase_2_entries"),
    Indicator("relapse_12_months", "relapse", params={"days": "365"}, total="phase_2_entries"),
    Indicator("closed", "closed"),
    Indicator("instrument_results", "instrument_results"),
    Indicator("scoring", "scoring"),
)
"""Every indicator, in the order of the published table."""


def _quantile(p: float) -> str:
    """Linear interpolation between the order statistics around ``(n - 1) * p`` (as DuckDB's
    ``quantile_cont`` and Spark's exact ``percentile``), from window functions only."""
    pos = f"((n - 1) * {p})"
    frac = f"({pos} - FLOOR({pos}))"
    return (
        f"SUM(CASE WHEN i = FLOOR({pos}) THEN d * (1 - {frac}) ELSE 0 END)"
        f" + SUM(CASE WHEN i = FLOOR({pos}) + 1 THEN d * {frac} ELSE 0 END)"
    )


QUANTILES_SQL = f"""
WITH durations AS ({{inner}}),
ranked AS (
    SELECT area, category, d,
           ROW_NUMBER() OVER (PARTITION BY area, category ORDER BY d) - 1 AS i,
           COUNT(*) OVER (PARTITION BY area, category) AS n
    FROM durations
)
SELECT area, category, MAX(n) AS n,
       {_quantile(0.25)} AS q1,
       {_quantile(0.5)} AS median,
       {_quantile(0.75)} AS q3
FROM ranked
GROUP BY area, category
"""
"""The one summary of a duration indicator: count and quartiles per area and category."""


def _text(name: str) -> str:
    return files("ketenzorg.monitor").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


def indicator_sql(indicator: Indicator, period: Period) -> str:
    """The query of ``indicator`` for ``period`` (DuckDB dialect), over the view ``ev``."""
    values = {
        "period": period.label,
        "start": period.start.strftime("%Y-%m-%d %H:%M:%S"),
        "end": period.end.strftime("%Y-%m-%d %H:%M:%S"),
        **indicator.params,
    }
    inner = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], _text(indicator.query))
    if indicator.kind == "duration":
        return QUANTILES_SQL.replace("{inner}", inner)
    return inner


def to_spark(sql: str) -> str:
    """``sql`` translated from DuckDB's dialect to Spark SQL by SQLGlot."""
    sqlglot = require("sqlglot")
    translated: list[str] = sqlglot.transpile(sql, read="duckdb", write="spark")
    return translated[0]


@attrs.frozen
class IndicatorTable:
    """The figures of one indicator at one level: rows of ``area, category, n`` (and for a duration
    indicator ``q1, median, q3`` in days)."""

    indicator: Indicator
    level: str
    period: str
    rows: tuple[Mapping[str, Any], ...]


def run_indicators(
    table: str | os.PathLike[str],
    period: Period,
    level: str,
    *,
    indicators: tuple[Indicator, ...] = INDICATORS,
) -> dict[str, dict[str, IndicatorTable]]:
    """Run every indicator on the Parquet table at ``table`` (DuckDB, embedded) at ``level`` and at
    each level above it up to the total: ``{indicator name: {level: table}}``."""
    levels = levels_from(level)
    duckdb = require("duckdb")
    path = os.fspath(table)
    if not os.path.isfile(path):
        raise MonitorError(f"{path}: no such Parquet table")
    result: dict[str, dict[str, IndicatorTable]] = {i.name: {} for i in indicators}
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        quoted = path.replace("'", "''")
        con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{quoted}')")
        for lvl in levels:
            con.execute(f"CREATE OR REPLACE VIEW ev AS SELECT *, {AREA_COLUMNS[lvl]} AS area FROM events")
            for indicator in indicators:
                cursor = con.execute(indicator_sql(indicator, period))
                names = [c[0] for c in cursor.description]
                rows = tuple(
                    dict(zip(names, row, strict=True)) for row in sorted(cursor.fetchall(), key=_order)
                )
                result[indicator.name][lvl] = IndicatorTable(indicator, lvl, period.label, rows)
    return result


def area_parents(table: str | os.PathLike[str], level: str) -> dict[tuple[str, str], tuple[str, str]]:
    """Where each area of ``level`` and of the levels above it adds up to: ``(level, area)`` to
    ``(parent level, parent area)``. Raises :class:`MonitorError` when the areas do not nest."""
    levels_from(level)
    duckdb = require("duckdb")
    quoted = os.fspath(table).replace("'", "''")
    parents: dict[tuple[str, str], tuple[str, str]] = {}
    with duckdb.connect() as con:
        while level in PARENT:
            parent = PARENT[level]
            query = (
                f"SELECT DISTINCT {AREA_COLUMNS[level]}, {AREA_COLUMNS[parent]} FROM read_parquet('{quoted}')"
            )
            for area, above in con.execute(query).fetchall():
                if parents.setdefault((level, str(area)), (parent, str(above))) != (parent, str(above)):
                    # a municipality in two lead municipalities' areas: the margins do not nest, and
                    # secondary suppression could not see every sum a reader can form
                    raise MonitorError(f"the areas do not nest: a {level} lies in more than one {parent}")
            level = parent
    return parents


def _order(row: tuple[Any, ...]) -> tuple[str, str]:
    return (str(row[0]), str(row[1]))
