"""``ketenzorg bulk-export``: every case of a store or a directory as FHIR NDJSON for one recipient."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ketenzorg.cli import EXIT_OK, _engine, _engine_options, _out, _UsageError

if TYPE_CHECKING:
    from ketenzorg.disclosure import Disclosure, Recipient
    from ketenzorg.engine import Engine

__all__ = ["register"]


def _recipient(args: argparse.Namespace, engine: Engine) -> Recipient:
    """The recipient ``--for`` names: a kind among the profiles in force (the shipped ones, and those
    the organisation's policy adds or changes, ``--policy``)."""
    from ketenzorg.disclosure import Recipient

    profiles = engine.policy.disclosure_profiles()
    kinds = ", ".join(sorted(profiles))
    if not args.recipient:
        raise _UsageError(f"--for: name the recipient of the export; known: {kinds}")
    if args.recipient not in profiles:
        raise _UsageError(f"--for: is not a known recipient; known: {kinds}")
    system = value = None
    if args.org is not None:
        system, bar, value = args.org.rpartition("|")
        if not bar or not system.strip() or not value.strip():
            raise _UsageError("--org: expected SYSTEM|VALUE, e.g. http://fhir.nl/fhir/NamingSystem/ura|1234")
    return Recipient(args.recipient, organisation_system=system, organisation_value=value)


def _progress(total: int) -> Callable[[int], None] | None:
    """A case counter on stderr, only on a terminal (nothing in a pipe, a log or a test)."""
    if not sys.stderr.isatty():
        return None

    def show(done: int) -> None:
        sys.stderr.write(f"\rbulk-export: {done:,}/{total:,} cases")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def _cmd_bulk_export(args: argparse.Namespace) -> int:
    from ketenzorg.interop.bulk import bulk_export
    from ketenzorg.monitor.flat import cases_from_dir, cases_from_store

    engine = _engine(args)
    recipient = _recipient(args, engine)
    types = None
    if args.type_filter:
        types = {t.strip() for group in args.type_filter for t in group.split(",") if t.strip()}
    request = f"ketenzorg bulk-export --for {recipient.kind}" + (
        f" --type-filter {','.join(sorted(types))}" if types else ""
    )
    common: dict[str, Any] = {
        "engine": engine,
        "recipient": recipient,
        "types": types,
        "request": request,
        "force": args.force,
    }
    if args.source is not None:
        if args.store is not None:
            raise _UsageError("give either CASES_DIR or --store, not both")
        if not os.path.isdir(args.source):
            raise _UsageError(f"{args.source}: not a directory of case files")
        total = sum(1 for name in os.listdir(args.source) if name.endswith(".json"))
        result = bulk_export(
            cases_from_dir(args.source, engine),
            args.out,
            user=args.user or os.environ.get("KETENZORG_USER"),
            responsible_user=args.on_behalf_of,
            progress=_progress(total),
            **common,
        )
        where = f"the disclosures are in {result.log}"
    else:
        from ketenzorg.storecli.common import actor, open_store

        who = actor(args)
        with open_store(args, engine) as store:

            def record(disclosure: Disclosure) -> None:
                # the full record, with the hash of the case's own lines, into the case's audit chain
                store.record_disclosure(disclosure, actor=who, command="bulk-export")

            total = sum(1 for info in store.cases() if not info.destroyed)
            result = bulk_export(
                cases_from_store(store),
                args.out,
                user=who.user,
                responsible_user=who.on_behalf_of,
                on_disclosure=record,
                progress=_progress(total),
                **common,
            )
        where = f"the disclosures are in the store's audit log and in {result.log}"
    lines = sum(result.counts.values())
    _out(f"exported {result.cases} cases ({lines} resources) to {result.directory}; {where}")
    return EXIT_OK


def register(sub: Any, *, command: str | None = None) -> None:
    """Add ``ketenzorg bulk-export`` to the command line's subcommands; its actor options (shared with
    the store commands) only when it is the ``command`` run, so other commands never load them."""
    bulk = sub.add_parser(
        "bulk-export",
        help="every case of a store or directory as FHIR NDJSON (Bulk Data layout) for one recipient",
    )
    bulk.add_argument(
        "source", nargs="?", metavar="CASES_DIR", help="a directory of case files; default: the case store"
    )
    bulk.add_argument(
        "--store", metavar="PATH|URL", help="the case store (default: $KETENZORG_STORE, else ./ketenzorg.db)"
    )
    bulk.add_argument(
        "--for", dest="recipient", metavar="KIND", help="the kind of recipient (a disclosure profile)"
    )
    bulk.add_argument("--org", metavar="SYSTEM|VALUE", help="the recipient organisation's identifier")
    bulk.add_argument(
        "--out", required=True, metavar="DIR", help="write DIR/<Type>.ndjson and DIR/manifest.json"
    )
    bulk.add_argument(
        "--type-filter",
        action="append",
        metavar="TYPE[,TYPE...]",
        help="only these resource types (repeatable), as Bulk Data's _type",
    )
    bulk.add_argument(
        "--force", action="store_true", help="replace an earlier export in DIR (its disclosure log is kept)"
    )
    if command == "bulk-export":
        from ketenzorg.storecli.options import actor_options

        actor_options(bulk)
    else:
        bulk.set_defaults(user=None, role=None, organisation=None, on_behalf_of=None)
    _engine_options(bulk)
    bulk.set_defaults(func=_cmd_bulk_export)
