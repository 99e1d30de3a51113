"""The R4 layout table behind FHIR XML: generated from the official R4 schemas, current, complete, and
enough on its own (no fhir.resources, no pydantic) to write and read every R4 resource type."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from lxml import etree

from ketenzorg.interop import r4layout_gen
from ketenzorg.interop.fhirxml import FhirXmlError, from_xml, to_xml
from ketenzorg.interop.validate import R4_RESOURCE_TYPES

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("KETENZORG_FHIR_R4", REPO.parent / "shared" / "fhir-r4"))
XSD = SHARED / "fhir-single.xsd"
NO_SCHEMAS = f"official FHIR R4 schemas not found in {SHARED} (set KETENZORG_FHIR_R4 to their folder)"
needs_schemas = pytest.mark.skipif(
    not (XSD.exists() and (SHARED / "fhir.schema.json").exists()), reason=NO_SCHEMAS
)


@functools.cache
def table() -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(r4layout_gen.OUTPUT.read_bytes())
    return data


@functools.cache
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD), etree.XMLParser(no_network=True)))


def exact(value: Any) -> Any:
    """JSON values with numbers as their text, so ``True``/``1`` and ``1.50``/``1.5`` differ."""
    if isinstance(value, dict):
        return {key: exact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [exact(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    return ("number", type(value).__name__ == "bool", str(value))


def round_trip(resource: dict[str, Any]) -> bytes:
    xml = to_xml(resource)
    assert exact(from_xml(xml)) == exact(resource)
    assert to_xml(from_xml(xml)) == xml
    return xml


def assert_valid(data: bytes) -> None:
    if not XSD.exists():
        return
    loaded = schema()
    if not loaded.validate(etree.fromstring(data)):
        pytest.fail("not valid FHIR R4 XML:\n" + "\n".join(str(e) for e in list(loaded.error_log)[:10]))


# --- the table ------------------------------------------------------------------------------------


@needs_schemas
def test_the_committed_layout_is_what_the_generator_makes_of_the_r4_schemas() -> None:
    fresh = r4layout_gen.render(r4layout_gen.generate(SHARED))
    assert fresh == r4layout_gen.OUTPUT.read_bytes(), (
        "data/r4layout.json is out of date: run python -m ketenzorg.interop.r4layout_gen"
    )


def test_the_layout_holds_the_146_r4_resource_types() -> None:
    data = table()
    assert set(data["resources"]) == R4_RESOURCE_TYPES
    assert len(data["resources"]) == 146
    assert all(name in data["types"] for name in data["resources"])
    assert data["fhirVersion"] == "4.0.1"


def test_every_complex_element_has_its_type_in_the_layout() -> None:
    data = table()
    kinds = {"primitive", "complex", "resource", "xhtml"}
    for name, rows in data["types"].items():
        for element, fhir_type, maximum, kind in rows:
            assert kind in kinds, (name, element)
            assert maximum in ("1", "*"), (name, element)
            if kind == "complex":
                assert fhir_type in data["types"], (name, element)
            if kind == "primitive":
                assert fhir_type in data["primitives"], (name, element)


def test_choice_elements_are_expanded_in_r4_order() -> None:
    observation = [row[0] for row in table()["types"]["Observation"]]
    effective = [n for n in observation if n.startswith("effective")]
    assert effective == ["effectiveDateTime", "effectivePeriod", "effectiveTiming", "effectiveInstant"]
    at = observation.index
    assert at("encounter") < at("effectiveDateTime") < at("effectiveInstant") < at("issued")
    assert observation.index("performer") < observation.index("valueQuantity")


@needs_schemas
def test_the_generator_refuses_schemas_that_disagree(tmp_path: Path) -> None:
    source = orjson.loads((SHARED / "fhir.schema.json").read_bytes())
    del source["definitions"]["Patient"]["properties"]["gender"]
    (tmp_path / "fhir.schema.json").write_bytes(orjson.dumps(source))
    (tmp_path / "fhir-single.xsd").write_bytes(XSD.read_bytes())
    with pytest.raises(r4layout_gen.LayoutSourceError, match=r"Patient\.gender"):
        r4layout_gen.generate(tmp_path)


# --- every R4 resource type, written and read -------------------------------------------------------

_SAMPLES: dict[str, Any] = {"bool": True, "int": 7, "decimal": Decimal("1.50"), "str": "x1"}


def filled(rtype: str) -> dict[str, Any]:
    """A resource of ``rtype`` with every top-level primitive element set (the first of each choice)
    and, for a domain resource, an extension and a contained resource."""
    data = table()
    resource: dict[str, Any] = {"resourceType": rtype}
    choices: set[str] = set()
    for element, fhir_type, maximum, kind in data["types"][rtype]:
        if kind != "primitive":
            continue
        stem = next((c for c in choices if element.startswith(c)), None)
        if stem is not None:
            continue
        value = _SAMPLES[data["primitives"][fhir_type]]
        resource[element] = [value, value] if maximum == "*" else value
        if element.endswith(fhir_type[:1].upper() + fhir_type[1:]) and element != fhir_type:
            choices.add(element[: -len(fhir_type)])
    if "contained" in [row[0] for row in data["types"][rtype]]:  # a DomainResource
        resource["extension"] = [{"url": "urn:example:x", "valueInteger": 3}]
        resource["contained"] = [{"resourceType": "Basic", "id": "b", "code": {"text": "b"}}]
    return resource


@pytest.mark.parametrize("rtype", sorted(R4_RESOURCE_TYPES))
def test_every_r4_resource_type_is_written_and_read(rtype: str) -> None:
    resource = filled(rtype)
    xml = round_trip(resource)
    root = etree.fromstring(xml)
    order = [row[0] for row in table()["types"][rtype]]
    names = [etree.QName(child).localname for child in root]
    assert names == sorted(names, key=order.index)  # the R4 order


R4_ONLY: list[dict[str, Any]] = [
    {
        "resourceType": "MedicinalProduct",
        "id": "mp1",
        "domain": {"system": "http://hl7.org/fhir/medicinal-product-domain", "code": "Human"},
        "specialMeasures": ["Bewaren beneden 25 °C", "Buiten bereik van kinderen"],
        "name": [
            {
                "productName": "Paracetamol 500 mg tablet",
                "namePart": [{"part": "Paracetamol", "type": {"code": "INV"}}],
            }
        ],
    },
    {
        "resourceType": "MedicinalProductAuthorization",
        "id": "mpa1",
        "status": {"text": "valid"},
        "validityPeriod": {"start": "2026-01-01", "end": "2031-01-01"},
        "jurisdictionalAuthorization": [{"country": {"text": "NL"}}],
    },
    {
        "resourceType": "MedicinalProductIngredient",
        "role": {"text": "active"},
        "allergenicIndicator": False,
        "specifiedSubstance": [
            {
                "code": {"text": "paracetamol"},
                "group": {"text": "1"},
                "strength": [
                    {
                        "presentation": {
                            "numerator": {"value": Decimal("500.0"), "unit": "mg"},
                            "denominator": {"value": Decimal("1"), "unit": "tablet"},
                        }
                    }
                ],
            }
        ],
    },
    {
        "resourceType": "EffectEvidenceSynthesis",
        "status": "draft",
        "population": {"reference": "Group/g1"},
        "exposure": {"reference": "EvidenceVariable/e1"},
        "exposureAlternative": {"reference": "EvidenceVariable/e2"},
        "outcome": {"reference": "EvidenceVariable/o1"},
        "sampleSize": {"numberOfStudies": 3, "numberOfParticipants": 1200},
        "effectEstimate": [{"value": Decimal("0.85"), "precisionEstimate": [{"level": Decimal("0.95")}]}],
    },
    {
        "resourceType": "RiskEvidenceSynthesis",
        "status": "active",
        "population": {"reference": "Group/g1"},
        "outcome": {"reference": "EvidenceVariable/o1"},
        "riskEstimate": {"value": Decimal("0.12"), "numeratorCount": 12, "denominatorCount": 100},
    },
    {
        "resourceType": "SubstanceSpecification",
        "description": "water",
        "name": [{"name": "Water", "preferred": True, "language": [{"text": "en"}]}],
    },
    {
        # R4's Evidence (R4B rebuilt it): exposureBackground is R4 only.
        "resourceType": "Evidence",
        "status": "draft",
        "exposureBackground": {"reference": "EvidenceVariable/e1"},
        "exposureVariant": [{"reference": "EvidenceVariable/e2"}],
    },
]


@pytest.mark.parametrize("resource", R4_ONLY, ids=lambda r: r["resourceType"])
def test_r4_types_r4b_dropped_or_rebuilt_round_trip_and_validate(resource: dict[str, Any]) -> None:
    xml = round_trip(resource)
    assert_valid(xml)
    assert etree.fromstring(xml).tag == "{http://hl7.org/fhir}" + resource["resourceType"]


@pytest.mark.parametrize("rtype", ["SubscriptionStatus", "MedicinalProductDefinition", "Citation"])
def test_r4b_only_types_are_refused(rtype: str) -> None:
    with pytest.raises(FhirXmlError, match="not a FHIR R4 resource type"):
        to_xml({"resourceType": rtype})
    with pytest.raises(FhirXmlError, match="not a FHIR R4 resource type"):
        from_xml(f'<{rtype} xmlns="http://hl7.org/fhir"><id value="x"/></{rtype}>'.encode())


def test_fhir_xml_imports_neither_fhir_resources_nor_pydantic() -> None:
    code = (
        "import sys\n"
        "from ketenzorg.demo import build_demo_case\n"
        "from ketenzorg.engine import Engine\n"
        "from ketenzorg.interop.fhir import Recipient, case_to_bundle\n"
        "from ketenzorg.interop.fhirxml import from_xml, to_xml\n"
        "bundle = case_to_bundle(build_demo_case(), recipient=Recipient.internal(), engine=Engine())\n"
        "back = from_xml(to_xml(bundle))\n"
        "assert back['resourceType'] == 'Bundle' and len(back['entry']) == len(bundle['entry'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fhir', 'pydantic', 'pydantic_core')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
