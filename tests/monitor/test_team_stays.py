"""Scoring completeness follows the care team through a party leaving and joining again.

The synthetic region has no party that leaves, so these rows are written directly in the flat
table's schema: one case, a police partner that leaves between the first two conferences and joins
again before the third, and a network party that joins after the first.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ketenzorg.monitor.flat import COLUMNS, schema
from ketenzorg.monitor.indicators import INDICATORS, Period, run_indicators

SCORING = tuple(i for i in INDICATORS if i.name == "scoring")


def rows() -> list[dict[str, Any]]:
    base = {"region": "R", "lead_municipality": "L", "municipality": "M", "phase": 1, "closed": False}
    day = datetime(2026, 2, 1)

    def row(seq: int, kind: str, **fields: Any) -> dict[str, Any]:
        at = day.replace(day=1 + seq)
        return {name: None for name, _, _ in COLUMNS} | base | {
            "case_key": "k1", "event_seq": seq, "event_type": kind, "event_at": at, "period": "2026H1",
            "case_day": float(seq), "care_setting": "ambulant", **fields,
        }  # fmt: skip

    client = {"party_seq": 1, "party_role": "client"}
    police = {"party_seq": 2, "party_role": "chain_partner", "partner_type": "police"}
    network = {"party_seq": 3, "party_role": "network"}
    return [
        row(0, "case_opened"),
        row(0, "party_joined", **client),
        row(0, "party_joined", **police),
        row(1, "conference_held"),  # client, police
        row(2, "score_given", **police, has_rationale=True, conference_seq=1),
        row(3, "party_joined", **network),
        row(4, "party_left", **police),
        row(5, "conference_held"),  # client, network
        row(6, "score_given", **client, has_rationale=True, conference_seq=5),
        row(7, "party_joined", **police),
        row(8, "conference_held"),  # client, network, police
        row(9, "score_given", **police, has_rationale=False, conference_seq=8),
    ]


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path_factory.mktemp("stays") / "events.parquet"
    pq.write_table(pa.Table.from_pylist(rows(), schema=schema()), path)
    return path


EXPECTED = {
    ("M", "client:scored"): 1,
    ("M", "client:not_scored"): 2,
    ("M", "police:scored"): 1,
    ("M", "police:not_scored"): 1,  # its score in the third conference has no rationale
    ("M", "network:not_scored"): 2,
}


def figures(table: Path, **engine: Any) -> dict[tuple[str, str], int]:
    result = run_indicators(table, Period.parse("2026H1"), "municipality", indicators=SCORING, **engine)
    return {(r["area"], r["category"]): r["n"] for r in result["scoring"]["municipality"].rows}


def test_a_party_that_left_is_not_expected_to_score_until_it_joins_again(table: Path) -> None:
    assert figures(table) == EXPECTED


def test_the_same_on_spark(table: Path, spark: Any) -> None:
    assert figures(table, engine="spark", spark=spark) == EXPECTED
