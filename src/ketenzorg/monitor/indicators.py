"""The indicators: each defined once as SQL over the flat events table (``sql/*.sql``).

An indicator's query sees a view ``ev``: the flat table. It returns, per municipality, rows of
``region, lead_municipality, municipality, category, n`` (a count indicator) or of
``region, lead_municipality, municipality, category, d``, one duration in days per row (a duration
indicator). Period bounds come in as ``{period}``, ``{start}``, ``{end}``. One wrapper
(:data:`COUNTS_SQL`, :data:`QUANTILES_SQL`) then gives every requested level in the same pass: it
pairs each row with each level (a join with a small table of level names) and sums the counts, or
ranks the durations for the quartiles, per level, area and category. The heavy part of a query (the
scan of every event, the windows and joins per case) thus runs once, not once per level.

The SQL is written in a dialect DuckDB runs and SQLGlot translates to Spark SQL (:func:`to_spark`):
no engine-specific date arithmetic (durations come precomputed as ``case_day``), no quantile
aggregates (SQLGlot maps them to Spark's approximate percentile), no ``FILTER`` clauses, no
grouping by an alias.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from contextlib import ExitStack
from datetime import UTC, datetime
from decimal import Decimal
from importlib.resources import files
from typing import Any, Literal, Protocol

import attrs

from ketenzorg.monitor import MonitorError, require

__all__ = [
    "AREA_COLUMNS",
    "ENGINES",
    "INDICATORS",
    "QUANTILES_SQL",
    "Indicator",
    "IndicatorTable",
    "Period",
    "area_parents",
    "indicator_sql",
    "levels_from",
    "normalise",
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


_AREA = (
    "CASE lv.lvl WHEN 'municipality' THEN x.municipality"
    " WHEN 'lead_municipality' THEN x.lead_municipality"
    " WHEN 'region' THEN x.region ELSE 'all' END"
)

COUNTS_SQL = f"""
WITH counts AS ({{inner}}),
levelled AS (
    SELECT lv.lvl, {_AREA} AS area, x.category, x.n
    FROM counts AS x CROSS JOIN ({{levels}}) AS lv
)
SELECT lvl, area, category, SUM(n) AS n
FROM levelled
GROUP BY lvl, area, category
"""
"""The one summary of a count indicator: its per-municipality counts summed per level and area."""

QUANTILES_SQL = f"""
WITH durations AS ({{inner}}),
levelled AS (
    SELECT lv.lvl, {_AREA} AS area, x.category, x.d
    FROM durations AS x CROSS JOIN ({{levels}}) AS lv
),
ranked AS (
    SELECT lvl, area, category, d,
           ROW_NUMBER() OVER (PARTITION BY lvl, area, category ORDER BY d) - 1 AS i,
           COUNT(*) OVER (PARTITION BY lvl, area, category) AS n
    FROM levelled
)
SELECT lvl, area, category, MAX(n) AS n,
       {_quantile(0.25)} AS q1,
       {_quantile(0.5)} AS median,
       {_quantile(0.75)} AS q3
FROM ranked
GROUP BY lvl, area, category
"""
"""The one summary of a duration indicator: count and quartiles per level, area and category."""

ALL_LEVELS: tuple[str, ...] = ("municipality", "lead_municipality", "region", "total")


def _levels_sql(levels: tuple[str, ...]) -> str:
    """The table of level names the wrapper pairs each row with."""
    return " UNION ALL ".join(f"SELECT '{lvl}' AS lvl" for lvl in levels)


def _text(name: str) -> str:
    return files("ketenzorg.monitor").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


def indicator_sql(indicator: Indicator, period: Period, levels: tuple[str, ...] = ALL_LEVELS) -> str:
    """The query of ``indicator`` for ``period`` at ``levels`` (DuckDB dialect), over the view ``ev``:
    rows of ``lvl, area, category, n`` (and ``q1, median, q3`` for a duration indicator)."""
    values = {
        "period": period.label,
        "start": period.start.strftime("%Y-%m-%d %H:%M:%S"),
        "end": period.end.strftime("%Y-%m-%d %H:%M:%S"),
        **indicator.params,
    }
    inner = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], _text(indicator.query))
    wrapper = QUANTILES_SQL if indicator.kind == "duration" else COUNTS_SQL
    return wrapper.replace("{levels}", _levels_sql(levels)).replace("{inner}", inner)


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


QueryEngine = Literal["duckdb", "spark"]
ENGINES: tuple[str, ...] = ("duckdb", "spark")
"""The engines the indicators run on: DuckDB (embedded, the default) and Apache Spark."""


class _Runner(Protocol):
    def execute(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]: ...

    def close(self) -> None: ...


class _DuckDBRunner:
    def __init__(self, path: str) -> None:
        duckdb = require("duckdb")
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET enable_progress_bar = false")
        quoted = path.replace("'", "''")
        self.con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{quoted}')")

    def execute(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        cursor = self.con.execute(sql)
        return [c[0] for c in cursor.description], cursor.fetchall()

    def close(self) -> None:
        self.con.close()


def normalise(value: Any) -> Any:
    """A figure as Python compares it, whichever engine gave it: the one place where the engines'
    types are made alike. Both give counts as ``int`` and durations as ``float`` (``DOUBLE``); a
    ``DECIMAL`` (which either could return for arithmetic on literals) becomes a ``float``."""
    if isinstance(value, Decimal):
        return float(value)
    return value


def run_indicators(
    table: str | os.PathLike[str],
    period: Period,
    level: str,
    *,
    indicators: tuple[Indicator, ...] = INDICATORS,
    engine: str = "duckdb",
    spark: Any = None,
) -> dict[str, dict[str, IndicatorTable]]:
    """Run every indicator on the Parquet table at ``table`` at ``level`` and at each level above it
    up to the total: ``{indicator name: {level: table}}``.

    ``engine`` is ``duckdb`` (embedded, the default) or ``spark``: the same queries, translated by
    :func:`to_spark`, on ``spark`` (a ``SparkSession``), else on the session running in this process,
    else on a Spark started in local mode for this run and stopped after it
    (:func:`ketenzorg.monitor.spark.local_session`)."""
    levels = levels_from(level)
    if engine not in ENGINES:
        raise MonitorError(f"engine: expected one of {', '.join(ENGINES)}")
    path = os.fspath(table)
    if not os.path.isfile(path):
        raise MonitorError(f"{path}: no such Parquet table")
    with ExitStack() as stack:
        runner: _Runner
        if engine == "duckdb":
            runner = _DuckDBRunner(path)
        else:
            from ketenzorg.monitor.spark import SparkRunner, active_session, local_session

            if spark is None:
                spark = active_session()
            if spark is None:
                work = stack.enter_context(tempfile.TemporaryDirectory(prefix="ketenzorg-spark-"))
                spark = local_session(work)
                stack.callback(spark.stop)
            runner = SparkRunner(spark, os.path.abspath(path))
        stack.callback(runner.close)
        return _run(runner, period, levels, indicators)
    raise AssertionError("unreachable")  # pragma: no cover


def _run(
    runner: _Runner, period: Period, levels: tuple[str, ...], indicators: tuple[Indicator, ...]
) -> dict[str, dict[str, IndicatorTable]]:
    runner.execute("CREATE OR REPLACE TEMPORARY VIEW ev AS SELECT * FROM events")
    result: dict[str, dict[str, IndicatorTable]] = {i.name: {} for i in indicators}
    for indicator in indicators:
        names, fetched = runner.execute(indicator_sql(indicator, period, levels))
        by_level: dict[str, list[dict[str, Any]]] = {lvl: [] for lvl in levels}
        for row in sorted(fetched, key=_order):
            values = dict(zip(names, row, strict=True))
            by_level[values.pop("lvl")].append({name: normalise(value) for name, value in values.items()})
        for lvl in levels:
            result[indicator.name][lvl] = IndicatorTable(indicator, lvl, period.label, tuple(by_level[lvl]))
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


def _order(row: tuple[Any, ...]) -> tuple[str, str, str]:
    """Rows ``lvl, area, category, ...`` by level, area and category (the canonical order)."""
    return (str(row[0]), str(row[1]), str(row[2]))
