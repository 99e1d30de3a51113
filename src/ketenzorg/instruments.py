"""Assessment instruments: declared items, validated responses and the result the engine uses.

An instrument declares its items (question in Dutch and English, answer type, required or not,
allowed values) so that a vendor can render the form generically. Responses are validated against
the declaration, one problem per item. Applying an instrument records an
:class:`~ketenzorg.events.InstrumentApplied` event with the answers, the result and its provenance.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Final, Protocol, runtime_checkable

import attrs

from ketenzorg.domain import (
    RiskFactor,
    Text,
    bilingual,
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
    "Action",
    "AdvisedSetting",
    "Answer",
    "AnswerType",
    "Classification",
    "Condition",
    "Instrument",
    "InstrumentData",
    "InstrumentDataError",
    "InstrumentResult",
    "InstrumentSpec",
    "Item",
    "Missing",
    "ResponseError",
    "ResultLevel",
    "SafetyCode",
    "Urgency",
    "load_data",
    "on_scale",
    "spec_from_data",
    "validate_answers",
]


class Missing(enum.Enum):
    """Why an item has no answer of its type, where the item allows it (its ``allow_unknown``,
    ``allow_not_asked``). The values are FHIR's data-absent-reason codes.

    ``Missing.UNKNOWN`` is not a text: an instrument tells it from every answer of the item's own
    type (``answers["weapon"] is Missing.UNKNOWN``).
    """

    UNKNOWN = "unknown"
    """Asked, and the answer is not known ("weet niet")."""
    NOT_ASKED = "not-asked"
    """Not asked (e.g. the person could not be asked safely)."""


Answer = bool | int | str | tuple[str, ...] | Missing
"""An answer value: yes/no, a whole number, a code or text, several codes, or a
:class:`Missing` reason where the item allows one."""


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


ConditionValue = bool | int | str
"""A value a condition compares an answer with: yes/no, a whole number, a code or a text."""


def _same(answer: Any, value: ConditionValue) -> bool:
    """Equal and of the same kind: ``True`` is not the number 1."""
    return type(answer) is type(value) and bool(answer == value)


def _condition_values(_: object, attribute: attrs.Attribute[Any], value: tuple[Any, ...]) -> None:
    if not isinstance(value, tuple) or not all(isinstance(v, bool | int | str) for v in value):
        raise ValidationError(
            [Problem(attribute.name, "expected a list of answers (true/false, numbers, codes)")]
        )


def _condition_value(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, bool | int | str):
        raise ValidationError([Problem(attribute.name, "expected true/false, a whole number or a code")])


@attrs.frozen(kw_only=True)
class Condition:
    """When an item is required: a test on the answer to another item of the instrument.

    Exactly one test: ``equals`` (the answer is this value; for several codes: this code is one
    of them), ``one_of`` (the answer is one of these; for several codes: one of them is) or
    ``is_true`` (a yes/no item answered yes). Declarative data, no code: an item not answered,
    or answered with a :class:`Missing` reason, meets no condition.
    """

    item: str = attrs.field(validator=non_empty)
    """The id of the item whose answer is tested."""
    equals: ConditionValue | None = attrs.field(default=None, validator=_condition_value)
    one_of: tuple[ConditionValue, ...] = attrs.field(default=(), validator=_condition_values)
    is_true: bool = attrs.field(default=False, validator=_boolean)

    def __attrs_post_init__(self) -> None:
        given = (self.equals is not None) + bool(self.one_of) + self.is_true
        if given != 1:
            raise ValidationError([Problem("", "needs exactly one of equals, one_of, is_true")])

    def values(self) -> tuple[ConditionValue, ...]:
        """The values the answer is compared with (``True`` for ``is_true``)."""
        if self.is_true:
            return (True,)
        return (self.equals,) if self.equals is not None else self.one_of

    def holds(self, answers: Mapping[str, Any]) -> bool:
        """Whether ``answers`` (item id to answer) meet the condition."""
        answer = answers.get(self.item)
        if answer is None or isinstance(answer, Missing):
            return False
        values = self.values()
        if isinstance(answer, list | tuple):  # several codes: one of them is enough
            return any(_same(code, value) for code in answer for value in values)
        return any(_same(answer, value) for value in values)

    def describe(self) -> str:
        """The condition in words (the instrument's own item id and values only)."""
        if self.is_true:
            return f"{self.item} is answered yes"
        if self.equals is not None:
            return f"{self.item} is {_shown(self.equals)}"
        return f"{self.item} is one of {', '.join(_shown(v) for v in self.one_of)}"


def _shown(value: ConditionValue) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


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
    allow_unknown: bool = attrs.field(default=False, validator=_boolean)
    """Whether :attr:`Missing.UNKNOWN` ("don't know") is an answer to this item."""
    allow_not_asked: bool = attrs.field(default=False, validator=_boolean)
    """Whether :attr:`Missing.NOT_ASKED` is an answer to this item."""
    required_if: Condition | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(Condition))
    )
    """Required when another item's answer meets this condition (the item is not ``required``
    otherwise); checked against the other items when the spec is built."""

    def is_required(self, answers: Mapping[str, Any]) -> bool:
        """Whether the item needs an answer, given the (other) answers."""
        return self.required or (self.required_if is not None and self.required_if.holds(answers))

    def allows(self, reason: Missing) -> bool:
        """Whether the item takes ``reason`` as its answer."""
        return self.allow_unknown if reason is Missing.UNKNOWN else self.allow_not_asked

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
        if self.required_if is not None and self.required:
            raise ValidationError(
                [
                    Problem(
                        "required_if",
                        "an item required on a condition is not always required: required false",
                    )
                ]
            )
        if self.required_if is not None and self.required_if.item == self.id:
            raise ValidationError(
                [Problem("required_if.item", "an item cannot be required on its own answer")]
            )

    def check(self, value: Any) -> str | None:
        """Why ``value`` is not a valid answer to this item, or ``None``.

        A :class:`Missing` reason is an answer only where the item allows it."""
        if isinstance(value, Missing):
            if self.allows(value):
                return None
            return f"{value.value!r} is not an answer this item allows"
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


def _code(_: object, attribute: attrs.Attribute[Any], value: str) -> None:
    """A code: visible text without spaces at either end (a level, an action kind, a conference kind)."""
    non_empty(_, attribute, value)
    if value != value.strip():
        raise ValidationError([Problem(attribute.name, "a code has no spaces at either end")])


def _optional_code(_: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None:
        _code(_, attribute, value)


@attrs.frozen(kw_only=True)
class ResultLevel:
    """One level of an instrument's own result scale (e.g. DASH: standard, medium, high).

    ``urgency`` and ``advised_setting`` say what the level means to the engine: the engine fills
    them into a result at this level that does not set them itself (the instrument's own value
    wins: it may know more, e.g. a professional judgement).
    """

    code: str = attrs.field(validator=_code)
    display: Text = attrs.field(converter=to_text, validator=bilingual)
    """How the level is named, in Dutch and English (a :class:`~ketenzorg.domain.Text` or
    ``{"nl": ..., "en": ...}``)."""
    urgency: Urgency | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(Urgency))
    )
    advised_setting: AdvisedSetting | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(AdvisedSetting))
    )


def _levels(_: object, attribute: attrs.Attribute[Any], value: tuple[ResultLevel, ...]) -> None:
    tuple_of(ResultLevel)(_, attribute, value)
    seen: set[str] = set()
    for index, level in enumerate(value):
        if level.code in seen:
            raise ValidationError([Problem(f"{attribute.name}[{index}].code", "this code is used twice")])
        seen.add(level.code)


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
    levels: tuple[ResultLevel, ...] = attrs.field(default=(), validator=_levels)
    """The instrument's own result scale, from the lowest level to the highest; empty for an
    instrument without one. A result's :attr:`InstrumentResult.level` is one of these codes."""

    def __attrs_post_init__(self) -> None:
        problems = _condition_problems(self.items)
        if problems:
            raise ValidationError(problems)

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def level(self, code: str) -> ResultLevel:
        """The level with ``code``; :class:`KeyError` if the scale has none."""
        for level in self.levels:
            if level.code == code:
                return level
        raise KeyError(code)


def _condition_problems(items: tuple[Item, ...]) -> list[Problem]:
    """What is wrong with the items' conditions: an unknown item, a value the item cannot have,
    ``is_true`` on an item that is no yes/no, or a cycle (paths ``items[3].required_if...``)."""
    known = {item.id: item for item in items}
    problems: list[Problem] = []
    for index, item in enumerate(items):
        condition = item.required_if
        if condition is None:
            continue
        at = f"items[{index}].required_if"
        target = known.get(condition.item)
        if target is None:
            problems.append(Problem(f"{at}.item", "not an item of this instrument"))
            continue
        if condition.is_true and target.answer_type is not AnswerType.BOOLEAN:
            problems.append(Problem(f"{at}.is_true", f"item {target.id} is not a yes/no item"))
            continue
        name = "equals" if condition.equals is not None else "one_of"
        for value in condition.values():
            single = (value,) if target.answer_type is AnswerType.MULTI_CHOICE else value
            if target.check(single) is not None:
                problems.append(Problem(f"{at}.{name}", f"not an answer item {target.id} can have"))
                break
        chain = [item.id]
        current: Item | None = target
        while current is not None and current.required_if is not None and current.id not in chain:
            chain.append(current.id)
            if current.required_if.item == item.id:  # a cycle through this item
                cycle = " -> ".join([*chain, item.id])
                problems.append(Problem(at, f"the conditions form a cycle: {cycle}"))
                break
            current = known.get(current.required_if.item)
    return problems


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
class Action:
    """Something the result asks to be done, which the safety action plan carries as a task.

    ``kind`` is a code such as ``referral``; a referral to a conference names the
    ``conference_kind`` (e.g. ``marac``), which must be a conference kind of the engine.
    """

    kind: str = attrs.field(validator=_code)
    text: Text = attrs.field(converter=to_text, validator=bilingual)
    """What to do, in Dutch and English (a :class:`~ketenzorg.domain.Text` or ``{"nl": ..., "en": ...}``)."""
    conference_kind: str | None = attrs.field(default=None, validator=_optional_code)


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
    level: str | None = attrs.field(default=None, validator=_optional_code)
    """The level on the instrument's own scale (:attr:`InstrumentSpec.levels`), if it has one."""
    actions: tuple[Action, ...] = attrs.field(default=(), validator=tuple_of(Action))
    """What the result asks to be done (a referral to a MARAC, say): each becomes a task of the plan."""

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


def on_scale(spec: InstrumentSpec, result: InstrumentResult) -> InstrumentResult:
    """``result`` checked against the instrument's scale, with its level's meaning filled in.

    A level that is not on the scale is a :class:`ValidationError` at ``level``. The level's
    urgency and advised setting fill the result's own only where it sets none: what the
    instrument concluded itself takes precedence over the scale's default meaning.
    """
    if result.level is None:
        return result
    try:
        level = spec.level(result.level)
    except KeyError:
        codes = ", ".join(level.code for level in spec.levels) or "none"
        raise ValidationError(
            [Problem("level", f"is not a level of instrument {spec.id!r} (its levels: {codes})")]
        ) from None
    return attrs.evolve(
        result,
        urgency=result.urgency if result.urgency is not None else level.urgency,
        advised_setting=result.advised_setting
        if result.advised_setting is not None
        else level.advised_setting,
    )


@runtime_checkable
class Instrument(Protocol):
    """What a plugin provides: the declaration and the scoring.

    ``assess`` receives answers already validated against ``spec``, as a read-only mapping (a copy:
    the answers recorded are never the ones the instrument could reach), and must be a pure
    function of them (no I/O): the same answers always give the same result. An item that allows
    it may be answered with a :class:`Missing` reason (``Missing.UNKNOWN``, ``Missing.NOT_ASKED``)
    instead of a value of its type: test for it (``answers[id] is Missing.UNKNOWN``) before using
    the value. An item that is not required, or required on a condition the answers do not meet,
    may be absent.
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
OPTIONAL_SPEC_KEYS = ("canonical", "levels")
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
    levels, found = _levels_from_data(data.get("levels", []))
    problems += found
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
        levels=levels,
    )


LEVEL_KEYS = ("code", "display", "urgency", "advised_setting")


def _levels_from_data(raw_levels: Any) -> tuple[tuple[ResultLevel, ...], list[Problem]]:
    """The ``levels`` of a data file: codes, displays and what each means to the engine."""
    if not isinstance(raw_levels, list):
        return (), [Problem("levels", "must be a list of levels")]
    levels: list[ResultLevel] = []
    problems: list[Problem] = []
    for index, raw in enumerate(raw_levels):
        path = f"levels[{index}]"
        if not isinstance(raw, Mapping):
            problems.append(Problem(path, "a level is a JSON object"))
            continue
        found = [Problem(f"{path}.{key}", "not a key of a level") for key in raw if key not in LEVEL_KEYS]
        found += [
            Problem(f"{path}.{key}", "missing in instrument data")
            for key in ("code", "display")
            if key not in raw
        ]
        meaning: dict[str, Any] = {}
        for key, kind in (("urgency", Urgency), ("advised_setting", AdvisedSetting)):
            if raw.get(key) is not None:
                try:
                    meaning[key] = kind(raw[key])
                except ValueError:
                    found.append(Problem(f"{path}.{key}", f"not one of {', '.join(m.value for m in kind)}"))
        if "display" in raw:
            found += _text_problems(raw["display"], f"{path}.display")
        if found:
            problems += found
            continue
        try:
            display = {lang: raw["display"][lang] for lang in LANGUAGES_REQUIRED}  # others may be added
            levels.append(ResultLevel(code=raw["code"], display=display, **meaning))
        except ValidationError as error:
            problems += [Problem(f"{path}.{p.path}", p.message) for p in error.problems]
    try:
        _levels(None, attrs.fields(InstrumentSpec).levels, tuple(levels))
    except ValidationError as error:
        problems += error.problems
    return tuple(levels), problems


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
    condition = None
    if "required_if" in raw:
        condition, found = _condition_from_data(raw["required_if"], f"{path}.required_if")
        problems += found
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
            allow_unknown=raw.get("allow_unknown", False),
            allow_not_asked=raw.get("allow_not_asked", False),
            required_if=condition,
        )
    except ValidationError as error:
        return None, [Problem(f"{path}.{p.path}", p.message) for p in error.problems]
    return item, []


_CONDITION_KEYS: Final = ("item", "equals", "one_of", "is_true")


def _condition_from_data(raw: Any, path: str) -> tuple[Condition | None, list[Problem]]:
    if not isinstance(raw, Mapping):
        return None, [Problem(path, "a condition is a JSON object")]
    problems = [
        Problem(f"{path}.{key}", "not a key of a condition") for key in raw if key not in _CONDITION_KEYS
    ]
    if "item" not in raw:
        problems.append(Problem(f"{path}.item", "missing in instrument data"))
    one_of = raw.get("one_of", [])
    if not isinstance(one_of, list) or ("one_of" in raw and not one_of):
        problems.append(Problem(f"{path}.one_of", "must be a list of at least one value"))
    if problems:
        return None, problems
    try:
        condition = Condition(
            item=raw["item"],
            equals=raw.get("equals"),
            one_of=tuple(one_of),
            is_true=raw.get("is_true", False),
        )
    except ValidationError as error:
        return None, [Problem(f"{path}.{p.path}" if p.path else path, p.message) for p in error.problems]
    return condition, []


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

    Raises :class:`ResponseError` with one problem per item: missing required item (or an item
    required on a condition that the other answers meet), unknown item, wrong type or value, or a
    :class:`Missing` reason the item does not allow.
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
    refused: dict[str, str] = {}
    for item in spec.items:
        value = answers.get(item.id)
        if value is None or (
            item.answer_type is AnswerType.TEXT and isinstance(value, str) and not value.strip()
        ):  # no answer; an empty text is no answer either (it is never recorded or exported)
            continue
        reason = item.check(value)
        if reason is not None:
            refused[item.id] = reason
        else:
            normalised[item.id] = tuple(value) if isinstance(value, list | tuple) else value
    for item in spec.items:  # in the items' order; a condition tests the other answers as recorded
        if item.id in refused:
            problems.append(Problem(item.id, refused[item.id]))
        elif item.id in normalised:
            continue
        elif item.required:
            problems.append(Problem(item.id, "required item has no answer"))
        elif item.required_if is not None and item.required_if.holds(normalised):
            problems.append(Problem(item.id, f"required when {item.required_if.describe()}: no answer"))
    if problems:
        raise ResponseError(problems)
    return normalised
