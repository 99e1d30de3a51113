"""``ketenzorg report CASE``: the case report for a case conference, one self-contained HTML file."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ketenzorg.cli import EXIT_OK, _engine, _engine_options, _force, _out, _parse_at, _warn

__all__ = ["register", "write_report"]


def write_report(path: str, html: str, *, force: bool) -> None:
    """Write the report atomically; an existing file only with ``force``, never through a link."""
    from ketenzorg.files import write_atomically

    write_atomically(path, html.encode("utf-8"), overwrite=force)


def _cmd_report(args: argparse.Namespace) -> int:
    from ketenzorg.loading import load_replayed
    from ketenzorg.report import build_report, render_html

    engine = _engine(args)
    at = _parse_at(args.at)
    case = load_replayed(engine, args.case, args.format, warn=_warn(args.case))
    # The one way in: a recipient's report will hand build_report that recipient's view of the case.
    html = render_html(build_report(case, engine, at=at), args.lang)
    if args.out:
        write_report(args.out, html, force=args.force)
        _out(f"wrote {args.out} ({len(html.encode('utf-8')) // 1024} KiB)")
    else:
        sys.stdout.write(html)
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``ketenzorg report`` to the command line's subcommands."""
    report = sub.add_parser(
        "report", help="write the case report (timeline, decision, plan) as one self-contained HTML file"
    )
    report.add_argument("case", metavar="CASE", help="a case file or a FHIR bundle (JSON or XML)")
    report.add_argument("--out", metavar="FILE.html", help="write the report here (else stdout)")
    _force(report)
    report.add_argument("--at", metavar="DATETIME", help="moment of the report (default: now)")
    report.add_argument(
        "--format", choices=("json", "xml"), default=None, help="input format (default: by content)"
    )
    _engine_options(report)
    report.set_defaults(func=_cmd_report)
