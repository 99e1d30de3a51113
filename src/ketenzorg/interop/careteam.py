"""Who takes part: the organisation, the persons of the client system, the parties and the ``CareTeam``.

Written and read back. A person is a ``Patient`` (the client) or a ``RelatedPerson``; a party that
is no person is an ``Organization`` (a chain partner), a ``Practitioner`` or a ``RelatedPerson``
(network); the ``CareTeam`` lists every party with when it joined and left.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ketenzorg.domain import Organisation, PartnerType, Party, PartyRole, Person, PersonRole
from ketenzorg.errors import Problem
from ketenzorg.events import Event, PartyJoined, PartyLeft
from ketenzorg.interop.definitions import (
    CASE_ID,
    ORGANISATION_ID,
    PARTY_ID,
    PERSON_ID,
    X_JOINED,
    X_LEFT,
    X_PARTY,
)
from ketenzorg.interop.reading import Entries, FhirMappingError, code, ext, ident, moment, sub
from ketenzorg.interop.terminology import AGB, URA
from ketenzorg.interop.writing import Writer, concept, event_ext, ref, x, xs
from ketenzorg.interop.writing import ident as identifier

__all__ = ["read_careteam", "read_organisation", "read_person", "write_careteam", "write_parties"]


# --- writing -------------------------------------------------------------------------------------


def write_organisation(w: Writer, org: Organisation, rid: str) -> None:
    identifiers = [identifier(ORGANISATION_ID, org.id)]
    if org.agb:
        identifiers.append(identifier(AGB, org.agb))
    if org.ura:
        identifiers.append(identifier(URA, org.ura))
    w.add({"resourceType": "Organization", "id": rid, "identifier": identifiers, "name": org.name})


def _write_person(w: Writer, person: Person) -> None:
    resource: dict[str, Any]
    base: dict[str, Any] = {"id": w.person_rid(person), "identifier": [identifier(PERSON_ID, person.id)]}
    if person.role is PersonRole.CLIENT:
        resource = {"resourceType": "Patient", **base, "name": [{"text": person.label}]}
    else:
        resource = {
            "resourceType": "RelatedPerson",
            **base,
            "patient": ref(w.patient),
            "relationship": [concept("person-role", person.role.value)],
            "name": [{"text": person.label}],
        }
    if person.birth_year is not None:
        resource["birthDate"] = f"{person.birth_year:04d}"
    w.add(resource)


def _write_party(w: Writer, party: Party) -> None:
    if party.person_id is not None:
        return  # the person's Patient or RelatedPerson stands for the party
    resource: dict[str, Any]
    base: dict[str, Any] = {"id": w.party_rid(party), "identifier": [identifier(PARTY_ID, party.id)]}
    if party.role is PartyRole.CHAIN_PARTNER:
        assert party.partner_type is not None
        resource = {
            "resourceType": "Organization",
            **base,
            "type": [concept("partner-type", party.partner_type.value)],
            "name": party.name,
        }
    elif party.role is PartyRole.PRACTITIONER:
        resource = {"resourceType": "Practitioner", **base, "name": [{"text": party.name}]}
    else:
        resource = {
            "resourceType": "RelatedPerson",
            **base,
            "patient": ref(w.patient),
            "relationship": [concept("party-role", party.role.value)],
            "name": [{"text": party.name}],
        }
    w.add(resource)


def write_parties(w: Writer) -> None:
    """The own organisation, every person and every party that is no person, once each."""
    write_organisation(w, w.opened.organisation, w.org)
    for person in w.opened.persons:
        _write_person(w, person)
    for party in w.state.known_parties.values():
        _write_party(w, party)


def write_careteam(w: Writer, events: list[tuple[int, Event]]) -> None:
    """The CareTeam: each party's period of participation, with the events that began and ended it."""
    participants: list[dict[str, Any]] = []
    open_periods: dict[str, dict[str, Any]] = {}

    def join(party: Party, at: datetime, joined: tuple[int, Event] | None) -> None:
        role = [concept("party-role", party.role.value)]
        if party.partner_type is not None:
            role.append(concept("partner-type", party.partner_type.value))
        info = [xs("id", party.id), xs("name", party.name)]
        if party.person_id:
            info.append(xs("person", party.person_id))
        entry: dict[str, Any] = {
            "extension": [x(X_PARTY, extension=info)],
            "role": role,
            "member": w.party_ref(party.id),
            "period": {"start": at.isoformat()},
        }
        if joined is not None:
            entry["extension"].append(event_ext(joined[1], joined[0], X_JOINED))
        participants.append(entry)
        open_periods[party.id] = entry

    for party in w.opened.parties:
        join(party, w.opened.at, None)
    for seq, event in events:
        if isinstance(event, PartyJoined):
            join(event.party, event.at, (seq, event))
        elif isinstance(event, PartyLeft):
            entry = open_periods.pop(event.party_id)
            entry["period"]["end"] = event.at.isoformat()
            left = event_ext(event, seq, X_LEFT)
            if event.reason:
                left["extension"].append(xs("reason", event.reason))
            entry["extension"].append(left)
    w.add(
        {
            "resourceType": "CareTeam",
            "id": w.careteam,
            "identifier": [identifier(CASE_ID, w.cid)],
            "status": "inactive" if w.state.is_closed else "active",
            "subject": ref(w.patient),
            "managingOrganization": [ref(w.org)],
            "participant": participants,
        }
    )


# --- reading -------------------------------------------------------------------------------------


def event_fields(extension: Mapping[str, Any]) -> tuple[int, str, datetime]:
    """The sequence, id and time of an event carried by a complex extension."""
    seq = sub(extension, "sequence")
    if type(seq) is not int:
        raise TypeError("sequence")
    event_id = sub(extension, "id")
    if not isinstance(event_id, str):
        raise TypeError("id")
    return seq, event_id, moment(sub(extension, "at"))


def read_organisation(org: Mapping[str, Any]) -> Organisation:
    return Organisation(
        id=ident(org, ORGANISATION_ID) or "",
        name=org["name"],
        agb=ident(org, AGB),
        ura=ident(org, URA),
    )


def read_person(entries: Entries, index: int, resource: Mapping[str, Any]) -> Person:
    person_id = ident(resource, PERSON_ID)
    if person_id is None:
        raise FhirMappingError([Problem(entries.where(index, "identifier"), "no person id")])
    if resource["resourceType"] == "Patient":
        role = PersonRole.CLIENT
    else:
        found = code(resource.get("relationship", [None])[0], "person-role")
        if found is None:
            raise FhirMappingError([Problem(entries.where(index, "relationship"), "no person role")])
        role = PersonRole(found)
    birth = resource.get("birthDate")
    return Person(
        id=person_id,
        role=role,
        label=resource["name"][0]["text"],
        birth_year=int(birth[:4]) if isinstance(birth, str) else None,
    )


def read_careteam(
    entries: Entries,
) -> tuple[dict[str, Party], list[Party], list[tuple[int, Event]]]:
    """Every party by id, the parties there at the opening, and the join and leave events."""
    teams = entries.of_type("CareTeam")
    if len(teams) != 1:
        raise FhirMappingError([Problem("Bundle.entry", "expected exactly one CareTeam")])
    index, team = teams[0]
    parties: dict[str, Party] = {}
    initial: list[Party] = []
    events: list[tuple[int, Event]] = []
    for n, participant in enumerate(team.get("participant", ())):
        info = ext(participant, X_PARTY)
        if info is None:
            raise FhirMappingError([Problem(entries.where(index, f"participant[{n}]"), "no party extension")])
        roles = participant["role"]
        partner = code(roles[1], "partner-type") if len(roles) > 1 else None
        party = Party(
            id=sub(info, "id"),
            role=PartyRole(code(roles[0], "party-role")),
            name=sub(info, "name"),
            partner_type=PartnerType(partner) if partner else None,
            person_id=sub(info, "person"),
        )
        parties[party.id] = party
        joined = ext(participant, X_JOINED)
        if joined is None:
            if party not in initial:
                initial.append(party)
        else:
            seq, eid, at = event_fields(joined)
            events.append((seq, PartyJoined(id=eid, at=at, party=party)))
        left = ext(participant, X_LEFT)
        if left is not None:
            seq, eid, at = event_fields(left)
            events.append(
                (seq, PartyLeft(id=eid, at=at, party_id=party.id, reason=sub(left, "reason") or ""))
            )
    return parties, initial, events
