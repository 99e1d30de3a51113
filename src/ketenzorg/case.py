"""A case (trajectory) is its id and its append-only history; its state is the fold of the events.

:func:`apply` is the single place where an event is checked against the state it joins (known
parties and conferences, no event after closing, no skipped phase) and folded into it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

from ketenzorg.domain import CareSetting, Organisation, Party, PartyRole, Person, Phase, Region
from ketenzorg.errors import InvalidEventError, Problem
from ketenzorg.events import (
    CareSettingChanged,
    CaseClosed,
    CaseOpened,
    ConferenceHeld,
    Event,
    IncidentReported,
    PartyJoined,
    PartyLeft,
    PhaseChanged,
    PlanRevised,
    ScoreGiven,
    TransitionKind,
)

__all__ = ["Case", "CaseState", "apply", "fold"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@attrs.frozen(kw_only=True)
class CaseState:
    """Everything the rules need, derived from the events. Never stored, always folded."""

    case_id: str
    opened: CaseOpened
    organisation: Organisation
    region: Region
    persons: Mapping[str, Person]
    care_team: Mapping[str, Party]
    """The parties currently in the care team, by id."""
    known_parties: Mapping[str, Party]
    """Every party that ever took part (for naming the evidence of former members)."""
    care_setting: CareSetting
    phase: Phase = Phase.IMMEDIATE_SAFETY
    phase_since: datetime
    phase_changes: tuple[PhaseChanged, ...] = ()
    conferences: Mapping[str, ConferenceHeld] = _EMPTY
    last_conference: ConferenceHeld | None = None
    latest_scores: Mapping[str, ScoreGiven] = _EMPTY
    """The most recent score of each party (by ``at``; the later recorded wins a tie)."""
    incidents: tuple[IncidentReported, ...] = ()
    plan: PlanRevised | None = None
    plan_version: int = 0
    closed: CaseClosed | None = None
    event_count: int = 1

    @property
    def is_closed(self) -> bool:
        return self.closed is not None

    def party_name(self, party_id: str) -> str:
        party = self.known_parties.get(party_id)
        return party.name if party else party_id


def _problem(path: str, message: str) -> InvalidEventError:
    return InvalidEventError([Problem(path, message)])


def _with(mapping: Mapping[str, Any], key: str, value: Any) -> Mapping[str, Any]:
    new = dict(mapping)
    new[key] = value
    return MappingProxyType(new)


def _without(mapping: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    new = dict(mapping)
    del new[key]
    return MappingProxyType(new)


def _start(case_id: str, event: Event) -> CaseState:
    if not isinstance(event, CaseOpened):
        raise _problem("type", f"a case starts with case_opened, not {event.type}")
    persons = {p.id: p for p in event.persons}
    parties = {p.id: p for p in event.parties}
    _check_persons_refs(parties.values(), persons, "parties")
    _check_location(event.care_setting)
    return CaseState(
        case_id=case_id,
        opened=event,
        organisation=event.organisation,
        region=event.region,
        persons=MappingProxyType(persons),
        care_team=MappingProxyType(parties),
        known_parties=MappingProxyType(dict(parties)),
        care_setting=event.care_setting,
        phase_since=event.at,
    )


def _check_persons_refs(parties: Iterable[Party], persons: Mapping[str, Person], path: str) -> None:
    for index, party in enumerate(parties):
        if party.person_id is not None and party.person_id not in persons:
            raise _problem(f"{path}[{index}].person_id", f"unknown person {party.person_id!r}")


def _check_location(setting: CareSetting) -> None:
    # Defensive: Location refuses an address when secret; this guards objects built by evolve().
    if setting.location is not None and setting.location.secret and setting.location.address:
        raise _problem("care_setting.location.address", "a secret location's address is not kept")


def apply(state: CaseState, event: Event) -> CaseState:
    """Check ``event`` against ``state`` and return the state after it.

    Raises :class:`InvalidEventError` (paths relative to the event) and leaves ``state`` as is.
    """
    if state.closed is not None:
        raise _problem("type", f"the case is closed; {event.type} cannot be recorded")
    if event.at < state.opened.at:
        raise _problem("at", "is before the case was opened")
    return attrs.evolve(_fold_event(state, event), event_count=state.event_count + 1)


def _fold_event(state: CaseState, event: Event) -> CaseState:
    match event:
        case CaseOpened():
            raise _problem("type", "the case is already open")
        case PartyJoined(party=party):
            if party.id in state.care_team:
                raise _problem("party.id", f"party {party.id!r} is already in the care team")
            known = state.known_parties.get(party.id)
            if known is not None and known != party:
                raise _problem("party.id", f"id {party.id!r} belongs to another party")
            _check_persons_refs([party], state.persons, "party")
            return attrs.evolve(
                state,
                care_team=_with(state.care_team, party.id, party),
                known_parties=_with(state.known_parties, party.id, party),
            )
        case PartyLeft(party_id=party_id):
            if party_id not in state.care_team:
                raise _problem("party_id", f"party {party_id!r} is not in the care team")
            return attrs.evolve(state, care_team=_without(state.care_team, party_id))
        case CareSettingChanged(care_setting=setting):
            _check_location(setting)
            return attrs.evolve(state, care_setting=setting)
        case ConferenceHeld():
            if event.id in state.conferences:
                raise _problem("id", f"conference {event.id!r} was already recorded")
            for index, pid in enumerate(event.participants):
                if pid not in state.care_team:
                    raise _problem(f"participants[{index}]", f"unknown party {pid!r}")
            last = state.last_conference
            if last is None or event.at >= last.at:
                last = event
            return attrs.evolve(
                state,
                conferences=_with(state.conferences, event.id, event),
                last_conference=last,
            )
        case ScoreGiven():
            scorer = state.care_team.get(event.party_id)
            if scorer is None:
                raise _problem("party_id", f"party {event.party_id!r} is not in the care team")
            if scorer.role is not event.role:
                raise _problem(
                    "role",
                    f"party {event.party_id!r} is {scorer.role.value}, not {event.role.value}",
                )
            if event.conference_id is not None and event.conference_id not in state.conferences:
                raise _problem("conference_id", f"unknown conference {event.conference_id!r}")
            previous = state.latest_scores.get(event.party_id)
            if previous is not None and previous.at > event.at:
                return attrs.evolve(state)  # an older score arrived late: kept, not counting
            return attrs.evolve(state, latest_scores=_with(state.latest_scores, event.party_id, event))
        case IncidentReported():
            if event.reported_by is not None and event.reported_by not in state.known_parties:
                raise _problem("reported_by", f"unknown party {event.reported_by!r}")
            return attrs.evolve(state, incidents=(*state.incidents, event))
        case PlanRevised():
            _check_plan(state, event)
            return attrs.evolve(state, plan=event, plan_version=state.plan_version + 1)
        case PhaseChanged():
            _check_phase_change(state, event)
            return attrs.evolve(
                state,
                phase=event.to_phase,
                phase_since=event.at,
                phase_changes=(*state.phase_changes, event),
            )
        case CaseClosed():
            if state.phase is not Phase.RECOVERY_CARE:
                raise _problem("type", f"a case is closed from phase 3, not {state.phase.value}")
            if not event.handover_to:
                raise _problem("handover_to", "closing needs the handover to at least one party")
            for index, pid in enumerate(event.handover_to):
                receiver = state.known_parties.get(pid)
                if receiver is None:
                    raise _problem(f"handover_to[{index}]", f"unknown party {pid!r}")
                if receiver.role is not PartyRole.CHAIN_PARTNER:
                    raise _problem(f"handover_to[{index}]", f"handover goes to a chain partner, not {pid!r}")
            return attrs.evolve(state, closed=event)
    raise _problem("type", f"unknown event {type(event).__name__}")


def _check_plan(state: CaseState, event: PlanRevised) -> None:
    if event.conference_id not in state.conferences:
        raise _problem("conference_id", f"unknown conference {event.conference_id!r}")
    referable = set(state.known_parties) | set(state.persons)
    for index, agreement in enumerate(event.agreements):
        if agreement.responsible not in referable:
            raise _problem(
                f"agreements[{index}].responsible",
                f"unknown party or person {agreement.responsible!r}",
            )
    risk_ids = {r.id for r in event.risk_factors}
    for index, goal in enumerate(event.work_goals):
        if goal.risk_factor_id is not None and goal.risk_factor_id not in risk_ids:
            raise _problem(
                f"work_goals[{index}].risk_factor_id",
                f"unknown risk factor {goal.risk_factor_id!r}",
            )


def _check_phase_change(state: CaseState, event: PhaseChanged) -> None:
    if event.from_phase is not state.phase:
        raise _problem(
            "from_phase", f"the case is in phase {state.phase.value}, not {event.from_phase.value}"
        )
    if event.kind is TransitionKind.ADVANCE:
        if event.to_phase != state.phase + 1:
            raise _problem(
                "to_phase",
                f"phases run in order: from {state.phase.value} the next is "
                f"{state.phase.value + 1}, not {event.to_phase.value}",
            )
    elif event.to_phase is not Phase.IMMEDIATE_SAFETY or state.phase is Phase.IMMEDIATE_SAFETY:
        raise _problem("to_phase", "a relapse goes from phase 2 or 3 back to phase 1")


def fold(case_id: str, events: Iterable[Event]) -> CaseState:
    """Fold a whole history into its state; errors carry the path ``events[i]...``."""
    state: CaseState | None = None
    for index, event in enumerate(events):
        try:
            state = _start(case_id, event) if state is None else apply(state, event)
        except InvalidEventError as error:
            raise InvalidEventError(
                [Problem(f"events[{index}].{p.path}", p.message) for p in error.problems]
            ) from None
    if state is None:
        raise InvalidEventError([Problem("events", "a case needs at least its case_opened event")])
    return state


def _as_events(events: Iterable[Event]) -> tuple[Event, ...]:
    return tuple(events)


@attrs.frozen
class Case:
    """A case (trajectory): its id and its history. Every operation returns a new case."""

    case_id: str = attrs.field(validator=attrs.validators.instance_of(str))
    events: tuple[Event, ...] = attrs.field(converter=_as_events)
    _state: CaseState = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_state", fold(self.case_id, self.events))

    @property
    def state(self) -> CaseState:
        """The current state, folded from the events."""
        return self._state

    def append(self, event: Event) -> Case:
        """Return a new case with ``event`` appended (checked and folded incrementally)."""
        new_state = apply(self._state, event)
        new = object.__new__(Case)
        object.__setattr__(new, "case_id", self.case_id)
        object.__setattr__(new, "events", (*self.events, event))
        object.__setattr__(new, "_state", new_state)
        return new

    @classmethod
    def open(cls, event: CaseOpened, case_id: str | None = None) -> Case:
        """Start a case from its ``case_opened`` event."""
        return cls(case_id or event.id, (event,))
