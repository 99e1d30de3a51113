"""StructureDefinitions: the differential building blocks, and one definition per extension.

The extensions come from the one registry, :data:`ketenzorg.interop.definitions.EXTENSIONS`; the
profiles (:mod:`.profiles`) are built from the blocks here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ketenzorg.interop.conformance.common import CORE, metadata, pascal, profile_url, value_set_url
from ketenzorg.interop.definitions import ExtensionDef
from ketenzorg.interop.terminology import FHIR_VERSION

__all__ = [
    "constraint",
    "el",
    "extension_definition",
    "reference",
    "required",
    "root",
    "structure",
    "x",
]


def el(element_id: str, **rules: Any) -> dict[str, Any]:
    """A differential element; the path is the id without slice names."""
    path = ".".join(segment.split(":")[0] for segment in element_id.split("."))
    out: dict[str, Any] = {"id": element_id, "path": path}
    last = element_id.rsplit(".", 1)[-1]
    if ":" in last:
        out["sliceName"] = last.split(":", 1)[1]
    out.update(rules)
    return out


def _target(name: str) -> str:
    return name if "/" in name else CORE + name


def reference(*targets: str) -> list[dict[str, Any]]:
    """The type of a Reference to ``targets`` (core resource names or profile URLs)."""
    return [{"code": "Reference", "targetProfile": [_target(t) for t in targets]}]


def _value_type(type_: str, targets: Sequence[str]) -> list[dict[str, Any]]:
    return reference(*targets) if type_ == "Reference" and targets else [{"code": type_}]


def required(system: str) -> dict[str, Any]:
    """A required binding to the ValueSet of all codes of the profile's code system ``system``."""
    return {"strength": "required", "valueSet": value_set_url(system)}


def structure(
    sid: str, type_: str, kind: str, title: str, description: str, elements: list[dict[str, Any]]
) -> dict[str, Any]:
    resource = metadata("StructureDefinition", sid, profile_url(sid), pascal(sid), title)
    resource |= {"description": description, "fhirVersion": FHIR_VERSION, "kind": kind, "abstract": False}
    return resource | {
        "type": type_,
        "baseDefinition": CORE + type_,
        "derivation": "constraint",
        "differential": {"element": elements},
    }


def x(base: str, slice_name: str, url: str, min_: int = 0, max_: str = "1") -> dict[str, Any]:
    """An extension slice on ``base`` (the base resources already slice extensions by url)."""
    return el(
        f"{base}.extension:{slice_name}",
        min=min_,
        max=max_,
        type=[{"code": "Extension", "profile": [url]}],
    )


def constraint(key: str, human: str, expression: str) -> dict[str, Any]:
    return {"key": key, "severity": "error", "human": human, "expression": expression}


def root(type_: str, title: str, description: str, *constraints: dict[str, Any]) -> dict[str, Any]:
    out = el(type_, short=title, definition=description)
    if constraints:
        out["constraint"] = list(constraints)
    return out


def extension_definition(ext: ExtensionDef) -> dict[str, Any]:
    """The StructureDefinition of an extension of the registry: simple or with parts."""
    elements = [el("Extension", short=ext.title, definition=ext.description)]
    if ext.type is not None:
        value = el("Extension.value[x]", min=1, type=_value_type(ext.type, ext.targets))
        if ext.binding:
            value["binding"] = required(ext.binding)
        elements += [
            el("Extension.extension", max="0"),
            el("Extension.url", fixedUri=ext.url),
            value,
        ]
    else:
        elements.append(
            el(
                "Extension.extension",
                slicing={"discriminator": [{"type": "value", "path": "url"}], "rules": "closed"},
                min=sum(part.min for part in ext.parts),
            )
        )
        for part in ext.parts:
            prefix = f"Extension.extension:{part.url}"
            value = el(f"{prefix}.value[x]", min=1, type=_value_type(part.type, part.targets))
            if part.binding:
                value["binding"] = required(part.binding)
            elements += [
                el(prefix, short=part.short, definition=part.short, min=part.min, max=part.max),
                el(f"{prefix}.url", fixedUri=part.url),
                value,
            ]
        elements += [el("Extension.url", fixedUri=ext.url), el("Extension.value[x]", max="0")]
    resource = structure(ext.name, "Extension", "complex-type", ext.title, ext.description, elements)
    return resource | {"context": [{"type": "element", "expression": context} for context in ext.contexts]}
