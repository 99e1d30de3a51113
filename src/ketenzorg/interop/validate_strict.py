"""Validation in full (``strict=True``, ``validate --strict``): every resource through the R4B models
of fhir.resources. Those libraries (fhir.resources, pydantic) are imported here only, and only when
a strict validation runs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

from ketenzorg.interop.validate_outcome import entries_of, issue, resource_of
from ketenzorg.interop.validate_structure import R4_RESOURCE_TYPES

__all__ = ["check_strict"]

_MODEL_FAILURES: Final = (AttributeError, KeyError, IndexError, TypeError, ValueError, ArithmeticError)
"""What fhir.resources raises on some hostile shapes itself, besides pydantic's ValidationError
(a contained resource of an unknown type, say)."""


def check_strict(bundle: Mapping[str, Any], only: Iterable[int] | None = None) -> Iterator[dict[str, Any]]:
    """Full structural validation of each resource (or of the entries ``only``) by fhir.resources'
    R4B models."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError as PydanticError

    entries = entries_of(bundle)
    for index in range(len(entries)) if only is None else only:
        resource = resource_of(entries[index]) if index < len(entries) else None
        rtype = resource.get("resourceType") if resource is not None else None
        if resource is None or not isinstance(rtype, str) or rtype not in R4_RESOURCE_TYPES:
            continue  # the structure layer reports it
        at = f"Bundle.entry[{index}].resource"
        try:
            model = get_fhir_model_class(rtype)
        except (KeyError, ValueError):
            yield issue("warning", "not-supported", f"{rtype} has no R4B model: not validated in full", at)
            continue
        resource, primitive_extensions = _without_choice_primitive_extensions(resource)
        try:
            model.model_validate(resource)
            for loc, element in primitive_extensions:
                try:
                    _primitive_extension_model().model_validate(element)
                except PydanticError as error:
                    for detail in error.errors():
                        yield _model_issue(at, {**detail, "loc": (*loc, *detail.get("loc", ()))})
        except PydanticError as error:
            for detail in error.errors():
                yield _model_issue(at, detail)
        except _MODEL_FAILURES as error:
            yield issue(
                "error",
                "structure",
                f"cannot be validated in full: the R4B models fail on its shape ({type(error).__name__})",
                at,
            )
        except RecursionError:
            yield issue("error", "structure", "cannot be validated in full: nested too deep", at)


def _primitive_extension_model() -> Any:
    from fhir.resources.R4B.fhirprimitiveextension import FHIRPrimitiveExtension

    return FHIRPrimitiveExtension


def _without_choice_primitive_extensions(value: Any, loc: tuple[Any, ...] = ()) -> tuple[Any, list[Any]]:
    """The resource without the extensions of an extension's primitive value (``_valueString``, where
    a text's English travels), and those taken out with their place: valid FHIR that the R4B models
    of fhir.resources do not define on ``Extension``; each is validated on its own."""
    taken: list[tuple[tuple[Any, ...], Any]] = []
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(key, str) and key.startswith("_value") and "url" in value:
                taken.append(((*loc, key), item))
                continue
            out[key], found = _without_choice_primitive_extensions(item, (*loc, key))
            taken += found
        return out, taken
    if isinstance(value, list):
        items = []
        for index, item in enumerate(value):
            copied, found = _without_choice_primitive_extensions(item, (*loc, index))
            items.append(copied)
            taken += found
        return items, taken
    return value, taken


_MODEL_MESSAGES: Final = {
    "extra_forbidden": "an element that FHIR R4 does not define here (its name is not repeated)",
    "string_pattern_mismatch": "does not have the R4 lexical form of its type",
    "missing": "a required element is missing",
}


def _model_issue(at: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    """One issue of the R4B models, located, and worded without repeating the input: an unknown
    element is located at its parent (its name may be anything), a pattern is not printed as a
    regular expression, and a quoted input value is replaced by a description."""
    kind = detail.get("type")
    loc = list(detail.get("loc", ()))
    if kind == "extra_forbidden" and loc:
        loc = loc[:-1]
    path = at + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    message = _MODEL_MESSAGES.get(kind) if isinstance(kind, str) else None
    if message is None:
        message = str(detail.get("msg", "does not fit the R4 model"))
        given = detail.get("input")
        if isinstance(given, str | int | float) and not isinstance(given, bool) and str(given) in message:
            message = message.replace(repr(given), "the value").replace(str(given), "the value")
        message = " ".join(message.split())  # no raw newlines or tabs in a diagnostic
    return issue("error", "structure", message, path)
