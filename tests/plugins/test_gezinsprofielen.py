"""The reference Gezinsprofielen: five family profiles, degree of fit as the weighted share of
indicators, the best-matching profiles with their care-and-protection emphasis. Synthetic answers."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ketenzorg import RiskFactor
from ketenzorg.domain import Text
from ketenzorg.instruments import (
    AnswerType,
    Classification,
    Instrument,
    InstrumentResult,
    load_data,
    validate_answers,
)
from ketenzorg.plugins.gezinsprofielen import Gezinsprofielen

DATA = load_data("ketenzorg.plugins", "data/gezinsprofielen.json")
PROFILES = {p["code"]: p for p in DATA["profiles"]}
ITEMS = [raw["id"] for raw in DATA["items"]]

TERREUR = "intieme_terreur"
STRESS = "gezin_in_de_stress"
KIND = "kindgedrag_opvoedstress"
LANGDURIG = "langdurige_zorg"
SCHEIDING = "complexe_scheiding"
NO_JOINT_SESSIONS = Text(
    "Geen gezamenlijke gesprekken met de partner zonder voorafgaande veiligheidscheck.",
    "No joint sessions with the partner without a safety check first.",
)


@pytest.fixture(scope="module")
def gp() -> Gezinsprofielen:
    return Gezinsprofielen()


def answers(*present: str) -> dict[str, Any]:
    unknown = set(present) - set(ITEMS)
    assert not unknown, unknown
    return {item: item in present for item in ITEMS}


def assess(gp: Gezinsprofielen, *present: str) -> InstrumentResult:
    return gp.assess(validate_answers(gp.spec, answers(*present)))


def codes(result: InstrumentResult) -> list[str]:
    return [c.code for c in result.classifications]


def fit_of(gp: Gezinsprofielen, code: str, *present: str) -> float:
    return {profile["code"]: fit for fit, profile in gp.fits(answers(*present))}[code]


def test_spec_loads_from_the_data_file(gp: Gezinsprofielen) -> None:
    spec = gp.spec
    assert isinstance(gp, Instrument)
    assert (spec.id, spec.version) == ("gezinsprofielen", "1.0.0")
    assert [i.id for i in spec.items] == ITEMS
    assert len(ITEMS) == 18
    assert {i.answer_type for i in spec.items} == {AnswerType.BOOLEAN}
    assert all(i.required for i in spec.items)
    assert list(PROFILES) == [TERREUR, STRESS, KIND, LANGDURIG, SCHEIDING]
    indicators = {item for p in DATA["profiles"] for item in p["indicators"]}
    assert indicators <= set(ITEMS)


def test_no_indicator_means_no_profile(gp: Gezinsprofielen) -> None:
    result = assess(gp)
    assert result.classifications == ()
    assert result.risk_factors == ()
    assert result.advice == ()
    assert (
        result.explanation[0].nl == "geen duidelijk profiel (geen enkel profiel past voor minstens de helft)"
    )
    assert [t.nl for t in result.explanation[1:]] == [f"{p['display']['nl']}: 0%" for p in DATA["profiles"]]
    assert (result.safety_code, result.advised_setting, result.urgency) == (None, None, None)


@pytest.mark.parametrize("code", [TERREUR, STRESS, KIND, LANGDURIG, SCHEIDING])
def test_each_profile_is_the_best_match_for_its_own_indicators(gp: Gezinsprofielen, code: str) -> None:
    profile = PROFILES[code]
    result = assess(gp, *profile["indicators"])
    assert result.classifications == (
        Classification(code=code, display=profile["display"], fit=1.0, emphasis=profile["emphasis"]),
    )
    assert result.explanation[0] == Text(
        f"{profile['display']['nl']}: 100%", f"{profile['display']['en']}: 100%"
    )
    assert result.advice == tuple(Text.of(a) for a in profile["advice"])
    assert result.risk_factors == tuple(
        RiskFactor(id=f"gezinsprofielen:{f['code']}", text=Text(f["nl"], f["en"]), code=f["code"])
        for f in profile["risk_factors"]
    )
    assert gp.fits(answers(*profile["indicators"]))[0] == (1.0, profile)


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        (("power_imbalance",), 3 / 12),
        (("power_imbalance", "coercive_control"), 6 / 12),
        (("power_imbalance", "coercive_control", "fear_of_partner"), 8 / 12),
        (("fear_of_partner", "severe_violence", "one_sided_violence"), 6 / 12),
        (("power_imbalance", "coercive_control", "fear_of_partner", "severe_violence"), 10 / 12),
    ],
)
def test_degree_of_fit_is_the_weighted_share(
    gp: Gezinsprofielen, present: tuple[str, ...], expected: float
) -> None:
    assert fit_of(gp, TERREUR, *present) == pytest.approx(expected, abs=1e-4)


def test_weights_not_the_number_of_indicators_decide(gp: Gezinsprofielen) -> None:
    # two of five intieme-terreur indicators, but the two heaviest: half the weight
    assert fit_of(gp, TERREUR, "power_imbalance", "coercive_control") == 0.5
    # also two, but light ones: a third
    assert fit_of(gp, TERREUR, "severe_violence", "one_sided_violence") == pytest.approx(1 / 3, abs=1e-4)


def test_fits_are_sorted_best_first(gp: Gezinsprofielen) -> None:
    fits = gp.fits(answers("piled_up_stressors", "child_behaviour_problems", "parenting_stress", "neglect"))
    assert [fit for fit, _ in fits] == sorted((fit for fit, _ in fits), reverse=True)
    assert [p["code"] for _, p in fits][:2] == [KIND, STRESS]


def test_half_fit_is_enough_and_below_half_is_not(gp: Gezinsprofielen) -> None:
    half = assess(gp, "power_imbalance", "coercive_control")
    assert codes(half) == [TERREUR]
    assert half.classifications[0].fit == 0.5
    below = assess(gp, "power_imbalance", "fear_of_partner")  # 5/12
    assert below.classifications == ()
    assert below.explanation[0].nl.startswith("geen duidelijk profiel")
    assert "Intieme terreur: 42%" in [t.nl for t in below.explanation]


def test_all_fits_below_half_give_no_profile_and_say_so(gp: Gezinsprofielen) -> None:
    # the heaviest indicator of each profile, each below half of its profile's weight
    present = (
        "power_imbalance",
        "piled_up_stressors",
        "child_behaviour_problems",
        "parent_long_term_care_need",
        "separation_conflict",
    )
    result = assess(gp, *present)
    assert 0 < max(fit for fit, _ in gp.fits(answers(*present))) < 0.5
    assert result.classifications == ()
    assert result.risk_factors == ()
    assert result.advice == ()
    assert (
        result.explanation[0].nl == "geen duidelijk profiel (geen enkel profiel past voor minstens de helft)"
    )
    assert len(result.explanation) == 6


def test_profiles_within_the_margin_are_all_reported(gp: Gezinsprofielen) -> None:
    result = assess(
        gp,
        *PROFILES[STRESS]["indicators"],  # 1.0
        "power_imbalance",
        "coercive_control",
        "fear_of_partner",
        "severe_violence",  # 10/12, within 0.2 of the best
        "child_behaviour_problems",
        "parenting_stress",  # 6/8 = 0.75: fits for half, but 0.25 below the best
    )
    assert codes(result) == [STRESS, TERREUR]
    assert [c.fit for c in result.classifications] == [1.0, 0.8333]
    assert result.advice == (*(Text.of(a) for a in PROFILES[STRESS]["advice"]), NO_JOINT_SESSIONS)
    assert [f.id for f in result.risk_factors] == [
        "gezinsprofielen:piled_up_stressors",
        "gezinsprofielen:coercive_control",
    ]


def test_profiles_outside_the_margin_are_not_reported(gp: Gezinsprofielen) -> None:
    result = assess(
        gp,
        *PROFILES[STRESS]["indicators"],  # 1.0
        "parent_long_term_care_need",
        "chronic_multiproblem",  # 5/8 = 0.625: fits for half, but not within 0.2
    )
    assert codes(result) == [STRESS]
    assert "Langdurige zorg: 62%" in [t.nl for t in result.explanation]


def test_the_margin_counts_from_the_best_match_not_from_one(gp: Gezinsprofielen) -> None:
    result = assess(
        gp,
        "power_imbalance",
        "coercive_control",
        "fear_of_partner",  # 8/12
        "separation_conflict",
        "legal_fight_over_children",  # 6/10
    )
    assert codes(result) == [TERREUR, SCHEIDING]
    assert [c.fit for c in result.classifications] == [pytest.approx(8 / 12, abs=1e-4), 0.6]


def test_explanation_lists_every_profile_best_first(gp: Gezinsprofielen) -> None:
    result = assess(gp, *PROFILES[LANGDURIG]["indicators"], "separation_conflict")
    assert tuple(t.nl for t in result.explanation) == (
        "Langdurige zorg: 100%",
        "Complexe (conflict)scheiding: 30%",
        "Intieme terreur: 0%",
        "Gezin in de stress: 0%",
        "Kindgedrag en opvoedstress: 0%",
    )


def test_intieme_terreur_emphasises_protection_and_warns_against_joint_sessions(gp: Gezinsprofielen) -> None:
    result = assess(gp, "power_imbalance", "coercive_control", "fear_of_partner")
    [terror] = result.classifications
    assert terror.code == TERREUR
    assert terror.emphasis is not None
    assert terror.emphasis.nl.startswith("Bescherming voorop")
    assert NO_JOINT_SESSIONS in result.advice
    assert result.risk_factors == (
        RiskFactor(
            id="gezinsprofielen:coercive_control",
            text=Text("Dwingende controle", "Coercive control"),
            code="coercive_control",
        ),
    )


@pytest.mark.parametrize("code", [STRESS, KIND, LANGDURIG, SCHEIDING])
def test_only_intieme_terreur_carries_the_joint_session_warning(gp: Gezinsprofielen, code: str) -> None:
    result = assess(gp, *PROFILES[code]["indicators"])
    assert NO_JOINT_SESSIONS not in result.advice
    emphasis = result.classifications[0].emphasis
    assert emphasis is not None
    assert not emphasis.nl.startswith("Bescherming voorop")


def test_every_profile_has_an_emphasis_advice_and_a_risk_factor() -> None:
    for profile in DATA["profiles"]:
        assert profile["emphasis"]["nl"].strip()
        assert profile["emphasis"]["en"].strip()
        assert profile["advice"]
        assert profile["risk_factors"]


def test_same_answers_give_the_same_result(gp: Gezinsprofielen) -> None:
    present = ("power_imbalance", "coercive_control", "piled_up_stressors", "two_sided_violence", "neglect")
    first = assess(gp, *present)
    assert assess(gp, *present) == first
    reordered = dict(reversed(list(answers(*present).items())))
    assert Gezinsprofielen().assess(validate_answers(gp.spec, reordered)) == first


def test_custom_data_changes_min_fit_and_margin() -> None:
    data = copy.deepcopy(DATA)
    data["min_fit"] = 0.25
    data["margin"] = 0.5
    custom = Gezinsprofielen(data)
    present = ("power_imbalance", "piled_up_stressors")  # 3/12 and 3/7
    default = Gezinsprofielen().assess(answers(*present))
    assert default.classifications == ()
    result = custom.assess(answers(*present))
    assert codes(result) == [STRESS, TERREUR]
    assert DATA["min_fit"] == 0.5


def _two_profile_data(best: dict[str, int], other: dict[str, int]) -> dict[str, Any]:
    def profile(code: str, indicators: dict[str, int]) -> dict[str, Any]:
        return {
            "code": code,
            "display": code.upper(),
            "indicators": indicators,
            "emphasis": "nadruk",
            "advice": [],
            "risk_factors": [],
        }

    items = [*best, *other]
    return {
        **{k: DATA[k] for k in ("id", "version", "name", "description")},
        "items": [{"id": i, "answer_type": "boolean", "text": {"nl": i, "en": i}} for i in items],
        "min_fit": 0.5,
        "margin": 0.2,
        "profiles": [profile("a", best), profile("b", other)],
    }


def test_a_profile_just_outside_the_margin_is_left_out() -> None:
    custom = Gezinsprofielen(_two_profile_data({"a1": 9, "a2": 1}, {"b1": 69, "b2": 31}))
    result = custom.assess({"a1": True, "a2": False, "b1": True, "b2": False})  # 0.9 and 0.69
    assert codes(result) == ["a"]


def test_a_profile_exactly_at_the_margin_is_reported() -> None:
    custom = Gezinsprofielen(_two_profile_data({"a1": 8, "a2": 2}, {"b1": 6, "b2": 4}))
    result = custom.assess({"a1": True, "a2": False, "b1": True, "b2": False})  # 0.8 and 0.6
    assert [c.fit for c in result.classifications] == [0.8, 0.6]
