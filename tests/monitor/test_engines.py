"""DuckDB and Spark give identical indicator tables on the same flat table.

The same SQL files run on both (translated for Spark by SQLGlot); the tables are compared row by
row, in the canonical order ``run_indicators`` gives (level, area, category), exactly: counts and
durations as numbers, their Python types included. Needs Java and pyspark (see ``conftest.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from monitor_region import engine, region_cases

from ketenzorg.cli import main
from ketenzorg.monitor import MonitorError
from ketenzorg.monitor.flat import write_parquet
from ketenzorg.monitor.indicators import INDICATORS, Period, run_indicators
from ketenzorg.monitor.synth import generate


@pytest.fixture(scope="module")
def hand_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("engines") / "hand.parquet"
    write_parquet(region_cases(engine()), path)
    return path


@pytest.fixture(scope="module")
def generated_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("engines") / "generated.parquet"
    write_parquet(generate(300, seed=11), path)
    return path


def typed(table: Any) -> list[list[tuple[str, type, Any]]]:
    return [[(key, type(value), value) for key, value in row.items()] for row in table.rows]


def assert_same(table: Path, period: str, spark: Any) -> int:
    """Both engines' tables for ``period``, every indicator and level; the number of rows compared."""
    duck = run_indicators(table, Period.parse(period), "municipality")
    other = run_indicators(table, Period.parse(period), "municipality", engine="spark", spark=spark)
    assert duck.keys() == other.keys() == {i.name for i in INDICATORS}
    compared = 0
    for name, levels in duck.items():
        assert levels.keys() == other[name].keys()
        for level, expected in levels.items():
            assert typed(other[name][level]) == typed(expected), (name, level)
            compared += len(expected.rows)
    return compared


def test_the_hand_built_region_across_half_years(hand_table: Path, spark: Any) -> None:
    # 2026H1 has every kind of figure of the hand-computed tables; 2026H2 the closing and phase 3
    assert assert_same(hand_table, "2026H1", spark) > 20
    assert assert_same(hand_table, "2026H2", spark) > 10


def test_a_generated_region(generated_table: Path, spark: Any) -> None:
    assert assert_same(generated_table, "2025H2", spark) > 200


def test_an_unknown_engine_is_refused(hand_table: Path) -> None:
    with pytest.raises(MonitorError, match="engine: expected one of duckdb, spark"):
        run_indicators(hand_table, Period.parse("2026H1"), "region", engine="sqlite")


def test_the_command_gives_the_same_csv_on_spark(generated_table: Path, tmp_path: Path, spark: Any) -> None:
    # in this process, so that it runs on the test run's Spark (the one already running), and leaves
    # that session running
    outputs = []
    for engine_name in ("duckdb", "spark"):
        out = tmp_path / engine_name
        argv = ["monitor", str(generated_table), "--period", "2025H2", "--by", "municipality"]
        assert main([*argv, "--out", str(out), "--engine", engine_name]) == 0
        outputs.append((out / "monitor-2025H2-municipality.csv").read_text(encoding="utf-8"))
    assert outputs[0] == outputs[1]
    assert outputs[0].count("\n") > 10
    assert spark.sparkContext._jsc is not None  # not stopped by the command
