"""``store advance``, ``store relapse``, ``store close``: transitions the rules decide."""

from __future__ import annotations

import argparse

from ketenzorg.cli import (
    _UsageError,
)
from ketenzorg.storecli.common import record


def cmd_advance(args: argparse.Namespace) -> int:
    return record(args, "advance", lambda engine, case: engine.advance(case, reason=args.reason or ""))


def cmd_relapse(args: argparse.Namespace) -> int:
    return record(args, "relapse", lambda engine, case: engine.relapse(case, reason=args.reason))


def cmd_close(args: argparse.Namespace) -> int:
    handover = [h.strip() for h in args.handover.split(",") if h.strip()]
    if not handover:
        raise _UsageError("--handover: name the party or parties the care is handed over to")
    return record(
        args,
        "close",
        lambda engine, case: engine.close(case, handover_to=handover, summary=args.summary or ""),
    )
