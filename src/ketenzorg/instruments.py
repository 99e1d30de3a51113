"""Assessment instruments: declared items, validated responses and the result the engine uses.

An instrument declares its items (question in Dutch and English, answer type, required or not,
allowed values) so that a vendor can render the form generically. Responses are validated against
the declaration, one problem per item. Applying an instrument records an
:class:`~ketenzorg.events.InstrumentApplied` event with the answers, the result and its provenance.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import attrs

from ketenzorg.domain import (
    RiskFactor,
    Text,
    is_optional_text,
    is_text,
    non_empty,
    optional_text,
    texts_of,
    to_optional_text,
    to_text,
    to_texts,
    tuple_of,
    unique_ids,
)
from ketenzorg.errors import Problem, ValidationError

__all__ = [
    "AdvisedSetting",
    "Answer",
    "AnswerType",
    "Classification",
    "Instrument",
    "InstrumentData",
    "InstrumentDataError",
    "InstrumentResult",
    "InstrumentSpec",
    "Item",
    "ResponseError",
    "SafetyCode",
    "Urgency",
    "load_data",
    "spec_from_data",
    "validate_answers",
]

Answer = bool | int | str | tuple[str, ...]
"""An answer value: yes/no, a whole number, a code or text, or several codes."""


class ResponseError(ValidationError):
    """Answers that do not fit the instrument: one problem per item."""


class InstrumentDataError(ValidationError):
    """An instrument's data file that cannot be read or describes an impossible instrument.

    Names the file (``source``) and the place in it (``items[3].required``).
    """


class AnswerType(enum.Enum):
    BOOLEAN = "boolean"
    INTEGER = "integer"
    CHOICE = "choice"
    """One code from ``allowed``."""
    MULTI_CHOICE = "multi_choice"
    """Zero or more codes from ``allowed``."""
    TEXT = "text"


class SafetyCode(enum.Enum):
    """The screening outcome used in Dutch shelters (veiligheidscode)."""

    GREEN = "green"
    """Safety restorable with simple measures: ambulant care, local team."""
    ORANGE = "orange"
    """Help needed to break the situation: specialist ambulant care or an open shelter."""
    RED = "red"
    """Extreme threat: flee, police involved; secret or closed shelter, safe house."""


class Urgency(enum.Enum):
    ROUTINE = "routine"
    SOON = "soon"
    """Within days."""
    IMMEDIATE = "immediate"
    """Act today: immediate protection."""


class AdvisedSetting(enum.Enum):
    """The care setting an instrument advises, from light to most protective."""

    AMBULANT = "ambulant"
    """Ambulant care, e.g. by the local team."""
    SPECIALIST_AMBULANT = "specialist_ambulant"
    OPEN_SHELTER = "open_shelter"
    """An open shelter such as an Oranje Huis ("niet geheim, wel veilig")."""
    SECRET_SHELTER = "secret_shelter"
    """A secret or closed shelter, or a safe house."""

    @property
    def level(self) -> int:
        return list(AdvisedSetting).index(self)


LANGUAGES_REQUIRED = ("nl", "en")
"""The languages every text of an instrument has (others may be added)."""


def _texts(_: object, attribute: attrs.Attribute[Any], value: Mapping[str, str]) -> None:
    problems = _text_problems(value, attribute.name)
    if problems:
        raise ValidationError(problems)


def _text_problems(value: Any, path: str) -> list[Problem]:
    if not isinstance(value, Mapping) or not set(LANGUAGES_REQUIRED) <= set(value):
        return [Problem(path, "needs a text in 'nl' and in 'en'")]
    return [
        Problem(f"{path}.{lang}", "must not be empty")
        for lang, text in value.items()
        if not isinstance(text, str) or not text.strip()
    ]


def _boolean(_: object, attribute: attrs.Attribute[Any], value: bool) -> None:
    if not isinstance(value, bool):
        raise ValidationError([Problem(attribute.name, "expected true or false")])


def _optional_whole_number(_: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValidationError([Problem(attribute.name, "expected a whole number")])


def _canonical_base(_: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    """An absolute http(s) URL without a trailing slash, query or fragment (or ``None``)."""
    if value is None:
        return
    if not isinstance(value, str):
        raise ValidationError([Problem(attribute.name, f"expected text, got {type(value).__name__}")])
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        usable = (
            parts.scheme in ("http", "https")
            and bool(parts.hostname)
            and parts.username is None
            and (parts.port is None or parts.port > 0)
            and not parts.query
            and not parts.fragment
            and not any(c in value for c in "?#|")
            and value.isascii()
            and value.isprintable()
            and not any(c.isspace() for c in value)
        )
    except ValueError:  # a port that is not a number, a broken IPv6 address
        usable = False
    if not usable:
        raise ValidationError(
            [Problem(attribute.name, "is not an absolute http(s) URL without query or fragment")]
        )
    if value.endswith("/"):
        raise ValidationError([Problem(attribute.name, "must not end with a slash")])


@attrs.frozen(kw_only=True)
class Item:
    """One question of an instrument."""

    id: str = attrs.field(validator=non_empty)
    text: Mapping[str, str] = attrs.field(validator=_texts)
    """The question, by language ("nl", "en")."""
    answer_type: AnswerType
    required: bool = attrs.field(default=True, validator=_boolean)
    allowed: tuple[str, ...] = attrs.field(default=(), validator=tuple_of(str))
    """Codes for choice items."""
    minimum: int | None = attrs.field(default=None, validator=_optional_whole_number)
    maximum: int | None = attrs.field(default=None, validator=_optional_whole_number)
    section: str | None = attrs.field(default=None, validator=optional_text)
    """The part of the instrument the item belongs to, if it has parts."""

    def __attrs_post_init__(self) -> None:
        choice = self.answer_type in (AnswerType.CHOICE, AnswerType.MULTI_CHOICE)
        if choice and not self.allowed:
            raise ValidationError([Problem("allowed", "a choice item needs codes")])
        if not choice and self.allowed:
            raise ValidationError([Problem("allowed", "only choice items have codes")])
        seen: set[str] = set()
        for index, code in enumerate(self.allowed):
            if not code.strip():
                raise ValidationError([Problem(f"allowed[{index}]", "must not be empty")])
            if code in seen:
                raise ValidationError([Problem(f"allowed[{index}]", "this code is given twice")])
            seen.add(code)
        if self.section is not None and not self.section.strip():
            raise ValidationError([Problem("section", "must not be empty")])
        ranged = [name for name in ("minimum", "maximum") if getattr(self, name) is not None]
        if ranged and self.answer_type is not AnswerType.INTEGER:
            raise ValidationError([Problem(ranged[0], "only integer items have a minimum or maximum")])
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValidationError([Problem("minimum", "is above the maximum: no answer could fit")])

    def check(self, value: Any) -> str | None:
        """Why ``value`` is not a valid answer to this item, or ``None``."""
        match self.answer_type:
            case AnswerType.BOOLEAN:
                if not isinstance(value, bool):
                    return "expected true or false"
            case AnswerType.INTEGER:
                if isinstance(value, bool) or not isinstance(value, int):
                    return "expected a whole number"
                if not -(2**31) <= value < 2**31:  # what a FHIR integer (and an export) can carry
                    return "expected a whole number of at most 32 bits"
                if self.minimum is not None and value < self.minimum:
                    return f"{value} is below {self.minimum}"
                if self.maximum is not None and value > self.maximum:
                    return f"{value} is above {self.maximum}"
            case AnswerType.CHOICE:
                if not isinstance(value, str) or value not in self.allowed:
                    return f"expected one of {', '.join(self.allowed)}"
            case AnswerType.MULTI_CHOICE:
                if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                    return "expected a list of codes"
                if any(v not in self.allowed for v in value):
                    return f"a code that is not allowed here; allowed: {', '.join(self.allowed)}"
                if len(set(value)) != len(value):
                    return "a code is given twice"
            case AnswerType.TEXT:
                if not isinstance(value, str):
                    return "expected text"
        return None


@attrs.frozen(kw_only=True)
class InstrumentSpec:
    """What an instrument is and asks: id, version, names and items."""

    id: str = attrs.field(validator=non_empty)
    version: str = attrs.field(validator=non_empty)
    name: Mapping[str, str] = attrs.field(validator=_texts)
    description: Mapping[str, str] = attrs.field(validator=_texts)
    items: tuple[Item, ...] = attrs.field(validator=[tuple_of(Item), unique_ids])
    canonical: str | None = attrs.field(default=None, validator=_canonical_base)
    """The canonical URL base the instrument's FHIR definitions live under (its Questionnaire
    ``<canonical>/Questionnaire/<id>``, its code systems ``<canonical>/CodeSystem/...``): the
    publishing organisation's own, e.g. ``https://fhir.example.org``, never another's. An absolute
    http(s) URL without a trailing slash. ``None`` only for a spec that is never registered: an
    engine refuses to register an instrument without it, so two organisations' instruments with
    the same id never share a URL."""

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)


@attrs.frozen(kw_only=True)
class Classification:
    """A classification an instrument found (e.g. a family profile) and how well it fits (0..1)."""

    code: str = attrs.field(validator=non_empty)
    display: Text = attrs.field(converter=to_text, validator=is_text)
    """Its name, in Dutch and English."""
    fit: float = attrs.field(default=1.0)
    emphasis: Text | None = attrs.field(default=None, converter=to_optional_text, validator=is_optional_text)
    """The care-and-protection emphasis that goes with it, in Dutch and English."""

    @fit.validator
    def _check_fit(self, attribute: attrs.Attribute[Any], value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ValidationError([Problem(attribute.name, "a degree of fit is a number in 0..1")])


@attrs.frozen(kw_only=True)
class InstrumentResult:
    """What an instrument concludes. Every part is optional; the engine uses what is there."""

    safety_code: SafetyCode | None = None
    classifications: tuple[Classification, ...] = attrs.field(default=(), validator=tuple_of(Classification))
    risk_factors: tuple[RiskFactor, ...] = attrs.field(
        default=(), validator=[tuple_of(RiskFactor), unique_ids]
    )
    advised_setting: AdvisedSetting | None = None
    urgency: Urgency | None = None
    advice: tuple[Text, ...] = attrs.field(default=(), converter=to_texts, validator=texts_of)
    """Concrete advice, e.g. "a temporary restraining order (tijdelijk huisverbod)", each in Dutch and
    English (``{"nl": ..., "en": ...}`` or a :class:`~ketenzorg.domain.Text`)."""
    explanation: tuple[Text, ...] = attrs.field(default=(), converter=to_texts, validator=texts_of)
    """The reasons for the result, one line each, in Dutch and English."""

    def single_language_texts(self) -> list[str]:
        """Where this result has a text in one language only (``advice[0]``, ``risk_factors[1].text``):
        what a plugin written before results had two languages returns."""
        found = [
            f"classifications[{i}].display"
            for i, c in enumerate(self.classifications)
            if not c.display.bilingual
        ]
        found += [
            f"classifications[{i}].emphasis"
            for i, c in enumerate(self.classifications)
            if c.emphasis is not None and not c.emphasis.bilingual
        ]
        found += [f"risk_factors[{i}].text" for i, r in enumerate(self.risk_factors) if not r.text.bilingual]
        found += [f"advice[{i}]" for i, t in enumerate(self.advice) if not t.bilingual]
        found += [f"explanation[{i}]" for i, t in enumerate(self.explanation) if not t.bilingual]
        return found


@runtime_checkable
class Instrument(Protocol):
    """What a plugin provides: the declaration and the scoring.

    ``assess`` receives answers already validated against ``spec``, as a read-only mapping (a copy:
    the answers recorded are never the ones the instrument could reach), and must be a pure
    function of them (no I/O): the same answers always give the same result.
    """

    @property
    def spec(self) -> InstrumentSpec: ...

    def assess(self, answers: Mapping[str, Answer]) -> InstrumentResult: ...


class InstrumentData(dict[str, Any]):
    """The contents of an instrument's data file, remembering which file it came from."""

    def __init__(self, data: Mapping[str, Any], source: str) -> None:
        super().__init__(data)
        self.source = source


SPEC_KEYS = ("id", "version", "name", "description", "items")
OPTIONAL_SPEC_KEYS = ("canonical",)
"""The keys of a data file that describe the instrument; any other top-level key is the
instrument's own data (weights, thresholds), which the instrument reads itself."""


def _item_keys() -> frozenset[str]:
    return frozenset(field.name for field in attrs.fields(Item))


def spec_from_data(
    data: Mapping[str, Any], *, source: str | None = None, canonical: str | None = None
) -> InstrumentSpec:
    """Build a spec from plain data (an instrument's JSON data file), refusing bad data with a path.

    The format is documented in docs/plugins.md and described by ``schemas/instrument.schema.json``.
    An item with a key it does not have (a typo such as ``requird``), an impossible range, a choice
    item without codes or with a code twice, or a text without Dutch or English is refused with an
    :class:`InstrumentDataError` naming every problem by its place: ``items[3].requird``. The file
    is named from ``source``, else from the data when :func:`load_data` read it. The canonical base
    is the ``canonical`` argument, else the data's ``canonical`` key.
    """
    source = source if source is not None else getattr(data, "source", None)
    try:
        return _spec_from_data(data, canonical)
    except ValidationError as error:
        raise InstrumentDataError(error.problems, source=source) from None


def _spec_from_data(data: Any, canonical: str | None) -> InstrumentSpec:
    if not isinstance(data, Mapping):
        raise ValidationError([Problem("", "an instrument's data is a JSON object")])
    problems = [Problem(key, "missing in instrument data") for key in SPEC_KEYS if key not in data]
    for key in ("id", "version"):
        if key in data and (not isinstance(data[key], str) or not data[key].strip()):
            problems.append(Problem(key, "must be a text that is not empty"))
    for key in ("name", "description"):
        if key in data:
            problems += _text_problems(data[key], key)
    raw_items = data.get("items", [])
    if not isinstance(raw_items, list) or ("items" in data and not raw_items):
        problems.append(Problem("items", "must be a list of at least one item"))
        raw_items = []
    items: list[Item] = []
    for index, raw in enumerate(raw_items):
        item, found = _item_from_data(raw, f"items[{index}]")
        problems += found
        if item is not None:
            items.append(item)
    if problems:
        raise ValidationError(problems)
    return InstrumentSpec(
        id=data["id"],
        version=data["version"],
        name=data["name"],
        description=data["description"],
        items=tuple(items),
        canonical=canonical if canonical is not None else data.get("canonical"),
    )


def _item_from_data(raw: Any, path: str) -> tuple[Item | None, list[Problem]]:
    if not isinstance(raw, Mapping):
        return None, [Problem(path, "an item is a JSON object")]
    known = _item_keys()
    problems: list[Problem] = []
    for key in raw:
        if key not in known:
            import difflib  # only for a file with a fault

            close = difflib.get_close_matches(str(key), sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(Problem(f"{path}.{key}", f"not a key of an item{hint}"))
    problems += [
        Problem(f"{path}.{key}", "missing in instrument data")
        for key in ("id", "text", "answer_type")
        if key not in raw
    ]
    if "text" in raw:
        problems += _text_problems(raw["text"], f"{path}.text")
    answer_type = None
    if "answer_type" in raw:
        try:
            answer_type = AnswerType(raw["answer_type"])
        except ValueError:
            allowed = ", ".join(t.value for t in AnswerType)
            problems.append(Problem(f"{path}.answer_type", f"not one of {allowed}"))
    allowed_codes = raw.get("allowed", [])
    if not isinstance(allowed_codes, list):
        problems.append(Problem(f"{path}.allowed", "must be a list of codes"))
    if problems or answer_type is None:
        return None, problems
    try:
        item = Item(
            id=raw["id"],
            text=raw["text"],
            answer_type=answer_type,
            required=raw.get("required", True),
            allowed=tuple(allowed_codes),
            minimum=raw.get("minimum"),
            maximum=raw.get("maximum"),
            section=raw.get("section"),
        )
    except ValidationError as error:
        return None, [Problem(f"{path}.{p.path}", p.message) for p in error.problems]
    return item, []


def load_data(package: str, name: str) -> InstrumentData:
    """Read a JSON data file shipped inside ``package`` (item sets and weights are data).

    The result remembers the file, so that :func:`spec_from_data` names it in its errors. A file
    that is missing or not a JSON object is an :class:`InstrumentDataError` naming it.
    """
    import importlib
    import os

    import orjson

    source = f"{package}/{name}"
    try:
        spec = importlib.import_module(package).__spec__
        folders = list(spec.submodule_search_locations or ()) if spec is not None else []
        if spec is not None and spec.has_location and len(folders) == 1 and os.path.isdir(folders[0]):
            # a package in a folder, as installed: read the file there (importlib.resources costs
            # several milliseconds of every command's start-up to import, for the same bytes)
            with open(os.path.join(folders[0], *name.split("/")), "rb") as file:
                raw = file.read()
        else:  # a zip file, a namespace package: where importlib.resources knows how
            import importlib.resources

            raw = importlib.resources.files(package).joinpath(name).read_bytes()
    except (OSError, ModuleNotFoundError) as error:
        what = (
            "no such file in the package"
            if isinstance(error, FileNotFoundError)
            else (f"cannot be read ({type(error).__name__})")
        )
        raise InstrumentDataError([Problem("", what)], source=source) from None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise InstrumentDataError([Problem(where, "not valid JSON")], source=source) from None
    if not isinstance(data, dict):
        raise InstrumentDataError([Problem("", "an instrument's data is a JSON object")], source=source)
    return InstrumentData(data, source)


def validate_answers(spec: InstrumentSpec, answers: Any) -> dict[str, Answer]:
    """Check ``answers`` against ``spec``; return them normalised (lists become tuples).

    Raises :class:`ResponseError` with one problem per item: missing required item, unknown item,
    wrong type or value.
    """
    if not isinstance(answers, Mapping):
        raise ResponseError([Problem("", "answers are an object of item id to answer")])
    problems: list[Problem] = []
    known = {item.id: item for item in spec.items}
    unknown = sum(1 for key in answers if key not in known)
    if unknown:  # the names sent are not repeated: a key may hold anything
        what = "an item" if unknown == 1 else f"{unknown} items"
        problems.append(Problem("", f"{what} that {spec.id} does not have (names not repeated)"))
    normalised: dict[str, Answer] = {}
    for item in spec.items:
        value = answers.get(item.id)
        if value is None or (
            item.answer_type is AnswerType.TEXT and isinstance(value, str) and not value.strip()
        ):  # no answer; an empty text is no answer either (it is never recorded or exported)
            if item.required:
                problems.append(Problem(item.id, "required item has no answer"))
            continue
        reason = item.check(value)
        if reason is not None:
            problems.append(Problem(item.id, reason))
        else:
            normalised[item.id] = tuple(value) if isinstance(value, list | tuple) else value
    if problems:
        raise ResponseError(problems)
    return normalised
