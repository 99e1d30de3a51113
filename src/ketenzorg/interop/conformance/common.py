"""What every kind of conformance resource shares: the package's names, canonical URLs, ids, texts."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from ketenzorg._version import __version__
from ketenzorg.interop.canonical import INSTRUMENT_SYSTEM
from ketenzorg.interop.terminology import CANONICAL, code_system

__all__ = [
    "CARE_SETTING_VALUE_SET",
    "CORE",
    "INSTRUMENT_SYSTEM",
    "MAX_VALUE",
    "MIN_VALUE",
    "PACKAGE_NAME",
    "PUBLISHER",
    "TRANSLATION",
    "coding",
    "fhir_id",
    "metadata",
    "package_version",
    "pascal",
    "profile_url",
    "questionnaire_url",
    "resource_id",
    "translated",
    "value_set_url",
]

PACKAGE_NAME: Final = "ketenzorg.fhir"
PUBLISHER: Final = "ketenzorg"
CORE: Final = "http://hl7.org/fhir/StructureDefinition/"
TRANSLATION: Final = "http://hl7.org/fhir/StructureDefinition/translation"
MIN_VALUE: Final = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE: Final = "http://hl7.org/fhir/StructureDefinition/maxValue"
CARE_SETTING_VALUE_SET: Final = "care-setting-kind"
"""The encounter types of a stay (ambulant, shelter): part of the code system ``encounter-type``."""

_ID = re.compile(r"[^A-Za-z0-9\-.]")
_DEV = re.compile(r"\.?dev\d*$")
_MAX_ID: Final = 64


def package_version() -> str:
    """The package version: the ketenzorg version without a development suffix (0.1.0.dev0 -> 0.1.0)."""
    return _DEV.sub("", __version__) or __version__


def profile_url(name: str) -> str:
    """The canonical URL of a StructureDefinition (a profile or an extension)."""
    return f"{CANONICAL}/StructureDefinition/{name}"


def value_set_url(name: str, base: str = CANONICAL) -> str:
    return f"{base}/ValueSet/{name}"


def questionnaire_url(instrument_id: str) -> str:
    """The URL of a shipped instrument's Questionnaire (under ketenzorg's base)."""
    return f"{CANONICAL}/Questionnaire/{instrument_id}"


def fhir_id(text: str) -> str:
    return _ID.sub("-", text)[:_MAX_ID]


def resource_id(base: str, name: str) -> str:
    """The id of a resource ``name`` under the canonical base ``base``, unique in a package.

    Under ketenzorg's base the name itself; under another base the base's host and path come first
    (``fhir.example.org-dash``), so that two organisations' instruments with one id do not collide.
    """
    if base == CANONICAL:
        return fhir_id(name)
    parts = urlsplit(base)
    readable = fhir_id(f"{parts.netloc}{parts.path}-{name}".replace("/", "-"))
    if len(f"{parts.netloc}{parts.path}-{name}") <= _MAX_ID:
        return readable
    digest = hashlib.sha256(f"{base}/{name}".encode()).hexdigest()[:12]
    return f"{fhir_id(name)[: _MAX_ID - 13]}-{digest}"


def pascal(text: str) -> str:
    name = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text) if part)
    return name if name[:1].isalpha() else f"K{name}"


def coding(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": code_system(system), "code": code}]}


def translated(element: str, texts: Mapping[str, str], base: str = "nl") -> dict[str, Any]:
    """``element`` in the ``base`` language, with ``_element`` holding the other languages (if any)."""
    translations = [
        {
            "url": TRANSLATION,
            "extension": [{"url": "lang", "valueCode": lang}, {"url": "content", "valueString": text}],
        }
        for lang, text in sorted(texts.items())
        if lang != base
    ]
    out: dict[str, Any] = {element: texts[base]}
    if translations:
        out[f"_{element}"] = {"extension": translations}
    return out


def metadata(
    resource_type: str, rid: str, url: str, name: str, title: str, publisher: str = PUBLISHER
) -> dict[str, Any]:
    return {
        "resourceType": resource_type,
        "id": rid,
        "url": url,
        "version": package_version(),
        "name": name,
        "title": title,
        "status": "active",
        "publisher": publisher,
    }
