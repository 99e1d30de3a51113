"""A case (trajectory) is its id and its append-only history; its state is the fold of the events.

:func:`apply` is the single place where an event is checked against the state it joins (known
parties and conferences, no event after closing, no skipped phase) and folded into it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

from ketenzorg.domain import (
    CareSetting,
    Location,
    Organisation,
    Party,
    PartyRole,
    Person,
    Phase,
    PlanTask,
    Region,
    TaskStatus,
)
from ketenzorg.errors import InvalidEventError, Problem
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

__all__ = ["Case", "CaseState", "apply", "fold", "open_tasks", "task_id", "tasks_from_actions"]

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
    assessments: tuple[InstrumentApplied, ...] = ()
    """Every application of an instrument, in the order recorded."""
    closed: CaseClosed | None = None
    event_count: int = 1
    latest_at: datetime
    """The time of the latest event (events may be recorded out of time order)."""
    positions: Mapping[str, int] = _EMPTY
    """Each event's place in the history (0 for ``case_opened``), by event id: the recorded order."""
    secret_locations: frozenset[str] = frozenset()
    """Ids of every location that was ever secret: such an id never becomes open."""
    open_locations: frozenset[str] = frozenset()
    """Ids of every location that was ever recorded as open: such an id never becomes secret (the
    address and name it was recorded with would tie the secret stay to a known place)."""

    @property
    def is_closed(self) -> bool:
        return self.closed is not None

    @property
    def event_ids(self) -> AbstractSet[str]:
        """The ids of every event recorded."""
        return self.positions.keys()

    def order(self, event: Event) -> tuple[datetime, int]:
        """When ``event`` happened, for "since", "before" and "after": its moment, then its place.

        Events at the same moment are taken in the order they were recorded [design]: an incident
        recorded before a conference of the same moment came before it. ``event`` is one of this
        case's events (``KeyError`` otherwise).
        """
        return (event.at, self.positions[event.id])

    def latest_assessment(self, instrument_id: str, at: datetime | None = None) -> InstrumentApplied | None:
        """The most recent application of an instrument (up to ``at``), or ``None``."""
        latest: InstrumentApplied | None = None
        for applied in self.assessments:
            if applied.instrument_id != instrument_id or (at is not None and applied.at > at):
                continue
            if latest is None or applied.at >= latest.at:
                latest = applied
        return latest

    def party_name(self, party_id: str) -> str:
        party = self.known_parties.get(party_id)
        return party.name if party else party_id


def _problem(path: str, message: str) -> InvalidEventError:
    return InvalidEventError([Problem(path, message)])


class _Fold:
    """A mutable working copy of a state that folds events into it, checking each first.

    Mappings are shared with the state it starts from and copied on first write, so folding a
    whole history is linear and appending one event copies only what that event changes.
    """

    def __init__(self, state: CaseState) -> None:
        self.state = state
        self.opened_at = state.opened.at
        self.care_team: Mapping[str, Party] = state.care_team
        self.known_parties: Mapping[str, Party] = state.known_parties
        self.conferences: Mapping[str, ConferenceHeld] = state.conferences
        self.latest_scores: Mapping[str, ScoreGiven] = state.latest_scores
        self.assessments: list[InstrumentApplied] | tuple[InstrumentApplied, ...] = state.assessments
        self.incidents: list[IncidentReported] | tuple[IncidentReported, ...] = state.incidents
        self.phase_changes: list[PhaseChanged] | tuple[PhaseChanged, ...] = state.phase_changes
        self.care_setting = state.care_setting
        self.phase = state.phase
        self.phase_since = state.phase_since
        self.last_conference = state.last_conference
        self.plan = state.plan
        self.plan_version = state.plan_version
        self.closed = state.closed
        self.event_count = state.event_count
        self.latest_at = state.latest_at
        self.positions: Mapping[str, int] = state.positions
        self.secret_locations: frozenset[str] | set[str] = state.secret_locations
        self.open_locations: frozenset[str] | set[str] = state.open_locations
        self._owned: set[str] = set()

    def _own(self, name: str) -> dict[str, Any]:
        if name not in self._owned:  # copy on first write
            setattr(self, name, dict(getattr(self, name)))
            self._owned.add(name)
        owned: dict[str, Any] = getattr(self, name)
        return owned

    def _own_list(self, name: str) -> list[Any]:
        if name not in self._owned:
            setattr(self, name, list(getattr(self, name)))
            self._owned.add(name)
        owned: list[Any] = getattr(self, name)
        return owned

    def freeze(self) -> CaseState:
        return attrs.evolve(
            self.state,
            care_team=MappingProxyType(self.care_team) if "care_team" in self._owned else self.care_team,
            known_parties=(
                MappingProxyType(self.known_parties) if "known_parties" in self._owned else self.known_parties
            ),
            conferences=(
                MappingProxyType(self.conferences) if "conferences" in self._owned else self.conferences
            ),
            latest_scores=(
                MappingProxyType(self.latest_scores) if "latest_scores" in self._owned else self.latest_scores
            ),
            assessments=tuple(self.assessments),
            incidents=tuple(self.incidents),
            phase_changes=tuple(self.phase_changes),
            care_setting=self.care_setting,
            phase=self.phase,
            phase_since=self.phase_since,
            last_conference=self.last_conference,
            plan=self.plan,
            plan_version=self.plan_version,
            closed=self.closed,
            event_count=self.event_count,
            latest_at=self.latest_at,
            positions=(
                self.positions if self.positions is self.state.positions else MappingProxyType(self.positions)
            ),
            secret_locations=frozenset(self.secret_locations),
            open_locations=frozenset(self.open_locations),
        )

    def apply_all(self, events: Iterable[Event], first_index: int | None = None) -> None:
        """Check each event against the state so far, then fold it in.

        With ``first_index``, errors name the event's place in the history (``events[i].x``).
        """
        handlers = _HANDLERS
        opened_at = self.opened_at
        latest = self.latest_at
        index = first_index or 0
        ids: dict[str, int] = dict(self.positions)  # every event so far: a new one's place is its size
        self.positions = ids
        for event in events:
            try:
                handler = handlers.get(type(event))
                at = event.at if handler is not None else None
                if handler is None or self.closed is not None or at < opened_at or event.id in ids:  # type: ignore[operator]
                    self._refuse(event, handler is None, ids)
                handler(self, event)  # type: ignore[misc]
                ids[event.id] = len(ids)
                if at > latest:  # type: ignore[operator]
                    latest = self.latest_at = at  # type: ignore[assignment]
            except InvalidEventError as error:
                if first_index is None:
                    raise
                raise _at_index(error, index) from None
            index += 1
        self.event_count += index - (first_index or 0)

    def _refuse(self, event: Event, unknown: bool, ids: Mapping[str, int]) -> None:
        """The slow path of :meth:`apply_all`: say why an event cannot join the history."""
        if unknown:
            raise _problem("type", f"not an event: {type(event).__name__}")
        if self.closed is not None:
            raise _problem("type", f"the case is closed; {event.type} cannot be recorded")
        if event.at < self.opened_at:
            raise _problem("at", "is before the case was opened")
        if isinstance(event, CaseOpened):
            raise _problem("type", "the case is already open")
        raise _problem("id", "an event with this id was already recorded")

    # One method per event type; each checks first, then changes the working state.

    def _case_opened(self, event: CaseOpened) -> None:
        raise _problem("type", "the case is already open")

    def _party_joined(self, event: PartyJoined) -> None:
        party = event.party
        if party.id in self.care_team:
            raise _problem("party.id", "this party is already in the care team")
        known = self.known_parties.get(party.id)
        if known is not None and known != party:
            raise _problem("party.id", "this id belongs to another party")
        _check_persons_refs([party], self.state.persons, "party")
        self._own("care_team")[party.id] = party
        self._own("known_parties")[party.id] = party

    def _party_left(self, event: PartyLeft) -> None:
        if event.party_id not in self.care_team:
            raise _problem("party_id", "this party is not in the care team")
        del self._own("care_team")[event.party_id]

    def _care_setting_changed(self, event: CareSettingChanged) -> None:
        _check_location(event.care_setting)
        location = event.care_setting.location
        if location is not None:
            _check_secrecy(location, self.secret_locations, self.open_locations)
            if location.secret:
                if location.id not in self.secret_locations:
                    self.secret_locations = set(self.secret_locations) | {location.id}
            elif location.id not in self.open_locations:
                self.open_locations = set(self.open_locations) | {location.id}
        self.care_setting = event.care_setting

    def _conference_held(self, event: ConferenceHeld) -> None:
        if event.id in self.conferences:
            raise _problem("id", "a conference with this id was already recorded")
        for index, pid in enumerate(event.participants):
            if pid not in self.care_team:
                raise _problem(f"participants[{index}]", "not a party in the care team")
        self._own("conferences")[event.id] = event
        if self.last_conference is None or event.at >= self.last_conference.at:
            self.last_conference = event

    def _score_given(self, event: ScoreGiven) -> None:
        # The most frequent event: locals and one combined check keep the fold fast.
        party_id = event.party_id
        scorer = self.care_team.get(party_id)
        if scorer is None or scorer.role is not event.role:
            self._refuse_score(event, scorer)
        conference_id = event.conference_id
        if conference_id is not None:
            conference = self.conferences.get(conference_id)
            if conference is None:
                raise _problem("conference_id", "no conference with this id was recorded")
            if party_id not in conference.participants:  # a score given "in" a meeting it missed
                raise _problem("conference_id", "the party took no part in this conference")
        scores = self.latest_scores
        previous = scores.get(party_id)
        if previous is None or previous.at <= event.at:  # an older score arriving late is kept only
            if "latest_scores" not in self._owned:
                scores = self._own("latest_scores")
            scores[party_id] = event  # type: ignore[index]

    @staticmethod
    def _refuse_score(event: ScoreGiven, scorer: Party | None) -> None:
        if scorer is None:
            raise _problem("party_id", "this party is not in the care team")
        raise _problem("role", f"this party is {scorer.role.value}, not {event.role.value}")

    def _incident_reported(self, event: IncidentReported) -> None:
        if event.reported_by is not None and event.reported_by not in self.known_parties:
            raise _problem("reported_by", "not a party of this case")
        self._own_list("incidents").append(event)

    def _plan_revised(self, event: PlanRevised) -> None:
        self._check_plan(event)
        self.plan = event
        self.plan_version += 1

    def _instrument_applied(self, event: InstrumentApplied) -> None:
        if event.applied_by is not None and event.applied_by not in self.known_parties:
            raise _problem("applied_by", "not a party of this case")
        if event.subject is not None and event.subject not in self.state.persons:
            raise _problem("subject", "not a person of this case's client system")
        self._own_list("assessments").append(event)

    def _not_backdated(self, event: Event) -> None:
        if event.at < self.latest_at:
            raise _problem(
                "at", f"a {event.type} cannot be dated before the latest event ({self.latest_at.isoformat()})"
            )

    def _phase_changed(self, event: PhaseChanged) -> None:
        self._not_backdated(event)
        self._check_phase_change(event)
        self.phase = event.to_phase
        self.phase_since = event.at
        self._own_list("phase_changes").append(event)

    def _case_closed(self, event: CaseClosed) -> None:
        self._not_backdated(event)
        self._check_closing(event)
        self.closed = event

    def _check_plan(self, event: PlanRevised) -> None:
        if event.conference_id not in self.conferences:
            raise _problem("conference_id", "no conference with this id was recorded")
        persons = self.state.persons
        for index, agreement in enumerate(event.agreements):
            if agreement.responsible not in self.known_parties and agreement.responsible not in persons:
                raise _problem(
                    f"agreements[{index}].responsible",
                    "not a party or person of this case",
                )
        risk_ids = {r.id for r in event.risk_factors}
        for index, goal in enumerate(event.work_goals):
            if goal.risk_factor_id is not None and goal.risk_factor_id not in risk_ids:
                raise _problem(
                    f"work_goals[{index}].risk_factor_id",
                    "not a risk factor of this plan",
                )
        applied = {a.id: a for a in self.assessments}
        for index, task in enumerate(event.tasks):
            if task.source is not None and task.source not in applied:
                raise _problem(
                    f"tasks[{index}].source", "no instrument application with this id was recorded"
                )

    def _check_phase_change(self, event: PhaseChanged) -> None:
        phase = self.phase
        if event.from_phase is not phase:
            raise _problem("from_phase", f"the case is in phase {phase.value}, not {event.from_phase.value}")
        if event.kind is TransitionKind.ADVANCE:
            if event.to_phase != phase + 1:
                raise _problem(
                    "to_phase",
                    f"phases run in order: from {phase.value} the next is "
                    f"{phase.value + 1}, not {event.to_phase.value}",
                )
        elif event.to_phase is not Phase.IMMEDIATE_SAFETY or phase is Phase.IMMEDIATE_SAFETY:
            raise _problem("to_phase", "a relapse goes from phase 2 or 3 back to phase 1")

    def _check_closing(self, event: CaseClosed) -> None:
        if self.phase is not Phase.RECOVERY_CARE:
            raise _problem("type", f"a case is closed from phase 3, not {self.phase.value}")
        if not event.handover_to:
            raise _problem("handover_to", "closing needs the handover to at least one party")
        for index, pid in enumerate(event.handover_to):
            receiver = self.known_parties.get(pid)
            if receiver is None:
                raise _problem(f"handover_to[{index}]", "not a party of this case")
            if receiver.role is not PartyRole.CHAIN_PARTNER:
                raise _problem(
                    f"handover_to[{index}]",
                    f"handover goes to a chain partner, not to a {receiver.role.value}",
                )


_HANDLERS: dict[type[Event], Callable[[_Fold, Any], None]] = {
    CaseOpened: _Fold._case_opened,
    PartyJoined: _Fold._party_joined,
    PartyLeft: _Fold._party_left,
    CareSettingChanged: _Fold._care_setting_changed,
    ConferenceHeld: _Fold._conference_held,
    ScoreGiven: _Fold._score_given,
    IncidentReported: _Fold._incident_reported,
    PlanRevised: _Fold._plan_revised,
    InstrumentApplied: _Fold._instrument_applied,
    PhaseChanged: _Fold._phase_changed,
    CaseClosed: _Fold._case_closed,
}


def _start(case_id: str, event: Event) -> CaseState:
    if not isinstance(event, CaseOpened):
        raise _problem(
            "type", f"a case starts with case_opened, not {getattr(event, 'type', type(event).__name__)}"
        )
    persons = {p.id: p for p in event.persons}
    parties = {p.id: p for p in event.parties}
    _check_persons_refs(parties.values(), persons, "parties")
    _check_location(event.care_setting)
    location = event.care_setting.location
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
        latest_at=event.at,
        positions=MappingProxyType({event.id: 0}),
        secret_locations=frozenset({location.id} if location is not None and location.secret else ()),
        open_locations=frozenset({location.id} if location is not None and not location.secret else ()),
    )


def _check_persons_refs(parties: Iterable[Party], persons: Mapping[str, Person], path: str) -> None:
    for index, party in enumerate(parties):
        if party.person_id is not None and party.person_id not in persons:
            raise _problem(f"{path}[{index}].person_id", "not a person of the client system")


def _check_location(setting: CareSetting) -> None:
    # Defensive: Location refuses an address when secret; this guards objects built by evolve().
    if setting.location is not None and setting.location.secret and setting.location.address:
        raise _problem("care_setting.location.address", "a secret location's address is not kept")


def _check_secrecy(location: Location, secret: Iterable[str], open_: Iterable[str]) -> None:
    # A secret stay under the id of a location recorded as open would tie the secret stay to the
    # open location's name and address in every export; refused both ways, naming no value.
    if location.secret and location.id in open_:
        raise _problem(
            "care_setting.location.secret",
            "a location recorded as open cannot become secret: record the move to a secret shelter "
            "as a new location (a new id)",
        )
    if not location.secret and location.id in secret:
        raise _problem("care_setting.location.secret", "a location that was secret stays secret (same id)")


def apply(state: CaseState, event: Event) -> CaseState:
    """Check ``event`` against ``state`` and return the state after it.

    Raises :class:`InvalidEventError` (paths relative to the event) and leaves ``state`` as is.
    """
    folder = _Fold(state)
    folder.apply_all((event,))
    return folder.freeze()


def fold(case_id: str, events: Iterable[Event]) -> CaseState:
    """Fold a whole history into its state; errors carry the path ``events[i]...``."""
    iterator = iter(events)
    try:
        state = _start(case_id, next(iterator))
    except StopIteration:
        raise InvalidEventError([Problem("events", "a case needs at least its case_opened event")]) from None
    except InvalidEventError as error:
        raise _at_index(error, 0) from None
    folder = _Fold(state)
    folder.apply_all(iterator, first_index=1)
    return folder.freeze()


def _at_index(error: InvalidEventError, index: int) -> InvalidEventError:
    return InvalidEventError([Problem(f"events[{index}].{p.path}", p.message) for p in error.problems])


def _as_events(events: Iterable[Event]) -> tuple[Event, ...]:
    return tuple(events)


_TRANSITION_TYPES = frozenset({PhaseChanged, CaseClosed})


def _transitions(events: Iterable[Event], first: int) -> tuple[int, ...]:
    kinds = _TRANSITION_TYPES
    return tuple(i for i, e in enumerate(events, first) if type(e) in kinds)


@attrs.frozen
class Case:
    """A case (trajectory): its id and its history. Every operation returns a new case.

    Building a case is cheap: the history is folded and each event checked against the state it
    joins (known parties, phases in order, nothing after closing), but whether the rules allowed a
    phase change or a closing is decided by an engine. A case read from storage is loaded with
    :meth:`Engine.load <ketenzorg.engine.Engine.load>`, which re-decides every transition; a
    transition put in by hand (``Case(...)``, :meth:`append`, :meth:`extend`,
    :func:`ketenzorg.caseformat.loads`) stays in :attr:`unchecked_transitions` until then.
    """

    case_id: str = attrs.field(validator=attrs.validators.instance_of(str))
    events: tuple[Event, ...] = attrs.field(converter=_as_events)
    _state: CaseState = attrs.field(init=False, repr=False, eq=False)
    _unchecked: tuple[int, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_state", fold(self.case_id, self.events))
        object.__setattr__(self, "_unchecked", _transitions(self.events, 0))

    @property
    def state(self) -> CaseState:
        """The current state, folded from the events."""
        return self._state

    @property
    def unchecked_transitions(self) -> tuple[int, ...]:
        """The places in the history of the phase changes and closings that no engine decided or
        re-decided: recorded by hand, not by ``Engine.advance``/``relapse``/``close`` or
        ``Engine.load``. :meth:`Engine.evaluate <ketenzorg.engine.Engine.evaluate>` re-decides them
        and reports those the rules did not allow."""
        return self._unchecked

    def append(self, event: Event) -> Case:
        """Return a new case with ``event`` appended (checked and folded incrementally)."""
        return self._with(
            (*self.events, event),
            apply(self._state, event),
            self._unchecked + _transitions((event,), len(self.events)),
        )

    def extend(self, events: Iterable[Event], *, first_index: int = 0) -> Case:
        """Return a new case with ``events`` appended, all or nothing, in one linear fold.

        Errors name each event by its place, counted from ``first_index`` (``events[i].at``).
        """
        batch = tuple(events)
        if not batch:
            return self
        folder = _Fold(self._state)
        folder.apply_all(batch, first_index=first_index)
        unchecked = self._unchecked + _transitions(batch, len(self.events))
        return self._with(self.events + batch, folder.freeze(), unchecked)

    def _with(self, events: tuple[Event, ...], state: CaseState, unchecked: tuple[int, ...]) -> Case:
        new = object.__new__(Case)
        object.__setattr__(new, "case_id", self.case_id)
        object.__setattr__(new, "events", events)
        object.__setattr__(new, "_state", state)
        object.__setattr__(new, "_unchecked", unchecked)
        return new

    def _checked(self, *places: int) -> Case:
        """This case with the transitions at ``places`` (all without) marked as decided by an
        engine; for :class:`~ketenzorg.engine.Engine` only."""
        unchecked = tuple(i for i in self._unchecked if places and i not in places)
        return self if unchecked == self._unchecked else self._with(self.events, self._state, unchecked)

    @classmethod
    def open(cls, event: CaseOpened, case_id: str | None = None) -> Case:
        """Start a case from its ``case_opened`` event."""
        return cls(case_id or event.id, (event,))


def task_id(applied_id: str, index: int) -> str:
    """The id of the task that carries action ``index`` of the instrument application ``applied_id``."""
    return f"{applied_id}.action-{index}"


def tasks_from_actions(state: CaseState) -> tuple[PlanTask, ...]:
    """The actions of the instruments applied that the current plan does not carry yet, as open tasks.

    A plan revision carries them by adding them to its ``tasks``
    (``PlanRevised(..., tasks=(*plan.tasks, *tasks_from_actions(state)))``); from then on the plan
    holds their status. A task is matched to its action by id (:func:`task_id`), so a task that
    was done or cancelled is never reopened.
    """
    carried = {task.id for task in state.plan.tasks} if state.plan is not None else set()
    return tuple(
        PlanTask(
            id=task_id(applied.id, index),
            kind=action.kind,
            text=action.text,
            conference_kind=action.conference_kind,
            source=applied.id,
        )
        for applied in state.assessments
        for index, action in enumerate(applied.result.actions)
        if task_id(applied.id, index) not in carried
    )


def open_tasks(state: CaseState) -> tuple[PlanTask, ...]:
    """Every task still to be done: the open tasks of the current plan, then the actions of
    instruments the plan does not carry yet (:func:`tasks_from_actions`)."""
    planned = (
        tuple(t for t in state.plan.tasks if t.status is TaskStatus.OPEN) if state.plan is not None else ()
    )
    return (*planned, *tasks_from_actions(state))
