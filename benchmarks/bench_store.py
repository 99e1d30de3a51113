"""The case store: replay, loading and appending, each against a floor measured in the same run.

* Replay (``Engine.replay``) of the two-year case of ``bench_evaluate.py`` (316 events) and of the
  same case at 10x and 100x the history (incidents added as ``bench_history.py`` does), against
  one fold of the same events (``Case(case_id, events)``): the cost per event stays flat when
  replay is linear (at most 1.5x from 1x to 100x).
* Loading the two-year case from its case JSON (``caseformat.loads``) against ``orjson.loads`` of
  the same bytes (target: at most 5x), and from a SQLite store (``CaseStore.load`` on a new store
  object, so the case is read and replayed: target at most 2 ms; a second load from the same
  store object, served by its verified cache, is shown beside it).
* Appends per second, one event per append as the command line records them: to a SQLite store
  (``synchronous=FULL``) against a bare ``sqlite3`` insert of the same rows in the same mode, one
  transaction per row; and to PostgreSQL (when ``KETENZORG_TEST_POSTGRESQL`` is set, in a schema
  of its own that is dropped afterwards) against a bare ``psycopg`` insert. The store's append
  also reads the case's version, re-decides the event, hashes it and links an audit record, so the
  ratio is what those promises cost per append.

Run ``python benchmarks/bench_store.py`` (``--quick`` for a smaller run, ``--json`` for
machine-readable output). Always exits 0. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _bench
import orjson
from bench_evaluate import build_case

from ketenzorg import Case, Engine, IncidentReported, IncidentSeverity, __version__, caseformat
from ketenzorg.store import Actor, CaseStore
from ketenzorg.store.casestore import event_bytes

REPLAY_GROWTH = 1.5
"""Linear replay: the cost per event may grow at most this much from 1x to 100x the history."""
JSON_TARGET = 5.0
"""Loading a case from its JSON: at most this many times ``orjson.loads`` of the same bytes."""
STORE_LOAD_MS = 2.0
"""Loading the two-year case from a SQLite store: at most this many milliseconds."""
POSTGRESQL_VARIABLE = "KETENZORG_TEST_POSTGRESQL"
ACTOR = Actor(user="bench", role="practitioner", organisation="org-bench")
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def engine() -> Engine:
    return Engine(clock=lambda: NOW)


# --- replay ----------------------------------------------------------------------------------------


def longer(eng: Engine, case: Case, times: int) -> Case:
    """``case`` with incidents added (one a second after its last event, as ``bench_history.py``
    builds long histories) until it holds ``times`` as many events."""
    extra = len(case.events) * (times - 1)
    last = case.events[-1].at
    batch = [
        IncidentReported(
            at=last + timedelta(seconds=i + 1),
            severity=IncidentSeverity.MINOR,
            acute=False,
            description="incident (synthetisch)",
        )
        for i in range(extra)
    ]
    return eng.record_all(case, batch) if batch else case


def run_replay(quick: bool) -> dict[str, Any]:
    eng = engine()
    two_years = build_case(eng, 1)
    out: dict[str, Any] = {}
    for cycles in (1, 10, 100):
        case = longer(eng, two_years, cycles)
        events, case_id = case.events, case.case_id
        timed = _bench.measure_all(
            {
                "floor": lambda events=events, case_id=case_id: Case(case_id, events),
                "replay": lambda events=events, case_id=case_id: eng.replay(case_id, events),
            },
            rounds=2 if quick else 3,
            budget_s=0.3 if quick else 1.0,
            max_reps=max(3, 2000 // cycles),
            min_reps=1,
        )
        _bench.add_ratios(timed, ours="replay", floor="floor")
        timed["events"] = len(events)
        timed["replay"]["per_event_us"] = timed["replay"]["median_us"] / len(events)
        out[f"{cycles}x"] = timed
    return out


# --- loading ---------------------------------------------------------------------------------------


def run_load(quick: bool, folder: Path) -> dict[str, Any]:
    eng = engine()
    case = build_case(eng, 1)
    data = caseformat.dumps(case)
    path = str(folder / "load.db")
    with CaseStore.open(path, engine=eng) as store:
        store.create(case, actor=ACTOR, command="bench")

    cached_store = CaseStore.open(path, engine=eng)
    cached_store.load(case.case_id)  # verified once: later loads of the same bytes skip the replay

    def from_store() -> object:
        # a new store object has an empty cache: the case is read and replayed
        with CaseStore.open(path, engine=eng) as fresh:
            return fresh.load(case.case_id)

    timed = _bench.measure_all(
        {
            "floor": lambda: orjson.loads(data),
            "case_json": lambda: caseformat.loads(data),
            "store": from_store,
            "store_cached": lambda: cached_store.load(case.case_id),
        },
        rounds=2 if quick else 3,
        budget_s=0.3 if quick else 1.0,
        max_reps=2000,
    )
    cached_store.close()
    _bench.add_ratios(timed, ours="case_json", floor="floor")
    timed["events"] = len(case.events)
    timed["bytes"] = len(data)
    return timed


# --- appending -------------------------------------------------------------------------------------


def incidents(count: int) -> list[IncidentReported]:
    start = datetime(2024, 1, 9, tzinfo=UTC)
    return [
        IncidentReported(at=start + timedelta(minutes=i), severity=IncidentSeverity.MINOR, acute=False)
        for i in range(count)
    ]


def time_store_appends(location: str, count: int) -> float:
    """Seconds for ``count`` one-event appends to one case through the store (re-decided, audited)."""
    eng = engine()
    case = build_case(eng, 1)
    batch = incidents(count)
    with CaseStore.open(location, engine=eng) as store:
        store.create(case, actor=ACTOR, command="bench")
        version = len(case.events)
        t0 = time.perf_counter()
        for event in batch:
            version = store.append(
                case.case_id, [event], expected_version=version, actor=ACTOR, command="bench"
            ).version
        return time.perf_counter() - t0


def rows(count: int) -> list[tuple[str, int, int, str, str, bytes]]:
    """The same rows the store writes for ``count`` incidents: case, version, position, id, type, data."""
    return [
        ("case-floor", n + 1, n + 1, e.id, e.type, event_bytes(e)) for n, e in enumerate(incidents(count))
    ]


def time_bare_sqlite(path: str, count: int) -> float:
    """Seconds for ``count`` bare inserts, one transaction each, WAL and ``synchronous=FULL``."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(
            "CREATE TABLE events (case_id TEXT, version INTEGER, position INTEGER PRIMARY KEY,"
            " event_id TEXT, type TEXT, data BLOB, UNIQUE (case_id, version))"
        )
        t0 = time.perf_counter()
        for row in rows(count):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", row)
            conn.execute("COMMIT")
        return time.perf_counter() - t0
    finally:
        conn.close()


@contextmanager
def postgresql_schema(url: str) -> Iterator[str]:
    """A schema of its own on the server at ``url``; its URL, dropped afterwards."""
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")  # type: ignore[arg-type]  # a generated name
    try:
        sep = "&" if "?" in url else "?"
        yield f"{url}{sep}options=-c%20search_path%3D{schema}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")  # type: ignore[arg-type]


def time_bare_psycopg(url: str, count: int) -> float:
    """Seconds for ``count`` bare inserts, one transaction each."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TABLE events (case_id TEXT, version INTEGER, position BIGINT PRIMARY KEY,"
            " event_id TEXT, type TEXT, data BYTEA, UNIQUE (case_id, version))"
        )
        conn.commit()
        t0 = time.perf_counter()
        for row in rows(count):
            conn.execute("INSERT INTO events VALUES (%s, %s, %s, %s, %s, %s)", row)
            conn.commit()
        return time.perf_counter() - t0


def appends(
    name: str, count: int, rounds: int, ours: Callable[[int], float], floor: Callable[[int], float]
) -> dict[str, Any]:
    """Interleaved rounds (a fresh store and a fresh table each), the fastest of each side: disk
    flushes vary from one moment to the next on a shared machine."""
    floor_s = ours_s = float("inf")
    for n in range(rounds):
        floor_s = min(floor_s, floor(n))
        ours_s = min(ours_s, ours(n))
    return {
        "appends": count,
        "floor_per_s": count / floor_s,
        "store_per_s": count / ours_s,
        "vs_floor": ours_s / floor_s,
        "backend": name,
    }


def run_appends(quick: bool, folder: Path) -> dict[str, Any]:
    count = 100 if quick else 300
    rounds = 2 if quick else 3
    out: dict[str, Any] = {
        "sqlite": appends(
            "sqlite",
            count,
            rounds,
            lambda n: time_store_appends(str(folder / f"append-{n}.db"), count),
            lambda n: time_bare_sqlite(str(folder / f"bare-{n}.db"), count),
        )
    }
    url = os.environ.get(POSTGRESQL_VARIABLE)
    if url:

        def store_pg(_: int) -> float:
            with postgresql_schema(url) as store_url:
                return time_store_appends(store_url, count)

        def bare_pg(_: int) -> float:
            with postgresql_schema(url) as bare_url:
                return time_bare_psycopg(bare_url, count)

        out["postgresql"] = appends("postgresql", count, rounds, store_pg, bare_pg)
    return out


def run(quick: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ketenzorg-bench-") as tmp:
        folder = Path(tmp)
        results = {
            "replay": run_replay(quick),
            "load": run_load(quick, folder),
            "append": run_appends(quick, folder),
        }
    targets = {"replay_growth": REPLAY_GROWTH, "json_vs_orjson": JSON_TARGET, "store_load_ms": STORE_LOAD_MS}
    return {
        "meta": _bench.meta(__version__, quick, targets, _bench.CLOCK_INTERLEAVED),
        "results": results,
    }


def print_report(report: dict[str, Any]) -> None:
    print(_bench.machine_line(report["meta"], "case store"))
    results = report["results"]
    replay = results["replay"]
    rows_ = [
        [
            size,
            f"{timed['events']:,}",
            _bench.us(timed["floor"]["median_us"]),
            _bench.us(timed["replay"]["median_us"]),
            f"{timed['replay']['per_event_us']:.2f}",
            _bench.x(timed["replay"]["vs_floor"]),
        ]
        for size, timed in replay.items()
    ]
    print(_bench.table(["history", "events", "fold us", "replay us", "us/event", "vs fold"], rows_))
    first, last = replay["1x"]["replay"], replay["100x"]["replay"]
    growth = last["per_event_us"] / first["per_event_us"]
    print(
        f"replay: cost per event grows {_bench.x(growth)} from 1x to 100x "
        f"(linear: at most {REPLAY_GROWTH}x): {_bench.verdict(growth <= REPLAY_GROWTH)}"
    )
    load = results["load"]
    ratio = load["case_json"]["vs_floor"]
    print(
        f"load, two-year case ({load['events']} events, {load['bytes'] / 1024:.0f} KiB): "
        f"orjson.loads {_bench.us(load['floor']['median_us'])} us, caseformat.loads "
        f"{_bench.us(load['case_json']['median_us'])} us = {_bench.x(ratio)} "
        f"(at most {JSON_TARGET}x): {_bench.verdict(ratio <= JSON_TARGET)}"
    )
    store_ms = load["store"]["median_us"] / 1000
    print(
        f"load from a SQLite store (open, read, replay): {store_ms:.2f} ms "
        f"(at most {STORE_LOAD_MS} ms): {_bench.verdict(store_ms <= STORE_LOAD_MS)}; from an open "
        f"store's verified cache: {load['store_cached']['median_us'] / 1000:.2f} ms"
    )
    for name, a in results["append"].items():
        print(
            f"appends to {name}, one event each: store {a['store_per_s']:,.0f}/s, bare insert "
            f"{a['floor_per_s']:,.0f}/s: each append takes {_bench.x(a['vs_floor'])} a bare insert"
        )
    if "postgresql" not in results["append"]:
        print(f"appends to postgresql: not measured ({POSTGRESQL_VARIABLE} is not set)")


def main() -> int:
    args = _bench.parser(__doc__).parse_args()
    _bench.emit(run(args.quick), args.json, print_report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
