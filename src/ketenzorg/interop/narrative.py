"""FHIR R4 narrative (``Resource.text.div``): only the XHTML that FHIR allows, no active content.

FHIR's invariants txt-1 (only the basic HTML formatting elements and attributes, ``<a>``, images
and style attributes) and txt-2 (some non-whitespace content), checked against a whitelist that is
the R4 schema ``fhir-xhtml.xsd``: every element reachable from ``<div>`` there, with exactly the
attributes the schema gives it (a test derives the table from the schema and compares). So there is
no ``<script>``, no event attribute (``on*``), no ``<iframe>``, ``<object>``, ``<embed>``, forms,
``<head>``, ``<body>``, ``<link>``, ``<base>``, ``<meta>`` or ``<style>`` element.

The schema types URLs only as ``anyURI``; the narrative rules forbid active content, so URLs are
held to an allow-list of schemes, after the normalisation a browser applies (tabs and line breaks
removed anywhere, leading control characters and spaces ignored, the scheme in any case), so
``JavaScript:``, ``java&#x09;script:`` and `` javascript:`` are all refused:

- no scheme (``#id``, ``Patient/1``), ``http``, ``https``, ``mailto``, ``tel`` and ``urn``;
- ``data:`` only as the ``src`` of an ``<img>``, and only for raster images (PNG, GIF, JPEG,
  WebP): such an image keeps the narrative self-contained, as FHIR prefers, and cannot run
  anything; ``data:image/svg+xml`` is refused (SVG is a document that can carry script), as is
  ``data:`` in a link (a ``data:text/html`` link opens an attacker's page);
- everything else (``javascript:``, ``vbscript:``, ``file:``, ...) is refused.

A ``style`` attribute is "internally contained" style: it may not load or run anything, so
``url(``, ``expression(``, ``@import``, ``behavior`` and ``-moz-binding`` are refused (CSS
comments and escapes are undone first).

Messages never repeat the narrative's text or an attribute's value: they name the element or
attribute (only when it is one of the names known here) and the line within the narrative.
"""

from __future__ import annotations

import re
from typing import Final

from lxml import etree

from ketenzorg.errors import ValidationError

__all__ = ["ALLOWED", "URI_ATTRIBUTES", "XHTML_NS", "check_div", "check_xhtml"]

XHTML_NS: Final = "http://www.w3.org/1999/xhtml"
_XML_NS: Final = "http://www.w3.org/XML/1998/namespace"
_X = "{" + XHTML_NS + "}"
XML_LANG: Final = "{" + _XML_NS + "}lang"
XML_SPACE: Final = "{" + _XML_NS + "}space"

_CORE = frozenset({"id", "class", "style", "title"})
_I18N = frozenset({"lang", XML_LANG, "dir"})
_ATTRS = _CORE | _I18N
_FOCUS = frozenset({"accesskey", "tabindex"})
_CELL = frozenset({"align", "char", "charoff", "valign"})

_PLAIN = """abbr acronym address b bdo big caption cite code dd dfn div dl dt em h1 h2 h3 h4 h5 h6 hr i kbd
    li ol p samp small span strong sub sup tt ul var""".split()

ALLOWED: Final[dict[str, frozenset[str]]] = {
    **dict.fromkeys(_PLAIN, _ATTRS),
    "a": _ATTRS | _FOCUS | {"charset", "type", "name", "href", "hreflang", "rel", "rev", "shape", "coords"},
    "area": _ATTRS | _FOCUS | {"shape", "coords", "href", "nohref", "alt"},
    "blockquote": _ATTRS | {"cite"},
    "br": _CORE,
    "col": _ATTRS | _CELL | {"span", "width"},
    "colgroup": _ATTRS | _CELL | {"span", "width"},
    "img": _ATTRS | {"src", "alt", "longdesc", "height", "width", "usemap", "ismap"},
    "map": _ATTRS | {"name"},
    "pre": _ATTRS | {XML_SPACE},
    "q": _ATTRS | {"cite"},
    "table": _ATTRS | {"summary", "width", "border", "frame", "rules", "cellspacing", "cellpadding"},
    "tbody": _ATTRS | _CELL,
    "td": _ATTRS | _CELL | {"abbr", "axis", "headers", "scope", "rowspan", "colspan"},
    "tfoot": _ATTRS | _CELL,
    "th": _ATTRS | _CELL | {"abbr", "axis", "headers", "scope", "rowspan", "colspan"},
    "thead": _ATTRS | _CELL,
    "tr": _ATTRS | _CELL,
}  # fmt: skip
"""Element (local name, XHTML namespace) -> its allowed attributes, as in R4's ``fhir-xhtml.xsd``."""

URI_ATTRIBUTES: Final = frozenset({"href", "src", "longdesc", "usemap", "cite"})
"""The allowed attributes the schema types as a URI."""

MAX_PROBLEMS: Final = 20
"""Problems reported per narrative; a hostile one could otherwise produce one per element."""

_SCHEMES: Final = frozenset({"http", "https", "mailto", "tel", "urn"})
_RASTER: Final = frozenset({"image/png", "image/gif", "image/jpeg", "image/webp"})
_NAMED_SCHEMES: Final = frozenset({"javascript", "vbscript", "data", "file", "livescript", "jar", "blob"})
# Names that may be repeated in a message: the allowed ones and the well-known forbidden ones.
# Anything else is described, never quoted (an element name is input too).
_KNOWN_ELEMENTS: Final = frozenset(ALLOWED) | frozenset(
    """applet audio base basefont body button canvas center del embed fieldset font form frame frameset
    head html iframe input ins isindex label legend link math meta noscript object optgroup option
    param script select style svg template textarea title video""".split()
)
_KNOWN_ATTRIBUTES: Final = frozenset().union(*ALLOWED.values()) | frozenset(
    """action background dynsrc formaction lowsrc ping srcdoc srcset""".split()
)
_EVENT = re.compile(r"on", re.IGNORECASE)
_IGNORED_IN_URL = re.compile(r"[\t\n\r]")
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")
_CSS_COMMENT = re.compile(r"/\*.*?(\*/|$)", re.DOTALL)
_CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})[ \t\n\r\f]?|\\(.)", re.DOTALL)
_CSS_FORBIDDEN = re.compile(r"url\s*\(|expression\s*\(|@import|behavior|-moz-binding|javascript:|vbscript:")


def check_xhtml(text: str) -> list[str]:
    """The problems of a narrative given as XHTML text (FHIR JSON's ``div``); empty when it is fine.

    The text is parsed as untrusted XML (no DTD, no entities, no network).
    """
    from ketenzorg.interop.safeinput import parse_xml

    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        return ["the narrative is not valid Unicode text (a lone surrogate)"]
    try:
        div = parse_xml(data)
    except ValidationError as error:
        return [f"not well-formed XHTML ({p})" for p in error.problems]
    return check_div(div, lines="narrative line")


def check_div(div: etree._Element, *, lines: str = "line") -> list[str]:
    """The problems of a parsed narrative ``<div>``; empty when it is fine.

    ``lines`` names what line numbers count in (``"line"`` of the document it was read from).
    """
    if div.tag != _X + "div":
        return ["the narrative is a <div> in the XHTML namespace"]
    problems: list[str] = []
    for element in div.iter():
        if len(problems) >= MAX_PROBLEMS:
            return [*problems[:MAX_PROBLEMS], f"more problems not listed (at most {MAX_PROBLEMS} are)"]
        tag = element.tag
        if not isinstance(tag, str):
            continue  # comments and processing instructions carry no content (and are dropped on reading)
        where = f" ({lines} {element.sourceline})" if element.sourceline else ""
        local = tag.rpartition("}")[2]
        allowed = ALLOWED.get(local) if tag.startswith(_X) else None
        if allowed is None:
            problems.append(f"{_element_name(tag, local)} is not allowed in narrative{where}")
            continue
        for name, value in element.attrib.items():
            if name not in allowed:
                problems.append(f"{_attribute_name(name)} is not allowed on <{local}>{where}")
            elif name in URI_ATTRIBUTES:
                refused = _url_problem(value, image=local == "img" and name == "src")
                if refused:
                    problems.append(f"<{local} {name}>: {refused}{where}")
            elif name == "style" and _CSS_FORBIDDEN.search(_css(value)):
                problems.append(
                    f"<{local} style> may not load or run anything (url, expression, @import){where}"
                )
    if len(problems) > MAX_PROBLEMS:
        return [*problems[:MAX_PROBLEMS], f"more problems not listed (at most {MAX_PROBLEMS} are)"]
    if not problems and not _has_content(div):
        problems.append("the narrative has no content: it needs some non-whitespace text or an image")
    return problems


def _element_name(tag: str, local: str) -> str:
    if not tag.startswith(_X):
        return "an element outside the XHTML namespace"
    return f"<{local}>" if local in _KNOWN_ELEMENTS else "an element unknown to XHTML"


def _attribute_name(name: str) -> str:
    if name in _KNOWN_ATTRIBUTES:
        return f"the attribute {name.replace('{' + _XML_NS + '}', 'xml:')!r}"
    if _EVENT.match(name):
        return "an event attribute (on...)"
    if name.startswith("{"):
        return "an attribute in another namespace"
    return "an attribute unknown to XHTML"


def _url_problem(value: str, *, image: bool) -> str | None:
    """Why a URL is refused (``None`` when it is allowed), read the way a browser reads it."""
    text = _IGNORED_IN_URL.sub("", value).lstrip("".join(chr(c) for c in range(0x21)))
    found = _SCHEME.match(text)
    if found is None:
        return None  # a relative reference: '#id', 'Patient/1', '//host/path'
    scheme = found.group(1).lower()
    if scheme in _SCHEMES:
        return None
    if scheme == "data" and image:
        media = text[found.end() :].partition(",")[0].partition(";")[0].strip().lower()
        if media in _RASTER:
            return None
        return "only a PNG, GIF, JPEG or WebP image may be given as a data: URL"
    named = f"a {scheme}: URL" if scheme in _NAMED_SCHEMES else "a URL of a scheme that is not allowed"
    return f"{named} is not allowed (allowed: {', '.join(sorted(_SCHEMES))} or a relative reference)"


def _css(value: str) -> str:
    """A style attribute with comments and escapes undone, in lower case, to look for what it loads."""
    text = _CSS_COMMENT.sub("", value)
    text = _CSS_ESCAPE.sub(lambda m: _unescape(m.group(1), m.group(2)), text)
    return text.lower()


def _unescape(hex_digits: str | None, char: str | None) -> str:
    if hex_digits is None:
        return char or ""
    code = int(hex_digits, 16)
    return chr(code) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else "\ufffd"


def _has_content(div: etree._Element) -> bool:
    if any(text.strip() for text in div.itertext()):
        return True
    return div.find(f".//{_X}img") is not None
