"""The resource profiles (StructureDefinitions, differential): one function per profile.

:func:`profiles` lists them all; the Bundle profile slices a bundle's entries by the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from ketenzorg.interop.conformance.common import (
    CARE_SETTING_VALUE_SET,
    coding,
    profile_url,
    value_set_url,
)
from ketenzorg.interop.conformance.instrumentprofiles import instrument_answers, instrument_application
from ketenzorg.interop.conformance.profileids import (
    BUNDLE,
    CARE_SETTING,
    CARE_TEAM,
    CASE_CONFERENCE,
    GOAL,
    INCIDENT,
    INSTRUMENT_ANSWERS,
    INSTRUMENT_APPLICATION,
    PHASE_CHANGE,
    PROFILES,
    SAFETY_ACTION_PLAN,
    SAFETY_SCORE,
    TRAJECTORY,
)
from ketenzorg.interop.conformance.structure import constraint, el, reference, required, root, structure, x
from ketenzorg.interop.definitions import (
    DECISION_SLICES,
    PARTY_TYPES,
    RULE_SET_SLICES,
    X_ADDRESSES_RISK,
    X_AGREEMENT,
    X_CARE_SETTING,
    X_CLIENT_PRESENT,
    X_CONFERENCE_KIND,
    X_EVENT,
    X_GOAL_STATUS,
    X_HANDOVER,
    X_JOINED,
    X_LEFT,
    X_NOTES,
    X_PARTICIPANT,
    X_PARTY,
    X_RANK,
    X_REGION,
    X_RISK_FACTOR,
    X_SECRET_LOCATION,
    X_SEQUENCE,
    X_TASK,
)
from ketenzorg.interop.terminology import code_system, safety_band

__all__ = [
    "BUNDLE",
    "CARE_SETTING",
    "CARE_TEAM",
    "CASE_CONFERENCE",
    "GOAL",
    "INCIDENT",
    "INSTRUMENT_ANSWERS",
    "INSTRUMENT_APPLICATION",
    "PHASE_CHANGE",
    "PROFILES",
    "SAFETY_ACTION_PLAN",
    "SAFETY_SCORE",
    "TRAJECTORY",
    "profiles",
]


def _band_expression() -> str:
    """FHIRPath: the interpretation is the band of the score (derived from ``safety_band``)."""
    ranges: list[tuple[int, str]] = []
    for score in range(11):
        band = safety_band(score)
        if ranges and ranges[-1][1] == band:
            ranges[-1] = (score, band)
        else:
            ranges.append((score, band))
    expression = f"'{ranges[-1][1]}'"
    for high, band in reversed(ranges[:-1]):
        expression = f"iif(value <= {high}, '{band}', {expression})"
    return f"interpretation.coding.where(system = '{code_system('safety-band')}').code = {expression}"


def _observation(
    sid: str,
    kind: str,
    title: str,
    description: str,
    *,
    extensions: Sequence[dict[str, Any]] = (),
    middle: Sequence[dict[str, Any]] = (),
    constraints: Sequence[dict[str, Any]] = (),
    components: Sequence[tuple[str, str, list[dict[str, Any]]]] = (),
    encounter: bool = False,
) -> dict[str, Any]:
    """An Observation profile: event sequence, identifier, the kind as code; ``middle`` holds the
    elements between ``effective[x]`` and ``component``; ``components`` are slices by code;
    ``encounter`` says the observation may refer to the case conference it was given in."""
    elements = [
        root("Observation", title, description, *constraints),
        x("Observation", "eventSequence", X_SEQUENCE, 1),
        *extensions,
        el("Observation.identifier", min=1),
        el("Observation.basedOn", min=1, max="1", type=reference(profile_url(TRAJECTORY))),
        el("Observation.code", patternCodeableConcept=coding("observation-kind", kind)),
        el("Observation.subject", min=1, type=reference("Patient")),
        *([el("Observation.encounter", type=reference(profile_url(CASE_CONFERENCE)))] if encounter else []),
        el("Observation.effective[x]", min=1, type=[{"code": "dateTime"}]),
        *middle,
    ]
    if components:
        elements.append(
            el(
                "Observation.component",
                slicing={"discriminator": [{"type": "pattern", "path": "code"}], "rules": "open"},
                min=len(components),
            )
        )
    for name, code, value in components:
        elements += [
            el(f"Observation.component:{name}", min=1, max="1"),
            el(
                f"Observation.component:{name}.code",
                patternCodeableConcept=coding("observation-kind", code),
            ),
            el(f"Observation.component:{name}.value[x]", min=1, **value[0]),
        ]
    return structure(sid, "Observation", "resource", title, description, elements)


def _concept_value(system: str) -> list[dict[str, Any]]:
    return [{"type": [{"code": "CodeableConcept"}], "binding": required(system)}]


def _category_slices(base: str, slices: Sequence[tuple[str, str, str | None]]) -> list[dict[str, Any]]:
    """``category`` sliced by pattern: (slice, code system, code or None for 'any code of it')."""
    out = [
        el(
            f"{base}.category",
            slicing={"discriminator": [{"type": "pattern", "path": "$this"}], "rules": "open"},
            min=len(slices),
        )
    ]
    for name, system, code in slices:
        if code is None:
            out.append(
                el(
                    f"{base}.category:{name}",
                    min=1,
                    max="1",
                    patternCodeableConcept={"coding": [{"system": code_system(system)}]},
                    binding=required(system),
                )
            )
        else:
            out.append(
                el(f"{base}.category:{name}", min=1, max="1", patternCodeableConcept=coding(system, code))
            )
    return out


def trajectory() -> dict[str, Any]:
    """The profile ``trajectory``."""
    title, text = "Traject gefaseerde ketenzorg", "The case: one trajectory of phased chain care."
    return structure(
        TRAJECTORY,
        "CarePlan",
        "resource",
        title,
        text,
        [
            root("CarePlan", title, text),
            x("CarePlan", "caseOpened", X_EVENT, 1),
            x("CarePlan", "region", X_REGION, 1),
            x("CarePlan", "handover", X_HANDOVER),
            *(x("CarePlan", name, url, 0, most) for name, url, most in RULE_SET_SLICES),
            el("CarePlan.identifier", min=1, short="The case id"),
            el("CarePlan.intent", fixedCode="plan"),
            *_category_slices(
                "CarePlan", [("kind", "careplan-kind", "trajectory"), ("phase", "phase", None)]
            ),
            el("CarePlan.subject", type=_patient()),
            el("CarePlan.period", min=1),
            el("CarePlan.author", min=1, type=reference("Organization")),
            el("CarePlan.careTeam", min=1, max="1", type=reference(profile_url(CARE_TEAM))),
            el("CarePlan.supportingInfo", max="1", short="The current safety action plan"),
        ],
    )


def safety_action_plan() -> dict[str, Any]:
    """The profile ``safety-action-plan``."""
    title, text = "Veiligheidsactieplan", "One version of the safety action plan, made in a case conference."
    return structure(
        SAFETY_ACTION_PLAN,
        "CarePlan",
        "resource",
        title,
        text,
        [
            root("CarePlan", title, text),
            x("CarePlan", "eventSequence", X_SEQUENCE, 1),
            x("CarePlan", "riskFactor", X_RISK_FACTOR, 0, "*"),
            el("CarePlan.identifier", min=1),
            el("CarePlan.replaces", max="1", type=reference(profile_url(SAFETY_ACTION_PLAN))),
            el("CarePlan.partOf", min=1, max="1", type=reference(profile_url(TRAJECTORY))),
            el("CarePlan.intent", fixedCode="plan"),
            *_category_slices("CarePlan", [("kind", "careplan-kind", "safety-action-plan")]),
            el("CarePlan.subject", type=_patient()),
            el("CarePlan.encounter", min=1, type=reference(profile_url(CASE_CONFERENCE))),
            el("CarePlan.created", min=1),
            el("CarePlan.author", min=1, type=reference("Organization")),
            el("CarePlan.goal", type=reference(profile_url(GOAL))),
            el(
                "CarePlan.activity.detail",
                min=1,
                short="A safety agreement or a task",
                constraint=[
                    constraint(
                        "ktz-7",
                        "An activity is a safety agreement (with who is responsible) or a task, not both",
                        f"extension('{X_AGREEMENT}').exists() xor extension('{X_TASK}').exists()",
                    )
                ],
            ),
            x("CarePlan.activity.detail", "agreement", X_AGREEMENT),
            x("CarePlan.activity.detail", "task", X_TASK),
            el("CarePlan.activity.detail.performer", max="1", short="Who is responsible for an agreement"),
            el("CarePlan.activity.detail.description", min=1, short="What is agreed, or what to do"),
        ],
    )


def safety_score() -> dict[str, Any]:
    """The profile ``safety-score``."""
    title = "Veiligheidsscore"
    text = (
        "A party's safety score 0-10 with its rationale (onderbouwing): a score without a rationale "
        "does not count. The interpretation is the band of the score."
    )
    return _observation(
        SAFETY_SCORE,
        "safety-score",
        title,
        text,
        constraints=[constraint("ktz-1", "The interpretation is the band of the score", _band_expression())],
        encounter=True,
        middle=[
            el("Observation.performer", min=1, max="1", type=_party(), short="The party that scores"),
            el(
                "Observation.value[x]",
                min=1,
                type=[{"code": "integer"}],
                minValueInteger=0,
                maxValueInteger=10,
                short="The score 0-10",
            ),
            el("Observation.interpretation", min=1, max="1", binding=required("safety-band")),
            el("Observation.note", min=1, short="The rationale (onderbouwing)"),
        ],
    )


def incident() -> dict[str, Any]:
    """The profile ``incident``."""
    title, text = (
        "Onveilig incident",
        "An unsafe incident: its severity, whether it was acute, who reported it.",
    )
    return _observation(
        INCIDENT,
        "incident",
        title,
        text,
        middle=[
            el("Observation.performer", max="1", type=_party(), short="Who reported the incident"),
            el("Observation.value[x]", min=1, **_concept_value("incident-severity")[0]),
        ],
        components=[("acute", "incident-acute", [{"type": [{"code": "boolean"}]}])],
    )


def phase_change() -> dict[str, Any]:
    """The profile ``phase-change``."""
    title, text = "Fasewissel", "The trajectory moved to another phase (advance or relapse), and why."
    return _observation(
        PHASE_CHANGE,
        "phase-change",
        title,
        text,
        extensions=[x("Observation", name, url, 0, most) for name, url, most in DECISION_SLICES],
        middle=[el("Observation.value[x]", min=1, short="The new phase", **_concept_value("phase")[0])],
        components=[
            ("phaseFrom", "phase-from", _concept_value("phase")),
            ("transitionKind", "transition-kind", _concept_value("transition-kind")),
        ],
    )


def goal() -> dict[str, Any]:
    """The profile ``goal``."""
    title, text = "Doel", "A work goal (Top 3, ranked) or a recovery goal of a safety action plan."
    rank = constraint(
        "ktz-2",
        "Only a work goal has a rank",
        f"extension('{X_RANK}').exists() implies "
        f"category.coding.where(system = '{code_system('goal-kind')}' and code = 'work-goal').exists()",
    )
    return structure(
        GOAL,
        "Goal",
        "resource",
        title,
        text,
        [
            root("Goal", title, text, rank),
            x("Goal", "goalStatus", X_GOAL_STATUS, 1),
            x("Goal", "rank", X_RANK),
            x("Goal", "addressesRiskFactor", X_ADDRESSES_RISK),
            el("Goal.identifier", min=1),
            el("Goal.category", min=1, max="1", binding=required("goal-kind")),
            el("Goal.description.text", min=1),
            el("Goal.subject", type=_patient()),
            el("Goal.start[x]", min=1, type=[{"code": "date"}]),
        ],
    )


def case_conference() -> dict[str, Any]:
    """The profile ``case-conference``."""
    title, text = "MDO", "A case conference (multidisciplinair overleg) of client, network and partners."
    return structure(
        CASE_CONFERENCE,
        "Encounter",
        "resource",
        title,
        text,
        [
            root("Encounter", title, text),
            x("Encounter", "eventSequence", X_SEQUENCE, 1),
            x("Encounter", "clientPresent", X_CLIENT_PRESENT, 1),
            x("Encounter", "participant", X_PARTICIPANT, 0, "*"),
            x("Encounter", "notes", X_NOTES),
            x("Encounter", "conferenceKind", X_CONFERENCE_KIND),
            el("Encounter.identifier", min=1),
            el(
                "Encounter.type",
                min=1,
                max="1",
                patternCodeableConcept=coding("encounter-type", "case-conference"),
            ),
            el("Encounter.subject", min=1, type=_patient()),
            el("Encounter.period", min=1),
            el("Encounter.serviceProvider", min=1),
        ],
    )


def care_setting() -> dict[str, Any]:
    """The profile ``care-setting``."""
    title, text = (
        "Zorgsetting",
        "A stay in a care setting: ambulant or in a shelter, from one event to the next.",
    )
    secret = constraint(
        "ktz-3",
        "A secret location is never exported: only that it is secret",
        f"extension('{X_SECRET_LOCATION}').exists() implies location.empty()",
    )
    return structure(
        CARE_SETTING,
        "Encounter",
        "resource",
        title,
        text,
        [
            root("Encounter", title, text, secret),
            x("Encounter", "careSetting", X_CARE_SETTING, 1),
            x("Encounter", "secretLocation", X_SECRET_LOCATION),
            el("Encounter.identifier", min=1),
            el(
                "Encounter.type",
                min=1,
                max="1",
                binding={"strength": "required", "valueSet": value_set_url(CARE_SETTING_VALUE_SET)},
            ),
            el("Encounter.subject", min=1, type=_patient()),
            el("Encounter.period", min=1),
            el("Encounter.location.location", type=reference("Location")),
            el("Encounter.serviceProvider", min=1),
        ],
    )


def care_team() -> dict[str, Any]:
    """The profile ``care-team``."""
    title, text = "Zorgteam", "Everyone involved in the case: the parties, when they joined and left."
    return structure(
        CARE_TEAM,
        "CareTeam",
        "resource",
        title,
        text,
        [
            root("CareTeam", title, text),
            el("CareTeam.identifier", min=1, short="The case id"),
            el("CareTeam.subject", min=1, type=_patient()),
            x("CareTeam.participant", "party", X_PARTY, 1),
            x("CareTeam.participant", "joined", X_JOINED),
            x("CareTeam.participant", "left", X_LEFT),
            el(
                "CareTeam.participant.role",
                slicing={"discriminator": [{"type": "pattern", "path": "$this"}], "rules": "open"},
                min=1,
            ),
            el(
                "CareTeam.participant.role:partyRole",
                min=1,
                max="1",
                patternCodeableConcept={"coding": [{"system": code_system("party-role")}]},
                binding=required("party-role"),
            ),
            el(
                "CareTeam.participant.role:partnerType",
                max="1",
                patternCodeableConcept={"coding": [{"system": code_system("partner-type")}]},
                binding=required("partner-type"),
            ),
            el("CareTeam.participant.member", min=1, type=_party()),
            el("CareTeam.participant.period", min=1),
            el("CareTeam.managingOrganization", min=1, max="1"),
        ],
    )


_BUNDLE_SLICES: Final = (
    ("trajectory", "CarePlan", TRAJECTORY, 1, "1"),
    ("careTeam", "CareTeam", CARE_TEAM, 1, "1"),
    ("careSetting", "Encounter", CARE_SETTING, 1, "*"),
    ("conference", "Encounter", CASE_CONFERENCE, 0, "*"),
    ("safetyActionPlan", "CarePlan", SAFETY_ACTION_PLAN, 0, "*"),
    ("goal", "Goal", GOAL, 0, "*"),
    ("safetyScore", "Observation", SAFETY_SCORE, 0, "*"),
    ("incident", "Observation", INCIDENT, 0, "*"),
    ("phaseChange", "Observation", PHASE_CHANGE, 0, "*"),
    ("instrumentApplication", "RiskAssessment", INSTRUMENT_APPLICATION, 0, "*"),
    ("instrumentAnswers", "QuestionnaireResponse", INSTRUMENT_ANSWERS, 0, "*"),
)


def bundle() -> dict[str, Any]:
    """The profile ``ketenzorg-bundle``: the whole case, its entries sliced by profile."""
    title = "Ketenzorg-bundel"
    text = (
        "A whole case as a collection or transaction: the trajectory, its care team and every "
        "resource that carries an event of the history."
    )
    kind = constraint("ktz-5", "A collection or a transaction", "type = 'collection' or type = 'transaction'")
    elements = [
        root("Bundle", title, text, kind),
        el("Bundle.identifier", min=1, short="The case id"),
        el("Bundle.timestamp", min=1),
        el(
            "Bundle.entry",
            min=2,
            slicing={"discriminator": [{"type": "profile", "path": "resource"}], "rules": "open"},
        ),
        el("Bundle.entry.fullUrl", min=1),
        el("Bundle.entry.resource", min=1),
    ]
    for name, type_, profile, low, high in _BUNDLE_SLICES:
        elements += [
            el(f"Bundle.entry:{name}", min=low, max=high),
            el(f"Bundle.entry:{name}.resource", type=[{"code": type_, "profile": [profile_url(profile)]}]),
        ]
    return structure(BUNDLE, "Bundle", "resource", title, text, elements)


def _patient() -> list[dict[str, Any]]:
    return reference("Patient")


def _party() -> list[dict[str, Any]]:
    return reference(*PARTY_TYPES)


_BUILDERS: Final[tuple[Callable[[], dict[str, Any]], ...]] = (
    trajectory,
    safety_action_plan,
    safety_score,
    incident,
    phase_change,
    goal,
    case_conference,
    care_setting,
    care_team,
    instrument_application,
    instrument_answers,
    bundle,
)


def profiles() -> list[dict[str, Any]]:
    """Every resource profile, in the order of :data:`PROFILES`."""
    return [build() for build in _BUILDERS]
