"""Cases for the report's tests: the demo's conference case, one whose free texts hold markup, and a
case with a hundred times the demo's history."""

from __future__ import annotations

from datetime import timedelta

import attrs

from ketenzorg import Case, Engine
from ketenzorg.demo import report_step, walk
from ketenzorg.domain import IncidentSeverity, SafetyAgreement
from ketenzorg.events import ConferenceHeld, Event, IncidentReported, ScoreGiven

SCRIPT = "<script>window.__ketenzorg_pwned = 1; alert(1)</script>"
IMG = '<img src=x onerror="window.__ketenzorg_pwned = 2">'
HOSTILE = f"Rationale {SCRIPT} and {IMG} end"


def demo(engine: Engine) -> tuple[Case, object]:
    """The case the demo's report shows, and the moment it is made."""
    step = report_step(walk(engine))
    return step.case, step.decision.at


def hostile(engine: Engine) -> tuple[Case, object]:
    """The demo's conference case plus a conference whose scores, incident, agreement and plan hold markup."""
    case, _at = demo(engine)
    state = case.state
    assert state.plan is not None
    when = state.latest_at + timedelta(days=1)
    conference = ConferenceHeld(
        id="c-hostile", at=when, participants=tuple(state.care_team), client_present=True
    )
    events: list[Event] = [conference]
    events += [
        ScoreGiven(
            id=f"s-hostile-{i}",
            at=when,
            party_id=p.id,
            role=p.role,
            score=7,
            rationale=HOSTILE,
            conference_id=conference.id,
        )
        for i, p in enumerate(state.care_team.values())
    ]
    events.append(
        IncidentReported(
            id="i-hostile", at=when, severity=IncidentSeverity.MINOR, acute=False, description=HOSTILE
        )
    )
    agreement = SafetyAgreement(id="a-hostile", what=HOSTILE, responsible=next(iter(state.care_team)))
    events.append(
        attrs.evolve(
            state.plan,
            id="p-hostile",
            at=when,
            conference_id=conference.id,
            agreements=(*state.plan.agreements, agreement),
        )
    )
    return engine.record_all(case, events), when + timedelta(hours=1)


def long_history(engine: Engine, times: int = 100) -> tuple[Case, object]:
    """The demo's conference case followed by ``times`` as many events again: a conference a week
    with every member's score, a plan revision, and an incident every third week."""
    case, _at = demo(engine)
    state = case.state
    assert state.plan is not None
    target = len(case.events) * times
    events: list[Event] = []
    when = state.latest_at
    week = 0
    while len(case.events) + len(events) < target:
        week += 1
        when += timedelta(days=7)
        conference_id = f"c-long-{week}"
        events.append(
            ConferenceHeld(
                id=conference_id, at=when, participants=tuple(state.care_team), client_present=True
            )
        )
        events += [
            ScoreGiven(
                id=f"s-long-{week}-{i}",
                at=when,
                party_id=p.id,
                role=p.role,
                score=5 + (week + i) % 5,
                rationale=f"Week {week}: afspraken nagekomen (synthetisch).",
                conference_id=conference_id,
            )
            for i, p in enumerate(state.care_team.values())
        ]
        events.append(attrs.evolve(state.plan, id=f"p-long-{week}", at=when, conference_id=conference_id))
        if week % 3 == 0:
            events.append(
                IncidentReported(
                    id=f"i-long-{week}",
                    at=when + timedelta(days=2),
                    severity=IncidentSeverity.MINOR,
                    acute=week % 30 == 0,
                    description="Incident (synthetisch)",
                )
            )
    return engine.record_all(case, events), when + timedelta(days=3)
