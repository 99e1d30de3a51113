"""What a case report shows, gathered from a case: the decision, the plan, the last conference.

:func:`build_report` is the one way in: a later recipient-specific report hands it the case as
that recipient may see it, and everything shown follows from that case alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import attrs

from ketenzorg.decision import Decision
from ketenzorg.domain import (
    GoalStatus,
    RecoveryGoal,
    RiskFactor,
    SafetyAgreement,
    WorkGoal,
)
from ketenzorg.events import (
    CareSettingChanged,
    CaseClosed,
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
from ketenzorg.report.timeline import Timeline, build_timeline

if TYPE_CHECKING:
    from ketenzorg.case import Case
    from ketenzorg.domain import PlanTask
    from ketenzorg.engine import Engine

__all__ = ["Action", "Change", "Report", "RiskCover", "build_report"]


@attrs.frozen
class RiskCover:
    """A risk factor of the plan and the active work goals that address it (none: not addressed)."""

    factor: RiskFactor
    goals: tuple[WorkGoal, ...]


@attrs.frozen
class Action:
    """An action of the last conference's plan (an agreement or a task) and its status now.

    ``now`` is ``None`` when the current plan no longer carries it.
    """

    what: str
    """``agreement`` or ``task``."""
    agreement: SafetyAgreement | None
    task: PlanTask | None
    now: str | None


@attrs.frozen
class Change:
    """One event since the last conference, as the report lists it."""

    at: datetime
    event: Event


@attrs.frozen
class Report:
    """Everything a case report shows, at the moment ``at``."""

    case: Case
    at: datetime
    decision: Decision
    timeline: Timeline
    plan: PlanRevised | None
    plan_version: int
    top3: tuple[WorkGoal, ...]
    other_goals: tuple[WorkGoal, ...]
    risks: tuple[RiskCover, ...]
    recovery_goals: tuple[RecoveryGoal, ...]
    last_conference: ConferenceHeld | None
    actions: tuple[Action, ...]
    changes: tuple[Change, ...]


_SHOWN_CHANGES = (
    ScoreGiven,
    IncidentReported,
    InstrumentApplied,
    PhaseChanged,
    PlanRevised,
    PartyJoined,
    PartyLeft,
    CareSettingChanged,
    CaseClosed,
)


def _actions(case: Case, conference: ConferenceHeld | None) -> tuple[Action, ...]:
    if conference is None:
        return ()
    # The plan made in that conference, else the plan it worked with (the last one before it).
    plans = [e for e in case.events if isinstance(e, PlanRevised) and e.at <= conference.at]
    made_there = [p for p in plans if p.conference_id == conference.id]
    if not plans:
        return ()
    made, current = (made_there or plans)[-1], case.state.plan
    agreements = {a.id: a for a in current.agreements} if current is not None else {}
    tasks = {t.id: t for t in current.tasks} if current is not None else {}
    actions = [
        Action("agreement", a, None, agreements[a.id].status.value if a.id in agreements else None)
        for a in made.agreements
    ]
    actions += [
        Action("task", None, t, tasks[t.id].status.value if t.id in tasks else None) for t in made.tasks
    ]
    return tuple(actions)


def build_report(case: Case, engine: Engine, *, at: datetime | None = None) -> Report:
    """Gather the report of ``case`` at ``at`` (default: the engine's clock, never before the
    case's last event): the engine's decision, the timeline, the plan, the last conference."""
    state = case.state
    moment = at if at is not None else max(datetime.now(UTC), state.latest_at)
    decision = engine.evaluate(case, at=moment)
    plan = state.plan
    goals = plan.work_goals if plan is not None else ()
    active = [g for g in goals if g.status is GoalStatus.ACTIVE]
    top3 = tuple(
        sorted(active, key=lambda g: (g.rank is None, g.rank or 0))[: engine.policy.max_active_goals]
    )
    others = tuple(g for g in goals if g not in top3)
    risks = tuple(
        RiskCover(f, tuple(g for g in active if g.risk_factor_id == f.id))
        for f in (plan.risk_factors if plan is not None else ())
    )
    # The last conference before the report's moment: a report made for (or at) a conference
    # reviews the actions of the one before, as case conferences start.
    conferences = [e for e in case.events if isinstance(e, ConferenceHeld) and e.at < moment]
    conference = conferences[-1] if conferences else None
    changes = tuple(
        Change(e.at, e)
        for e in case.events
        if isinstance(e, _SHOWN_CHANGES) and (conference is None or e.at > conference.at) and e.at <= moment
    )
    return Report(
        case=case,
        at=moment,
        decision=decision,
        timeline=build_timeline(case, engine, at=moment),
        plan=plan,
        plan_version=state.plan_version,
        top3=top3,
        other_goals=others,
        risks=risks,
        recovery_goals=plan.recovery_goals if plan is not None else (),
        last_conference=conference,
        actions=_actions(case, conference),
        changes=changes,
    )
