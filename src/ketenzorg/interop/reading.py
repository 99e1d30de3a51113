"""What every reader of the mapping shares: element lookups, references, and how a failure is told.

Any JSON value may reach a reader: an element of an unexpected JSON type (or an impossible value)
raises one of :data:`UNREADABLE`, which :func:`describe` turns into a message that names the kind
of problem, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from ketenzorg.domain import Text
from ketenzorg.errors import Problem, ValidationError
from ketenzorg.interop.definitions import TRANSLATION, X_SEQUENCE
from ketenzorg.interop.instant import parse_instant
from ketenzorg.interop.terminology import code_system

__all__ = [
    "UNREADABLE",
    "FhirMappingError",
    "Resolver",
    "describe",
    "moment",
]


class FhirMappingError(ValidationError):
    """A bundle that cannot be read as a ketenzorg case, with a FHIRPath-like location per problem."""


Resolver = Callable[[Any], "Mapping[str, Any] | None"]
"""The resource a reference points to inside the bundle (``None``: it does not resolve)."""

UNREADABLE: Final = (KeyError, IndexError, TypeError, ValueError, AttributeError, ArithmeticError)
"""What reading an element of an unexpected JSON type (or an impossible value) raises: each becomes
a problem located at the resource being read, never an exception of another kind."""

_KINDS_OF_FAILURE: Final[dict[type[BaseException], str]] = {
    ValueError: "a value is not of the expected form",
    TypeError: "a value is of the wrong type",
    KeyError: "a required element is missing",
    IndexError: "a required element is missing",
    AttributeError: "a value is of the wrong type",
    OverflowError: "a value is out of range",
}


def describe(error: BaseException) -> str:
    """What went wrong, without the value (a library's message may quote it)."""
    if isinstance(error, KeyError) and isinstance(error.args[0], str) and error.args[0].isidentifier():
        return f"missing element {error.args[0]}"  # an element name of ours, never a value
    if isinstance(error, ValidationError):
        return "; ".join(str(p) for p in error.problems)
    return f"cannot be read ({_KINDS_OF_FAILURE.get(type(error), type(error).__name__)})"


def items(value: Any) -> list[Any]:
    """An array's items; any other JSON type has none (the caller reports what it then misses)."""
    return value if isinstance(value, list) else []


def is_object(value: Any) -> bool:
    return type(value) is dict or isinstance(value, Mapping)


def identifiers(resource: Any) -> list[Mapping[str, Any]]:
    """The identifiers of a resource (one object or a list of them)."""
    found = resource.get("identifier") if is_object(resource) else None
    if is_object(found):
        return [found]  # type: ignore[list-item]
    return [i for i in items(found) if is_object(i)]


def ident(resource: Any, system: str) -> str | None:
    """The value of the resource's first identifier of ``system`` (``None``: none, or not text)."""
    for item in identifiers(resource):
        if item.get("system") == system:
            value = item.get("value")
            return value if isinstance(value, str) else None
    return None


def exts(element: Any, url: str) -> list[dict[str, Any]]:
    """The extensions of ``url`` on an element."""
    found = element.get("extension") if is_object(element) else None
    return [x for x in items(found) if type(x) is dict and x.get("url") == url]


def ext(element: Any, url: str) -> dict[str, Any] | None:
    """The first extension of ``url`` on an element (``None``: none)."""
    found = element.get("extension") if is_object(element) else None
    for x in items(found):
        if type(x) is dict and x.get("url") == url:
            return x
    return None


def sub(extension: Mapping[str, Any], url: str) -> Any:
    """The value of a part of a complex extension (``None``: no such part)."""
    for x in items(extension.get("extension")):
        if is_object(x) and x.get("url") == url:
            for key, value in x.items():
                if key.startswith("value"):
                    return value
    return None


def text(element: Mapping[str, Any], field: str) -> Text | None:
    """The text in the string element ``field`` (``None``: there is none): its Dutch, and its English
    from FHIR's ``translation`` extension on the string (``_field``), when there is one. A string
    without it (as written before texts had two languages) is Dutch only; a translation into
    another language than English is not kept."""
    value = element.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(field)
    english = None
    for translation in exts(element.get("_" + field), TRANSLATION):
        if sub(translation, "lang") == "en":
            english = sub(translation, "content")
            if not isinstance(english, str):
                raise TypeError(field)
    return Text(value, english)


def sub_text(extension: Mapping[str, Any], url: str) -> Text | None:
    """The text of a part of a complex extension (``None``: no such part), as :func:`text` reads it."""
    for x in items(extension.get("extension")):
        if is_object(x) and x.get("url") == url:
            return text(x, "valueString")
    return None


def code(concept: Any, system: str) -> str | None:
    """The code of the profile's code system ``system`` in a CodeableConcept."""
    codings = concept.get("coding") if is_object(concept) else None
    wanted = code_system(system)
    for c in items(codings):
        if is_object(c) and c.get("system") == wanted:
            value = c.get("code")
            return value if isinstance(value, str) else None
    return None


def category(resource: Mapping[str, Any], system: str) -> str | None:
    for found in items(resource.get("category")):
        value = code(found, system)
        if value is not None:
            return value
    return None


def reference_values(ref: Any, system: str, resolve: Resolver | None) -> list[str]:
    """Every value of ``system`` among a reference's identifiers: its own identifier, or else the
    identifiers of the resource it points to in the bundle."""
    if not is_object(ref):
        return []
    own = ref.get("identifier")
    if is_object(own):
        found: list[Mapping[str, Any]] = [own]
    else:
        target = resolve(ref) if resolve is not None else None
        found = identifiers(target) if target is not None else []
    return [i["value"] for i in found if i.get("system") == system and isinstance(i.get("value"), str)]


def notes(resource: Mapping[str, Any], where: str) -> str:
    """The text of a resource's notes (``Annotation.text``), several joined by a new line; exact."""
    found = resource.get("note")
    if found is None:
        return ""
    if type(found) is not list:
        raise FhirMappingError([Problem(f"{where}.note", "note is a list of annotations")])
    texts = []
    for n, annotation in enumerate(found):
        text = annotation.get("text") if is_object(annotation) else None
        if not isinstance(text, str):
            raise FhirMappingError([Problem(f"{where}.note[{n}].text", "an annotation needs its text")])
        texts.append(text)
    return "\n".join(texts)


_PARTIAL_DATE: Final = re.compile(r"[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?")
"""R4 dateTime's forms without a time (a year, a month, a day): valid FHIR, but not a moment."""


def moment(value: Any) -> datetime:
    """A FHIR R4 dateTime that names a moment: to the second, with its offset (``ValueError``)."""
    if isinstance(value, str) and _PARTIAL_DATE.fullmatch(value):
        raise ValueError("a date without a time is not a moment: give the time and its timezone")
    return parse_instant(value)


def sequence(resource: Mapping[str, Any], where: str) -> int:
    """The place in the case history of the event a resource carries (``event-sequence``)."""
    found = ext(resource, X_SEQUENCE)
    value = found.get("valueInteger") if found is not None else None
    if type(value) is not int:
        raise FhirMappingError([Problem(f"{where}.extension", "needs its event-sequence (an integer)")])
    return value


def read_moment(resource: Mapping[str, Any], element: str, where: str) -> datetime:
    """The moment in ``element`` of a resource; a located problem when it is missing or no moment."""
    value = resource.get(element)
    if value is None:
        raise FhirMappingError([Problem(f"{where}.{element}", "needs the time it happened")])
    try:
        return moment(value)
    except ValueError as error:
        raise FhirMappingError([Problem(f"{where}.{element}", str(error))]) from None


def carrier(entries: Iterable[tuple[int, Mapping[str, Any]]], event_id: str, event_system: str) -> int | None:
    """The entry index of the resource that carries an event (by identifier or event extension)."""
    for index, resource in entries:
        if ident(resource, event_system) == event_id:
            return index
        for x in items(resource.get("extension")):
            if is_object(x) and sub(x, "id") == event_id:
                return index
    return None


class Entries:
    """The entries of a bundle being read: each resource by its index and by its full URL."""

    def __init__(self, bundle: Mapping[str, Any]) -> None:
        self.problems: list[Problem] = []
        self.by_url: dict[str, tuple[int, dict[str, Any]]] = {}
        self.entries: list[tuple[int, dict[str, Any]]] = []
        for index, entry in enumerate(bundle["entry"]):
            resource = entry.get("resource") if is_object(entry) else None
            if type(resource) is not dict:
                self.problems.append(Problem(f"Bundle.entry[{index}]", "entry without a resource"))
                continue
            self.entries.append((index, resource))
            url = entry.get("fullUrl")
            if isinstance(url, str):
                self.by_url[url] = (index, resource)

    @staticmethod
    def where(index: int, path: str = "") -> str:
        """The FHIRPath location of (an element of) the resource of entry ``index``."""
        return f"Bundle.entry[{index}].resource" + (f".{path}" if path else "")

    def resolve(self, ref: Any, index: int, path: str) -> tuple[int, dict[str, Any]]:
        """The entry a reference (at ``path`` of entry ``index``) points to; a located problem if none."""
        url = ref.get("reference") if is_object(ref) else None
        found = self.by_url.get(url) if isinstance(url, str) else None
        if found is None:
            raise FhirMappingError(
                [Problem(self.where(index, path), "this reference does not resolve in the bundle")]
            )
        return found

    def target(self, ref: Any) -> Mapping[str, Any] | None:
        """The resource a reference points to (``None``: it does not resolve): a :data:`Resolver`."""
        url = ref.get("reference") if is_object(ref) else None
        found = self.by_url.get(url) if isinstance(url, str) else None
        return found[1] if found is not None else None

    def of_type(self, resource_type: str) -> list[tuple[int, dict[str, Any]]]:
        return [(i, r) for i, r in self.entries if r.get("resourceType") == resource_type]
