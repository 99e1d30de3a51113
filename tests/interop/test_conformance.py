"""The FHIR conformance package (schemas/fhir/): up to date, valid R4, and fitting what the mapping emits."""

from __future__ import annotations

import ast
import hashlib
import importlib
import itertools
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest

from factories import shipped_engine
from ketenzorg import Engine
from ketenzorg.demo import build_demo_case
from ketenzorg.disclosure import Recipient
from ketenzorg.instruments import AnswerType
from ketenzorg.interop import conformance
from ketenzorg.interop import definitions as registry
from ketenzorg.interop.definitions import TRANSLATION
from ketenzorg.interop.fhir import case_to_bundle
from ketenzorg.interop.terminology import CANONICAL, CODE_SYSTEMS, code_system, safety_band

REPO = Path(__file__).resolve().parents[2]
PACKAGE_DIR = REPO / "schemas" / "fhir"
SHARED = Path(os.environ.get("KETENZORG_FHIR_R4", REPO.parent / "shared" / "fhir-r4"))
SCHEMA = SHARED / "fhir.schema.json"
REGENERATE = "python -m ketenzorg.interop.conformance"

needs_schema = pytest.mark.skipif(
    not SCHEMA.exists(), reason=f"official FHIR R4 JSON Schema not found at {SCHEMA} (set KETENZORG_FHIR_R4)"
)

RESOURCES = conformance.resources()
BY_KEY = {(r["resourceType"], r["id"]): r for r in RESOURCES}
BY_URL = {r["url"]: r for r in RESOURCES}
KEYS = sorted(BY_KEY)


def of_type(resource_type: str) -> list[dict[str, Any]]:
    return [r for r in RESOURCES if r["resourceType"] == resource_type]


@cache
def definitions() -> dict[str, Any]:
    result: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8"))["definitions"]
    return result


@cache
def validator(resource_type: str) -> Any:
    import jsonschema

    return jsonschema.Draft6Validator(
        {"$ref": f"#/definitions/{resource_type}", "definitions": definitions()}
    )


@pytest.fixture(scope="module")
def bundle() -> dict[str, Any]:
    return case_to_bundle(build_demo_case(), recipient=Recipient.internal(), engine=shipped_engine())


def walk(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object in ``node`` with its element path (no indices), e.g. ``CarePlan.activity.detail``."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for value in node:
            yield from walk(value, path)


def top_extensions(resource: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every extension of a resource (not the sub-extensions) with the path of the element it is on."""
    for path, node in walk(resource, resource["resourceType"]):
        if path.endswith(".extension") and not path.endswith(".extension.extension"):
            yield path.removesuffix(".extension"), node


def elements(structure: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in structure["differential"]["element"]}


def value_types(element: dict[str, Any]) -> list[str]:
    return [t["code"] for t in element.get("type", ())]


# --- the committed files -------------------------------------------------------------------------


def test_committed_package_is_what_the_generator_produces() -> None:
    stale = conformance.check(PACKAGE_DIR)
    assert stale == [], f"schemas/fhir/ is out of date ({', '.join(stale)}); regenerate with: {REGENERATE}"


def test_write_and_check_round_trip(tmp_path: Path) -> None:
    assert conformance.check(tmp_path) == sorted(conformance.files())  # everything is missing
    written = conformance.write(tmp_path)
    assert written == sorted(conformance.files())
    assert conformance.check(tmp_path) == []
    assert conformance.write(tmp_path) == []  # nothing changes the second time
    (tmp_path / "package" / "StructureDefinition-gone.json").write_text("{}")
    (tmp_path / "package" / "package.json").write_text("{}")
    assert conformance.check(tmp_path) == ["package/StructureDefinition-gone.json", "package/package.json"]
    conformance.write(tmp_path)
    assert conformance.check(tmp_path) == []
    assert not (tmp_path / "package" / "StructureDefinition-gone.json").exists()


def test_main_writes_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert conformance.main(["--check", str(tmp_path)]) == 1
    assert "out of date" in capsys.readouterr().out
    assert conformance.main([str(tmp_path)]) == 0
    assert conformance.main(["--check", str(tmp_path)]) == 0


def test_generation_is_deterministic() -> None:
    """The same bytes in another process with another hash seed (no set or dict order leaks in)."""
    here = hashlib.sha256(b"".join(k.encode() + v for k, v in conformance.files().items())).hexdigest()
    script = (
        "import hashlib; from ketenzorg.interop.conformance import files; "
        "print(hashlib.sha256(b''.join(k.encode() + v for k, v in files().items())).hexdigest())"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, check=True, text=True
        )
        assert out.stdout.strip() == here


def test_package_json() -> None:
    package = orjson.loads(conformance.files()["package/package.json"])
    assert package["name"] == conformance.PACKAGE_NAME == "ketenzorg.fhir"
    assert re.fullmatch(r"\d+\.\d+\.\d+([-+.].*)?", package["version"])
    assert "dev" not in package["version"]
    assert package["fhirVersions"] == ["4.0.1"]
    assert package["canonical"] == CANONICAL
    assert package["dependencies"] == {"hl7.fhir.r4.core": "4.0.1"}
    assert package["description"]


def test_index_lists_every_resource_file() -> None:
    generated = conformance.files()
    index = orjson.loads(generated["package/.index.json"])
    assert index["index-version"] == 1
    listed = {entry["filename"]: entry for entry in index["files"]}
    resource_files = {name.removeprefix("package/") for name in generated} - {"package.json", ".index.json"}
    assert set(listed) == resource_files
    for filename, entry in listed.items():
        resource = orjson.loads(generated[f"package/{filename}"])
        for key in ("resourceType", "id", "url", "version"):
            assert entry[key] == resource[key], (filename, key)
        if resource["resourceType"] == "StructureDefinition":
            assert (entry["kind"], entry["type"]) == (resource["kind"], resource["type"])


# --- valid R4 --------------------------------------------------------------------------------------


@needs_schema
@pytest.mark.parametrize("key", KEYS, ids=[f"{t}-{i}" for t, i in KEYS])
def test_resource_validates_against_the_official_r4_schema(key: tuple[str, str]) -> None:
    resource = BY_KEY[key]
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator(key[0]).iter_errors(resource)]
    assert errors == []


@pytest.mark.parametrize("key", KEYS, ids=[f"{t}-{i}" for t, i in KEYS])
def test_resource_loads_in_fhir_resources_r4b(key: tuple[str, str]) -> None:
    resource_type = key[0]
    model = getattr(importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}"), resource_type)
    loaded = model.model_validate(BY_KEY[key])
    assert loaded.id == key[1]
    assert loaded.url == BY_KEY[key]["url"]


def _base_order(path: str) -> list[int]:
    """The index of each step of an element path in the official schema (which keeps the spec's order)."""
    defs = definitions()
    steps = path.split(".")
    current = defs[steps[0]]
    out = []
    for step in steps[1:]:
        names = [n for n in current["properties"] if not n.startswith("_")]
        if step.endswith("[x]"):
            stem = step[:-3]
            found = next(n for n in names if n.startswith(stem) and n[len(stem) :][:1].isupper())
        else:
            found = step
        out.append(names.index(found))
        prop = current["properties"][found]
        ref = prop.get("items", prop).get("$ref")
        current = defs[ref.rsplit("/", 1)[1]] if ref else {"properties": {}}
    return out


@needs_schema
@pytest.mark.parametrize("structure", of_type("StructureDefinition"), ids=lambda s: s["id"])
def test_differential_is_in_the_order_of_the_base_resource(structure: dict[str, Any]) -> None:
    slices: dict[str, int] = {}
    keys = []
    for element in structure["differential"]["element"]:
        key: list[tuple[int, int]] = []
        prefix = ""
        for position, segment in zip(_base_order(element["path"]), element["id"].split(".")[1:], strict=True):
            prefix += "." + segment
            rank = slices.setdefault(prefix, len(slices) + 1) if ":" in segment else 0
            key.append((position, rank))
        keys.append((element["id"], key))
    for (before, first), (after, second) in itertools.pairwise(keys):
        assert first < second, f"{after} must not come after {before}"


# --- structure definitions -------------------------------------------------------------------------


@pytest.mark.parametrize("structure", of_type("StructureDefinition"), ids=lambda s: s["id"])
def test_structure_definition_is_a_well_formed_differential(structure: dict[str, Any]) -> None:
    type_ = structure["type"]
    assert structure["url"] == conformance.profile_url(structure["id"])
    assert structure["fhirVersion"] == "4.0.1"
    assert structure["abstract"] is False
    assert structure["derivation"] == "constraint"
    assert structure["baseDefinition"] == f"http://hl7.org/fhir/StructureDefinition/{type_}"
    assert structure["kind"] == ("complex-type" if type_ == "Extension" else "resource")
    ids = [e["id"] for e in structure["differential"]["element"]]
    assert len(ids) == len(set(ids))
    assert ids[0] == type_
    for element in structure["differential"]["element"]:
        assert element["path"] == re.sub(r":[^.]+", "", element["id"])
        assert element["path"].split(".")[0] == type_
        if ":" in element["id"].rsplit(".", 1)[-1]:
            assert element["sliceName"] == element["id"].rsplit(":", 1)[1]
        if "max" in element and element["max"] != "*":
            assert int(element["max"]) >= element.get("min", 0)
        for t in element.get("type", ()):
            for url in (*t.get("profile", ()), *t.get("targetProfile", ())):
                assert url in BY_URL or url.startswith("http://hl7.org/fhir/StructureDefinition/"), url
        if "binding" in element:
            assert element["binding"]["valueSet"] in BY_URL


@pytest.mark.parametrize("ext", conformance.EXTENSIONS, ids=lambda e: e.name)
def test_extension_definition_matches_its_declaration(ext: conformance.ExtensionDef) -> None:
    structure = BY_URL[ext.url]
    found = elements(structure)
    assert structure["type"] == "Extension"
    assert [c["expression"] for c in structure["context"]] == list(ext.contexts)
    assert found["Extension.url"]["fixedUri"] == ext.url
    if ext.type is not None:
        assert value_types(found["Extension.value[x]"]) == [ext.type]
        assert found["Extension.value[x]"]["min"] == 1
        assert found["Extension.extension"]["max"] == "0"
    else:
        assert found["Extension.value[x]"]["max"] == "0"
        assert found["Extension.extension"]["slicing"]["discriminator"] == [{"type": "value", "path": "url"}]
        for part in ext.parts:
            assert found[f"Extension.extension:{part.url}"]["min"] == part.min
            assert found[f"Extension.extension:{part.url}.url"]["fixedUri"] == part.url
            assert value_types(found[f"Extension.extension:{part.url}.value[x]"]) == [part.type]


def test_every_extension_of_the_mapping_has_a_structure_definition() -> None:
    constants = {v for k, v in vars(registry).items() if k.startswith("X_") and isinstance(v, str)}
    defined = {r["url"] for r in of_type("StructureDefinition") if r["type"] == "Extension"}
    assert {
        f"{CANONICAL}/StructureDefinition/{n}" for n in ("joined", "left", "no-codes-chosen")
    } <= constants
    assert constants == defined == {e.url for e in conformance.EXTENSIONS}


def test_extension_urls_are_made_only_in_the_definitions() -> None:
    """No module of interop makes an extension URL of its own: one registry, one place."""
    package = Path(registry.__file__).parent
    makers = {}
    for path in sorted(package.glob("*.py")):
        if path.name in {"definitions.py", "terminology.py"}:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "extension"
        ]
        if calls:
            makers[path.name] = calls
    assert makers == {}


def test_safety_score_profile() -> None:
    found = elements(BY_URL[conformance.profile_url(conformance.SAFETY_SCORE)])
    value = found["Observation.value[x]"]
    assert value_types(value) == ["integer"]
    assert (value["min"], value["minValueInteger"], value["maxValueInteger"]) == (1, 0, 10)
    assert found["Observation.performer"]["min"] == 1
    assert found["Observation.note"]["min"] == 1
    interpretation = found["Observation.interpretation"]
    assert interpretation["binding"] == {
        "strength": "required",
        "valueSet": conformance.value_set_url("safety-band"),
    }
    assert found["Observation.code"]["patternCodeableConcept"] == {
        "coding": [{"system": code_system("observation-kind"), "code": "safety-score"}]
    }


def test_safety_band_invariant_encodes_the_bands_of_the_code() -> None:
    root = elements(BY_URL[conformance.profile_url(conformance.SAFETY_SCORE)])["Observation"]
    expression = root["constraint"][0]["expression"]
    thresholds = [(int(high), band) for high, band in re.findall(r"value <= (\d+), '([a-z-]+)'", expression)]
    fallback = re.search(r"'([a-z-]+)'\)+$", expression)
    assert fallback is not None

    def band_of(score: int) -> str:
        return next((band for high, band in thresholds if score <= high), fallback.group(1))

    assert [band_of(score) for score in range(11)] == [safety_band(score) for score in range(11)]


def test_bundle_profile_is_the_one_the_mapping_claims(bundle: dict[str, Any]) -> None:
    assert bundle["meta"]["profile"] == [conformance.profile_url(conformance.BUNDLE)]
    profile = BY_URL[conformance.profile_url(conformance.BUNDLE)]
    assert profile["type"] == "Bundle"
    sliced = {
        e["type"][0]["profile"][0]
        for e in profile["differential"]["element"]
        if e["id"].startswith("Bundle.entry:") and e["id"].endswith(".resource")
    }
    others = {conformance.profile_url(p) for p in conformance.PROFILES} - {profile["url"]}
    assert sliced == others


# --- terminology -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CODE_SYSTEMS))
def test_code_system_and_value_set_per_code_system(name: str) -> None:
    definition = CODE_SYSTEMS[name]
    cs = BY_URL[code_system(name)]
    assert cs["resourceType"] == "CodeSystem"
    assert (cs["status"], cs["content"], cs["caseSensitive"], cs["language"]) == (
        "active",
        "complete",
        True,
        "nl",
    )
    assert [(c["code"], c["display"], c["definition"]) for c in cs["concept"]] == [
        (c.code, c.display, c.definition) for c in definition.concepts
    ]
    assert cs["count"] == len(definition.concepts)
    vs = BY_URL[conformance.value_set_url(name)]
    assert vs["resourceType"] == "ValueSet"
    assert vs["compose"]["include"] == [{"system": code_system(name)}]
    assert cs["valueSet"] == vs["url"]


def test_every_code_of_the_demo_bundle_from_our_code_systems_exists(bundle: dict[str, Any]) -> None:
    concepts = {r["url"]: {c["code"] for c in r["concept"]} for r in of_type("CodeSystem")}
    used = {
        (node["system"], node["code"])
        for _, node in walk(bundle, "Bundle")
        if isinstance(node.get("system"), str) and node["system"].startswith(f"{CANONICAL}/CodeSystem/")
    }
    assert len(used) > 40
    missing = sorted((system, code) for system, code in used if code not in concepts.get(system, set()))
    assert missing == []


def test_every_naming_and_code_system_url_of_the_mapping_is_under_the_canonical_base(
    bundle: dict[str, Any],
) -> None:
    systems = {node["system"] for _, node in walk(bundle, "Bundle") if isinstance(node.get("system"), str)}
    ours = {s for s in systems if "ketenzorg" in s}
    assert ours
    assert all(s.startswith(CANONICAL + "/") for s in ours)


# --- extensions in the demo bundle -----------------------------------------------------------------


def test_every_extension_of_the_demo_bundle_is_defined_and_used_in_its_context(
    bundle: dict[str, Any],
) -> None:
    seen = set()
    for entry in bundle["entry"]:
        for element, ext in top_extensions(entry["resource"]):
            url = ext["url"]
            if url == TRANSLATION:  # FHIR's own (a text's English), not the profile's
                continue
            seen.add(url)
            assert url in BY_URL, f"{url} has no StructureDefinition"
            structure = BY_URL[url]
            contexts = [c["expression"] for c in structure["context"]]
            assert element in contexts, f"{url} used on {element}, defined for {contexts}"
            found = elements(structure)
            parts = ext.get("extension") or [ext]
            for part in parts:
                key = (
                    f"Extension.extension:{part['url']}.value[x]" if part is not ext else "Extension.value[x]"
                )
                assert key in found, f"{url} has no sub-extension {part['url']!r}"
                value = next(k for k in part if k.startswith("value"))
                types = [t.lower() for t in value_types(found[key])]
                assert value.removeprefix("value").lower() in types, f"{url}: {value} is not {types}"
    assert len(seen) >= 20


def _profile_of(resource: dict[str, Any]) -> str | None:
    def has(path: str, system: str, code: str) -> bool:
        items = resource.get(path)
        concepts = items if isinstance(items, list) else [items] if items else []
        return any(
            c.get("system") == code_system(system) and c.get("code") == code
            for concept in concepts
            for c in concept.get("coding", ())
        )

    match resource["resourceType"]:
        case "CarePlan":
            trajectory = has("category", "careplan-kind", "trajectory")
            return conformance.TRAJECTORY if trajectory else conformance.SAFETY_ACTION_PLAN
        case "Observation":
            for kind, profile in (
                ("safety-score", conformance.SAFETY_SCORE),
                ("incident", conformance.INCIDENT),
                ("phase-change", conformance.PHASE_CHANGE),
            ):
                if has("code", "observation-kind", kind):
                    return profile
            return None
        case "Encounter":
            conference = has("type", "encounter-type", "case-conference")
            return conformance.CASE_CONFERENCE if conference else conformance.CARE_SETTING
        case "Goal":
            return conformance.GOAL
        case "CareTeam":
            return conformance.CARE_TEAM
        case "RiskAssessment":
            return conformance.INSTRUMENT_APPLICATION
        case "QuestionnaireResponse":
            return conformance.INSTRUMENT_ANSWERS
    return None


def _present(resource: dict[str, Any], name: str) -> bool:
    if name.endswith("[x]"):
        return any(k.startswith(name[:-3]) and k[len(name) - 3 :][:1].isupper() for k in resource)
    return name in resource


def test_demo_resources_meet_the_cardinalities_of_their_profiles(bundle: dict[str, Any]) -> None:
    """A light check of the differentials against the mapping's output: required elements, extension
    slices (min and max), patterns of codes."""
    checked = 0
    for index, entry in enumerate([{"resource": bundle}, *bundle["entry"]]):
        resource = entry["resource"]
        profile = conformance.BUNDLE if resource["resourceType"] == "Bundle" else _profile_of(resource)
        if profile is None:
            continue
        checked += 1
        where = f"entry {index - 1} ({resource['resourceType']}, {profile})"
        for element in BY_URL[conformance.profile_url(profile)]["differential"]["element"]:
            steps = element["id"].split(".")
            if len(steps) != 2:
                continue
            name = steps[1]
            if name.startswith("extension:"):
                url = element["type"][0]["profile"][0]
                count = sum(1 for x in resource.get("extension", ()) if x["url"] == url)
                assert count >= element["min"], f"{where}: {name} missing"
                assert element["max"] == "*" or count <= int(element["max"]), f"{where}: {name} repeated"
            elif ":" not in name:
                if element.get("min", 0) >= 1:
                    assert _present(resource, name), f"{where}: {name} is required"
                if element.get("max") == "1" and isinstance(resource.get(name), list):
                    assert len(resource[name]) <= 1, f"{where}: {name} repeated"
                pattern = element.get("patternCodeableConcept")
                if pattern is not None:
                    value = resource[name]
                    concepts = value if isinstance(value, list) else [value]
                    wanted = pattern["coding"][0]
                    assert any(
                        {k: c.get(k) for k in wanted} == wanted for cc in concepts for c in cc["coding"]
                    ), f"{where}: {name} does not match {wanted}"
    assert checked > 60


# --- questionnaires --------------------------------------------------------------------------------


@pytest.mark.parametrize("instrument_id", sorted(Engine().instruments))
def test_questionnaire_per_shipped_instrument(instrument_id: str) -> None:
    spec = Engine().instruments[instrument_id].spec
    questionnaire = BY_URL[conformance.questionnaire_url(instrument_id)]
    assert questionnaire["resourceType"] == "Questionnaire"
    assert questionnaire["version"] == spec.version
    assert questionnaire["status"] == "active"
    assert questionnaire["title"] == spec.name["nl"]
    items = {item["linkId"]: item for item in questionnaire["item"]}
    assert list(items) == [item.id for item in spec.items]
    for item in spec.items:
        generated = items[item.id]
        assert generated["text"] == item.text["nl"]
        translation = generated["_text"]["extension"][0]
        assert translation["url"] == "http://hl7.org/fhir/StructureDefinition/translation"
        assert {"url": "content", "valueString": item.text["en"]} in translation["extension"]
        multiple = item.answer_type is AnswerType.MULTI_CHOICE
        assert generated["repeats"] is True if multiple else "repeats" not in generated
        assert generated["required"] == (item.required and not multiple)
        if item.allowed:
            assert generated["type"] == "choice"
            assert [o["valueCoding"]["code"] for o in generated["answerOption"]] == list(item.allowed)
        else:
            assert "answerOption" not in generated


def _responses(bundle: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each QuestionnaireResponse of the bundle with the generated Questionnaire it points to."""
    out = []
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] != "QuestionnaireResponse":
            continue
        url, _, version = resource["questionnaire"].partition("|")
        assert url in BY_URL, f"{resource['questionnaire']} does not resolve"
        assert BY_URL[url]["version"] == version
        out.append((resource, BY_URL[url]))
    return out


def test_questionnaire_responses_resolve_and_their_link_ids_are_covered(bundle: dict[str, Any]) -> None:
    pairs = _responses(bundle)
    assert len(pairs) == 2
    for response, questionnaire in pairs:
        items = {item["linkId"]: item for item in questionnaire["item"]}
        assert {i["linkId"] for i in response["item"]} <= set(items)
        required = {link for link, item in items.items() if item["required"]}
        assert required <= {i["linkId"] for i in response["item"] if i.get("answer")}
        for answer_item in response["item"]:
            options = {o["valueCoding"]["code"] for o in items[answer_item["linkId"]].get("answerOption", ())}
            for answer in answer_item.get("answer", ()):
                code = answer.get("valueCoding", {}).get("code", answer.get("valueString"))
                if options:
                    assert code in options, (answer_item["linkId"], code)


_ANSWER_TYPES = {
    "boolean": "valueBoolean",
    "integer": "valueInteger",
    "choice": "valueCoding",
    "string": "valueString",
}


def test_answer_values_have_the_type_of_their_item(bundle: dict[str, Any]) -> None:
    for response, questionnaire in _responses(bundle):
        types = {item["linkId"]: item["type"] for item in questionnaire["item"]}
        for answer_item in response["item"]:
            for answer in answer_item.get("answer", ()):
                value = next(k for k in answer if k.startswith("value"))
                assert value == _ANSWER_TYPES[types[answer_item["linkId"]]], answer_item["linkId"]


# --- canonical URLs --------------------------------------------------------------------------------


def test_every_canonical_url_starts_with_the_canonical_base() -> None:
    assert all(r["url"].startswith(CANONICAL + "/") for r in RESOURCES)
    assert len(BY_URL) == len(RESOURCES)
    text = b"".join(conformance.files().values()).decode()
    ours = set(re.findall(r'"(https?://[^"|]*ketenzorg[^"|]*)', text))
    assert ours
    assert all(url.startswith(CANONICAL) for url in ours)


def test_canonical_base_is_defined_once() -> None:
    literal = CANONICAL.encode()
    holders = [
        path.relative_to(REPO).as_posix()
        for path in sorted((REPO / "src" / "ketenzorg").rglob("*.py"))
        if literal in path.read_bytes()
    ]
    assert holders == ["src/ketenzorg/interop/terminology.py"]


def test_an_instrument_result_is_a_qualitative_risk_never_a_probability(bundle: dict[str, Any]) -> None:
    """The profile says what the mapping writes: the safety code as ``qualitativeRisk`` (bound to the
    safety-code value set; extensibly, as an instrument's own level is a ``qualitativeRisk`` in its
    level code system), a classification by its extension, never a ``probability[x]``."""
    found = elements(BY_URL[conformance.profile_url(conformance.INSTRUMENT_APPLICATION)])
    assert found["RiskAssessment.prediction.probability[x]"]["max"] == "0"
    binding = found["RiskAssessment.prediction.qualitativeRisk"]["binding"]
    assert binding == {"strength": "extensible", "valueSet": conformance.value_set_url("safety-code")}
    assert [c["key"] for c in found["RiskAssessment.prediction"]["constraint"]] == ["ktz-6"]
    safety_codes = {c["code"] for c in BY_URL[code_system("safety-code")]["concept"]}
    predictions = [
        p
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "RiskAssessment"
        for p in e["resource"].get("prediction", ())
    ]
    assert predictions, "the demo applies instruments"
    for prediction in predictions:
        assert not any(k.startswith("probability") for k in prediction)
        classified = any(x["url"] == registry.X_CLASSIFICATION for x in prediction.get("extension", ()))
        assert ("qualitativeRisk" in prediction) != classified
        if "qualitativeRisk" in prediction:
            (coding,) = prediction["qualitativeRisk"]["coding"]
            assert coding["system"] == code_system("safety-code")
            assert coding["code"] in safety_codes
