"""The case store: events kept per case behind a :class:`~ketenzorg.store.backend.Backend`, every
append re-decided by an :class:`~ketenzorg.engine.Engine` before it is committed.

Promises (each tested in ``tests/store/test_contract.py``; see ``docs/store.md``):

- an append names the version it was decided on; a stale one raises
  :class:`~ketenzorg.errors.VersionConflictError` and nothing is written;
- an append of several events is all or nothing;
- event ids are unique in a case: re-sending the same append is a no-op, the same ids with other
  content are refused (:class:`~ketenzorg.errors.DuplicateEventError`);
- a global position orders all events in commit order;
- every append is re-decided by the engine (a blocked transition is never stored);
- a loaded case is replayed by the engine, unless this store object verified those very bytes
  before (its cache, checked against a digest of the stored events on every load);
- every append, disclosure and destruction leaves a record in a hash-chained audit log.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Final

import attrs
import orjson

from ketenzorg.case import Case
from ketenzorg.caseformat import converter
from ketenzorg.engine import Engine
from ketenzorg.errors import (
    DuplicateEventError,
    InvalidEventError,
    KetenzorgError,
    Problem,
    StoreError,
    VersionConflictError,
)
from ketenzorg.events import CaseOpened, Event
from ketenzorg.store.backend import Backend
from ketenzorg.store.records import (
    GENESIS_HASH,
    Actor,
    AppendResult,
    AuditEntry,
    AuditRecord,
    CaseInfo,
    EventRow,
    StoredEvent,
    events_digest,
    seal,
)

if TYPE_CHECKING:
    from ketenzorg.disclosure import Disclosure

__all__ = ["DEFAULT_STORE", "STORE_ENV", "CaseStore", "StoredCase", "default_location", "event_bytes"]

DEFAULT_STORE: Final = "ketenzorg.db"
STORE_ENV: Final = "KETENZORG_STORE"


def default_location() -> str:
    """Where the store is when none is given: ``$KETENZORG_STORE``, else ``./ketenzorg.db``."""
    return os.environ.get(STORE_ENV) or DEFAULT_STORE


def event_bytes(event: Event) -> bytes:
    """An event as the store keeps it: its case-format JSON (:mod:`ketenzorg.caseformat`)."""
    return orjson.dumps(converter().unstructure(event))


@attrs.frozen
class StoredCase:
    """A case loaded from the store, checked by the engine, with the version to append on."""

    case: Case
    version: int


@attrs.frozen
class _Verified:
    version: int
    digest: str
    case: Case


class CaseStore:
    """Cases in a store, decided by ``engine``. Open one with :meth:`open`; close it (or use
    ``with``) when done."""

    def __init__(self, backend: Backend, engine: Engine) -> None:
        if not isinstance(engine, Engine):
            raise TypeError("a case store decides with an Engine")
        self.backend = backend
        self.engine = engine
        self._verified: dict[str, _Verified] = {}

    @classmethod
    def open(cls, location: str | os.PathLike[str] | None = None, *, engine: Engine) -> CaseStore:
        """The store at ``location`` (default :func:`default_location`): a path to an SQLite file, or
        a ``postgresql://USER:PASSWORD@HOST:PORT/DATABASE`` URL (the ``postgresql`` extra)."""
        where = os.fspath(location) if location is not None else default_location()
        if where.startswith(("postgresql:", "postgres:")):
            return cls(_postgresql(where), engine)
        from ketenzorg.store.sqlite import SQLiteBackend

        return cls(SQLiteBackend(Path(where)), engine)

    @property
    def name(self) -> str:
        return self.backend.name

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> CaseStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- reading ---------------------------------------------------------------------------------

    def load(self, case_id: str) -> StoredCase:
        """The case as stored, re-checked by the engine (:meth:`Engine.replay`) unless this store
        verified the same stored bytes before."""
        version, rows = self.backend.read_case(case_id)
        if not rows:
            raise self._missing(case_id, version)
        return self._checked(case_id, version, rows)

    def _missing(self, case_id: str, version: int) -> StoreError:
        if version:
            return StoreError(self.name, f"case {case_id} was destroyed")
        return StoreError(self.name, f"case {case_id} is not in the store")

    def _checked(
        self, case_id: str, version: int, rows: tuple[StoredEvent, ...], *, cache: bool = True
    ) -> StoredCase:
        digest = events_digest([r.data for r in rows])
        known = self._verified.get(case_id)
        if cache and known is not None and known.version == version and known.digest == digest:
            return StoredCase(known.case, version)
        events = self._events(case_id, rows)
        try:
            case = self.engine.replay(case_id, events)
        except KetenzorgError as error:
            raise StoreError(self.name, f"case {case_id} does not replay: {error}") from error
        self._verified[case_id] = _Verified(version, digest, case)
        return StoredCase(case, version)

    def _events(self, case_id: str, rows: tuple[StoredEvent, ...]) -> list[Event]:
        structure = converter().get_structure_hook(Event)
        events: list[Event] = []
        for index, row in enumerate(rows):
            try:
                events.append(structure(orjson.loads(row.data), Event))
            except Exception as error:  # a stored event that is not the case format: the store's fault
                raise StoreError(
                    self.name, f"case {case_id}: events[{index}] is not a case-format event; is it damaged?"
                ) from error
        return events

    def cases(self) -> tuple[CaseInfo, ...]:
        return self.backend.cases()

    def events_after(self, position: int = 0, limit: int = 1000) -> tuple[StoredEvent, ...]:
        """The events after global ``position`` in commit order (at most ``limit``): to follow the
        store, read on from the last position seen."""
        return self.backend.events_after(position, limit)

    def audit(self, case_id: str | None = None) -> tuple[AuditRecord, ...]:
        return self.backend.audit(case_id)

    # --- writing ---------------------------------------------------------------------------------

    def append(
        self,
        case_id: str,
        events: Iterable[Event],
        *,
        expected_version: int,
        actor: Actor,
        command: str,
    ) -> AppendResult:
        """Append ``events`` to the case decided on at ``expected_version`` (0: a new case, whose
        first event is its ``case_opened``), after the engine re-decided them; all or nothing."""
        batch = tuple(events)
        if not batch:
            raise InvalidEventError([Problem("events", "an append holds at least one event")])
        if not isinstance(actor, Actor):
            raise TypeError("actor: expected an Actor")
        rows = [EventRow(event_id=e.id, type=e.type, data=event_bytes(e)) for e in batch]
        version, stored = self.backend.read_case(case_id)
        if version and not stored:
            raise self._missing(case_id, version)
        repeated = self._repeated(case_id, stored, rows)
        if repeated is not None:
            return repeated
        if version != expected_version:
            raise VersionConflictError(self.name, case_id, expected_version, version)
        new = self._decide(case_id, version, stored, batch)
        at = self.engine.clock().isoformat()
        entry = AuditEntry.make(
            "append",
            case_id,
            at,
            actor,
            command,
            event_ids=tuple(e.id for e in batch),
            version_from=version,
            version_to=version + len(batch),
            events_sha256=events_digest([r.data for r in rows]),
        )
        result = self.backend.append(case_id, expected_version, rows, entry)
        if not result.repeated:
            digest = events_digest([r.data for r in stored] + [r.data for r in rows])
            self._verified[case_id] = _Verified(result.version, digest, new)
        return result

    def create(self, case: Case, *, actor: Actor, command: str) -> AppendResult:
        """Store a new case with all its events (re-decided by the engine)."""
        return self.append(case.case_id, case.events, expected_version=0, actor=actor, command=command)

    def _repeated(
        self, case_id: str, stored: tuple[StoredEvent, ...], rows: Sequence[EventRow]
    ) -> AppendResult | None:
        """The stored result when this very append is stored already (a re-send)."""
        by_id = {r.event_id: r for r in stored}
        found = [by_id.get(r.event_id) for r in rows]
        if all(f is None for f in found):
            return None
        if any(f is None or f.data != r.data for f, r in zip(found, rows, strict=True)):
            raise DuplicateEventError(
                self.name,
                f"case {case_id}: event ids of this append are already stored with other content; "
                "nothing was written",
            )
        hits = [f for f in found if f is not None]
        return AppendResult(
            case_id=case_id,
            version=hits[-1].version,
            positions=tuple(f.position for f in hits),
            repeated=True,
        )

    def _decide(
        self, case_id: str, version: int, stored: tuple[StoredEvent, ...], batch: tuple[Event, ...]
    ) -> Case:
        """The case with ``batch`` appended, as the engine decides it now."""
        if version == 0:
            first = batch[0]
            if not isinstance(first, CaseOpened):
                raise InvalidEventError([Problem("events[0].type", "a new case starts with case_opened")])
            case = self.engine.replay(case_id, (first,))
            return self.engine.check_appended(case, batch[1:])
        current = self._checked(case_id, version, stored).case
        return self.engine.check_appended(current, batch)

    def record_disclosure(self, record: Disclosure, *, actor: Actor, command: str) -> AuditRecord:
        """Record in the case's audit chain that (part of) it left the organisation: the full
        :class:`~ketenzorg.disclosure.Disclosure` (to whom, why, under which profile, which resources
        and versions, the SHA-256 of the bytes), completed with ``actor`` as user and responsible user.

        The resources sent are indexed in the same transaction, for :meth:`received`."""
        if getattr(record, "sha256", None) is None or not callable(getattr(record, "to_mapping", None)):
            raise InvalidEventError(
                [Problem("disclosure", "expected a disclosure record with the hash of the bytes written")]
            )
        mapping = record.to_mapping()
        mapping["user"] = record.user or actor.user
        mapping["responsible_user"] = record.responsible_user or actor.on_behalf_of
        entry = AuditEntry.make(
            "disclosure",
            record.case_id,
            self.engine.clock().isoformat(),
            actor,
            command,
            recipient=record.recipient.label(),
            purpose=record.purpose,
            disclosure=mapping,
        )
        return self.backend.add_audit(entry)

    def disclosures(self, case_id: str) -> tuple[AuditRecord, ...]:
        """The case's disclosure records, in chain order (those written before the full record was
        kept have only recipient and purpose: ``entry.disclosure`` is ``None``)."""
        return tuple(r for r in self.backend.audit(case_id) if r.entry.action == "disclosure")

    def received(self, resource: str) -> tuple[AuditRecord, ...]:
        """Who received ``resource`` (``Type/id``, e.g. ``Observation/<id>``) across cases (AVG art.
        19: a correction or erasure is passed on to each of them); from an index, fast on a large log."""
        if not isinstance(resource, str) or resource.count("/") != 1 or not all(resource.split("/")):
            raise InvalidEventError([Problem("resource", "expected a reference Type/id")])
        return self.backend.received(resource)

    def destroy(
        self, case_id: str, *, reason: str, actor: Actor, command: str = "store destroy"
    ) -> AuditRecord:
        """Delete the case's events physically (no trace left in the store's files) and record the
        destruction, without content, in the audit log. The case id stays, marked destroyed.

        A case under legal hold (:mod:`ketenzorg.store.retention`) is refused with
        :class:`~ketenzorg.store.retention.LegalHoldError`."""
        from ketenzorg.store.retention import LegalHoldError, legal_hold

        if not isinstance(reason, str) or not reason.strip():
            raise InvalidEventError([Problem("reason", "expected a non-empty text")])
        hold = legal_hold(self, case_id)
        if hold is not None:
            raise LegalHoldError(
                self.name,
                f"case {case_id} is under legal hold (audit record {hold.seq}, set {hold.entry.at} by "
                f"{hold.entry.user}); lift it with `store release` first",
            )
        version, _ = self.backend.read_case(case_id)
        entry = AuditEntry.make(
            "destroy",
            case_id,
            self.engine.clock().isoformat(),
            actor,
            command,
            version_from=version,
            reason=reason,
        )
        self._verified.pop(case_id, None)
        return self.backend.destroy(case_id, entry)

    # --- verifying -------------------------------------------------------------------------------

    def verify(self) -> tuple[Problem, ...]:
        """Check every audit chain and replay every case; each problem names its case and record."""
        problems: list[Problem] = []
        by_case: dict[str, list[AuditRecord]] = {}
        for record in self.backend.audit():
            by_case.setdefault(record.entry.case_id, []).append(record)
        infos = {info.case_id: info for info in self.backend.cases()}
        for case_id in sorted(set(by_case) | set(infos)):
            info = infos.get(case_id)
            records = by_case.get(case_id, [])
            where = f"cases[{case_id}]"
            problems += _check_chain(where, records)
            if info is None:
                problems.append(Problem(where, "has audit records but is not in the store"))
                continue
            if info.destroyed:
                continue
            version, rows = self.backend.read_case(case_id)
            problems += _check_events(where, version, rows, records)
            try:
                self._checked(case_id, version, rows, cache=False)
            except StoreError as error:
                problems.append(Problem(where, error.message))
        return tuple(problems)


def _postgresql(url: str) -> Backend:
    """The PostgreSQL backend for ``url``; a clear error when its driver is not installed."""
    try:
        from ketenzorg.store.postgresql import PostgreSQLBackend
    except ImportError:
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(url)
            name = f"{parts.scheme}://{parts.hostname or ''}{parts.path}"
        except ValueError:
            name = "postgresql://"
        raise StoreError(
            name, "a PostgreSQL store needs psycopg: pip install 'ketenzorg[postgresql]'"
        ) from None
    return PostgreSQLBackend(url)


def _check_chain(where: str, records: list[AuditRecord]) -> list[Problem]:
    problems = []
    prev = GENESIS_HASH
    for expected_seq, record in enumerate(records, 1):
        at = f"{where}.audit[{record.seq}]"
        if record.seq != expected_seq:
            problems.append(Problem(at, f"expected record {expected_seq} here: a record is missing"))
        if record.prev_hash != prev:
            problems.append(Problem(at, "does not follow the record before it (the chain is broken)"))
        if seal(record.prev_hash, record.content) != record.hash:
            problems.append(Problem(at, "its content does not match its hash (changed after it was written)"))
        prev = record.hash
    return problems


def _check_events(
    where: str, version: int, rows: tuple[StoredEvent, ...], records: list[AuditRecord]
) -> list[Problem]:
    """The stored events are those the audit records say were appended, byte for byte."""
    problems = []
    if [r.version for r in rows] != list(range(1, version + 1)):
        problems.append(Problem(f"{where}.events", f"the versions are not 1..{version} without gaps"))
    by_version = {r.version: r for r in rows}
    covered = 0
    for record in records:
        entry = record.entry
        if entry.action != "append":
            continue
        span = [by_version.get(v) for v in range(entry.version_from + 1, entry.version_to + 1)]
        datas = [r.data for r in span if r is not None]
        if len(datas) != len(span) or events_digest(datas) != entry.events_sha256:
            problems.append(
                Problem(
                    f"{where}.audit[{record.seq}]",
                    f"the events of versions {entry.version_from + 1}..{entry.version_to} differ from "
                    "those it recorded",
                )
            )
        covered = max(covered, entry.version_to)
    if covered != version:
        problems.append(Problem(f"{where}.events", "holds events that no audit record accounts for"))
    return problems
