"""Re-checking a recorded instrument result: is it what the installed instrument gives for the answers?

The answers themselves are read and checked by :mod:`.answers`; this module runs the instrument of
the same id and version again on them, guarded as the engine guards it, and compares the parts the
engine decides with.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ketenzorg.errors import ValidationError
from ketenzorg.instruments import InstrumentResult, ResponseError, on_scale, validate_answers
from ketenzorg.interop.answers import AnswerIssue

if TYPE_CHECKING:
    from ketenzorg.events import InstrumentApplied
    from ketenzorg.pluginhost import RegisteredInstrument

__all__ = ["result_issues"]


def _result_parts(result: InstrumentResult) -> Iterable[tuple[str, object]]:
    """The parts of a result the engine decides with, by name: codes, not the texts a person reads
    (a result recorded before its texts had two languages is the same result)."""
    yield "safety code", result.safety_code
    yield "classifications", tuple((c.code, c.fit) for c in result.classifications)
    yield "risk factors", tuple((r.id, r.code) for r in result.risk_factors)
    yield "urgency", result.urgency
    yield "advised setting", result.advised_setting
    yield "level", result.level
    yield "actions", tuple((a.kind, a.conference_kind) for a in result.actions)


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
    engine decides with (safety code, classifications, risk factors, urgency, advised setting,
    level, actions)
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
    try:  # the level's meaning filled in, as the engine recorded it
        expected = on_scale(spec, expected)
    except ValidationError as error:
        raise PluginError(
            registered.plugin, hook, f"returned a result whose level {error.problems[0].message}"
        ) from None
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
