"""Fuzzing the readers: whatever the bytes or the JSON, only a ketenzorg error comes out.

Generated JSON values, bundle-shaped JSON built from the element names the readers look at, and the
demo case's bundle mutated as a tree (values replaced anywhere) and as bytes (JSON and XML: bytes
deleted, inserted, replaced, slices repeated), through ``read_json``, ``parse_xml``, ``from_xml``,
``validate_bundle`` (also ``strict=True``), ``bundle_to_case``, ``to_xml``, ``merge_bundle`` and
``caseformat.loads``. Short in CI; under ``HYPOTHESIS_PROFILE=thorough`` ten times the profile's
examples per test.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factories import shipped_engine
from ketenzorg import Case, Engine, caseformat
from ketenzorg.demo import walk
from ketenzorg.disclosure import Recipient
from ketenzorg.errors import KetenzorgError
from ketenzorg.interop.fhir import bundle_to_case, case_to_bundle
from ketenzorg.interop.fhirxml import from_xml, to_xml
from ketenzorg.interop.merge import merge_bundle
from ketenzorg.interop.safeinput import parse_xml, read_json
from ketenzorg.interop.terminology import code_system
from ketenzorg.interop.validate import validate_bundle

THOROUGH = os.environ.get("HYPOTHESIS_PROFILE", "ci") == "thorough"
FUZZ = settings(
    max_examples=settings.default.max_examples * (10 if THOROUGH else 1),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@functools.cache
def _demo() -> tuple[Case, bytes, bytes, bytes]:
    case = walk(Engine())[-1].case
    bundle = case_to_bundle(case, recipient=Recipient.internal(), engine=shipped_engine())
    return case, orjson.dumps(bundle), to_xml(bundle), caseformat.dumps(case)


def survives(name: str, call: Callable[[], Any]) -> Any:
    """Run a reader: a ketenzorg error is a clean refusal (``None``); anything else fails the test."""
    try:
        return call()
    except KetenzorgError:
        return None
    except Exception as error:
        raise AssertionError(f"{name} raised {type(error).__name__}: {error}") from error


def read_everything(value: Any, *, strict: bool = False, merge: bool = False) -> None:
    """Every reader of parsed FHIR JSON."""
    outcome = survives("validate_bundle", lambda: validate_bundle(value, strict=strict, engine=Engine()))
    assert outcome is not None, "validate_bundle reports problems as issues, it raises nothing"
    assert outcome["resourceType"] == "OperationOutcome"
    survives("bundle_to_case", lambda: bundle_to_case(value, engine=shipped_engine()))
    survives("to_xml", lambda: to_xml(value))
    if merge:
        survives("merge_bundle", lambda: merge_bundle(Engine(), _demo()[0], value))


# --- strategies ----------------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.decimals(allow_nan=False, allow_infinity=False, places=3)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)

# The element names and values the readers look for, so generated bundles reach deep into them.
NAMES = """resourceType id identifier system value extension url valueString valueInteger valueBoolean
valueCoding valueReference valueDateTime valueCodeableConcept code coding category component item
answer linkId reference fullUrl resource participant role member period start end subject basis
prediction outcome performer note text effectiveDateTime status type goal activity detail description
encounter author name div""".split()
KNOWN_VALUES = [
    "Bundle", "Observation", "CarePlan", "CareTeam", "Encounter", "RiskAssessment", "Patient",
    "Organization", "QuestionnaireResponse", "Goal", "collection", "transaction", "trajectory",
    "safety-score", "incident", "incident-acute", "phase-change", "2026-01-05T10:00:00+00:00",
    code_system("careplan-kind"), code_system("observation-kind"), code_system("phase"),
    '<div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div>',
    '<div xmlns="http://www.w3.org/1999/xhtml"><script>x</script></div>',
]  # fmt: skip
fhir_like = st.recursive(
    scalars | st.sampled_from(KNOWN_VALUES),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(NAMES), inner, max_size=5),
    max_leaves=25,
)
resources = st.builds(
    lambda rtype, rest: {"resourceType": rtype, **rest},
    st.sampled_from(KNOWN_VALUES[1:10]),
    st.dictionaries(st.sampled_from(NAMES), fhir_like, max_size=6),
)
bundles = st.builds(
    lambda kind, entries: {"resourceType": "Bundle", "type": kind, "entry": entries},
    st.sampled_from(["collection", "transaction"]) | json_values,
    st.lists(
        st.fixed_dictionaries(
            {"resource": resources}, optional={"fullUrl": st.text(max_size=5) | json_values}
        ),
        max_size=6,
    ),
)


@st.composite
def byte_mutations(draw: st.DrawFn, data: bytes) -> bytes:
    """A few byte-level edits of ``data``: delete, insert, replace, or repeat a slice."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(out) - 1, 0)))
        edit = draw(st.sampled_from(["delete", "insert", "replace", "repeat"]))
        size = draw(st.integers(1, 16))
        if edit == "delete":
            del out[at : at + size]
        elif edit == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=size) | st.sampled_from(SPECIAL))
        elif edit == "replace":
            out[at : at + size] = draw(st.binary(min_size=size, max_size=size))
        else:
            out[at:at] = out[at : at + size] * draw(st.integers(1, 3))
    return bytes(out)


SPECIAL = [b"{", b"}", b"[", b"]", b'"', b",", b":", b"null", b"<", b">", b"</", b"/>", b"&#0;", b"\\u0000",
           b'""', b"[]", b"{}", b"<!DOCTYPE x>", b"\xff", b"\xc3"]  # fmt: skip


@st.composite
def tree_mutations(draw: st.DrawFn) -> dict[str, Any]:
    """The demo bundle with 1-3 values replaced (any key at any depth) by generated JSON."""
    bundle: dict[str, Any] = orjson.loads(_demo()[1])
    for _ in range(draw(st.integers(1, 3))):
        node: Any = bundle
        while True:
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            if not keys:
                break
            key = draw(st.sampled_from(keys))
            child = node[key]
            if not isinstance(child, dict | list) or draw(st.integers(0, 4)) == 0:
                node[key] = draw(fhir_like)
                break
            node = child
    return bundle


# --- the properties ------------------------------------------------------------------------------


@FUZZ
@given(json_values)
def test_any_json_value(value: Any) -> None:
    read_everything(value)
    data = orjson.dumps(value, default=str)
    parsed = survives("read_json", lambda: read_json(data))
    if parsed is not None:
        read_everything(parsed)
    survives("caseformat.loads", lambda: caseformat.loads(data))


@FUZZ
@given(bundles)
def test_bundle_shaped_json(bundle: dict[str, Any]) -> None:
    read_everything(bundle, strict=True)


@FUZZ
@given(tree_mutations())
def test_mutated_demo_bundle(bundle: dict[str, Any]) -> None:
    read_everything(bundle, merge=True)


@FUZZ
@given(st.data())
def test_mutated_json_bytes(data: st.DataObject) -> None:
    raw = data.draw(byte_mutations(_demo()[1]))
    parsed = survives("read_json", lambda: read_json(raw))
    if parsed is not None:
        read_everything(parsed)


@FUZZ
@given(st.data())
def test_mutated_xml_bytes(data: st.DataObject) -> None:
    raw = data.draw(byte_mutations(_demo()[2]))
    survives("parse_xml", lambda: parse_xml(raw))
    parsed = survives("from_xml", lambda: from_xml(raw))
    if parsed is not None:
        read_everything(parsed)


@FUZZ
@given(st.data())
def test_mutated_case_documents(data: st.DataObject) -> None:
    raw = data.draw(byte_mutations(_demo()[3]))
    survives("caseformat.loads", lambda: caseformat.loads(raw))


def test_the_fuzzers_reach_the_readers() -> None:
    """The demo's own documents pass every reader: the properties above start from valid input."""
    case, bundle, xml, document = _demo()
    assert (
        validate_bundle(read_json(bundle), engine=shipped_engine())["issue"][0]["severity"] == "information"
    )
    assert bundle_to_case(from_xml(xml), engine=shipped_engine()) == bundle_to_case(
        read_json(bundle), engine=shipped_engine()
    )
    assert caseformat.loads(document) == case
