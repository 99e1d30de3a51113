"""The safety action plan as ``CarePlan`` + ``Goal`` (work and recovery goals): written, and read back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ketenzorg.domain import (
    AgreementStatus,
    GoalStatus,
    PlanTask,
    RecoveryGoal,
    SafetyAgreement,
    TaskStatus,
    WorkGoal,
)
from ketenzorg.events import PlanRevised
from ketenzorg.interop.assessment import read_risk_factors, risk_factor_extensions
from ketenzorg.interop.definitions import (
    EVENT_ID,
    GOAL_ACHIEVEMENT,
    GOAL_ID,
    X_ADDRESSES_RISK,
    X_AGREEMENT,
    X_GOAL_STATUS,
    X_RANK,
    X_SEQUENCE,
    X_TASK,
)
from ketenzorg.interop.reading import Entries, category, ext, ident, moment, read_moment, sequence, sub
from ketenzorg.interop.writing import Writer, coding, concept, optional, ref, x, xs

__all__ = ["read_plan", "write_plan"]

_AGREEMENT_STATUS = {
    AgreementStatus.ACTIVE: "in-progress",
    AgreementStatus.KEPT: "completed",
    AgreementStatus.BROKEN: "stopped",
    AgreementStatus.ENDED: "completed",
}
_TASK_STATUS = {
    TaskStatus.OPEN: "not-started",
    TaskStatus.DONE: "completed",
    TaskStatus.CANCELLED: "cancelled",
}
_GOAL_LIFECYCLE = {
    GoalStatus.ACTIVE: "active",
    GoalStatus.ON_HOLD: "on-hold",
    GoalStatus.ACHIEVED: "completed",
    GoalStatus.CANCELLED: "cancelled",
}


# --- writing -------------------------------------------------------------------------------------


def write_plan(w: Writer, seq: int, event: PlanRevised, previous: str | None) -> str:
    """One version of the plan, with its goals; returns its resource id (the next one replaces it)."""
    rid = w.rid("plan", event.id)
    latest = w.state.plan is event
    status = ("completed" if w.state.is_closed else "active") if latest else "revoked"
    goals = [_write_goal(w, event, g, "work-goal") for g in event.work_goals]
    goals += [_write_goal(w, event, g, "recovery-goal") for g in event.recovery_goals]
    extensions = [x(X_SEQUENCE, valueInteger=seq), *risk_factor_extensions(event.risk_factors)]
    resource: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": rid,
        "extension": extensions,
        "identifier": [{"system": EVENT_ID, "value": event.id}],
        "partOf": [ref(w.careplan)],
        "status": status,
        "intent": "plan",
        "category": [concept("careplan-kind", "safety-action-plan")],
        "title": "Veiligheidsactieplan",
        "subject": ref(w.patient),
        "encounter": ref(w.event_rid(event.conference_id)),
        "created": event.at.isoformat(),
        "author": ref(w.org),
        "careTeam": [ref(w.careteam)],
    }
    if previous is not None:
        resource["replaces"] = [ref(previous)]
    if goals:
        resource["goal"] = [ref(g) for g in goals]
    if event.agreements or event.tasks:
        resource["activity"] = [_agreement(w, a) for a in event.agreements] + [_task(t) for t in event.tasks]
    w.add(resource)
    return rid


def _agreement(w: Writer, agreement: SafetyAgreement) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "extension": [
            x(
                X_AGREEMENT,
                extension=[
                    xs("id", agreement.id),
                    xs("responsible", agreement.responsible),
                    x("status", valueCoding=coding("agreement-status", agreement.status.value)),
                ],
            )
        ],
        "status": _AGREEMENT_STATUS[agreement.status],
        "description": agreement.what,
        "performer": [w.responsible_ref(agreement.responsible)],
    }
    if agreement.due is not None:
        detail["scheduledPeriod"] = {"end": agreement.due.isoformat()}
    return {"detail": detail}


def _task(task: PlanTask) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "extension": [
            x(
                X_TASK,
                extension=[
                    xs("id", task.id),
                    xs("kind", task.kind),
                    x("status", valueCoding=coding("task-status", task.status.value)),
                    *optional("conferenceKind", task.conference_kind),
                    *optional("source", task.source),
                    xs("nl", task.text.nl),
                    xs("en", task.text.in_language("en")),
                ],
            )
        ],
        "status": _TASK_STATUS[task.status],
        "description": task.text.nl,
    }
    return {"detail": detail}


def _write_goal(w: Writer, plan: PlanRevised, goal: WorkGoal | RecoveryGoal, kind: str) -> str:
    rid = w.rid("goal", plan.id, goal.id)
    extensions = [x(X_GOAL_STATUS, valueCoding=coding("goal-status", goal.status.value))]
    if isinstance(goal, WorkGoal):
        if goal.rank is not None:
            extensions.append(x(X_RANK, valueInteger=goal.rank))
        if goal.risk_factor_id is not None:
            extensions.append(xs(X_ADDRESSES_RISK, goal.risk_factor_id))
    resource: dict[str, Any] = {
        "resourceType": "Goal",
        "id": rid,
        "extension": extensions,
        "identifier": [
            {"system": EVENT_ID, "value": f"{plan.id}#{goal.id}"},
            {"system": GOAL_ID, "value": goal.id},
        ],
        "lifecycleStatus": _GOAL_LIFECYCLE[goal.status],
        "category": [concept("goal-kind", kind)],
        "description": {"text": goal.text},
        "subject": ref(w.patient),
        "startDate": plan.at.date().isoformat(),
    }
    if goal.status is GoalStatus.ACHIEVED:
        resource["achievementStatus"] = {
            "coding": [{"system": GOAL_ACHIEVEMENT, "code": "achieved", "display": "Achieved"}]
        }
    w.add(resource)
    return rid


# --- reading -------------------------------------------------------------------------------------


def read_plan(entries: Entries, index: int, resource: Mapping[str, Any]) -> tuple[int, PlanRevised] | None:
    """A safety-action-plan CarePlan (and its goals) as the plan revision; ``None`` for another CarePlan."""
    if category(resource, "careplan-kind") != "safety-action-plan":
        return None
    where = entries.where(index)
    _, enc = entries.resolve(resource.get("encounter"), index, "encounter")
    agreements = []
    tasks = []
    for activity in resource.get("activity", ()):
        detail = activity["detail"]
        task = ext(detail, X_TASK)
        if task is not None:
            tasks.append(
                PlanTask(
                    id=sub(task, "id"),
                    kind=sub(task, "kind"),
                    status=TaskStatus(sub(task, "status")["code"]),
                    conference_kind=sub(task, "conferenceKind"),
                    source=sub(task, "source"),
                    text={"nl": sub(task, "nl"), "en": sub(task, "en")},
                )
            )
            continue
        info = ext(detail, X_AGREEMENT) or {}
        due = detail.get("scheduledPeriod", {}).get("end")
        agreements.append(
            SafetyAgreement(
                id=sub(info, "id"),
                what=detail["description"],
                responsible=sub(info, "responsible"),
                due=moment(due) if due is not None else None,
                status=AgreementStatus(sub(info, "status")["code"]),
            )
        )
    work: list[WorkGoal] = []
    recovery: list[RecoveryGoal] = []
    for n, goal_ref in enumerate(resource.get("goal", ())):
        _, goal = entries.resolve(goal_ref, index, f"goal[{n}]")
        status = GoalStatus((ext(goal, X_GOAL_STATUS) or {})["valueCoding"]["code"])
        goal_id = ident(goal, GOAL_ID) or ""
        text = goal["description"]["text"]
        if category(goal, "goal-kind") == "recovery-goal":
            recovery.append(RecoveryGoal(id=goal_id, text=text, status=status))
        else:
            rank = ext(goal, X_RANK)
            addresses = ext(goal, X_ADDRESSES_RISK)
            work.append(
                WorkGoal(
                    id=goal_id,
                    text=text,
                    rank=rank["valueInteger"] if rank else None,
                    status=status,
                    risk_factor_id=addresses["valueString"] if addresses else None,
                )
            )
    return sequence(resource, where), PlanRevised(
        id=ident(resource, EVENT_ID) or "",
        at=read_moment(resource, "created", where),
        conference_id=ident(enc, EVENT_ID) or "",
        agreements=tuple(agreements),
        work_goals=tuple(work),
        risk_factors=read_risk_factors(resource),
        recovery_goals=tuple(recovery),
        tasks=tuple(tasks),
    )
