"""FHIR R4 Bundle -> case: the reader of what :mod:`.export` writes.

Any JSON value is accepted: whatever cannot be read becomes a :class:`FhirMappingError` problem at
its FHIRPath location, never an exception of another kind. A case with a secret location comes back
with the placeholder name :data:`~ketenzorg.interop.definitions.SECRET_LOCATION_NAME` and the
pseudonym as its id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

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
    PERSON_ID,
    SECRET_LOCATION_NAME,
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
    URA,
    code_system,
)

__all__ = [
    "FhirMappingError",
    "bundle_to_case",
    "entry_of_event",
]


class FhirMappingError(ValidationError):
    """A bundle that cannot be read as a ketenzorg case, with a FHIRPath-like location per problem."""


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
