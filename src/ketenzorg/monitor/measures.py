"""What each indicator means, in Dutch and English: its title, its exact definition and how it is
scored. One home for these texts: the FHIR Measures of the conformance package, the MeasureReport,
the HTML page and the docs' table all take them from here (the queries stay in ``sql/``)."""

from __future__ import annotations

from typing import Final, Literal

import attrs

from ketenzorg.messages import Language

__all__ = ["MEASURES", "MeasureText", "Scoring", "measure_text"]

Scoring = Literal["cohort", "proportion", "continuous-variable"]
"""FHIR's measure-scoring: a count, a part of a count, or a duration summarised by quartiles."""


@attrs.frozen
class MeasureText:
    """An indicator as a person reads it."""

    name: str
    scoring: Scoring
    title: dict[Language, str]
    definition: dict[Language, str]
    numerator: str | None = None
    """A proportion's numerator category (its denominator is the total of its categories)."""
    by_category: bool = True
    """Whether its figures are broken down by category (phase, setting, ...), or are one figure."""


_DAYS = {
    "nl": " In dagen (met delen van dagen), samengevat door het aantal, het eerste kwartiel, de mediaan "
    "en het derde kwartiel (lineaire interpolatie tussen de geordende waarden).",
    "en": " In days (fractions included), summarised by the count, the first quartile, the median and "
    "the third quartile (linear interpolation between the ordered values).",
}

MEASURES: Final[tuple[MeasureText, ...]] = (
    MeasureText(
        "cases_opened",
        "cohort",
        {"nl": "Geopende casussen", "en": "Cases opened"},
        {
            "nl": "Het aantal casussen waarvan de opening in het halfjaar valt.",
            "en": "The number of cases whose opening falls in the half-year.",
        },
        by_category=False,
    ),
    MeasureText(
        "phase_at_end",
        "cohort",
        {"nl": "Casussen per fase aan het eind van het halfjaar", "en": "Cases per phase at period end"},
        {
            "nl": "De casussen die vóór het eind van het halfjaar zijn geopend en dan niet zijn afgesloten, "
            "naar hun fase (1, 2 of 3) na de laatste gebeurtenis vóór het eind.",
            "en": "The cases opened before the end of the half-year and not closed by then, by their phase "
            "(1, 2 or 3) after the last event before the end.",
        },
    ),
    MeasureText(
        "care_setting_at_end",
        "cohort",
        {"nl": "Zorgsetting aan het eind van het halfjaar", "en": "Care setting at period end"},
        {
            "nl": "Dezelfde casussen als bij de fase aan het eind, naar hun zorgsetting (ambulant of opvang) "
            "aan het eind van het halfjaar.",
            "en": "The same cases as for the phase at period end, by their care setting (ambulant or "
            "shelter) at the end of the half-year.",
        },
    ),
    MeasureText(
        "time_to_phase_2",
        "continuous-variable",
        {"nl": "Tijd tot directe veiligheid (fase 2)", "en": "Time to immediate safety (phase 2)"},
        {
            "nl": "De tijd van de opening tot de eerste overgang naar fase 2, voor casussen waarvan die "
            "eerste overgang in het halfjaar valt." + _DAYS["nl"],
            "en": "The time from opening to the first entry into phase 2, for cases whose first entry "
            "falls in the half-year." + _DAYS["en"],
        },
        by_category=False,
    ),
    MeasureText(
        "time_to_phase_3",
        "continuous-variable",
        {"nl": "Tijd tot herstelzorg (fase 3)", "en": "Time to recovery care (phase 3)"},
        {
            "nl": "De tijd van de opening tot de eerste overgang naar fase 3, voor casussen waarvan die "
            "eerste overgang in het halfjaar valt." + _DAYS["nl"],
            "en": "The time from opening to the first entry into phase 3, for cases whose first entry "
            "falls in the half-year." + _DAYS["en"],
        },
        by_category=False,
    ),
    MeasureText(
        "phase_duration",
        "continuous-variable",
        {"nl": "Duur per fase", "en": "Duration per phase"},
        {
            "nl": "De duur van elk afgerond verblijf in een fase (van binnenkomst, bij opening of "
            "faseovergang, tot vertrek, bij faseovergang of afsluiting), geteld in het halfjaar waarin het "
            "verblijf eindigde, per fase." + _DAYS["nl"],
            "en": "The duration of every completed stay in a phase (from entering it, by opening or phase "
            "change, to leaving it, by phase change or closing), counted in the half-year the stay ended, "
            "per phase." + _DAYS["en"],
        },
    ),
    MeasureText(
        "relapse_6_months",
        "proportion",
        {"nl": "Terugval binnen 6 maanden", "en": "Relapse within 6 months"},
        {
            "nl": "De overgangen naar fase 2 in het halfjaar, en het deel daarvan waarna de casus binnen "
            "183 dagen terugging naar fase 1 of een acuut incident had.",
            "en": "The entries into phase 2 in the half-year, and the part of them after which the case "
            "went back to phase 1 or had an acute incident within 183 days.",
        },
        numerator="relapsed",
    ),
    MeasureText(
        "relapse_12_months",
        "proportion",
        {"nl": "Terugval binnen 12 maanden", "en": "Relapse within 12 months"},
        {
            "nl": "De overgangen naar fase 2 in het halfjaar, en het deel daarvan waarna de casus binnen "
            "365 dagen terugging naar fase 1 of een acuut incident had.",
            "en": "The entries into phase 2 in the half-year, and the part of them after which the case "
            "went back to phase 1 or had an acute incident within 365 days.",
        },
        numerator="relapsed",
    ),
    MeasureText(
        "closed",
        "proportion",
        {"nl": "Afgesloten casussen met overdracht", "en": "Cases closed with a handover"},
        {
            "nl": "De casussen die in het halfjaar zijn afgesloten, en het deel daarvan dat met een "
            "overdracht aan een ketenpartner is afgesloten.",
            "en": "The cases closed in the half-year, and the part of them closed with a handover to a "
            "chain partner.",
        },
        numerator="with_handover",
    ),
    MeasureText(
        "instrument_results",
        "cohort",
        {"nl": "Uitkomsten van instrumenten", "en": "Instrument results"},
        {
            "nl": "Het aantal toepassingen van een instrument in het halfjaar, per instrument en niveau "
            "van de uitkomst.",
            "en": "The number of instrument applications in the half-year, by instrument and level of the "
            "result.",
        },
    ),
    MeasureText(
        "scoring",
        "cohort",
        {"nl": "Volledigheid van het scoren", "en": "Scoring completeness"},
        {
            "nl": "Voor elk overleg in het halfjaar, elke partij in het zorgteam op dat moment, en of zij "
            "in dat overleg een score met onderbouwing gaf; per soort ketenpartner (de rol voor een partij "
            "die geen ketenpartner is).",
            "en": "For every conference in the half-year, every party in the care team at its moment, and "
            "whether it gave a score with a rationale in that conference; per partner type (the role for "
            "a party that is no chain partner).",
        },
    ),
)
"""Every indicator's texts, in the order of :data:`ketenzorg.monitor.indicators.INDICATORS`."""

_BY_NAME: Final = {m.name: m for m in MEASURES}


def measure_text(name: str) -> MeasureText:
    """The texts of the indicator ``name``."""
    return _BY_NAME[name]
