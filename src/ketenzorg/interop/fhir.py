"""Case <-> FHIR R4 Bundle (plain JSON-ready dicts), both ways, without loss.

Every event of the history is carried by a resource (or an element of one) that holds the event's
id (identifier system ``NamingSystem/event-id``) and its place in the history (extension
``event-sequence``), so a bundle converts back into the very same case. See
``docs/fhir-mapping.md`` for the mapping, resource by resource.

A secret location is never exported: the stay's Encounter says only that the location is secret
(extension ``secret-location``) and names it by a pseudonym of this case (``secret-location-1``,
``secret-location-2``, ... in order of first appearance), never by its own id, which other cases at
the same shelter share. Its name never leaves the engine, so a case with a secret location comes
back with the placeholder name :data:`SECRET_LOCATION_NAME` and the pseudonym as its id.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import quote

from ketenzorg.case import Case
from ketenzorg.domain import (
    AgreementStatus,
    CareSetting,
    CareSettingKind,
    GoalStatus,
    IncidentSeverity,
    Location,
    Organisation,
    PartnerType,
    Party,
    PartyRole,
    Person,
    PersonRole,
    Phase,
    RecoveryGoal,
    Region,
    RiskFactor,
    SafetyAgreement,
    WorkGoal,
)
from ketenzorg.errors import InvalidEventError, MalformedInputError, Problem, ValidationError
from ketenzorg.events import (
    CareSettingChanged,
    CaseClosed,
    CaseOpened,
    ConferenceHeld,
    Event,
    IncidentReported,
    InstrumentApplied,
    PartyJoined,
    PartyLeft,
    PhaseChanged,
    PlanRevised,
    ScoreGiven,
    TransitionKind,
)
from ketenzorg.instruments import (
    AdvisedSetting,
    Answer,
    Classification,
    InstrumentResult,
    SafetyCode,
    Urgency,
)
from ketenzorg.interop.definitions import (
    CASE_ID,
    EVENT_ID,
    GOAL_ID,
    LOCATION_ID,
    ORGANISATION_ID,
    PARTY_ID,
    PERSON_ID,
    X_ADDRESSES_RISK,
    X_ADVICE,
    X_ADVISED_SETTING,
    X_AGREEMENT,
    X_APPLIED_BY,
    X_CARE_SETTING,
    X_CLASSIFICATION,
    X_CLIENT_PRESENT,
    X_EVENT,
    X_EVIDENCE,
    X_EXPLANATION,
    X_GOAL_STATUS,
    X_HANDOVER,
    X_JOINED,
    X_LEFT,
    X_MULTIPLE,
    X_NO_CODES,
    X_NOTES,
    X_PARTICIPANT,
    X_PARTY,
    X_PROVENANCE,
    X_RANK,
    X_REGION,
    X_RISK_FACTOR,
    X_RULES,
    X_SECRET_LOCATION,
    X_SEQUENCE,
    X_URGENCY,
)
from ketenzorg.interop.instant import parse_instant
from ketenzorg.interop.terminology import (
    AGB,
    CANONICAL,
    URA,
    code_system,
    coding,
    safety_band,
)

if TYPE_CHECKING:
    from ketenzorg.engine import Engine

__all__ = [
    "SECRET_LOCATION_NAME",
    "SECRET_LOCATION_PSEUDONYM",
    "BundleType",
    "FhirMappingError",
    "bundle_to_case",
    "case_to_bundle",
    "secret_location_pseudonyms",
]

BundleType = Literal["collection", "transaction"]
SECRET_LOCATION_NAME: Final = "geheime locatie"
SECRET_LOCATION_PSEUDONYM: Final = "secret-location-{}"
"""The id a secret location has in an export: numbered per case, so it links no two cases."""
_NAMESPACE = uuid.UUID("0b6f6d4e-5d7a-4f1e-9a53-7c0e2a6d1f42")


V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


class FhirMappingError(ValidationError):
    """A bundle that cannot be read as a ketenzorg case, with a FHIRPath-like location per problem."""


# --- small builders ------------------------------------------------------------------------------


def _rid(case_id: str, *parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "|".join((case_id, *parts))))


def _ref(rid: str, display: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"reference": f"urn:uuid:{rid}"}
    if display:
        out["display"] = display
    return out


def _ident(system: str, value: str) -> dict[str, str]:
    return {"system": system, "value": value}


def _x(url: str, **value: Any) -> dict[str, Any]:
    return {"url": url, **value}


def _xs(url: str, value: str) -> dict[str, Any]:
    return {"url": url, "valueString": value}


def _concept(system: str, code: str, text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": [coding(system, code)]}
    if text:
        out["text"] = text
    return out


def _optional(url: str, value: str | None) -> list[dict[str, Any]]:
    return [_xs(url, value)] if value else []


def _dt(moment: datetime) -> str:
    return moment.isoformat()


def _event_ext(event: Event, sequence: int) -> dict[str, Any]:
    return _x(
        X_EVENT,
        extension=[
            _xs("id", event.id),
            _x("sequence", valueInteger=sequence),
            _x("at", valueDateTime=_dt(event.at)),
        ],
    )


# --- case -> bundle ------------------------------------------------------------------------------


class _Exporter:
    def __init__(self, case: Case, item_types: Mapping[tuple[str, str], str]) -> None:
        self.case = case
        self.item_types = item_types
        self.state = case.state
        self.opened = case.state.opened
        self.cid = case.case_id
        self.resources: list[dict[str, Any]] = []
        clients = [p for p in self.opened.persons if p.role is PersonRole.CLIENT]
        if not clients:
            raise InvalidEventError(
                [Problem("events[0].persons", "a case without a client person cannot be exported")]
            )
        self.patient = _rid(self.cid, "person", clients[0].id)
        self.org = _rid(self.cid, "organisation", self.opened.organisation.id)
        self.careplan = _rid(self.cid, "careplan")
        self.careteam = _rid(self.cid, "careteam")
        self.secret_ids = secret_location_pseudonyms(case)
        self.location_rids: dict[Location, str] = {}
        self.location_versions: dict[str, int] = {}

    # references --------------------------------------------------------------------------------

    def person_rid(self, person: Person) -> str:
        return _rid(self.cid, "person", person.id)

    def party_rid(self, party: Party) -> str:
        if party.person_id is not None:
            return _rid(self.cid, "person", party.person_id)
        return _rid(self.cid, "party", party.id)

    def party_ref(self, party_id: str) -> dict[str, Any]:
        party = self.state.known_parties[party_id]
        return _ref(self.party_rid(party), party.name)

    def responsible_ref(self, target: str) -> dict[str, Any]:
        if target in self.state.known_parties:
            return self.party_ref(target)
        person = self.state.persons[target]
        return _ref(self.person_rid(person), person.label)

    def add(self, resource: dict[str, Any]) -> None:
        self.resources.append(resource)

    # the parts ---------------------------------------------------------------------------------

    def run(self) -> list[dict[str, Any]]:
        self.organisation(self.opened.organisation, self.org, own=True)
        for person in self.opened.persons:
            self.person(person)
        for party in self.state.known_parties.values():
            self.party(party)
        events = list(enumerate(self.case.events))
        self.careteam_resource(events)
        self.trajectory(events)
        settings: list[tuple[int, Event, CareSetting]] = [(0, self.opened, self.opened.care_setting)]
        previous_plan: str | None = None
        for seq, event in events:
            match event:
                case CareSettingChanged():
                    settings.append((seq, event, event.care_setting))
                case ConferenceHeld():
                    self.conference(seq, event)
                case ScoreGiven():
                    self.score(seq, event)
                case IncidentReported():
                    self.incident(seq, event)
                case PlanRevised():
                    previous_plan = self.plan(seq, event, previous_plan)
                case PhaseChanged():
                    self.phase_change(seq, event)
                case InstrumentApplied():
                    self.instrument(seq, event)
        for index, (seq, event, setting) in enumerate(settings):
            until = settings[index + 1][1].at if index + 1 < len(settings) else None
            self.stay(seq, event, setting, until)
        return self.resources

    def organisation(self, org: Organisation, rid: str, *, own: bool) -> None:
        identifiers = [_ident(ORGANISATION_ID, org.id)]
        if org.agb:
            identifiers.append(_ident(AGB, org.agb))
        if org.ura:
            identifiers.append(_ident(URA, org.ura))
        self.add({"resourceType": "Organization", "id": rid, "identifier": identifiers, "name": org.name})

    def person(self, person: Person) -> None:
        base: dict[str, Any] = {
            "id": self.person_rid(person),
            "identifier": [_ident(PERSON_ID, person.id)],
        }
        if person.role is PersonRole.CLIENT:
            resource = {"resourceType": "Patient", **base, "name": [{"text": person.label}]}
            if person.birth_year is not None:
                resource["birthDate"] = f"{person.birth_year:04d}"
        else:
            resource = {
                "resourceType": "RelatedPerson",
                **base,
                "patient": _ref(self.patient),
                "relationship": [_concept("person-role", person.role.value)],
                "name": [{"text": person.label}],
            }
            if person.birth_year is not None:
                resource["birthDate"] = f"{person.birth_year:04d}"
        self.add(resource)

    def party(self, party: Party) -> None:
        if party.person_id is not None:
            return  # the person's Patient or RelatedPerson stands for the party
        rid = self.party_rid(party)
        ident = [_ident(PARTY_ID, party.id)]
        if party.role is PartyRole.CHAIN_PARTNER:
            assert party.partner_type is not None
            self.add(
                {
                    "resourceType": "Organization",
                    "id": rid,
                    "identifier": ident,
                    "type": [_concept("partner-type", party.partner_type.value)],
                    "name": party.name,
                }
            )
        elif party.role is PartyRole.PRACTITIONER:
            self.add(
                {
                    "resourceType": "Practitioner",
                    "id": rid,
                    "identifier": ident,
                    "name": [{"text": party.name}],
                }
            )
        else:
            self.add(
                {
                    "resourceType": "RelatedPerson",
                    "id": rid,
                    "identifier": ident,
                    "patient": _ref(self.patient),
                    "relationship": [_concept("party-role", party.role.value)],
                    "name": [{"text": party.name}],
                }
            )

    def careteam_resource(self, events: list[tuple[int, Event]]) -> None:
        participants: list[dict[str, Any]] = []
        open_periods: dict[str, dict[str, Any]] = {}

        def join(party: Party, at: datetime, joined: tuple[int, Event] | None) -> None:
            role = [_concept("party-role", party.role.value)]
            if party.partner_type is not None:
                role.append(_concept("partner-type", party.partner_type.value))
            entry: dict[str, Any] = {
                "extension": [
                    _x(
                        X_PARTY,
                        extension=[
                            _xs("id", party.id),
                            _xs("name", party.name),
                            *([_xs("person", party.person_id)] if party.person_id else []),
                        ],
                    )
                ],
                "role": role,
                "member": self.party_ref(party.id),
                "period": {"start": _dt(at)},
            }
            if joined is not None:
                entry["extension"].append(_event_ext(joined[1], joined[0]) | {"url": X_JOINED})
            participants.append(entry)
            open_periods[party.id] = entry

        for party in self.opened.parties:
            join(party, self.opened.at, None)
        for seq, event in events:
            if isinstance(event, PartyJoined):
                join(event.party, event.at, (seq, event))
            elif isinstance(event, PartyLeft):
                entry = open_periods.pop(event.party_id)
                entry["period"]["end"] = _dt(event.at)
                left = _event_ext(event, seq) | {"url": X_LEFT}
                if event.reason:
                    left["extension"].append(_xs("reason", event.reason))
                entry["extension"].append(left)
        self.add(
            {
                "resourceType": "CareTeam",
                "id": self.careteam,
                "identifier": [_ident(CASE_ID, self.cid)],
                "status": "inactive" if self.state.is_closed else "active",
                "subject": _ref(self.patient),
                "managingOrganization": [_ref(self.org)],
                "participant": participants,
            }
        )

    def trajectory(self, events: list[tuple[int, Event]]) -> None:
        region = self.opened.region
        opened = self.opened
        extensions: list[dict[str, Any]] = [
            _event_ext(opened, 0),
            _x(
                X_REGION,
                extension=[
                    _xs("region", region.region),
                    _xs("leadMunicipality", region.lead_municipality),
                    _xs("municipality", region.municipality),
                ],
            ),
        ]
        resource: dict[str, Any] = {
            "resourceType": "CarePlan",
            "id": self.careplan,
            "extension": extensions,
            "identifier": [_ident(CASE_ID, self.cid)],
            "status": "completed" if self.state.is_closed else "active",
            "intent": "plan",
            "category": [
                _concept("careplan-kind", "trajectory"),
                _concept("phase", str(int(self.state.phase))),
            ],
            "title": "Gefaseerde ketenzorg",
            "subject": _ref(self.patient),
            "period": {"start": _dt(opened.at)},
            "author": _ref(self.org, opened.organisation.name),
            "careTeam": [_ref(self.careteam)],
        }
        if opened.reason:
            resource["description"] = opened.reason
        closed = self.state.closed
        if closed is not None:
            seq = next(s for s, e in events if e is closed)
            resource["period"]["end"] = _dt(closed.at)
            handover = _event_ext(closed, seq) | {"url": X_HANDOVER}
            handover["extension"] += [
                _x("to", valueReference=self.party_ref(pid) | {"identifier": _ident(PARTY_ID, pid)})
                for pid in closed.handover_to
            ]
            if closed.summary:
                handover["extension"].append(_xs("summary", closed.summary))
            extensions.append(handover)
        if self.state.plan is not None:
            resource["supportingInfo"] = [_ref(_rid(self.cid, "plan", self.state.plan.id))]
        self.add(resource)

    def stay(self, seq: int, event: Event, setting: CareSetting, until: datetime | None) -> None:
        kind = setting.kind
        resource: dict[str, Any] = {
            "resourceType": "Encounter",
            "id": _rid(self.cid, "stay", event.id),
            "extension": [_event_ext(event, seq) | {"url": X_CARE_SETTING}],
            "identifier": [_ident(EVENT_ID, f"{event.id}#care-setting")],
            "status": "finished" if until is not None or self.state.is_closed else "in-progress",
            "class": {"system": V3_ACT_CODE, "code": "AMB" if kind is CareSettingKind.AMBULANT else "NONAC"},
            "type": [_concept("encounter-type", kind.value)],
            "subject": _ref(self.patient),
            "period": {"start": _dt(event.at)} | ({"end": _dt(until)} if until else {}),
            "serviceProvider": _ref(self.org),
        }
        if isinstance(event, CareSettingChanged) and event.reason:
            resource["reasonCode"] = [{"text": event.reason}]
        location = setting.location
        if location is not None:
            if location.secret or location.id in self.state.secret_locations:
                # Never the location itself, its name or its own id: only that it is secret, and
                # the pseudonym this case gives it (fails closed: no pseudonym, no export).
                pseudonym = self.secret_ids[location.id]
                resource["extension"].append(
                    _x(X_SECRET_LOCATION, extension=[_xs("id", pseudonym), _x("secret", valueBoolean=True)])
                )
            else:
                resource["location"] = [{"location": _ref(self.location(location), location.name)}]
        self.add(resource)

    def location(self, location: Location) -> str:
        """The ``Location`` resource of an open location, added once per recorded version of it."""
        found = self.location_rids.get(location)
        if found is not None:
            return found
        version = self.location_versions[location.id] = self.location_versions.get(location.id, 0) + 1
        lid = _rid(self.cid, "location", location.id, *([str(version)] if version > 1 else []))
        loc: dict[str, Any] = {
            "resourceType": "Location",
            "id": lid,
            "identifier": [_ident(LOCATION_ID, location.id)],
            "name": location.name,
        }
        if location.address:
            loc["address"] = {"text": location.address}
        self.add(loc)
        self.location_rids[location] = lid
        return lid

    def conference(self, seq: int, event: ConferenceHeld) -> None:
        extensions = [
            _x(X_SEQUENCE, valueInteger=seq),
            _x(X_CLIENT_PRESENT, valueBoolean=event.client_present),
            *(_x(X_PARTICIPANT, valueReference=self.party_ref(pid) | {"identifier": _ident(PARTY_ID, pid)})
              for pid in event.participants),
        ]  # fmt: skip
        if event.notes:
            extensions.append(_xs(X_NOTES, event.notes))
        resource: dict[str, Any] = {
            "resourceType": "Encounter",
            "id": _rid(self.cid, "event", event.id),
            "extension": extensions,
            "identifier": [_ident(EVENT_ID, event.id)],
            "status": "finished",
            "class": {"system": V3_ACT_CODE, "code": "AMB"},
            "type": [_concept("encounter-type", "case-conference")],
            "subject": _ref(self.patient),
            "period": {"start": _dt(event.at)},
            "serviceProvider": _ref(self.org),
        }
        # R4 lets only people take part (Practitioner, RelatedPerson); every party, organisations
        # included, is in the conference-participant extension, which is what import reads.
        people = [
            {"individual": self.party_ref(pid)}
            for pid in event.participants
            if self.state.known_parties[pid].role in (PartyRole.PRACTITIONER, PartyRole.NETWORK)
            and self.state.known_parties[pid].person_id is None
        ]
        if people:
            resource["participant"] = people
        self.add(resource)

    def _observation(self, seq: int, event: Event, kind: str) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "id": _rid(self.cid, "event", event.id),
            "extension": [_x(X_SEQUENCE, valueInteger=seq)],
            "identifier": [_ident(EVENT_ID, event.id)],
            "basedOn": [_ref(self.careplan)],
            "status": "final",
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}],
            "code": _concept("observation-kind", kind),
            "subject": _ref(self.patient),
            "effectiveDateTime": _dt(event.at),
        }

    def score(self, seq: int, event: ScoreGiven) -> None:
        resource = self._observation(seq, event, "safety-score")
        resource["performer"] = [
            self.party_ref(event.party_id) | {"identifier": _ident(PARTY_ID, event.party_id)}
        ]
        resource["valueInteger"] = event.score
        resource["interpretation"] = [_concept("safety-band", safety_band(event.score))]
        if event.rationale:
            resource["note"] = [{"text": event.rationale}]
        if event.conference_id is not None:
            resource["encounter"] = _ref(_rid(self.cid, "event", event.conference_id))
        self.add(resource)

    def incident(self, seq: int, event: IncidentReported) -> None:
        resource = self._observation(seq, event, "incident")
        if event.reported_by is not None:
            resource["performer"] = [
                self.party_ref(event.reported_by) | {"identifier": _ident(PARTY_ID, event.reported_by)}
            ]
        resource["valueCodeableConcept"] = _concept("incident-severity", event.severity.value)
        if event.description:
            resource["note"] = [{"text": event.description}]
        resource["component"] = [
            {"code": _concept("observation-kind", "incident-acute"), "valueBoolean": event.acute}
        ]
        self.add(resource)

    def phase_change(self, seq: int, event: PhaseChanged) -> None:
        resource = self._observation(seq, event, "phase-change")
        resource["valueCodeableConcept"] = _concept("phase", str(int(event.to_phase)))
        resource["component"] = [
            {
                "code": _concept("observation-kind", "phase-from"),
                "valueCodeableConcept": _concept("phase", str(int(event.from_phase))),
            },
            {
                "code": _concept("observation-kind", "transition-kind"),
                "valueCodeableConcept": _concept("transition-kind", event.kind.value),
            },
        ]
        if event.reason:
            resource["note"] = [{"text": event.reason}]
        resource["extension"] += [_xs(X_RULES, r) for r in event.rules]
        resource["extension"] += [_xs(X_EVIDENCE, e) for e in event.evidence]
        self.add(resource)

    def plan(self, seq: int, event: PlanRevised, previous: str | None) -> str:
        rid = _rid(self.cid, "plan", event.id)
        latest = self.state.plan is event
        status = ("completed" if self.state.is_closed else "active") if latest else "revoked"
        goals = [self.goal(event, g, "work-goal") for g in event.work_goals]
        goals += [self.goal(event, g, "recovery-goal") for g in event.recovery_goals]
        extensions = [_x(X_SEQUENCE, valueInteger=seq)]
        extensions += [
            _x(
                X_RISK_FACTOR,
                extension=[_xs("id", r.id), _xs("text", r.text), *([_xs("code", r.code)] if r.code else [])],
            )
            for r in event.risk_factors
        ]
        resource: dict[str, Any] = {
            "resourceType": "CarePlan",
            "id": rid,
            "extension": extensions,
            "identifier": [_ident(EVENT_ID, event.id)],
            "partOf": [_ref(self.careplan)],
            "status": status,
            "intent": "plan",
            "category": [_concept("careplan-kind", "safety-action-plan")],
            "title": "Veiligheidsactieplan",
            "subject": _ref(self.patient),
            "encounter": _ref(_rid(self.cid, "event", event.conference_id)),
            "created": _dt(event.at),
            "author": _ref(self.org),
            "careTeam": [_ref(self.careteam)],
        }
        if previous is not None:
            resource["replaces"] = [_ref(previous)]
        if goals:
            resource["goal"] = [_ref(g) for g in goals]
        if event.agreements:
            resource["activity"] = [self.agreement(a) for a in event.agreements]
        self.add(resource)
        return rid

    def agreement(self, agreement: SafetyAgreement) -> dict[str, Any]:
        status = {
            AgreementStatus.ACTIVE: "in-progress",
            AgreementStatus.KEPT: "completed",
            AgreementStatus.BROKEN: "stopped",
            AgreementStatus.ENDED: "completed",
        }[agreement.status]
        detail: dict[str, Any] = {
            "extension": [
                _x(
                    X_AGREEMENT,
                    extension=[
                        _xs("id", agreement.id),
                        _xs("responsible", agreement.responsible),
                        _x("status", valueCoding=coding("agreement-status", agreement.status.value)),
                    ],
                )
            ],
            "status": status,
            "description": agreement.what,
            "performer": [self.responsible_ref(agreement.responsible)],
        }
        if agreement.due is not None:
            detail["scheduledPeriod"] = {"end": _dt(agreement.due)}
        return {"detail": detail}

    def goal(self, plan: PlanRevised, goal: WorkGoal | RecoveryGoal, kind: str) -> str:
        rid = _rid(self.cid, "goal", plan.id, goal.id)
        lifecycle = {
            GoalStatus.ACTIVE: "active",
            GoalStatus.ON_HOLD: "on-hold",
            GoalStatus.ACHIEVED: "completed",
            GoalStatus.CANCELLED: "cancelled",
        }[goal.status]
        extensions = [_x(X_GOAL_STATUS, valueCoding=coding("goal-status", goal.status.value))]
        if isinstance(goal, WorkGoal):
            if goal.rank is not None:
                extensions.append(_x(X_RANK, valueInteger=goal.rank))
            if goal.risk_factor_id is not None:
                extensions.append(_xs(X_ADDRESSES_RISK, goal.risk_factor_id))
        resource: dict[str, Any] = {
            "resourceType": "Goal",
            "id": rid,
            "extension": extensions,
            "identifier": [_ident(EVENT_ID, f"{plan.id}#{goal.id}"), _ident(GOAL_ID, goal.id)],
            "lifecycleStatus": lifecycle,
            "category": [_concept("goal-kind", kind)],
            "description": {"text": goal.text},
            "subject": _ref(self.patient),
            "startDate": plan.at.date().isoformat(),
        }
        if goal.status is GoalStatus.ACHIEVED:
            resource["achievementStatus"] = {
                "coding": [{"system": GOAL_ACHIEVEMENT, "code": "achieved", "display": "Achieved"}]
            }
        self.add(resource)
        return rid

    def instrument(self, seq: int, event: InstrumentApplied) -> None:
        rid = _rid(self.cid, "event", event.id)
        qr = _rid(self.cid, "answers", event.id)
        questionnaire = f"{CANONICAL}/Questionnaire/{event.instrument_id}|{event.instrument_version}"
        items = [self.answer_item(event.instrument_id, link, v) for link, v in event.answers.items()]
        response: dict[str, Any] = {
            "resourceType": "QuestionnaireResponse",
            "id": qr,
            "identifier": _ident(EVENT_ID, f"{event.id}#answers"),
            "questionnaire": questionnaire,
            "status": "completed",
            "subject": _ref(self.patient),
            "authored": _dt(event.at),
            "item": items,
        }
        if event.applied_by is not None:
            response["author"] = self.party_ref(event.applied_by)
        self.add(response)
        result = event.result
        extensions: list[dict[str, Any]] = [
            _x(X_SEQUENCE, valueInteger=seq),
            _x(
                X_PROVENANCE,
                extension=[
                    _xs("instrument", event.instrument_id),
                    _xs("version", event.instrument_version),
                    _xs("plugin", event.plugin),
                    *_optional("distribution", event.distribution),
                    *_optional("distributionVersion", event.distribution_version),
                ],
            ),
        ]
        if result.urgency is not None:
            extensions.append(_x(X_URGENCY, valueCoding=coding("urgency", result.urgency.value)))
        if result.advised_setting is not None:
            extensions.append(
                _x(X_ADVISED_SETTING, valueCoding=coding("advised-setting", result.advised_setting.value))
            )
        extensions += [
            _x(
                X_RISK_FACTOR,
                extension=[_xs("id", r.id), _xs("text", r.text), *([_xs("code", r.code)] if r.code else [])],
            )
            for r in result.risk_factors
        ]
        extensions += [_xs(X_ADVICE, line) for line in result.advice]
        extensions += [_xs(X_EXPLANATION, line) for line in result.explanation]
        predictions: list[dict[str, Any]] = []
        if result.safety_code is not None:
            predictions.append({"outcome": _concept("safety-code", result.safety_code.value)})
        for c in result.classifications:
            prediction: dict[str, Any] = {
                "extension": [
                    _x(X_CLASSIFICATION, extension=[_xs("code", c.code), _xs("display", c.display)])
                ],
                "outcome": {
                    "coding": [
                        {
                            "system": f"{code_system(event.instrument_id)}",
                            "code": c.code,
                            "display": c.display,
                        }
                    ]
                },
                "probabilityDecimal": c.fit,
            }
            if c.emphasis:
                prediction["rationale"] = c.emphasis
            predictions.append(prediction)
        resource: dict[str, Any] = {
            "resourceType": "RiskAssessment",
            "id": rid,
            "extension": extensions,
            "identifier": [_ident(EVENT_ID, event.id)],
            "basedOn": _ref(self.careplan),
            "status": "final",
            "method": {"coding": [{"system": code_system("instrument"), "code": event.instrument_id}]},
            "subject": _ref(self.patient),
            "occurrenceDateTime": _dt(event.at),
            "basis": [_ref(qr)],
        }
        if event.applied_by is not None:
            applied_by = self.party_ref(event.applied_by) | {"identifier": _ident(PARTY_ID, event.applied_by)}
            extensions.append(_x(X_APPLIED_BY, valueReference=applied_by))
            party = self.state.known_parties[event.applied_by]
            if party.role is PartyRole.PRACTITIONER and party.person_id is None:
                resource["performer"] = applied_by  # R4 allows only a Practitioner here
        if predictions:
            resource["prediction"] = predictions
        if result.advice:
            resource["mitigation"] = "\n".join(result.advice)
        if result.explanation:
            resource["note"] = [{"text": "\n".join(result.explanation)}]
        self.add(resource)

    def answer_item(self, instrument_id: str, link: str, value: Answer) -> dict[str, Any]:
        if isinstance(value, bool):
            answers: list[dict[str, Any]] = [{"valueBoolean": value}]
        elif isinstance(value, int):
            answers = [{"valueInteger": value}]
        elif isinstance(value, str):
            # A code of a choice item is a Coding; free text (or an unknown instrument) a string.
            kind = self.item_types.get((instrument_id, link))
            answers = [{"valueCoding": {"code": value}} if kind == "choice" else {"valueString": value}]
        else:
            if not value:  # several codes possible, none chosen
                return {"linkId": link, "extension": [_x(X_NO_CODES, valueBoolean=True)]}
            answers = [{"valueCoding": {"code": code}} for code in value]
            return {"linkId": link, "extension": [_x(X_MULTIPLE, valueBoolean=True)], "answer": answers}
        return {"linkId": link, "answer": answers}


def secret_location_pseudonyms(case: Case) -> dict[str, str]:
    """Each secret location's id in this case -> the id an export gives it.

    ``secret-location-1``, ``-2``, ... in order of first appearance in the history: the same
    location has the same pseudonym in every resource and format, and two cases at one shelter
    cannot be linked by it (nor can it be reversed by hashing guessed ids). A number is skipped
    when an open location of the case has that very id. Any location that was ever secret counts,
    whatever a stay says (the fold never lets an open location become secret, this does not rely
    on it); importing an export and exporting again gives the same pseudonyms.
    """
    state = case.state
    secret = state.secret_locations
    taken = state.open_locations - secret
    pseudonyms: dict[str, str] = {}
    number = 0
    for event in case.events:
        if not isinstance(event, CaseOpened | CareSettingChanged):
            continue
        location = event.care_setting.location
        if location is None or location.id in pseudonyms or not (location.secret or location.id in secret):
            continue
        number += 1
        while SECRET_LOCATION_PSEUDONYM.format(number) in taken:
            number += 1
        pseudonyms[location.id] = SECRET_LOCATION_PSEUDONYM.format(number)
    return pseudonyms


def _item_types(instruments: Mapping[str, Any] | None) -> dict[tuple[str, str], str]:
    """(instrument id, item id) -> answer type, from the given or the shipped instruments."""
    if instruments is None:
        instruments = default_engine().instruments
    return {
        (instrument_id, item.id): item.answer_type.value
        for instrument_id, registered in instruments.items()
        for item in registered.spec.items
    }


@functools.cache
def default_engine() -> Engine:
    """An engine with only the shipped plugins, built once: for the interop layer's own needs
    (which answers are codes; the case-level checks of validation)."""
    from ketenzorg.engine import Engine

    return Engine()


def case_to_bundle(
    case: Case,
    *,
    type: BundleType = "collection",
    instruments: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The case as a FHIR R4 Bundle (a JSON-ready dict), ``collection`` or ``transaction``.

    ``instruments`` (an engine's ``instruments``; default: the shipped ones) tell which answers
    are codes of a choice item, so that they travel as Codings.

    Identifiers are stable, so a transaction uses conditional updates
    (``PUT Observation?identifier=system|value``): sending an updated case again updates the
    partner's copy instead of duplicating it. References are ``urn:uuid:`` full URLs that resolve
    inside the bundle.
    """
    resources = _Exporter(case, _item_types(instruments)).run()
    entries: list[dict[str, Any]] = []
    for resource in resources:
        entry: dict[str, Any] = {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}
        if type == "transaction":
            identifier = resource["identifier"]
            first = identifier[0] if isinstance(identifier, list) else identifier
            token = f"{quote(first['system'], safe=':/')}|{quote(first['value'], safe='')}"
            entry["request"] = {"method": "PUT", "url": f"{resource['resourceType']}?identifier={token}"}
        entries.append(entry)
    last = max(e.at for e in case.events)
    return {
        "resourceType": "Bundle",
        "id": _rid(case.case_id, "bundle", type),
        "meta": {"profile": [f"{CANONICAL}/StructureDefinition/ketenzorg-bundle"]},
        "identifier": _ident(CASE_ID, case.case_id),
        "type": type,
        "timestamp": _dt(last),
        "entry": entries,
    }


# --- bundle -> case ------------------------------------------------------------------------------


class _Importer:
    """Reads a bundle back into events; every problem is reported with its FHIRPath location."""

    def __init__(self, bundle: Any) -> None:
        from ketenzorg.interop.validate import MAX_ENTRIES

        self.problems: list[Problem] = []
        self.by_url: dict[str, tuple[int, dict[str, Any]]] = {}
        entries = bundle.get("entry") if isinstance(bundle, Mapping) else None
        if not isinstance(entries, list) or bundle.get("resourceType") != "Bundle":
            raise MalformedInputError([Problem("Bundle", "expected a Bundle with entries")])
        if len(entries) > MAX_ENTRIES:
            raise MalformedInputError(
                [Problem("Bundle.entry", f"{len(entries)} entries: a bundle may hold at most {MAX_ENTRIES}")]
            )
        self.entries: list[tuple[int, dict[str, Any]]] = []
        for index, entry in enumerate(entries):
            resource = entry.get("resource") if isinstance(entry, Mapping) else None
            if not isinstance(resource, dict):
                self.problems.append(Problem(f"Bundle.entry[{index}]", "entry without a resource"))
                continue
            self.entries.append((index, resource))
            url = entry.get("fullUrl")
            if isinstance(url, str):
                self.by_url[url] = (index, resource)

    # lookups -----------------------------------------------------------------------------------

    def where(self, index: int, path: str = "") -> str:
        return f"Bundle.entry[{index}].resource" + (f".{path}" if path else "")

    def resolve(self, ref: Any, index: int, path: str) -> tuple[int, dict[str, Any]]:
        url = ref.get("reference") if isinstance(ref, Mapping) else None
        found = self.by_url.get(url) if isinstance(url, str) else None
        if found is None:
            raise FhirMappingError(
                [Problem(self.where(index, path), "this reference does not resolve in the bundle")]
            )
        return found

    def of_type(self, resource_type: str) -> list[tuple[int, dict[str, Any]]]:
        return [(i, r) for i, r in self.entries if r.get("resourceType") == resource_type]

    @staticmethod
    def ident(resource: Mapping[str, Any], system: str) -> str | None:
        identifiers = resource.get("identifier")
        if isinstance(identifiers, Mapping):
            identifiers = [identifiers]
        for item in identifiers or ():
            if isinstance(item, Mapping) and item.get("system") == system:
                value = item.get("value")
                return value if isinstance(value, str) else None
        return None

    @staticmethod
    def exts(element: Any, url: str) -> list[dict[str, Any]]:
        found = element.get("extension") if type(element) is dict or isinstance(element, Mapping) else None
        return [x for x in _items(found) if isinstance(x, dict) and x.get("url") == url]

    def ext(self, element: Any, url: str) -> dict[str, Any] | None:
        found = self.exts(element, url)
        return found[0] if found else None

    @staticmethod
    def sub(ext: Mapping[str, Any], url: str) -> Any:
        for x in _items(ext.get("extension")):
            if (type(x) is dict or isinstance(x, Mapping)) and x.get("url") == url:
                for key, value in x.items():
                    if key.startswith("value"):
                        return value
        return None

    @staticmethod
    def code(concept: Any, system: str) -> str | None:
        coding = concept.get("coding") if type(concept) is dict or isinstance(concept, Mapping) else None
        wanted = code_system(system)
        for c in _items(coding):
            if (type(c) is dict or isinstance(c, Mapping)) and c.get("system") == wanted:
                value = c.get("code")
                return value if isinstance(value, str) else None
        return None

    def category(self, resource: Mapping[str, Any], system: str) -> str | None:
        for concept in _items(resource.get("category")):
            code = self.code(concept, system)
            if code is not None:
                return code
        return None

    def sequence(self, resource: Mapping[str, Any]) -> int:
        found = self.ext(resource, X_SEQUENCE)
        if found is None:
            raise KeyError("event-sequence")
        value = found["valueInteger"]
        if not isinstance(value, int):
            raise TypeError("event-sequence")
        return value

    # the reading -------------------------------------------------------------------------------

    def run(self) -> Case:
        try:
            return self._run()
        except (FhirMappingError, MalformedInputError):
            raise
        except ValidationError as error:
            raise FhirMappingError([Problem(self.reading, str(p)) for p in error.problems]) from None
        except _UNREADABLE as error:
            raise FhirMappingError([Problem(self.reading, _describe(error))]) from None

    def _run(self) -> Case:
        self.reading = "Bundle"
        events: list[tuple[int, Event]] = []
        plans = self.of_type("CarePlan")
        trajectory = [(i, r) for i, r in plans if self.category(r, "careplan-kind") == "trajectory"]
        if len(trajectory) != 1:
            raise FhirMappingError([Problem("Bundle.entry", "expected exactly one trajectory CarePlan")])
        t_index, t_res = trajectory[0]
        case_id = self.ident(t_res, CASE_ID)
        if case_id is None:
            raise FhirMappingError([Problem(self.where(t_index, "identifier"), "no case id")])
        self.parties, joins, leaves = self.read_careteam()
        events.append((0, self.read_opened(t_index, t_res)))
        events += joins + leaves
        for handler, rtype in (
            (self.read_encounter, "Encounter"),
            (self.read_observation, "Observation"),
            (self.read_plan, "CarePlan"),
            (self.read_assessment, "RiskAssessment"),
        ):
            for index, resource in self.of_type(rtype):
                try:
                    read = handler(index, resource)
                except FhirMappingError as error:
                    self.problems += error.problems
                    continue
                except (*_UNREADABLE, ValidationError) as error:
                    self.problems.append(Problem(self.where(index), _describe(error)))
                    continue
                if read is not None:
                    events.append(read)
        closed = self.read_closed(t_index, t_res)
        if closed is not None:
            events.append(closed)
        if self.problems:
            raise FhirMappingError(self.problems)
        events.sort(key=lambda pair: pair[0])
        ordered = [e for _, e in events]
        try:
            return Case(case_id, ordered)
        except InvalidEventError as error:
            raise FhirMappingError(self.locate(error.problems, ordered)) from None

    def locate(self, problems: Iterable[Problem], events: list[Event]) -> list[Problem]:
        """Turn ``events[i].field`` paths of the fold into the entries that carry the events."""
        out = []
        for problem in problems:
            head, _, rest = problem.path.partition(".")
            index = int(head[len("events[") : -1]) if head.startswith("events[") else None
            where = None
            if index is not None and index < len(events):
                found = _carrier(self.entries, events[index].id)
                where = self.where(found) if found is not None else None
            if where is None:
                out.append(Problem("Bundle", str(problem)))
            else:
                out.append(Problem(where, f"{rest}: {problem.message}" if rest else problem.message))
        return out

    def read_person(self, index: int, resource: Mapping[str, Any]) -> Person:
        self.reading = self.where(index)
        person_id = self.ident(resource, PERSON_ID)
        if person_id is None:
            raise FhirMappingError([Problem(self.where(index, "identifier"), "no person id")])
        if resource["resourceType"] == "Patient":
            role = PersonRole.CLIENT
        else:
            code = self.code(resource.get("relationship", [None])[0], "person-role")
            if code is None:
                raise FhirMappingError([Problem(self.where(index, "relationship"), "no person role")])
            role = PersonRole(code)
        birth = resource.get("birthDate")
        return Person(
            id=person_id,
            role=role,
            label=resource["name"][0]["text"],
            birth_year=int(birth[:4]) if isinstance(birth, str) else None,
        )

    def read_careteam(self) -> tuple[dict[str, Party], list[tuple[int, Event]], list[tuple[int, Event]]]:
        teams = self.of_type("CareTeam")
        if len(teams) != 1:
            raise FhirMappingError([Problem("Bundle.entry", "expected exactly one CareTeam")])
        index, team = teams[0]
        self.reading = self.where(index)
        parties: dict[str, Party] = {}
        self.initial: list[Party] = []
        joins: list[tuple[int, Event]] = []
        leaves: list[tuple[int, Event]] = []
        for n, participant in enumerate(team.get("participant", ())):
            path = f"participant[{n}]"
            info = self.ext(participant, X_PARTY)
            if info is None:
                raise FhirMappingError([Problem(self.where(index, path), "no party extension")])
            role = self.code(participant["role"][0], "party-role")
            partner = (
                self.code(participant["role"][1], "partner-type") if len(participant["role"]) > 1 else None
            )
            party = Party(
                id=self.sub(info, "id"),
                role=PartyRole(role),
                name=self.sub(info, "name"),
                partner_type=PartnerType(partner) if partner else None,
                person_id=self.sub(info, "person"),
            )
            parties[party.id] = party
            joined = self.ext(participant, X_JOINED)
            if joined is None:
                if party not in self.initial:
                    self.initial.append(party)
            else:
                seq, eid, at = self.event_fields(joined)
                joins.append((seq, PartyJoined(id=eid, at=at, party=party)))
            left = self.ext(participant, X_LEFT)
            if left is not None:
                seq, eid, at = self.event_fields(left)
                leaves.append(
                    (seq, PartyLeft(id=eid, at=at, party_id=party.id, reason=self.sub(left, "reason") or ""))
                )
        return parties, joins, leaves

    def event_fields(self, ext: Mapping[str, Any]) -> tuple[int, str, datetime]:
        return (
            int(self.sub(ext, "sequence")),
            str(self.sub(ext, "id")),
            _parse_dt(self.sub(ext, "at")),
        )

    def read_opened(self, index: int, resource: Mapping[str, Any]) -> CaseOpened:
        opened = self.ext(resource, X_EVENT)
        region = self.ext(resource, X_REGION)
        if opened is None or region is None:
            raise FhirMappingError(
                [Problem(self.where(index, "extension"), "no case-opened event or region")]
            )
        _, eid, at = self.event_fields(opened)
        org_index, org = self.resolve(resource.get("author"), index, "author")
        self.reading = self.where(org_index)
        organisation = Organisation(
            id=self.ident(org, ORGANISATION_ID) or "",
            name=org["name"],
            agb=self.ident(org, AGB),
            ura=self.ident(org, URA),
        )
        self.reading = self.where(index)
        persons = [
            self.read_person(i, r)
            for i, r in self.entries
            if r.get("resourceType") in ("Patient", "RelatedPerson") and self.ident(r, PERSON_ID) is not None
        ]
        settings = [(i, r) for i, r in self.of_type("Encounter") if self.ext(r, X_CARE_SETTING) is not None]
        initial = next(
            ((i, r) for i, r in settings if self.sub(self.ext(r, X_CARE_SETTING) or {}, "id") == eid), None
        )
        if initial is None:
            raise FhirMappingError([Problem("Bundle.entry", "no Encounter for the initial care setting")])
        return CaseOpened(
            id=eid,
            at=at,
            organisation=organisation,
            region=Region(
                region=self.sub(region, "region"),
                lead_municipality=self.sub(region, "leadMunicipality"),
                municipality=self.sub(region, "municipality"),
            ),
            persons=tuple(persons),
            parties=tuple(self.initial),
            care_setting=self.care_setting(*initial),
            reason=resource.get("description", ""),
        )

    def care_setting(self, index: int, encounter: Mapping[str, Any]) -> CareSetting:
        kind = CareSettingKind(self.code(encounter["type"][0], "encounter-type"))
        location: Location | None = None
        secret = self.ext(encounter, X_SECRET_LOCATION)
        if secret is not None:
            if "location" in encounter:  # the location itself would undo the secret
                raise FhirMappingError(
                    [Problem(self.where(index, "location"), "a stay at a secret location names no location")]
                )
            location = Location(id=self.sub(secret, "id"), name=SECRET_LOCATION_NAME, secret=True)
        elif encounter.get("location"):
            _, loc = self.resolve(encounter["location"][0]["location"], index, "location[0].location")
            address = loc.get("address", {}).get("text")
            location = Location(id=self.ident(loc, LOCATION_ID) or "", name=loc["name"], address=address)
        return CareSetting(kind=kind, location=location)

    def read_closed(self, index: int, resource: Mapping[str, Any]) -> tuple[int, Event] | None:
        handover = self.ext(resource, X_HANDOVER)
        if handover is None:
            return None
        seq, eid, at = self.event_fields(handover)
        to = [
            x["valueReference"]["identifier"]["value"] for x in handover["extension"] if x.get("url") == "to"
        ]
        return seq, CaseClosed(
            id=eid, at=at, handover_to=tuple(to), summary=self.sub(handover, "summary") or ""
        )

    def read_encounter(self, index: int, resource: Mapping[str, Any]) -> tuple[int, Event] | None:
        setting = self.ext(resource, X_CARE_SETTING)
        if setting is not None:
            seq, eid, at = self.event_fields(setting)
            if seq == 0:
                return None  # the initial setting belongs to case_opened
            reason = (resource.get("reasonCode") or [{}])[0].get("text", "")
            return seq, CareSettingChanged(
                id=eid, at=at, care_setting=self.care_setting(index, resource), reason=reason
            )
        conference_id = self.ident(resource, EVENT_ID)
        participants = tuple(
            x["valueReference"]["identifier"]["value"] for x in self.exts(resource, X_PARTICIPANT)
        )
        present = self.ext(resource, X_CLIENT_PRESENT)
        notes = self.ext(resource, X_NOTES)
        return self.sequence(resource), ConferenceHeld(
            id=conference_id or "",
            at=_parse_dt(resource["period"]["start"]),
            participants=participants,
            client_present=bool(present and present.get("valueBoolean")),
            notes=notes["valueString"] if notes else "",
        )

    def read_observation(self, index: int, resource: Mapping[str, Any]) -> tuple[int, Event] | None:
        kind = self.code(resource.get("code"), "observation-kind")
        eid = self.ident(resource, EVENT_ID) or ""
        at = _parse_dt(resource["effectiveDateTime"])
        seq = self.sequence(resource)
        note = (resource.get("note") or [{}])[0].get("text", "")
        performer = resource.get("performer") or []
        performer_id = performer[0]["identifier"]["value"] if performer else None
        if kind == "safety-score":
            party = self.parties.get(performer_id or "")
            if party is None:
                raise FhirMappingError([Problem(self.where(index, "performer[0]"), "unknown party")])
            encounter = resource.get("encounter")
            conference = None
            if encounter is not None:
                _, enc = self.resolve(encounter, index, "encounter")
                conference = self.ident(enc, EVENT_ID)
            return seq, ScoreGiven(
                id=eid,
                at=at,
                party_id=party.id,
                role=party.role,
                score=resource["valueInteger"],
                rationale=note,
                conference_id=conference,
            )
        if kind == "incident":
            acute = [
                c.get("valueBoolean")
                for c in resource["component"]
                if self.code(c["code"], "observation-kind") == "incident-acute"
            ]
            if not acute or not isinstance(acute[0], bool):
                raise FhirMappingError(
                    [
                        Problem(
                            self.where(index, "component"),
                            "an incident needs whether it was acute (a boolean)",
                        )
                    ]
                )
            severity = self.code(resource["valueCodeableConcept"], "incident-severity")
            return seq, IncidentReported(
                id=eid,
                at=at,
                severity=IncidentSeverity(severity),
                acute=acute[0],
                description=note,
                reported_by=performer_id,
            )
        if kind == "phase-change":
            components = {
                self.code(c["code"], "observation-kind"): c["valueCodeableConcept"]
                for c in resource["component"]
            }
            return seq, PhaseChanged(
                id=eid,
                at=at,
                from_phase=Phase(int(self.code(components["phase-from"], "phase") or 0)),
                to_phase=Phase(int(self.code(resource["valueCodeableConcept"], "phase") or 0)),
                kind=TransitionKind(self.code(components["transition-kind"], "transition-kind")),
                reason=note,
                rules=tuple(x["valueString"] for x in self.exts(resource, X_RULES)),
                evidence=tuple(x["valueString"] for x in self.exts(resource, X_EVIDENCE)),
            )
        raise FhirMappingError([Problem(self.where(index, "code"), "not an observation kind of the profile")])

    def risk_factors(self, element: Mapping[str, Any]) -> tuple[RiskFactor, ...]:
        return tuple(
            RiskFactor(id=self.sub(x, "id"), text=self.sub(x, "text"), code=self.sub(x, "code"))
            for x in self.exts(element, X_RISK_FACTOR)
        )

    def read_plan(self, index: int, resource: Mapping[str, Any]) -> tuple[int, Event] | None:
        if self.category(resource, "careplan-kind") != "safety-action-plan":
            return None
        _, enc = self.resolve(resource.get("encounter"), index, "encounter")
        agreements = []
        for activity in resource.get("activity", ()):
            detail = activity["detail"]
            info = self.ext(detail, X_AGREEMENT) or {}
            due = detail.get("scheduledPeriod", {}).get("end")
            agreements.append(
                SafetyAgreement(
                    id=self.sub(info, "id"),
                    what=detail["description"],
                    responsible=self.sub(info, "responsible"),
                    due=_parse_dt(due) if due else None,
                    status=AgreementStatus(self.sub(info, "status")["code"]),
                )
            )
        work: list[WorkGoal] = []
        recovery: list[RecoveryGoal] = []
        for n, ref in enumerate(resource.get("goal", ())):
            _, goal = self.resolve(ref, index, f"goal[{n}]")
            status = GoalStatus((self.ext(goal, X_GOAL_STATUS) or {})["valueCoding"]["code"])
            goal_id = self.ident(goal, GOAL_ID) or ""
            text = goal["description"]["text"]
            if self.category(goal, "goal-kind") == "recovery-goal":
                recovery.append(RecoveryGoal(id=goal_id, text=text, status=status))
            else:
                rank = self.ext(goal, X_RANK)
                addresses = self.ext(goal, X_ADDRESSES_RISK)
                work.append(
                    WorkGoal(
                        id=goal_id,
                        text=text,
                        rank=rank["valueInteger"] if rank else None,
                        status=status,
                        risk_factor_id=addresses["valueString"] if addresses else None,
                    )
                )
        return self.sequence(resource), PlanRevised(
            id=self.ident(resource, EVENT_ID) or "",
            at=_parse_dt(resource["created"]),
            conference_id=self.ident(enc, EVENT_ID) or "",
            agreements=tuple(agreements),
            work_goals=tuple(work),
            risk_factors=self.risk_factors(resource),
            recovery_goals=tuple(recovery),
        )

    def read_assessment(self, index: int, resource: Mapping[str, Any]) -> tuple[int, Event]:
        provenance = self.ext(resource, X_PROVENANCE) or {}
        qr_index, qr = self.resolve(resource["basis"][0], index, "basis[0]")
        answers: dict[str, Answer] = {}
        for n, item in enumerate(qr.get("item", ())):
            values = item.get("answer")
            if not values:
                answers[item["linkId"]] = ()
                continue
            if self.ext(item, X_MULTIPLE) is not None:
                answers[item["linkId"]] = tuple(v["valueCoding"]["code"] for v in values)
            elif "valueCoding" in values[0]:
                answers[item["linkId"]] = values[0]["valueCoding"]["code"]
            else:
                given = [v for k, v in values[0].items() if k.startswith("value")]
                if not given:
                    where = self.where(qr_index, f"item[{n}].answer[0]")
                    raise FhirMappingError([Problem(where, "an answer needs its value[x]")])
                answers[item["linkId"]] = given[0]
        code: SafetyCode | None = None
        classifications = []
        for prediction in resource.get("prediction", ()):
            found = self.code(prediction.get("outcome"), "safety-code")
            info = self.ext(prediction, X_CLASSIFICATION)
            if found is not None:
                code = SafetyCode(found)
            elif info is not None:
                classifications.append(
                    Classification(
                        code=self.sub(info, "code"),
                        display=self.sub(info, "display"),
                        fit=float(prediction["probabilityDecimal"]),
                        emphasis=prediction.get("rationale", ""),
                    )
                )
        urgency = self.ext(resource, X_URGENCY)
        setting = self.ext(resource, X_ADVISED_SETTING)
        applied_by = self.ext(resource, X_APPLIED_BY)
        return self.sequence(resource), InstrumentApplied(
            id=self.ident(resource, EVENT_ID) or "",
            at=_parse_dt(resource["occurrenceDateTime"]),
            instrument_id=self.sub(provenance, "instrument"),
            instrument_version=self.sub(provenance, "version"),
            plugin=self.sub(provenance, "plugin"),
            distribution=self.sub(provenance, "distribution"),
            distribution_version=self.sub(provenance, "distributionVersion"),
            answers=answers,
            result=InstrumentResult(
                safety_code=code,
                classifications=tuple(classifications),
                risk_factors=self.risk_factors(resource),
                advised_setting=AdvisedSetting(setting["valueCoding"]["code"]) if setting else None,
                urgency=Urgency(urgency["valueCoding"]["code"]) if urgency else None,
                advice=tuple(x["valueString"] for x in self.exts(resource, X_ADVICE)),
                explanation=tuple(x["valueString"] for x in self.exts(resource, X_EXPLANATION)),
            ),
            applied_by=applied_by["valueReference"]["identifier"]["value"] if applied_by else None,
        )


def _parse_dt(value: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError("expected a dateTime")
    return parse_instant(value)


_UNREADABLE: Final = (KeyError, IndexError, TypeError, ValueError, AttributeError, ArithmeticError)
"""What reading an element of an unexpected JSON type (or an impossible value) raises: each becomes
a problem located at the resource being read, never an exception out of :func:`bundle_to_case`."""


def _items(value: Any) -> list[Any]:
    """An array's items; any other JSON type has none (the caller reports what it then misses)."""
    return value if type(value) is list or isinstance(value, list) else []


_KINDS_OF_FAILURE: dict[type[BaseException], str] = {
    ValueError: "a value is not of the expected form",
    TypeError: "a value is of the wrong type",
    KeyError: "a required element is missing",
    IndexError: "a required element is missing",
    AttributeError: "a value is of the wrong type",
    OverflowError: "a value is out of range",
}


def _describe(error: BaseException) -> str:
    if isinstance(error, KeyError) and isinstance(error.args[0], str) and error.args[0].isidentifier():
        return f"missing element {error.args[0]}"  # an element name of ours, never a value
    if isinstance(error, ValidationError):
        return "; ".join(str(p) for p in error.problems)
    # A library's own message may quote the value (int('...'), fromisoformat('...')): name the kind.
    return f"cannot be read ({_KINDS_OF_FAILURE.get(type(error), type(error).__name__)})"


def _carrier(entries: Iterable[tuple[int, Mapping[str, Any]]], event_id: str) -> int | None:
    """The entry index of the resource that carries an event (by identifier or event extension)."""
    for index, resource in entries:
        if _Importer.ident(resource, EVENT_ID) == event_id:
            return index
        for ext in _items(resource.get("extension")):
            if isinstance(ext, Mapping) and _Importer.sub(ext, "id") == event_id:
                return index
    return None


def entry_of_event(bundle: Mapping[str, Any], event_id: str) -> str | None:
    """The location (``Bundle.entry[i].resource``) of the resource that carries an event."""
    entries = [
        (i, e["resource"])
        for i, e in enumerate(_items(bundle.get("entry")))
        if isinstance(e, Mapping) and isinstance(e.get("resource"), Mapping)
    ]
    found = _carrier(entries, event_id)
    return f"Bundle.entry[{found}].resource" if found is not None else None


def bundle_to_case(bundle: Any) -> Case:
    """Read a bundle written by :func:`case_to_bundle` back into the case.

    Raises :class:`FhirMappingError` listing each problem with its location (any JSON value is
    accepted: a wrong JSON type anywhere is such a problem), :class:`MalformedInputError` for
    what is no bundle at all or one of more than :data:`~ketenzorg.interop.validate.MAX_ENTRIES`
    entries.
    """
    return _Importer(bundle).run()
