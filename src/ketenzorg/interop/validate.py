"""Validate a FHIR bundle and report every problem as an OperationOutcome issue with its location.

Three layers, each issue located by a FHIRPath-style expression (``Bundle.entry[3].resource.valueInteger``):

1. **structure**: a Bundle of FHIR R4 (4.0.1) resources; resource types that R4B added and R4 does
   not have are refused. With ``strict=True`` every resource is also validated in full by the
   ``fhir.resources.R4B`` models (slower; opt-in).
2. **profile**: the ketenzorg profile's rules: codes from our code systems exist, a safety score is
   an integer 0-10 given by a performer, with a rationale; ``urn:uuid:`` references resolve.
3. **case**: for a bundle that carries a whole case, it must convert into a valid case and satisfy
   the case-level rules (at most three active work goals, ranked).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final, Literal

from ketenzorg.errors import Problem
from ketenzorg.interop.terminology import CODE_SYSTEMS, code_system

__all__ = [
    "R4_RESOURCE_TYPES",
    "Severity",
    "is_valid",
    "issue",
    "operation_outcome",
    "validate_bundle",
]

Severity = Literal["fatal", "error", "warning", "information"]

R4_RESOURCE_TYPES: Final = frozenset(
    """Account ActivityDefinition AdverseEvent AllergyIntolerance Appointment AppointmentResponse
    AuditEvent Basic Binary BiologicallyDerivedProduct BodyStructure Bundle CapabilityStatement
    CarePlan CareTeam CatalogEntry ChargeItem ChargeItemDefinition Claim ClaimResponse
    ClinicalImpression CodeSystem Communication CommunicationRequest CompartmentDefinition
    Composition ConceptMap Condition Consent Contract Coverage CoverageEligibilityRequest
    CoverageEligibilityResponse DetectedIssue Device DeviceDefinition DeviceMetric DeviceRequest
    DeviceUseStatement DiagnosticReport DocumentManifest DocumentReference EffectEvidenceSynthesis
    Encounter Endpoint EnrollmentRequest EnrollmentResponse EpisodeOfCare EventDefinition Evidence
    EvidenceVariable ExampleScenario ExplanationOfBenefit FamilyMemberHistory Flag Goal
    GraphDefinition Group GuidanceResponse HealthcareService ImagingStudy Immunization
    ImmunizationEvaluation ImmunizationRecommendation ImplementationGuide InsurancePlan Invoice
    Library Linkage List Location Measure MeasureReport Media Medication MedicationAdministration
    MedicationDispense MedicationKnowledge MedicationRequest MedicationStatement MedicinalProduct
    MedicinalProductAuthorization MedicinalProductContraindication MedicinalProductIndication
    MedicinalProductIngredient MedicinalProductInteraction MedicinalProductManufactured
    MedicinalProductPackaged MedicinalProductPharmaceutical MedicinalProductUndesirableEffect
    MessageDefinition MessageHeader MolecularSequence NamingSystem NutritionOrder Observation
    ObservationDefinition OperationDefinition OperationOutcome Organization
    OrganizationAffiliation Parameters Patient PaymentNotice PaymentReconciliation Person
    PlanDefinition Practitioner PractitionerRole Procedure Provenance Questionnaire
    QuestionnaireResponse RelatedPerson RequestGroup ResearchDefinition ResearchElementDefinition
    ResearchStudy ResearchSubject RiskAssessment RiskEvidenceSynthesis Schedule SearchParameter
    ServiceRequest Slot Specimen SpecimenDefinition StructureDefinition StructureMap Subscription
    Substance SubstanceNucleicAcid SubstancePolymer SubstanceProtein SubstanceReferenceInformation
    SubstanceSourceMaterial SubstanceSpecification SupplyDelivery SupplyRequest Task
    TerminologyCapabilities TestReport TestScript ValueSet VerificationResult VisionPrescription""".split()
)
"""The 146 resource types of FHIR R4 (4.0.1)."""

R4B_ONLY: Final = frozenset(
    """AdministrableProductDefinition ClinicalUseDefinition Citation EvidenceReport Ingredient
    ManufacturedItemDefinition MedicinalProductDefinition NutritionProduct
    PackagedProductDefinition RegulatedAuthorization SubscriptionStatus SubscriptionTopic""".split()
)

BUNDLE_TYPES: Final = frozenset(
    """document message transaction transaction-response batch batch-response history searchset
    collection""".split()
)
_OUR_SYSTEMS = {code_system(name): cs for name, cs in CODE_SYSTEMS.items()}
_SCORE = code_system("observation-kind")


def issue(severity: Severity, code: str, diagnostics: str, expression: str | None = None) -> dict[str, Any]:
    """One OperationOutcome issue."""
    out: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        out["expression"] = [expression]
    return out


def operation_outcome(issues: list[dict[str, Any]]) -> dict[str, Any]:
    """An OperationOutcome; without problems it holds one informational issue (R4 needs one)."""
    if not issues:
        issues = [issue("information", "informational", "no problems found")]
    return {"resourceType": "OperationOutcome", "issue": issues}


def is_valid(outcome: Mapping[str, Any]) -> bool:
    return not any(i["severity"] in ("fatal", "error") for i in outcome["issue"])


def problems_to_issues(problems: list[Problem], code: str = "invalid") -> list[dict[str, Any]]:
    out = []
    for p in problems:
        where = p.path if p.path.startswith("Bundle") else "Bundle"
        text = str(p) if not p.path.startswith("Bundle") else p.message
        out.append(issue("error", code, text, where))
    return out


# --- layer 1: structure --------------------------------------------------------------------------


def _structure(bundle: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(bundle, Mapping):
        yield issue("fatal", "structure", "not a JSON object", "Bundle")
        return
    if bundle.get("resourceType") != "Bundle":
        found = bundle.get("resourceType")
        yield issue("fatal", "structure", f"expected a Bundle, found {found!r}", "Bundle")
        return
    if bundle.get("type") not in BUNDLE_TYPES:
        yield issue("error", "value", f"{bundle.get('type')!r} is not a Bundle.type", "Bundle.type")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        yield issue("fatal", "structure", "Bundle.entry must be a list", "Bundle.entry")
        return
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        at = f"Bundle.entry[{index}]"
        if not isinstance(entry, Mapping):
            yield issue("error", "structure", "an entry must be an object", at)
            continue
        url = entry.get("fullUrl")
        if url is not None:
            if not isinstance(url, str) or not url:
                yield issue("error", "value", "fullUrl must be a URI", f"{at}.fullUrl")
            elif url in seen:
                yield issue("error", "duplicate", f"fullUrl {url!r} appears twice", f"{at}.fullUrl")
            else:
                seen.add(url)
        resource = entry.get("resource")
        if resource is None:
            if bundle.get("type") not in ("transaction-response", "batch-response"):
                yield issue("error", "required", "an entry needs a resource", f"{at}.resource")
            continue
        if not isinstance(resource, Mapping):
            yield issue("error", "structure", "a resource must be an object", f"{at}.resource")
            continue
        rtype = resource.get("resourceType")
        if rtype in R4B_ONLY:
            yield issue(
                "error",
                "not-supported",
                f"{rtype} is an R4B resource that FHIR R4 (4.0.1) does not have",
                f"{at}.resource",
            )
        elif rtype not in R4_RESOURCE_TYPES:
            yield issue("error", "structure", f"{rtype!r} is not a FHIR R4 resource type", f"{at}.resource")
        yield from _empty_values(resource, f"{at}.resource")


def _empty_values(value: Any, path: str) -> Iterator[dict[str, Any]]:
    """FHIR JSON has no nulls, empty strings, empty arrays or empty objects."""
    if value is None:
        yield issue("error", "structure", "null is not allowed in FHIR JSON", path)
    elif isinstance(value, str):
        if value == "":
            yield issue("error", "value", "an empty string is not allowed", path)
    elif isinstance(value, list):
        if not value:
            yield issue("error", "structure", "an empty array is not allowed", path)
        for index, item in enumerate(value):
            yield from _empty_values(item, f"{path}[{index}]")
    elif isinstance(value, Mapping):
        if not value:
            yield issue("error", "structure", "an empty object is not allowed", path)
        for key, item in value.items():
            if key == "resource" or key == "div":
                continue
            yield from _empty_values(item, f"{path}.{key}")


def _strict(bundle: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Full structural validation of each resource by fhir.resources' R4B models."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError as PydanticError

    for index, entry in enumerate(bundle.get("entry", [])):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping) or resource.get("resourceType") not in R4_RESOURCE_TYPES:
            continue
        model = get_fhir_model_class(resource["resourceType"])
        try:
            model.model_validate(resource)
        except PydanticError as error:
            for detail in error.errors():
                path = f"Bundle.entry[{index}].resource"
                for part in detail["loc"]:
                    path += f"[{part}]" if isinstance(part, int) else f".{part}"
                yield issue("error", "structure", detail["msg"], path)


# --- layer 2: the profile ------------------------------------------------------------------------


def _codings(value: Any, path: str) -> Iterator[tuple[Mapping[str, Any], str]]:
    if isinstance(value, Mapping):
        if "system" in value and "code" in value:
            yield value, path
        for key, item in value.items():
            if key != "resource":
                yield from _codings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _codings(item, f"{path}[{index}]")


def _references(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        ref = value.get("reference")
        if isinstance(ref, str):
            yield ref, f"{path}.reference"
        for key, item in value.items():
            if key != "resource":
                yield from _references(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _references(item, f"{path}[{index}]")


def _profile(bundle: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    entries = [e for e in bundle.get("entry", []) if isinstance(e, Mapping)]
    urls = {e.get("fullUrl") for e in entries}
    for index, entry in enumerate(bundle.get("entry", [])):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping):
            continue
        at = f"Bundle.entry[{index}].resource"
        for coding, path in _codings(resource, at):
            system = coding.get("system")
            cs = _OUR_SYSTEMS.get(system) if isinstance(system, str) else None
            if cs is not None and coding.get("code") not in {c.code for c in cs.concepts}:
                yield issue(
                    "error",
                    "code-invalid",
                    f"{coding.get('code')!r} is not a code of {system}",
                    f"{path}.code",
                )
        for ref, path in _references(resource, at):
            if ref.startswith("urn:uuid:") and ref not in urls:
                yield issue("error", "not-found", f"reference {ref} does not resolve in the bundle", path)
        if resource.get("resourceType") == "Observation" and _is_score(resource):
            yield from _score_rules(resource, at)


def _is_score(resource: Mapping[str, Any]) -> bool:
    codings = (resource.get("code") or {}).get("coding") or []
    return any(
        c.get("system") == _SCORE and c.get("code") == "safety-score"
        for c in codings
        if isinstance(c, Mapping)
    )


def _score_rules(resource: Mapping[str, Any], at: str) -> Iterator[dict[str, Any]]:
    value = resource.get("valueInteger")
    if value is None:
        yield issue("error", "required", "a safety score needs valueInteger", f"{at}.valueInteger")
    elif isinstance(value, bool) or not isinstance(value, int):
        yield issue("error", "value", "a safety score is an integer", f"{at}.valueInteger")
    elif not 0 <= value <= 10:
        yield issue("error", "value", f"{value} is not in 0..10", f"{at}.valueInteger")
    if not resource.get("performer"):
        yield issue("error", "required", "a safety score names the party that gave it", f"{at}.performer")
    notes = resource.get("note") or []
    if not any(isinstance(n, Mapping) and str(n.get("text", "")).strip() for n in notes):
        yield issue(
            "error",
            "business-rule",
            "a safety score needs its rationale (onderbouwing); without it, it does not count",
            f"{at}.note",
        )
    if not resource.get("effectiveDateTime"):
        yield issue("error", "required", "a safety score needs its time", f"{at}.effectiveDateTime")


# --- layer 3: the case ---------------------------------------------------------------------------


def _carries_a_case(bundle: Mapping[str, Any]) -> bool:
    trajectory = code_system("careplan-kind")
    for entry in bundle.get("entry", []):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(resource, Mapping) and resource.get("resourceType") == "CarePlan":
            for concept in resource.get("category", []):
                for c in (concept or {}).get("coding", []):
                    if c.get("system") == trajectory and c.get("code") == "trajectory":
                        return True
    return False


def _case(bundle: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    from ketenzorg.decision import RuleStatus
    from ketenzorg.engine import Engine
    from ketenzorg.interop.fhir import FhirMappingError, bundle_to_case, entry_of_event

    try:
        case = bundle_to_case(bundle)
    except FhirMappingError as error:
        yield from problems_to_issues(list(error.problems))
        return
    state = case.state
    if state.plan is None:
        return
    decision = Engine().evaluate(case, at=max(e.at for e in case.events))
    top3 = decision.result("plan.top-3")
    if top3.status is RuleStatus.FAILED:
        where = entry_of_event(bundle, state.plan.id)
        for item in top3.missing:
            yield issue("error", "business-rule", item.render("en"), f"{where}.goal" if where else "Bundle")


def validate_bundle(bundle: Any, *, strict: bool = False) -> dict[str, Any]:
    """Validate ``bundle`` (parsed JSON) and return an OperationOutcome (a dict)."""
    issues = list(_structure(bundle))
    if any(i["severity"] == "fatal" for i in issues):
        return operation_outcome(issues)
    if strict:
        issues += list(_strict(bundle))
    issues += list(_profile(bundle))
    if not issues and _carries_a_case(bundle):
        issues += list(_case(bundle))
    elif not _carries_a_case(bundle):
        issues.append(
            issue(
                "information",
                "informational",
                "the bundle carries no whole case (no trajectory CarePlan): case-level rules not applied",
            )
        )
    return operation_outcome(issues)
