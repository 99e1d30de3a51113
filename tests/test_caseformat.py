"""The case format: exact round trip, the published schema, and errors with paths."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest

from ketenzorg import Case, CaseFormatError, MalformedInputError, Problem, caseformat, caseschema
from ketenzorg.demo import build_demo_case

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "case.schema.json"


@pytest.fixture(scope="module")
def demo_case() -> Case:
    return build_demo_case()


@pytest.fixture(scope="module")
def demo_dict(demo_case: Case) -> dict[str, Any]:
    return caseformat.case_to_dict(demo_case)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def _index_of(data: dict[str, Any], event_type: str, nth: int = 0) -> int:
    hits = [i for i, e in enumerate(data["events"]) if e["type"] == event_type]
    return hits[nth]


def test_published_schema_is_generated_from_the_code() -> None:
    assert SCHEMA_PATH.read_bytes() == caseschema.render(), (
        "schemas/case.schema.json is out of date: "
        "run `python -m ketenzorg.caseschema > schemas/case.schema.json`"
    )


def test_round_trip_is_exact(demo_case: Case) -> None:
    data = caseformat.dumps(demo_case)
    again = caseformat.loads(data)
    assert again == demo_case
    assert caseformat.dumps(again) == data


def test_demo_case_is_valid_against_the_schema(
    demo_dict: dict[str, Any], validator: jsonschema.Draft202012Validator
) -> None:
    errors = list(validator.iter_errors(json.loads(orjson.dumps(demo_dict))))
    assert errors == []


def test_every_event_type_appears_in_the_demo(demo_dict: dict[str, Any]) -> None:
    from ketenzorg.events import EVENT_TYPES

    seen = {e["type"] for e in demo_dict["events"]}
    # party_left is the only kind the demo has no use for.
    assert set(EVENT_TYPES) - seen == {"party_left"}


@pytest.mark.parametrize(
    ("event_type", "field", "value", "expected"),
    [
        ("score_given", "score", 11, "score: 11 is not in 0..10"),
        ("score_given", "score", -1, "score: -1 is not in 0..10"),
        ("score_given", "score", "7", "score: expected an integer, got text"),
        ("score_given", "score", True, "score: expected an integer, got a boolean"),
        ("score_given", "score", 6.5, "score: expected an integer, got a number"),
        ("score_given", "role", "boss", "role: is not one of"),
        ("score_given", "party_id", 3, "party_id: expected text, got an integer"),
        ("score_given", "at", "2026-01-19T10:00:00", "at: is not an ISO 8601"),
        ("score_given", "at", "yesterday", "at: is not an ISO 8601"),
        ("conference_held", "client_present", "yes", "client_present: expected true or false"),
        ("incident_reported", "severity", "huge", "severity: is not one of"),
        ("phase_changed", "to_phase", 4, "to_phase: is not one of 1, 2, 3"),
    ],
)
def test_bad_field_is_reported_with_its_path(
    demo_dict: dict[str, Any],
    validator: jsonschema.Draft202012Validator,
    event_type: str,
    field: str,
    value: Any,
    expected: str,
) -> None:
    data = copy.deepcopy(demo_dict)
    index = _index_of(data, event_type, -1)
    data["events"][index][field] = value
    with pytest.raises(CaseFormatError) as info:
        caseformat.case_from_dict(data)
    messages = [str(p) for p in info.value.problems]
    assert any(m.startswith(f"events[{index}].{expected}") for m in messages), messages
    # The published schema refuses the same document.
    assert not validator.is_valid(data)


def test_all_problems_are_reported_at_once(demo_dict: dict[str, Any]) -> None:
    data = copy.deepcopy(demo_dict)
    first, second = _index_of(data, "score_given", 0), _index_of(data, "score_given", 3)
    data["events"][first]["score"] = 11
    del data["events"][second]["rationale"]
    data["events"][second]["party"] = "x"
    renamed = _index_of(data, "conference_held", 1)
    data["events"][renamed]["type"] = "score_taken"
    with pytest.raises(CaseFormatError) as info:
        caseformat.case_from_dict(data)
    paths = sorted(p.path for p in info.value.problems)
    assert f"events[{first}].score" in paths
    assert f"events[{second}]" in paths  # an unknown field, named by where it stands
    assert f"events[{renamed}]" in paths
    assert str(info.value).startswith(f"{len(paths)} problems")


def test_missing_required_field(demo_dict: dict[str, Any]) -> None:
    data = copy.deepcopy(demo_dict)
    index = _index_of(data, "score_given")
    del data["events"][index]["score"]
    with pytest.raises(CaseFormatError, match=rf"events\[{index}\]\.score: required field missing"):
        caseformat.case_from_dict(data)


def test_unknown_reference_is_reported_with_its_path(demo_dict: dict[str, Any]) -> None:
    data = copy.deepcopy(demo_dict)
    index = _index_of(data, "score_given", 2)
    data["events"][index]["party_id"] = "nobody"
    with pytest.raises(
        CaseFormatError, match=rf"events\[{index}\]\.party_id: this party is not in the care team"
    ):
        caseformat.case_from_dict(data)


def test_secret_address_is_refused_without_echoing_it(demo_dict: dict[str, Any]) -> None:
    data = copy.deepcopy(demo_dict)
    secret = "Verborgen Laan 12, 9999 ZZ Nergensdorp"
    data["events"][0]["care_setting"]["location"]["address"] = secret
    with pytest.raises(CaseFormatError) as info:
        caseformat.case_from_dict(data)
    assert "events[0].care_setting.location.address" in str(info.value)
    assert "Verborgen" not in str(info.value)
    assert "Verborgen" not in repr(info.value)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "expected a case object, got a list"),
        (b'{"format": "fhir"}', "not a ketenzorg case document"),
        (b"", "not valid JSON"),
    ],
)
def test_unusable_documents(document: bytes, message: str) -> None:
    with pytest.raises(MalformedInputError, match=message):
        caseformat.loads(document)


def test_version_and_top_level_fields(demo_dict: dict[str, Any]) -> None:
    data = copy.deepcopy(demo_dict)
    data["version"] = 2
    data["extra"] = 1
    data["case_id"] = " "
    with pytest.raises(CaseFormatError) as info:
        caseformat.case_from_dict(data)
    assert {p.path for p in info.value.problems} == {"version", "", "case_id"}
    assert "extra" not in str(info.value)


def test_events_must_start_with_case_opened(demo_dict: dict[str, Any]) -> None:
    data = copy.deepcopy(demo_dict)
    data["events"] = data["events"][1:]
    with pytest.raises(CaseFormatError, match=r"events\[0\]\.type: a case starts with case_opened"):
        caseformat.case_from_dict(data)


def test_a_duplicate_key_is_refused_not_silently_dropped(demo_dict: dict[str, Any]) -> None:
    text = json.dumps(demo_dict)
    # The same score event with a second, different "score": a duplicate must never pass.
    forged = text.replace('"score": 5,', '"score": 5, "score": 9,', 1)
    assert forged != text
    with pytest.raises(MalformedInputError, match="duplicate key 'score'"):
        caseformat.loads(forged.encode())
    with pytest.raises(MalformedInputError, match="NaN is not a JSON number"):
        caseformat.loads(text.replace('"score": 5,', '"score": NaN,', 1).encode())


# --- the JSON reading: the strict rules, budgets and bounded errors ----------------------------------


def test_a_duplicate_among_40000_keys_is_refused_with_its_place() -> None:
    # The search for the duplicate compared every key with every other one: 15 s for this document.
    keys = ",\n".join(f'  "field-{n}": {n}' for n in range(40_000))
    document = f'{{\n{keys},\n  "field-39999": 0\n}}'.encode()
    with pytest.raises(MalformedInputError) as info:
        caseformat.loads(document)
    assert [(p.path, p.message) for p in info.value.problems] == [
        ("line 40002, column 3", "duplicate key 'field-39999'")
    ]


def test_a_duplicate_key_is_refused_with_its_place(demo_dict: dict[str, Any]) -> None:
    text = json.dumps(demo_dict, indent=1)
    forged = text.replace('"score": 5,', '"score": 5, "score": 9,', 1)
    line = forged[: forged.index('"score": 9')].count("\n") + 1
    with pytest.raises(MalformedInputError) as info:
        caseformat.loads(forged)
    assert info.value.problems[0].path.startswith(f"line {line}, column ")


@pytest.mark.parametrize(
    ("document", "where"),
    [
        pytest.param(
            b'{"format": "ketenzorg.case",\n "case_id": "x\\ud800"}', "line 2, column 15", id="value"
        ),
        pytest.param(b'{"format": "ketenzorg.case",\n "\\udfff": 1}', "line 2, column 3", id="key"),
        pytest.param('{"format": "ketenzorg.case",\n "case_id": "x\ud800"}', "line 2, column 15", id="str"),
    ],
)
def test_an_unpaired_surrogate_is_refused_with_its_place(document: bytes | str, where: str) -> None:
    # It used to pass, and the case could then never be written again (orjson refuses it).
    with pytest.raises(MalformedInputError) as info:
        caseformat.loads(document)
    assert info.value.problems[0].path == where
    assert "unpaired surrogate" in info.value.problems[0].message


def test_a_case_beyond_its_node_budget_is_refused_with_its_place(monkeypatch: pytest.MonkeyPatch) -> None:
    from ketenzorg import strictjson

    monkeypatch.setattr(caseformat, "CASE_LIMITS", strictjson.Limits(max_containers=10))
    document = (
        b'{"format": "ketenzorg.case", "version": 1, "case_id": "x",\n "events": [' + b"{}," * 20 + b"{}]}"
    )
    with pytest.raises(MalformedInputError) as info:
        caseformat.loads(document)
    assert [(p.path, p.message) for p in info.value.problems] == [
        ("line 2, column 37", "more than 10 arrays and objects")
    ]


def test_the_case_budgets_follow_its_byte_limit() -> None:
    from ketenzorg import strictjson

    scale = caseformat.MAX_DOCUMENT_BYTES / strictjson.MAX_BYTES
    assert caseformat.CASE_LIMITS.max_bytes == caseformat.MAX_DOCUMENT_BYTES
    assert caseformat.CASE_LIMITS.max_containers == scale * strictjson.MAX_CONTAINERS
    assert caseformat.CASE_LIMITS.max_values == scale * strictjson.MAX_VALUES


def test_a_long_list_of_bad_events_reports_the_first_ones_only() -> None:
    # A million empty events used to take gigabytes to report one problem each.
    events = [{}] * (caseformat.MAX_PROBLEMS + 50)
    with pytest.raises(CaseFormatError) as info:
        caseformat.case_from_dict(
            {"format": "ketenzorg.case", "version": 1, "case_id": "x", "events": events}
        )
    problems = info.value.problems
    assert len(problems) == caseformat.MAX_PROBLEMS + 1
    assert problems[0].path == "events[0]"
    assert problems[-1] == Problem("events", f"items from [{caseformat.MAX_PROBLEMS}] on are not checked")


def test_many_unknown_fields_are_one_problem_per_object(demo_dict: dict[str, Any]) -> None:
    data = copy.deepcopy(demo_dict)
    data.update({f"extra-{n:04d}": n for n in range(caseformat.MAX_PROBLEMS + 30)})
    data["events"][0].update({f"extra-{n:04d}": n for n in range(caseformat.MAX_PROBLEMS + 20)})
    with pytest.raises(CaseFormatError) as info:
        caseformat.case_from_dict(data)
    assert [p.path for p in info.value.problems] == ["", "events[0]"]
    assert "130 fields that the case format does not have" in str(info.value)
    assert "120 fields" in str(info.value)
    assert "extra-" not in str(info.value)  # the names are not repeated


@pytest.fixture
def fresh_converter() -> Any:
    """The case format's converter built anew for one test, and again after it (unpatched)."""
    caseformat.converter.cache_clear()
    yield
    caseformat.converter.cache_clear()


def test_event_hooks_are_generated_when_first_used(
    fresh_converter: None, demo_dict: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading a case generates no writer for events (start-up of ``evaluate``); writing one does,
    once per event class, and the round trip stays exact."""
    made: list[type] = []

    def spy(cls: type, conv: Any, **overrides: Any) -> Any:
        made.append(cls)
        return make_unstructure(cls, conv, **overrides)

    make_unstructure = caseformat.make_dict_unstructure_fn
    monkeypatch.setattr(caseformat, "make_dict_unstructure_fn", spy)
    case = caseformat.case_from_dict(demo_dict)
    assert made == []
    assert caseformat.case_to_dict(case) == demo_dict
    written = {type(event) for event in case.events}
    assert sorted(c.__name__ for c in made) == sorted(c.__name__ for c in written)
    caseformat.case_to_dict(case)
    assert len(made) == len(written)


def _reference_converter() -> Any:
    """The case format's converter with cattrs' own generated structuring functions for every attrs
    class, as it read cases before the table-driven reader."""
    import attrs
    from cattrs.gen import make_dict_structure_fn

    from ketenzorg.events import Event

    conv = caseformat.converter.__wrapped__()
    conv.register_structure_hook_factory(
        lambda t: isinstance(t, type) and attrs.has(t) and t is not Event,
        lambda cls: make_dict_structure_fn(cls, conv),
    )
    return conv


def _read_with(conv: Any, events: Any) -> Any:
    from ketenzorg.events import Event

    try:
        return ("ok", conv.structure(events, tuple[Event, ...]))
    except Exception as exc:
        return ("problems", caseformat._problems(exc, "events"))


_ODD_VALUES: list[Any] = [None, "", "x", 0, 7, -1, 1.5, True, [], ["a"], {}, {"a": 1}, "2024-01-01T00:00:00Z"]


def _mutations(value: Any, rng: Any, depth: int = 0) -> Any:
    """``value`` with one random change somewhere inside: a key dropped, added or given an odd value."""
    if isinstance(value, dict) and value:
        mutated = dict(value)
        key = rng.choice(sorted(mutated))
        roll = rng.random()
        if roll < 0.2 and key != "id":  # a dropped id is made anew (random): not comparable
            del mutated[key]
        elif roll < 0.3:
            mutated["unknown_" + key] = 1
        elif roll < 0.65 or depth > 4:
            mutated[key] = rng.choice(_ODD_VALUES)
        else:
            mutated[key] = _mutations(mutated[key], rng, depth + 1)
        return mutated
    if isinstance(value, list) and value:
        mutated_list = list(value)
        index = rng.randrange(len(mutated_list))
        mutated_list[index] = _mutations(mutated_list[index], rng, depth + 1)
        return mutated_list
    return rng.choice(_ODD_VALUES)


def test_the_table_driven_reader_reads_as_cattrs_generated_functions_do(
    fresh_converter: None, demo_dict: dict[str, Any]
) -> None:
    import random

    reference = _reference_converter()
    ours = caseformat.converter()
    rng = random.Random(20240607)
    events = demo_dict["events"]
    assert _read_with(ours, events) == _read_with(reference, events)
    outcomes = set()
    for _ in range(500):
        mutated = list(events)
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            index = rng.randrange(len(mutated))
            mutated[index] = _mutations(mutated[index], rng)
        expected, got = _read_with(reference, mutated), _read_with(ours, mutated)
        assert got == expected
        outcomes.add(got[0])
    assert outcomes == {"ok", "problems"}


def test_reading_a_case_compiles_no_code(
    fresh_converter: None, demo_dict: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Generating cattrs' functions took a third of `ketenzorg evaluate`'s own time: reading walks tables.
    import builtins

    compiled: list[str] = []
    real_compile = builtins.compile

    def spy(source: Any, filename: Any, *args: Any, **kwargs: Any) -> Any:
        compiled.append(str(filename))
        return real_compile(source, filename, *args, **kwargs)

    monkeypatch.setattr(builtins, "compile", spy)
    case = caseformat.case_from_dict(demo_dict)
    assert case.events
    assert [name for name in compiled if "cattrs" in name] == []


# --- the fast read: orjson when it gives what the careful read gives --------------------------------


def _careful(document: bytes) -> Any:
    """What ``loads`` gives by the careful path alone: the strict parse, then ``case_from_dict``."""
    from ketenzorg import strictjson

    try:
        return ("ok", caseformat.case_from_dict(strictjson.loads(document, limits=caseformat.CASE_LIMITS)))
    except (CaseFormatError, MalformedInputError) as error:
        return ("problems", [(p.path, p.message) for p in error.problems])


def _outcome(document: bytes) -> Any:
    try:
        return ("ok", caseformat.loads(document))
    except (CaseFormatError, MalformedInputError) as error:
        return ("problems", [(p.path, p.message) for p in error.problems])


def test_a_written_case_is_read_by_the_fast_path(demo_case: Case) -> None:
    for document in (caseformat.dumps(demo_case), orjson.dumps(caseformat.case_to_dict(demo_case))):
        assert caseformat._fast_loads(document) == demo_case
        assert caseformat._fast_loads(document.decode()) == demo_case


def _score_text(demo_dict: dict[str, Any]) -> str:
    return orjson.dumps(demo_dict).decode()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # a duplicate key, compact and spaced, with a plain value and with an object dropped
        pytest.param('"score":5,', '"score":5,"score":9,', id="duplicate"),
        pytest.param('"score":5,', '"score" :\n 5 , "score": 9,', id="duplicate-spaced"),
        pytest.param('"case_id":', '"case_id":"x","case_id":', id="duplicate-top"),
        pytest.param('"injury":true', '"injury":9223372036854775808', id="answer-beyond-64-bits"),
        pytest.param('"injury":true', '"injury":9007199254740993', id="answer-beyond-53-bits"),
        pytest.param('"score":5,', '"score":-0,', id="minus-zero"),
        pytest.param('"score":5,', '"score":9223372036854775808,', id="beyond-64-bits"),
        pytest.param('"score":5,', '"score":18446744073709551616,', id="beyond-unsigned-64-bits"),
        pytest.param('"score":5,', '"score":5.0,', id="integer-as-decimal"),
        pytest.param(
            '"fit":0.8333', '"fit":0.83330000000000000000000000000000000000000001', id="fit-too-long"
        ),
        pytest.param('"fit":0.8333', '"fit":8333e-4', id="fit-exponent"),
        pytest.param('"fit":0.8333', '"fit":1e-301', id="fit-exponent-beyond-300"),
        pytest.param('"fit":0.8333', '"fit":0e-400', id="fit-zero-exponent-beyond-300"),
        pytest.param('"fit":0.8333', '"fit":-0', id="fit-minus-zero"),
        pytest.param('"fit":0.8333', '"fit":NaN', id="fit-nan"),
        pytest.param(
            '"version":1',
            '"version":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]',
            id="deep",
        ),
        pytest.param('"version":1', '"version":' + "[" * 70 + "]" * 70, id="too-deep"),
        pytest.param('"case_id":"', '"case_id":"\\ud800', id="surrogate"),
        pytest.param("{", "\ufeff{", id="byte-order-mark"),
    ],
)
def test_the_fast_path_reads_as_the_careful_path(demo_dict: dict[str, Any], old: str, new: str) -> None:
    text = _score_text(demo_dict)
    assert old in text
    document = text.replace(old, new, 1).encode()
    expected = _careful(document)
    assert _outcome(document) == expected
    if expected[0] == "problems":
        assert caseformat._fast_loads(document) is None


def test_a_duplicate_key_never_passes_the_fast_path(demo_dict: dict[str, Any]) -> None:
    text = _score_text(demo_dict)
    forged = text.replace('"score":5,', '"score":5,"score":9,', 1).encode()
    assert caseformat._fast_loads(forged) is None
    with pytest.raises(MalformedInputError, match="duplicate key 'score'"):
        caseformat.loads(forged)


def test_an_escaped_colon_cannot_hide_a_duplicate_key(demo_dict: dict[str, Any]) -> None:
    # Without escapes the text and orjson's output hold the same colons; an escaped one in a string
    # would make up for the colon of the dropped member.
    text = _score_text(demo_dict)
    forged = text.replace('"score":5,', '"score":5,"score":9,', 1).replace(
        '"rationale":"', '"rationale":"\\u003a', 1
    )
    assert forged.count('"score":9') == 1
    assert "\\u003a" in forged
    document = forged.encode()
    assert caseformat._fast_loads(document) is None
    with pytest.raises(MalformedInputError, match="duplicate key 'score'"):
        caseformat.loads(document)
