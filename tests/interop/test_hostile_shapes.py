"""Every reader of a bundle survives any JSON shape: a wrong type anywhere is a located problem.

The demo case's bundle with one value replaced (every key at every depth, by null, a boolean, a
number, a decimal, strings, arrays and objects) or with an empty key added, through
``validate_bundle``/``read_bundle`` (also ``strict=True``), ``bundle_to_case``, ``to_xml`` and
``merge_bundle``: what escapes is a ketenzorg ``ValidationError`` at most, never another exception.
In CI one replacement per distinct element path (list positions and resource type taken together);
under ``HYPOTHESIS_PROFILE=thorough`` every path with every value.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import orjson
import pytest

from factories import run_cli as run
from factories import shipped_engine
from ketenzorg import Case, Engine
from ketenzorg.demo import walk
from ketenzorg.disclosure import Recipient
from ketenzorg.errors import ValidationError
from ketenzorg.interop.fhir import FhirMappingError, bundle_to_case, case_to_bundle
from ketenzorg.interop.fhirxml import FhirXmlError, to_xml
from ketenzorg.interop.merge import merge_bundle
from ketenzorg.interop.validate import is_valid, read_bundle, validate_bundle

THOROUGH = os.environ.get("HYPOTHESIS_PROFILE", "ci") == "thorough"

Path_ = tuple[str | int, ...]
ADD_EMPTY_KEY = object()
"""Not a value: the variant that adds a key ``""`` to the object at the path."""
VALUES: list[Any] = [None, True, 0, Decimal("1.5"), "", "x", [], {}, [{}], {"a": 1}]


@functools.cache
def _demo() -> tuple[Case, bytes]:
    case = walk(Engine())[-1].case
    return case, orjson.dumps(case_to_bundle(case, recipient=Recipient.internal(), engine=shipped_engine()))


def demo_case() -> Case:
    return _demo()[0]


def fresh() -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(_demo()[1])
    return data


def paths(value: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    """Every key and every array position, at every depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from paths(item, (*prefix, index))


def element_path(bundle: dict[str, Any], path: Path_) -> tuple[Any, ...]:
    """A path with its array positions left out and the resource type put in: the element it names."""
    in_resource = len(path) > 2 and path[0] == "entry" and path[2] == "resource"
    rtype = bundle["entry"][path[1]]["resource"]["resourceType"] if in_resource else ""
    return (rtype, *("*" if isinstance(p, int) else p for p in path))


def at(bundle: dict[str, Any], path: Path_) -> Any:
    node: Any = bundle
    for part in path:
        node = node[part]
    return node


def mutated(path: Path_, value: Any) -> dict[str, Any]:
    bundle = fresh()
    if value is ADD_EMPTY_KEY:
        at(bundle, path)[""] = 1
    else:
        at(bundle, path[:-1])[path[-1]] = value
    return bundle


@functools.cache
def variants() -> list[tuple[Path_, Any]]:
    """In CI one per distinct element (a value rotating through VALUES); thorough: all of them."""
    bundle = fresh()
    every = list(paths(bundle))
    objects = [p for p in every if isinstance(at(bundle, p), dict)]
    if THOROUGH:
        return (
            [(p, v) for p in every for v in VALUES]
            + [((), ADD_EMPTY_KEY)]
            + [(p, ADD_EMPTY_KEY) for p in objects]
        )
    first: dict[tuple[Any, ...], Path_] = {}
    for p in every:
        first.setdefault(element_path(bundle, p), p)
    chosen = [(p, VALUES[n % len(VALUES)]) for n, p in enumerate(first.values())]
    distinct_objects = {element_path(bundle, p): p for p in objects}
    return chosen + [((), ADD_EMPTY_KEY)] + [(p, ADD_EMPTY_KEY) for p in list(distinct_objects.values())[::4]]


def describe(path: Path_, value: Any) -> str:
    where = "Bundle" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    return f"{where} = {'<extra empty key>' if value is ADD_EMPTY_KEY else repr(value)}"


def check_outcome(outcome: Any) -> None:
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"]
    for item in outcome["issue"]:
        assert isinstance(item["diagnostics"], str)
        assert item["diagnostics"]
        for expression in item.get("expression", []):
            assert expression.startswith("Bundle"), item


def readers(bundle: dict[str, Any], *, strict: bool = False, merge: bool = False) -> list[str]:
    """Run every reader; return what went wrong (an escaped exception or a malformed outcome)."""
    wrong: list[str] = []

    def attempt(name: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except ValidationError:
            return None
        except Exception as error:  # the point: nothing else may escape
            wrong.append(f"{name}: {type(error).__name__}: {error}")
            return None

    read = attempt("read_bundle", lambda: read_bundle(bundle, engine=Engine()))
    if read is None and not wrong:
        wrong.append("read_bundle raised a ValidationError instead of reporting an issue")
    elif read is not None:
        outcome, case = read
        check_outcome(outcome)
        if case is not None:
            assert is_valid(outcome)
    if strict:
        outcome = attempt(
            "validate_bundle(strict=True)",
            lambda: validate_bundle(bundle, strict=True, engine=Engine()),
        )
        if outcome is not None:
            check_outcome(outcome)
    attempt("bundle_to_case", lambda: bundle_to_case(bundle, engine=shipped_engine()))
    attempt("to_xml", lambda: to_xml(bundle))
    if merge:
        attempt("merge_bundle", lambda: merge_bundle(Engine(), demo_case(), bundle))
    return wrong


def test_every_reader_survives_every_shape() -> None:
    failures = []
    chosen = variants()
    assert len(chosen) > (40_000 if THOROUGH else 450)
    bundle = fresh()
    seen: set[tuple[Any, ...]] = set()
    for n, (path, value) in enumerate(chosen):
        # validate --strict and merge are the slow ones: in CI every 10th variant; when thorough,
        # every value once per element (list positions taken together)
        key = (*element_path(bundle, path), repr(value)) if path else ("", repr(value))
        slow = key not in seen if THOROUGH else n % 10 == 0
        seen.add(key)
        wrong = readers(mutated(path, value), strict=slow, merge=slow)
        failures += [f"{describe(path, value)}: {w}" for w in wrong]
    assert not failures, "\n".join(failures[:50])


# --- the shapes the review found crashing validate, each by name ---------------------------------


def _first(test: Callable[[dict[str, Any]], bool]) -> int:
    bundle = fresh()
    return next(i for i, e in enumerate(bundle["entry"]) if test(e["resource"]))


def _trajectory(resource: dict[str, Any]) -> bool:
    return (
        resource["resourceType"] == "CarePlan"
        and resource["category"][0]["coding"][0]["code"] == "trajectory"
    )


def _score(resource: dict[str, Any]) -> bool:
    return (
        resource["resourceType"] == "Observation" and resource["code"]["coding"][0]["code"] == "safety-score"
    )


def _review_paths() -> list[tuple[str, Path_]]:
    plan, score = _first(_trajectory), _first(_score)
    return [
        ("category", ("entry", plan, "resource", "category")),
        ("category item", ("entry", plan, "resource", "category", 0)),
        ("coding", ("entry", plan, "resource", "category", 0, "coding")),
        ("coding of a score", ("entry", score, "resource", "code", "coding")),
        ("code of a score", ("entry", score, "resource", "code")),
        ("a Coding's code", ("entry", score, "resource", "interpretation", 0, "coding", 0, "code")),
        ("fullUrl", ("entry", score, "fullUrl")),
        ("resourceType", ("entry", score, "resource", "resourceType")),
        ("Bundle.type", ("type",)),
        ("note of a score", ("entry", score, "resource", "note")),
    ]


ACCEPTED: Final = {("fullUrl", repr("x")), ("category item", repr({"a": 1}))}
"""Replacements that are still well-formed: a relative URI; a CodeableConcept with an element
unknown to FHIR (strict validation refuses that; without it the CarePlan is just not a trajectory)."""


@pytest.mark.parametrize("value", VALUES, ids=repr)
@pytest.mark.parametrize(("name", "path"), _review_paths(), ids=[n for n, _ in _review_paths()])
def test_a_wrong_json_type_is_an_issue_not_a_crash(name: str, path: Path_, value: Any) -> None:
    outcome, case = read_bundle(mutated(path, value), engine=Engine())  # nothing may be raised
    check_outcome(outcome)
    if (name, repr(value)) in ACCEPTED:
        return
    assert not is_valid(outcome), outcome
    assert case is None
    located = [
        e for i in outcome["issue"] if i["severity"] in ("error", "fatal") for e in i.get("expression", [])
    ]
    assert located


def test_an_answer_without_a_value_is_located() -> None:
    bundle = fresh()
    index = _first(lambda r: r["resourceType"] == "QuestionnaireResponse")
    item = next(
        i
        for i in at(bundle, ("entry", index, "resource", "item"))
        if i.get("answer") and "extension" not in i and "valueCoding" not in i["answer"][0]
    )
    item["answer"][0] = {"extension": [{"url": "x", "valueString": "y"}]}
    with pytest.raises(FhirMappingError) as caught:
        bundle_to_case(bundle, engine=shipped_engine())
    assert caught.value.problems[0].path.startswith(f"Bundle.entry[{index}].resource.item[")
    assert "value[x]" in caught.value.problems[0].message
    outcome = validate_bundle(bundle, engine=Engine())
    assert not is_valid(outcome)


def test_an_incident_without_its_acute_component_is_located() -> None:
    bundle = fresh()
    index = _first(
        lambda r: r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] == "incident"
    )
    at(bundle, ("entry", index, "resource"))["component"] = [
        {"code": {"coding": [{"system": "urn:example", "code": "other"}]}, "valueBoolean": True}
    ]
    with pytest.raises(FhirMappingError) as caught:
        bundle_to_case(bundle, engine=shipped_engine())
    assert [p.path for p in caught.value.problems] == [f"Bundle.entry[{index}].resource.component"]
    assert not is_valid(validate_bundle(bundle, engine=Engine()))


@pytest.mark.parametrize("value", [None, True, 5, "x", [], [1], {"entry": []}], ids=repr)
def test_bundle_to_case_of_anything_is_a_typed_error(value: Any) -> None:
    with pytest.raises(ValidationError):
        bundle_to_case(value, engine=shipped_engine())


@pytest.mark.parametrize(
    ("resource", "where"),
    [
        ({"resourceType": "Patient", "": 1}, "Patient"),
        ({"resourceType": "Patient", "_": 1}, "Patient"),
        ({"resourceType": "Patient", "name": [{"": "x"}]}, "Patient.name[0]"),
        ({"resourceType": "Patient", "_birthDate": {"extension": 5}}, "Patient.birthDate.extension"),
        ({"resourceType": ["Patient"]}, ""),
        ({"resourceType": "Patient", "text": {"status": "generated", "div": 5}}, "Patient.text.div"),
    ],
)
def test_to_xml_refuses_a_wrong_shape_with_a_typed_located_error(
    resource: dict[str, Any], where: str
) -> None:
    with pytest.raises(FhirXmlError) as caught:
        to_xml(resource)
    assert caught.value.problems[0].path == where


def test_strict_validation_reports_what_the_r4_models_fail_on() -> None:
    """fhir.resources raises its own KeyError/TypeError on some shapes (a contained resource of an
    unknown type); under strict validation that is an issue at the resource."""
    bundle = fresh()
    index = _first(_score)
    bundle["entry"][index]["resource"]["contained"] = [{"resourceType": "Fish"}]
    outcome = validate_bundle(bundle, strict=True, engine=Engine())
    check_outcome(outcome)
    assert f"Bundle.entry[{index}].resource" in [e for i in outcome["issue"] for e in i.get("expression", [])]
    assert not is_valid(outcome)


def test_strict_validation_of_an_r4_type_without_an_r4b_model_is_a_warning() -> None:
    bundle = fresh()
    bundle["entry"].append({"fullUrl": "urn:uuid:7e57da7a-0000-4000-8000-00000000000a",
                            "resource": {"resourceType": "MedicinalProduct", "id": "m"}})  # fmt: skip
    outcome = validate_bundle(bundle, strict=True, engine=Engine())
    check_outcome(outcome)
    assert any(i["severity"] == "warning" and i["code"] == "not-supported" for i in outcome["issue"])


def test_a_wrong_type_in_a_case_bundle_is_located_at_its_element() -> None:
    """Where the case reader can only say that a resource cannot be read, a strict validation lets the
    R4 models say where; without ``strict`` (the models are not loaded) the resource is located."""
    bundle = fresh()
    index = _first(lambda r: r["resourceType"] == "Patient")
    bundle["entry"][index]["resource"]["name"][0]["text"] = ["x"]

    def where(outcome: dict[str, Any]) -> list[str]:
        return [e for i in outcome["issue"] if i["severity"] == "error" for e in i.get("expression", [])]

    assert where(validate_bundle(bundle, engine=Engine(), strict=True)) == [
        f"Bundle.entry[{index}].resource.name[0].text"
    ]
    assert where(validate_bundle(bundle, engine=Engine())) == [f"Bundle.entry[{index}].resource"]


# --- through the command line: exit 1 or 2, never 3 ---------------------------------------------


def _cli_variants() -> list[tuple[str, Path_, Any]]:
    plan, score = _first(_trajectory), _first(_score)
    return [
        ("category-number", ("entry", plan, "resource", "category"), 5),
        ("coding-string", ("entry", score, "resource", "code", "coding"), "x"),
        ("resourceType-list", ("entry", score, "resource", "resourceType"), ["Observation"]),
        ("fullUrl-object", ("entry", score, "fullUrl"), {"a": 1}),
        ("type-null", ("type",), None),
        ("empty-key", ("entry", score, "resource"), ADD_EMPTY_KEY),
    ]


@pytest.mark.parametrize(("name", "path", "value"), _cli_variants(), ids=[v[0] for v in _cli_variants()])
def test_the_command_line_refuses_a_wrong_shape_cleanly(
    tmp_path: Path, name: str, path: Path_, value: Any
) -> None:
    source = tmp_path / "bundle.json"
    source.write_bytes(orjson.dumps(mutated(path, value), default=str))
    case = tmp_path / "case.json"
    case.write_bytes(
        orjson.dumps(case_to_bundle(demo_case(), recipient=Recipient.internal(), engine=shipped_engine()))
    )
    commands = {
        "category-number": ["import", str(source)],
        "coding-string": ["validate", "--strict", str(source)],
        "resourceType-list": ["merge", str(case), str(source)],
        "fullUrl-object": ["evaluate", str(source)],
        "type-null": ["validate", str(source)],
        "empty-key": ["convert", str(source), "--to", "xml"],
    }
    result = run(*commands[name])
    assert result.returncode in (1, 2), (result.returncode, result.stderr)
    assert (result.stdout + result.stderr).strip()


def test_an_empty_key_is_an_issue_at_its_object() -> None:
    bundle = fresh()
    index = _first(_score)
    bundle["entry"][index]["resource"]["code"][""] = "x"
    outcome = validate_bundle(bundle, engine=Engine())
    errors = [i for i in outcome["issue"] if i["severity"] == "error"]
    assert [i["expression"] for i in errors] == [[f"Bundle.entry[{index}].resource.code"]]
    assert "empty key" in errors[0]["diagnostics"]
