"""A synthetic case walked through the whole method; ``ketenzorg demo`` prints it step by step.

All names, places and organisations are invented. Identifiers are derived from a fixed namespace
so that the demo case is the same on every run.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import attrs

from ketenzorg.case import Case
from ketenzorg.decision import Decision
from ketenzorg.domain import (
    AgreementStatus,
    CareSetting,
    CareSettingKind,
    GoalStatus,
    IncidentSeverity,
    Location,
    Organisation,
    PartnerType,
    Party,
    PartyRole,
    Person,
    PersonRole,
    RecoveryGoal,
    Region,
    RiskFactor,
    SafetyAgreement,
    Text,
    WorkGoal,
)
from ketenzorg.engine import Engine
from ketenzorg.errors import TransitionBlockedError
from ketenzorg.events import (
    CareSettingChanged,
    CaseOpened,
    ConferenceHeld,
    IncidentReported,
    PartyJoined,
    PlanRevised,
)
from ketenzorg.messages import Language

__all__ = ["DemoStep", "build_demo_case", "last_open_case", "walk"]

_NAMESPACE = uuid.UUID("6f1c1f0e-2b1a-4c55-9d2e-0d6f6b2f6a10")


def _id(name: str) -> str:
    return uuid.uuid5(_NAMESPACE, name).hex


def _day(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


TITLES: dict[str, dict[Language, str]] = {
    "intake": {
        "en": "Intake in phase 1: shelter at a secret location; Geweldsanalyse red, Gezinsprofielen",
        "nl": "Intake in fase 1: opvang op een geheime locatie; Geweldsanalyse rood, Gezinsprofielen",
    },
    "mdo1": {
        "en": "Case conference 1: police scores 5, so the case may not advance (blocked, explained)",
        "nl": "MDO 1: politie scoort 5, dus de casus mag niet door (geblokkeerd, met uitleg)",
    },
    "mdo2": {
        "en": "Case conference 2: every party at 6 or more: advance to phase 2",
        "nl": "MDO 2: alle partijen op 6 of hoger: door naar fase 2",
    },
    "phase2": {
        "en": "Phase 2: GGZ joins, risk factors become the Top 3 work goals",
        "nl": "Fase 2: GGZ sluit aan, risicofactoren worden de Top 3 werkdoelen",
    },
    "incident": {
        "en": "Acute incident: immediate-protection alert, relapse to phase 1 proposed",
        "nl": "Acuut incident: signaal direct veiligstellen, terugval naar fase 1 voorgesteld",
    },
    "relapse": {
        "en": "Relapse applied: back to phase 1, the plan must be revised",
        "nl": "Terugval vastgelegd: terug naar fase 1, het plan moet herzien worden",
    },
    "mdo-after": {
        "en": "Case conference after the incident: consensus at 6 again: advance to phase 2",
        "nl": "MDO na het incident: weer overeenstemming op 6: door naar fase 2",
    },
    "window": {
        "en": "Everyone at 7 or more, but the incident of May is inside the 90-day window (blocked)",
        "nl": "Iedereen op 7 of hoger, maar het incident van mei valt binnen de 90 dagen (geblokkeerd)",
    },
    "phase3": {
        "en": "Stable for the whole window: advance to phase 3 (recovery care)",
        "nl": "Stabiel gedurende de hele periode: door naar fase 3 (herstelgerichte zorg)",
    },
    "recovery": {
        "en": "Phase 3: recovery goals set",
        "nl": "Fase 3: hersteldoelen vastgesteld",
    },
    "close": {
        "en": "Closing with handover to the local team and GGZ",
        "nl": "Afsluiten met overdracht aan wijkteam en GGZ",
    },
}
"""The title of every step of the walk, by step key."""


@attrs.frozen
class DemoStep:
    """One step of the walk: its key, the case after it, the decision then, and any refusal."""

    key: str
    case: Case
    decision: Decision
    refused: TransitionBlockedError | None = None


# --- the synthetic family and care team ----------------------------------------------------------

CLIENT = Person(id=_id("p-client"), role=PersonRole.CLIENT, label="Cliënt A", birth_year=1991)
PARTNER = Person(
    id=_id("p-partner"),
    role=PersonRole.PERSON_WHO_USED_VIOLENCE,
    label="Partner B",
    birth_year=1988,
)
CHILD = Person(id=_id("p-child"), role=PersonRole.CHILD, label="Kind C", birth_year=2019)

P_CLIENT = Party(id=_id("client"), role=PartyRole.CLIENT, name="Cliënt A", person_id=CLIENT.id)
P_PRACTITIONER = Party(
    id=_id("practitioner"), role=PartyRole.PRACTITIONER, name="Hulpverlener Oranje Huis Demo"
)
P_VEILIG_THUIS = Party(
    id=_id("vt"),
    role=PartyRole.CHAIN_PARTNER,
    name="Veilig Thuis Regio Demo",
    partner_type=PartnerType.VEILIG_THUIS,
)
P_POLICE = Party(
    id=_id("police"),
    role=PartyRole.CHAIN_PARTNER,
    name="Politie basisteam Demo",
    partner_type=PartnerType.POLICE,
)
P_LOCAL_TEAM = Party(
    id=_id("wijkteam"),
    role=PartyRole.CHAIN_PARTNER,
    name="Wijkteam Demo-Oost",
    partner_type=PartnerType.LOCAL_TEAM,
)
P_GGZ = Party(id=_id("ggz"), role=PartyRole.CHAIN_PARTNER, name="GGZ Demo", partner_type=PartnerType.GGZ)

SECRET_SHELTER = Location(id=_id("loc-shelter"), name="Opvanglocatie Noord", secret=True)


def _opened() -> CaseOpened:
    return CaseOpened(
        id=_id("opened"),
        at=_day(1, 12),
        organisation=Organisation(id=_id("org"), name="Oranje Huis Demo", agb="00000000"),
        region=Region(region="Regio Demo", lead_municipality="Centrumstad", municipality="Dorpstad"),
        persons=(CLIENT, PARTNER, CHILD),
        parties=(P_CLIENT, P_PRACTITIONER, P_VEILIG_THUIS, P_POLICE, P_LOCAL_TEAM),
        care_setting=CareSetting(kind=CareSettingKind.SHELTER, location=SECRET_SHELTER),
        reason="Aanmelding door Veilig Thuis na melding huiselijk geweld (synthetisch)",
    )


class _Walk:
    """Builds the demo step by step, keeping the steps for printing."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.case = Case.open(_opened(), case_id=_id("case"))
        self.steps: list[DemoStep] = []
        self.counter = 0

    def next_id(self, kind: str) -> str:
        self.counter += 1
        return _id(f"{kind}-{self.counter}")

    def step(self, key: str, at: datetime, refused: TransitionBlockedError | None = None) -> None:
        self.steps.append(DemoStep(key, self.case, self.engine.evaluate(self.case, at=at), refused))

    def conference(
        self, at: datetime, scores: dict[Party, tuple[int, str]], client_present: bool = True
    ) -> str:
        parties = tuple(p.id for p in scores)
        conference_id = self.next_id("mdo")
        self.case = self.engine.record(
            self.case,
            ConferenceHeld(id=conference_id, at=at, participants=parties, client_present=client_present),
        )
        for party, (score, rationale) in scores.items():
            self.case = self.engine.give_score(
                self.case,
                party_id=party.id,
                score=score,
                rationale=rationale,
                at=at,
                conference_id=conference_id,
                event_id=self.next_id("score"),
            )
        return conference_id

    def plan(self, conference_id: str, at: datetime, **parts: object) -> None:
        event = PlanRevised(id=self.next_id("plan"), at=at, conference_id=conference_id, **parts)  # type: ignore[arg-type]
        self.case = self.engine.record(self.case, event)

    def try_transition(self, key: str, at: datetime, apply: Callable[[], Case]) -> None:
        try:
            self.case = apply()
        except TransitionBlockedError as refused:
            self.step(key, at, refused)
        else:
            self.step(key, at)


GEWELDSANALYSE_ANSWERS: dict[str, object] = {
    "nature": ["physical", "psychological"],
    "injury": True,
    "weapon": False,
    "strangulation": True,
    "threats_to_kill": False,
    "fear_for_life": True,
    "frequency": "weekly",
    "escalation": True,
    "coercive_control": True,
    "children_witness": True,
    "violence_against_children": False,
    "separation": "recent",
    "perpetrator_access": "knows_address",
}
"""The intake's Geweldsanalyse (synthetic): a red safety code."""

GEZINSPROFIELEN_ANSWERS: dict[str, object] = {
    item: item in {"power_imbalance", "coercive_control", "fear_of_partner", "severe_violence"}
    for item in (
        "power_imbalance", "coercive_control", "fear_of_partner", "severe_violence",
        "one_sided_violence", "two_sided_violence", "mainly_psychological_violence",
        "piled_up_stressors", "violence_under_stress", "child_behaviour_problems",
        "parenting_stress", "violence_parent_to_child", "parent_long_term_care_need", "neglect",
        "chronic_multiproblem", "separation_conflict", "legal_fight_over_children",
        "loyalty_conflict_children",
    )
}  # fmt: skip
"""The intake's Gezinsprofielen (synthetic): intieme terreur."""


def _risks() -> tuple[RiskFactor, ...]:
    return (
        RiskFactor(
            id=_id("rf-control"),
            text=Text("Dwingende controle door partner", "Coercive control by the partner"),
            code="coercive_control",
        ),
        RiskFactor(
            id=_id("rf-stress"),
            text=Text("Financiële stress en schulden", "Financial stress and debts"),
            code="financial_stress",
        ),
        RiskFactor(
            id=_id("rf-child"),
            text=Text("Kind is getuige van geweld", "Child witnesses violence"),
            code="children_witness",
        ),
    )


def walk(engine: Engine | None = None) -> list[DemoStep]:
    """Walk the synthetic case through the whole method and return every step."""
    engine = engine or Engine()
    w = _Walk(engine)
    intake = _day(1, 12, 14)
    w.case = engine.assess(
        w.case,
        "geweldsanalyse",
        GEWELDSANALYSE_ANSWERS,
        at=intake,
        applied_by=P_PRACTITIONER.id,
        event_id=w.next_id("assessment"),
    )
    w.case = engine.assess(
        w.case,
        "gezinsprofielen",
        GEZINSPROFIELEN_ANSWERS,
        at=intake,
        applied_by=P_PRACTITIONER.id,
        event_id=w.next_id("assessment"),
    )
    w.step("intake", intake)

    # Conference 1: agreements made; the police is not yet at 6.
    at = _day(1, 19)
    mdo = w.conference(
        at,
        {
            P_CLIENT: (6, "Ik voel me veilig in de opvang; partner weet niet waar ik ben."),
            P_PRACTITIONER: (6, "Geen incidenten sinds opname; afspraken worden nagekomen."),
            P_VEILIG_THUIS: (6, "Veiligheidsvoorwaarden afgesproken en ondertekend."),
            P_POLICE: (5, "Partner heeft nog geen contactverbod; risico op opzoeken blijft."),
            P_LOCAL_TEAM: (6, "Kind gaat naar school vanuit de opvang, school is geïnformeerd."),
        },
    )
    w.plan(
        mdo,
        at,
        agreements=(
            SafetyAgreement(
                id=_id("sa-contact"),
                what="Partner zoekt geen contact met cliënt en kind",
                responsible=PARTNER.id,
                due=_day(4, 19),
            ),
            SafetyAgreement(
                id=_id("sa-school"),
                what="School meldt direct als partner zich meldt",
                responsible=P_LOCAL_TEAM.id,
            ),
        ),
        work_goals=(
            WorkGoal(id=_id("wg-safe"), text="Veilig wonen voor cliënt en kind", rank=1),
            WorkGoal(id=_id("wg-income"), text="Eigen inkomen en administratie op orde", rank=2),
        ),
    )
    w.try_transition(
        "mdo1",
        at,
        lambda: engine.advance(w.case, at=at, event_id=w.next_id("phase")),
    )

    # Conference 2: consensus at 6.
    at = _day(2, 16)
    w.conference(
        at,
        {
            P_CLIENT: (7, "Partner houdt zich aan het contactverbod."),
            P_PRACTITIONER: (6, "Afspraken nagekomen, geen incidenten."),
            P_VEILIG_THUIS: (6, "Veiligheidsvoorwaarden worden nageleefd."),
            P_POLICE: (6, "Tijdelijk huisverbod omgezet in contactverbod; geen meldingen."),
            P_LOCAL_TEAM: (7, "Kind functioneert goed op school."),
        },
    )
    w.try_transition(
        "mdo2",
        at,
        lambda: engine.advance(
            w.case, at=at, reason="Consensus: onveilig gedrag gestopt", event_id=w.next_id("phase")
        ),
    )

    # Phase 2: GGZ joins, the risk factors become the Top 3, the client moves to her own home.
    at = _day(3, 2)
    w.case = engine.record(w.case, PartyJoined(id=w.next_id("join"), at=at, party=P_GGZ))
    w.case = engine.record(
        w.case,
        CareSettingChanged(
            id=w.next_id("setting"),
            at=at,
            care_setting=CareSetting(kind=CareSettingKind.AMBULANT),
            reason="Eigen woning via urgentie",
        ),
    )
    at = _day(3, 9)
    mdo = w.conference(
        at,
        {
            P_CLIENT: (7, "Rustig in de nieuwe woning."),
            P_PRACTITIONER: (6, "Stabiel, risicofactoren nog aanwezig."),
            P_VEILIG_THUIS: (6, "Voorwaarden nageleefd."),
            P_POLICE: (6, "Geen meldingen."),
            P_LOCAL_TEAM: (7, "Schuldhulp gestart."),
            P_GGZ: (6, "Traumabehandeling cliënt gestart; partner in daderhulp."),
        },
    )
    risks = _risks()
    w.plan(
        mdo,
        at,
        agreements=(
            SafetyAgreement(
                id=_id("sa-contact"),
                what="Partner zoekt geen contact met cliënt en kind",
                responsible=PARTNER.id,
                status=AgreementStatus.KEPT,
            ),
        ),
        risk_factors=risks,
        work_goals=(
            WorkGoal(
                id=_id("wg-control"),
                text="Partner volgt daderhulp",
                rank=1,
                risk_factor_id=risks[0].id,
            ),
            WorkGoal(
                id=_id("wg-debt"),
                text="Schulden in beeld en geregeld",
                rank=2,
                risk_factor_id=risks[1].id,
            ),
            WorkGoal(id=_id("wg-child"), text="Traumaverwerking kind", rank=3, risk_factor_id=risks[2].id),
            WorkGoal(
                id=_id("wg-safe"),
                text="Veilig wonen voor cliënt en kind",
                status=GoalStatus.ACHIEVED,
            ),
        ),
    )
    w.step("phase2", at)

    # An acute incident: the alert, and a relapse proposed.
    at = _day(5, 2, 22)
    w.case = engine.record(
        w.case,
        IncidentReported(
            id=w.next_id("incident"),
            at=at,
            severity=IncidentSeverity.SEVERE,
            acute=True,
            description="Partner verschijnt 's avonds aan de deur en bedreigt cliënt (synthetisch)",
            reported_by=P_POLICE.id,
        ),
    )
    w.step("incident", at)
    at = _day(5, 3)
    w.try_transition(
        "relapse",
        at,
        lambda: engine.relapse(w.case, at=at, reason="Acuut incident", event_id=w.next_id("phase")),
    )

    # Conference after the incident: safety restored, plan revised; advance again to phase 2.
    at = _day(5, 11)
    mdo = w.conference(
        at,
        {
            P_CLIENT: (6, "Partner is aangehouden, ik voel me weer veilig."),
            P_PRACTITIONER: (6, "Nieuwe afspraken, extra toezicht."),
            P_VEILIG_THUIS: (6, "Voorwaarden aangescherpt."),
            P_POLICE: (6, "Contactverbod via strafrechter; enkelband."),
            P_LOCAL_TEAM: (6, "Alert op school."),
            P_GGZ: (6, "Behandeling loopt door."),
        },
    )
    w.plan(
        mdo,
        at,
        agreements=(
            SafetyAgreement(
                id=_id("sa-ankle"),
                what="Partner draagt enkelband en komt niet in de wijk",
                responsible=PARTNER.id,
            ),
            SafetyAgreement(id=_id("sa-alarm"), what="Cliënt heeft AWARE-alarm", responsible=P_POLICE.id),
        ),
        risk_factors=risks,
        work_goals=(
            WorkGoal(
                id=_id("wg-control"),
                text="Partner volgt daderhulp",
                rank=1,
                risk_factor_id=risks[0].id,
            ),
            WorkGoal(
                id=_id("wg-debt"),
                text="Schulden in beeld en geregeld",
                rank=2,
                risk_factor_id=risks[1].id,
            ),
            WorkGoal(id=_id("wg-child"), text="Traumaverwerking kind", rank=3, risk_factor_id=risks[2].id),
        ),
    )
    w.try_transition(
        "mdo-after",
        at,
        lambda: engine.advance(w.case, at=at, reason="Veiligheid hersteld", event_id=w.next_id("phase")),
    )

    # Everyone at 7, but the stability window is not over yet.
    at = _day(7, 6)
    scores_7 = {
        P_CLIENT: (8, "Geen contact meer, ik bouw aan mijn leven."),
        P_PRACTITIONER: (7, "Risicofactoren nemen af, daderhulp afgerond."),
        P_VEILIG_THUIS: (7, "Voorwaarden al maanden nageleefd."),
        P_POLICE: (7, "Geen meldingen sinds mei."),
        P_LOCAL_TEAM: (7, "Schulden geregeld."),
        P_GGZ: (7, "Traumabehandeling loopt goed."),
    }
    w.conference(at, scores_7)
    w.try_transition(
        "window",
        at,
        lambda: engine.advance(w.case, at=at, event_id=w.next_id("phase")),
    )
    at = _day(8, 10)
    w.conference(at, scores_7)
    w.try_transition(
        "phase3",
        at,
        lambda: engine.advance(w.case, at=at, reason="Stabiele veiligheid", event_id=w.next_id("phase")),
    )

    # Recovery: recovery goals, then closing with handover.
    at = _day(9, 14)
    mdo = w.conference(
        at,
        {
            P_CLIENT: (8, "Het gaat goed met ons."),
            P_PRACTITIONER: (8, "Herstel zichtbaar."),
            P_VEILIG_THUIS: (8, "Geen zorgen meer."),
            P_POLICE: (8, "Geen meldingen."),
            P_LOCAL_TEAM: (8, "Gezin redt zich met lichte ondersteuning."),
            P_GGZ: (8, "Behandeling afgerond."),
        },
    )
    w.plan(
        mdo,
        at,
        agreements=(
            SafetyAgreement(
                id=_id("sa-ankle"),
                what="Partner draagt enkelband en komt niet in de wijk",
                responsible=PARTNER.id,
                status=AgreementStatus.ENDED,
            ),
        ),
        recovery_goals=(
            RecoveryGoal(id=_id("rg-work"), text="Cliënt vindt betaald werk"),
            RecoveryGoal(id=_id("rg-network"), text="Steunend netwerk rond het gezin"),
        ),
    )
    w.step("recovery", at)
    at = at + timedelta(days=21)
    w.try_transition(
        "close",
        at,
        lambda: engine.close(
            w.case,
            at=at,
            handover_to=(P_LOCAL_TEAM.id, P_GGZ.id),
            summary="Overdracht: wijkteam (lichte ondersteuning), GGZ (nazorg)",
            event_id=w.next_id("close"),
        ),
    )
    return w.steps


def build_demo_case(engine: Engine | None = None) -> Case:
    """The demo case at the end of the walk (closed, with its full history)."""
    return walk(engine)[-1].case


def last_open_case(steps: list[DemoStep]) -> Case:
    """The demo case at its last step before closing: still open, so an instrument can be applied,
    a score given or a plugin's rule tried on it (phase 3, with its full history)."""
    return next(step.case for step in reversed(steps) if not step.case.state.is_closed)


REPORT_STEP = "window"
"""The step whose case ``ketenzorg demo --out DIR`` writes as ``DIR/report.html``: phase 2 after a
relapse, everyone scoring 7 or more, the advance held back by the stability window; what a case
conference would put on the screen."""


def report_step(steps: list[DemoStep]) -> DemoStep:
    """The step of the walk the demo's case report shows (:data:`REPORT_STEP`)."""
    return next(step for step in steps if step.key == REPORT_STEP)
