"""``ketenzorg report CASE --for RECIPIENT``: the case report for a case conference, one self-contained
HTML file, made for one recipient and recorded as a disclosure.

A report shows the case to someone, so it is a disclosure like an export: it names its recipient
(``--for internal`` is the organisation's own full report), shows only what that recipient's profile
allows (the report is drawn from the bundle :func:`ketenzorg.disclosure.disclose` gives it), and is
logged with the SHA-256 of the exact bytes written: in ``<out>.disclosures.jsonl`` next to the file
(or ``--log``), or, for ``store report``, in the store's audit trail.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ketenzorg.cli import EXIT_OK, _engine, _engine_options, _force, _out, _parse_at, _UsageError, _warn

if TYPE_CHECKING:
    from ketenzorg.case import Case
    from ketenzorg.disclosure import Disclosure, Recipient
    from ketenzorg.engine import Engine

__all__ = ["cmd_store_report", "recipient_options", "register", "write_report"]

USER_ENV = "KETENZORG_USER"


def write_report(path: str, html: str, *, force: bool) -> bytes:
    """Write the report atomically; an existing file only with ``force``, never through a link.

    Returns the exact bytes written (their hash goes into the disclosure log)."""
    from ketenzorg.files import write_atomically

    data = html.encode("utf-8")
    write_atomically(path, data, overwrite=force)
    return data


def _recipient(args: argparse.Namespace, engine: Engine) -> Recipient:
    """The recipient named by ``--for``: a kind among the profiles in force (the shipped ones, and
    those the organisation's policy adds or changes)."""
    from ketenzorg.disclosure import Recipient

    known = ", ".join(sorted(engine.policy.disclosure_profiles()))
    if not args.recipient:
        raise _UsageError(
            "--for: a report is a disclosure; name its recipient "
            f"(--for internal for the organisation's own full report); known: {known}"
        )
    if args.recipient not in engine.policy.disclosure_profiles():
        raise _UsageError(f"--for: not a known recipient; known: {known}")
    system = value = None
    if args.org:
        system, sep, value = args.org.rpartition("|")
        if not sep or not system or not value:
            raise _UsageError("--org: expected SYSTEM|VALUE (the recipient organisation's identifier)")
    return Recipient(
        args.recipient,
        organisation_system=system,
        organisation_value=value,
        party=args.party,
        person=args.person,
    )


def _report(
    case: Case, engine: Engine, args: argparse.Namespace, recipient: Recipient
) -> tuple[str, Disclosure]:
    from ketenzorg.errors import ValidationError
    from ketenzorg.report import render_html
    from ketenzorg.report.disclosed import recipient_report

    try:
        report, disclosed = recipient_report(case, engine, recipient, at=_parse_at(args.at))
    except ValidationError as error:  # an instrument that is not installed, say
        raise error.with_source(args.case) from None
    return render_html(report, args.lang), disclosed.record


def _cmd_report(args: argparse.Namespace) -> int:
    from ketenzorg.disclosure import append_log, log_path_for
    from ketenzorg.loading import load_replayed

    if not args.out and not args.log:
        raise _UsageError(
            "--out: the report is recorded as a disclosure in a log next to the file it is written to; "
            "give --out FILE.html (or, to write it to stdout, --log LOG.jsonl)"
        )
    engine = _engine(args)
    recipient = _recipient(args, engine)
    case = load_replayed(engine, args.case, args.format, warn=_warn(args.case))
    html, record = _report(case, engine, args, recipient)
    data = html.encode("utf-8")
    if args.out and os.path.lexists(args.out) and not args.force:
        write_report(args.out, html, force=False)  # refuses, before anything is recorded
    # Recorded before the report leaves, as the store does: a failed write over-reports, a
    # disclosure never goes unrecorded.
    log = Path(args.log) if args.log else log_path_for(Path(args.out))
    user = args.user or os.environ.get(USER_ENV) or None
    append_log(log, record.written(data, format="html", user=user, responsible_user=args.on_behalf_of))
    if args.out:
        data = write_report(args.out, html, force=args.force)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    if args.out:
        _out(
            f"wrote {args.out} ({len(data) // 1024} KiB) for {recipient.label()}; the disclosure is in {log}"
        )
    return EXIT_OK


def cmd_store_report(args: argparse.Namespace) -> int:
    """``store report CASE --for RECIPIENT``: the report of a stored case, recorded in the audit trail."""
    from ketenzorg.storecli.common import actor, load_stored, open_store

    who = actor(args)
    engine = _engine(args)
    recipient = _recipient(args, engine)
    with open_store(args, engine) as store:
        case = load_stored(store, args).case
        html, record = _report(case, engine, args, recipient)
        # Recorded before the report leaves, as `store export` does: a failed write over-reports,
        # a disclosure never goes unrecorded.
        record = record.written(
            html.encode("utf-8"), format="html", user=who.user, responsible_user=who.on_behalf_of
        )
        store.record_disclosure(record, actor=who, command="store report")
    if args.out:
        data = write_report(args.out, html, force=args.force)
        _out(
            f"wrote {args.out} ({len(data) // 1024} KiB) for {recipient.label()}; "
            "the disclosure is in the audit log"
        )
    else:
        sys.stdout.buffer.write(html.encode("utf-8"))
    return EXIT_OK


def recipient_options(command: argparse.ArgumentParser) -> None:
    """``--for``, ``--org``, ``--party``, ``--person``: whom a report is for."""
    command.add_argument(
        "--for",
        dest="recipient",
        metavar="RECIPIENT",
        help="the kind of recipient (a disclosure profile); internal: the organisation's own full report",
    )
    command.add_argument(
        "--org", metavar="SYSTEM|VALUE", help="the recipient organisation's identifier (for the log)"
    )
    command.add_argument("--party", metavar="PARTY_ID", help="the recipient's party id in the care team")
    command.add_argument("--person", metavar="PERSON_ID", help="the person the recipient is or acts for")


def report_options(command: argparse.ArgumentParser) -> None:
    """The options of a report besides the case and the engine: recipient, output, moment."""
    recipient_options(command)
    command.add_argument("--out", metavar="FILE.html", help="write the report here")
    _force(command)
    command.add_argument("--at", metavar="DATETIME", help="moment of the report (default: now)")


def register(sub: Any) -> None:
    """Add ``ketenzorg report`` to the command line's subcommands."""
    report = sub.add_parser(
        "report",
        help="write the case report (timeline, decision, plan) for a recipient as one self-contained "
        "HTML file, recorded as a disclosure",
    )
    report.add_argument("case", metavar="CASE", help="a case file or a FHIR bundle (JSON or XML)")
    report_options(report)
    report.add_argument(
        "--log", metavar="LOG.jsonl", help="the disclosure log (default: FILE.html.disclosures.jsonl)"
    )
    report.add_argument("--user", metavar="USER", help=f"who makes the report (or ${USER_ENV})")
    report.add_argument("--on-behalf-of", metavar="USER", help="the responsible user on whose behalf")
    report.add_argument(
        "--format", choices=("json", "xml"), default=None, help="input format (default: by content)"
    )
    _engine_options(report)
    report.set_defaults(func=_cmd_report)
