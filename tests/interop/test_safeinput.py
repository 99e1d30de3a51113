"""Untrusted input: a corpus of hostile and malformed XML and JSON, each refused quickly with a typed
error that names where (line and column), and never with the contents of a local file."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from factories import shipped_engine
from ketenzorg import MalformedInputError, ValidationError
from ketenzorg.interop import safeinput
from ketenzorg.interop.fhirxml import FhirXmlError, from_xml
from ketenzorg.interop.safeinput import UnsafeInputError, parse_xml, read_json
from ketenzorg.strictjson import Limits

PASSWD = Path("/etc/passwd")
FHIR = b'xmlns="http://hl7.org/fhir"'
DECL = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def patient(body: bytes) -> bytes:
    """A Patient in the FHIR namespace around ``body`` (which starts on line 2)."""
    return b'<Patient xmlns="http://hl7.org/fhir">\n' + body + b"\n</Patient>"


def passwd_lines() -> list[str]:
    """Lines of /etc/passwd that must never show up in any output (plus what every one holds)."""
    lines = PASSWD.read_text(encoding="utf-8", errors="replace").splitlines() if PASSWD.exists() else []
    return [line for line in lines if len(line) > 8] + ["root:x:0:0", "/bin/sh", "/usr/sbin/nologin"]


def assert_no_leak(*texts: str) -> None:
    for text in texts:
        for line in passwd_lines():
            assert line not in text
        assert "SECRET-MARKER" not in text


def refused(parse: Callable[[], Any], kind: type[ValidationError]) -> ValidationError:
    """Run a parse that must be refused; check the type, that it is quick, and that nothing leaks."""
    started = time.perf_counter()
    with pytest.raises(ValidationError) as caught:
        parse()
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"refused only after {elapsed:.2f} s"
    error = caught.value
    assert type(error) is kind, f"{type(error).__name__}: {error}"
    assert len(error.problems) == 1
    assert_no_leak(str(error), repr(error.problems), repr(error.args))
    return error


def test_the_errors_are_typed() -> None:
    assert issubclass(UnsafeInputError, MalformedInputError)
    assert issubclass(UnsafeInputError, ValidationError)
    assert issubclass(FhirXmlError, ValidationError)


# --- the XML corpus ------------------------------------------------------------------------------

LAUGHS = (
    DECL
    + b'<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%s;" % (str(i - 1).encode() if i > 1 else b"")) * 10)
        for i in range(1, 10)
    )
    + b"]>\n<Patient "
    + FHIR
    + b'><name><text value="&lol9;"/></name></Patient>\n'
)
XXE = (
    DECL + b'<!DOCTYPE Patient [\n  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
    b"<Patient " + FHIR + b'>\n  <name><text value="&xxe;"/></name>\n</Patient>\n'
)
EXTERNAL_DTD = (
    DECL + b'<!DOCTYPE Patient SYSTEM "http://evil.example.org/fhir.dtd">\n<Patient ' + FHIR + b"/>"
)
PUBLIC_DTD = b'<!DOCTYPE Patient PUBLIC "-//EVIL//DTD//EN" "file:///etc/passwd">\n<Patient ' + FHIR + b"/>"
PARAMETER_ENTITIES = (
    DECL + b"<!DOCTYPE Patient [\n"
    b'  <!ENTITY % file SYSTEM "file:///etc/passwd">\n'
    b"  <!ENTITY % eval \"<!ENTITY &#x25; error SYSTEM 'file:///nonexistent/%file;'>\">\n"
    b"  %eval;\n  %error;\n]>\n<Patient " + FHIR + b"/>"
)
XINCLUDE = (
    b"<Patient " + FHIR + b' xmlns:xi="http://www.w3.org/2001/XInclude">\n'
    b'  <xi:include href="file:///etc/passwd" parse="text"/>\n</Patient>'
)
UTF16_TEXT = '<?xml version="1.0" encoding="UTF-16"?>\n' + patient(b'<active value="true"/>').decode()
BUNDLE = b"<Bundle " + FHIR + b'><type value="collection"/>'
DEEP = b"<Patient " + FHIR + b">" + b'<extension url="u">' * 70 + b"</extension>" * 70 + b"</Patient>"

# (name, document, error type, location, words of the message)
XML_CORPUS = [
    ("doctype", DECL + b"<!DOCTYPE Patient>\n<Patient " + FHIR + b"/>",
     UnsafeInputError, "line 2, column 1", "DOCTYPE"),
    ("doctype in lower case", b"<!doctype Patient>\n<Patient " + FHIR + b"/>",
     UnsafeInputError, "line 1, column 1", "DOCTYPE"),
    ("billion laughs", LAUGHS, UnsafeInputError, "line 2, column 1", "DOCTYPE"),
    ("external entity", XXE, UnsafeInputError, "line 2, column 1", "DOCTYPE"),
    ("external DTD", EXTERNAL_DTD, UnsafeInputError, "line 2, column 1", "DOCTYPE"),
    ("public DTD", PUBLIC_DTD, UnsafeInputError, "line 1, column 1", "DOCTYPE"),
    ("parameter entities", PARAMETER_ENTITIES, UnsafeInputError, "line 2, column 1", "DOCTYPE"),
    ("entity declaration without a DOCTYPE", b"<Patient " + FHIR + b'>\n  <!ENTITY x "y">\n</Patient>',
     UnsafeInputError, "line 2, column 3", "ENTITY"),
    ("undeclared entity", b"<Patient " + FHIR + b'>\n  <active value="&xxe;"/>\n</Patient>',
     UnsafeInputError, "line 2, column 23", "Entity 'xxe' not defined"),
    ("XInclude", XINCLUDE, FhirXmlError, "line 2", "Patient does not define (name not repeated)"),
    ("UTF-16 LE with BOM", UTF16_TEXT.encode("utf-16"), UnsafeInputError, "line 1, column 1", "UTF-16"),
    ("UTF-16 BE with BOM", b"\xfe\xff" + UTF16_TEXT.encode("utf-16-be"),
     UnsafeInputError, "line 1, column 1", "UTF-16"),
    ("UTF-32 with BOM", UTF16_TEXT.replace("16", "32").encode("utf-32"),
     UnsafeInputError, "line 1, column 1", "UTF-8"),
    ("UTF-8 with BOM", b"\xef\xbb\xbf<Patient " + FHIR + b"/>",
     UnsafeInputError, "line 1, column 1", "byte order mark"),
    ("ISO-8859-1 declared", b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<Patient ' + FHIR + b"/>",
     UnsafeInputError, "line 1", "'ISO-8859-1' is not accepted"),
    ("windows-1252 declared in single quotes",
     b"<?xml version='1.0' encoding='windows-1252'?>\n<Patient " + FHIR + b"/>",
     UnsafeInputError, "line 1", "'windows-1252' is not accepted"),
    ("Latin-1 bytes", b"<Patient " + FHIR + b'>\n  <name><text value="Cli\xebnt"/></name>\n</Patient>',
     UnsafeInputError, "line 2, column 25", "not valid UTF-8"),
    ("mismatched tag", b"<Patient " + FHIR + b'>\n  <active value="true">\n</Patient>',
     UnsafeInputError, "line 3, column 11", "Opening and ending tag mismatch"),
    ("unquoted attribute", b"<Patient " + FHIR + b">\n  <active value=true/>\n</Patient>",
     UnsafeInputError, "line 2, column 17", "not well-formed"),
    ("unclosed root", b"<Patient " + FHIR + b'>\n  <active value="true"/>\n',
     UnsafeInputError, "line 3, column 1", "not well-formed"),
    ("two roots", b"<Patient " + FHIR + b"/>\n<Patient " + FHIR + b"/>",
     UnsafeInputError, "line 2, column 1", "Extra content"),
    ("empty document", b"", UnsafeInputError, "line 1, column 1", "empty"),
    ("character reference to NUL", b"<Patient " + FHIR + b'>\n  <id value="&#0;"/>\n</Patient>',
     UnsafeInputError, "line 2, column 18", "not well-formed"),
    ("character reference to a high surrogate", patient(b'  <id value="&#xD800;"/>'),
     UnsafeInputError, "line 2, column 22", "invalid xmlChar value 55296"),
    ("character reference to a low surrogate, decimal", patient(b'  <id value="&#57343;"/>'),
     UnsafeInputError, "line 2, column 22", "invalid xmlChar value 57343"),
    ("character reference to a surrogate in text", patient(b'  <id value="x"/>&#xDC00;'),
     UnsafeInputError, "line 2, column 26", "invalid xmlChar value 56320"),
    ("nesting deeper than the limit", DEEP, UnsafeInputError, "line 1", "nested deeper than 64"),
    ("nesting far beyond the limit", b"<a>" * 100_000 + b"</a>" * 100_000,
     UnsafeInputError, "line 1, column 771", "depth"),
    ("unknown element", patient(b'  <active value="true"/>\n  <colour value="blue"/>'),
     FhirXmlError, "line 3", "Patient does not define (name not repeated)"),
    ("element in the wrong namespace", patient(b'  <active xmlns="urn:other" value="true"/>'),
     FhirXmlError, "line 2", "Patient does not define (name not repeated)"),
    ("element in the XHTML namespace",
     patient(b'  <active xmlns="http://www.w3.org/1999/xhtml" value="true"/>'),
     FhirXmlError, "line 2", "Patient does not define (name not repeated)"),
    ("root without a namespace", b'<Patient>\n  <active value="true"/>\n</Patient>',
     FhirXmlError, "line 1", "not in the FHIR namespace"),
    ("root in another namespace", b'<Patient xmlns="http://hl7.org/fhir/R5"/>',
     FhirXmlError, "line 1", "not in the FHIR namespace"),
    ("bad boolean", b"<Patient " + FHIR + b'>\n  <active value="True"/>\n</Patient>',
     FhirXmlError, "line 2", "is not a valid bool"),
    ("boolean as a number", b"<Patient " + FHIR + b'>\n\n  <active value="1"/>\n</Patient>',
     FhirXmlError, "line 3", "is not a valid bool"),
    ("bad integer", b"<Patient " + FHIR + b'>\n  <multipleBirthInteger value="5.0"/>\n</Patient>',
     FhirXmlError, "line 2", "is not a valid int"),
    ("integer in words", b"<Patient " + FHIR + b'>\n  <multipleBirthInteger value="two"/>\n</Patient>',
     FhirXmlError, "line 2", "is not a valid int"),
    ("bad decimal", b"<Observation " + FHIR + b'>\n  <valueQuantity>\n    <value value="1,5"/>\n'
     b"  </valueQuantity>\n</Observation>",
     FhirXmlError, "line 3", "is not a valid Decimal"),
    ("empty decimal",
     b"<Observation " + FHIR + b'><valueQuantity><value value=""/></valueQuantity></Observation>',
     FhirXmlError, "line 1", "is not a valid Decimal"),
    ("element twice", patient(b'  <active value="true"/>\n  <active value="false"/>'),
     FhirXmlError, "line 3", "appears more than once"),
    ("element inside a primitive", b"<Patient " + FHIR + b'>\n  <active value="true">\n    <id value="x"/>\n'
     b"  </active>\n</Patient>",
     FhirXmlError, "line 3", "cannot be inside the primitive"),
    ("two contained resources in one", b"<Patient " + FHIR + b">\n  <contained>\n    <Organization/>"
     b"<Practitioner/>\n  </contained>\n</Patient>",
     FhirXmlError, "line 2", "exactly one resource"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("document", "kind", "where", "words"), [pytest.param(*case[1:], id=case[0]) for case in XML_CORPUS]
)
def test_hostile_and_malformed_xml_is_refused(
    document: bytes, kind: type[ValidationError], where: str, words: str
) -> None:
    error = refused(lambda: from_xml(document, source="hostile.xml"), kind)
    problem = error.problems[0]
    assert problem.path == where
    assert words in problem.message
    if kind is UnsafeInputError:
        assert error.source == "hostile.xml"
        assert str(error).startswith(f"hostile.xml: {where}")
        # The safe parser alone refuses it the same way.
        again = refused(lambda: parse_xml(document), UnsafeInputError)
        assert again.problems == error.problems


def test_an_external_entity_never_reaches_the_output() -> None:
    error = refused(lambda: from_xml(XXE, source="partner.xml"), UnsafeInputError)
    assert "xxe" not in str(error)  # the refusal does not echo the document either
    assert "passwd" not in str(error)
    assert "SYSTEM" not in str(error)


def test_xinclude_is_never_processed() -> None:
    """An XInclude stays an inert element (the file it names is never read); in the narrative, the one
    place XHTML markup is kept, the narrative rules then refuse it as an element outside XHTML."""
    document = (
        b"<Patient " + FHIR + b'>\n  <text>\n    <status value="generated"/>\n'
        b'    <div xmlns="http://www.w3.org/1999/xhtml" xmlns:xi="http://www.w3.org/2001/XInclude">'
        b'<p>x</p><xi:include href="file:///etc/passwd" parse="text"/></div>\n  </text>\n</Patient>'
    )
    root = parse_xml(document)
    assert root.find(".//{http://www.w3.org/2001/XInclude}include") is not None
    assert_no_leak(etree.tostring(root, encoding="unicode"))
    error = refused(lambda: from_xml(document), FhirXmlError)
    assert error.problems[0].path == "Patient.text.div"
    assert_no_leak(str(error))


def _doctypes(url: bytes) -> list[bytes]:
    return [
        b'<!DOCTYPE Patient [<!ENTITY xxe SYSTEM "' + url + b'">]>\n' + patient(b"<name>&xxe;</name>"),
        b'<!DOCTYPE Patient SYSTEM "' + url + b'">\n' + patient(b""),
        b'<!DOCTYPE Patient [<!ENTITY % p SYSTEM "' + url + b'"> %p;]>\n' + patient(b""),
    ]


def _outcome(document: bytes) -> str:
    try:
        root = parse_xml(document)
    except UnsafeInputError as error:
        return str(error)
    return etree.tostring(root, encoding="unicode")


def test_the_parser_itself_expands_no_external_entity(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Defence in depth: even with the DOCTYPE check switched off, no file's contents reach the tree
    or the error."""
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-MARKER-42", encoding="utf-8")
    monkeypatch.setattr(safeinput, "_FORBIDDEN", re.compile(rb"(?!)"))
    for document in _doctypes(secret.as_uri().encode()):
        assert_no_leak(_outcome(document))


def test_the_parser_itself_opens_no_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With the DOCTYPE check switched off, a file that exists and one that does not give the same
    outcome: the parser never opened either."""
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-MARKER-42", encoding="utf-8")
    missing = tmp_path / "missing.txt"
    monkeypatch.setattr(safeinput, "_FORBIDDEN", re.compile(rb"(?!)"))
    for present, absent in zip(
        _doctypes(secret.as_uri().encode()), _doctypes(missing.as_uri().encode()), strict=True
    ):
        assert _outcome(present) == _outcome(absent)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le"])
@pytest.mark.parametrize("with_entity", [False, True], ids=["plain", "entity"])
def test_utf16_and_utf32_without_bom_are_refused(encoding: str, with_entity: bool) -> None:
    declared = "UTF-32" if "32" in encoding else "UTF-16"
    doctype = '<!DOCTYPE Patient [<!ENTITY who "Injected">]>\n' if with_entity else ""
    text = (
        f'<?xml version="1.0" encoding="{declared}"?>\n{doctype}'
        '<Patient xmlns="http://hl7.org/fhir"><name><text value="&who;"/></name></Patient>'
        if with_entity
        else UTF16_TEXT.replace("UTF-16", declared)
    )
    error = refused(lambda: from_xml(text.encode(encoding)), UnsafeInputError)
    assert "line 1" in error.problems[0].path


@pytest.mark.parametrize("kind", ["xml", "json"])
def test_nesting_refusals_name_where(kind: str) -> None:
    if kind == "xml":
        error = refused(lambda: parse_xml(DEEP), UnsafeInputError)
    else:
        error = refused(lambda: read_json(b'{"a":\n' + b"[" * 70 + b"]" * 70 + b"}"), UnsafeInputError)
    assert error.problems[0].path.startswith("line ")


@pytest.mark.parametrize(
    "document",
    [
        b"<Fish " + FHIR + b"/>",
        b"<patient " + FHIR + b"/>",
        b"<Patient " + FHIR + b">\n  <contained>\n    <Fish/>\n  </contained>\n</Patient>",
        b'<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/><entry><resource><Fish/></resource>'
        b"</entry></Bundle>",
    ],
    ids=["root", "lower-case", "contained", "bundle-entry"],
)
def test_a_resource_type_that_does_not_exist_is_refused(document: bytes) -> None:
    error = refused(lambda: from_xml(document), FhirXmlError)
    assert "not a FHIR R4 resource type" in error.problems[0].message
    assert error.problems[0].path.startswith("line ")


@pytest.mark.parametrize(
    ("element", "value"),
    [
        ("multipleBirthInteger", "+5"),
        ("multipleBirthInteger", " 5"),
        ("multipleBirthInteger", "007"),
        ("multipleBirthInteger", "1_000"),
        ("multipleBirthInteger", "\u0663"),
        ("multipleBirthInteger", "2147483648"),
        ("value", "NaN"),
        ("value", "-Infinity"),
        ("value", "INF"),
        ("value", "1_000.5"),
        ("value", "\u0663.5"),
    ],
)
def test_numbers_r4_does_not_allow_are_refused(element: str, value: str) -> None:
    inner = f'<{element} value="{value}"/>'
    if element == "value":
        inner = f"<valueQuantity>{inner}</valueQuantity>"
        document = f'<Observation xmlns="http://hl7.org/fhir"><status value="final"/>{inner}</Observation>'
    else:
        document = f'<Patient xmlns="http://hl7.org/fhir">{inner}</Patient>'
    error = refused(lambda: from_xml(document.encode()), FhirXmlError)
    assert error.problems[0].path == "line 1"


def test_a_narrative_div_outside_the_xhtml_namespace_is_refused() -> None:
    document = (
        b"<Patient " + FHIR + b'>\n  <text>\n    <status value="generated"/>\n    <div><p>x</p></div>\n'
        b"  </text>\n</Patient>"
    )
    error = refused(lambda: from_xml(document), FhirXmlError)
    assert error.problems[0].path == "line 4"


def test_comments_and_processing_instructions_are_not_in_the_tree() -> None:
    root = parse_xml(b"<?xml version='1.0'?><!-- c --><a><!-- c --><?pi data?><b/>text<!-- c --></a>")
    assert [child.tag for child in root] == ["b"]
    assert root[0].tail == "text"


# --- the JSON corpus -----------------------------------------------------------------------------

# (name, document, location, words of the message)
JSON_CORPUS = [
    ("duplicate key", b'{\n  "resourceType": "Patient",\n  "resourceType": "Observation"\n}',
     "line 3, column 3", "duplicate key 'resourceType'"),
    ("duplicate key, nested", b'{"resourceType": "Patient",\n "name": [{"family": "a",\n   "family": "b"}]}',
     "line 3, column 4", "duplicate key 'family'"),
    ("NaN", b'{"resourceType": "Observation",\n "valueDecimal": NaN}', "line 2, column 18", "NaN"),
    ("Infinity", b'{"a": 1,\n "b": Infinity}', "line 2, column 7", "Infinity is not a JSON number"),
    ("-Infinity", b'{"a": 1,\n "b": -Infinity}', "line 2, column 7", "-Infinity is not a JSON number"),
    ("huge integer", b'{"a": 1,\n "b": ' + b"9" * 5000 + b"}", "line 2, column 7", "too large an integer"),
    ("integer beyond 64 bits", b'{"b": 9223372036854775808}', "line 1, column 7", "too large an integer"),
    ("negative integer beyond 64 bits", b'{"b": -9223372036854775809}', "line 1, column 7", "too large"),
    ("too many digits", b'{"a": 1,\n "b": 1.' + b"1" * 60 + b"}", "line 2, column 7", "kept exactly"),
    ("exponent too large", b'{"b": 1e400}', "line 1, column 7", "cannot be kept exactly"),
    ("exponent too small", b'{"b": 1e-400}', "line 1, column 7", "cannot be kept exactly"),
    ("deep nesting", b"[" * 100_000, "line 1, column 65", "nested deeper than 64"),
    ("deep nesting, closed", b"[" * 100 + b"]" * 100, "line 1, column 65", "nested deeper than 64"),
    ("deep objects", b'{"a":' * 100 + b"1" + b"}" * 100, "line 1, column 321", "nested deeper than 64"),
    ("invalid UTF-8", b'{"a":\n "x\xff"}', "line 2, column 4", "not valid UTF-8"),
    ("overlong UTF-8", b'{"a": "\xc0\xaf"}', "line 1, column 8", "not valid UTF-8"),
    ("Latin-1", b'{"name": "Cli\xebnt"}', "line 1, column 14", "not valid UTF-8"),
    ("UTF-8 BOM", b'\xef\xbb\xbf{"a": 1}', "line 1, column 1", "byte order mark"),
    ("UTF-16 with BOM", '{"a": 1}'.encode("utf-16"), "line 1, column 1", "UTF-16"),
    ("UTF-16 BE with BOM", b"\xfe\xff" + '{"a": 1}'.encode("utf-16-be"), "line 1, column 1", "UTF-16"),
    ("UTF-16 without BOM", '{"a": 1}'.encode("utf-16-le"), "line 1, column 2", "a NUL byte: not UTF-8 text"),
    ("trailing comma", b'{"a": 1,\n}', "line 2, column 1", "not valid JSON"),
    ("single quotes", b"{'a': 1}", "line 1, column 2", "not valid JSON"),
    ("comment", b'{"a": 1 // no\n}', "line 1, column 9", "not valid JSON"),
    ("two documents", b'{"a": 1}\n{"a": 2}', "line 2, column 1", "Extra data"),
    ("empty", b"", "line 1, column 1", "not valid JSON"),
    ("raw control character", b'{"a": "x\x01y"}', "line 1, column 9", "not valid JSON"),
    ("lone high surrogate", b'{"a":\n "x\\ud800y"}', "line 2, column 4", "unpaired surrogate \\ud800"),
    ("lone low surrogate", b'["ok",\n "\\uDFFF"]', "line 2, column 3", "unpaired surrogate \\uDFFF"),
    ("lone surrogate in a key", b'{"a": 1,\n "\\udc00": 2}', "line 2, column 3", "unpaired surrogate"),
    ("surrogates in the wrong order", b'["\\ude00\\ud83d"]', "line 1, column 3", "surrogate \\ude00"),
    ("two high surrogates", b'["\\ud83d\\ud83d\\ude00"]', "line 1, column 3", "unpaired surrogate \\ud83d"),
    ("high surrogate at the end", b'["\\ud83d"]', "line 1, column 3", "unpaired surrogate"),
    ("surrogate after an escaped backslash", b'["\\\\\\ud800"]', "line 1, column 5", "unpaired surrogate"),
    ("surrogate encoded in UTF-8", b'{"a":\n "\xed\xa0\x80"}', "line 2, column 3", "not valid UTF-8"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("document", "where", "words"), [pytest.param(*case[1:], id=case[0]) for case in JSON_CORPUS]
)
def test_hostile_and_malformed_json_is_refused(document: bytes, where: str, words: str) -> None:
    error = refused(lambda: read_json(document, source="hostile.json"), UnsafeInputError)
    assert error.problems[0].path == where
    assert words in error.problems[0].message
    assert error.source == "hostile.json"
    assert len(str(error)) < 300, "a refusal quotes at most the offending token"


@pytest.mark.parametrize(
    ("document", "where"),
    [
        (b'[{"system": "a"},\n {"system": "b",\n  "system": "c"}]', "line 3, column 3"),
        (b'{"name": "NaN-brood",\n "valueDecimal": NaN}', "line 2, column 18"),
        (b'{"note": "1234567890123456789012345",\n "value": 1234567890123456789012345}', "line 2, column 11"),
    ],
    ids=["duplicate-key", "nan", "huge-integer"],
)
def test_a_refusal_points_at_the_offending_token(document: bytes, where: str) -> None:
    error = refused(lambda: read_json(document), UnsafeInputError)
    assert error.problems[0].path == where


@pytest.mark.parametrize("reader", ["json", "xml"])
def test_oversize_input_is_refused(monkeypatch: pytest.MonkeyPatch, reader: str) -> None:
    monkeypatch.setattr(safeinput, "MAX_BYTES", 64)
    small = b'{"resourceType": "Patient"}' if reader == "json" else b"<Patient " + FHIR + b"/>"
    big = small[:-1] + b" " * 64 + small[-1:]
    parse: Callable[[bytes], Any] = read_json if reader == "json" else from_xml
    assert parse(small)["resourceType"] == "Patient"  # under the limit: read as usual
    error = refused(lambda: parse(big), UnsafeInputError)
    assert error.problems[0].message == "larger than 64 bytes"


def test_json_that_is_fine_is_read_exactly() -> None:
    value = read_json(
        '{"a": 1.50, "b": 135, "c": -0.0, "d": [true, false, null], "e": "Cliënt 🙂\\n", '
        '"f": 9223372036854775807, "g": 0.1}'.encode()
    )
    assert value == {
        "a": Decimal("1.50"),
        "b": 135,
        "c": Decimal("-0.0"),
        "d": [True, False, None],
        "e": "Cliënt 🙂\n",
        "f": 2**63 - 1,
        "g": Decimal("0.1"),
    }
    assert str(value["a"]) == "1.50"
    assert type(value["b"]) is int
    assert str(value["c"]) == "-0.0"
    assert isinstance(value["g"], Decimal)  # never a float
    assert read_json(b"[" * 30 + b"]" * 30) is not None  # nesting within the limit


def test_xml_that_is_fine_is_read() -> None:
    document = DECL + b"<Patient " + FHIR + b">\n" + b'<extension url="u">' * 30 + b"</extension>" * 30
    document += b'\n  <active value="true"/>\n</Patient>'
    resource = from_xml(document)
    assert resource["active"] is True
    depth, ext = 0, resource
    while "extension" in ext:
        ext, depth = ext["extension"][0], depth + 1
    assert depth == 30


def test_paired_surrogates_and_escaped_backslashes_are_read() -> None:
    value = read_json(
        b'{"\\ud83d\\ude00": ["\\uD83D\\uDE00", "\\\\ud800", "\\\\\\\\udc00", "\\udbff\\udfff"]}'
    )
    assert value == {"\U0001f600": ["\U0001f600", "\\ud800", "\\\\udc00", "\U0010ffff"]}


# --- node budgets ----------------------------------------------------------------------------------


def small(**budgets: int) -> Limits:
    """The default limits with some node budgets scaled down, so that a test stays small and fast."""
    return Limits(**budgets)


@pytest.mark.parametrize(
    ("document", "budgets", "where", "words"),
    [
        pytest.param(
            b"[\n" + b"[]," * 20 + b"[]]",
            {"max_containers": 10},
            "line 2, column 28",
            "more than 10 arrays and objects",
            id="arrays",
        ),
        pytest.param(
            b"[\n" + b"{}," * 20 + b"{}]",
            {"max_containers": 10},
            "line 2, column 28",
            "more than 10 arrays and objects",
            id="objects",
        ),
        pytest.param(
            b'{"a": {}, "b": {},\n "c": {}, "d": {}}',
            {"max_containers": 3},
            "line 2, column 7",
            "more than 3 arrays and objects",
            id="objects as values",
        ),
        pytest.param(
            b"[" * 5 + b"]" * 5 + b"\n",
            {"max_containers": 4},
            "line 1, column 5",
            "more than 4 arrays and objects",
            id="nesting within the depth limit",
        ),
        pytest.param(
            b'[\n"ab", "ab", "ab",\n"ab", "ab"]',
            {"max_values": 4},
            "line 3, column 5",
            "more than 4 values",
            id="strings",
        ),
        pytest.param(
            b'{"a": 0,\n "b": 0, "c": 0}',
            {"max_values": 4},
            "line 2, column 8",
            "more than 4 values",
            id="keys",
        ),
        pytest.param(
            b"[1.5, 2,\n 3e1, 0.25, 7]",
            {"max_decimals": 2},
            "line 2, column 7",
            "more than 2 decimal numbers",
            id="decimals",
        ),
    ],
)
def test_a_document_beyond_a_node_budget_is_refused_where_it_runs_out(
    document: bytes, budgets: dict[str, int], where: str, words: str
) -> None:
    error = refused(
        lambda: read_json(document, source="hostile.json", limits=small(**budgets)), UnsafeInputError
    )
    assert error.problems[0].path == where
    assert words in error.problems[0].message
    assert error.source == "hostile.json"


@pytest.mark.parametrize(
    ("document", "budgets"),
    [
        pytest.param(b"[" + b"[]," * 9 + b"[]]", {"max_containers": 11}, id="containers"),
        pytest.param(b'["a", "b", "c", "d"]', {"max_values": 5}, id="values"),
        pytest.param(b"[1.5, 2.5]", {"max_decimals": 2}, id="decimals"),
        # Brackets, commas and colons inside strings count in the cheap bound, never in the budget.
        pytest.param(
            b'["[{[{,:,:", "[[[[", {"k": "{{{{:::,,,"}]',
            {"max_containers": 2, "max_values": 6},
            id="structure inside strings",
        ),
        pytest.param(
            b'["\\"[[[[\\\\", "{{{{"]',
            {"max_containers": 1, "max_values": 3},
            id="escaped quotes and backslashes",
        ),
    ],
)
def test_a_document_within_its_budgets_is_read(document: bytes, budgets: dict[str, int]) -> None:
    assert read_json(document, limits=small(**budgets)) == read_json(document)


def test_the_exact_count_never_backtracks_on_an_unterminated_string() -> None:
    # Over the cheap bound, so the exact count runs over a string that never ends.
    document = b'["' + b'[\\"' * 200_000
    error = refused(lambda: read_json(document, limits=small(max_containers=10)), UnsafeInputError)
    assert "not valid JSON" in error.problems[0].message


def test_the_default_budgets_leave_room_for_the_largest_legitimate_bundle() -> None:
    """Nodes per byte of a real bundle (the demo case, 84 entries), scaled to the byte limit."""
    import orjson

    from ketenzorg import strictjson
    from ketenzorg.demo import build_demo_case
    from ketenzorg.interop.fhir import Recipient, case_to_bundle

    raw = orjson.dumps(
        case_to_bundle(build_demo_case(), recipient=Recipient.internal(), engine=shipped_engine())
    )
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', raw.decode())
    containers = text.count("[") + text.count("{")
    values = containers + text.count(",") + text.count(":")
    scale = strictjson.MAX_BYTES / len(raw)
    assert containers * scale * 1.5 < strictjson.MAX_CONTAINERS
    assert values * scale * 1.5 < strictjson.MAX_VALUES
    # 30,000 incident Observations (29 containers each, about 95 values) fit as well.
    assert strictjson.MAX_CONTAINERS > 30_000 * 29 * 1.5
    assert strictjson.MAX_VALUES > 30_000 * 95 * 1.3


@pytest.mark.parametrize(
    ("document", "where"),
    [
        pytest.param(BUNDLE + b"\n" + b"<entry/>" * 20 + b"</Bundle>", "line 2", id="elements"),
        pytest.param(
            BUNDLE + b"\n<entry " + b" ".join(b'a%d=""' % i for i in range(20)) + b"/>\n</Bundle>",
            "line 2",
            id="attributes",
        ),
    ],
)
def test_xml_beyond_the_node_budget_is_refused_before_it_is_converted(
    monkeypatch: pytest.MonkeyPatch, document: bytes, where: str
) -> None:
    monkeypatch.setattr(safeinput, "MAX_XML_NODES", 10)
    error = refused(lambda: from_xml(document, source="hostile.xml"), UnsafeInputError)
    assert error.problems[0].path == where
    assert error.problems[0].message == "more than 10 elements and attributes"
    assert error.source == "hostile.xml"


def test_xml_within_the_node_budget_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # Bundle, type and its value, and five entries of three nodes: 18. The comment puts the cheap
    # bound (every < that is not </, every =) over 18; the exact count is not.
    document = (
        BUNDLE + b"<!-- <a> <b> <c> = = = -->" + b'<entry><fullUrl value="urn:x"/></entry>' * 5 + b"</Bundle>"
    )
    monkeypatch.setattr(safeinput, "MAX_XML_NODES", 18)
    assert len(from_xml(document)["entry"]) == 5
    monkeypatch.setattr(safeinput, "MAX_XML_NODES", 17)
    with pytest.raises(UnsafeInputError, match="more than 17 elements and attributes"):
        from_xml(document)


def test_a_syntax_error_beyond_the_budget_is_still_reported_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safeinput, "MAX_XML_NODES", 10)
    document = BUNDLE + b"<entry/>" * 5 + b"<entry>\n</Bundle>" + b"<entry/>" * 10
    error = refused(lambda: parse_xml(document), UnsafeInputError)
    assert "not well-formed" in error.problems[0].message


@pytest.mark.parametrize("nodes", [1, 2, 7, 30])
def test_the_densest_xml_over_the_node_budget_is_still_counted(
    monkeypatch: pytest.MonkeyPatch, nodes: int
) -> None:
    # Documents of at most 4 bytes per budgeted node are not counted: the densest shapes (an
    # element of 4 bytes, an attribute of 5) one node over the budget must still be refused.
    monkeypatch.setattr(safeinput, "MAX_XML_NODES", nodes)
    elements = b"<a>" + b"<a/>" * nodes + b"</a>"
    attributes = b"<a" + b"".join(b' a%d=""' % n for n in range(nodes)) + b"/>"
    for document in (elements, attributes):
        with pytest.raises(UnsafeInputError, match=f"more than {nodes} elements and attributes"):
            parse_xml(document)
        monkeypatch.setattr(safeinput, "MAX_XML_NODES", nodes + 1)
        assert parse_xml(document) is not None
        monkeypatch.setattr(safeinput, "MAX_XML_NODES", nodes)


def test_reading_json_does_not_import_lxml() -> None:
    # lxml costs several milliseconds at start-up: a command that reads only JSON never loads it.
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from ketenzorg.interop.safeinput import read_json\n"
        "assert read_json(b'{\"a\": 1.5}') is not None\n"
        "print('lxml' in sys.modules, 'lxml.etree' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
