"""Errors never repeat what was sent: a marker planted in any field or key never comes back.

A value in a structured field (an id, a code, a date, a key) can hold personal data as easily as a
free text can, and an error message travels further than the file: into logs, tickets and mail.
So every reader describes a bad value ("is not a date-time", "unknown party") and names where it
stands, but never quotes it. The test plants a marker at every kind of place in the demo's case
file and bundle (one place per path shape, so ``events[*].party_id`` once) and checks every error
text and OperationOutcome that comes back.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest

from factories import shipped_engine
from ketenzorg import Engine, KetenzorgError, caseformat
from ketenzorg.demo import walk
from ketenzorg.disclosure import Recipient
from ketenzorg.interop.fhir import bundle_to_case, case_to_bundle
from ketenzorg.interop.fhirxml import to_xml
from ketenzorg.interop.validate import read_bundle

MARKER = "Qzx7Marker"
VARIANTS: tuple[Callable[[Any], Any], ...] = (
    lambda old: MARKER,
    lambda old: f"{old}{MARKER}" if isinstance(old, str) else MARKER,
    lambda old: f"2026-01-05T{MARKER}" if isinstance(old, str) else [MARKER],
)

Path = tuple[str | int, ...]


@functools.cache
def demo_case_dict() -> dict[str, Any]:
    result: dict[str, Any] = orjson.loads(caseformat.dumps(walk()[-1].case))
    return result


@functools.cache
def demo_bundle() -> dict[str, Any]:
    return case_to_bundle(walk()[-1].case, recipient=Recipient.internal(), engine=shipped_engine())


def shape(path: Path) -> tuple[str, ...]:
    return tuple("*" if isinstance(p, int) else p for p in path)


def places(value: Any, path: Path = ()) -> Iterator[tuple[Path, bool]]:
    """Every leaf (False) and every key (True), once per path shape."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key), True
            yield from places(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from places(item, (*path, index))
    else:
        yield path, False


def unique_places(document: dict[str, Any]) -> list[tuple[Path, bool]]:
    seen: set[tuple[tuple[str, ...], bool]] = set()
    out = []
    for path, is_key in places(document):
        if (shape(path), is_key) not in seen:
            seen.add((shape(path), is_key))
            out.append((path, is_key))
    return out


def planted(document: dict[str, Any], path: Path, is_key: bool, variant: Callable[[Any], Any]) -> Any:
    doc = copy.deepcopy(document)
    parent: Any = doc
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if is_key:
        assert isinstance(last, str)
        parent[f"{last}{MARKER}" if variant is VARIANTS[1] else MARKER] = parent.pop(last)
    else:
        parent[last] = variant(parent[last])
    return doc


def texts_of(call: Callable[[], Any]) -> list[str]:
    """Every text a reader gives back: its error, or its OperationOutcome's diagnostics."""
    try:
        result = call()
    except KetenzorgError as error:
        return [str(error), *(str(p) for p in getattr(error, "problems", ()))]
    if isinstance(result, tuple):
        result = result[0]
    if isinstance(result, dict) and result.get("resourceType") == "OperationOutcome":
        return [f"{i.get('diagnostics')} @ {i.get('expression')}" for i in result["issue"]]
    return []


def free_text(path: Path) -> bool:
    """Fields whose value is shown back to the user on purpose in a valid case (not in errors)."""
    return False


def _cases() -> list[tuple[str, Path, bool, int]]:
    out = []
    for name, document in (("case", demo_case_dict()), ("bundle", demo_bundle())):
        for path, is_key in unique_places(document):
            for index in range(len(VARIANTS) if not is_key else 2):
                out.append((name, path, is_key, index))
    return out


def _read_case(data: Any) -> Any:
    case = caseformat.case_from_dict(data)
    return Engine().replay(case.case_id, case.events)


def _read_bundle(data: Any) -> Any:
    outcome, case = read_bundle(data, engine=Engine())
    if case is None:
        bundle_to_case(data, engine=shipped_engine())
    return outcome


def _read_bundle_strictly(data: Any) -> Any:
    return read_bundle(data, strict=True, engine=Engine())


@pytest.mark.parametrize(("document", "path", "is_key", "variant"), _cases(), ids=repr)
def test_no_error_repeats_a_planted_value(document: str, path: Path, is_key: bool, variant: int) -> None:
    source = demo_case_dict() if document == "case" else demo_bundle()
    data = planted(source, path, is_key, VARIANTS[variant])
    readers = (_read_case,) if document == "case" else (_read_bundle, _read_bundle_strictly, to_xml)
    for reader in readers:
        leaked = [t for t in texts_of(lambda: reader(data)) if re.search(MARKER, t)]  # noqa: B023
        assert not leaked, (reader.__name__, leaked)
