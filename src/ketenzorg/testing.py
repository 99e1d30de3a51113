"""Helpers for testing a plugin, or code that embeds ketenzorg: synthetic cases, fresh engines, answers.

Everything here goes through the engine's public API (``Engine.record``, ``give_score``,
``assess``, ``advance``), so a case built with it is one the engine would have recorded: a plugin's
rules and listeners see it exactly as in production. All names are invented; no real person,
address or organisation appears. The module needs no test framework; ``import ketenzorg`` does not
load it.

>>> from ketenzorg.testing import CaseBuilder, answers_for, day, engine_with
>>> engine = engine_with(MyPlugin())                                   # doctest: +SKIP
>>> case = CaseBuilder(engine).conference(day(7), scores=6).plan().advance().case  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ketenzorg.case import Case
from ketenzorg.conferences import CASE_CONFERENCE
from ketenzorg.decision import Decision
from ketenzorg.domain import (
    CareSetting,
    CareSettingKind,
    IncidentSeverity,
    Organisation,
    PartnerType,
    Party,
    PartyRole,
    Person,
    PersonRole,
    Region,
    SafetyAgreement,
    WorkGoal,
)
from ketenzorg.engine import Engine
from ketenzorg.events import CaseOpened, ConferenceHeld, IncidentReported, PartyJoined, PartyLeft, PlanRevised
from ketenzorg.instruments import AnswerType, InstrumentSpec
from ketenzorg.policy import Policy

if TYPE_CHECKING:
    from ketenzorg.instruments import Answer, Item
    from ketenzorg.messages import Language

__all__ = [
    "CLIENT",
    "CLIENT_PERSON",
    "NETWORK",
    "OTHER_PERSON",
    "POLICE",
    "PRACTITIONER",
    "T0",
    "TEAM",
    "VEILIG_THUIS",
    "CaseBuilder",
    "all_score",
    "answers_for",
    "case_in_phase_1_ready",
    "case_in_phase_2",
    "case_in_phase_3",
    "conference",
    "day",
    "engine_with",
    "incident",
    "new_case",
    "opened",
    "plan",
]

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""When a test case is opened (unless told otherwise)."""

CLIENT_PERSON = Person(id="person-client", role=PersonRole.CLIENT, label="Cliënt X")
OTHER_PERSON = Person(id="person-puv", role=PersonRole.PERSON_WHO_USED_VIOLENCE, label="Partner Y")

CLIENT = Party(id="client", role=PartyRole.CLIENT, name="Cliënt X", person_id="person-client")
PRACTITIONER = Party(id="practitioner", role=PartyRole.PRACTITIONER, name="Hulpverlener Test")
POLICE = Party(
    id="police", role=PartyRole.CHAIN_PARTNER, name="Politie Test", partner_type=PartnerType.POLICE
)
VEILIG_THUIS = Party(
    id="vt",
    role=PartyRole.CHAIN_PARTNER,
    name="Veilig Thuis Test",
    partner_type=PartnerType.VEILIG_THUIS,
)
NETWORK = Party(id="network", role=PartyRole.NETWORK, name="Netwerk Test")
"""A member of the informal network; not in :data:`TEAM` (join it with :meth:`CaseBuilder.join`)."""

TEAM = (CLIENT, PRACTITIONER, POLICE, VEILIG_THUIS)
"""The care team a test case opens with: client, practitioner, police and Veilig Thuis."""


# --- engines -------------------------------------------------------------------------------------


def engine_with(
    *plugins: object,
    policy: Policy | Mapping[str, Any] | None = None,
    block: frozenset[str] | set[str] | tuple[str, ...] = (),
    lang: Language = "en",
    clock: Callable[[], datetime] | None = None,
    hook_timeout: float | None = None,
) -> Engine:
    """A fresh engine with the shipped plugins and ``plugins`` (objects or modules), nothing installed.

    ``policy`` is a :class:`~ketenzorg.policy.Policy` or the contents of a policy file (a mapping,
    read as ``ketenzorg --policy`` reads it); ``block`` leaves plugins out by name; ``lang``,
    ``clock`` and ``hook_timeout`` are the :class:`~ketenzorg.engine.Engine`'s (``clock`` defaults
    to the real one). Entry points are not loaded, so what is installed in the environment cannot
    change the test.
    """
    if policy is None:
        policy = Policy()
    elif not isinstance(policy, Policy):
        policy = Policy.from_mapping(policy)
    # attrs types ``plugins`` (converted by ``tuple``) as a generic iterable mypy cannot solve here.
    given: Any = plugins
    if clock is None:
        return Engine(policy, plugins=given, block=frozenset(block), lang=lang, hook_timeout=hook_timeout)
    return Engine(
        policy, plugins=given, block=frozenset(block), lang=lang, clock=clock, hook_timeout=hook_timeout
    )


# --- cases ---------------------------------------------------------------------------------------


def day(n: float) -> datetime:
    """``n`` days after :data:`T0`, when a test case is opened."""
    return T0 + timedelta(days=n)


def opened(parties: tuple[Party, ...] = TEAM, *, at: datetime = T0) -> CaseOpened:
    """The opening event of a synthetic ambulant case with ``parties`` as its care team."""
    return CaseOpened(
        id="opened",
        at=at,
        organisation=Organisation(id="org", name="Opvang Test"),
        region=Region(region="Regio Test", lead_municipality="Centrumstad", municipality="Dorp"),
        persons=(CLIENT_PERSON, OTHER_PERSON),
        parties=parties,
        care_setting=CareSetting(kind=CareSettingKind.AMBULANT),
    )


def new_case(parties: tuple[Party, ...] = TEAM, *, case_id: str = "case-test", at: datetime = T0) -> Case:
    """A case just opened (phase 1) with ``parties`` as its care team."""
    return Case.open(opened(parties, at=at), case_id=case_id)


def conference(
    engine: Engine,
    case: Case,
    at: datetime,
    scores: Mapping[str, int] | None = None,
    *,
    client_present: bool = True,
    rationale: str = "onderbouwing (synthetisch)",
    conference_id: str | None = None,
    kind: str = CASE_CONFERENCE,
) -> tuple[Case, str]:
    """Hold a conference (of ``kind``, a case conference unless given) at ``at`` with the whole
    care team; each party id in ``scores`` scores.

    Returns the case and the conference's id (``mdo-<at>`` unless given).
    """
    conference_id = conference_id or f"mdo-{at.isoformat()}"
    team = tuple(case.state.care_team)
    case = engine.record(
        case,
        ConferenceHeld(id=conference_id, at=at, participants=team, client_present=client_present, kind=kind),
    )
    for party_id, score in (scores or {}).items():
        case = engine.give_score(
            case,
            party_id=party_id,
            score=score,
            rationale=rationale,
            at=at,
            conference_id=conference_id,
        )
    return case, conference_id


def all_score(case: Case, score: int) -> dict[str, int]:
    """The same ``score`` for every member of the current care team."""
    return dict.fromkeys(case.state.care_team, score)


def plan(
    engine: Engine, case: Case, conference_id: str, at: datetime, goals: int = 2, agreements: int = 1
) -> Case:
    """Revise the plan in conference ``conference_id``: ``agreements`` safety agreements (held by
    the practitioner) and ``goals`` ranked work goals."""
    event = PlanRevised(
        at=at,
        conference_id=conference_id,
        agreements=tuple(
            SafetyAgreement(id=f"sa-{i}", what=f"Afspraak {i}", responsible=PRACTITIONER.id)
            for i in range(agreements)
        ),
        work_goals=tuple(WorkGoal(id=f"wg-{i}", text=f"Werkdoel {i}", rank=i + 1) for i in range(goals)),
    )
    return engine.record(case, event)


def incident(
    engine: Engine,
    case: Case,
    at: datetime,
    *,
    acute: bool,
    severity: IncidentSeverity | None = None,
    reported_by: str | None = None,
) -> Case:
    """Report an unsafe incident at ``at`` (severe when acute, minor otherwise, unless given)."""
    if severity is None:
        severity = IncidentSeverity.SEVERE if acute else IncidentSeverity.MINOR
    return engine.record(
        case,
        IncidentReported(
            at=at,
            severity=severity,
            acute=acute,
            description="incident (synthetisch)",
            reported_by=reported_by,
        ),
    )


def case_in_phase_1_ready(engine: Engine, score: int = 6) -> Case:
    """A phase-1 case where everyone scored ``score`` at day 7 with a plan made then."""
    case = new_case()
    case, mdo = conference(engine, case, day(7), all_score(case, score))
    return plan(engine, case, mdo, day(7))


def case_in_phase_2(engine: Engine) -> Case:
    """A case that advanced to phase 2 on day 7."""
    return engine.advance(case_in_phase_1_ready(engine), at=day(7))


def case_in_phase_3(engine: Engine) -> Case:
    """A case that reached phase 3 on day 200 (everyone 7, no incidents)."""
    case = case_in_phase_2(engine)
    case, _ = conference(engine, case, day(200), all_score(case, 7))
    return engine.advance(case, at=day(200))


class CaseBuilder:
    """A synthetic case built step by step through ``engine``; every step returns the builder.

    >>> b = CaseBuilder(engine).conference(day(7), scores=6).plan().advance()   # doctest: +SKIP
    >>> b.case.state.phase                                                      # doctest: +SKIP
    <Phase.RISK_DRIVEN_CARE: 2>

    A step the engine refuses raises its error (``TransitionBlockedError``, ``InvalidEventError``,
    ``ResponseError``) and leaves :attr:`case` as it was.
    """

    def __init__(
        self,
        engine: Engine,
        parties: tuple[Party, ...] = TEAM,
        *,
        case_id: str = "case-test",
        at: datetime = T0,
    ) -> None:
        self.engine = engine
        self.case: Case = new_case(parties, case_id=case_id, at=at)
        """The case so far."""
        self.last_conference: str | None = None
        """The id of the latest conference held through the builder."""

    @property
    def at(self) -> datetime:
        """The moment of the latest event: where a step without its own moment takes place."""
        return self.case.state.latest_at

    def conference(
        self,
        at: datetime,
        scores: int | Mapping[str, int] | None = None,
        *,
        client_present: bool = True,
        rationale: str = "onderbouwing (synthetisch)",
        conference_id: str | None = None,
        kind: str = CASE_CONFERENCE,
    ) -> CaseBuilder:
        """Hold a conference (a case conference unless ``kind`` says otherwise); ``scores`` is one
        score for the whole care team or one per party id."""
        given = all_score(self.case, scores) if isinstance(scores, int) else scores
        self.case, self.last_conference = conference(
            self.engine,
            self.case,
            at,
            given,
            client_present=client_present,
            rationale=rationale,
            conference_id=conference_id,
            kind=kind,
        )
        return self

    def plan(self, at: datetime | None = None, *, goals: int = 2, agreements: int = 1) -> CaseBuilder:
        """Revise the plan in the latest conference (at its moment, unless given)."""
        if self.last_conference is None:
            raise ValueError("hold a conference first: a plan is made in a case conference")
        when = at or self.case.state.conferences[self.last_conference].at
        self.case = plan(self.engine, self.case, self.last_conference, when, goals, agreements)
        return self

    def score(
        self, party_id: str, score: int, at: datetime | None = None, *, rationale: str = ""
    ) -> CaseBuilder:
        """A score outside a conference (``rationale`` defaults to a synthetic one)."""
        self.case = self.engine.give_score(
            self.case,
            party_id=party_id,
            score=score,
            rationale=rationale or "onderbouwing (synthetisch)",
            at=at or self.at,
        )
        return self

    def incident(
        self,
        at: datetime,
        *,
        acute: bool = False,
        severity: IncidentSeverity | None = None,
        reported_by: str | None = None,
    ) -> CaseBuilder:
        """Report an unsafe incident."""
        self.case = incident(
            self.engine, self.case, at, acute=acute, severity=severity, reported_by=reported_by
        )
        return self

    def join(self, party: Party, at: datetime | None = None) -> CaseBuilder:
        """A party joins the care team."""
        self.case = self.engine.record(self.case, PartyJoined(at=at or self.at, party=party))
        return self

    def leave(self, party_id: str, at: datetime | None = None, *, reason: str = "") -> CaseBuilder:
        """A party leaves the care team."""
        self.case = self.engine.record(
            self.case, PartyLeft(at=at or self.at, party_id=party_id, reason=reason)
        )
        return self

    def assess(
        self,
        instrument_id: str,
        answers: Mapping[str, Any] | None = None,
        at: datetime | None = None,
        *,
        by: str | None = PRACTITIONER.id,
        subject: str | None = None,
    ) -> CaseBuilder:
        """Apply an instrument to ``subject`` (a person id; ``None``: the client); without
        ``answers``, :func:`answers_for` its spec."""
        if answers is None:
            answers = answers_for(self.engine.instruments[instrument_id].spec)
        self.case = self.engine.assess(
            self.case, instrument_id, answers, at=at or self.at, applied_by=by, subject=subject
        )
        return self

    def advance(self, at: datetime | None = None, *, reason: str = "") -> CaseBuilder:
        """Advance to the next phase (refused with ``TransitionBlockedError`` when a gate fails)."""
        self.case = self.engine.advance(self.case, at=at or self.at, reason=reason)
        return self

    def relapse(self, at: datetime | None = None, *, reason: str = "") -> CaseBuilder:
        """Go back to phase 1 (proposed by the rules, or on the judgement in ``reason``)."""
        self.case = self.engine.relapse(self.case, at=at or self.at, reason=reason)
        return self

    def evaluate(self, at: datetime | None = None) -> Decision:
        """The decision on the case at ``at`` (default: at its latest event)."""
        return self.engine.evaluate(self.case, at=at or self.at)


# --- answers -------------------------------------------------------------------------------------


def answers_for(
    spec: InstrumentSpec | object,
    overrides: Mapping[str, Any] | None = None,
    /,
    *,
    optional: bool = False,
    **more: Any,
) -> dict[str, Answer]:
    """Valid answers to every required item of ``spec`` (an ``InstrumentSpec`` or an instrument),
    then ``overrides`` and ``more`` by item id (``overrides`` for ids that are no Python names).

    The answers are the least alarming valid ones: ``False``, the minimum (or 0 within the range),
    the first code, no codes, a synthetic text. ``optional=True`` answers the optional items too.
    An item required on a condition is answered when the answers meet it (``judgement="high"``
    also answers the rationale it requires). An override may be a
    :class:`~ketenzorg.instruments.Missing` reason (``weapon=Missing.UNKNOWN``) or invalid on
    purpose (to test the instrument's refusal); an id that is not an item of the instrument is a
    ``KeyError``, so a misspelt id does not pass unnoticed.
    """
    found = spec if isinstance(spec, InstrumentSpec) else getattr(spec, "spec", None)
    if not isinstance(found, InstrumentSpec):
        raise TypeError("answers_for takes an InstrumentSpec or an instrument with a .spec")
    answers: dict[str, Answer] = {
        item.id: _valid_answer(item) for item in found.items if item.required or optional
    }
    given = {**(overrides or {}), **more}
    unknown = sorted(set(given) - {item.id for item in found.items})
    if unknown:
        raise KeyError(f"not an item of instrument {found.id!r}: {', '.join(unknown)}")
    answers.update(given)
    # an item required on a condition the answers meet: answered too (conditions may chain)
    for _ in found.items:
        due = [i for i in found.items if i.id not in answers and i.is_required(answers)]
        if not due:
            break
        answers.update((item.id, _valid_answer(item)) for item in due)
    return answers


def _valid_answer(item: Item) -> Answer:
    match item.answer_type:
        case AnswerType.BOOLEAN:
            return False
        case AnswerType.INTEGER:
            low, high = item.minimum, item.maximum
            if low is not None and low > 0:
                return low
            if high is not None and high < 0:
                return high
            return 0
        case AnswerType.CHOICE:
            return item.allowed[0]
        case AnswerType.MULTI_CHOICE:
            return ()
        case _:
            return "antwoord (synthetisch)"
