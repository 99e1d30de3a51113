"""The ``store`` subcommands and their options, built only when the command line selects ``store``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ketenzorg.cli import STORE_HELP, _common
from ketenzorg.disclosurecli import recipient_options
from ketenzorg.storecli import exchange, lifecycle, opening, reading, recording, retention
from ketenzorg.storecli.options import actor_options, retention_options, store_option

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add ``ketenzorg store ...`` to the command line's subcommands."""
    store = sub.add_parser("store", help=STORE_HELP)
    commands = store.add_subparsers(dest="store_command", metavar="STORE_COMMAND", required=True)

    def command(name: str, help: str, func: Callable[[argparse.Namespace], int], *, write: bool) -> Any:
        parser = commands.add_parser(name, help=help)
        store_option(parser)
        _common(parser)
        if write:
            actor_options(parser)
        parser.set_defaults(func=func)
        return parser

    def case_arg(parser: Any, *, expected: bool = True) -> None:
        parser.add_argument("case", metavar="CASE", help="the case id")
        if expected:
            parser.add_argument(
                "--expected-version",
                type=int,
                metavar="N",
                help="record only if the case is still at version N (as `store show` gave it)",
            )

    def at_arg(parser: Any) -> None:
        parser.add_argument("--at", metavar="DATETIME", help="when it happened (default: now)")

    command(
        "verify",
        "check every audit chain and replay every case; exit 1 on a problem",
        reading.cmd_verify,
        write=False,
    )
    command("list", "the cases: phase, alerts, next gate", reading.cmd_list, write=False)
    show = command(
        "show", "a case: care team with party ids, plan, the decision", reading.cmd_show, write=False
    )
    case_arg(show)

    opened = command(
        "open",
        "store a new case from an intake: a case JSON holding its opening (--from), or flags",
        opening.cmd_open,
        write=True,
    )
    opened.add_argument(
        "--from", dest="source", metavar="CASE.json", help="the intake as a case JSON holding its opening"
    )
    opening.intake_options(opened)

    imp = command(
        "import", "store a FHIR bundle as a new case (validated, re-decided)", exchange.cmd_import, write=True
    )
    imp.add_argument("bundle", metavar="BUNDLE")
    imp.add_argument(
        "--format", choices=("json", "xml"), default=None, help="input format (default: by content)"
    )

    score = command(
        "score", "record a party's safety score between conferences", recording.cmd_score, write=True
    )
    case_arg(score)
    score.add_argument("--party", required=True, metavar="PARTY_ID")
    score.add_argument("--score", required=True, type=int, metavar="0..10")
    score.add_argument("--rationale", required=True, metavar="TEXT")
    at_arg(score)

    conference = command(
        "conference",
        "record a conference with its participants and scores",
        recording.cmd_conference,
        write=True,
    )
    case_arg(conference)
    conference.add_argument(
        "--participants", metavar="ID,...", help="party ids that took part (default: those in --scores)"
    )
    conference.add_argument(
        "--scores",
        metavar="SCORES.json",
        help='the scores given: {"<party-id>": {"score": N, "rationale": TEXT}, ...}',
    )
    present = conference.add_mutually_exclusive_group(required=True)
    present.add_argument("--client-present", dest="client_present", action="store_true", default=None)
    present.add_argument("--client-absent", dest="client_present", action="store_false")
    at_arg(conference)

    incident = command("incident", "record an unsafe incident", recording.cmd_incident, write=True)
    case_arg(incident)
    incident.add_argument("--severity", required=True, choices=("minor", "serious", "severe"))
    acute = incident.add_mutually_exclusive_group(required=True)
    acute.add_argument("--acute", dest="acute", action="store_true", default=None)
    acute.add_argument("--not-acute", dest="acute", action="store_false")
    incident.add_argument("--description", default="", metavar="TEXT")
    incident.add_argument("--by", metavar="PARTY_ID", help="the party that reported it")
    at_arg(incident)

    advance = command(
        "advance",
        "move the case to the next phase, if the decision allows it",
        lifecycle.cmd_advance,
        write=True,
    )
    case_arg(advance)
    advance.add_argument("--reason", metavar="TEXT")

    relapse = command("relapse", "record a relapse to phase 1", lifecycle.cmd_relapse, write=True)
    case_arg(relapse)
    relapse.add_argument("--reason", required=True, metavar="TEXT")

    close = command("close", "close the case from phase 3 with its handover", lifecycle.cmd_close, write=True)
    case_arg(close)
    close.add_argument("--handover", required=True, metavar="ID,...", help="who the care is handed over to")
    close.add_argument("--summary", metavar="TEXT")

    plan = command("plan", "record a plan revision from a file", recording.cmd_plan, write=True)
    case_arg(plan)
    plan.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="PLAN.json",
        help="a plan_revised event as the case format writes it (type, id and at may be left out)",
    )
    at_arg(plan)

    join = command("join", "record a party joining the care team", recording.cmd_join, write=True)
    case_arg(join)
    join.add_argument(
        "--party-file",
        required=True,
        metavar="PARTY.json",
        help="the party as the case format writes it (id, role, name, partner_type, person_id)",
    )
    at_arg(join)

    leave = command("leave", "record a party leaving the care team", recording.cmd_leave, write=True)
    case_arg(leave)
    leave.add_argument("--party", required=True, metavar="PARTY_ID")
    leave.add_argument("--reason", metavar="TEXT")
    at_arg(leave)

    setting = command("setting", "record a change of care setting", recording.cmd_setting, write=True)
    case_arg(setting)
    setting.add_argument("--kind", required=True, choices=("ambulant", "shelter"))
    setting.add_argument(
        "--location-file",
        metavar="LOC.json",
        help="the location (id, name, secret; a secret location has no address); needed for a shelter",
    )
    setting.add_argument("--reason", metavar="TEXT")
    at_arg(setting)

    assess = command("assess", "apply an instrument and record its result", recording.cmd_assess, write=True)
    case_arg(assess)
    assess.add_argument("instrument", metavar="INSTRUMENT", help="the instrument id")
    assess.add_argument("answers", metavar="ANSWERS.json", help="the answers, by item id")
    assess.add_argument("--by", required=True, metavar="PARTY_ID", help="the party that applied it")
    assess.add_argument(
        "--subject", metavar="PERSON_ID", help="the person assessed, if not the client (a child, ...)"
    )
    at_arg(assess)

    merge = command(
        "merge",
        "merge a partner's bundle (its own scores, its incidents) into a stored case",
        exchange.cmd_merge,
        write=True,
    )
    case_arg(merge)
    merge.add_argument("bundle", metavar="BUNDLE")
    merge.add_argument(
        "--from",
        dest="sender",
        metavar="PARTY",
        help="party id of the care-team member that sent the bundle (required unless it is signed)",
    )
    merge.add_argument(
        "--keys",
        metavar="KEYS.json",
        help='partners\' public keys {"<party-id>": [JWK, ...]}: a signed bundle is verified with them',
    )
    merge.add_argument(
        "--format", choices=("json", "xml"), default=None, help="input format (default: by content)"
    )

    export = command(
        "export",
        "the case as a FHIR bundle for a recipient (--for), the disclosure in the audit trail",
        exchange.cmd_export,
        write=True,
    )
    case_arg(export)
    export.add_argument("--format", choices=("json", "xml"), default="json")
    export.add_argument("--type", choices=("collection", "transaction"), default="collection")
    recipient_options(export, users=False)
    export.add_argument("--out", metavar="FILE", help="write here atomically (else stdout)")
    export.add_argument("--force", action="store_true", help="replace an existing file")

    disclosures = command(
        "disclosures",
        "what of a case went to whom: recipient, profile, resources, hash (--client-view: in plain words)",
        exchange.cmd_disclosures,
        write=False,
    )
    disclosures.add_argument("case", metavar="CASE", help="the case id")
    shown = disclosures.add_mutually_exclusive_group()
    shown.add_argument(
        "--client-view",
        action="store_true",
        help="who received what, in plain words for the client (NEN 7513)",
    )
    shown.add_argument("--fhir", action="store_true", help="a FHIR Bundle of AuditEvents (IHE BALP)")
    received = command(
        "received",
        "who received a resource (Type/id), across cases: to pass a correction on (AVG art. 19)",
        exchange.cmd_received,
        write=False,
    )
    received.add_argument("resource", metavar="RESOURCE_REF", help="Type/id, e.g. Observation/<id>")

    # The report's own command module holds it (one home for what a report shows and logs); the
    # store only supplies the case and records the disclosure in its audit trail.
    from ketenzorg import reportcli

    report = command(
        "report",
        "the case report (HTML) for a recipient, recorded as a disclosure in the audit log",
        reportcli.cmd_store_report,
        write=True,
    )
    case_arg(report, expected=False)
    reportcli.report_options(report)

    destroy = command(
        "destroy",
        "erase a case physically; the audit log keeps a content-free record",
        retention.cmd_destroy,
        write=True,
    )
    case_arg(destroy, expected=False)
    destroy.add_argument(
        "--reason", required=True, metavar="TEXT", help="why (a reference, not personal data)"
    )
    destroy.add_argument("--yes", action="store_true", help="confirm the erasure")
    destroy.add_argument(
        "--force-early", metavar="REASON", help="destroy a case within its retention period (why)"
    )
    retention_options(destroy)
    _register_retention(command)


def _register_retention(command: Callable[..., Any]) -> None:
    """``store hold``, ``store release``, ``store retention``."""
    for name, help in (
        ("hold", "put a case under legal hold: it cannot be destroyed until released"),
        ("release", "lift a case's legal hold"),
    ):
        parser = command(name, help, retention.cmd_hold, write=True)
        parser.add_argument("case", metavar="CASE", help="the case id")
        parser.add_argument(
            "--reason", required=True, metavar="TEXT", help="why (a reference, not personal data)"
        )
    listing = command(
        "retention",
        "the cases past their retention date, with the rule",
        retention.cmd_retention,
        write=False,
    )
    retention_options(listing)
