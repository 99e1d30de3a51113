"""``store open``: a new case from an intake."""

from __future__ import annotations

import argparse

from ketenzorg.cli import (
    _engine,
    _warn,
)
from ketenzorg.storecli.common import store_new


def cmd_open(args: argparse.Namespace) -> int:
    from ketenzorg.loading import load_replayed

    engine = _engine(args)
    case = load_replayed(engine, args.source, "json", warn=_warn(args.source))
    return store_new(args, engine, case, "open")
