"""The built-in phase rules. Each is a function of (state, policy, moment) with a stable id.

A rule returns a :class:`Finding`: its :class:`~ketenzorg.decision.RuleResult` (status, evidence,
what is missing), the alerts it raises and whether it proposes a relapse. Rules never do I/O and
never change the case; the engine combines their findings into a decision.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

import attrs

from ketenzorg.case import CaseState, open_tasks
from ketenzorg.decision import Alert, AlertLevel, Evidence, EvidenceKind, PartyRef, RuleResult, RuleStatus
from ketenzorg.domain import (
    CareSetting,
    CareSettingKind,
    GoalStatus,
    Party,
    PartyRole,
    Phase,
    PlanTask,
    RiskFactor,
)
from ketenzorg.events import (
    ConferenceHeld,
    Event,
    IncidentReported,
    InstrumentApplied,
    PlanRevised,
    ScoreGiven,
    TransitionKind,
)
from ketenzorg.instruments import AdvisedSetting, Urgency
from ketenzorg.messages import Message
from ketenzorg.policy import Policy
from ketenzorg.settings import Settings

__all__ = ["BUILTIN_RULES", "Finding", "Rule", "RuleContext", "rule"]

_ROLE_ORDER = {
    PartyRole.CLIENT: 0,
    PartyRole.PRACTITIONER: 1,
    PartyRole.CHAIN_PARTNER: 2,
    PartyRole.NETWORK: 3,
}


_CLIENT_LABEL = Message("label.client")

_REASON_CODES = {
    "missing.no_score": "no_score",
    "missing.no_rationale": "no_rationale",
    "missing.stale": "stale",
    "missing.since": "scored_before",
    "missing.below": "below",
}
"""The reason code of a :class:`PartyRef` for each text that says why a party's score does not do."""

Moment = tuple[datetime, int]
"""An event's place in time: its moment, then its place in the history (see :meth:`CaseState.order`)."""


@attrs.frozen
class Finding:
    """What one rule found."""

    result: RuleResult
    alerts: tuple[Alert, ...] = ()
    proposes_relapse: bool = False


@attrs.frozen(slots=False)
class RuleContext:
    """What a rule sees: the folded state, the organisation's policy and the moment of judgement."""

    state: CaseState
    policy: Policy
    at: datetime
    settings: Settings = attrs.field(factory=Settings)
    """The settings of the rule's own plugin in this engine (``ketenzorg_register_settings``):
    each declared setting, the policy's value or the default; empty for a plugin without settings."""

    @property
    def phase(self) -> Phase:
        return self.state.phase

    def party_ref(self, party_id: str, reason: str | Message = "") -> PartyRef:
        """``party_id`` as a rule result names it: id and role, with a reason code (or the
        method's text for why the party's score does not do, from which the code is taken)."""
        code = _REASON_CODES.get(reason.key, reason.key) if isinstance(reason, Message) else reason
        return PartyRef(party_id, self.state.known_parties[party_id].role, code)

    def order(self, event: Event) -> Moment:
        """``event``'s place in time; events at the same moment keep their recorded order."""
        return self.state.order(event)

    @functools.cached_property
    def phase_start(self) -> Moment:
        """Where the current phase began: the last phase change, or the opening of the case."""
        changes = self.state.phase_changes
        return self.state.order(changes[-1]) if changes else self.state.order(self.state.opened)

    def last_conference(
        self, kind: str | None = None, *, since: Event | None = None
    ) -> ConferenceHeld | None:
        """The latest conference (of ``kind``, e.g. ``"marac"``) held up to the moment of judgement,
        or ``None``; with ``since``, only one held after that event (in :meth:`order`: a
        conference recorded after an event of the same moment was held knowing it)."""
        after = self.order(since) if since is not None else None
        found: tuple[Moment, ConferenceHeld] | None = None
        for conference in self.state.conferences.values():
            if (kind is not None and conference.kind != kind) or conference.at > self.at:
                continue
            moment = self.order(conference)
            if (after is None or moment > after) and (found is None or moment > found[0]):
                found = (moment, conference)
        return found[1] if found is not None else None

    def open_tasks(
        self, kind: str | None = None, *, conference_kind: str | None = None
    ) -> tuple[PlanTask, ...]:
        """The tasks still to be done (:func:`ketenzorg.case.open_tasks`), of ``kind`` and for a
        conference of ``conference_kind`` when given."""
        return tuple(
            task
            for task in open_tasks(self.state)
            if (kind is None or task.kind == kind)
            and (conference_kind is None or task.conference_kind == conference_kind)
        )

    def party_label(self, party_id: str) -> Message | str:
        """How a party is named in a message; the client by role, never by name."""
        party = self.state.known_parties.get(party_id)
        if party is None:
            return party_id
        if party.role is PartyRole.CLIENT:
            return _CLIENT_LABEL
        return party.name

    @functools.cached_property
    def required_parties(self) -> tuple[Party, ...]:
        """Members of the care team whose role must score, in a stable order.

        A tuple: every rule of an evaluation sees the same context, so nothing it can reach from
        it may be changed by another rule.
        """
        required = self.policy.required_roles
        return tuple(
            sorted(
                (p for p in self.state.care_team.values() if p.role in required),
                key=lambda p: (_ROLE_ORDER[p.role], p.name, p.id),
            )
        )

    def is_stale(self, score: ScoreGiven) -> bool:
        return self.at - score.at > self.policy.max_score_age

    @functools.cached_property
    def reweigh_point(self) -> tuple[Moment, Message] | None:
        """The event after which a score must be given to carry an advance, and why.

        A score given before the case entered its current phase answered the previous phase's
        question (so phase 2 cannot be passed through on phase-1 scores), and a score given
        before the latest unsafe incident judged a situation that no longer exists [design].
        Entering phase 1 again is a relapse. "Before" follows :meth:`order`: a score recorded
        after an incident of the same moment was given knowing it.
        """
        incident = max((self.order(i) for i in self.state.incidents if i.at <= self.at), default=None)
        start = self.phase_start
        if incident is not None and incident > start:
            return incident, Message("word.incident", {"date": incident[0]})
        since = self.state.phase_since
        if self.state.phase_changes and since <= self.at:
            change = self.state.phase_changes[-1]
            key = "word.relapse" if change.kind is TransitionKind.RELAPSE else "word.phase_start"
            return start, Message(key, {"date": since, "phase": int(change.to_phase)})
        return None

    def why_not_counting(
        self, score: ScoreGiven | None, party_id: str, reweigh: tuple[Moment, Message] | None
    ) -> Message | None:
        """Why the party's most recent score does not count, or ``None`` when it does."""
        label = self.party_label(party_id)
        if score is None:
            return Message("missing.no_score", {"party": label})
        if not score.has_rationale:
            return Message("missing.no_rationale", {"party": label})
        if self.is_stale(score):
            return Message("missing.stale", {"party": label, "date": score.at})
        if reweigh is not None and self.order(score) <= reweigh[0]:
            return Message("missing.since", {"party": label, "since": reweigh[1]})
        return None

    def counting_score(self, party_id: str) -> ScoreGiven | None:
        """The party's most recent score if it counts: it has a rationale, is not older than
        the maximum age and was given after the latest incident or relapse."""
        score = self.state.latest_scores.get(party_id)
        if self.why_not_counting(score, party_id, self.reweigh_point) is not None:
            return None
        return score

    def score_evidence(self, score: ScoreGiven) -> Evidence:
        return Evidence(
            kind=EvidenceKind.SCORE,
            event_id=score.id,
            at=score.at,
            party_id=score.party_id,
            value=score.score,
            message=Message(
                "evidence.score",
                {"party": self.party_label(score.party_id), "score": score.score, "date": score.at},
            ),
        )

    def incident_evidence(self, incident: IncidentReported) -> Evidence:
        acute = Message("word.acute") if incident.acute else ""
        return Evidence(
            kind=EvidenceKind.INCIDENT,
            event_id=incident.id,
            at=incident.at,
            party_id=incident.reported_by,
            message=Message(
                "evidence.incident",
                {
                    "date": incident.at,
                    "severity": Message(f"severity.{incident.severity.value}"),
                    "acute": acute,
                },
            ),
        )

    def conference_evidence(self, conference: ConferenceHeld) -> Evidence:
        client = "word.client_present" if conference.client_present else "word.client_absent"
        return Evidence(
            kind=EvidenceKind.CONFERENCE,
            event_id=conference.id,
            at=conference.at,
            message=Message("evidence.conference", {"date": conference.at, "client": Message(client)}),
        )

    def plan_evidence(self, plan: PlanRevised) -> Evidence:
        return Evidence(
            kind=EvidenceKind.PLAN,
            event_id=plan.id,
            at=plan.at,
            message=Message("evidence.plan", {"version": self.state.plan_version, "date": plan.at}),
        )

    def incidents_since(
        self, moment: datetime | None, *, acute: bool | None = None
    ) -> Iterator[IncidentReported]:
        """The incidents from ``moment`` on (all with ``None``) up to the moment of judgement.

        To ask what happened since an event, use :meth:`incidents_after`.
        """
        for incident in self.state.incidents:
            if moment is not None and incident.at < moment:
                continue
            if incident.at > self.at:
                continue
            if acute is None or incident.acute is acute:
                yield incident

    def incidents_after(
        self, event: Event | Moment | None, *, acute: bool | None = None
    ) -> Iterator[IncidentReported]:
        """The incidents after ``event`` (all with ``None``) up to the moment of judgement.

        An incident at the same moment as ``event`` but recorded before it came before it.
        """
        after = self.order(event) if isinstance(event, Event) else event
        for incident in self.state.incidents:
            if incident.at > self.at or (after is not None and self.order(incident) <= after):
                continue
            if acute is None or incident.acute is acute:
                yield incident

    def assessment_evidence(self, applied: InstrumentApplied) -> Evidence:
        result = applied.result
        # enumeration values and texts are rendered in the reader's language (messages.py)
        parts: list[object] = [c for c in (result.safety_code, result.urgency, result.advised_setting) if c]
        parts += [
            Message("word.classification", {"display": c.display, "fit": f"{c.fit:.0%}"})
            for c in result.classifications
        ]
        summary = tuple(parts) if parts else Message("word.none")
        return Evidence(
            kind=EvidenceKind.ASSESSMENT,
            event_id=applied.id,
            at=applied.at,
            party_id=applied.applied_by,
            message=Message(
                "evidence.assessment",
                {
                    "instrument": applied.instrument_id,
                    "version": applied.instrument_version,
                    "date": applied.at,
                    "summary": summary,
                },
            ),
        )

    def assessments(self) -> list[InstrumentApplied]:
        """The latest application of each instrument up to the moment of judgement."""
        latest: dict[str, InstrumentApplied] = {}
        for applied in self.state.assessments:
            if applied.at <= self.at:
                known = latest.get(applied.instrument_id)
                if known is None or applied.at >= known.at:
                    latest[applied.instrument_id] = applied
        return [latest[key] for key in sorted(latest)]


RuleFunction = Callable[[RuleContext], Finding]


@attrs.frozen
class Rule:
    """A rule with its stable id; ``gate`` rules must pass before a case advances."""

    id: str
    check: RuleFunction
    gate: bool = True
    plugin: str = "ketenzorg.method"
    """The plugin that registered the rule (set by the registry)."""
    overrides: str | None = None
    """The plugin whose rule of the same id this rule replaced (set by the registry), if any."""

    def __call__(self, ctx: RuleContext) -> Finding:
        return self.check(ctx)


def rule(rule_id: str, *, gate: bool = True) -> Callable[[RuleFunction], Rule]:
    """Declare a rule function under a stable, language-neutral id."""

    def wrap(check: RuleFunction) -> Rule:
        return Rule(rule_id, check, gate)

    return wrap


_OUTCOMES = {True: (RuleStatus.PASSED, ".passed"), False: (RuleStatus.FAILED, ".failed")}


def _result(
    ctx: RuleContext,
    rule_id: str,
    key: str,
    passed: bool,
    params: dict[str, object] | None = None,
    evidence: Iterable[Evidence] = (),
    missing: Iterable[Message] = (),
    *,
    gate: bool = True,
    parties: Iterable[PartyRef] = (),
) -> RuleResult:
    status, suffix = _OUTCOMES[passed]
    return RuleResult(
        rule_id=rule_id,
        status=status,
        message=Message(key + suffix, params or {}),
        evidence=tuple(evidence),
        missing=tuple(missing),
        gate=gate,
        parties=tuple(parties),
    )


@functools.cache
def _not_applicable(rule_id: str, key: str = "rule.not_applicable", *, gate: bool = True) -> Finding:
    return Finding(RuleResult(rule_id, RuleStatus.NOT_APPLICABLE, Message(key), gate=gate))


# --- alerts: in every phase ----------------------------------------------------------------------


@rule("alert.acute-score")
def acute_score(ctx: RuleContext) -> Finding:
    """Any party's most recent score in the acute band (0-2) raises the protection alert.

    Deliberately stricter than a counting score: a 0-2 without rationale or past the maximum age
    still alerts until the same party scores again. In an acute band, doubt favours protection.
    """
    ceiling = ctx.policy.acute_ceiling
    evidence: list[Evidence] = []
    alerts: list[Alert] = []
    parties: list[PartyRef] = []
    for party_id, score in sorted(ctx.state.latest_scores.items()):
        if party_id in ctx.state.care_team and score.score <= ceiling:
            item = ctx.score_evidence(score)
            evidence.append(item)
            parties.append(ctx.party_ref(party_id, "acute_score"))
            alerts.append(
                Alert(
                    "alert.acute-score",
                    AlertLevel.IMMEDIATE_PROTECTION,
                    Message(
                        "alert.acute-score",
                        {"party": ctx.party_label(party_id), "score": score.score},
                    ),
                    (item,),
                )
            )
    result = _result(
        ctx,
        "alert.acute-score",
        "rule.alert.acute-score",
        not alerts,
        {"ceiling": ceiling},
        evidence,
        parties=parties,
    )
    return Finding(result, tuple(alerts))


@rule("alert.acute-incident")
def acute_incident(ctx: RuleContext) -> Finding:
    """An acute incident since the last case conference raises the protection alert."""
    last = ctx.state.last_conference
    incidents = list(ctx.incidents_after(last, acute=True))
    evidence = [ctx.incident_evidence(i) for i in incidents]
    alerts = tuple(
        Alert(
            "alert.acute-incident",
            AlertLevel.IMMEDIATE_PROTECTION,
            Message("alert.acute-incident", {"date": i.at}),
            (e,),
        )
        for i, e in zip(incidents, evidence, strict=True)
    )
    missing = [Message("missing.conference", {"date": i.at}) for i in incidents[-1:]]
    result = _result(
        ctx,
        "alert.acute-incident",
        "rule.alert.acute-incident",
        not incidents,
        None,
        evidence,
        missing,
    )
    return Finding(result, alerts)


@rule("reassess.incident")
def reassess_incident(ctx: RuleContext) -> Finding:
    """A non-acute unsafe incident since the last conference asks for safety to be re-weighed.

    The scores on file predate the incident, so they cannot carry an advance; in phase 2 or 3 it
    also raises a re-assessment alert [design].
    """
    last = ctx.state.last_conference
    incidents = list(ctx.incidents_after(last, acute=False))
    evidence = [ctx.incident_evidence(i) for i in incidents]
    alerts: tuple[Alert, ...] = ()
    if incidents and ctx.phase is not Phase.IMMEDIATE_SAFETY:
        alerts = tuple(
            Alert(
                "reassess.incident",
                AlertLevel.REASSESS,
                Message("alert.reassess", {"date": i.at}),
                (e,),
            )
            for i, e in zip(incidents, evidence, strict=True)
        )
    missing = [Message("missing.conference", {"date": i.at}) for i in incidents[-1:]]
    result = _result(ctx, "reassess.incident", "rule.reassess", not incidents, None, evidence, missing)
    return Finding(result, alerts)


# --- advancing -----------------------------------------------------------------------------------


def _consensus(ctx: RuleContext, rule_id: str, threshold: int) -> Finding:
    evidence: list[Evidence] = []
    missing: list[Message] = []
    blocking: list[PartyRef] = []
    parties = ctx.required_parties
    if not parties:
        missing.append(Message("missing.no_required_party"))
    # The client and the own practitioner always take part: a team without them cannot agree.
    present = {p.role for p in parties}
    for role, key in (
        (PartyRole.CLIENT, "missing.no_client"),
        (PartyRole.PRACTITIONER, "missing.no_practitioner"),
    ):
        if role in ctx.policy.required_roles and role not in present:
            missing.append(Message(key))
    reweigh = ctx.reweigh_point
    for party in parties:
        label = ctx.party_label(party.id)
        score = ctx.state.latest_scores.get(party.id)
        reason = ctx.why_not_counting(score, party.id, reweigh)
        if score is not None:
            evidence.append(ctx.score_evidence(score))
        if reason is None and score is not None and score.score < threshold:
            reason = Message("missing.below", {"party": label, "score": score.score, "threshold": threshold})
        if reason is not None:
            missing.append(reason)
            blocking.append(ctx.party_ref(party.id, reason))
    result = _result(
        ctx,
        rule_id,
        "rule.consensus",
        not missing,
        {"threshold": threshold},
        evidence,
        missing,
        parties=blocking,
    )
    return Finding(result)


@rule("advance.safety-consensus")
def safety_consensus(ctx: RuleContext) -> Finding:
    """Phase 1 -> 2: every required party's counting score is at least 6 [method]."""
    if ctx.phase is not Phase.IMMEDIATE_SAFETY:
        return _not_applicable("advance.safety-consensus")
    return _consensus(ctx, "advance.safety-consensus", ctx.policy.advance_threshold)


@rule("advance.safety-agreements")
def safety_agreements(ctx: RuleContext) -> Finding:
    """Phase 1 -> 2: the agreements that stop the violence are in the plan [design]."""
    if ctx.phase is not Phase.IMMEDIATE_SAFETY or not ctx.policy.advance_requires_agreements:
        return _not_applicable("advance.safety-agreements")
    plan = ctx.state.plan
    if plan is None:
        missing = [Message("missing.no_plan")]
        return Finding(_result(ctx, "advance.safety-agreements", "rule.agreements", False, missing=missing))
    missing = (
        [] if plan.agreements else [Message("missing.no_agreements", {"version": ctx.state.plan_version})]
    )
    last_change = ctx.state.phase_changes[-1] if ctx.state.phase_changes else None
    if (
        last_change is not None
        and last_change.kind is TransitionKind.RELAPSE
        and ctx.order(plan) < ctx.order(last_change)
    ):
        # A relapse asks for a plan revision: the old agreements did not keep everyone safe.
        missing.append(Message("missing.plan_after_relapse", {"date": last_change.at}))
    return Finding(
        _result(
            ctx,
            "advance.safety-agreements",
            "rule.agreements",
            not missing,
            evidence=[ctx.plan_evidence(plan)],
            missing=missing,
        )
    )


@rule("advance.stable-consensus")
def stable_consensus(ctx: RuleContext) -> Finding:
    """Phase 2 -> 3: every required party's counting score is at least 7 [method]."""
    if ctx.phase is not Phase.RISK_DRIVEN_CARE:
        return _not_applicable("advance.stable-consensus")
    return _consensus(ctx, "advance.stable-consensus", ctx.policy.stable_threshold)


@rule("advance.stability-window")
def stability_window(ctx: RuleContext) -> Finding:
    """Phase 2 -> 3: no unsafe incident in the stability window (default 90 days) [design]."""
    if ctx.phase is not Phase.RISK_DRIVEN_CARE:
        return _not_applicable("advance.stability-window")
    window = ctx.policy.stability_window
    # An incident exactly one window ago no longer blocks: "stable from" is the first good moment.
    incidents = [i for i in ctx.incidents_since(ctx.at - window) if i.at > ctx.at - window]
    evidence = [ctx.incident_evidence(i) for i in incidents]
    missing = []
    if incidents:
        last = max(incidents, key=lambda i: i.at)
        missing.append(Message("missing.window", {"date": last.at, "until": last.at + window}))
    result = _result(
        ctx,
        "advance.stability-window",
        "rule.stability",
        not incidents,
        {"days": window.days},
        evidence,
        missing,
    )
    return Finding(result)


# --- the plan ------------------------------------------------------------------------------------


@rule("plan.top-3")
def top_three(ctx: RuleContext) -> Finding:
    """At most three active work goals, ranked 1..n once each (the Top 3) [method]."""
    plan = ctx.state.plan
    if plan is None:
        return _not_applicable("plan.top-3", "rule.top3.not_applicable")
    limit = ctx.policy.max_active_goals
    active = [g for g in plan.work_goals if g.status is GoalStatus.ACTIVE]
    missing: list[Message] = []
    if len(active) > limit:
        missing.append(Message("missing.too_many_goals", {"count": len(active), "max": limit}))
    ranks = sorted(g.rank for g in active if g.rank is not None)
    if len(ranks) != len(active) or ranks != list(range(1, len(active) + 1)):
        shown = [str(g.rank) if g.rank is not None else "-" for g in active]
        missing.append(Message("missing.bad_ranks", {"ranks": shown, "count": len(active)}))
    result = _result(
        ctx,
        "plan.top-3",
        "rule.top3",
        not missing,
        {"max": limit},
        [ctx.plan_evidence(plan)],
        missing,
    )
    return Finding(result)


@rule("plan.made-in-conference")
def plan_in_conference(ctx: RuleContext) -> Finding:
    """The current plan was made in a case conference with the client present [method]."""
    plan = ctx.state.plan
    if plan is None or not ctx.policy.plan_requires_client_present:
        return _not_applicable("plan.made-in-conference", "rule.plan-conference.not_applicable")
    conference = ctx.state.conferences[plan.conference_id]
    missing = [] if conference.client_present else [Message("missing.client_absent", {"date": conference.at})]
    result = _result(
        ctx,
        "plan.made-in-conference",
        "rule.plan-conference",
        not missing,
        None,
        [ctx.plan_evidence(plan), ctx.conference_evidence(conference)],
        missing,
    )
    return Finding(result)


# --- relapse -------------------------------------------------------------------------------------


@rule("relapse.score")
def relapse_score(ctx: RuleContext) -> Finding:
    """In phase 2 or 3, a required party's counting score below the relapse line proposes a
    relapse [design]. The line is the first gate (``advance_threshold``, 6 by default) unless the
    organisation sets its own (``relapse_threshold``, never above the first gate).

    Here a score counts when it has a rationale and is not too old; unlike for advancing, an
    incident after it does not set it aside (that would let an incident withdraw a relapse).
    """
    if ctx.phase is Phase.IMMEDIATE_SAFETY:
        return _not_applicable("relapse.score")
    threshold = ctx.policy.relapse_below
    evidence: list[Evidence] = []
    missing: list[Message] = []
    parties: list[PartyRef] = []
    for party in ctx.required_parties:
        # A later incident never withdraws a low score: only a new score by the party does.
        score = ctx.state.latest_scores.get(party.id)
        if score is None or ctx.why_not_counting(score, party.id, None) is not None:
            continue
        if score.score < threshold:
            evidence.append(ctx.score_evidence(score))
            parties.append(ctx.party_ref(party.id, "below"))
            missing.append(
                Message(
                    "missing.below",
                    {
                        "party": ctx.party_label(party.id),
                        "score": score.score,
                        "threshold": threshold,
                    },
                )
            )
    result = _result(
        ctx,
        "relapse.score",
        "rule.relapse.score",
        not evidence,
        {"threshold": threshold},
        evidence,
        missing,
        parties=parties,
    )
    return Finding(result, proposes_relapse=bool(evidence))


@rule("relapse.acute-incident")
def relapse_incident(ctx: RuleContext) -> Finding:
    """In phase 2 or 3, an acute incident since the last phase change proposes a relapse."""
    if ctx.phase is Phase.IMMEDIATE_SAFETY:
        return _not_applicable("relapse.acute-incident")
    incidents = list(ctx.incidents_after(ctx.phase_start, acute=True))
    evidence = [ctx.incident_evidence(i) for i in incidents]
    result = _result(ctx, "relapse.acute-incident", "rule.relapse.incident", not incidents, None, evidence)
    return Finding(result, proposes_relapse=bool(incidents))


# --- instrument results ---------------------------------------------------------------------------


def _setting_level(setting: CareSetting) -> int:
    if setting.kind is CareSettingKind.AMBULANT:
        return AdvisedSetting.SPECIALIST_AMBULANT.level  # ambulant care may be specialist
    if setting.location is not None and setting.location.secret:
        return AdvisedSetting.SECRET_SHELTER.level
    return AdvisedSetting.OPEN_SHELTER.level


def _setting_label(setting: CareSetting) -> Message:
    if setting.kind is CareSettingKind.AMBULANT:
        return Message("care.ambulant")
    secret = setting.location is not None and setting.location.secret
    return Message("care.secret_shelter" if secret else "care.shelter")


@rule("alert.instrument-urgent")
def instrument_urgent(ctx: RuleContext) -> Finding:
    """An instrument result with immediate urgency raises the protection alert until a case
    conference after it has weighed it (any phase). Every application counts, not only the
    latest: a lighter result afterwards does not clear an urgent one, a conference does."""
    last = ctx.state.last_conference
    urgent = [
        a
        for a in ctx.state.assessments
        if a.result.urgency is Urgency.IMMEDIATE
        and a.at <= ctx.at
        and (last is None or ctx.order(a) > ctx.order(last))
    ]
    evidence = [ctx.assessment_evidence(a) for a in urgent]
    alerts = tuple(
        Alert(
            "alert.instrument-urgent",
            AlertLevel.IMMEDIATE_PROTECTION,
            Message(
                "alert.instrument-urgent",
                {
                    "instrument": a.instrument_id,
                    "date": a.at,
                    "code": a.result.safety_code or Message("word.none"),
                },
            ),
            (e,),
        )
        for a, e in zip(urgent, evidence, strict=True)
    )
    missing = [Message("missing.conference_after", {"date": a.at}) for a in urgent[-1:]]
    result = _result(
        ctx,
        "alert.instrument-urgent",
        "rule.instrument-urgent",
        not urgent,
        evidence=evidence,
        missing=missing,
    )
    return Finding(result, alerts)


@rule("instrument.advice", gate=False)
def instrument_advice(ctx: RuleContext) -> Finding:
    """The instruments' advice, in every phase; in phase 1 also whether the care setting is at
    least as protective as advised. Advisory: the setting is chosen with the client, not by a rule."""
    assessments = ctx.assessments()
    if not assessments:
        return _not_applicable("instrument.advice", "rule.instrument-advice.not_applicable", gate=False)
    current = ctx.state.care_setting
    evidence = [ctx.assessment_evidence(a) for a in assessments]
    missing: list[Message] = []
    alerts: list[Alert] = []
    for applied, item in zip(assessments, evidence, strict=True):
        advised = applied.result.advised_setting
        if (
            ctx.phase is Phase.IMMEDIATE_SAFETY
            and advised is not None
            and advised.level > _setting_level(current)
        ):
            missing.append(
                Message(
                    "missing.setting",
                    {
                        "instrument": applied.instrument_id,
                        "advised": Message(f"setting.{advised.value}"),
                        "current": _setting_label(current),
                    },
                )
            )
        for text in applied.result.advice:
            alerts.append(
                Alert(
                    "instrument.advice",
                    AlertLevel.ADVICE,
                    Message("alert.advice", {"instrument": applied.instrument_id, "text": text}),
                    (item,),
                )
            )
    key = "rule.instrument-advice" if ctx.phase is Phase.IMMEDIATE_SAFETY else "rule.instrument-advice.later"
    result = _result(
        ctx, "instrument.advice", key, not missing, evidence=evidence, missing=missing, gate=False
    )
    return Finding(result, tuple(alerts))


@rule("plan.risk-factors", gate=False)
def risk_factors_addressed(ctx: RuleContext) -> Finding:
    """Phase 2: every risk factor found (by an instrument or in the plan) is addressed by an active
    work goal. Advisory: with at most three active goals, not all can be worked on at once."""
    if ctx.phase is not Phase.RISK_DRIVEN_CARE:
        return _not_applicable("plan.risk-factors", gate=False)
    plan = ctx.state.plan
    factors: dict[str, tuple[RiskFactor, str]] = {}
    evidence: list[Evidence] = []
    for applied in ctx.assessments():
        if applied.result.risk_factors:
            evidence.append(ctx.assessment_evidence(applied))
        for factor in applied.result.risk_factors:
            factors.setdefault(factor.code or factor.id, (factor, applied.instrument_id))
    addressed: set[str] = set()
    if plan is not None:
        evidence.append(ctx.plan_evidence(plan))
        by_id = {f.id: f for f in plan.risk_factors}
        for factor in plan.risk_factors:
            factors.setdefault(factor.code or factor.id, (factor, "plan"))
        for goal in plan.work_goals:
            target = by_id.get(goal.risk_factor_id or "")
            if goal.status is GoalStatus.ACTIVE and target is not None:
                addressed.add(target.code or target.id)
    if not factors:
        return _not_applicable("plan.risk-factors", "rule.risk-factors.not_applicable", gate=False)
    missing = [
        Message("missing.risk_factor", {"factor": factor.text, "source": source})
        for key, (factor, source) in factors.items()
        if key not in addressed
    ]
    result = _result(
        ctx,
        "plan.risk-factors",
        "rule.risk-factors",
        not missing,
        evidence=evidence,
        missing=missing,
        gate=False,
    )
    return Finding(result)


BUILTIN_RULES: tuple[Rule, ...] = (
    acute_score,
    acute_incident,
    reassess_incident,
    relapse_score,
    relapse_incident,
    safety_consensus,
    safety_agreements,
    stable_consensus,
    stability_window,
    top_three,
    plan_in_conference,
    instrument_urgent,
    instrument_advice,
    risk_factors_addressed,
)
"""The method's rules, in the order they are reported."""
