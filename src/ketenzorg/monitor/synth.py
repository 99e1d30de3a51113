"""A synthetic region: many cases over several municipalities, made through the engine.

Every step goes through the engine's public API (``record``, ``give_score``, ``assess``,
``advance``, ``relapse``, ``close``), so every transition is one the engine allows: a gate that
does not open simply means the case stays where it is. Seeded and deterministic: the same seed
gives the same cases. All names are invented; ``marker`` is put into every free text, every name
and every address, so a test can show none of them reaches an output.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from ketenzorg.case import Case
from ketenzorg.domain import (
    CareSetting,
    CareSettingKind,
    IncidentSeverity,
    Location,
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
from ketenzorg.errors import TransitionBlockedError
from ketenzorg.events import CareSettingChanged, CaseOpened, ConferenceHeld, IncidentReported, PlanRevised

__all__ = ["GEOGRAPHY", "RegionSpec", "generate", "synth_engine"]

GEOGRAPHY: dict[str, tuple[str, tuple[tuple[str, int], ...]]] = {
    "Regio Noorderveen": ("Veenstad", (("Veenstad", 8), ("Turfdorp", 3), ("Wieldijk", 2), ("Klein Aa", 1))),
    "Regio Heuvelrand": ("Bergum aan Zee", (("Bergum aan Zee", 6), ("Heidehoeve", 3), ("Eikenrode", 1))),
    "Regio Rivierenland-Oost": ("Dijkhaven", (("Dijkhaven", 5), ("Waardburg", 4), ("Polderkerk", 2))),
}
"""Invented regions: lead municipality and municipalities with their relative sizes."""

_PARTNERS = (
    PartnerType.POLICE,
    PartnerType.VEILIG_THUIS,
    PartnerType.LOCAL_TEAM,
    PartnerType.YOUTH_PROTECTION,
    PartnerType.GGZ,
)
_SKIP = {PartnerType.POLICE: 0.25, PartnerType.GGZ: 0.15, PartnerType.LOCAL_TEAM: 0.05}
"""How often a partner of this type gives no score in a conference that decides nothing."""


@attrs.frozen
class RegionSpec:
    """One area a case can be in."""

    region: str
    lead_municipality: str
    municipality: str
    weight: int


def _areas() -> list[RegionSpec]:
    return [
        RegionSpec(region, lead, municipality, weight)
        for region, (lead, municipalities) in GEOGRAPHY.items()
        for municipality, weight in municipalities
    ]


def synth_engine(as_of: datetime) -> Engine:
    """An engine with the shipped plugins whose clock stands at ``as_of`` (no event after it)."""
    from ketenzorg.policy import Policy

    return Engine(Policy(), clock=lambda: as_of)


class _Trajectory:
    """One case, step by step; a step past ``as_of`` ends it (the case stays open)."""

    def __init__(self, engine: Engine, rng: random.Random, case: Case, as_of: datetime, marker: str) -> None:
        self.engine, self.rng, self.case, self.as_of, self.marker = engine, rng, case, as_of, marker
        self.at = case.events[0].at
        self.conferences = 0

    def text(self, what: str) -> str:
        return f"{what} {self.marker}"

    def later(self, low: float, high: float) -> bool:
        """Move the clock on ``low..high`` days; False when that passes ``as_of``."""
        self.at = self.at + timedelta(days=self.rng.uniform(low, high), minutes=self.rng.randint(0, 600))
        return self.at <= self.as_of

    def conference(self, score: Callable[[Party], int | None]) -> str:
        self.conferences += 1
        cid = f"c{self.conferences}"
        team = tuple(self.case.state.care_team)
        self.case = self.engine.record(
            self.case,
            ConferenceHeld(
                id=cid, at=self.at, participants=team, client_present=True, notes=self.text("notes")
            ),
        )
        for party_id, party in list(self.case.state.care_team.items()):
            given = score(party)
            if given is not None:
                self.case = self.engine.give_score(
                    self.case,
                    party_id=party_id,
                    score=given,
                    rationale=self.text("rationale"),
                    at=self.at,
                    conference_id=cid,
                )
        return cid

    def plan(self, cid: str) -> None:
        self.case = self.engine.record(
            self.case,
            PlanRevised(
                at=self.at,
                conference_id=cid,
                agreements=(SafetyAgreement(what=self.text("agreement"), responsible="practitioner"),),
                work_goals=(WorkGoal(text=self.text("goal"), rank=1),),
            ),
        )

    def scores(self, low: int, high: int, *, skipping: bool) -> Callable[[Party], int | None]:
        def score(party: Party) -> int | None:
            if (
                skipping
                and party.partner_type is not None
                and self.rng.random() < _SKIP.get(party.partner_type, 0)
            ):
                return None
            return self.rng.randint(low, high)

        return score

    def transition(self, step: Callable[[], Case]) -> bool:
        try:
            self.case = step()
        except TransitionBlockedError:
            return False
        return True

    def incident(self, acute: bool) -> None:
        severity = (
            IncidentSeverity.SEVERE
            if acute
            else self.rng.choice((IncidentSeverity.MINOR, IncidentSeverity.SERIOUS))
        )
        self.case = self.engine.record(
            self.case,
            IncidentReported(at=self.at, severity=severity, acute=acute, description=self.text("incident")),
        )

    def run(self) -> Case:
        rng = self.rng
        self.assess()
        relapses = 0
        while True:
            # phase 1: conferences until everyone scores at least 6
            cid = self.conference(self.scores(3, 6, skipping=False))
            self.plan(cid)
            while True:
                if not self.later(7, 35):
                    return self.case
                ready = rng.random() < 0.35
                cid = self.conference(
                    self.scores(6, 8, skipping=False) if ready else self.scores(3, 7, skipping=True)
                )
                if ready and self.transition(lambda: self.engine.advance(self.case, at=self.at)):
                    break
            # phase 2: risk-driven care; incidents may bring a relapse
            relapsed = False
            months = rng.uniform(2, 10)
            for _ in range(int(months * 1.5) + 1):
                if not self.later(14, 28):
                    return self.case
                if rng.random() < 0.08 and relapses < 2:
                    acute = rng.random() < 0.5
                    self.incident(acute)
                    if acute:
                        if not self.later(0.01, 0.05):
                            return self.case
                        if self.transition(lambda: self.engine.relapse(self.case, at=self.at)):
                            relapses += 1
                            relapsed = True
                            break
                    else:
                        if not self.later(1, 7):
                            return self.case
                        low = rng.random() < 0.5
                        self.conference(
                            self.scores(4, 7, skipping=False) if low else self.scores(6, 8, skipping=False)
                        )
                        if low and self.transition(lambda: self.engine.relapse(self.case, at=self.at)):
                            relapses += 1
                            relapsed = True
                            break
                else:
                    self.conference(self.scores(6, 8, skipping=True))
                if rng.random() < 0.05 and self.case.state.care_setting.kind is CareSettingKind.SHELTER:
                    self.move(CareSettingKind.AMBULANT)
            if relapsed:
                continue
            if not self.later(14, 42):
                return self.case
            self.conference(self.scores(7, 9, skipping=False))
            if not self.transition(lambda: self.engine.advance(self.case, at=self.at)):
                continue  # an incident in the stability window: the case stays in phase 2
            break
        # phase 3: recovery care, then close with a handover (or still open at as_of)
        for _ in range(rng.randint(1, 6)):
            if not self.later(20, 45):
                return self.case
            self.conference(self.scores(7, 10, skipping=True))
        if not self.later(5, 20):
            return self.case
        if self.case.state.care_setting.kind is CareSettingKind.SHELTER:
            self.move(CareSettingKind.AMBULANT)
        partners = [
            p for p, party in self.case.state.care_team.items() if party.role is PartyRole.CHAIN_PARTNER
        ]
        handover = tuple(rng.sample(partners, k=min(len(partners), rng.randint(1, 2))))
        self.transition(
            lambda: self.engine.close(
                self.case, handover_to=handover, at=self.at, summary=self.text("summary")
            )
        )
        return self.case

    def assess(self) -> None:
        from ketenzorg.testing import answers_for

        registered = self.engine.instruments.get("geweldsanalyse")
        if registered is None:
            return
        pick = self.rng.random()
        extra: dict[str, Any] = {}
        if pick > 0.45:
            extra.update(weapon=True, frequency="weekly")
        if pick > 0.8:
            extra.update(strangulation=True, threats_to_kill=True, fear_for_life=True)
        answers = answers_for(registered.spec, notes=self.text("notes"), **extra)
        self.case = self.engine.assess(
            self.case, "geweldsanalyse", answers, at=self.at, applied_by="practitioner"
        )

    def move(self, kind: CareSettingKind) -> None:
        self.case = self.engine.record(
            self.case,
            CareSettingChanged(
                at=self.at, care_setting=_setting(kind, self.rng, self.marker), reason=self.text("reason")
            ),
        )


def _setting(kind: CareSettingKind, rng: random.Random, marker: str) -> CareSetting:
    if kind is CareSettingKind.AMBULANT:
        return CareSetting(kind=kind)
    if rng.random() < 0.5:
        return CareSetting(kind=kind, location=Location(name=f"Opvang Geheim {marker}", secret=True))
    location = Location(name=f"Oranje Huis {marker}", address=f"Lindelaan 1 {marker}")
    return CareSetting(kind=kind, location=location)


def _opened(rng: random.Random, area: RegionSpec, at: datetime, marker: str, index: int) -> CaseOpened:
    client = Person(id="p-client", role=PersonRole.CLIENT, label=f"Cliënt {marker}")
    other = Person(id="p-other", role=PersonRole.PERSON_WHO_USED_VIOLENCE, label=f"Partner {marker}")
    parties = [
        Party(id="client", role=PartyRole.CLIENT, name=f"Cliënt {marker}", person_id=client.id),
        Party(id="practitioner", role=PartyRole.PRACTITIONER, name=f"Hulpverlener {marker}"),
    ]
    for n, partner in enumerate(rng.sample(_PARTNERS, k=rng.randint(1, 3))):
        parties.append(
            Party(
                id=f"partner-{n}",
                role=PartyRole.CHAIN_PARTNER,
                name=f"{partner.value} {marker}",
                partner_type=partner,
            )
        )
    kind = CareSettingKind.SHELTER if rng.random() < 0.2 else CareSettingKind.AMBULANT
    return CaseOpened(
        id="opened",
        at=at,
        organisation=Organisation(id="org", name=f"Opvang Voorbeeld {marker}"),
        region=Region(
            region=area.region, lead_municipality=area.lead_municipality, municipality=area.municipality
        ),
        persons=(client, other),
        parties=tuple(parties),
        care_setting=_setting(kind, rng, marker),
        reason=f"reden {marker} {index}",
    )


def generate(
    n: int,
    *,
    seed: int = 0,
    start: datetime = datetime(2024, 1, 1, tzinfo=UTC),
    as_of: datetime = datetime(2026, 10, 1, tzinfo=UTC),
    engine: Engine | None = None,
    marker: str = "zz-synth",
    first: int = 0,
) -> Iterator[Case]:
    """``n`` synthetic cases opened between ``start`` and ``as_of``, one at a time.

    ``engine`` (default :func:`synth_engine`) must not judge ``as_of`` to be in the future.
    Case ``i`` depends only on ``seed`` and ``i``; ``first`` starts at case ``first`` (so that
    several processes can each make a share of one region).
    """
    engine = engine or synth_engine(as_of)
    areas = _areas()
    weights = [a.weight for a in areas]
    span = (as_of - start).total_seconds()
    for index in range(first, first + n):
        rng = random.Random(f"{seed}:{index}")
        area = rng.choices(areas, weights)[0]
        at = start + timedelta(seconds=int(rng.random() * span))
        case = Case.open(_opened(rng, area, at, marker, index), case_id=f"case-{marker}-{seed}-{index}")
        yield _Trajectory(engine, rng, case, as_of, marker).run()
