"""Validate a FHIR bundle and report every problem as an OperationOutcome issue with its location.

Three layers, each issue located by a FHIRPath-style expression (``Bundle.entry[3].resource.valueInteger``):

1. **structure**: a Bundle of FHIR R4 (4.0.1) resources; resource types that R4B added and R4 does
   not have are refused. With ``strict=True`` every resource is also validated in full by the
   ``fhir.resources.R4B`` models (slower; opt-in).
2. **profile**: the ketenzorg profile's rules: codes from our code systems exist, a safety score is
   an integer 0-10 given by a performer, with a rationale; ``urn:uuid:`` references resolve.
3. **case**: for a bundle that carries a whole case, it must convert into a valid case and satisfy
   the case-level rules (at most three active work goals, ranked).

Any JSON value is accepted as input: a wrong JSON type anywhere becomes an issue at its location,
never an exception. Limits: a bundle of more than :data:`MAX_ENTRIES` entries is refused at once
(fatal, before any entry is looked at), and an OperationOutcome lists at most :data:`MAX_ISSUES`
issues, the last of which then says how many more were found. Narrative XHTML (``text.div``) is
held to FHIR's narrative rules (:mod:`ketenzorg.interop.narrative`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Literal

from ketenzorg.errors import Problem, ValidationError
from ketenzorg.interop.terminology import CODE_SYSTEMS, code_system

if TYPE_CHECKING:
    from ketenzorg.case import Case

__all__ = [
    "MAX_ENTRIES",
    "MAX_ISSUES",
    "R4_RESOURCE_TYPES",
    "Severity",
    "is_valid",
    "issue",
    "operation_outcome",
    "read_bundle",
    "validate_bundle",
]

Severity = Literal["fatal", "error", "warning", "information"]

MAX_ENTRIES: Final = 50_000
"""Entries a bundle may hold: more than the 32 MiB input limit can carry as real resources (a
minimal incident Observation is about 800 bytes, so about 40,000 fit), so whatever fits the byte
limit is written and read; a hostile bundle of empty entries beyond it is refused before any
per-entry work (the parse budgets of :mod:`ketenzorg.strictjson` bound its memory)."""
MAX_ISSUES: Final = 1_000
"""Issues an OperationOutcome lists; the last then says how many more were found and not listed."""

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


_RANK: Final = {"information": 0, "warning": 1, "error": 2, "fatal": 3}


class _Issues:
    """Issues as they are found, one per problem: a second finding at the same location (say
    "empty" from the structure and "missing" from the profile) is the same problem and is dropped.
    At most :data:`MAX_ISSUES` are kept (so a hostile bundle cannot make the list grow without
    bound); the rest are only counted, with the worst severity among them (once the list is full,
    a second finding at a listed location is counted too)."""

    def __init__(self) -> None:
        self.kept: list[dict[str, Any]] = []
        self.seen: set[tuple[str, ...]] = set()
        self.more = 0
        self.worst_more: Severity = "information"
        self.failed = False
        self.fatal = False

    def append(self, item: dict[str, Any]) -> None:
        severity = item["severity"]
        if severity in ("fatal", "error"):
            self.failed = True
            self.fatal = self.fatal or severity == "fatal"
            where = tuple(item.get("expression", ()))
            if where in self.seen:
                return
            if where and len(self.kept) < MAX_ISSUES:
                self.seen.add(where)
        if len(self.kept) < MAX_ISSUES:
            self.kept.append(item)
        else:
            self.count(severity)

    @property
    def full(self) -> bool:
        return len(self.kept) >= MAX_ISSUES

    def count(self, severity: Severity) -> None:
        """One more issue, not listed (the list is full)."""
        self.more += 1
        if severity in ("fatal", "error"):
            self.failed = True
            self.fatal = self.fatal or severity == "fatal"
        if _RANK[severity] > _RANK[self.worst_more]:
            self.worst_more = severity

    def __iadd__(self, items: Iterable[dict[str, Any]]) -> _Issues:
        for item in items:
            self.append(item)
        return self

    def outcome(self) -> dict[str, Any]:
        found = list(self.kept)
        if self.more:
            # The last place is for the note that says how many more there were.
            last = found.pop()
            worst = max(self.worst_more, last["severity"], key=_RANK.__getitem__)
            found.append(
                issue(
                    worst,
                    "too-costly",
                    f"{self.more + 1} more issues found and not listed: an OperationOutcome lists at most "
                    f"{MAX_ISSUES}, so the list was cut here",
                )
            )
        if not found:
            found = [issue("information", "informational", "no problems found")]
        return {"resourceType": "OperationOutcome", "issue": found}


def operation_outcome(issues: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """An OperationOutcome, one issue per problem (a second error at the same location is dropped),
    at most :data:`MAX_ISSUES` of them. Without problems it holds one informational issue (R4 needs one)."""
    collected = _Issues()
    collected += issues
    return collected.outcome()


def is_valid(outcome: Mapping[str, Any]) -> bool:
    return not any(i["severity"] in ("fatal", "error") for i in outcome["issue"])


def problems_to_issues(problems: list[Problem], code: str = "invalid") -> list[dict[str, Any]]:
    out = []
    for p in problems:
        where = p.path if p.path.startswith("Bundle") else "Bundle"
        text = str(p) if not p.path.startswith("Bundle") else p.message
        out.append(issue("error", code, text, where))
    return out


# --- reading JSON of any shape ------------------------------------------------------------------


def _entries(bundle: Mapping[str, Any]) -> list[Any]:
    """``Bundle.entry`` when it is an array (the structure layer reports any other shape)."""
    entries = bundle.get("entry")
    return entries if isinstance(entries, list) else []


def _resource(entry: Any) -> Mapping[str, Any] | None:
    resource = entry.get("resource") if isinstance(entry, Mapping) else None
    return resource if isinstance(resource, Mapping) else None


def _array(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _wrong_type(expected: str, value: Any, where: str) -> dict[str, Any]:
    return issue("error", "structure", f"expected {expected}, found {_json_kind(value)}", where)


# --- layer 1: structure --------------------------------------------------------------------------


def _found_type(rtype: Any) -> str:
    """What stands where a resource type belongs, named only when it is a real R4 type."""
    if rtype is None:
        return "no resourceType"
    if isinstance(rtype, str):
        return rtype if rtype in R4_RESOURCE_TYPES or rtype in R4B_ONLY else "an unknown resourceType"
    return _json_kind(rtype)


def _structure(bundle: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(bundle, Mapping):
        yield issue("fatal", "structure", f"expected a JSON object, found {_json_kind(bundle)}", "Bundle")
        return
    rtype = bundle.get("resourceType")
    if rtype != "Bundle":
        found = _found_type(rtype)
        yield issue("fatal", "structure", f"expected a Bundle, found {found}", "Bundle")
        return
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        yield _wrong_type("an array", entries, "Bundle.entry") | {"severity": "fatal"}
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
            yield _wrong_type("an object (an entry)", entry, at)
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
            yield _wrong_type("an object (a resource)", resource, f"{at}.resource")
            continue
        rtype = resource.get("resourceType")
        if not isinstance(rtype, str):
            found = "no resourceType" if rtype is None else f"a resourceType that is {_json_kind(rtype)}"
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


def _path(base: str, parts: list[str | int]) -> str:
    return base + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


class _Walk:
    """One pass over a resource: empty values (structure), our codes and references (profile),
    narrative XHTML.

    Paths are built only for a problem; orjson gives exactly dict/list/str, so exact type checks
    are used first and ``Mapping``/``list`` subclasses only as a fallback.
    """

    def __init__(self, base: str, urls: set[str], out: _Issues) -> None:
        self.base = base
        self.urls = urls
        self.out = out
        self.parts: list[str | int] = []

    def report(self, severity: Severity, code: str, text: str, *extra: str | int) -> None:
        if self.out.full:  # only counted: no location is built for an issue that is not listed
            self.out.count(severity)
            return
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
        if codes is not None:
            code = value.get("code")
            if type(code) is not str:
                self.report("error", "code-invalid", f"a code of {system} is a string", "code")
            elif code not in codes:
                self.report("error", "code-invalid", f"not a code of {system}", "code")
        ref = value.get("reference")
        if type(ref) is str and ref.startswith("urn:uuid:") and ref not in self.urls:
            self.report(
                "error", "not-found", "this urn:uuid reference does not resolve in the bundle", "reference"
            )
        parts = self.parts
        if "" in value:
            self.report("error", "structure", "an empty key is not a FHIR element")
        for key, item in value.items():
            kind = type(item)
            if kind is str:  # leaves are checked here: one call less per value
                if key == "div":
                    self.narrative(item)
                elif not item:
                    self.report("error", "value", "an empty string is not allowed", key)
                continue
            if kind in _SCALARS or key == "resource":
                if key == "div":
                    self.narrative(item)
                continue
            if key == "div":
                self.narrative(item)
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

    def narrative(self, value: Any) -> None:
        """FHIR's narrative rules (txt-1, txt-2) for a ``div``, the one place XHTML is in FHIR JSON."""
        if type(value) is not str:
            self.out.append(
                _wrong_type("XHTML text (a string)", value, _path(self.base, [*self.parts, "div"]))
            )
            return
        from ketenzorg.interop.narrative import check_xhtml

        problems = check_xhtml(value)
        if problems:
            self.report("error", "invariant", "narrative: " + "; ".join(problems), "div")


_MODEL_FAILURES: Final = (AttributeError, KeyError, IndexError, TypeError, ValueError, ArithmeticError)
"""What fhir.resources raises on some hostile shapes itself, besides pydantic's ValidationError
(a contained resource of an unknown type, say)."""


def _strict(bundle: Mapping[str, Any], only: Iterable[int] | None = None) -> Iterator[dict[str, Any]]:
    """Full structural validation of each resource (or of the entries ``only``) by fhir.resources'
    R4B models."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError as PydanticError

    entries = _entries(bundle)
    for index in range(len(entries)) if only is None else only:
        resource = _resource(entries[index]) if index < len(entries) else None
        rtype = resource.get("resourceType") if resource is not None else None
        if resource is None or not isinstance(rtype, str) or rtype not in R4_RESOURCE_TYPES:
            continue  # the structure layer reports it
        at = f"Bundle.entry[{index}].resource"
        try:
            model = get_fhir_model_class(rtype)
        except (KeyError, ValueError):
            yield issue("warning", "not-supported", f"{rtype} has no R4B model: not validated in full", at)
            continue
        try:
            model.model_validate(resource)
        except PydanticError as error:
            for detail in error.errors():
                yield _model_issue(at, detail)
        except _MODEL_FAILURES as error:
            yield issue(
                "error",
                "structure",
                f"cannot be validated in full: the R4B models fail on its shape ({type(error).__name__})",
                at,
            )
        except RecursionError:
            yield issue("error", "structure", "cannot be validated in full: nested too deep", at)


_MODEL_MESSAGES: Final = {
    "extra_forbidden": "an element that FHIR R4 does not define here (its name is not repeated)",
    "string_pattern_mismatch": "does not have the R4 lexical form of its type",
    "missing": "a required element is missing",
}


def _model_issue(at: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    """One issue of the R4B models, located, and worded without repeating the input: an unknown
    element is located at its parent (its name may be anything), a pattern is not printed as a
    regular expression, and a quoted input value is replaced by a description."""
    kind = detail.get("type")
    loc = list(detail.get("loc", ()))
    if kind == "extra_forbidden" and loc:
        loc = loc[:-1]
    path = at + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    message = _MODEL_MESSAGES.get(kind) if isinstance(kind, str) else None
    if message is None:
        message = str(detail.get("msg", "does not fit the R4 model"))
        given = detail.get("input")
        if isinstance(given, str | int | float) and not isinstance(given, bool) and str(given) in message:
            message = message.replace(repr(given), "the value").replace(str(given), "the value")
        message = " ".join(message.split())  # no raw newlines or tabs in a diagnostic
    return issue("error", "structure", message, path)


# --- layer 2: the profile ------------------------------------------------------------------------


def _profile(bundle: Mapping[str, Any], issues: _Issues) -> None:
    """Structure inside each resource and the profile's rules, in one walk per resource."""
    entries = _entries(bundle)
    urls = {url for e in entries if isinstance(e, Mapping) and isinstance(url := e.get("fullUrl"), str)}
    for index, entry in enumerate(entries):
        resource = _resource(entry)
        if resource is None:
            continue
        at = f"Bundle.entry[{index}].resource"
        _Walk(at, urls, issues).visit(resource)
        if resource.get("resourceType") == "Observation" and _is_score(resource, at, issues):
            issues += _score_rules(resource, at)


def _is_score(resource: Mapping[str, Any], at: str, issues: _Issues) -> bool:
    """Whether an Observation is a safety score; a wrong JSON type on the way is reported."""
    code = resource.get("code")
    if code is None:
        return False
    if not isinstance(code, Mapping):
        issues.append(_wrong_type("an object (a CodeableConcept)", code, f"{at}.code"))
        return False
    codings = code.get("coding")
    if codings is None:
        return False
    if not isinstance(codings, list):
        issues.append(_wrong_type("an array", codings, f"{at}.code.coding"))
        return False
    found = False
    for n, c in enumerate(codings):
        if not isinstance(c, Mapping):
            issues.append(_wrong_type("an object (a Coding)", c, f"{at}.code.coding[{n}]"))
        elif c.get("system") == _SCORE and c.get("code") == "safety-score":
            found = True
    return found


def _score_rules(resource: Mapping[str, Any], at: str) -> Iterator[dict[str, Any]]:
    value = resource.get("valueInteger")
    if value is None:
        yield issue("error", "required", "a safety score needs valueInteger", f"{at}.valueInteger")
    elif isinstance(value, bool) or not isinstance(value, int):
        yield issue("error", "value", "a safety score is an integer", f"{at}.valueInteger")
    elif not 0 <= value <= 10:
        yield issue("error", "value", f"{value} is not in 0..10", f"{at}.valueInteger")
    performer = resource.get("performer")
    if not performer:
        yield issue("error", "required", "a safety score names the party that gave it", f"{at}.performer")
    elif not isinstance(performer, list):
        yield _wrong_type("an array", performer, f"{at}.performer")
    notes = resource.get("note")
    if notes is not None and not isinstance(notes, list):
        yield _wrong_type("an array", notes, f"{at}.note")
    elif not any(isinstance(n, Mapping) and str(n.get("text", "")).strip() for n in _array(notes)):
        yield issue(
            "error",
            "business-rule",
            "a safety score needs its rationale (onderbouwing); without it, it does not count",
            f"{at}.note",
        )
    moment = resource.get("effectiveDateTime")
    if not moment:
        yield issue("error", "required", "a safety score needs its time", f"{at}.effectiveDateTime")
    elif not isinstance(moment, str):
        yield _wrong_type("a dateTime (a string)", moment, f"{at}.effectiveDateTime")


def _secret_stays(bundle: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """A stay at a secret location points at no place anyone can find.

    A ``Location`` a secret stay uses (its ``location``, or a Location whose identifier is the
    stay's ``secret-location`` id) carries no address, telecom, position or narrative, and no name,
    alias or description but the placeholder; no Location is used by a secret stay and an open stay
    both. Issues name the element, never its value.
    """
    from ketenzorg.interop.definitions import X_SECRET_LOCATION
    from ketenzorg.interop.fhir import SECRET_LOCATION_NAME

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


def _carries_a_case(bundle: Mapping[str, Any], issues: _Issues) -> bool:
    """Whether a CarePlan is a trajectory (the mark of a whole case); a wrong JSON type in the
    categories of a CarePlan is reported, as it could hide one."""
    trajectory = code_system("careplan-kind")
    found = False
    for index, entry in enumerate(_entries(bundle)):
        resource = _resource(entry)
        if resource is None or resource.get("resourceType") != "CarePlan" or "category" not in resource:
            continue
        at = f"Bundle.entry[{index}].resource.category"
        concepts = resource["category"]
        if not isinstance(concepts, list):
            issues.append(_wrong_type("an array", concepts, at))
            continue
        for n, concept in enumerate(concepts):
            if not isinstance(concept, Mapping):
                issues.append(_wrong_type("an object (a CodeableConcept)", concept, f"{at}[{n}]"))
                continue
            codings = concept.get("coding", [])
            if not isinstance(codings, list):
                issues.append(_wrong_type("an array", codings, f"{at}[{n}].coding"))
                continue
            for m, c in enumerate(codings):
                if not isinstance(c, Mapping):
                    issues.append(_wrong_type("an object (a Coding)", c, f"{at}[{n}].coding[{m}]"))
                elif c.get("system") == trajectory and c.get("code") == "trajectory":
                    found = True
    return found


_REFINED_ENTRIES: Final = 20
"""Entries the case reader could not read that are then validated in full to say where the shape is
wrong (each takes about as long as validating the resource with ``strict=True``)."""


def _case(bundle: Mapping[str, Any], issues: _Issues) -> Case | None:
    from ketenzorg.decision import RuleStatus
    from ketenzorg.engine import Engine
    from ketenzorg.interop.read import bundle_to_case, entry_of_event

    engine = Engine()  # the shipped plugins and the default policy, until the caller's engine is passed
    try:
        case = bundle_to_case(bundle, engine=engine)
    except ValidationError as error:  # FhirMappingError, or a value the domain refuses
        issues += _located(bundle, error.problems)
        return None
    state = case.state
    if state.plan is not None:
        try:
            decision = engine.evaluate(case, at=state.latest_at)
        except OverflowError:
            issues.append(
                issue("error", "value", "the case's dates are out of range: it cannot be evaluated")
            )
            return None
        top3 = decision.result("plan.top-3")
        if top3.status is RuleStatus.FAILED:
            where = entry_of_event(bundle, state.plan.id)
            for item in top3.missing:
                issues.append(
                    issue("error", "business-rule", item.render("en"), f"{where}.goal" if where else "Bundle")
                )
    return case


_WHOLE_ENTRY = re.compile(r"Bundle\.entry\[(\d+)\](\.resource)?")


def _located(bundle: Mapping[str, Any], problems: Iterable[Problem]) -> list[dict[str, Any]]:
    """The case reader's problems as issues. Where it could only say that a resource cannot be read
    (a JSON type it did not expect, say), the R4 models of that resource say where: their issues
    take its place (for the first :data:`_REFINED_ENTRIES` such resources)."""
    out: list[dict[str, Any]] = []
    refined: dict[int, list[dict[str, Any]]] = {}
    for problem in problems:
        whole = _WHOLE_ENTRY.fullmatch(problem.path)
        if whole is not None:
            index = int(whole.group(1))
            if index not in refined and len(refined) < _REFINED_ENTRIES:
                refined[index] = [i for i in _strict(bundle, [index]) if i["severity"] == "error"]
            if refined.get(index):
                continue
        out += problems_to_issues([problem])
    for found in refined.values():
        out += found
    return out


def read_bundle(bundle: Any, *, strict: bool = False) -> tuple[dict[str, Any], Case | None]:
    """Validate ``bundle`` and, when it carries a whole valid case, convert it (once).

    Returns the OperationOutcome and the case (``None`` when there is none or it is invalid).
    Any JSON value is accepted: a wrong shape is an issue, never an exception.
    """
    issues = _Issues()
    issues += _structure(bundle)
    if issues.fatal:
        return issues.outcome(), None
    if strict:
        issues += _strict(bundle)
    _profile(bundle, issues)
    issues += _secret_stays(bundle)
    case: Case | None = None
    if not _carries_a_case(bundle, issues):
        issues.append(
            issue(
                "information",
                "informational",
                "the bundle carries no whole case (no trajectory CarePlan): case-level rules not applied",
            )
        )
    elif not issues.failed:
        case = _case(bundle, issues)
    if issues.failed:
        case = None
    return issues.outcome(), case


def validate_bundle(bundle: Any, *, strict: bool = False) -> dict[str, Any]:
    """Validate ``bundle`` (parsed JSON) and return an OperationOutcome (a dict)."""
    return read_bundle(bundle, strict=strict)[0]
