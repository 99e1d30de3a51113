"""Gezinsprofielen (family profiles): a reference instrument, shipped as a plugin.

The five profiles of the Verwey-Jonker Institute and Augeo, each with its own care-and-protection
arrangement: intieme terreur, gezin in de stress, kindgedrag en opvoedstress, langdurige zorg and
complexe (conflict)scheiding. Indicators and weights are data (``data/gezinsprofielen.json``).
A profile's degree of fit is the weighted share of its indicators present; the best-matching
profiles (at least ``min_fit``, within ``margin`` of the best) are reported with their emphasis;
a profile marked ``always_report`` (intieme terreur: protection first) is reported whenever it
fits at least ``min_fit``, so its protective advice is never crowded out by a better fit.
Not a validated instrument: an organisation may block ``ketenzorg.gezinsprofielen``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from ketenzorg.domain import RiskFactor, Text
from ketenzorg.hookspecs import hookimpl
from ketenzorg.instruments import (
    Answer,
    Classification,
    InstrumentResult,
    InstrumentSpec,
    load_data,
    spec_from_data,
)
from ketenzorg.interop.terminology import CANONICAL
from ketenzorg.pluginhost import InstrumentRegistry

__all__ = ["Gezinsprofielen"]

_NO_PROFILE = {
    "nl": "geen duidelijk profiel (geen enkel profiel past voor minstens de helft)",
    "en": "no clear profile (no profile fits for at least half)",
}
"""What the explanation says when no profile fits, unless the data says it otherwise."""


def _with_fit(display: Text, fit: float) -> Text:
    """A profile's name with its degree of fit; in English when the name has its English."""
    return Text(f"{display.nl}: {fit:.0%}", None if display.en is None else f"{display.en}: {fit:.0%}")


class Gezinsprofielen:
    """The reference Gezinsprofielen; its data decides indicators, weights and emphasis."""

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self.data = data if data is not None else load_data("ketenzorg.plugins", "data/gezinsprofielen.json")

    @cached_property
    def spec(self) -> InstrumentSpec:
        return spec_from_data(self.data, canonical=CANONICAL)

    def fits(self, answers: Mapping[str, Answer]) -> list[tuple[float, Mapping[str, Any]]]:
        """Every profile with its degree of fit (0..1), best first."""
        out = []
        for profile in self.data["profiles"]:
            weights: Mapping[str, int] = profile["indicators"]
            total = sum(weights.values())
            present = sum(w for item, w in weights.items() if answers.get(item) is True)
            out.append((round(present / total, 4) if total > 0 else 0.0, profile))
        return sorted(out, key=lambda pair: -pair[0])

    def assess(self, answers: Mapping[str, Answer]) -> InstrumentResult:
        fits = self.fits(answers)
        best = fits[0][0]
        floor = round(best - self.data["margin"], 4)  # rounded: 0.8 - 0.2 must be 0.6
        chosen = [
            (fit, profile)
            for fit, profile in fits
            if fit >= self.data["min_fit"] and (fit >= floor or profile.get("always_report", False))
        ]
        explanation = [_with_fit(Text.of(profile["display"]), fit) for fit, profile in fits]
        if not chosen:
            explanation.insert(0, Text.of(self.data.get("no_profile", _NO_PROFILE)))
        return InstrumentResult(
            classifications=tuple(
                Classification(
                    code=profile["code"],
                    display=Text.of(profile["display"]),
                    fit=fit,
                    emphasis=Text.of(profile["emphasis"]),
                )
                for fit, profile in chosen
            ),
            risk_factors=tuple(
                {
                    factor["code"]: RiskFactor(
                        id=f"gezinsprofielen:{factor['code']}",
                        text=Text(factor["nl"], factor.get("en")),
                        code=factor["code"],
                    )
                    for _, profile in chosen
                    for factor in profile["risk_factors"]
                }.values()
            ),
            advice=tuple(Text.of(text) for _, profile in chosen for text in profile["advice"]),
            explanation=tuple(explanation),
        )


@hookimpl
def ketenzorg_register_instruments(registry: InstrumentRegistry) -> None:
    """Register the reference Gezinsprofielen."""
    registry.add(Gezinsprofielen())
