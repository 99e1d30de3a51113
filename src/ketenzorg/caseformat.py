"""The engine's own JSON format for a case: its id and its events, round-tripping exactly.

::

    {"format": "ketenzorg.case", "version": 1, "case_id": "...", "events": [{"type": ...}, ...]}

An answer an item allows to be missing is ``{"missing": "unknown"}`` or ``{"missing": "not-asked"}``
(:class:`~ketenzorg.instruments.Missing`).

Structuring and unstructuring go through one cattrs converter. A bad document raises
:class:`~ketenzorg.errors.CaseFormatError` with one problem per fault, each with its path
(``events[3].score: 11 is not in 0..10``); the schema in ``schemas/case.schema.json`` is
generated from the same classes (:mod:`ketenzorg.caseschema`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, Final, TypeVar

import attrs
import cattrs
import orjson
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ketenzorg import strictjson
from ketenzorg.case import Case
from ketenzorg.domain import Text
from ketenzorg.errors import (
    CaseFormatError,
    InvalidEventError,
    MalformedInputError,
    Problem,
    ValidationError,
)
from ketenzorg.events import EVENT_TYPES, Event
from ketenzorg.instruments import Answer, Missing

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "answer_from_json",
    "case_from_dict",
    "case_to_dict",
    "converter",
    "dumps",
    "loads",
    "structure",
]

_T = TypeVar("_T")

FORMAT_NAME: Final = "ketenzorg.case"
FORMAT_VERSION: Final = 1
MAX_DOCUMENT_BYTES: Final = 64 * 1024 * 1024

ISO_DATETIME_PATTERN: Final = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$"
"""A date-time with a timezone offset, as the case format writes and accepts it."""
_ISO_DATETIME = re.compile(ISO_DATETIME_PATTERN)


class _FormatProblem(ValueError):
    """A problem this module words itself: it never quotes the value."""


def _structure_datetime(value: Any, _: type) -> datetime:
    if not isinstance(value, str):
        raise _FormatProblem(f"expected a date-time string, got {type(value).__name__}")
    if not _ISO_DATETIME.match(value):
        raise _FormatProblem("is not an ISO 8601 date-time with a timezone offset")
    return datetime.fromisoformat(value)


def _unstructure_datetime(value: datetime) -> str:
    return value.isoformat()


def _structure_str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise _FormatProblem(f"expected text, got {_json_kind(value)}")
    return value


def _structure_int(value: Any, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _FormatProblem(f"expected an integer, got {_json_kind(value)}")
    return value


_FLOATS_READ: ContextVar[list[float] | None] = ContextVar("_FLOATS_READ", default=None)
"""While :func:`_fast_loads` structures a document parsed by orjson: the floats it accepted."""


def _structure_float(value: Any, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise _FormatProblem(f"expected a number, got {_json_kind(value)}")
    if type(value) is float:
        floats = _FLOATS_READ.get()
        if floats is not None:
            floats.append(value)
    return float(value)


def _structure_answer(value: Any, _: Any) -> Answer:
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    if isinstance(value, Mapping) and len(value) == 1 and "missing" in value:
        reason = value["missing"]
        if isinstance(reason, str) and reason in _MISSING:
            return _MISSING[reason]
        raise _FormatProblem(f"a missing answer's reason is one of {', '.join(map(repr, _MISSING))}")
    raise _FormatProblem(
        'expected true/false, a whole number, text, a list of codes or {"missing": reason}, '
        f"got {_json_kind(value)}"
    )


_MISSING: Final = {reason.value: reason for reason in Missing}


def answer_from_json(value: Any) -> Any:
    """An answer as a JSON answers file holds it: ``{"missing": "unknown"}`` (or ``"not-asked"``)
    becomes :class:`~ketenzorg.instruments.Missing`; anything else is returned as it is, for
    :func:`~ketenzorg.instruments.validate_answers` to judge."""
    if isinstance(value, Mapping) and len(value) == 1:
        reason = value.get("missing")
        if isinstance(reason, str) and reason in _MISSING:
            return _MISSING[reason]
    return value


def _unstructure_answer(value: Answer) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Missing):
        return {"missing": value.value}
    return value


def _structure_answers(value: Any, _: Any) -> Mapping[str, Answer]:
    if not isinstance(value, Mapping):
        raise _FormatProblem(f"expected an object of answers, got {_json_kind(value)}")
    return {str(k): _structure_answer(v, None) for k, v in value.items()}


def _structure_text(value: Any, _: Any) -> Text:
    """A text in Dutch and English, ``{"nl": ..., "en": ...}``; a plain string (how texts were
    stored before they had two languages) is read as Dutch only."""
    if isinstance(value, str):
        if not value.strip():
            raise _FormatProblem("must not be empty")
        return Text(value)
    if not isinstance(value, Mapping):
        raise _FormatProblem(f"expected a text {{'nl': ..., 'en': ...}}, got {_json_kind(value)}")
    if "nl" not in value or not set(value) <= {"nl", "en"}:
        raise _FormatProblem("a text has 'nl' and optionally 'en', and no other keys")
    for lang in ("nl", "en"):
        part = value.get(lang, "x")
        if not isinstance(part, str):
            raise _FormatProblem(f"{lang}: expected text, got {_json_kind(part)}")
        if not part.strip():
            raise _FormatProblem(f"{lang}: must not be empty")
    return Text(value["nl"], value.get("en"))


def _structure_optional_text(value: Any, _: Any) -> Text | None:
    # an empty string was how an absent emphasis was stored before texts had two languages
    return None if value is None or value == "" else _structure_text(value, None)


def _unstructure_text(value: Text) -> dict[str, str]:
    return {"nl": value.nl} if value.en is None else {"nl": value.nl, "en": value.en}


def _structure_bool(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise _FormatProblem(f"expected true or false, got {_json_kind(value)}")
    return value


def _json_kind(value: Any) -> str:
    if isinstance(value, Decimal):  # how the JSON readers give a number with a fraction or exponent
        return "a number"
    return {
        str: "text", bool: "a boolean", int: "an integer", float: "a number",
        list: "a list", dict: "an object", type(None): "null",
    }.get(type(value), type(value).__name__)  # fmt: skip


def _structure_enum(value: Any, kind: type[enum.Enum]) -> enum.Enum:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _FormatProblem(f"expected a code, got {_json_kind(value)}")
    member = kind._value2member_map_.get(value)  # what ``kind(value)`` looks up first
    if member is not None:
        return member
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in kind)
        raise _FormatProblem(f"is not one of {allowed}") from None


def _tuple_hook(conv: cattrs.Converter) -> Any:
    def factory(tuple_type: Any) -> Any:
        (item_type, _) = tuple_type.__args__
        handler = conv.get_structure_hook(item_type)

        def structure(value: Any, _: type) -> tuple[Any, ...]:
            if not isinstance(value, list):
                raise _FormatProblem(f"expected a list, got {_json_kind(value)}")
            items, errors = [], []
            for index, item in enumerate(value):
                try:
                    items.append(handler(item, item_type))
                except Exception as exc:  # collected and reported with their index
                    exc.__notes__ = [*getattr(exc, "__notes__", []), f"@index {index}"]
                    errors.append(exc)
                    if len(errors) == MAX_PROBLEMS and index + 1 < len(value):
                        errors.append(_NotChecked(f"items from [{index + 1}] on are not checked"))
                        break
            if errors:
                raise IterableValidationError("invalid items", errors, tuple_type)
            return tuple(items)

        return structure

    return factory


def _structure_event(conv: cattrs.Converter, hook: Any) -> Any:
    allowed = ", ".join(EVENT_TYPES)

    def structure(value: Any, _: type) -> Event:
        if not isinstance(value, Mapping):
            raise _FormatProblem(f"expected an event object, got {_json_kind(value)}")
        tag = value.get("type")
        cls = EVENT_TYPES.get(tag) if isinstance(tag, str) else None
        if cls is None:
            raise _FormatProblem(f"its type is not an event type; expected one of {allowed}")
        tagged = getattr(hook(cls), "tagged", None)
        if tagged is not None:  # reads the event with its tag, without copying the dict
            event: Event = tagged(value)
            return event
        body = {k: v for k, v in value.items() if k != "type"}
        result: Event = conv.structure(body, cls)
        return result

    return structure


def _structure_fields(cls: type, conv: cattrs.Converter) -> Any:
    """Structure a dict into the attrs class ``cls`` exactly as ``make_dict_structure_fn`` does with
    this converter (detailed validation, extra keys forbidden, no aliases, no overrides), but by
    walking a table of its fields instead of compiling a function for it.

    Generating and compiling cattrs' functions for the classes of a case took about a third of
    ``ketenzorg evaluate``'s own time. The table is the careful path, which words every problem;
    reading goes through :func:`_compiled` first. A class this table does not cover (generic, with
    ``init=False`` fields or ``Annotated`` overrides) gets cattrs' own function.
    """
    try:
        from cattrs.gen._shared import find_structure_handler
    except ImportError:  # a cattrs without it: its own generated function
        return make_dict_structure_fn(cls, conv)

    fields = attrs.fields(cls)
    if any(isinstance(a.type, str) for a in fields):
        attrs.resolve_types(cls)  # PEP 563 annotations, as cattrs resolves them
        fields = attrs.fields(cls)
    if (
        getattr(cls, "__parameters__", ())
        or any(not a.init or getattr(a.type, "__metadata__", None) is not None for a in fields)
        or getattr(conv, "use_alias", False)
    ):
        return make_dict_structure_fn(cls, conv)
    prefer = conv._prefer_attrib_converters
    table: list[tuple[str, str, bool, int, Any, Any, str]] = []
    for a in fields:
        handler: Any = find_structure_handler(a, a.type, conv, prefer)
        # how the generated code calls it: not at all, the type itself, or handler(value, type)
        how = 0 if not handler else 1 if handler == conv._structure_call else 2
        note = f"Structuring class {cls.__qualname__} @ attribute {a.name}"
        table.append((a.name, a.alias, a.default is not attrs.NOTHING, how, handler, a.type, note))
    allowed = frozenset(a.name for a in fields)
    name = cls.__name__

    def structure(o: Any, _: Any = cls) -> Any:
        res: dict[str, Any] = {}
        errors: list[Exception] = []
        for key, alias, optional, how, handler, kind, note in table:
            if optional and key not in o:
                continue
            try:
                if how == 2:
                    res[alias] = handler(o[key], kind)
                elif how == 1:
                    res[alias] = kind(o[key])
                else:
                    res[alias] = o[key]
            except Exception as e:  # collected per attribute, as cattrs does
                e.__notes__ = [*getattr(e, "__notes__", []), AttributeValidationNote(note, key, kind)]
                errors.append(e)
        unknown = set(o.keys()) - allowed
        if unknown:
            errors.append(ForbiddenExtraKeysError("", cls, unknown))
        if errors:
            raise ClassValidationError("While structuring " + name, errors, cls)
        try:
            return cls(**res)
        except Exception as exc:
            raise ClassValidationError("While structuring " + name, [exc], cls) from None

    return _compiled(cls, table, allowed, structure)


def _compiled(
    cls: type, table: list[tuple[str, str, bool, int, Any, Any, str]], allowed: frozenset[str], precise: Any
) -> Any:
    """The hot path of :func:`_structure_fields`: the same hooks and the same constructor
    (validators included), without collecting errors per attribute. On any failure it runs
    ``precise``, which raises the detailed error (or, should it succeed, gives its result): every
    check is made either way, only the wording is left to the careful path.

    Its ``tagged`` variant reads an event with its ``type`` tag still in the dict, so that reading
    an event copies no dict. (Closures, not generated code: compiling a function per class cost
    more on a command's first read than the reads it speeds up.)
    """
    tagged_allowed = allowed | {"type"}
    required: list[tuple[str, str, Any, Any]] = []
    optional: list[tuple[str, str, Any, Any]] = []
    for key, alias, is_optional, how, handler, kind, _ in table:
        call = handler if how == 2 else _call_type if how == 1 else _as_is
        if how == 2 and getattr(handler, "__func__", None) is _STRUCTURE_OPTIONAL:
            call = _optional(handler.__self__, kind)  # cattrs' own, without its dispatch per call
        (optional if is_optional else required).append((key, alias, call, kind))

    def build(o: Any) -> Any:
        res = {alias: call(o[key], kind) for key, alias, call, kind in required}
        for key, alias, call, kind in optional:
            if key in o:
                res[alias] = call(o[key], kind)
        return cls(**res)

    def fast(o: Any, _: Any = None) -> Any:
        try:
            if o.keys() <= allowed:
                return build(o)
        except Exception:  # worded by the careful path
            pass
        return precise(o)

    def tagged(o: Any) -> Any:
        try:
            if o.keys() <= tagged_allowed:
                return build(o)
        except Exception:  # worded by the careful path
            pass
        return precise({k: v for k, v in o.items() if k != "type"})

    fast.tagged = tagged  # type: ignore[attr-defined]
    return fast


_STRUCTURE_OPTIONAL: Final = cattrs.BaseConverter._structure_optional


def _optional(conv: cattrs.BaseConverter, union: Any) -> Any:
    """What ``conv._structure_optional`` does for ``union`` (``X | None``), with the hook of ``X``
    looked up once."""
    first, second = union.__args__
    other = first if second is type(None) else second
    inner = conv.get_structure_hook(other)

    def structure(value: Any, _: Any) -> Any:
        return None if value is None else inner(value, other)

    return structure


def _call_type(value: Any, kind: Any) -> Any:
    return kind(value)


def _as_is(value: Any, _: Any) -> Any:
    return value


def _register_events(conv: cattrs.Converter) -> None:
    """Each event class gets its own hooks; the ``type`` tag is written first and read first.

    The hooks are made when a class is first read or written: making them all takes longer than
    reading a whole case, and a command that only reads writes none. They are kept here, as cattrs
    empties its own cache of them whenever it registers a hook for a new type. Reading goes through
    :func:`_structure_fields`, for the events and for every attrs class inside them.
    """
    classes = frozenset(EVENT_TYPES.values())

    @cache
    def unstructure_hook(cls: type[Event]) -> Any:
        # a field added later is written only when it holds something: a case written before it
        # existed keeps the same bytes (the store hashes them). ``security``: a partner's labels.
        if "security" in attrs.fields_dict(cls):
            fields = make_dict_unstructure_fn(cls, conv, security=override(omit_if_default=True))
        else:
            fields = make_dict_unstructure_fn(cls, conv)

        def unstructure(event: Event) -> dict[str, Any]:
            return {"type": event.type, **fields(event)}

        return unstructure

    @cache
    def structure_hook(cls: type) -> Any:
        return _structure_fields(cls, conv)

    conv.register_unstructure_hook_factory(lambda t: t in classes, unstructure_hook)
    conv.register_structure_hook_factory(lambda t: isinstance(t, type) and attrs.has(t), structure_hook)
    conv.register_structure_hook_func(lambda t: t is Event, _structure_event(conv, structure_hook))


@cache
def converter() -> cattrs.Converter:
    """The converter for the case format (built once; converters are not mutated after)."""
    conv = cattrs.Converter(forbid_extra_keys=True, omit_if_default=False)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(datetime, _unstructure_datetime)
    # Strict primitives: JSON ``3`` is not the text "3", ``true`` is not the integer 1.
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(Text, _structure_text)
    conv.register_structure_hook_func(lambda t: t == Text | None, _structure_optional_text)
    conv.register_unstructure_hook(Text, _unstructure_text)
    conv.register_structure_hook_func(lambda t: t == Mapping[str, Answer], _structure_answers)
    conv.register_unstructure_hook_func(
        lambda t: t == Mapping[str, Answer],
        lambda m: {k: _unstructure_answer(v) for k, v in m.items()},
    )
    # IntEnum sits before int in Phase's MRO, so this wins over the int hook.
    conv.register_structure_hook(enum.IntEnum, _structure_enum)
    conv.register_structure_hook(enum.Enum, _structure_enum)
    conv.register_unstructure_hook_factory(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum),
        lambda t: lambda v: v.value,
    )
    conv.register_structure_hook_factory(
        lambda t: (
            getattr(t, "__origin__", None) is tuple
            and len(getattr(t, "__args__", ())) == 2
            and t.__args__[1] is Ellipsis
        ),
        _tuple_hook(conv),
    )
    conv.register_structure_hook(frozenset, lambda v, _: frozenset(v))
    _register_events(conv)
    return conv


# --- error paths ---------------------------------------------------------------------------------


MAX_PROBLEMS: Final = 100
"""The most invalid items reported for one list (and unknown fields for one object).

Every problem costs an exception, a message and a line of output: a case file of a million empty
events took gigabytes of memory to list them all. The first ones are what a person can act on.
"""


class _NotChecked(Exception):
    """The rest of a list was not structured, after :data:`MAX_PROBLEMS` invalid items."""


def _problems(exc: BaseException, path: str) -> list[Problem]:
    """Flatten cattrs' exception groups into problems with JSON paths."""
    if isinstance(exc, ClassValidationError):
        out: list[Problem] = []
        with_notes, without_notes = exc.group_exceptions()
        for inner, note in with_notes:
            out += _problems(inner, _join(path, note.name))
        for inner in without_notes:
            out += _problems(inner, path)
        return out
    if isinstance(exc, IterableValidationError):
        out = []
        for inner in exc.exceptions:
            if isinstance(inner, _NotChecked):
                out.append(Problem(path, str(inner)))
                continue
            index = next(
                (
                    n.split(" ", 1)[1]
                    for n in getattr(inner, "__notes__", [])
                    if isinstance(n, str) and n.startswith("@index ")
                ),
                None,
            )
            if index is None:
                index_note = next((n for n in getattr(inner, "__notes__", []) if hasattr(n, "index")), None)
                index = str(index_note.index) if index_note is not None else "?"
            out += _problems(inner, f"{path}[{index}]")
        return out
    if isinstance(exc, ForbiddenExtraKeysError):
        return [_unknown_fields(path, len(exc.extra_fields))]
    if isinstance(exc, ValidationError):
        return [Problem(_join(path, p.path), p.message) for p in exc.problems]
    if isinstance(exc, KeyError):
        return [Problem(path, "required field missing")]
    if isinstance(exc, ValueError | TypeError):
        message = str(exc)
        if "missing" in message and "required" in message and "argument" in message:
            names = re.findall(r"'(\w+)'", message)
            return [Problem(_join(path, n), "required field missing") for n in names] or [
                Problem(path, "required field missing")
            ]
        if isinstance(exc, _FormatProblem):
            return [Problem(path, message)]
        # Another library's message may quote the value: describe it instead.
        return [Problem(path, _describe(exc))]
    return [Problem(path, f"cannot be read ({type(exc).__name__})")]


def _describe(exc: BaseException) -> str:
    """What kind of value was wrong, from an attrs validator's exception, without the value."""
    args = exc.args
    if isinstance(exc, TypeError) and len(args) == 4 and isinstance(args[2], type | tuple):
        kinds = args[2] if isinstance(args[2], tuple) else (args[2],)
        return "expected " + " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)
    return "is not a valid value here"


_KIND_NAMES: dict[type, str] = {str: "text", bool: "true or false", int: "an integer", float: "a number"}


def _unknown_fields(path: str, count: int) -> Problem:
    what = "a field" if count == 1 else f"{count} fields"
    return Problem(path, f"has {what} that the case format does not have (names not repeated)")


def _join(path: str, name: str) -> str:
    if not name:
        return path
    return f"{path}.{name}" if path else name


# --- public API ----------------------------------------------------------------------------------


def case_to_dict(case: Case) -> dict[str, Any]:
    """The case as plain JSON-ready data."""
    conv = converter()
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "case_id": case.case_id,
        "events": [conv.unstructure(e) for e in case.events],
    }


def case_from_dict(data: Any) -> Case:
    """Read a case from plain data; raises :class:`CaseFormatError` listing every problem."""
    if not isinstance(data, Mapping):
        raise MalformedInputError([Problem("", f"expected a case object, got {_json_kind(data)}")])
    if data.get("format") != FORMAT_NAME:
        raise MalformedInputError(
            [Problem("format", f"not a ketenzorg case document (expected {FORMAT_NAME!r})")]
        )
    problems: list[Problem] = []
    if data.get("version") != FORMAT_VERSION:
        problems.append(Problem("version", f"expected {FORMAT_VERSION}"))
    case_id = data.get("case_id")
    if not isinstance(case_id, str) or not case_id.strip():
        problems.append(Problem("case_id", "expected a non-empty text"))
    extra = set(data) - {"format", "version", "case_id", "events"}
    if extra:
        problems.append(_unknown_fields("", len(extra)))
    raw_events = data.get("events")
    events: tuple[Event, ...] = ()
    if not isinstance(raw_events, list):
        problems.append(Problem("events", "expected a list of events"))
    else:
        try:
            events = converter().structure(raw_events, tuple[Event, ...])
        except Exception as exc:  # every structuring failure becomes a problem with a path
            problems += _problems(exc, "events")
    if problems:
        raise CaseFormatError(problems)
    try:
        return Case(str(case_id), events)
    except InvalidEventError as error:
        raise CaseFormatError(error.problems) from None


def structure(data: Any, cls: type[_T]) -> _T:
    """Read one object of the case format (an event without its ``type``, a party, a location)
    from plain data; raises :class:`CaseFormatError` listing every problem with its path."""
    try:
        result: _T = converter().structure(data, cls)
    except Exception as exc:  # every structuring failure becomes a problem with a path
        raise CaseFormatError(_problems(exc, "")) from None
    return result


def dumps(case: Case) -> bytes:
    """The case as JSON bytes (UTF-8, indented, keys in a stable order)."""
    return orjson.dumps(case_to_dict(case), option=orjson.OPT_INDENT_2) + b"\n"


CASE_LIMITS: Final = strictjson.Limits(
    max_bytes=MAX_DOCUMENT_BYTES,
    max_containers=2 * strictjson.MAX_CONTAINERS,
    max_values=2 * strictjson.MAX_VALUES,
)
"""The JSON budgets of a case document: those of :mod:`ketenzorg.strictjson`, with the node budgets
scaled to this format's byte limit (twice the interop one), so that the worst document accepted
costs memory in the same proportion. A case event takes about 190 bytes and 15 values."""


def loads(data: bytes | str) -> Case:
    """Read a case from JSON; raises :class:`CaseFormatError` for bad JSON or a bad case.

    Strict JSON (:mod:`ketenzorg.strictjson`, the rules every outside document is read by): a key
    given twice in one object (a silently dropped duplicate could hide a changed score), NaN or
    Infinity, an unpaired surrogate escape, an integer beyond 64 bits, nesting deeper than 64, or
    more containers or values than :data:`CASE_LIMITS` allow is refused, with its line and column.
    A document shown by cheap evidence to keep these rules is parsed by orjson (:func:`_fast_loads`);
    the result is the same either way.
    """
    case = _fast_loads(data)
    if case is not None:
        return case
    return case_from_dict(strictjson.loads(data, limits=CASE_LIMITS))


_MINUS_ZERO: Final = re.compile(rb"-0[,\]}\s]")
"""``-0`` as a number: the strict parse reads it as a decimal (refused where an integer is due),
orjson as the integer 0. (A string may hold the same text; it then takes the careful path.)"""
_ESCAPE_U: Final = re.compile(rb"\\u")


def _fast_loads(data: bytes | str) -> Case | None:
    """The case read through orjson, when that gives what :func:`loads` gives; else ``None``, and
    :func:`loads` reads the document the careful way (which also words every refusal).

    The parse by :mod:`ketenzorg.strictjson` costs about six times orjson's, most of it in the
    duplicate-key check, which needs a call per object. Here each of its rules holds on evidence
    that costs a count over the bytes; a document that is unusual in any way takes the careful path:

    - size and node budgets: counted as :mod:`ketenzorg.strictjson` does before it parses;
    - UTF-8 without a byte order mark or NUL, no NaN or Infinity, nesting orjson can parse: orjson
      refuses the rest; any ``\\u`` escape (a surrogate, or an escaped ``:``) takes the careful path;
    - no duplicate key: orjson keeps the last value of a key given twice, and so drops a member.
      Without ``\\u`` escapes every ``:`` of the text separates a member or stands in a string,
      and orjson's own output of what it parsed holds the same strings: the two counts of ``:`` are
      equal exactly when no member was dropped;
    - numbers: an integer beyond 53 bits (orjson's strict-integer output refuses it) and a ``-0``
      take the careful path. A float is accepted in one kind of place (a degree of fit), and there
      only when the careful parse would keep it too (:func:`_floats_as_careful`); every other place
      refuses a float either way;
    - nesting deeper than the limit: every value passes a typed hook of the case format, whose
      classes nest a few levels only.
    """
    if isinstance(data, str):
        try:
            raw = data.encode("utf-8")
        except UnicodeEncodeError:
            return None
    else:
        raw = data
    limits = CASE_LIMITS
    if len(raw) > limits.max_bytes or _ESCAPE_U.search(raw) or _MINUS_ZERO.search(raw):
        return None
    colons = raw.count(b":")
    if len(raw) > min(limits.max_containers, limits.max_values):  # else within them: a node is a byte
        containers = raw.count(b"[") + raw.count(b"{")
        if containers > limits.max_containers or containers + raw.count(b",") + colons > limits.max_values:
            return None
    try:
        tree = orjson.loads(raw)
        if orjson.dumps(tree, option=orjson.OPT_STRICT_INTEGER).count(b":") != colons:
            return None
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return None
    floats: list[float] = []
    token = _FLOATS_READ.set(floats)
    try:
        case = case_from_dict(tree)
    except Exception:  # every refusal is worded by the careful path
        return None
    finally:
        _FLOATS_READ.reset(token)
    if floats and not _floats_as_careful(floats, raw):
        return None
    return case


_DIGITS_AND_POINTS: Final = bytes(48 if c in b"0123456789." else 32 for c in range(256))
"""A table for ``bytes.translate``: a digit or point becomes ``0``, any other byte a space."""


def _floats_as_careful(floats: list[float], raw: bytes) -> bool:
    """Whether the careful parse keeps these floats too (orjson's float and the careful parse's
    decimal turned float are both the nearest float to the text). It refuses a number of more than
    :data:`~ketenzorg.strictjson.MAX_DIGITS` digits or with a decimal exponent beyond 300: the
    first has a run of more than that many digits and points in the text, the second is zero or
    beyond 1e250 either way (its digits move the value by at most 40 powers of ten)."""
    if any(f == 0.0 or not 1e-250 < abs(f) < 1e250 for f in floats):
        return False
    return b"0" * (strictjson.MAX_DIGITS + 1) not in raw.translate(_DIGITS_AND_POINTS)
