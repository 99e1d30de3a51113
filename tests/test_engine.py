"""The engine: pure evaluation, refused transitions, immutable operations, replay, policies side by side."""

from __future__ import annotations

from datetime import timedelta

import attrs
import orjson
import pytest

from factories import (
    all_score,
    case_in_phase_1_ready,
    case_in_phase_2,
    case_in_phase_3,
    conference,
    day,
    incident,
    new_case,
    plan,
)
from ketenzorg import (
    Case,
    CaseClosed,
    ConferenceHeld,
    Engine,
    IncidentReported,
    IncidentSeverity,
    InvalidEventError,
    PartyLeft,
    Phase,
    PhaseChanged,
    PlanRevised,
    Policy,
    RuleStatus,
    SafetyAgreement,
    ScoreGiven,
    TransitionBlockedError,
    TransitionKind,
    ValidationError,
)
from ketenzorg.hookspecs import hookimpl
from ketenzorg.pluginhost import PluginError, RuleRegistry
from ketenzorg.rules import BUILTIN_RULES, Finding, Rule, RuleContext

RATIONALE = "onderbouwing (synthetisch)"
MANUAL = "relapse.professional-judgement"
LENIENT = Policy(advance_threshold=5)


def phase_1(engine: Engine, scores: dict[str, int], *, with_plan: bool = True) -> Case:
    case, mdo = conference(engine, new_case(), day(7), scores, conference_id="mdo-1")
    return plan(engine, case, mdo, day(7)) if with_plan else case


def blocking_ids(error: TransitionBlockedError) -> list[str]:
    return [r.rule_id for r in error.decision.blocking]


# --- evaluate is pure ----------------------------------------------------------------------------


def test_evaluate_is_pure(engine: Engine) -> None:
    case = incident(engine, case_in_phase_2(engine), day(10), acute=True)
    events, state = case.events, case.state
    first = engine.evaluate(case, at=day(11))
    second = engine.evaluate(case, at=day(11))
    assert first == second
    assert first.to_dict("nl") == second.to_dict("nl")
    assert Engine().evaluate(case, at=day(11)) == first
    assert case.events is events
    assert case.state is state
    assert Case(case.case_id, case.events).state == state
    # the decision is really about this case (not a trivially constant value)
    assert first.relapse is not None
    # A decision is made on the whole history: never at a moment before its latest event.
    with pytest.raises(ValidationError, match=r"at: .* is before the latest event of the case"):
        engine.evaluate(case, at=day(9))


def test_evaluate_of_the_same_replayed_history_gives_the_same_decision(engine: Engine) -> None:
    case = case_in_phase_3(engine)
    replayed = engine.replay(case.case_id, list(case.events))
    assert engine.evaluate(replayed, at=day(201)) == engine.evaluate(case, at=day(201))


def test_decision_reports_phase_and_next_phase(engine: Engine) -> None:
    decision = engine.evaluate(case_in_phase_1_ready(engine), at=day(8))
    assert (decision.case_id, decision.phase, decision.next_phase) == (
        "case-test",
        Phase.IMMEDIATE_SAFETY,
        Phase.RISK_DRIVEN_CARE,
    )
    assert decision.may_advance
    assert not decision.may_close
    assert decision.at == day(8)
    assert engine.evaluate(case_in_phase_3(engine), at=day(201)).next_phase is None


# --- refusals ------------------------------------------------------------------------------------


def test_advance_refused_names_the_failing_rules(engine: Engine) -> None:
    case = phase_1(engine, {"client": 6, "practitioner": 6, "police": 5, "vt": 6}, with_plan=False)
    with pytest.raises(TransitionBlockedError) as caught:
        engine.advance(case, at=day(8))
    error = caught.value
    assert blocking_ids(error) == ["advance.safety-consensus", "advance.safety-agreements"]
    message = str(error)
    assert message.startswith("Transition to phase 2 (risk-driven care) blocked")
    assert "advance.safety-consensus: Politie Test scores 5, at least 6 is needed" in message
    assert "advance.safety-agreements: no safety action plan" in message
    assert error.decision.advance is None
    assert len(case.events) == 6  # unchanged


def test_advance_refused_message_in_dutch() -> None:
    engine = Engine(lang="nl")
    case = phase_1(engine, {"client": 6, "practitioner": 6, "police": 5, "vt": 6})
    with pytest.raises(TransitionBlockedError, match=r"advance\.safety-consensus") as caught:
        engine.advance(case, at=day(8))
    assert str(caught.value).startswith("Overgang naar fase 2 (risicogestuurde zorg) geblokkeerd")
    assert "Politie Test scoort 5, nodig is minstens 6" in str(caught.value)


def test_advance_from_phase_2_needs_stable_scores_and_a_quiet_window(engine: Engine) -> None:
    case = incident(engine, case_in_phase_2(engine), day(50), acute=False)
    case, _ = conference(engine, case, day(100), all_score(case, 7))
    with pytest.raises(TransitionBlockedError) as caught:
        engine.advance(case, at=day(100))
    assert blocking_ids(caught.value) == ["advance.stability-window"]
    assert "advance.stability-window: last incident on" in str(caught.value)
    advanced = engine.advance(case, at=day(140) + timedelta(seconds=1))
    assert advanced.state.phase is Phase.RECOVERY_CARE


def test_advance_from_phase_3_is_refused(engine: Engine) -> None:
    case = case_in_phase_3(engine)
    with pytest.raises(TransitionBlockedError):
        engine.advance(case, at=day(201))
    # an alert in phase 3 is named in the refusal
    case = engine.give_score(case, party_id="vt", score=2, rationale=RATIONALE, at=day(202))
    with pytest.raises(TransitionBlockedError, match=r"alert\.acute-score") as caught:
        engine.advance(case, at=day(202))
    assert "alert.acute-score" in blocking_ids(caught.value)


def test_relapse_refused_without_proposal_or_reason(engine: Engine) -> None:
    case = case_in_phase_2(engine)
    with pytest.raises(TransitionBlockedError) as caught:
        engine.relapse(case, at=day(8))
    error = caught.value
    assert error.decision.relapse is None
    # The refusal answers "why no relapse", not "why no advance": the gates of phase 3 are not listed.
    assert str(error) == (
        "No relapse proposed in phase 2 (risk-driven care)\n"
        "  no rule proposed a relapse and no reason was given"
    )
    with pytest.raises(TransitionBlockedError, match="no reason was given"):
        engine.relapse(case, at=day(8), reason="   ")
    with pytest.raises(TransitionBlockedError) as caught:
        Engine(lang="nl").relapse(case, at=day(8))
    assert "geen regel stelde een terugval voor en er is geen reden gegeven" in str(caught.value)


def test_relapse_from_phase_1_is_refused_even_with_a_reason(engine: Engine) -> None:
    case = phase_1(engine, {"client": 6, "practitioner": 6, "police": 5, "vt": 6})
    with pytest.raises(TransitionBlockedError) as caught:
        engine.relapse(case, at=day(8), reason="zorgen")
    assert str(caught.value) == (
        "No relapse proposed in phase 1 (immediate safety)\n"
        "  a relapse goes from phase 2 or 3 back to phase 1; the case is in phase 1 (immediate safety)"
    )
    assert blocking_ids(caught.value) == ["advance.safety-consensus"]  # the decision is still carried


def test_close_refused_outside_phase_3_says_the_phase_not_the_advance_gates(engine: Engine) -> None:
    case = case_in_phase_2(engine)
    with pytest.raises(TransitionBlockedError) as caught:
        engine.close(case, handover_to=["police"], at=day(8))
    # Why the case may not close, not why it may not advance to phase 3.
    assert str(caught.value) == (
        "Closing is only possible from phase 3 without open alerts\n"
        "  the case is in phase 2 (risk-driven care); a case is closed from phase 3 only"
    )
    assert "advance.stable-consensus" not in str(caught.value)
    assert blocking_ids(caught.value) == ["advance.stable-consensus"]  # the decision is still carried


def test_close_refused_in_phase_3_with_an_open_alert(engine: Engine) -> None:
    case = incident(engine, case_in_phase_3(engine), day(210), acute=True)
    with pytest.raises(TransitionBlockedError) as caught:
        engine.close(case, handover_to=["police"], at=day(211))
    assert blocking_ids(caught.value) == ["alert.acute-incident", "relapse.acute-incident"]
    for rule_id in blocking_ids(caught.value):
        assert rule_id in str(caught.value)
    assert not caught.value.decision.may_close


# --- operations return new cases -----------------------------------------------------------------


def test_operations_return_a_new_case_and_leave_the_old_one(engine: Engine) -> None:
    start = case_in_phase_1_ready(engine)
    snapshot = (start.events, start.state)

    scored = engine.give_score(start, party_id="police", score=8, rationale=RATIONALE, at=day(7))
    recorded = engine.record(start, PartyLeft(at=day(7), party_id="vt"))
    advanced = engine.advance(start, at=day(7))
    relapsed = engine.relapse(advanced, at=day(9), reason="professioneel oordeel")
    phase_3 = case_in_phase_3(engine)
    closed = engine.close(phase_3, handover_to=["police"], at=day(201))

    assert (start.events, start.state) == snapshot
    assert start.state.phase is Phase.IMMEDIATE_SAFETY
    for new, old in (
        (scored, start),
        (recorded, start),
        (advanced, start),
        (relapsed, advanced),
        (closed, phase_3),
    ):
        assert new is not old
        assert new.events[: len(old.events)] == old.events
        assert len(new.events) == len(old.events) + 1
    assert advanced.state.phase is Phase.RISK_DRIVEN_CARE
    assert relapsed.state.phase is Phase.IMMEDIATE_SAFETY
    assert not phase_3.state.is_closed
    assert closed.state.is_closed
    assert "vt" in start.state.care_team
    assert "vt" not in recorded.state.care_team


def test_record_all_is_all_or_nothing(engine: Engine) -> None:
    case = case_in_phase_1_ready(engine)
    good = ScoreGiven(at=day(8), party_id="police", role=case.state.care_team["police"].role, score=7)
    bad = PartyLeft(at=day(8), party_id="nobody")
    with pytest.raises(InvalidEventError):
        engine.record_all(case, [good, bad])
    assert good not in case.events
    assert engine.record_all(case, [good]).events[-1] is good


def test_advance_records_rules_and_evidence(engine: Engine) -> None:
    case = case_in_phase_1_ready(engine)
    advanced = engine.advance(case, at=day(8), reason="iedereen minstens 6", event_id="pc-1")
    event = advanced.events[-1]
    assert isinstance(event, PhaseChanged)
    assert (event.id, event.at, event.from_phase, event.to_phase, event.kind, event.reason) == (
        "pc-1",
        day(8),
        Phase.IMMEDIATE_SAFETY,
        Phase.RISK_DRIVEN_CARE,
        TransitionKind.ADVANCE,
        "iedereen minstens 6",
    )
    assert "advance.safety-consensus" in event.rules
    assert "advance.safety-agreements" in event.rules
    score_ids = {e.id for e in case.events if isinstance(e, ScoreGiven)}
    assert score_ids <= set(event.evidence)
    assert case.state.plan.id in event.evidence
    assert "mdo-" + day(7).isoformat() in event.evidence


# --- record --------------------------------------------------------------------------------------


def test_record_refuses_phase_changes_and_closing(engine: Engine) -> None:
    case = case_in_phase_1_ready(engine)
    forged = PhaseChanged(
        at=day(8),
        from_phase=Phase.IMMEDIATE_SAFETY,
        to_phase=Phase.RISK_DRIVEN_CARE,
        kind=TransitionKind.ADVANCE,
    )
    with pytest.raises(InvalidEventError) as caught:
        engine.record(case, forged)
    assert [p.path for p in caught.value.problems] == ["type"]
    assert "phase_changed is recorded by advance, relapse or close" in str(caught.value)
    phase_3 = case_in_phase_3(engine)
    with pytest.raises(InvalidEventError, match="case_closed is recorded by"):
        engine.record(phase_3, CaseClosed(at=day(201), handover_to=("police",)))


def test_record_refuses_a_plan_made_without_the_client(engine: Engine) -> None:
    case = engine.record(
        new_case(),
        ConferenceHeld(id="mdo-x", at=day(7), participants=("practitioner",), client_present=False),
    )
    revision = PlanRevised(
        at=day(7),
        conference_id="mdo-x",
        agreements=(SafetyAgreement(what="Afspraak", responsible="practitioner"),),
    )
    with pytest.raises(InvalidEventError) as caught:
        engine.record(case, revision)
    assert [p.path for p in caught.value.problems] == ["conference_id"]
    assert "client present" in str(caught.value)
    assert case.state.plan is None
    relaxed = Engine(Policy(plan_requires_client_present=False))
    assert relaxed.record(case, revision).state.plan is revision


def test_give_score_takes_the_role_from_the_care_team(engine: Engine) -> None:
    case = engine.give_score(new_case(), party_id="vt", score=6, rationale=RATIONALE, at=day(1))
    assert case.events[-1].role is case.state.care_team["vt"].role
    with pytest.raises(InvalidEventError, match="party_id"):
        engine.give_score(new_case(), party_id="ghost", score=6, rationale=RATIONALE, at=day(1))


# --- relapse -------------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", [2, 3])
def test_manual_relapse_with_a_reason_is_recorded(engine: Engine, phase: int) -> None:
    case = case_in_phase_2(engine) if phase == 2 else case_in_phase_3(engine)
    at = day(30) if phase == 2 else day(230)
    decision = engine.evaluate(case, at=at)
    assert decision.relapse is None
    relapsed = engine.relapse(case, at=at, reason="cliënt voelt zich onveilig", event_id="pc-r")
    event = relapsed.events[-1]
    assert isinstance(event, PhaseChanged)
    assert (event.id, event.kind, event.from_phase, event.to_phase) == (
        "pc-r",
        TransitionKind.RELAPSE,
        Phase(phase),
        Phase.IMMEDIATE_SAFETY,
    )
    assert event.rules == (MANUAL,)
    assert event.reason == "cliënt voelt zich onveilig"
    assert event.evidence == ()
    assert relapsed.state.phase is Phase.IMMEDIATE_SAFETY
    assert relapsed.state.phase_changes[-1] is event


def test_proposed_relapse_is_only_recorded_when_applied(engine: Engine) -> None:
    case = engine.give_score(
        case_in_phase_2(engine), party_id="police", score=4, rationale=RATIONALE, at=day(20), event_id="s-4"
    )
    decision = engine.evaluate(case, at=day(21))
    assert decision.relapse is not None
    assert decision.relapse.rules == ("relapse.score",)
    assert decision.relapse.evidence == ("s-4",)
    assert case.state.phase is Phase.RISK_DRIVEN_CARE  # never silently
    relapsed = engine.relapse(case, at=day(21))
    event = relapsed.events[-1]
    assert (event.kind, event.rules, event.evidence) == (TransitionKind.RELAPSE, ("relapse.score",), ("s-4",))


def test_acute_incident_in_phase_2_proposes_a_relapse(engine: Engine) -> None:
    case = engine.record(
        case_in_phase_2(engine),
        IncidentReported(id="inc-a", at=day(20), severity=IncidentSeverity.SEVERE, acute=True),
    )
    decision = engine.evaluate(case, at=day(21))
    assert decision.relapse is not None
    assert decision.relapse.rules == ("relapse.acute-incident",)
    assert decision.relapse.evidence == ("inc-a",)
    assert [a.rule_id for a in decision.alerts] == ["alert.acute-incident"]


# --- closing -------------------------------------------------------------------------------------


def test_close_from_phase_3_with_handover_to_a_chain_partner(engine: Engine) -> None:
    case = case_in_phase_3(engine)
    closed = engine.close(
        case, handover_to=["police", "vt"], at=day(201), summary="overdracht", event_id="closed-1"
    )
    event = closed.events[-1]
    assert isinstance(event, CaseClosed)
    assert (event.id, event.at, event.handover_to, event.summary) == (
        "closed-1",
        day(201),
        ("police", "vt"),
        "overdracht",
    )
    assert closed.state.closed is event


def test_close_needs_a_handover(engine: Engine) -> None:
    case = case_in_phase_3(engine)
    with pytest.raises(InvalidEventError) as caught:
        engine.close(case, handover_to=[], at=day(201))
    assert [p.path for p in caught.value.problems] == ["handover_to"]


@pytest.mark.parametrize("receiver", ["client", "practitioner", "ghost"])
def test_close_hands_over_to_chain_partners_only(engine: Engine, receiver: str) -> None:
    case = case_in_phase_3(engine)
    with pytest.raises(InvalidEventError) as caught:
        engine.close(case, handover_to=["police", receiver], at=day(201))
    assert [p.path for p in caught.value.problems] == ["handover_to[1]"]


def test_a_closed_case_refuses_further_events(engine: Engine) -> None:
    closed = engine.close(case_in_phase_3(engine), handover_to=["police"], at=day(201))
    with pytest.raises(InvalidEventError, match="closed"):
        engine.give_score(closed, party_id="police", score=8, rationale=RATIONALE, at=day(202))
    with pytest.raises(InvalidEventError, match="closed"):
        incident(engine, closed, day(202), acute=True)
    for operation in (
        lambda: engine.advance(closed, at=day(202)),
        lambda: engine.relapse(closed, at=day(202), reason="zorgen"),
        lambda: engine.close(closed, handover_to=["police"], at=day(202)),
    ):
        with pytest.raises(TransitionBlockedError, match="The case is already closed"):
            operation()
    decision = engine.evaluate(closed, at=day(202))
    assert decision.closed
    assert (decision.next_phase, decision.advance, decision.relapse, decision.may_close) == (
        None,
        None,
        None,
        False,
    )


# --- replay --------------------------------------------------------------------------------------


def _full_history(engine: Engine) -> Case:
    case = case_in_phase_3(engine)
    case = engine.relapse(case, at=day(210), reason="professioneel oordeel")
    case, mdo = conference(engine, case, day(220), all_score(case, 6), conference_id="mdo-220")
    case = plan(engine, case, mdo, day(220))
    case = engine.advance(case, at=day(220))
    case, _ = conference(engine, case, day(320), all_score(case, 8), conference_id="mdo-320")
    case = engine.advance(case, at=day(320))
    return engine.close(case, handover_to=["vt"], at=day(321))


def test_replay_accepts_a_history_built_by_the_engine(engine: Engine) -> None:
    case = _full_history(engine)
    replayed = engine.replay(case.case_id, iter(case.events))
    assert replayed.events == case.events
    assert replayed.state == case.state
    assert replayed.state.is_closed
    assert [c.kind for c in replayed.state.phase_changes] == [
        TransitionKind.ADVANCE,
        TransitionKind.ADVANCE,
        TransitionKind.RELAPSE,
        TransitionKind.ADVANCE,
        TransitionKind.ADVANCE,
    ]


def test_replay_refuses_a_forged_advance(engine: Engine) -> None:
    case = phase_1(engine, all_score(new_case(), 5))
    forged = PhaseChanged(
        at=day(8),
        from_phase=Phase.IMMEDIATE_SAFETY,
        to_phase=Phase.RISK_DRIVEN_CARE,
        kind=TransitionKind.ADVANCE,
        rules=("advance.safety-consensus",),
    )
    history = [*case.events, forged]
    assert Case(case.case_id, history).state.phase is Phase.RISK_DRIVEN_CARE  # the fold alone accepts it
    with pytest.raises(TransitionBlockedError) as caught:
        engine.replay(case.case_id, history)
    assert f"events[{len(history) - 1}]" in str(caught.value)
    assert "phase_changed" in str(caught.value)
    assert blocking_ids(caught.value) == ["advance.safety-consensus"]


def test_replay_refuses_a_forged_relapse_and_closing(engine: Engine) -> None:
    case = case_in_phase_2(engine)
    silent = PhaseChanged(
        at=day(30),
        from_phase=Phase.RISK_DRIVEN_CARE,
        to_phase=Phase.IMMEDIATE_SAFETY,
        kind=TransitionKind.RELAPSE,
    )
    with pytest.raises(TransitionBlockedError):
        engine.replay(case.case_id, [*case.events, silent])
    judged = attrs.evolve(silent, rules=(MANUAL,), reason="professioneel oordeel")
    assert engine.replay(case.case_id, [*case.events, judged]).state.phase is Phase.IMMEDIATE_SAFETY

    phase_3 = incident(engine, case_in_phase_3(engine), day(210), acute=True)
    closing = CaseClosed(at=day(211), handover_to=("police",))
    with pytest.raises(TransitionBlockedError, match="case_closed"):
        engine.replay(phase_3.case_id, [*phase_3.events, closing])


def _replay_refusal(engine: Engine, case: Case, event: PhaseChanged | CaseClosed) -> str:
    history = [*case.events, event]
    with pytest.raises(TransitionBlockedError) as caught:
        engine.replay(case.case_id, history)
    message = str(caught.value)
    assert message.startswith(f"events[{len(history) - 1}]: {event.type} at ")
    return message


def test_replay_says_why_a_jump_from_phase_1_to_3_was_not_allowed(engine: Engine) -> None:
    case = case_in_phase_1_ready(engine, score=9)  # everything in place to advance to phase 2
    jump = PhaseChanged(
        at=day(8),
        from_phase=Phase.IMMEDIATE_SAFETY,
        to_phase=Phase.RECOVERY_CARE,
        kind=TransitionKind.ADVANCE,
    )
    message = _replay_refusal(engine, case, jump)
    assert message.endswith(
        "was not allowed (phases run in order: after phase 1 (immediate safety) comes "
        "phase 2 (risk-driven care), not phase 3 (recovery care))"
    )
    message = _replay_refusal(Engine(lang="nl"), case, jump)
    assert "fasen lopen op volgorde: na fase 1 (directe veiligheid) komt fase 2" in message


def test_replay_says_why_an_advance_from_another_phase_was_not_allowed(engine: Engine) -> None:
    case = case_in_phase_1_ready(engine, score=9)
    claimed = PhaseChanged(
        at=day(8),
        from_phase=Phase.RISK_DRIVEN_CARE,
        to_phase=Phase.RECOVERY_CARE,
        kind=TransitionKind.ADVANCE,
    )
    assert "(the case is in phase 1 (immediate safety), not in phase 2 (risk-driven care))" in (
        _replay_refusal(engine, case, claimed)
    )
    beyond = PhaseChanged(
        at=day(201), from_phase=Phase.RECOVERY_CARE, to_phase=Phase.RECOVERY_CARE, kind=TransitionKind.ADVANCE
    )
    assert "(there is no phase after phase 3 (recovery care))" in _replay_refusal(
        engine, case_in_phase_3(engine), beyond
    )


def test_replay_says_why_a_relapse_was_not_allowed(engine: Engine) -> None:
    case = case_in_phase_2(engine)
    silent = PhaseChanged(
        at=day(30),
        from_phase=Phase.RISK_DRIVEN_CARE,
        to_phase=Phase.IMMEDIATE_SAFETY,
        kind=TransitionKind.RELAPSE,
    )
    message = _replay_refusal(engine, case, silent)
    assert message.endswith("was not allowed (no rule proposed a relapse and no reason was given)")
    assert "advance.stable-consensus" not in message  # the gates of an advance answer another question
    assert "geen regel stelde een terugval voor en er is geen reden gegeven" in _replay_refusal(
        Engine(lang="nl"), case, silent
    )
    unjudged = attrs.evolve(silent, reason="zorgen")  # a reason, but not recorded as a judgement
    assert "not recorded as a professional judgement (relapse.professional-judgement)" in (
        _replay_refusal(engine, case, unjudged)
    )


def test_replay_of_a_close_in_phase_2_answers_the_closing_question(engine: Engine) -> None:
    case = case_in_phase_2(engine)
    closing = CaseClosed(at=day(30), handover_to=("police",))
    message = _replay_refusal(engine, case, closing)
    assert message.endswith(
        "was not allowed (the case is in phase 2 (risk-driven care); a case is closed from phase 3 only)"
    )
    assert "advance." not in message


def test_replay_judges_a_transition_by_the_policy_it_was_decided_under() -> None:
    lenient = Engine(LENIENT)
    case = lenient.advance(phase_1(lenient, all_score(new_case(), 5)), at=day(8))
    assert lenient.replay(case.case_id, case.events).state.phase is Phase.RISK_DRIVEN_CARE
    strict = Engine()
    loaded = strict.replay(case.case_id, case.events)
    assert loaded.state.phase is Phase.RISK_DRIVEN_CARE
    [difference] = strict.evaluate(loaded, at=day(9)).judged_under
    assert difference.policy_changed


def test_replay_refuses_a_transition_its_recorded_policy_did_not_allow() -> None:
    lenient = Engine(LENIENT)
    case = lenient.advance(phase_1(lenient, all_score(new_case(), 5)), at=day(8))
    strict_rules = Engine().rule_set()
    [*before, change] = case.events
    assert isinstance(change, PhaseChanged)
    forged = attrs.evolve(change, rule_set=strict_rules)
    with pytest.raises(TransitionBlockedError):
        lenient.replay(case.case_id, [*before, forged])


def test_replay_reports_invalid_events_with_their_index(engine: Engine) -> None:
    case = case_in_phase_1_ready(engine)
    bad = PartyLeft(at=day(8), party_id="ghost")
    with pytest.raises(InvalidEventError) as caught:
        engine.replay(case.case_id, [*case.events, bad])
    assert [p.path for p in caught.value.problems] == [f"events[{len(case.events)}].party_id"]
    with pytest.raises(InvalidEventError):
        engine.replay(case.case_id, [])


# --- two engines, two policies -------------------------------------------------------------------


def test_two_engines_with_different_policies_decide_differently() -> None:
    strict, lenient = Engine(), Engine(LENIENT)
    case = phase_1(strict, all_score(new_case(), 5))
    first_lenient = lenient.evaluate(case, at=day(8))
    strict_decision = strict.evaluate(case, at=day(8))
    assert first_lenient.may_advance
    assert not strict_decision.may_advance
    assert [r.rule_id for r in strict_decision.blocking] == ["advance.safety-consensus"]
    # neither engine leaks into the other
    assert lenient.evaluate(case, at=day(8)) == first_lenient
    assert strict.evaluate(case, at=day(8)) == strict_decision
    assert lenient.advance(case, at=day(8)).state.phase is Phase.RISK_DRIVEN_CARE
    with pytest.raises(TransitionBlockedError):
        strict.advance(case, at=day(8))


def _never(ctx: RuleContext) -> Finding:
    from ketenzorg.decision import RuleResult
    from ketenzorg.messages import Message

    return Finding(RuleResult("org.never", RuleStatus.FAILED, Message("rule.not_applicable")))


class _RulePlugin:
    """An organisation's plugin that adds one rule, registered in-process."""

    def __init__(self, rule: Rule, name: str = "org.rules") -> None:
        self.rule = rule
        self.ketenzorg_plugin_name = name

    @hookimpl
    def ketenzorg_register_rules(self, registry: RuleRegistry) -> None:
        registry.add(self.rule)


def test_engine_with_a_custom_gate_rule() -> None:
    engine = Engine(plugins=[_RulePlugin(Rule("org.never", _never))])
    case = case_in_phase_1_ready(engine)
    with pytest.raises(TransitionBlockedError, match=r"org\.never") as caught:
        engine.advance(case, at=day(8))
    assert blocking_ids(caught.value) == ["org.never"]
    assert caught.value.decision.result("org.never").plugin == "org.rules"
    advisory = Engine(plugins=[_RulePlugin(Rule("org.never", _never, gate=False))])
    assert advisory.evaluate(case, at=day(8)).may_advance


def test_engine_refuses_duplicate_rule_ids() -> None:
    with pytest.raises(
        PluginError,
        match=r"rule id 'alert.acute-score' is registered by both "
        r"plugin 'ketenzorg.method' and 'org.copycat'",
    ) as caught:
        Engine(plugins=[_RulePlugin(BUILTIN_RULES[0], name="org.copycat")])
    assert caught.value.plugin == "org.copycat"


# --- output --------------------------------------------------------------------------------------


def test_decision_to_dict_is_json_serialisable(engine: Engine) -> None:
    case = phase_1(engine, {"client": 6, "practitioner": 6, "police": 2, "vt": 6})
    decision = engine.evaluate(case, at=day(8))
    for lang in ("nl", "en"):
        data = orjson.loads(orjson.dumps(decision.to_dict(lang)))
        assert data["lang"] == lang
        assert data["case_id"] == "case-test"
        assert data["phase"] == 1
        assert data["next_phase"] == 2
        assert data["may_advance"] is False
        assert data["advance"] is None
        assert data["blocking"] == ["alert.acute-score", "advance.safety-consensus"]
        assert [r["rule_id"] for r in data["results"]] == [r.id for r in BUILTIN_RULES]
        assert data["alerts"][0]["rule_id"] == "alert.acute-score"
        assert data["alerts"][0]["level"] == "immediate_protection"
        assert data["alerts"][0]["evidence"][0]["party_id"] == "police"
        assert data["alerts"][0]["evidence"][0]["value"] == 2
    en = decision.to_dict("en")
    consensus = next(r for r in en["results"] if r["rule_id"] == "advance.safety-consensus")
    assert consensus["status"] == "failed"
    assert consensus["missing"] == ["Politie Test scores 2, at least 6 is needed"]


def test_to_dict_of_an_allowed_advance(engine: Engine) -> None:
    case = case_in_phase_1_ready(engine)
    data = orjson.loads(orjson.dumps(engine.evaluate(case, at=day(8)).to_dict()))
    assert data["advance"]["kind"] == "advance"
    assert (data["advance"]["from_phase"], data["advance"]["to_phase"]) == (1, 2)
    assert case.state.plan.id in data["advance"]["evidence"]
    assert data["blocking"] == []


def test_explain_in_both_languages(engine: Engine) -> None:
    case = phase_1(engine, {"client": 6, "practitioner": 6, "police": 5, "vt": 6})
    decision = engine.evaluate(case, at=day(8))
    english = decision.explain("en")
    dutch = decision.explain("nl")
    assert english.splitlines()[0] == "Decision for case case-test"
    assert dutch.splitlines()[0] == "Besluit voor casus case-test"
    assert "May not (yet) advance to phase 2 (risk-driven care)" in english
    assert "Mag (nog) niet door naar fase 2 (risicogestuurde zorg)" in dutch
    assert "[!!] advance.safety-consensus" in english
    assert "missing: Politie Test scores 5, at least 6 is needed" in english
    assert "ontbreekt: Politie Test scoort 5, nodig is minstens 6" in dutch
    assert "relapse.score" not in english  # not applicable in phase 1, hidden unless verbose
    with pytest.raises(ValueError, match="unsupported language"):
        decision.explain("de")  # type: ignore[arg-type]


def test_explain_shows_alerts_and_a_proposed_relapse(engine: Engine) -> None:
    case = incident(engine, case_in_phase_2(engine), day(20), acute=True)
    english = engine.evaluate(case, at=day(21)).explain("en")
    assert "Alerts:" in english
    assert "Acute incident on 25 January 2026 since the last case conference; protect at once" in english
    assert "Proposed: relapse to phase 1 (immediate safety); revise the safety action plan" in english
    dutch = engine.evaluate(case, at=day(21)).explain("nl")
    assert "Voorstel: terugval naar fase 1 (directe veiligheid)" in dutch


# --- loading a stored case; a history recorded by hand ---------------------------------------------


def _forged_case(engine: Engine) -> tuple[Case, int]:
    """A phase-1 case (the police at 5) with an advance put in by hand."""
    case = phase_1(engine, {"client": 6, "practitioner": 6, "police": 5, "vt": 6})
    forged = PhaseChanged(
        id="forged",
        at=day(8),
        from_phase=Phase.IMMEDIATE_SAFETY,
        to_phase=Phase.RISK_DRIVEN_CARE,
        kind=TransitionKind.ADVANCE,
    )
    return case.append(forged), len(case.events)


def test_load_refuses_a_forged_history_and_marks_a_lawful_one_checked(engine: Engine) -> None:
    forged, index = _forged_case(engine)
    with pytest.raises(TransitionBlockedError, match=rf"events\[{index}\]: phase_changed .* not allowed"):
        engine.load(forged.case_id, forged.events)
    lawful = _full_history(engine)
    loaded = engine.load(lawful.case_id, list(lawful.events))
    assert loaded == lawful
    assert loaded.unchecked_transitions == ()
    assert lawful.unchecked_transitions == ()  # recorded by the engine: decided when made


def test_load_json_re_decides_what_caseformat_loads_accepts(engine: Engine) -> None:
    from ketenzorg import caseformat

    forged, index = _forged_case(engine)
    data = caseformat.dumps(forged)
    assert caseformat.loads(data).unchecked_transitions == (index,)  # cheap: not re-decided
    with pytest.raises(TransitionBlockedError, match=r"advance\.safety-consensus: Politie Test scores 5"):
        engine.load_json(data)
    lawful = _full_history(engine)
    assert engine.load_json(caseformat.dumps(lawful)) == lawful


def test_evaluate_flags_a_transition_recorded_by_hand_that_the_rules_did_not_allow(engine: Engine) -> None:
    forged, index = _forged_case(engine)
    by_hand = Case(forged.case_id, forged.events)
    for case in (forged, by_hand):
        assert case.unchecked_transitions == (index,)
        decision = engine.evaluate(case, at=day(9))
        assert decision.phase is Phase.RISK_DRIVEN_CARE  # flagged, not refused
        (flag,) = decision.unjustified
        assert (flag.index, flag.event_id, flag.at) == (index, "forged", day(8))
        assert [m.render() for m in flag.reasons] == [
            "advance.safety-consensus: Politie Test scores 5, at least 6 is needed"
        ]
    assert (
        f"the phase change of 13 January 2026 (events[{index}]) was not allowed: advance.safety-consensus"
        in decision.explain("en")
    )
    assert f"fasewissel van 13 januari 2026 (events[{index}]) was niet toegestaan" in decision.explain("nl")
    (item,) = orjson.loads(orjson.dumps(decision.to_dict()))["unjustified"]
    assert item["event_id"] == "forged"
    assert item["index"] == index
    assert item["reasons"] == ["advance.safety-consensus: Politie Test scores 5, at least 6 is needed"]


def test_advance_and_close_do_not_build_on_an_unjustified_transition(engine: Engine) -> None:
    forged, _ = _forged_case(engine)
    case, _ = conference(engine, forged, day(200), all_score(forged, 8))
    assert engine.evaluate(case, at=day(200)).may_advance  # the rules of phase 2 alone would allow it
    with pytest.raises(TransitionBlockedError, match="holds a transition the rules did not allow") as caught:
        engine.advance(case, at=day(200))
    assert "advance.safety-consensus" in str(caught.value)
    # Going back to phase 1 is more protection: never blocked by the history.
    relapsed = engine.relapse(case, at=day(201), reason="professioneel oordeel")
    assert relapsed.state.phase is Phase.IMMEDIATE_SAFETY
    assert relapsed.unchecked_transitions == forged.unchecked_transitions


def test_a_lawful_history_rebuilt_by_hand_decides_as_the_original(engine: Engine) -> None:
    case = _full_history(engine)
    rebuilt = Case(case.case_id, case.events)
    assert len(rebuilt.unchecked_transitions) == 6
    decision = engine.evaluate(rebuilt, at=day(330))
    assert decision.unjustified == ()
    assert decision == engine.evaluate(case, at=day(330))


def test_no_attrs_converter_is_a_builtin() -> None:
    # attrs reads each converter's signature when it builds a class; for a builtin such as ``tuple``
    # inspect parses the signature from text with the tokenize module: 2 to 3 ms of every start-up.
    import importlib
    import inspect

    import attrs

    modules = ["case", "decision", "domain", "engine", "events", "instruments", "messages", "policy", "rules"]
    checked = 0
    for name in modules:
        module = importlib.import_module(f"ketenzorg.{name}")
        for cls in vars(module).values():
            if not (isinstance(cls, type) and attrs.has(cls) and cls.__module__ == module.__name__):
                continue
            for field in attrs.fields(cls):
                if field.converter is not None:
                    checked += 1
                    assert inspect.isfunction(field.converter), f"{cls.__name__}.{field.name}"
    assert checked >= 5


def test_the_engine_keeps_its_plugins_as_a_tuple() -> None:
    plugin = object()
    assert Engine(plugins=[plugin]).plugins == (plugin,)


class _Heard:
    ketenzorg_plugin_name = "org.heard"

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl
    def ketenzorg_event_recorded(self, event: PhaseChanged) -> None:
        self.seen.append(event.type)


def test_check_appended_re_decides_without_telling_listeners() -> None:
    """What a store commits is re-decided as recorded, but nothing new is recorded: no listener hears it."""
    heard = _Heard()
    engine = Engine(plugins=[heard])
    before = case_in_phase_1_ready(engine)
    after = engine.advance(before, at=day(7))
    heard.seen.clear()
    checked = engine.check_appended(before, after.events[len(before.events) :])
    assert checked == after
    assert checked.unchecked_transitions == ()
    assert heard.seen == []
    forged = attrs.evolve(after.events[-1], id="forged")
    with pytest.raises(TransitionBlockedError) as caught:
        engine.check_appended(new_case(), [forged])
    assert caught.value.event_id == "forged"
    assert "events[1]" in str(caught.value)
