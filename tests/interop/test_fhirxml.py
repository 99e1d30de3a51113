"""FHIR R4 XML both ways: conformance with the official R4 XSD, exact round trips, property tests."""

from __future__ import annotations

import functools
import os
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from factories import shipped_engine
from ketenzorg import ValidationError
from ketenzorg.demo import build_demo_case
from ketenzorg.demo import walk as _walk
from ketenzorg.disclosure import Recipient
from ketenzorg.interop.fhir import case_to_bundle
from ketenzorg.interop.fhirxml import (
    FHIR_NS,
    XHTML_NS,
    FhirXmlError,
    element_to_resource,
    from_xml,
    resource_to_element,
    to_xml,
)
from ketenzorg.interop.safeinput import read_json

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("KETENZORG_FHIR_R4", REPO.parent / "shared" / "fhir-r4"))
XSD = SHARED / "fhir-single.xsd"
PACKAGE = REPO / "schemas" / "fhir" / "package"
CONFORMANCE_TYPES = ("CodeSystem", "ValueSet", "StructureDefinition", "Questionnaire")
F = "{" + FHIR_NS + "}"
X = "{" + XHTML_NS + "}"


@functools.cache
def walk() -> list[Any]:
    return _walk()


@functools.cache
def schema() -> etree.XMLSchema | None:
    """The official R4 schema, loaded once for the module; None where it is not installed."""
    if not XSD.exists():
        return None
    return etree.XMLSchema(etree.parse(str(XSD), etree.XMLParser(no_network=True)))


@pytest.fixture(scope="module")
def xsd() -> etree.XMLSchema:
    """The schema, for the conformance tests (skipped where it is not installed)."""
    loaded = schema()
    if loaded is None:
        pytest.skip(f"official FHIR R4 XSD not found at {XSD} (set KETENZORG_FHIR_R4 to its folder)")
    return loaded


def assert_valid(schema: etree.XMLSchema, data: bytes) -> None:
    document = etree.fromstring(data)
    if not schema.validate(document):
        errors = [f"line {e.line}: {e.message}" for e in schema.error_log][:10]
        pytest.fail("not valid FHIR R4 XML:\n" + "\n".join(errors))


def conforms(data: bytes) -> None:
    """Validate against the R4 XSD where it is installed (the round-trip checks run regardless)."""
    loaded = schema()
    if loaded is not None:
        assert_valid(loaded, data)


def exact(value: Any) -> Any:
    """A JSON value with numbers as their written text: ``1.50`` and ``1.5`` differ, ``True`` and
    ``1`` differ (plain ``==`` says both pairs are equal)."""
    if isinstance(value, dict):
        return {key: exact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [exact(item) for item in value]
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | Decimal):
        return ("number", str(value))
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def json_text(resource: Any) -> bytes:
    def decimal(value: Any) -> Any:
        if isinstance(value, Decimal):
            return orjson.Fragment(str(value))
        raise TypeError

    return orjson.dumps(resource, default=decimal)


def assert_round_trips(resource: dict[str, Any]) -> bytes:
    """JSON -> XML -> JSON gives the same values as written; XML -> JSON -> XML the same bytes."""
    xml = to_xml(resource)
    assert exact(from_xml(xml)) == exact(resource)
    assert to_xml(from_xml(xml)) == xml
    compact = to_xml(resource, pretty=False)
    assert exact(from_xml(compact)) == exact(resource)
    assert to_xml(from_xml(compact), pretty=False) == compact
    return xml


def observation(**parts: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "status": "final", "code": {"text": "Veiligheid"}, **parts}


# --- conformance with the official R4 XSD --------------------------------------------------------


@pytest.mark.parametrize("kind", ["collection", "transaction"])
def test_the_demo_bundle_is_valid_r4_xml(xsd: etree.XMLSchema, kind: str) -> None:
    bundle = case_to_bundle(
        build_demo_case(), recipient=Recipient.internal(), engine=shipped_engine(), type=kind
    )  # type: ignore[arg-type]
    xml = to_xml(bundle)
    assert_valid(xsd, xml)
    root = etree.fromstring(xml)
    assert root.tag == F + "Bundle"
    assert root.find(F + "type").get("value") == kind
    assert len(root.findall(F + "entry")) == len(bundle["entry"])
    # The same bundle read back from its JSON text (decimals as Decimal) round-trips exactly.
    parsed = read_json(json_text(bundle))
    assert exact(from_xml(xml)) == exact(parsed)
    assert to_xml(from_xml(xml)) == xml


def test_every_step_of_the_demo_walk_is_valid_r4_xml(xsd: etree.XMLSchema) -> None:
    steps = walk()
    assert len(steps) == 11
    for step in steps:
        for kind in ("collection", "transaction"):
            bundle = case_to_bundle(
                step.case, recipient=Recipient.internal(), engine=shipped_engine(), type=kind
            )  # type: ignore[arg-type]
            xml = to_xml(bundle)
            assert_valid(xsd, xml)
            assert exact(from_xml(xml)) == exact(read_json(json_text(bundle))), (step.key, kind)


def _package_files() -> list[Path]:
    return sorted(p for p in PACKAGE.glob("*.json") if p.name.split("-", 1)[0] in CONFORMANCE_TYPES)


def test_the_package_holds_every_kind_of_conformance_resource() -> None:
    kinds = {p.name.split("-", 1)[0] for p in _package_files()}
    assert kinds == set(CONFORMANCE_TYPES)
    assert len(_package_files()) > 40


@pytest.mark.parametrize("path", _package_files(), ids=lambda p: p.stem)
def test_generated_conformance_resources_are_valid_r4_xml(xsd: etree.XMLSchema, path: Path) -> None:
    resource = read_json(path.read_bytes(), source=str(path))
    assert resource["resourceType"] == path.name.split("-", 1)[0]
    xml = to_xml(resource)
    assert_valid(xsd, xml)
    assert exact(from_xml(xml)) == exact(resource)
    assert to_xml(from_xml(xml)) == xml


# --- exact values ----------------------------------------------------------------------------------


OBSERVATION_WITH_VALUE = (
    b'{"resourceType": "Observation", "status": "final", "code": {"text": "x"},\n'
    b' "valueQuantity": {"value": %s, "unit": "mg"}}'
)


@pytest.mark.parametrize(
    "written",
    ["1.50", "135", "0.000", "-0.0", "100.0", "-3.25", "0.000001", "12345678901234567890.123456789"],
)
def test_decimals_keep_their_written_precision(written: str) -> None:
    resource = read_json(OBSERVATION_WITH_VALUE % written.encode())
    xml = assert_round_trips(resource)
    assert f'<value value="{written}"/>'.encode() in xml
    value = from_xml(xml)["valueQuantity"]["value"]
    assert isinstance(value, Decimal)
    assert str(value) == written


def test_a_negative_zero_decimal_keeps_its_sign() -> None:
    resource = read_json(OBSERVATION_WITH_VALUE % b"-0")
    assert b'<value value="-0"/>' in to_xml(resource)


def test_a_small_decimal_keeps_its_written_form() -> None:
    resource = read_json(OBSERVATION_WITH_VALUE % b"0.00000012")
    assert b'<value value="0.00000012"/>' in to_xml(resource)


def test_integers_and_booleans_keep_their_types() -> None:
    resource = {
        "resourceType": "Patient",
        "active": True,
        "multipleBirthInteger": 2,
        "extension": [{"url": "https://example.org/fhir/StructureDefinition/flag", "valueBoolean": False}],
    }
    xml = assert_round_trips(resource)
    assert b'<active value="true"/>' in xml
    assert b'<valueBoolean value="false"/>' in xml
    back = from_xml(xml)
    assert back["active"] is True
    assert type(back["multipleBirthInteger"]) is int
    assert back["extension"][0]["valueBoolean"] is False
    conforms(xml)


@pytest.mark.parametrize(
    "moment",
    [
        "2026-01-01T10:00:00.120+01:00",
        "2026-01-01T10:00:00.1Z",
        "2026-01-01T10:00:00.000000+14:00",
        "2026-01-01T10:00:00-05:30",
        "2026-01-01",
        "2026-01",
        "2026",
    ],
)
def test_date_times_are_kept_as_written(moment: str) -> None:
    resource = observation(effectiveDateTime=moment, issued="2026-01-01T10:00:00.120+01:00")
    xml = assert_round_trips(resource)
    assert f'<effectiveDateTime value="{moment}"/>'.encode() in xml
    assert b'<issued value="2026-01-01T10:00:00.120+01:00"/>' in xml
    assert from_xml(xml)["effectiveDateTime"] == moment
    conforms(xml)


TRICKY = [
    "regel 1\nregel 2",
    "kolom\tkolom",
    "windows\r\nregel",
    "aanhalingstekens \" en ' apostrof",
    "a & b < c > d",
    "&amp; is al ontsnapt, &#10; ook",
    "]]> einde van CDATA",
    "Cliënt Zoë, één ëé",
    "emoji 🙂👨‍👩‍👧 en 𝄞",
    "  spaties voor en na  ",
    "\n",
]


@pytest.mark.parametrize("text", TRICKY)
def test_strings_survive_both_ways(text: str) -> None:
    resource = {
        "resourceType": "Patient",
        "name": [{"text": text, "given": [text, "Anna"]}],
        "extension": [{"url": "https://example.org/fhir/StructureDefinition/note", "valueString": text}],
    }
    xml = assert_round_trips(resource)
    # An independent reader (lxml) sees the same attribute value.
    root = etree.fromstring(xml)
    assert root.find(f"{F}name/{F}text").get("value") == text
    assert root.find(f"{F}extension/{F}valueString").get("value") == text
    assert [g.get("value") for g in root.iterfind(f"{F}name/{F}given")] == [text, "Anna"]
    back = from_xml(xml)
    assert back["name"][0]["text"] == text
    conforms(xml)


@pytest.mark.parametrize("bad", ["null \x00 byte", "bell \x07", "escape \x1b[0m", "not a char \ufffe"])
def test_characters_xml_cannot_carry_are_refused(bad: str) -> None:
    with pytest.raises(FhirXmlError) as caught:
        to_xml({"resourceType": "Patient", "name": [{"text": bad}]})
    assert "control character" in str(caught.value)
    assert caught.value.problems[0].path.startswith("Patient.name")


def test_a_lone_surrogate_is_refused_with_a_typed_error() -> None:
    with pytest.raises(ValidationError):
        to_xml(read_json(b'{"resourceType": "Patient", "name": [{"text": "half \\ud800 pair"}]}'))


# --- structure: ids, extensions, primitive extensions, contained, narrative, choice types ----------

EXT = "https://example.org/fhir/StructureDefinition/"


def test_element_ids_are_attributes() -> None:
    resource = {
        "resourceType": "Patient",
        "id": "p1",
        "identifier": [{"id": "i1", "system": "urn:oid:2.16.840.1.113883.2.4.6.3", "value": "999911120"}],
        "name": [{"id": "n1", "family": "Jansen", "period": {"id": "per1", "start": "2020-01-01"}}],
    }
    xml = assert_round_trips(resource)
    root = etree.fromstring(xml)
    assert root.find(F + "id").get("value") == "p1"  # a resource's id is an element
    name = root.find(F + "name")
    assert name.get("id") == "n1"
    assert name.find(F + "id") is None
    assert name.find(F + "period").get("id") == "per1"
    assert root.find(F + "identifier").get("id") == "i1"
    conforms(xml)


def test_extension_urls_are_attributes() -> None:
    resource = {
        "resourceType": "Patient",
        "extension": [
            {
                "id": "e1",
                "url": EXT + "nested",
                "extension": [
                    {"url": "score", "valueDecimal": Decimal("6.50")},
                    {"url": "when", "valuePeriod": {"start": "2026-01-01T10:00:00.120+01:00"}},
                ],
            },
            {"url": EXT + "code", "valueCodeableConcept": {"coding": [{"system": "urn:x", "code": "a"}]}},
        ],
        "modifierExtension": [{"url": EXT + "modifier", "valueBoolean": True}],
    }
    xml = assert_round_trips(resource)
    root = etree.fromstring(xml)
    first = root.find(F + "extension")
    assert (first.get("url"), first.get("id")) == (EXT + "nested", "e1")
    assert first.find(F + "url") is None
    assert [e.get("url") for e in first.iterfind(F + "extension")] == ["score", "when"]
    assert first.find(f"{F}extension/{F}valueDecimal").get("value") == "6.50"
    assert root.find(F + "modifierExtension").get("url") == EXT + "modifier"
    # extension comes before modifierExtension, as R4 orders them
    tags = [etree.QName(c).localname for c in root]
    assert tags == ["extension", "extension", "modifierExtension"]
    conforms(xml)


def test_primitive_extensions_both_ways() -> None:
    birth_time = "http://hl7.org/fhir/StructureDefinition/patient-birthTime"
    qualifier = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier"
    resource = {
        "resourceType": "Patient",
        "gender": "female",
        "_gender": {"id": "g", "extension": [{"url": EXT + "gender-detail", "valueCode": "x"}]},
        "birthDate": "1991-03-04",
        "_birthDate": {
            "id": "bd",
            "extension": [{"url": birth_time, "valueDateTime": "1991-03-04T10:12:00+01:00"}],
        },
        "_deceasedBoolean": {"extension": [{"url": EXT + "unknown", "valueString": "onbekend"}]},
        "name": [
            {
                "family": "Jansen",
                "given": ["Anna", None, "Maria"],
                "_given": [None, {"extension": [{"url": qualifier, "valueCode": "CL"}]}, {"id": "g3"}],
            },
            {"_given": [{"id": "only-id"}, {"extension": [{"url": qualifier, "valueCode": "IN"}]}]},
        ],
    }
    xml = assert_round_trips(resource)
    root = etree.fromstring(xml)
    birth = root.find(F + "birthDate")
    assert (birth.get("id"), birth.get("value")) == ("bd", "1991-03-04")
    assert birth.find(F + "extension").get("url") == birth_time
    deceased = root.find(F + "deceasedBoolean")
    assert deceased.get("value") is None
    assert deceased.find(F + "extension") is not None
    given_ = root.find(F + "name").findall(F + "given")
    assert [g.get("value") for g in given_] == ["Anna", None, "Maria"]
    assert given_[1].find(F + "extension").get("url") == qualifier
    assert given_[2].get("id") == "g3"
    back = from_xml(xml)
    assert back["name"][0]["given"] == ["Anna", None, "Maria"]
    assert back["name"][0]["_given"][0] is None
    assert "deceasedBoolean" not in back
    assert "given" not in back["name"][1]  # a value array of only nulls is left out
    assert [g.get("id") for g in root.findall(f"{F}name")[1]] == ["only-id", None]
    conforms(xml)


def test_contained_resources() -> None:
    resource = {
        "resourceType": "Patient",
        "id": "p1",
        "contained": [
            {"resourceType": "Organization", "id": "org", "name": "Veilig Thuis Demo"},
            {
                "resourceType": "Practitioner",
                "id": "doc",
                "name": [{"family": "de Vries"}],
                "extension": [{"url": EXT + "x", "valueInteger": 3}],
            },
        ],
        "generalPractitioner": [{"reference": "#doc"}],
        "managingOrganization": {"reference": "#org"},
    }
    xml = assert_round_trips(resource)
    root = etree.fromstring(xml)
    contained = root.findall(F + "contained")
    assert [etree.QName(c[0]).localname for c in contained] == ["Organization", "Practitioner"]
    assert contained[0][0].find(F + "id").get("value") == "org"
    conforms(xml)


NARRATIVE = (
    f'<div xmlns="{XHTML_NS}"><p>Cliënt &amp; <b>kind</b> &lt;3 "veilig" 🙂<br/>regel\t2\n</p>'
    '<ul><li>één</li><li><a href="https://example.org/?a=1&amp;b=2">link</a></li></ul>'
    "<table><tr><td>1.50</td></tr></table></div>"
)


def test_the_narrative_is_kept_as_xhtml() -> None:
    resource = {"resourceType": "Patient", "text": {"status": "generated", "div": NARRATIVE}}
    xml = assert_round_trips(resource)
    div = etree.fromstring(xml).find(f"{F}text/{X}div")
    assert div is not None, "the div is an XHTML element, not escaped text"
    assert div.find(f"{X}p/{X}b").text == "kind"
    assert div.find(f"{X}ul/{X}li/{X}a").get("href") == "https://example.org/?a=1&b=2"
    assert from_xml(xml)["text"]["div"] == NARRATIVE
    conforms(xml)


def _c14n(xhtml: str) -> bytes:
    return etree.tostring(etree.fromstring(xhtml.encode()), method="c14n")


def test_a_narrative_in_another_style_is_kept_canonically() -> None:
    div = f"<div xmlns='{XHTML_NS}'>\r\n<p class='a' >x<br /></p>\r\n<p>y &gt; z</p></div>"
    back = from_xml(to_xml({"resourceType": "Patient", "text": {"status": "generated", "div": div}}))
    assert _c14n(back["text"]["div"]) == _c14n(div)
    assert b"<br></br>" in _c14n(back["text"]["div"])


@pytest.mark.parametrize(
    "div",
    [
        "<p>not a div</p>",
        "<div>no XHTML namespace</div>",
        f'<div xmlns="{XHTML_NS}"><p>unclosed</div>',
        f'<div xmlns="{XHTML_NS}">&nbsp;</div>',
    ],
)
def test_a_bad_narrative_is_refused(div: str) -> None:
    with pytest.raises(ValidationError):
        to_xml({"resourceType": "Patient", "text": {"status": "generated", "div": div}})


def test_choice_types() -> None:
    quantity = observation(
        effectivePeriod={"start": "2026-01-01T10:00:00+01:00", "end": "2026-01-02T10:00:00.5+01:00"},
        valueQuantity={"value": Decimal("7.20"), "unit": "mmol/L", "system": "http://unitsofmeasure.org"},
        component=[
            {"code": {"text": "a"}, "valueInteger": 5},
            {"code": {"text": "b"}, "valueString": "vijf"},
            {"code": {"text": "c"}, "valueBoolean": False},
        ],
    )
    concept = observation(
        effectiveDateTime="2026-01-01T10:00:00+01:00",
        valueCodeableConcept={"coding": [{"system": "urn:x", "code": "hoog", "display": "Hoog"}]},
    )
    for resource in (quantity, concept):
        xml = assert_round_trips(resource)
        conforms(xml)
    root = etree.fromstring(to_xml(quantity))
    assert root.find(f"{F}effectivePeriod/{F}end").get("value") == "2026-01-02T10:00:00.5+01:00"
    assert root.find(f"{F}valueQuantity/{F}value").get("value") == "7.20"
    assert [etree.QName(c[1]).localname for c in root.iterfind(F + "component")] == [
        "valueInteger",
        "valueString",
        "valueBoolean",
    ]
    assert etree.fromstring(to_xml(concept)).find(F + "valueCodeableConcept") is not None


def test_elements_are_written_in_r4_order_whatever_the_json_order() -> None:
    resource = {
        "valueString": "x",
        "code": {"text": "c"},
        "status": "final",
        "id": "o1",
        "resourceType": "Observation",
        "meta": {"lastUpdated": "2026-01-01T10:00:00Z"},
    }
    xml = to_xml(resource)
    assert [etree.QName(c).localname for c in etree.fromstring(xml)] == [
        "id",
        "meta",
        "status",
        "code",
        "valueString",
    ]
    assert from_xml(xml) == resource
    conforms(xml)


def test_comments_and_processing_instructions_are_dropped_on_reading() -> None:
    xml = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- before the root -->\n<?xml-stylesheet href="x.xsl"?>\n'
        b'<Patient xmlns="http://hl7.org/fhir">\n  <!-- a comment before the id -->\n  <id value="p1"/>\n'
        b"  <?app instruction?>\n"
        b'  <name><!-- inside --><family value="Jansen"/><given value="Anna"><!-- x --></given></name>\n'
        b'  <birthDate value="1991-03-04"><!-- c --><extension url="u"><!-- c --><valueString value="v"/>'
        b"</extension></birthDate>\n</Patient>\n"
    )
    assert from_xml(xml) == {
        "resourceType": "Patient",
        "id": "p1",
        "name": [{"family": "Jansen", "given": ["Anna"]}],
        "birthDate": "1991-03-04",
        "_birthDate": {"extension": [{"url": "u", "valueString": "v"}]},
    }


def test_whitespace_between_elements_does_not_count() -> None:
    resource = observation(valueQuantity={"value": Decimal("1.50")})
    assert exact(from_xml(to_xml(resource, pretty=True))) == exact(from_xml(to_xml(resource, pretty=False)))
    assert b"\n" not in to_xml(resource, pretty=False).split(b"\n", 1)[1].rstrip(b"\n")


def test_element_level_api() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:1", "resource": observation(valueQuantity={"value": Decimal("1.50")})}
        ],
    }
    element = resource_to_element(bundle)
    assert element.tag == F + "Bundle"
    assert exact(element_to_resource(element)) == exact(bundle)
    inner = element.find(f"{F}entry/{F}resource/{F}Observation")
    assert exact(element_to_resource(inner)) == exact(bundle["entry"][0]["resource"])


# --- what cannot be written or read ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "where"),
    [
        ({"resourceType": "Patient", "colour": "blue"}, "Patient"),
        ({"resourceType": "Patient", "name": [{"nickname": "x"}]}, "Patient.name[0]"),
        ({"resourceType": "Patient", "name": {"family": "x"}}, "Patient.name"),
        ({"resourceType": "Patient", "active": {"value": True}}, "Patient.active"),
        ({"resourceType": "Patient", "contained": [{"id": "x"}]}, "Patient.contained[0]"),
        ({"id": "no type"}, ""),
    ],
)
def test_json_that_has_no_xml_form_is_refused(resource: dict[str, Any], where: str) -> None:
    with pytest.raises(FhirXmlError) as caught:
        to_xml(resource)
    assert isinstance(caught.value, ValidationError)
    assert caught.value.problems[0].path == where


@pytest.mark.parametrize("rtype", ["Fish", "patient"])
def test_an_unknown_resource_type_is_refused_when_writing(rtype: str) -> None:
    with pytest.raises(FhirXmlError, match="its resourceType is not a FHIR R4 resource type"):
        to_xml({"resourceType": rtype})


@pytest.mark.parametrize("rtype", ["HumanName", "Coding", "Element", "SubscriptionStatus"])
def test_a_type_that_is_not_an_r4_resource_is_refused(rtype: str) -> None:
    with pytest.raises(FhirXmlError):
        to_xml({"resourceType": rtype})


# --- property: arbitrary valid R4 resources -------------------------------------------------------

_alphabet = st.one_of(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff"),
    st.sampled_from("\t\n\r &<>\"'ëé🙂"),
)
strings = st.text(_alphabet, min_size=1, max_size=12)
ids = st.text("abcXYZ019-.", min_size=1, max_size=12)
codes = st.text("abcdefgh-0123", min_size=1, max_size=8)
decimals = st.from_regex(r"-?(0|[1-9][0-9]{0,8})(\.[0-9]{1,6})?", fullmatch=True).map(Decimal)
integers = st.integers(-(2**31), 2**31 - 1)
dates = st.dates().filter(lambda d: d.year >= 1000).map(lambda d: d.isoformat())
date_times = st.builds(
    "{}T{:02d}:{:02d}:{:02d}{}{}".format,
    dates,
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
    st.sampled_from(["", ".1", ".120", ".000", ".123456"]),
    st.sampled_from(["Z", "+01:00", "+02:00", "-05:30", "+14:00"]),
)
urls = st.sampled_from([EXT + "a", EXT + "b", "http://hl7.org/fhir/StructureDefinition/patient-birthTime"])


def _extension() -> st.SearchStrategy[dict[str, Any]]:
    value = st.one_of(
        st.builds(lambda v: {"valueString": v}, strings),
        st.builds(lambda v: {"valueDecimal": v}, decimals),
        st.builds(lambda v: {"valueBoolean": v}, st.booleans()),
        st.builds(lambda v: {"valueInteger": v}, integers),
        st.builds(lambda v: {"valueCode": v}, codes),
        st.builds(lambda v: {"valueDateTime": v}, date_times),
    )
    return st.builds(lambda url, v: {"url": url, **v}, urls, value)


extensions = st.lists(_extension(), min_size=1, max_size=2)
primitive_extras = st.one_of(
    st.builds(lambda i: {"id": i}, ids),
    st.builds(lambda e: {"extension": e}, extensions),
    st.builds(lambda i, e: {"id": i, "extension": e}, ids, extensions),
)


def with_extras(draw: st.DrawFn, resource: dict[str, Any], name: str, value: Any) -> None:
    """Set a primitive, sometimes with its ``_name`` part (and sometimes without a value)."""
    if draw(st.booleans()):
        resource["_" + name] = draw(primitive_extras)
        if draw(st.booleans()):
            return
    resource[name] = value


def with_string_list(draw: st.DrawFn, owner: dict[str, Any], name: str) -> None:
    """A list of primitives, with nulls in the value array where only the extension part is set."""
    size = draw(st.integers(1, 3))
    values = [draw(st.one_of(st.none(), strings)) for _ in range(size)]
    extras = [draw(st.one_of(st.none(), primitive_extras)) for _ in range(size)]
    for index in range(size):
        if values[index] is None and extras[index] is None:
            values[index] = draw(strings)
    if any(v is not None for v in values):
        owner[name] = values
    if any(e is not None for e in extras):
        owner["_" + name] = extras


def narrative(text: str) -> dict[str, Any]:
    return {"status": "generated", "div": f'<div xmlns="{XHTML_NS}"><p>{escape(text)}</p></div>'}


def codeable(draw: st.DrawFn) -> dict[str, Any]:
    concept: dict[str, Any] = {}
    if draw(st.booleans()):
        coding = {"system": "urn:example:" + draw(codes), "code": draw(codes)}
        if draw(st.booleans()):
            coding["display"] = draw(strings)
        concept["coding"] = [coding]
    if draw(st.booleans()) or not concept:
        concept["text"] = draw(strings)
    return concept


@st.composite
def patients(draw: st.DrawFn) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Patient"}
    if draw(st.booleans()):
        resource["id"] = draw(ids)
    if draw(st.booleans()):
        resource["meta"] = {"lastUpdated": draw(date_times)}
    if draw(st.booleans()):
        # FHIR txt-2: a narrative has some non-whitespace content (one of blanks is refused, as tested below)
        resource["text"] = narrative(draw(strings.filter(lambda s: "\r" not in s and s.strip() != "")))
    if draw(st.booleans()):
        resource["extension"] = draw(extensions)
    if draw(st.booleans()):
        resource["identifier"] = [{"system": "urn:oid:2.16.840.1.113883.2.4.6.3", "value": draw(strings)}]
    if draw(st.booleans()):
        with_extras(draw, resource, "active", draw(st.booleans()))
    if draw(st.booleans()):
        name: dict[str, Any] = {"family": draw(strings)}
        if draw(st.booleans()):
            name["id"] = draw(ids)
        with_string_list(draw, name, "given")
        resource["name"] = [name]
    if draw(st.booleans()):
        with_extras(draw, resource, "gender", draw(st.sampled_from(["male", "female", "other", "unknown"])))
    if draw(st.booleans()):
        with_extras(draw, resource, "birthDate", draw(dates))
    choice = draw(st.sampled_from(["", "deceasedBoolean", "deceasedDateTime"]))
    if choice:
        resource[choice] = draw(st.booleans() if choice == "deceasedBoolean" else date_times)
    if draw(st.booleans()):
        resource["contained"] = [{"resourceType": "Organization", "id": "org", "name": draw(strings)}]
        resource["managingOrganization"] = {"reference": "#org"}
    return resource


@st.composite
def observations(draw: st.DrawFn) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": draw(st.sampled_from(["registered", "preliminary", "final", "amended"])),
        "code": codeable(draw),
    }
    if draw(st.booleans()):
        resource["subject"] = {"reference": "Patient/" + draw(ids), "display": draw(strings)}
    effective = draw(st.sampled_from(["", "effectiveDateTime", "effectivePeriod"]))
    if effective == "effectiveDateTime":
        with_extras(draw, resource, effective, draw(date_times))
    elif effective:
        resource[effective] = {"start": draw(date_times)}
    if draw(st.booleans()):
        resource["issued"] = draw(date_times)
    value = draw(
        st.sampled_from(["", "valueQuantity", "valueCodeableConcept", "valueString", "valueInteger"])
    )
    if value == "valueQuantity":
        quantity: dict[str, Any] = {"value": draw(decimals)}
        if draw(st.booleans()):
            quantity.update(unit=draw(strings), system="http://unitsofmeasure.org", code=draw(codes))
        resource[value] = quantity
    elif value == "valueCodeableConcept":
        resource[value] = codeable(draw)
    elif value == "valueString":
        with_extras(draw, resource, value, draw(strings))
    elif value:
        resource[value] = draw(integers)
    if draw(st.booleans()):
        resource["note"] = [{"text": draw(strings)}]
    if draw(st.booleans()):
        resource["component"] = [
            {"code": codeable(draw), "valueQuantity": {"value": draw(decimals)}},
            {"code": codeable(draw), "valueBoolean": draw(st.booleans())},
        ]
    return resource


@st.composite
def encounters(draw: st.DrawFn) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "status": draw(st.sampled_from(["planned", "arrived", "in-progress", "finished", "cancelled"])),
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": draw(codes)},
    }
    if draw(st.booleans()):
        resource["period"] = {"start": draw(date_times), "end": draw(date_times)}
    if draw(st.booleans()):
        resource["reasonCode"] = [codeable(draw)]
    if draw(st.booleans()):
        resource["extension"] = draw(extensions)
    return resource


@st.composite
def bundles(draw: st.DrawFn) -> dict[str, Any]:
    resources = draw(st.lists(st.one_of(patients(), observations(), encounters()), min_size=1, max_size=3))
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection"}
    if draw(st.booleans()):
        bundle["timestamp"] = draw(date_times)
    bundle["entry"] = [
        {"fullUrl": f"urn:uuid:0c11f41e-0000-4000-8000-{n:012d}", "resource": r}
        for n, r in enumerate(resources)
    ]
    return bundle


def _canonical(value: Any) -> Any:
    """Exact values, with narrative divs compared canonically (C14N)."""
    if isinstance(value, dict):
        return {k: _c14n(v) if k == "div" else _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return exact(value)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(resource=st.one_of(patients(), observations(), encounters(), bundles()))
def test_generated_r4_resources_round_trip_and_validate(resource: dict[str, Any]) -> None:
    """Generated valid R4 resources go to XML and back exactly (a blank-only narrative is not valid
    R4, txt-2: :func:`test_a_narrative_of_blanks_only_is_refused`)."""
    parsed = read_json(json_text(resource))  # as a partner's JSON is read: decimals as Decimal
    xml = to_xml(parsed)
    conforms(xml)
    back = from_xml(xml)
    assert _canonical(back) == _canonical(parsed)
    assert to_xml(back) == xml


@pytest.mark.parametrize(
    ("resource", "where"),
    [
        (
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [
                    {
                        "resource": {
                            "resourceType": "Observation",
                            "component": [{"code": {"text": "a"}}, {"code": {"coding": [{"colour": 1}]}}],
                        }
                    }
                ],
            },
            "Bundle.entry[0].resource.component[1].code.coding[0]",
        ),
        (
            {"resourceType": "Patient", "name": [{"family": "x"}, {"given": ["a", "b\x01"]}]},
            "Patient.name[1].given",
        ),
        (
            {"resourceType": "Patient", "extension": [{"url": "u"}, {"url": "a\x01"}]},
            "Patient.extension[1].url",
        ),
        (
            {
                "resourceType": "Patient",
                "name": [
                    {
                        "given": ["a", "b"],
                        "_given": [None, {"extension": [{"url": "u", "valueString": "\x02"}]}],
                    }
                ],
            },
            "Patient.name[0].given[1].extension[0].valueString",
        ),
        (
            {
                "resourceType": "Patient",
                "contact": [{"name": {"family": "x", "_family": None, "period": {"start": ["x"]}}}],
            },
            "Patient.contact[0].name.period.start",
        ),
        (
            {"resourceType": "Patient", "contained": [{"resourceType": "Basic", "code": {"coding": "x"}}]},
            "Patient.contained[0].code.coding",
        ),
    ],
)
def test_a_deep_fault_is_located_exactly(resource: dict[str, Any], where: str) -> None:
    # The writer makes a location into text only for an error: it must still be the full path.
    with pytest.raises(FhirXmlError) as caught:
        to_xml(resource)
    assert caught.value.problems[0].path == where


def test_a_narrative_of_blanks_only_is_refused() -> None:
    blank = {"resourceType": "Patient", "text": narrative(" ")}
    with pytest.raises(FhirXmlError, match="the narrative has no content"):
        to_xml(blank)
