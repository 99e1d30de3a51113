"""``store verify``, ``store list``, ``store show``: reading the store, writing nothing."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from ketenzorg.cli import (
    EXIT_NEGATIVE,
    EXIT_OK,
    _dumps_json,
    _engine,
    _out,
    _print_blocking_parties,
    _print_team,
    _team_members,
)
from ketenzorg.storecli.common import load_stored, open_store

if TYPE_CHECKING:
    from ketenzorg.case import Case
    from ketenzorg.decision import Decision
    from ketenzorg.messages import Language


def _summary(decision: Decision) -> dict[str, Any]:
    return {
        "phase": int(decision.phase),
        "closed": decision.closed,
        "alerts": len(decision.alerts),
        "next_phase": int(decision.next_phase) if decision.next_phase is not None else None,
        "may_advance": decision.may_advance,
        "blocking": [r.rule_id for r in decision.blocking],
    }


def _next_gate(decision: Decision) -> str:
    if decision.closed:
        return "closed"
    if decision.may_close:
        return "may close"
    if decision.next_phase is None:
        return "-"
    if decision.may_advance:
        return f"may advance to phase {int(decision.next_phase)}"
    blocking = ", ".join(r.rule_id for r in decision.blocking)
    return f"phase {int(decision.next_phase)} blocked by {blocking}"


def cmd_verify(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        problems = store.verify()
        count = len(store.cases())
    if args.json:
        shown = [{"path": p.path, "message": p.message} for p in problems]
        sys.stdout.write(_dumps_json({"store": store.name, "cases": count, "problems": shown}))
    elif problems:
        for problem in problems:
            _out(f"{store.name}: {problem.path}: {problem.message}")
        _out(f"{len(problems)} problem(s) in {count} case(s)")
    else:
        _out(f"{store.name}: {count} case(s), every audit chain intact, every case replays")
    return EXIT_NEGATIVE if problems else EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    engine = _engine(args)
    rows: list[dict[str, Any]] = []
    with open_store(args, engine) as store:
        for info in store.cases():
            row: dict[str, Any] = {"case_id": info.case_id, "version": info.version}
            if info.destroyed:
                row["destroyed"] = True
            else:
                case = store.load(info.case_id).case
                decision = engine.evaluate(case, at=max(engine.clock(), case.state.latest_at))
                row |= _summary(decision)
                row["next_gate"] = _next_gate(decision)
            rows.append(row)
    if args.json:
        sys.stdout.write(_dumps_json({"cases": rows}))
        return EXIT_OK
    for row in rows:
        if row.get("destroyed"):
            _out(f"{row['case_id']}  destroyed")
        else:
            _out(
                f"{row['case_id']}  phase {row['phase']}  alerts {row['alerts']}  "
                f"version {row['version']}  {row['next_gate']}"
            )
    if not rows:
        _out("no cases in the store")
    return EXIT_OK


def _plan_json(case: Case) -> dict[str, Any] | None:
    plan = case.state.plan
    if plan is None:
        return None
    return {
        "version": case.state.plan_version,
        "conference_id": plan.conference_id,
        "agreements": [{"id": a.id, "what": a.what} for a in plan.agreements],
        "work_goals": [{"id": g.id, "text": g.text, "rank": g.rank} for g in plan.work_goals],
        "recovery_goals": len(plan.recovery_goals),
        "tasks": len(plan.tasks),
    }


def cmd_show(args: argparse.Namespace) -> int:
    engine = _engine(args)
    with open_store(args, engine) as store:
        stored = load_stored(store, args)
    case = stored.case
    decision = engine.evaluate(case, at=max(engine.clock(), case.state.latest_at))
    lang: Language = args.lang
    if args.json:
        shown = {
            "case_id": case.case_id,
            "version": stored.version,
            "members": _team_members(case, lang),
            "plan": _plan_json(case),
            "decision": decision.to_dict(lang),
        }
        sys.stdout.write(_dumps_json(shown))
        return EXIT_OK
    _out(f"case {case.case_id}, version {stored.version}")
    _print_team(case, lang)
    plan = _plan_json(case)
    if plan is None:
        _out("plan: none yet")
    else:
        _out(f"plan: version {plan['version']}")
        for agreement in plan["agreements"]:
            _out(f"  agreement: {agreement['what']}")
        for goal in plan["work_goals"]:
            _out(f"  work goal {goal['rank']}: {goal['text']}")
    _out("")
    _out(decision.explain(lang))
    _print_blocking_parties(decision, case, lang)
    return EXIT_OK
