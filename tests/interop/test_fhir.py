"""Case <-> FHIR R4 Bundle: exact round trip, conformance with the official R4 schema, privacy."""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest

from factories import as_exported, shipped_engine
from ketenzorg import (
    CareSetting,
    CareSettingChanged,
    CareSettingKind,
    Case,
    Engine,
    Location,
    MalformedInputError,
)
from ketenzorg.demo import SECRET_SHELTER, build_demo_case, walk
from ketenzorg.disclosure import Recipient
from ketenzorg.interop.fhir import FhirMappingError, bundle_to_case, case_to_bundle

SHARED = Path(os.environ.get("KETENZORG_FHIR_R4", Path(__file__).resolve().parents[3] / "shared" / "fhir-r4"))
SCHEMA = SHARED / "fhir.schema.json"


@cache
def _validator(resource_type: str) -> Any:
    import jsonschema

    definitions = json.loads(SCHEMA.read_text(encoding="utf-8"))["definitions"]
    return jsonschema.Draft6Validator({"$ref": f"#/definitions/{resource_type}", "definitions": definitions})


def schema_errors(bundle: dict[str, Any]) -> list[str]:
    """Validate a bundle entry by entry (the README of the schemas explains why) and its shell."""
    errors = []
    for index, entry in enumerate(bundle["entry"]):
        resource = entry["resource"]
        for error in _validator(resource["resourceType"]).iter_errors(resource):
            errors.append(
                f"entry[{index}] {resource['resourceType']} {list(error.absolute_path)}: {error.message}"
            )
    shell = {**bundle, "entry": [{k: v for k, v in e.items() if k != "resource"} for e in bundle["entry"]]}
    errors += [f"Bundle: {e.message}" for e in _validator("Bundle").iter_errors(shell)]
    return errors


needs_schema = pytest.mark.skipif(
    not SCHEMA.exists(), reason=f"official FHIR R4 JSON Schema not found at {SCHEMA} (set KETENZORG_FHIR_R4)"
)


@pytest.fixture(scope="module")
def demo() -> Case:
    return build_demo_case()


@pytest.mark.parametrize("kind", ["collection", "transaction"])
def test_round_trip_of_the_demo_case(demo: Case, kind: str) -> None:
    bundle = case_to_bundle(demo, recipient=Recipient.internal(), engine=shipped_engine(), type=kind)  # type: ignore[arg-type]
    again = bundle_to_case(orjson.loads(orjson.dumps(bundle)), engine=shipped_engine())
    assert again == as_exported(demo)
    assert Engine().evaluate(again, at=demo.events[-1].at) == Engine().evaluate(
        as_exported(demo), at=demo.events[-1].at
    )


def test_round_trip_of_every_step_of_the_demo() -> None:
    for step in walk():
        assert bundle_to_case(
            case_to_bundle(step.case, recipient=Recipient.internal(), engine=shipped_engine()),
            engine=shipped_engine(),
        ) == as_exported(step.case)


def test_round_trip_with_an_open_location_is_exact(demo: Case) -> None:
    open_house = Location(id="oranje-huis", name="Oranje Huis Demo", address="Voorbeeldlaan 1, Demostad")
    case = Engine().record(
        walk()[3].case,
        CareSettingChanged(
            at=demo.events[20].at, care_setting=CareSetting(kind=CareSettingKind.SHELTER, location=open_house)
        ),
    )
    bundle = case_to_bundle(case, recipient=Recipient.internal(), engine=shipped_engine())
    assert any(e["resource"]["resourceType"] == "Location" for e in bundle["entry"])
    assert bundle_to_case(bundle, engine=shipped_engine()) == as_exported(case)


def test_a_secret_location_is_never_exported(demo: Case) -> None:
    text = orjson.dumps(
        case_to_bundle(demo, recipient=Recipient.internal(), engine=shipped_engine())
    ).decode()
    assert SECRET_SHELTER.name not in text
    assert SECRET_SHELTER.id not in text  # a pseudonym of this case stands for it
    assert not any(
        e["resource"]["resourceType"] == "Location"
        for e in case_to_bundle(demo, recipient=Recipient.internal(), engine=shipped_engine())["entry"]
    )
    assert "secret-location" in text


def test_every_reference_resolves_inside_the_bundle(demo: Case) -> None:
    bundle = case_to_bundle(demo, recipient=Recipient.internal(), engine=shipped_engine())
    urls = {e["fullUrl"] for e in bundle["entry"]}
    references = re.findall(r'"reference":"([^"]+)"', orjson.dumps(bundle).decode())
    assert references
    assert set(references) <= urls
    assert all(u.startswith("urn:uuid:") for u in urls)
    assert len(urls) == len(bundle["entry"])


def test_export_is_deterministic(demo: Case) -> None:
    assert orjson.dumps(
        case_to_bundle(demo, recipient=Recipient.internal(), engine=shipped_engine())
    ) == orjson.dumps(
        case_to_bundle(build_demo_case(), recipient=Recipient.internal(), engine=shipped_engine())
    )


def test_transaction_uses_conditional_updates_on_stable_identifiers(demo: Case) -> None:
    first = case_to_bundle(
        walk()[4].case, recipient=Recipient.internal(), engine=shipped_engine(), type="transaction"
    )
    later = case_to_bundle(demo, recipient=Recipient.internal(), engine=shipped_engine(), type="transaction")
    urls_first = {e["request"]["url"] for e in first["entry"]}
    urls_later = {e["request"]["url"] for e in later["entry"]}
    assert all(e["request"]["method"] == "PUT" for e in later["entry"])
    assert all("?identifier=" in u for u in urls_later)
    assert len(urls_later) == len(later["entry"])  # one conditional target per resource
    # Re-sending the updated case targets the same resources (updates, not duplicates).
    assert urls_first - urls_later <= {u for u in urls_first if u.startswith("Encounter?")}


@needs_schema
@pytest.mark.parametrize("kind", ["collection", "transaction"])
def test_exported_bundles_validate_against_the_official_r4_schema(demo: Case, kind: str) -> None:
    assert (
        schema_errors(
            case_to_bundle(demo, recipient=Recipient.internal(), engine=shipped_engine(), type=kind)
        )
        == []
    )  # type: ignore[arg-type]


def test_exported_bundle_loads_in_fhir_resources_r4b(demo: Case) -> None:
    from fhir.resources.R4B.bundle import Bundle

    from ketenzorg.interop.validate_strict import _without_choice_primitive_extensions

    # fhir.resources defines no ``_valueString`` on Extension (where a text's English travels):
    # without them the bundle loads; validate --strict checks them on their own
    written, taken = _without_choice_primitive_extensions(
        case_to_bundle(demo, recipient=Recipient.internal(), engine=shipped_engine())
    )
    assert taken, "the demo's results carry their English"
    bundle = Bundle.model_validate(written)
    assert len(bundle.entry or ()) == len(
        case_to_bundle(demo, recipient=Recipient.internal(), engine=shipped_engine())["entry"]
    )


def test_bad_bundle_is_refused_with_locations(demo: Case) -> None:
    bundle = orjson.loads(
        orjson.dumps(case_to_bundle(demo, recipient=Recipient.internal(), engine=shipped_engine()))
    )
    score = next(i for i, e in enumerate(bundle["entry"]) if e["resource"].get("valueInteger") is not None)
    bundle["entry"][score]["resource"]["valueInteger"] = 11
    del bundle["entry"][score + 1]["resource"]["effectiveDateTime"]
    with pytest.raises(FhirMappingError) as caught:
        bundle_to_case(bundle, engine=shipped_engine())
    text = str(caught.value)
    assert f"Bundle.entry[{score}].resource.valueInteger: a safety score is a whole number 0..10" in text
    assert f"Bundle.entry[{score + 1}].resource.effectiveDateTime: needs the time it happened" in text


def test_not_a_bundle() -> None:
    with pytest.raises(MalformedInputError, match="expected a Bundle"):
        bundle_to_case({"resourceType": "Patient"}, engine=shipped_engine())


# --- property: the round trip over generated cases ----------------------------------------------

from hypothesis import given, settings  # noqa: E402

from strategies import History, histories  # noqa: E402


@given(history=histories())
@settings(max_examples=40)
def test_round_trip_over_generated_cases(history: History) -> None:
    for kind in ("collection", "transaction"):
        bundle = orjson.loads(
            orjson.dumps(
                case_to_bundle(
                    history.case, recipient=Recipient.internal(), engine=shipped_engine(), type=kind
                )
            )
        )  # type: ignore[arg-type]
        assert bundle_to_case(bundle, engine=shipped_engine()) == as_exported(history.case)


@needs_schema
@given(history=histories())
@settings(max_examples=10)
def test_generated_cases_export_valid_r4(history: History) -> None:
    assert (
        schema_errors(case_to_bundle(history.case, recipient=Recipient.internal(), engine=shipped_engine()))
        == []
    )


@pytest.mark.parametrize(
    "written", ["2026-W05-1T10:00:00Z", "20260105T090000Z", "2026-01-05T09:00:00", "2026-005"]
)
def test_import_reads_only_fhir_date_times(written: str) -> None:
    from ketenzorg.demo import walk

    bundle = case_to_bundle(walk()[-1].case, recipient=Recipient.internal(), engine=shipped_engine())
    score = next(e["resource"] for e in bundle["entry"] if "effectiveDateTime" in e["resource"])
    score["effectiveDateTime"] = written
    with pytest.raises(FhirMappingError) as caught:
        bundle_to_case(bundle, engine=shipped_engine())
    assert written not in str(caught.value)


# --- the instrument result: qualitative, no fabricated probability --------------------------------


def _assessments(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "RiskAssessment"]


def test_a_safety_code_is_a_qualitative_risk_not_a_probability(demo: Case) -> None:
    from ketenzorg.interop.terminology import code_system

    bundle = case_to_bundle(demo, recipient=Recipient.internal(), engine=shipped_engine())
    predictions = [p for r in _assessments(bundle) for p in r.get("prediction", ())]
    safety = [p for p in predictions if "qualitativeRisk" in p]
    assert [p["qualitativeRisk"]["coding"][0]["system"] for p in safety] == [code_system("safety-code")]
    assert safety[0]["qualitativeRisk"]["coding"][0]["code"] == "red"
    assert all("outcome" not in p for p in safety)
    assert not any(key.startswith("probability") for p in predictions for key in p)


def test_a_classification_carries_its_degree_of_fit_in_its_extension(demo: Case) -> None:
    from ketenzorg.interop.definitions import X_CLASSIFICATION

    bundle = case_to_bundle(demo, recipient=Recipient.internal(), engine=shipped_engine())
    predictions = [p for r in _assessments(bundle) for p in r.get("prediction", ()) if "outcome" in p]
    assert len(predictions) == 1
    parts = {part["url"]: part for part in predictions[0]["extension"][0]["extension"]}
    assert predictions[0]["extension"][0]["url"] == X_CLASSIFICATION
    assert parts["fit"] == {"url": "fit", "valueDecimal": 0.8333}
    assert bundle_to_case(orjson.loads(orjson.dumps(bundle)), engine=shipped_engine()) == as_exported(demo)


def test_the_classification_extension_defines_its_fit_part() -> None:
    from ketenzorg.interop.definitions import EXTENSION_BY_URL, X_CLASSIFICATION

    parts = {p.url: p for p in EXTENSION_BY_URL[X_CLASSIFICATION].parts}
    assert parts["fit"].type == "decimal"
    assert (parts["fit"].min, parts["fit"].max) == (1, "1")


# --- the caller's engine; resource ids -----------------------------------------------------------


def test_export_and_import_take_the_callers_engine(demo: Case) -> None:
    with pytest.raises(TypeError):
        case_to_bundle(demo)  # type: ignore[call-arg]
    bundle = case_to_bundle(demo, recipient=Recipient.internal(), engine=shipped_engine())
    with pytest.raises(TypeError):
        bundle_to_case(bundle)  # type: ignore[call-arg]
    import ketenzorg.interop.export as export

    assert not hasattr(export, "default_engine")


@pytest.mark.parametrize(
    "parts",
    [("case",), ("2f5d160650e75c828b9926239aaae7e3", "event", "x"), ("c", ""), ("é", "ß|", "日本"), ("", "")],
)
def test_resource_ids_are_the_uuid5_ids(parts: tuple[str, ...]) -> None:
    import uuid

    from ketenzorg.interop.writing import RESOURCE_ID_NAMESPACE, resource_id

    assert resource_id(*parts) == str(uuid.uuid5(RESOURCE_ID_NAMESPACE, "|".join(parts)))


def test_every_resource_id_of_the_demo_is_its_uuid5(demo: Case) -> None:
    import uuid

    from ketenzorg.interop.writing import RESOURCE_ID_NAMESPACE

    bundle = case_to_bundle(demo, recipient=Recipient.internal(), engine=shipped_engine())
    assert bundle["id"] == str(uuid.uuid5(RESOURCE_ID_NAMESPACE, f"{demo.case_id}|bundle|collection"))
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    person = patient["identifier"][0]["value"]
    assert patient["id"] == str(uuid.uuid5(RESOURCE_ID_NAMESPACE, f"{demo.case_id}|person|{person}"))


# --- the layout: no cycle, no private name across modules ---------------------------------------

INTEROP = Path(__file__).resolve().parents[2] / "src" / "ketenzorg" / "interop"
WRITERS = {"export", "writing"}
READERS = {"read", "reading"}


def _imports(module: str) -> list[tuple[str, list[str]]]:
    """(imported interop module, names) of every import in a module of interop, lazy ones included."""
    import ast

    tree = ast.parse((INTEROP / f"{module}.py").read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ketenzorg.interop."):
            found.append((node.module.rsplit(".", 1)[1], [a.name for a in node.names]))  # type: ignore[union-attr]
    return found


def test_the_case_reader_and_the_exporter_never_import_each_other() -> None:
    concept_modules = {"careteam", "observations", "plans", "assessment"}
    for module in READERS:
        assert not {m for m, _ in _imports(module)} & WRITERS, module
    for module in WRITERS:
        assert not {m for m, _ in _imports(module)} & READERS, module
    for module in concept_modules:  # each concept, both directions, imports neither side's driver
        assert not {m for m, _ in _imports(module)} & {"export", "read", "merge"}, module


def test_merge_imports_no_private_name_of_the_mapping() -> None:
    private = [(m, n) for m, names in _imports("merge") for n in names if n.startswith("_")]
    assert private == []
    assert ("observations", ["observation_kind", "read_incident", "read_score"]) in _imports("merge")


def test_no_mapping_module_is_over_600_lines() -> None:
    for name in (
        "export",
        "read",
        "writing",
        "reading",
        "careteam",
        "observations",
        "plans",
        "assessment",
        "merge",
    ):
        assert len((INTEROP / f"{name}.py").read_text(encoding="utf-8").splitlines()) <= 600, name


def test_a_prediction_of_neither_kind_is_refused_not_dropped(demo: Case) -> None:
    bundle = orjson.loads(
        orjson.dumps(case_to_bundle(demo, recipient=Recipient.internal(), engine=shipped_engine()))
    )
    index, resource = next(
        (i, e["resource"]) for i, e in enumerate(bundle["entry"]) if "qualitativeRisk" in str(e["resource"])
    )
    resource["prediction"][0] = {"outcome": resource["prediction"][0]["qualitativeRisk"]}  # the earlier form
    with pytest.raises(FhirMappingError) as caught:
        bundle_to_case(bundle, engine=shipped_engine())
    assert [p.path for p in caught.value.problems] == [f"Bundle.entry[{index}].resource.prediction[0]"]
