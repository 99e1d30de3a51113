"""Long histories: recording a batch and replaying a history against folding it once, same run.

A partner bundle of 30,000 incidents used to take 43 s to record (each event folded into a fresh
copy of the state) and 34 s to replay. Recording a batch (`Engine.record_all`, which merge uses)
and replaying (`Engine.replay`, which every command runs on load) should cost about what one fold
of the whole history costs (`Case(case_id, events)`): the floor, measured in the same run. The
ratio stays flat as the history grows when both are linear.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _bench

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from factories import case_in_phase_2, day
from ketenzorg import Case, Engine, IncidentReported, IncidentSeverity, __version__

TARGET = 1.5
"""Linear: from the smallest history to the largest, the cost per fold of the same history may grow
by at most this factor (a quadratic cost grows with the history: 30x from 1,000 to 30,000)."""


def incidents(count: int) -> list[IncidentReported]:
    return [
        IncidentReported(
            at=day(8) + timedelta(seconds=i),
            severity=IncidentSeverity.MINOR,
            acute=False,
            description="incident (synthetisch)",
        )
        for i in range(count)
    ]


def run(quick: bool) -> dict[str, Any]:
    engine = Engine(clock=lambda: datetime(2030, 1, 1, tzinfo=UTC))
    start = case_in_phase_2(engine)
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 30_000)
    out: dict[str, Any] = {}
    for size in sizes:
        batch = incidents(size)
        whole = engine.record_all(start, batch)
        events, case_id = whole.events, whole.case_id
        timed = _bench.measure_all(
            {
                "floor": lambda events=events, case_id=case_id: Case(case_id, events),
                "record_all": lambda batch=batch: engine.record_all(start, batch),
                "replay": lambda events=events, case_id=case_id: engine.replay(case_id, events),
            },
            rounds=2 if quick else 3,
            budget_s=0.5,
            max_reps=5,
            min_reps=1,
        )
        _bench.add_ratios(timed, ours="record_all", floor="floor")
        out[str(size)] = timed
    return {
        "meta": _bench.meta(__version__, quick, {"target_growth": TARGET}, _bench.CLOCK_INTERLEAVED),
        "results": out,
    }


def print_report(report: dict[str, Any]) -> None:
    print(_bench.machine_line(report["meta"], "history: a phase-2 case plus N incidents"))
    rows = []
    results = report["results"]
    for size, timed in results.items():
        for name in ("floor", "record_all", "replay"):
            r = timed[name]
            rows.append([f"{int(size):,}", name, _bench.us(r["median_us"]), _bench.x(r["vs_floor"])])
    print(_bench.table(["incidents", "what", "median us", "vs one fold"], rows))
    first, last = next(iter(results.values())), list(results.values())[-1]
    for name in ("record_all", "replay"):
        growth = last[name]["vs_floor"] / first[name]["vs_floor"]
        print(
            f"{name}: cost per fold grows {_bench.x(growth)} from the smallest to the largest history "
            f"(linear: at most {TARGET}x): {_bench.verdict(growth <= TARGET)}"
        )


def main() -> int:
    args = _bench.parser(__doc__).parse_args()
    _bench.emit(run(args.quick), args.json, print_report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
