"""Geweldsanalyse (violence analysis): a reference instrument, shipped as a plugin.

Items, weights, red flags and thresholds are data (``data/geweldsanalyse.json``); this module only
scores: a red flag gives at least orange; a red flag with an aggravating circumstance, several
red flags together, or the red threshold of points gives red. The outcome is the safety code used
in Dutch shelter screening: green (safety restorable with simple measures: ambulant, local team),
orange (help needed to break the situation: specialist ambulant care or an open shelter) or red
(extreme threat: secret or closed shelter, safe house, police involved). Not a validated
instrument: an organisation may block ``ketenzorg.geweldsanalyse`` and register its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import Any

from ketenzorg.domain import RiskFactor, Text
from ketenzorg.hookspecs import hookimpl
from ketenzorg.instruments import (
    AdvisedSetting,
    Answer,
    InstrumentResult,
    InstrumentSpec,
    SafetyCode,
    Urgency,
    load_data,
    spec_from_data,
)
from ketenzorg.interop.terminology import CANONICAL
from ketenzorg.pluginhost import InstrumentRegistry

__all__ = ["Geweldsanalyse"]

_URGENCY = {
    SafetyCode.GREEN: Urgency.ROUTINE,
    SafetyCode.ORANGE: Urgency.SOON,
    SafetyCode.RED: Urgency.IMMEDIATE,
}
_SETTING = {SafetyCode.GREEN: AdvisedSetting.AMBULANT, SafetyCode.RED: AdvisedSetting.SECRET_SHELTER}


def _markers(answers: Mapping[str, Answer]) -> Iterator[str]:
    """Every answer as a marker: ``item`` for a yes, ``item:code`` for a chosen code."""
    for item, value in answers.items():
        if value is True:
            yield item
        elif isinstance(value, str):
            yield f"{item}:{value}"
        elif isinstance(value, tuple):
            yield from (f"{item}:{code}" for code in value)


class Geweldsanalyse:
    """The reference Geweldsanalyse; its data decides the items and the weighing."""

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self.data = data if data is not None else load_data("ketenzorg.plugins", "data/geweldsanalyse.json")

    @cached_property
    def spec(self) -> InstrumentSpec:
        return spec_from_data(self.data, canonical=CANONICAL)

    def _points(self, answers: Mapping[str, Answer]) -> tuple[int, list[str]]:
        weights: Mapping[str, Any] = self.data["weights"]
        total = 0
        reasons = []
        for marker in _markers(answers):
            item, _, code = marker.partition(":")
            weight = weights.get(item)
            points = weight.get(code, 0) if isinstance(weight, Mapping) else (weight or 0)
            if points:
                total += points
                reasons.append(f"{marker} +{points}")
        return total, reasons

    def assess(self, answers: Mapping[str, Answer]) -> InstrumentResult:
        markers = set(_markers(answers))
        points, reasons = self._points(answers)
        thresholds = self.data["thresholds"]
        red_flags = sorted(markers & set(self.data["red_flags"]))
        aggravating = sorted(markers & set(self.data["aggravating"]))
        several_flags = len(red_flags) >= self.data.get("red_flags_for_red", len(self.data["red_flags"]) + 1)
        if points >= thresholds["red"] or (red_flags and aggravating) or several_flags:
            code = SafetyCode.RED
        elif points >= thresholds["orange"] or red_flags:
            code = SafetyCode.ORANGE
        else:
            code = SafetyCode.GREEN
        access = answers.get("perpetrator_access")
        setting = _SETTING.get(code) or (
            AdvisedSetting.OPEN_SHELTER
            if access in ("lives_together", "knows_address")
            else AdvisedSetting.SPECIALIST_AMBULANT
        )
        texts: Mapping[str, Mapping[str, str]] = self.data["explanation"]

        def line(key: str, **values: object) -> Text:
            return Text(texts[key]["nl"].format(**values), texts[key]["en"].format(**values))

        explanation = [line("points", points=points, orange=thresholds["orange"], red=thresholds["red"])]
        explanation += [Text(reason, reason) for reason in reasons]  # codes and points: the same in both
        if red_flags:
            explanation.append(line("red_flags", markers=", ".join(red_flags)))
        if red_flags and aggravating:
            explanation.append(line("aggravating", markers=", ".join(aggravating)))
        if several_flags:
            explanation.append(line("several_flags", count=len(red_flags)))
        factors = tuple(
            RiskFactor(
                id=f"geweldsanalyse:{spec['code']}", text=Text(spec["nl"], spec["en"]), code=spec["code"]
            )
            for marker, spec in self.data["risk_factors"].items()
            if marker in markers
        )
        advice_data: Mapping[str, Mapping[str, str]] = self.data["advice"]
        advice = [advice_data[code.value]] if code.value in advice_data else []
        advice += [text for marker, text in advice_data.items() if marker in markers]
        return InstrumentResult(
            safety_code=code,
            risk_factors=factors,
            advised_setting=setting,
            urgency=_URGENCY[code],
            advice=tuple(advice),
            explanation=tuple(explanation),
        )


@hookimpl
def ketenzorg_register_instruments(registry: InstrumentRegistry) -> None:
    """Register the reference Geweldsanalyse."""
    registry.add(Geweldsanalyse())
