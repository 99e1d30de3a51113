"""``store import``, ``store export``, ``store merge``: bundles into and out of the store."""

from __future__ import annotations

import argparse
import sys

from ketenzorg.cli import (
    EXIT_OK,
    _dumps_json,
    _engine,
    _loadable,
    _out,
    _warn,
    _write,
)
from ketenzorg.storecli.common import actor, load_stored, open_store, store_new


def cmd_import(args: argparse.Namespace) -> int:
    from ketenzorg.loading import load_replayed

    # As `ketenzorg import`: validated, its phase changes re-decided before it is stored.
    engine = _engine(args)
    case = load_replayed(engine, args.bundle, args.format, warn=_warn(args.bundle))
    return store_new(args, engine, case, "import")


def cmd_export(args: argparse.Namespace) -> int:
    from ketenzorg.errors import ValidationError
    from ketenzorg.interop.fhir import case_to_bundle

    who = actor(args)
    engine = _engine(args)
    with open_store(args, engine) as store:
        case = load_stored(store, args).case
        try:
            bundle = case_to_bundle(case, engine=engine, type=args.type)
        except ValidationError as error:
            raise error.with_source(args.case) from None
        what = f"case {args.case} as a FHIR bundle"
        if args.format == "xml":
            from ketenzorg.interop.fhirxml import to_xml

            data = _loadable(to_xml(bundle), "xml", what)
        else:
            data = _loadable(_dumps_json(bundle).encode(), "json", what)
        # Recorded before the bundle leaves: a failed write over-reports, a disclosure never goes unrecorded.
        store.record_disclosure(
            args.case, recipient=args.recipient, purpose=args.purpose, actor=who, command="store export"
        )
    if args.out:
        _write(args.out, data, force=args.force, fmt=args.format)
        _out(f"exported case {args.case} to {args.out}; the disclosure is in the audit log")
    else:
        sys.stdout.buffer.write(data)
    return EXIT_OK
