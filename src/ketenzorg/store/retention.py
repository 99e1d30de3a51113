"""Retention of closed cases (bewaartermijnen) and the legal hold that blocks destruction.

The rules are configuration (:class:`RetentionRules`): each kind of file has its rule, the store has
one kind (the organisation's), a case may have another. Defaults follow the law as summarised in the
project's domain notes: youth care and youth protection files at least 20 years after care ends
(Jeugdwet), medical files 20 years (WGBO art. 7:454), Veilig Thuis files until the youngest child
of the client system is 18, at most 15 years. An organisation confirms them with its own counsel.

A legal hold is an audit record (``hold``, then ``release``), content-free like every audit record;
:meth:`~ketenzorg.store.CaseStore.destroy` refuses a case under hold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs

from ketenzorg.domain import PersonRole
from ketenzorg.errors import PolicyError, Problem, StoreError

if TYPE_CHECKING:
    from ketenzorg.case import Case
    from ketenzorg.store.casestore import CaseStore
    from ketenzorg.store.records import Actor, AuditRecord

__all__ = [
    "DEFAULT_RULES",
    "LegalHoldError",
    "RetentionDate",
    "RetentionRule",
    "RetentionRules",
    "legal_hold",
    "legal_holds",
    "load_retention",
]


class LegalHoldError(StoreError):
    """A case under legal hold cannot be destroyed."""


@attrs.frozen(kw_only=True)
class RetentionRule:
    """How long a kind of file is kept after its case closed.

    ``years_after_care``: that many years after the closing date. ``youngest_child_age``: until the
    youngest child of the client system reaches that age (from its birth year, so to the end of that
    year), but at most ``at_most_years`` after the closing date, and never before it.
    """

    years_after_care: int | None = None
    youngest_child_age: int | None = None
    at_most_years: int | None = None

    def describe(self) -> str:
        if self.youngest_child_age is not None:
            cap = f", at most {self.at_most_years} years" if self.at_most_years is not None else ""
            return f"until the youngest child is {self.youngest_child_age}{cap}"
        return f"{self.years_after_care} years after care ends"


DEFAULT_RULES: Final[Mapping[str, RetentionRule]] = {
    "youth_care": RetentionRule(years_after_care=20),
    "youth_protection": RetentionRule(years_after_care=20),
    "medical": RetentionRule(years_after_care=20),
    "veilig_thuis": RetentionRule(youngest_child_age=18, at_most_years=15),
}


@attrs.frozen(kw_only=True)
class RetentionDate:
    """When a case may be destroyed (``None`` while it is open), its kind and how that was decided."""

    case_id: str
    kind: str
    rule: str
    closed_on: dt.date | None
    until: dt.date | None
    basis: str

    def past(self, on: dt.date) -> bool:
        """The retention period ended on or before ``on``; an open case never is."""
        return self.until is not None and self.until <= on

    def as_json(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "kind": self.kind,
            "rule": self.rule,
            "closed_on": self.closed_on.isoformat() if self.closed_on else None,
            "retain_until": self.until.isoformat() if self.until else None,
            "basis": self.basis,
        }


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none: the day after the 28th
        return dt.date(day.year + years, 3, 1)


@attrs.frozen(kw_only=True)
class RetentionRules:
    """The rule of each kind of file, the store's kind, and the kinds of single cases."""

    rules: Mapping[str, RetentionRule] = attrs.field(factory=lambda: dict(DEFAULT_RULES))
    kind: str = "youth_care"
    cases: Mapping[str, str] = attrs.field(factory=dict)

    def kind_of(self, case_id: str) -> str:
        return self.cases.get(case_id, self.kind)

    def date(self, case: Case) -> RetentionDate:
        """The case's retention date under its kind's rule."""
        kind = self.kind_of(case.case_id)
        rule = self.rules[kind]
        closed = case.state.closed
        if closed is None:
            return RetentionDate(
                case_id=case.case_id,
                kind=kind,
                rule=rule.describe(),
                closed_on=None,
                until=None,
                basis="open",
            )
        closed_on = closed.at.date()
        if rule.years_after_care is not None:
            until = _add_years(closed_on, rule.years_after_care)
            basis = "closing date"
        else:
            until, basis = self._youngest_child(case, rule, closed_on)
        return RetentionDate(
            case_id=case.case_id,
            kind=kind,
            rule=rule.describe(),
            closed_on=closed_on,
            until=until,
            basis=basis,
        )

    @staticmethod
    def _youngest_child(case: Case, rule: RetentionRule, closed_on: dt.date) -> tuple[dt.date, str]:
        # Only a birth year is recorded: a child is surely of age at the end of the year it turns
        # that age, so the file is kept to then (never shorter than the law asks).
        years = [
            p.birth_year
            for p in case.state.persons.values()
            if p.role is PersonRole.CHILD and p.birth_year is not None
        ]
        cap = _add_years(closed_on, rule.at_most_years) if rule.at_most_years is not None else None
        # from_mapping ensures both for a youngest-child rule
        assert rule.youngest_child_age is not None
        assert cap is not None
        if not years:
            return cap, "no child's birth year recorded: the maximum"
        of_age = dt.date(max(years) + rule.youngest_child_age + 1, 1, 1)
        if cap < of_age:
            return cap, "the maximum after the closing date"
        return max(of_age, closed_on), "the youngest child's birth year"

    @classmethod
    def from_mapping(cls, data: object) -> RetentionRules:
        """Rules from their JSON form; every fault is refused with its path.

        ``{"kind": "veilig_thuis", "rules": {"medical": {"years_after_care": 20}, ...},
        "cases": {"CASE-ID": "medical"}}``: ``rules`` adds kinds or replaces the defaults' rules.
        """
        if not isinstance(data, dict):
            raise PolicyError([Problem("", "expected an object")])
        problems: list[Problem] = []
        for key in data:
            if key not in ("kind", "rules", "cases"):
                problems.append(Problem(str(key), "is not a retention setting (kind, rules, cases)"))
        rules = dict(DEFAULT_RULES)
        raw_rules = data.get("rules", {})
        if not isinstance(raw_rules, dict):
            problems.append(Problem("rules", "expected an object of kinds"))
            raw_rules = {}
        for name, raw in raw_rules.items():
            rule = _rule(f"rules.{name}", raw, problems)
            if rule is not None:
                rules[name] = rule
        kind = data.get("kind", "youth_care")
        if not isinstance(kind, str) or kind not in rules:
            problems.append(Problem("kind", f"is not a kind with a rule ({', '.join(sorted(rules))})"))
        cases = data.get("cases", {})
        if not isinstance(cases, dict):
            problems.append(Problem("cases", "expected an object of case ids and kinds"))
            cases = {}
        for case_id, case_kind in cases.items():
            if not isinstance(case_kind, str) or case_kind not in rules:
                problems.append(Problem(f"cases.{case_id}", "is not a kind with a rule"))
        if problems:
            raise PolicyError(problems)
        return cls(rules=rules, kind=kind, cases=dict(cases))


def _rule(path: str, raw: object, problems: list[Problem]) -> RetentionRule | None:
    if not isinstance(raw, dict):
        problems.append(Problem(path, "expected an object"))
        return None
    names = ("years_after_care", "youngest_child_age", "at_most_years")
    before = len(problems)
    for key, value in raw.items():
        if key not in names:
            problems.append(Problem(f"{path}.{key}", f"is not a rule setting ({', '.join(names)})"))
        elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 120:
            problems.append(Problem(f"{path}.{key}", "expected a whole number of years from 0 to 120"))
    after_care = raw.get("years_after_care")
    child = raw.get("youngest_child_age")
    if (after_care is None) == (child is None):
        problems.append(Problem(path, "give either years_after_care or youngest_child_age"))
    elif child is None and "at_most_years" in raw:
        problems.append(Problem(f"{path}.at_most_years", "only goes with youngest_child_age"))
    elif child is not None and "at_most_years" not in raw:
        problems.append(
            Problem(path, "youngest_child_age needs at_most_years (for a case without a birth year)")
        )
    if len(problems) > before:
        return None
    return RetentionRule(**raw)


def load_retention(path: str | None) -> RetentionRules:
    """The retention rules of a JSON file (the defaults when ``path`` is ``None``)."""
    if path is None:
        return RetentionRules()
    from ketenzorg.loading import load_json

    try:
        return RetentionRules.from_mapping(load_json(path))
    except PolicyError as error:
        raise error.with_source(path) from None


# --- the legal hold --------------------------------------------------------------------------------


def legal_holds(store: CaseStore) -> dict[str, AuditRecord]:
    """The cases under legal hold now, each with the audit record that set its hold."""
    return legal_holds_of(store.audit())


def legal_hold(store: CaseStore, case_id: str) -> AuditRecord | None:
    """The audit record of the case's legal hold, if it is under one."""
    return legal_holds_of(store.audit(case_id)).get(case_id)


def legal_holds_of(records: tuple[AuditRecord, ...]) -> dict[str, AuditRecord]:
    """The holds in force after ``records`` (audit records in chain order), by case."""
    holds: dict[str, AuditRecord] = {}
    for record in records:
        if record.entry.action == "hold":
            holds[record.entry.case_id] = record
        elif record.entry.action == "release":
            holds.pop(record.entry.case_id, None)
    return holds


def set_hold(
    store: CaseStore, case_id: str, *, hold: bool, reason: str, actor: Actor, command: str
) -> AuditRecord:
    """Put the case under legal hold (``hold``) or lift it, recorded in the audit log with ``reason``
    (a reference such as a court's case number, not personal data)."""
    from ketenzorg.errors import InvalidEventError
    from ketenzorg.store.records import AuditEntry

    if not isinstance(reason, str) or not reason.strip():
        raise InvalidEventError([Problem("reason", "expected a non-empty text")])
    version, rows = store.backend.read_case(case_id)
    if not rows:
        what = "was destroyed" if version else "is not in the store"
        raise StoreError(store.name, f"case {case_id} {what}")
    current = legal_hold(store, case_id)
    if hold and current is not None:
        raise StoreError(
            store.name, f"case {case_id} is under legal hold already (audit record {current.seq})"
        )
    if not hold and current is None:
        raise StoreError(store.name, f"case {case_id} is not under legal hold")
    entry = AuditEntry.make(
        "hold" if hold else "release",
        case_id,
        store.engine.clock().isoformat(),
        actor,
        command,
        version_from=version,
        reason=reason,
    )
    return store.backend.add_audit(entry)
