"""The engine: evaluates a case under a policy and applies transitions, never mutating anything.

An :class:`Engine` is built explicitly with its policy and rules; two engines with different
policies live side by side in one process. Recording an event or applying a transition returns a
new :class:`~ketenzorg.case.Case`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import attrs

from ketenzorg.case import Case
from ketenzorg.conferences import ConferenceKind
from ketenzorg.decision import (
    Alert,
    Decision,
    JudgedUnder,
    RuleResult,
    RuleStatus,
    Transition,
    UnjustifiedTransition,
)
from ketenzorg.domain import EARLIEST_YEAR, LATEST_YEAR, Phase, in_years, new_id
from ketenzorg.errors import InvalidEventError, PolicyError, Problem, TransitionBlockedError, ValidationError
from ketenzorg.events import (
    CaseClosed,
    ConferenceHeld,
    Event,
    InstrumentApplied,
    PhaseChanged,
    PlanRevised,
    ScoreGiven,
    TransitionKind,
)
from ketenzorg.instruments import InstrumentResult, on_scale, validate_answers
from ketenzorg.messages import LANGUAGES, LITERAL, Language, Message, is_known_key, render
from ketenzorg.pluginhost import (
    CORE_RULES_PLUGIN,
    PluginError,
    PluginHost,
    PluginInfo,
    RegisteredInstrument,
    check_budget,
)
from ketenzorg.policy import Policy
from ketenzorg.rules import Finding, Rule, RuleContext
from ketenzorg.ruleset import PluginRules, RuleSet, policy_fingerprint, policy_settings
from ketenzorg.settings import Setting, Settings

__all__ = ["Engine"]

MANUAL_RELAPSE_RULE = "relapse.professional-judgement"


def _now() -> datetime:
    return datetime.now(UTC)


def _plugins(value: Iterable[object]) -> tuple[object, ...]:
    # A Python function, not the builtin ``tuple``: attrs reads a converter's signature, and the
    # signature of a builtin is parsed from text by the tokenize module (2 to 3 ms of start-up).
    return tuple(value)


def _names(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise TypeError("block is a collection of plugin names, e.g. {'ketenzorg.gezinsprofielen'}")
    return frozenset(value)


def _moment(at: datetime | None, latest: datetime, now: datetime, skew: timedelta) -> datetime:
    """The moment of judgement: now by default; never before the latest event of the case.

    By default the case is judged now, or at its latest event when that is a little ahead of this
    clock (within the policy's clock skew). A case with an event dated beyond that is not judged
    "at" that future moment: that is how one wrongly dated score would freeze a case.
    """
    if at is None:
        if latest > now + skew:
            raise ValidationError(
                [
                    Problem(
                        "at",
                        "the case holds an event dated later than now; give the moment of judgement "
                        "explicitly, or correct the clock that recorded it",
                    )
                ]
            )
        return max(now, latest)
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ValidationError([Problem("at", "expected a date-time with a timezone offset")])
    if not in_years(at):
        raise ValidationError([Problem("at", f"the year is outside {EARLIEST_YEAR}..{LATEST_YEAR}")])
    if at < latest:
        raise ValidationError(
            [
                Problem(
                    "at",
                    f"{at.isoformat()} is before the latest event of the case ({latest.isoformat()}); "
                    "a decision is made on the whole history",
                )
            ]
        )
    return at


@attrs.frozen
class Engine:
    """Evaluates cases and applies transitions under one organisation's policy and plugins.

    ``plugins`` are objects or modules with hook implementations (see :mod:`ketenzorg.hookspecs`);
    ``entry_points=True`` also loads the plugins installed in the ``ketenzorg`` entry-point
    group; ``block`` names plugins not to load (a shipped instrument, an installed plugin).
    Each engine has its own plugin manager: engines never share plugins or state.
    """

    policy: Policy = attrs.field(factory=Policy, validator=attrs.validators.instance_of(Policy))
    plugins: tuple[object, ...] = attrs.field(default=(), converter=_plugins)
    entry_points: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    block: frozenset[str] = attrs.field(default=frozenset(), converter=_names)
    lang: Language = attrs.field(default="en", validator=attrs.validators.in_(LANGUAGES))
    """Language of the messages in errors raised by this engine."""
    on_listener_error: Callable[[PluginError], None] | None = attrs.field(default=None, eq=False)
    """Called with a :class:`PluginError` when a listener hook fails (default: log it)."""
    clock: Callable[[], datetime] = attrs.field(default=_now, eq=False)
    """The engine's clock (timezone-aware): an event dated later than it, plus the policy's
    ``max_clock_skew``, is refused; by default decisions are made at its moment."""
    hook_timeout: float | None = attrs.field(default=None, converter=check_budget)
    """Seconds one hook call (a rule, an instrument's ``assess``, a listener, a registration) may
    take before it is stopped with a :class:`~ketenzorg.pluginhost.PluginTimeoutError`; ``None``
    (the default) for no budget. Enforced with ``SIGALRM``: on POSIX, in the main thread only."""
    _host: PluginHost = attrs.field(init=False, eq=False, repr=False)
    _memo: dict[object, Any] = attrs.field(init=False, eq=False, repr=False, factory=dict)
    """What this engine works out once: its rule set, and the rules it has in common with others."""

    def __attrs_post_init__(self) -> None:
        host = PluginHost(
            self.plugins,
            entry_points=self.entry_points,
            block=self.block,
            on_listener_error=self.on_listener_error,
            hook_timeout=self.hook_timeout,
            settings=self.policy.plugins,
        )
        object.__setattr__(self, "_host", host)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every rule this engine applies: the method's, then the plugins'."""
        return self._host.rules

    def ask_plugins(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Each plugin's answer to a question hook (such as ``ketenzorg_screen_text``), with its name.

        A plugin that raises fails the call with a :class:`PluginError` naming it.
        """
        return self._host.ask(hook, **kwargs)

    def has_plugins_for(self, hook: str) -> bool:
        """Whether any plugin of this engine implements ``hook``."""
        return bool(getattr(self._host.pm.hook, hook).get_hookimpls())

    @property
    def instruments(self) -> Mapping[str, RegisteredInstrument]:
        """The registered assessment instruments, by instrument id."""
        return self._host.instruments

    @property
    def conference_kinds(self) -> Mapping[str, ConferenceKind]:
        """The kinds of conference this engine records, by code: the method's and the plugins'.

        Recording a conference of another kind is refused; a stored history with a kind this
        engine does not know (registered by a plugin it does not have) still loads.
        """
        return self._host.conference_kinds

    def settings(self, plugin: str) -> Settings:
        """A plugin's settings in this engine: its declared ones, from the policy or by default."""
        return self._host.settings.get(plugin, Settings())

    def declared_settings(self, plugin: str) -> Mapping[str, Setting]:
        """The settings ``plugin`` declares (name, type, default, bounds), by name."""
        return self._host.declared_settings.get(plugin, {})

    def conference_kinds_of(self, plugin: str) -> tuple[ConferenceKind, ...]:
        """The conference kinds ``plugin`` registered, in registration order."""
        owners = self._host.conference_kind_plugins
        return tuple(kind for code, kind in self.conference_kinds.items() if owners.get(code) == plugin)

    def plugin_info(self) -> tuple[PluginInfo, ...]:
        """The loaded plugins with their distribution, version and hooks."""
        return self._host.info()

    def rule_set(self) -> RuleSet:
        """The rules this engine decides under, as a phase change or closing records them: each
        plugin whose rules run (with its distribution and version, and the ids of its rules) and the
        policy (fingerprint and settings)."""
        found = self._memo.get("rule_set")
        if found is None:
            by_plugin: dict[str, list[str]] = {}
            for r in self.rules:
                by_plugin.setdefault(r.plugin, []).append(r.id)
            plugins = []
            for name, ids in by_plugin.items():
                dist, version = self._host.provenance(name)
                plugins.append(PluginRules(name=name, distribution=dist, version=version, rules=tuple(ids)))
            # Disclosure profiles decide no transition: changing them leaves the rule set as it was.
            rule_settings = {k: v for k, v in self.policy.to_mapping().items() if k != "disclosure"}
            settings = policy_settings(rule_settings)
            found = RuleSet(
                plugins=tuple(plugins), policy=policy_fingerprint(settings), policy_settings=settings
            )
            self._memo["rule_set"] = found
        return found

    def _rules_under(self, recorded: RuleSet | None) -> tuple[tuple[Rule, ...], Policy, bool] | None:
        """The rules and policy to re-decide a transition recorded under ``recorded`` with, and
        whether that policy is the one it was decided under; ``None`` when they are this engine's own.

        The method's own rules always take part (a forged transition stays refused). A plugin's
        rules take part only when this engine has the plugin in the version the transition records
        and the rule took part then: a plugin installed, updated or removed since is not held
        against it. The policy is the one it records (its settings), else this engine's.
        """
        mine = self.rule_set()
        if recorded is not None and recorded.same_rules(mine):
            return None
        key = ("under", recorded)
        found = self._memo.get(key)
        if found is None:
            kept: list[Rule] = []
            for r in self.rules:
                then = recorded.plugin(r.plugin) if recorded is not None else None
                now = mine.plugin(r.plugin)
                if r.plugin == CORE_RULES_PLUGIN or (
                    then is not None and now is not None and then.same_plugin(now) and r.id in then.rules
                ):
                    kept.append(r)
            policy, same_policy = self._policy_under(recorded)
            found = (tuple(kept), policy, same_policy)
            self._memo[key] = found
        return found

    def _policy_under(self, recorded: RuleSet | None) -> tuple[Policy, bool]:
        if recorded is None:
            return self.policy, False
        if recorded.policy == self.rule_set().policy:
            return self.policy, True
        if recorded.policy_settings is not None:
            try:
                return Policy.from_mapping(json.loads(recorded.policy_settings)), True
            except (ValueError, TypeError, PolicyError):  # settings of a later version: not usable here
                pass
        return self.policy, False

    # --- deciding --------------------------------------------------------------------------------

    def evaluate(self, case: Case, *, at: datetime | None = None) -> Decision:
        """Decide on ``case`` at the moment ``at`` (default: now, UTC).

        A pure function of (history, policy, rules, moment): replaying the same events gives the
        same decision. A phase change or closing recorded by hand rather than by this library
        (:attr:`Case.unchecked_transitions`) is re-decided at its moment, and one the rules did not
        allow is reported in :attr:`Decision.unjustified`, not refused: the decision still shows
        where the case stands. Load stored cases with :meth:`load` to refuse such a history.
        """
        if not isinstance(case, Case):
            raise TypeError(f"expected a Case, got {type(case).__name__}")
        decision = self._decide(case, at)
        if case.unchecked_transitions:
            unjustified = self._unjustified(case, set(case.unchecked_transitions))
            if unjustified:
                decision = attrs.evolve(decision, unjustified=unjustified)
        judged_under = self.judged_under(case)
        if judged_under:
            decision = attrs.evolve(decision, judged_under=judged_under)
        return decision

    def judged_under(self, case: Case) -> tuple[JudgedUnder, ...]:
        """The phase changes and closings of ``case`` decided under rules this engine does not have
        in full, each with what differs (also in :attr:`Decision.judged_under`)."""
        mine = self.rule_set()
        found: list[JudgedUnder] = []
        for index, event in enumerate(case.events):
            if not isinstance(event, PhaseChanged | CaseClosed):
                continue
            recorded = event.rule_set
            if recorded is not None and recorded.same_rules(mine):
                continue
            found.append(_difference(index, event, recorded, mine, self._policy_under(recorded)[1]))
        return tuple(found)

    def _decide(
        self,
        case: Case,
        at: datetime | None,
        under: tuple[tuple[Rule, ...], Policy, bool] | None = None,
    ) -> Decision:
        """The decision on the history as it is, without re-deciding its transitions; ``under``:
        other rules and policy than this engine's own (see :meth:`_rules_under`)."""
        state = case.state
        rules, policy = (self.rules, self.policy) if under is None else under[:2]
        at = _moment(at, state.latest_at, self.clock(), self.policy.max_clock_skew)
        ctx = RuleContext(state=state, policy=policy, at=at)
        results: list[RuleResult] = []
        alerts: list[Alert] = []
        relapse_rules: list[RuleResult] = []
        budget = self._host.budget
        # A plugin with settings sees its own in its context; the others share one context.
        own: dict[str, RuleContext] = {}
        for r in rules:
            settings = self._host.settings.get(r.plugin)
            if settings and r.plugin not in own:
                own[r.plugin] = attrs.evolve(ctx, settings=settings)
        for r in rules:
            with budget(r.plugin, f"rule {r.id!r}"):
                try:
                    finding = r(own.get(r.plugin, ctx))
                except Exception as error:  # a rule of a plugin failed: name it, change nothing
                    raise PluginError(r.plugin, f"rule {r.id!r}", error) from error
            if not isinstance(finding, Finding) or finding.result.rule_id != r.id:
                raise PluginError(r.plugin, f"rule {r.id!r}", "did not return a Finding for its own id")
            if r.plugin != CORE_RULES_PLUGIN:
                _check_texts(r, finding)
            result = finding.result
            # The engine, not the rule, says whose rule ran, what it replaced and whether it is a gate.
            if result.gate is not r.gate or result.plugin != r.plugin or result.overrides != r.overrides:
                result = attrs.evolve(result, gate=r.gate, plugin=r.plugin, overrides=r.overrides)
            results.append(result)
            alerts.extend(finding.alerts)
            if finding.proposes_relapse:
                relapse_rules.append(result)

        phase = state.phase
        closed = state.is_closed
        blocked = any(r.blocks_advance for r in results)
        next_phase = Phase(phase + 1) if phase < Phase.RECOVERY_CARE and not closed else None
        advance = None
        if next_phase is not None and not blocked:
            used = [r for r in results if r.gate and r.status is RuleStatus.PASSED]
            advance = Transition(
                kind=TransitionKind.ADVANCE,
                from_phase=phase,
                to_phase=next_phase,
                rules=tuple(r.rule_id for r in used if r.evidence),
                evidence=_evidence_ids(used),
            )
        relapse = None
        if relapse_rules and not closed and phase is not Phase.IMMEDIATE_SAFETY:
            relapse = Transition(
                kind=TransitionKind.RELAPSE,
                from_phase=phase,
                to_phase=Phase.IMMEDIATE_SAFETY,
                rules=tuple(r.rule_id for r in relapse_rules),
                evidence=_evidence_ids(relapse_rules),
            )
        return Decision(
            case_id=case.case_id,
            at=at,
            phase=phase,
            closed=closed,
            results=tuple(results),
            alerts=tuple(alerts),
            next_phase=next_phase,
            advance=advance,
            relapse=relapse,
            may_close=phase is Phase.RECOVERY_CARE and not closed and not blocked,
        )

    # --- recording -------------------------------------------------------------------------------

    def record(self, case: Case, event: Event) -> Case:
        """Append a recorded fact (conference, score, incident, plan, care team change, ...).

        Phase changes and closing go through :meth:`advance`, :meth:`relapse` and :meth:`close`.
        Raises :class:`InvalidEventError` and leaves ``case`` unchanged when the event does not fit.
        """
        self._check_recordable(event, case.state.conferences, self._latest_allowed())
        return self._append(case, event)

    def _latest_allowed(self) -> datetime:
        """The latest moment an event may be dated: the engine's clock plus the allowed skew."""
        return self.clock() + self.policy.max_clock_skew

    def _check_recordable(
        self, event: Event, conferences: Mapping[str, ConferenceHeld], latest_allowed: datetime
    ) -> None:
        """The engine's own checks before an event is appended (the fold checks the rest)."""
        if not isinstance(event, Event):
            raise InvalidEventError([Problem("type", f"not an event: {type(event).__name__}")])
        if isinstance(event, PhaseChanged | CaseClosed):
            raise InvalidEventError(
                [Problem("type", f"{event.type} is recorded by advance, relapse or close")]
            )
        _check_not_future(event, latest_allowed)
        if isinstance(event, ConferenceHeld) and event.kind not in self.conference_kinds:
            known = ", ".join(sorted(self.conference_kinds))
            raise InvalidEventError(
                [Problem("kind", f"not a conference kind of this engine; known: {known}")]
            )
        if isinstance(event, PlanRevised) and self.policy.plan_requires_client_present:
            conference = conferences.get(event.conference_id)
            if conference is not None and not conference.client_present:
                raise InvalidEventError(
                    [
                        Problem(
                            "conference_id",
                            "a plan revision is made in a case conference with the client present",
                        )
                    ]
                )

    def give_score(
        self,
        case: Case,
        *,
        party_id: str,
        score: int,
        rationale: str,
        at: datetime,
        conference_id: str | None = None,
        event_id: str | None = None,
    ) -> Case:
        """Record a party's safety score; its role is taken from the care team."""
        party = case.state.care_team.get(party_id)
        if party is None:
            raise InvalidEventError([Problem("party_id", "this party is not in the care team")])
        event = ScoreGiven(
            id=event_id or new_id(),
            at=at,
            party_id=party_id,
            role=party.role,
            score=score,
            rationale=rationale,
            conference_id=conference_id,
        )
        return self.record(case, event)

    def assess(
        self,
        case: Case,
        instrument_id: str,
        answers: Mapping[str, Any],
        *,
        at: datetime,
        applied_by: str | None = None,
        event_id: str | None = None,
        subject: str | None = None,
    ) -> Case:
        """Apply an instrument: validate the answers, score them, record the result.

        ``subject`` is the id of the person of the client system who was assessed (a second
        victim, a child, the person who used violence); ``None``: the client. An answer may be a
        :class:`~ketenzorg.instruments.Missing` reason where the item allows it.

        Raises :class:`~ketenzorg.instruments.ResponseError` (one problem per item) for answers
        that do not fit, :class:`InvalidEventError` for an unknown instrument, party or person, and
        :class:`PluginError` when the instrument itself fails; ``case`` is never changed then.
        """
        registered = self.instruments.get(instrument_id)
        if registered is None:
            known = ", ".join(sorted(self.instruments)) or "none"
            raise InvalidEventError(
                [Problem("instrument_id", f"not an instrument of this engine; known: {known}")]
            )
        valid = validate_answers(registered.spec, answers)
        # The instrument reads a read-only view of its own copy: what it does with it cannot change
        # the answers that are recorded (the values themselves are immutable: bool, int, str, tuple).
        given = MappingProxyType(dict(valid))
        hook = f"assess of instrument {instrument_id!r}"
        with self._host.budget(registered.plugin, hook):
            try:
                result = registered.assess(given)  # with the plugin's settings, if it takes them
            except Exception as error:  # the plugin's fault: name it, record nothing
                raise PluginError(registered.plugin, hook, error) from error
        if not isinstance(result, InstrumentResult):
            raise PluginError(
                registered.plugin, hook, f"returned {type(result).__name__}, not an InstrumentResult"
            )
        single = result.single_language_texts()
        if single:  # the older form of a plugin keeps working; its author is told what to change
            import warnings

            warnings.warn(
                f"plugin {registered.plugin!r}: {hook} returned texts in one language "
                f"({', '.join(single)}): give each as {{'nl': ..., 'en': ...}}; "
                "a plain string is read as Dutch and shown in Dutch in English output too",
                DeprecationWarning,
                stacklevel=2,
            )
        result = self._on_scale(registered, result, hook)
        event = InstrumentApplied(
            id=event_id or new_id(),
            at=at,
            instrument_id=instrument_id,
            instrument_version=registered.spec.version,
            plugin=registered.plugin,
            distribution=registered.distribution,
            distribution_version=registered.version,
            answers=valid,
            result=result,
            applied_by=applied_by,
            subject=subject,
        )
        return self.record(case, event)

    def _on_scale(
        self, registered: RegisteredInstrument, result: InstrumentResult, hook: str
    ) -> InstrumentResult:
        """The result with its level checked and its meaning filled in (:func:`on_scale`); its
        actions' conference kinds checked against this engine's. A fault is the plugin's."""
        try:
            result = on_scale(registered.spec, result)
        except ValidationError as error:
            raise PluginError(
                registered.plugin, hook, f"returned a result whose level {error.problems[0].message}"
            ) from None
        for index, action in enumerate(result.actions):
            if action.conference_kind is not None and action.conference_kind not in self.conference_kinds:
                raise PluginError(
                    registered.plugin,
                    hook,
                    f"returned an action (actions[{index}]) referring to a conference kind this engine "
                    f"does not know; known: {', '.join(sorted(self.conference_kinds))}",
                )
        return result

    def record_all(self, case: Case, events: Iterable[Event]) -> Case:
        """Record several events; all or nothing, in one linear fold. Listeners hear them once
        all are recorded."""
        batch = tuple(events)
        latest_allowed = self._latest_allowed()
        conferences: Mapping[str, ConferenceHeld] = case.state.conferences
        owned: dict[str, ConferenceHeld] | None = None  # conferences of the batch, on first need
        for index, event in enumerate(batch):
            try:
                self._check_recordable(event, conferences, latest_allowed)
            except InvalidEventError as error:
                raise InvalidEventError(
                    [Problem(f"events[{index}].{p.path}", p.message) for p in error.problems]
                ) from None
            if isinstance(event, ConferenceHeld):
                if owned is None:
                    conferences = owned = dict(conferences)
                owned[event.id] = event
        new = case.extend(batch)
        for event in batch:
            self._host.notify("ketenzorg_event_recorded", case=new, event=event)
        return new

    def check_appended(self, case: Case, events: Iterable[Event]) -> Case:
        """``case`` with ``events`` appended, re-decided as if this engine recorded them now: for a
        store that commits what a caller recorded. All or nothing; listeners are not called.

        A recorded fact gets the checks of :meth:`record_all`; a phase change or closing is
        re-decided at its moment (:class:`TransitionBlockedError` naming it, as in :meth:`replay`).
        Errors name each event by its place in the whole history (``events[i].at``).
        """
        batch = tuple(events)
        first = len(case.events)
        latest_allowed = self._latest_allowed()
        conferences: dict[str, ConferenceHeld] = dict(case.state.conferences)
        places: set[int] = set()
        for index, event in enumerate(batch, first):
            try:
                if isinstance(event, PhaseChanged | CaseClosed):
                    _check_not_future(event, latest_allowed)
                    places.add(index)
                else:
                    self._check_recordable(event, conferences, latest_allowed)
            except InvalidEventError as error:
                raise InvalidEventError(
                    [Problem(f"events[{index}].{p.path}", p.message) for p in error.problems]
                ) from None
            if isinstance(event, ConferenceHeld):
                conferences[event.id] = event
        new = case.extend(batch, first_index=first)
        if not places:
            return new

        def refuse(index: int, event: PhaseChanged | CaseClosed, decision: Decision) -> None:
            reasons = "; ".join(render(m, self.lang) for m in self._why_refused(decision, event))
            raise TransitionBlockedError(
                f"events[{index}]: {event.type} at {event.at.isoformat()} was not allowed"
                + (f" ({reasons})" if reasons else ""),
                decision,
                event_id=event.id,
            )

        return self._redecide(
            case.case_id, new.events, places | set(case.unchecked_transitions), refuse
        )._checked()

    def _append(self, case: Case, event: Event, decision: Decision | None = None) -> Case:
        """Append, then tell the listeners; a failing listener never loses the event."""
        if decision is not None:  # a transition: recorded at its moment, which must have come
            _check_not_future(event, self._latest_allowed())
        new = case.append(event)
        if decision is not None:  # decided here: not a transition recorded by hand
            new = new._checked(len(case.events))
        self._host.notify("ketenzorg_event_recorded", case=new, event=event)
        if isinstance(event, PhaseChanged) and decision is not None:
            self._host.notify("ketenzorg_phase_changed", case=new, change=event, decision=decision)
        return new

    # --- transitions -----------------------------------------------------------------------------

    def _gate_reasons(self, decision: Decision, sep: str = "; ") -> list[str]:
        """Each failed gate with what it misses, in this engine's language."""
        return [
            f"{r.rule_id}: " + sep.join(render(m, self.lang) for m in r.missing)
            if r.missing
            else f"{r.rule_id}: {render(r.message, self.lang)}"
            for r in decision.blocking
        ]

    def _why_refused(self, decision: Decision, event: PhaseChanged | CaseClosed) -> tuple[Message, ...]:
        """Why ``event`` may not follow the history ``decision`` was made on: the answer to the
        question the event asks (may it close? may it go back? may it go to that phase?), not to
        another one (the gates of an advance do not say why a case may not close in phase 2)."""
        phase = decision.phase

        def say(key: str, **params: object) -> tuple[Message, ...]:
            return (Message(key, params),)

        def name(value: Phase) -> Message:
            return Message(f"phase.{int(value)}")

        if decision.closed:
            return say("blocked.closed")
        if isinstance(event, CaseClosed):
            if phase is not Phase.RECOVERY_CARE:
                return say("refused.close_phase", phase=name(phase))
            return _gate_messages(decision)
        if event.from_phase is not phase:
            return say("refused.from_phase", phase=name(phase), claimed=name(event.from_phase))
        if event.kind is TransitionKind.ADVANCE:
            if decision.next_phase is None:
                return say("refused.no_next", phase=name(phase))
            if event.to_phase is not decision.next_phase:
                return say(
                    "refused.order",
                    phase=name(phase),
                    next=name(decision.next_phase),
                    to=name(event.to_phase),
                )
            return _gate_messages(decision)
        if event.to_phase is not Phase.IMMEDIATE_SAFETY or phase is Phase.IMMEDIATE_SAFETY:
            return say("refused.relapse_phase", phase=name(phase))
        if not event.reason.strip():
            return say("refused.no_relapse_rule")
        return say("refused.relapse_not_judgement", rule=MANUAL_RELAPSE_RULE)

    def _blocked(
        self, key: str, decision: Decision, reasons: list[str] | None = None, **params: object
    ) -> TransitionBlockedError:
        head = render(Message(key, params), self.lang)
        if reasons is None:
            reasons = self._gate_reasons(decision)
        return TransitionBlockedError("\n  ".join([head, *reasons]), decision)

    def _refuse_unjustified(self, decision: Decision) -> None:
        """An advance or closing is never built on a transition the rules did not allow (a relapse
        may be: it moves towards more protection)."""
        if decision.unjustified:
            reasons = [render(u.message, self.lang) for u in decision.unjustified]
            raise self._blocked("blocked.unjustified", decision, reasons)

    def advance(
        self,
        case: Case,
        *,
        at: datetime | None = None,
        reason: str = "",
        event_id: str | None = None,
    ) -> Case:
        """Move the case to the next phase if the decision allows it; else raise
        :class:`TransitionBlockedError` carrying the decision."""
        decision = self.evaluate(case, at=at)
        if decision.closed:
            raise self._blocked("blocked.closed", decision)
        self._refuse_unjustified(decision)
        if decision.advance is None:
            target = decision.next_phase or decision.phase
            raise self._blocked("blocked.advance", decision, phase=Message(f"phase.{int(target)}"))
        event = _phase_event(decision, decision.advance, reason, event_id, self.rule_set())
        return self._append(case, event, decision)

    def relapse(
        self,
        case: Case,
        *,
        at: datetime | None = None,
        reason: str = "",
        event_id: str | None = None,
    ) -> Case:
        """Record a relapse (terugval) back to phase 1.

        Allowed when the decision proposes it, or, from phase 2 or 3, on a practitioner's
        judgement stated in ``reason`` (moving towards more protection is never blocked by the
        rules, but it is never silent either).
        """
        decision = self.evaluate(case, at=at)
        if decision.closed:
            raise self._blocked("blocked.closed", decision)
        transition = decision.relapse
        if transition is None and reason.strip() and decision.phase is not Phase.IMMEDIATE_SAFETY:
            transition = Transition(
                kind=TransitionKind.RELAPSE,
                from_phase=decision.phase,
                to_phase=Phase.IMMEDIATE_SAFETY,
                rules=(MANUAL_RELAPSE_RULE,),
                evidence=(),
            )
        if transition is None:
            phase = Message(f"phase.{int(decision.phase)}")
            key = (
                "refused.relapse_phase"
                if decision.phase is Phase.IMMEDIATE_SAFETY
                else "refused.no_relapse_rule"
            )
            reasons = [render(Message(key, {"phase": phase}), self.lang)]
            raise self._blocked("blocked.relapse", decision, reasons, phase=phase)
        event = _phase_event(decision, transition, reason, event_id, self.rule_set())
        return self._append(case, event, decision)

    def close(
        self,
        case: Case,
        *,
        handover_to: Sequence[str],
        at: datetime | None = None,
        summary: str = "",
        event_id: str | None = None,
    ) -> Case:
        """Close the case from phase 3 with the handover (overdracht) to chain partners."""
        decision = self.evaluate(case, at=at)
        if decision.closed:
            raise self._blocked("blocked.closed", decision)
        self._refuse_unjustified(decision)
        if not decision.may_close:
            reasons = None
            if decision.phase is not Phase.RECOVERY_CARE:  # the gates then answer another question
                phase = Message(f"phase.{int(decision.phase)}")
                reasons = [render(Message("refused.close_phase", {"phase": phase}), self.lang)]
            raise self._blocked("blocked.close", decision, reasons)
        event = CaseClosed(
            id=event_id or new_id(),
            at=decision.at,
            handover_to=tuple(handover_to),
            summary=summary,
            rule_set=self.rule_set(),
        )
        return self._append(case, event, decision)

    # --- replay ----------------------------------------------------------------------------------

    def load(self, case_id: str, events: Iterable[Event]) -> Case:
        """Load a case from storage: fold its events and re-decide every phase change and closing.

        The way to read a stored case (from your own store, or :func:`ketenzorg.caseformat.loads`
        for the engine's JSON, see :meth:`load_json`): a history that holds a transition the rules
        did not allow at its moment (edited by hand, forged, or from another policy) raises
        :class:`TransitionBlockedError` saying which event and why; an event that does not fit
        raises :class:`InvalidEventError`. The same check as :meth:`replay` and the command line.
        """
        return self.replay(case_id, events)

    def load_json(self, data: bytes | str) -> Case:
        """Load a case stored as the engine's JSON (:mod:`ketenzorg.caseformat`), re-deciding its
        transitions like :meth:`load`; a bad document raises :class:`CaseFormatError`."""
        from ketenzorg.caseformat import loads

        case = loads(data)
        return self.replay(case.case_id, case.events)

    def replay(self, case_id: str, events: Iterable[Event]) -> Case:
        """Rebuild a case from stored events, checking that every transition was allowed.

        Each phase change and closing is re-decided at its own moment under this engine's policy;
        a transition the rules would have blocked raises :class:`TransitionBlockedError` naming
        the event and why. Listeners are not called: replaying records nothing new.
        """
        history = tuple(events)
        if not history:
            raise InvalidEventError([Problem("events", "no events")])

        def refuse(index: int, event: PhaseChanged | CaseClosed, decision: Decision) -> None:
            reasons = "; ".join(render(m, self.lang) for m in self._why_refused(decision, event))
            raise TransitionBlockedError(
                f"events[{index}]: {event.type} at {event.at.isoformat()} was not allowed"
                + (f" ({reasons})" if reasons else ""),
                decision,
                event_id=event.id,
            )

        return self._redecide(case_id, history, None, refuse)._checked()

    def _redecide(
        self,
        case_id: str,
        history: tuple[Event, ...],
        places: set[int] | None,
        refused: Callable[[int, PhaseChanged | CaseClosed, Decision], None],
    ) -> Case:
        """Fold ``history``, re-deciding each transition (those at ``places``, or all) at its own
        moment; call ``refused`` for each one the rules did not allow. Returns the whole case."""
        case = Case(case_id, history[:1])
        start = 1
        # Fold the recorded facts between transitions in one go; stop to re-decide each transition.
        for index in range(1, len(history)):
            event = history[index]
            if not isinstance(event, PhaseChanged | CaseClosed) or (
                places is not None and index not in places
            ):
                continue
            case = case.extend(history[start:index], first_index=start)
            under = self._rules_under(event.rule_set)
            decision = self._decide(case, event.at, under)
            allowed = (
                decision.may_close if isinstance(event, CaseClosed) else _transition_allowed(decision, event)
            )
            if not allowed and under is not None and isinstance(event, PhaseChanged):
                allowed = _proposed_elsewhere(decision, event, under[0])
            if not allowed:
                refused(index, event, decision)
            case = case.extend((event,), first_index=index)
            start = index + 1
        return case.extend(history[start:], first_index=start)

    def _unjustified(self, case: Case, places: set[int]) -> tuple[UnjustifiedTransition, ...]:
        found: list[UnjustifiedTransition] = []

        def refused(index: int, event: PhaseChanged | CaseClosed, decision: Decision) -> None:
            reasons = self._why_refused(decision, event)
            what = Message("word.closing" if isinstance(event, CaseClosed) else "word.phase_change")
            params = {"what": what, "date": event.at, "index": index, "reasons": reasons}
            message = Message("unjustified.transition", params)
            found.append(UnjustifiedTransition(index, event.id, event.at, reasons, message))

        self._redecide(case.case_id, case.events, places, refused)
        return tuple(found)


def _gate_messages(decision: Decision) -> tuple[Message, ...]:
    """Each failed gate with what it misses, as a text in both languages."""
    texts: list[Message] = []
    for r in decision.blocking:
        said = {
            lang: f"{r.rule_id}: " + ", ".join(render(m, lang) for m in r.missing or (r.message,))
            for lang in LANGUAGES
        }
        texts.append(Message.literal(nl=said["nl"], en=said["en"]))
    return tuple(texts)


def _check_texts(rule: Rule, finding: Finding) -> None:
    """A plugin's rule may only use texts that can be shown (catalog keys or literal texts).

    The error says which text and why in general terms, never the text, its key or the failing
    parameter: a plugin may have built them from case data.
    """
    result = finding.result
    messages = [("message", result.message)]
    messages += [(f"missing[{i}]", m) for i, m in enumerate(result.missing)]
    messages += [(f"alerts[{i}].message", a.message) for i, a in enumerate(finding.alerts)]
    messages += [(f"evidence[{i}].message", e.message) for i, e in enumerate(result.evidence)]
    for where, message in messages:
        for lang in LANGUAGES:
            try:
                render(message, lang)
            except Exception as error:
                raise PluginError(
                    rule.plugin,
                    f"rule {rule.id!r}",
                    f"a text cannot be shown in {lang!r}: {where} ({_why_not_shown(message, error)})",
                ) from error


def _check_not_future(event: Event, latest_allowed: datetime) -> None:
    if event.at > latest_allowed:
        raise InvalidEventError(
            [
                Problem(
                    "at",
                    "is later than now (beyond the allowed clock skew): an event is recorded once it "
                    "has happened",
                )
            ]
        )


def _why_not_shown(message: object, error: Exception) -> str:
    if not isinstance(message, Message):
        return "not a Message"
    if message.key == LITERAL:
        return "a literal text needs a text in 'nl' and in 'en'"
    if not is_known_key(message.key):
        return "unknown message key"
    return f"a parameter is missing or cannot be shown: {type(error).__name__}"


def _transition_allowed(decision: Decision, event: PhaseChanged) -> bool:
    if event.kind is TransitionKind.ADVANCE:
        return decision.advance is not None and decision.advance.to_phase is event.to_phase
    if decision.relapse is not None:
        return True
    return MANUAL_RELAPSE_RULE in event.rules and bool(event.reason.strip())


def _evidence_ids(results: Iterable[RuleResult]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for r in results:
        for ev in r.evidence:
            seen.setdefault(ev.event_id, None)
    return tuple(seen)


def _phase_event(
    decision: Decision, transition: Transition, reason: str, event_id: str | None, rule_set: RuleSet
) -> PhaseChanged:
    return PhaseChanged(
        id=event_id or new_id(),
        at=decision.at,
        from_phase=transition.from_phase,
        to_phase=transition.to_phase,
        kind=transition.kind,
        reason=reason,
        rules=transition.rules,
        evidence=transition.evidence,
        rule_set=rule_set,
    )


def _proposed_elsewhere(decision: Decision, event: PhaseChanged, rules: tuple[Rule, ...]) -> bool:
    """Whether a relapse recorded under other rules was proposed by a rule this engine could not
    check (a plugin's that it does not have, in that version): moving towards more protection, it
    is then not held against the case; the difference is reported."""
    if event.kind is not TransitionKind.RELAPSE or decision.closed or event.from_phase is not decision.phase:
        return False
    if decision.phase is Phase.IMMEDIATE_SAFETY or event.to_phase is not Phase.IMMEDIATE_SAFETY:
        return False
    checked = {r.id for r in rules} | {MANUAL_RELAPSE_RULE}
    return any(rule_id not in checked for rule_id in event.rules)


def _difference(
    index: int,
    event: PhaseChanged | CaseClosed,
    recorded: RuleSet | None,
    mine: RuleSet,
    same_policy: bool,
) -> JudgedUnder:
    what = Message("word.closing" if isinstance(event, CaseClosed) else "word.phase_change")
    where: dict[str, object] = {"what": what, "date": event.at, "index": index}
    if recorded is None:
        return JudgedUnder(index, event.id, event.at, None, messages=(Message("ruleset.unknown", where),))
    not_here = tuple(p for p in recorded.plugins if not _has(mine, p))
    added = tuple(p for p in mine.plugins if not _has(recorded, p))
    messages = [
        Message(
            "ruleset.method" if p.name == CORE_RULES_PLUGIN else "ruleset.not_here",
            {**where, "plugin": p.label},
        )
        for p in not_here
    ]
    messages += [
        Message("ruleset.added", {**where, "plugin": p.label}) for p in added if p.name != CORE_RULES_PLUGIN
    ]
    changed = recorded.policy != mine.policy
    if changed:
        under = Message("ruleset.policy_then" if same_policy else "ruleset.policy_now")
        messages.append(Message("ruleset.policy", {**where, "fingerprint": recorded.policy, "under": under}))
    return JudgedUnder(index, event.id, event.at, recorded, not_here, added, changed, tuple(messages))


def _has(rule_set: RuleSet, plugin: PluginRules) -> bool:
    other = rule_set.plugin(plugin.name)
    return other is not None and other.same_plugin(plugin)
