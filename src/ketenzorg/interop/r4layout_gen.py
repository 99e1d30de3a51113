"""Generate ``data/r4layout.json``, the FHIR R4 (4.0.1) XML layout, from the official R4 schemas.

Run ``python -m ketenzorg.interop.r4layout_gen [FOLDER]`` with the folder holding ``fhir-single.xsd``
and ``fhir.schema.json`` (default: ``$KETENZORG_FHIR_R4``, else ``../shared/fhir-r4`` next to the
repository). The schemas are the standard's own files and are not part of the package; this module
only derives a table from them, and a test regenerates the table and compares it with the committed one.

Two sources, each for what it states best:

* the XSD (``fhir-single.xsd``) gives the **XML order**: the ``xs:sequence`` of every type, after
  the sequence of the type it extends, with each choice element (``value[x]``) expanded in its place
  to the concrete names in the schema's order; it gives the **cardinality** (``maxOccurs`` of the
  element or of its ``xs:choice``), which elements are XML attributes (``Element/@id``,
  ``Extension/@url``) rather than child elements, the XHTML narrative ``div``, and the list of
  resource types (``ResourceContainer``);
* the JSON Schema (``fhir.schema.json``) gives the **FHIR type** of each element (its ``$ref``, an
  ``enum`` being a ``code``), since the XSD names an enumeration's own type (``ObservationStatus``)
  where FHIR's type is ``code``; where it spells a primitive out inline (a ``pattern``), the XSD's
  type name is that primitive. Its arrays are checked against the XSD's ``maxOccurs``, and its
  properties against the XSD's elements and attributes, so the two sources must agree.

The table (``types``): for every resource type, complex datatype and backbone element, the ordered
list of child elements as ``[name, type, max, kind]``: ``max`` is ``"1"`` or ``"*"``, ``kind`` is
``primitive`` (written as a ``value`` attribute; ``type`` the FHIR primitive), ``complex``
(``type`` the datatype or backbone type, named as in the XSD: ``Observation.Component``),
``resource`` (a contained resource or a bundle entry's) or ``xhtml`` (the narrative ``div``).
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
from pathlib import Path
from typing import Any, Final

import orjson
from lxml import etree

__all__ = ["OUTPUT", "LayoutSourceError", "default_source", "generate", "main", "render"]

OUTPUT: Final = Path(__file__).resolve().parent / "data" / "r4layout.json"
XSD_NAME: Final = "fhir-single.xsd"
JSON_SCHEMA_NAME: Final = "fhir.schema.json"
_XS: Final = "{http://www.w3.org/2001/XMLSchema}"
_PRIMITIVE_PYTHON: Final = {
    "boolean": "bool",
    "integer": "int",
    "positiveInt": "int",
    "unsignedInt": "int",
    "decimal": "decimal",
}


class LayoutSourceError(Exception):
    """The schemas do not agree with each other or with what the generator expects."""


def default_source() -> Path:
    """Where the official R4 schemas are: ``$KETENZORG_FHIR_R4`` or ``../shared/fhir-r4``."""
    configured = os.environ.get("KETENZORG_FHIR_R4")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3].parent / "shared" / "fhir-r4"


def _max(node: etree._Element) -> str:
    return "1" if node.get("maxOccurs", "1") == "1" else "*"


def _own_sequence(complex_type: etree._Element) -> tuple[str | None, list[tuple[str, str | None, str]]]:
    """The base type and the own child elements (name, XSD type or None for the div, max)."""
    base: str | None = None
    holder = complex_type
    content = complex_type.find(_XS + "complexContent")
    if content is not None:
        extension = content.find(_XS + "extension")
        if extension is None:
            raise LayoutSourceError(f"{complex_type.get('name')}: complexContent without an extension")
        base = extension.get("base")
        holder = extension
    elements: list[tuple[str, str | None, str]] = []
    sequence = holder.find(_XS + "sequence")
    if sequence is None:
        return base, elements
    for node in sequence:
        if not isinstance(node.tag, str) or node.tag == _XS + "annotation":
            continue
        if node.tag == _XS + "element":
            ref = node.get("ref")
            if ref is not None:
                if ref != "xhtml:div":
                    raise LayoutSourceError(f"{complex_type.get('name')}: unexpected element ref {ref}")
                elements.append(("div", None, _max(node)))
            else:
                elements.append((node.get("name", ""), node.get("type"), _max(node)))
        elif node.tag == _XS + "choice":
            for option in node.iterchildren(_XS + "element"):
                elements.append((option.get("name", ""), option.get("type"), _max(node)))
        else:
            raise LayoutSourceError(f"{complex_type.get('name')}: unexpected {node.tag} in a sequence")
    return base, elements


def generate(source: Path) -> dict[str, Any]:
    """The layout table from the schemas in ``source``."""
    xsd_path, json_path = source / XSD_NAME, source / JSON_SCHEMA_NAME
    xsd_bytes, json_bytes = xsd_path.read_bytes(), json_path.read_bytes()
    xsd = etree.fromstring(xsd_bytes, etree.XMLParser(no_network=True, resolve_entities=False))
    definitions: dict[str, Any] = orjson.loads(json_bytes)["definitions"]
    complex_types = {node.get("name"): node for node in xsd.iterchildren(_XS + "complexType")}

    container = complex_types["ResourceContainer"].find(_XS + "choice")
    if container is None:
        raise LayoutSourceError("ResourceContainer has no choice")
    resources = sorted(str(e.get("ref")) for e in container.iterchildren(_XS + "element"))
    primitives = sorted(name for name, d in definitions.items() if "properties" not in d and "oneOf" not in d)
    primitives.remove("xhtml")

    def type_of(owner: str, name: str, prop: dict[str, Any], xsd_type: str | None) -> tuple[str, bool]:
        array = prop.get("type") == "array"
        target = prop["items"] if array else prop
        if "enum" in target and "$ref" not in target:
            return "code", array
        ref = str(target.get("$ref", ""))
        if not ref and "pattern" in target and xsd_type in primitives:
            return str(xsd_type), array  # a primitive the JSON Schema spells out inline
        if not ref.startswith("#/definitions/"):
            raise LayoutSourceError(f"{owner}.{name}: no type in the JSON Schema")
        return ref.removeprefix("#/definitions/"), array

    @functools.cache
    def flatten(name: str) -> list[tuple[str, str | None, str]]:
        base, own = _own_sequence(complex_types[name])
        return (flatten(base) if base else []) + own

    table: dict[str, list[list[str]]] = {}
    for xsd_name in complex_types:
        json_name = str(xsd_name).replace(".", "_")
        definition = definitions.get(json_name)
        if definition is None or "properties" not in definition:
            continue  # primitives, enumerations, ResourceContainer
        properties: dict[str, Any] = definition["properties"]
        is_resource = xsd_name in resources or xsd_name in ("Resource", "DomainResource")
        rows: list[list[str]] = []
        seen: set[str] = set()
        for element, xsd_type, maximum in flatten(str(xsd_name)):
            prop = properties.get(element)
            if prop is None:
                raise LayoutSourceError(f"{xsd_name}.{element} is in the XSD but not in the JSON Schema")
            fhir_type, array = type_of(str(xsd_name), element, prop, xsd_type)
            if array != (maximum == "*"):
                raise LayoutSourceError(f"{xsd_name}.{element}: the XSD and the JSON Schema disagree on max")
            if fhir_type == "xhtml" or xsd_type is None:
                kind, fhir_type = "xhtml", "xhtml"
            elif fhir_type == "ResourceList":
                kind, fhir_type = "resource", "Resource"
            elif fhir_type in primitives:
                kind = "primitive"
            elif definitions.get(fhir_type, {}).get("properties") is not None:
                kind, fhir_type = "complex", fhir_type.replace("_", ".")
                if fhir_type not in complex_types:
                    raise LayoutSourceError(f"{xsd_name}.{element}: {fhir_type} is not an XSD type")
            else:
                raise LayoutSourceError(f"{xsd_name}.{element}: unknown type {fhir_type}")
            rows.append([element, fhir_type, maximum, kind])
            seen.add(element)
        # Every JSON property is an element, a primitive's extension part, or an XML attribute.
        attributes = {"resourceType"} if is_resource else {"id", "url"} if xsd_name == "Extension" else {"id"}
        for key in properties:
            if key not in seen and key not in attributes and not key.startswith("_"):
                if key == "modifierExtension":
                    continue  # datatype parts (DataRequirement.Sort): the XSD, for XML, has none
                raise LayoutSourceError(f"{xsd_name}.{key} is in the JSON Schema but not in the XSD")
        table[str(xsd_name)] = rows

    missing = [r for r in resources if r not in table]
    if missing:
        raise LayoutSourceError(f"resource types without a layout: {missing}")
    return {
        "fhirVersion": "4.0.1",
        "generatedBy": "python -m ketenzorg.interop.r4layout_gen",
        "sources": {
            XSD_NAME: hashlib.sha256(xsd_bytes).hexdigest(),
            JSON_SCHEMA_NAME: hashlib.sha256(json_bytes).hexdigest(),
        },
        "primitives": {name: _PRIMITIVE_PYTHON.get(name, "str") for name in primitives},
        "resources": resources,
        "types": dict(sorted(table.items())),
    }


def render(layout: dict[str, Any]) -> bytes:
    """The file's bytes: one line per type, so a change shows as a readable diff."""
    lines = ["{"]
    for key in ("fhirVersion", "generatedBy", "sources", "primitives", "resources"):
        lines.append(f"{orjson.dumps(key).decode()}:{orjson.dumps(layout[key]).decode()},")
    lines.append('"types":{')
    items = list(layout["types"].items())
    for index, (name, rows) in enumerate(items):
        comma = "," if index < len(items) - 1 else ""
        lines.append(f"{orjson.dumps(name).decode()}:{orjson.dumps(rows).decode()}{comma}")
    lines.append("}}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    source = Path(args[0]) if args else default_source()
    if not (source / XSD_NAME).exists() or not (source / JSON_SCHEMA_NAME).exists():
        print(f"the R4 schemas ({XSD_NAME}, {JSON_SCHEMA_NAME}) are not in {source}", file=sys.stderr)
        return 2
    data = render(generate(source))
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_bytes(data)
    print(f"wrote {OUTPUT} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
