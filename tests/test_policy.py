"""An organisation's policy: defaults from domain.md, validation naming each field, plain-data round trip."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs
import orjson
import pytest

from factories import NETWORK, case_in_phase_1_ready, day
from ketenzorg import Engine, PartyJoined, PartyRole, Policy, PolicyError, RuleStatus, ValidationError


def problem_paths(error: PolicyError) -> list[str]:
    return [p.path for p in error.problems]


def test_defaults_match_the_domain() -> None:
    policy = Policy()
    assert policy.advance_threshold == 6
    assert policy.stable_threshold == 7
    assert policy.acute_ceiling == 2
    assert policy.relapse_threshold is None
    assert policy.relapse_below == 6
    assert policy.max_score_age == timedelta(days=60)
    assert policy.stability_window == timedelta(days=90)
    assert policy.max_active_goals == 3
    assert policy.required_roles == frozenset(
        {PartyRole.CLIENT, PartyRole.PRACTITIONER, PartyRole.CHAIN_PARTNER}
    )
    assert PartyRole.NETWORK not in policy.required_roles
    assert policy.plan_requires_client_present is True
    assert policy.advance_requires_agreements is True


def test_engine_uses_the_default_policy() -> None:
    assert Engine().policy == Policy()


def test_policy_is_frozen() -> None:
    policy = Policy()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        policy.advance_threshold = 5  # type: ignore[misc]
    assert policy.advance_threshold == 6


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"stable_threshold": 5}, "stable_threshold"),
        ({"advance_threshold": 8}, "stable_threshold"),
        ({"advance_threshold": 11}, "advance_threshold"),
        ({"stable_threshold": -1}, "stable_threshold"),
        ({"acute_ceiling": -1}, "acute_ceiling"),
        ({"relapse_threshold": 11}, "relapse_threshold"),
        ({"advance_threshold": True}, "advance_threshold"),
        ({"stable_threshold": False}, "stable_threshold"),
        ({"relapse_threshold": 6.0}, "relapse_threshold"),
        ({"acute_ceiling": "2"}, "acute_ceiling"),
        ({"acute_ceiling": 6}, "acute_ceiling"),
        ({"relapse_threshold": 8}, "relapse_threshold"),
        ({"max_active_goals": 4}, "max_active_goals"),
        ({"max_active_goals": 0}, "max_active_goals"),
        ({"max_active_goals": True}, "max_active_goals"),
        ({"max_score_age": timedelta(0)}, "max_score_age"),
        ({"max_score_age": timedelta(days=-1)}, "max_score_age"),
        ({"max_score_age": 60}, "max_score_age"),
        ({"stability_window": timedelta(0)}, "stability_window"),
        ({"stability_window": timedelta(days=-90)}, "stability_window"),
        ({"required_roles": frozenset({PartyRole.CLIENT, PartyRole.CHAIN_PARTNER})}, "required_roles"),
        ({"required_roles": frozenset()}, "required_roles"),
        ({"required_roles": frozenset({"practitioner"})}, "required_roles"),
        ({"plan_requires_client_present": "yes"}, "plan_requires_client_present"),
        ({"advance_requires_agreements": 1}, "advance_requires_agreements"),
    ],
)
def test_invalid_policy_is_refused_naming_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(PolicyError) as caught:
        Policy(**changes)
    assert field in problem_paths(caught.value)
    assert field in str(caught.value)
    assert isinstance(caught.value, ValidationError)
    assert isinstance(caught.value, ValueError)


def test_stable_below_advance_names_the_values() -> None:
    with pytest.raises(PolicyError) as caught:
        Policy(stable_threshold=5)
    [stable] = [p for p in caught.value.problems if p.path == "stable_threshold"]
    assert stable.message == "5 is below advance_threshold 6"


def test_removing_the_practitioner_is_refused_with_a_reason() -> None:
    with pytest.raises(PolicyError) as caught:
        Policy(required_roles=frozenset({PartyRole.CLIENT, PartyRole.CHAIN_PARTNER}))
    assert [str(p) for p in caught.value.problems] == [
        "required_roles: the organisation's own practitioner must always score"
    ]


def test_evolving_into_an_invalid_policy_is_refused() -> None:
    with pytest.raises(PolicyError, match="max_active_goals"):
        attrs.evolve(Policy(), max_active_goals=4)


def test_valid_variations_are_accepted() -> None:
    policy = Policy(
        advance_threshold=5,
        stable_threshold=8,
        acute_ceiling=3,
        relapse_threshold=5,
        max_score_age=timedelta(days=45),
        stability_window=timedelta(days=120),
        max_active_goals=1,
        required_roles=frozenset({PartyRole.PRACTITIONER}),
        plan_requires_client_present=False,
        advance_requires_agreements=False,
    )
    assert policy.max_score_age == timedelta(days=45)
    assert Policy(stable_threshold=6).stable_threshold == Policy().advance_threshold


def test_every_invalid_field_is_named_at_once() -> None:
    with pytest.raises(PolicyError) as caught:
        Policy(advance_threshold=11, max_active_goals=0, max_score_age=timedelta(0))
    assert set(problem_paths(caught.value)) == {"advance_threshold", "max_active_goals", "max_score_age"}


# --- plain data ----------------------------------------------------------------------------------


def test_from_mapping_with_days_keys() -> None:
    policy = Policy.from_mapping(
        {
            "max_score_age_days": 45,
            "stability_window_days": 120,
            "advance_threshold": 5,
            "required_roles": ["client", "practitioner", "chain_partner", "network"],
        }
    )
    assert policy.max_score_age == timedelta(days=45)
    assert policy.stability_window == timedelta(days=120)
    assert policy.advance_threshold == 5
    assert policy.stable_threshold == 7
    assert policy.required_roles == frozenset(PartyRole)


def test_from_mapping_keeps_the_base() -> None:
    base = Policy(max_active_goals=2)
    policy = Policy.from_mapping({"stability_window_days": 30}, base=base)
    assert policy.max_active_goals == 2
    assert policy.stability_window == timedelta(days=30)
    assert Policy.from_mapping({}) == Policy()


@pytest.mark.parametrize(
    ("data", "paths"),
    [
        ({"unknown_setting": 1}, ["unknown_setting"]),
        ({"max_score_age": 60}, ["max_score_age"]),
        ({"foo": 1, "bar_days": 2}, ["foo", "bar_days"]),
        ({"max_score_age_days": "60"}, ["max_score_age_days"]),
        ({"max_score_age_days": True}, ["max_score_age_days"]),
        ({"stability_window_days": 90.5}, ["stability_window_days"]),
        ({"required_roles": ["client", "boss"]}, ["required_roles"]),
        ({"required_roles": None}, ["required_roles"]),
    ],
)
def test_from_mapping_refuses_unknown_keys_and_wrong_types(data: dict[str, Any], paths: list[str]) -> None:
    with pytest.raises(PolicyError) as caught:
        Policy.from_mapping(data)
    assert problem_paths(caught.value) == paths


def test_from_mapping_refuses_invalid_values() -> None:
    with pytest.raises(PolicyError) as caught:
        Policy.from_mapping({"max_score_age_days": 0})
    assert problem_paths(caught.value) == ["max_score_age_days"]
    with pytest.raises(PolicyError) as caught:
        Policy.from_mapping({"stability_window_days": 999_999_999})
    assert problem_paths(caught.value) == ["stability_window_days"]
    with pytest.raises(PolicyError) as caught:
        Policy.from_mapping({"required_roles": ["client", "chain_partner"]})
    assert problem_paths(caught.value) == ["required_roles"]


def test_from_mapping_refuses_a_non_mapping() -> None:
    with pytest.raises(PolicyError):
        Policy.from_mapping([("advance_threshold", 6)])  # type: ignore[arg-type]


def test_to_mapping_is_plain_data() -> None:
    data = Policy().to_mapping()
    assert data == {
        "advance_threshold": 6,
        "stable_threshold": 7,
        "acute_ceiling": 2,
        "relapse_threshold": None,
        "required_roles": ["chain_partner", "client", "practitioner"],
        "max_score_age_days": 60,
        "stability_window_days": 90,
        "max_active_goals": 3,
        "plan_requires_client_present": True,
        "advance_requires_agreements": True,
        "max_clock_skew_minutes": 5,
    }
    assert orjson.loads(orjson.dumps(data)) == data


@pytest.mark.parametrize(
    "policy",
    [
        Policy(),
        Policy(
            advance_threshold=5,
            stable_threshold=8,
            max_score_age=timedelta(days=30),
            stability_window=timedelta(days=180),
            required_roles=frozenset(PartyRole),
            max_active_goals=2,
            plan_requires_client_present=False,
        ),
    ],
)
def test_round_trip_through_plain_data(policy: Policy) -> None:
    data = orjson.loads(orjson.dumps(policy.to_mapping()))
    assert Policy.from_mapping(data) == policy


# --- the policy drives the rules -----------------------------------------------------------------


def test_an_organisation_can_require_the_network() -> None:
    policy = Policy.from_mapping({"required_roles": ["client", "practitioner", "chain_partner", "network"]})
    default, organisation = Engine(), Engine(policy)
    case = case_in_phase_1_ready(default)
    case = default.record(case, PartyJoined(at=day(7), party=NETWORK))
    assert default.evaluate(case, at=day(8)).may_advance
    decision = organisation.evaluate(case, at=day(8))
    result = decision.result("advance.safety-consensus")
    assert result.status is RuleStatus.FAILED
    assert [m.render("en") for m in result.missing] == ["Netwerk Test has not scored yet"]
    case = organisation.give_score(case, party_id="network", score=6, rationale="synthetisch", at=day(8))
    assert organisation.evaluate(case, at=day(8)).may_advance
