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

from ketenzorg.domain import RiskFactor, any_text, non_empty, optional_text, tuple_of, unique_ids
from ketenzorg.errors import Problem, ValidationError

__all__ = [
    "AdvisedSetting",
    "Answer",
    "AnswerType",
    "Classification",
    "Instrument",
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


def _texts(_: object, attribute: attrs.Attribute[Any], value: Mapping[str, str]) -> None:
    if not isinstance(value, Mapping) or not {"nl", "en"} <= set(value):
        raise ValidationError([Problem(attribute.name, "needs a text in 'nl' and in 'en'")])
    for lang, text in value.items():
        if not isinstance(text, str) or not text.strip():
            raise ValidationError([Problem(f"{attribute.name}.{lang}", "must not be empty")])


@attrs.frozen(kw_only=True)
class Item:
    """One question of an instrument."""

    id: str = attrs.field(validator=non_empty)
    text: Mapping[str, str] = attrs.field(validator=_texts)
    """The question, by language ("nl", "en")."""
    answer_type: AnswerType
    required: bool = True
    allowed: tuple[str, ...] = attrs.field(default=(), validator=tuple_of(str))
    """Codes for choice items."""
    minimum: int | None = None
    maximum: int | None = None
    section: str | None = attrs.field(default=None, validator=optional_text)
    """The part of the instrument the item belongs to, if it has parts."""

    def __attrs_post_init__(self) -> None:
        choice = self.answer_type in (AnswerType.CHOICE, AnswerType.MULTI_CHOICE)
        if choice and not self.allowed:
            raise ValidationError([Problem("allowed", "a choice item needs codes")])
        if not choice and self.allowed:
            raise ValidationError([Problem("allowed", "only choice items have codes")])

    def check(self, value: Any) -> str | None:
        """Why ``value`` is not a valid answer to this item, or ``None``."""
        match self.answer_type:
            case AnswerType.BOOLEAN:
                if not isinstance(value, bool):
                    return "expected true or false"
            case AnswerType.INTEGER:
                if isinstance(value, bool) or not isinstance(value, int):
                    return "expected a whole number"
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

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)


@attrs.frozen(kw_only=True)
class Classification:
    """A classification an instrument found (e.g. a family profile) and how well it fits (0..1)."""

    code: str = attrs.field(validator=non_empty)
    display: str = attrs.field(validator=non_empty)
    fit: float = attrs.field(default=1.0)
    emphasis: str = attrs.field(default="", validator=any_text)
    """The care-and-protection emphasis that goes with it."""

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
    advice: tuple[str, ...] = attrs.field(default=(), validator=tuple_of(str))
    """Concrete advice, e.g. "a temporary restraining order (tijdelijk huisverbod)"."""
    explanation: tuple[str, ...] = attrs.field(default=(), validator=tuple_of(str))
    """The reasons for the result, one line each."""


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


def spec_from_data(data: Mapping[str, Any]) -> InstrumentSpec:
    """Build a spec from plain data (an instrument's JSON data file), refusing bad data with a path."""
    items: list[Item] = []
    problems: list[Problem] = []
    for index, raw in enumerate(data.get("items", ())):
        try:
            items.append(
                Item(
                    id=raw["id"],
                    text=raw["text"],
                    answer_type=AnswerType(raw["answer_type"]),
                    required=raw.get("required", True),
                    allowed=tuple(raw.get("allowed", ())),
                    minimum=raw.get("minimum"),
                    maximum=raw.get("maximum"),
                    section=raw.get("section"),
                )
            )
        except KeyError as missing:
            problems.append(Problem(f"items[{index}].{missing.args[0]}", "missing in instrument data"))
        except ValidationError as error:
            problems += [Problem(f"items[{index}].{p.path}", p.message) for p in error.problems]
        except ValueError:
            allowed = ", ".join(t.value for t in AnswerType)
            problems.append(Problem(f"items[{index}].answer_type", f"not one of {allowed}"))
    for key in ("id", "version", "name", "description", "items"):
        if key not in data:
            problems.append(Problem(key, "missing in instrument data"))
    if problems:
        raise ValidationError(problems)
    return InstrumentSpec(
        id=data["id"],
        version=data["version"],
        name=data["name"],
        description=data["description"],
        items=tuple(items),
    )


def load_data(package: str, name: str) -> dict[str, Any]:
    """Read a JSON data file shipped inside ``package`` (item sets and weights are data)."""
    import importlib
    import os

    import orjson

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
    data: dict[str, Any] = orjson.loads(raw)
    return data


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
