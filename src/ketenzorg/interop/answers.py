"""An instrument's answers as QuestionnaireResponse items, and those items read back checked.

One place for the answers' FHIR form, used by the exporter, the reader, ``validate`` and ``merge``:

- :func:`answer_items` writes the ``item`` array of a QuestionnaireResponse from the answers an
  :class:`~ketenzorg.events.InstrumentApplied` event holds, in the order the event holds them.
- :func:`read_answers` reads such a response back and checks every item against the instrument's
  :class:`~ketenzorg.instruments.InstrumentSpec`; each problem is an :class:`AnswerIssue` with
  its FHIRPath location, ready to become an OperationOutcome issue or a
  :class:`~ketenzorg.errors.Problem`.
- :func:`result_issues` re-runs the installed instrument on the checked answers and reports a
  recorded result that differs from what the instrument gives (a changed safety code).
- :func:`instrument_spec` finds the spec to write with, refusing an instrument that is not
  installed with :class:`UnknownInstrumentError`.

The wire format, per answer type of the item:

=============  ===========================================================================
boolean        ``{"linkId": id, "answer": [{"valueBoolean": b}]}``
integer        ``{"linkId": id, "answer": [{"valueInteger": n}]}``
choice         ``{"linkId": id, "answer": [{"valueCoding": {"code": c}}]}`` (no system)
multi_choice   ``{"linkId": id, "extension": [multiple-codes: true], "answer": [Coding, ...]}``;
               none chosen: ``{"linkId": id, "extension": [no-codes-chosen: true]}``
text           ``{"linkId": id, "answer": [{"valueString": s}]}``; a blank text is no answer
=============  ===========================================================================

A valid answer is what :meth:`~ketenzorg.instruments.Item.check` accepts and
:func:`~ketenzorg.instruments.validate_answers` records (a blank text is no answer): the reader
decides with those two, so the engine and the reader cannot disagree. Messages never repeat what
the input holds (a linkId, a code, a text, a number): items and answers are named by position; only
the instrument's own item ids, bounds and codes are named. Pure functions on JSON-ready values;
importing this module loads neither fhir.resources nor pydantic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs

from ketenzorg.errors import Problem, ValidationError
from ketenzorg.instruments import (
    Answer,
    AnswerType,
    InstrumentResult,
    InstrumentSpec,
    Item,
    ResponseError,
    validate_answers,
)
from ketenzorg.interop.definitions import X_MULTIPLE, X_NO_CODES

if TYPE_CHECKING:
    from ketenzorg.events import InstrumentApplied
    from ketenzorg.pluginhost import RegisteredInstrument

__all__ = [
    "AnswerIssue",
    "Severity",
    "UnknownInstrumentError",
    "answer_items",
    "answer_system",
    "instrument_spec",
    "read_answers",
    "result_issues",
]

Severity = Literal["error", "warning"]

_INT32: Final = (-(2**31), 2**31 - 1)
"""The range of a FHIR ``integer``."""

_VALUE_KEY: Final = {
    AnswerType.BOOLEAN: "valueBoolean",
    AnswerType.INTEGER: "valueInteger",
    AnswerType.CHOICE: "valueCoding",
    AnswerType.MULTI_CHOICE: "valueCoding",
    AnswerType.TEXT: "valueString",
}
_READABLE: Final = frozenset(_VALUE_KEY.values())
_ANSWER_VALUES: Final = frozenset(
    f"value{kind}"
    for kind in (
        "Boolean Decimal Integer Date DateTime Time String Uri Attachment Coding Quantity Reference"
    ).split()
)
"""``QuestionnaireResponse.item.answer.value[x]`` in R4."""


class UnknownInstrumentError(ValidationError):
    """Answers of an instrument that is not installed: how they travel (code or text) is unknown."""


@attrs.frozen
class AnswerIssue:
    """One problem with a response: how bad, where (FHIRPath), what, and its FHIR issue type.

    ``code`` is an OperationOutcome ``issue.code`` (``structure``, ``required``, ``value``,
    ``duplicate``, ``not-supported``, ``business-rule``).
    """

    severity: Severity
    code: str
    expression: str
    message: str

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def problem(self) -> Problem:
        """The issue as a :class:`~ketenzorg.errors.Problem` (for a :class:`ValidationError`)."""
        return Problem(self.expression, self.message)


def answer_system(spec: InstrumentSpec) -> str | None:
    """The ``system`` of the Codings that carry the spec's codes: none (the codes are the
    Questionnaire's ``answerOption`` codes, which carry no system either)."""
    del spec
    return None


def instrument_spec(
    instruments: Mapping[str, RegisteredInstrument], instrument_id: str, *, path: str = "instrument_id"
) -> InstrumentSpec:
    """The spec of an installed instrument, to write its answers with.

    Raises :class:`UnknownInstrumentError` (at ``path``, naming the instrument id) when it is not
    installed: without the spec a code and a text look alike, and guessing would change the wire
    format with the set of installed plugins.
    """
    registered = instruments.get(instrument_id)
    if registered is None:
        raise UnknownInstrumentError(
            [
                Problem(
                    path,
                    f"instrument {instrument_id!r} is not installed; its answers cannot be written "
                    "without its definition (install its plugin)",
                )
            ]
        )
    return registered.spec


# --- writer --------------------------------------------------------------------------------------


def _coding(code: str, system: str | None) -> dict[str, Any]:
    return {"valueCoding": {"system": system, "code": code} if system is not None else {"code": code}}


def answer_items(spec: InstrumentSpec, answers: Mapping[str, Answer]) -> list[dict[str, Any]]:
    """The ``item`` array of the QuestionnaireResponse for ``answers``, in the order they are given.

    A text (or an answer to an item the spec does not have) is a ``valueString``; a blank one is no
    answer and is left out (an empty ``valueString`` is not valid FHIR). The code of a choice item
    is a ``valueCoding``. Answers are written as the case holds them, not re-validated: the reader
    reports what does not fit. Raises :class:`ValidationError` for a value that is no answer at all
    (named by its position).
    """
    known = {item.id: item for item in spec.items}
    system = answer_system(spec)
    out: list[dict[str, Any]] = []
    for position, (link, value) in enumerate(answers.items()):
        item = known.get(link)
        if isinstance(value, bool):
            values: list[dict[str, Any]] = [{"valueBoolean": value}]
        elif isinstance(value, int):
            values = [{"valueInteger": value}]
        elif isinstance(value, str):
            if item is not None and item.answer_type is AnswerType.CHOICE:
                values = [_coding(value, system)]
            elif not value.strip():
                continue  # no answer
            else:
                values = [{"valueString": value}]
        elif isinstance(value, tuple | list) and all(isinstance(code, str) for code in value):
            if not value:  # several codes possible, none chosen: an answer, not a missing one
                out.append({"linkId": link, "extension": [{"url": X_NO_CODES, "valueBoolean": True}]})
                continue
            out.append(
                {
                    "linkId": link,
                    "extension": [{"url": X_MULTIPLE, "valueBoolean": True}],
                    "answer": [_coding(code, system) for code in value],
                }
            )
            continue
        else:
            what = "is not an answer (true/false, a whole number, a text or a list of codes)"
            raise ValidationError([Problem(f"answers[{position}]", what)])
        out.append({"linkId": link, "answer": values})
    return out


# --- reader --------------------------------------------------------------------------------------


def _is_object(value: Any) -> bool:
    return type(value) is dict or isinstance(value, Mapping)  # the exact type first: the common case


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Reader:
    def __init__(self, where: str, spec: InstrumentSpec | None) -> None:
        self.where = where
        self.spec = spec
        self.known: dict[str, Item] = {item.id: item for item in spec.items} if spec is not None else {}
        self.system = answer_system(spec) if spec is not None else None
        self.issues: list[AnswerIssue] = []
        self.errors = 0
        self.answers: dict[str, Answer] = {}
        self.reported: set[str] = set()
        """Items of the spec whose answer was refused (already an issue: not also "missing")."""

    def error(self, code: str, path: str, message: str) -> None:
        self.errors += 1
        self.issues.append(AnswerIssue("error", code, f"{self.where}{path}", message))

    def warning(self, code: str, path: str, message: str) -> None:
        self.issues.append(AnswerIssue("warning", code, f"{self.where}{path}", message))

    def run(self, response: Any) -> None:
        if self.spec is None:
            self.warning(
                "not-supported",
                "",
                "the instrument of this response is not installed: its answers are read as they are "
                "and cannot be checked",
            )
        if not _is_object(response):
            self.error("structure", "", "a QuestionnaireResponse is a JSON object")
            return
        items = response.get("item", [])
        if not isinstance(items, list):
            self.error("structure", ".item", "is not an array")
            return
        first_at: dict[str, int] = {}
        for n, item in enumerate(items):
            at = f".item[{n}]"
            if not _is_object(item):
                self.error("structure", at, "an item is a JSON object")
                continue
            link = item.get("linkId")
            if not _is_text(link) or not link:
                self.error("required", f"{at}.linkId", "missing or not a non-empty string")
                continue
            if link in first_at:
                self.error("duplicate", f"{at}.linkId", f"repeats the linkId of item[{first_at[link]}]")
                continue
            first_at[link] = n
            if "item" in item:
                self.error("structure", f"{at}.item", "the instrument's items are not nested")
                self.reported.add(link)
                continue
            spec_item = self.known.get(link)
            if self.spec is not None and spec_item is None:
                self.error("value", f"{at}.linkId", f"is not an item of instrument {self.spec.id}")
                continue
            before = self.errors
            self.read_item(at, link, item, spec_item)
            if self.errors > before:
                self.reported.add(link)
        if self.spec is not None:
            self.check_required()

    # one item ------------------------------------------------------------------------------------

    def flags(self, at: str, item: Mapping[str, Any]) -> tuple[bool, bool] | None:
        """Whether the item carries multiple-codes and no-codes-chosen (``None``: unreadable)."""
        extensions = item.get("extension", [])
        if not isinstance(extensions, list):
            self.error("structure", f"{at}.extension", "is not an array")
            return None
        found = {X_MULTIPLE: False, X_NO_CODES: False}
        ok = True
        for k, ext in enumerate(extensions):
            if not _is_object(ext):
                self.error("structure", f"{at}.extension[{k}]", "an extension is a JSON object")
                ok = False
                continue
            url = ext.get("url")
            if not isinstance(url, str) or url not in found:
                continue  # other extensions say nothing about the answer
            if found[url]:
                self.error("duplicate", f"{at}.extension[{k}]", "the same extension is given twice")
                ok = False
            elif ext.get("valueBoolean") is not True or len(ext) != 2:
                self.error("value", f"{at}.extension[{k}]", "this extension is valueBoolean true only")
                ok = False
            found[url] = True
        return (found[X_MULTIPLE], found[X_NO_CODES]) if ok else None

    def read_item(self, at: str, link: str, item: Mapping[str, Any], spec_item: Item | None) -> None:
        flags = self.flags(at, item)
        raw = item.get("answer", [])
        if not isinstance(raw, list):
            self.error("structure", f"{at}.answer", "is not an array")
            return
        if flags is None:
            return
        multiple, none_chosen = flags
        is_multi = spec_item.answer_type is AnswerType.MULTI_CHOICE if spec_item is not None else multiple
        if spec_item is not None and not is_multi and (multiple or none_chosen):
            self.error("value", f"{at}.extension", f"item {spec_item.id} takes one answer, not several codes")
            return
        if none_chosen and raw:
            self.error("value", f"{at}.answer", "answers next to the extension that says none was chosen")
            return
        if multiple and not raw:
            self.error("required", f"{at}.answer", "several codes announced, none given")
            return
        if not raw:
            if none_chosen:
                self.accept(at, link, (), spec_item)
            elif is_multi:  # an item without answer is not "none chosen": that is said explicitly
                self.error(
                    "required", f"{at}.answer", "no answer; none chosen is said by extension no-codes-chosen"
                )
            else:
                self.error("required", f"{at}.answer", "an item of the response needs its answer")
            return
        if is_multi:
            if not multiple:
                self.error(
                    "required", f"{at}.extension", "several codes are marked by extension multiple-codes"
                )
                return
            codes: list[str] = []
            for k, entry in enumerate(raw):
                code = self.read_value(f"{at}.answer[{k}]", entry, "valueCoding")
                if code is None:
                    return
                if not isinstance(code, str):
                    self.error("value", f"{at}.answer[{k}]", "expected a code")
                    return
                codes.append(code)
            self.accept(at, link, tuple(codes), spec_item)
            return
        if len(raw) > 1:
            self.error("value", f"{at}.answer[1]", "several answers to an item that takes one")
            return
        expected = _VALUE_KEY[spec_item.answer_type] if spec_item is not None else None
        value = self.read_value(f"{at}.answer[0]", raw[0], expected)
        if value is None:
            return
        if (
            spec_item is not None
            and spec_item.answer_type is AnswerType.TEXT
            and isinstance(value, str)
            and not value.strip()
        ):
            # a blank text is no answer (validate_answers' definition): missing if required
            if not spec_item.required:
                self.warning("value", f"{at}.answer[0]", "a blank text is no answer; it is ignored")
            return
        self.accept(at, link, value, spec_item)

    def read_value(self, at: str, entry: Any, expected: str | None) -> bool | int | str | None:
        """The value of one answer (``None``: reported). ``expected`` is the value[x] element the
        item's type asks for (``None``: any value[x] an answer of ketenzorg carries)."""
        if not _is_object(entry):
            self.error("structure", at, "an answer is a JSON object")
            return None
        if "item" in entry:
            self.error("structure", f"{at}.item", "the instrument's items are not nested")
            return None
        keys = [key for key in entry if isinstance(key, str) and key.startswith("value")]
        if not keys:
            self.error("required", at, "an answer needs its value[x]")
            return None
        if len(keys) > 1:
            self.error("structure", at, "an answer has one value[x]")
            return None
        key = keys[0]
        # The element is named only when it is one of R4's: any other name comes from the input.
        place = f"{at}.{key}" if key in _ANSWER_VALUES else at
        if expected is not None and key != expected:
            self.error("value", place, f"the item's answer is a {expected}")
            return None
        if key not in _READABLE:
            self.error("not-supported", place, "not a value type of ketenzorg's answers")
            return None
        value = entry[key]
        if key == "valueBoolean":
            if not isinstance(value, bool):
                self.error("value", f"{at}.{key}", "is not true or false")
                return None
            return value
        if key == "valueInteger":
            if not _is_whole(value) or not _INT32[0] <= value <= _INT32[1]:
                self.error("value", f"{at}.{key}", "is not a FHIR integer (a whole number, 32 bits)")
                return None
            return int(value)
        if key == "valueString":
            if not _is_text(value) or not value:
                self.error("value", f"{at}.{key}", "is not a non-empty string")
                return None
            return str(value)
        return self.read_coding(f"{at}.{key}", value)

    def read_coding(self, at: str, coding: Any) -> str | None:
        if not _is_object(coding):
            self.error("structure", at, "a Coding is a JSON object")
            return None
        code = coding.get("code")
        if not _is_text(code) or not code:
            self.error("required", f"{at}.code", "missing or not a non-empty string")
            return None
        system = coding.get("system")
        if self.spec is not None and system != self.system:
            wanted = "no system" if self.system is None else f"system {self.system}"
            self.error("value", f"{at}.system", f"the instrument's codes carry {wanted}")
            return None
        return str(code)

    def accept(self, at: str, link: str, value: Answer, spec_item: Item | None) -> None:
        if spec_item is not None and spec_item.check(value) is not None:
            path, message = _why_not(at, spec_item, value)
            self.error("value", path, message)
            return
        self.answers[link] = value

    def check_required(self) -> None:
        assert self.spec is not None
        # validate_answers decides what is missing: one definition of a complete response. The
        # answers kept are valid and known, so its only complaints are required items without answer.
        try:
            validate_answers(self.spec, self.answers)
        except ResponseError as error:
            for problem in error.problems:
                if problem.path not in self.reported:
                    self.error("required", "", f"item {problem.path}: {problem.message}")


def _why_not(at: str, item: Item, value: Answer) -> tuple[str, str]:
    """Where and why ``value`` is refused by ``item.check``, in words that do not repeat it."""
    allowed = ", ".join(item.allowed)
    if item.answer_type is AnswerType.MULTI_CHOICE and isinstance(value, tuple):
        seen: set[str] = set()
        for k, code in enumerate(value):
            if code not in item.allowed:
                return (
                    f"{at}.answer[{k}].valueCoding.code",
                    f"not a code of item {item.id}; allowed: {allowed}",
                )
            if code in seen:
                return f"{at}.answer[{k}]", "a code is given twice"
            seen.add(code)
    at0 = f"{at}.answer[0]"
    match item.answer_type:
        case AnswerType.CHOICE:
            return f"{at0}.valueCoding.code", f"not a code of item {item.id}; allowed: {allowed}"
        case AnswerType.INTEGER:
            low = "" if item.minimum is None else str(item.minimum)
            high = "" if item.maximum is None else str(item.maximum)
            return f"{at0}.valueInteger", f"outside the range {low}..{high} of item {item.id}"
        case _:
            return at0, f"not a valid answer to item {item.id}"


def read_answers(
    response: Any, *, where: str, spec: InstrumentSpec | None
) -> tuple[dict[str, Answer], list[AnswerIssue]]:
    """The answers a QuestionnaireResponse holds, and every problem with them.

    ``where`` is the FHIRPath of the response (``Bundle.entry[7].resource``); each issue's
    expression extends it (``...item[2].answer[0]``). With ``spec`` every item is checked: its
    linkId (known, not repeated), value[x] type, number of answers, range, allowed codes (and
    Codings' system), the multiple-codes / no-codes-chosen extensions, non-empty strings, and
    every required item present. With ``spec=None`` (an instrument not installed) there is one
    warning and the answers are read by their value[x] type. Any JSON value is accepted: a wrong
    JSON type is an issue, never an exception. The answers returned are those that passed, in the
    response's order; with no error among the issues they pass
    :func:`~ketenzorg.instruments.validate_answers`.
    """
    reader = _Reader(where, spec)
    reader.run(response)
    return reader.answers, reader.issues


# --- result --------------------------------------------------------------------------------------


def _result_parts(result: InstrumentResult) -> Iterable[tuple[str, object]]:
    """The parts of a result the engine decides with, by name: codes, not the texts a person reads
    (a result recorded before its texts had two languages is the same result)."""
    yield "safety code", result.safety_code
    yield "classifications", tuple((c.code, c.fit) for c in result.classifications)
    yield "risk factors", tuple((r.id, r.code) for r in result.risk_factors)
    yield "urgency", result.urgency
    yield "advised setting", result.advised_setting


def result_issues(
    registered: RegisteredInstrument | None,
    event: InstrumentApplied,
    *,
    where: str,
    hook_timeout: float | None = None,
) -> list[AnswerIssue]:
    """Whether the result an event records is what the installed instrument gives for its answers.

    With the same instrument id and version installed, the instrument's ``assess`` runs again on
    the answers (checked with :func:`~ketenzorg.instruments.validate_answers` first), guarded as
    :meth:`ketenzorg.engine.Engine.assess` guards it (a read-only copy of the answers, the
    engine's ``hook_timeout`` as a :class:`~ketenzorg.pluginhost.HookBudget`); each part the
    engine decides with (safety code, classifications, risk factors, urgency, advised setting)
    that differs is an error at ``where`` (the RiskAssessment's FHIRPath). Another version
    installed: a warning that the result cannot be re-checked. Not installed (``None``): nothing,
    :func:`read_answers` already warned. Answers that do not fit: a warning (their problems are
    :func:`read_answers`' errors). Raises :class:`~ketenzorg.pluginhost.PluginError` when the
    instrument fails or overruns its budget: the plugin's fault, not the bundle's.
    """
    from types import MappingProxyType

    from ketenzorg.pluginhost import HookBudget, PluginError

    if registered is None:
        return []
    spec = registered.spec
    if spec.id != event.instrument_id or spec.version != event.instrument_version:
        message = (
            f"recorded with another version of instrument {spec.id} than the installed {spec.version}: "
            "its result cannot be re-checked"
            if spec.id == event.instrument_id
            else f"recorded by another instrument than the installed {spec.id}: "
            "its result cannot be re-checked"
        )
        return [AnswerIssue("warning", "not-supported", where, message)]
    try:
        valid = validate_answers(spec, event.answers)
    except ResponseError:
        message = f"the answers do not fit instrument {spec.id}: its result cannot be re-checked"
        return [AnswerIssue("warning", "business-rule", where, message)]
    hook = f"assess of instrument {spec.id!r}"
    with HookBudget(registered.plugin, hook, hook_timeout):
        try:
            expected = registered.assess(MappingProxyType(dict(valid)))
        except Exception as error:  # the plugin's fault: name it
            raise PluginError(registered.plugin, hook, error) from error
    if not isinstance(expected, InstrumentResult):
        raise PluginError(
            registered.plugin, hook, f"returned {type(expected).__name__}, not an InstrumentResult"
        )
    recorded = dict(_result_parts(event.result))
    return [
        AnswerIssue(
            "error",
            "business-rule",
            where,
            f"the recorded {name} is not what instrument {spec.id} {spec.version} gives for these answers",
        )
        for name, value in _result_parts(expected)
        if recorded[name] != value
    ]
