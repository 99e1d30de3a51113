"""FHIR XML on the command line (convert, export --format xml, and XML wherever FHIR is read), run as a
user would: in a subprocess, checking output, exit codes, and that nothing hostile gets through."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from ketenzorg import caseformat
from ketenzorg.demo import P_POLICE
from ketenzorg.demo import walk as _walk
from ketenzorg.interop.definitions import CASE_ID, PARTY_ID
from ketenzorg.interop.fhirxml import FHIR_NS, from_xml, to_xml
from ketenzorg.interop.safeinput import read_json
from ketenzorg.interop.terminology import code_system

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("KETENZORG_FHIR_R4", REPO.parent / "shared" / "fhir-r4"))
XSD = SHARED / "fhir-single.xsd"
AT = "2026-10-06T12:00:00+00:00"
F = "{" + FHIR_NS + "}"


@functools.cache
def walk() -> list[Any]:
    return _walk()


def run(*args: str) -> subprocess.CompletedProcess[bytes]:
    """The command line; stdout as bytes (XML is written as bytes), stderr checked for tracebacks."""
    result = subprocess.run(
        [sys.executable, "-m", "ketenzorg", *args], capture_output=True, timeout=120, check=False
    )
    stderr = result.stderr.decode("utf-8")
    assert "Traceback" not in stderr, stderr
    assert b"Traceback" not in result.stdout
    assert "internal error" not in stderr, stderr
    return result


def passwd_lines() -> list[str]:
    path = Path("/etc/passwd")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines() if path.exists() else []
    return [line for line in lines if len(line) > 8] + ["root:x:0:0", "/bin/sh", "/usr/sbin/nologin"]


@functools.cache
def schema() -> etree.XMLSchema | None:
    """The official R4 schema, loaded once for the module; None where it is not installed."""
    if not XSD.exists():
        return None
    return etree.XMLSchema(etree.parse(str(XSD), etree.XMLParser(no_network=True)))


@pytest.fixture(scope="module")
def xsd() -> etree.XMLSchema:
    loaded = schema()
    if loaded is None:
        pytest.skip(f"official FHIR R4 XSD not found at {XSD} (set KETENZORG_FHIR_R4 to its folder)")
    return loaded


def assert_valid(schema: etree.XMLSchema, data: bytes) -> None:
    if not schema.validate(etree.fromstring(data)):
        pytest.fail(
            "not valid FHIR R4 XML:\n" + "\n".join(f"line {e.line}: {e.message}" for e in schema.error_log)
        )


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    result = run("demo", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert b"bundle.xml" in result.stdout
    return out


# --- demo and convert ----------------------------------------------------------------------------


def test_demo_writes_the_bundle_as_xml(demo_dir: Path) -> None:
    xml = (demo_dir / "bundle.xml").read_bytes()
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Bundle xmlns="http://hl7.org/fhir">')
    if schema() is not None:
        assert_valid(schema(), xml)
    bundle = read_json((demo_dir / "bundle.json").read_bytes())
    assert from_xml(xml) == bundle
    assert to_xml(bundle) == xml


def test_convert_round_trip_of_the_demo_bundle(demo_dir: Path, tmp_path: Path) -> None:
    xml = (demo_dir / "bundle.xml").read_bytes()
    as_json = run("convert", str(demo_dir / "bundle.xml"), "--to", "json")
    assert as_json.returncode == 0, as_json.stderr
    converted = json.loads(as_json.stdout, parse_float=Decimal)
    assert converted == json.loads((demo_dir / "bundle.json").read_bytes(), parse_float=Decimal)
    path = tmp_path / "converted.json"
    path.write_bytes(as_json.stdout)
    back = run("convert", str(path), "--to", "xml")
    assert back.returncode == 0, back.stderr
    assert back.stdout == xml  # XML -> JSON -> XML gives the same bytes
    # And the JSON written by demo converts to the same XML.
    assert run("convert", str(demo_dir / "bundle.json"), "--to", "xml").stdout == xml


def test_convert_keeps_decimals_date_times_and_text_exactly(tmp_path: Path) -> None:
    source = (
        b'{"resourceType": "Observation", "status": "final",\n'
        b' "code": {"text": "Cli\xc3\xabnt & <kind> \\"x\\"\\n"},\n'
        b' "effectiveDateTime": "2026-01-01T10:00:00.120+01:00",\n'
        b' "valueQuantity": {"value": 1.50, "unit": "mg"},\n'
        b' "component": [{"code": {"text": "a"}, "valueQuantity": {"value": 135}},\n'
        b'               {"code": {"text": "b"}, "valueQuantity": {"value": 0.000}}]}'
    )
    path = tmp_path / "obs.json"
    path.write_bytes(source)
    xml = run("convert", str(path), "--to", "xml")
    assert xml.returncode == 0, xml.stderr
    assert b'<value value="1.50"/>' in xml.stdout
    assert b'<value value="135"/>' in xml.stdout
    assert b'<value value="0.000"/>' in xml.stdout
    assert b'<effectiveDateTime value="2026-01-01T10:00:00.120+01:00"/>' in xml.stdout
    assert b'<text value="Cli\xc3\xabnt &amp; &lt;kind&gt; &quot;x&quot;&#10;"/>' in xml.stdout
    (tmp_path / "obs.xml").write_bytes(xml.stdout)
    again = run("convert", str(tmp_path / "obs.xml"), "--to", "json")
    assert again.returncode == 0, again.stderr
    text = again.stdout.decode()
    assert '"value": 1.50' in text
    assert '"value": 135' in text
    assert '"value": 0.000' in text
    assert json.loads(text, parse_float=Decimal) == json.loads(source, parse_float=Decimal)


def test_convert_of_a_json_array_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "array.json"
    path.write_text('[{"resourceType": "Patient"}]', encoding="utf-8")
    for target in ("xml", "json"):
        result = run("convert", str(path), "--to", target)
        assert result.returncode == 2
        assert result.stdout == b""
        assert "not a FHIR resource" in result.stderr.decode()


def test_convert_of_json_that_has_no_xml_form_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "patient.json"
    path.write_text('{"resourceType": "Patient", "colour": "blue"}', encoding="utf-8")
    result = run("convert", str(path), "--to", "xml")
    assert result.returncode == 1
    assert result.stdout == b""
    assert f"{path}: Patient: has an element that Patient does not define" in result.stderr.decode()


@pytest.mark.parametrize("suffix", ["json", "xml"])
def test_convert_of_an_unknown_resource_type_is_a_clean_refusal(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"fish.{suffix}"
    path.write_text(
        '{"resourceType": "Fish"}' if suffix == "json" else '<Fish xmlns="http://hl7.org/fhir"/>',
        encoding="utf-8",
    )
    result = run("convert", str(path), "--to", "json" if suffix == "xml" else "xml")
    assert result.returncode in (1, 2)
    assert "not a FHIR R4 resource type" in result.stderr.decode()
    assert "Fish" not in result.stderr.decode()


def test_convert_never_prints_json_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "nan.xml"
    path.write_text(
        '<Observation xmlns="http://hl7.org/fhir"><status value="final"/><code><text value="x"/></code>'
        '<valueQuantity><value value="NaN"/></valueQuantity></Observation>',
        encoding="utf-8",
    )
    result = run("convert", str(path), "--to", "json")
    if result.returncode == 0:
        json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))
    assert result.returncode in (1, 2)


# --- export --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["collection", "transaction"])
def test_export_as_xml_is_valid_r4(demo_dir: Path, xsd: etree.XMLSchema, kind: str) -> None:
    result = run(
        "export",
        str(demo_dir / "case.json"),
        "--for",
        "internal",
        "--log",
        os.devnull,
        "--format",
        "xml",
        "--type",
        kind,
    )
    assert result.returncode == 0, result.stderr
    assert_valid(xsd, result.stdout)
    root = etree.fromstring(result.stdout)
    assert root.find(F + "type").get("value") == kind
    as_json = run(
        "export", str(demo_dir / "case.json"), "--for", "internal", "--log", os.devnull, "--type", kind
    )
    assert from_xml(result.stdout) == json.loads(as_json.stdout, parse_float=Decimal)


def test_export_of_a_case_read_from_xml(demo_dir: Path) -> None:
    from_bundle = run(
        "export", str(demo_dir / "bundle.xml"), "--for", "internal", "--log", os.devnull, "--format", "xml"
    )
    assert from_bundle.returncode == 0, from_bundle.stderr
    assert from_bundle.stdout == (demo_dir / "bundle.xml").read_bytes()


# --- XML wherever FHIR is read -------------------------------------------------------------------


def test_validate_accepts_the_xml_bundle(demo_dir: Path) -> None:
    on_xml = run("validate", str(demo_dir / "bundle.xml"), "--json")
    on_json = run("validate", str(demo_dir / "bundle.json"), "--json")
    assert on_xml.returncode == on_json.returncode == 0, on_xml.stderr
    assert json.loads(on_xml.stdout) == json.loads(on_json.stdout)
    text = run("validate", "--strict", str(demo_dir / "bundle.xml"))
    assert text.returncode == 0, text.stdout + text.stderr
    assert b"no problems found" in text.stdout


def test_validate_reports_an_invalid_xml_bundle_with_the_location(demo_dir: Path, tmp_path: Path) -> None:
    bundle = read_json((demo_dir / "bundle.json").read_bytes())
    index = next(i for i, e in enumerate(bundle["entry"]) if "valueInteger" in e["resource"])
    bundle["entry"][index]["resource"]["valueInteger"] = 11
    path = tmp_path / "broken.xml"
    path.write_bytes(to_xml(bundle))
    result = run("validate", str(path))
    assert result.returncode == 1
    assert f"Bundle.entry[{index}].resource" in result.stdout.decode()


def test_import_accepts_the_xml_bundle(demo_dir: Path) -> None:
    on_xml = run("import", str(demo_dir / "bundle.xml"))
    assert on_xml.returncode == 0, on_xml.stderr
    assert on_xml.stdout == run("import", str(demo_dir / "bundle.json")).stdout
    case = caseformat.loads(on_xml.stdout)
    assert case.state.is_closed


def test_evaluate_accepts_the_xml_bundle(demo_dir: Path) -> None:
    on_xml = run("evaluate", str(demo_dir / "bundle.xml"), "--json", "--at", AT)
    on_case = run("evaluate", str(demo_dir / "case.json"), "--json", "--at", AT)
    assert on_xml.returncode == on_case.returncode == 0, on_xml.stderr
    assert json.loads(on_xml.stdout) == json.loads(on_case.stdout)
    assert json.loads(on_xml.stdout)["phase"] == 3


def test_merge_accepts_a_partner_bundle_in_xml(tmp_path: Path) -> None:
    case = walk()[3].case
    case_path = tmp_path / "case.json"
    case_path.write_bytes(caseformat.dumps(case))
    score = {
        "resourceType": "Observation",
        "identifier": [{"system": "https://politie.example.org/fhir/obs", "value": "obs-xml-1"}],
        "status": "final",
        "code": {"coding": [{"system": code_system("observation-kind"), "code": "safety-score"}]},
        "basedOn": [{"identifier": {"system": CASE_ID, "value": case.case_id}}],
        "performer": [{"identifier": {"system": PARTY_ID, "value": P_POLICE.id}}],
        "effectiveDateTime": "2026-03-20T10:00:00+01:00",
        "valueInteger": 4,
        "note": [{"text": "Contactverbod overtreden (synthetisch) & <meer>."}],
    }
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:0c11f41e-0000-4000-8000-000000000001", "resource": score}],
    }
    xml_path = tmp_path / "partner.xml"
    xml_path.write_bytes(to_xml(bundle))
    json_path = tmp_path / "partner.json"
    json_path.write_text(json.dumps(bundle), encoding="utf-8")
    on_xml = run("merge", str(case_path), str(xml_path), "--from", P_POLICE.id)
    assert on_xml.returncode == 0, on_xml.stderr
    assert on_xml.stdout == run("merge", str(case_path), str(json_path), "--from", P_POLICE.id).stdout
    merged = caseformat.loads(on_xml.stdout)
    assert len(merged.events) == len(case.events) + 1
    assert merged.events[-1].type == "score_given"
    assert merged.events[-1].rationale == "Contactverbod overtreden (synthetisch) & <meer>."


# --- hostile files -------------------------------------------------------------------------------

XXE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE Bundle [\n  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
    '<Bundle xmlns="http://hl7.org/fhir">\n  <type value="collection"/>\n'
    '  <entry><resource><Patient><name><text value="&xxe;"/></name></Patient></resource></entry>\n'
    "</Bundle>\n"
)


@pytest.mark.parametrize("command", ["convert", "validate", "import", "evaluate", "export"])
def test_a_hostile_xml_file_exits_2_with_the_location(tmp_path: Path, command: str) -> None:
    path = tmp_path / "hostile.xml"
    path.write_text(XXE, encoding="utf-8")
    args = [command, str(path)] + (["--to", "json"] if command == "convert" else [])
    args += ["--for", "internal", "--log", os.devnull] if command == "export" else []
    result = run(*args)
    assert result.returncode == 2
    stderr = result.stderr.decode()
    assert f"{path}: line 2, column 1: <!DOCTYPE> is not accepted" in stderr
    assert result.stdout == b"" or command == "validate"
    for line in passwd_lines():
        assert line not in stderr
        assert line not in result.stdout.decode()


def test_merge_refuses_a_hostile_xml_bundle(tmp_path: Path) -> None:
    case_path = tmp_path / "case.json"
    case_path.write_bytes(caseformat.dumps(walk()[3].case))
    path = tmp_path / "hostile.xml"
    path.write_text(XXE, encoding="utf-8")
    result = run("merge", str(case_path), str(path), "--from", P_POLICE.id)
    assert result.returncode == 2
    assert "line 2, column 1" in result.stderr.decode()
    assert result.stdout == b""


def test_malformed_xml_exits_2_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.xml"
    path.write_text('<Bundle xmlns="http://hl7.org/fhir">\n  <type value="collection">\n</Bundle>\n')
    result = run("convert", str(path), "--to", "json")
    assert result.returncode == 2
    assert f"{path}: line 3, column 10: not well-formed XML" in result.stderr.decode()


def test_hostile_json_exits_2_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "dup.json"
    path.write_text('{"resourceType": "Patient",\n "resourceType": "Bundle"}', encoding="utf-8")
    result = run("convert", str(path), "--to", "xml")
    assert result.returncode == 2
    assert f"{path}: line 2, column 2: duplicate key 'resourceType'" in result.stderr.decode()


def test_format_option_forces_the_input_format(demo_dir: Path) -> None:
    xml = demo_dir / "bundle.xml"
    forced = run("validate", str(xml), "--format", "xml")
    assert forced.returncode == 0
    # Told it is JSON, the XML file is refused as JSON, with the place of the problem.
    wrong = run("validate", str(xml), "--format", "json")
    assert wrong.returncode == 2
    assert "line 1, column 1: not valid JSON" in wrong.stderr.decode("utf-8")
    evaluated = run("evaluate", str(xml), "--format", "xml", "--json")
    assert json.loads(evaluated.stdout)["phase"] == 3


def test_convert_to_json_checks_the_narrative_too(tmp_path: Path) -> None:
    patient = {
        "resourceType": "Patient",
        "text": {
            "status": "generated",
            "div": '<div xmlns="http://www.w3.org/1999/xhtml"><a href="javascript:alert(1)">x</a></div>',
        },
    }
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(patient), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "ketenzorg", "convert", str(path), "--to", "json"],
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stdout == b""
    assert b"text.div" in result.stderr
    assert b"alert" not in result.stderr
