"""The command line of disclosure: an export names its recipient and is logged; the log answers questions.

``ketenzorg export`` and ``ketenzorg store export`` take the recipient options (:func:`recipient_options`)
and disclose through :func:`disclose_case`; ``ketenzorg disclosures LOG.jsonl`` reads a file log, and
the store's ``disclosures`` and ``received`` commands (``storecli``) show its audit trail through the
same presentation (:func:`print_disclosures`, :func:`print_client_view`, :func:`audit_event_bundle`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ketenzorg.cli import EXIT_OK, _dumps_json, _loadable, _out, _UsageError

if TYPE_CHECKING:
    from ketenzorg.case import Case
    from ketenzorg.disclosure import Disclosure, DisclosureProfile, Recipient
    from ketenzorg.engine import Engine
    from ketenzorg.messages import Language

__all__ = [
    "ClientLine",
    "append_to_log",
    "audit_event_bundle",
    "disclose_case",
    "print_client_view",
    "print_disclosures",
    "read_log",
    "recipient_from",
    "recipient_options",
    "register",
    "resource_ref",
    "summary",
    "write_fhir",
]

AUDIT_SOURCE = "ketenzorg"
"""How an AuditEvent names the system that recorded the disclosure."""


def recipient_options(command: argparse.ArgumentParser, *, users: bool = True) -> None:
    """``--for KIND`` and what names the recipient further; ``--user``/``--responsible-user`` unless the
    command has its own (the store's actor options)."""
    command.add_argument(
        "--for",
        dest="recipient_kind",
        metavar="KIND",
        help="who receives it: a kind of recipient (a disclosure profile: police, school, ...); "
        "`internal`: the organisation itself, the whole case. Required",
    )
    command.add_argument(
        "--org",
        metavar="SYSTEM|VALUE",
        help="the recipient organisation's identifier (e.g. urn:oid:2.16.528.1.1007.3.3|12345678), logged",
    )
    command.add_argument("--party", metavar="PARTY_ID", help="the recipient's party id in the care team")
    command.add_argument(
        "--person", metavar="PERSON_ID", help="the person the recipient is or acts for (a school's child)"
    )
    command.add_argument(
        "--purpose",
        metavar="CODE",
        help="the purpose of use (v3-ActReason code); must be the recipient profile's purpose",
    )
    command.add_argument(
        "--screen",
        metavar="STRINGS_FILE",
        help="withhold every outgoing text holding one of these strings (one a line: secret addresses, say)",
    )
    if users:
        command.add_argument("--user", metavar="ID", help="who exports (NEN 7513), logged")
        command.add_argument(
            "--responsible-user", metavar="ID", help="on whose behalf (default: --user), logged"
        )


def _organisation(value: str | None) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    system, bar, code = value.partition("|")
    if not bar or not system.strip() or not code.strip():
        raise _UsageError("--org: expected SYSTEM|VALUE, the organisation identifier's system and value")
    return system.strip(), code.strip()


def recipient_from(
    args: argparse.Namespace, engine: Engine
) -> tuple[Recipient, Mapping[str, DisclosureProfile]]:
    """The recipient the options name and the profiles to choose from (the policy's, over the shipped)."""
    from ketenzorg.disclosure import Recipient

    profiles = engine.policy.disclosure_profiles()
    kind: str | None = args.recipient_kind
    known = ", ".join(sorted(profiles))
    if kind is None or not kind.strip():
        raise _UsageError(
            f"--for: name the recipient; one of: {known} (internal: the organisation itself, the whole case)"
        )
    if kind not in profiles:
        raise _UsageError(f"--for: not a known recipient; one of: {known}")
    system, value = _organisation(args.org)
    return Recipient(kind, system, value, args.party or None, args.person or None), profiles


def disclose_case(
    args: argparse.Namespace, case: Case, engine: Engine, *, source: str
) -> tuple[bytes, Disclosure]:
    """The bytes to write for the recipient the options name, and the record (not yet hashed).

    A screen hit is reported on stderr as a count, never the text; ``--purpose`` other than the
    profile's is refused (a disclosure for another purpose needs a profile for it)."""
    from ketenzorg.disclosure import ListScreen, disclose
    from ketenzorg.errors import ValidationError

    recipient, profiles = recipient_from(args, engine)
    screens = []
    if args.screen is not None:
        screens.append(ListScreen.from_file(args.screen))
    try:
        result = disclose(
            case, engine=engine, recipient=recipient, type=args.type, profiles=profiles, screens=screens
        )
    except ValidationError as error:  # an instrument that is not installed, say
        raise error.with_source(source) from None
    record = result.record
    if args.purpose is not None and args.purpose != record.purpose:
        raise _UsageError(
            f"--purpose: the profile {record.profile_id} discloses for {record.purpose}; a disclosure for "
            "another purpose needs a profile for it"
        )
    if record.screened_texts:
        sys.stderr.write(
            f"ketenzorg: warning: {record.screened_texts} outgoing text(s) matched the screen "
            "and were withheld\n"
        )
    what = f"{source} as a FHIR bundle for {record.profile_id}"
    if args.format == "xml":
        from ketenzorg.interop.fhirxml import to_xml

        return _loadable(to_xml(result.bundle), "xml", f"{what} in XML"), record
    return _loadable(_dumps_json(result.bundle).encode(), "json", f"{what} in JSON"), record


def append_to_log(path: Path, record: Disclosure) -> None:
    """Append ``record`` to the log file; a log that cannot be written is a FileWriteError (exit 2)."""
    from ketenzorg.disclosure import append_log
    from ketenzorg.errors import FileWriteError

    try:
        append_log(path, record)
    except OSError as error:
        raise FileWriteError(str(path), f"cannot be written ({error.strerror})") from None


# --- showing disclosures ---------------------------------------------------------------------------


def summary(record: Disclosure) -> dict[str, Any]:
    """One disclosure as the listing shows it (the record's mapping, and the number of resources)."""
    found = record.to_mapping()
    found["resources"] = len(record.sent)
    return found


def print_disclosures(rows: Sequence[Mapping[str, Any]], *, json: bool) -> None:
    """What went to whom: one line a disclosure (``--json``: the records)."""
    if json:
        sys.stdout.write(_dumps_json(list(rows)))
        return
    if not rows:
        _out("no disclosures")
        return
    for row in rows:
        recipient = row["recipient"]
        label = recipient.get("kind") if isinstance(recipient, Mapping) else str(recipient)
        if isinstance(recipient, Mapping) and recipient.get("organisation_value"):
            label = f"{label} ({recipient.get('organisation_system')}|{recipient['organisation_value']})"
        profile = row.get("profile")
        if not isinstance(profile, Mapping):  # recorded before the full record was kept
            _out(
                f"{row['at']}  case {row['case_id']}  to {label}  purpose: {row['purpose']}  (no full record)"
            )
            continue
        _out(
            f"{row['at']}  case {row['case_id']}  to {label}  profile {profile['id']} v{profile['version']}  "
            f"purpose {row['purpose']}  {row['resources']} resource(s)  {row.get('format')}  "
            f"sha256 {row.get('sha256')}  by {row.get('user')} for {row.get('responsible_user')}"
        )


def audit_event_bundle(records: Iterable[Disclosure]) -> dict[str, Any]:
    """The records as a FHIR R4 Bundle (collection) of AuditEvents (IHE BALP privacy disclosure)."""
    from ketenzorg.disclosure import to_audit_event

    entries = []
    for record in records:
        event = to_audit_event(record, source=AUDIT_SOURCE)
        entries.append({"fullUrl": f"urn:uuid:{event['id']}", "resource": event})
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection"}
    if entries:
        bundle["entry"] = entries
    return bundle


def write_fhir(bundle: Mapping[str, Any]) -> None:
    sys.stdout.write(_dumps_json(bundle))


class ClientLine:
    """One disclosure as the client reads it: when, to whom, why, how much, and by which role of
    which organisation (NEN 7513: no user ids)."""

    def __init__(
        self, *, at: str, kind: str, title: str, organisation: str | None, purpose: str, sent: Sequence[str],
        role: str | None, by_organisation: str | None,
    ) -> None:  # fmt: skip
        self.at, self.kind, self.title, self.organisation = at, kind, title, organisation
        self.purpose, self.sent, self.role, self.by_organisation = purpose, sent, role, by_organisation

    def render(self, lang: Language) -> str:
        from collections import Counter

        from ketenzorg.messages import Message, is_known_key, render

        def word(key: str, fallback: str) -> str:
            return render(Message(key), lang) if is_known_key(key) else fallback

        try:
            moment = datetime.fromisoformat(self.at)
            when = render(
                Message("disclosure.client.when", {"date": moment, "time": f"{moment:%H:%M}"}), lang
            )
        except ValueError:
            when = self.at
        recipient = word(f"disclosure.recipient.{self.kind}", self.title)
        if self.organisation:
            recipient += render(Message("disclosure.client.organisation", {"code": self.organisation}), lang)
        counts = Counter(self.sent)
        what = ", ".join(f"{n} {word(f'disclosure.sent.{kind}', kind)}" for kind, n in sorted(counts.items()))
        line = render(
            Message(
                "disclosure.client.line",
                {
                    "when": when,
                    "recipient": recipient,
                    "purpose": word(f"disclosure.purpose.{self.purpose}", self.purpose),
                    "what": what or "-",
                },
            ),
            lang,
        )
        if self.role and self.by_organisation:
            line += " " + render(
                Message(
                    "disclosure.client.by",
                    # a role the catalogue knows in both languages is said in the reader's
                    {"role": word(f"role.{self.role}", self.role), "organisation": self.by_organisation},
                ),
                lang,
            )
        return line


def print_client_view(case_id: str, lines: Sequence[ClientLine], lang: Language) -> None:
    """The client's own view of who received what of the file, in plain words (NEN 7513)."""
    from ketenzorg.messages import Message, render

    _out(render(Message("disclosure.client.heading", {"case": case_id}), lang))
    if not lines:
        _out(render(Message("disclosure.client.none"), lang))
    for line in lines:
        _out(f"- {line.render(lang)}")


# --- ketenzorg disclosures LOG.jsonl ----------------------------------------------------------------


def read_log(path: str) -> list[Disclosure]:
    """The records of a disclosure log file; a line that is no record is refused by its line number."""
    import orjson

    from ketenzorg.disclosure import Disclosure
    from ketenzorg.errors import MalformedInputError, ValidationError

    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise MalformedInputError.at(path, f"cannot be read ({error.strerror})") from None
    records = []
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(Disclosure.from_mapping(orjson.loads(line)))
        except (orjson.JSONDecodeError, ValidationError, AttributeError):
            raise MalformedInputError.at(path, "is not a disclosure record", f"line {number}") from None
    return records


def resource_ref(value: str) -> str:
    if value.count("/") != 1 or not all(value.split("/")):
        raise _UsageError("--resource: expected a reference Type/id, e.g. Observation/<id>")
    return value


def _cmd_disclosures(args: argparse.Namespace) -> int:
    records = read_log(args.log)
    if args.resource is not None:
        ref = resource_ref(args.resource)
        records = [r for r in records if any(f"{s.type}/{s.id}" == ref for s in r.sent)]
    if args.fhir:
        write_fhir(audit_event_bundle(records))
    else:
        print_disclosures([summary(r) for r in records], json=args.json)
    return EXIT_OK


def register(sub: Any) -> None:
    """``ketenzorg disclosures``: the command over a disclosure log file."""
    command = sub.add_parser(
        "disclosures", help="list a disclosure log file: what went to whom (--resource: who received it)"
    )
    command.add_argument("log", metavar="LOG.jsonl", help="a log written next to an export")
    command.add_argument("--resource", metavar="REF", help="only the disclosures that sent Type/id")
    shown = command.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="the records as JSON")
    shown.add_argument("--fhir", action="store_true", help="a FHIR Bundle of AuditEvents (IHE BALP)")
    command.set_defaults(func=_cmd_disclosures)
