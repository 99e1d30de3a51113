"""The canonical URL base and every code system of the ketenzorg FHIR profile (one source of truth).

The mapping (:mod:`ketenzorg.interop.fhir`) takes its codes from here, and the conformance
resources in ``schemas/fhir/`` are generated from here, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Final

import attrs

from ketenzorg.decision import AlertLevel
from ketenzorg.domain import (
    AgreementStatus,
    CareSettingKind,
    GoalStatus,
    IncidentSeverity,
    PartnerType,
    PartyRole,
    PersonRole,
    Phase,
    TaskStatus,
)
from ketenzorg.events import TransitionKind
from ketenzorg.instruments import AdvisedSetting, SafetyCode, Urgency

__all__ = [
    "AGB",
    "BSN",
    "CANONICAL",
    "CODE_SYSTEMS",
    "URA",
    "CodeSystemDef",
    "Concept",
    "code_system",
    "extension",
    "naming_system",
]

CANONICAL: Final = "https://fhir.ketenzorg.nl"
"""The canonical URL base of every conformance resource of the profile (defined only here)."""

FHIR_VERSION: Final = "4.0.1"

# Dutch identifier naming systems as Nictiz uses them.
BSN: Final = "http://fhir.nl/fhir/NamingSystem/bsn"
AGB: Final = "http://fhir.nl/fhir/NamingSystem/agb-z"
URA: Final = "http://fhir.nl/fhir/NamingSystem/ura"


def code_system(name: str) -> str:
    return f"{CANONICAL}/CodeSystem/{name}"


def extension(name: str) -> str:
    return f"{CANONICAL}/StructureDefinition/{name}"


def naming_system(name: str) -> str:
    return f"{CANONICAL}/NamingSystem/{name}"


@attrs.frozen
class Concept:
    code: str
    display: str
    """Dutch display (the profile's language)."""
    definition: str
    """English definition."""


@attrs.frozen
class CodeSystemDef:
    name: str
    title: str
    description: str
    concepts: tuple[Concept, ...]

    @property
    def url(self) -> str:
        return code_system(self.name)

    def display(self, code: str) -> str:
        for concept in self.concepts:
            if concept.code == code:
                return concept.display
        raise KeyError(code)


def _cs(name: str, title: str, description: str, *concepts: tuple[str, str, str]) -> CodeSystemDef:
    return CodeSystemDef(name, title, description, tuple(Concept(*c) for c in concepts))


CODE_SYSTEMS: Final[dict[str, CodeSystemDef]] = {
    cs.name: cs
    for cs in (
        _cs(
            "phase",
            "Fase gefaseerde ketenzorg",
            "The phase of a trajectory of phased chain care.",
            (str(Phase.IMMEDIATE_SAFETY.value), "Directe veiligheid", "Immediate safety"),
            (str(Phase.RISK_DRIVEN_CARE.value), "Risicogestuurde zorg", "Risk-driven care"),
            (str(Phase.RECOVERY_CARE.value), "Herstelgerichte zorg", "Recovery care"),
        ),
        _cs(
            "safety-band",
            "Veiligheidsband",
            "The band of a safety score (veiligheidsscore 0-10).",
            ("acute-danger", "Acuut gevaar (0-2)", "Acute danger: protect at once (0-2)"),
            ("unsafe", "Onveilig (3-5)", "Unsafe: no direct physical danger, very unsafe (3-5)"),
            ("immediate-safety", "Directe veiligheid (6)", "The unsafe behaviour has stopped (6)"),
            ("stable-safety", "Stabiele veiligheid (7)", "Stable safety for some time (7)"),
            ("recovery", "Herstel (8-10)", "Everyone is safe and there is recovery (8-10)"),
        ),
        _cs(
            "observation-kind",
            "Soort observatie",
            "What an Observation of the profile records.",
            ("safety-score", "Veiligheidsscore", "A party's substantiated safety score 0-10"),
            ("incident", "Onveilig incident", "An unsafe incident"),
            ("incident-acute", "Acuut", "Whether the incident was acute (component)"),
            ("phase-change", "Fasewissel", "The trajectory moved to another phase"),
            ("phase-from", "Vorige fase", "The phase before the change (component)"),
            ("transition-kind", "Soort overgang", "Advance or relapse (component)"),
        ),
        _cs(
            "encounter-type",
            "Soort contact",
            "The kinds of Encounter of the profile.",
            ("case-conference", "MDO", "Case conference (multidisciplinair overleg)"),
            (CareSettingKind.AMBULANT.value, "Ambulante hulpverlening", "Ambulant care at home"),
            (CareSettingKind.SHELTER.value, "Verblijf in de opvang", "A shelter stay"),
        ),
        _cs(
            "careplan-kind",
            "Soort zorgplan",
            "Distinguishes the trajectory from the versions of its safety action plan.",
            ("trajectory", "Traject gefaseerde ketenzorg", "The case (trajectory)"),
            ("safety-action-plan", "Veiligheidsactieplan", "One version of the safety action plan"),
        ),
        _cs(
            "party-role",
            "Rol in het zorgteam",
            "The standing of a party that gives safety scores.",
            (PartyRole.CLIENT.value, "Cliënt", "The client"),
            (PartyRole.PRACTITIONER.value, "Hulpverlener", "The organisation's own practitioner"),
            (PartyRole.CHAIN_PARTNER.value, "Ketenpartner", "A chain partner"),
            (PartyRole.NETWORK.value, "Netwerk", "Informal network"),
        ),
        _cs(
            "partner-type",
            "Soort ketenpartner",
            "The kind of chain partner.",
            (PartnerType.VEILIG_THUIS.value, "Veilig Thuis", "Veilig Thuis (advice and reporting centre)"),
            (PartnerType.POLICE.value, "Politie", "Police"),
            (PartnerType.RECLASSERING.value, "Reclassering", "Probation service"),
            (PartnerType.YOUTH_PROTECTION.value, "Jeugdbescherming", "Youth protection"),
            (
                PartnerType.CHILD_PROTECTION_BOARD.value,
                "Raad voor de Kinderbescherming",
                "Child protection board",
            ),
            (PartnerType.GGZ.value, "GGZ", "Mental health care"),
            (PartnerType.LOCAL_TEAM.value, "Wijkteam", "Local (social) team"),
            (PartnerType.SCHOOL.value, "School", "School"),
            (PartnerType.GENERAL_PRACTITIONER.value, "Huisarts", "General practitioner"),
            (PartnerType.SHELTER.value, "Opvang", "Shelter or women's service"),
            (PartnerType.OTHER.value, "Anders", "Other"),
        ),
        _cs(
            "person-role",
            "Rol in het cliëntsysteem",
            "A person's place in the client system.",
            (PersonRole.CLIENT.value, "Cliënt", "Victim; the client"),
            (PersonRole.PERSON_WHO_USED_VIOLENCE.value, "Pleger", "The person who used violence"),
            (PersonRole.CHILD.value, "Kind", "Child"),
            (PersonRole.FAMILY_MEMBER.value, "Gezinslid", "Other family member"),
            (PersonRole.NETWORK.value, "Netwerk", "Informal network"),
        ),
        _cs(
            "goal-kind",
            "Soort doel",
            "Work goals (Top 3) and recovery goals.",
            ("work-goal", "Werkdoel", "A goal worked on now; at most three active, ranked"),
            ("recovery-goal", "Hersteldoel", "A goal for the future, in recovery care"),
        ),
        _cs(
            "goal-status",
            "Status doel",
            "The lifecycle of a goal as the engine records it.",
            *((s.value, s.value.replace("_", " "), s.value.replace("_", " ")) for s in GoalStatus),
        ),
        _cs(
            "task-status",
            "Status taak",
            "The state of a task of the safety action plan.",
            (TaskStatus.OPEN.value, "Open", "Still to be done"),
            (TaskStatus.DONE.value, "Gedaan", "Done"),
            (TaskStatus.CANCELLED.value, "Vervallen", "Cancelled"),
        ),
        _cs(
            "agreement-status",
            "Status veiligheidsafspraak",
            "The state of a safety agreement.",
            (AgreementStatus.ACTIVE.value, "Actief", "In force"),
            (AgreementStatus.KEPT.value, "Nagekomen", "Kept"),
            (AgreementStatus.BROKEN.value, "Verbroken", "Broken"),
            (AgreementStatus.ENDED.value, "Beëindigd", "Ended"),
        ),
        _cs(
            "incident-severity",
            "Ernst incident",
            "How serious an unsafe incident was.",
            (IncidentSeverity.MINOR.value, "Licht", "Minor"),
            (IncidentSeverity.SERIOUS.value, "Ernstig", "Serious"),
            (IncidentSeverity.SEVERE.value, "Zeer ernstig", "Severe"),
        ),
        _cs(
            "transition-kind",
            "Soort faseovergang",
            "Why the phase changed.",
            (TransitionKind.ADVANCE.value, "Door naar de volgende fase", "Advance"),
            (TransitionKind.RELAPSE.value, "Terugval", "Relapse to immediate safety"),
        ),
        _cs(
            "safety-code",
            "Veiligheidscode",
            "The screening outcome used in Dutch shelters.",
            (SafetyCode.GREEN.value, "Groen", "Safety restorable with simple measures"),
            (SafetyCode.ORANGE.value, "Oranje", "Help needed to break the situation"),
            (SafetyCode.RED.value, "Rood", "Extreme threat"),
        ),
        _cs(
            "urgency",
            "Urgentie",
            "How soon to act on an instrument result.",
            (Urgency.ROUTINE.value, "Regulier", "Routine"),
            (Urgency.SOON.value, "Binnen enkele dagen", "Within days"),
            (Urgency.IMMEDIATE.value, "Direct", "Act today"),
        ),
        _cs(
            "advised-setting",
            "Geadviseerde zorgsetting",
            "The care setting an instrument advises.",
            (AdvisedSetting.AMBULANT.value, "Ambulant (wijkteam)", "Ambulant care"),
            (AdvisedSetting.SPECIALIST_AMBULANT.value, "Specialistisch ambulant", "Specialist ambulant care"),
            (AdvisedSetting.OPEN_SHELTER.value, "Open opvang (Oranje Huis)", "Open shelter"),
            (AdvisedSetting.SECRET_SHELTER.value, "Geheime of gesloten opvang", "Secret or closed shelter"),
        ),
        _cs(
            "alert-level",
            "Soort signaal",
            "How urgent an alert of a decision is.",
            (AlertLevel.IMMEDIATE_PROTECTION.value, "Direct veiligstellen", "Protect at once"),
            (AlertLevel.REASSESS.value, "Opnieuw wegen", "Re-assess in a case conference"),
            (AlertLevel.ADVICE.value, "Advies", "Advice"),
        ),
    )
}
"""Every code system of the profile by name; its URL is ``code_system(name)``."""


def safety_band(score: int) -> str:
    """The band code of a safety score."""
    if score <= 2:
        return "acute-danger"
    if score <= 5:
        return "unsafe"
    if score == 6:
        return "immediate-safety"
    if score == 7:
        return "stable-safety"
    return "recovery"


def coding(system: str, code: str) -> dict[str, str]:
    """A Coding of one of the profile's code systems, with its Dutch display."""
    return {"system": code_system(system), "code": code, "display": CODE_SYSTEMS[system].display(code)}
