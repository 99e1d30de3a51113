"""The data the report's timeline is drawn from: a pure function of (case, engine, moment).

Nothing here decides anything: the phases come from the recorded phase changes, the alerts from
the engine's own decisions (:meth:`Engine.evaluate <ketenzorg.engine.Engine.evaluate>`), the gate
lines from the engine's policy. A long history stays readable: the most recent items of each kind
are kept one by one, older ones are gathered per period (:class:`Bucket`), so the chart and its
tables keep a bounded size however long the case has run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Generic, TypeVar

import attrs

from ketenzorg.decision import AlertLevel
from ketenzorg.domain import PartnerType, PartyRole, Text, to_text
from ketenzorg.events import (
    ConferenceHeld,
    IncidentReported,
    InstrumentApplied,
    PhaseChanged,
    PlanRevised,
    ScoreGiven,
    TransitionKind,
)
from ketenzorg.messages import Message

if TYPE_CHECKING:
    from ketenzorg.case import Case
    from ketenzorg.engine import Engine
    from ketenzorg.report.disclosed import DisclosedView

__all__ = [
    "DETAIL",
    "AlertMark",
    "Bucket",
    "GateLine",
    "IncidentMark",
    "InstrumentMark",
    "PhaseBand",
    "ScorePoint",
    "ScoreSeries",
    "Tick",
    "Timeline",
    "build_timeline",
]

DETAIL = 40
"""At most how many of the most recent items of each kind (per party for scores) are shown one by
one; the chart's detailed part begins where no kind has more, older items are gathered into at
most :data:`BUCKETS` periods."""
BUCKETS = 8
ALERT_MOMENTS = 20
"""At how many of the most recent moments that can raise an alert (an incident, an instrument
result) the engine is asked for its alerts; each asks for a replay of the history up to it."""

T = TypeVar("T")


@attrs.frozen
class Bucket(Generic[T]):
    """Older items of one kind gathered over a period ``start``..``end`` (inclusive)."""

    start: datetime
    end: datetime
    items: tuple[T, ...]

    @property
    def count(self) -> int:
        return len(self.items)


@attrs.frozen
class PhaseBand:
    """A period the case spent in one phase. ``entered`` says how it began: ``opened``,
    ``advance`` or ``relapse`` (a step back)."""

    index: int
    phase: int
    start: datetime
    end: datetime
    entered: str
    reason: str | None = ""
    """The reason recorded with the phase change (free text from the case); ``None``: withheld
    from the report's recipient."""


@attrs.frozen
class ScorePoint:
    """One safety score (0-10) with its rationale; ``counts`` is false without a rationale."""

    event_id: str
    at: datetime
    score: int
    rationale: str | None
    """``None``: withheld from the report's recipient."""
    counts: bool
    in_conference: bool


@attrs.frozen
class ScoreSeries:
    """One party's scores over time: the recent ones one by one, older ones per period."""

    index: int
    party_id: str
    role: PartyRole
    partner_type: PartnerType | None
    name: str
    """The party's name (``""`` for the client, who is named by role only, as decisions do)."""
    member: bool
    """Whether the party is in the care team now."""
    points: tuple[ScorePoint, ...]
    older: tuple[Bucket[ScorePoint], ...] = ()


@attrs.frozen
class GateLine:
    """A threshold of the policy drawn across the score chart: ``advance`` (to phase 2),
    ``stable`` (to phase 3) or ``acute`` (the ceiling of the acute band)."""

    key: str
    threshold: int


@attrs.frozen
class IncidentMark:
    event_id: str
    at: datetime
    severity: str
    acute: bool
    description: str | None
    """``None``: withheld from the report's recipient."""


@attrs.frozen
class Tick:
    """A conference (``kind`` is its conference kind) or a plan version (``version``)."""

    event_id: str
    at: datetime
    what: str
    """``conference`` or ``plan``."""
    kind: str = ""
    version: int = 0
    client_present: bool = False


@attrs.frozen
class InstrumentMark:
    event_id: str
    at: datetime
    instrument_id: str
    name: Text | None
    """The instrument's name, when this engine has the instrument."""
    level: Text | None
    """The level on the instrument's own scale, as its spec names it (or its code)."""
    safety_code: str | None
    urgency: str | None


@attrs.frozen
class AlertMark:
    """An alert as the engine raised it at ``at`` (the moment of the event that raised it)."""

    at: datetime
    rule_id: str
    level: AlertLevel
    message: Message
    current: bool
    """Whether the engine still raises it now."""


@attrs.frozen
class Timeline:
    """Everything the timeline chart and its tables show, from ``start`` to ``end``."""

    start: datetime
    view_start: datetime
    """Where the part shown item by item begins (``start`` unless the history is long); before it,
    items are gathered per period."""
    end: datetime
    bands: tuple[PhaseBand, ...]
    series: tuple[ScoreSeries, ...]
    gates: tuple[GateLine, ...]
    incidents: tuple[IncidentMark, ...]
    older_incidents: tuple[Bucket[IncidentMark], ...]
    ticks: tuple[Tick, ...]
    older_ticks: tuple[Bucket[Tick], ...]
    instruments: tuple[InstrumentMark, ...]
    older_instruments: tuple[Bucket[InstrumentMark], ...]
    alerts: tuple[AlertMark, ...]

    @property
    def aggregated(self) -> bool:
        """Whether older items are gathered per period (a long history)."""
        return self.view_start > self.start


def _view_start(start: datetime, kinds: Sequence[Sequence[datetime]]) -> datetime:
    """Where the chart's detailed part begins: late enough that no kind of item (each party's
    scores, incidents, ticks, instrument results) has more than :data:`DETAIL` items after it."""
    view = start
    for moments in kinds:
        if len(moments) > DETAIL:
            view = max(view, sorted(moments)[-DETAIL])
    return view


def _split(
    items: Sequence[T], at: Callable[[T], datetime], view: datetime
) -> tuple[tuple[T, ...], tuple[Bucket[T], ...]]:
    """The items from ``view`` on one by one; older ones in at most :data:`BUCKETS` periods of
    equal length (empty periods left out)."""
    older = [item for item in items if at(item) < view]
    recent = tuple(item for item in items if at(item) >= view)
    if not older:
        return recent, ()
    first, last = at(older[0]), view
    width = (last - first) / BUCKETS or timedelta(seconds=1)
    groups: dict[int, list[T]] = {}
    for item in older:
        groups.setdefault(min(int((at(item) - first) / width), BUCKETS - 1), []).append(item)
    buckets = tuple(
        Bucket(first + width * slot, min(last, first + width * (slot + 1)), tuple(group))
        for slot, group in sorted(groups.items())
    )
    return recent, buckets


def _shown(view: DisclosedView | None, event_id: str, value: str) -> str | None:
    return value if view is None else view.text(event_id, value)


def _bands(case: Case, end: datetime, view: DisclosedView | None) -> tuple[PhaseBand, ...]:
    state = case.state
    changes: list[PhaseChanged] = list(state.phase_changes)
    if view is not None and not all(view.has(c.id) for c in changes):
        return ()  # the phase history did not reach the recipient (whole: a gap would mislead)
    starts: list[tuple[datetime, int, str, str | None]] = [(state.opened.at, 1, "opened", "")]
    starts += [(c.at, int(c.to_phase), c.kind.value, _shown(view, c.id, c.reason)) for c in changes]
    bands = []
    for index, (start, phase, entered, reason) in enumerate(starts):
        until = starts[index + 1][0] if index + 1 < len(starts) else end
        bands.append(PhaseBand(index, phase, start, max(until, start), entered, reason))
    return tuple(bands)


def _gates(engine: Engine) -> tuple[GateLine, ...]:
    policy = engine.policy
    return (
        GateLine("acute", policy.acute_ceiling),
        GateLine("advance", policy.advance_threshold),
        GateLine("stable", policy.stable_threshold),
    )


def _scores(case: Case, view: DisclosedView | None) -> dict[str, list[ScorePoint]]:
    by_party: dict[str, list[ScorePoint]] = {}
    for event in case.events:
        if isinstance(event, ScoreGiven) and (view is None or view.has(event.id)):
            by_party.setdefault(event.party_id, []).append(
                ScorePoint(
                    event.id,
                    event.at,
                    event.score,
                    _shown(view, event.id, event.rationale),
                    event.has_rationale,
                    event.conference_id is not None,
                )
            )
    return by_party


def _series(
    case: Case, by_party: dict[str, list[ScorePoint]], view: datetime, disclosed: DisclosedView | None
) -> tuple[ScoreSeries, ...]:
    state = case.state
    # Every member of the care team has a line, also before it scores: who must still score
    # (for a recipient only when the decision, which says so, reaches it).
    order = list(by_party)
    if disclosed is None or disclosed.decision:
        order += [party_id for party_id in state.care_team if party_id not in by_party]
    series = []
    for index, party_id in enumerate(order):
        party = state.known_parties[party_id]
        recent, older = _split(by_party.get(party_id, []), lambda p: p.at, view)
        series.append(
            ScoreSeries(
                index=index,
                party_id=party_id,
                role=party.role,
                partner_type=party.partner_type,
                name=""
                if party.role is PartyRole.CLIENT
                else party.name
                if disclosed is None
                else disclosed.name(party_id, party.name),
                member=party_id in state.care_team,
                points=recent,
                older=older,
            )
        )
    return tuple(series)


def _instrument(event: InstrumentApplied, engine: Engine) -> InstrumentMark:
    registered = engine.instruments.get(event.instrument_id)
    spec = registered.spec if registered is not None else None
    level: Text | None = None
    if event.result.level is not None:
        named = {lv.code: lv.display for lv in spec.levels} if spec is not None else {}
        level = named.get(event.result.level, Text(nl=event.result.level, en=event.result.level))
    code = event.result.safety_code
    urgency = event.result.urgency
    return InstrumentMark(
        event_id=event.id,
        at=event.at,
        instrument_id=event.instrument_id,
        name=to_text(dict(spec.name)) if spec is not None else None,
        level=level,
        safety_code=code.value if code is not None else None,
        urgency=urgency.value if urgency is not None else None,
    )


def _alerts(case: Case, engine: Engine, at: datetime) -> tuple[AlertMark, ...]:
    """The alerts the engine raised after each incident and instrument result (the most recent
    :data:`ALERT_MOMENTS` of them), each once, at the moment it first arose."""
    from ketenzorg.errors import KetenzorgError

    now = engine.evaluate(case, at=at)
    current = {(a.rule_id, tuple(e.event_id for e in a.evidence)) for a in now.alerts}
    places = [i for i, e in enumerate(case.events) if isinstance(e, IncidentReported | InstrumentApplied)][
        -ALERT_MOMENTS:
    ]
    seen: dict[tuple[str, tuple[str, ...]], AlertMark] = {}
    for place in places:
        moment = case.events[place].at
        upto = place + 1
        while upto < len(case.events) and case.events[upto].at == moment:
            upto += 1  # everything recorded at the same moment
        try:
            prefix = engine.replay(case.case_id, case.events[:upto])
            decision = engine.evaluate(prefix, at=moment)
        except KetenzorgError:
            continue  # a history the engine does not allow up to here: its alerts are not shown
        for alert in decision.alerts:
            key = (alert.rule_id, tuple(e.event_id for e in alert.evidence))
            if key not in seen:
                seen[key] = AlertMark(moment, alert.rule_id, alert.level, alert.message, key in current)
    for alert in now.alerts:
        key = (alert.rule_id, tuple(e.event_id for e in alert.evidence))
        if key not in seen:
            arose = max((e.at for e in alert.evidence), default=at)
            seen[key] = AlertMark(arose, alert.rule_id, alert.level, alert.message, True)
    return tuple(sorted(seen.values(), key=lambda a: a.at))


def build_timeline(
    case: Case, engine: Engine, *, at: datetime, view: DisclosedView | None = None
) -> Timeline:
    """The timeline of ``case`` up to ``at`` (the report's moment); with ``view``, only what reached
    the report's recipient (see :class:`~ketenzorg.report.disclosed.DisclosedView`)."""
    state = case.state
    end = max(at, state.latest_at)

    def shown(event_id: str) -> bool:
        return view is None or view.has(event_id)

    incidents = [
        IncidentMark(e.id, e.at, e.severity.value, e.acute, _shown(view, e.id, e.description))
        for e in case.events
        if isinstance(e, IncidentReported) and shown(e.id)
    ]
    ticks: list[Tick] = []
    version = 0
    for event in case.events:
        if isinstance(event, PlanRevised):
            version += 1  # the version number counts every plan, also one that did not reach the recipient
        if not shown(event.id):
            continue
        if isinstance(event, ConferenceHeld):
            ticks.append(
                Tick(event.id, event.at, "conference", kind=event.kind, client_present=event.client_present)
            )
        elif isinstance(event, PlanRevised):
            ticks.append(Tick(event.id, event.at, "plan", version=version))
    instruments = [
        _instrument(e, engine) for e in case.events if isinstance(e, InstrumentApplied) and shown(e.id)
    ]
    scores = _scores(case, view)
    view_start = _view_start(
        state.opened.at,
        [
            *([p.at for p in points] for points in scores.values()),
            [m.at for m in incidents],
            [t.at for t in ticks],
            [m.at for m in instruments],
        ],
    )
    recent_incidents, older_incidents = _split(incidents, lambda m: m.at, view_start)
    recent_ticks, older_ticks = _split(ticks, lambda t: t.at, view_start)
    recent_instruments, older_instruments = _split(instruments, lambda m: m.at, view_start)
    return Timeline(
        start=state.opened.at,
        view_start=view_start,
        end=end,
        bands=_bands(case, end, view),
        series=_series(case, scores, view_start, view),
        gates=_gates(engine) if view is None or view.decision or scores else (),
        incidents=recent_incidents,
        older_incidents=older_incidents,
        ticks=recent_ticks,
        older_ticks=older_ticks,
        instruments=recent_instruments,
        older_instruments=older_instruments,
        # the alerts are the engine's decisions: they reach a recipient with the decision only
        alerts=_alerts(case, engine, at) if view is None or view.decision else (),
    )


def relapses(timeline: Timeline) -> tuple[PhaseBand, ...]:
    """The bands a relapse began (a step back to phase 1)."""
    return tuple(b for b in timeline.bands if b.entered == TransitionKind.RELAPSE.value)
