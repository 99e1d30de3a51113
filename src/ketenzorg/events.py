"""The events of a case's history. The history is append-only; the state is their fold.

Every event has an ``id`` and the time ``at`` it happened (timezone-aware). A vendor may persist
events in its own store; replaying them gives the same state and the same decisions.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar

import attrs

from ketenzorg.conferences import CASE_CONFERENCE
from ketenzorg.domain import (
    CareSetting,
    IncidentSeverity,
    Organisation,
    Party,
    PartyRole,
    Person,
    Phase,
    PlanTask,
    RecoveryGoal,
    Region,
    RiskFactor,
    SafetyAgreement,
    SecurityLabel,
    WorkGoal,
    any_text,
    aware_datetime,
    id_field,
    integer_in,
    is_enum,
    non_empty,
    optional_text,
    tuple_of,
    unique_ids,
)
from ketenzorg.instruments import Answer, InstrumentResult
from ketenzorg.ruleset import RuleSet

__all__ = [
    "EVENT_TYPES",
    "CareSettingChanged",
    "CaseClosed",
    "CaseOpened",
    "ConferenceHeld",
    "Event",
    "IncidentReported",
    "InstrumentApplied",
    "PartyJoined",
    "PartyLeft",
    "PhaseChanged",
    "PlanRevised",
    "ScoreGiven",
    "TransitionKind",
]


class TransitionKind(enum.Enum):
    """Why the phase changed."""

    ADVANCE = "advance"
    RELAPSE = "relapse"
    """Terugval: safety lost again, back to immediate safety."""


_tuple_of_str = tuple_of(str)


def _str_tuple(_: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    _tuple_of_str(_, attribute, value)
    for item in value:
        non_empty(_, attribute, item)


_optional_rule_set = attrs.validators.optional(attrs.validators.instance_of(RuleSet))


@attrs.frozen(kw_only=True)
class Event:
    """Base of all events: an ``id`` and the time ``at`` it happened."""

    type: ClassVar[str]
    id: str = id_field()
    at: datetime = attrs.field(validator=aware_datetime)


@attrs.frozen(kw_only=True)
class CaseOpened(Event):
    """The case (trajectory) starts in phase 1 with its client system and care team."""

    type: ClassVar[str] = "case_opened"
    organisation: Organisation
    region: Region
    persons: tuple[Person, ...] = attrs.field(validator=[tuple_of(Person), unique_ids])
    parties: tuple[Party, ...] = attrs.field(validator=[tuple_of(Party), unique_ids])
    care_setting: CareSetting
    reason: str = attrs.field(default="", validator=any_text)


@attrs.frozen(kw_only=True)
class PartyJoined(Event):
    """A party joins the care team; from now on its score is required (if its role is)."""

    type: ClassVar[str] = "party_joined"
    party: Party


@attrs.frozen(kw_only=True)
class PartyLeft(Event):
    """A party leaves the care team; its score no longer counts."""

    type: ClassVar[str] = "party_left"
    party_id: str = attrs.field(validator=non_empty)
    reason: str = attrs.field(default="", validator=any_text)


@attrs.frozen(kw_only=True)
class CareSettingChanged(Event):
    """The client moves between ambulant care and a shelter stay."""

    type: ClassVar[str] = "care_setting_changed"
    care_setting: CareSetting
    reason: str = attrs.field(default="", validator=any_text)


@attrs.frozen(kw_only=True)
class ConferenceHeld(Event):
    """A conference was held (a case conference, MDO, unless ``kind`` says otherwise); its ``id``
    is referred to by scores and plans."""

    type: ClassVar[str] = "conference_held"
    participants: tuple[str, ...] = attrs.field(validator=_str_tuple)
    """Ids of the parties that took part."""
    client_present: bool = attrs.field(validator=attrs.validators.instance_of(bool))
    notes: str = attrs.field(default="", validator=any_text)
    kind: str = attrs.field(default=CASE_CONFERENCE, validator=non_empty)
    """The kind of conference (:mod:`ketenzorg.conferences`): ``case-conference`` (the default, and
    what a history written before kinds were recorded holds), ``marac``, ``safety-check`` or a
    kind a plugin registers."""


@attrs.frozen(kw_only=True)
class ScoreGiven(Event):
    """A party gives a safety score (veiligheidsscore) 0-10 with its rationale (onderbouwing)."""

    type: ClassVar[str] = "score_given"
    party_id: str = attrs.field(validator=non_empty)
    role: PartyRole = attrs.field(validator=is_enum(PartyRole))
    score: int = attrs.field(validator=integer_in(0, 10))
    rationale: str = attrs.field(default="", validator=any_text)
    """Without a rationale the score does not count."""
    conference_id: str | None = attrs.field(default=None, validator=optional_text)
    """The conference it was given in; ``None`` for a score sent between conferences."""
    security: tuple[SecurityLabel, ...] = attrs.field(default=(), validator=tuple_of(SecurityLabel))
    """The security labels of the partner that sent it (merge); an export carries at least these."""

    @property
    def has_rationale(self) -> bool:
        return bool(self.rationale.strip())


@attrs.frozen(kw_only=True)
class IncidentReported(Event):
    """An unsafe incident happened at ``at``."""

    type: ClassVar[str] = "incident_reported"
    severity: IncidentSeverity = attrs.field(validator=is_enum(IncidentSeverity))
    acute: bool = attrs.field(validator=attrs.validators.instance_of(bool))
    """Acute: immediate physical danger, protection needed now."""
    description: str = attrs.field(default="", validator=any_text)
    reported_by: str | None = attrs.field(default=None, validator=optional_text)
    """Id of the party that reported it."""
    security: tuple[SecurityLabel, ...] = attrs.field(default=(), validator=tuple_of(SecurityLabel))
    """The security labels of the partner that sent it (merge); an export carries at least these."""


@attrs.frozen(kw_only=True)
class PlanRevised(Event):
    """A new version of the safety action plan (veiligheidsactieplan), made in a conference."""

    type: ClassVar[str] = "plan_revised"
    conference_id: str = attrs.field(validator=non_empty)
    agreements: tuple[SafetyAgreement, ...] = attrs.field(
        default=(), validator=[tuple_of(SafetyAgreement), unique_ids]
    )
    work_goals: tuple[WorkGoal, ...] = attrs.field(default=(), validator=[tuple_of(WorkGoal), unique_ids])
    risk_factors: tuple[RiskFactor, ...] = attrs.field(
        default=(), validator=[tuple_of(RiskFactor), unique_ids]
    )
    recovery_goals: tuple[RecoveryGoal, ...] = attrs.field(
        default=(), validator=[tuple_of(RecoveryGoal), unique_ids]
    )
    tasks: tuple[PlanTask, ...] = attrs.field(default=(), validator=[tuple_of(PlanTask), unique_ids])
    """The plan's tasks with their status; the actions of instruments become tasks here
    (:func:`ketenzorg.case.tasks_from_actions`)."""


def _answers(value: Mapping[str, Any]) -> Mapping[str, Answer]:
    """Freeze the answers; several codes are kept as a tuple."""
    return MappingProxyType({k: tuple(v) if isinstance(v, list) else v for k, v in value.items()})


@attrs.frozen(kw_only=True)
class InstrumentApplied(Event):
    """An assessment instrument was applied: the answers, the result and their provenance."""

    type: ClassVar[str] = "instrument_applied"
    instrument_id: str = attrs.field(validator=non_empty)
    instrument_version: str = attrs.field(validator=non_empty)
    plugin: str = attrs.field(validator=non_empty)
    """The plugin that registered the instrument."""
    distribution: str | None = attrs.field(default=None, validator=optional_text)
    """The installed distribution the plugin came from, if any (e.g. ``ketenzorg``)."""
    distribution_version: str | None = attrs.field(default=None, validator=optional_text)
    answers: Mapping[str, Answer] = attrs.field(converter=_answers, hash=False)
    result: InstrumentResult
    applied_by: str | None = attrs.field(default=None, validator=optional_text)
    """Id of the party that applied it."""
    subject: str | None = attrs.field(default=None, validator=optional_text)
    """Id of the person of the client system who was assessed (a second victim, a child, the
    person who used violence); ``None``: the client."""


@attrs.frozen(kw_only=True)
class PhaseChanged(Event):
    """The case moved to another phase; only the engine records this, after a decision."""

    type: ClassVar[str] = "phase_changed"
    from_phase: Phase = attrs.field(validator=is_enum(Phase))
    to_phase: Phase = attrs.field(validator=is_enum(Phase))
    kind: TransitionKind = attrs.field(validator=is_enum(TransitionKind))
    reason: str = attrs.field(default="", validator=any_text)
    rules: tuple[str, ...] = attrs.field(default=(), validator=_str_tuple)
    """Ids of the rules that allowed (or proposed) the transition."""
    evidence: tuple[str, ...] = attrs.field(default=(), validator=_str_tuple)
    """Ids of the events (scores, incidents, conferences) the decision rested on."""
    rule_set: RuleSet | None = attrs.field(default=None, validator=_optional_rule_set)
    """The rules the transition was decided under (recorded by the engine); ``None`` in a history
    written before they were recorded, or by hand: decided under rules that are not known."""


@attrs.frozen(kw_only=True)
class CaseClosed(Event):
    """The case is finished and handed over (overdracht) to partners fitting recovery."""

    type: ClassVar[str] = "case_closed"
    handover_to: tuple[str, ...] = attrs.field(validator=_str_tuple)
    """Ids of the parties that take over."""
    summary: str = attrs.field(default="", validator=any_text)
    rule_set: RuleSet | None = attrs.field(default=None, validator=_optional_rule_set)
    """The rules the closing was decided under (see :attr:`PhaseChanged.rule_set`)."""


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        CaseOpened,
        PartyJoined,
        PartyLeft,
        CareSettingChanged,
        ConferenceHeld,
        ScoreGiven,
        IncidentReported,
        PlanRevised,
        InstrumentApplied,
        PhaseChanged,
        CaseClosed,
    )
}
"""Every event class by its ``type`` tag (the tag used in the case format)."""
