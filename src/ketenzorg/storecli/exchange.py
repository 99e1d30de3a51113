"""``store import``, ``store export``, ``store merge``: bundles into and out of the store."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from ketenzorg.cli import (
    EXIT_OK,
    _dumps_json,
    _engine,
    _out,
    _UsageError,
    _warn,
    _write,
)
from ketenzorg.storecli.common import actor, load_stored, open_store, store_new

if TYPE_CHECKING:
    from ketenzorg.disclosure import Disclosure
    from ketenzorg.store import AuditEntry, AuditRecord


def cmd_import(args: argparse.Namespace) -> int:
    from ketenzorg.loading import load_replayed

    # As `ketenzorg import`: validated, its phase changes re-decided before it is stored.
    engine = _engine(args)
    case = load_replayed(engine, args.bundle, args.format, warn=_warn(args.bundle))
    return store_new(args, engine, case, "import")


def cmd_export(args: argparse.Namespace) -> int:
    from ketenzorg.disclosurecli import disclose_case, recipient_from

    who = actor(args)
    engine = _engine(args)
    recipient_from(args, engine)  # refuse a missing or unknown recipient before opening the store
    with open_store(args, engine) as store:
        case = load_stored(store, args).case
        data, record = disclose_case(args, case, engine, source=f"case {args.case}")
        record = record.written(data, format=args.format, user=who.user, responsible_user=who.on_behalf_of)
        # Recorded before the bundle leaves: a failed write over-reports, a disclosure never goes unrecorded.
        store.record_disclosure(record, actor=who, command="store export")
    if args.out:
        _write(args.out, data, force=args.force, fmt=args.format)
        _out(
            f"exported case {args.case} to {args.out} for {record.profile_id}; "
            "the disclosure is in the audit log"
        )
    else:
        sys.stdout.buffer.write(data)
    return EXIT_OK


def _record(entry: AuditEntry) -> Disclosure | None:
    from ketenzorg.disclosure import Disclosure

    return None if entry.disclosure is None else Disclosure.from_mapping(entry.disclosure)


def _row(record: AuditRecord) -> dict[str, Any]:
    """A disclosure of the audit trail as the listing shows it; one recorded before the full record was
    kept shows its recipient and purpose only."""
    from ketenzorg.disclosurecli import summary

    entry = record.entry
    full = _record(entry)
    if full is None:
        return {
            "case_id": entry.case_id,
            "at": entry.at,
            "recipient": entry.recipient,
            "purpose": entry.purpose,
        }
    found = summary(full)
    found["at"] = entry.at
    return found


def cmd_disclosures(args: argparse.Namespace) -> int:
    """``store disclosures CASE``: what went to whom (``--client-view``, ``--fhir``, ``--json``)."""
    from ketenzorg.disclosurecli import (
        ClientLine,
        audit_event_bundle,
        print_client_view,
        print_disclosures,
        write_fhir,
    )

    engine = _engine(args)
    with open_store(args, engine) as store:
        if not any(info.case_id == args.case for info in store.cases()):
            raise _UsageError(f"case {args.case}: not in the store")
        records = store.disclosures(args.case)
    if args.fhir:
        write_fhir(audit_event_bundle(r for r in map(_record, (a.entry for a in records)) if r is not None))
    elif args.client_view:
        profiles = engine.policy.disclosure_profiles()
        lines = []
        for audit in records:
            entry, full = audit.entry, _record(audit.entry)
            kind = full.recipient.kind if full is not None else entry.recipient
            profile = profiles.get(kind)
            lines.append(
                ClientLine(
                    at=entry.at,
                    kind=kind,
                    title=profile.title if profile is not None else kind,
                    organisation=full.recipient.organisation_value if full is not None else None,
                    purpose=full.purpose if full is not None else entry.purpose,
                    sent=[s.type for s in full.sent] if full is not None else [],
                    role=entry.role,
                    by_organisation=entry.organisation,
                )
            )
        print_client_view(args.case, lines, args.lang)
    else:
        print_disclosures([_row(r) for r in records], json=args.json)
    return EXIT_OK


def cmd_received(args: argparse.Namespace) -> int:
    """``store received Type/id``: every disclosure that sent the resource, across cases (AVG art. 19)."""
    from ketenzorg.disclosurecli import print_disclosures, resource_ref

    ref = resource_ref(args.resource)
    with open_store(args, _engine(args)) as store:
        records = store.received(ref)
    print_disclosures([_row(r) for r in records], json=args.json)
    return EXIT_OK


def cmd_merge(args: argparse.Namespace) -> int:
    """As ``ketenzorg merge`` (same outcomes, same exit codes), appended to the stored case."""
    from ketenzorg.cli import _merge_keys, _merged

    keys = _merge_keys(args)
    who = actor(args)
    engine = _engine(args)
    with open_store(args, engine) as store:
        stored = load_stored(store, args)
        new, code = _merged(engine, stored.case, args, keys)
        if new is None:
            return code
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
