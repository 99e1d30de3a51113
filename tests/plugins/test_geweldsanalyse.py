"""The reference Geweldsanalyse: its spec comes from the data file, its outcome follows the
documented logic (points, red flags, aggravating circumstances). All answers are synthetic."""

from __future__ import annotations

import copy
from typing import Any

import attrs
import pytest

from ketenzorg import RiskFactor
from ketenzorg.domain import Text
from ketenzorg.instruments import (
    AdvisedSetting,
    AnswerType,
    Instrument,
    InstrumentResult,
    SafetyCode,
    Urgency,
    load_data,
    validate_answers,
)
from ketenzorg.plugins.geweldsanalyse import Geweldsanalyse

DATA = load_data("ketenzorg.plugins", "data/geweldsanalyse.json")
RED_ADVICE = Text.of(DATA["advice"]["red"])
ORANGE_ADVICE = Text.of(DATA["advice"]["orange"])

BASE: dict[str, Any] = {
    "nature": [],
    "injury": False,
    "weapon": False,
    "strangulation": False,
    "threats_to_kill": False,
    "fear_for_life": False,
    "frequency": "once",
    "escalation": False,
    "coercive_control": False,
    "children_witness": False,
    "violence_against_children": False,
    "separation": "none",
    "perpetrator_access": "no_access",
}
"""Zero points, no red flag, no aggravating circumstance."""


@pytest.fixture(scope="module")
def ga() -> Geweldsanalyse:
    return Geweldsanalyse()


def answers(**changes: Any) -> dict[str, Any]:
    return {**BASE, **changes}


def assess(ga: Geweldsanalyse, **changes: Any) -> InstrumentResult:
    """Validate like the engine does, then score."""
    return ga.assess(validate_answers(ga.spec, answers(**changes)))


def points(result: InstrumentResult) -> int:
    head = result.explanation[0].nl
    assert head.startswith("punten ")
    return int(head.split()[1])


# --- the spec ------------------------------------------------------------------------------------


def test_spec_loads_from_the_data_file(ga: Geweldsanalyse) -> None:
    spec = ga.spec
    assert isinstance(ga, Instrument)
    assert (spec.id, spec.version) == ("geweldsanalyse", "1.0.0")
    assert [i.id for i in spec.items] == [raw["id"] for raw in DATA["items"]]
    assert [i.id for i in spec.items] == [*BASE, "notes"]
    assert spec.item("nature").answer_type is AnswerType.MULTI_CHOICE
    assert "honour_related" in spec.item("nature").allowed
    assert spec.item("perpetrator_access").allowed == ("lives_together", "knows_address", "no_access")
    assert spec.item("strangulation").answer_type is AnswerType.BOOLEAN
    assert spec.item("notes").required is False
    assert all(i.required for i in spec.items if i.id != "notes")
    assert all(i.section for i in spec.items)
    assert "Not a validated instrument" in spec.description["en"]


def test_every_weighted_marker_is_an_answerable_item_or_code(ga: Geweldsanalyse) -> None:
    """The data only refers to items and codes the spec declares."""
    known = {i.id for i in ga.spec.items}
    for item, weight in DATA["weights"].items():
        assert item in known
        if isinstance(weight, dict):
            assert set(weight) == set(ga.spec.item(item).allowed)
    markers = [*DATA["red_flags"], *DATA["aggravating"], *DATA["risk_factors"], *DATA["advice"]]
    for marker in markers:
        if marker in {"red", "orange", "green"}:
            continue
        item, _, code = marker.partition(":")
        assert item in known, marker
        assert not code or code in ga.spec.item(item).allowed, marker


def test_zero_answers_are_green(ga: Geweldsanalyse) -> None:
    result = assess(ga)
    assert result.safety_code is SafetyCode.GREEN
    assert points(result) == 0
    assert result.advised_setting is AdvisedSetting.AMBULANT
    assert result.urgency is Urgency.ROUTINE
    assert result.risk_factors == ()
    assert result.advice == ()
    assert result.classifications == ()
    assert tuple(t.nl for t in result.explanation) == ("punten 0 (oranje vanaf 4, rood vanaf 10)",)


# --- points --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected_points", "code"),
    [
        ({"injury": True, "frequency": "occasional"}, 3, SafetyCode.GREEN),
        ({"injury": True, "frequency": "weekly"}, 4, SafetyCode.ORANGE),
        ({"nature": ["sexual", "stalking"], "injury": True, "frequency": "daily"}, 9, SafetyCode.ORANGE),
        (
            {
                "nature": ["sexual", "physical"],
                "injury": True,
                "frequency": "daily",
                "children_witness": True,
                "violence_against_children": False,
            },
            10,
            SafetyCode.RED,
        ),
        (
            {
                "nature": ["physical", "sexual", "psychological", "financial", "neglect", "stalking"],
                "injury": True,
                "frequency": "daily",
                "escalation": True,
                "coercive_control": True,
                "children_witness": True,
                "violence_against_children": False,
                "separation": "recent",
            },
            20,
            SafetyCode.RED,
        ),
    ],
)
def test_points_thresholds_orange_4_red_10(
    ga: Geweldsanalyse, changes: dict[str, Any], expected_points: int, code: SafetyCode
) -> None:
    result = assess(ga, **changes)
    assert points(result) == expected_points
    assert result.safety_code is code
    assert not [line for line in result.explanation if line.nl.startswith("rode vlag")]


def test_weights_per_code_of_a_choice_item(ga: Geweldsanalyse) -> None:
    expected = {"once": 0, "occasional": 1, "monthly": 1, "weekly": 2, "daily": 3}
    assert {f: points(assess(ga, frequency=f)) for f in expected} == expected
    separation = {"none": 0, "considering": 1, "recent": 2}
    assert {s: points(assess(ga, separation=s)) for s in separation} == separation
    access = {"lives_together": 2, "knows_address": 1, "no_access": 0}
    assert {a: points(assess(ga, perpetrator_access=a)) for a in access} == access


def test_multi_choice_codes_add_up(ga: Geweldsanalyse) -> None:
    assert points(assess(ga, nature=["physical"])) == 1
    assert points(assess(ga, nature=["physical", "sexual", "honour_related"])) == 6
    assert points(assess(ga, nature=["financial"])) == 0


def test_notes_never_change_the_outcome(ga: Geweldsanalyse) -> None:
    plain = assess(ga, injury=True)
    for note in ("strangulation", "weapon", "recent", "escalation:lives_together", ""):
        assert assess(ga, injury=True, notes=note) == plain


def test_explanation_lists_points_and_reasons(ga: Geweldsanalyse) -> None:
    result = assess(ga, nature=["psychological"], injury=True, frequency="weekly")
    assert tuple(t.nl for t in result.explanation) == (
        "punten 5 (oranje vanaf 4, rood vanaf 10)",
        "nature:psychological +1",
        "injury +2",
        "frequency:weekly +2",
    )


# --- red flags and aggravating circumstances -----------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "expected_points"),
    [
        ({"strangulation": True}, 4),
        ({"threats_to_kill": True}, 3),
        ({"weapon": True}, 3),
        ({"fear_for_life": True}, 2),
        ({"nature": ["honour_related"]}, 3),
    ],
)
def test_a_red_flag_alone_gives_at_least_orange(
    ga: Geweldsanalyse, flag: dict[str, Any], expected_points: int
) -> None:
    result = assess(ga, **flag)
    assert points(result) == expected_points
    assert result.safety_code is SafetyCode.ORANGE
    assert result.urgency is Urgency.SOON
    assert any(line.nl.startswith("rode vlaggen: ") for line in result.explanation)
    assert not any(line.nl.startswith("rode vlag met verzwarende") for line in result.explanation)


@pytest.mark.parametrize(
    "aggravating",
    [
        {"escalation": True},
        {"separation": "recent"},
        {"perpetrator_access": "lives_together"},
        {"perpetrator_access": "knows_address"},
    ],
)
@pytest.mark.parametrize("flag", [{"weapon": True}, {"fear_for_life": True}, {"nature": ["honour_related"]}])
def test_a_red_flag_with_an_aggravating_circumstance_gives_red(
    ga: Geweldsanalyse, flag: dict[str, Any], aggravating: dict[str, Any]
) -> None:
    result = assess(ga, **flag, **aggravating)
    assert points(result) < 10
    assert result.safety_code is SafetyCode.RED
    assert result.urgency is Urgency.IMMEDIATE
    assert result.advised_setting is AdvisedSetting.SECRET_SHELTER
    assert any(line.nl.startswith("rode vlag met verzwarende omstandigheid: ") for line in result.explanation)


@pytest.mark.parametrize(
    "circumstance",
    [{"escalation": True}, {"separation": "recent"}, {"perpetrator_access": "lives_together"}],
)
def test_an_aggravating_circumstance_without_a_red_flag_is_not_red(
    ga: Geweldsanalyse, circumstance: dict[str, Any]
) -> None:
    assert assess(ga, **circumstance).safety_code is SafetyCode.GREEN


def test_separation_being_considered_is_aggravating(ga: Geweldsanalyse) -> None:
    # Planning to leave is a known moment of high risk.
    assert assess(ga, weapon=True, separation="considering").safety_code is SafetyCode.RED
    assert assess(ga, separation="considering").safety_code is SafetyCode.GREEN


def test_two_red_flags_together_are_red_even_without_access(ga: Geweldsanalyse) -> None:
    result = assess(ga, strangulation=True, threats_to_kill=True, perpetrator_access="no_access")
    assert result.safety_code is SafetyCode.RED
    assert result.explanation[-1].nl == "2 rode vlaggen samen: rood"
    assert assess(ga, strangulation=True, perpetrator_access="no_access").safety_code is SafetyCode.ORANGE


def test_violence_against_children_is_asked_weighed_and_advised(ga: Geweldsanalyse) -> None:
    assert ga.spec.item("violence_against_children").required
    result = assess(ga, violence_against_children=True)
    assert points(result) == 3
    assert [f.code for f in result.risk_factors] == ["violence_against_children"]
    assert any("Veiligheid van de kinderen" in line.nl for line in result.advice)


def test_red_flag_lines_name_the_flags_and_circumstances_sorted(ga: Geweldsanalyse) -> None:
    result = assess(
        ga,
        weapon=True,
        strangulation=True,
        escalation=True,
        separation="recent",
        perpetrator_access="no_access",
    )
    assert result.safety_code is SafetyCode.RED
    assert points(result) == 4 + 3 + 2 + 2
    assert "rode vlaggen: strangulation, weapon" in [t.nl for t in result.explanation]
    assert "rode vlag met verzwarende omstandigheid: escalation, separation:recent" in [
        t.nl for t in result.explanation
    ]
    assert tuple(t.nl for t in result.explanation[-3:]) == (
        "rode vlaggen: strangulation, weapon",
        "rode vlag met verzwarende omstandigheid: escalation, separation:recent",
        "2 rode vlaggen samen: rood",
    )


# --- advised setting and urgency -----------------------------------------------------------------

ORANGE_BY_POINTS = {"injury": True, "frequency": "weekly"}
RED_BY_POINTS = {
    "nature": ["sexual", "stalking"],
    "injury": True,
    "frequency": "daily",
    "children_witness": True,
    "violence_against_children": False,
}


@pytest.mark.parametrize(
    ("access", "setting"),
    [
        ("lives_together", AdvisedSetting.OPEN_SHELTER),
        ("knows_address", AdvisedSetting.OPEN_SHELTER),
        ("no_access", AdvisedSetting.SPECIALIST_AMBULANT),
    ],
)
def test_orange_setting_depends_on_access_of_the_person_who_used_violence(
    ga: Geweldsanalyse, access: str, setting: AdvisedSetting
) -> None:
    result = assess(ga, **ORANGE_BY_POINTS, perpetrator_access=access)
    assert result.safety_code is SafetyCode.ORANGE
    assert result.advised_setting is setting
    assert result.urgency is Urgency.SOON


def test_orange_by_a_red_flag_without_access_is_specialist_ambulant(ga: Geweldsanalyse) -> None:
    result = assess(ga, threats_to_kill=True)
    assert (result.safety_code, result.advised_setting) == (
        SafetyCode.ORANGE,
        AdvisedSetting.SPECIALIST_AMBULANT,
    )


@pytest.mark.parametrize("access", ["lives_together", "knows_address", "no_access"])
def test_green_is_ambulant_and_red_is_secret_shelter_whatever_the_access(
    ga: Geweldsanalyse, access: str
) -> None:
    green = assess(ga, perpetrator_access=access)
    assert (green.safety_code, green.advised_setting, green.urgency) == (
        SafetyCode.GREEN,
        AdvisedSetting.AMBULANT,
        Urgency.ROUTINE,
    )
    red = assess(ga, **RED_BY_POINTS, perpetrator_access=access)
    assert (red.safety_code, red.advised_setting, red.urgency) == (
        SafetyCode.RED,
        AdvisedSetting.SECRET_SHELTER,
        Urgency.IMMEDIATE,
    )


# --- risk factors and advice ---------------------------------------------------------------------


def test_risk_factors_have_stable_ids_and_codes(ga: Geweldsanalyse) -> None:
    result = assess(
        ga,
        nature=["stalking", "honour_related"],
        coercive_control=True,
        escalation=True,
        children_witness=True,
        strangulation=True,
        weapon=True,
        threats_to_kill=True,
        separation="recent",
        perpetrator_access="lives_together",
    )
    assert tuple(attrs.evolve(f, text=f.text.nl) for f in result.risk_factors) == (
        RiskFactor(id="geweldsanalyse:coercive_control", text="Dwingende controle", code="coercive_control"),
        RiskFactor(id="geweldsanalyse:escalation", text="Escalatie van het geweld", code="escalation"),
        RiskFactor(
            id="geweldsanalyse:children_witness", text="Kinderen getuige van geweld", code="children_witness"
        ),
        RiskFactor(
            id="geweldsanalyse:strangulation", text="Verwurging in de voorgeschiedenis", code="strangulation"
        ),
        RiskFactor(id="geweldsanalyse:weapon", text="Wapen gebruikt of gedreigd", code="weapon"),
        RiskFactor(id="geweldsanalyse:threats_to_kill", text="Doodsbedreigingen", code="threats_to_kill"),
        RiskFactor(id="geweldsanalyse:separation", text="Recente scheiding", code="separation"),
        RiskFactor(
            id="geweldsanalyse:perpetrator_access",
            text="Pleger woont samen met cliënt",
            code="perpetrator_access",
        ),
        RiskFactor(id="geweldsanalyse:stalking", text="Stalking", code="stalking"),
        RiskFactor(id="geweldsanalyse:honour_related", text="Eergerelateerd geweld", code="honour_related"),
    )


def test_only_present_risk_factors_are_reported(ga: Geweldsanalyse) -> None:
    result = assess(ga, coercive_control=True, separation="considering", perpetrator_access="knows_address")
    assert [f.id for f in result.risk_factors] == ["geweldsanalyse:coercive_control"]


def test_advice_per_code_and_per_marker(ga: Geweldsanalyse) -> None:
    assert assess(ga, **ORANGE_BY_POINTS).advice == (ORANGE_ADVICE,)
    red = assess(ga, strangulation=True, nature=["honour_related"], escalation=True)
    assert red.safety_code is SafetyCode.RED
    assert red.advice == (
        RED_ADVICE,
        Text.of(DATA["advice"]["nature:honour_related"]),
        Text.of(DATA["advice"]["strangulation"]),
    )
    assert "Politie betrekken" in red.advice[0].nl
    assert "Landelijk Expertisecentrum Eergerelateerd Geweld" in red.advice[1].nl


# --- determinism and data ------------------------------------------------------------------------


def test_same_answers_give_the_same_result_whatever_the_order(ga: Geweldsanalyse) -> None:
    changes = {"weapon": True, "nature": ["stalking", "physical"], "separation": "recent", "injury": True}
    first = assess(ga, **changes)
    reordered = dict(reversed(list(answers(**changes).items())))
    assert ga.assess(validate_answers(ga.spec, reordered)) == first
    assert Geweldsanalyse().assess(validate_answers(ga.spec, answers(**changes))) == first
    assert assess(ga, **changes) == first


def test_a_custom_data_dict_changes_the_outcome_without_code_changes(ga: Geweldsanalyse) -> None:
    data = copy.deepcopy(DATA)
    data["thresholds"] = {"orange": 2, "red": 5}
    data["red_flags"] = []
    strict = Geweldsanalyse(data)
    case = answers(**ORANGE_BY_POINTS, perpetrator_access="knows_address")  # 5 points
    assert ga.assess(validate_answers(ga.spec, case)).safety_code is SafetyCode.ORANGE
    result = strict.assess(validate_answers(strict.spec, case))
    assert result.safety_code is SafetyCode.RED
    assert result.explanation[0].nl == "punten 5 (oranje vanaf 2, rood vanaf 5)"
    weapon_only = answers(weapon=True)
    assert ga.assess(weapon_only).safety_code is SafetyCode.ORANGE
    assert strict.assess(weapon_only).safety_code is SafetyCode.ORANGE  # 3 points >= 2
    data["weights"]["weapon"] = 0
    assert Geweldsanalyse(data).assess(weapon_only).safety_code is SafetyCode.GREEN
    assert DATA["thresholds"] == {"orange": 4, "red": 10}  # the shipped data is untouched


def test_custom_data_may_declare_its_own_items_and_advice() -> None:
    data = copy.deepcopy(DATA)
    data["version"] = "2.0-org"
    data["items"].append(
        {
            "id": "pets_threatened",
            "answer_type": "boolean",
            "text": {"nl": "Huisdieren bedreigd?", "en": "Pets?"},
        }
    )
    data["weights"]["pets_threatened"] = 1
    data["red_flags"].append("pets_threatened")
    data["advice"]["pets_threatened"] = "Opvang voor huisdieren regelen."
    data["advice"]["green"] = "Wijkteam inschakelen."
    custom = Geweldsanalyse(data)
    assert custom.spec.version == "2.0-org"
    assert custom.spec.item("pets_threatened").required
    green = custom.assess(validate_answers(custom.spec, answers(pets_threatened=False)))
    assert (green.safety_code, green.advice) == (SafetyCode.GREEN, (Text("Wijkteam inschakelen."),))
    orange = custom.assess(validate_answers(custom.spec, answers(pets_threatened=True)))
    assert orange.safety_code is SafetyCode.ORANGE
    assert orange.advice == (ORANGE_ADVICE, Text("Opvang voor huisdieren regelen."))
