"""``store destroy``, ``hold``, ``release``, ``retention``: retention and real erasure."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import TYPE_CHECKING

from ketenzorg.cli import (
    EXIT_OK,
    _dumps_json,
    _out,
    _parse_at,
    _UsageError,
)
from ketenzorg.storecli.common import actor, open_store

if TYPE_CHECKING:
    from ketenzorg.case import Case
    from ketenzorg.engine import Engine
    from ketenzorg.store import CaseStore


def cmd_destroy(args: argparse.Namespace) -> int:
    if not args.yes:
        raise _UsageError("--yes: destroying a case erases it for good; confirm with --yes")
    who = actor(args)
    with open_store(args) as store:
        stored = store.load(args.case)  # refuses a case that is not there (or already destroyed)
        _check_retention(store, stored.case, args)
        record = store.destroy(args.case, reason=args.reason, actor=who, command="store destroy")
    if args.json:
        sys.stdout.write(_dumps_json({"case_id": args.case, "destroyed": True, "audit_seq": record.seq}))
    else:
        _out(f"destroyed case {args.case}; the audit log keeps a record without its content")
    return EXIT_OK


def _retention_day(args: argparse.Namespace, engine: Engine) -> date:
    """``--at DATE`` (a date or a moment), else today by the engine's clock."""
    at = getattr(args, "at", None)
    if at is None:
        return engine.clock().date()
    try:
        return date.fromisoformat(at)
    except ValueError:
        moment = _parse_at(at)
        assert moment is not None
        return moment.date()


def _check_retention(store: CaseStore, case: Case, args: argparse.Namespace) -> None:
    """A case still within its retention period is destroyed only with ``--force-early REASON``;
    the hold is checked by the store itself."""
    from ketenzorg.store.retention import LegalHoldError, legal_hold, load_retention

    hold = legal_hold(store, case.case_id)
    if hold is not None:  # said before the retention date, which would not matter
        raise LegalHoldError(
            store.name,
            f"case {case.case_id} is under legal hold (audit record {hold.seq}, set {hold.entry.at}); "
            "lift it with `store release` first",
        )
    due = load_retention(args.retention).date(case)
    if due.past(_retention_day(args, store.engine)):
        return
    if args.force_early is None:
        until = due.until.isoformat() if due.until else "the case is open"
        raise _UsageError(
            f"--force-early: case {case.case_id} is within its retention period ({due.kind}: {due.rule}; "
            f"until {until}); give --force-early REASON to destroy it early"
        )
    if not args.force_early.strip():
        raise _UsageError("--force-early: give the reason (e.g. a court order's ECLI)")
    args.reason = f"{args.reason} (early: {args.force_early})"


def cmd_hold(args: argparse.Namespace) -> int:
    from ketenzorg.store.retention import set_hold

    hold = args.store_command == "hold"
    who = actor(args)
    with open_store(args) as store:
        record = set_hold(
            store, args.case, hold=hold, reason=args.reason, actor=who, command=f"store {args.store_command}"
        )
    if args.json:
        sys.stdout.write(_dumps_json({"case_id": args.case, "legal_hold": hold, "audit_seq": record.seq}))
    else:
        _out(f"case {args.case}: legal hold {'set' if hold else 'lifted'} (audit record {record.seq})")
    return EXIT_OK


def cmd_retention(args: argparse.Namespace) -> int:
    from ketenzorg.store.retention import legal_holds, load_retention

    rules = load_retention(args.retention)
    with open_store(args) as store:
        on = _retention_day(args, store.engine)
        holds = legal_holds(store)
        rows = []
        for info in store.cases():
            if info.destroyed:
                continue
            due = rules.date(store.load(info.case_id).case)
            if due.past(on):
                row = due.as_json()
                held = holds.get(info.case_id)
                row["legal_hold"] = held is not None
                rows.append(row)
    if args.json:
        sys.stdout.write(_dumps_json({"at": on.isoformat(), "past_retention": rows}))
        return EXIT_OK
    if not rows:
        _out(f"no case is past its retention date on {on.isoformat()}")
    for row in rows:
        hold = "  LEGAL HOLD" if row["legal_hold"] else ""
        _out(
            f"{row['case_id']}  {row['kind']}: {row['rule']}; closed {row['closed_on']}, "
            f"kept until {row['retain_until']} ({row['basis']}){hold}"
        )
    return EXIT_OK
