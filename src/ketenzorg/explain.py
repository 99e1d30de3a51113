"""Render a :class:`~ketenzorg.decision.Decision` as readable text or as JSON-ready data."""

from __future__ import annotations

from typing import Any

from ketenzorg.decision import AlertLevel, Decision, Evidence, PartyRef, RuleResult, RuleStatus, Transition
from ketenzorg.messages import Language, Message, render
from ketenzorg.ruleset import PluginRules

__all__ = ["explain", "to_dict"]

_ALERT_MARK = {AlertLevel.IMMEDIATE_PROTECTION: "!!", AlertLevel.REASSESS: "! ", AlertLevel.ADVICE: "i "}
_MARK = {RuleStatus.PASSED: "[ok]", RuleStatus.FAILED: "[!!]", RuleStatus.NOT_APPLICABLE: "[--]"}


def _phase(value: int, lang: Language) -> str:
    return render(Message(f"phase.{value}"), lang)


def explain(decision: Decision, lang: Language = "en", *, verbose: bool = False) -> str:
    """Lines a practitioner reads: phase, alerts, the advance or what blocks it, each rule.

    Rules that do not apply in this phase are listed only with ``verbose``.
    """

    def t(key: str, **params: Any) -> str:
        return render(Message(key, params), lang)

    lines = [t("decision.heading", case=decision.case_id)]
    lines.append("  " + t("decision.phase", phase=_phase(decision.phase, lang)))
    if decision.closed:
        lines.append("  " + t("decision.closed"))
    if decision.unjustified:
        lines.append("  " + t("decision.unjustified") + ":")
        lines += [f"    !! {render(u.message, lang)}" for u in decision.unjustified]
    if decision.judged_under:
        lines.append("  " + t("decision.judged_under") + ":")
        lines += [f"    - {render(m, lang)}" for j in decision.judged_under for m in j.messages]
    if decision.alerts:
        lines.append("  " + t("decision.alerts") + ":")
        lines += [f"    {_ALERT_MARK[a.level]} {render(a.message, lang)}" for a in decision.alerts]
    if decision.relapse is not None:
        lines.append("  " + t("decision.proposed_relapse", phase=_phase(1, lang)))
    if decision.next_phase is not None and not decision.closed:
        key = "decision.may_advance" if decision.may_advance else "decision.may_not_advance"
        lines.append("  " + t(key, phase=_phase(decision.next_phase, lang)))
    if decision.may_close:
        lines.append("  " + t("decision.may_close"))
    lines.append("  " + t("decision.rules") + ":")
    for result in decision.results:
        if result.status is RuleStatus.NOT_APPLICABLE and not verbose:
            continue
        mark = _MARK[result.status] if result.gate or result.status is not RuleStatus.FAILED else "[! ]"
        # A replaced rule is never shown as the method's own: the reader sees whose rule ran.
        by = f" ({t('decision.overridden_by', plugin=result.plugin)})" if result.overrides else ""
        lines.append(f"    {mark} {result.rule_id}{by}: {render(result.message, lang)}")
        for item in result.missing:
            lines.append(f"         - {t('decision.missing')}: {render(item, lang)}")
        if verbose or result.status is RuleStatus.FAILED:
            for ev in result.evidence:
                lines.append(f"         . {t('decision.evidence')}: {render(ev.message, lang)}")
    return "\n".join(lines)


def _evidence(ev: Evidence, lang: Language) -> dict[str, Any]:
    return {
        "kind": ev.kind.value,
        "event_id": ev.event_id,
        "at": ev.at.isoformat(),
        "party_id": ev.party_id,
        "value": ev.value,
        "text": render(ev.message, lang),
    }


def _party(ref: PartyRef) -> dict[str, Any]:
    return {"party_id": ref.party_id, "role": ref.role.value, "reason": ref.reason}


def _result(result: RuleResult, lang: Language) -> dict[str, Any]:
    return {
        "rule_id": result.rule_id,
        "status": result.status.value,
        "gate": result.gate,
        "plugin": result.plugin,
        "overrides": result.overrides,
        "text": render(result.message, lang),
        "evidence": [_evidence(e, lang) for e in result.evidence],
        "missing": [render(m, lang) for m in result.missing],
        "parties": [_party(p) for p in result.parties],
    }


def _transition(transition: Transition | None) -> dict[str, Any] | None:
    if transition is None:
        return None
    return {
        "kind": transition.kind.value,
        "from_phase": int(transition.from_phase),
        "to_phase": int(transition.to_phase),
        "rules": list(transition.rules),
        "evidence": list(transition.evidence),
    }


def to_dict(decision: Decision, lang: Language = "en") -> dict[str, Any]:
    """JSON-ready data: stable ids and codes, plus texts rendered in ``lang``."""
    return {
        "case_id": decision.case_id,
        "at": decision.at.isoformat(),
        "lang": lang,
        "phase": int(decision.phase),
        "closed": decision.closed,
        "next_phase": int(decision.next_phase) if decision.next_phase else None,
        "may_advance": decision.may_advance,
        "advance": _transition(decision.advance),
        "relapse": _transition(decision.relapse),
        "may_close": decision.may_close,
        "alerts": [
            {
                "rule_id": a.rule_id,
                "level": a.level.value,
                "text": render(a.message, lang),
                "evidence": [_evidence(e, lang) for e in a.evidence],
            }
            for a in decision.alerts
        ],
        "unjustified": [
            {
                "index": u.index,
                "event_id": u.event_id,
                "at": u.at.isoformat(),
                "reasons": [render(m, lang) for m in u.reasons],
                "text": render(u.message, lang),
            }
            for u in decision.unjustified
        ],
        "judged_under": [
            {
                "index": j.index,
                "event_id": j.event_id,
                "at": j.at.isoformat(),
                "rules_recorded": j.recorded is not None,
                "not_here": [_plugin(p) for p in j.not_here],
                "added": [_plugin(p) for p in j.added],
                "policy_changed": j.policy_changed,
                "texts": [render(m, lang) for m in j.messages],
            }
            for j in decision.judged_under
        ],
        "blocking": [r.rule_id for r in decision.blocking],
        "blocking_parties": [_party(p) for p in decision.blocking_parties],
        "results": [_result(r, lang) for r in decision.results],
    }


def _plugin(plugin: PluginRules) -> dict[str, Any]:
    return {
        "name": plugin.name,
        "distribution": plugin.distribution,
        "version": plugin.version,
        "rules": list(plugin.rules),
    }
