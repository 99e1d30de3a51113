"""Builders for the project's own tests: the synthetic cases come from :mod:`ketenzorg.testing`
(one implementation, the one plugin authors use); what only these tests need is here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import attrs

from ketenzorg import CareSetting, Case, CaseOpened, Engine
from ketenzorg.events import CareSettingChanged
from ketenzorg.interop.fhir import SECRET_LOCATION_NAME, secret_location_pseudonyms
from ketenzorg.testing import (
    CLIENT,
    CLIENT_PERSON,
    NETWORK,
    OTHER_PERSON,
    POLICE,
    PRACTITIONER,
    T0,
    TEAM,
    VEILIG_THUIS,
    all_score,
    case_in_phase_1_ready,
    case_in_phase_2,
    case_in_phase_3,
    conference,
    day,
    engine_with,
    incident,
    new_case,
    opened,
    plan,
)

__all__ = [
    "CLIENT",
    "CLIENT_PERSON",
    "GEWELDSANALYSE_ORANGE",
    "NETWORK",
    "OTHER_PERSON",
    "POLICE",
    "PRACTITIONER",
    "T0",
    "TEAM",
    "VEILIG_THUIS",
    "all_score",
    "as_exported",
    "case_in_phase_1_ready",
    "case_in_phase_2",
    "case_in_phase_3",
    "conference",
    "day",
    "incident",
    "new_case",
    "opened",
    "plan",
    "run_cli",
    "shipped_engine",
]


def shipped_engine() -> Engine:
    """A fresh engine with only the shipped plugins: what an export or import in a test is given."""
    return engine_with()


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
