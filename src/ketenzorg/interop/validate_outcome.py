"""OperationOutcome issues as validation finds them: one per problem, located, at most
:data:`~ketenzorg.limits.MAX_ISSUES` listed; and the JSON-shape helpers every validation layer uses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Final, Literal

from ketenzorg.errors import Problem
from ketenzorg.limits import MAX_ISSUES

__all__ = [
    "Issues",
    "Severity",
    "is_valid",
    "issue",
    "json_kind",
    "operation_outcome",
    "problems_to_issues",
    "wrong_type",
]

Severity = Literal["fatal", "error", "warning", "information"]


def issue(severity: Severity, code: str, diagnostics: str, expression: str | None = None) -> dict[str, Any]:
    """One OperationOutcome issue."""
    out: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        out["expression"] = [expression]
    return out


_RANK: Final = {"information": 0, "warning": 1, "error": 2, "fatal": 3}


class Issues:
    """Issues as they are found, one per problem: a second finding at the same location (say
    "empty" from the structure and "missing" from the profile) is the same problem and is dropped.
    At most :data:`MAX_ISSUES` are kept (so a hostile bundle cannot make the list grow without
    bound); the rest are only counted, with the worst severity among them (once the list is full,
    a second finding at a listed location is counted too)."""

    def __init__(self) -> None:
        self.kept: list[dict[str, Any]] = []
        self.seen: set[tuple[str, ...]] = set()
        self.more = 0
        self.worst_more: Severity = "information"
        self.failed = False
        self.fatal = False

    def append(self, item: dict[str, Any]) -> None:
        severity = item["severity"]
        if severity in ("fatal", "error"):
            self.failed = True
            self.fatal = self.fatal or severity == "fatal"
            where = tuple(item.get("expression", ()))
            if where in self.seen:
                return
            if where and len(self.kept) < MAX_ISSUES:
                self.seen.add(where)
        if len(self.kept) < MAX_ISSUES:
            self.kept.append(item)
        else:
            self.count(severity)

    @property
    def full(self) -> bool:
        return len(self.kept) >= MAX_ISSUES

    def count(self, severity: Severity) -> None:
        """One more issue, not listed (the list is full)."""
        self.more += 1
        if severity in ("fatal", "error"):
            self.failed = True
            self.fatal = self.fatal or severity == "fatal"
        if _RANK[severity] > _RANK[self.worst_more]:
            self.worst_more = severity

    def __iadd__(self, items: Iterable[dict[str, Any]]) -> Issues:
        for item in items:
            self.append(item)
        return self

    def outcome(self) -> dict[str, Any]:
        found = list(self.kept)
        if self.more:
            # The last place is for the note that says how many more there were.
            last = found.pop()
            worst = max(self.worst_more, last["severity"], key=_RANK.__getitem__)
            found.append(
                issue(
                    worst,
                    "too-costly",
                    f"{self.more + 1} more issues found and not listed: an OperationOutcome lists at most "
                    f"{MAX_ISSUES}, so the list was cut here",
                )
            )
        if not found:
            found = [issue("information", "informational", "no problems found")]
        return {"resourceType": "OperationOutcome", "issue": found}


def operation_outcome(issues: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """An OperationOutcome, one issue per problem (a second error at the same location is dropped),
    at most :data:`MAX_ISSUES` of them. Without problems it holds one informational issue (R4 needs one)."""
    collected = Issues()
    collected += issues
    return collected.outcome()


def is_valid(outcome: Mapping[str, Any]) -> bool:
    return not any(i["severity"] in ("fatal", "error") for i in outcome["issue"])


def problems_to_issues(problems: list[Problem], code: str = "invalid") -> list[dict[str, Any]]:
    out = []
    for p in problems:
        where = p.path if p.path.startswith("Bundle") else "Bundle"
        text = str(p) if not p.path.startswith("Bundle") else p.message
        out.append(issue("error", code, text, where))
    return out


# --- reading JSON of any shape ------------------------------------------------------------------


def entries_of(bundle: Mapping[str, Any]) -> list[Any]:
    """``Bundle.entry`` when it is an array (the structure layer reports any other shape)."""
    entries = bundle.get("entry")
    return entries if isinstance(entries, list) else []


def resource_of(entry: Any) -> Mapping[str, Any] | None:
    resource = entry.get("resource") if isinstance(entry, Mapping) else None
    return resource if isinstance(resource, Mapping) else None


def array_of(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def wrong_type(expected: str, value: Any, where: str) -> dict[str, Any]:
    return issue("error", "structure", f"expected {expected}, found {json_kind(value)}", where)
