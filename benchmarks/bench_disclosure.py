"""Disclosure: "who received resource R" over a large log, and a recipient export against the internal one.

* **Who received R** (``CaseStore.received``) in a SQLite store holding 1,000,000 disclosure records
  (``--quick``: 100,000): 10,000 cases with 100 disclosures each, every disclosure sending 5 of its
  case's 20 resources. The records are written through the backend's own code path
  (``SQLiteBackend._chain``: the same canonical bytes, hash chain and index rows as
  ``CaseStore.record_disclosure``) in transactions of 20,000 records instead of one each, so the
  fill takes minutes, not hours; what is queried is what the store writes. Target: the median of
  the query (index lookup and reading back each record found) at most 100 ms.
* **Recipient export** (``disclose`` to each shipped profile, then ``orjson.dumps``) on the demo
  case, against the internal export (``Recipient.internal()``) of the same case in the same run,
  interleaved. Target: at most 1.5x for every profile.

Run ``python benchmarks/bench_disclosure.py`` (``--quick`` for a smaller run, ``--json`` for
machine-readable output). Always exits 0. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import hashlib
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _bench
import orjson

from ketenzorg import Engine, __version__
from ketenzorg.demo import build_demo_case
from ketenzorg.disclosure import Recipient, disclose, shipped_profiles
from ketenzorg.store import Actor, AuditEntry, CaseStore
from ketenzorg.store.sqlite import SQLiteBackend

QUERY_TARGET_MS = 100.0
"""Who received a resource: at most this many milliseconds over the full log."""
EXPORT_TARGET = 1.5
"""A recipient export: at most this many times the internal export of the same case."""
CASES = 10_000
RESOURCES_PER_CASE = 20
SENT_PER_DISCLOSURE = 5
BATCH = 20_000
ACTOR = Actor(user="bench", role="practitioner", organisation="org-bench")
NOW = datetime(2030, 1, 1, tzinfo=UTC)
KINDS = ("police", "veilig-thuis", "school", "gp", "wijkteam", "youth-protection", "client")
PURPOSES = {"police": "THREAT", "youth-protection": "HLEGAL", "client": "PATRQT"}
TYPES = ("Observation", "Goal", "CarePlan", "Encounter", "RiskAssessment")


# --- who received R ----------------------------------------------------------------------------------


def disclosure(case_id: str, n: int, at: str, sent: list[list[str]]) -> dict[str, Any]:
    """A disclosure record as ``Disclosure.to_mapping`` writes it (synthetic values)."""
    kind = KINDS[n % len(KINDS)]
    return {
        "case_id": case_id,
        "at": at,
        "recipient": {
            "kind": kind,
            "organisation_system": "urn:oid:2.16.528.1.1007.3.3",
            "organisation_value": f"{n:08d}",
        },
        "profile": {"id": kind, "version": "1"},
        "purpose": PURPOSES.get(kind, "COC"),
        "legal_basis": "synthetic",
        "bundle_type": "collection",
        "format": "json",
        "sha256": hashlib.sha256(f"{case_id}/{n}".encode()).hexdigest(),
        "user": "bench",
        "responsible_user": "bench",
        "sent": sent,
        "withheld": {"resources": 3, "elements": 7, "screened_texts": 0},
    }


def fill(path: Path, disclosures: int) -> tuple[float, list[str]]:
    """Write ``disclosures`` records over ``disclosures / 100`` cases; the seconds taken and the
    case's resource refs to query."""
    rng = random.Random(12)
    cases = max(1, disclosures // 100)
    backend = SQLiteBackend(path, synchronous="NORMAL")
    refs: list[str] = []
    start = time.perf_counter()
    written = 0
    moment = NOW
    while written < disclosures:
        with backend._write() as conn:  # the backend's own transaction and chaining code
            for _ in range(min(BATCH, disclosures - written)):
                c = written % cases
                case_id = f"case-{c:06d}"
                pool = [
                    [TYPES[r % len(TYPES)], str(uuid.UUID(int=c * RESOURCES_PER_CASE + r)), f"v{r}"]
                    for r in range(RESOURCES_PER_CASE)
                ]
                sent = rng.sample(pool, SENT_PER_DISCLOSURE)
                moment += timedelta(seconds=1)
                at = moment.isoformat()
                entry = AuditEntry.make(
                    "disclosure",
                    case_id,
                    at,
                    ACTOR,
                    "store export",
                    recipient=KINDS[written % len(KINDS)],
                    purpose="COC",
                    disclosure=disclosure(case_id, written, at, sent),
                )
                backend._chain(conn, entry)
                written += 1
    seconds = time.perf_counter() - start
    for c in rng.sample(range(cases), 50):
        refs.append(f"{TYPES[c % len(TYPES)]}/{uuid.UUID(int=c * RESOURCES_PER_CASE + c % len(TYPES))}")
    backend.close()
    return seconds, refs


def run_received(quick: bool, folder: Path) -> dict[str, Any]:
    count = 100_000 if quick else 1_000_000
    path = folder / "disclosures.db"
    fill_s, refs = fill(path, count)
    store = CaseStore(SQLiteBackend(path), Engine(clock=lambda: NOW))
    found = [len(store.received(ref)) for ref in refs]  # warm-up, and what one answer holds
    samples = []
    for _ in range(3 if quick else 5):
        for ref in refs:
            t0 = time.perf_counter_ns()
            store.received(ref)
            samples.append(time.perf_counter_ns() - t0)
    store.close()
    median_ms = statistics.median(samples) / 1e6
    return {
        "disclosures": count,
        "cases": max(1, count // 100),
        "fill_s": fill_s,
        "file_mib": path.stat().st_size / 2**20,
        "records_per_answer": statistics.median(found),
        "queries": len(samples),
        "median_ms": median_ms,
        "max_ms": max(samples) / 1e6,
        "target_ms": QUERY_TARGET_MS,
        "met": median_ms <= QUERY_TARGET_MS,
    }


# --- recipient export against the internal one ---------------------------------------------------------


def run_export(quick: bool) -> dict[str, Any]:
    engine = Engine(clock=lambda: NOW)
    case = build_demo_case()

    def export(kind: str) -> Any:
        recipient = Recipient.internal() if kind == "internal" else Recipient(kind)
        return lambda: orjson.dumps(disclose(case, engine=engine, recipient=recipient).bundle)

    kinds = sorted(shipped_profiles())
    timed = _bench.measure_all(
        {kind: export(kind) for kind in kinds},
        rounds=2 if quick else 5,
        budget_s=0.3 if quick else 1.0,
        max_reps=20 if quick else 200,
    )
    internal = timed["internal"]["median_us"]
    for timing in timed.values():
        timing["vs_internal"] = timing["median_us"] / internal
    worst = max(t["vs_internal"] for k, t in timed.items() if k != "internal")
    return {"profiles": timed, "worst": worst, "target": EXPORT_TARGET, "met": worst <= EXPORT_TARGET}


def run(quick: bool) -> dict[str, Any]:
    start = time.perf_counter()
    meta = _bench.meta(__version__, quick, {}, _bench.CLOCK_INTERLEAVED)
    with tempfile.TemporaryDirectory() as folder:
        received = run_received(quick, Path(folder))
    report = {"meta": meta, "received": received, "export": run_export(quick)}
    meta["total_s"] = time.perf_counter() - start
    return report


def print_report(report: dict[str, Any]) -> None:
    print(_bench.machine_line(report["meta"], "disclosure"))
    r = report["received"]
    print(
        f"who received R: {r['disclosures']:,} disclosures over {r['cases']:,} cases in SQLite "
        f"({r['file_mib']:,.0f} MiB, filled in {r['fill_s']:.0f} s)"
    )
    print(
        f"  {r['records_per_answer']:.0f} records an answer; median {r['median_ms']:.2f} ms, "
        f"max {r['max_ms']:.2f} ms over {r['queries']} queries "
        f"(at most {r['target_ms']:.0f} ms): {_bench.verdict(r['met'])}"
    )
    e = report["export"]
    rows = [
        [kind, _bench.us(t["median_us"]), _bench.us(t["min_us"]), str(t["reps"]), _bench.x(t["vs_internal"])]
        for kind, t in e["profiles"].items()
    ]
    print(_bench.table(["profile", "median us", "min us", "reps", "/ internal"], rows))
    print(
        f"recipient export: at most {_bench.x(e['worst'])} the internal export "
        f"(at most {_bench.x(e['target'])}): {_bench.verdict(e['met'])}"
    )


def main() -> int:
    args = _bench.parser(__doc__).parse_args()
    _bench.emit(run(args.quick), args.json, print_report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
