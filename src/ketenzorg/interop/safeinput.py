"""Untrusted input: JSON and XML read defensively, every refusal a typed error with line and column.

XML: no DOCTYPE (so no entities, no external DTD, no entity expansion), no network, comments and
processing instructions dropped, UTF-8 only, size and nesting limits.
JSON: UTF-8 only, no duplicate keys, no NaN or Infinity, no number that cannot be kept exactly
(decimals are read as :class:`decimal.Decimal`, so ``1.50`` stays ``1.50``), size and nesting
limits. A refusal never quotes the input beyond the offending token.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from lxml import etree

from ketenzorg.errors import MalformedInputError, Problem
from ketenzorg.interop.decimals import ExactDecimal

__all__ = ["MAX_BYTES", "MAX_DEPTH", "UnsafeInputError", "parse_xml", "read_json"]

MAX_BYTES: Final = 32 * 1024 * 1024
MAX_DEPTH: Final = 64
"""Deeper than any FHIR resource needs (a bundle of contained resources nests about 20 deep)."""
MAX_INTEGER: Final = 2**63 - 1
MAX_DIGITS: Final = 40


class UnsafeInputError(MalformedInputError):
    """Input refused before it is used: malformed, hostile or beyond the limits."""


def _refuse(source: str, where: str, message: str) -> UnsafeInputError:
    return UnsafeInputError([Problem(where, message)], source=source or None)


def _line_col(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def _decode(data: bytes, source: str) -> str:
    if len(data) > MAX_BYTES:
        raise _refuse(source, "", f"larger than {MAX_BYTES} bytes")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _refuse(source, "line 1, column 1", "UTF-16 is not accepted: FHIR content is UTF-8")
    if data.startswith(b"\xef\xbb\xbf"):
        raise _refuse(source, "line 1, column 1", "a byte order mark is not accepted")
    nul = data.find(b"\x00")
    if nul >= 0:  # never in UTF-8 text; the mark of UTF-16 or UTF-32 without a byte order mark
        text = data[:nul].decode("utf-8", errors="replace")
        raise _refuse(source, _line_col(text, len(text)), "a NUL byte: not UTF-8 text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        text = data[: error.start].decode("utf-8", errors="replace")
        raise _refuse(source, _line_col(text, len(text)), "not valid UTF-8") from None


# --- JSON ----------------------------------------------------------------------------------------


class _Refusal(Exception):
    def __init__(self, token: str, message: str) -> None:
        self.token = token
        self.message = message


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):  # rare: find the key that came twice
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refusal(json.dumps(key), f"duplicate key {key!r}")
            seen.add(key)
    return out


def _constant(name: str) -> Any:
    raise _Refusal(name, f"{name} is not a JSON number")


def _float(raw: str) -> Decimal:
    try:
        value = ExactDecimal(raw)
    except InvalidOperation:
        raise _Refusal(raw, f"{raw[:40]} is not a number") from None
    digits = len(value.as_tuple().digits)
    exponent = value.as_tuple().exponent
    if digits > MAX_DIGITS or (isinstance(exponent, int) and abs(exponent) > 300):
        raise _Refusal(raw, f"{raw[:40]} cannot be kept exactly (too many digits or too large an exponent)")
    return value


def _int(raw: str) -> int | Decimal:
    if len(raw) > 20 or abs(int(raw)) > MAX_INTEGER:
        raise _Refusal(raw, f"{raw[:40]} is too large an integer to be kept exactly")
    if raw == "-0":
        return ExactDecimal(raw)  # only a decimal can be minus zero; keep it as written
    return int(raw)


def _depth_ok(value: Any) -> bool:
    """Breadth first, one level at a time, looking only at containers."""
    level = [value]
    depth = 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            return False
        below: list[Any] = []
        for item in level:
            children = item.values() if type(item) is dict else item if type(item) is list else ()
            below += [c for c in children if type(c) is dict or type(c) is list]
        level = below
    return True


def read_json(data: bytes, *, source: str = "") -> Any:
    """Parse untrusted JSON; raise :class:`UnsafeInputError` naming line and column."""
    text = _decode(data, source)
    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_constant=_constant,
            parse_float=_float,
            parse_int=_int,
        )
    except json.JSONDecodeError as error:
        raise _refuse(
            source, f"line {error.lineno}, column {error.colno}", f"not valid JSON: {error.msg}"
        ) from None
    except _Refusal as refusal:
        raise _refuse(source, _locate(text, refusal.token), refusal.message) from None
    except RecursionError:
        raise _refuse(source, _locate(text, None), f"nested deeper than {MAX_DEPTH} levels") from None
    if not _depth_ok(value):
        raise _refuse(source, _locate(text, None), f"nested deeper than {MAX_DEPTH} levels")
    return value


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')


def _locate(text: str, token: str | None) -> str:
    """Where the refused token stands (or, for ``None``, where nesting first goes too deep).

    Only on the error path: a small tokenizer that knows strings from keys from bare values, so a
    duplicate key is found in its own object and ``NaN`` is never found inside a string.
    """
    keys: list[set[str]] = []
    expect_key = False
    for match in _TOKEN.finditer(text):
        item = match.group()
        if item in "{[":
            keys.append(_ObjectKeys() if item == "{" else set())
            expect_key = item == "{"
            if token is None and len(keys) > MAX_DEPTH:
                return _line_col(text, match.start())
        elif item in "}]":
            if keys:
                keys.pop()
            expect_key = False
        elif item == ",":
            expect_key = bool(keys) and _in_object(keys)
        elif item == ":":
            expect_key = False
        elif item.startswith('"'):
            if expect_key:
                if token is not None and item == token and item in keys[-1]:
                    return _line_col(text, match.start())
                keys[-1].add(item)
        elif token is not None and item == token:
            return _line_col(text, match.start())
    return ""


def _in_object(keys: list[set[str]]) -> bool:
    return isinstance(keys[-1], _ObjectKeys)


class _ObjectKeys(set[str]):
    """The keys seen so far in one JSON object (arrays get a plain set)."""


# --- XML -----------------------------------------------------------------------------------------

_FORBIDDEN = re.compile(rb"<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
_DECLARATION = re.compile(rb"^<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


class _NoResolver(etree.Resolver):  # type: ignore[misc]
    """Never fetch anything: not a file, not a URL (defence in depth behind the DOCTYPE check)."""

    def resolve(self, url: str, pubid: str, context: Any) -> Any:
        raise UnsafeInputError([Problem("", "external resources are not read")])


def _parser() -> etree.XMLParser:
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
        huge_tree=False,
        collect_ids=False,
        attribute_defaults=False,
    )
    parser.resolvers.add(_NoResolver())
    return parser


def parse_xml(data: bytes, *, source: str = "") -> etree._Element:
    """Parse untrusted XML into an element; raise :class:`UnsafeInputError` naming line and column."""
    text = _decode(data, source)  # checks size and encoding, and gives positions
    forbidden = _FORBIDDEN.search(data)
    if forbidden is not None:
        where = _line_col(text, len(data[: forbidden.start()].decode("utf-8", errors="replace")))
        raise _refuse(
            source, where, f"<!{forbidden.group(1).decode().upper()}> is not accepted (no DTDs or entities)"
        )
    declared = _DECLARATION.match(data)
    if declared is not None and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        raise _refuse(
            source, "line 1", f"encoding {declared.group(1).decode()!r} is not accepted: FHIR XML is UTF-8"
        )
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as error:
        line, column = error.position if error.position else (error.lineno, 0)
        raise _refuse(source, f"line {line}, column {column}", f"not well-formed XML: {error.msg}") from None
    if _TOO_DEEP(root):
        first = _FIRST_TOO_DEEP(root)[0]
        raise _refuse(source, f"line {first.sourceline}", f"nested deeper than {MAX_DEPTH} levels")
    return root


_TOO_DEEP = etree.XPath("boolean(" + "/*" * (MAX_DEPTH + 1) + ")")
"""True when some element is nested deeper than the limit (evaluated inside lxml)."""
_FIRST_TOO_DEEP = etree.XPath("(" + "/*" * (MAX_DEPTH + 1) + ")[1]")
