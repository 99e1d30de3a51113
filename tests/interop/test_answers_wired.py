"""Every way a bundle comes in checks its QuestionnaireResponses against the instrument they claim.

A tampered response (a wrong answer type, an unknown linkId, a missing required item, a number out
of range, a code the item does not allow, a recorded safety code its answers do not give, a
``questionnaire`` that names another instrument) is refused by ``validate``, ``import`` and
``merge``, from Python and from the command line, each problem at its FHIRPath location. An
instrument the reader does not have is a warning, never trusted in silence. A plugin instrument's
Questionnaire and code systems live under the plugin's own canonical base, and the same case gives
the same bundle from Python and from the command line.

The plugin is a synthetic distribution with an entry point in the group ``ketenzorg``, found the
way an organisation's would be (on ``PYTHONPATH`` for the command line, on ``sys.path`` here).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from factories import as_exported, run_cli
from ketenzorg import Case, Engine, caseformat
from ketenzorg.demo import P_POLICE, build_demo_case, walk
from ketenzorg.disclosure import Recipient
from ketenzorg.interop.answers import UnknownInstrumentError
from ketenzorg.interop.fhir import FhirMappingError, bundle_to_case, case_to_bundle, read_case
from ketenzorg.interop.merge import MergeRefusedError, merge_bundle
from ketenzorg.interop.validate import is_valid, read_bundle, validate_bundle

BASE = "https://fhir.example.org/org-c"
MODULE = "org_c_screening"
INSTRUMENT = "orgc-screening"

PLUGIN_MODULE = f"""
from ketenzorg.hookspecs import hookimpl
from ketenzorg.instruments import AnswerType, InstrumentResult, InstrumentSpec, Item, SafetyCode


def _t(text):
    return {{"nl": text, "en": text}}


class Screening:
    spec = InstrumentSpec(
        id={INSTRUMENT!r},
        version="3.0",
        name=_t("Screening (synthetic)"),
        description=_t("For tests only"),
        items=(
            Item(id="threat", text=_t("Threat?"), answer_type=AnswerType.BOOLEAN),
            Item(id="level", text=_t("Level"), answer_type=AnswerType.CHOICE, allowed=("high", "low")),
            Item(id="count", text=_t("Count"), answer_type=AnswerType.INTEGER, minimum=0, maximum=10),
            Item(id="remark", text=_t("Remark"), answer_type=AnswerType.TEXT, required=False),
        ),
        canonical={BASE!r},
    )

    def assess(self, answers):
        return InstrumentResult(safety_code=SafetyCode.RED if answers["threat"] else SafetyCode.GREEN)


@hookimpl
def ketenzorg_register_instruments(registry):
    registry.add(Screening())
"""

ANSWERS = {"threat": True, "level": "high", "count": 4, "remark": "synthetische toelichting"}


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    """The plugin ``org-c`` as an installed distribution in a directory of its own."""
    root = tmp_path / "site"
    (root / MODULE).mkdir(parents=True)
    (root / MODULE / "__init__.py").write_text(PLUGIN_MODULE, encoding="utf-8")
    info = root / f"{MODULE}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: org-c\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[ketenzorg]\norg-c = {MODULE}\n", encoding="utf-8")
    yield root
    sys.modules.pop(MODULE, None)


@pytest.fixture
def installed(site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The plugin installed for this process and for the command line it starts."""
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])))
    return site


def plugin_engine() -> Engine:
    engine = Engine(entry_points=True)
    assert INSTRUMENT in engine.instruments
    return engine


def plugin_case(engine: Engine) -> Case:
    """The demo case before it was closed, with one more application: of the plugin's instrument."""
    open_case = [step.case for step in walk() if not step.case.state.is_closed][-1]
    return engine.assess(
        open_case, INSTRUMENT, ANSWERS, at=open_case.state.latest_at, event_id="orgc-application"
    )


def reparsed(bundle: dict[str, Any]) -> dict[str, Any]:
    return orjson.loads(orjson.dumps(bundle))  # type: ignore[no-any-return]


def entry(bundle: dict[str, Any], resource_type: str, text: str) -> tuple[int, dict[str, Any]]:
    """The first entry of ``resource_type`` whose JSON holds ``text``."""
    for index, e in enumerate(bundle["entry"]):
        resource = e["resource"]
        if resource["resourceType"] == resource_type and text in json.dumps(resource):
            return index, resource
    raise AssertionError(f"no {resource_type} with {text}")


def link(resource: dict[str, Any], link_id: str) -> int:
    return next(n for n, item in enumerate(resource["item"]) if item["linkId"] == link_id)


# --- tampering with the demo's Geweldsanalyse (the shipped instruments) ----------------------------

Tamper = Callable[[dict[str, Any]], tuple[str, str]]
"""Changes a bundle; returns the expected issue's expression and code."""


def wrong_type(bundle: dict[str, Any]) -> tuple[str, str]:
    index, qr = entry(bundle, "QuestionnaireResponse", "geweldsanalyse")
    n = link(qr, "injury")
    qr["item"][n]["answer"] = [{"valueString": "ja"}]
    return f"Bundle.entry[{index}].resource.item[{n}].answer[0].valueString", "value"


def unknown_link(bundle: dict[str, Any]) -> tuple[str, str]:
    index, qr = entry(bundle, "QuestionnaireResponse", "geweldsanalyse")
    qr["item"].append({"linkId": "extra", "answer": [{"valueBoolean": True}]})
    return f"Bundle.entry[{index}].resource.item[{len(qr['item']) - 1}].linkId", "value"


def missing_required(bundle: dict[str, Any]) -> tuple[str, str]:
    index, qr = entry(bundle, "QuestionnaireResponse", "geweldsanalyse")
    del qr["item"][link(qr, "weapon")]
    return f"Bundle.entry[{index}].resource", "required"


def code_not_allowed(bundle: dict[str, Any]) -> tuple[str, str]:
    index, qr = entry(bundle, "QuestionnaireResponse", "geweldsanalyse")
    n = link(qr, "frequency")
    qr["item"][n]["answer"][0]["valueCoding"]["code"] = "hourly"
    return f"Bundle.entry[{index}].resource.item[{n}].answer[0].valueCoding.code", "value"


def safety_code_changed(bundle: dict[str, Any]) -> tuple[str, str]:
    index, ra = entry(bundle, "RiskAssessment", "qualitativeRisk")
    ra["prediction"][0]["qualitativeRisk"]["coding"][0].update(code="green", display="Groen")
    return f"Bundle.entry[{index}].resource", "business-rule"


def other_questionnaire(bundle: dict[str, Any]) -> tuple[str, str]:
    index, qr = entry(bundle, "QuestionnaireResponse", "geweldsanalyse")
    qr["questionnaire"] = qr["questionnaire"].replace("geweldsanalyse", "gezinsprofielen")
    return f"Bundle.entry[{index}].resource.questionnaire", "value"


TAMPERING: list[Tamper] = [
    wrong_type,
    unknown_link,
    missing_required,
    code_not_allowed,
    safety_code_changed,
    other_questionnaire,
]


@pytest.fixture(scope="module")
def demo_bundle() -> dict[str, Any]:
    return reparsed(case_to_bundle(build_demo_case(), recipient=Recipient.internal(), engine=Engine()))


def tampered(demo_bundle: dict[str, Any], tamper: Tamper) -> tuple[dict[str, Any], str, str]:
    bundle = reparsed(demo_bundle)
    where, code = tamper(bundle)
    return bundle, where, code


def errors_at(outcome: dict[str, Any], where: str) -> list[dict[str, Any]]:
    return [i for i in outcome["issue"] if i["severity"] == "error" and where in i.get("expression", ())]


def test_the_untampered_demo_passes_every_way_in(demo_bundle: dict[str, Any]) -> None:
    """The control: what the tests below refuse is the tampering, nothing else."""
    outcome, case = read_bundle(reparsed(demo_bundle), engine=Engine())
    assert is_valid(outcome)
    assert case is not None
    assert read_case(reparsed(demo_bundle), engine=Engine())[1] == []
    demo = build_demo_case()
    merged, _ = merge_bundle(Engine(), demo, reparsed(demo_bundle), sender=P_POLICE.id)
    assert merged == demo


@pytest.mark.parametrize("tamper", TAMPERING, ids=lambda t: t.__name__)
def test_validate_refuses_a_tampered_response_at_its_location(
    demo_bundle: dict[str, Any], tamper: Tamper
) -> None:
    bundle, where, code = tampered(demo_bundle, tamper)
    outcome, case = read_bundle(bundle, engine=Engine())
    assert case is None
    found = errors_at(outcome, where)
    assert [i["code"] for i in found] == [code], outcome


@pytest.mark.parametrize("tamper", TAMPERING, ids=lambda t: t.__name__)
def test_the_case_reader_refuses_a_tampered_response(demo_bundle: dict[str, Any], tamper: Tamper) -> None:
    bundle, where, _ = tampered(demo_bundle, tamper)
    with pytest.raises(FhirMappingError) as caught:
        bundle_to_case(bundle, engine=Engine())
    assert where in [p.path for p in caught.value.problems]


@pytest.mark.parametrize("tamper", TAMPERING, ids=lambda t: t.__name__)
def test_merge_refuses_a_tampered_response(demo_bundle: dict[str, Any], tamper: Tamper) -> None:
    bundle, where, _ = tampered(demo_bundle, tamper)
    demo = build_demo_case()
    with pytest.raises(MergeRefusedError) as caught:
        merge_bundle(Engine(), demo, bundle, sender=P_POLICE.id)
    assert errors_at(caught.value.outcome, where)


def test_merge_refuses_a_partners_bundle_with_a_tampered_response(demo_bundle: dict[str, Any]) -> None:
    """A partner's bundle (no case of its own) with a response: checked too, not only not merged."""
    _, qr = entry(reparsed(demo_bundle), "QuestionnaireResponse", "geweldsanalyse")
    del qr["subject"], qr["author"]
    partner = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": qr}]}
    _merged, outcome = merge_bundle(Engine(), build_demo_case(), reparsed(partner), sender=P_POLICE.id)
    assert is_valid(outcome)  # as it was written: only "not merged"
    qr["item"][link(qr, "injury")]["answer"] = [{"valueInteger": 1}]
    with pytest.raises(MergeRefusedError) as caught:
        merge_bundle(Engine(), build_demo_case(), partner, sender=P_POLICE.id)
    where = f"Bundle.entry[0].resource.item[{link(qr, 'injury')}].answer[0].valueInteger"
    assert [i["code"] for i in errors_at(caught.value.outcome, where)] == ["value"]


def test_validate_reports_every_answer_problem_not_only_the_first(demo_bundle: dict[str, Any]) -> None:
    bundle = reparsed(demo_bundle)
    index, qr = entry(bundle, "QuestionnaireResponse", "geweldsanalyse")
    for link_id in ("weapon", "strangulation"):  # two required items missing: both named
        del qr["item"][link(qr, link_id)]
    expected = dict(tamper(bundle) for tamper in (wrong_type, unknown_link, code_not_allowed))
    outcome = validate_bundle(bundle, engine=Engine())
    for where, code in expected.items():
        assert [i["code"] for i in errors_at(outcome, where)] == [code], where
    at_response = errors_at(outcome, f"Bundle.entry[{index}].resource")
    assert [i["code"] for i in at_response] == ["required"]
    assert "weapon" in at_response[0]["diagnostics"]
    assert "strangulation" in at_response[0]["diagnostics"]


@pytest.mark.parametrize(
    "tamper", [wrong_type, missing_required, safety_code_changed], ids=lambda t: t.__name__
)
def test_the_command_line_refuses_a_tampered_response(
    demo_bundle: dict[str, Any], tamper: Tamper, tmp_path: Path
) -> None:
    bundle, where, _ = tampered(demo_bundle, tamper)
    path = tmp_path / "bundle.json"
    path.write_bytes(orjson.dumps(bundle))
    validated = run_cli("validate", str(path))
    assert validated.returncode == 1
    assert "error [" in validated.stdout
    assert where in validated.stdout
    imported = run_cli("import", str(path))
    assert imported.returncode in (1, 2)
    assert imported.stdout == ""
    assert where in imported.stderr
    case = tmp_path / "case.json"
    case.write_bytes(caseformat.dumps(build_demo_case()))
    merged = run_cli(
        "merge", str(case), str(path), "--from", P_POLICE.id, "--out", str(tmp_path / "out.json")
    )
    assert merged.returncode == 1
    assert where in merged.stderr
    assert not (tmp_path / "out.json").exists()


# --- a plugin instrument: its own canonical base, the same bytes from Python and the CLI ---------


def test_a_plugin_instrument_exports_under_its_own_base_and_round_trips(installed: Path) -> None:
    engine = plugin_engine()
    case = plugin_case(engine)
    bundle = case_to_bundle(case, recipient=Recipient.internal(), engine=engine)
    _, qr = entry(bundle, "QuestionnaireResponse", INSTRUMENT)
    _, ra = entry(bundle, "RiskAssessment", INSTRUMENT)
    assert qr["questionnaire"] == f"{BASE}/Questionnaire/{INSTRUMENT}|3.0"
    assert ra["method"]["coding"][0]["system"] == f"{BASE}/CodeSystem/instrument"
    assert {"linkId": "level", "answer": [{"valueCoding": {"code": "high"}}]} in qr["item"]
    again, warnings = read_case(reparsed(bundle), engine=engine)
    assert again == as_exported(case)
    assert warnings == []
    assert reparsed(case_to_bundle(again, recipient=Recipient.internal(), engine=engine)) == reparsed(bundle)


def test_the_cli_export_gives_the_bytes_python_gives(installed: Path, tmp_path: Path) -> None:
    engine = plugin_engine()
    case = plugin_case(engine)
    path = tmp_path / "case.json"
    path.write_bytes(caseformat.dumps(case))
    exported = run_cli("export", str(path), "--for", "internal", "--log", os.devnull)
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout) == reparsed(
        case_to_bundle(case, recipient=Recipient.internal(), engine=engine)
    )
    assert f"{BASE}/Questionnaire/{INSTRUMENT}|3.0" in exported.stdout
    (tmp_path / "bundle.json").write_text(exported.stdout, encoding="utf-8")
    imported = run_cli("import", str(tmp_path / "bundle.json"))
    assert imported.returncode == 0, imported.stderr
    assert caseformat.loads(imported.stdout.encode()) == as_exported(case)


@pytest.mark.parametrize(
    ("item", "answer", "element"),
    [
        ("count", {"valueInteger": 11}, "valueInteger"),
        ("level", {"valueCoding": {"code": "mid"}}, "valueCoding.code"),
    ],
)
def test_a_plugin_answer_out_of_range_or_not_allowed_is_refused(
    installed: Path, tmp_path: Path, item: str, answer: dict[str, Any], element: str
) -> None:
    engine = plugin_engine()
    bundle = reparsed(case_to_bundle(plugin_case(engine), recipient=Recipient.internal(), engine=engine))
    index, qr = entry(bundle, "QuestionnaireResponse", INSTRUMENT)
    n = link(qr, item)
    qr["item"][n]["answer"] = [answer]
    where = f"Bundle.entry[{index}].resource.item[{n}].answer[0].{element}"
    assert [i["code"] for i in errors_at(validate_bundle(bundle, engine=engine), where)] == ["value"]
    with pytest.raises(MergeRefusedError):
        merge_bundle(engine, plugin_case(engine), bundle, sender=P_POLICE.id)
    path = tmp_path / "bundle.json"
    path.write_bytes(orjson.dumps(bundle))
    validated = run_cli("validate", str(path))
    assert validated.returncode == 1
    assert where in validated.stdout
    imported = run_cli("import", str(path))
    assert imported.returncode == 1
    assert imported.stdout == ""
    assert where in imported.stderr


# --- an instrument the reader does not have: a warning, never silent --------------------------------


@pytest.fixture
def unknown_to_the_reader(site: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A bundle with an application of the plugin's instrument, for a reader without the plugin."""
    with monkeypatch.context() as patched:
        patched.syspath_prepend(str(site))
        engine = plugin_engine()
        bundle = case_to_bundle(plugin_case(engine), recipient=Recipient.internal(), engine=engine)
    path = tmp_path / "bundle.json"
    path.write_bytes(orjson.dumps(bundle))
    return path


def test_an_unknown_instrument_is_a_warning_in_validate(unknown_to_the_reader: Path) -> None:
    bundle = json.loads(unknown_to_the_reader.read_bytes())
    index, _ = entry(bundle, "QuestionnaireResponse", INSTRUMENT)
    outcome = validate_bundle(bundle, engine=Engine())
    assert is_valid(outcome)
    warnings = [i for i in outcome["issue"] if i["severity"] == "warning"]
    assert [(i["code"], i["expression"]) for i in warnings] == [
        ("not-supported", [f"Bundle.entry[{index}].resource"])
    ]
    case, found = read_case(bundle, engine=Engine())
    assert [w.expression for w in found] == [f"Bundle.entry[{index}].resource"]
    assert case.events[-1].answers == ANSWERS  # type: ignore[attr-defined]

    validated = run_cli("validate", str(unknown_to_the_reader))
    assert validated.returncode == 0
    assert f"warning [not-supported] Bundle.entry[{index}].resource" in validated.stdout


def test_import_of_an_unknown_instrument_warns_on_stderr_and_succeeds(unknown_to_the_reader: Path) -> None:
    imported = run_cli("import", str(unknown_to_the_reader))
    assert imported.returncode == 0, imported.stderr
    assert "warning [not-supported]" in imported.stderr
    assert "not installed" in imported.stderr
    assert caseformat.loads(imported.stdout.encode()).events[-1].instrument_id == INSTRUMENT  # type: ignore[attr-defined]


def test_export_of_an_instrument_that_is_not_installed_is_refused(
    site: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with monkeypatch.context() as patched:
        patched.syspath_prepend(str(site))
        case = plugin_case(plugin_engine())
    with pytest.raises(UnknownInstrumentError) as caught:
        case_to_bundle(case, recipient=Recipient.internal(), engine=Engine())
    assert INSTRUMENT in str(caught.value)
    assert "install its plugin" in str(caught.value)
    path = tmp_path / "case.json"
    path.write_bytes(caseformat.dumps(case))
    exported = run_cli("export", str(path), "--for", "internal", "--log", os.devnull)
    assert exported.returncode == 1
    assert exported.stdout == ""
    assert str(path) in exported.stderr
    assert INSTRUMENT in exported.stderr
    assert "install its plugin" in exported.stderr
