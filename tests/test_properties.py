"""Safety invariants and round trips, checked over generated case histories (hypothesis).

The expectations are computed here, independently of the rule code, from ``domain.md``: the
required parties, their most recent scores, the incidents and relapses are read from the events.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from ketenzorg import (
    AlertLevel,
    Case,
    CaseClosed,
    CaseFormatError,
    Decision,
    Engine,
    IncidentReported,
    Phase,
    PhaseChanged,
    PlanRevised,
    Policy,
    ScoreGiven,
    TransitionKind,
    ValidationError,
    caseformat,
)
from strategies import History, histories, policies

ACUTE_SCORE_RULE = "alert.acute-score"
UNKNOWN_PARTY = "party-nobody-knows"

any_policy = st.one_of(st.just(Policy()), policies())
moments = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400))


# --- independent reading of a case ----------------------------------------------------------------


def latest_score(case: Case, party_id: str) -> ScoreGiven | None:
    """The party's most recent score by time; of two at the same moment, the later recorded."""
    latest: ScoreGiven | None = None
    for e in case.events:
        if isinstance(e, ScoreGiven) and e.party_id == party_id and (latest is None or e.at >= latest.at):
            latest = e
    return latest


def required_parties(case: Case, policy: Policy) -> list[str]:
    return sorted(pid for pid, p in case.state.care_team.items() if p.role in policy.required_roles)


def reweigh_point(case: Case, at: datetime) -> datetime | None:
    """The latest incident (up to ``at``) or relapse: a score before it judged another situation."""
    points = [e.at for e in case.events if isinstance(e, IncidentReported) and e.at <= at]
    points += [e.at for e in case.events if isinstance(e, PhaseChanged) and e.kind is TransitionKind.RELAPSE]
    return max(points, default=None)


def counting_score(case: Case, policy: Policy, party_id: str, at: datetime) -> ScoreGiven | None:
    """domain.md's counting score: the most recent one, if it has a rationale and is not too old."""
    score = latest_score(case, party_id)
    if score is None or not score.rationale.strip() or at - score.at > policy.max_score_age:
        return None
    return score


def phase_changes(case: Case) -> list[PhaseChanged]:
    return [e for e in case.events if isinstance(e, PhaseChanged)]


def last_plan(case: Case) -> PlanRevised | None:
    plans = [e for e in case.events if isinstance(e, PlanRevised)]
    return plans[-1] if plans else None


def assert_may_advance_justified(case: Case, policy: Policy, at: datetime) -> None:
    """Everything the method asks before the case leaves its phase, read from the events."""
    phase = case.state.phase
    assert phase is not Phase.RECOVERY_CARE, "there is no phase after 3"
    threshold = policy.advance_threshold if phase is Phase.IMMEDIATE_SAFETY else policy.stable_threshold
    required = required_parties(case, policy)
    assert required, "an advance needs at least one required party"
    since = reweigh_point(case, at)
    for pid in required:
        score = latest_score(case, pid)
        assert score is not None, f"{pid} never scored"
        assert score.rationale.strip(), f"{pid}'s latest score {score.id} has no rationale"
        assert at - score.at <= policy.max_score_age, f"{pid}'s latest score {score.id} is stale"
        assert since is None or score.at >= since, f"{pid}'s score {score.id} predates {since}"
        assert score.score >= threshold, f"{pid} scored {score.score} < {threshold}"
    if phase is Phase.RISK_DRIVEN_CARE:
        window = [
            e.id
            for e in case.events
            if isinstance(e, IncidentReported) and at - policy.stability_window <= e.at <= at
        ]
        assert not window, f"incidents in the stability window: {window}"
    elif policy.advance_requires_agreements:
        plan = last_plan(case)
        assert plan is not None, "advance 1->2 without a safety action plan"
        assert plan.agreements, "advance 1->2 without safety agreements"


def check_moments(history: History, later: timedelta) -> Iterator[tuple[Case, datetime]]:
    """Every step's case at its own moment, and the final case some time later."""
    for step in history.steps:
        yield step.after, step.at
    yield history.case, history.last_at + later


# --- 1. no advance below the threshold ------------------------------------------------------------


@given(history=histories())
def test_advance_needs_every_required_counting_score_at_threshold(history: History) -> None:
    advanced = 0
    for step in history.steps:
        if step.kind != "advance" or not step.succeeded:
            continue
        advanced += 1
        before = step.before
        (change,) = step.after.events[len(before.events) :]
        assert isinstance(change, PhaseChanged)
        assert change.kind is TransitionKind.ADVANCE
        assert change.at == step.at
        assert change.to_phase == before.state.phase + 1
        assert history.engine.evaluate(before, at=step.at).may_advance
        assert_may_advance_justified(before, history.policy, step.at)
    event(f"successful advances: {min(advanced, 2)}{'+' if advanced > 2 else ''}")
    for step in history.steps:  # the decision at every moment, whether or not advance was called
        if history.engine.evaluate(step.after, at=step.at).may_advance:
            assert_may_advance_justified(step.after, history.policy, step.at)


@given(history=histories(policy=policies()))
def test_may_advance_needs_every_required_counting_score_under_any_policy(history: History) -> None:
    engine = history.engine
    for step in history.steps:
        if step.kind == "advance" and step.succeeded:
            assert_may_advance_justified(step.before, history.policy, step.at)
        decision = engine.evaluate(step.after, at=step.at)
        if decision.may_advance:
            assert_may_advance_justified(step.after, history.policy, step.at)
            event("may advance")


# --- 2. no skipped phase --------------------------------------------------------------------------


def assert_phases_in_order(case: Case) -> None:
    phase = Phase.IMMEDIATE_SAFETY
    for index, e in enumerate(case.events):
        if isinstance(e, PhaseChanged):
            assert e.from_phase is phase, f"events[{index}] starts from {e.from_phase}, case is in {phase}"
            if e.kind is TransitionKind.ADVANCE:
                assert e.to_phase == phase + 1, f"events[{index}] skips from {phase} to {e.to_phase}"
            else:
                assert phase in (Phase.RISK_DRIVEN_CARE, Phase.RECOVERY_CARE)
                assert e.to_phase is Phase.IMMEDIATE_SAFETY
            phase = e.to_phase
        elif isinstance(e, CaseClosed):
            assert phase is Phase.RECOVERY_CARE, f"closed from {phase}"
            assert index == len(case.events) - 1, "nothing is recorded after closing"
    assert case.state.phase is phase


@given(history=histories(policy=any_policy))
def test_phases_are_never_skipped(history: History) -> None:
    assert_phases_in_order(history.case)
    for step in history.steps:
        phase = step.before.state.phase
        if step.kind == "advance" and phase is Phase.RECOVERY_CARE:
            assert not step.succeeded, "advanced beyond phase 3"
        if step.kind == "relapse" and phase is Phase.IMMEDIATE_SAFETY:
            assert not step.succeeded, "relapsed from phase 1"
        if step.kind == "close" and phase is not Phase.RECOVERY_CARE:
            assert not step.succeeded, f"closed from {phase}"
        if step.succeeded and step.kind in {"advance", "relapse", "close"}:
            assert len(step.after.events) == len(step.before.events) + 1
        if not step.succeeded:
            assert step.after is step.before
    event(f"final phase {int(history.case.state.phase)}{' closed' if history.case.state.is_closed else ''}")


# --- 3. an acute score always alerts --------------------------------------------------------------


def assert_acute_scores_alert(engine: Engine, case: Case, at: datetime) -> None:
    ceiling = engine.policy.acute_ceiling
    assert ceiling >= 2, "the strategy keeps 0-2 in the acute band"
    expected = {}
    for pid in case.state.care_team:
        score = latest_score(case, pid)
        if score is not None and score.score <= ceiling:
            expected[score.id] = pid
    decision = engine.evaluate(case, at=at)
    alerted: dict[str, set[str]] = {}
    for alert in decision.alerts:
        if alert.rule_id == ACUTE_SCORE_RULE:
            assert alert.level is AlertLevel.IMMEDIATE_PROTECTION
            for ev in alert.evidence:
                alerted.setdefault(ev.event_id, set()).add(alert.rule_id)
    missing = set(expected) - set(alerted)
    assert not missing, f"acute scores without an alert: {sorted(missing)}"
    spurious = set(alerted) - set(expected)
    assert not spurious, f"alerts for scores that are not a member's acute latest score: {sorted(spurious)}"
    if expected:
        event("acute score on file")


@given(history=histories(), later=moments)
def test_acute_score_always_raises_the_protection_alert(history: History, later: timedelta) -> None:
    for case, at in check_moments(history, later):
        assert_acute_scores_alert(history.engine, case, at)


@given(history=histories(policy=policies()), later=moments)
def test_acute_score_alerts_under_any_policy(history: History, later: timedelta) -> None:
    for case, at in check_moments(history, later):
        assert_acute_scores_alert(history.engine, case, at)


# --- 4. replay gives the same decision ------------------------------------------------------------


@given(history=histories(policy=any_policy), later=moments, data=st.data())
def test_replaying_the_events_gives_the_same_decision(
    history: History, later: timedelta, data: st.DataObject
) -> None:
    engine = history.engine
    prefixes = [(history.case, history.last_at + later)]
    if history.steps:
        step = data.draw(st.sampled_from(history.steps), label="step")
        prefixes.append((step.after, step.at))
    for built, at in prefixes:
        folded = Case(built.case_id, built.events)
        replayed = engine.replay(built.case_id, built.events)
        loaded = caseformat.loads(caseformat.dumps(built))
        assert folded == built
        assert replayed == built
        assert loaded == built
        assert folded.state == built.state
        expected: Decision = engine.evaluate(built, at=at)
        assert engine.evaluate(folded, at=at) == expected
        assert engine.evaluate(replayed, at=at) == expected
        assert engine.evaluate(loaded, at=at) == expected
        assert Engine(Policy.from_mapping(engine.policy.to_mapping())).evaluate(loaded, at=at) == expected
        again = engine.replay(loaded.case_id, loaded.events)
        assert engine.evaluate(again, at=at) == expected


@given(history=histories(policy=any_policy))
def test_a_refusal_carries_the_decision_of_that_moment(history: History) -> None:
    for step in history.steps:
        if step.refused is None:
            continue
        decision = step.refused.decision
        assert decision == history.engine.evaluate(step.before, at=step.at)
        if step.kind == "advance":
            assert decision.advance is None or decision.closed
        elif step.kind == "close":
            assert not decision.may_close or decision.closed
        else:
            assert decision.relapse is None or decision.closed


# --- 5. the JSON round trip is exact --------------------------------------------------------------


@given(history=histories(policy=any_policy))
def test_json_round_trip_is_exact(history: History) -> None:
    case = history.case
    data = caseformat.dumps(case)
    loaded = caseformat.loads(data)
    assert loaded == case
    assert loaded.events == case.events
    assert caseformat.dumps(loaded) == data
    assert caseformat.loads(data.decode("utf-8")) == case
    assert caseformat.case_from_dict(caseformat.case_to_dict(case)) == case
    for original, read in zip(case.events, loaded.events, strict=True):
        assert type(read) is type(original)
        assert read.at.utcoffset() == original.at.utcoffset()


# --- 6. decisions are sane on every case ---------------------------------------------------------


@given(
    history=histories(policy=any_policy),
    offsets=st.lists(st.timedeltas(min_value=timedelta(days=-30), max_value=timedelta(days=500)), max_size=3),
)
def test_decisions_are_consistent(history: History, offsets: list[timedelta]) -> None:
    engine, policy = history.engine, history.policy
    checks = [(s.after, max(s.at, s.after.state.latest_at)) for s in history.steps]
    latest = history.case.state.latest_at
    for offset in offsets:
        if history.last_at + offset < latest:
            # A decision is made on the whole history: never at a moment before its latest event.
            with pytest.raises(ValidationError, match="before the latest event"):
                engine.evaluate(history.case, at=history.last_at + offset)
        else:
            checks.append((history.case, history.last_at + offset))
    for case, at in checks:
        decision = engine.evaluate(case, at=at)  # never raises on a valid moment
        state = case.state
        assert decision.phase is state.phase
        assert decision.closed is state.is_closed
        protection = [a for a in decision.alerts if a.level is AlertLevel.IMMEDIATE_PROTECTION]
        alerted = {ev.event_id for a in protection for ev in a.evidence}
        last_conference = max((c.at for c in state.conferences.values()), default=None)
        for e in case.events:
            if not isinstance(e, IncidentReported) or e.at > at:
                continue
            if last_conference is None or e.at > last_conference:
                if e.acute:
                    assert e.id in alerted, f"acute incident {e.id} since the last conference: no alert"
                elif state.phase is not Phase.IMMEDIATE_SAFETY and not state.is_closed:
                    reassess = {
                        ev.event_id
                        for a in decision.alerts
                        if a.level is AlertLevel.REASSESS
                        for ev in a.evidence
                    }
                    assert e.id in reassess, f"incident {e.id} in phase {state.phase}: no re-assessment"
        if decision.may_advance:
            assert not protection, "may advance despite an immediate-protection alert"
            assert decision.relapse is None, "may advance while a relapse is proposed"
        if state.is_closed:
            assert decision.advance is None
            assert decision.relapse is None
            assert not decision.may_close
            continue
        if state.phase is Phase.IMMEDIATE_SAFETY:
            assert decision.relapse is None
            continue
        acute = [
            e.id
            for e in case.events
            if isinstance(e, IncidentReported) and e.acute and state.phase_since <= e.at <= at
        ]
        if acute:
            assert decision.relapse is not None, (
                f"acute incidents {acute} in phase {state.phase} without relapse"
            )
            event("acute incident after the phase change")
        low = [
            pid
            for pid in required_parties(case, policy)
            if (s := counting_score(case, policy, pid, at)) is not None and s.score < policy.relapse_below
        ]
        if low:
            assert decision.relapse is not None, f"counting scores below threshold by {low} without relapse"
        if decision.relapse is not None:
            assert decision.relapse.to_phase is Phase.IMMEDIATE_SAFETY
            assert acute or low, "relapse proposed without an acute incident or a low counting score"


@given(policy=policies())
def test_policy_round_trips_through_its_mapping(policy: Policy) -> None:
    assert Policy.from_mapping(policy.to_mapping()) == policy


# --- 7. a corrupted event is refused with its path ------------------------------------------------


def party_references(record: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Paths (inside one serialised event) of the fields that name a party or person."""
    kind = record["type"]
    if kind == "case_opened":
        return [("parties", j, "person_id") for j in range(len(record["parties"]))]
    if kind == "party_joined":
        return [("party", "person_id")]
    if kind in {"party_left", "score_given"}:
        return [("party_id",)]
    if kind == "incident_reported":
        return [("reported_by",)]
    if kind == "conference_held":
        return [("participants", j) for j in range(len(record["participants"]))]
    if kind == "plan_revised":
        return [("agreements", j, "responsible") for j in range(len(record["agreements"]))]
    if kind == "case_closed":
        return [("handover_to", j) for j in range(len(record["handover_to"]))]
    return []


def wrong_kind(value: Any) -> Any:
    """A JSON value of a kind the field never takes."""
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, int):
        return "seven"
    return 7


def put(record: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        record = record[key]
    record[path[-1]] = value


MUTATIONS = ("score out of range", "unknown party", "unknown event type", "wrong type")


@pytest.mark.parametrize("kind", MUTATIONS)
@given(history=histories(policy=any_policy, max_actions=30), data=st.data())
def test_a_corrupted_event_is_refused_with_its_path(kind: str, history: History, data: st.DataObject) -> None:
    document = caseformat.case_to_dict(history.case)
    records = document["events"]
    if kind == "score out of range":
        indices = [i for i, r in enumerate(records) if r["type"] == "score_given"]
    elif kind == "unknown party":
        indices = [i for i, r in enumerate(records) if party_references(r)]
    else:
        indices = list(range(len(records)))
    if not indices:  # no score in this history: corrupt the type of a field instead
        kind, indices = "wrong type", list(range(len(records)))
    index = data.draw(st.sampled_from(indices), label="index")
    record = records[index]
    references = party_references(record)

    corrupted = copy.deepcopy(document)
    target = corrupted["events"][index]
    if kind == "score out of range":
        target["score"] = data.draw(st.sampled_from([-1, 11, 12, 100, -100]), label="score")
    elif kind == "unknown event type":
        target["type"] = data.draw(st.sampled_from(["score", "Score_Given", "mdo_held", "", "incident"]))
    elif kind == "wrong type":
        key = data.draw(st.sampled_from(sorted(k for k in target if k != "type")), label="field")
        target[key] = wrong_kind(target[key])
    else:
        put(target, data.draw(st.sampled_from(references), label="reference"), UNKNOWN_PARTY)
    event(f"{kind} in {record['type']}")

    with pytest.raises(CaseFormatError) as raised:
        caseformat.case_from_dict(corrupted)
    paths = [p.path for p in raised.value.problems]
    prefix = f"events[{index}]"
    assert any(p.startswith(prefix) for p in paths), paths
    assert all(p.startswith(prefix) for p in paths), f"problems outside the corrupted event: {paths}"
    assert caseformat.case_from_dict(document) == history.case, "the original document still reads"
