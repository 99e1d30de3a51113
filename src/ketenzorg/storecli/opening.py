"""``store open``: a new case from an intake, given as a case file or as flags.

From flags the intake is the ``case_opened`` event (:class:`~ketenzorg.events.CaseOpened`): where the
case is (region, lead municipality, municipality), the client as a member of the client system and
as a party, the first care-team members (``--practitioner``, ``--partner TYPE=NAME``, or party files
in the case format), further persons of the client system from a file, and the care setting. Every
id not given is generated; the command prints the care team with its party ids.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from ketenzorg.cli import _engine, _print_team, _UsageError, _warn
from ketenzorg.storecli.common import file_object, store_new, structure

if TYPE_CHECKING:
    from ketenzorg.case import Case
    from ketenzorg.domain import CareSetting, Party, Person

__all__ = ["cmd_open", "intake_options"]

_T = TypeVar("_T")

INTAKE_FLAGS = (
    "case_id",
    "opened_at",
    "region",
    "lead_municipality",
    "municipality",
    "client",
    "client_birth_year",
    "persons_file",
    "practitioner",
    "partner",
    "party_file",
    "care_setting",
    "location_file",
    "organisation_name",
    "agb",
    "ura",
    "reason",
)
"""The ``dest`` of every flag that describes an intake (refused together with ``--from``)."""


def cmd_open(args: argparse.Namespace) -> int:
    given = [name for name in INTAKE_FLAGS if getattr(args, name, None) not in (None, [])]
    if args.source is not None:
        if given:
            flag = "--" + given[0].replace("_", "-")
            raise _UsageError(f"{flag}: give the intake as a file (--from) or as flags, not both")
        return _open_file(args)
    return _open_flags(args)


def _open_file(args: argparse.Namespace) -> int:
    from ketenzorg.loading import load_replayed

    engine = _engine(args)
    case = load_replayed(engine, args.source, "json", warn=_warn(args.source))
    return store_new(args, engine, case, "open")


def _opened_at(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _UsageError("--opened-at: not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise _UsageError("--opened-at: give a timezone offset, e.g. 2026-05-01T12:00:00+02:00")
    return moment


def _built(option: str, make: Callable[[], _T]) -> _T:
    """``make()``; a value the model refuses is a usage error naming ``option`` (never the value)."""
    from ketenzorg.errors import ValidationError

    try:
        return make()
    except ValidationError as error:
        problem = error.problems[0]
        raise _UsageError(f"{option}: {problem.path}: {problem.message}") from None
    except (ValueError, TypeError):
        raise _UsageError(f"{option}: is not a valid value here") from None


def _required(args: argparse.Namespace, name: str) -> str:
    value: str | None = getattr(args, name)
    if value is None or not value.strip():
        raise _UsageError(
            f"--{name.replace('_', '-')}: required for an intake given by flags (or use --from)"
        )
    return value


def _partner(option: str, value: str) -> Party:
    from ketenzorg.domain import PartnerType, Party, PartyRole, new_id

    kind, sep, name = value.partition("=")
    types = ", ".join(t.value for t in PartnerType)
    if not sep or not name.strip():
        raise _UsageError(f"{option}: expected TYPE=NAME, TYPE one of {types}")
    if kind.strip() not in {t.value for t in PartnerType}:
        raise _UsageError(f"{option}: the partner type is not one of {types}")
    return _built(
        option,
        lambda: Party(
            id=new_id(),
            role=PartyRole.CHAIN_PARTNER,
            name=name.strip(),
            partner_type=PartnerType(kind.strip()),
        ),
    )


def _persons(path: str) -> list[Person]:
    """A persons file: a list of client-system members as the case format writes them."""
    from ketenzorg.domain import Person
    from ketenzorg.errors import MalformedInputError
    from ketenzorg.loading import load_json

    data = load_json(path)
    if not isinstance(data, list):
        raise MalformedInputError.at(path, "expected a list of persons (id, role, label, birth_year)")
    persons = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise MalformedInputError.at(path, "expected a person object", f"[{index}]")
        persons.append(structure(f"{path}[{index}]", item, Person))
    return persons


def _setting(args: argparse.Namespace) -> CareSetting:
    from ketenzorg.domain import CareSetting, CareSettingKind, Location

    kind = CareSettingKind(args.care_setting or "ambulant")
    location = None
    if args.location_file:
        what = "a location object (id, name, secret)"
        location = structure(args.location_file, file_object(args.location_file, what), Location)
    if kind is CareSettingKind.SHELTER and location is None:
        raise _UsageError("--location-file: a shelter stay needs its location")
    return _built("--location-file", lambda: CareSetting(kind=kind, location=location))


def _open_flags(args: argparse.Namespace) -> int:
    from ketenzorg.domain import Organisation, Party, PartyRole, Person, PersonRole, Region, new_id
    from ketenzorg.errors import ValidationError
    from ketenzorg.events import CaseOpened
    from ketenzorg.storecli.common import actor

    if args.client is None:
        raise _UsageError(
            "--client: give the client's pseudonymous label (or the intake as --from CASE.json)"
        )
    who = actor(args)  # the organisation recording is the organisation of the case
    region = _built(
        "--region",
        lambda: Region(
            region=_required(args, "region"),
            lead_municipality=_required(args, "lead_municipality"),
            municipality=_required(args, "municipality"),
        ),
    )
    organisation = _built(
        "--organisation-name",
        lambda: Organisation(
            id=who.organisation, name=args.organisation_name or who.organisation, agb=args.agb, ura=args.ura
        ),
    )
    client = _built(
        "--client",
        lambda: Person(
            id=new_id(), role=PersonRole.CLIENT, label=args.client, birth_year=args.client_birth_year
        ),
    )
    persons = [client, *(_persons(args.persons_file) if args.persons_file else [])]
    parties: list[Party] = [
        _built(
            "--client",
            lambda: Party(id=new_id(), role=PartyRole.CLIENT, name=client.label, person_id=client.id),
        )
    ]
    for name in args.practitioner or ():
        parties.append(
            _built("--practitioner", partial(Party, id=new_id(), role=PartyRole.PRACTITIONER, name=name))
        )
    parties.extend(_partner("--partner", value) for value in args.partner or ())
    for path in args.party_file or ():
        parties.append(structure(path, file_object(path, "a party object (id, role, name, ...)"), Party))
    setting = _setting(args)
    engine = _engine(args)
    at = _opened_at(args.opened_at) if args.opened_at else engine.clock()
    options = {"persons": "--persons-file", "parties": "--party-file", "at": "--opened-at"}

    def opened() -> Case:
        event = CaseOpened(
            id=new_id(),
            at=at,
            organisation=organisation,
            region=region,
            persons=tuple(persons),
            parties=tuple(parties),
            care_setting=setting,
            reason=args.reason or "",
        )
        return engine.replay(args.case_id or new_id(), (event,))

    try:
        case = opened()
    except ValidationError as error:
        problem = error.problems[0]
        option = next((o for key, o in options.items() if problem.path.startswith(key)), "--client")
        raise _UsageError(f"{option}: {problem.path}: {problem.message}") from None
    code = store_new(args, engine, case, "open")
    if not args.json:
        _print_team(case, args.lang)
    return code


def intake_options(parser: Any) -> None:
    """The flags of ``store open`` that describe an intake (instead of ``--from CASE.json``)."""
    from ketenzorg.domain import PartnerType

    group = parser.add_argument_group("an intake given by flags (instead of --from)")
    group.add_argument("--case-id", metavar="ID", help="the case id (default: a new one)")
    group.add_argument("--opened-at", metavar="DATETIME", help="when the case opened (default: now)")
    group.add_argument("--region", metavar="TEXT", help="the region (required)")
    group.add_argument("--lead-municipality", metavar="TEXT", help="its lead municipality (required)")
    group.add_argument("--municipality", metavar="TEXT", help="the client's municipality (required)")
    group.add_argument("--client", metavar="LABEL", help="the client's pseudonymous label (required)")
    group.add_argument("--client-birth-year", type=int, metavar="YEAR")
    group.add_argument(
        "--persons-file",
        metavar="PERSONS.json",
        help="further members of the client system: a list of persons (id, role, label, birth_year)",
    )
    group.add_argument(
        "--practitioner", action="append", metavar="NAME", help="the organisation's practitioner (repeatable)"
    )
    group.add_argument(
        "--partner",
        action="append",
        metavar="TYPE=NAME",
        help=f"a chain partner (repeatable); TYPE one of {', '.join(t.value for t in PartnerType)}",
    )
    group.add_argument(
        "--party-file",
        action="append",
        metavar="PARTY.json",
        help="a party as the case format writes it (id, role, name, partner_type, person_id; repeatable)",
    )
    group.add_argument(
        "--care-setting", choices=("ambulant", "shelter"), help="the care setting (default: ambulant)"
    )
    group.add_argument(
        "--location-file", metavar="LOC.json", help="the shelter's location (id, name, secret)"
    )
    group.add_argument(
        "--organisation-name", metavar="NAME", help="the organisation's name (default: --organisation)"
    )
    group.add_argument("--agb", metavar="CODE", help="the organisation's AGB code")
    group.add_argument("--ura", metavar="CODE", help="the organisation's URA number")
    group.add_argument("--reason", metavar="TEXT", help="why the case opens")
