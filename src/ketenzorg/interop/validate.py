"""Validate a FHIR bundle and report every problem as an OperationOutcome issue with its location.

Three layers, each issue located by a FHIRPath-style expression (``Bundle.entry[3].resource.valueInteger``):

1. **structure** (:mod:`~ketenzorg.interop.validate_structure`): a Bundle of FHIR R4 (4.0.1)
   resources; resource types that R4B added and R4 does not have are refused. With ``strict=True``
   every resource is also validated in full by the ``fhir.resources.R4B`` models
   (:mod:`~ketenzorg.interop.validate_strict`; slower, opt-in, and the only place those models load).
2. **profile** (:mod:`~ketenzorg.interop.validate_profile`): the ketenzorg profile's rules: codes from
   our code systems exist, a safety score is an integer 0-10 given by a performer, with a rationale;
   ``urn:uuid:`` references resolve.
3. **answers** (here, with :mod:`~ketenzorg.interop.answers`): every QuestionnaireResponse against
   the instrument it claims, as the caller's engine has it: types, required items, unknown or
   repeated linkIds, ranges, allowed codes, and the result a RiskAssessment records against what
   the instrument gives; each problem an issue of its own (an instrument the engine does not have:
   a warning). In every bundle, a partner's too, whether or not it carries a case.
4. **case** (here): for a bundle that carries a whole case, it must convert into a valid case and
   satisfy the case-level rules of the caller's engine (at most three active work goals, ranked).

Any JSON value is accepted as input: a wrong JSON type anywhere becomes an issue at its location,
never an exception. Limits (:mod:`ketenzorg.limits`): a bundle of more than :data:`MAX_ENTRIES`
entries is refused at once (fatal, before any entry is looked at), and an OperationOutcome lists at
most :data:`MAX_ISSUES` issues (:mod:`~ketenzorg.interop.validate_outcome`), the last of which then
says how many more were found. Narrative XHTML (``text.div``) is held to FHIR's narrative rules
(:mod:`ketenzorg.interop.narrative`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from ketenzorg.errors import Problem, ValidationError
from ketenzorg.interop.validate_outcome import (
    Issues,
    Severity,
    is_valid,
    issue,
    operation_outcome,
    problems_to_issues,
)
from ketenzorg.interop.validate_profile import carries_a_case, check_profile, check_secret_stays
from ketenzorg.interop.validate_strict import check_strict
from ketenzorg.interop.validate_structure import BUNDLE_TYPES, R4_RESOURCE_TYPES, R4B_ONLY, check_structure
from ketenzorg.limits import MAX_ENTRIES, MAX_ISSUES

if TYPE_CHECKING:
    from ketenzorg.case import Case
    from ketenzorg.engine import Engine
    from ketenzorg.interop.assessment import Applications

__all__ = [
    "BUNDLE_TYPES",
    "MAX_ENTRIES",
    "MAX_ISSUES",
    "R4B_ONLY",
    "R4_RESOURCE_TYPES",
    "Severity",
    "is_valid",
    "issue",
    "operation_outcome",
    "problems_to_issues",
    "read_bundle",
    "validate_bundle",
]


# --- layer 3: the answers ------------------------------------------------------------------------


def _answers(bundle: Mapping[str, Any], engine: Engine, applications: Applications) -> list[dict[str, Any]]:
    """Layer 3: every answer problem of the bundle as an issue. Several errors at one location (the
    required items a response lacks, say) become one issue that names them all: an outcome keeps
    one error per location, and none may be lost. The applications read go into ``applications``,
    so that layer 4 reads and re-checks none of them again."""
    from ketenzorg.interop.assessment import application_issues

    found = application_issues(
        bundle, engine.instruments, hook_timeout=engine.hook_timeout, applications=applications
    )
    out: list[dict[str, Any]] = []
    errors_at: dict[str, dict[str, Any]] = {}
    for item in found:
        if not item.is_error:
            out.append(issue(item.severity, item.code, item.message, item.expression))
            continue
        earlier = errors_at.get(item.expression)
        if earlier is not None:
            earlier["diagnostics"] += f"; {item.message}"
            continue
        errors_at[item.expression] = issue(item.severity, item.code, item.message, item.expression)
        out.append(errors_at[item.expression])
    return out


# --- layer 4: the case ---------------------------------------------------------------------------


_REFINED_ENTRIES: Final = 20
"""Entries the case reader could not read that are then validated in full (``strict=True`` only) to
say where the shape is wrong (each takes about as long as validating the resource in full)."""


def _case(
    bundle: Mapping[str, Any], issues: Issues, engine: Engine, applications: Applications, *, strict: bool
) -> Case | None:
    """Layer 4: the bundle as a case, judged by the caller's engine (its policy and instruments):
    every recorded transition is re-decided, then the case-level rules (the Top 3) are applied."""
    from ketenzorg.decision import RuleStatus
    from ketenzorg.interop.read import entry_of_event, read_case

    try:
        case, warnings = read_case(bundle, engine=engine, applications=applications)
    except ValidationError as error:  # FhirMappingError, or a value the domain refuses
        issues += _located(bundle, error.problems, strict=strict)
        return None
    listed = {(tuple(i.get("expression", ())), i["diagnostics"]) for i in issues.kept}
    for warning in warnings:  # layer 3 has listed those it found
        if ((warning.expression,), warning.message) not in listed:
            issues.append(issue(warning.severity, warning.code, warning.message, warning.expression))
    from ketenzorg.errors import TransitionBlockedError

    try:  # every recorded transition re-decided (once): a forged phase change is an error
        case = engine.replay(case.case_id, case.events)
    except TransitionBlockedError as error:
        where = entry_of_event(bundle, error.event_id) if error.event_id is not None else None
        issues.append(issue("error", "business-rule", str(error), where))
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


def _located(bundle: Mapping[str, Any], problems: Iterable[Problem], *, strict: bool) -> list[dict[str, Any]]:
    """The case reader's problems as issues. Where it could only say that a resource cannot be read
    (a JSON type it did not expect, say), a strict validation lets the R4 models of that resource
    say where: their issues take its place (for the first :data:`_REFINED_ENTRIES` such resources).
    Without ``strict`` the models are not loaded, and the reader's own location stands."""
    out: list[dict[str, Any]] = []
    refined: dict[int, list[dict[str, Any]]] = {}
    for problem in problems:
        whole = _WHOLE_ENTRY.fullmatch(problem.path) if strict else None
        if whole is not None:
            index = int(whole.group(1))
            if index not in refined and len(refined) < _REFINED_ENTRIES:
                refined[index] = [i for i in check_strict(bundle, [index]) if i["severity"] == "error"]
            if refined.get(index):
                continue
        out += problems_to_issues([problem])
    for found in refined.values():
        out += found
    return out


def read_bundle(bundle: Any, *, engine: Engine, strict: bool = False) -> tuple[dict[str, Any], Case | None]:
    """Validate ``bundle`` and, when it carries a whole valid case, convert it (once).

    ``engine`` is the caller's: the answers are checked against its instruments, and the
    case-level rules (the Top 3) are those of its policy.

    Returns the OperationOutcome and the case (``None`` when there is none or it is invalid).
    Any JSON value is accepted: a wrong shape is an issue, never an exception.
    """
    issues = Issues()
    issues += check_structure(bundle)
    if issues.fatal:
        return issues.outcome(), None
    if strict:
        issues += check_strict(bundle)
    check_profile(bundle, issues)
    issues += check_secret_stays(bundle)
    from ketenzorg.interop.assessment import Applications

    applications = Applications(bundle)
    issues += _answers(bundle, engine, applications)
    case: Case | None = None
    if not carries_a_case(bundle, issues):
        issues.append(
            issue(
                "information",
                "informational",
                "the bundle carries no whole case (no trajectory CarePlan): case-level rules not applied",
            )
        )
    elif not issues.failed:
        case = _case(bundle, issues, engine, applications, strict=strict)
    if issues.failed:
        case = None
    return issues.outcome(), case


def validate_bundle(bundle: Any, *, engine: Engine, strict: bool = False) -> dict[str, Any]:
    """Validate ``bundle`` (parsed JSON) under ``engine`` and return an OperationOutcome (a dict)."""
    return read_bundle(bundle, engine=engine, strict=strict)[0]
