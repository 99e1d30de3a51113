"""Strict JSON for documents from outside: one set of rules, every refusal located by line and column.

UTF-8 only (no byte order mark, no NUL); no duplicate keys; no NaN or Infinity; no unpaired
surrogate escape (``"\\ud800"`` decodes to a string that can never be written as UTF-8 again); no
integer beyond 64 bits; decimals kept exactly (as :class:`decimal.Decimal` or a subclass the caller
names); and budgets on size, nesting, and the number of containers, values and decimals.

The node budgets exist because a small document can cost much more memory as Python objects than
it takes as bytes: ``[]`` is 3 bytes of input and about 90 bytes of list, ``{"a":0}`` 8 bytes and
about 220 bytes of dict, ``1.5`` 4 bytes and about 200 bytes of decimal. They are checked before
anything is built: an upper bound first (a count of ``[``, ``{``, ``,`` and ``:`` anywhere in the
text, which costs little more than reading it), and only when that bound is over budget an exact
count that skips strings and stops where the budget runs out, to name that place. Decimals are
counted while parsing.

The FHIR readers use these rules through ``read_json`` of the interop layer's ``safeinput``
module (with decimals that remember how they were written, and its own error type); the case
format reads with them in :func:`ketenzorg.caseformat.loads`. This module is part of the core
because the case format is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import attrs

from ketenzorg.errors import MalformedInputError, Problem

# The limits are stated once, in :mod:`ketenzorg.limits`; re-exported here for the readers.
from ketenzorg.limits import MAX_BYTES, MAX_CONTAINERS, MAX_DECIMALS, MAX_DEPTH, MAX_VALUES

__all__ = [
    "MAX_BYTES",
    "MAX_CONTAINERS",
    "MAX_DECIMALS",
    "MAX_DEPTH",
    "MAX_VALUES",
    "Limits",
    "decode",
    "line_col",
    "loads",
]

MAX_INTEGER: Final = 2**63 - 1
"""The largest integer kept exactly (FHIR's integer64); beyond it a number is refused, not rounded."""
MAX_DIGITS: Final = 40
"""The most significant digits a decimal may have (FHIR decimals have at least 18)."""


@attrs.frozen(kw_only=True)
class Limits:
    """The budgets of one read; the defaults are the module's constants.

    A caller with a larger byte limit scales the node budgets with it, so that the worst accepted
    document still costs about ten times the byte limit at most.
    """

    max_bytes: int = MAX_BYTES
    max_depth: int = MAX_DEPTH
    max_containers: int = MAX_CONTAINERS
    max_values: int = MAX_VALUES
    max_decimals: int = MAX_DECIMALS


def _refuse(source: str, where: str, message: str) -> MalformedInputError:
    return MalformedInputError([Problem(where, message)], source=source or None)


def line_col(text: str, offset: int) -> str:
    """``line L, column C`` (both from 1) of a character offset into ``text``."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def decode(data: bytes, *, source: str = "", max_bytes: int = MAX_BYTES) -> str:
    """Check the size and that ``data`` is UTF-8 without a byte order mark; return the text."""
    if len(data) > max_bytes:
        raise _refuse(source, "", f"larger than {max_bytes} bytes")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _refuse(source, "line 1, column 1", "UTF-16 is not accepted: FHIR content is UTF-8")
    if data.startswith(b"\xef\xbb\xbf"):
        raise _refuse(source, "line 1, column 1", "a byte order mark is not accepted")
    nul = data.find(b"\x00")
    if nul >= 0:  # never in UTF-8 text; the mark of UTF-16 or UTF-32 without a byte order mark
        text = data[:nul].decode("utf-8", errors="replace")
        raise _refuse(source, line_col(text, len(text)), "a NUL byte: not UTF-8 text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        text = data[: error.start].decode("utf-8", errors="replace")
        raise _refuse(source, line_col(text, len(text)), "not valid UTF-8") from None


# --- reading -------------------------------------------------------------------------------------------


class _Refusal(Exception):
    """Raised inside the parse; :func:`_locate` finds ``token`` again to say where."""

    def __init__(self, message: str, *, token: str) -> None:
        self.message = message
        self.token = token


class _DecimalBudget(Exception):
    """The decimals budget ran out while parsing; the exact count finds where."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):  # rare: find the key that came twice (a set, so linear in the keys)
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refusal(f"duplicate key {key!r}", token=json.dumps(key))
            seen.add(key)
    return out


def _constant(name: str) -> Any:
    raise _Refusal(f"{name} is not a JSON number", token=name)


def _int_reader(decimal: Callable[[str], Decimal]) -> Callable[[str], int | Decimal]:
    """``parse_int``: integers up to 64 bits, and minus zero as a decimal (only a decimal has one)."""

    def read(raw: str) -> int | Decimal:
        if len(raw) > 20 or abs(int(raw)) > MAX_INTEGER:
            raise _Refusal(f"{raw[:40]} is too large an integer to be kept exactly", token=raw)
        if raw == "-0":
            return decimal(raw)  # keep it as written
        return int(raw)

    return read


def _float_reader(decimal: Callable[[str], Decimal], limit: int) -> Callable[[str], Decimal]:
    """``parse_float`` for one read: exact decimals, at most ``limit`` of them."""
    count = 0

    def read(raw: str) -> Decimal:
        nonlocal count
        count += 1
        if count > limit:
            raise _DecimalBudget
        try:
            value = decimal(raw)
        except InvalidOperation:
            raise _Refusal(f"{raw[:40]} is not a number", token=raw) from None
        digits = len(value.as_tuple().digits)
        exponent = value.as_tuple().exponent
        if digits > MAX_DIGITS or (isinstance(exponent, int) and abs(exponent) > 300):
            message = f"{raw[:40]} cannot be kept exactly (too many digits or too large an exponent)"
            raise _Refusal(message, token=raw)
        return value

    return read


def loads(
    data: bytes | str,
    *,
    source: str = "",
    limits: Limits | None = None,
    decimal: Callable[[str], Decimal] = Decimal,
) -> Any:
    """Parse a JSON document by these rules; raise :class:`MalformedInputError` naming where.

    ``decimal`` makes the decimal numbers (a :class:`~decimal.Decimal` subclass that remembers how
    it was written, for instance). Text given as ``str`` is measured by its UTF-8 size and may not
    hold an unpaired surrogate character either.
    """
    limits = limits or Limits()
    if isinstance(data, str):
        text = data
        try:
            size = len(text) if text.isascii() else len(text.encode("utf-8"))
        except UnicodeEncodeError as error:  # a lone surrogate character in the str itself
            where = line_col(text, error.start)
            raise _refuse(source, where, "an unpaired surrogate: not Unicode text") from None
        if size > limits.max_bytes:
            raise _refuse(source, "", f"larger than {limits.max_bytes} bytes")
    else:
        text = decode(data, source=source, max_bytes=limits.max_bytes)
    _check_budgets(text, limits, source)
    value: Any = None
    too_many_decimals = False
    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_constant=_constant,
            parse_float=_float_reader(decimal, limits.max_decimals),
            parse_int=_int_reader(decimal),
        )
    except json.JSONDecodeError as error:
        raise _refuse(
            source, f"line {error.lineno}, column {error.colno}", f"not valid JSON: {error.msg}"
        ) from None
    except _Refusal as refusal:
        raise _refuse(source, _locate(text, refusal.token, limits.max_depth), refusal.message) from None
    except _DecimalBudget:
        too_many_decimals = True
    except RecursionError:
        where = _locate(text, None, limits.max_depth)
        raise _refuse(source, where, f"nested deeper than {limits.max_depth} levels") from None
    if too_many_decimals:  # outside the handler, so that the refusal is not chained to the parse
        _count_exactly(text, limits, source)  # finds the decimal where the budget ran out, and raises
        raise _refuse(source, "", f"more than {limits.max_decimals:,} decimal numbers")
    if not _depth_ok(value, limits.max_depth):
        where = _locate(text, None, limits.max_depth)
        raise _refuse(source, where, f"nested deeper than {limits.max_depth} levels")
    _check_surrogates(text, source)
    return value


def _depth_ok(value: Any, max_depth: int) -> bool:
    """Breadth first, one level at a time, looking only at containers."""
    level = [value]
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            return False
        below: list[Any] = []
        for item in level:
            children = item.values() if type(item) is dict else item if type(item) is list else ()
            below += [c for c in children if type(c) is dict or type(c) is list]
        level = below
    return True


# --- node budgets --------------------------------------------------------------------------------------

_STRING: Final = r'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\Z)'
"""A string, or an unterminated one up to the end: possessive, so no input makes it backtrack."""
_WALK = re.compile(_STRING + r"|([\[{])|([,:])|(-?[0-9][0-9.eE+\-]*+)", re.DOTALL)
"""The tokens the exact count needs: strings (skipped), openers, separators and numbers."""


def _check_budgets(text: str, limits: Limits, source: str) -> None:
    """Refuse a document with more containers or values than its budgets, before parsing it.

    The counts of the structural characters anywhere in the text are an upper bound (a string may
    hold some too); only when that bound is over budget does the exact count run.
    """
    containers = text.count("[") + text.count("{")
    values = containers + text.count(",") + text.count(":")
    if containers > limits.max_containers or values > limits.max_values:
        _count_exactly(text, limits, source)


def _count_exactly(text: str, limits: Limits, source: str) -> None:
    """Count containers, values and decimals outside strings; raise where the first budget runs out."""
    containers = values = decimals = 0
    for match in _WALK.finditer(text):
        kind = match.lastindex
        if kind is None:  # a string
            continue
        if kind == 3:  # a number
            number = match.group(3)
            if "." in number or "e" in number or "E" in number:
                decimals += 1
                if decimals > limits.max_decimals:
                    message = f"more than {limits.max_decimals:,} decimal numbers"
                    raise _refuse(source, line_col(text, match.start()), message)
            continue
        values += 1
        if kind == 1:
            containers += 1
            if containers > limits.max_containers:
                message = f"more than {limits.max_containers:,} arrays and objects"
                raise _refuse(source, line_col(text, match.start()), message)
        if values > limits.max_values:
            message = f"more than {limits.max_values:,} values (keys, arrays and objects included)"
            raise _refuse(source, line_col(text, match.start()), message)


# --- surrogates ----------------------------------------------------------------------------------------

_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LOW_SURROGATE = re.compile(r"\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def _check_surrogates(text: str, source: str) -> None:
    """Refuse an escaped surrogate that is not half of a pair (the text is valid JSON by now)."""
    paired = -1  # where the low half of the last pair starts
    for match in _SURROGATE.finditer(text):
        start = match.start()
        if start == paired:
            continue
        backslashes = start
        while backslashes > 0 and text[backslashes - 1] == "\\":
            backslashes -= 1
        if (start - backslashes) % 2:  # the backslash is itself escaped: plain text, not an escape
            continue
        if text[start + 3] in "89abAB" and _LOW_SURROGATE.match(text, start + 6):
            paired = start + 6
            continue
        message = f"unpaired surrogate {match.group()}: not a Unicode character"
        raise _refuse(source, line_col(text, start), message)


# --- where -------------------------------------------------------------------------------------------

_TOKEN = re.compile(_STRING + r"|[{}\[\]:,]|[^\s{}\[\]:,\"]++", re.DOTALL)
_ARRAY, _OBJECT, _OBJECT_WITH_TOKEN = 0, 1, 2


def _locate(text: str, token: str | None, max_depth: int) -> str:
    """Where the refused token stands (or, for ``None``, where nesting first goes too deep).

    Only on the error path: a small tokenizer that knows strings from keys from bare values, so a
    duplicate key is found in its own object and ``NaN`` is never found inside a string. It keeps
    one small number per open container, whatever the number of keys.
    """
    open_containers: list[int] = []
    expect_key = False
    for match in _TOKEN.finditer(text):
        item = match.group()
        if item in "{[":
            open_containers.append(_OBJECT if item == "{" else _ARRAY)
            expect_key = item == "{"
            if token is None and len(open_containers) > max_depth:
                return line_col(text, match.start())
        elif item in "}]":
            if open_containers:
                open_containers.pop()
            expect_key = False
        elif item == ",":
            expect_key = bool(open_containers) and open_containers[-1] != _ARRAY
        elif item == ":":
            expect_key = False
        elif item.startswith('"'):
            if expect_key and open_containers and item == token:
                if open_containers[-1] == _OBJECT_WITH_TOKEN:  # the second time in this object
                    return line_col(text, match.start())
                open_containers[-1] = _OBJECT_WITH_TOKEN
        elif token is not None and item == token:
            return line_col(text, match.start())
    return ""
