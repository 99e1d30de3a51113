"""Narrative XHTML (``text.div``) keeps FHIR's rules (txt-1, txt-2) in every reader: no script, no event
attributes, no ``javascript:`` URLs, only the elements and attributes of R4's ``fhir-xhtml.xsd``."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from lxml import etree

from factories import run_cli as run
from factories import shipped_engine
from ketenzorg import Engine
from ketenzorg.demo import walk
from ketenzorg.disclosure import Recipient
from ketenzorg.interop import narrative
from ketenzorg.interop.fhir import case_to_bundle
from ketenzorg.interop.fhirxml import FhirXmlError, from_xml, to_xml
from ketenzorg.interop.validate import is_valid, validate_bundle

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("KETENZORG_FHIR_R4", REPO.parent / "shared" / "fhir-r4"))
XHTML_XSD = SHARED / "fhir-xhtml.xsd"
XS = "{http://www.w3.org/2001/XMLSchema}"
XML_NS = "http://www.w3.org/XML/1998/namespace"
MARKER = "Vries-Zwaluwstraat-17"
"""Planted in the narrative's text and attribute values: no message may repeat it."""


def div(body: str, attributes: str = "") -> str:
    return f'<div xmlns="http://www.w3.org/1999/xhtml"{attributes}>{body}</div>'


REFUSED = {
    "script": div(f"<p>{MARKER}</p><script>alert(1)</script>"),
    "script-empty": div("<p>x</p><script/>"),
    "onload": div(f'<p onload="alert(1)">{MARKER}</p>'),
    "onclick-on-div": div("<p>x</p>", ' onclick="steal()"'),
    "onmouseover-mixed-case": div('<span onMouseOver="x()">x</span>'),
    "javascript-href": div(f'<a href="javascript:alert(1)">{MARKER}</a>'),
    "javascript-mixed-case": div('<a href="JaVaScRiPt:alert(1)">x</a>'),
    "javascript-leading-space": div('<a href="  javascript:alert(1)">x</a>'),
    "javascript-leading-control": div('<a href="&#9;&#10;javascript:alert(1)">x</a>'),
    "javascript-tab-entity": div('<a href="java&#x09;script:alert(1)">x</a>'),
    "javascript-newline-entity": div('<a href="java&#10;script:alert(1)">x</a>'),
    "javascript-encoded-letter": div('<a href="&#x6A;avascript:alert(1)">x</a>'),
    "javascript-img-src": div('<img src="javascript:alert(1)" alt="x"/>'),
    "vbscript": div('<a href="vbscript:msgbox(1)">x</a>'),
    "data-link": div('<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>'),
    "data-svg-image": div('<img src="data:image/svg+xml;base64,PHN2Zz4=" alt="x"/>'),
    "file-url": div('<a href="file:///etc/passwd">x</a>'),
    "iframe": div('<p>x</p><iframe src="https://example.org/"/>'),
    "object": div('<object data="x.swf">x</object>'),
    "embed": div('<embed src="x.swf"/>'),
    "form": div('<form action="https://example.org/"><input name="q"/></form>'),
    "style-element": div("<style>p { color: red }</style><p>x</p>"),
    "link": div('<link rel="stylesheet" href="https://example.org/x.css"/><p>x</p>'),
    "meta": div('<meta http-equiv="refresh" content="0"/><p>x</p>'),
    "base": div('<base href="https://example.org/"/><p>x</p>'),
    "body": div("<body><p>x</p></body>"),
    "head": div("<head><title>x</title></head><p>x</p>"),
    "ins-del": div("<ins>x</ins>"),
    "style-url": div('<p style="background: url(https://example.org/track.gif)">x</p>'),
    "style-url-escaped": div('<p style="background: u\\72l(https://example.org/t.gif)">x</p>'),
    "style-url-comment": div('<p style="background: u/**/rl(x)">x</p>'),
    "style-expression": div('<p style="width: expression(alert(1))">x</p>'),
    "svg": div('<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg><p>x</p>'),
    "xlink-href": div('<a xmlns:xl="http://www.w3.org/1999/xlink" xl:href="javascript:x()">x</a>'),
    "unknown-attribute": div('<p data-x="1">x</p>'),
    "empty": div(""),
    "only-whitespace": div("<p>  </p>\n  <br/>"),
    "not-xhtml-namespace": '<div><p>x</p></div>',
    "not-a-div": '<p xmlns="http://www.w3.org/1999/xhtml">x</p>',
    "not-well-formed": div("<p>x</b>"),
}  # fmt: skip

ACCEPTED = {
    "plain": div("<p>Veiligheidsplan besproken.</p>"),
    "formatting": div("<h1>Plan</h1><p><b>vet</b>, <i>schuin</i>, <em>nadruk</em><br/>regel</p>"
                      "<ul><li>een</li></ul>"),
    "table": div('<table class="grid" border="1"><tbody><tr><th scope="col">a</th><td colspan="2">b</td></tr>'
                 "</tbody></table>"),
    "links": div('<a name="top">top</a> <a href="https://example.org/a?b=c">web</a> <a href="#top">up</a> '
                 '<a href="mailto:team@example.org">mail</a> <a href="Patient/1">patient</a>'),
    "image-by-reference": div('<img src="#foto" alt="foto"/>'),
    "image-as-png-data": div('<img src="data:image/png;base64,iVBORw0KGgo=" alt="x"/>'),
    "only-an-image": div('<img src="#foto" alt=""/>'),
    "style-attribute": div('<p style="color: red; font-weight: bold">x</p>'),
    "language": div('<p xml:lang="nl" lang="nl" dir="ltr">x</p>'),
    "preformatted": div('<pre xml:space="preserve">a  b</pre>'),
}  # fmt: skip


@functools.cache
def _bundle_bytes() -> bytes:
    return orjson.dumps(
        case_to_bundle(walk(Engine())[-1].case, recipient=Recipient.internal(), engine=shipped_engine())
    )


def with_narrative(xhtml: str) -> tuple[dict[str, Any], int]:
    """The demo bundle with a narrative on its first Observation; returns the bundle and the entry."""
    bundle: dict[str, Any] = orjson.loads(_bundle_bytes())
    index = next(i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == "Observation")
    bundle["entry"][index]["resource"]["text"] = {"status": "generated", "div": xhtml}
    return bundle, index


# --- the whitelist is the R4 schema's -----------------------------------------------------------


def derive_from_schema(path: Path) -> tuple[dict[str, frozenset[str]], frozenset[str]]:
    """Every element reachable from <div> in ``fhir-xhtml.xsd`` with its attributes (attribute groups
    followed; what FHIR commented out is not there), and the attributes typed as a URI."""
    root = etree.parse(str(path), etree.XMLParser(no_network=True, remove_comments=True)).getroot()
    elements = {e.get("name"): e for e in root.findall(f"{XS}element")}
    groups = {g.get("name"): g for g in root.findall(f"{XS}group")}
    attribute_groups = {g.get("name"): g for g in root.findall(f"{XS}attributeGroup")}
    types = {t.get("name"): t for t in root.findall(f"{XS}complexType")}
    uris: set[str] = set()

    def attributes(node: Any) -> set[str]:
        found: set[str] = set()
        for item in node.iter(f"{XS}attribute", f"{XS}attributeGroup"):
            ref = item.get("ref")
            if item.tag == f"{XS}attributeGroup":
                if ref:
                    found |= attributes(attribute_groups[ref])
            elif item.get("name"):
                found.add(item.get("name"))
                if item.get("type") == "URI":
                    uris.add(item.get("name"))
            elif ref and ref.startswith("xml:"):
                found.add("{" + XML_NS + "}" + ref[4:])
        return found

    def content(node: Any) -> set[str]:
        found: set[str] = set()
        for item in node.iter(f"{XS}element", f"{XS}group", f"{XS}extension"):
            if item is node:
                continue
            if item.tag == f"{XS}element" and item.get("ref"):
                found.add(item.get("ref"))
            elif item.tag == f"{XS}group" and item.get("ref"):
                found |= content(groups[item.get("ref")])
            elif item.tag == f"{XS}extension" and item.get("base") in types:
                found |= content(types[item.get("base")])
        return found

    def own(name: str, of: Any) -> set[str]:
        element = elements[name]
        found = of(element)
        if element.get("type") in types:
            found |= of(types[element.get("type")])
        for extension in element.iter(f"{XS}extension"):
            if extension.get("base") in types:
                found |= of(types[extension.get("base")])
        return found

    reachable, todo = {"div"}, ["div"]
    while todo:
        for child in own(todo.pop(), content) - reachable:
            reachable.add(child)
            todo.append(child)
    table = {name: frozenset(own(name, attributes)) for name in sorted(reachable)}
    return table, frozenset(uris & set().union(*table.values()))


@pytest.mark.skipif(not XHTML_XSD.exists(), reason=f"R4 fhir-xhtml.xsd not found at {XHTML_XSD}")
def test_the_whitelist_is_the_r4_schemas() -> None:
    table, uris = derive_from_schema(XHTML_XSD)
    assert "script" not in table
    assert "iframe" not in table
    assert len(table) > 40
    assert table == narrative.ALLOWED, {
        name: sorted(table.get(name, frozenset()) ^ narrative.ALLOWED.get(name, frozenset()))
        for name in set(table) | set(narrative.ALLOWED)
        if table.get(name) != narrative.ALLOWED.get(name)
    }
    assert uris == narrative.URI_ATTRIBUTES
    assert not any(name.startswith("on") for names in table.values() for name in names)


# --- refused everywhere, accepted everywhere -----------------------------------------------------


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_by_the_checker(name: str) -> None:
    problems = narrative.check_xhtml(REFUSED[name])
    assert problems
    assert not any(MARKER in p for p in problems)


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_accepted_by_the_checker(name: str) -> None:
    assert narrative.check_xhtml(ACCEPTED[name]) == []


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_validate_refuses_it_at_the_div(name: str) -> None:
    bundle, index = with_narrative(REFUSED[name])
    outcome = validate_bundle(bundle, engine=Engine())
    assert not is_valid(outcome)
    problems = [i for i in outcome["issue"] if i["severity"] == "error"]
    assert [i["expression"] for i in problems] == [[f"Bundle.entry[{index}].resource.text.div"]]
    assert MARKER not in orjson.dumps(outcome).decode()


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_validate_accepts_it(name: str) -> None:
    bundle, _ = with_narrative(ACCEPTED[name])
    outcome = validate_bundle(bundle, engine=Engine())
    assert is_valid(outcome), outcome


@pytest.mark.parametrize(
    "name", sorted(set(REFUSED) - {"not-well-formed", "not-xhtml-namespace", "not-a-div"})
)
def test_xml_both_ways_refuses_it_at_the_div(name: str) -> None:
    bundle, index = with_narrative(REFUSED[name])
    with pytest.raises(FhirXmlError) as written:
        to_xml(bundle)
    assert {p.path for p in written.value.problems} == {f"Bundle.entry[{index}].resource.text.div"}
    assert MARKER not in str(written.value)
    # the same narrative in an XML document someone else wrote
    document = to_xml(with_narrative(ACCEPTED["plain"])[0]).replace(
        ACCEPTED["plain"].encode(), REFUSED[name].encode()
    )
    assert REFUSED[name].encode() in document
    with pytest.raises(FhirXmlError) as read:
        from_xml(document)
    assert {p.path for p in read.value.problems} == {f"Bundle.entry[{index}].resource.text.div"}
    assert MARKER not in str(read.value)


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_xml_both_ways_keeps_it(name: str) -> None:
    bundle, index = with_narrative(ACCEPTED[name])
    back = from_xml(to_xml(bundle))
    assert narrative.check_xhtml(back["entry"][index]["resource"]["text"]["div"]) == []


def test_our_own_exports_pass() -> None:
    bundle = orjson.loads(_bundle_bytes())
    assert is_valid(validate_bundle(bundle, engine=Engine()))
    assert is_valid(validate_bundle(from_xml(to_xml(bundle)), strict=True, engine=Engine()))


def test_a_hostile_narrative_gets_a_bounded_list_of_problems() -> None:
    problems = narrative.check_xhtml(div("<p>x</p>" + "<script/>" * 500))
    assert len(problems) == narrative.MAX_PROBLEMS + 1


@pytest.mark.parametrize("name", ["script", "javascript-tab-entity", "iframe"])
def test_the_command_line_refuses_it(tmp_path: Path, name: str) -> None:
    bundle, _ = with_narrative(REFUSED[name])
    source = tmp_path / "bundle.json"
    source.write_bytes(orjson.dumps(bundle))
    strict = run("validate", "--strict", str(source))
    assert strict.returncode == 1
    assert "text.div" in strict.stdout
    converted = run("convert", str(source), "--to", "xml")
    assert converted.returncode in (1, 2)
    assert "text.div" in converted.stderr
    assert not converted.stdout
