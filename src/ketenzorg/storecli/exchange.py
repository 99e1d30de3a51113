"""``store import``, ``store export``, ``store merge``: bundles into and out of the store."""

from __future__ import annotations

import argparse
import sys

from ketenzorg.cli import (
    EXIT_NEGATIVE,
    EXIT_OK,
    EXIT_UNUSABLE,
    _dumps_json,
    _engine,
    _loadable,
    _out,
    _UsageError,
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
    from ketenzorg.interop.fhir import Recipient, case_to_bundle

    who = actor(args)
    engine = _engine(args)
    with open_store(args, engine) as store:
        case = load_stored(store, args).case
        try:
            bundle = case_to_bundle(case, engine=engine, recipient=Recipient.internal(), type=args.type)
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


def cmd_merge(args: argparse.Namespace) -> int:
    """As ``ketenzorg merge`` (same outcomes, same exit codes), appended to the stored case."""
    from ketenzorg.cli import _print_outcome
    from ketenzorg.errors import ValidationError
    from ketenzorg.interop.merge import MergeRefusedError, SenderUnknownError, merge_bundle
    from ketenzorg.interop.signature import PartyKeys
    from ketenzorg.loading import load_bundle, load_json

    if args.sender is None and args.keys is None:
        raise _UsageError(
            "--from: name the care-team member that sent the bundle (--from PARTY), "
            "or give the partners' keys (--keys KEYS.json) for a signed bundle"
        )
    keys = None
    if args.keys is not None:
        try:
            keys = PartyKeys.from_mapping(load_json(args.keys))
        except ValidationError as error:
            raise error.with_source(args.keys) from None
    who = actor(args)
    engine = _engine(args)
    bundle = load_bundle(args.bundle, args.format)
    with open_store(args, engine) as store:
        stored = load_stored(store, args)
        try:
            new, outcome = merge_bundle(engine, stored.case, bundle, sender=args.sender, keys=keys)
        except SenderUnknownError as error:
            _print_outcome(error.outcome, args.bundle, sys.stderr)
            return EXIT_UNUSABLE
        except MergeRefusedError as error:
            _print_outcome(error.outcome, args.bundle, sys.stderr)
            return EXIT_NEGATIVE
        _print_outcome(outcome, args.bundle, sys.stderr, quiet_ok=True)
        added = new.events[len(stored.case.events) :]
        version = stored.version
        if added:  # a bundle merged before adds nothing: no append, no audit record of nothing
            version = store.append(
                args.case, added, expected_version=stored.version, actor=who, command="store merge"
            ).version
    if args.json:
        shown = {"case_id": args.case, "version": version, "event_ids": [e.id for e in added]}
        sys.stdout.write(_dumps_json(shown))
    elif added:
        _out(f"merged {len(added)} event(s) from {args.bundle} into case {args.case} (version {version})")
    else:
        _out(f"nothing new in {args.bundle}: case {args.case} stays at version {version}")
    return EXIT_OK
