"""``ketenzorg monitor``: the half-year figures of a region, after disclosure control, as CSV."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

from ketenzorg.cli import EXIT_OK, _engine, _engine_options, _force, _out

ENGINES = ("duckdb", "spark")
"""``--engine``: kept here, so the command line loads no monitoring module before it runs."""

__all__ = ["register"]

_BY = {"region": "region", "lead-municipality": "lead_municipality", "municipality": "municipality"}


def _cmd_monitor(args: argparse.Namespace) -> int:
    from ketenzorg.files import write_atomically
    from ketenzorg.monitor import MonitorError
    from ketenzorg.monitor.flat import cases_from_dir, cases_from_store, write_parquet
    from ketenzorg.monitor.indicators import Period, area_parents, run_indicators
    from ketenzorg.monitor.publish import publish, to_csv
    from ketenzorg.monitor.sdc import Rules

    period = Period.parse(args.period)
    level = _BY[args.by]
    out = Path(args.out)
    target = out / f"monitor-{period.label}-{args.by}.csv"
    if target.exists() and not args.force:
        raise MonitorError(f"{target} exists (use --force to replace it)")
    try:
        rules = Rules(threshold=args.threshold, base=args.round_to)
    except ValueError as error:
        raise MonitorError(str(error)) from None
    with tempfile.TemporaryDirectory(prefix="ketenzorg-monitor-") as work:
        if args.source is not None and args.source.endswith(".parquet"):
            table = args.source
        else:
            table = os.path.join(work, "events.parquet")
            engine = _engine(args)
            if args.source is not None:
                if not os.path.isdir(args.source):
                    raise MonitorError(f"{args.source}: not a directory of case files or a .parquet table")
                write_parquet(cases_from_dir(args.source, engine), table)
            else:
                from ketenzorg.store import CaseStore

                with CaseStore.open(args.store, engine=engine) as store:
                    write_parquet(cases_from_store(store), table)
        # protected from the finest level up, whatever is published (see publish)
        tables = run_indicators(table, period, "municipality", engine=args.query_engine)
        parents = area_parents(table, "municipality")
        publication = publish(tables, parents, level, period.label, rules=rules)
    out.mkdir(parents=True, exist_ok=True)
    write_atomically(str(target), to_csv(publication).encode("utf-8"), overwrite=args.force)
    _out(f"wrote {target}")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``ketenzorg monitor`` to the command line's subcommands."""
    monitor = sub.add_parser(
        "monitor",
        help="half-year figures per region or municipality, after disclosure control, as CSV",
    )
    monitor.add_argument(
        "source",
        nargs="?",
        metavar="CASES_DIR | TABLE.parquet",
        help="a directory of case files, or a flat events table; default: the case store",
    )
    monitor.add_argument("--store", metavar="PATH|URL", help="the case store (default: $KETENZORG_STORE)")
    monitor.add_argument("--period", required=True, metavar="YYYYH1|YYYYH2", help="the half-year")
    monitor.add_argument("--by", choices=tuple(_BY), default="region", help="the breakdown (default region)")
    monitor.add_argument("--out", required=True, metavar="DIR", help="write DIR/monitor-PERIOD-BY.csv")
    monitor.add_argument(
        "--engine",
        dest="query_engine",
        choices=ENGINES,
        default="duckdb",
        help="where the indicators run: duckdb (embedded, default) or spark (local mode; the spark extra)",
    )
    monitor.add_argument("--threshold", type=int, default=10, help="suppress counts below this (default 10)")
    monitor.add_argument("--round-to", type=int, default=5, help="round counts to a multiple (default 5)")
    _force(monitor)
    _engine_options(monitor)
    monitor.set_defaults(func=_cmd_monitor)
