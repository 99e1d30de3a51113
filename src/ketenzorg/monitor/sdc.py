"""Statistical disclosure control on indicator tables, as CBS publishes Veilig Thuis figures.

Independent of the engine that computed the tables: it takes counts per level, area and category
and decides what may be published.

- **Primary suppression**: a count from 1 to ``threshold - 1`` (default 10) is not published
  (shown as ``"."``). Zero is published.
- **Secondary suppression**: the published counts satisfy linear relations: the categories of an
  area add up to the area's total, and the areas of a parent (the municipalities of a region, the
  regions of the whole) add up to the parent's count, category by category. Wherever such a
  relation has exactly one suppressed cell, that cell could be recomputed, so a second one is
  suppressed (the smallest non-zero published count among the relation's cells), until no relation
  has exactly one. Indicators that share a total (the cases open at period end, by phase and by
  care setting) share its suppression.
- **Rounding**: every published count is rounded to a multiple of ``base`` (default 5).
- Durations and percentages are published only where the count they rest on is; percentages are
  computed from the published (rounded) counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

__all__ = ["SUPPRESSED", "TOTAL", "Cell", "Rules", "Suppression", "protect", "round_to"]

SUPPRESSED = "."
"""How a cell that is not published is shown (as in CBS StatLine)."""

TOTAL = "_total"
"""The category of an area's total over its categories."""

Key = tuple[str, str, str, str]
"""(indicator, level, area, category)."""


@attrs.frozen
class Rules:
    """The thresholds, configurable."""

    threshold: int = attrs.field(default=10)
    """Counts from 1 to ``threshold - 1`` are suppressed."""
    base: int = attrs.field(default=5)
    """Published counts are rounded to a multiple of ``base``."""

    @threshold.validator
    def _check_threshold(self, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError("threshold: a whole number of at least 1")

    @base.validator
    def _check_base(self, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError("base: a whole number of at least 1")


def round_to(n: int, base: int) -> int:
    """``n`` rounded to the nearest multiple of ``base`` (halves up)."""
    return ((2 * n + base) // (2 * base)) * base


@attrs.frozen
class Cell:
    """One count of an indicator table: where it is and its raw value."""

    indicator: str
    level: str
    area: str
    category: str
    n: int


@attrs.frozen
class Suppression:
    """The outcome: the raw counts, which are suppressed, and the published values."""

    raw: Mapping[Key, int]
    suppressed: frozenset[Key]
    published: Mapping[Key, int | None]
    """Every cell: its rounded count, or ``None`` where suppressed."""
    relations: tuple[tuple[Key, ...], ...]
    """Every relation protected: the cells of a sum and the sum itself (the last)."""

    def shown(self, key: Key) -> str:
        value = self.published.get(key)
        return SUPPRESSED if value is None else str(value)


def _relations(
    raw: Mapping[Key, int], parents: Mapping[tuple[str, str], tuple[str, str]]
) -> list[tuple[Key, ...]]:
    """Every linear relation among the cells: categories to the area total, children to parent."""
    categories: dict[tuple[str, str, str], set[str]] = {}
    for indicator, level, area, category in raw:
        if category != TOTAL:
            categories.setdefault((indicator, level, area), set()).add(category)
    relations: list[tuple[Key, ...]] = []
    for (indicator, level, area), cats in categories.items():
        if len(cats) > 1 or cats != {"all"}:
            relations.append(
                (*((indicator, level, area, c) for c in sorted(cats)), (indicator, level, area, TOTAL))
            )
    children: dict[tuple[str, str, str, str], list[Key]] = {}
    for key in raw:
        indicator, level, area, category = key
        parent = parents.get((level, area))
        if parent is not None:
            children.setdefault((indicator, parent[0], parent[1], category), []).append(key)
    for parent_key, members in children.items():
        relations.append((*sorted(members), parent_key))
    return relations


def protect(
    cells: Iterable[Cell],
    parents: Mapping[tuple[str, str], tuple[str, str]],
    *,
    rules: Rules | None = None,
    linked: Mapping[str, str] | None = None,
) -> Suppression:
    """Decide what of ``cells`` may be published.

    ``parents`` maps ``(level, area)`` to the ``(level, area)`` whose counts its own add up to
    (a municipality to its region, a region to the total). ``linked`` maps an indicator to the
    name of a total it shares with others. Area totals and parent cells missing from ``cells``
    are computed here, as sums of the raw counts.
    """
    rules = rules or Rules()
    raw: dict[Key, int] = {}
    for cell in cells:
        raw[(cell.indicator, cell.level, cell.area, cell.category)] = cell.n
    # totals per area (over categories), and zero cells where an area lacks a category its
    # relation has: a missing count is a count of zero, published as 0
    by_area: dict[tuple[str, str, str], int] = {}
    cats: dict[str, set[str]] = {}
    areas: dict[tuple[str, str], set[str]] = {}
    for (indicator, level, area, category), n in list(raw.items()):
        by_area[(indicator, level, area)] = by_area.get((indicator, level, area), 0) + n
        cats.setdefault(indicator, set()).add(category)
        areas.setdefault((indicator, level), set()).add(area)
    for (indicator, level), names in areas.items():
        for area in names:
            for category in cats[indicator]:
                raw.setdefault((indicator, level, area, category), 0)
    for (indicator, level, area), n in by_area.items():
        if cats[indicator] != {"all"}:
            raw[(indicator, level, area, TOTAL)] = n
    relations = _relations(raw, parents)
    suppressed = {k for k, n in raw.items() if 0 < n < rules.threshold}
    shared: dict[tuple[str, str, str], list[Key]] = {}
    for key in raw:
        indicator, level, area, category = key
        name = (linked or {}).get(indicator)
        if category == TOTAL and name is not None:
            shared.setdefault((name, level, area), []).append(key)
    changed = True
    while changed:
        changed = False
        for relation in relations:
            hidden = [k for k in relation if k in suppressed]
            if len(hidden) != 1:
                continue
            candidates = sorted(
                (k for k in relation if k not in suppressed), key=lambda k: (raw[k] == 0, raw[k], k)
            )
            if candidates:
                suppressed.add(candidates[0])
                changed = True
        for group in shared.values():
            if any(k in suppressed for k in group) and not all(k in suppressed for k in group):
                suppressed.update(group)
                changed = True
    published: dict[Key, int | None] = {
        k: None if k in suppressed else round_to(n, rules.base) for k, n in raw.items()
    }
    return Suppression(raw, frozenset(suppressed), published, tuple(relations))


def percentage(numerator: int | None, denominator: int | None) -> str:
    """A percentage with one decimal from published counts; ``"."`` when either is not published
    or the denominator is zero."""
    if numerator is None or denominator is None or denominator == 0:
        return SUPPRESSED
    return f"{100 * numerator / denominator:.1f}"


def days(value: Any, count: int | None) -> str:
    """A duration in whole days, published only where its count is."""
    if count is None or value is None or count == 0:
        return SUPPRESSED
    return str(round(float(value)))
