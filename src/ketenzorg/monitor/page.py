"""The figures of one region as one self-contained HTML page with SVG charts, in Dutch or English.

Made the way the case report is made (:mod:`ketenzorg.report.render`): SVG written by Jinja2 with
autoescaping on, no text ever marked safe, no script, and the report's Content-Security-Policy, so
the page asks for nothing from the network. Every figure comes from the published CSV rows
(:func:`ketenzorg.monitor.publish.to_csv`): the page cannot show a figure the CSV does not, and a
suppressed figure is shown as ``"."`` as there. Each chart has a table beside it with the same data.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ketenzorg.messages import Language
from ketenzorg.monitor.measures import measure_text
from ketenzorg.monitor.sdc import SUPPRESSED
from ketenzorg.report.render import CSP, STYLES

if TYPE_CHECKING:
    from ketenzorg.monitor.publish import Publication

__all__ = ["CHARTS", "TEXTS", "region_pages", "render_region"]

Row = Mapping[str, str]

TEXTS: Final[dict[str, dict[Language, str]]] = {
    "title": {"nl": "Regionale monitor", "en": "Regional monitor"},
    "periods": {"nl": "Halfjaren", "en": "Half-years"},
    "period": {"nl": "Halfjaar", "en": "Half-year"},
    "intro": {
        "nl": "Cijfers over hoe de keten werkt, nooit over een gezin: aantallen zijn afgerond op veelvouden "
        "van {base}; aantallen onder {threshold} en cellen waaruit die te herleiden zijn, staan niet in de "
        "tabel en worden getoond als \u201c.\u201d. Duren en percentages staan er alleen waar hun aantal "
        "gepubliceerd is.",
        "en": "Figures about how the chain works, never about a family: counts are rounded to multiples of "
        "{base}; counts below {threshold} and cells they could be recomputed from are not published and are "
        "shown as \u201c.\u201d. Durations and percentages are shown only where their count is published.",
    },
    "dot": {
        "nl": "\u201c.\u201d: niet gepubliceerd (statistische beveiliging); "
        "in de grafiek ontbreekt de staaf.",
        "en": "\u201c.\u201d: not published (statistical disclosure control); the chart leaves the bar out.",
    },
    "trends": {"nl": "Ontwikkeling per halfjaar", "en": "Trends per half-year"},
    "durations": {"nl": "Duur van de fasen", "en": "Phase durations"},
    "durations_note": {
        "nl": "In dagen, halfjaar {period}: de balk loopt van het eerste tot het derde kwartiel, de streep "
        "is de mediaan.",
        "en": "In days, half-year {period}: the bar runs from the first to the third quartile, the line is "
        "the median.",
    },
    "relapse": {"nl": "Terugval", "en": "Relapse"},
    "relapse_note": {
        "nl": "Percentage van de overgangen naar fase 2 in het halfjaar waarna de casus terugviel. Een "
        "venster dat nog niet voorbij is, kan nog groeien.",
        "en": "Percentage of the entries into phase 2 in the half-year after which the case relapsed. A "
        "window that has not yet ended can still grow.",
    },
    "areas": {"nl": "Per gebied, halfjaar {period}", "en": "By area, half-year {period}"},
    "area": {"nl": "Gebied", "en": "Area"},
    "level.region": {"nl": "regio", "en": "region"},
    "level.lead_municipality": {"nl": "centrumgemeente", "en": "lead municipality"},
    "level.municipality": {"nl": "gemeente", "en": "municipality"},
    "level.total": {"nl": "totaal", "en": "total"},
    "open_at_end": {"nl": "Open aan het eind", "en": "Open at period end"},
    "closed_total": {"nl": "Afgesloten", "en": "Closed"},
    "closed_pct": {"nl": "% met overdracht", "en": "% with handover"},
    "entries": {"nl": "Overgangen naar fase 2", "en": "Entries into phase 2"},
    "relapsed_6": {"nl": "Teruggevallen (6 mnd)", "en": "Relapsed (6 months)"},
    "relapsed_12": {"nl": "Teruggevallen (12 mnd)", "en": "Relapsed (12 months)"},
    "pct_6": {"nl": "% binnen 6 maanden", "en": "% within 6 months"},
    "pct_12": {"nl": "% binnen 12 maanden", "en": "% within 12 months"},
    "measure": {"nl": "Maat", "en": "Measure"},
    "n": {"nl": "Aantal", "en": "Count"},
    "q1": {"nl": "1e kwartiel", "en": "1st quartile"},
    "median": {"nl": "Mediaan", "en": "Median"},
    "q3": {"nl": "3e kwartiel", "en": "3rd quartile"},
    "phase": {"nl": "fase {n}", "en": "phase {n}"},
    "days": {"nl": "dagen", "en": "days"},
    "definitions": {"nl": "Definities", "en": "Definitions"},
}

CHARTS: Final = ("trends", "durations", "relapse")
"""The indicator groups of the page, one chart (and one table) each."""

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 48


def _t(key: str, lang: Language, **params: object) -> str:
    template = TEXTS[key][lang]
    return template.format(**params) if params else template


def _rows(publication: Publication) -> dict[tuple[str, str], Row]:
    from ketenzorg.monitor.publish import to_csv

    return {(r["level"], r["area"]): r for r in csv.DictReader(io.StringIO(to_csv(publication)))}


def _number(shown: str) -> float | None:
    return None if shown in (SUPPRESSED, "") else float(shown)


def _ticks(top: float) -> tuple[float, list[float]]:
    """A round axis maximum at or above ``top`` and its ticks."""
    step = 1.0
    while top / step > 5:
        step *= 2 if str(int(step))[0] in "15" else 2.5
    maximum = max(step, step * -(-top // step))
    return maximum, [step * i for i in range(int(maximum // step) + 1)]


def _bars(
    groups: Sequence[str], series: Sequence[tuple[str, Sequence[str]]], unit: str = ""
) -> dict[str, Any]:
    """A grouped bar chart: one group per label, one bar per series; a ``"."`` value has no bar."""
    values = [v for _, shown in series for v in map(_number, shown) if v is not None]
    maximum, ticks = _ticks(max(values, default=0.0) or 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(groups))
    bar = min(36.0, slot * 0.8 / max(1, len(series)))
    bars: list[dict[str, Any]] = []
    labels: list[dict[str, Any]] = []
    for g, label in enumerate(groups):
        x0 = LEFT + g * slot + (slot - bar * len(series)) / 2
        labels.append({"x": round(LEFT + (g + 0.5) * slot, 1), "text": label})
        for s, (_, shown) in enumerate(series):
            value = _number(shown[g])
            x = round(x0 + s * bar, 1)
            if value is None:
                bars.append(
                    {"x": x, "w": round(bar - 2, 1), "suppressed": True, "y": TOP + plot_h - 4, "s": s}
                )
                continue
            h = round(value / maximum * plot_h, 1)
            bars.append(
                {
                    "x": x,
                    "w": round(bar - 2, 1),
                    "y": round(TOP + plot_h - h, 1),
                    "h": h,
                    "s": s,
                    "text": shown[g],
                    "suppressed": False,
                }
            )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "bottom": TOP + plot_h,
        "ticks": [
            {"y": round(TOP + plot_h - t / maximum * plot_h, 1), "text": f"{t:g}{unit}"} for t in ticks
        ],
        "bars": bars,
        "labels": labels,
        "series": [{"name": name, "colour": STYLES[i][0], "s": i} for i, (name, _) in enumerate(series)],
    }


def _boxes(items: Sequence[tuple[str, str, str, str]]) -> dict[str, Any]:
    """Horizontal boxes from the first to the third quartile with the median: (label, q1, median, q3)."""
    values = [v for _, *qs in items for v in map(_number, qs) if v is not None]
    maximum, ticks = _ticks(max(values, default=0.0) or 1.0)
    left, width, row = 250, WIDTH - 250 - RIGHT, 34
    height = TOP + row * len(items) + BOTTOM

    def x(value: float) -> float:
        return round(left + value / maximum * width, 1)

    boxes = []
    for i, (label, q1, median, q3) in enumerate(items):
        y = TOP + i * row
        box: dict[str, Any] = {"y": y, "label": label, "mid": y + row / 2}
        lo, mid, hi = _number(q1), _number(median), _number(q3)
        if lo is not None and mid is not None and hi is not None:
            box |= {"x1": x(lo), "x2": x(hi), "xm": x(mid), "w": round(x(hi) - x(lo), 1)}
        boxes.append(box)
    return {
        "width": WIDTH,
        "height": height,
        "left": left,
        "right": WIDTH - RIGHT,
        "bottom": height - BOTTOM + 8,
        "ticks": [{"x": x(t), "text": f"{t:g}"} for t in ticks],
        "boxes": boxes,
    }


def _column(row: Row | None, name: str) -> str:
    """A figure of the CSV row, as shown there. A column the period's table lacks (no category of
    that name occurred) is a count of 0, or for a duration or percentage not published."""
    value = None if row is None else row.get(name)
    if value is not None:
        return value
    return SUPPRESSED if name.endswith(("_days", ".pct")) else "0"


def render_region(
    publications: Sequence[Publication],
    region: str,
    lang: Language = "en",
    *,
    threshold: int = 10,
    base: int = 5,
) -> str:
    """The page of ``region``: trends over ``publications`` (one per half-year, oldest first), and
    the durations, relapse and areas of the last one."""
    import jinja2

    rows = [_rows(p) for p in publications]
    current = publications[-1]
    periods = [p.period for p in publications]
    mine = [r.get(("region", region)) for r in rows]

    def col(name: str) -> list[str]:
        return [_column(row, name) for row in mine]

    trends_table = {
        "head": [
            _t("period", lang),
            measure_text("cases_opened").title[lang],
            _t("open_at_end", lang),
            _t("closed_total", lang),
            _t("closed_pct", lang),
        ],
        "rows": [
            list(r)
            for r in zip(
                periods,
                col("cases_opened"),
                col("phase_at_end.total"),
                col("closed.total"),
                col("closed.pct"),
                strict=True,
            )
        ],
    }
    trends = _bars(
        periods,
        [
            (measure_text("cases_opened").title[lang], col("cases_opened")),
            (_t("open_at_end", lang), col("phase_at_end.total")),
            (_t("closed_total", lang), col("closed.total")),
        ],
    )
    last = mine[-1]
    items: list[tuple[str, str, str, str, str]] = []
    for name, label in (
        ("time_to_phase_2", measure_text("time_to_phase_2").title[lang]),
        ("time_to_phase_3", measure_text("time_to_phase_3").title[lang]),
        *(
            (
                f"phase_duration.phase_{n}",
                f"{measure_text('phase_duration').title[lang]}, {_t('phase', lang, n=n)}",
            )
            for n in (1, 2, 3)
        ),
    ):
        n, q1, median, q3 = (
            _column(last, f"{name}{q}") for q in ("", ".q1_days", ".median_days", ".q3_days")
        )
        items.append((label, n, q1, median, q3))
    durations = _boxes([(label, q1, med, q3) for label, _, q1, med, q3 in items])
    durations_table = {
        "head": [_t("measure", lang), _t("n", lang), _t("q1", lang), _t("median", lang), _t("q3", lang)],
        "rows": [list(item) for item in items],
    }
    relapse = _bars(
        periods,
        [
            (_t("pct_6", lang), col("relapse_6_months.pct")),
            (_t("pct_12", lang), col("relapse_12_months.pct")),
        ],
        unit="%",
    )
    relapse_table = {
        "head": [
            _t("period", lang),
            _t("entries", lang),
            _t("relapsed_6", lang),
            _t("pct_6", lang),
            _t("relapsed_12", lang),
            _t("pct_12", lang),
        ],
        "rows": [
            list(r)
            for r in zip(
                periods,
                col("relapse_6_months.total"),
                col("relapse_6_months.relapsed"),
                col("relapse_6_months.pct"),
                col("relapse_12_months.relapsed"),
                col("relapse_12_months.pct"),
                strict=True,
            )
        ],
    }
    areas = []
    for level in current.levels:
        if level == "total":
            continue
        for area in current.areas.get(level, ()):
            if _in_region(current, level, area, region):
                row = rows[-1].get((level, area))
                areas.append(
                    [
                        area,
                        _t(f"level.{level}", lang),
                        *(
                            _column(row, c)
                            for c in (
                                "cases_opened",
                                "phase_at_end.total",
                                "closed.pct",
                                "relapse_6_months.pct",
                            )
                        ),
                    ]
                )
    areas_table = {
        "head": [
            _t("area", lang),
            "",
            measure_text("cases_opened").title[lang],
            _t("open_at_end", lang),
            _t("closed_pct", lang),
            _t("pct_6", lang),
        ],
        "rows": areas,
    }
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    def t(key: str, **params: object) -> str:
        return _t(key, lang, **params)

    definitions = [
        (measure_text(i.name).title[lang], measure_text(i.name).definition[lang]) for i in current.indicators
    ]
    return environment.get_template("region.html.j2").render(
        lang=lang,
        t=t,
        csp=CSP,
        region=region,
        periods=f"{periods[0]}\u2013{periods[-1]}" if len(periods) > 1 else periods[0],
        current=current.period,
        threshold=threshold,
        base=base,
        trends=trends,
        trends_table=trends_table,
        durations=durations,
        durations_table=durations_table,
        relapse=relapse,
        relapse_table=relapse_table,
        areas_table=areas_table,
        definitions=definitions,
        suppressed=SUPPRESSED,
    )


def _in_region(publication: Publication, level: str, area: str, region: str) -> bool:
    while level != "region":
        parent = publication.parents.get((level, area))
        if parent is None:
            return False
        level, area = parent
    return area == region


def region_pages(
    publications: Sequence[Publication], lang: Language = "en", *, threshold: int = 10, base: int = 5
) -> dict[str, str]:
    """A page per region of the last publication: ``{region: html}``."""
    regions = publications[-1].areas.get("region", ())
    return {r: render_region(publications, r, lang, threshold=threshold, base=base) for r in regions}
