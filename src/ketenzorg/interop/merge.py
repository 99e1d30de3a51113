"""Merge a partner's bundle into a case: what its sender may speak for becomes events.

A chain partner sends part of a case: its own safety scores and the incidents it reports, as
Observations that refer to our trajectory CarePlan by identifier (``NamingSystem/case-id``) and
to the party by identifier (``NamingSystem/party-id``). Each becomes an event, recorded through
the engine in one linear batch (listeners hear them; the same checks apply).

Who sent the bundle is settled first: the organisation names the sender (``sender=``, the CLI's
``--from``), or a ``Bundle.signature`` verified against the keys it configured proves it (both:
they must agree; a party with configured keys must sign). The sender is a member of the case's
care team. A resource of a category its kind of party may not send (``disclosure/data/senders.json``:
a phase change, a care setting or location from anyone but the shelter, ...) refuses the bundle at
its entry; what accepted resources refer to, the case's own resources sent back and resource types
unknown to the profiles are not refused. The partner's ``meta.security`` labels (HL7 codes only)
are kept on the events it adds. Then only what that party may speak for is accepted:

- a safety score whose performer is the sender (not the client, the own practitioner or another
  partner);
- an incident the sender reports (an incident without a performer is recorded as reported by it);
- a conference (``encounter``) only when the score's party took part in it;
- a time in FHIR R4's dateTime form, to the second with its offset, not before the case was
  opened and not later than the engine's clock plus the policy's ``max_clock_skew``;
- every ``basedOn`` that names a case names this case, and at least one does.

Event ids are derived from (sender, identifier system, identifier value) as ``partner-`` and 32
hex digits, a namespace our own ids (32 hex digits) and another sender's never share. A resource
may repeat our own event-id identifier only for an event this case holds with the same content
(re-sending our export changes nothing). All or nothing: any refusal refuses the whole bundle with
an OperationOutcome of located issues, and the case is unchanged. Merging the same bundle again
changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

import attrs

from ketenzorg.case import Case
from ketenzorg.disclosure.redact import classify
from ketenzorg.disclosure.senders import may_send, read_security_labels, referenced, sender_kind
from ketenzorg.domain import SecurityLabel
from ketenzorg.engine import Engine
from ketenzorg.errors import InvalidEventError, KetenzorgError, Problem, ValidationError
from ketenzorg.events import Event, IncidentReported, ScoreGiven
from ketenzorg.interop.definitions import (
    CASE_ID,
    EVENT_ID,
    PARTY_ID,
    PERSON_ID,
)
from ketenzorg.interop.observations import observation_kind, read_incident, read_score
from ketenzorg.interop.reading import UNREADABLE, FhirMappingError
from ketenzorg.interop.signature import (
    PartyKeys,
    SignatureError,
    UnknownSignerError,
    verify_bundle,
)
from ketenzorg.interop.validate import R4_RESOURCE_TYPES, issue, operation_outcome, validate_bundle

__all__ = ["MergeRefusedError", "SenderUnknownError", "merge_bundle", "partner_event_id"]

_READ: Final = frozenset({"safety-score", "incident"})
"""The categories merge reads into events (what else a sender may send is not merged yet)."""
_SUPPORTING: Final = frozenset(
    {"Organization", "Practitioner", "PractitionerRole", "CarePlan", "Encounter", "Patient"}
)
_LEGACY_NAMESPACE: Final = uuid.UUID("5d2c0a8e-3f4b-4c59-8d1e-2b7a9e6c4f10")
"""How event ids were derived before the sender was part of them (kept to recognise re-sends)."""
_ELEMENT: Final = {
    "at": "effectiveDateTime",
    "party_id": "performer[0]",
    "role": "performer[0]",
    "reported_by": "performer[0]",
    "conference_id": "encounter",
    "score": "valueInteger",
    "rationale": "note",
    "description": "note",
    "severity": "valueCodeableConcept",
    "acute": "component",
    "id": "identifier",
}
"""Where in the Observation an event's field came from (to locate what the engine refuses)."""


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


class SenderUnknownError(MergeRefusedError):
    """Nobody is named as the sender and no verified signature names one: nothing can be merged."""


def partner_event_id(sender: str, system: str | None, value: str) -> str:
    """The event id of a partner's resource: the same for the same (sender, system, value).

    ``partner-`` and 32 hex digits of SHA-256 over the three, encoded without ambiguity: never one
    of our own ids (32 hex digits) and never another sender's.
    """
    digest = hashlib.sha256(json.dumps([sender, system, value]).encode("ascii")).hexdigest()
    return f"partner-{digest[:32]}"


def _legacy_event_id(system: Any, value: str) -> str:
    return uuid.uuid5(_LEGACY_NAMESPACE, f"{system}|{value}").hex


def _unlabelled(event: Event) -> Event:
    """``event`` without the labels it travelled with."""
    if isinstance(event, ScoreGiven | IncidentReported) and event.security:
        return attrs.evolve(event, security=())
    return event


@attrs.frozen
class _Read:
    """One resource read into an event, with where it came from."""

    event: Event
    at: str
    ours: bool
    """Whether it carried our own event-id identifier."""
    legacy_id: str | None
    """The id an earlier version derived for it (a re-send may match that)."""


class _Merger:
    def __init__(
        self, engine: Engine, case: Case, bundle: Mapping[str, Any], reported: Iterable[str]
    ) -> None:
        self.reported = frozenset(reported)
        """Locations the validation already reported a problem at."""
        self.engine = engine
        self.case = case
        self.state = case.state
        self.bundle = bundle
        self.issues: list[dict[str, Any]] = []
        entries = bundle.get("entry")
        self.entries: list[Any] = entries if isinstance(entries, list) else []
        self.by_url = {
            e.get("fullUrl"): e.get("resource")
            for e in self.entries
            if isinstance(e, Mapping) and isinstance(e.get("fullUrl"), str)
        }
        self.known = {e.id: e for e in case.events}
        self.latest_allowed = engine.clock() + engine.policy.max_clock_skew
        self.may_send: frozenset[str] = frozenset()
        self.our_context: set[Any] = set()
        """The categories the sender may send (set once the sender is known)."""

    def refuse(self, where: str, message: str, code: str = "business-rule") -> None:
        self.issues.append(issue("error", code, message, where))

    @property
    def refused(self) -> bool:
        return any(i["severity"] == "error" for i in self.issues)

    # who sent it ---------------------------------------------------------------------------------

    def sender(self, named: str | None, keys: PartyKeys | None) -> str | None:
        """The party that sent the bundle, or ``None`` (with issues) when it is refused."""
        if named is not None and (not isinstance(named, str) or not named):
            raise TypeError("sender: expected a party id (a non-empty string)")
        signed: str | None = None
        signature = self.bundle.get("signature")
        if signature is not None and keys is None:
            self.issues.append(
                issue(
                    "warning",
                    "security",
                    "the signature is not verified: no partner keys are configured",
                    "Bundle.signature",
                )
            )
        elif signature is not None and keys is not None:
            try:
                signed = verify_bundle(
                    self.bundle, keys, not_before=self.state.opened.at, not_after=self.latest_allowed
                )
            except UnknownSignerError as error:
                if named is None:  # the signature was to name the sender, and cannot
                    for p in error.problems:
                        self.refuse(p.path, p.message, "security")
                    return None
                for p in error.problems:  # the named sender decides; its own keys are checked below
                    self.issues.append(issue("warning", "security", f"not verified: {p.message}", p.path))
            except SignatureError as error:
                for p in error.problems:
                    self.refuse(p.path, p.message, "security")
                return None
        if named is None and signed is None:
            why = "name the party that sent it" if keys is None else "name the party that sent it, or sign it"
            raise SenderUnknownError(
                operation_outcome([issue("error", "security", f"who sent the bundle is not known: {why}")])
            )
        if named is not None and signed is not None and named != signed:
            self.refuse("Bundle.signature.who", "the bundle is signed by another party than the named sender")
            return None
        party = named or signed
        assert party is not None
        if party not in self.state.care_team:
            where = "Bundle" if named is not None else "Bundle.signature.who"
            self.refuse(where, "the sender is not a member of the case's care team")
            return None
        if signed is None and keys is not None and party in keys:
            self.refuse(
                "Bundle.signature",
                "keys are configured for the sender: its bundles must carry a signature that verifies",
                "security",
            )
            return None
        return party

    # references ----------------------------------------------------------------------------------

    def identifiers(self, ref: Any) -> list[Mapping[str, Any]]:
        """The identifiers a reference carries: its own, or those of the entry it points to."""
        if not isinstance(ref, Mapping):
            return []
        if isinstance(ref.get("identifier"), Mapping):
            return [ref["identifier"]]
        url = ref.get("reference")
        resource = self.by_url.get(url) if isinstance(url, str) else None
        found = resource.get("identifier") if isinstance(resource, Mapping) else None
        if isinstance(found, Mapping):
            found = [found]
        return [i for i in found if isinstance(i, Mapping)] if isinstance(found, list) else []

    def values(self, ref: Any, system: str) -> list[str]:
        """Every value of ``system`` among the identifiers of a reference."""
        return [
            i["value"]
            for i in self.identifiers(ref)
            if i.get("system") == system and isinstance(i.get("value"), str)
        ]

    def identifier_of(self, ref: Any, system: str) -> str | None:
        found = self.values(ref, system)
        return found[0] if found else None

    # one resource --------------------------------------------------------------------------------

    def about_this_case(self, resource: Mapping[str, Any], at: str) -> bool:
        based_on = resource.get("basedOn")
        if based_on is None:
            based_on = []
        if not isinstance(based_on, list):
            self.refuse(f"{at}.basedOn", "basedOn is a list of references", "structure")
            return False
        ours = False
        for index, ref in enumerate(based_on):
            case_ids = self.values(ref, CASE_ID)
            if any(case_id != self.case.case_id for case_id in case_ids):
                self.refuse(f"{at}.basedOn[{index}]", "refers to another case")
                return False
            ours = ours or bool(case_ids)
        if not ours:
            self.refuse(f"{at}.basedOn", "must refer to the case's CarePlan by its case-id identifier")
        return ours

    def event_id(
        self, resource: Mapping[str, Any], at: str, sender: str
    ) -> tuple[str, bool, str | None] | None:
        """The event id, whether it is our own identifier, and the id an earlier version derived."""
        identifiers = resource.get("identifier") or []
        if not isinstance(identifiers, list) or not all(isinstance(i, Mapping) for i in identifiers):
            self.refuse(f"{at}.identifier", "an identifier is a list of objects", "structure")
            return None
        for item in identifiers:
            if item.get("system") == EVENT_ID and isinstance(item.get("value"), str):
                return item["value"], True, None
        for item in identifiers:
            value, system = item.get("value"), item.get("system")
            if isinstance(value, str) and value and (system is None or isinstance(system, str)):
                return partner_event_id(sender, system, value), False, _legacy_event_id(system, value)
        self.refuse(
            f"{at}.identifier", "a partner's resource needs an identifier (so re-sending does not duplicate)"
        )
        return None

    def in_time(self, when: datetime, at: str) -> bool:
        """Whether a partner's moment may be recorded: not before the opening, not in the future."""
        where = f"{at}.effectiveDateTime"
        if when > self.latest_allowed:
            self.refuse(
                where, "is later than now (beyond the allowed clock skew): a partner sends what happened"
            )
            return False
        if when < self.state.opened.at:
            self.refuse(where, "is before the case was opened")
            return False
        return True

    def party(self, party_id: str | None, at: str) -> bool:
        """Whether the performer (if any) is a party of the case's care team."""
        if party_id is not None and party_id not in self.state.known_parties:
            self.refuse(f"{at}.performer[0]", "names no party of the case's care team")
            return False
        return True

    def conference(self, encounter: bool, conference_id: str | None, at: str) -> bool:
        """Whether the encounter a score names is acceptable (one of this case's conferences, or none)."""
        if encounter and conference_id is None:
            self.issues.append(
                issue(
                    "warning",
                    "informational",
                    "the encounter is not one of this case's conferences: "
                    "the score is recorded as given between conferences",
                    f"{at}.encounter",
                )
            )
        elif conference_id is not None and conference_id not in self.state.conferences:
            self.refuse(f"{at}.encounter", "names a conference this case does not hold")
            return False
        return True

    def target(self, ref: Any) -> Mapping[str, Any] | None:
        url = ref.get("reference") if isinstance(ref, Mapping) else None
        found = self.by_url.get(url) if isinstance(url, str) else None
        return found if isinstance(found, Mapping) else None

    def labels(self, resource: Mapping[str, Any], at: str) -> tuple[SecurityLabel, ...] | None:
        """The sender's security labels (``meta.security``), or ``None`` (refused) when one is unknown."""
        labels, problems = read_security_labels(resource, at)
        for p in problems:
            self.refuse(p.path, p.message, "code-invalid")
        return None if problems else labels

    def observation(self, resource: Mapping[str, Any], at: str, sender: str) -> _Read | None:
        """Read a score or an incident (the one reader of each), then apply this merge's rules."""
        about = self.about_this_case(resource, at)
        ident = self.event_id(resource, at, sender)
        labels = self.labels(resource, at)
        try:
            if observation_kind(resource) == "safety-score":
                score = read_score(resource, at, self.target)
                good = self.party(score.party_id, at) & self.conference(
                    score.encounter, score.conference_id, at
                )
                if not (self.in_time(score.at, at) and good and about and ident and labels is not None):
                    return None
                event: Event = ScoreGiven(
                    id=ident[0],
                    at=score.at,
                    party_id=score.party_id,
                    role=self.state.known_parties[score.party_id].role,
                    score=score.score,
                    rationale=score.rationale,
                    conference_id=score.conference_id,
                    security=labels,
                )
            else:
                incident = read_incident(resource, at, self.target)
                good = self.party(incident.reported_by, at)
                if not (self.in_time(incident.at, at) and good and about and ident and labels is not None):
                    return None
                event = IncidentReported(
                    id=ident[0],
                    at=incident.at,
                    severity=incident.severity,
                    acute=incident.acute,
                    description=incident.description,
                    reported_by=incident.reported_by or sender,
                    security=labels,
                )
        except FhirMappingError as error:
            for p in error.problems:
                if p.path not in self.reported:
                    self.refuse(p.path, p.message, "invalid")
            return None
        return _Read(event, at, ours=ident[1], legacy_id=ident[2])

    # the sender's rules --------------------------------------------------------------------------

    def is_known(self, read: _Read) -> bool:
        """Whether the case already holds this event (the same content): nothing to do."""
        event = _unlabelled(read.event)
        # the labels are how it travelled, not what happened: a re-send with other labels is the same
        found = self.known.get(event.id)
        if found is not None and _unlabelled(found) == event:
            return True
        if read.legacy_id is None:
            return False
        earlier = self.known.get(read.legacy_id)
        if earlier is None:
            return False
        earlier = _unlabelled(earlier)
        same = attrs.evolve(event, id=read.legacy_id)
        if earlier == same:
            return True
        # an incident without a performer was recorded as reported by nobody before
        return isinstance(same, IncidentReported) and earlier == attrs.evolve(same, reported_by=None)

    def speaks_for(self, read: _Read, sender: str) -> bool:
        """Whether the sender may add this event; refuses it (located) when not."""
        event, at = read.event, read.at
        if read.ours:
            self.refuse(
                f"{at}.identifier",
                "carries this case's own event-id identifier, but this case holds no such event with "
                "the same content: a partner's resource carries the partner's own identifier",
            )
            return False
        if isinstance(event, ScoreGiven):
            if event.party_id != sender:
                self.refuse(
                    f"{at}.performer[0]", "a partner sends only its own scores: this one is another party's"
                )
                return False
            if event.conference_id is not None:
                conference = self.state.conferences[event.conference_id]
                if event.party_id not in conference.participants:
                    self.refuse(
                        f"{at}.encounter", "the party that gave the score took no part in this conference"
                    )
                    return False
        elif isinstance(event, IncidentReported) and event.reported_by != sender:
            self.refuse(
                f"{at}.performer[0]",
                "a partner sends only the incidents it reports: this one names another party",
            )
            return False
        return True

    def ours(self, resource: Mapping[str, Any]) -> bool:
        """Whether a resource is one of this case's own (our export, sent back): an identifier of ours
        that names what the case holds."""
        found = resource.get("identifier")
        for item in found if isinstance(found, list) else [found]:
            if not isinstance(item, Mapping):
                continue
            system, value = item.get("system"), item.get("value")
            if not isinstance(value, str):
                continue
            if (
                (system == EVENT_ID and value.partition("#")[0] in self.known)
                or (system == CASE_ID and value == self.case.case_id)
                or (system == PERSON_ID and value in self.state.persons)
                or (system == PARTY_ID and value in self.state.known_parties)
            ):
                return True
        return False

    def permitted(
        self, resource: Mapping[str, Any], at: str, url: Any, sender: str, context: set[str]
    ) -> bool:
        """Whether the sender may send this resource (what it may send: ``disclosure/data/senders.json``);
        refuses it (located, by its category, never its content) when not."""
        category = classify(resource)
        if category in self.may_send or category == "unknown" or url in self.our_context:
            return True
        if resource.get("resourceType") in _SUPPORTING and url in context:
            return True  # what a score or an incident refers to: the case's CarePlan, a performer
        self.refuse(
            at,
            f"a {sender_kind(self.state.known_parties[sender])} party may not send a resource of the "
            f"category {category} about this case",
            "forbidden",
        )
        return False

    def read(self, sender: str) -> list[_Read]:
        """The events to record, in bundle order; issues for what cannot be merged."""
        out: list[_Read] = []
        in_bundle: dict[str, _Read] = {}
        self.may_send = may_send(self.state.known_parties[sender])
        resources = [e.get("resource") for e in self.entries if isinstance(e, Mapping)]
        context = referenced(resources)
        # this case's own resources sent back (our export), and what they refer to: nothing new
        ours = [
            e
            for e in self.entries
            if isinstance(e, Mapping) and isinstance(e.get("resource"), Mapping) and self.ours(e["resource"])
        ]
        self.our_context = {e.get("fullUrl") for e in ours} | referenced(e["resource"] for e in ours)
        for index, entry in enumerate(self.entries):
            resource = entry.get("resource") if isinstance(entry, Mapping) else None
            if not isinstance(resource, Mapping):
                continue
            at = f"Bundle.entry[{index}].resource"
            rtype = resource.get("resourceType")
            if not isinstance(rtype, str):
                continue  # validation has refused it
            if not self.permitted(resource, at, entry.get("fullUrl"), sender, context):
                continue
            if rtype != "Observation" or observation_kind(resource) not in _READ:
                if rtype not in _SUPPORTING:
                    self.issues.append(
                        issue(
                            "warning",
                            "not-supported",
                            f"{rtype if rtype in R4_RESOURCE_TYPES else 'this resource'} is not merged "
                            "(only safety scores and incidents)",
                            at,
                        )
                    )
                continue
            try:
                read = self.observation(resource, at, sender)
            except (ValidationError, *UNREADABLE) as error:
                # Never drop a resource silently: if validation has not said what is wrong with
                # it, say here that it could not be read (the kind of problem, not the value).
                if not any(where.startswith(at) for where in self.reported):
                    detail = (
                        "; ".join(p.message for p in error.problems)
                        if isinstance(error, ValidationError)
                        else type(error).__name__
                    )
                    self.refuse(at, f"cannot be merged ({detail})", "invalid")
                continue
            if read is None or self.is_known(read):
                continue
            twin = in_bundle.get(read.event.id)
            if twin is not None:
                if twin.event != read.event:
                    self.refuse(
                        f"{at}.identifier",
                        "another resource of this bundle has the same identifier and other content",
                    )
                continue
            if read.event.id in self.known:
                self.refuse(
                    f"{at}.identifier",
                    "an event with this identifier was already recorded with other content",
                )
                continue
            if self.speaks_for(read, sender):
                in_bundle[read.event.id] = read
                out.append(read)
        return out

    def locate(self, error: InvalidEventError, reads: list[_Read]) -> None:
        """Turn the engine's ``events[i].field`` problems into issues at the resource they came from."""
        for p in error.problems:
            head, _, field = p.path.partition(".")
            where = "Bundle"
            if head.startswith("events[") and head.endswith("]"):
                read = reads[int(head[len("events[") : -1])]
                name = field.split(".")[0].split("[")[0]
                where = f"{read.at}.{_ELEMENT[name]}" if name in _ELEMENT else read.at
            self.refuse(where, p.message)


def merge_bundle(
    engine: Engine,
    case: Case,
    bundle: Any,
    *,
    sender: str | None = None,
    keys: PartyKeys | Mapping[str, Any] | None = None,
) -> tuple[Case, dict[str, Any]]:
    """Merge the bundle a partner sent; return the new case and the OperationOutcome (warnings, if any).

    ``sender`` is the party id of the care-team member that sent it, as the organisation knows it;
    ``keys`` the partners' public keys (:class:`PartyKeys`, or the mapping of a keys file), with
    which a ``Bundle.signature`` is verified. One of the two must establish the sender.

    Raises :class:`SenderUnknownError` when neither does, and :class:`MergeRefusedError` (with the
    OperationOutcome) when anything cannot be merged; ``case`` is then unchanged.
    """
    if keys is not None and not isinstance(keys, PartyKeys):
        keys = PartyKeys.from_mapping(keys)
    outcome = validate_bundle(bundle, engine=engine)
    errors = [i for i in outcome["issue"] if i["severity"] in ("fatal", "error")]
    if any(i["severity"] == "fatal" for i in errors):
        raise MergeRefusedError(operation_outcome(errors))
    merger = _Merger(engine, case, bundle, (w for i in errors for w in i.get("expression", ())))
    party = merger.sender(sender, keys)
    if party is None:
        raise MergeRefusedError(operation_outcome(errors + merger.issues))
    reads = merger.read(party)
    if errors or merger.refused:
        raise MergeRefusedError(operation_outcome(errors + merger.issues))
    try:
        new = engine.record_all(case, (r.event for r in reads))
    except InvalidEventError as error:
        merger.locate(error, reads)
        raise MergeRefusedError(operation_outcome(merger.issues)) from None
    except KetenzorgError as error:
        problems = error.problems if isinstance(error, ValidationError) else [Problem("", str(error))]
        for p in problems:
            merger.refuse("Bundle", p.message)
        raise MergeRefusedError(operation_outcome(merger.issues)) from None
    return new, operation_outcome([i for i in merger.issues if i["severity"] != "error"])
