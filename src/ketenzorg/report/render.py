"""Draw a :class:`~ketenzorg.report.model.Report` as one self-contained HTML file with an SVG chart.

The chart is SVG written by a template engine with autoescaping on (Jinja2): every text that comes
from a case or a partner is escaped on its way into the file, and no text is ever marked safe. The
file asks for nothing from the network (no script, font or image by URL) and says so to the
browser with a Content-Security-Policy that allows inline styles and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ketenzorg.domain import PartyRole
from ketenzorg.events import (
    CareSettingChanged,
    CaseClosed,
    IncidentReported,
    InstrumentApplied,
    PartyJoined,
    PartyLeft,
    PhaseChanged,
    PlanRevised,
    ScoreGiven,
)
from ketenzorg.messages import Language, Message, enum_label, is_known_key, render
from ketenzorg.report.texts import text

if TYPE_CHECKING:
    from ketenzorg.case import Case
    from ketenzorg.domain import Text
    from ketenzorg.engine import Engine
    from ketenzorg.report.model import Report
    from ketenzorg.report.timeline import Bucket, ScorePoint, ScoreSeries, Timeline

__all__ = ["CSP", "render_html", "render_report"]

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
"""The report's Content-Security-Policy: inline styles, nothing else (no script, no request)."""

# Geometry of the chart (SVG user units; the SVG scales to the page width).
WIDTH = 1120
LEFT = 178
RIGHT = 190
PHASE_TOP, PHASE_BOTTOM = 18, 78
SCORE_TOP, SCORE_BOTTOM = 104, 344
ROWS = {"ticks": 378, "incidents": 408, "instruments": 438, "alerts": 468}
AXIS = 492
HEIGHT = 512

STYLES = (
    ("#0072B2", "circle", ""),
    ("#D55E00", "square", "7 4"),
    ("#009E73", "triangle", "2 3"),
    ("#CC79A7", "diamond", "9 3 2 3"),
    ("#8A6A00", "down", "4 2"),
    ("#56B4E9", "plus", "1 2"),
    ("#000000", "cross", "12 4"),
    ("#6A3D9A", "circle", "3 3 9 3"),
)
"""Per party line: a colour (Okabe-Ito, safe for colour blindness), a marker shape and a dash
pattern, so that no line is told apart by colour only."""


def _marker(shape: str, x: float, y: float, r: float = 4.5) -> str:
    if shape == "square":
        return f"M{x - r:.1f} {y - r:.1f}h{2 * r:.1f}v{2 * r:.1f}h{-2 * r:.1f}z"
    if shape == "triangle":
        return f"M{x:.1f} {y - r - 1:.1f}L{x + r + 1:.1f} {y + r:.1f}L{x - r - 1:.1f} {y + r:.1f}z"
    if shape == "down":
        return f"M{x:.1f} {y + r + 1:.1f}L{x + r + 1:.1f} {y - r:.1f}L{x - r - 1:.1f} {y - r:.1f}z"
    if shape == "diamond":
        top, bottom = y - r - 1, y + r + 1
        return f"M{x:.1f} {top:.1f}L{x + r + 1:.1f} {y:.1f}L{x:.1f} {bottom:.1f}L{x - r - 1:.1f} {y:.1f}z"
    if shape == "plus":
        return f"M{x - r:.1f} {y:.1f}h{2 * r:.1f}M{x:.1f} {y - r:.1f}v{2 * r:.1f}"
    if shape == "cross":
        d = 2 * r
        return f"M{x - r:.1f} {y - r:.1f}l{d:.1f} {d:.1f}M{x - r:.1f} {y + r:.1f}l{d:.1f} {-d:.1f}"
    return f"M{x - r:.1f} {y:.1f}a{r:.1f} {r:.1f} 0 1 0 {2 * r:.1f} 0a{r:.1f} {r:.1f} 0 1 0 {-2 * r:.1f} 0z"


def _day(moment: datetime) -> str:
    return moment.date().isoformat()


EARLIER = 150
"""Width of the chart's compressed part for the gathered older history (a long case only)."""


@attrs.frozen
class _Scale:
    """Time to x: ``start``..``view`` compressed into :data:`EARLIER` units (when they differ),
    ``view``..``end`` over the rest of the plot."""

    start: datetime
    view: datetime
    end: datetime

    @property
    def split(self) -> float:
        return LEFT + EARLIER if self.view > self.start else LEFT

    def x(self, moment: datetime) -> float:
        if moment < self.view:
            span = (self.view - self.start).total_seconds()
            return round(LEFT + (moment - self.start).total_seconds() / span * (EARLIER - 12), 1)
        span = (self.end - self.view).total_seconds()
        if span <= 0:
            return round(self.split + (WIDTH - RIGHT - self.split) / 2, 1)
        return round(
            self.split + (moment - self.view).total_seconds() / span * (WIDTH - RIGHT - self.split), 1
        )

    def months(self) -> list[tuple[float, str]]:
        """Ticks on the time axis: the first of each month (every few months on a long span)."""
        first = self.view.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        count = (self.end.year - first.year) * 12 + self.end.month - first.month + 1
        step = max(1, -(-count // 12))
        ticks = []
        for index in range(0, count + 1, step):
            year, month = divmod(first.month - 1 + index, 12)
            moment = first.replace(year=first.year + year, month=month + 1)
            if self.view <= moment <= self.end:
                ticks.append((self.x(moment), f"{moment.year}-{moment.month:02d}"))
        return ticks


def _score_y(score: float) -> float:
    return round(SCORE_BOTTOM - score / 10 * (SCORE_BOTTOM - SCORE_TOP), 1)


def party_label(role: PartyRole, partner_type: Any, name: str, lang: Language) -> str:
    """A party as the report names it: the client by role only, the others by role and name."""
    label = render(Message(f"role.{role.value}"), lang)
    if partner_type is not None:
        label = f"{label}: {render(Message(f'partner.{partner_type.value}'), lang)}"
    return f"{label}, {name}" if name else label


def _shown(value: str | None, lang: Language) -> str:
    """A case text, or the word for a text withheld from the report's recipient."""
    return value if value is not None else text("withheld", lang)


def _series_view(series: ScoreSeries, scale: _Scale, count: int, lang: Language) -> dict[str, Any]:
    colour, shape, dash = STYLES[series.index % len(STYLES)]
    label = party_label(series.role, series.partner_type, series.name, lang)
    # Parties that give the same score would hide each other's line: each is drawn a little apart.
    shift = round((series.index - (count - 1) / 2) * 2.2, 1)

    def point(p: ScorePoint) -> dict[str, Any]:
        x, y = scale.x(p.at), _score_y(p.score) + shift
        return {
            "x": x,
            "y": y,
            "path": _marker(shape, x, y),
            "score": p.score,
            "date": _day(p.at),
            "rationale": _shown(p.rationale, lang),
            "counts": p.counts,
            "event_id": p.event_id,
        }

    def bucket(b: Bucket[ScorePoint]) -> dict[str, Any]:
        scores = [p.score for p in b.items]
        middle = b.start + (b.end - b.start) / 2
        return {
            "x": scale.x(middle),
            "low": _score_y(min(scores)),
            "high": _score_y(max(scores)),
            "mean_y": _score_y(sum(scores) / len(scores)),
            "min": min(scores),
            "max": max(scores),
            "count": len(scores),
            "start": _day(b.start),
            "end": _day(b.end),
        }

    points = [point(p) for p in series.points]
    older = [bucket(b) for b in series.older]
    line = [(b["x"], b["mean_y"]) for b in older] + [(p["x"], p["y"]) for p in points]
    return {
        "index": series.index,
        "party_id": series.party_id,
        "label": label,
        "short": series.name or label,
        "member": series.member,
        "colour": colour,
        "dash": dash,
        "points": points,
        "older": older,
        "line": " ".join(f"{x:.1f},{y:.1f}" for x, y in line),
        "last_y": line[-1][1] if line else None,
        "legend_path": _marker(shape, 0, 0),
    }


def _spread(values: list[tuple[float, int]], gap: float = 15.0) -> dict[int, float]:
    """End labels of the lines, moved apart so that none overlaps."""
    placed: dict[int, float] = {}
    last = -1e9
    for y, index in sorted(values):
        y = max(y, last + gap)
        placed[index] = y
        last = y
    return placed


def _scrubber(report: Report, lang: Language) -> Callable[[str], str]:
    """For a recipient's report: the engine's own texts (a decision, an alert) with every name that
    did not reach the recipient withheld (they name parties by role and name)."""
    view = report.view
    if view is None:
        return lambda value: value
    state = report.case.state
    hidden = {p.name for p in state.known_parties.values() if p.name and not view.name(p.id, p.name)}
    hidden |= {p.label for p in state.persons.values() if p.label and p.label not in view.names}
    ordered = sorted(hidden, key=len, reverse=True)  # a longer name before a name inside it
    withheld = text("withheld", lang)

    def scrub(value: str) -> str:
        for name in ordered:
            value = value.replace(name, withheld)
        return value

    return scrub


def _chart(
    timeline: Timeline, kinds: Mapping[str, Text], lang: Language, scrub: Callable[[str], str]
) -> dict[str, Any]:
    scale = _Scale(timeline.start, timeline.view_start, timeline.end)
    bands = []
    for band in timeline.bands:
        x0, x1 = scale.x(band.start), scale.x(band.end)
        height = (PHASE_BOTTOM - PHASE_TOP) * band.phase / 3
        bands.append(
            {
                "index": band.index,
                "phase": band.phase,
                "entered": band.entered,
                "x": x0,
                "w": max(x1 - x0, 1.5),
                "y": PHASE_BOTTOM - height,
                "h": height,
                "start": _day(band.start),
                "end": _day(band.end),
                "name": render(Message(f"phase.{band.phase}"), lang),
                "entered_text": text(band.entered, lang),
                "reason": _shown(band.reason, lang),
            }
        )
    series = [_series_view(s, scale, len(timeline.series), lang) for s in timeline.series]
    ends = _spread([(s["last_y"], s["index"]) for s in series if s["last_y"] is not None])
    for s in series:
        s["label_y"] = ends.get(s["index"])
    gates = [
        {
            "key": g.key,
            "threshold": g.threshold,
            "y": _score_y(g.threshold),
            "label": text(f"gate.{g.key}", lang),
        }
        for g in timeline.gates
    ]
    incidents = [
        {
            "x": scale.x(m.at),
            "acute": m.acute,
            "date": _day(m.at),
            "severity": render(Message(f"severity.{m.severity}"), lang),
            "description": _shown(m.description, lang),
            "event_id": m.event_id,
        }
        for m in timeline.incidents
    ]
    older_incidents = [
        _bucket(b, scale, acute=sum(m.acute for m in b.items)) for b in timeline.older_incidents
    ]
    ticks = [
        {
            "x": scale.x(t.at),
            "what": t.what,
            "date": _day(t.at),
            "label": _conference_kind(kinds, t.kind, lang)
            if t.what == "conference"
            else text("plan_version", lang, version=t.version),
            "short": "v" + str(t.version) if t.what == "plan" else "",
            "client_present": t.client_present,
            "event_id": t.event_id,
        }
        for t in timeline.ticks
    ]
    older_ticks = [_bucket(b, scale) for b in timeline.older_ticks]
    instruments = [
        {
            "x": scale.x(m.at),
            "date": _day(m.at),
            "name": m.name.in_language(lang) if m.name is not None else m.instrument_id,
            "level": m.level.in_language(lang) if m.level is not None else "",
            "safety_code": m.safety_code or "",
            "safety_code_text": enum_label(_safety(m.safety_code), lang) if m.safety_code else "",
            "urgency": render(Message(f"urgency.{m.urgency}"), lang) if m.urgency else "",
            "event_id": m.event_id,
        }
        for m in timeline.instruments
    ]
    older_instruments = [_bucket(b, scale) for b in timeline.older_instruments]
    alerts = [
        {
            "x": scale.x(a.at),
            "date": _day(a.at),
            "level": a.level.value,
            "level_text": text(f"level.{a.level.value}", lang),
            "text": scrub(render(a.message, lang)),
            "rule_id": a.rule_id,
            "current": a.current,
        }
        for a in timeline.alerts
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "plot_right": WIDTH - RIGHT,
        "phase_top": PHASE_TOP,
        "phase_bottom": PHASE_BOTTOM,
        "score_top": SCORE_TOP,
        "score_bottom": SCORE_BOTTOM,
        "rows": ROWS,
        "axis": AXIS,
        "grid": [{"score": s, "y": _score_y(s)} for s in range(0, 11, 2)],
        "months": scale.months(),
        "now_x": scale.x(timeline.end),
        "bands": bands,
        "series": series,
        "gates": gates,
        "incidents": incidents,
        "older_incidents": older_incidents,
        "ticks": ticks,
        "older_ticks": older_ticks,
        "instruments": instruments,
        "older_instruments": older_instruments,
        "alerts": alerts,
        "aggregated": timeline.aggregated,
        "split": scale.split if timeline.aggregated else None,
        "earlier": f"{_day(timeline.start)} – {_day(timeline.view_start)}",
    }


def _safety(code: str) -> Any:
    from ketenzorg.instruments import SafetyCode

    return SafetyCode(code)


def _bucket(bucket: Bucket[Any], scale: _Scale, acute: int = 0) -> dict[str, Any]:
    return {
        "x": scale.x(bucket.start),
        "w": max(scale.x(bucket.end) - scale.x(bucket.start), 3.0),
        "count": bucket.count,
        "acute": acute,
        "start": _day(bucket.start),
        "end": _day(bucket.end),
    }


def _conference_kind(kinds: Mapping[str, Text], code: str, lang: Language) -> str:
    """A conference kind by the name the engine knows it by (the method's or a plugin's), else its code."""
    name = kinds.get(code)
    return name.in_language(lang) if name is not None else code


def _responsible(report: Report, ref: str, lang: Language) -> str:
    state = report.case.state
    party = state.known_parties.get(ref)
    if party is not None:
        name = "" if party.role is PartyRole.CLIENT else party.name
        if report.view is not None:
            name = report.view.name(party.id, name)
        return party_label(party.role, party.partner_type, name, lang)
    person = state.persons.get(ref)
    if person is not None:  # a member of the client system: by role only, as decisions name them
        return enum_label(person.role, lang)
    return ref


def _status(value: str | None, lang: Language) -> str:
    return text(f"status.{value}", lang) if value is not None else text("not_carried", lang)


def _change(report: Report, event: Any, versions: dict[str, int], lang: Language) -> str:
    if isinstance(event, ScoreGiven):
        return text(
            "change.score_given", lang, score=event.score, party=_responsible(report, event.party_id, lang)
        )
    if isinstance(event, IncidentReported):
        severity = render(Message(f"severity.{event.severity.value}"), lang)
        return text(
            "change.incident_reported",
            lang,
            severity=severity,
            acute=text("acute_suffix", lang) if event.acute else "",
        )
    if isinstance(event, InstrumentApplied):
        mark = next((m for m in report.timeline.instruments if m.event_id == event.id), None)
        name = (
            mark.name.in_language(lang) if mark is not None and mark.name is not None else event.instrument_id
        )
        level = f": {mark.level.in_language(lang)}" if mark is not None and mark.level is not None else ""
        return text("change.instrument_applied", lang, name=name, level=level)
    if isinstance(event, PhaseChanged):
        phase = render(Message(f"phase.{int(event.to_phase)}"), lang)
        return text("change.phase_changed", lang, phase=phase, kind=text(event.kind.value, lang))
    if isinstance(event, PlanRevised):
        return text("change.plan_revised", lang, version=versions.get(event.id, 0))
    if isinstance(event, PartyJoined):
        return text("change.party_joined", lang, party=_responsible(report, event.party.id, lang))
    if isinstance(event, PartyLeft):
        return text("change.party_left", lang, party=_responsible(report, event.party_id, lang))
    if isinstance(event, CareSettingChanged):  # the kind only: a location may be secret
        return text("change.care_setting_changed", lang, setting=enum_label(event.care_setting.kind, lang))
    if isinstance(event, CaseClosed):
        return text("change.case_closed", lang)
    return str(event.type)


def _decision(report: Report, lang: Language) -> dict[str, Any]:
    decision = report.decision
    case = report.case
    scrub = _scrubber(report, lang)
    if not report.shows_decision:  # derived from inputs the recipient does not receive: withheld with them
        return {
            "withheld": True,
            "phase_withheld": not report.shows_phase,
            "phase": int(decision.phase),
            "phase_text": render(Message(f"phase.{int(decision.phase)}"), lang),
            "since": "",
            "closed": decision.closed,
        }
    blocking = [
        {"text": scrub(render(r.message, lang)), "missing": [scrub(render(m, lang)) for m in r.missing]}
        for r in decision.blocking
    ]
    parties = []
    for ref in decision.blocking_parties:
        key = f"party_reason.{ref.reason}"
        reason = render(Message(key), lang) if is_known_key(key) else ref.reason
        parties.append({"label": _responsible(report, ref.party_id, lang), "reason": reason})
    if decision.closed:
        step = text("closed", lang)
    elif decision.next_phase is None:
        step = render(Message("decision.may_close"), lang) if decision.may_close else ""
    else:
        key = "decision.may_advance" if decision.may_advance else "decision.may_not_advance"
        step = render(Message(key, {"phase": Message(f"phase.{int(decision.next_phase)}")}), lang)
    return {
        "withheld": False,
        "phase_withheld": False,
        "phase": int(decision.phase),
        "phase_text": render(Message(f"phase.{int(decision.phase)}"), lang),
        "since": _day(case.state.phase_since),
        "closed": decision.closed,
        "may_advance": decision.may_advance,
        "step": step,
        "relapse": render(Message("decision.proposed_relapse", {"phase": Message("phase.1")}), lang)
        if decision.relapse is not None
        else "",
        "blocking": blocking,
        "parties": parties,
        "alerts": [
            {
                "level": a.level.value,
                "level_text": text(f"level.{a.level.value}", lang),
                "text": scrub(render(a.message, lang)),
            }
            for a in decision.alerts
        ],
        "unjustified": [scrub(render(u.message, lang)) for u in decision.unjustified],
    }


def _plan(report: Report, lang: Language) -> dict[str, Any]:
    plan = report.plan
    goal_rank = {g.id: g for g in report.top3}
    plan_id = plan.id if plan is not None else ""

    def shown(value: str) -> str:
        return _shown(report.text(plan_id, value), lang)

    return {
        "exists": plan is not None,
        "withheld": plan is None and report.case.state.plan is not None,
        "goals_withheld": _goals_withheld(report, "work_goals"),
        "recovery_withheld": _goals_withheld(report, "recovery_goals"),
        "of": text("plan_of", lang, version=report.plan_version, date=_day(plan.at))
        if plan is not None
        else "",
        "agreements": [
            {
                "what": shown(a.what),
                "who": _responsible(report, a.responsible, lang),
                "due": _day(a.due) if a.due is not None else "",
                "status": a.status.value,
                "status_text": _status(a.status.value, lang),
            }
            for a in (plan.agreements if plan is not None else ())
        ],
        "top3": [{"rank": g.rank, "text": shown(g.text)} for g in report.top3],
        "other_goals": [
            {"text": shown(g.text), "status_text": _status(g.status.value, lang)} for g in report.other_goals
        ],
        "risks": [
            {
                "text": shown(r.factor.text.in_language(lang)),
                "goals": [shown(goal_rank[g.id].text) for g in r.goals if g.id in goal_rank]
                or [shown(g.text) for g in r.goals],
                "addressed": bool(r.goals),
                "known": r.known,
            }
            for r in report.risks
        ],
        "recovery": [
            {"text": shown(g.text), "status_text": _status(g.status.value, lang)}
            for g in report.recovery_goals
        ],
    }


def _goals_withheld(report: Report, which: str) -> bool:
    """Whether goals of the plan did not reach the report's recipient (shown as withheld, not as none)."""
    full = report.case.state.plan
    return (
        report.plan is not None and full is not None and getattr(report.plan, which) != getattr(full, which)
    )


def _conference(report: Report, lang: Language) -> dict[str, Any] | None:
    conference = report.last_conference
    if conference is None:
        return {"withheld": True} if report.conference_withheld else None
    actions = []
    for action in report.actions:
        if action.agreement is not None:
            what = _shown(report.text(action.plan_id, action.agreement.what), lang)
            who = _responsible(report, action.agreement.responsible, lang)
            due = _day(action.agreement.due) if action.agreement.due is not None else ""
        elif action.task is not None:
            what, who, due = (
                _shown(report.text(action.plan_id, action.task.text.in_language(lang)), lang),
                "",
                "",
            )
        else:
            continue
        actions.append(
            {
                "kind": text(action.what, lang),
                "what": what,
                "who": who,
                "due": due,
                "status": action.now or "gone",
                "status_text": _status(action.now, lang),
            }
        )
    return {
        "title": text(
            "conference_on",
            lang,
            kind=_conference_kind(report.conference_kinds, conference.kind, lang),
            date=_day(conference.at),
        ),
        "withheld": False,
        "client": text("client_present" if conference.client_present else "client_absent", lang),
        "actions": actions,
    }


def _tables(report: Report, chart: dict[str, Any], lang: Language) -> dict[str, Any]:
    rows = []
    for series in chart["series"]:
        for b in series["older"]:
            rows.append({"sort": b["start"], "party": series["label"], "aggregate": b})
        for p in series["points"]:
            rows.append({"sort": p["date"], "party": series["label"], "point": p})
    rows.sort(key=lambda r: r["sort"])
    return {"scores": rows}


def render_html(report: Report, lang: Language = "en") -> str:
    """The report as one HTML document in ``lang``: self-contained, no script, every case text escaped."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = environment.get_template("report.html.j2")
    versions = {}
    count = 0
    for event in report.case.events:
        if isinstance(event, PlanRevised):
            count += 1
            versions[event.id] = count
    chart = _chart(report.timeline, report.conference_kinds, lang, _scrubber(report, lang))

    def t(key: str, **params: object) -> str:
        return text(key, lang, **params)

    return template.render(
        lang=lang,
        t=t,
        csp=CSP,
        case_id=report.case.case_id,
        recipient=report.recipient,
        made=report.at.strftime("%Y-%m-%d %H:%M"),
        decision=_decision(report, lang),
        chart=chart,
        plan=_plan(report, lang),
        conference=_conference(report, lang),
        changes=[
            {"date": _day(c.at), "text": _change(report, c.event, versions, lang)} for c in report.changes
        ],
        tables=_tables(report, chart, lang),
    )


def render_report(case: Case, engine: Engine, lang: Language = "en", *, at: datetime | None = None) -> str:
    """Build and render the report of ``case`` in one step (see :func:`~ketenzorg.report.build_report`)."""
    from ketenzorg.report.model import build_report

    return render_html(build_report(case, engine, at=at), lang)
