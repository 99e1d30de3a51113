"""What :meth:`Engine.evaluate <ketenzorg.engine.Engine.evaluate>` returns: the decision and its reasons.

Every rule result carries a stable ``rule_id``, the evidence it used (which party's score, from
when; which incident) and what is missing. Texts are :class:`~ketenzorg.messages.Message` values,
rendered in Dutch or English only when shown.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs

from ketenzorg.domain import PartyRole, Phase
from ketenzorg.events import TransitionKind
from ketenzorg.messages import Language, Message
from ketenzorg.ruleset import PluginRules, RuleSet

__all__ = [
    "Alert",
    "AlertLevel",
    "Decision",
    "Evidence",
    "EvidenceKind",
    "JudgedUnder",
    "PartyRef",
    "RuleResult",
    "RuleStatus",
    "Transition",
    "UnjustifiedTransition",
]


class RuleStatus(enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_APPLICABLE = "not_applicable"


class EvidenceKind(enum.Enum):
    SCORE = "score"
    INCIDENT = "incident"
    CONFERENCE = "conference"
    PLAN = "plan"
    ASSESSMENT = "assessment"


class AlertLevel(enum.Enum):
    IMMEDIATE_PROTECTION = "immediate_protection"
    """Acute danger: protect at once (veiligstellen), in any phase."""
    REASSESS = "reassess"
    """Safety must be weighed again in a case conference."""
    ADVICE = "advice"
    """Advice from an instrument or an organisation's rule, for the practitioner to weigh."""


@attrs.frozen
class Evidence:
    """One event a rule rested on: its kind, id and time, and a readable description."""

    kind: EvidenceKind
    event_id: str
    at: datetime
    message: Message
    party_id: str | None = None
    value: int | None = None


@attrs.frozen
class PartyRef:
    """A party that a rule result names, by id and role: never by name, so that a decision can be
    stored and compared, and two clients of one case are told apart."""

    party_id: str = attrs.field(validator=attrs.validators.instance_of(str))
    role: PartyRole = attrs.field(validator=attrs.validators.instance_of(PartyRole))
    reason: str = attrs.field(default="", validator=attrs.validators.instance_of(str))
    """Why the party is named, a stable code. The method's rules use ``no_score`` (has not scored),
    ``no_rationale`` (the latest score has no rationale), ``stale`` (older than the maximum score
    age), ``scored_before`` (given before the latest incident or the start of the phase), ``below``
    (counting score under the rule's threshold) and ``acute_score`` (latest score in the acute band)."""


def _party_refs(value: Iterable[PartyRef]) -> tuple[PartyRef, ...]:
    refs = tuple(value)
    if not all(isinstance(r, PartyRef) for r in refs):
        raise TypeError("parties is a sequence of PartyRef")
    return refs


@attrs.frozen
class RuleResult:
    """The outcome of one rule. ``blocks_advance`` is true for a failed gate."""

    rule_id: str
    status: RuleStatus
    message: Message
    evidence: tuple[Evidence, ...] = ()
    missing: tuple[Message, ...] = ()
    gate: bool = False
    """Whether this rule must pass before the case may advance."""

    plugin: str = "ketenzorg.method"
    """The plugin whose rule this is."""
    overrides: str | None = None
    """The plugin whose rule of the same id was replaced by :attr:`plugin`'s (an override), if any."""
    parties: tuple[PartyRef, ...] = attrs.field(default=(), converter=_party_refs)
    """The parties this result names, by id and role: for a failed gate the parties that block it
    (each with the reason, one of :attr:`missing` in words); for a relapse or alert rule the parties
    whose scores raise it. Rules that do not concern a party leave it empty."""

    @property
    def blocks_advance(self) -> bool:
        return self.gate and self.status is RuleStatus.FAILED


@attrs.frozen
class Alert:
    """Something a practitioner must act on now."""

    rule_id: str
    level: AlertLevel
    message: Message
    evidence: tuple[Evidence, ...] = ()


@attrs.frozen
class Transition:
    """A phase transition the engine proposes or allows."""

    kind: TransitionKind
    from_phase: Phase
    to_phase: Phase
    rules: tuple[str, ...]
    evidence: tuple[str, ...]
    """Ids of the events the transition rests on."""


@attrs.frozen
class UnjustifiedTransition:
    """A phase change or closing in the history that the rules did not allow at its moment.

    Found by :meth:`Engine.evaluate <ketenzorg.engine.Engine.evaluate>` in a history put together
    by hand (``Case(...)``, ``Case.append``, ``caseformat.loads``); :meth:`Engine.load
    <ketenzorg.engine.Engine.load>` refuses such a history instead.
    """

    index: int
    """Its place in the history (``events[index]``)."""
    event_id: str
    at: datetime
    reasons: tuple[Message, ...]
    """Why it was not allowed: the answer to the question it asks (may the case advance to that
    phase, go back, close), as a refusal gives it."""
    message: Message


@attrs.frozen
class JudgedUnder:
    """A phase change or closing of the history decided under rules this engine does not have in full.

    Such a transition is re-decided with the rules both have (the method's own rules always, under
    the policy it was decided under; the rules of each plugin in the same version) and is not
    refused for the rest: what could not be checked is said here.
    """

    index: int
    """Its place in the history (``events[index]``)."""
    event_id: str
    at: datetime
    recorded: RuleSet | None
    """The rules it records; ``None``: it records none (written before they were recorded, or by
    hand), so only the method's rules, under this engine's policy, were checked."""
    not_here: tuple[PluginRules, ...] = ()
    """Plugins (in their version then) whose rules took part, that this engine does not have in that
    version: their rules were not checked."""
    added: tuple[PluginRules, ...] = ()
    """Plugins of this engine (in their version now) not in force then: their rules were not held
    against it."""
    policy_changed: bool = False
    """It was decided under another policy (checked under that one, when it records its settings)."""
    messages: tuple[Message, ...] = ()
    """Each difference in words."""


@attrs.frozen
class Decision:
    """The engine's decision on a case at a moment ``at``."""

    case_id: str
    at: datetime
    phase: Phase
    closed: bool
    results: tuple[RuleResult, ...]
    alerts: tuple[Alert, ...]
    next_phase: Phase | None
    """The phase after this one (``None`` in phase 3 or when closed)."""
    advance: Transition | None
    """The allowed advance, or ``None`` when it is blocked (see :attr:`blocking`)."""
    relapse: Transition | None
    """A proposed relapse back to phase 1, or ``None``."""
    may_close: bool
    unjustified: tuple[UnjustifiedTransition, ...] = ()
    """Transitions in the history that the rules did not allow (only in a history recorded by
    hand; see :attr:`Case.unchecked_transitions <ketenzorg.case.Case.unchecked_transitions>`).
    The phase reported rests on them: :meth:`Engine.advance` and :meth:`Engine.close` refuse to
    build on them."""
    judged_under: tuple[JudgedUnder, ...] = ()
    """Transitions in the history decided under rules this engine does not have in full (a plugin
    installed, updated or removed since, another policy, or no rules recorded): not refused, but
    what could not be checked is reported."""

    @property
    def may_advance(self) -> bool:
        return self.advance is not None

    @property
    def blocking(self) -> tuple[RuleResult, ...]:
        """The failed gates that block the advance."""
        return tuple(r for r in self.results if r.blocks_advance)

    @property
    def blocking_parties(self) -> tuple[PartyRef, ...]:
        """Every party a failed gate names, once each (the first reason given), in rule order:
        who must still score, or score higher, before the case may advance."""
        seen: dict[str, PartyRef] = {}
        for result in self.blocking:
            for ref in result.parties:
                seen.setdefault(ref.party_id, ref)
        return tuple(seen.values())

    def result(self, rule_id: str) -> RuleResult:
        """The result of ``rule_id``; ``KeyError`` if the rule did not run."""
        for r in self.results:
            if r.rule_id == rule_id:
                return r
        raise KeyError(rule_id)

    def explain(self, lang: Language = "en") -> str:
        """A readable, multi-line explanation of the decision."""
        from ketenzorg.explain import explain

        return explain(self, lang)

    def to_dict(self, lang: Language = "en") -> dict[str, Any]:
        """A JSON-ready form with rule ids, evidence ids and texts rendered in ``lang``."""
        from ketenzorg.explain import to_dict

        return to_dict(self, lang)
