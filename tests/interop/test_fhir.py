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

from factories import as_exported
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
    bundle = case_to_bundle(demo, type=kind)  # type: ignore[arg-type]
    again = bundle_to_case(orjson.loads(orjson.dumps(bundle)))
    assert again == as_exported(demo)
    assert Engine().evaluate(again, at=demo.events[-1].at) == Engine().evaluate(
        as_exported(demo), at=demo.events[-1].at
    )


def test_round_trip_of_every_step_of_the_demo() -> None:
    for step in walk():
        assert bundle_to_case(case_to_bundle(step.case)) == as_exported(step.case)


def test_round_trip_with_an_open_location_is_exact(demo: Case) -> None:
    open_house = Location(id="oranje-huis", name="Oranje Huis Demo", address="Voorbeeldlaan 1, Demostad")
    case = Engine().record(
        walk()[3].case,
        CareSettingChanged(
            at=demo.events[20].at, care_setting=CareSetting(kind=CareSettingKind.SHELTER, location=open_house)
        ),
    )
    bundle = case_to_bundle(case)
    assert any(e["resource"]["resourceType"] == "Location" for e in bundle["entry"])
    assert bundle_to_case(bundle) == as_exported(case)


def test_a_secret_location_is_never_exported(demo: Case) -> None:
    text = orjson.dumps(case_to_bundle(demo)).decode()
    assert SECRET_SHELTER.name not in text
    assert SECRET_SHELTER.id not in text  # a pseudonym of this case stands for it
    assert not any(e["resource"]["resourceType"] == "Location" for e in case_to_bundle(demo)["entry"])
    assert "secret-location" in text


def test_every_reference_resolves_inside_the_bundle(demo: Case) -> None:
    bundle = case_to_bundle(demo)
    urls = {e["fullUrl"] for e in bundle["entry"]}
    references = re.findall(r'"reference":"([^"]+)"', orjson.dumps(bundle).decode())
    assert references
    assert set(references) <= urls
    assert all(u.startswith("urn:uuid:") for u in urls)
    assert len(urls) == len(bundle["entry"])


def test_export_is_deterministic(demo: Case) -> None:
    assert orjson.dumps(case_to_bundle(demo)) == orjson.dumps(case_to_bundle(build_demo_case()))


def test_transaction_uses_conditional_updates_on_stable_identifiers(demo: Case) -> None:
    first = case_to_bundle(walk()[4].case, type="transaction")
    later = case_to_bundle(demo, type="transaction")
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
    assert schema_errors(case_to_bundle(demo, type=kind)) == []  # type: ignore[arg-type]


def test_exported_bundle_loads_in_fhir_resources_r4b(demo: Case) -> None:
    from fhir.resources.R4B.bundle import Bundle

    bundle = Bundle.model_validate(case_to_bundle(demo))
    assert len(bundle.entry or ()) == len(case_to_bundle(demo)["entry"])


def test_bad_bundle_is_refused_with_locations(demo: Case) -> None:
    bundle = orjson.loads(orjson.dumps(case_to_bundle(demo)))
    score = next(i for i, e in enumerate(bundle["entry"]) if e["resource"].get("valueInteger") is not None)
    bundle["entry"][score]["resource"]["valueInteger"] = 11
    del bundle["entry"][score + 1]["resource"]["effectiveDateTime"]
    with pytest.raises(FhirMappingError) as caught:
        bundle_to_case(bundle)
    text = str(caught.value)
    assert "11 is not in 0..10" in text
    assert f"Bundle.entry[{score + 1}].resource" in text


def test_not_a_bundle() -> None:
    with pytest.raises(MalformedInputError, match="expected a Bundle"):
        bundle_to_case({"resourceType": "Patient"})


# --- property: the round trip over generated cases ----------------------------------------------

from hypothesis import given, settings  # noqa: E402

from strategies import History, histories  # noqa: E402


@given(history=histories())
@settings(max_examples=40)
def test_round_trip_over_generated_cases(history: History) -> None:
    for kind in ("collection", "transaction"):
        bundle = orjson.loads(orjson.dumps(case_to_bundle(history.case, type=kind)))  # type: ignore[arg-type]
        assert bundle_to_case(bundle) == as_exported(history.case)


@needs_schema
@given(history=histories())
@settings(max_examples=10)
def test_generated_cases_export_valid_r4(history: History) -> None:
    assert schema_errors(case_to_bundle(history.case)) == []


@pytest.mark.parametrize(
    "written", ["2026-W05-1T10:00:00Z", "20260105T090000Z", "2026-01-05T09:00:00", "2026-005"]
)
def test_import_reads_only_fhir_date_times(written: str) -> None:
    from ketenzorg.demo import walk

    bundle = case_to_bundle(walk()[-1].case)
    score = next(e["resource"] for e in bundle["entry"] if "effectiveDateTime" in e["resource"])
    score["effectiveDateTime"] = written
    with pytest.raises(FhirMappingError) as caught:
        bundle_to_case(bundle)
    assert written not in str(caught.value)
