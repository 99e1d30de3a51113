"""Case -> FHIR R4 Bundle (plain JSON-ready dicts), without loss.

Every event of the history is carried by a resource (or an element of one) that holds the event's
id (identifier system ``NamingSystem/event-id``) and its place in the history (extension
``event-sequence``), so a bundle converts back into the very same case (:mod:`.read`). See
``docs/fhir-mapping.md`` for the mapping, resource by resource.

A secret location is never exported: the stay's Encounter says only that the location is secret
(extension ``secret-location``) and names it by a pseudonym of this case (``secret-location-1``,
``secret-location-2``, ... in order of first appearance), never by its own id, which other cases at
the same shelter share. Its name never leaves the engine.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from ketenzorg.case import Case
from ketenzorg.domain import (
    AgreementStatus,
    CareSetting,
    CareSettingKind,
    GoalStatus,
    Location,
    Organisation,
    Party,
    PartyRole,
    Person,
    PersonRole,
    RecoveryGoal,
    SafetyAgreement,
    WorkGoal,
)
from ketenzorg.errors import InvalidEventError, Problem
from ketenzorg.events import (
    CareSettingChanged,
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
)
from ketenzorg.instruments import (
    Answer,
)
from ketenzorg.interop.definitions import (
    CASE_ID,
    EVENT_ID,
    GOAL_ACHIEVEMENT,
    GOAL_ID,
    LOCATION_ID,
    OBSERVATION_CATEGORY,
    ORGANISATION_ID,
    PARTY_ID,
    PERSON_ID,
    SECRET_LOCATION_PSEUDONYM,
    V3_ACT_CODE,
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
    "BundleType",
    "case_to_bundle",
    "secret_location_pseudonyms",
]

BundleType = Literal["collection", "transaction"]

_NAMESPACE = uuid.UUID("0b6f6d4e-5d7a-4f1e-9a53-7c0e2a6d1f42")


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
