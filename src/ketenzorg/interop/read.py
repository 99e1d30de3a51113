"""FHIR R4 Bundle -> case: the reader of what :mod:`.export` writes.

Any JSON value is accepted: whatever cannot be read becomes a :class:`FhirMappingError` problem at
its FHIRPath location, never an exception of another kind. A case with a secret location comes back
with the placeholder name :data:`~ketenzorg.interop.definitions.SECRET_LOCATION_NAME` and the
pseudonym as its id. This module reads the trajectory, the stays and the case conferences, and
takes the readers of the concept modules for the rest (:mod:`.careteam`, :mod:`.observations`,
:mod:`.plans`, :mod:`.assessment`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ketenzorg.case import Case
from ketenzorg.conferences import CASE_CONFERENCE
from ketenzorg.domain import CareSetting, CareSettingKind, Location, Party, Region
from ketenzorg.errors import InvalidEventError, MalformedInputError, Problem, ValidationError
from ketenzorg.events import (
    CareSettingChanged,
    CaseClosed,
    CaseOpened,
    ConferenceHeld,
    Event,
    IncidentReported,
    ScoreGiven,
)
from ketenzorg.interop.answers import AnswerIssue
from ketenzorg.interop.assessment import Applications, read_assessment
from ketenzorg.interop.careteam import event_fields, read_careteam, read_organisation, read_person
from ketenzorg.interop.definitions import (
    CASE_ID,
    EVENT_ID,
    LOCATION_ID,
    PERSON_ID,
    SECRET_LOCATION_NAME,
    X_CARE_SETTING,
    X_CLIENT_PRESENT,
    X_CONFERENCE_KIND,
    X_EVENT,
    X_HANDOVER,
    X_NOTES,
    X_PARTICIPANT,
    X_REGION,
    X_SECRET_LOCATION,
)
from ketenzorg.interop.observations import (
    observation_kind,
    read_incident,
    read_phase_change,
    read_rule_set,
    read_score,
)
from ketenzorg.interop.plans import read_plan
from ketenzorg.interop.reading import (
    UNREADABLE,
    Entries,
    FhirMappingError,
    carrier,
    category,
    code,
    describe,
    ext,
    exts,
    ident,
    is_object,
    items,
    read_moment,
    sequence,
    sub,
)

if TYPE_CHECKING:
    from ketenzorg.engine import Engine

__all__ = [
    "FhirMappingError",
    "bundle_to_case",
    "entry_of_event",
    "read_case",
]


class _Importer(Entries):
    """Reads a bundle back into events; every problem is reported with its FHIRPath location."""

    def __init__(self, bundle: Any, engine: Engine, applications: Applications | None = None) -> None:
        from ketenzorg.limits import MAX_ENTRIES

        entries = bundle.get("entry") if isinstance(bundle, Mapping) else None
        if not isinstance(entries, list) or bundle.get("resourceType") != "Bundle":
            raise MalformedInputError([Problem("Bundle", "expected a Bundle with entries")])
        if len(entries) > MAX_ENTRIES:
            raise MalformedInputError(
                [Problem("Bundle.entry", f"{len(entries)} entries: a bundle may hold at most {MAX_ENTRIES}")]
            )
        super().__init__(bundle)
        self.instruments = engine.instruments
        """What the answers of an application are checked against."""
        self.hook_timeout = engine.hook_timeout
        self.answer_issues: list[AnswerIssue] = []
        """Every answer issue found, warnings included (errors are also problems)."""
        self.applications = (
            applications if applications is not None and applications.bundle is bundle else None
        )
        """Applications of this bundle already read (and re-checked): not read again."""
        self.reading = "Bundle"
        self.parties: dict[str, Party] = {}

    def run(self) -> Case:
        try:
            return self._run()
        except (FhirMappingError, MalformedInputError):
            raise
        except ValidationError as error:
            raise FhirMappingError([Problem(self.reading, str(p)) for p in error.problems]) from None
        except UNREADABLE as error:
            raise FhirMappingError([Problem(self.reading, describe(error))]) from None

    def _run(self) -> Case:
        events: list[tuple[int, Event]] = []
        trajectory = [
            (i, r) for i, r in self.of_type("CarePlan") if category(r, "careplan-kind") == "trajectory"
        ]
        if len(trajectory) != 1:
            raise FhirMappingError([Problem("Bundle.entry", "expected exactly one trajectory CarePlan")])
        t_index, t_res = trajectory[0]
        case_id = ident(t_res, CASE_ID)
        if case_id is None:
            raise FhirMappingError([Problem(self.where(t_index, "identifier"), "no case id")])
        self.reading = self.where(self.of_type("CareTeam")[0][0]) if self.of_type("CareTeam") else "Bundle"
        self.parties, initial, team_events = read_careteam(self)
        events.append((0, self.read_opened(t_index, t_res, initial)))
        events += team_events
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
                except (*UNREADABLE, ValidationError) as error:
                    self.problems.append(Problem(self.where(index), describe(error)))
                    continue
                if read is not None:
                    events.append(read)
        self.reading = self.where(t_index)
        closed = self.read_closed(t_res)
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
                found = carrier(self.entries, events[index].id, EVENT_ID)
                where = self.where(found) if found is not None else None
            if where is None:
                out.append(Problem("Bundle", str(problem)))
            else:
                out.append(Problem(where, f"{rest}: {problem.message}" if rest else problem.message))
        return out

    def read_opened(self, index: int, resource: Mapping[str, Any], initial: list[Party]) -> CaseOpened:
        opened = ext(resource, X_EVENT)
        region = ext(resource, X_REGION)
        if opened is None or region is None:
            raise FhirMappingError(
                [Problem(self.where(index, "extension"), "no case-opened event or region")]
            )
        _, eid, at = event_fields(opened)
        org_index, org = self.resolve(resource.get("author"), index, "author")
        self.reading = self.where(org_index)
        organisation = read_organisation(org)
        persons = []
        for i, r in self.entries:
            if r.get("resourceType") in ("Patient", "RelatedPerson") and ident(r, PERSON_ID) is not None:
                self.reading = self.where(i)
                persons.append(read_person(self, i, r))
        self.reading = self.where(index)
        settings = [(i, r) for i, r in self.of_type("Encounter") if ext(r, X_CARE_SETTING) is not None]
        initial_setting = next(
            ((i, r) for i, r in settings if sub(ext(r, X_CARE_SETTING) or {}, "id") == eid), None
        )
        if initial_setting is None:
            raise FhirMappingError([Problem("Bundle.entry", "no Encounter for the initial care setting")])
        return CaseOpened(
            id=eid,
            at=at,
            organisation=organisation,
            region=Region(
                region=sub(region, "region"),
                lead_municipality=sub(region, "leadMunicipality"),
                municipality=sub(region, "municipality"),
            ),
            persons=tuple(persons),
            parties=tuple(initial),
            care_setting=self.care_setting(*initial_setting),
            reason=resource.get("description", ""),
        )

    def care_setting(self, index: int, encounter: Mapping[str, Any]) -> CareSetting:
        kind = CareSettingKind(code(encounter["type"][0], "encounter-type"))
        location: Location | None = None
        secret = ext(encounter, X_SECRET_LOCATION)
        if secret is not None:
            if "location" in encounter:  # the location itself would undo the secret
                raise FhirMappingError(
                    [Problem(self.where(index, "location"), "a stay at a secret location names no location")]
                )
            location = Location(id=sub(secret, "id"), name=SECRET_LOCATION_NAME, secret=True)
        elif encounter.get("location"):
            _, loc = self.resolve(encounter["location"][0]["location"], index, "location[0].location")
            address = loc.get("address", {}).get("text")
            location = Location(id=ident(loc, LOCATION_ID) or "", name=loc["name"], address=address)
        return CareSetting(kind=kind, location=location)

    def read_closed(self, resource: Mapping[str, Any]) -> tuple[int, Event] | None:
        handover = ext(resource, X_HANDOVER)
        if handover is None:
            return None
        seq, eid, at = event_fields(handover)
        to = [
            x["valueReference"]["identifier"]["value"] for x in handover["extension"] if x.get("url") == "to"
        ]
        summary = sub(handover, "summary") or ""
        rule_set = read_rule_set(resource, "CarePlan")
        return seq, CaseClosed(id=eid, at=at, handover_to=tuple(to), summary=summary, rule_set=rule_set)

    def read_encounter(self, index: int, resource: Mapping[str, Any]) -> tuple[int, Event] | None:
        setting = ext(resource, X_CARE_SETTING)
        if setting is not None:
            seq, eid, at = event_fields(setting)
            if seq == 0:
                return None  # the initial setting belongs to case_opened
            reason = (resource.get("reasonCode") or [{}])[0].get("text", "")
            return seq, CareSettingChanged(
                id=eid, at=at, care_setting=self.care_setting(index, resource), reason=reason
            )
        participants = tuple(
            x["valueReference"]["identifier"]["value"] for x in exts(resource, X_PARTICIPANT)
        )
        present = ext(resource, X_CLIENT_PRESENT)
        notes = ext(resource, X_NOTES)
        kind = ext(resource, X_CONFERENCE_KIND)
        where = self.where(index)
        return sequence(resource, where), ConferenceHeld(
            id=ident(resource, EVENT_ID) or "",
            at=read_moment(resource["period"], "start", f"{where}.period"),
            participants=participants,
            client_present=bool(present and present.get("valueBoolean")),
            notes=notes["valueString"] if notes else "",
            kind=kind["valueString"] if kind else CASE_CONFERENCE,
        )

    def read_observation(self, index: int, resource: Mapping[str, Any]) -> tuple[int, Event] | None:
        kind = observation_kind(resource)
        where = self.where(index)
        if kind == "safety-score":
            score = read_score(resource, where, self.target)
            party = self.parties.get(score.party_id)
            if party is None:
                raise FhirMappingError([Problem(f"{where}.performer[0]", "unknown party")])
            if score.encounter and score.conference_id is None:
                raise FhirMappingError([Problem(f"{where}.encounter", "names no conference of the case")])
            return sequence(resource, where), ScoreGiven(
                id=score.event_id or "",
                at=score.at,
                party_id=party.id,
                role=party.role,
                score=score.score,
                rationale=score.rationale,
                conference_id=score.conference_id,
            )
        if kind == "incident":
            incident = read_incident(resource, where, self.target)
            return sequence(resource, where), IncidentReported(
                id=incident.event_id or "",
                at=incident.at,
                severity=incident.severity,
                acute=incident.acute,
                description=incident.description,
                reported_by=incident.reported_by,
            )
        if kind == "phase-change":
            return sequence(resource, where), read_phase_change(resource, where)
        raise FhirMappingError([Problem(self.where(index, "code"), "not an observation kind of the profile")])

    def read_plan(self, index: int, resource: Mapping[str, Any]) -> tuple[int, Event] | None:
        return read_plan(self, index, resource)

    def read_assessment(self, index: int, resource: Mapping[str, Any]) -> tuple[int, Event]:
        return read_assessment(
            self,
            index,
            resource,
            self.instruments,
            hook_timeout=self.hook_timeout,
            issues=self.answer_issues,
            applications=self.applications,
        )


def entry_of_event(bundle: Mapping[str, Any], event_id: str) -> str | None:
    """The location (``Bundle.entry[i].resource``) of the resource that carries an event."""
    entries = [
        (i, e["resource"])
        for i, e in enumerate(items(bundle.get("entry")))
        if is_object(e) and is_object(e.get("resource"))
    ]
    found = carrier(entries, event_id, EVENT_ID)
    return f"Bundle.entry[{found}].resource" if found is not None else None


def read_case(
    bundle: Any, *, engine: Engine, applications: Applications | None = None
) -> tuple[Case, list[AnswerIssue]]:
    """Read a bundle written by :func:`case_to_bundle` back into the case, with its warnings.

    As :func:`bundle_to_case`, and the warnings found on the way (a
    :class:`~ketenzorg.interop.answers.AnswerIssue` each, with its FHIRPath location): answers of
    an instrument the engine does not have (read as they are, not checked), a result recorded
    with another version of the instrument than the installed one (not re-checked). The case
    keeps the answers as read. ``applications``: those of this very bundle already read and
    re-checked under ``engine`` (by :func:`~ketenzorg.interop.assessment.application_issues`),
    taken as read instead of being read and re-checked again.
    """
    importer = _Importer(bundle, engine, applications)
    case = importer.run()
    return case, [i for i in importer.answer_issues if not i.is_error]


def bundle_to_case(bundle: Any, *, engine: Engine) -> Case:
    """Read a bundle written by :func:`case_to_bundle` back into the case.

    ``engine`` is the caller's: its instruments are those the answers of an instrument
    application are checked against (types, required items, linkIds, ranges, allowed codes, the
    recorded result; :mod:`~ketenzorg.interop.answers`), each problem at its location. An
    instrument the engine does not have is a warning, which this function does not return: use
    :func:`read_case` to have the warnings.

    Raises :class:`FhirMappingError` listing each problem with its location (any JSON value is
    accepted: a wrong JSON type anywhere is such a problem), :class:`MalformedInputError` for
    what is no bundle at all or one of more than :data:`~ketenzorg.interop.validate.MAX_ENTRIES`
    entries.
    """
    return read_case(bundle, engine=engine)[0]
