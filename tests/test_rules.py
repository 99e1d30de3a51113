"""The built-in phase rules, one by one: passing, failing (with exact texts), not applicable, edge cases.

Every scenario is synthetic. Rules are called directly through a :class:`RuleContext` so that each test
sees exactly one rule's finding; a few tests go through :meth:`Engine.evaluate` to check the wiring.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from factories import (
    NETWORK,
    PRACTITIONER,
    all_score,
    case_in_phase_1_ready,
    case_in_phase_2,
    case_in_phase_3,
    conference,
    day,
    incident,
    new_case,
    opened,
    plan,
)
from ketenzorg import (
    Case,
    ConferenceHeld,
    Engine,
    GoalStatus,
    IncidentReported,
    IncidentSeverity,
    InstrumentApplied,
    PartnerType,
    Party,
    PartyJoined,
    PartyLeft,
    PartyRole,
    Phase,
    PlanRevised,
    Policy,
    RuleStatus,
    SafetyAgreement,
    TransitionBlockedError,
    WorkGoal,
)
from ketenzorg.decision import AlertLevel, EvidenceKind, RuleResult
from ketenzorg.instruments import InstrumentResult, Urgency
from ketenzorg.messages import render
from ketenzorg.rules import BUILTIN_RULES, Finding, RuleContext

RULES = {r.id: r for r in BUILTIN_RULES}
RATIONALE = "onderbouwing (synthetisch)"
SECOND = timedelta(seconds=1)

ALERT_RULES = ("alert.acute-score", "alert.acute-incident", "reassess.incident")


def check(rule_id: str, case: Case, at: datetime, policy: Policy | None = None) -> Finding:
    """Run one built-in rule on ``case`` at ``at``."""
    return RULES[rule_id](RuleContext(state=case.state, policy=policy or Policy(), at=at))


def en(result: RuleResult) -> list[str]:
    return [render(m, "en") for m in result.missing]


def nl(result: RuleResult) -> list[str]:
    return [render(m, "nl") for m in result.missing]


def assert_renders(finding: Finding) -> None:
    """Every text of a finding renders in both languages, completely."""
    messages = [finding.result.message, *finding.result.missing]
    messages += [e.message for e in finding.result.evidence]
    for alert in finding.alerts:
        messages += [alert.message, *(e.message for e in alert.evidence)]
    for message in messages:
        for lang in ("nl", "en"):
            text = render(message, lang)
            assert text.strip()
            assert "{" not in text
            assert "}" not in text


def score(
    engine: Engine,
    case: Case,
    party_id: str,
    value: int,
    at: datetime,
    *,
    rationale: str = RATIONALE,
    event_id: str | None = None,
) -> Case:
    return engine.give_score(
        case, party_id=party_id, score=value, rationale=rationale, at=at, event_id=event_id
    )


def phase_1(engine: Engine, scores: dict[str, int], at: datetime | None = None) -> Case:
    """A phase-1 case with a plan (one agreement) made in a conference where ``scores`` were given."""
    at = at or day(7)
    case, mdo = conference(engine, new_case(), at, scores, conference_id="mdo-1")
    return plan(engine, case, mdo, at)


def record_incident(
    engine: Engine, case: Case, at: datetime, *, acute: bool, event_id: str, by: str | None = None
) -> Case:
    return engine.record(
        case,
        IncidentReported(
            id=event_id,
            at=at,
            severity=IncidentSeverity.SEVERE if acute else IncidentSeverity.MINOR,
            acute=acute,
            description="incident (synthetisch)",
            reported_by=by,
        ),
    )


def score_ids(case: Case) -> dict[str, str]:
    """The id of each party's last recorded score event (read from the history, not the state)."""
    ids: dict[str, str] = {}
    for event in case.events:
        if event.type == "score_given":
            ids[event.party_id] = event.id
    return ids


def with_plan(engine: Engine, case: Case, goals: tuple[WorkGoal, ...], *, at: datetime | None = None) -> Case:
    at = at or day(7)
    case, mdo = conference(engine, case, at, conference_id="mdo-plan")
    return engine.record(
        case,
        PlanRevised(
            id="plan-goals",
            at=at,
            conference_id=mdo,
            agreements=(SafetyAgreement(id="sa", what="Afspraak", responsible=PRACTITIONER.id),),
            work_goals=goals,
        ),
    )


# --- the rule set --------------------------------------------------------------------------------


def test_builtin_rule_ids_are_the_documented_set_in_order() -> None:
    assert [r.id for r in BUILTIN_RULES] == [
        "alert.acute-score",
        "alert.acute-incident",
        "reassess.incident",
        "relapse.score",
        "relapse.acute-incident",
        "advance.safety-consensus",
        "advance.safety-agreements",
        "advance.stable-consensus",
        "advance.stability-window",
        "plan.top-3",
        "plan.made-in-conference",
        "alert.instrument-urgent",
        "instrument.advice",
        "plan.risk-factors",
    ]


@pytest.mark.parametrize("rule_id", list(RULES))
@pytest.mark.parametrize("phase", [1, 2, 3])
def test_every_rule_renders_in_both_languages(engine: Engine, rule_id: str, phase: int) -> None:
    builders = {1: case_in_phase_1_ready, 2: case_in_phase_2, 3: case_in_phase_3}
    case = builders[phase](engine)
    at = day(201) if phase == 3 else day(20)
    case = incident(engine, case, at - SECOND, acute=True)
    case = score(engine, case, "police", 1, at - SECOND, rationale="")
    finding = check(rule_id, case, at)
    assert finding.result.rule_id == rule_id
    assert_renders(finding)


@pytest.mark.parametrize("rule_id", ALERT_RULES)
def test_alert_rules_apply_in_every_phase(engine: Engine, rule_id: str) -> None:
    cases = {
        Phase.IMMEDIATE_SAFETY: (case_in_phase_1_ready(engine), day(8)),
        Phase.RISK_DRIVEN_CARE: (case_in_phase_2(engine), day(8)),
        Phase.RECOVERY_CARE: (case_in_phase_3(engine), day(201)),
    }
    for phase, (case, at) in cases.items():
        assert case.state.phase is phase
        assert check(rule_id, case, at).result.status is RuleStatus.PASSED
        case = incident(engine, case, at, acute=rule_id != "reassess.incident")
        case = score(engine, case, "police", 2, at)
        assert check(rule_id, case, at).result.status is RuleStatus.FAILED, phase


# --- alert.acute-score ---------------------------------------------------------------------------


def test_acute_score_passes_without_scores_in_the_acute_band(engine: Engine) -> None:
    case = phase_1(engine, {"client": 3, "practitioner": 6, "police": 6, "vt": 6})
    finding = check("alert.acute-score", case, day(8))
    assert finding.result.status is RuleStatus.PASSED
    assert finding.alerts == ()
    assert finding.result.evidence == ()
    assert finding.result.missing == ()
    assert render(finding.result.message, "en") == "No score in the acute band (0-2)"
    assert render(finding.result.message, "nl") == "Geen score in de acute band (0-2)"


def test_acute_score_fails_and_alerts_with_the_score_as_evidence(engine: Engine) -> None:
    case = phase_1(engine, {"client": 6, "practitioner": 6, "vt": 6})
    case = score(engine, case, "police", 2, day(8), event_id="s-police-2")
    finding = check("alert.acute-score", case, day(8))
    assert finding.result.status is RuleStatus.FAILED
    assert finding.result.missing == ()
    assert render(finding.result.message, "en") == "Score in the acute band (0-2)"
    [evidence] = finding.result.evidence
    assert (evidence.kind, evidence.event_id, evidence.party_id, evidence.value) == (
        EvidenceKind.SCORE,
        "s-police-2",
        "police",
        2,
    )
    assert evidence.at == day(8)
    assert render(evidence.message, "en") == "Politie Test: score 2 on 13 January 2026"
    assert render(evidence.message, "nl") == "Politie Test: score 2 op 13 januari 2026"
    [alert] = finding.alerts
    assert alert.rule_id == "alert.acute-score"
    assert alert.level is AlertLevel.IMMEDIATE_PROTECTION
    assert alert.evidence == (evidence,)
    assert render(alert.message, "en") == "Acute danger: Politie Test scores 2; protect at once"
    assert render(alert.message, "nl") == "Acuut gevaar: Politie Test geeft score 2; direct veiligstellen"


def test_acute_score_names_the_client_by_role_not_by_name(engine: Engine) -> None:
    case = phase_1(engine, {"client": 1, "practitioner": 6, "police": 6, "vt": 6})
    finding = check("alert.acute-score", case, day(8))
    [alert] = finding.alerts
    assert render(alert.message, "en") == "Acute danger: client scores 1; protect at once"
    assert render(alert.message, "nl") == "Acuut gevaar: cliënt geeft score 1; direct veiligstellen"
    assert "Cliënt X" not in render(finding.result.evidence[0].message, "en")


def test_acute_score_alerts_even_without_rationale(engine: Engine) -> None:
    case = phase_1(engine, all_score(new_case(), 6))
    case = score(engine, case, "vt", 0, day(8), rationale="  ", event_id="s-vt-0")
    finding = check("alert.acute-score", case, day(8))
    assert finding.result.status is RuleStatus.FAILED
    assert [e.event_id for e in finding.result.evidence] == ["s-vt-0"]
    assert len(finding.alerts) == 1


def test_acute_score_alerts_even_when_the_score_is_older_than_the_maximum_age(engine: Engine) -> None:
    case = phase_1(engine, {"client": 6, "practitioner": 2, "police": 6, "vt": 6})
    finding = check("alert.acute-score", case, day(7) + timedelta(days=200))
    assert finding.result.status is RuleStatus.FAILED
    assert [e.party_id for e in finding.result.evidence] == ["practitioner"]


def test_acute_score_uses_each_partys_most_recent_score(engine: Engine) -> None:
    case = phase_1(engine, {"client": 6, "practitioner": 6, "police": 1, "vt": 6})
    assert check("alert.acute-score", case, day(8)).result.status is RuleStatus.FAILED
    case = score(engine, case, "police", 5, day(9))
    assert check("alert.acute-score", case, day(9)).result.status is RuleStatus.PASSED


def test_acute_score_ignores_a_party_that_left_the_care_team(engine: Engine) -> None:
    case = phase_1(engine, {"client": 6, "practitioner": 6, "police": 1, "vt": 6})
    case = engine.record(case, PartyLeft(at=day(9), party_id="police"))
    finding = check("alert.acute-score", case, day(9))
    assert finding.result.status is RuleStatus.PASSED
    assert finding.alerts == ()


def test_acute_score_alerts_for_a_network_score_too(engine: Engine) -> None:
    case = engine.record(phase_1(engine, all_score(new_case(), 6)), PartyJoined(at=day(8), party=NETWORK))
    case = score(engine, case, "network", 2, day(9))
    finding = check("alert.acute-score", case, day(9))
    assert [a.evidence[0].party_id for a in finding.alerts] == ["network"]


def test_acute_score_boundary_follows_the_policy_ceiling(engine: Engine) -> None:
    case = phase_1(engine, {"client": 3, "practitioner": 6, "police": 6, "vt": 6})
    assert check("alert.acute-score", case, day(8)).result.status is RuleStatus.PASSED
    finding = check("alert.acute-score", case, day(8), Policy(acute_ceiling=3))
    assert finding.result.status is RuleStatus.FAILED
    assert render(finding.result.message, "en") == "Score in the acute band (0-3)"


def test_acute_score_alerts_for_every_party_in_the_band(engine: Engine) -> None:
    case = phase_1(engine, {"client": 0, "practitioner": 6, "police": 2, "vt": 3})
    finding = check("alert.acute-score", case, day(8))
    assert sorted(e.party_id for e in finding.result.evidence) == ["client", "police"]
    assert sorted(e.value for e in finding.result.evidence) == [0, 2]
    assert len(finding.alerts) == 2


# --- alert.acute-incident ------------------------------------------------------------------------


def test_acute_incident_passes_without_incidents(engine: Engine) -> None:
    finding = check("alert.acute-incident", case_in_phase_1_ready(engine), day(8))
    assert finding.result.status is RuleStatus.PASSED
    assert finding.alerts == ()
    assert render(finding.result.message, "en") == "No acute incident since the last case conference"


def test_acute_incident_since_the_last_conference_alerts(engine: Engine) -> None:
    case = record_incident(engine, case_in_phase_1_ready(engine), day(10), acute=True, event_id="inc-a")
    finding = check("alert.acute-incident", case, day(11))
    assert finding.result.status is RuleStatus.FAILED
    assert en(finding.result) == ["a new case conference after the incident of 15 January 2026"]
    assert nl(finding.result) == ["nieuw MDO na het incident van 15 januari 2026"]
    [evidence] = finding.result.evidence
    assert (evidence.kind, evidence.event_id, evidence.at) == (EvidenceKind.INCIDENT, "inc-a", day(10))
    assert render(evidence.message, "en") == "incident on 15 January 2026 (severe, acute)"
    assert render(evidence.message, "nl") == "incident op 15 januari 2026 (zeer ernstig, acuut)"
    [alert] = finding.alerts
    assert alert.level is AlertLevel.IMMEDIATE_PROTECTION
    assert render(alert.message, "en") == (
        "Acute incident on 15 January 2026 since the last case conference; protect at once"
    )


def test_acute_incident_before_the_last_conference_no_longer_alerts(engine: Engine) -> None:
    case = record_incident(engine, new_case(), day(3), acute=True, event_id="inc-a")
    assert check("alert.acute-incident", case, day(4)).result.status is RuleStatus.FAILED
    case, _ = conference(engine, case, day(7), all_score(case, 6))
    finding = check("alert.acute-incident", case, day(8))
    assert finding.result.status is RuleStatus.PASSED
    assert finding.result.evidence == ()


def test_acute_incident_ignores_non_acute_incidents(engine: Engine) -> None:
    case = record_incident(engine, case_in_phase_1_ready(engine), day(10), acute=False, event_id="inc")
    assert check("alert.acute-incident", case, day(11)).result.status is RuleStatus.PASSED


def test_acute_incident_missing_names_the_latest_incident_only(engine: Engine) -> None:
    case = record_incident(engine, case_in_phase_1_ready(engine), day(10), acute=True, event_id="inc-1")
    case = record_incident(engine, case, day(12), acute=True, event_id="inc-2")
    finding = check("alert.acute-incident", case, day(13))
    assert [e.event_id for e in finding.result.evidence] == ["inc-1", "inc-2"]
    assert len(finding.alerts) == 2
    assert en(finding.result) == ["a new case conference after the incident of 17 January 2026"]


def test_acute_incident_ignores_incidents_after_the_moment_of_judgement(engine: Engine) -> None:
    case = record_incident(engine, case_in_phase_1_ready(engine), day(10), acute=True, event_id="inc")
    assert check("alert.acute-incident", case, day(9)).result.status is RuleStatus.PASSED


# --- reassess.incident ---------------------------------------------------------------------------


def test_reassess_passes_without_incidents(engine: Engine) -> None:
    finding = check("reassess.incident", case_in_phase_2(engine), day(8))
    assert finding.result.status is RuleStatus.PASSED
    assert render(finding.result.message, "en") == "No unsafe incident since the last case conference"


def test_reassess_fails_in_phase_1_without_an_alert(engine: Engine) -> None:
    case = record_incident(engine, case_in_phase_1_ready(engine), day(10), acute=False, event_id="inc")
    finding = check("reassess.incident", case, day(11))
    assert finding.result.status is RuleStatus.FAILED
    assert finding.alerts == ()
    assert en(finding.result) == ["a new case conference after the incident of 15 January 2026"]
    assert nl(finding.result) == ["nieuw MDO na het incident van 15 januari 2026"]
    assert [e.event_id for e in finding.result.evidence] == ["inc"]
    assert render(finding.result.evidence[0].message, "en") == "incident on 15 January 2026 (minor)"


def test_reassess_alerts_in_phase_2(engine: Engine) -> None:
    case = record_incident(engine, case_in_phase_2(engine), day(10), acute=False, event_id="inc", by="police")
    finding = check("reassess.incident", case, day(11))
    assert finding.result.status is RuleStatus.FAILED
    [alert] = finding.alerts
    assert alert.level is AlertLevel.REASSESS
    assert alert.rule_id == "reassess.incident"
    assert [e.event_id for e in alert.evidence] == ["inc"]
    assert alert.evidence[0].party_id == "police"
    assert render(alert.message, "en") == (
        "Unsafe incident on 15 January 2026: re-assess safety in a case conference"
    )
    assert (
        render(alert.message, "nl")
        == "Onveilig incident op 15 januari 2026: veiligheid opnieuw wegen in een MDO"
    )


def test_reassess_ignores_acute_incidents(engine: Engine) -> None:
    case = record_incident(engine, case_in_phase_2(engine), day(10), acute=True, event_id="inc")
    assert check("reassess.incident", case, day(11)).result.status is RuleStatus.PASSED


def test_reassess_is_satisfied_by_a_new_conference(engine: Engine) -> None:
    case = record_incident(engine, case_in_phase_2(engine), day(10), acute=False, event_id="inc")
    case, _ = conference(engine, case, day(12), all_score(case, 7))
    finding = check("reassess.incident", case, day(12))
    assert finding.result.status is RuleStatus.PASSED
    assert finding.alerts == ()


# --- relapse.score -------------------------------------------------------------------------------


def test_relapse_score_not_applicable_in_phase_1(engine: Engine) -> None:
    case = phase_1(engine, {"client": 3, "practitioner": 3, "police": 3, "vt": 3})
    finding = check("relapse.score", case, day(8))
    assert finding.result.status is RuleStatus.NOT_APPLICABLE
    assert not finding.proposes_relapse
    assert render(finding.result.message, "en") == "Not applicable in this phase"
    assert render(finding.result.message, "nl") == "Niet van toepassing in deze fase"


def test_relapse_score_passes_when_every_counting_score_is_at_least_6(engine: Engine) -> None:
    finding = check("relapse.score", case_in_phase_2(engine), day(8))
    assert finding.result.status is RuleStatus.PASSED
    assert not finding.proposes_relapse
    assert finding.result.missing == ()
    assert render(finding.result.message, "en") == "All counting scores at least 6"


def test_relapse_score_fails_on_a_required_score_below_6(engine: Engine) -> None:
    case = score(engine, case_in_phase_2(engine), "police", 5, day(20), event_id="s-police-5")
    finding = check("relapse.score", case, day(21))
    assert finding.result.status is RuleStatus.FAILED
    assert finding.proposes_relapse
    assert en(finding.result) == ["Politie Test scores 5, at least 6 is needed"]
    assert nl(finding.result) == ["Politie Test scoort 5, nodig is minstens 6"]
    [evidence] = finding.result.evidence
    assert (evidence.event_id, evidence.party_id, evidence.value) == ("s-police-5", "police", 5)
    assert render(finding.result.message, "en") == "Relapse: counting score below 6"


def test_relapse_score_applies_in_phase_3(engine: Engine) -> None:
    case = score(engine, case_in_phase_3(engine), "client", 4, day(210))
    finding = check("relapse.score", case, day(210))
    assert finding.proposes_relapse
    assert en(finding.result) == ["client scores 4, at least 6 is needed"]


def test_relapse_score_ignores_a_score_without_rationale(engine: Engine) -> None:
    case = score(engine, case_in_phase_2(engine), "police", 4, day(20), rationale="")
    finding = check("relapse.score", case, day(21))
    assert finding.result.status is RuleStatus.PASSED
    assert not finding.proposes_relapse


def test_relapse_score_ignores_a_stale_score(engine: Engine) -> None:
    case = score(engine, case_in_phase_2(engine), "police", 4, day(20))
    assert check("relapse.score", case, day(80)).proposes_relapse
    assert not check("relapse.score", case, day(80) + SECOND).proposes_relapse


def test_relapse_score_ignores_roles_that_are_not_required(engine: Engine) -> None:
    case = engine.record(case_in_phase_2(engine), PartyJoined(at=day(10), party=NETWORK))
    case = score(engine, case, "network", 4, day(20))
    assert not check("relapse.score", case, day(21)).proposes_relapse
    required = Policy(required_roles=frozenset(PartyRole))
    assert check("relapse.score", case, day(21), required).proposes_relapse


def test_relapse_score_is_not_withdrawn_by_a_later_incident(engine: Engine) -> None:
    case = score(engine, case_in_phase_2(engine), "police", 4, day(20), event_id="s-police-4")
    assert check("relapse.score", case, day(21)).proposes_relapse
    case = record_incident(engine, case, day(25), acute=False, event_id="inc")
    # domain.md: in phase 2 or 3, a required party's counting score below 6 proposes the relapse;
    # the police's 4 (with rationale, 5 days old) is still its counting score.
    finding = check("relapse.score", case, day(26))
    assert finding.proposes_relapse
    assert [e.event_id for e in finding.result.evidence] == ["s-police-4"]


# --- relapse.acute-incident ----------------------------------------------------------------------


def test_relapse_incident_not_applicable_in_phase_1(engine: Engine) -> None:
    case = record_incident(engine, case_in_phase_1_ready(engine), day(10), acute=True, event_id="inc")
    finding = check("relapse.acute-incident", case, day(11))
    assert finding.result.status is RuleStatus.NOT_APPLICABLE
    assert not finding.proposes_relapse


def test_relapse_incident_passes_without_acute_incident_since_the_phase_change(engine: Engine) -> None:
    case = record_incident(engine, new_case(), day(3), acute=True, event_id="inc-before")
    case, mdo = conference(engine, case, day(7), all_score(case, 6))
    case = engine.advance(plan(engine, case, mdo, day(7)), at=day(7))
    case = record_incident(engine, case, day(10), acute=False, event_id="inc-minor")
    finding = check("relapse.acute-incident", case, day(11))
    assert finding.result.status is RuleStatus.PASSED
    assert not finding.proposes_relapse
    assert render(finding.result.message, "en") == "No acute incident since the last phase change"


def test_relapse_incident_fails_on_an_acute_incident_in_phase_2(engine: Engine) -> None:
    case = record_incident(engine, case_in_phase_2(engine), day(10), acute=True, event_id="inc-a")
    # a conference after the incident does not take the relapse proposal away
    case, _ = conference(engine, case, day(12), all_score(case, 7))
    finding = check("relapse.acute-incident", case, day(12))
    assert finding.result.status is RuleStatus.FAILED
    assert finding.proposes_relapse
    assert finding.result.missing == ()
    assert [(e.kind, e.event_id) for e in finding.result.evidence] == [(EvidenceKind.INCIDENT, "inc-a")]
    assert render(finding.result.message, "en") == "Relapse: acute incident since the last phase change"
    assert render(finding.result.message, "nl") == "Terugval: acuut incident sinds de laatste fasewissel"


def test_relapse_incident_applies_in_phase_3(engine: Engine) -> None:
    case = record_incident(engine, case_in_phase_3(engine), day(220), acute=True, event_id="inc-a")
    assert check("relapse.acute-incident", case, day(221)).proposes_relapse


# --- advance.safety-consensus --------------------------------------------------------------------


def test_safety_consensus_passes_with_evidence_for_every_required_party(engine: Engine) -> None:
    case = phase_1(engine, {"client": 6, "practitioner": 9, "police": 7, "vt": 6})
    finding = check("advance.safety-consensus", case, day(8))
    assert finding.result.status is RuleStatus.PASSED
    assert finding.result.missing == ()
    ids = score_ids(case)
    evidence = finding.result.evidence
    assert [e.party_id for e in evidence] == ["client", "practitioner", "police", "vt"]
    assert [e.event_id for e in evidence] == [ids[p] for p in ("client", "practitioner", "police", "vt")]
    assert [e.value for e in evidence] == [6, 9, 7, 6]
    assert render(finding.result.message, "en") == "All involved score at least 6"
    assert render(finding.result.message, "nl") == "Alle betrokkenen scoren minstens 6"


def test_safety_consensus_fails_below_6(engine: Engine) -> None:
    case = phase_1(engine, {"client": 6, "practitioner": 6, "police": 5, "vt": 6})
    finding = check("advance.safety-consensus", case, day(8))
    assert finding.result.status is RuleStatus.FAILED
    assert en(finding.result) == ["Politie Test scores 5, at least 6 is needed"]
    assert nl(finding.result) == ["Politie Test scoort 5, nodig is minstens 6"]
    assert render(finding.result.message, "en") == "Not all involved score at least 6 yet"
    police = [e for e in finding.result.evidence if e.party_id == "police"]
    assert [(e.event_id, e.value) for e in police] == [(score_ids(case)["police"], 5)]


def test_safety_consensus_names_parties_that_did_not_score(engine: Engine) -> None:
    case = phase_1(engine, {"client": 6, "practitioner": 6})
    finding = check("advance.safety-consensus", case, day(8))
    assert en(finding.result) == ["Politie Test has not scored yet", "Veilig Thuis Test has not scored yet"]
    assert nl(finding.result) == [
        "Politie Test heeft nog niet gescoord",
        "Veilig Thuis Test heeft nog niet gescoord",
    ]
    assert [e.party_id for e in finding.result.evidence] == ["client", "practitioner"]


def test_safety_consensus_score_without_rationale_does_not_count(engine: Engine) -> None:
    case = phase_1(engine, {"practitioner": 6, "police": 6, "vt": 6})
    case = score(engine, case, "client", 8, day(7), rationale="   ", event_id="s-client")
    finding = check("advance.safety-consensus", case, day(8))
    assert finding.result.status is RuleStatus.FAILED
    assert en(finding.result) == ["score by client has no rationale"]
    assert nl(finding.result) == ["score van cliënt heeft geen onderbouwing"]
    assert "s-client" in [e.event_id for e in finding.result.evidence]


def test_safety_consensus_score_older_than_60_days_does_not_count(engine: Engine) -> None:
    case = phase_1(engine, all_score(new_case(), 6))
    exactly_60_days = day(7) + timedelta(days=60)
    assert check("advance.safety-consensus", case, exactly_60_days).result.status is RuleStatus.PASSED
    finding = check("advance.safety-consensus", case, exactly_60_days + SECOND)
    assert finding.result.status is RuleStatus.FAILED
    assert en(finding.result) == [
        "client has not scored since 12 January 2026",
        "Hulpverlener Test has not scored since 12 January 2026",
        "Politie Test has not scored since 12 January 2026",
        "Veilig Thuis Test has not scored since 12 January 2026",
    ]
    assert nl(finding.result)[0] == "cliënt heeft niet meer gescoord sinds 12 januari 2026"


def test_safety_consensus_max_score_age_follows_the_policy(engine: Engine) -> None:
    case = phase_1(engine, all_score(new_case(), 6))
    short = Policy(max_score_age=timedelta(days=10))
    assert check("advance.safety-consensus", case, day(17), short).result.status is RuleStatus.PASSED
    assert check("advance.safety-consensus", case, day(18), short).result.status is RuleStatus.FAILED


def test_safety_consensus_most_recent_score_counts(engine: Engine) -> None:
    case = phase_1(engine, {"client": 6, "practitioner": 6, "vt": 6})
    case = score(engine, case, "police", 4, day(7), event_id="s-old")
    case = score(engine, case, "police", 7, day(9), event_id="s-new")
    finding = check("advance.safety-consensus", case, day(10))
    assert finding.result.status is RuleStatus.PASSED
    police = [e for e in finding.result.evidence if e.party_id == "police"]
    assert [(e.event_id, e.value) for e in police] == [("s-new", 7)]
    # and the other way round: a newer low score replaces an older high one
    case = score(engine, case, "police", 5, day(11), event_id="s-newest")
    finding = check("advance.safety-consensus", case, day(12))
    assert en(finding.result) == ["Politie Test scores 5, at least 6 is needed"]


def test_safety_consensus_late_older_score_does_not_replace_a_newer_one(engine: Engine) -> None:
    case = phase_1(engine, all_score(new_case(), 6))
    case = score(engine, case, "police", 3, day(5), event_id="s-late")
    finding = check("advance.safety-consensus", case, day(8))
    assert finding.result.status is RuleStatus.PASSED
    assert "s-late" not in [e.event_id for e in finding.result.evidence]


def test_safety_consensus_does_not_require_a_party_that_left(engine: Engine) -> None:
    case = phase_1(engine, {"client": 6, "practitioner": 6, "vt": 6})
    assert check("advance.safety-consensus", case, day(8)).result.status is RuleStatus.FAILED
    case = engine.record(case, PartyLeft(at=day(8), party_id="police", reason="klaar"))
    finding = check("advance.safety-consensus", case, day(8))
    assert finding.result.status is RuleStatus.PASSED
    assert "police" not in [e.party_id for e in finding.result.evidence]


def test_safety_consensus_requires_a_party_that_joined(engine: Engine) -> None:
    case = case_in_phase_1_ready(engine)
    joined = Party(id="ggz", role=PartyRole.CHAIN_PARTNER, name="GGZ Test", partner_type=PartnerType.GGZ)
    case = engine.record(case, PartyJoined(at=day(8), party=joined))
    finding = check("advance.safety-consensus", case, day(8))
    assert en(finding.result) == ["GGZ Test has not scored yet"]


def test_safety_consensus_network_not_required_by_default(engine: Engine) -> None:
    case = engine.record(case_in_phase_1_ready(engine), PartyJoined(at=day(7), party=NETWORK))
    finding = check("advance.safety-consensus", case, day(8))
    assert finding.result.status is RuleStatus.PASSED
    with_network = Policy(required_roles=frozenset(PartyRole))
    finding = check("advance.safety-consensus", case, day(8), with_network)
    assert finding.result.status is RuleStatus.FAILED
    assert en(finding.result) == ["Netwerk Test has not scored yet"]


def test_safety_consensus_score_before_the_latest_incident_does_not_count(engine: Engine) -> None:
    case = case_in_phase_1_ready(engine)
    case = record_incident(engine, case, day(10), acute=False, event_id="inc")
    finding = check("advance.safety-consensus", case, day(11))
    assert finding.result.status is RuleStatus.FAILED
    assert en(finding.result) == [
        "client has not scored since the incident of 15 January 2026",
        "Hulpverlener Test has not scored since the incident of 15 January 2026",
        "Politie Test has not scored since the incident of 15 January 2026",
        "Veilig Thuis Test has not scored since the incident of 15 January 2026",
    ]
    assert nl(finding.result)[0] == "cliënt heeft niet meer gescoord sinds het incident van 15 januari 2026"
    # scores given after the incident count again
    case, _ = conference(engine, case, day(12), all_score(case, 6))
    assert check("advance.safety-consensus", case, day(12)).result.status is RuleStatus.PASSED


def test_safety_consensus_score_before_the_latest_relapse_does_not_count(engine: Engine) -> None:
    case = engine.relapse(case_in_phase_2(engine), at=day(30), reason="professioneel oordeel")
    assert case.state.phase is Phase.IMMEDIATE_SAFETY
    finding = check("advance.safety-consensus", case, day(31))
    assert finding.result.status is RuleStatus.FAILED
    assert en(finding.result)[1] == "Hulpverlener Test has not scored since the relapse of 4 February 2026"
    assert nl(finding.result)[1] == (
        "Hulpverlener Test heeft niet meer gescoord sinds de terugval van 4 februari 2026"
    )
    assert len(finding.result.missing) == 4


def test_safety_consensus_without_any_required_party(engine: Engine) -> None:
    case = Case.open(opened(parties=(NETWORK,)), case_id="case-empty")
    finding = check("advance.safety-consensus", case, day(1))
    assert finding.result.status is RuleStatus.FAILED
    assert en(finding.result) == [
        "no required party in the care team",
        "no client in the care team",
        "no own practitioner in the care team",
    ]
    assert nl(finding.result)[0] == "geen enkele verplichte partij in het zorgteam"


def test_no_advance_without_the_client_in_the_care_team(engine: Engine) -> None:
    from factories import POLICE, PRACTITIONER

    case = Case.open(opened(parties=(PRACTITIONER, POLICE)), case_id="case-no-client")
    case, mdo = conference(engine, case, day(7), all_score(case, 8))
    case = plan(engine, case, mdo, day(7))
    decision = engine.evaluate(case, at=day(7))
    assert not decision.may_advance
    assert en(decision.result("advance.safety-consensus")) == ["no client in the care team"]


def test_after_a_relapse_the_plan_must_be_revised_before_advancing(engine: Engine) -> None:
    case = incident(engine, case_in_phase_2(engine), day(20), acute=True)
    case = engine.relapse(case, at=day(21))
    case, mdo = conference(engine, case, day(22), all_score(new_case(), 6))
    decision = engine.evaluate(case, at=day(22))
    assert not decision.may_advance
    assert en(decision.result("advance.safety-agreements")) == [
        "the safety action plan has not been revised since the relapse of 26 January 2026"
    ]
    case = plan(engine, case, mdo, day(22))
    assert engine.evaluate(case, at=day(22)).may_advance


def test_safety_consensus_threshold_follows_the_policy(engine: Engine) -> None:
    case = phase_1(engine, all_score(new_case(), 5))
    finding = check("advance.safety-consensus", case, day(8), Policy(advance_threshold=5))
    assert finding.result.status is RuleStatus.PASSED
    assert render(finding.result.message, "en") == "All involved score at least 5"


def test_safety_consensus_not_applicable_after_phase_1(engine: Engine) -> None:
    assert check("advance.safety-consensus", case_in_phase_2(engine), day(8)).result.status is (
        RuleStatus.NOT_APPLICABLE
    )
    assert check("advance.safety-consensus", case_in_phase_3(engine), day(201)).result.status is (
        RuleStatus.NOT_APPLICABLE
    )


def test_phase_1_may_only_advance_to_phase_2_even_when_everyone_scores_9(engine: Engine) -> None:
    case = phase_1(engine, all_score(new_case(), 9))
    decision = engine.evaluate(case, at=day(8))
    assert decision.advance is not None
    assert decision.advance.to_phase is Phase.RISK_DRIVEN_CARE
    assert engine.advance(case, at=day(8)).state.phase is Phase.RISK_DRIVEN_CARE


# --- advance.safety-agreements -------------------------------------------------------------------


def test_safety_agreements_pass_with_the_plan_as_evidence(engine: Engine) -> None:
    case = case_in_phase_1_ready(engine)
    finding = check("advance.safety-agreements", case, day(8))
    assert finding.result.status is RuleStatus.PASSED
    [evidence] = finding.result.evidence
    assert (evidence.kind, evidence.event_id) == (EvidenceKind.PLAN, case.events[-1].id)
    assert render(evidence.message, "en") == "safety action plan version 1 of 12 January 2026"
    assert render(evidence.message, "nl") == "veiligheidsactieplan versie 1 van 12 januari 2026"


def test_safety_agreements_fail_without_a_plan(engine: Engine) -> None:
    case, _ = conference(engine, new_case(), day(7), all_score(new_case(), 6))
    finding = check("advance.safety-agreements", case, day(8))
    assert finding.result.status is RuleStatus.FAILED
    assert en(finding.result) == ["no safety action plan"]
    assert nl(finding.result) == ["geen veiligheidsactieplan"]
    assert finding.result.evidence == ()
    assert render(finding.result.message, "en") == "No safety agreements in the plan yet"


def test_safety_agreements_fail_with_a_plan_without_agreements(engine: Engine) -> None:
    case, mdo = conference(engine, new_case(), day(7), all_score(new_case(), 6))
    case = plan(engine, case, mdo, day(7))
    case = plan(engine, case, mdo, day(8), agreements=0)
    finding = check("advance.safety-agreements", case, day(8))
    assert en(finding.result) == ["plan version 2 has no safety agreements"]
    assert nl(finding.result) == ["plan versie 2 heeft geen veiligheidsafspraken"]
    assert [e.event_id for e in finding.result.evidence] == [case.events[-1].id]


def test_safety_agreements_not_applicable(engine: Engine) -> None:
    assert check("advance.safety-agreements", case_in_phase_2(engine), day(8)).result.status is (
        RuleStatus.NOT_APPLICABLE
    )
    case, _ = conference(engine, new_case(), day(7), all_score(new_case(), 6))
    no_agreements_needed = Policy(advance_requires_agreements=False)
    finding = check("advance.safety-agreements", case, day(8), no_agreements_needed)
    assert finding.result.status is RuleStatus.NOT_APPLICABLE


# --- advance.stable-consensus --------------------------------------------------------------------


def test_stable_consensus_passes_at_7(engine: Engine) -> None:
    case, _ = conference(engine, case_in_phase_2(engine), day(100), all_score(new_case(), 7))
    finding = check("advance.stable-consensus", case, day(101))
    assert finding.result.status is RuleStatus.PASSED
    ids = score_ids(case)
    assert {(e.party_id, e.event_id, e.value) for e in finding.result.evidence} == {
        (p, ids[p], 7) for p in ("client", "practitioner", "police", "vt")
    }
    assert render(finding.result.message, "en") == "All involved score at least 7"


def test_stable_consensus_fails_at_6(engine: Engine) -> None:
    case, _ = conference(engine, case_in_phase_2(engine), day(8), all_score(new_case(), 6))
    finding = check("advance.stable-consensus", case, day(8))
    assert finding.result.status is RuleStatus.FAILED
    assert en(finding.result) == [
        "client scores 6, at least 7 is needed",
        "Hulpverlener Test scores 6, at least 7 is needed",
        "Politie Test scores 6, at least 7 is needed",
        "Veilig Thuis Test scores 6, at least 7 is needed",
    ]
    assert nl(finding.result)[0] == "cliënt scoort 6, nodig is minstens 7"
    assert [e.value for e in finding.result.evidence] == [6, 6, 6, 6]


def test_stable_consensus_score_before_an_incident_does_not_count(engine: Engine) -> None:
    case, _ = conference(engine, case_in_phase_2(engine), day(100), all_score(new_case(), 8))
    case = record_incident(engine, case, day(110), acute=False, event_id="inc")
    finding = check("advance.stable-consensus", case, day(111))
    assert finding.result.status is RuleStatus.FAILED
    assert en(finding.result)[0] == "client has not scored since the incident of 25 April 2026"


def test_stable_consensus_not_applicable_outside_phase_2(engine: Engine) -> None:
    assert check("advance.stable-consensus", case_in_phase_1_ready(engine), day(8)).result.status is (
        RuleStatus.NOT_APPLICABLE
    )
    assert check("advance.stable-consensus", case_in_phase_3(engine), day(201)).result.status is (
        RuleStatus.NOT_APPLICABLE
    )


# --- advance.stability-window --------------------------------------------------------------------


def test_stability_window_passes_without_incidents(engine: Engine) -> None:
    finding = check("advance.stability-window", case_in_phase_2(engine), day(100))
    assert finding.result.status is RuleStatus.PASSED
    assert finding.result.evidence == ()
    assert render(finding.result.message, "en") == "No unsafe incident in the last 90 days"
    assert render(finding.result.message, "nl") == "Geen onveilig incident in de laatste 90 dagen"


def test_stability_window_fails_with_an_incident_in_the_window(engine: Engine) -> None:
    case = record_incident(engine, case_in_phase_2(engine), day(150), acute=False, event_id="inc")
    finding = check("advance.stability-window", case, day(200))
    assert finding.result.status is RuleStatus.FAILED
    assert en(finding.result) == ["last incident on 4 June 2026; stable from 2 September 2026"]
    assert nl(finding.result) == ["laatste incident op 4 juni 2026; stabiel vanaf 2 september 2026"]
    assert [(e.kind, e.event_id) for e in finding.result.evidence] == [(EvidenceKind.INCIDENT, "inc")]
    assert render(finding.result.message, "en") == "Unsafe incident in the last 90 days"


def test_stability_window_names_the_latest_incident(engine: Engine) -> None:
    case = record_incident(engine, case_in_phase_2(engine), day(160), acute=False, event_id="inc-2")
    case = record_incident(engine, case, day(150), acute=True, event_id="inc-1")
    finding = check("advance.stability-window", case, day(200))
    assert {e.event_id for e in finding.result.evidence} == {"inc-1", "inc-2"}
    assert en(finding.result) == ["last incident on 14 June 2026; stable from 12 September 2026"]


def test_stability_window_boundary_is_exactly_90_days(engine: Engine) -> None:
    case = record_incident(engine, case_in_phase_2(engine), day(110), acute=False, event_id="inc")
    exactly_90_days = day(110) + timedelta(days=90)
    # "stable from" names the first moment the window is clear: an incident exactly 90 days old
    # no longer blocks; one second earlier it still does
    finding = check("advance.stability-window", case, exactly_90_days - SECOND)
    assert finding.result.status is RuleStatus.FAILED
    assert en(finding.result) == ["last incident on 25 April 2026; stable from 24 July 2026"]
    assert check("advance.stability-window", case, exactly_90_days).result.status is RuleStatus.PASSED
    assert check("advance.stability-window", case, exactly_90_days + SECOND).result.status is (
        RuleStatus.PASSED
    )


def test_stability_window_counts_incidents_from_before_phase_2(engine: Engine) -> None:
    case = record_incident(engine, new_case(), day(3), acute=False, event_id="inc")
    case, mdo = conference(engine, case, day(7), all_score(case, 6))
    case = engine.advance(plan(engine, case, mdo, day(7)), at=day(7))
    finding = check("advance.stability-window", case, day(50))
    assert [e.event_id for e in finding.result.evidence] == ["inc"]
    assert check("advance.stability-window", case, day(94)).result.status is RuleStatus.PASSED


def test_stability_window_length_follows_the_policy(engine: Engine) -> None:
    case = record_incident(engine, case_in_phase_2(engine), day(150), acute=False, event_id="inc")
    short = Policy(stability_window=timedelta(days=30))
    finding = check("advance.stability-window", case, day(200), short)
    assert finding.result.status is RuleStatus.PASSED
    assert render(finding.result.message, "en") == "No unsafe incident in the last 30 days"


def test_stability_window_not_applicable_outside_phase_2(engine: Engine) -> None:
    case = record_incident(engine, case_in_phase_1_ready(engine), day(8), acute=False, event_id="inc")
    assert check("advance.stability-window", case, day(9)).result.status is RuleStatus.NOT_APPLICABLE
    case = record_incident(engine, case_in_phase_3(engine), day(201), acute=False, event_id="inc")
    assert check("advance.stability-window", case, day(202)).result.status is RuleStatus.NOT_APPLICABLE


# --- plan.top-3 ----------------------------------------------------------------------------------


def goals(*ranks: int | None, extra: tuple[WorkGoal, ...] = ()) -> tuple[WorkGoal, ...]:
    return tuple(WorkGoal(id=f"wg-{i}", text=f"Werkdoel {i}", rank=r) for i, r in enumerate(ranks)) + extra


def test_top_3_not_applicable_without_plan(engine: Engine) -> None:
    finding = check("plan.top-3", new_case(), day(1))
    assert finding.result.status is RuleStatus.NOT_APPLICABLE
    assert render(finding.result.message, "en") == "No plan yet"
    assert render(finding.result.message, "nl") == "Nog geen plan"


def test_top_3_passes_with_three_ranked_active_goals(engine: Engine) -> None:
    done = (
        WorkGoal(id="wg-done", text="Klaar", rank=1, status=GoalStatus.ACHIEVED),
        WorkGoal(id="wg-hold", text="Later", status=GoalStatus.ON_HOLD),
    )
    case = with_plan(engine, new_case(), goals(3, 1, 2, extra=done))
    finding = check("plan.top-3", case, day(8))
    assert finding.result.status is RuleStatus.PASSED
    assert finding.result.missing == ()
    assert [(e.kind, e.event_id) for e in finding.result.evidence] == [(EvidenceKind.PLAN, "plan-goals")]
    assert render(finding.result.message, "en") == "At most 3 active work goals, ranked"


def test_top_3_passes_with_no_goals(engine: Engine) -> None:
    case = with_plan(engine, new_case(), ())
    assert check("plan.top-3", case, day(8)).result.status is RuleStatus.PASSED


def test_top_3_fails_with_four_active_goals(engine: Engine) -> None:
    case = with_plan(engine, new_case(), goals(1, 2, 3, 4))
    finding = check("plan.top-3", case, day(8))
    assert finding.result.status is RuleStatus.FAILED
    assert en(finding.result) == ["4 active work goals, at most 3"]
    assert nl(finding.result) == ["4 actieve werkdoelen, hooguit 3"]
    assert [e.event_id for e in finding.result.evidence] == ["plan-goals"]
    assert render(finding.result.message, "en") == "The top 3 of work goals is not in order"


def test_top_3_fails_with_duplicate_ranks(engine: Engine) -> None:
    case = with_plan(engine, new_case(), goals(1, 1, 2))
    finding = check("plan.top-3", case, day(8))
    assert en(finding.result) == ["active work goals have ranks 1, 1, 2, expected 1..3 once each"]
    assert nl(finding.result) == [
        "actieve werkdoelen hebben rangen 1, 1, 2, verwacht 1..3 elk één keer",
    ]


def test_top_3_fails_with_a_missing_rank(engine: Engine) -> None:
    case = with_plan(engine, new_case(), goals(1, None))
    finding = check("plan.top-3", case, day(8))
    assert en(finding.result) == ["active work goals have ranks 1, -, expected 1..2 once each"]


def test_top_3_fails_with_a_gap_in_the_ranks(engine: Engine) -> None:
    case = with_plan(engine, new_case(), goals(1, 3))
    finding = check("plan.top-3", case, day(8))
    assert en(finding.result) == ["active work goals have ranks 1, 3, expected 1..2 once each"]


def test_top_3_reports_too_many_and_bad_ranks_together(engine: Engine) -> None:
    case = with_plan(engine, new_case(), goals(1, 2, 2, 4))
    finding = check("plan.top-3", case, day(8))
    assert en(finding.result) == [
        "4 active work goals, at most 3",
        "active work goals have ranks 1, 2, 2, 4, expected 1..4 once each",
    ]


def test_top_3_limit_follows_the_policy(engine: Engine) -> None:
    case = with_plan(engine, new_case(), goals(1, 2, 3))
    finding = check("plan.top-3", case, day(8), Policy(max_active_goals=2))
    assert en(finding.result) == ["3 active work goals, at most 2"]


def test_top_3_uses_the_latest_plan_version(engine: Engine) -> None:
    case = with_plan(engine, new_case(), goals(1, 2, 3, 4))
    case, mdo = conference(engine, case, day(9), conference_id="mdo-2")
    case = plan(engine, case, mdo, day(9), goals=3)
    finding = check("plan.top-3", case, day(9))
    assert finding.result.status is RuleStatus.PASSED
    assert [e.event_id for e in finding.result.evidence] == [case.events[-1].id]
    assert (
        render(finding.result.evidence[0].message, "en") == "safety action plan version 2 of 14 January 2026"
    )


# --- plan.made-in-conference ---------------------------------------------------------------------


def test_plan_in_conference_not_applicable_without_plan(engine: Engine) -> None:
    finding = check("plan.made-in-conference", new_case(), day(1))
    assert finding.result.status is RuleStatus.NOT_APPLICABLE
    assert render(finding.result.message, "en") == "No plan yet"


def test_plan_in_conference_passes_with_the_client_present(engine: Engine) -> None:
    case = case_in_phase_1_ready(engine)
    finding = check("plan.made-in-conference", case, day(8))
    assert finding.result.status is RuleStatus.PASSED
    plan_event = case.state.plan
    assert [(e.kind, e.event_id) for e in finding.result.evidence] == [
        (EvidenceKind.PLAN, case.events[-1].id),
        (EvidenceKind.CONFERENCE, plan_event.conference_id),
    ]
    assert (
        render(finding.result.evidence[1].message, "en")
        == "case conference on 12 January 2026, client present"
    )
    assert render(finding.result.evidence[1].message, "nl") == "MDO op 12 januari 2026, cliënt aanwezig"


def _plan_with_client_absent() -> Case:
    """Built with Case.append: the engine's record() refuses this under the default policy."""
    case = new_case()
    case = case.append(
        ConferenceHeld(
            id="mdo-absent", at=day(7), participants=("practitioner", "police"), client_present=False
        )
    )
    return case.append(
        PlanRevised(
            id="plan-absent",
            at=day(7),
            conference_id="mdo-absent",
            agreements=(SafetyAgreement(id="sa", what="Afspraak", responsible="practitioner"),),
        )
    )


def test_plan_in_conference_fails_with_the_client_absent() -> None:
    case = _plan_with_client_absent()
    finding = check("plan.made-in-conference", case, day(8))
    assert finding.result.status is RuleStatus.FAILED
    assert en(finding.result) == ["the client was not at the case conference of 12 January 2026"]
    assert nl(finding.result) == ["cliënt was niet bij het MDO van 12 januari 2026"]
    assert [e.event_id for e in finding.result.evidence] == ["plan-absent", "mdo-absent"]
    assert (
        render(finding.result.evidence[1].message, "en")
        == "case conference on 12 January 2026, client absent"
    )
    assert (
        render(finding.result.message, "en") == "Plan not made in a case conference with the client present"
    )


def test_plan_in_conference_not_applicable_when_the_policy_allows_it() -> None:
    case = _plan_with_client_absent()
    finding = check("plan.made-in-conference", case, day(8), Policy(plan_requires_client_present=False))
    assert finding.result.status is RuleStatus.NOT_APPLICABLE


def test_plan_with_client_absent_blocks_the_advance() -> None:
    case = _plan_with_client_absent()
    for party_id in ("client", "practitioner", "police", "vt"):
        case = Engine(Policy(plan_requires_client_present=False)).give_score(
            case, party_id=party_id, score=6, rationale=RATIONALE, at=day(7)
        )
    assert Engine(Policy(plan_requires_client_present=False)).evaluate(case, at=day(8)).may_advance
    decision = Engine().evaluate(case, at=day(8))
    assert [r.rule_id for r in decision.blocking] == ["plan.made-in-conference"]


# --- wiring through the engine -------------------------------------------------------------------


def test_engine_reports_every_rule_once_in_order(engine: Engine) -> None:
    decision = engine.evaluate(case_in_phase_1_ready(engine), at=day(8))
    assert [r.rule_id for r in decision.results] == [r.id for r in BUILTIN_RULES]
    advisory = {"instrument.advice", "plan.risk-factors"}
    assert all(r.gate is (r.rule_id not in advisory) for r in decision.results)


def test_phase_2_cannot_be_passed_through_on_phase_1_scores(engine: Engine) -> None:
    """Even if everyone scores 9 in phase 1, the case may only advance to phase 2 [method]."""
    case = new_case()
    case, mdo = conference(engine, case, day(100), all_score(case, 9))
    case = plan(engine, case, mdo, day(100))
    case = engine.advance(case, at=day(100))
    decision = engine.evaluate(case, at=day(100))
    assert decision.phase is Phase.RISK_DRIVEN_CARE
    assert not decision.may_advance
    result = decision.result("advance.stable-consensus")
    assert "client has not scored since the start of phase 2 on 15 April 2026" in en(result)
    with pytest.raises(TransitionBlockedError):
        engine.advance(case, at=day(100))
    # A new conference in phase 2 gives the scores that count.
    case, _ = conference(engine, case, day(101), all_score(case, 9))
    assert engine.evaluate(case, at=day(101)).may_advance


# --- events at the same moment: taken in the order they were recorded [design] -------------------


@pytest.mark.parametrize(("rule_id", "acute"), [("alert.acute-incident", True), ("reassess.incident", False)])
def test_incident_recorded_before_a_conference_of_the_same_moment_is_not_since_it(
    engine: Engine, rule_id: str, acute: bool
) -> None:
    case = record_incident(engine, new_case(), day(7), acute=acute, event_id="inc")
    case, _ = conference(engine, case, day(7))  # the conference weighed the incident
    finding = check(rule_id, case, day(7))
    assert finding.result.status is RuleStatus.PASSED
    assert not finding.alerts
    assert not finding.result.missing


@pytest.mark.parametrize(("rule_id", "acute"), [("alert.acute-incident", True), ("reassess.incident", False)])
def test_incident_recorded_after_a_conference_of_the_same_moment_is_since_it(
    engine: Engine, rule_id: str, acute: bool
) -> None:
    case, _ = conference(engine, case_in_phase_2(engine), day(30))
    case = record_incident(engine, case, day(30), acute=acute, event_id="inc")
    finding = check(rule_id, case, day(30))
    assert finding.result.status is RuleStatus.FAILED
    assert [e.event_id for e in finding.result.evidence] == ["inc"]
    assert len(finding.alerts) == 1


def test_acute_incident_recorded_before_the_phase_change_of_the_same_moment_proposes_no_relapse(
    engine: Engine,
) -> None:
    # The incident, then a conference that weighed it with scores given after it, then the advance:
    # all at one moment. The incident came before the phase change, so it is no reason to go back.
    case = record_incident(engine, new_case(), day(7), acute=True, event_id="inc")
    case, mdo = conference(engine, case, day(7), all_score(case, 6))
    case = engine.advance(plan(engine, case, mdo, day(7)), at=day(7))
    assert case.state.phase is Phase.RISK_DRIVEN_CARE
    finding = check("relapse.acute-incident", case, day(7))
    assert finding.result.status is RuleStatus.PASSED
    assert not finding.proposes_relapse
    assert engine.evaluate(case, at=day(7)).relapse is None
    # One recorded after the phase change, at the same moment, does propose it.
    case = record_incident(engine, case, day(7), acute=True, event_id="inc-after")
    finding = check("relapse.acute-incident", case, day(7))
    assert finding.proposes_relapse
    assert [e.event_id for e in finding.result.evidence] == ["inc-after"]


def test_score_recorded_after_an_incident_of_the_same_moment_counts(engine: Engine) -> None:
    case = record_incident(engine, new_case(), day(7), acute=False, event_id="inc")
    case, mdo = conference(engine, case, day(7), all_score(case, 6))
    case = plan(engine, case, mdo, day(7))
    finding = check("advance.safety-consensus", case, day(7))
    assert finding.result.status is RuleStatus.PASSED
    assert not finding.result.missing


def test_score_recorded_before_an_incident_of_the_same_moment_does_not_count(engine: Engine) -> None:
    case, _ = conference(engine, new_case(), day(7), all_score(new_case(), 6))
    case = record_incident(engine, case, day(7), acute=False, event_id="inc")
    finding = check("advance.safety-consensus", case, day(7))
    assert finding.result.status is RuleStatus.FAILED
    assert en(finding.result)[0] == "client has not scored since the incident of 12 January 2026"


def test_score_recorded_after_the_phase_change_of_the_same_moment_answers_the_new_phase(
    engine: Engine,
) -> None:
    case = case_in_phase_2(engine)  # advanced on day 7, on the scores of day 7 recorded before it
    assert check("advance.stable-consensus", case, day(7)).result.status is RuleStatus.FAILED
    case, _ = conference(engine, case, day(7), all_score(case, 7), conference_id="mdo-after")
    finding = check("advance.stable-consensus", case, day(7))
    assert finding.result.status is RuleStatus.PASSED


def test_plan_recorded_before_a_relapse_of_the_same_moment_is_not_revised_after_it(engine: Engine) -> None:
    case = case_in_phase_2(engine)
    case, mdo = conference(engine, case, day(30), conference_id="mdo-30")
    case = plan(engine, case, mdo, day(30))
    case = engine.relapse(case, at=day(30), reason="professioneel oordeel")
    finding = check("advance.safety-agreements", case, day(30))
    assert finding.result.status is RuleStatus.FAILED
    assert en(finding.result) == [
        "the safety action plan has not been revised since the relapse of 4 February 2026"
    ]
    case = plan(engine, case, mdo, day(30))  # revised after the relapse, still the same moment
    assert check("advance.safety-agreements", case, day(30)).result.status is RuleStatus.PASSED


def _urgent(at: datetime, event_id: str) -> InstrumentApplied:
    return InstrumentApplied(
        id=event_id,
        at=at,
        instrument_id="test-instrument",
        instrument_version="1",
        plugin="org.test",
        answers={},
        result=InstrumentResult(urgency=Urgency.IMMEDIATE),
    )


def test_urgent_result_recorded_before_a_conference_of_the_same_moment_was_weighed(engine: Engine) -> None:
    case = engine.record(new_case(), _urgent(day(3), "urgent"))
    case, _ = conference(engine, case, day(3))
    finding = check("alert.instrument-urgent", case, day(3))
    assert finding.result.status is RuleStatus.PASSED
    assert not finding.alerts
    # a result recorded after that conference, at the same moment, was not
    case = engine.record(case, _urgent(day(3), "urgent-after"))
    finding = check("alert.instrument-urgent", case, day(3))
    assert finding.result.status is RuleStatus.FAILED
    assert [e.event_id for e in finding.result.evidence] == ["urgent-after"]


def test_case_state_orders_events_by_moment_then_recorded_place(engine: Engine) -> None:
    case = record_incident(engine, new_case(), day(7), acute=False, event_id="inc")
    case, _ = conference(engine, case, day(7), conference_id="mdo")
    case = record_incident(engine, case, day(6), acute=False, event_id="earlier")  # recorded late
    state = case.state
    incident_at_7, earlier = state.incidents
    assert state.order(incident_at_7) < state.order(state.conferences["mdo"])
    assert state.order(earlier) < state.order(incident_at_7)
    assert state.positions["opened"] == 0
    assert [state.positions[e.id] for e in case.events] == list(range(len(case.events)))
    assert set(state.event_ids) == {e.id for e in case.events}
