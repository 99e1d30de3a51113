"""What every part of the export shares: resource ids, references and the small element builders.

A :class:`Writer` holds one case's export in progress: the resources written so far, the ids of
the resources every other one refers to (the client's Patient, the organisation, the trajectory
CarePlan, the CareTeam) and a reference for each party. The concept modules
(:mod:`.observations`, :mod:`.assessment`, :mod:`.plans`, :mod:`.careteam`) write their resources
through it; :mod:`.export` runs them in order.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from hashlib import sha1
from typing import Any, Final

from ketenzorg.case import Case
from ketenzorg.domain import Party, Person, PersonRole, Text
from ketenzorg.errors import InvalidEventError, Problem
from ketenzorg.events import Event
from ketenzorg.interop.definitions import PARTY_ID, TRANSLATION, X_EVENT
from ketenzorg.interop.terminology import CODE_SYSTEMS, code_system

__all__ = ["RESOURCE_ID_NAMESPACE", "Writer", "resource_id"]

RESOURCE_ID_NAMESPACE: Final = uuid.UUID("0b6f6d4e-5d7a-4f1e-9a53-7c0e2a6d1f42")
"""The UUID namespace of every resource id of an export (ids are name-based UUIDs, version 5)."""

_NAMESPACE_BYTES: Final = RESOURCE_ID_NAMESPACE.bytes


def resource_id(case_id: str, *parts: str) -> str:
    """The id of a resource of a case: ``uuid5(RESOURCE_ID_NAMESPACE, "case_id|part|...")``.

    Computed with SHA-1 directly (RFC 4122, section 4.3): the very same id as :func:`uuid.uuid5`,
    in a fraction of its time (the version digit is 5, the variant digit one of ``89ab``).
    """
    h = sha1(_NAMESPACE_BYTES + "|".join((case_id, *parts)).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


_VARIANT: Final = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
"""The RFC 4122 variant digit for each hex digit of the hash in its place (the two top bits 10)."""


# --- small builders ------------------------------------------------------------------------------


def ref(rid: str, display: str | None = None) -> dict[str, Any]:
    """A reference to a resource of the bundle (its ``urn:uuid:`` full URL)."""
    if display:
        return {"reference": f"urn:uuid:{rid}", "display": display}
    return {"reference": f"urn:uuid:{rid}"}


def ident(system: str, value: str) -> dict[str, str]:
    return {"system": system, "value": value}


def x(url: str, **value: Any) -> dict[str, Any]:
    """An extension: its URL and its ``value[x]`` or its parts (``extension=[...]``)."""
    return {"url": url, **value}


def xs(url: str, value: str) -> dict[str, Any]:
    """An extension with a string value."""
    return {"url": url, "valueString": value}


def text(field: str, value: Text) -> dict[str, Any]:
    """A string element ``field`` holding a text: its Dutch, and its English (when it has one) in
    FHIR's ``translation`` extension on the string (``_field``)."""
    out: dict[str, Any] = {field: value.nl}
    if value.en is not None:
        translation = {"url": TRANSLATION, "extension": [
            {"url": "lang", "valueCode": "en"}, {"url": "content", "valueString": value.en}
        ]}  # fmt: skip
        out["_" + field] = {"extension": [translation]}
    return out


def xt(url: str, value: Text) -> dict[str, Any]:
    """An extension with a text value (:func:`text`)."""
    return {"url": url, **text("valueString", value)}


def optional(url: str, value: str | None) -> list[dict[str, Any]]:
    """A string extension when there is a value, else none."""
    return [{"url": url, "valueString": value}] if value else []


def _displays() -> dict[tuple[str, str], tuple[str, str]]:
    return {
        (name, concept.code): (code_system(name), concept.display)
        for name, system in CODE_SYSTEMS.items()
        for concept in system.concepts
    }


_CODINGS: Final = _displays()
"""(code system name, code) -> (system URL, Dutch display), looked up once per Coding."""


def coding(system: str, code: str) -> dict[str, str]:
    """A Coding of one of the profile's code systems, with its Dutch display."""
    url, display = _CODINGS[system, code]
    return {"system": url, "code": code, "display": display}


def concept(system: str, code: str, text: str | None = None) -> dict[str, Any]:
    """A CodeableConcept of one Coding of the profile's code systems."""
    if text:
        return {"coding": [coding(system, code)], "text": text}
    return {"coding": [coding(system, code)]}


def dt(moment: datetime) -> str:
    return moment.isoformat()


def event_ext(event: Event, sequence: int, url: str = X_EVENT) -> dict[str, Any]:
    """The complex extension that carries an event without a resource of its own."""
    return {
        "url": url,
        "extension": [
            {"url": "id", "valueString": event.id},
            {"url": "sequence", "valueInteger": sequence},
            {"url": "at", "valueDateTime": event.at.isoformat()},
        ],
    }


# --- the export in progress ----------------------------------------------------------------------


class Writer:
    """One case's export in progress: its resources and the references between them."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.state = case.state
        self.opened = case.state.opened
        self.cid = case.case_id
        self.resources: list[dict[str, Any]] = []
        self._ids: dict[tuple[str, ...], str] = {}
        clients = [p for p in self.opened.persons if p.role is PersonRole.CLIENT]
        if not clients:
            raise InvalidEventError(
                [Problem("events[0].persons", "a case without a client person cannot be exported")]
            )
        self.patient = self.rid("person", clients[0].id)
        self.org = self.rid("organisation", self.opened.organisation.id)
        self.careplan = self.rid("careplan")
        self.careteam = self.rid("careteam")
        self._party_refs: dict[str, tuple[str, str]] = {}

    def rid(self, *parts: str) -> str:
        """The id of a resource of this case (computed once per export)."""
        found = self._ids.get(parts)
        if found is None:
            found = self._ids[parts] = resource_id(self.cid, *parts)
        return found

    def event_rid(self, event_id: str) -> str:
        """The id of the resource that carries an event of its own (Encounter, Observation, ...)."""
        return self.rid("event", event_id)

    def person_rid(self, person: Person) -> str:
        return self.rid("person", person.id)

    def party_rid(self, party: Party) -> str:
        if party.person_id is not None:
            return self.rid("person", party.person_id)
        return self.rid("party", party.id)

    def party_ref(self, party_id: str) -> dict[str, Any]:
        """A reference to a party's resource, with its name as the display."""
        found = self._party_refs.get(party_id)
        if found is None:
            party = self.state.known_parties[party_id]
            found = self._party_refs[party_id] = (f"urn:uuid:{self.party_rid(party)}", party.name)
        if found[1]:
            return {"reference": found[0], "display": found[1]}
        return {"reference": found[0]}

    def party_ref_with_id(self, party_id: str) -> dict[str, Any]:
        """A reference to a party that also carries its party id (what a reader of it relies on)."""
        out = self.party_ref(party_id)
        out["identifier"] = {"system": PARTY_ID, "value": party_id}
        return out

    def responsible_ref(self, target: str) -> dict[str, Any]:
        if target in self.state.known_parties:
            return self.party_ref(target)
        person = self.state.persons[target]
        return ref(self.person_rid(person), person.label)

    def add(self, resource: dict[str, Any]) -> None:
        self.resources.append(resource)
