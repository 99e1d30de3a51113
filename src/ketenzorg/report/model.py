"""What a case report shows, gathered from a case: the decision, the plan, the last conference.

:func:`build_report` is the one way in: a later recipient-specific report hands it the case as
that recipient may see it, and everything shown follows from that case alone.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    from ketenzorg.domain import PlanTask, Text
    from ketenzorg.engine import Engine
    from ketenzorg.report.disclosed import DisclosedView

__all__ = ["Action", "Change", "Report", "RiskCover", "build_report"]


@attrs.frozen
class RiskCover:
    """A risk factor of the plan and the active work goals that address it (none: not addressed)."""

    factor: RiskFactor
    goals: tuple[WorkGoal, ...]
    known: bool = True
    """Whether the report's recipient may know which goals address it (false: the goals are withheld)."""


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
    plan_id: str = ""
    """The event id of the plan it was made in."""


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
    conference_withheld: bool
    """Whether the last conference did not reach the report's recipient (it is not shown)."""
    actions: tuple[Action, ...]
    changes: tuple[Change, ...]
    conference_kinds: Mapping[str, Text] = attrs.field(factory=dict)
    """The names of the conference kinds the engine knows (the method's and its plugins'), by code."""
    recipient: str = ""
    """Whom the report is for, as its header names it (the recipient's kind and organisation)."""
    view: DisclosedView | None = None
    """What reached the recipient the report is for; ``None``: the organisation's own full report."""

    def text(self, event_id: str, value: str) -> str | None:
        """A text of the event as the report may show it: ``None`` when withheld from its recipient."""
        return value if self.view is None else self.view.text(event_id, value)

    @property
    def shows_decision(self) -> bool:
        """Whether the decision (next step, what blocks, alerts) reaches the report's recipient."""
        return self.view is None or self.view.decision

    @property
    def shows_phase(self) -> bool:
        """Whether the current phase reaches the report's recipient (the trajectory is received)."""
        return self.view is None or "trajectory" in self.view.received


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


def _carried_plan(plan: PlanRevised | None, view: DisclosedView | None) -> PlanRevised | None:
    """The plan as its recipient received it: none when the plan did not reach it, else only the
    agreements and tasks that did (a recipient receives those that concern it)."""
    if plan is None or view is None:
        return plan
    if not view.has(plan.id):
        return None
    carried = view.texts.get(plan.id, frozenset())
    return attrs.evolve(
        plan,
        agreements=tuple(a for a in plan.agreements if a.id in carried),
        tasks=tuple(t for t in plan.tasks if t.id in carried),
        work_goals=tuple(g for g in plan.work_goals if g.id in carried),
        recovery_goals=tuple(g for g in plan.recovery_goals if g.id in carried),
    )


def _actions(case: Case, conference: ConferenceHeld | None, view: DisclosedView | None) -> tuple[Action, ...]:
    if conference is None:
        return ()
    # The plan made in that conference, else the plan it worked with (the last one before it).
    plans = [e for e in case.events if isinstance(e, PlanRevised) and e.at <= conference.at]
    made_there = [p for p in plans if p.conference_id == conference.id]
    if not plans:
        return ()
    made = _carried_plan((made_there or plans)[-1], view)
    current = _carried_plan(case.state.plan, view)
    if made is None:
        return ()
    agreements = {a.id: a for a in current.agreements} if current is not None else {}
    tasks = {t.id: t for t in current.tasks} if current is not None else {}
    actions = [
        Action("agreement", a, None, agreements[a.id].status.value if a.id in agreements else None, made.id)
        for a in made.agreements
    ]
    actions += [
        Action("task", None, t, tasks[t.id].status.value if t.id in tasks else None, made.id)
        for t in made.tasks
    ]
    return tuple(actions)


def build_report(
    case: Case, engine: Engine, *, at: datetime | None = None, view: DisclosedView | None = None
) -> Report:
    """Gather the report of ``case`` at ``at`` (default: the engine's clock, never before the
    case's last event): the engine's decision, the timeline, the plan, the last conference.

    ``view``: what of the case reached the report's recipient (:class:`~ketenzorg.report.disclosed.
    DisclosedView`, from the bundle disclosed to it); only that is shown, a withheld text as withheld.
    ``None``: the organisation's own full report.
    """
    state = case.state
    moment = at if at is not None else max(datetime.now(UTC), state.latest_at)
    decision = engine.evaluate(case, at=moment)
    plan = _carried_plan(state.plan, view)
    goals = plan.work_goals if plan is not None else ()
    active = [g for g in goals if g.status is GoalStatus.ACTIVE]
    top3 = tuple(
        sorted(active, key=lambda g: (g.rank is None, g.rank or 0))[: engine.policy.max_active_goals]
    )
    others = tuple(g for g in goals if g not in top3)
    goals_withheld = plan is not None and state.plan is not None and plan.work_goals != state.plan.work_goals
    risks = tuple(
        RiskCover(f, tuple(g for g in active if g.risk_factor_id == f.id), known=not goals_withheld)
        for f in (plan.risk_factors if plan is not None else ())
    )
    # The last conference before the report's moment: a report made for (or at) a conference
    # reviews the actions of the one before, as case conferences start.
    conferences = [
        e
        for e in case.events
        if isinstance(e, ConferenceHeld) and e.at < moment and (view is None or view.has(e.id))
    ]
    conference = conferences[-1] if conferences else None
    every = [e for e in case.events if isinstance(e, ConferenceHeld) and e.at < moment]
    conference_withheld = bool(every) and (conference is None or conference is not every[-1])
    changes = tuple(
        Change(e.at, e)
        for e in case.events
        if isinstance(e, _SHOWN_CHANGES)
        and (conference is None or e.at > conference.at)
        and e.at <= moment
        and (view is None or view.has(e.id))
    )
    return Report(
        case=case,
        at=moment,
        decision=decision,
        timeline=build_timeline(case, engine, at=moment, view=view),
        plan=plan,
        plan_version=state.plan_version,
        top3=top3,
        other_goals=others,
        risks=risks,
        recovery_goals=plan.recovery_goals if plan is not None else (),
        last_conference=conference,
        conference_withheld=conference_withheld,
        actions=_actions(case, conference, view),
        changes=changes,
        conference_kinds={code: kind.name for code, kind in engine.conference_kinds.items()},
        view=view,
    )
