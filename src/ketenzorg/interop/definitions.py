"""The profile's definitions, one place for each: identifier systems and extensions.

Every extension of the mapping is defined once here (URL, title, where it may appear, its value type
or parts, its cardinality): the exporter writes by these URLs, the reader reads by them, and the
conformance package publishes :data:`EXTENSIONS` as StructureDefinitions.
"""

from __future__ import annotations

from typing import Final

import attrs

from ketenzorg.interop.terminology import CANONICAL, extension, naming_system

__all__ = [
    "EXTENSIONS",
    "EXTENSION_BY_URL",
    "ExtensionDef",
    "Part",
    "measure_url",
]

# --- names and systems of the mapping ------------------------------------------------------------

SECRET_LOCATION_NAME: Final = "geheime locatie"
SECRET_LOCATION_PSEUDONYM: Final = "secret-location-{}"
"""The id a secret location has in an export: numbered per case, so it links no two cases."""


MEASURE_SCORING = "http://terminology.hl7.org/CodeSystem/measure-scoring"
MEASURE_POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
MEASURE_TYPE = "http://terminology.hl7.org/CodeSystem/measure-type"


def measure_url(indicator: str) -> str:
    """The canonical URL of the Measure of a monitoring indicator (``cases_opened``: ``.../cases-opened``)."""
    return f"{CANONICAL}/Measure/{indicator.replace('_', '-')}"


V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
"""FHIR's core extension (context: any element, ``valueCode`` from the data-absent-reason codes):
on a QuestionnaireResponse item without answer, why there is none (``unknown``, ``not-asked``)."""
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
"""FHIR's core extension for a string in another language (sub-extensions ``lang`` and
``content``), on the string's primitive extension (``_valueString``): a text's English."""

V3_CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
"""Security labels: a resource's confidentiality (``R`` restricted, ``V`` very restricted)."""
V3_ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
"""Security labels: the purpose of use of a disclosure (``TREAT``, ``COC``, ``HLEGAL``, ...)."""
DATA_ABSENT_REASON_CODES = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
"""The codes of :data:`DATA_ABSENT_REASON`; a disclosure marks what it withholds ``masked``."""
SENSITIVITY_DOMESTIC_VIOLENCE = "SDV"
"""v3-ActCode sensitivity of everything about a case: sexual assault, abuse or domestic violence."""
SENSITIVITY_MENTAL_HEALTH = "PSY"
"""v3-ActCode sensitivity of psychiatry (mental health) information."""
REFRAIN_NO_REDISCLOSURE = "NORDSCLCD"
"""v3-ActCode refrain policy on a disclosed Bundle: the recipient may not disclose it further."""

DICOM_DCM = "http://dicom.nema.org/resources/ontology/DCM"
"""DICOM codes of an AuditEvent: its type (``110106`` Export) and agent roles (source, destination)."""
ISO_21089_LIFECYCLE = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
"""Record lifecycle events: an AuditEvent's subtype ``disclose``."""
AUDIT_ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
SECURITY_ROLE_TYPE = "http://terminology.hl7.org/CodeSystem/extra-security-role-type"
V3_PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
BALP_PRIVACY_DISCLOSURE_SOURCE = (
    "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PrivacyDisclosure.Source"
)
"""IHE Basic Audit Log Patterns: the profile of a privacy disclosure as the source records it."""
URI = "urn:ietf:rfc:3986"

# --- identifier systems --------------------------------------------------------------------------

EVENT_ID = naming_system("event-id")
CASE_ID = naming_system("case-id")
PERSON_ID = naming_system("person-id")
PARTY_ID = naming_system("party-id")
ORGANISATION_ID = naming_system("organisation-id")
GOAL_ID = naming_system("goal-id")
LOCATION_ID = naming_system("location-id")

# --- extension URLs ------------------------------------------------------------------------------

X_SEQUENCE = extension("event-sequence")
X_EVENT = extension("event")  # complex: id, sequence, at (for events without a resource of their own)
X_REGION = extension("region")
X_CARE_SETTING = extension("care-setting")
X_SECRET_LOCATION = extension("secret-location")
X_CLIENT_PRESENT = extension("client-present")
X_PARTICIPANT = extension("conference-participant")
X_NOTES = extension("notes")
X_RANK = extension("goal-rank")
X_GOAL_STATUS = extension("goal-status")
X_RISK_FACTOR = extension("risk-factor")
X_ADDRESSES_RISK = extension("addresses-risk-factor")
X_AGREEMENT = extension("safety-agreement")
X_RULES = extension("decision-rule")
X_EVIDENCE = extension("decision-evidence")
X_DECISION_PLUGIN = extension("decision-plugin")
X_DECISION_POLICY = extension("decision-policy")
X_HANDOVER = extension("handover")
X_PARTY = extension("party")
X_PROVENANCE = extension("instrument-provenance")
X_ADVICE = extension("instrument-advice")
X_ADVISED_SETTING = extension("advised-setting")
X_URGENCY = extension("urgency")
X_EXPLANATION = extension("instrument-explanation")
X_CLASSIFICATION = extension("classification")
X_NO_CODES = extension("no-codes-chosen")
X_MULTIPLE = extension("multiple-codes")
X_APPLIED_BY = extension("applied-by")
X_JOINED = extension("joined")
X_LEFT = extension("left")
X_CONFERENCE_KIND = extension("conference-kind")
X_RESULT_LEVEL = extension("result-level")
X_ACTION = extension("instrument-action")
X_TASK = extension("plan-task")

# --- extension definitions -----------------------------------------------------------------------


@attrs.frozen
class Part:
    """A sub-extension of a complex extension."""

    url: str
    type: str
    short: str
    min: int = 1
    max: str = "1"
    binding: str | None = None
    """The code system (name) whose value set a Coding is bound to (required)."""
    targets: tuple[str, ...] = ()
    """Resource types a Reference may point to."""


@attrs.frozen
class ExtensionDef:
    """An extension of the profile: a simple one has a ``type``, a complex one ``parts``."""

    url: str
    title: str
    description: str
    contexts: tuple[str, ...]
    type: str | None = None
    binding: str | None = None
    targets: tuple[str, ...] = ()
    parts: tuple[Part, ...] = ()

    @property
    def name(self) -> str:
        return self.url.rsplit("/", 1)[1]

    def __attrs_post_init__(self) -> None:
        if (self.type is None) == (not self.parts):
            raise ValueError(f"{self.url}: an extension has either a value type or parts")


PARTY_TYPES = ("Patient", "RelatedPerson", "Practitioner", "Organization")
_EVENT = (
    Part("id", "string", "The id of the event"),
    Part("sequence", "integer", "The place of the event in the case history (0 is the opening)"),
    Part("at", "dateTime", "When the event happened"),
)


def _event_parts(*more: Part) -> tuple[Part, ...]:
    return (*_EVENT, *more)


EXTENSIONS: Final[tuple[ExtensionDef, ...]] = (
    ExtensionDef(
        X_SEQUENCE,
        "Plaats in de geschiedenis",
        "The place in the case history of the event the resource carries (0 is the opening).",
        ("CarePlan", "Encounter", "Observation", "RiskAssessment"),
        type="integer",
    ),
    ExtensionDef(
        X_EVENT,
        "Gebeurtenis",
        "An event of the case history without a resource of its own (on the trajectory: the opening).",
        ("CarePlan",),
        parts=_EVENT,
    ),
    ExtensionDef(
        X_REGION,
        "Regio",
        "The region of the case: the region, its lead municipality (centrumgemeente) and the "
        "municipality of the client.",
        ("CarePlan",),
        parts=(
            Part("region", "string", "The region"),
            Part("leadMunicipality", "string", "The lead municipality (centrumgemeente)"),
            Part("municipality", "string", "The municipality of the client"),
        ),
    ),
    ExtensionDef(
        X_CARE_SETTING,
        "Zorgsetting",
        "The event that started this care setting (the opening or a change of setting).",
        ("Encounter",),
        parts=_EVENT,
    ),
    ExtensionDef(
        X_SECRET_LOCATION,
        "Geheime locatie",
        "The stay is at a secret location: only a pseudonym of it is exported, never the location itself.",
        ("Encounter",),
        parts=(
            Part(
                "id",
                "string",
                "Pseudonym of the location within this case (secret-location-<n>), never its id",
            ),
            Part("secret", "boolean", "Always true"),
        ),
    ),
    ExtensionDef(
        X_CLIENT_PRESENT,
        "Cliënt aanwezig",
        "Whether the client took part in the case conference.",
        ("Encounter",),
        type="boolean",
    ),
    ExtensionDef(
        X_PARTICIPANT,
        "Deelnemer MDO",
        "A party that took part in the case conference (with its party id as identifier).",
        ("Encounter",),
        type="Reference",
        targets=PARTY_TYPES,
    ),
    ExtensionDef(
        X_NOTES,
        "Aantekeningen",
        "The notes of the case conference.",
        ("Encounter",),
        type="string",
    ),
    ExtensionDef(
        X_RANK,
        "Rang werkdoel",
        "The rank of a work goal in the Top 3 (1 is the most important).",
        ("Goal",),
        type="integer",
    ),
    ExtensionDef(
        X_GOAL_STATUS,
        "Status doel",
        "The status of the goal as the engine records it.",
        ("Goal",),
        type="Coding",
        binding="goal-status",
    ),
    ExtensionDef(
        X_RISK_FACTOR,
        "Risicofactor",
        "A risk factor that keeps the violence going (in a plan, or found by an instrument).",
        ("CarePlan", "RiskAssessment"),
        parts=(
            Part("id", "string", "The id of the risk factor"),
            Part("text", "string", "The risk factor in words"),
            Part("code", "string", "A code for the risk factor", min=0),
        ),
    ),
    ExtensionDef(
        X_ADDRESSES_RISK,
        "Pakt risicofactor aan",
        "The id of the risk factor (of the plan) that this work goal addresses.",
        ("Goal",),
        type="string",
    ),
    ExtensionDef(
        X_AGREEMENT,
        "Veiligheidsafspraak",
        "A safety agreement: its id, who is responsible and its status.",
        ("CarePlan.activity.detail",),
        parts=(
            Part("id", "string", "The id of the agreement"),
            Part("responsible", "string", "The party or person id of who is responsible"),
            Part("status", "Coding", "The status of the agreement", binding="agreement-status"),
        ),
    ),
    ExtensionDef(
        X_RULES,
        "Beslisregel",
        "The id of a rule of the decision behind the phase change.",
        ("Observation",),
        type="string",
    ),
    ExtensionDef(
        X_EVIDENCE,
        "Onderbouwing beslissing",
        "A line of evidence of the decision behind the phase change.",
        ("Observation",),
        type="string",
    ),
    ExtensionDef(
        X_DECISION_PLUGIN,
        "Plugin van de beslissing",
        "A plugin whose rules took part in the decision behind the phase change (on a trajectory: "
        "behind its closing), with its distribution, version and the ids of its rules.",
        ("Observation", "CarePlan"),
        parts=(
            Part("name", "string", "The name of the plugin"),
            Part("distribution", "string", "The distribution the plugin comes from", min=0),
            Part("version", "string", "The version of that distribution", min=0),
            Part("rule", "string", "The id of a rule of the plugin that took part", min=0, max="*"),
        ),
    ),
    ExtensionDef(
        X_DECISION_POLICY,
        "Beleid van de beslissing",
        "The policy the phase change (on a trajectory: its closing) was decided under: its "
        "fingerprint and its settings as canonical JSON. Absent: the rules are not known.",
        ("Observation", "CarePlan"),
        parts=(
            Part("fingerprint", "string", "sha256: and 16 hex digits of the canonical settings"),
            Part("settings", "string", "The policy's settings as canonical JSON", min=0),
        ),
    ),
    ExtensionDef(
        X_HANDOVER,
        "Overdracht",
        "The case was closed: when, to whom the care was handed over, and a summary.",
        ("CarePlan",),
        parts=_event_parts(
            Part(
                "to", "Reference", "A party the care was handed over to", min=0, max="*", targets=PARTY_TYPES
            ),
            Part("summary", "string", "Summary of the handover", min=0),
        ),
    ),
    ExtensionDef(
        X_PARTY,
        "Partij",
        "The party a care team participant stands for.",
        ("CareTeam.participant",),
        parts=(
            Part("id", "string", "The id of the party"),
            Part("name", "string", "The name of the party"),
            Part("person", "string", "The id of the person the party is, if any", min=0),
        ),
    ),
    ExtensionDef(
        X_JOINED,
        "Toegetreden",
        "The event by which the party joined the case after it was opened.",
        ("CareTeam.participant",),
        parts=_EVENT,
    ),
    ExtensionDef(
        X_LEFT,
        "Vertrokken",
        "The event by which the party left the case, with the reason.",
        ("CareTeam.participant",),
        parts=_event_parts(Part("reason", "string", "Why the party left", min=0)),
    ),
    ExtensionDef(
        X_PROVENANCE,
        "Herkomst instrument",
        "Which instrument (id, version) and plugin (distribution, version) gave the result.",
        ("RiskAssessment",),
        parts=(
            Part("instrument", "string", "The id of the instrument"),
            Part("version", "string", "The version of the instrument"),
            Part("plugin", "string", "The plugin that registered the instrument"),
            Part("distribution", "string", "The distribution of the plugin", min=0),
            Part("distributionVersion", "string", "The version of that distribution", min=0),
        ),
    ),
    ExtensionDef(
        X_ADVICE,
        "Advies instrument",
        "A line of concrete advice of the instrument.",
        ("RiskAssessment",),
        type="string",
    ),
    ExtensionDef(
        X_ADVISED_SETTING,
        "Geadviseerde zorgsetting",
        "The care setting the instrument advises.",
        ("RiskAssessment",),
        type="Coding",
        binding="advised-setting",
    ),
    ExtensionDef(
        X_URGENCY,
        "Urgentie",
        "How soon to act on the result of the instrument.",
        ("RiskAssessment",),
        type="Coding",
        binding="urgency",
    ),
    ExtensionDef(
        X_EXPLANATION,
        "Toelichting instrument",
        "A line of the reasons for the result of the instrument.",
        ("RiskAssessment",),
        type="string",
    ),
    ExtensionDef(
        X_CLASSIFICATION,
        "Classificatie",
        "A classification the instrument found (e.g. a family profile), as the instrument names it, "
        "with how well it fits: a degree of fit, not a probability (no prediction.probability[x] is "
        "written).",
        ("RiskAssessment.prediction",),
        parts=(
            Part("code", "string", "The code of the classification"),
            Part("display", "string", "The name of the classification"),
            Part("fit", "decimal", "How well the classification fits, 0..1 (not a probability)"),
        ),
    ),
    ExtensionDef(
        X_MULTIPLE,
        "Meerdere codes",
        "The item allows several codes: its answers are all chosen codes.",
        ("QuestionnaireResponse.item",),
        type="boolean",
    ),
    ExtensionDef(
        X_APPLIED_BY,
        "Toegepast door",
        "The party of the care team that applied the instrument (any kind of party).",
        ("RiskAssessment",),
        type="Reference",
    ),
    ExtensionDef(
        X_CONFERENCE_KIND,
        "Soort overleg",
        "The kind of conference (e.g. marac, safety-check, or a kind an organisation registers); "
        "absent: a case conference (MDO).",
        ("Encounter",),
        type="string",
    ),
    ExtensionDef(
        X_RESULT_LEVEL,
        "Niveau instrument",
        "The level on the instrument's own result scale this prediction carries (its qualitativeRisk "
        "is that level in the instrument's level code system).",
        ("RiskAssessment.prediction",),
        type="string",
    ),
    ExtensionDef(
        X_ACTION,
        "Actie instrument",
        "Something the result of the instrument asks to be done (e.g. a referral to a MARAC); the "
        "safety action plan carries it as a task.",
        ("RiskAssessment",),
        parts=(
            Part("kind", "string", "The kind of action (e.g. referral)"),
            Part("conferenceKind", "string", "The kind of conference a referral is to", min=0),
            Part("nl", "string", "What to do, in Dutch"),
            Part("en", "string", "What to do, in English"),
        ),
    ),
    ExtensionDef(
        X_TASK,
        "Taak veiligheidsplan",
        "A task of the safety action plan with its status (e.g. a referral an instrument asked for).",
        ("CarePlan.activity.detail",),
        parts=(
            Part("id", "string", "The id of the task"),
            Part("kind", "string", "The kind of task (e.g. referral)"),
            Part("status", "Coding", "The status of the task", binding="task-status"),
            Part("conferenceKind", "string", "The kind of conference a referral is to", min=0),
            Part("source", "string", "The event id of the instrument application it comes from", min=0),
            Part("nl", "string", "What to do, in Dutch"),
            Part("en", "string", "What to do, in English"),
        ),
    ),
    ExtensionDef(
        X_NO_CODES,
        "Geen codes gekozen",
        "The item allows several codes and none was chosen (an answer, not a missing answer).",
        ("QuestionnaireResponse.item",),
        type="boolean",
    ),
)
"""Every extension of the mapping, by the URL the mapping uses."""

RULE_SET_SLICES: Final = (
    ("decisionPlugin", X_DECISION_PLUGIN, "*"),
    ("decisionPolicy", X_DECISION_POLICY, "1"),
)
"""The slices (name, extension, max) that carry the rules a transition was decided under."""
DECISION_SLICES: Final = (
    ("decisionRule", X_RULES, "*"),
    ("decisionEvidence", X_EVIDENCE, "*"),
    *RULE_SET_SLICES,
)
"""The slices of the decision behind a phase change: its rules, evidence and the rules in force."""

EXTENSION_BY_URL: Final[dict[str, ExtensionDef]] = {x.url: x for x in EXTENSIONS}
"""The definition of each extension, by its URL."""
