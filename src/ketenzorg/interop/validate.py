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
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Literal

from ketenzorg.errors import Problem, ValidationError
from ketenzorg.interop.terminology import CODE_SYSTEMS, code_system

if TYPE_CHECKING:
    from ketenzorg.case import Case

__all__ = [
    "R4_RESOURCE_TYPES",
    "Severity",
    "is_valid",
    "issue",
    "operation_outcome",
    "read_bundle",
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
_SCALARS: Final = frozenset({int, bool, float, Decimal})
_OUR_CODES: Final = {
    code_system(name): frozenset(c.code for c in cs.concepts) for name, cs in CODE_SYSTEMS.items()
}
_SCORE = code_system("observation-kind")


def issue(severity: Severity, code: str, diagnostics: str, expression: str | None = None) -> dict[str, Any]:
    """One OperationOutcome issue."""
    out: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        out["expression"] = [expression]
    return out


def operation_outcome(issues: list[dict[str, Any]]) -> dict[str, Any]:
    """An OperationOutcome, one issue per problem: a second finding at the same location (say
    "empty" from the structure and "missing" from the profile) is the same problem and is dropped.
    Without problems it holds one informational issue (R4 needs one)."""
    seen: set[tuple[str, ...]] = set()
    unique = []
    for item in issues:
        where = tuple(item.get("expression", ()))
        if where and item["severity"] in ("fatal", "error"):
            if where in seen:
                continue
            seen.add(where)
        unique.append(item)
    if not unique:
        unique = [issue("information", "informational", "no problems found")]
    return {"resourceType": "OperationOutcome", "issue": unique}


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


def _path(base: str, parts: list[str | int]) -> str:
    return base + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


class _Walk:
    """One pass over a resource: empty values (structure), our codes and references (profile).

    Paths are built only for a problem; orjson gives exactly dict/list/str, so exact type checks
    are used first and ``Mapping``/``list`` subclasses only as a fallback.
    """

    def __init__(self, base: str, urls: set[Any], out: list[dict[str, Any]]) -> None:
        self.base = base
        self.urls = urls
        self.out = out
        self.parts: list[str | int] = []

    def report(self, severity: Severity, code: str, text: str, *extra: str | int) -> None:
        self.out.append(issue(severity, code, text, _path(self.base, [*self.parts, *extra])))

    def visit(self, value: Any) -> None:
        kind = type(value)
        if kind is str:
            if not value:
                self.report("error", "value", "an empty string is not allowed")
        elif kind is dict:
            self.visit_object(value)
        elif kind is list:
            self.visit_array(value)
        elif kind in _SCALARS:
            return
        elif value is None:
            self.report("error", "structure", "null is not allowed in FHIR JSON")
        elif isinstance(value, Mapping):
            self.visit_object(value)
        elif isinstance(value, list):
            self.visit_array(value)

    def visit_object(self, value: Mapping[str, Any]) -> None:
        if not value:
            self.report("error", "structure", "an empty object is not allowed")
            return
        system = value.get("system")
        codes = _OUR_CODES.get(system) if type(system) is str else None
        if codes is not None and value.get("code") not in codes:
            self.report("error", "code-invalid", f"{value.get('code')!r} is not a code of {system}", "code")
        ref = value.get("reference")
        if type(ref) is str and ref.startswith("urn:uuid:") and ref not in self.urls:
            self.report("error", "not-found", f"reference {ref} does not resolve in the bundle", "reference")
        parts = self.parts
        for key, item in value.items():
            kind = type(item)
            if kind in _SCALARS or key == "div" or key == "resource":
                continue
            if kind is str:  # leaves are checked here: one call less per value
                if not item:
                    self.report("error", "value", "an empty string is not allowed", key)
                continue
            parts.append(key)
            self.visit(item)
            parts.pop()

    def visit_array(self, value: list[Any]) -> None:
        if not value:
            self.report("error", "structure", "an empty array is not allowed")
        parts = self.parts
        for index, item in enumerate(value):
            parts.append(index)
            self.visit(item)
            parts.pop()


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


def _profile(bundle: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Structure inside each resource and the profile's rules, in one walk per resource."""
    entries = bundle.get("entry", [])
    urls = {e.get("fullUrl") for e in entries if isinstance(e, Mapping)}
    out: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping):
            continue
        at = f"Bundle.entry[{index}].resource"
        _Walk(at, urls, out).visit(resource)
        if resource.get("resourceType") == "Observation" and _is_score(resource):
            out += _score_rules(resource, at)
    yield from out


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


def _secret_stays(bundle: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """A stay at a secret location points at no place anyone can find.

    A ``Location`` a secret stay uses (its ``location``, or a Location whose identifier is the
    stay's ``secret-location`` id) carries no address, telecom, position or narrative, and no name,
    alias or description but the placeholder; no Location is used by a secret stay and an open stay
    both. Issues name the element, never its value.
    """
    from ketenzorg.interop.fhir import SECRET_LOCATION_NAME, X_SECRET_LOCATION

    def items(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value]

    entries: list[tuple[int, Mapping[str, Any], Mapping[str, Any]]] = [
        (index, entry, entry["resource"])
        for index, entry in enumerate(items(bundle.get("entry")))
        if isinstance(entry, Mapping) and isinstance(entry.get("resource"), Mapping)
    ]
    resources: dict[int, Mapping[str, Any]] = {}
    by_url: dict[str, int] = {}
    by_identifier: dict[str, list[int]] = {}
    for index, entry, resource in entries:
        if resource.get("resourceType") == "Location":
            resources[index] = resource
            if isinstance(entry.get("fullUrl"), str):
                by_url[entry["fullUrl"]] = index
            for ident in items(resource.get("identifier")):
                if isinstance(ident, Mapping) and isinstance(ident.get("value"), str):
                    by_identifier.setdefault(ident["value"], []).append(index)
    secret_uses: set[int] = set()
    open_uses: set[int] = set()
    for index, _, resource in entries:
        if resource.get("resourceType") != "Encounter":
            continue
        used = [
            by_url[ref["reference"]]
            for element in items(resource.get("location"))
            if isinstance(element, Mapping)
            for ref in [element.get("location")]
            if isinstance(ref, Mapping)
            and isinstance(ref.get("reference"), str)
            and ref["reference"] in by_url
        ]
        secret = [
            ext
            for ext in items(resource.get("extension"))
            if isinstance(ext, Mapping) and ext.get("url") == X_SECRET_LOCATION
        ]
        if not secret:
            open_uses.update(used)
            continue
        if "location" in resource:
            yield issue(
                "error",
                "business-rule",
                "a stay at a secret location names no location (only that it is secret)",
                f"Bundle.entry[{index}].resource.location",
            )
        secret_uses.update(used)
        for part in (part for ext in secret for part in items(ext.get("extension"))):
            if (
                isinstance(part, Mapping)
                and part.get("url") == "id"
                and isinstance(part.get("valueString"), str)
            ):
                secret_uses.update(by_identifier.get(part["valueString"], ()))
    for index in sorted(secret_uses):
        resource, at = resources[index], f"Bundle.entry[{index}].resource"
        for element in ("address", "telecom", "position", "text", "alias", "description", "name"):
            if element in resource and not (element == "name" and resource["name"] == SECRET_LOCATION_NAME):
                yield issue(
                    "error",
                    "business-rule",
                    f"a location used by a stay at a secret location has no {element}"
                    + (f" (only {SECRET_LOCATION_NAME!r})" if element == "name" else ""),
                    f"{at}.{element}",
                )
        if index in open_uses:
            yield issue(
                "error",
                "business-rule",
                "a location used by a stay at a secret location is also used by an open stay: "
                "a move to a secret shelter is a new location (a new id)",
                at,
            )


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


def _case(bundle: Mapping[str, Any], issues: list[dict[str, Any]]) -> Case | None:
    from ketenzorg.decision import RuleStatus
    from ketenzorg.interop.fhir import bundle_to_case, default_engine, entry_of_event

    try:
        case = bundle_to_case(bundle)
    except ValidationError as error:  # FhirMappingError, or a value the domain refuses
        issues += problems_to_issues(list(error.problems))
        return None
    state = case.state
    if state.plan is not None:
        decision = default_engine().evaluate(case, at=state.latest_at)
        top3 = decision.result("plan.top-3")
        if top3.status is RuleStatus.FAILED:
            where = entry_of_event(bundle, state.plan.id)
            for item in top3.missing:
                issues.append(
                    issue("error", "business-rule", item.render("en"), f"{where}.goal" if where else "Bundle")
                )
    return case


def read_bundle(bundle: Any, *, strict: bool = False) -> tuple[dict[str, Any], Case | None]:
    """Validate ``bundle`` and, when it carries a whole valid case, convert it (once).

    Returns the OperationOutcome and the case (``None`` when there is none or it is invalid).
    """
    issues = list(_structure(bundle))
    if any(i["severity"] == "fatal" for i in issues):
        return operation_outcome(issues), None
    if strict:
        issues += list(_strict(bundle))
    issues += list(_profile(bundle))
    issues += list(_secret_stays(bundle))
    case: Case | None = None
    if not _carries_a_case(bundle):
        issues.append(
            issue(
                "information",
                "informational",
                "the bundle carries no whole case (no trajectory CarePlan): case-level rules not applied",
            )
        )
    elif not issues:
        case = _case(bundle, issues)
    if any(i["severity"] in ("fatal", "error") for i in issues):
        case = None
    return operation_outcome(issues), case


def validate_bundle(bundle: Any, *, strict: bool = False) -> dict[str, Any]:
    """Validate ``bundle`` (parsed JSON) and return an OperationOutcome (a dict)."""
    return read_bundle(bundle, strict=strict)[0]
