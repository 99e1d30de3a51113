"""``ketenzorg monitor``: the half-year figures of a region, after disclosure control: a CSV in the
layout of a CBS StatLine table and a FHIR MeasureReport per half-year, and an HTML page per region."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from ketenzorg.cli import EXIT_OK, _engine, _engine_options, _force, _out

ENGINES = ("duckdb", "spark")
"""``--engine``: kept here, so the command line loads no monitoring module before it runs."""

__all__ = ["register"]

_BY = {"region": "region", "lead-municipality": "lead_municipality", "municipality": "municipality"}


DEMO_CASES = 600
"""Cases of the synthetic region ``--demo`` makes: enough that most cells of a region are published."""
DEMO_PERIODS = "2025H1..2026H1"
MAX_PERIODS = 20


def _periods(text: str) -> list[Any]:
    """``2026H1``, or a range ``2025H1..2026H1`` (oldest first, at most :data:`MAX_PERIODS`)."""
    from ketenzorg.monitor import MonitorError
    from ketenzorg.monitor.indicators import Period

    first, _, last = text.partition("..")
    start, end = Period.parse(first), Period.parse(last or first)
    periods = [start]
    while periods[-1].label < end.label and len(periods) <= MAX_PERIODS:
        label = periods[-1].label
        year, half = int(label[:4]), int(label[5])
        periods.append(Period.parse(f"{year}H2" if half == 1 else f"{year + 1}H1"))
    if periods[-1].label != end.label:
        raise MonitorError(f"period: a range runs forward over at most {MAX_PERIODS} half-years")
    return periods


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "area"


def _keep_table(table: str, target: Path, *, force: bool) -> None:
    """Copy the flat events table to ``target`` all or nothing: a temporary file beside it, flushed,
    then renamed; never through a symbolic link, never over a file without ``force``. Streamed, so a
    table of millions of rows is never held in memory."""
    import shutil

    from ketenzorg.monitor import MonitorError

    if target.is_symlink():
        raise MonitorError(f"{target} is a symbolic link; it is not written through (give the real path)")
    if target.exists() and not force:
        raise MonitorError(f"{target} exists (use --force to replace it)")
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        with open(table, "rb") as source, os.fdopen(handle, "wb") as sink:
            shutil.copyfileobj(source, sink, 1 << 20)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(temporary, target)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise MonitorError(f"{target}: cannot be written ({error.strerror})") from None
    _out(f"wrote {target} (the flat events table: no names, no free text, no addresses, no case ids)")


def _cmd_monitor(args: argparse.Namespace) -> int:
    import orjson

    from ketenzorg.files import write_atomically
    from ketenzorg.interop.measurereport import measure_reports
    from ketenzorg.monitor import MonitorError
    from ketenzorg.monitor.flat import cases_from_dir, cases_from_store, write_parquet
    from ketenzorg.monitor.indicators import area_parents, run_indicators
    from ketenzorg.monitor.page import region_pages
    from ketenzorg.monitor.publish import publish, to_csv
    from ketenzorg.monitor.sdc import Rules

    if args.period is None and not args.demo:
        raise MonitorError("period: give a half-year (--period 2026H1) or a range (2025H1..2026H1)")
    if args.demo and (args.source is not None or args.store is not None):
        raise MonitorError("--demo makes its own synthetic region: give no store or source with it")
    periods = _periods(args.period or DEMO_PERIODS)
    level = _BY[args.by]
    out = Path(args.out)
    for period in periods:
        for suffix in ("csv", "measurereport.json"):
            target = out / f"monitor-{period.label}-{args.by}.{suffix}"
            if target.exists() and not args.force:
                raise MonitorError(f"{target} exists (use --force to replace it)")
    if args.table_out is not None:
        if args.source is not None and args.source.endswith(".parquet"):
            raise MonitorError("--table-out: the source is already a flat table")
        if os.path.lexists(args.table_out) and not args.force:
            raise MonitorError(f"{args.table_out} exists (use --force to replace it)")
    try:
        rules = Rules(threshold=args.threshold, base=args.round_to)
    except ValueError as error:
        raise MonitorError(str(error)) from None
    with tempfile.TemporaryDirectory(prefix="ketenzorg-monitor-") as work:
        if args.source is not None and args.source.endswith(".parquet"):
            from ketenzorg.monitor.flat import check_table

            check_table(args.source)
            table = args.source
        else:
            table = os.path.join(work, "events.parquet")
            if args.demo:
                from ketenzorg.monitor.synth import generate

                write_parquet(generate(DEMO_CASES, seed=args.seed), table)
            else:
                engine = _engine(args)
                if args.source is not None:
                    if not os.path.isdir(args.source):
                        raise MonitorError(
                            f"{args.source}: not a directory of case files or a .parquet table"
                        )
                    write_parquet(cases_from_dir(args.source, engine), table)
                else:
                    from ketenzorg.storecli.common import open_store

                    # a store that is not there is refused, never created empty
                    with open_store(args, engine) as store:
                        write_parquet(cases_from_store(store), table)
        if args.table_out is not None:
            _keep_table(table, Path(args.table_out), force=args.force)
        # protected from the finest level up, whatever is published (see publish)
        if args.query_engine == "spark" and len(periods) > 1:
            from ketenzorg.monitor.spark import local_session

            # one Spark for every half-year of the range, not one start-up each
            session = local_session(os.path.join(work, "spark"))
            try:
                tables = [
                    run_indicators(table, period, "municipality", engine="spark", spark=session)
                    for period in periods
                ]
            finally:
                session.stop()
        else:
            tables = [
                run_indicators(table, period, "municipality", engine=args.query_engine) for period in periods
            ]
        parents = area_parents(table, "municipality")
        publications = [
            publish(t, parents, level, period.label, rules=rules)
            for t, period in zip(tables, periods, strict=True)
        ]
    span = periods[0].label if len(periods) == 1 else f"{periods[0].label}-{periods[-1].label}"
    written: dict[Path, bytes] = {}
    for publication in publications:
        stem = f"monitor-{publication.period}-{args.by}"
        written[out / f"{stem}.csv"] = to_csv(publication).encode("utf-8")
        bundle = measure_reports([publication])
        written[out / f"{stem}.measurereport.json"] = orjson.dumps(bundle, option=orjson.OPT_INDENT_2) + b"\n"
    pages = region_pages(publications, args.lang, threshold=rules.threshold, base=rules.base)
    for region, html in pages.items():
        written[out / f"monitor-{span}-{args.by}-{_slug(region)}.{args.lang}.html"] = html.encode("utf-8")
    existing = [path for path in written if path.exists()]
    if existing and not args.force:
        raise MonitorError(f"{existing[0]} exists (use --force to replace it)")
    out.mkdir(parents=True, exist_ok=True)
    for path, data in written.items():
        write_atomically(str(path), data, overwrite=args.force)
        _out(f"wrote {path}")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``ketenzorg monitor`` to the command line's subcommands."""
    monitor = sub.add_parser(
        "monitor",
        help="half-year figures per region or municipality, after disclosure control: CSV, FHIR, HTML",
    )
    monitor.add_argument(
        "source",
        nargs="?",
        metavar="CASES_DIR | TABLE.parquet",
        help="a directory of case files, or a flat events table; default: the case store",
    )
    monitor.add_argument("--store", metavar="PATH|URL", help="the case store (default: $KETENZORG_STORE)")
    monitor.add_argument(
        "--period",
        metavar="YYYYHn[..YYYYHn]",
        help=f"the half-year, or a range of them for the trends (--demo: {DEMO_PERIODS})",
    )
    monitor.add_argument("--by", choices=tuple(_BY), default="region", help="the breakdown (default region)")
    monitor.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="write DIR/monitor-PERIOD-BY.csv and .measurereport.json, and an HTML page per region",
    )
    monitor.add_argument(
        "--demo",
        action="store_true",
        help=f"try it on a synthetic region ({DEMO_CASES} invented cases in three regions)",
    )
    monitor.add_argument("--seed", type=int, default=1, help="--demo: the seed of the synthetic region")
    monitor.add_argument(
        "--engine",
        dest="query_engine",
        choices=ENGINES,
        default="duckdb",
        help="where the indicators run: duckdb (embedded, default) or spark (local mode; the spark extra)",
    )
    monitor.add_argument(
        "--table-out",
        metavar="FILE.parquet",
        help="also keep the flat events table the figures were made from (one row per event, for "
        "analysts: no names, free text, addresses or case ids), written atomically",
    )
    monitor.add_argument("--threshold", type=int, default=10, help="suppress counts below this (default 10)")
    monitor.add_argument("--round-to", type=int, default=5, help="round counts to a multiple (default 5)")
    _force(monitor)
    _engine_options(monitor)
    monitor.set_defaults(func=_cmd_monitor)
