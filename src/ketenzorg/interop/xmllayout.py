"""The R4 layout of FHIR XML, shared by the writer (:mod:`.xmlwrite`) and the reader (:mod:`.xmlread`).

Element order, cardinality and primitive types of every R4 type come from ``data/r4layout.json``,
generated from the official R4 XSD and JSON Schema by :mod:`ketenzorg.interop.r4layout_gen` and read
once, on the first XML call.
"""

from __future__ import annotations

import functools
import typing
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import orjson

from ketenzorg.errors import Problem, ValidationError

__all__ = [
    "COMPLEX",
    "FHIR_NS",
    "NS_PREFIX",
    "PRIMITIVE",
    "RESOURCE",
    "XHTML_KIND",
    "XHTML_NS",
    "FhirXmlError",
    "Field",
    "Layout",
    "Where",
    "layout_of",
    "location_of",
    "r4_data",
    "resource_class",
    "resource_types",
    "xml_error",
]

FHIR_NS: Final = "http://hl7.org/fhir"
XHTML_NS: Final = "http://www.w3.org/1999/xhtml"
NS_PREFIX = "{" + FHIR_NS + "}"


class FhirXmlError(ValidationError):
    """FHIR content that has no XML (or JSON) form: an unknown element or type, a bad value."""


# --- the R4 layout (generated from the official R4 schemas) -----------------------------------------

PRIMITIVE, COMPLEX, RESOURCE, XHTML_KIND = "primitive", "complex", "resource", "xhtml"
_LAYOUT_FILE: Final = Path(__file__).resolve().parent / "data" / "r4layout.json"
_PYTHON: Final[dict[str, type]] = {"bool": bool, "int": int, "decimal": Decimal, "str": str}


class Field(typing.NamedTuple):
    kind: str
    klass: str  # the R4 type of a complex element (``Observation.Component``); "" for the others
    many: bool
    python: type  # for primitives: bool, int, Decimal or str
    extra_key: str  # the JSON key of a primitive's id and extensions: "_" + name


class Layout(typing.NamedTuple):
    order: dict[str, int]
    fields: dict[str, Field]
    is_extension: bool


@functools.cache
def r4_data() -> dict[str, Any]:
    """The R4 table (``data/r4layout.json``, made by :mod:`ketenzorg.interop.r4layout_gen`), read once."""
    table: dict[str, Any] = orjson.loads(_LAYOUT_FILE.read_bytes())
    return table


@functools.cache
def resource_types() -> frozenset[str]:
    return frozenset(r4_data()["resources"])


@functools.cache
def layout_of(klass: str) -> Layout:
    """The child elements of an R4 type, in XML order (only names from the table reach this cache)."""
    data = r4_data()
    python = data["primitives"]
    fields: dict[str, Field] = {}
    for name, fhir_type, maximum, kind in data["types"][klass]:
        fields[name] = Field(
            kind,
            fhir_type if kind == COMPLEX else "",
            maximum == "*",
            _PYTHON[python[fhir_type]] if kind == PRIMITIVE else str,
            "_" + name,
        )
    return Layout({name: index for index, name in enumerate(fields)}, fields, klass == "Extension")


def resource_class(resource_type: str) -> str | None:
    """The R4 type of a resource; ``None`` for anything else (datatypes, R4B-only names, junk)."""
    return resource_type if resource_type in resource_types() else None


Where = str | tuple[Any, str, int | None]
"""A location: text, or ``(parent, name, index)``, made into text only for an error (the writer
passes locations down to every element it writes, and almost never needs one)."""


def location_of(where: Where) -> str:
    """A location as text: ``Bundle.entry[2].resource.code``."""
    parts: list[str] = []
    while not isinstance(where, str):
        where, name, index = where
        parts.append(f".{name}" if index is None else f".{name}[{index}]")
    return where + "".join(reversed(parts))


def xml_error(path: Where, message: str) -> FhirXmlError:
    return FhirXmlError([Problem(location_of(path), message)])
