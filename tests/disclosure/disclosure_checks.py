"""What every recipient bundle must satisfy: the walk over the output the disclosure tests share."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

SHARED = Path(os.environ.get("KETENZORG_FHIR_R4", Path(__file__).resolve().parents[3] / "shared" / "fhir-r4"))
SCHEMA = SHARED / "fhir.schema.json"
XSD = SHARED / "fhir-single.xsd"


@cache
def _validator(resource_type: str) -> Any:
    import jsonschema

    definitions = json.loads(SCHEMA.read_text(encoding="utf-8"))["definitions"]
    return jsonschema.Draft6Validator({"$ref": f"#/definitions/{resource_type}", "definitions": definitions})


def schema_errors(bundle: dict[str, Any]) -> list[str]:
    """The bundle against the official R4 JSON Schema, entry by entry and its shell ([] where absent)."""
    if not SCHEMA.exists():
        return []
    errors = []
    for index, entry in enumerate(bundle.get("entry", [])):
        resource = entry["resource"]
        for error in _validator(resource["resourceType"]).iter_errors(resource):
            errors.append(
                f"entry[{index}] {resource['resourceType']} {list(error.absolute_path)}: {error.message}"
            )
    shell = {
        **bundle,
        "entry": [{k: v for k, v in e.items() if k != "resource"} for e in bundle.get("entry", [])],
    }
    if not shell["entry"]:
        del shell["entry"]
    errors += [f"Bundle: {e.message}" for e in _validator("Bundle").iter_errors(shell)]
    return errors


@cache
def xsd() -> Any:
    if not XSD.exists():
        return None
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(XSD), etree.XMLParser(no_network=True)))


def xsd_errors(data: bytes) -> list[str]:
    schema = xsd()
    if schema is None:
        return []
    from lxml import etree

    if schema.validate(etree.fromstring(data)):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log][:10]


def strings(node: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)
    elif isinstance(node, str):
        yield node


def references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def dangling(bundle: dict[str, Any]) -> list[str]:
    """References that resolve to no entry of the bundle."""
    urls = {e["fullUrl"] for e in bundle.get("entry", [])}
    return sorted({r for e in bundle.get("entry", []) for r in references(e["resource"]) if r not in urls})


def resource_types(bundle: dict[str, Any]) -> set[str]:
    return {e["resource"]["resourceType"] for e in bundle.get("entry", [])}
