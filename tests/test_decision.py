"""The structure of a decision: the parties a rule names, by id and role, in the objects and in to_dict."""

from __future__ import annotations

import orjson
import pytest

from factories import CLIENT, POLICE, PRACTITIONER, all_score, case_in_phase_2, conference, day, opened, plan
from ketenzorg import Case, Engine, Message, Party, PartyRef, PartyRole, RuleStatus
from ketenzorg.messages import render

RATIONALE = "onderbouwing (synthetisch)"
SECOND_CLIENT = Party(id="client-2", role=PartyRole.CLIENT, name="Cliënt Z")


def _two_clients(engine: Engine) -> Case:
    """A phase-1 case with two clients; only the first scored, the police scored 5."""
    case = Case.open(opened(parties=(CLIENT, SECOND_CLIENT, PRACTITIONER, POLICE)), case_id="case-two")
    case, mdo = conference(engine, case, day(7), {"client": 6, "practitioner": 7, "police": 5})
    return plan(engine, case, mdo, day(7))


def test_a_failed_gate_names_its_parties_by_id_role_and_reason(engine: Engine) -> None:
    decision = engine.evaluate(_two_clients(engine), at=day(7))
    result = decision.result("advance.safety-consensus")
    assert result.status is RuleStatus.FAILED
    assert result.parties == (
        PartyRef("client-2", PartyRole.CLIENT, "no_score"),
        PartyRef("police", PartyRole.CHAIN_PARTNER, "below"),
    )
    # The texts name both clients by role only, so only the ids tell them apart.
    assert [render(m) for m in result.missing] == [
        "client has not scored yet",
        "Politie Test scores 5, at least 6 is needed",
    ]
    assert decision.blocking_parties == result.parties


def test_to_dict_carries_the_parties(engine: Engine) -> None:
    data = orjson.loads(orjson.dumps(engine.evaluate(_two_clients(engine), at=day(7)).to_dict("nl")))
    consensus = next(r for r in data["results"] if r["rule_id"] == "advance.safety-consensus")
    assert consensus["parties"] == [
        {"party_id": "client-2", "role": "client", "reason": "no_score"},
        {"party_id": "police", "role": "chain_partner", "reason": "below"},
    ]
    assert data["blocking_parties"] == consensus["parties"]
    passed = next(r for r in data["results"] if r["rule_id"] == "plan.top-3")
    assert passed["parties"] == []


def test_every_reason_why_a_score_does_not_count_has_a_code(engine: Engine) -> None:
    case = Case.open(opened(parties=(CLIENT, SECOND_CLIENT, PRACTITIONER, POLICE)), case_id="case-codes")
    case = engine.give_score(case, party_id="client", score=7, rationale="", at=day(1))
    case = engine.give_score(case, party_id="practitioner", score=7, rationale=RATIONALE, at=day(1))
    case = engine.give_score(case, party_id="police", score=7, rationale=RATIONALE, at=day(70))
    decision = engine.evaluate(case, at=day(70))
    refs = decision.result("advance.safety-consensus").parties
    assert [(r.party_id, r.reason) for r in refs] == [
        ("client", "no_rationale"),
        ("client-2", "no_score"),
        ("practitioner", "stale"),
    ]


def test_a_score_given_before_the_phase_began_is_named_as_such(engine: Engine) -> None:
    decision = engine.evaluate(case_in_phase_2(engine), at=day(8))
    refs = decision.result("advance.stable-consensus").parties
    assert {r.reason for r in refs} == {"scored_before"}
    assert {r.party_id for r in refs} == {"client", "practitioner", "police", "vt"}


def test_relapse_and_acute_score_name_the_parties_that_raise_them(engine: Engine) -> None:
    case = case_in_phase_2(engine)
    case, _ = conference(engine, case, day(20), {**all_score(case, 7), "police": 2})
    decision = engine.evaluate(case, at=day(20))
    assert decision.result("relapse.score").parties == (PartyRef("police", PartyRole.CHAIN_PARTNER, "below"),)
    assert decision.result("alert.acute-score").parties == (
        PartyRef("police", PartyRole.CHAIN_PARTNER, "acute_score"),
    )
    assert decision.relapse is not None


def test_message_and_party_ref_are_exported() -> None:
    import ketenzorg

    assert ketenzorg.Message is Message
    assert Message("label.client").render("nl") == "cliënt"
    assert "Message" in ketenzorg.__all__
    assert "PartyRef" in ketenzorg.__all__


def test_party_ref_is_checked() -> None:
    with pytest.raises(TypeError):
        PartyRef("police", "chain_partner")  # type: ignore[arg-type]
    from ketenzorg import RuleResult

    with pytest.raises(TypeError):
        RuleResult("x", RuleStatus.FAILED, Message("rule.not_applicable"), parties=("police",))  # type: ignore[arg-type]
