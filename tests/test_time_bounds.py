"""Times are bounded: no event from the future, no absurd year, no decision that jumps ahead.

A score dated 2099 used to freeze a case (nothing could be decided at the real date, and a
protective relapse was dated 2099); an incident dated 9999 made every later decision overflow.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from factories import CLIENT, POLICE, all_score, case_in_phase_1_ready, case_in_phase_2, conference, day
from ketenzorg import (
    Case,
    Engine,
    IncidentReported,
    IncidentSeverity,
    InvalidEventError,
    Policy,
    PolicyError,
    ScoreGiven,
    ValidationError,
    caseformat,
)
from ketenzorg.case import fold

NOW = day(30)


def fixed(moment: datetime) -> Engine:
    return Engine(clock=lambda: moment)


def score(at: datetime, value: int = 8, party: str = POLICE.id) -> ScoreGiven:
    return ScoreGiven(at=at, party_id=party, role=POLICE.role, score=value, rationale="onderbouwing (synth)")


def test_a_score_from_the_future_is_refused_and_changes_nothing() -> None:
    engine = fixed(NOW)
    case = case_in_phase_1_ready(engine)
    with pytest.raises(InvalidEventError) as caught:
        engine.record(case, score(datetime(2099, 1, 1, tzinfo=UTC)))
    assert [p.path for p in caught.value.problems] == ["at"]
    assert "later than now" in str(caught.value)
    assert engine.evaluate(case).at == NOW  # the case is still judged now, not in 2099


def test_the_clock_skew_is_allowed_and_configurable() -> None:
    case = case_in_phase_1_ready(fixed(NOW))
    within = NOW + timedelta(minutes=4)
    assert fixed(NOW).record(case, score(within)).events[-1].at == within
    strict = Engine(Policy(max_clock_skew=timedelta(0)), clock=lambda: NOW)
    with pytest.raises(InvalidEventError):
        strict.record(case, score(within))
    assert Policy.from_mapping({"max_clock_skew_minutes": 0}).max_clock_skew == timedelta(0)
    with pytest.raises(PolicyError) as caught:
        Policy.from_mapping({"max_clock_skew_minutes": 100_000})
    assert [p.path for p in caught.value.problems] == ["max_clock_skew_minutes"]


def test_record_all_refuses_a_future_event_by_its_place_in_the_batch() -> None:
    engine = fixed(NOW)
    case = case_in_phase_1_ready(engine)
    with pytest.raises(InvalidEventError) as caught:
        engine.record_all(case, [score(NOW - timedelta(hours=1)), score(NOW + timedelta(days=1))])
    assert [p.path for p in caught.value.problems] == ["events[1].at"]


def test_a_transition_is_never_recorded_in_the_future() -> None:
    engine = fixed(day(7))
    case = case_in_phase_1_ready(engine)
    with pytest.raises(InvalidEventError):
        engine.advance(case, at=day(40))
    assert engine.advance(case, at=day(7)).state.phase == 2


def test_evaluate_now_never_jumps_to_a_future_event_of_a_stored_history() -> None:
    # A history written before times were bounded (or by a wrong clock) holds a 2099 score.
    engine = fixed(NOW)
    case = case_in_phase_1_ready(engine)
    stored = Case(case.case_id, (*case.events, score(datetime(2099, 1, 1, tzinfo=UTC), 0)))
    with pytest.raises(ValidationError) as caught:
        engine.evaluate(stored)
    assert "later than now" in str(caught.value)
    # Asked explicitly, it can still be judged (read-only: nothing is recorded then).
    assert engine.evaluate(stored, at=datetime(2099, 1, 2, tzinfo=UTC)).alerts


@pytest.mark.parametrize("year", [1, 1899, 2200, 9999])
def test_an_absurd_year_is_refused_where_it_enters(year: int) -> None:
    moment = datetime(year, 6, 1, tzinfo=UTC)
    with pytest.raises(ValidationError) as caught:
        IncidentReported(at=moment, severity=IncidentSeverity.SEVERE, acute=False)
    assert [p.path for p in caught.value.problems] == ["at"]
    assert f"{year:04d}" not in str(caught.value)


def test_an_incident_dated_9999_in_a_case_file_is_refused_not_an_overflow() -> None:
    engine = Engine()
    case = case_in_phase_2(engine)
    data = caseformat.case_to_dict(case)
    data["events"].append(
        {"type": "incident_reported", "id": "late", "at": "9999-12-31T00:00:00+00:00"}
        | {"severity": "minor", "acute": False}
    )
    with pytest.raises(ValidationError) as caught:
        caseformat.case_from_dict(data)
    assert next(p.path for p in caught.value.problems).startswith(f"events[{len(case.events)}]")


def test_evaluate_at_an_absurd_moment_is_refused() -> None:
    engine = Engine()
    case = case_in_phase_1_ready(engine)
    with pytest.raises(ValidationError):
        engine.evaluate(case, at=datetime(9000, 1, 1, tzinfo=UTC))


def test_replay_and_batch_recording_are_linear_in_the_history() -> None:
    # Not a timing: the fold of a long history happens in one pass, so the state is the same
    # as folding event by event, and errors keep their place in the history.
    engine = fixed(datetime(2030, 1, 1, tzinfo=UTC))
    case = case_in_phase_2(engine)
    scores = [score(day(8) + timedelta(minutes=i), 7, CLIENT.id) for i in range(500)]
    scores = [
        ScoreGiven(at=s.at, party_id=CLIENT.id, role=CLIENT.role, score=7, rationale="synth") for s in scores
    ]
    batch = engine.record_all(case, scores)
    one_by_one = case
    for event in scores:
        one_by_one = one_by_one.append(event)
    assert batch.events == one_by_one.events
    assert batch.state == one_by_one.state
    replayed = engine.replay(batch.case_id, batch.events)
    assert replayed.state == fold(batch.case_id, batch.events)
    broken = (*batch.events, scores[3])  # a duplicate id, at its place
    with pytest.raises(InvalidEventError) as caught:
        engine.replay(batch.case_id, broken)
    assert caught.value.problems[0].path == f"events[{len(batch.events)}].id"


def test_a_conference_then_scores_in_one_batch() -> None:
    engine = fixed(NOW)
    case = case_in_phase_1_ready(engine)
    later, _ = conference(engine, case, day(9), all_score(case, 7))
    fresh = engine.record_all(case, later.events[len(case.events) :])
    assert fresh.state == later.state
