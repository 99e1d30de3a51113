"""ketenzorg: an embeddable engine for Dutch phased chain care (gefaseerde ketenzorg).

The engine makes the method executable: immediate safety, then risk-driven care, then recovery,
decided by every party's substantiated safety score (veiligheidsscore) and explained rule by rule.

>>> from ketenzorg import Engine, Policy
>>> engine = Engine(Policy(max_score_age=timedelta(days=45)))   # doctest: +SKIP
>>> decision = engine.evaluate(case)                            # doctest: +SKIP
"""

# The public names are imported on first use (PEP 562): ``import ketenzorg`` costs next to nothing
# and ``ketenzorg --version`` does not load the engine, while ``from ketenzorg import Engine`` works
# as before. Type checkers read the imports below instead. TYPE_CHECKING is spelt out, not imported,
# so that this module does not import ``typing``; mypy and pyright take any TYPE_CHECKING as true.
from ketenzorg._version import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketenzorg.case import Case, CaseState
    from ketenzorg.conferences import ConferenceKind
    from ketenzorg.decision import (
        Alert,
        AlertLevel,
        Decision,
        Evidence,
        PartyRef,
        RuleResult,
        RuleStatus,
        Transition,
        UnjustifiedTransition,
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
        PlanTask,
        RecoveryGoal,
        Region,
        RiskFactor,
        SafetyAgreement,
        TaskStatus,
        Text,
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
    from ketenzorg.instruments import Action, Condition, Missing, ResultLevel
    from ketenzorg.messages import Message
    from ketenzorg.pluginhost import PluginError, PluginTimeoutError
    from ketenzorg.policy import Policy
    from ketenzorg.settings import Setting, Settings

_EXPORTS: dict[str, tuple[str, ...]] = {
    "ketenzorg.case": ("Case", "CaseState"),
    "ketenzorg.decision": (
        "Alert",
        "AlertLevel",
        "Decision",
        "Evidence",
        "PartyRef",
        "RuleResult",
        "RuleStatus",
        "Transition",
        "UnjustifiedTransition",
    ),
    "ketenzorg.domain": (
        "AgreementStatus",
        "CareSetting",
        "CareSettingKind",
        "GoalStatus",
        "IncidentSeverity",
        "Location",
        "Organisation",
        "PartnerType",
        "Party",
        "PartyRole",
        "Person",
        "PersonRole",
        "Phase",
        "PlanTask",
        "RecoveryGoal",
        "Region",
        "RiskFactor",
        "SafetyAgreement",
        "TaskStatus",
        "Text",
        "WorkGoal",
        "new_id",
    ),
    "ketenzorg.conferences": ("ConferenceKind",),
    "ketenzorg.engine": ("Engine",),
    "ketenzorg.errors": (
        "CaseFormatError",
        "FileWriteError",
        "InvalidEventError",
        "KetenzorgError",
        "MalformedInputError",
        "PolicyError",
        "Problem",
        "TransitionBlockedError",
        "ValidationError",
    ),
    "ketenzorg.events": (
        "CareSettingChanged",
        "CaseClosed",
        "CaseOpened",
        "ConferenceHeld",
        "Event",
        "IncidentReported",
        "InstrumentApplied",
        "PartyJoined",
        "PartyLeft",
        "PhaseChanged",
        "PlanRevised",
        "ScoreGiven",
        "TransitionKind",
    ),
    "ketenzorg.hookspecs": ("hookimpl",),
    "ketenzorg.instruments": ("Action", "Condition", "Missing", "ResultLevel"),
    "ketenzorg.messages": ("Message",),
    "ketenzorg.pluginhost": ("PluginError", "PluginTimeoutError"),
    "ketenzorg.policy": ("Policy",),
    "ketenzorg.settings": ("Setting", "Settings"),
}
"""Module -> the public names it defines; the same names, in the same modules, as imported above."""
_MODULE_OF: dict[str, str] = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "Action",
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
    "Condition",
    "ConferenceHeld",
    "ConferenceKind",
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
    "Message",
    "Missing",
    "Organisation",
    "PartnerType",
    "Party",
    "PartyJoined",
    "PartyLeft",
    "PartyRef",
    "PartyRole",
    "Person",
    "PersonRole",
    "Phase",
    "PhaseChanged",
    "PlanRevised",
    "PlanTask",
    "PluginError",
    "PluginTimeoutError",
    "Policy",
    "PolicyError",
    "Problem",
    "RecoveryGoal",
    "Region",
    "ResultLevel",
    "RiskFactor",
    "RuleResult",
    "RuleStatus",
    "SafetyAgreement",
    "ScoreGiven",
    "Setting",
    "Settings",
    "TaskStatus",
    "Text",
    "Transition",
    "TransitionBlockedError",
    "TransitionKind",
    "UnjustifiedTransition",
    "ValidationError",
    "WorkGoal",
    "__version__",
    "hookimpl",
    "new_id",
]


_SUBMODULES = frozenset(
    {"case", "decision", "domain", "engine", "errors", "events", "hookspecs", "instruments", "messages"}
    | {"pluginhost", "policy", "rules"}
)
"""The submodules an eager ``import ketenzorg`` used to load: still attributes of the package."""


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if not TYPE_CHECKING:  # for type checkers, a name outside the imports above stays an error

    def __getattr__(name: str) -> object:
        """Import a public name on first use and keep it, so that later look-ups are plain."""
        from importlib import import_module

        if name in _SUBMODULES:
            return import_module(f"{__name__}.{name}")  # the import sets it on the package
        module = _MODULE_OF.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        globals()[name] = value
        return value
