"""ketenzorg-rihg: an example third-party ketenzorg plugin with a RiHG-style police checklist.

A *synthetic reference version* modelled on the Dutch police's Risicotaxatie-instrument Huiselijk
Geweld (RiHG). It is **not** the official instrument: the 20 signals, their texts and the scoring
are invented to show the plugin interface, and must not be used to assess real people.

Installed, it registers itself in the ``ketenzorg`` entry-point group as the plugin ``rihg``
(``Engine(entry_points=True)`` loads it) and provides three hooks:

- ``ketenzorg_register_instruments``: the instrument ``rihg``. 20 signals in three parts
  (A incident en geweld, B pleger, C slachtoffer en context), each rated ``red`` (signal present
  and serious), ``blue`` (signal present) or ``yellow`` (unknown or not assessed); a signal that
  is not answered was not observed. Two or more red signals in one part advise in principle a
  temporary restraining order (tijdelijk huisverbod, 10 days, extendable to 28): safety code red,
  urgency immediate. Otherwise any red signal gives orange / soon, else green / routine.
  The red signals are reported as risk factors. The result names its level on the instrument's
  own scale (``low``, ``elevated``, ``restraining_order``, declared in the data file with what
  each means for urgency and advised setting), and a result that advises an order asks for a
  referral to a restraining-order consultation: an action the plan carries as a task.
- ``ketenzorg_register_conference_kinds``: the conference kind ``rihg.huisverbod-overleg``
  (huisverbodoverleg, restraining-order consultation), beside the method's case conference,
  MARAC and safety check.
- ``ketenzorg_register_rules``: the gate rule ``rihg.restraining-order``. While the latest RiHG
  result advises a restraining order and no restraining-order consultation has been held since,
  it raises an immediate-protection alert and blocks advancing (and closing).
- ``ketenzorg_register_settings``: the setting ``restraining_order_per_part`` (1..10, default from
  the data file): how many weighed red signals in one part advise a restraining order. An
  organisation sets it in its policy: ``{"plugins": {"rihg": {"restraining_order_per_part": 3}}}``.

The item set, the weights and the default threshold are data (``rihg.json``); this module only scores.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from ketenzorg.conferences import ConferenceKind
from ketenzorg.decision import Alert, AlertLevel, RuleResult, RuleStatus
from ketenzorg.domain import RiskFactor, Text
from ketenzorg.events import InstrumentApplied
from ketenzorg.hookspecs import hookimpl
from ketenzorg.instruments import (
    Action,
    Answer,
    Classification,
    InstrumentResult,
    InstrumentSpec,
    SafetyCode,
    Urgency,
    load_data,
    spec_from_data,
)
from ketenzorg.messages import Message
from ketenzorg.pluginhost import ConferenceKindRegistry, InstrumentRegistry, RuleRegistry, SettingRegistry
from ketenzorg.rules import Finding, RuleContext, rule
from ketenzorg.settings import Setting, Settings

__all__ = [
    "CONSULTATION",
    "INSTRUMENT_ID",
    "RESTRAINING_ORDER",
    "RULE_ID",
    "THRESHOLD_SETTING",
    "Rihg",
    "advises_restraining_order",
    "ketenzorg_register_conference_kinds",
    "ketenzorg_register_instruments",
    "ketenzorg_register_rules",
    "ketenzorg_register_settings",
    "restraining_order_rule",
]

__version__ = "0.1.0"
"""The distribution's version (single source: pyproject.toml reads it from here)."""

INSTRUMENT_ID = "rihg"
RULE_ID = "rihg.restraining-order"
RESTRAINING_ORDER = "restraining_order"
"""The classification code of a result that advises a temporary restraining order."""

CONSULTATION = ConferenceKind(
    code="rihg.huisverbod-overleg",
    name={"nl": "huisverbodoverleg", "en": "restraining-order consultation"},
)
"""The conference kind in which an advised restraining order is weighed (the plugin's own kind)."""

LEVEL_LOW, LEVEL_ELEVATED, LEVEL_ORDER = "low", "elevated", "restraining_order"
"""The levels of the instrument's own scale (declared with their meaning in ``rihg.json``)."""

THRESHOLD_SETTING = "restraining_order_per_part"
"""The setting an organisation may give: weighed red signals in one part that advise an order."""

RED, BLUE, YELLOW = "red", "blue", "yellow"


class Rihg:
    """The synthetic RiHG-style checklist; its data decides the signals and the weighing."""

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self.data = data or load_data("ketenzorg_rihg", "rihg.json")

    @cached_property
    def spec(self) -> InstrumentSpec:
        return spec_from_data(self.data)

    def red_by_part(self, answers: Mapping[str, Answer]) -> dict[str, list[str]]:
        """The signals rated red in each part (section), in the order of the items."""
        out: dict[str, list[str]] = {part["section"]: [] for part in self.data["parts"]}
        for item in self.spec.items:
            if answers.get(item.id) == RED:
                out.setdefault(item.section or "", []).append(item.id)
        return out

    @property
    def default_threshold(self) -> int:
        """The data file's threshold: the setting's default."""
        value: int = self.data["thresholds"]["restraining_order_per_part"]
        return value

    def assess(self, answers: Mapping[str, Answer], *, settings: Settings | None = None) -> InstrumentResult:
        """Score the answers; ``settings`` are the organisation's (the engine gives them)."""
        weights: Mapping[str, int] = self.data["weights"]
        threshold = self.default_threshold if settings is None else settings.value(THRESHOLD_SETTING, int)
        advice_data: Mapping[str, Mapping[str, str]] = self.data["advice"]
        lines: Mapping[str, Mapping[str, str]] = self.data["explanation"]
        names = {part["section"]: part["name"] for part in self.data["parts"]}

        def text(template: Mapping[str, str], **values: Any) -> Text:
            """A text in Dutch and English; a value that is itself a text is taken in each language."""
            return Text(
                *(
                    template[lang].format(
                        **{k: v[lang] if isinstance(v, Mapping) else v for k, v in values.items()}
                    )
                    for lang in ("nl", "en")
                )
            )

        explanation: list[Text] = []
        order_parts: list[str] = []
        for part in self.data["parts"]:
            section = part["section"]
            ratings = [answers.get(item.id) for item in self.spec.items if item.section == section]
            points = sum(weights.get(r, 0) for r in ratings if isinstance(r, str))
            counts = {code: ratings.count(code) for code in (RED, BLUE, YELLOW)}
            explanation.append(
                text(
                    lines["part"],
                    part=names[section],
                    red=counts[RED],
                    blue=counts[BLUE],
                    yellow=counts[YELLOW],
                    absent=ratings.count(None),
                    points=points,
                    threshold=threshold,
                )
            )
            if points >= threshold:
                order_parts.append(section)

        red = [item.id for item in self.spec.items if answers.get(item.id) == RED]
        unknown = sum(1 for item in self.spec.items if answers.get(item.id) == YELLOW)
        classifications: tuple[Classification, ...] = ()
        advice: list[Text] = []
        actions: tuple[Action, ...] = ()
        if order_parts:
            code, urgency, level = SafetyCode.RED, Urgency.IMMEDIATE, LEVEL_ORDER
            # the plan carries the referral as a task until the consultation is done
            actions = (
                Action(kind="referral", text=self.data["referral"], conference_kind=CONSULTATION.code),
            )
            order = self.data["restraining_order"]
            classifications = (
                Classification(code=order["code"], display=order["display"], emphasis=order["emphasis"]),
            )
            parts_text = {lang: ", ".join(names[s][lang] for s in order_parts) for lang in ("nl", "en")}
            advice.append(text(advice_data["restraining_order"], count=threshold, parts=parts_text))
        elif red:
            code, urgency, level = SafetyCode.ORANGE, Urgency.SOON, LEVEL_ELEVATED
            advice.append(Text.of(advice_data["red"]))
        else:
            code, urgency, level = SafetyCode.GREEN, Urgency.ROUTINE, LEVEL_LOW
        if unknown:
            advice.append(text(advice_data["unknown"], count=unknown))
        if red:
            explanation.append(text(lines["red"], items=", ".join(red)))

        factors_data: Mapping[str, Mapping[str, str]] = self.data["risk_factors"]
        factors = tuple(
            RiskFactor(
                id=f"rihg:{item}",
                text={"nl": factors_data[item]["nl"], "en": factors_data[item]["en"]},
                code=factors_data[item]["code"],
            )
            for item in red
            if item in factors_data
        )
        return InstrumentResult(
            safety_code=code,
            classifications=classifications,
            risk_factors=factors,
            urgency=urgency,
            advice=tuple(advice),
            explanation=tuple(explanation),
            level=level,
            actions=actions,
        )


# --- the rule ------------------------------------------------------------------------------------


def advises_restraining_order(applied: InstrumentApplied) -> bool:
    """Whether a recorded RiHG result advises a temporary restraining order."""
    return any(c.code == RESTRAINING_ORDER for c in applied.result.classifications)


def _latest(ctx: RuleContext) -> InstrumentApplied | None:
    for applied in ctx.assessments():
        if applied.instrument_id == INSTRUMENT_ID:
            return applied
    return None


@rule(RULE_ID)
def restraining_order_rule(ctx: RuleContext) -> Finding:
    """While the latest RiHG result advises a restraining order and no case conference was held
    after it, raise the immediate-protection alert and block advancing (any phase)."""
    applied = _latest(ctx)
    if applied is None:
        message = Message.literal(
            nl="Nog geen RiHG afgenomen",
            en="No RiHG applied yet",
        )
        return Finding(RuleResult(RULE_ID, RuleStatus.NOT_APPLICABLE, message, gate=True))
    evidence = [ctx.assessment_evidence(applied)]
    if not advises_restraining_order(applied):
        message = Message.literal(
            nl="De laatste RiHG adviseert geen tijdelijk huisverbod",
            en="The latest RiHG does not advise a temporary restraining order",
        )
        return Finding(RuleResult(RULE_ID, RuleStatus.PASSED, message, tuple(evidence), gate=True))
    consultation = ctx.last_conference(CONSULTATION.code, since=applied)
    if consultation is not None:
        evidence.append(ctx.conference_evidence(consultation))
        message = Message.literal(
            nl="Het RiHG-advies tijdelijk huisverbod is in een huisverbodoverleg gewogen",
            en="The RiHG advice of a temporary restraining order was weighed in a "
            "restraining-order consultation",
        )
        return Finding(RuleResult(RULE_ID, RuleStatus.PASSED, message, tuple(evidence), gate=True))
    text = Message.literal(
        nl="in principe een tijdelijk huisverbod (10 dagen, te verlengen tot 28); direct veiligstellen",
        en="in principle a temporary restraining order (10 days, extendable to 28); protect at once",
    )
    alert = Alert(
        RULE_ID,
        AlertLevel.IMMEDIATE_PROTECTION,
        Message("alert.advice", {"instrument": "RiHG", "text": text}),
        tuple(evidence),
    )
    message = Message.literal(
        nl="RiHG adviseert een tijdelijk huisverbod; nog geen huisverbodoverleg sindsdien",
        en="RiHG advises a temporary restraining order; no restraining-order consultation since",
    )
    missing = (
        Message.literal(
            nl=f"een huisverbodoverleg na de RiHG van {applied.at:%d-%m-%Y}",
            en=f"a restraining-order consultation after the RiHG of {applied.at:%Y-%m-%d}",
        ),
    )
    result = RuleResult(RULE_ID, RuleStatus.FAILED, message, tuple(evidence), missing, gate=True)
    return Finding(result, (alert,))


# --- the hooks -----------------------------------------------------------------------------------


@hookimpl
def ketenzorg_register_settings(registry: SettingRegistry) -> None:
    """Declare ``restraining_order_per_part``, by default the data file's threshold."""
    registry.add(
        Setting(
            THRESHOLD_SETTING,
            Rihg().default_threshold,
            minimum=1,
            maximum=10,
            description={
                "nl": "gewogen rode signalen in één deel vanaf waar een huisverbod wordt geadviseerd",
                "en": "weighed red signals in one part from which a restraining order is advised",
            },
        )
    )


@hookimpl
def ketenzorg_register_conference_kinds(registry: ConferenceKindRegistry) -> None:
    """Register the restraining-order consultation (``rihg.huisverbod-overleg``)."""
    registry.add(CONSULTATION)


@hookimpl
def ketenzorg_register_instruments(registry: InstrumentRegistry) -> None:
    """Register the RiHG-style checklist as instrument ``rihg``."""
    registry.add(Rihg())


@hookimpl
def ketenzorg_register_rules(registry: RuleRegistry) -> None:
    """Register the gate rule ``rihg.restraining-order``."""
    registry.add(restraining_order_rule)
