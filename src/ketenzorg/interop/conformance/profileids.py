"""The ids of the resource profiles (their URL is ``profile_url(id)``), shared by the profile modules."""

from __future__ import annotations

from typing import Final

__all__ = [
    "BUNDLE",
    "CARE_SETTING",
    "CARE_TEAM",
    "CASE_CONFERENCE",
    "GOAL",
    "INCIDENT",
    "INSTRUMENT_ANSWERS",
    "INSTRUMENT_APPLICATION",
    "PHASE_CHANGE",
    "PROFILES",
    "SAFETY_ACTION_PLAN",
    "SAFETY_SCORE",
    "TRAJECTORY",
]

TRAJECTORY: Final = "ketenzorg-trajectory"
SAFETY_ACTION_PLAN: Final = "ketenzorg-safety-action-plan"
SAFETY_SCORE: Final = "ketenzorg-safety-score"
INCIDENT: Final = "ketenzorg-incident"
PHASE_CHANGE: Final = "ketenzorg-phase-change"
GOAL: Final = "ketenzorg-goal"
CASE_CONFERENCE: Final = "ketenzorg-case-conference"
CARE_SETTING: Final = "ketenzorg-care-setting"
CARE_TEAM: Final = "ketenzorg-care-team"
INSTRUMENT_APPLICATION: Final = "ketenzorg-instrument-application"
INSTRUMENT_ANSWERS: Final = "ketenzorg-instrument-answers"
BUNDLE: Final = "ketenzorg-bundle"
PROFILES: Final = (
    TRAJECTORY,
    SAFETY_ACTION_PLAN,
    SAFETY_SCORE,
    INCIDENT,
    PHASE_CHANGE,
    GOAL,
    CASE_CONFERENCE,
    CARE_SETTING,
    CARE_TEAM,
    INSTRUMENT_APPLICATION,
    INSTRUMENT_ANSWERS,
    BUNDLE,
)
"""The ids of the resource profiles (their URL is ``profile_url(id)``)."""
