"""Instrument data files: the documented format, its JSON Schema and the loader agree.

The schema (``schemas/instrument.schema.json``) is what a plugin author validates a data file
against; the loader (``spec_from_data``, ``load_data``) is what the engine runs. Every shipped data
file fits the schema, and a set of bad files is refused by both, the loader naming the file and
the place in it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import jsonschema
import pytest

from ketenzorg import Engine, PluginError, hookimpl
from ketenzorg.instruments import (
    OPTIONAL_SPEC_KEYS,
    SPEC_KEYS,
    AdvisedSetting,
    InstrumentDataError,
    InstrumentSpec,
    Item,
    Urgency,
    load_data,
    spec_from_data,
)
from ketenzorg.pluginhost import InstrumentRegistry

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "schemas" / "instrument.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
SHIPPED = sorted((ROOT / "src" / "ketenzorg" / "plugins" / "data").glob("*.json")) + sorted(
    (ROOT / "examples").glob("*/src/*/*.json")
)
TEXT = {"nl": "Vraag (synthetisch)", "en": "Question (synthetic)"}


def _good() -> dict[str, Any]:
    good = {
        "id": "org.check",
        "version": "1",
        "name": {"nl": "Controle", "en": "Check"},
        "description": {"nl": "Synthetisch", "en": "Synthetic"},
        "items": [
            {"id": "yes_no", "answer_type": "boolean", "text": TEXT},
            {"id": "pick", "answer_type": "choice", "allowed": ["a", "b"], "text": TEXT, "section": "s"},
            {"id": "count", "answer_type": "integer", "minimum": 0, "maximum": 3, "text": TEXT},
            {"id": "note", "answer_type": "text", "required": False, "text": TEXT},
        ],
        "levels": [
            {"code": "standard", "display": {"nl": "standaard", "en": "standard"}, "urgency": "routine"},
            {
                "code": "high",
                "display": {"nl": "hoog", "en": "high"},
                "urgency": "immediate",
                "advised_setting": "secret_shelter",
            },
        ],
        "weights": {"yes_no": 2},  # the instrument's own data
    }
    return copy.deepcopy(good)  # no two items share a text


def _schema_errors(data: Any) -> list[str]:
    """Where the schema refuses ``data``, as the loader writes a place (``items[1].allowed``)."""
    places = []
    for error in VALIDATOR.iter_errors(data):
        place = ""
        for part in error.absolute_path:
            place += f"[{part}]" if isinstance(part, int) else (f".{part}" if place else str(part))
        places.append(place)
    return places


def _loader_errors(data: Any) -> list[str]:
    with pytest.raises(InstrumentDataError) as caught:
        spec_from_data(data, source="org/check.json")
    assert str(caught.value).startswith("org/check.json: ")
    return [p.path for p in caught.value.problems]


# --- the shipped files -----------------------------------------------------------------------------


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_data_file_fits_the_schema_and_loads(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert _schema_errors(data) == []
    assert spec_from_data(data).id == data["id"]


def test_the_shipped_files_were_found() -> None:
    assert {p.name for p in SHIPPED} >= {"geweldsanalyse.json", "gezinsprofielen.json", "rihg.json"}


def test_the_schema_describes_every_key_of_an_item_and_of_a_spec() -> None:
    # An item key the loader accepts but the schema refuses (or the other way round) is a drift.
    item = SCHEMA["$defs"]["item"]
    assert set(item["properties"]) == {field.name for field in attrs.fields(Item)}
    assert set(SCHEMA["properties"]) == set(SPEC_KEYS) | set(OPTIONAL_SPEC_KEYS)
    assert set(SCHEMA["properties"]) == {field.name for field in attrs.fields(InstrumentSpec)}
    assert set(SCHEMA["required"]) == set(SPEC_KEYS)


def test_a_good_file_is_accepted_by_both() -> None:
    data = _good()
    data["items"][0]["text"] = {**TEXT, "de": "Frage"}  # more languages than Dutch and English
    data["levels"][0]["display"] = {**data["levels"][0]["display"], "de": "normal"}
    assert _schema_errors(data) == []
    spec = spec_from_data(data)
    assert [i.id for i in spec.items] == ["yes_no", "pick", "count", "note"]
    assert [(level.code, level.display.en) for level in spec.levels] == [
        ("standard", "standard"),
        ("high", "high"),
    ]
    assert spec.level("high").urgency is Urgency.IMMEDIATE
    assert spec.level("high").advised_setting is AdvisedSetting.SECRET_SHELTER
    assert spec.level("standard").advised_setting is None


def test_a_level_code_twice_is_the_loaders_to_refuse_and_the_schema_says_so() -> None:
    data = _good()
    data["levels"][1]["code"] = "standard"
    with pytest.raises(InstrumentDataError) as caught:
        spec_from_data(data, source="org/check.json")
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("levels[1].code", "this code is used twice")
    ]
    assert _schema_errors(data) == []
    assert "a level's code is used once" in SCHEMA["description"]


# --- bad files: refused by both, named by place ----------------------------------------------------


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path
        target: Any = data
        for part in parents:
            target = target[part]
        target[last] = value

    return change


def _drop(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path
        target: Any = data
        for part in parents:
            target = target[part]
        del target[last]

    return change


BAD: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "a misspelt key in an item": (_set(("items", 3, "requird"), False), "items[3].requird"),
    "a misspelt range": (_set(("items", 2, "maximun"), 9), "items[2].maximun"),
    "a choice item without codes": (_drop(("items", 1, "allowed")), "items[1]"),
    "a choice item with no codes": (_set(("items", 1, "allowed"), []), "items[1].allowed"),
    "a code given twice": (_set(("items", 1, "allowed"), ["a", "a"]), "items[1].allowed"),
    "an empty code": (_set(("items", 1, "allowed"), ["a", " "]), "items[1].allowed[1]"),
    "codes on a yes/no item": (_set(("items", 0, "allowed"), ["a"]), "items[0]"),
    "a range on a text item": (_set(("items", 3, "minimum"), 1), "items[3]"),
    "a range that is not a whole number": (_set(("items", 2, "maximum"), 2.5), "items[2].maximum"),
    "required that is not true or false": (_set(("items", 3, "required"), "no"), "items[3].required"),
    "an empty question": (_set(("items", 0, "text", "en"), "  "), "items[0].text.en"),
    "a question without English": (_set(("items", 0, "text"), {"nl": "Vraag"}), "items[0].text"),
    "a name without Dutch": (_set(("name",), {"en": "Check"}), "name"),
    "an empty description": (_set(("description", "nl"), ""), "description.nl"),
    "an unknown answer type": (_set(("items", 0, "answer_type"), "slider"), "items[0].answer_type"),
    "an item without an id": (_drop(("items", 0, "id")), "items[0]"),
    "an empty item id": (_set(("items", 0, "id"), ""), "items[0].id"),
    "an empty section": (_set(("items", 1, "section"), ""), "items[1].section"),
    "an item that is not an object": (_set(("items", 0), "yes_no"), "items[0]"),
    "no items": (_set(("items",), []), "items"),
    "an empty version": (_set(("version",), " "), "version"),
    "a missing version": (_drop(("version",)), "version"),
    "levels that are not a list": (_set(("levels",), {"high": {}}), "levels"),
    "a level that is not an object": (_set(("levels", 0), "standard"), "levels[0]"),
    "a level without a code": (_drop(("levels", 0, "code")), "levels[0]"),
    "a level without a display": (_drop(("levels", 1, "display")), "levels[1]"),
    "a level display without English": (_set(("levels", 0, "display"), {"nl": "laag"}), "levels[0].display"),
    "a misspelt level key": (_set(("levels", 1, "urgncy"), "soon"), "levels[1].urgncy"),
    "an unknown urgency": (_set(("levels", 0, "urgency"), "later"), "levels[0].urgency"),
    "an unknown advised setting": (
        _set(("levels", 1, "advised_setting"), "hotel"),
        "levels[1].advised_setting",
    ),
    "an empty level code": (_set(("levels", 0, "code"), " "), "levels[0].code"),
}


@pytest.mark.parametrize("change", BAD.values(), ids=list(BAD))
def test_a_bad_file_is_refused_by_the_schema_and_by_the_loader(
    change: tuple[Callable[[dict[str, Any]], None], str],
) -> None:
    mutate, place = change
    data = _good()
    mutate(data)
    schema_places = _schema_errors(data)
    assert schema_places, "the schema accepts it"
    loader_places = _loader_errors(data)
    assert any(p.startswith(place) for p in loader_places), loader_places
    # Both point at the same place (the schema names the object for a key it does not allow).
    assert any(lp.startswith(sp) for sp in schema_places for lp in loader_places), (
        schema_places,
        loader_places,
    )


def test_the_loader_names_a_misspelt_key_and_suggests_the_right_one() -> None:
    data = _good()
    data["items"][3]["requird"] = False
    with pytest.raises(InstrumentDataError) as caught:
        spec_from_data(data, source="org/check.json")
    assert str(caught.value) == (
        "org/check.json: items[3].requird: not a key of an item (did you mean 'required'?)"
    )


@pytest.mark.parametrize(
    ("change", "place", "message"),
    [
        (_set(("items", 2, "minimum"), 5), "items[2].minimum", "is above the maximum: no answer could fit"),
        (_set(("items", 1, "id"), "yes_no"), "items[1].id", "this id is used twice"),
    ],
    ids=["minimum above maximum", "an item id twice"],
)
def test_rules_beyond_json_schema_are_the_loaders_and_are_named_in_the_schema(
    change: Callable[[dict[str, Any]], None], place: str, message: str
) -> None:
    data = _good()
    change(data)
    with pytest.raises(InstrumentDataError) as caught:
        spec_from_data(data, source="org/check.json")
    assert [(p.path, p.message) for p in caught.value.problems] == [(place, message)]
    # JSON Schema cannot compare two values: the schema says so instead of checking it.
    assert _schema_errors(data) == []
    description = SCHEMA["description"] + SCHEMA["properties"]["items"]["description"]
    assert "minimum may not be above its maximum" in description
    assert "Item ids are unique" in description


def test_every_problem_of_a_file_is_named_at_once() -> None:
    data = _good()
    data["items"][0]["requird"] = True
    data["items"][2]["minimum"] = 7
    data["name"] = {"nl": "Controle"}
    with pytest.raises(InstrumentDataError) as caught:
        spec_from_data(data)
    assert {p.path for p in caught.value.problems} == {"items[0].requird", "items[2].minimum", "name"}


# --- reading the file ------------------------------------------------------------------------------


def test_load_data_remembers_the_file_and_spec_from_data_names_it(tmp_path: Path) -> None:
    package = tmp_path / "org_dash_plugin"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    data = _good()
    data["items"][0]["requird"] = True
    (package / "dash.json").write_text(json.dumps(data), encoding="utf-8")
    (package / "broken.json").write_text('{"id": ', encoding="utf-8")
    (package / "list.json").write_text("[]", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(tmp_path))
        loaded = load_data("org_dash_plugin", "dash.json")
        with pytest.raises(InstrumentDataError) as typo:
            spec_from_data(loaded)
        with pytest.raises(InstrumentDataError) as missing:
            load_data("org_dash_plugin", "dahs.json")
        with pytest.raises(InstrumentDataError) as broken:
            load_data("org_dash_plugin", "broken.json")
        with pytest.raises(InstrumentDataError) as not_an_object:
            load_data("org_dash_plugin", "list.json")
    assert loaded == data
    assert str(typo.value).startswith("org_dash_plugin/dash.json: items[0].requird: not a key of an item")
    assert str(missing.value) == "org_dash_plugin/dahs.json: no such file in the package"
    assert str(broken.value) == "org_dash_plugin/broken.json: line 1, column 8: not valid JSON"
    assert str(not_an_object.value) == "org_dash_plugin/list.json: an instrument's data is a JSON object"


def test_a_plugin_with_a_bad_data_file_is_refused_with_the_file_and_the_place() -> None:
    data = _good()
    data["items"][2]["minimum"] = 9

    class Check:
        @property
        def spec(self) -> Any:
            return spec_from_data(data, source="org_check/check.json")

        def assess(self, answers: Any) -> Any:
            raise AssertionError("never assessed")

    class Plugin:
        ketenzorg_plugin_name = "org.check"

        @hookimpl
        def ketenzorg_register_instruments(self, registry: InstrumentRegistry) -> None:
            registry.add(Check())  # type: ignore[arg-type]

    with pytest.raises(PluginError) as caught:
        Engine(plugins=[Plugin()])
    assert isinstance(caught.value.cause, InstrumentDataError)
    assert str(caught.value) == (
        "plugin 'org.check' failed in ketenzorg_register_instruments: InstrumentDataError: "
        "org_check/check.json: items[2].minimum: is above the maximum: no answer could fit"
    )


def test_the_example_in_the_plugin_guide_fits_the_schema_and_loads() -> None:
    guide = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = guide.split("### Instrument data files", 1)[1]
    example = json.loads(section.split("```json\n", 1)[1].split("```", 1)[0])
    assert _schema_errors(example) == []
    assert [i.id for i in spec_from_data(example).items] == ["injured", "children", "frequency"]
    assert "schemas/instrument.schema.json" in section
