"""ketenzorg: an embeddable engine for Dutch phased chain care (gefaseerde ketenzorg).

The engine makes the method executable: immediate safety, then risk-driven care, then recovery,
decided by every party's substantiated safety score (veiligheidsscore) and explained rule by rule.

>>> from ketenzorg import Engine, Policy
>>> engine = Engine(Policy(max_score_age=timedelta(days=45)))   # doctest: +SKIP
>>> decision = engine.evaluate(case)                            # doctest: +SKIP
"""

from ketenzorg._version import __version__
from ketenzorg.case import Case, CaseState
from ketenzorg.decision import (
    Alert,
    AlertLevel,
    Decision,
    Evidence,
    RuleResult,
    RuleStatus,
    Transition,
)
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
    Phase,
    RecoveryGoal,
    Region,
    RiskFactor,
    SafetyAgreement,
    WorkGoal,
    new_id,
)
from ketenzorg.engine import Engine
from ketenzorg.errors import (
    CaseFormatError,
    FileWriteError,
    InvalidEventError,
    KetenzorgError,
    MalformedInputError,
    PolicyError,
    Problem,
    TransitionBlockedError,
    ValidationError,
)
from ketenzorg.events import (
    CareSettingChanged,
    CaseClosed,
    CaseOpened,
    ConferenceHeld,
    Event,
    IncidentReported,
    InstrumentApplied,
    PartyJoined,
    PartyLeft,
    PhaseChanged,
    PlanRevised,
    ScoreGiven,
    TransitionKind,
)
from ketenzorg.hookspecs import hookimpl
from ketenzorg.pluginhost import PluginError, PluginTimeoutError
from ketenzorg.policy import Policy

__all__ = [
    "AgreementStatus",
    "Alert",
    "AlertLevel",
    "CareSetting",
    "CareSettingChanged",
    "CareSettingKind",
    "Case",
    "CaseClosed",
    "CaseFormatError",
    "CaseOpened",
    "CaseState",
    "ConferenceHeld",
    "Decision",
    "Engine",
    "Event",
    "Evidence",
    "FileWriteError",
    "GoalStatus",
    "IncidentReported",
    "IncidentSeverity",
    "InstrumentApplied",
    "InvalidEventError",
    "KetenzorgError",
    "Location",
    "MalformedInputError",
    "Organisation",
    "PartnerType",
    "Party",
    "PartyJoined",
    "PartyLeft",
    "PartyRole",
    "Person",
    "PersonRole",
    "Phase",
    "PhaseChanged",
    "PlanRevised",
    "PluginError",
    "PluginTimeoutError",
    "Policy",
    "PolicyError",
    "Problem",
    "RecoveryGoal",
    "Region",
    "RiskFactor",
    "RuleResult",
    "RuleStatus",
    "SafetyAgreement",
    "ScoreGiven",
    "Transition",
    "TransitionBlockedError",
    "TransitionKind",
    "ValidationError",
    "WorkGoal",
    "__version__",
    "hookimpl",
    "new_id",
]
