"""Case -> FHIR R4 Bundle (plain JSON-ready dicts), without loss.

Every event of the history is carried by a resource (or an element of one) that holds the event's
id (identifier system ``NamingSystem/event-id``) and its place in the history (extension
``event-sequence``), so a bundle converts back into the very same case (:mod:`.read`). See
``docs/fhir-mapping.md`` for the mapping, resource by resource. This module writes the trajectory,
the stays and the case conferences, and runs the concept modules for the rest: :mod:`.careteam`,
:mod:`.observations`, :mod:`.plans`, :mod:`.assessment`.

A secret location is never exported: the stay's Encounter says only that the location is secret
(extension ``secret-location``) and names it by a pseudonym of this case (``secret-location-1``,
``secret-location-2``, ... in order of first appearance), never by its own id, which other cases at
the same shelter share. Its name never leaves the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from ketenzorg.case import Case
from ketenzorg.conferences import CASE_CONFERENCE
from ketenzorg.domain import CareSetting, CareSettingKind, Location, PartyRole
from ketenzorg.events import (
    CareSettingChanged,
    CaseOpened,
    ConferenceHeld,
    Event,
    IncidentReported,
    InstrumentApplied,
    PhaseChanged,
    PlanRevised,
    ScoreGiven,
)
from ketenzorg.interop.assessment import write_assessment
from ketenzorg.interop.careteam import write_careteam, write_parties
from ketenzorg.interop.definitions import (
    CASE_ID,
    EVENT_ID,
    LOCATION_ID,
    SECRET_LOCATION_PSEUDONYM,
    V3_ACT_CODE,
    X_CARE_SETTING,
    X_CLIENT_PRESENT,
    X_CONFERENCE_KIND,
    X_HANDOVER,
    X_NOTES,
    X_PARTICIPANT,
    X_REGION,
    X_SECRET_LOCATION,
    X_SEQUENCE,
)
from ketenzorg.interop.observations import (
    rule_set_extensions,
    write_incident,
    write_phase_change,
    write_score,
)
from ketenzorg.interop.plans import write_plan
from ketenzorg.interop.terminology import CANONICAL
from ketenzorg.interop.writing import Writer, concept, event_ext, ident, ref, resource_id, x, xs

if TYPE_CHECKING:
    from ketenzorg.engine import Engine
    from ketenzorg.pluginhost import RegisteredInstrument

__all__ = [
    "BundleType",
    "secret_location_pseudonyms",
    "unredacted_bundle",
]

BundleType = Literal["collection", "transaction"]


class _Exporter(Writer):
    def __init__(self, case: Case, instruments: Mapping[str, RegisteredInstrument]) -> None:
        super().__init__(case)
        self.instruments = instruments
        self.secret_ids = secret_location_pseudonyms(case)
        self.location_rids: dict[Location, str] = {}
        self.location_versions: dict[str, int] = {}

    def run(self) -> list[dict[str, Any]]:
        write_parties(self)
        events = list(enumerate(self.case.events))
        write_careteam(self, events)
        self.trajectory(events)
        settings: list[tuple[int, Event, CareSetting]] = [(0, self.opened, self.opened.care_setting)]
        previous_plan: str | None = None
        for seq, event in events:
            if isinstance(event, ScoreGiven):  # the most frequent first
                write_score(self, seq, event)
            elif isinstance(event, CareSettingChanged):
                settings.append((seq, event, event.care_setting))
            elif isinstance(event, ConferenceHeld):
                self.conference(seq, event)
            elif isinstance(event, IncidentReported):
                write_incident(self, seq, event)
            elif isinstance(event, PlanRevised):
                previous_plan = write_plan(self, seq, event, previous_plan)
            elif isinstance(event, PhaseChanged):
                write_phase_change(self, seq, event)
            elif isinstance(event, InstrumentApplied):
                write_assessment(self, seq, event, self.instruments)
        for index, (seq, event, setting) in enumerate(settings):
            until = settings[index + 1][1].at if index + 1 < len(settings) else None
            self.stay(seq, event, setting, until)
        return self.resources

    def trajectory(self, events: list[tuple[int, Event]]) -> None:
        region = self.opened.region
        opened = self.opened
        extensions: list[dict[str, Any]] = [
            event_ext(opened, 0),
            x(
                X_REGION,
                extension=[
                    xs("region", region.region),
                    xs("leadMunicipality", region.lead_municipality),
                    xs("municipality", region.municipality),
                ],
            ),
        ]
        resource: dict[str, Any] = {
            "resourceType": "CarePlan",
            "id": self.careplan,
            "extension": extensions,
            "identifier": [ident(CASE_ID, self.cid)],
            "status": "completed" if self.state.is_closed else "active",
            "intent": "plan",
            "category": [
                concept("careplan-kind", "trajectory"),
                concept("phase", str(int(self.state.phase))),
            ],
            "title": "Gefaseerde ketenzorg",
            "subject": ref(self.patient),
            "period": {"start": opened.at.isoformat()},
            "author": ref(self.org, opened.organisation.name),
            "careTeam": [ref(self.careteam)],
        }
        if opened.reason:
            resource["description"] = opened.reason
        closed = self.state.closed
        if closed is not None:
            seq = next(s for s, e in events if e is closed)
            resource["period"]["end"] = closed.at.isoformat()
            handover = event_ext(closed, seq, X_HANDOVER)
            handover["extension"] += [
                x("to", valueReference=self.party_ref_with_id(pid)) for pid in closed.handover_to
            ]
            if closed.summary:
                handover["extension"].append(xs("summary", closed.summary))
            extensions.append(handover)
            extensions += rule_set_extensions(closed.rule_set)
        if self.state.plan is not None:
            resource["supportingInfo"] = [ref(self.rid("plan", self.state.plan.id))]
        self.add(resource)

    def stay(self, seq: int, event: Event, setting: CareSetting, until: datetime | None) -> None:
        kind = setting.kind
        period = {"start": event.at.isoformat()}
        if until is not None:
            period["end"] = until.isoformat()
        resource: dict[str, Any] = {
            "resourceType": "Encounter",
            "id": self.rid("stay", event.id),
            "extension": [event_ext(event, seq, X_CARE_SETTING)],
            "identifier": [ident(EVENT_ID, f"{event.id}#care-setting")],
            "status": "finished" if until is not None or self.state.is_closed else "in-progress",
            "class": {"system": V3_ACT_CODE, "code": "AMB" if kind is CareSettingKind.AMBULANT else "NONAC"},
            "type": [concept("encounter-type", kind.value)],
            "subject": ref(self.patient),
            "period": period,
            "serviceProvider": ref(self.org),
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
                    x(X_SECRET_LOCATION, extension=[xs("id", pseudonym), x("secret", valueBoolean=True)])
                )
            else:
                resource["location"] = [{"location": ref(self.location(location), location.name)}]
        self.add(resource)

    def location(self, location: Location) -> str:
        """The ``Location`` resource of an open location, added once per recorded version of it."""
        found = self.location_rids.get(location)
        if found is not None:
            return found
        version = self.location_versions[location.id] = self.location_versions.get(location.id, 0) + 1
        lid = self.rid("location", location.id, *([str(version)] if version > 1 else []))
        loc: dict[str, Any] = {
            "resourceType": "Location",
            "id": lid,
            "identifier": [ident(LOCATION_ID, location.id)],
            "name": location.name,
        }
        if location.address:
            loc["address"] = {"text": location.address}
        self.add(loc)
        self.location_rids[location] = lid
        return lid

    def conference(self, seq: int, event: ConferenceHeld) -> None:
        extensions = [
            x(X_SEQUENCE, valueInteger=seq),
            x(X_CLIENT_PRESENT, valueBoolean=event.client_present),
            *(x(X_PARTICIPANT, valueReference=self.party_ref_with_id(pid)) for pid in event.participants),
        ]
        if event.notes:
            extensions.append(xs(X_NOTES, event.notes))
        if event.kind != CASE_CONFERENCE:  # absent: a case conference, as written before kinds
            extensions.append(xs(X_CONFERENCE_KIND, event.kind))
        resource: dict[str, Any] = {
            "resourceType": "Encounter",
            "id": self.event_rid(event.id),
            "extension": extensions,
            "identifier": [ident(EVENT_ID, event.id)],
            "status": "finished",
            "class": {"system": V3_ACT_CODE, "code": "AMB"},
            "type": [concept("encounter-type", "case-conference")],
            "subject": ref(self.patient),
            "period": {"start": event.at.isoformat()},
            "serviceProvider": ref(self.org),
        }
        # R4 lets only people take part (Practitioner, RelatedPerson); every party, organisations
        # included, is in the conference-participant extension, which is what import reads.
        known = self.state.known_parties
        people = [
            {"individual": self.party_ref(pid)}
            for pid in event.participants
            if known[pid].role in (PartyRole.PRACTITIONER, PartyRole.NETWORK) and known[pid].person_id is None
        ]
        if people:
            resource["participant"] = people
        self.add(resource)


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


def unredacted_bundle(case: Case, *, engine: Engine, type: BundleType = "collection") -> dict[str, Any]:
    """The whole case as a FHIR R4 Bundle (a JSON-ready dict), ``collection`` or ``transaction``.

    Nothing leaves the organisation this way: every export names its recipient and goes through
    :func:`ketenzorg.disclosure.disclose` (or :func:`ketenzorg.interop.fhir.case_to_bundle`), which
    redacts and labels this bundle for the recipient.

    ``engine`` is the caller's: its instruments tell how each answer travels (a code of a choice
    item as a Coding) and the canonical base of each instrument's Questionnaire and code systems
    (the same case and engine give the same bundle from Python and from the command line). An
    application of an instrument the engine does not have is refused
    (:class:`~ketenzorg.interop.answers.UnknownInstrumentError`, naming the instrument).

    Identifiers are stable, so a transaction uses conditional updates
    (``PUT Observation?identifier=system|value``): sending an updated case again updates the
    partner's copy instead of duplicating it. References are ``urn:uuid:`` full URLs that resolve
    inside the bundle.
    """
    resources = _Exporter(case, engine.instruments).run()
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
        "id": resource_id(case.case_id, "bundle", type),
        "meta": {"profile": [f"{CANONICAL}/StructureDefinition/ketenzorg-bundle"]},
        "identifier": ident(CASE_ID, case.case_id),
        "type": type,
        "timestamp": last.isoformat(),
        "entry": entries,
    }
