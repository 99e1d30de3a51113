"""Bulk export: time and peak memory of writing a synthetic region as FHIR NDJSON for a recipient.

Each stage runs in its own child process, so its peak resident memory (``ru_maxrss``) is its own:
*generate* makes the cases through the engine and drops them (the floor every stage stands on);
*single* discloses each case as one Bundle and serialises it, as a single export does, without
writing (the baseline); *bulk* writes the whole region with :func:`ketenzorg.interop.bulk.bulk_export`
(NDJSON files, manifest, one disclosure record per case). The times of *single* and *bulk* are
their own, without the time spent generating. The seed is fixed; all names are invented.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import _bench

from ketenzorg import __version__

if TYPE_CHECKING:
    from ketenzorg.case import Case

SIZES = (1_000, 10_000)
QUICK_SIZES = (200, 1_000)
RECIPIENTS = ("police", "internal")


def timed(items: Iterator[Case], spent: list[float]) -> Iterator[Case]:
    """``items``, adding the time spent making each to ``spent[0]``."""
    while True:
        t0 = time.perf_counter()
        try:
            item = next(items)
        except StopIteration:
            return
        finally:
            spent[0] += time.perf_counter() - t0
        yield item


def stage(name: str, cases: int, recipient: str, out: str) -> dict[str, Any]:
    """Run one stage here and return its time (without generating) and this process's peak memory."""
    import orjson

    from ketenzorg.disclosure import Recipient, disclose
    from ketenzorg.interop.bulk import bulk_export
    from ketenzorg.monitor.synth import generate, synth_engine

    engine = synth_engine(datetime(2026, 10, 1, tzinfo=UTC))
    spent = [0.0]
    source = timed(generate(cases, seed=1, engine=engine), spent)
    extra: dict[str, Any] = {}
    t0 = time.perf_counter()
    if name == "generate":
        extra["events"] = sum(len(case.events) for case in source)
    elif name == "single":
        size = 0
        for case in source:
            size += len(orjson.dumps(disclose(case, engine=engine, recipient=Recipient(recipient)).bundle))
        extra["bytes"] = size
    else:
        result = bulk_export(source, Path(out) / recipient, engine=engine, recipient=Recipient(recipient))
        extra["lines"] = sum(result.counts.values())
        extra["bytes"] = sum(p.stat().st_size for p in result.directory.iterdir())
    seconds = time.perf_counter() - t0
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    alone = seconds if name == "generate" else seconds - spent[0]
    return {"seconds": alone, "peak_rss_mib": peak_mib, **extra}


def child(name: str, cases: int, recipient: str, out: str) -> dict[str, Any]:
    result = subprocess.run(
        [
            sys.executable,
            __file__,
            "--stage",
            name,
            "--cases",
            str(cases),
            "--recipient",
            recipient,
            "--out",
            out,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def run(sizes: tuple[int, ...], quick: bool) -> dict[str, Any]:
    started = time.perf_counter()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-bulk-") as folder:
        for n in sizes:
            row: dict[str, Any] = {"generate": child("generate", n, "internal", folder)}
            for recipient in RECIPIENTS:
                out = str(Path(folder) / f"{n}")
                row[recipient] = {
                    "single": child("single", n, recipient, out),
                    "bulk": child("bulk", n, recipient, out),
                }
            results[str(n)] = row
    meta = _bench.meta(
        __version__,
        quick,
        {"sizes": list(sizes), "recipients": list(RECIPIENTS)},
        "time.perf_counter, one run per stage, without generating; ru_maxrss of the stage's own process",
    )
    meta["total_s"] = time.perf_counter() - started
    return {"meta": meta, "results": results}


def print_report(report: dict[str, Any]) -> None:
    meta = report["meta"]
    print("Bulk export: a synthetic region as FHIR NDJSON per recipient")
    print(_bench.machine_line(meta, ""))
    rows = []
    for n, stages in report["results"].items():
        gen = stages["generate"]
        for recipient in RECIPIENTS:
            single, bulk = stages[recipient]["single"], stages[recipient]["bulk"]
            rows.append(
                [
                    f"{int(n):,}",
                    recipient,
                    f"{gen['seconds']:.1f} s / {gen['peak_rss_mib']:.0f} MiB",
                    f"{single['seconds']:.1f} s / {single['peak_rss_mib']:.0f} MiB",
                    f"{bulk['seconds']:.1f} s / {bulk['peak_rss_mib']:.0f} MiB",
                    f"{bulk['seconds'] / single['seconds']:.2f}x",
                    f"{bulk['lines']:,} ({bulk['bytes'] / 2**20:.1f} MiB)",
                ]
            )
    print(
        _bench.table(
            ["cases", "for", "generate", "single (baseline)", "bulk export", "vs single", "lines (files)"],
            rows,
        )
    )
    print(f"total {meta['total_s']:.0f} s")


def main() -> int:
    p = _bench.parser(__doc__)
    p.add_argument("--cases", type=int, action="append", help="a size to run (repeatable), e.g. 100000")
    p.add_argument("--stage", choices=("generate", "single", "bulk"), help=argparse_hidden())
    p.add_argument("--recipient", default="police", help=argparse_hidden())
    p.add_argument("--out", help=argparse_hidden())
    args = p.parse_args()
    if args.stage:
        print(json.dumps(stage(args.stage, args.cases[0], args.recipient, args.out)))
        return 0
    sizes = tuple(args.cases) if args.cases else (QUICK_SIZES if args.quick else SIZES)
    _bench.emit(run(sizes, args.quick), args.json, print_report)
    return 0


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    sys.exit(main())
