"""The fold: a case is its history; every event is checked against the state it joins."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs
import pytest

from factories import (
    CLIENT,
    NETWORK,
    POLICE,
    T0,
    all_score,
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
    CareSetting,
    CareSettingChanged,
    CareSettingKind,
    Case,
    CaseClosed,
    ConferenceHeld,
    Engine,
    Event,
    IncidentReported,
    IncidentSeverity,
    InvalidEventError,
    Location,
    PartnerType,
    Party,
    PartyJoined,
    PartyLeft,
    PartyRole,
    Phase,
    PhaseChanged,
    PlanRevised,
    RiskFactor,
    SafetyAgreement,
    ScoreGiven,
    TransitionKind,
    ValidationError,
    WorkGoal,
)
from ketenzorg.case import apply, fold

SECRET_ADDRESS = "Verborgenstraat 99, 9999 ZZ Nergensdorp"


def paths(error: InvalidEventError) -> list[str]:
    return [p.path for p in error.problems]


def fold_error(events: list[Event]) -> InvalidEventError:
    with pytest.raises(InvalidEventError) as caught:
        fold("case-test", events)
    return caught.value


def conf(
    event_id: str = "mdo-1", at_day: float = 7, *, participants: tuple[str, ...] = ("client", "practitioner")
) -> ConferenceHeld:
    return ConferenceHeld(id=event_id, at=day(at_day), participants=participants, client_present=True)


def score(
    party_id: str,
    value: int,
    at_day: float,
    *,
    role: PartyRole | None = None,
    event_id: str | None = None,
    conference_id: str | None = None,
) -> ScoreGiven:
    roles = {"client": PartyRole.CLIENT, "practitioner": PartyRole.PRACTITIONER, "network": PartyRole.NETWORK}
    kwargs = {"id": event_id} if event_id else {}
    return ScoreGiven(
        **kwargs,
        at=day(at_day),
        party_id=party_id,
        role=role or roles.get(party_id, PartyRole.CHAIN_PARTNER),
        score=value,
        rationale="onderbouwing (synthetisch)",
        conference_id=conference_id,
    )


def advance(from_phase: int, to_phase: int, at_day: float) -> PhaseChanged:
    return PhaseChanged(
        at=day(at_day), from_phase=Phase(from_phase), to_phase=Phase(to_phase), kind=TransitionKind.ADVANCE
    )


def relapse(from_phase: int, at_day: float, to_phase: int = 1) -> PhaseChanged:
    return PhaseChanged(
        at=day(at_day),
        from_phase=Phase(from_phase),
        to_phase=Phase(to_phase),
        kind=TransitionKind.RELAPSE,
        reason="professioneel oordeel",
    )


def incident_event(at: datetime, *, by: str | None = None) -> IncidentReported:
    return IncidentReported(at=at, severity=IncidentSeverity.MINOR, acute=False, reported_by=by)


# --- the start -----------------------------------------------------------------------------------


def test_first_event_must_be_case_opened() -> None:
    error = fold_error([conf()])
    assert paths(error) == ["events[0].type"]
    assert "case_opened" in str(error)
    with pytest.raises(InvalidEventError) as caught:
        Case("case-test", [score("client", 6, 1)])
    assert paths(caught.value) == ["events[0].type"]


def test_a_case_needs_at_least_one_event() -> None:
    assert paths(fold_error([])) == ["events"]


def test_a_second_case_opened_is_refused() -> None:
    assert paths(fold_error([opened(), opened(at=day(1))])) == ["events[1].type"]


def test_the_opened_state() -> None:
    state = new_case().state
    assert state.phase is Phase.IMMEDIATE_SAFETY
    assert state.phase_since == T0
    assert set(state.care_team) == {"client", "practitioner", "police", "vt"}
    assert state.plan is None
    assert state.last_conference is None
    assert not state.is_closed
    assert state.event_count == 1
    assert Case.open(opened()).case_id == "opened"


def test_opened_party_must_refer_to_a_known_person() -> None:
    stranger = attrs.evolve(CLIENT, person_id="person-unknown")
    assert paths(fold_error([opened(parties=(stranger,))])) == ["events[0].parties[0].person_id"]


def test_an_event_before_the_opening_is_refused() -> None:
    assert paths(fold_error([opened(), incident_event(T0 - timedelta(seconds=1))])) == ["events[1].at"]


# --- unknown parties, roles, conferences ---------------------------------------------------------


def test_score_by_an_unknown_party_is_refused_with_its_path() -> None:
    events = [opened(), conf(), score("client", 6, 7), score("ghost", 6, 7, role=PartyRole.CHAIN_PARTNER)]
    error = fold_error(events)
    assert paths(error) == ["events[3].party_id"]
    assert "events[3].party_id: this party is not in the care team" in str(error)


def test_score_by_a_party_that_left_is_refused() -> None:
    events = [opened(), PartyLeft(at=day(3), party_id="police"), score("police", 6, 7)]
    assert paths(fold_error(events)) == ["events[2].party_id"]


def test_score_with_a_role_that_does_not_match_the_party() -> None:
    events = [opened(), score("police", 6, 7, role=PartyRole.CLIENT)]
    error = fold_error(events)
    assert paths(error) == ["events[1].role"]
    assert "chain_partner, not client" in str(error)


def test_score_in_an_unknown_conference() -> None:
    events = [opened(), conf(), score("client", 6, 7, conference_id="mdo-other")]
    assert paths(fold_error(events)) == ["events[2].conference_id"]


def test_score_in_a_conference_its_party_did_not_attend() -> None:
    events = [opened(), conf(), score("police", 6, 7, conference_id="mdo-1")]
    error = fold_error(events)
    assert paths(error) == ["events[2].conference_id"]
    assert "took no part" in str(error)
    fold("case-test", [opened(), conf(participants=("client", "police")), events[2]])


def test_conference_with_an_unknown_participant() -> None:
    events = [opened(), conf(participants=("client", "ghost"))]
    error = fold_error(events)
    assert paths(error) == ["events[1].participants[1]"]


def test_conference_id_recorded_twice() -> None:
    events = [opened(), conf("mdo-1", 7), conf("mdo-1", 8)]
    assert paths(fold_error(events)) == ["events[2].id"]


def test_incident_reported_by_an_unknown_party() -> None:
    events = [opened(), incident_event(day(2), by="ghost")]
    assert paths(fold_error(events)) == ["events[1].reported_by"]
    # a former member may still report
    state = fold(
        "c", [opened(), PartyLeft(at=day(1), party_id="police"), incident_event(day(2), by="police")]
    )
    assert len(state.incidents) == 1


def test_plan_references_are_checked() -> None:
    base = [opened(), conf()]
    unknown_conf = PlanRevised(at=day(7), conference_id="mdo-x")
    assert paths(fold_error([*base, unknown_conf])) == ["events[2].conference_id"]
    unknown_responsible = PlanRevised(
        at=day(7),
        conference_id="mdo-1",
        agreements=(SafetyAgreement(what="Afspraak", responsible="ghost"),),
    )
    assert paths(fold_error([*base, unknown_responsible])) == ["events[2].agreements[0].responsible"]
    unknown_risk = PlanRevised(
        at=day(7),
        conference_id="mdo-1",
        risk_factors=(RiskFactor(id="rf-1", text="Stress"),),
        work_goals=(WorkGoal(text="Doel", rank=1, risk_factor_id="rf-2"),),
    )
    assert paths(fold_error([*base, unknown_risk])) == ["events[2].work_goals[0].risk_factor_id"]
    good = PlanRevised(
        at=day(7),
        conference_id="mdo-1",
        agreements=(SafetyAgreement(what="Afspraak", responsible="person-puv"),),
        risk_factors=(RiskFactor(id="rf-1", text="Stress"),),
        work_goals=(WorkGoal(text="Doel", rank=1, risk_factor_id="rf-1"),),
    )
    state = fold("c", [*base, good, attrs.evolve(good, id="plan-2")])
    assert state.plan_version == 2
    assert state.plan.id == "plan-2"


# --- the care team -------------------------------------------------------------------------------


def test_duplicate_party_join_is_refused() -> None:
    error = fold_error([opened(), PartyJoined(at=day(1), party=POLICE)])
    assert paths(error) == ["events[1].party.id"]
    assert "already in the care team" in str(error)


def test_rejoining_with_another_party_under_a_known_id_is_refused() -> None:
    impostor = Party(id="police", role=PartyRole.CHAIN_PARTNER, name="Ander", partner_type=PartnerType.GGZ)
    events = [opened(), PartyLeft(at=day(1), party_id="police"), PartyJoined(at=day(2), party=impostor)]
    assert paths(fold_error(events)) == ["events[2].party.id"]
    rejoined = fold("c", [*events[:2], PartyJoined(at=day(2), party=POLICE)])
    assert "police" in rejoined.care_team


def test_join_and_leave() -> None:
    state = fold(
        "c",
        [
            opened(),
            PartyJoined(at=day(1), party=NETWORK),
            PartyLeft(at=day(2), party_id="police", reason="klaar"),
        ],
    )
    assert set(state.care_team) == {"client", "practitioner", "vt", "network"}
    assert set(state.known_parties) == {"client", "practitioner", "vt", "network", "police"}
    assert state.party_name("police") == "Politie Test"


def test_leaving_party_must_be_in_the_care_team() -> None:
    events = [opened(), PartyLeft(at=day(1), party_id="police"), PartyLeft(at=day(2), party_id="police")]
    assert paths(fold_error(events)) == ["events[2].party_id"]


# --- scores --------------------------------------------------------------------------------------


def test_a_late_arriving_older_score_does_not_replace_a_newer_one() -> None:
    newer = score("police", 7, 10, event_id="s-new")
    older = score("police", 2, 5, event_id="s-old-late")
    state = fold("c", [opened(), newer, older])
    assert state.latest_scores["police"] is newer
    assert state.event_count == 3
    case = Case("c", [opened(), newer]).append(older)
    assert older in case.events
    assert case.state.latest_scores["police"] is newer


def test_the_later_recorded_score_wins_a_tie() -> None:
    first = score("police", 7, 10, event_id="s-1")
    second = score("police", 5, 10, event_id="s-2")
    assert fold("c", [opened(), first, second]).latest_scores["police"] is second


def test_a_newer_score_replaces_the_older_one() -> None:
    state = fold("c", [opened(), score("client", 4, 5), score("client", 8, 6, event_id="s-8")])
    assert state.latest_scores["client"].id == "s-8"


def test_last_conference_is_the_latest_by_time() -> None:
    state = fold("c", [opened(), conf("mdo-b", 10), conf("mdo-a", 8)])
    assert state.last_conference.id == "mdo-b"
    assert set(state.conferences) == {"mdo-a", "mdo-b"}


# --- phases and closing --------------------------------------------------------------------------


def test_skipping_a_phase_is_refused() -> None:
    error = fold_error([opened(), advance(1, 3, 10)])
    assert paths(error) == ["events[1].to_phase"]
    assert "phases run in order" in str(error)


def test_going_back_by_advance_is_refused() -> None:
    assert paths(fold_error([opened(), advance(1, 2, 10), advance(2, 1, 11)])) == ["events[2].to_phase"]


def test_advancing_beyond_phase_3_is_refused() -> None:
    events = [opened(), advance(1, 2, 10), advance(2, 3, 11), advance(3, 3, 12)]
    assert paths(fold_error(events)) == ["events[3].to_phase"]


def test_phase_change_from_the_wrong_phase_is_refused() -> None:
    assert paths(fold_error([opened(), advance(2, 3, 10)])) == ["events[1].from_phase"]


def test_relapse_from_phase_1_is_refused() -> None:
    error = fold_error([opened(), relapse(1, 10)])
    assert paths(error) == ["events[1].to_phase"]
    assert "from phase 2 or 3 back to phase 1" in str(error)


def test_relapse_goes_back_to_phase_1_only() -> None:
    events = [opened(), advance(1, 2, 10), advance(2, 3, 11), relapse(3, 12, to_phase=2)]
    assert paths(fold_error(events)) == ["events[3].to_phase"]
    state = fold("c", [*events[:3], relapse(3, 12)])
    assert state.phase is Phase.IMMEDIATE_SAFETY
    assert state.phase_since == day(12)
    assert [c.kind for c in state.phase_changes] == [
        TransitionKind.ADVANCE,
        TransitionKind.ADVANCE,
        TransitionKind.RELAPSE,
    ]


@pytest.mark.parametrize("phase", [1, 2])
def test_closing_before_phase_3_is_refused(phase: int) -> None:
    events: list[Event] = [opened()]
    if phase == 2:
        events.append(advance(1, 2, 10))
    events.append(CaseClosed(at=day(20), handover_to=("police",)))
    assert paths(fold_error(events)) == [f"events[{len(events) - 1}].type"]


def test_handover_is_checked() -> None:
    base: list[Event] = [opened(), advance(1, 2, 10), advance(2, 3, 11)]
    assert paths(fold_error([*base, CaseClosed(at=day(20), handover_to=())])) == ["events[3].handover_to"]
    unknown = CaseClosed(at=day(20), handover_to=("police", "ghost"))
    error = fold_error([*base, unknown])
    assert paths(error) == ["events[3].handover_to[1]"]
    assert "handover_to[1]: not a party of this case" in str(error)
    assert "ghost" not in str(error)
    to_client = CaseClosed(at=day(20), handover_to=("client",))
    assert paths(fold_error([*base, to_client])) == ["events[3].handover_to[0]"]


@pytest.mark.parametrize(
    "late_event",
    [
        score("police", 8, 30),
        incident_event(day(30)),
        PartyJoined(at=day(30), party=NETWORK),
        CaseClosed(at=day(30), handover_to=("police",)),
        relapse(3, 30),
    ],
)
def test_events_after_closing_are_refused(late_event: Event) -> None:
    events: list[Event] = [
        opened(),
        advance(1, 2, 10),
        advance(2, 3, 11),
        CaseClosed(at=day(20), handover_to=("vt",)),
    ]
    state = fold("c", events)
    assert state.is_closed
    error = fold_error([*events, late_event])
    assert paths(error) == ["events[4].type"]
    assert "closed" in str(error)


# --- secret locations ----------------------------------------------------------------------------


def test_secret_location_with_an_address_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as caught:
        Location(name="Opvang Geheim", secret=True, address=SECRET_ADDRESS)
    error = caught.value
    assert [p.path for p in error.problems] == ["address"]
    for text in (str(error), repr(error), *(str(p) for p in error.problems), *map(str, error.args)):
        assert SECRET_ADDRESS not in text
        assert "Verborgenstraat" not in text


def test_making_an_addressed_location_secret_is_refused_without_echoing_it() -> None:
    open_location = Location(name="Oranje Huis Test", address=SECRET_ADDRESS)
    assert SECRET_ADDRESS not in repr(open_location)
    with pytest.raises(ValidationError) as caught:
        attrs.evolve(open_location, secret=True)
    assert SECRET_ADDRESS not in str(caught.value)
    assert SECRET_ADDRESS not in repr(caught.value)


def test_secret_location_without_address_is_accepted() -> None:
    location = Location(id="loc-1", name="Opvang Geheim", secret=True)
    setting = CareSetting(kind=CareSettingKind.SHELTER, location=location)
    state = fold("c", [opened(), CareSettingChanged(at=day(1), care_setting=setting)])
    assert state.care_setting.location.id == "loc-1"
    assert state.care_setting.location.address is None


def test_shelter_stay_needs_a_location() -> None:
    with pytest.raises(ValidationError) as caught:
        CareSetting(kind=CareSettingKind.SHELTER)
    assert [p.path for p in caught.value.problems] == ["location"]


# --- incremental append equals the full fold -----------------------------------------------------


def _rich_case(engine: Engine) -> Case:
    case = case_in_phase_2(engine)
    case = engine.record(case, PartyJoined(at=day(8), party=NETWORK))
    case = engine.give_score(case, party_id="network", score=5, rationale="synthetisch", at=day(9))
    case = incident(engine, case, day(10), acute=False)
    case = engine.record(case, score("police", 3, 6))  # late and older: kept, not counting
    case = engine.record(case, PartyLeft(at=day(11), party_id="vt"))
    case, mdo = conference(engine, case, day(12), all_score(case, 7))
    case = plan(engine, case, mdo, day(12), goals=3)
    return engine.relapse(case, at=day(13), reason="professioneel oordeel")


def test_append_gives_the_same_state_as_folding_the_full_history(engine: Engine) -> None:
    case = _rich_case(engine)
    assert case.state == fold(case.case_id, case.events)
    assert case.state == Case(case.case_id, case.events).state
    assert case.state.phase is Phase.IMMEDIATE_SAFETY
    assert case.state.event_count == len(case.events)
    # every prefix too, appended one event at a time
    incremental = Case(case.case_id, case.events[:1])
    for index, event in enumerate(case.events[1:], start=2):
        incremental = incremental.append(event)
        assert incremental.state == fold(case.case_id, case.events[:index])
    assert incremental == case


def test_a_refused_append_leaves_the_case_unchanged(engine: Engine) -> None:
    case = case_in_phase_3(engine)
    before = (case.events, case.state)
    with pytest.raises(InvalidEventError):
        case.append(advance(3, 3, 300))
    with pytest.raises(InvalidEventError):
        apply(case.state, PartyLeft(at=day(300), party_id="ghost"))
    assert (case.events, case.state) == before


def test_state_mappings_are_read_only() -> None:
    state = new_case().state
    with pytest.raises(TypeError):
        state.care_team["ghost"] = POLICE  # type: ignore[index]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        state.phase = Phase.RECOVERY_CARE  # type: ignore[misc]
