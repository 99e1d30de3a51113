"""The data the report's chart is drawn from: phase bands, score series, gate lines, marks."""

from __future__ import annotations

from datetime import UTC, datetime

from cases import demo, long_history
from hypothesis import given

from ketenzorg import Engine
from ketenzorg.events import ConferenceHeld, IncidentReported, PhaseChanged, PlanRevised, ScoreGiven
from ketenzorg.policy import Policy
from ketenzorg.report.timeline import DETAIL, build_timeline
from strategies import History, histories

FAR = datetime(2100, 1, 1, tzinfo=UTC)


def test_demo_bands_follow_the_phase_changes_with_the_relapse_as_a_step_back(engine: Engine) -> None:
    case, at = demo(engine)
    timeline = build_timeline(case, engine, at=at)
    changes = [e for e in case.events if isinstance(e, PhaseChanged)]
    assert [b.phase for b in timeline.bands] == [1] + [int(c.to_phase) for c in changes] == [1, 2, 1, 2]
    assert [b.entered for b in timeline.bands] == ["opened", "advance", "relapse", "advance"]
    # contiguous, from the opening to the report's moment
    assert timeline.bands[0].start == case.state.opened.at
    assert all(a.end == b.start for a, b in zip(timeline.bands, timeline.bands[1:], strict=False))
    assert timeline.bands[-1].end == timeline.end == at


def test_demo_has_one_series_per_party_with_every_score_and_its_rationale(engine: Engine) -> None:
    case, at = demo(engine)
    timeline = build_timeline(case, engine, at=at)
    scores = [e for e in case.events if isinstance(e, ScoreGiven)]
    assert {s.party_id for s in timeline.series} == set(case.state.care_team)
    assert len({s.party_id for s in timeline.series}) == len(timeline.series)
    points = {p.event_id: p for s in timeline.series for p in s.points}
    assert set(points) == {s.id for s in scores}
    for score in scores:
        assert (points[score.id].score, points[score.id].rationale) == (score.score, score.rationale)
    assert not timeline.aggregated


def test_gate_lines_are_the_policys_thresholds() -> None:
    engine = Engine(Policy(advance_threshold=5, stable_threshold=8))
    case, at = demo(Engine())
    gates = {g.key: g.threshold for g in build_timeline(case, engine, at=at).gates}
    assert gates == {"acute": 2, "advance": 5, "stable": 8}
    default = {g.key: g.threshold for g in build_timeline(case, Engine(), at=at).gates}
    assert (default["advance"], default["stable"]) == (6, 7)


def test_demo_marks_every_incident_conference_plan_and_instrument(engine: Engine) -> None:
    case, at = demo(engine)
    timeline = build_timeline(case, engine, at=at)
    incidents = [e for e in case.events if isinstance(e, IncidentReported)]
    assert [m.event_id for m in timeline.incidents] == [e.id for e in incidents]
    assert [m.acute for m in timeline.incidents] == [e.acute for e in incidents] == [True]
    conferences = [e.id for e in case.events if isinstance(e, ConferenceHeld)]
    plans = [e.id for e in case.events if isinstance(e, PlanRevised)]
    assert [t.event_id for t in timeline.ticks if t.what == "conference"] == conferences
    assert [t.version for t in timeline.ticks if t.what == "plan"] == list(range(1, len(plans) + 1))
    levels = {m.instrument_id: m.safety_code for m in timeline.instruments}
    assert levels["geweldsanalyse"] == "red"


def test_demo_alerts_as_they_arose_come_from_the_engine(engine: Engine) -> None:
    case, at = demo(engine)
    timeline = build_timeline(case, engine, at=at)
    incident = next(e for e in case.events if isinstance(e, IncidentReported))
    acute = [a for a in timeline.alerts if a.rule_id == "alert.acute-incident"]
    assert [a.at for a in acute] == [incident.at]
    assert not acute[0].current  # conferences since: no longer raised
    now = {a.rule_id for a in engine.evaluate(case, at=at).alerts}
    assert {a.rule_id for a in timeline.alerts if a.current} == now


def test_a_hundred_times_the_history_is_gathered_per_period() -> None:
    engine = Engine(clock=lambda: FAR)
    case, at = long_history(engine)
    timeline = build_timeline(case, engine, at=at)
    assert timeline.aggregated
    assert timeline.view_start > timeline.start
    for series in timeline.series:
        assert len(series.points) <= DETAIL
        gathered = sum(b.count for b in series.older)
        given = sum(1 for e in case.events if isinstance(e, ScoreGiven) and e.party_id == series.party_id)
        assert gathered + len(series.points) == given  # nothing lost, only gathered
    assert len(timeline.incidents) <= DETAIL
    assert len(timeline.ticks) <= DETAIL
    assert sum(b.count for b in timeline.older_incidents) + len(timeline.incidents) == sum(
        isinstance(e, IncidentReported) for e in case.events
    )


@given(histories())
def test_generated_cases_bands_series_and_gates(history: History) -> None:
    case, engine = history.case, history.engine
    at = max(history.last_at, case.state.latest_at)
    timeline = build_timeline(case, engine, at=at)
    changes = [e for e in case.events if isinstance(e, PhaseChanged)]
    assert len(timeline.bands) == len(changes) + 1
    assert timeline.bands[-1].phase == int(case.state.phase)
    for band, change in zip(timeline.bands[1:], changes, strict=True):
        assert band.entered == change.kind.value
        assert band.phase == int(change.to_phase)
    scored = {e.party_id for e in case.events if isinstance(e, ScoreGiven)}
    assert {s.party_id for s in timeline.series} == scored | set(case.state.care_team)
    counted = sum(len(s.points) + sum(b.count for b in s.older) for s in timeline.series)
    assert counted == sum(isinstance(e, ScoreGiven) for e in case.events)
    policy = engine.policy
    assert [g.threshold for g in timeline.gates] == [
        policy.acute_ceiling,
        policy.advance_threshold,
        policy.stable_threshold,
    ]


def test_import_ketenzorg_does_not_load_the_report() -> None:
    import subprocess
    import sys

    code = (
        "import sys, ketenzorg; print(any(m.startswith(('ketenzorg.report', 'jinja2')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
