"""validate_bundle: one OperationOutcome issue per problem, located by a FHIRPath-style expression."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from factories import shipped_engine
from ketenzorg.demo import build_demo_case, walk
from ketenzorg.disclosure import Recipient
from ketenzorg.engine import Engine
from ketenzorg.errors import MalformedInputError
from ketenzorg.interop.definitions import X_GOAL_STATUS, X_RANK
from ketenzorg.interop.fhir import bundle_to_case, case_to_bundle
from ketenzorg.interop.fhirxml import FhirXmlError, from_xml, to_xml
from ketenzorg.interop.terminology import code_system
from ketenzorg.interop.validate import (
    MAX_ENTRIES,
    MAX_ISSUES,
    is_valid,
    issue,
    operation_outcome,
    read_bundle,
    validate_bundle,
)

# FHIR R4 value sets the OperationOutcome binds to (required bindings).
ISSUE_SEVERITY = {"fatal", "error", "warning", "information"}
ISSUE_TYPE = {
    "invalid", "structure", "required", "value", "invariant", "security", "login", "unknown",
    "expired", "forbidden", "suppressed", "processing", "not-supported", "duplicate",
    "multiple-matches", "not-found", "deleted", "too-long", "code-invalid", "extension",
    "too-costly", "business-rule", "conflict", "transient", "lock-error", "no-store", "exception",
    "timeout", "incomplete", "throttled", "informational",
}  # fmt: skip

NEW_URL = "urn:uuid:7e57da7a-0000-4000-8000-000000000001"
UNRESOLVED = "urn:uuid:7e57da7a-0000-4000-8000-0000000000ff"


# --- helpers -------------------------------------------------------------------------------------


@functools.cache
def _steps() -> list[Any]:
    return walk()


@functools.cache
def _bundle_bytes(step: int = -1, kind: str = "collection") -> bytes:
    return orjson.dumps(
        case_to_bundle(
            _steps()[step].case, recipient=Recipient.internal(), engine=shipped_engine(), type=kind
        )
    )  # type: ignore[arg-type]


def fresh(step: int = -1, kind: str = "collection") -> dict[str, Any]:
    """A private, mutable copy of the demo case's bundle (at a step of the walk)."""
    data: dict[str, Any] = orjson.loads(_bundle_bytes(step, kind))
    return data


def check(outcome: dict[str, Any]) -> dict[str, Any]:
    """The outcome is a well-formed R4 OperationOutcome and names no problem twice."""
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"], "R4 needs at least one issue"
    for item in outcome["issue"]:
        assert item["severity"] in ISSUE_SEVERITY, item
        assert item["code"] in ISSUE_TYPE, item
        assert isinstance(item["diagnostics"], str)
        assert item["diagnostics"].strip()
        for expression in item.get("expression", []):
            assert expression.startswith("Bundle"), item
    problems = [i for i in outcome["issue"] if i["severity"] in ("fatal", "error")]
    located = [tuple(i.get("expression", [])) for i in problems]
    assert len(located) == len(set(located)), f"a problem reported twice: {problems}"
    return outcome


def errors(outcome: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in check(outcome)["issue"] if i["severity"] in ("fatal", "error")]


def only_error(outcome: dict[str, Any]) -> dict[str, Any]:
    found = errors(outcome)
    assert len(found) == 1, found
    assert not is_valid(outcome)
    return found[0]


def index_of(bundle: dict[str, Any], test: Callable[[dict[str, Any]], bool]) -> int:
    return next(i for i, e in enumerate(bundle["entry"]) if test(e["resource"]))


def is_score(resource: dict[str, Any]) -> bool:
    return bool(
        resource["resourceType"] == "Observation" and resource["code"]["coding"][0]["code"] == "safety-score"
    )


def is_type(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda r: r["resourceType"] == name


def is_trajectory(resource: dict[str, Any]) -> bool:
    return resource["resourceType"] == "CarePlan" and any(
        c["code"] == "trajectory" for cat in resource["category"] for c in cat["coding"]
    )


def partner_score() -> dict[str, Any]:
    """A bundle with one partner score and no trajectory CarePlan (a partial bundle)."""
    from ketenzorg.demo import P_POLICE
    from ketenzorg.interop.definitions import CASE_ID, PARTY_ID

    observation = {
        "resourceType": "Observation",
        "identifier": [{"system": "https://partner.example.org/obs", "value": "obs-1"}],
        "status": "final",
        "code": {"coding": [{"system": code_system("observation-kind"), "code": "safety-score"}]},
        "basedOn": [{"identifier": {"system": CASE_ID, "value": _steps()[3].case.case_id}}],
        "performer": [{"identifier": {"system": PARTY_ID, "value": P_POLICE.id}}],
        "effectiveDateTime": "2026-03-20T10:00:00+01:00",
        "valueInteger": 6,
        "note": [{"text": "Geen meldingen (synthetisch)."}],
    }
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": NEW_URL, "resource": observation}],
    }


# --- valid bundles -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["collection", "transaction"])
def test_the_demo_bundle_is_valid(kind: str) -> None:
    bundle = orjson.loads(
        orjson.dumps(
            case_to_bundle(
                build_demo_case(), recipient=Recipient.internal(), engine=shipped_engine(), type=kind
            )
        )
    )  # type: ignore[arg-type]
    outcome = check(validate_bundle(bundle, engine=shipped_engine()))
    assert is_valid(outcome)
    assert len(outcome["issue"]) == 1
    assert outcome["issue"][0]["severity"] == "information"
    assert outcome["issue"][0]["code"] == "informational"


def test_the_demo_bundle_is_valid_in_strict_mode() -> None:
    outcome = check(validate_bundle(fresh(), strict=True, engine=Engine()))
    assert [i["severity"] for i in outcome["issue"]] == ["information"]


@pytest.mark.parametrize("step", range(len(walk())))
def test_every_step_of_the_demo_is_valid(step: int) -> None:
    outcome = check(validate_bundle(fresh(step), engine=Engine()))
    assert is_valid(outcome), outcome
    assert "case-level rules not applied" not in str(outcome)


def test_validation_does_not_change_the_bundle() -> None:
    bundle = fresh()
    bundle["entry"][index_of(bundle, is_score)]["resource"]["valueInteger"] = 11
    before = orjson.dumps(bundle)
    validate_bundle(bundle, strict=True, engine=Engine())
    assert orjson.dumps(bundle) == before


# --- layer 1: structure --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"resourceType": "Patient", "id": "p1"},
        {"type": "collection", "entry": []},
        [1, 2],
        "Bundle",
        None,
    ],
    ids=["patient", "no-resourceType", "array", "string", "null"],
)
def test_not_a_bundle_is_fatal(data: Any) -> None:
    issue = only_error(validate_bundle(data, engine=Engine()))
    assert issue["severity"] == "fatal"
    assert issue["code"] == "structure"
    assert issue["expression"] == ["Bundle"]


def test_entry_that_is_not_a_list_is_fatal() -> None:
    bundle = fresh()
    bundle["entry"] = {"resource": bundle["entry"][0]["resource"]}
    issue = only_error(validate_bundle(bundle, engine=Engine()))
    assert issue["severity"] == "fatal"
    assert issue["expression"] == ["Bundle.entry"]


@pytest.mark.parametrize("value", ["bogus", "Collection", None, 3])
def test_wrong_bundle_type(value: Any) -> None:
    bundle = fresh()
    bundle["type"] = value
    issue = only_error(validate_bundle(bundle, engine=Engine()))
    assert (issue["severity"], issue["code"]) == ("error", "value")
    assert issue["expression"] == ["Bundle.type"]


def test_entry_without_a_resource() -> None:
    bundle = fresh()
    bundle["entry"].append({"fullUrl": NEW_URL})
    issue = only_error(validate_bundle(bundle, engine=Engine()))
    assert (issue["severity"], issue["code"]) == ("error", "required")
    assert issue["expression"] == [f"Bundle.entry[{len(bundle['entry']) - 1}].resource"]


def test_entry_without_a_resource_is_fine_in_a_transaction_response() -> None:
    bundle = partner_score()
    bundle["type"] = "transaction-response"
    bundle["entry"].append({"response": {"status": "200 OK"}})
    assert is_valid(check(validate_bundle(bundle, engine=Engine())))
    bundle["type"] = "collection"
    assert only_error(validate_bundle(bundle, engine=Engine()))["expression"] == ["Bundle.entry[1].resource"]


def test_entry_that_is_not_an_object() -> None:
    bundle = fresh()
    bundle["entry"].append("Observation/1")
    issue = only_error(validate_bundle(bundle, engine=Engine()))
    assert issue["expression"] == [f"Bundle.entry[{len(bundle['entry']) - 1}]"]


def test_duplicate_full_url() -> None:
    bundle = fresh()
    patient = index_of(bundle, is_type("Patient"))
    bundle["entry"].append(orjson.loads(orjson.dumps(bundle["entry"][patient])))
    issue = only_error(validate_bundle(bundle, engine=Engine()))
    assert (issue["severity"], issue["code"]) == ("error", "duplicate")
    assert issue["expression"] == [f"Bundle.entry[{len(bundle['entry']) - 1}].fullUrl"]
    assert bundle["entry"][patient]["fullUrl"] not in issue["diagnostics"]  # described, not quoted
    assert issue["diagnostics"] == "this fullUrl appears twice"


@pytest.mark.parametrize("rtype", ["SubscriptionTopic", "Citation", "Ingredient", "RegulatedAuthorization"])
def test_r4b_only_resource_types_are_not_supported(rtype: str) -> None:
    bundle = fresh()
    bundle["entry"].append({"fullUrl": NEW_URL, "resource": {"resourceType": rtype, "status": "active"}})
    issue = only_error(validate_bundle(bundle, engine=Engine()))
    assert (issue["severity"], issue["code"]) == ("error", "not-supported")
    assert issue["expression"] == [f"Bundle.entry[{len(bundle['entry']) - 1}].resource"]
    assert rtype in issue["diagnostics"]


def test_r4b_only_resource_is_refused_in_strict_mode_too() -> None:
    bundle = fresh()
    bundle["entry"].append(
        {"fullUrl": NEW_URL, "resource": {"resourceType": "SubscriptionTopic", "status": "active"}}
    )
    issue = only_error(validate_bundle(bundle, strict=True, engine=Engine()))
    assert issue["code"] == "not-supported"


@pytest.mark.parametrize("rtype", ["Frobnicator", "patient", None])
def test_unknown_resource_type(rtype: str | None) -> None:
    bundle = fresh()
    resource: dict[str, Any] = {"id": "x1"}
    if rtype is not None:
        resource["resourceType"] = rtype
    bundle["entry"].append({"fullUrl": NEW_URL, "resource": resource})
    issue = only_error(validate_bundle(bundle, engine=Engine()))
    assert issue["severity"] == "error"
    assert issue["code"] in {"structure", "not-supported", "invalid"}
    assert issue["expression"] == [f"Bundle.entry[{len(bundle['entry']) - 1}].resource"]


@pytest.mark.parametrize(
    ("path", "value", "code"),
    [
        (("gender",), None, "structure"),
        (("gender",), "", "value"),
        (("telecom",), [], "structure"),
        (("maritalStatus",), {}, "structure"),
        (("name", 0, "text"), "", "value"),
        (("name", 0, "given"), [], "structure"),
        (("name", 0, "given"), ["Cliënt", None], "structure"),
    ],
    ids=["null", "empty-string", "empty-array", "empty-object", "nested-empty-string", "nested-empty-array",
         "null-in-array"],
)  # fmt: skip
def test_empty_values_are_not_allowed(path: tuple[Any, ...], value: Any, code: str) -> None:
    bundle = fresh()
    patient = index_of(bundle, is_type("Patient"))
    target = bundle["entry"][patient]["resource"]
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    issue = only_error(validate_bundle(bundle, engine=Engine()))
    assert (issue["severity"], issue["code"]) == ("error", code)
    where = f"Bundle.entry[{patient}].resource"
    for step in path:
        where += f"[{step}]" if isinstance(step, int) else f".{step}"
    if isinstance(value, list) and value:
        where += f"[{value.index(None)}]"
    assert issue["expression"] == [where]


# --- layer 2: the profile ------------------------------------------------------------------------


def test_code_not_in_our_code_system() -> None:
    bundle = fresh()
    score = index_of(bundle, is_score)
    bundle["entry"][score]["resource"]["interpretation"][0]["coding"][0]["code"] = "purple"
    issue = only_error(validate_bundle(bundle, engine=Engine()))
    assert (issue["severity"], issue["code"]) == ("error", "code-invalid")
    assert issue["expression"] == [f"Bundle.entry[{score}].resource.interpretation[0].coding[0].code"]
    assert "purple" not in issue["diagnostics"]  # described, not quoted
    assert issue["diagnostics"].startswith("not a code of")
    assert code_system("safety-band") in issue["diagnostics"]


def test_phase_code_that_does_not_exist() -> None:
    bundle = fresh()
    trajectory = index_of(bundle, is_trajectory)
    category = bundle["entry"][trajectory]["resource"]["category"]
    n = next(i for i, c in enumerate(category) if c["coding"][0]["system"] == code_system("phase"))
    category[n]["coding"][0]["code"] = "4"
    issue = only_error(validate_bundle(bundle, engine=Engine()))
    assert issue["code"] == "code-invalid"
    assert issue["expression"] == [f"Bundle.entry[{trajectory}].resource.category[{n}].coding[0].code"]


def test_codes_of_other_systems_are_not_judged() -> None:
    bundle = fresh()
    score = index_of(bundle, is_score)
    bundle["entry"][score]["resource"]["category"][0]["coding"][0]["code"] = "no-such-category-here"
    assert is_valid(check(validate_bundle(bundle, engine=Engine())))


def _drop(resource: dict[str, Any], key: str) -> None:
    del resource[key]


@pytest.mark.parametrize(
    ("change", "element", "code"),
    [
        (lambda r: r.update(valueInteger=11), "valueInteger", "value"),
        (lambda r: r.update(valueInteger=-1), "valueInteger", "value"),
        (lambda r: r.update(valueInteger="7"), "valueInteger", "value"),
        (lambda r: r.update(valueInteger=7.5), "valueInteger", "value"),
        (lambda r: r.update(valueInteger=True), "valueInteger", "value"),
        (lambda r: _drop(r, "valueInteger"), "valueInteger", "required"),
        (lambda r: _drop(r, "performer"), "performer", "required"),
        (lambda r: _drop(r, "note"), "note", "business-rule"),
        (lambda r: r.update(note=[{"text": "   "}]), "note", "business-rule"),
        (lambda r: r.update(note=[{"authorString": "Politie"}]), "note", "business-rule"),
        (lambda r: _drop(r, "effectiveDateTime"), "effectiveDateTime", "required"),
    ],
    ids=["11", "-1", "string-7", "7.5", "true", "no-value", "no-performer", "no-rationale", "blank-rationale",
         "note-without-text", "no-time"],
)  # fmt: skip
def test_score_rules(change: Callable[[dict[str, Any]], None], element: str, code: str) -> None:
    bundle = fresh()
    score = index_of(bundle, is_score)
    change(bundle["entry"][score]["resource"])
    issue = only_error(validate_bundle(bundle, engine=Engine()))
    assert (issue["severity"], issue["code"]) == ("error", code)
    assert issue["expression"] == [f"Bundle.entry[{score}].resource.{element}"]


@pytest.mark.parametrize("value", [0, 10])
def test_score_bounds_are_allowed(value: int) -> None:
    bundle = fresh()
    score = index_of(bundle, is_score)
    bundle["entry"][score]["resource"]["valueInteger"] = value
    band = "acute-danger" if value == 0 else "recovery"
    bundle["entry"][score]["resource"]["interpretation"][0]["coding"][0]["code"] = band
    outcome = check(validate_bundle(bundle, engine=Engine()))
    assert not any(i.get("expression", [""])[0].endswith("valueInteger") for i in outcome["issue"])


@pytest.mark.parametrize(
    ("element", "value"),
    [("valueInteger", None), ("performer", []), ("note", []), ("effectiveDateTime", "")],
    ids=["null-value", "empty-performer", "empty-note", "empty-time"],
)
def test_an_empty_score_element_is_one_problem(element: str, value: Any) -> None:
    bundle = fresh()
    score = index_of(bundle, is_score)
    bundle["entry"][score]["resource"][element] = value
    issue = only_error(validate_bundle(bundle, engine=Engine()))
    assert issue["expression"] == [f"Bundle.entry[{score}].resource.{element}"]


def test_reference_that_does_not_resolve() -> None:
    bundle = fresh()
    score = index_of(bundle, is_score)
    bundle["entry"][score]["resource"]["subject"] = {"reference": UNRESOLVED}
    issue = only_error(validate_bundle(bundle, engine=Engine()))
    assert (issue["severity"], issue["code"]) == ("error", "not-found")
    assert issue["expression"] == [f"Bundle.entry[{score}].resource.subject.reference"]
    assert UNRESOLVED not in issue["diagnostics"]  # described, not quoted
    assert "does not resolve" in issue["diagnostics"]


def test_references_outside_the_bundle_are_not_judged() -> None:
    bundle = fresh()
    score = index_of(bundle, is_score)
    bundle["entry"][score]["resource"]["derivedFrom"] = [
        {"reference": "https://partner.example.org/fhir/Observation/9"}
    ]
    assert is_valid(check(validate_bundle(bundle, engine=Engine())))


def test_every_problem_is_reported_once_and_all_at_once() -> None:
    bundle = fresh()
    scores = [i for i, e in enumerate(bundle["entry"]) if is_score(e["resource"])]
    patient = index_of(bundle, is_type("Patient"))
    bundle["entry"][scores[0]]["resource"]["valueInteger"] = 11
    del bundle["entry"][scores[1]]["resource"]["note"]
    bundle["entry"][scores[2]]["resource"]["interpretation"][0]["coding"][0]["code"] = "purple"
    bundle["entry"][scores[3]]["resource"]["subject"] = {"reference": UNRESOLVED}
    bundle["entry"][patient]["resource"]["gender"] = ""
    bundle["type"] = "bogus"
    found = errors(validate_bundle(bundle, engine=Engine()))
    assert sorted((i["code"], i["expression"][0]) for i in found) == sorted(
        [
            ("value", f"Bundle.entry[{scores[0]}].resource.valueInteger"),
            ("business-rule", f"Bundle.entry[{scores[1]}].resource.note"),
            ("code-invalid", f"Bundle.entry[{scores[2]}].resource.interpretation[0].coding[0].code"),
            ("not-found", f"Bundle.entry[{scores[3]}].resource.subject.reference"),
            ("value", f"Bundle.entry[{patient}].resource.gender"),
            ("value", "Bundle.type"),
        ]
    )


def test_outcome_loads_as_an_r4_operation_outcome() -> None:
    from fhir.resources.R4B.operationoutcome import OperationOutcome

    bundle = fresh()
    bundle["entry"][index_of(bundle, is_score)]["resource"]["valueInteger"] = 11
    outcome = validate_bundle(bundle, engine=Engine())
    loaded = OperationOutcome.model_validate(outcome)
    assert [i.expression for i in loaded.issue] == [i["expression"] for i in outcome["issue"]]


# --- layer 3: the case ---------------------------------------------------------------------------


def _latest_plan(bundle: dict[str, Any]) -> int:
    plans = [
        i
        for i, e in enumerate(bundle["entry"])
        if e["resource"]["resourceType"] == "CarePlan"
        and e["resource"]["category"][0]["coding"][0]["code"] == "safety-action-plan"
    ]
    return plans[-1]


def test_four_active_work_goals_break_the_top_3() -> None:
    bundle = fresh(3)  # phase 2: the plan has the Top 3 and one achieved goal
    plan = _latest_plan(bundle)
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    goals = [by_url[g["reference"]] for g in bundle["entry"][plan]["resource"]["goal"]]
    achieved = [g for g in goals if g["lifecycleStatus"] == "completed"]
    assert len(achieved) == 1
    assert len(goals) == 4
    goal = achieved[0]
    goal["lifecycleStatus"] = "active"
    del goal["achievementStatus"]
    goal["extension"] = [
        {"url": X_GOAL_STATUS, "valueCoding": {"system": code_system("goal-status"), "code": "active"}},
        {"url": X_RANK, "valueInteger": 4},
    ]
    issue = only_error(validate_bundle(bundle, engine=Engine()))
    assert (issue["severity"], issue["code"]) == ("error", "business-rule")
    assert issue["expression"][0].startswith(f"Bundle.entry[{plan}].resource")
    assert "4" in issue["diagnostics"]
    assert "3" in issue["diagnostics"]


def test_four_active_work_goals_added_to_the_latest_plan() -> None:
    bundle = fresh(3)
    plan = _latest_plan(bundle)
    resource = bundle["entry"][plan]["resource"]
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    template = next(
        by_url[g["reference"]]
        for g in resource["goal"]
        if by_url[g["reference"]]["lifecycleStatus"] == "active"
    )
    extra = orjson.loads(orjson.dumps(template))
    extra["id"] = NEW_URL.removeprefix("urn:uuid:")
    extra["identifier"] = [
        {"system": i["system"], "value": i["value"] + "-extra"} for i in extra["identifier"]
    ]
    extra["description"] = {"text": "Extra werkdoel (synthetisch)"}
    extra["extension"] = [x for x in extra["extension"] if x["url"] != X_RANK] + [
        {"url": X_RANK, "valueInteger": 4}
    ]
    bundle["entry"].append({"fullUrl": NEW_URL, "resource": extra})
    resource["goal"].append({"reference": NEW_URL})
    issue = only_error(validate_bundle(bundle, engine=Engine()))
    assert issue["code"] == "business-rule"
    assert issue["expression"][0].startswith(f"Bundle.entry[{plan}].resource")


def test_an_earlier_plan_is_not_judged_by_the_top_3() -> None:
    # The last demo step's latest plan has recovery goals only; earlier plans are revoked.
    bundle = fresh()
    assert is_valid(check(validate_bundle(bundle, engine=Engine())))
    assert bundle["entry"][_latest_plan(bundle)]["resource"]["status"] == "completed"


def test_a_score_from_a_party_outside_the_case_is_located() -> None:
    bundle = fresh()
    score = index_of(bundle, is_score)
    bundle["entry"][score]["resource"]["performer"][0]["identifier"]["value"] = "onbekende-partij"
    issue = only_error(validate_bundle(bundle, engine=Engine()))
    assert issue["expression"][0].startswith(f"Bundle.entry[{score}].resource")


def test_a_naive_time_in_a_whole_case_is_located() -> None:
    bundle = fresh()
    score = index_of(bundle, is_score)
    bundle["entry"][score]["resource"]["effectiveDateTime"] = "2026-01-19T10:00:00"
    issue = only_error(validate_bundle(bundle, engine=Engine()))
    assert issue["expression"][0].startswith(f"Bundle.entry[{score}].resource")


@pytest.mark.parametrize(
    ("rtype", "change"),
    [
        pytest.param("Patient", lambda r: r["name"][0].update(text={"x": 1}), id="name-object"),
        pytest.param("Organization", lambda r: r.pop("name"), id="organisation-without-name"),
    ],
)
def test_a_case_that_cannot_be_read_is_an_issue_not_an_exception(
    rtype: str, change: Callable[[dict[str, Any]], Any]
) -> None:
    bundle = fresh()
    where = index_of(bundle, is_type(rtype))  # the first Organization is our own
    change(bundle["entry"][where]["resource"])
    issue = only_error(validate_bundle(bundle, engine=Engine()))
    assert issue["expression"][0].startswith(f"Bundle.entry[{where}].resource")


# --- strict mode ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "element"),
    [
        (lambda r: r.update(colour="rood"), ""),  # an unknown element: located at its parent
        (lambda r: r["name"][0].update(family=["Achternaam"]), "name[0].family"),
        (lambda r: r.update(birthDate="1991-13-45"), "birthDate"),
        (lambda r: r["identifier"][0].update(period="altijd"), "identifier[0].period"),
    ],
    ids=["unknown-element", "nested-wrong-type", "bad-date", "nested-wrong-complex"],
)
def test_strict_mode_catches_structure_the_fast_layers_do_not(
    change: Callable[[dict[str, Any]], None], element: str
) -> None:
    bundle = fresh()
    patient = index_of(bundle, is_type("Patient"))
    change(bundle["entry"][patient]["resource"])
    assert is_valid(check(validate_bundle(bundle, engine=Engine())))
    found = errors(validate_bundle(bundle, strict=True, engine=Engine()))
    assert found
    assert all(i["code"] == "structure" for i in found)
    where = f"Bundle.entry[{patient}].resource" + (f".{element}" if element else "")
    assert {i["expression"][0] for i in found} == {where}


def test_strict_mode_locates_inside_a_score() -> None:
    bundle = fresh()
    score = index_of(bundle, is_score)
    bundle["entry"][score]["resource"]["note"][0]["time"] = "gisteren"
    found = errors(validate_bundle(bundle, strict=True, engine=Engine()))
    assert [i["expression"][0] for i in found] == [f"Bundle.entry[{score}].resource.note[0].time"]


def test_strict_mode_does_not_report_a_problem_twice() -> None:
    bundle = fresh()
    patient = index_of(bundle, is_type("Patient"))
    bundle["entry"][patient]["resource"]["gender"] = ""
    issue = only_error(validate_bundle(bundle, strict=True, engine=Engine()))
    assert issue["expression"] == [f"Bundle.entry[{patient}].resource.gender"]


# --- partial bundles -----------------------------------------------------------------------------


def test_a_partial_bundle_gets_the_informational_issue() -> None:
    outcome = check(validate_bundle(partner_score(), engine=Engine()))
    assert is_valid(outcome)
    assert len(outcome["issue"]) == 1
    info = outcome["issue"][0]
    assert (info["severity"], info["code"]) == ("information", "informational")
    assert "case-level rules not applied" in info["diagnostics"]


def test_a_partial_bundle_still_gets_the_profile_rules() -> None:
    bundle = partner_score()
    bundle["entry"][0]["resource"]["valueInteger"] = 11
    outcome = check(validate_bundle(bundle, engine=Engine()))
    issue = only_error(outcome)
    assert issue["expression"] == ["Bundle.entry[0].resource.valueInteger"]
    assert any("case-level rules not applied" in i["diagnostics"] for i in outcome["issue"])


def test_a_bundle_without_its_trajectory_plan_is_partial() -> None:
    bundle = fresh()
    trajectory = index_of(bundle, is_trajectory)
    # Keep every reference resolvable: the entry stays, only its kind changes.
    category = bundle["entry"][trajectory]["resource"]["category"]
    category[0] = {"text": "traject"}
    outcome = check(validate_bundle(bundle, engine=Engine()))
    assert is_valid(outcome)
    assert any("case-level rules not applied" in i["diagnostics"] for i in outcome["issue"])


# --- limits: entries per bundle, issues per outcome ----------------------------------------------


class Untouchable(list[Any]):
    """A list whose items may not be looked at: the proof that nothing was done per entry."""

    def __iter__(self) -> Any:
        raise AssertionError("an entry was looked at")

    def __getitem__(self, index: Any) -> Any:
        raise AssertionError("an entry was looked at")


def too_many_entries() -> list[Any]:
    return Untouchable([{}] * (MAX_ENTRIES + 1))


def test_a_bundle_of_too_many_entries_is_refused_before_any_entry_is_read() -> None:
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": too_many_entries()}
    outcome = check(validate_bundle(bundle, strict=True, engine=Engine()))
    assert outcome["issue"] == [
        {
            "severity": "fatal",
            "code": "too-costly",
            "diagnostics": f"{MAX_ENTRIES + 1} entries: a bundle may hold at most {MAX_ENTRIES}",
            "expression": ["Bundle.entry"],
        }
    ]
    with pytest.raises(MalformedInputError) as caught:
        bundle_to_case(bundle, engine=shipped_engine())
    assert caught.value.problems[0].path == "Bundle.entry"


def test_a_bundle_of_exactly_the_limit_is_read() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": "Basic"}}],
    }
    bundle["entry"] *= MAX_ENTRIES
    outcome = check(validate_bundle(bundle, engine=Engine()))
    assert is_valid(outcome)


def test_xml_with_too_many_entries_is_refused_both_ways() -> None:
    entries = [{"resource": {"resourceType": "Basic", "id": "b"}}] * (MAX_ENTRIES + 1)
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    with pytest.raises(FhirXmlError) as written:
        to_xml(bundle)
    assert written.value.problems[0].path == "Bundle.entry"
    document = (
        b'<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/>'
        + b"<entry/>" * (MAX_ENTRIES + 1)
        + b"</Bundle>"
    )
    with pytest.raises(MalformedInputError) as read:
        from_xml(document)
    assert read.value.problems[0].path == "Bundle.entry"


def many_problems(count: int) -> dict[str, Any]:
    """A bundle with exactly one error in each of ``count`` entries (an empty string)."""
    entries = [{"resource": {"resourceType": "Basic", "id": f"b{n}", "language": ""}} for n in range(count)]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def test_an_outcome_lists_at_most_the_limit_and_says_how_many_more() -> None:
    outcome = check(validate_bundle(many_problems(MAX_ISSUES + 500), engine=Engine()))
    assert len(outcome["issue"]) == MAX_ISSUES
    listed = outcome["issue"][:-1]
    assert [i["expression"] for i in listed] == [
        [f"Bundle.entry[{n}].resource.language"] for n in range(MAX_ISSUES - 1)
    ]
    last = outcome["issue"][-1]
    # 1,500 errors and the informational "no whole case": 999 listed, 502 not
    assert (last["severity"], last["code"]) == ("error", "too-costly")
    assert last["diagnostics"].startswith("502 more issues found and not listed")
    assert "expression" not in last
    assert not is_valid(outcome)


def test_an_outcome_at_the_limit_is_not_cut() -> None:
    outcome = check(validate_bundle(many_problems(MAX_ISSUES - 1), engine=Engine()))
    assert len(outcome["issue"]) == MAX_ISSUES
    assert all(i["code"] != "too-costly" for i in outcome["issue"])


def test_operation_outcome_keeps_the_worst_severity_of_what_it_cuts() -> None:
    warnings = [issue("warning", "informational", f"w{n}") for n in range(MAX_ISSUES)]
    outcome = operation_outcome([*warnings, issue("fatal", "structure", "f")])
    assert len(outcome["issue"]) == MAX_ISSUES
    assert outcome["issue"][-1]["severity"] == "fatal"
    assert outcome["issue"][-1]["diagnostics"].startswith("2 more issues")


def test_validation_re_decides_every_transition_a_bundle_records() -> None:
    """A phase change the rules refuse, put into a bundle by hand, is an error of the bundle itself
    (from Python too, not only on the command line), located at the resource that carries it."""
    from ketenzorg.domain import Phase
    from ketenzorg.events import PhaseChanged, TransitionKind
    from ketenzorg.testing import case_in_phase_1_ready, day

    engine = shipped_engine()
    case = case_in_phase_1_ready(engine, score=4)  # nobody scored high enough to advance
    forged = case.append(
        PhaseChanged(
            id="forged-advance",
            at=day(8),
            from_phase=Phase.IMMEDIATE_SAFETY,
            to_phase=Phase.RISK_DRIVEN_CARE,
            kind=TransitionKind.ADVANCE,
        )
    )
    bundle = orjson.loads(orjson.dumps(case_to_bundle(forged, recipient=Recipient.internal(), engine=engine)))
    outcome, read = read_bundle(bundle, engine=engine)
    assert read is None
    (error,) = [i for i in outcome["issue"] if i["severity"] == "error"]
    assert error["code"] == "business-rule"
    assert "not allowed" in error["diagnostics"]
    index = next(
        n
        for n, e in enumerate(bundle["entry"])
        if any(i.get("value") == "forged-advance" for i in e["resource"].get("identifier", ()))
    )
    assert error["expression"] == [f"Bundle.entry[{index}].resource"]
    lawful = orjson.loads(orjson.dumps(case_to_bundle(case, recipient=Recipient.internal(), engine=engine)))
    assert read_bundle(lawful, engine=engine)[1] == case
