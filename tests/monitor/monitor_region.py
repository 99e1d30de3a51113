"""A small hand-built region: four cases made through the engine, for hand-computed indicators."""

from __future__ import annotations

from datetime import UTC, datetime

from ketenzorg.case import Case
from ketenzorg.domain import CareSetting, CareSettingKind, Location, Organisation, Region
from ketenzorg.engine import Engine
from ketenzorg.events import CareSettingChanged, CaseOpened
from ketenzorg.testing import (
    CLIENT_PERSON,
    OTHER_PERSON,
    TEAM,
    all_score,
    conference,
    engine_with,
    incident,
    plan,
)

REGION = "Regio Proef"


def when(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def engine() -> Engine:
    return engine_with(clock=lambda: when("2027-01-01T00:00:00"))


def opened(case_id: str, municipality: str, at: datetime) -> Case:
    event = CaseOpened(
        id="opened",
        at=at,
        organisation=Organisation(id="org", name="Opvang Proef"),
        region=Region(region=REGION, lead_municipality="Proefstad", municipality=municipality),
        persons=(CLIENT_PERSON, OTHER_PERSON),
        parties=TEAM,
        care_setting=CareSetting(kind=CareSettingKind.AMBULANT),
    )
    return Case.open(event, case_id=case_id)


def region_cases(engine: Engine) -> list[Case]:
    """A: Dorp Een, opened 2025-12-20, phase 2 on 2026-01-10 (day 21), phase 3 on 2026-07-15
    (day 207), closed 2026-08-01. B: Dorp Een, opened 2026-03-01, phase 2 on 2026-03-11 (day 10),
    a conference on 2026-04-01 where police and Veilig Thuis do not score, an acute incident and
    relapse on 2026-05-01. C: Dorp Twee, opened 2026-06-30 23:00, phase 2 at 2026-07-01 00:00
    (the first moment of H2). D: Dorp Twee, opened 2026-01-01 00:00 (the first moment of H1),
    Geweldsanalyse (green) on 2026-01-02, to a shelter on 2026-02-01, stays in phase 1."""
    a = opened("case-a", "Dorp Een", when("2025-12-20T00:00:00"))
    a, mdo = conference(engine, a, when("2026-01-10T00:00:00"), all_score(a, 6))
    a = plan(engine, a, mdo, when("2026-01-10T00:00:00"))
    a = engine.advance(a, at=when("2026-01-10T00:00:00"))
    a, _ = conference(engine, a, when("2026-07-15T00:00:00"), all_score(a, 7))
    a = engine.advance(a, at=when("2026-07-15T00:00:00"))
    a = engine.close(a, handover_to=("police",), at=when("2026-08-01T00:00:00"))

    b = opened("case-b", "Dorp Een", when("2026-03-01T00:00:00"))
    b, mdo = conference(engine, b, when("2026-03-11T00:00:00"), all_score(b, 6))
    b = plan(engine, b, mdo, when("2026-03-11T00:00:00"))
    b = engine.advance(b, at=when("2026-03-11T00:00:00"))
    b, _ = conference(engine, b, when("2026-04-01T00:00:00"), {"client": 6, "practitioner": 6})
    b = incident(engine, b, when("2026-05-01T00:00:00"), acute=True)
    b = engine.relapse(b, at=when("2026-05-01T00:00:00"))

    c = opened("case-c", "Dorp Twee", when("2026-06-30T23:00:00"))
    c, mdo = conference(engine, c, when("2026-07-01T00:00:00"), all_score(c, 6))
    c = plan(engine, c, mdo, when("2026-07-01T00:00:00"))
    c = engine.advance(c, at=when("2026-07-01T00:00:00"))

    from ketenzorg.testing import answers_for

    d = opened("case-d", "Dorp Twee", when("2026-01-01T00:00:00"))
    spec = engine.instruments["geweldsanalyse"].spec
    d = engine.assess(d, "geweldsanalyse", answers_for(spec), at=when("2026-01-02T00:00:00"))
    shelter = CareSetting(kind=CareSettingKind.SHELTER, location=Location(name="Opvang Proef", secret=True))
    d = engine.record(d, CareSettingChanged(at=when("2026-02-01T00:00:00"), care_setting=shelter))
    return [a, b, c, d]
