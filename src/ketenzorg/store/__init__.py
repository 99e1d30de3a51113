"""Case stores: a case's events kept with a version, re-decided by the engine before every append,
with a hash-chained audit log (NEN 7513) and real erasure.

Not imported by ``import ketenzorg``: the engine does no I/O. ``CaseStore.open(path, engine=...)``
opens the embedded SQLite store; a vendor's own storage implements
:class:`~ketenzorg.store.backend.Backend`.
"""

from __future__ import annotations

from ketenzorg.errors import DuplicateEventError, StoreError, VersionConflictError
from ketenzorg.store.backend import Backend
from ketenzorg.store.casestore import (
    DEFAULT_STORE,
    STORE_ENV,
    CaseStore,
    StoredCase,
    default_location,
    event_bytes,
)
from ketenzorg.store.records import (
    Actor,
    AppendResult,
    AuditEntry,
    AuditRecord,
    CaseInfo,
    EventRow,
    StoredEvent,
)

__all__ = [
    "DEFAULT_STORE",
    "STORE_ENV",
    "Actor",
    "AppendResult",
    "AuditEntry",
    "AuditRecord",
    "Backend",
    "CaseInfo",
    "CaseStore",
    "DuplicateEventError",
    "EventRow",
    "StoreError",
    "StoredCase",
    "StoredEvent",
    "VersionConflictError",
    "default_location",
    "event_bytes",
]
