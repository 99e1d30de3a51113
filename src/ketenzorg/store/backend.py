"""The interface a case store's backend implements (SQLite here; PostgreSQL, a vendor's own).

A backend stores bytes and keeps the promises that need a transaction; it knows nothing of the
engine. :class:`~ketenzorg.store.CaseStore` decides, serialises and caches on top of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ketenzorg.store.records import AppendResult, AuditEntry, AuditRecord, CaseInfo, EventRow, StoredEvent

__all__ = ["Backend"]


class Backend(Protocol):
    """A case store's storage. Every method either does all it says or changes nothing.

    Errors are :class:`~ketenzorg.errors.StoreError` (or a subclass) naming the store by ``name``.
    """

    @property
    def name(self) -> str:
        """How the store is named in errors: a path, or a URL without its password."""
        ...

    def append(
        self, case_id: str, expected_version: int, events: Sequence[EventRow], entry: AuditEntry
    ) -> AppendResult:
        """Append ``events`` to the case (created when ``expected_version`` is 0) and ``entry`` to its
        audit chain, in one transaction.

        - The same events (ids and bytes) already stored in the case as one run: nothing written,
          the stored result with ``repeated=True``.
        - Any of the ids stored with other bytes, or not as that run:
          :class:`~ketenzorg.errors.DuplicateEventError`, nothing written.
        - The case not at ``expected_version``: :class:`~ketenzorg.errors.VersionConflictError`,
          nothing written.
        - A destroyed case: :class:`~ketenzorg.errors.StoreError`.

        Events get the next versions of the case and the next global positions: positions grow in
        commit order, so a reader following positions never skips an event committed later.
        """
        ...

    def read_case(self, case_id: str) -> tuple[int, tuple[StoredEvent, ...]]:
        """The case's version and its events in version order; ``(0, ())`` for an unknown case."""
        ...

    def cases(self) -> tuple[CaseInfo, ...]:
        """Every case, destroyed ones included, by case id."""
        ...

    def events_after(self, position: int, limit: int) -> tuple[StoredEvent, ...]:
        """At most ``limit`` events with a global position greater than ``position``, in order."""
        ...

    def audit(self, case_id: str | None = None) -> tuple[AuditRecord, ...]:
        """The audit records of one case (or all), each case's in chain order."""
        ...

    def add_audit(self, entry: AuditEntry) -> AuditRecord:
        """Append ``entry`` (a disclosure) to its case's audit chain and, in the same transaction,
        index the resources it sent (:meth:`AuditEntry.sent_refs`) for :meth:`received`."""
        ...

    def received(self, resource: str) -> tuple[AuditRecord, ...]:
        """The disclosure records that sent ``resource`` (``Type/id``), over every case not destroyed,
        by case and chain order; answered from an index, not a scan of the audit log."""
        ...

    def destroy(self, case_id: str, entry: AuditEntry) -> AuditRecord:
        """Delete the case's events (and its rows of the index of disclosed resources) physically,
        leaving no trace of them in the store's files, mark the case destroyed and append ``entry`` to
        its audit chain."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...
