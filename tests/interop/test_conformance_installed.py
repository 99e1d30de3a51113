"""The conformance package of an installation (``ketenzorg conformance --out``): every installed
instrument under its own canonical base, loadable like the committed package.

The plugins are synthetic distributions put on ``PYTHONPATH`` (a ``.dist-info`` with an entry point
in the group ``ketenzorg``), found by the command line the way an organisation's would be.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import pytest

from factories import run_cli
from ketenzorg import Engine, hookimpl
from ketenzorg.instruments import AnswerType, InstrumentResult, InstrumentSpec, Item
from ketenzorg.interop import conformance
from ketenzorg.interop.canonical import questionnaire_canonical
from ketenzorg.interop.terminology import CANONICAL
from ketenzorg.pluginhost import InstrumentRegistry, RegisteredInstrument

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("KETENZORG_FHIR_R4", REPO.parent / "shared" / "fhir-r4"))
SCHEMA = SHARED / "fhir.schema.json"
needs_schema = pytest.mark.skipif(
    not SCHEMA.exists(), reason=f"official FHIR R4 JSON Schema not found at {SCHEMA} (set KETENZORG_FHIR_R4)"
)

BASE_A = "https://fhir.example.org/org-a"
BASE_B = "https://fhir.example.net"

PLUGIN_MODULE = """
from ketenzorg.hookspecs import hookimpl
from ketenzorg.instruments import AnswerType, InstrumentResult, InstrumentSpec, Item


class Dash:
    data = {{"profiles": [{{"code": "high", "display": "Hoog"}}, {{"code": "low", "display": "Laag"}}]}}
    spec = InstrumentSpec(
        id="dash",
        version="2.1",
        name={{"nl": "Dash (synthetisch)", "en": "Dash (synthetic)"}},
        description={{"nl": "Alleen voor tests", "en": "For tests only"}},
        items=(
            Item(id="threat", text={{"nl": "Dreiging?", "en": "Threat?"}}, answer_type=AnswerType.BOOLEAN),
            Item(
                id="level",
                text={{"nl": "Niveau", "en": "Level"}},
                answer_type=AnswerType.CHOICE,
                allowed=("high", "low"),
            ),
        ),
        canonical={canonical!r},
    )

    def assess(self, answers):
        return InstrumentResult()


@hookimpl
def ketenzorg_register_instruments(registry):
    registry.add(Dash())
"""


def _distribution(root: Path, name: str, module: str, canonical: str | None) -> None:
    """A synthetic installed distribution ``name`` whose plugin ``name`` registers ``dash``."""
    (root / module).mkdir()
    (root / module / "__init__.py").write_text(PLUGIN_MODULE.format(canonical=canonical), encoding="utf-8")
    info = root / f"{module}-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.3\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[ketenzorg]\n{name} = {module}\n", encoding="utf-8")


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The plugin ``org-a`` (instrument ``dash`` under BASE_A) installed for the command line."""
    site = tmp_path / "site"
    site.mkdir()
    _distribution(site, "org-a", "org_a_dash", BASE_A)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])))
    return site


@cache
def _validator(resource_type: str) -> Any:
    import jsonschema

    definitions = json.loads(SCHEMA.read_text(encoding="utf-8"))["definitions"]
    return jsonschema.Draft6Validator({"$ref": f"#/definitions/{resource_type}", "definitions": definitions})


def _load(package: Path) -> dict[str, dict[str, Any]]:
    """Every resource file of a package directory by file name, checked against ``.index.json``."""
    index = json.loads((package / ".index.json").read_text(encoding="utf-8"))
    on_disk = {p.name for p in package.iterdir()} - {"package.json", ".index.json"}
    listed = {entry["filename"] for entry in index["files"]}
    assert listed == on_disk, "every file listed, every listed file present"
    resources = {name: json.loads((package / name).read_text(encoding="utf-8")) for name in sorted(on_disk)}
    for entry in index["files"]:
        resource = resources[entry["filename"]]
        for key in ("resourceType", "id", "url", "version"):
            assert entry[key] == resource[key], (entry["filename"], key)
        assert entry["filename"] == f"{resource['resourceType']}-{resource['id']}.json"
    urls = [r["url"] for r in resources.values()]
    assert len(urls) == len(set(urls))
    return resources


def _by_url(resources: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["url"]: r for r in resources.values()}


# --- the command -----------------------------------------------------------------------------------


def test_conformance_out_holds_the_plugin_instrument_under_its_own_base(
    installed: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = run_cli("conformance", "--out", str(out))
    assert result.returncode == 0, result.stderr
    package = out / "package"
    meta = json.loads((package / "package.json").read_text(encoding="utf-8"))
    assert meta["name"] == conformance.INSTALLED_PACKAGE_NAME
    assert BASE_A in meta["description"]
    by_url = _by_url(_load(package))

    questionnaire = by_url[f"{BASE_A}/Questionnaire/dash"]
    assert (questionnaire["resourceType"], questionnaire["version"]) == ("Questionnaire", "2.1")
    assert questionnaire["publisher"] == "org-a"
    assert [i["linkId"] for i in questionnaire["item"]] == ["threat", "level"]
    classes = by_url[f"{BASE_A}/CodeSystem/dash"]
    assert [c["code"] for c in classes["concept"]] == ["high", "low"]
    assert classes["valueSet"] == f"{BASE_A}/ValueSet/dash"
    assert by_url[f"{BASE_A}/ValueSet/dash"]["compose"]["include"] == [
        {"system": f"{BASE_A}/CodeSystem/dash"}
    ]
    methods = by_url[f"{BASE_A}/CodeSystem/instrument"]
    assert [c["code"] for c in methods["concept"]] == ["dash"]
    # Nothing of the plugin under ketenzorg's base; the shipped instruments are there too.
    assert not any("dash" in url for url in by_url if url.startswith(CANONICAL + "/"))
    for instrument_id in Engine().instruments:
        assert f"{CANONICAL}/Questionnaire/{instrument_id}" in by_url
    # The whole committed package is in it as well.
    committed = {r["url"] for r in conformance.resources()}
    assert committed <= set(by_url)


@needs_schema
def test_every_resource_of_the_written_package_is_valid_r4(installed: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli("conformance", "--out", str(out)).returncode == 0
    resources = _load(out / "package")
    assert len(resources) > 80
    for name, resource in resources.items():
        errors = sorted(_validator(resource["resourceType"]).iter_errors(resource), key=str)
        assert errors == [], f"{name}: {errors[0].message if errors else ''}"


def test_block_leaves_the_plugin_instrument_out(installed: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli(
        "conformance", "--out", str(out), "--block", "org-a", "--block", "ketenzorg.gezinsprofielen"
    )
    assert result.returncode == 0, result.stderr
    by_url = _by_url(_load(out / "package"))
    assert not any(url.startswith(BASE_A) for url in by_url)
    assert f"{CANONICAL}/Questionnaire/gezinsprofielen" not in by_url
    assert f"{CANONICAL}/Questionnaire/geweldsanalyse" in by_url


def test_a_non_empty_directory_is_written_only_with_force(installed: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("synthetic", encoding="utf-8")
    refused = run_cli("conformance", "--out", str(out))
    assert refused.returncode == 2
    assert "is not empty" in refused.stderr
    assert "--force" in refused.stderr
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    stale = out / "package" / "Questionnaire-old.json"
    stale.parent.mkdir()
    stale.write_text("{}", encoding="utf-8")
    forced = run_cli("conformance", "--out", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert not stale.exists()  # the folder holds one package: every file listed in its index
    assert (out / "notes.txt").exists()
    _load(out / "package")


def test_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("synthetic", encoding="utf-8")
    result = run_cli("conformance", "--out", str(target), "--force")
    assert result.returncode == 2
    assert "is not a directory" in result.stderr


def test_without_plugins_the_written_package_is_the_committed_one(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli("conformance", "--out", str(out)).returncode == 0
    committed = REPO / "schemas" / "fhir" / "package"
    written = {p.name: p.read_bytes() for p in (out / "package").iterdir()}
    assert written == {p.name: p.read_bytes() for p in committed.iterdir()}


def test_a_plugin_instrument_without_a_canonical_base_stops_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _distribution(site, "org-nobase", "org_nobase_dash", None)
    monkeypatch.setenv("PYTHONPATH", str(site))
    out = tmp_path / "out"
    result = run_cli("conformance", "--out", str(out))
    assert result.returncode == 1
    assert "plugin 'org-nobase'" in result.stderr
    assert "canonical base" in result.stderr
    assert not out.exists()
    blocked = run_cli("conformance", "--out", str(out), "--block", "org-nobase")
    assert blocked.returncode == 0, blocked.stderr


# --- two organisations, one instrument id ----------------------------------------------------------


def _dash(canonical: str, plugin: str) -> RegisteredInstrument:
    """The instrument ``dash`` of one organisation, registered by its own engine."""

    class Dash:
        data: ClassVar = {"profiles": [{"code": "high", "display": "Hoog"}]}
        spec = InstrumentSpec(
            id="dash",
            version="1",
            name={"nl": f"Dash {plugin}", "en": f"Dash {plugin}"},
            description={"nl": "Alleen voor tests", "en": "For tests only"},
            items=(
                Item(id="threat", text={"nl": "Dreiging?", "en": "Threat?"}, answer_type=AnswerType.BOOLEAN),
            ),
            canonical=canonical,
        )

        def assess(self, answers: object) -> InstrumentResult:
            return InstrumentResult()

    class Plugin:
        ketenzorg_plugin_name = plugin

        @hookimpl
        def ketenzorg_register_instruments(self, registry: InstrumentRegistry) -> None:
            registry.add(Dash())

    return Engine(plugins=[Plugin()]).instruments["dash"]


def test_two_instruments_with_one_id_from_different_bases_do_not_collide(tmp_path: Path) -> None:
    a, b = _dash(BASE_A, "org-a"), _dash(BASE_B, "org-b")
    assert questionnaire_canonical(a) != questionnaire_canonical(b)
    written = conformance.write_package(tmp_path / "out", [*conformance.shipped_instruments(), a, b])
    assert "package/.index.json" in written
    by_url = _by_url(_load(tmp_path / "out" / "package"))
    for base, plugin in ((BASE_A, "org-a"), (BASE_B, "org-b")):
        questionnaire = by_url[f"{base}/Questionnaire/dash"]
        assert questionnaire["title"] == f"Dash {plugin}"
        assert questionnaire["id"].endswith("-dash")
        assert f"{base}/CodeSystem/dash" in by_url
        assert f"{base}/CodeSystem/instrument" in by_url
    ids = [r["id"] for r in by_url.values() if r["url"].endswith("/Questionnaire/dash")]
    assert len(ids) == len(set(ids)) == 2


def test_a_long_base_still_gives_a_valid_unique_id() -> None:
    long_base = "https://fhir.example.org/" + "/".join(["organisation"] * 6)
    a, b = _dash(long_base, "org-long"), _dash(long_base + "x", "org-longer")
    found = {r["url"]: r["id"] for r in conformance.resources([a, b]) if r["resourceType"] == "Questionnaire"}
    ids = [found[f"{long_base}/Questionnaire/dash"], found[f"{long_base}x/Questionnaire/dash"]]
    assert len(set(ids)) == 2
    assert all(len(i) <= 64 and i.replace("-", "").replace(".", "").isalnum() for i in ids)


def test_an_instrument_named_like_its_bases_instrument_system_is_a_typed_error() -> None:
    from ketenzorg.errors import ValidationError

    class Clash:
        data: ClassVar = {"profiles": [{"code": "x", "display": "X"}]}
        spec = InstrumentSpec(
            id="instrument",
            version="1",
            name={"nl": "n", "en": "n"},
            description={"nl": "d", "en": "d"},
            items=(),
            canonical=BASE_A,
        )

        def assess(self, answers: object) -> InstrumentResult:
            return InstrumentResult()

    registered = RegisteredInstrument(Clash(), "org-a", lambda: (None, None))
    with pytest.raises(ValidationError, match="clashes with a code system"):
        conformance.files([registered])


def test_files_of_the_shipped_instruments_are_the_default() -> None:
    assert conformance.files(Engine().instruments) == conformance.files()
