"""Validation, layer 1: the structure of a bundle of FHIR R4 (4.0.1) resources.

A bundle of more than :data:`~ketenzorg.limits.MAX_ENTRIES` entries is refused at once (fatal, before
any entry is looked at); resource types that R4B added and R4 does not have are refused.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from ketenzorg.interop.validate_outcome import issue, json_kind, wrong_type
from ketenzorg.limits import MAX_ENTRIES

__all__ = ["BUNDLE_TYPES", "R4B_ONLY", "R4_RESOURCE_TYPES", "check_structure"]

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


def _found_type(rtype: Any) -> str:
    """What stands where a resource type belongs, named only when it is a real R4 type."""
    if rtype is None:
        return "no resourceType"
    if isinstance(rtype, str):
        return rtype if rtype in R4_RESOURCE_TYPES or rtype in R4B_ONLY else "an unknown resourceType"
    return json_kind(rtype)


def check_structure(bundle: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(bundle, Mapping):
        yield issue("fatal", "structure", f"expected a JSON object, found {json_kind(bundle)}", "Bundle")
        return
    rtype = bundle.get("resourceType")
    if rtype != "Bundle":
        found = _found_type(rtype)
        yield issue("fatal", "structure", f"expected a Bundle, found {found}", "Bundle")
        return
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        yield wrong_type("an array", entries, "Bundle.entry") | {"severity": "fatal"}
        return
    if len(entries) > MAX_ENTRIES:
        yield issue(
            "fatal",
            "too-costly",
            f"{len(entries)} entries: a bundle may hold at most {MAX_ENTRIES}",
            "Bundle.entry",
        )
        return
    kind = bundle.get("type")
    if not isinstance(kind, str) or kind not in BUNDLE_TYPES:
        what = "a Bundle needs its type" if kind is None else "not one of the Bundle types"
        yield issue("error", "value", what, "Bundle.type")
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        at = f"Bundle.entry[{index}]"
        if not isinstance(entry, Mapping):
            yield wrong_type("an object (an entry)", entry, at)
            continue
        url = entry.get("fullUrl")
        if "fullUrl" in entry:
            if not isinstance(url, str) or not url:
                yield issue("error", "value", "fullUrl must be a URI", f"{at}.fullUrl")
            elif url in seen:
                yield issue("error", "duplicate", "this fullUrl appears twice", f"{at}.fullUrl")
            else:
                seen[url] = index
        resource = entry.get("resource")
        if resource is None:
            if kind not in ("transaction-response", "batch-response"):
                yield issue("error", "required", "an entry needs a resource", f"{at}.resource")
            continue
        if not isinstance(resource, Mapping):
            yield wrong_type("an object (a resource)", resource, f"{at}.resource")
            continue
        rtype = resource.get("resourceType")
        if not isinstance(rtype, str):
            found = "no resourceType" if rtype is None else f"a resourceType that is {json_kind(rtype)}"
            yield issue("error", "structure", f"{found}: not a FHIR R4 resource", f"{at}.resource")
        elif rtype in R4B_ONLY:
            yield issue(
                "error",
                "not-supported",
                f"{rtype} is an R4B resource that FHIR R4 (4.0.1) does not have",
                f"{at}.resource",
            )
        elif rtype not in R4_RESOURCE_TYPES:
            yield issue("error", "structure", "not a FHIR R4 resource type", f"{at}.resource")
