"""Regional monitoring: generating a synthetic region, building the Parquet table, running the indicators.

Each stage runs in its own child process, so its peak resident memory (``ru_maxrss``) is its own:
*generate* makes the cases through the engine and drops them; *build* generates and streams them
into the flat Parquet table (its time without the time spent generating is shown); *indicators* runs every
indicator from municipality to the total on DuckDB and applies disclosure control. The seed is
fixed; all names are invented.

``--engine spark`` runs the indicators on Apache Spark in local mode (``local[2]``) instead: its time
is shown without starting the session (``spark_start_s``, separately), and its peak memory is that of
this process plus the Java process Spark runs in (``VmHWM`` of each, read before the session stops).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import _bench

from ketenzorg import __version__

if TYPE_CHECKING:
    from ketenzorg.case import Case

SIZES = (1_000, 10_000)
QUICK_SIZES = (200, 1_000)
PERIOD = "2025H2"


def jvm_peak_mib() -> float:
    """The peak resident memory of this process's descendants (Spark's Java process), in MiB."""
    parents: dict[int, int] = {}
    peaks: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        parents[int(entry.name)] = int(fields.get("PPid", "0").strip())
        peaks[int(entry.name)] = int(fields.get("VmHWM", "0 kB").split()[0]) / 1024
    mine, found = {os.getpid()}, True
    while found:
        found = False
        for pid, parent in parents.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                found = True
    return sum(peaks[pid] for pid in mine if pid != os.getpid())


def stage(name: str, cases: int, table: str, engine: str = "duckdb") -> dict[str, Any]:
    """Run one stage here and return its time and this process's peak memory."""
    from ketenzorg.monitor.flat import write_parquet
    from ketenzorg.monitor.synth import generate

    extra: dict[str, Any] = {}
    t0 = time.perf_counter()
    if name == "generate":
        extra["events"] = sum(len(case.events) for case in generate(cases, seed=1))
    elif name == "build":
        spent = [0.0]
        extra["rows"] = write_parquet(timed(generate(cases, seed=1), spent), table)
        extra["bytes"] = Path(table).stat().st_size
        extra["generating_s"] = spent[0]
    else:
        from ketenzorg.monitor.indicators import Period, area_parents, run_indicators
        from ketenzorg.monitor.publish import publish, to_csv

        session = None
        if engine == "spark":
            from ketenzorg.monitor.spark import local_session

            session = local_session(tempfile.mkdtemp(prefix="bench-spark-"))
            extra["spark_start_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
        tables = run_indicators(table, Period.parse(PERIOD), "municipality", engine=engine, spark=session)
        extra["csv_bytes"] = len(
            to_csv(publish(tables, area_parents(table, "municipality"), "region", PERIOD))
        )
        if session is not None:
            extra["jvm_peak_rss_mib"] = jvm_peak_mib()
            session.stop()
    seconds = time.perf_counter() - t0
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 + extra.get("jvm_peak_rss_mib", 0)
    return {"seconds": seconds, "peak_rss_mib": peak_mib, **extra}


def timed(items: Iterator[Case], spent: list[float]) -> Iterator[Case]:
    """``items``, adding the time spent making each to ``spent[0]`` (the build's own time is the
    rest)."""
    while True:
        t0 = time.perf_counter()
        try:
            item = next(items)
        except StopIteration:
            return
        finally:
            spent[0] += time.perf_counter() - t0
        yield item


def child(name: str, cases: int, table: str, engine: str = "duckdb") -> dict[str, Any]:
    result = subprocess.run(
        [
            sys.executable,
            __file__,
            "--stage",
            name,
            "--cases",
            str(cases),
            "--table",
            table,
            "--engine",
            engine,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def run(sizes: tuple[int, ...], quick: bool, engine: str = "duckdb") -> dict[str, Any]:
    started = time.perf_counter()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-monitor-") as folder:
        for n in sizes:
            table = str(Path(folder) / f"events-{n}.parquet")
            results[str(n)] = {
                name: child(name, n, table, engine if name == "indicators" else "duckdb")
                for name in ("generate", "build", "indicators")
            }
    meta = _bench.meta(
        __version__,
        quick,
        {
            "sizes": list(sizes),
            "period": PERIOD,
            "engine": engine,
            **_bench.versions("duckdb", "pyarrow", *(("pyspark",) if engine == "spark" else ())),
        },
        "time.perf_counter, one run per stage; ru_maxrss of the stage's own process",
    )
    meta["total_s"] = time.perf_counter() - started
    return {"meta": meta, "results": results}


def print_report(report: dict[str, Any]) -> None:
    meta = report["meta"]
    print("Regional monitoring: generate, build the flat table, run the indicators")
    print(_bench.machine_line(meta, f"duckdb {meta['duckdb']}, pyarrow {meta['pyarrow']}"))
    rows = []
    for n, stages in report["results"].items():
        gen, build, ind = stages["generate"], stages["build"], stages["indicators"]
        rows.append(
            [
                f"{int(n):,}",
                f"{gen['events']:,}",
                f"{gen['seconds']:.1f} s / {gen['peak_rss_mib']:.0f} MiB",
                f"{build['seconds'] - build['generating_s']:.1f} s / {build['peak_rss_mib']:.0f} MiB",
                f"{build['rows']:,} ({build['bytes'] / 2**20:.1f} MiB)",
                f"{ind['seconds']:.2f} s / {ind['peak_rss_mib']:.0f} MiB"
                + (f" (+{ind['spark_start_s']:.0f} s start)" if "spark_start_s" in ind else ""),
            ]
        )
    print(
        _bench.table(
            [
                "cases",
                "events",
                "generate",
                "build (alone)",
                "rows (file)",
                f"indicators + SDC ({meta['engine']})",
            ],
            rows,
        )
    )
    print(f"total {meta['total_s']:.0f} s")


def main() -> int:
    p = _bench.parser(__doc__)
    p.add_argument("--cases", type=int, action="append", help="a size to run (repeatable), e.g. 100000")
    p.add_argument("--stage", choices=("generate", "build", "indicators"), help=argparse_hidden())
    p.add_argument("--table", help=argparse_hidden())
    p.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb", help="where the indicators run")
    args = p.parse_args()
    if args.stage:
        print(json.dumps(stage(args.stage, args.cases[0], args.table, args.engine)))
        return 0
    sizes = tuple(args.cases) if args.cases else (QUICK_SIZES if args.quick else SIZES)
    _bench.emit(run(sizes, args.quick, args.engine), args.json, print_report)
    return 0


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    sys.exit(main())
