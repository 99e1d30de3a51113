"""Hypothesis strategies: valid, realistic case histories built through the public Engine API.

A history is a care team (client, practitioner, 1-4 chain partners, maybe a network party) and a
sequence of actions at strictly increasing moments: case conferences with scores, scores sent
between conferences, incidents, plan revisions, parties joining and leaving, and calls to
``advance``, ``relapse`` and ``close`` that the engine may refuse. Every step keeps the case before
and after it, so properties can re-examine each moment.

Synthetic data only: pseudonymous labels, no real names, addresses or BSNs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

from hypothesis import strategies as st

from ketenzorg import (
    AgreementStatus,
    CareSetting,
    CareSettingKind,
    Case,
    CaseOpened,
    ConferenceHeld,
    Engine,
    GoalStatus,
    IncidentReported,
    IncidentSeverity,
    Location,
    Organisation,
    PartnerType,
    Party,
    PartyJoined,
    PartyLeft,
    PartyRole,
    Person,
    PersonRole,
    PlanRevised,
    Policy,
    RecoveryGoal,
    Region,
    RiskFactor,
    SafetyAgreement,
    Text,
    TransitionBlockedError,
    WorkGoal,
)
from ketenzorg.domain import PlanTask, TaskStatus

__all__ = [
    "CLIENT_ID",
    "PRACTITIONER_ID",
    "History",
    "Step",
    "histories",
    "opened_cases",
    "policies",
]

T = TypeVar("T")
Draw = Callable[[st.SearchStrategy[T]], T]

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
"""The clock of the generated engines: generated histories run years ahead of the real date."""

CLIENT_ID = "client"
PRACTITIONER_ID = "practitioner"
NETWORK_ID = "network"
CLIENT_PERSON_ID = "person-client"
NETWORK_PERSON_ID = "person-network"
MAX_PARTNERS = 8

ZONES = (
    UTC,
    timezone(timedelta(hours=1)),
    timezone(timedelta(hours=2)),
    timezone(timedelta(hours=-3, minutes=-30)),
)

PARTNER_LABELS = {
    PartnerType.VEILIG_THUIS: "Veilig Thuis Testregio",
    PartnerType.POLICE: "Politie Testbasisteam",
    PartnerType.RECLASSERING: "Reclassering Test",
    PartnerType.YOUTH_PROTECTION: "Jeugdbescherming Test",
    PartnerType.CHILD_PROTECTION_BOARD: "Raad voor de Kinderbescherming Test",
    PartnerType.GGZ: "GGZ Testinstelling",
    PartnerType.LOCAL_TEAM: "Wijkteam Zuid-Oost (test)",
    PartnerType.SCHOOL: "Basisschool De Testboom",
    PartnerType.GENERAL_PRACTITIONER: "Huisartsenpraktijk Test",
    PartnerType.SHELTER: "Opvang Elders (test)",
    PartnerType.OTHER: "Overige partner (test)",
}

RATIONALES = (
    "Afspraken nagekomen, geen nieuwe incidenten (synthetisch).",
    "Cliënt voelt zich veiliger; netwerk is betrokken.",
    "Zorgen over contact met de pleger; situatie broos.",
    "Politie heeft geen meldingen ontvangen sinds het vorige MDO.",
)
BLANK_RATIONALES = ("", "   ")

# (name, lowest score, highest score): how safe the parties judge the situation in one conference.
MOODS = (
    ("stable", 7, 10),
    ("safe", 6, 10),
    ("stable", 7, 10),
    ("mixed", 0, 10),
    ("safe", 6, 10),
    ("unsafe", 3, 5),
    ("acute", 0, 2),
)

# Weighted action menu; transitions are frequent so that advances really happen.
ACTIONS = (
    "conference",
    "plan",
    "advance",
    "conference",
    "score",
    "advance",
    "incident",
    "conference",
    "plan",
    "relapse",
    "advance",
    "join",
    "plan",
    "leave",
    "close",
    "score",
    "advance",
)


# --- policies ------------------------------------------------------------------------------------


@st.composite
def policies(draw: Draw[Any]) -> Policy:
    """A random valid policy; the acute ceiling stays at 2 or above ("0-2 is acute danger")."""
    advance = draw(st.integers(3, 8))
    stable = draw(st.integers(advance, 10))
    acute = draw(st.integers(2, advance - 1))
    relapse = draw(st.none() | st.integers(1, advance))
    optional_roles = draw(
        st.sets(st.sampled_from([PartyRole.CLIENT, PartyRole.CHAIN_PARTNER, PartyRole.NETWORK]))
    )
    return Policy(
        advance_threshold=advance,
        stable_threshold=stable,
        acute_ceiling=acute,
        relapse_threshold=relapse,
        required_roles=frozenset({PartyRole.PRACTITIONER, *optional_roles}),
        max_score_age=timedelta(days=draw(st.integers(1, 120))),
        stability_window=timedelta(days=draw(st.integers(1, 180))),
        max_active_goals=draw(st.integers(1, 3)),
        plan_requires_client_present=draw(st.booleans()),
        advance_requires_agreements=draw(st.booleans()),
    )


# --- the opened case -----------------------------------------------------------------------------


def _partner(index: int, kind: PartnerType) -> Party:
    return Party(
        id=f"partner-{index}",
        role=PartyRole.CHAIN_PARTNER,
        name=f"{PARTNER_LABELS[kind]} {index}",
        partner_type=kind,
    )


CLIENT = Party(id=CLIENT_ID, role=PartyRole.CLIENT, name="Cliënt A (synthetisch)", person_id=CLIENT_PERSON_ID)
PRACTITIONER = Party(id=PRACTITIONER_ID, role=PartyRole.PRACTITIONER, name="Hulpverlener Test")
NETWORK = Party(
    id=NETWORK_ID, role=PartyRole.NETWORK, name="Netwerk: tante (test)", person_id=NETWORK_PERSON_ID
)
PERSONS = (
    Person(id=CLIENT_PERSON_ID, role=PersonRole.CLIENT, label="Cliënt A", birth_year=1990),
    Person(id="person-puv", role=PersonRole.PERSON_WHO_USED_VIOLENCE, label="Partner B"),
    Person(id="person-child", role=PersonRole.CHILD, label="Kind C", birth_year=2018),
    Person(id=NETWORK_PERSON_ID, role=PersonRole.NETWORK, label="Tante D"),
)


@st.composite
def _care_settings(draw: Draw[Any]) -> CareSetting:
    if draw(st.booleans()):
        return CareSetting(kind=CareSettingKind.AMBULANT)
    secret = draw(st.booleans())
    address = None if secret else draw(st.sampled_from([None, "Teststraat 1, Testdorp"]))
    location = Location(id="loc-1", name="Oranje Huis Test", secret=secret, address=address)
    return CareSetting(kind=CareSettingKind.SHELTER, location=location)


@st.composite
def opened_cases(draw: Draw[Any]) -> Case:
    """A freshly opened case in phase 1 with its care team."""
    zone = draw(st.sampled_from(ZONES))
    start = (T0 + timedelta(days=draw(st.integers(0, 400)), minutes=draw(st.integers(0, 1439)))).astimezone(
        zone
    )
    kinds = draw(st.lists(st.sampled_from(list(PartnerType)), min_size=1, max_size=4))
    parties = [CLIENT, PRACTITIONER, *(_partner(i + 1, k) for i, k in enumerate(kinds))]
    if draw(st.booleans()):
        parties.append(NETWORK)
    event = CaseOpened(
        id="opened",
        at=start,
        organisation=Organisation(id="org-test", name="Oranje Huis Testorganisatie", agb="00000000"),
        region=Region(region="Regio Test", lead_municipality="Centrumstad", municipality="Testdorp"),
        persons=PERSONS,
        parties=tuple(parties),
        care_setting=draw(_care_settings()),
        reason=draw(st.sampled_from(["", "Melding via Veilig Thuis (synthetisch)"])),
    )
    return Case.open(event, case_id=f"case-{draw(st.integers(1, 9999)):04d}")


# --- gaps between actions ------------------------------------------------------------------------


@st.composite
def _gaps(draw: Draw[Any]) -> timedelta:
    """Strictly positive, below 60 days; sometimes minutes, sometimes weeks; odd microseconds."""
    if draw(st.booleans()):
        gap = timedelta(minutes=draw(st.integers(1, 12 * 60)))
    else:
        gap = timedelta(days=draw(st.integers(0, 59)), minutes=draw(st.integers(1, 1439)))
    return gap + timedelta(microseconds=draw(st.sampled_from([0, 0, 1, 250_000, 999_999])))


# --- the history ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One action at moment ``at``: the case before and after it, and a refusal if any."""

    kind: str
    at: datetime
    before: Case
    after: Case
    note: str = ""
    refused: TransitionBlockedError | None = None

    @property
    def succeeded(self) -> bool:
        return self.refused is None


@dataclass(frozen=True, repr=False)
class History:
    """A generated case with the engine that built it and every step taken."""

    engine: Engine
    case: Case
    steps: tuple[Step, ...]

    @property
    def policy(self) -> Policy:
        return self.engine.policy

    @property
    def opened_at(self) -> datetime:
        return self.case.events[0].at

    @property
    def last_at(self) -> datetime:
        return max(e.at for e in self.case.events)

    def day(self, moment: datetime) -> str:
        return f"day {(moment - self.opened_at).total_seconds() / 86400:.3f}"

    def __repr__(self) -> str:
        opened = self.case.events[0]
        assert isinstance(opened, CaseOpened)
        lines = [f"History(case {self.case.case_id}, {len(self.case.events)} events)"]
        if self.policy != Policy():
            lines.append(f"  policy: {self.policy.to_mapping()}")
        team = ", ".join(
            f"{p.id}({p.partner_type.value})" if p.partner_type else p.id for p in opened.parties
        )
        lines.append(f"  opened {opened.at.isoformat()}: {team}")
        for step in self.steps:
            outcome = "REFUSED" if step.refused else "ok"
            phase = f"phase {int(step.after.state.phase)}"
            lines.append(f"  {self.day(step.at)} {step.kind} {step.note} -> {outcome}, {phase}")
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis prints a falsifying history as this compact story, not as nested dataclasses."""
        printer.text(repr(self))


class _Driver:
    """Interprets drawn actions against the engine; only valid facts are recorded."""

    def __init__(self, draw: Draw[Any], engine: Engine, case: Case) -> None:
        self.draw = draw
        self.engine = engine
        self.case = case
        self.at = case.events[0].at
        self.steps: list[Step] = []
        self.counter = 0
        self.partners = sum(1 for p in case.state.care_team.values() if p.role is PartyRole.CHAIN_PARTNER)

    # helpers

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    def step(
        self, kind: str, after: Case, note: str = "", refused: TransitionBlockedError | None = None
    ) -> None:
        self.steps.append(Step(kind, self.at, self.case, after, note, refused))
        self.case = after

    def subset(self, items: list[str]) -> list[str]:
        if not items:
            return []
        chosen = set(self.draw(st.lists(st.sampled_from(items), unique=True, max_size=len(items))))
        return [i for i in items if i in chosen]

    def scores_for(self, parties: list[str], *, diligent: bool | None = None) -> list[tuple[str, int, str]]:
        _, low, high = self.draw(st.sampled_from(MOODS))
        if diligent is None:
            diligent = self.draw(st.booleans())
        out = []
        for pid in parties:
            score = self.draw(st.integers(low, high))
            texts = RATIONALES if diligent else RATIONALES + BLANK_RATIONALES
            out.append((pid, score, self.draw(st.sampled_from(texts))))
        return out

    # actions

    def conference(self) -> None:
        team = list(self.case.state.care_team)
        if self.draw(st.booleans()):  # a full conference: everyone there, everyone scores, with reasons
            participants = scorers = team
            client_present = CLIENT_ID in team
            scored = self.scores_for(scorers, diligent=True)
        else:
            chosen = set(self.subset([p for p in team if p != PRACTITIONER_ID]))
            participants = [p for p in team if p == PRACTITIONER_ID or p in chosen]
            client_present = CLIENT_ID in participants and self.draw(st.booleans())
            scored = self.scores_for(self.subset(participants))
        conference_id = self.next_id("mdo")
        case = self.engine.record(
            self.case,
            ConferenceHeld(
                id=conference_id,
                at=self.at,
                participants=tuple(participants),
                client_present=client_present,
                notes="MDO (synthetisch)",
                kind=self.draw(
                    st.sampled_from(["case-conference", "case-conference", "marac", "safety-check"])
                ),
            ),
        )
        for pid, score, rationale in scored:
            case = self.engine.give_score(
                case,
                party_id=pid,
                score=score,
                rationale=rationale,
                at=self.at,
                conference_id=conference_id,
                event_id=self.next_id("score"),
            )
        shown = ", ".join(f"{pid}={s}{'' if r.strip() else '(no rationale)'}" for pid, s, r in scored)
        self.step("conference", case, f"[{conference_id} client_present={client_present}: {shown}]")

    def score(self) -> None:
        team = list(self.case.state.care_team)
        partners = [p for p in team if self.case.state.care_team[p].role is PartyRole.CHAIN_PARTNER]
        pid = self.draw(st.sampled_from(partners or team))
        ((_, score, rationale),) = self.scores_for([pid])
        case = self.engine.give_score(
            self.case,
            party_id=pid,
            score=score,
            rationale=rationale,
            at=self.at,
            event_id=self.next_id("score"),
        )
        self.step("score", case, f"[{pid}={score}{'' if rationale.strip() else '(no rationale)'}]")

    def incident(self) -> None:
        acute = self.draw(st.booleans())
        severities = [IncidentSeverity.SERIOUS, IncidentSeverity.SEVERE] if acute else list(IncidentSeverity)
        reporter = self.draw(st.none() | st.sampled_from(sorted(self.case.state.known_parties)))
        event = IncidentReported(
            id=self.next_id("incident"),
            at=self.at,
            severity=self.draw(st.sampled_from(severities)),
            acute=acute,
            description="Incident (synthetisch)",
            reported_by=reporter,
        )
        self.step("incident", self.engine.record(self.case, event), f"[acute={acute}]")

    def plan(self) -> None:
        state = self.case.state
        conferences = sorted(state.conferences.values(), key=lambda c: c.at, reverse=True)
        if self.engine.policy.plan_requires_client_present:
            conferences = [c for c in conferences if c.client_present]
        if not conferences:
            return
        conference = conferences[0]
        version = state.plan_version + 1
        risks = tuple(
            RiskFactor(id=f"rf-{version}-{i}", text=Text(text, f"{text} (en)") if i % 2 else text, code=None)
            for i, text in enumerate(
                self.subset(["Alcoholgebruik pleger", "Financiële stress", "Isolement", "Opvoedstress"])
            )
        )
        risk_ids = [None, *(r.id for r in risks)]
        goals: list[WorkGoal] = []
        if self.draw(st.sampled_from([True, True, False])):  # a well-formed Top 3
            active = self.draw(st.integers(0, self.engine.policy.max_active_goals))
            ranks = self.draw(st.permutations(list(range(1, active + 1))))
            for i, rank in enumerate(ranks):
                goals.append(self._goal(version, i, rank, GoalStatus.ACTIVE, risk_ids))
            resting = [s for s in GoalStatus if s is not GoalStatus.ACTIVE]
            for i in range(active, active + self.draw(st.integers(0, 5 - active))):
                rank = self.draw(st.none() | st.integers(1, 5))
                goals.append(self._goal(version, i, rank, self.draw(st.sampled_from(resting)), risk_ids))
        else:  # anything goes, also too many active goals or duplicate ranks
            for i in range(self.draw(st.integers(0, 5))):
                rank = self.draw(st.none() | st.integers(1, 5))
                status = self.draw(st.sampled_from(list(GoalStatus)))
                goals.append(self._goal(version, i, rank, status, risk_ids))
        responsible = sorted(state.known_parties) + sorted(state.persons)
        agreements = tuple(
            SafetyAgreement(
                id=f"sa-{version}-{i}",
                what=f"Veiligheidsafspraak {i + 1} (synthetisch)",
                responsible=self.draw(st.sampled_from(responsible)),
                due=self.draw(st.none() | st.just(self.at + timedelta(days=14))),
                status=self.draw(st.sampled_from(list(AgreementStatus))),
            )
            for i in range(self.draw(st.sampled_from([1, 2, 0, 3])))
        )
        recovery = tuple(
            RecoveryGoal(id=f"hg-{version}-{i}", text=f"Hersteldoel {i + 1}")
            for i in range(self.draw(st.integers(0, 2)))
        )
        event = PlanRevised(
            id=self.next_id("plan"),
            at=self.at,
            conference_id=conference.id,
            agreements=agreements,
            work_goals=tuple(goals),
            risk_factors=risks,
            recovery_goals=recovery,
            tasks=tuple(
                PlanTask(
                    id=f"task-{version}-{i}",
                    kind="referral",
                    text={
                        "nl": "Verwijs naar de MARAC (synthetisch)",
                        "en": "Refer to the MARAC (synthetic)",
                    },
                    status=self.draw(st.sampled_from(list(TaskStatus))),
                    conference_kind=self.draw(st.none() | st.just("marac")),
                )
                for i in range(self.draw(st.integers(0, 2)))
            ),
        )
        active = [g.rank for g in goals if g.status is GoalStatus.ACTIVE]
        note = f"[in {conference.id}: {len(agreements)} agreements, active goal ranks {active}]"
        self.step("plan", self.engine.record(self.case, event), note)

    def _goal(
        self, version: int, i: int, rank: int | None, status: GoalStatus, risks: list[str | None]
    ) -> WorkGoal:
        return WorkGoal(
            id=f"wg-{version}-{i}",
            text=f"Werkdoel {i + 1} (synthetisch)",
            rank=rank,
            status=status,
            risk_factor_id=self.draw(st.sampled_from(risks)),
        )

    def join(self) -> None:
        state = self.case.state
        options: list[Party] = [
            p for pid, p in sorted(state.known_parties.items()) if pid not in state.care_team
        ]
        if NETWORK_ID not in state.known_parties:
            options.append(NETWORK)
        if self.partners < MAX_PARTNERS:
            options.append(_partner(self.partners + 1, self.draw(st.sampled_from(list(PartnerType)))))
        if not options:
            return
        party = self.draw(st.sampled_from(options))
        if party.id == f"partner-{self.partners + 1}":
            self.partners += 1
        event = PartyJoined(id=self.next_id("joined"), at=self.at, party=party)
        self.step("join", self.engine.record(self.case, event), f"[{party.id}]")

    def leave(self) -> None:
        candidates = [p for p in self.case.state.care_team if p != PRACTITIONER_ID]
        if not candidates:
            return
        pid = self.draw(st.sampled_from(candidates))
        event = PartyLeft(id=self.next_id("left"), at=self.at, party_id=pid, reason="Betrokkenheid beëindigd")
        self.step("leave", self.engine.record(self.case, event), f"[{pid}]")

    def advance(self) -> None:
        reason = self.draw(st.sampled_from(["", "Iedereen scoort voldoende (synthetisch)"]))
        try:
            after = self.engine.advance(self.case, at=self.at, reason=reason, event_id=self.next_id("phase"))
        except TransitionBlockedError as error:
            self.step("advance", self.case, refused=error)
        else:
            self.step("advance", after)

    def relapse(self) -> None:
        reason = self.draw(st.sampled_from(["", "   ", "Terugval volgens hulpverlener (synthetisch)"]))
        try:
            after = self.engine.relapse(self.case, at=self.at, reason=reason, event_id=self.next_id("phase"))
        except TransitionBlockedError as error:
            self.step("relapse", self.case, f"[reason={reason!r}]", refused=error)
        else:
            self.step("relapse", after, f"[reason={reason!r}]")

    def close(self) -> None:
        partners = sorted(
            pid for pid, p in self.case.state.known_parties.items() if p.role is PartyRole.CHAIN_PARTNER
        )
        handover = self.draw(st.lists(st.sampled_from(partners), min_size=1, max_size=3, unique=True))
        try:
            after = self.engine.close(
                self.case,
                handover_to=handover,
                at=self.at,
                summary="Overdracht aan ketenpartners (synthetisch)",
                event_id=self.next_id("closed"),
            )
        except TransitionBlockedError as error:
            self.step("close", self.case, f"[to {handover}]", refused=error)
        else:
            self.step("close", after, f"[to {handover}]")


@st.composite
def histories(
    draw: Draw[Any],
    policy: Policy | st.SearchStrategy[Policy] | None = None,
    min_actions: int = 5,
    max_actions: int = 60,
) -> History:
    """A valid case history driven through the engine (default policy unless one is given)."""
    if policy is None:
        chosen = Policy()
    elif isinstance(policy, Policy):
        chosen = policy
    else:
        chosen = draw(policy)
    engine = Engine(chosen, clock=lambda: FAR_FUTURE)
    driver = _Driver(draw, engine, draw(opened_cases()))
    for _ in range(draw(st.integers(min_actions, max_actions))):
        if driver.case.state.is_closed:
            break
        driver.at += draw(_gaps())
        getattr(driver, draw(st.sampled_from(ACTIONS)))()
    return History(engine, driver.case, tuple(driver.steps))
