"""Untrusted input: JSON and XML read defensively, every refusal a typed error with line and column.

XML: no DOCTYPE (so no entities, no external DTD, no entity expansion), no network, comments and
processing instructions dropped, UTF-8 only, size and nesting limits, and a budget on elements
and attributes checked before the tree is built.
JSON: the rules of :mod:`ketenzorg.strictjson`: UTF-8 only, no duplicate keys, no NaN or Infinity,
no unpaired surrogate escape, no number that cannot be kept exactly (decimals are read as
:class:`~ketenzorg.interop.decimals.ExactDecimal`, so ``1.50`` stays ``1.50``), size and nesting
limits, and budgets on containers, values and decimals. A refusal never quotes the input beyond
the offending token.
"""

from __future__ import annotations

import functools
import io
import re
from typing import TYPE_CHECKING, Any, Final

from ketenzorg import strictjson
from ketenzorg.errors import MalformedInputError, Problem
from ketenzorg.interop.decimals import ExactDecimal
from ketenzorg.limits import MAX_BYTES, MAX_DEPTH, MAX_XML_NODES
from ketenzorg.strictjson import Limits, line_col

if TYPE_CHECKING:
    from lxml import etree

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_XML_NODES",
    "Limits",
    "UnsafeInputError",
    "parse_xml",
    "read_json",
]


class UnsafeInputError(MalformedInputError):
    """Input refused before it is used: malformed, hostile or beyond the limits."""


def _refuse(source: str, where: str, message: str) -> UnsafeInputError:
    return UnsafeInputError([Problem(where, message)], source=source or None)


def _decode(data: bytes, source: str) -> str:
    try:
        return strictjson.decode(data, source=source, max_bytes=MAX_BYTES)
    except MalformedInputError as error:
        raise UnsafeInputError(error.problems, source=error.source) from None


# --- JSON ----------------------------------------------------------------------------------------


def read_json(data: bytes, *, source: str = "", limits: Limits | None = None) -> Any:
    """Parse untrusted JSON; raise :class:`UnsafeInputError` naming line and column.

    ``limits`` defaults to the constants of :mod:`ketenzorg.strictjson` with this module's
    :data:`MAX_BYTES` and :data:`MAX_DEPTH`.
    """
    if limits is None:
        limits = Limits(max_bytes=MAX_BYTES, max_depth=MAX_DEPTH)
    try:
        return strictjson.loads(data, source=source, limits=limits, decimal=ExactDecimal)
    except MalformedInputError as error:
        raise UnsafeInputError(error.problems, source=error.source) from None


# --- XML -----------------------------------------------------------------------------------------

_FORBIDDEN = re.compile(rb"<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
_DECLARATION = re.compile(rb"^<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


_PARSER_OPTIONS: Final[dict[str, bool]] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "remove_comments": True,
    "remove_pis": True,
    "huge_tree": False,
    "collect_ids": False,
    "attribute_defaults": False,
}


class _Lxml:
    """lxml and what is built on it, made on the first XML read: reading JSON never imports lxml."""

    def __init__(self) -> None:
        from lxml import etree

        class NoResolver(etree.Resolver):  # type: ignore[misc]
            """Never fetch anything: not a file, not a URL (defence in depth behind the DOCTYPE check)."""

            def resolve(self, url: str, pubid: str, context: Any) -> Any:
                raise UnsafeInputError([Problem("", "external resources are not read")])

        self.etree = etree
        self.resolver = NoResolver
        self.too_deep = etree.XPath("boolean(" + "/*" * (MAX_DEPTH + 1) + ")")
        """True when some element is nested deeper than the limit (evaluated inside lxml)."""
        self.first_too_deep = etree.XPath("(" + "/*" * (MAX_DEPTH + 1) + ")[1]")

    def parser(self) -> etree.XMLParser:
        parser = self.etree.XMLParser(**_PARSER_OPTIONS)
        parser.resolvers.add(self.resolver())
        return parser


@functools.cache
def _lxml() -> _Lxml:
    return _Lxml()


def _check_nodes(data: bytes, source: str) -> None:
    """Refuse a document with more elements and attributes than :data:`MAX_XML_NODES`, before its tree.

    Upper bounds first: an element takes at least 4 bytes (``<a/>``) and an attribute at least 5
    (`` a=""``), so a document of at most ``4 * MAX_XML_NODES`` bytes is within budget without
    looking; then every element starts with a ``<`` that is not ``</``, every attribute has an
    ``=``. Only when that is over budget, count exactly with lxml's ``iterparse`` (the same parser
    options), removing each element once counted so that memory stays small, and name the line
    where the budget ran out. A syntax error is left to the parse that follows, which reports it.
    """
    if len(data) <= 4 * MAX_XML_NODES:
        return
    if data.count(b"<") - data.count(b"</") + data.count(b"=") <= MAX_XML_NODES:
        return
    nodes = 0
    etree = _lxml().etree
    try:
        for _, element in etree.iterparse(io.BytesIO(data), events=("end",), **_PARSER_OPTIONS):
            nodes += 1 + len(element.attrib)
            if nodes > MAX_XML_NODES:
                message = f"more than {MAX_XML_NODES:,} elements and attributes"
                raise _refuse(source, f"line {element.sourceline}", message)
            element.clear()
            while element.getprevious() is not None:
                del element.getparent()[0]
    except etree.XMLSyntaxError:
        return


def parse_xml(data: bytes, *, source: str = "") -> etree._Element:
    """Parse untrusted XML into an element; raise :class:`UnsafeInputError` naming line and column."""
    text = _decode(data, source)  # checks size and encoding, and gives positions
    forbidden = _FORBIDDEN.search(data)
    if forbidden is not None:
        where = line_col(text, len(data[: forbidden.start()].decode("utf-8", errors="replace")))
        raise _refuse(
            source, where, f"<!{forbidden.group(1).decode().upper()}> is not accepted (no DTDs or entities)"
        )
    declared = _DECLARATION.match(data)
    if declared is not None and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        raise _refuse(
            source, "line 1", f"encoding {declared.group(1).decode()!r} is not accepted: FHIR XML is UTF-8"
        )
    _check_nodes(data, source)
    lxml = _lxml()
    try:
        root = lxml.etree.fromstring(data, lxml.parser())
    except lxml.etree.XMLSyntaxError as error:
        line, column = error.position if error.position else (error.lineno, 0)
        raise _refuse(source, f"line {line}, column {column}", f"not well-formed XML: {error.msg}") from None
    if lxml.too_deep(root):
        first = lxml.first_too_deep(root)[0]
        raise _refuse(source, f"line {first.sourceline}", f"nested deeper than {MAX_DEPTH} levels")
    return root
