"""Each indicator against a table computed by hand on the small region of ``region.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from monitor_region import engine, region_cases

from ketenzorg.monitor.flat import write_parquet
from ketenzorg.monitor.indicators import INDICATORS, Period, indicator_sql, run_indicators, to_spark


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("monitor") / "events.parquet"
    write_parquet(region_cases(engine()), path)
    return path


def figures(table: Path, period: str, level: str = "municipality") -> dict[str, dict[tuple[str, str], Any]]:
    result = run_indicators(table, Period.parse(period), level)
    out: dict[str, dict[tuple[str, str], Any]] = {}
    for name, levels in result.items():
        out[name] = {
            (r["area"], r["category"]): (
                r["n"]
                if "median" not in r
                else (r["n"], round(r["q1"], 4), round(r["median"], 4), round(r["q3"], 4))
            )
            for r in levels[level].rows
        }
    return out


def test_first_half_year_by_municipality(table: Path) -> None:
    f = figures(table, "2026H1")
    # A opened in 2025H2; D at the first moment of H1 and C in its last hour count in H1
    assert f["cases_opened"] == {("Dorp Een", "all"): 1, ("Dorp Twee", "all"): 2}
    # C's advance at 2026-07-01 00:00 is not before the end of H1; B relapsed; A is in phase 2
    assert f["phase_at_end"] == {
        ("Dorp Een", "phase_1"): 1,
        ("Dorp Een", "phase_2"): 1,
        ("Dorp Twee", "phase_1"): 2,
    }
    assert f["care_setting_at_end"] == {
        ("Dorp Een", "ambulant"): 2,
        ("Dorp Twee", "ambulant"): 1,
        ("Dorp Twee", "shelter"): 1,
    }
    # A 21 days, B 10 days: quartiles by linear interpolation
    assert f["time_to_phase_2"] == {("Dorp Een", "all"): (2, 12.75, 15.5, 18.25)}
    assert f["time_to_phase_3"] == {}
    assert f["phase_duration"] == {
        ("Dorp Een", "phase_1"): (2, 12.75, 15.5, 18.25),
        ("Dorp Een", "phase_2"): (1, 51.0, 51.0, 51.0),
    }
    assert f["relapse_6_months"] == {("Dorp Een", "relapsed"): 1, ("Dorp Een", "not_relapsed"): 1}
    assert f["relapse_12_months"] == f["relapse_6_months"]
    assert f["closed"] == {}
    assert f["instrument_results"] == {("Dorp Twee", "geweldsanalyse:green"): 1}
    assert f["scoring"] == {
        ("Dorp Een", "client:scored"): 3,
        ("Dorp Een", "practitioner:scored"): 3,
        ("Dorp Een", "police:scored"): 2,
        ("Dorp Een", "police:not_scored"): 1,
        ("Dorp Een", "veilig_thuis:scored"): 2,
        ("Dorp Een", "veilig_thuis:not_scored"): 1,
    }


def test_second_half_year_counts_events_where_they_fall(table: Path) -> None:
    f = figures(table, "2026H2")
    assert f["cases_opened"] == {}
    assert f["time_to_phase_2"] == {("Dorp Twee", "all"): (1, 0.0417, 0.0417, 0.0417)}
    assert f["time_to_phase_3"] == {("Dorp Een", "all"): (1, 207.0, 207.0, 207.0)}
    assert f["closed"] == {("Dorp Een", "with_handover"): 1}
    assert f["phase_at_end"] == {
        ("Dorp Een", "phase_1"): 1,
        ("Dorp Twee", "phase_1"): 1,
        ("Dorp Twee", "phase_2"): 1,
    }
    assert f["relapse_6_months"] == {("Dorp Twee", "not_relapsed"): 1}


def test_previous_half_year_and_region_level(table: Path) -> None:
    assert figures(table, "2025H2")["cases_opened"] == {("Dorp Een", "all"): 1}
    region = figures(table, "2026H1", "region")
    assert region["cases_opened"] == {("Regio Proef", "all"): 3}
    assert region["time_to_phase_2"] == {("Regio Proef", "all"): (2, 12.75, 15.5, 18.25)}


def test_every_query_translates_to_spark() -> None:
    sqlglot = pytest.importorskip("sqlglot")
    for indicator in INDICATORS:
        spark = to_spark(indicator_sql(indicator, Period.parse("2026H1")))
        assert sqlglot.parse_one(spark, read="spark") is not None
        assert "QUANTILE" not in spark.upper()
        assert "PERCENTILE" not in spark.upper()


def test_every_level_comes_from_one_query_per_indicator(table: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the heavy part of a query (the scan, the windows and joins per case) runs once for all four
    # levels, not once per level
    from ketenzorg.monitor import indicators as module

    queries: list[str] = []
    execute = module._DuckDBRunner.execute

    def spy(self: Any, sql: str) -> Any:
        queries.append(sql)
        return execute(self, sql)

    monkeypatch.setattr(module._DuckDBRunner, "execute", spy)
    result = run_indicators(table, Period.parse("2026H1"), "municipality")
    assert len([q for q in queries if not q.startswith("CREATE")]) == len(INDICATORS)
    assert set(result["cases_opened"]) == {"municipality", "lead_municipality", "region", "total"}
    assert [dict(r) for r in result["cases_opened"]["total"].rows] == [
        {"area": "all", "category": "all", "n": 3}
    ]
