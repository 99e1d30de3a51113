"""The error hierarchy: every failure the engine reports is a :class:`KetenzorgError`.

Messages name the offending field or path (``events[3].score: 11 is not in 0..10``) and never
contain a secret shelter address: values that may be personal data are described, not echoed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from ketenzorg.decision import Decision

__all__ = [
    "CaseFormatError",
    "DuplicateEventError",
    "FileWriteError",
    "InvalidEventError",
    "KetenzorgError",
    "MalformedInputError",
    "OutputLimitError",
    "PolicyError",
    "Problem",
    "StoreError",
    "TransitionBlockedError",
    "ValidationError",
    "VersionConflictError",
]


@attrs.frozen
class Problem:
    """One thing wrong with an input: where (a path such as ``events[3].score``) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class KetenzorgError(Exception):
    """Base class of every error the engine raises on purpose."""


class ValidationError(KetenzorgError, ValueError):
    """Input that breaks the model's rules; carries one :class:`Problem` per fault."""

    def __init__(self, problems: Iterable[Problem], *, source: str | None = None) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.source = source
        super().__init__(self._render())

    def _render(self) -> str:
        head = f"{self.source}: " if self.source else ""
        if len(self.problems) == 1:
            return head + str(self.problems[0])
        lines = [f"{head}{len(self.problems)} problems"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)

    def with_source(self, source: str) -> ValidationError:
        """Return a copy of this error that names the file or stream it came from."""
        return type(self)(self.problems, source=source)


class PolicyError(ValidationError):
    """An organisation's policy that is inconsistent or out of range."""


class CaseFormatError(ValidationError):
    """A case document (the engine's own JSON format) that cannot be read."""


class InvalidEventError(ValidationError):
    """An event that cannot be appended to this case (unknown party, closed case, ...)."""


class MalformedInputError(ValidationError):
    """Input that cannot be used at all: unreadable, not JSON, not a document of the expected kind."""

    @classmethod
    def at(cls, source: str, message: str, path: str = "") -> MalformedInputError:
        return cls([Problem(path, message)], source=source)


class FileWriteError(KetenzorgError, OSError):
    """A file that was not written (it exists, is a link, or the disk refused); nothing changed."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class OutputLimitError(KetenzorgError):
    """A result that is not written because ketenzorg could not read it back: it would break one of
    the limits of :mod:`ketenzorg.limits` (named in the message); nothing was written."""

    def __init__(self, what: str, message: str) -> None:
        self.what = what
        self.message = message
        super().__init__(f"{what}: {message}")

    def __str__(self) -> str:
        return f"{self.what}: {self.message}"


class TransitionBlockedError(KetenzorgError):
    """A phase transition the decision does not allow; ``decision`` says why.

    When a recorded transition is refused on replay, ``event_id`` names it.
    """

    def __init__(self, message: str, decision: Decision, *, event_id: str | None = None) -> None:
        self.decision = decision
        self.event_id = event_id
        super().__init__(message)


class StoreError(KetenzorgError):
    """A case store that cannot be used or did not do what was asked (named in ``store``); nothing
    was changed."""

    def __init__(self, store: str, message: str) -> None:
        self.store = store
        self.message = message
        super().__init__(f"{store}: {message}")

    def __str__(self) -> str:
        return f"{self.store}: {self.message}"


class VersionConflictError(StoreError):
    """An append made on a stale view of the case: the case is at ``actual``, the writer expected
    ``expected``. Nothing was written; load the case again and decide again."""

    def __init__(self, store: str, case_id: str, expected: int, actual: int) -> None:
        self.case_id = case_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            store,
            f"case {case_id}: expected version {expected}, the store holds version {actual}; "
            "nothing was written (load the case again)",
        )


class DuplicateEventError(StoreError):
    """An append whose event ids are already stored with other content (or in another case); nothing
    was written."""
