"""Small builders for synthetic cases. No real names, addresses or BSNs anywhere."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs

from ketenzorg import (
    CareSetting,
    CareSettingKind,
    Case,
    CaseOpened,
    ConferenceHeld,
    Engine,
    IncidentReported,
    IncidentSeverity,
    Organisation,
    PartnerType,
    Party,
    PartyRole,
    Person,
    PersonRole,
    PlanRevised,
    Region,
    SafetyAgreement,
    WorkGoal,
)
from ketenzorg.events import CareSettingChanged
from ketenzorg.interop.fhir import SECRET_LOCATION_NAME, secret_location_pseudonyms

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

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

TEAM = (CLIENT, PRACTITIONER, POLICE, VEILIG_THUIS)


def shipped_engine() -> Engine:
    """A fresh engine with only the shipped plugins: what an export or import in a test is given."""
    return Engine()


def day(n: float) -> datetime:
    """``n`` days after the case was opened."""
    return T0 + timedelta(days=n)


def opened(parties: tuple[Party, ...] = TEAM, *, at: datetime = T0) -> CaseOpened:
    return CaseOpened(
        id="opened",
        at=at,
        organisation=Organisation(id="org", name="Opvang Test"),
        region=Region(region="Regio Test", lead_municipality="Centrumstad", municipality="Dorp"),
        persons=(CLIENT_PERSON, OTHER_PERSON),
        parties=parties,
        care_setting=CareSetting(kind=CareSettingKind.AMBULANT),
    )


def as_exported(case: Case) -> Case:
    """The case as it comes back from FHIR: a secret location keeps neither its name nor its id
    (it is the placeholder name under the case's pseudonym); everything else comes back exactly."""
    pseudonyms = secret_location_pseudonyms(case)

    def hide(setting: CareSetting) -> CareSetting:
        location = setting.location
        if location is None or location.id not in pseudonyms:
            return setting
        hidden = attrs.evolve(location, id=pseudonyms[location.id], name=SECRET_LOCATION_NAME, secret=True)
        return attrs.evolve(setting, location=hidden)

    events = [
        attrs.evolve(e, care_setting=hide(e.care_setting))
        if isinstance(e, CaseOpened | CareSettingChanged)
        else e
        for e in case.events
    ]
    return Case(case.case_id, events)


def new_case(parties: tuple[Party, ...] = TEAM) -> Case:
    return Case.open(opened(parties), case_id="case-test")


def conference(
    engine: Engine,
    case: Case,
    at: datetime,
    scores: dict[str, int] | None = None,
    *,
    client_present: bool = True,
    rationale: str = "onderbouwing (synthetisch)",
    conference_id: str | None = None,
) -> tuple[Case, str]:
    """Hold a conference at ``at`` where each party id in ``scores`` scores."""
    conference_id = conference_id or f"mdo-{at.isoformat()}"
    team = tuple(case.state.care_team)
    case = engine.record(
        case,
        ConferenceHeld(id=conference_id, at=at, participants=team, client_present=client_present),
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
    return dict.fromkeys(case.state.care_team, score)


def plan(
    engine: Engine, case: Case, conference_id: str, at: datetime, goals: int = 2, agreements: int = 1
) -> Case:
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


def incident(engine: Engine, case: Case, at: datetime, *, acute: bool) -> Case:
    return engine.record(
        case,
        IncidentReported(
            at=at,
            severity=IncidentSeverity.SEVERE if acute else IncidentSeverity.MINOR,
            acute=acute,
            description="incident (synthetisch)",
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


GEWELDSANALYSE_ORANGE = {
    # Geweldsanalyse answers that give safety code orange (synthetic)
    "nature": ["physical"],
    "injury": False,
    "weapon": False,
    "strangulation": False,
    "threats_to_kill": False,
    "fear_for_life": False,
    "frequency": "occasional",
    "escalation": False,
    "coercive_control": True,
    "children_witness": False,
    "violence_against_children": False,
    "separation": "none",
    "perpetrator_access": "no_access",
}


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The command line as a user runs it, in a subprocess; never a traceback, never exit 3."""
    result = subprocess.run(
        [sys.executable, "-m", "ketenzorg", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        cwd=cwd,
        check=False,
    )
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert "internal error" not in result.stderr, result.stderr
    assert result.returncode != 3, result.stderr
    return result
