"""Validation, layer 2: inside each resource (no empty values, narrative XHTML) and the ketenzorg
profile's rules (our codes exist, a safety score is an integer 0-10 given by a performer with a
rationale, ``urn:uuid:`` references resolve, a stay at a secret location points at no place)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, Final

from ketenzorg.interop.terminology import CODE_SYSTEMS, code_system
from ketenzorg.interop.validate_outcome import (
    Issues,
    Severity,
    array_of,
    entries_of,
    issue,
    resource_of,
    wrong_type,
)

__all__ = ["carries_a_case", "check_profile", "check_secret_stays"]

_SCALARS: Final = frozenset({int, bool, float, Decimal})
_OUR_CODES: Final = {
    code_system(name): frozenset(c.code for c in cs.concepts) for name, cs in CODE_SYSTEMS.items()
}
_SCORE = code_system("observation-kind")


def _path(base: str, parts: list[str | int]) -> str:
    return base + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


class _Walk:
    """One pass over a resource: empty values (structure), our codes and references (profile),
    narrative XHTML.

    Paths are built only for a problem; orjson gives exactly dict/list/str, so exact type checks
    are used first and ``Mapping``/``list`` subclasses only as a fallback.
    """

    def __init__(self, base: str, urls: set[str], out: Issues) -> None:
        self.base = base
        self.urls = urls
        self.out = out
        self.parts: list[str | int] = []

    def report(self, severity: Severity, code: str, text: str, *extra: str | int) -> None:
        if self.out.full:  # only counted: no location is built for an issue that is not listed
            self.out.count(severity)
            return
        self.out.append(issue(severity, code, text, _path(self.base, [*self.parts, *extra])))

    def visit(self, value: Any) -> None:
        kind = type(value)
        if kind is str:
            if not value:
                self.report("error", "value", "an empty string is not allowed")
        elif kind is dict:
            self.visit_object(value)
        elif kind is list:
            self.visitarray_of(value)
        elif kind in _SCALARS:
            return
        elif value is None:
            self.report("error", "structure", "null is not allowed in FHIR JSON")
        elif isinstance(value, Mapping):
            self.visit_object(value)
        elif isinstance(value, list):
            self.visitarray_of(value)

    def visit_object(self, value: Mapping[str, Any]) -> None:
        if not value:
            self.report("error", "structure", "an empty object is not allowed")
            return
        system = value.get("system")
        codes = _OUR_CODES.get(system) if type(system) is str else None
        if codes is not None:
            code = value.get("code")
            if type(code) is not str:
                self.report("error", "code-invalid", f"a code of {system} is a string", "code")
            elif code not in codes:
                self.report("error", "code-invalid", f"not a code of {system}", "code")
        ref = value.get("reference")
        if type(ref) is str and ref.startswith("urn:uuid:") and ref not in self.urls:
            self.report(
                "error", "not-found", "this urn:uuid reference does not resolve in the bundle", "reference"
            )
        parts = self.parts
        if "" in value:
            self.report("error", "structure", "an empty key is not a FHIR element")
        for key, item in value.items():
            kind = type(item)
            if kind is str:  # leaves are checked here: one call less per value
                if key == "div":
                    self.narrative(item)
                elif not item:
                    self.report("error", "value", "an empty string is not allowed", key)
                continue
            if key == "div":
                self.narrative(item)
                continue
            if kind in _SCALARS or key == "resource":
                continue
            parts.append(key)
            if kind is dict:  # the common containers are visited directly: one call less each
                self.visit_object(item)
            elif kind is list:
                self.visitarray_of(item)
            else:
                self.visit(item)
            parts.pop()

    def visitarray_of(self, value: list[Any]) -> None:
        if not value:
            self.report("error", "structure", "an empty array is not allowed")
        parts = self.parts
        for index, item in enumerate(value):
            kind = type(item)
            if kind is str:
                if not item:
                    self.report("error", "value", "an empty string is not allowed", index)
                continue
            if kind in _SCALARS:
                continue
            parts.append(index)
            if kind is dict:
                self.visit_object(item)
            elif kind is list:
                self.visitarray_of(item)
            else:
                self.visit(item)
            parts.pop()

    def narrative(self, value: Any) -> None:
        """FHIR's narrative rules (txt-1, txt-2) for a ``div``, the one place XHTML is in FHIR JSON."""
        if type(value) is not str:
            self.out.append(
                wrong_type("XHTML text (a string)", value, _path(self.base, [*self.parts, "div"]))
            )
            return
        from ketenzorg.interop.narrative import check_xhtml

        problems = check_xhtml(value)
        if problems:
            self.report("error", "invariant", "narrative: " + "; ".join(problems), "div")


def check_profile(bundle: Mapping[str, Any], issues: Issues) -> None:
    """Structure inside each resource and the profile's rules, in one walk per resource."""
    entries = entries_of(bundle)
    urls = {url for e in entries if isinstance(e, Mapping) and isinstance(url := e.get("fullUrl"), str)}
    for index, entry in enumerate(entries):
        resource = resource_of(entry)
        if resource is None:
            continue
        at = f"Bundle.entry[{index}].resource"
        _Walk(at, urls, issues).visit(resource)
        if resource.get("resourceType") == "Observation" and _is_score(resource, at, issues):
            issues += _score_rules(resource, at)


def _is_score(resource: Mapping[str, Any], at: str, issues: Issues) -> bool:
    """Whether an Observation is a safety score; a wrong JSON type on the way is reported."""
    code = resource.get("code")
    if code is None:
        return False
    if not isinstance(code, Mapping):
        issues.append(wrong_type("an object (a CodeableConcept)", code, f"{at}.code"))
        return False
    codings = code.get("coding")
    if codings is None:
        return False
    if not isinstance(codings, list):
        issues.append(wrong_type("an array", codings, f"{at}.code.coding"))
        return False
    found = False
    for n, c in enumerate(codings):
        if not isinstance(c, Mapping):
            issues.append(wrong_type("an object (a Coding)", c, f"{at}.code.coding[{n}]"))
        elif c.get("system") == _SCORE and c.get("code") == "safety-score":
            found = True
    return found


def _score_rules(resource: Mapping[str, Any], at: str) -> Iterator[dict[str, Any]]:
    value = resource.get("valueInteger")
    if value is None:
        yield issue("error", "required", "a safety score needs valueInteger", f"{at}.valueInteger")
    elif isinstance(value, bool) or not isinstance(value, int):
        yield issue("error", "value", "a safety score is an integer", f"{at}.valueInteger")
    elif not 0 <= value <= 10:
        yield issue("error", "value", f"{value} is not in 0..10", f"{at}.valueInteger")
    performer = resource.get("performer")
    if not performer:
        yield issue("error", "required", "a safety score names the party that gave it", f"{at}.performer")
    elif not isinstance(performer, list):
        yield wrong_type("an array", performer, f"{at}.performer")
    notes = resource.get("note")
    if notes is not None and not isinstance(notes, list):
        yield wrong_type("an array", notes, f"{at}.note")
    elif not any(isinstance(n, Mapping) and str(n.get("text", "")).strip() for n in array_of(notes)):
        yield issue(
            "error",
            "business-rule",
            "a safety score needs its rationale (onderbouwing); without it, it does not count",
            f"{at}.note",
        )
    moment = resource.get("effectiveDateTime")
    if not moment:
        yield issue("error", "required", "a safety score needs its time", f"{at}.effectiveDateTime")
    elif not isinstance(moment, str):
        yield wrong_type("a dateTime (a string)", moment, f"{at}.effectiveDateTime")


def check_secret_stays(bundle: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """A stay at a secret location points at no place anyone can find.

    A ``Location`` a secret stay uses (its ``location``, or a Location whose identifier is the
    stay's ``secret-location`` id) carries no address, telecom, position or narrative, and no name,
    alias or description but the placeholder; no Location is used by a secret stay and an open stay
    both. Issues name the element, never its value.
    """
    from ketenzorg.interop.definitions import SECRET_LOCATION_NAME, X_SECRET_LOCATION

    def items(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value]

    entries: list[tuple[int, Mapping[str, Any], Mapping[str, Any]]] = [
        (index, entry, entry["resource"])
        for index, entry in enumerate(items(bundle.get("entry")))
        if isinstance(entry, Mapping) and isinstance(entry.get("resource"), Mapping)
    ]
    resources: dict[int, Mapping[str, Any]] = {}
    by_url: dict[str, int] = {}
    by_identifier: dict[str, list[int]] = {}
    for index, entry, resource in entries:
        if resource.get("resourceType") == "Location":
            resources[index] = resource
            if isinstance(entry.get("fullUrl"), str):
                by_url[entry["fullUrl"]] = index
            for ident in items(resource.get("identifier")):
                if isinstance(ident, Mapping) and isinstance(ident.get("value"), str):
                    by_identifier.setdefault(ident["value"], []).append(index)
    secret_uses: set[int] = set()
    open_uses: set[int] = set()
    for index, _, resource in entries:
        if resource.get("resourceType") != "Encounter":
            continue
        used = [
            by_url[ref["reference"]]
            for element in items(resource.get("location"))
            if isinstance(element, Mapping)
            for ref in [element.get("location")]
            if isinstance(ref, Mapping)
            and isinstance(ref.get("reference"), str)
            and ref["reference"] in by_url
        ]
        secret = [
            ext
            for ext in items(resource.get("extension"))
            if isinstance(ext, Mapping) and ext.get("url") == X_SECRET_LOCATION
        ]
        if not secret:
            open_uses.update(used)
            continue
        if "location" in resource:
            yield issue(
                "error",
                "business-rule",
                "a stay at a secret location names no location (only that it is secret)",
                f"Bundle.entry[{index}].resource.location",
            )
        secret_uses.update(used)
        for part in (part for ext in secret for part in items(ext.get("extension"))):
            if (
                isinstance(part, Mapping)
                and part.get("url") == "id"
                and isinstance(part.get("valueString"), str)
            ):
                secret_uses.update(by_identifier.get(part["valueString"], ()))
    for index in sorted(secret_uses):
        resource, at = resources[index], f"Bundle.entry[{index}].resource"
        for element in ("address", "telecom", "position", "text", "alias", "description", "name"):
            if element in resource and not (element == "name" and resource["name"] == SECRET_LOCATION_NAME):
                yield issue(
                    "error",
                    "business-rule",
                    f"a location used by a stay at a secret location has no {element}"
                    + (f" (only {SECRET_LOCATION_NAME!r})" if element == "name" else ""),
                    f"{at}.{element}",
                )
        if index in open_uses:
            yield issue(
                "error",
                "business-rule",
                "a location used by a stay at a secret location is also used by an open stay: "
                "a move to a secret shelter is a new location (a new id)",
                at,
            )


# --- whether the bundle carries a whole case (layer 3 applies) ---------------------------------------


def carries_a_case(bundle: Mapping[str, Any], issues: Issues) -> bool:
    """Whether a CarePlan is a trajectory (the mark of a whole case); a wrong JSON type in the
    categories of a CarePlan is reported, as it could hide one."""
    trajectory = code_system("careplan-kind")
    found = False
    for index, entry in enumerate(entries_of(bundle)):
        resource = resource_of(entry)
        if resource is None or resource.get("resourceType") != "CarePlan" or "category" not in resource:
            continue
        at = f"Bundle.entry[{index}].resource.category"
        concepts = resource["category"]
        if not isinstance(concepts, list):
            issues.append(wrong_type("an array", concepts, at))
            continue
        for n, concept in enumerate(concepts):
            if not isinstance(concept, Mapping):
                issues.append(wrong_type("an object (a CodeableConcept)", concept, f"{at}[{n}]"))
                continue
            codings = concept.get("coding", [])
            if not isinstance(codings, list):
                issues.append(wrong_type("an array", codings, f"{at}[{n}].coding"))
                continue
            for m, c in enumerate(codings):
                if not isinstance(c, Mapping):
                    issues.append(wrong_type("an object (a Coding)", c, f"{at}[{n}].coding[{m}]"))
                elif c.get("system") == trajectory and c.get("code") == "trajectory":
                    found = True
    return found
