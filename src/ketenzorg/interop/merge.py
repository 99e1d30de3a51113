"""Merge a partner's bundle into a case: their safety scores and incidents become events.

A chain partner sends only part of a case, for instance one Observation with its own safety score
that refers to our trajectory CarePlan by identifier (``NamingSystem/case-id``) and to itself by
party identifier (``NamingSystem/party-id``). Each such resource becomes an event, recorded through
the engine (so listeners hear it and the same checks apply). All or nothing: a score without a
rationale, out of range, from an unknown party or about another case refuses the whole bundle
with an OperationOutcome, and the case is unchanged. Merging the same bundle again changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from ketenzorg.case import Case
from ketenzorg.domain import IncidentSeverity
from ketenzorg.engine import Engine
from ketenzorg.errors import KetenzorgError, Problem, ValidationError
from ketenzorg.events import Event, IncidentReported, ScoreGiven
from ketenzorg.interop.fhir import _UNREADABLE, CASE_ID, EVENT_ID, PARTY_ID, _Importer, _parse_dt
from ketenzorg.interop.validate import issue, operation_outcome, validate_bundle

__all__ = ["MergeRefusedError", "merge_bundle"]

_SUPPORTING = frozenset(
    {"Organization", "Practitioner", "PractitionerRole", "CarePlan", "Encounter", "Patient"}
)
_NAMESPACE = uuid.UUID("5d2c0a8e-3f4b-4c59-8d1e-2b7a9e6c4f10")


class MergeRefusedError(ValidationError):
    """A partner bundle that cannot be merged; ``outcome`` is the OperationOutcome."""

    def __init__(self, outcome: dict[str, Any]) -> None:
        self.outcome = outcome
        problems = [
            Problem((i.get("expression") or ["Bundle"])[0], i["diagnostics"])
            for i in outcome["issue"]
            if i["severity"] in ("fatal", "error")
        ]
        super().__init__(problems)


def _kind(resource: Mapping[str, Any]) -> str | None:
    return _Importer.code(resource.get("code"), "observation-kind")


class _Merger:
    def __init__(self, case: Case, bundle: Mapping[str, Any], reported: Iterable[str] = ()) -> None:
        self.reported = frozenset(reported)
        """Locations the validation already reported a problem at."""
        self.case = case
        self.bundle = bundle
        self.issues: list[dict[str, Any]] = []
        self.by_url = {
            e["fullUrl"]: e.get("resource")
            for e in bundle.get("entry", [])
            if isinstance(e, Mapping) and isinstance(e.get("fullUrl"), str)
        }
        self.known_ids = {e.id: e for e in case.events}

    def refuse(self, where: str, message: str, code: str = "business-rule") -> None:
        self.issues.append(issue("error", code, message, where))

    def target(self, ref: Any) -> Mapping[str, Any] | None:
        """The identifier a reference carries, directly or through the resource it points to."""
        if not isinstance(ref, Mapping):
            return None
        if isinstance(ref.get("identifier"), Mapping):
            found: Mapping[str, Any] = ref["identifier"]
            return found
        url = ref.get("reference")
        resource = self.by_url.get(url) if isinstance(url, str) else None
        if isinstance(resource, Mapping):
            identifiers = resource.get("identifier")
            if isinstance(identifiers, Mapping):
                identifiers = [identifiers]
            for item in identifiers or ():
                if isinstance(item, Mapping) and item.get("system") in (CASE_ID, PARTY_ID, EVENT_ID):
                    return item
        return None

    def identifier_of(self, ref: Any, system: str) -> str | None:
        found = self.target(ref)
        if found is not None and found.get("system") == system and isinstance(found.get("value"), str):
            value: str = found["value"]
            return value
        return None

    def event_id(self, resource: Mapping[str, Any], at: str) -> str | None:
        identifiers = resource.get("identifier") or []
        if not isinstance(identifiers, list) or not all(isinstance(i, Mapping) for i in identifiers):
            self.refuse(f"{at}.identifier", "an identifier is a list of objects", "structure")
            return None
        for item in identifiers:
            if item.get("system") == EVENT_ID and isinstance(item.get("value"), str):
                value: str = item["value"]
                return value
        if identifiers and isinstance(identifiers[0], Mapping):
            first = identifiers[0]
            return uuid.uuid5(_NAMESPACE, f"{first.get('system')}|{first.get('value')}").hex
        self.refuse(
            f"{at}.identifier", "a partner's resource needs an identifier (so re-sending does not duplicate)"
        )
        return None

    def about_this_case(self, resource: Mapping[str, Any], at: str) -> bool:
        for index, ref in enumerate(resource.get("basedOn") or []):
            case_id = self.identifier_of(ref, CASE_ID)
            if case_id == self.case.case_id:
                return True
            if case_id is not None:
                self.refuse(f"{at}.basedOn[{index}]", f"about another case ({case_id!r})")
                return False
        self.refuse(f"{at}.basedOn", "must refer to the case's CarePlan by its case-id identifier")
        return False

    def party(self, resource: Mapping[str, Any], at: str, *, required: bool) -> str | None:
        performers = resource.get("performer") or []
        if not isinstance(performers, list):
            self.refuse(f"{at}.performer", "performer is a list of references", "structure")
            return None
        if not performers:
            if required:
                self.refuse(f"{at}.performer", "names no party", "required")
            return None
        party_id = self.identifier_of(performers[0], PARTY_ID)
        if party_id is None or party_id not in self.case.state.care_team:
            self.refuse(f"{at}.performer[0]", f"unknown party {party_id!r}: not in the case's care team")
            return None
        return party_id

    def conference(self, resource: Mapping[str, Any]) -> str | None:
        conference_id = self.identifier_of(resource.get("encounter"), EVENT_ID)
        return conference_id if conference_id in self.case.state.conferences else None

    def read(self) -> list[Event]:
        events: list[Event] = []
        for index, entry in enumerate(self.bundle.get("entry", [])):
            resource = entry.get("resource") if isinstance(entry, Mapping) else None
            if not isinstance(resource, Mapping):
                continue
            at = f"Bundle.entry[{index}].resource"
            rtype = resource.get("resourceType")
            if not isinstance(rtype, str):
                continue  # validation has refused it
            if rtype != "Observation" or _kind(resource) not in ("safety-score", "incident"):
                if rtype not in _SUPPORTING:
                    self.issues.append(
                        issue(
                            "warning",
                            "not-supported",
                            f"{rtype} is not merged (only safety scores and incidents)",
                            at,
                        )
                    )
                continue
            try:
                event = self.observation(resource, at)
            except (ValidationError, *_UNREADABLE) as error:
                # Never drop a resource silently: if validation has not said what is wrong with
                # it, say here that it could not be read, and why.
                if not any(where.startswith(at) for where in self.reported):
                    detail = (
                        "; ".join(str(p) for p in error.problems)
                        if isinstance(error, ValidationError)
                        else f"{type(error).__name__}: {error}"
                    )
                    self.refuse(at, f"cannot be merged ({detail})", "invalid")
                continue
            if event is not None:
                events.append(event)
        return events

    def observation(self, resource: Mapping[str, Any], at: str) -> Event | None:
        if not self.about_this_case(resource, at):
            return None
        event_id = self.event_id(resource, at)
        try:
            when = _parse_dt(resource.get("effectiveDateTime"))
        except (TypeError, ValueError) as error:
            self.refuse(f"{at}.effectiveDateTime", f"needs a date-time with a timezone ({error})", "value")
            return None
        note = " ".join(str(n.get("text", "")) for n in resource.get("note") or [] if isinstance(n, Mapping))
        if _kind(resource) == "safety-score":
            party_id = self.party(resource, at, required=True)
            if party_id is None or event_id is None:
                return None
            return ScoreGiven(
                id=event_id,
                at=when,
                party_id=party_id,
                role=self.case.state.care_team[party_id].role,
                score=resource["valueInteger"],
                rationale=note.strip(),
                conference_id=self.conference(resource),
            )
        reported_by = self.party(resource, at, required=False)
        severity = _Importer.code(resource.get("valueCodeableConcept"), "incident-severity")
        acute = [
            c.get("valueBoolean")
            for c in resource.get("component") or []
            if _Importer.code(c.get("code"), "observation-kind") == "incident-acute"
        ]
        if severity is None or not acute or not isinstance(acute[0], bool):
            self.refuse(at, "an incident needs its severity and whether it was acute", "required")
            return None
        if event_id is None:
            return None
        return IncidentReported(
            id=event_id,
            at=when,
            severity=IncidentSeverity(severity),
            acute=acute[0],
            description=note.strip(),
            reported_by=reported_by,
        )


def merge_bundle(engine: Engine, case: Case, bundle: Any) -> tuple[Case, dict[str, Any]]:
    """Merge a partner's bundle; return the new case and the OperationOutcome (warnings, if any).

    Raises :class:`MergeRefusedError` (with the OperationOutcome) and leaves ``case`` unchanged
    when any resource cannot be merged.
    """
    outcome = validate_bundle(bundle)
    errors = [i for i in outcome["issue"] if i["severity"] in ("fatal", "error")]
    if any(i["severity"] == "fatal" for i in errors):
        raise MergeRefusedError(operation_outcome(errors))
    merger = _Merger(case, bundle, (w for i in errors for w in i.get("expression", ())))
    events = merger.read()
    if errors or any(i["severity"] == "error" for i in merger.issues):
        raise MergeRefusedError(operation_outcome(errors + merger.issues))
    new = case
    for event in events:
        known = merger.known_ids.get(event.id)
        if known is not None:
            if known != event:
                merger.refuse("Bundle", f"event {event.id!r} was already recorded with other content")
                raise MergeRefusedError(operation_outcome(merger.issues))
            continue  # the same resource sent again: nothing to do
        try:
            new = engine.record(new, event)
        except KetenzorgError as error:
            problems = error.problems if isinstance(error, ValidationError) else [Problem("", str(error))]
            for p in problems:
                merger.refuse("Bundle", str(p))
            raise MergeRefusedError(operation_outcome(merger.issues)) from None
    return new, operation_outcome([i for i in merger.issues if i["severity"] != "error"])
