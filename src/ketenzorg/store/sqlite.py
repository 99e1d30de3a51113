"""The embedded SQLite backend: one file, WAL journal, ``synchronous=FULL``, serialised writes.

Writes run in ``BEGIN IMMEDIATE`` (one writer at a time; readers never block), retried a bounded
number of times when another writer holds the file. The file is created readable by its owner
only (0600; SQLite gives its WAL and shared-memory files the same mode). The schema is versioned in
a ``meta`` table; a file that is not an SQLite database, another application's database, a
damaged one or one of a newer schema is refused with a :class:`~ketenzorg.errors.StoreError`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final, Literal

from ketenzorg.errors import DuplicateEventError, StoreError, VersionConflictError
from ketenzorg.store.records import (
    GENESIS_HASH,
    AppendResult,
    AuditEntry,
    AuditRecord,
    CaseInfo,
    EventRow,
    StoredEvent,
    audit_records,
    seal,
    stored_event,
)

__all__ = ["SCHEMA_VERSION", "SQLiteBackend"]

STORE_FORMAT: Final = "ketenzorg.store"
SCHEMA_VERSION: Final = 1
_HEADER: Final = b"SQLite format 3\x00"

# Who received a resource (AVG art. 19): each resource a disclosure sent -> its audit record, filled
# in the audit record's transaction. Added to stores of schema 1 when they are opened: the table is
# an index over the audit log, which holds the same facts, so no schema change is needed to read it.
_DISCLOSED: Final = (
    "CREATE TABLE IF NOT EXISTS disclosed (resource TEXT NOT NULL, audit_id INTEGER NOT NULL,"
    " case_id TEXT NOT NULL, PRIMARY KEY (resource, audit_id)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS disclosed_case ON disclosed (case_id)",
)

_SCHEMA: Final = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE cases (case_id TEXT PRIMARY KEY, version INTEGER NOT NULL,"
    " destroyed INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID",
    # AUTOINCREMENT: a position is never used twice, not even after the last events were destroyed.
    "CREATE TABLE events (position INTEGER PRIMARY KEY AUTOINCREMENT, case_id TEXT NOT NULL,"
    " version INTEGER NOT NULL, event_id TEXT NOT NULL, type TEXT NOT NULL, data BLOB NOT NULL,"
    " UNIQUE (case_id, version), UNIQUE (case_id, event_id))",
    "CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, case_id TEXT NOT NULL, seq INTEGER NOT NULL,"
    " content TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, UNIQUE (case_id, seq))",
    *_DISCLOSED,
)

Synchronous = Literal["FULL", "NORMAL"]


class SQLiteBackend:
    """A case store in one SQLite file at ``path``.

    ``synchronous="NORMAL"`` is faster but may lose the last commits on a power loss (never on a
    crash of the process); ``FULL`` (the default) does not. A write waits ``busy_timeout`` seconds
    for another writer, ``retries`` times, before it gives up with a :class:`StoreError`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Synchronous = "FULL",
        busy_timeout: float = 5.0,
        retries: int = 3,
    ) -> None:
        self.path = Path(path)
        self._name = str(path)
        if synchronous not in ("FULL", "NORMAL"):
            raise StoreError(self._name, "synchronous is FULL or NORMAL")
        self.retries = max(1, retries)
        self._conn = self._open(synchronous, busy_timeout)

    @property
    def name(self) -> str:
        return self._name

    # --- opening ---------------------------------------------------------------------------------

    def _fail(self, message: str) -> StoreError:
        return StoreError(self._name, message)

    def _open(self, synchronous: Synchronous, busy_timeout: float) -> sqlite3.Connection:
        path = self.path
        if path.is_dir():
            raise self._fail("is a directory, not a store file")
        if not path.exists():
            try:
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            except FileExistsError:  # another process made it meanwhile
                pass
            except OSError as error:
                raise self._fail(f"cannot be created ({error.strerror})") from None
        try:
            with path.open("rb") as f:
                header = f.read(len(_HEADER))
        except OSError as error:
            raise self._fail(f"cannot be read ({error.strerror})") from None
        if (header and header != _HEADER[: len(header)]) or 0 < len(header) < len(_HEADER):
            raise self._fail("is not a ketenzorg store (not an SQLite database)")
        if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
            raise self._fail("is read-only (the store and its folder must be writable)")
        try:
            conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
        except sqlite3.Error as error:
            raise self._fail(f"cannot be opened ({_describe(error)})") from None
        try:
            self._check_schema(conn)
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise self._fail("cannot use a write-ahead log (WAL)")
            conn.execute(f"PRAGMA synchronous={synchronous}")
            conn.execute("PRAGMA secure_delete=ON")  # deleted content is overwritten with zeros
        except sqlite3.Error as error:
            conn.close()
            raise self._fail(f"cannot be used ({_describe(error)}); is it damaged?") from None
        except StoreError:
            conn.close()
            raise
        return conn

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            self._create_schema(conn)
            return
        if "meta" not in tables:
            raise self._fail("is not a ketenzorg store (an SQLite database of another application)")
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("format") != STORE_FORMAT:
            raise self._fail("is not a ketenzorg store (an SQLite database of another application)")
        version = meta.get("schema_version", "")
        if not version.isdigit():
            raise self._fail("has no readable schema version; is it damaged?")
        if int(version) > SCHEMA_VERSION:
            raise self._fail(
                f"has schema version {version}, newer than this ketenzorg reads ({SCHEMA_VERSION}); "
                "use a newer ketenzorg"
            )
        if int(version) < SCHEMA_VERSION:
            raise self._fail(f"has schema version {version}, which this ketenzorg cannot upgrade")
        missing = {"cases", "events", "audit"} - tables
        if missing:
            raise self._fail("lacks tables of the store schema; is it damaged?")
        if "disclosed" not in tables:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _DISCLOSED:
                    conn.execute(statement)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _create_schema(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] == 0:
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("format", STORE_FORMAT), ("schema_version", str(SCHEMA_VERSION))],
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._check_schema(conn)

    # --- transactions ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``), retried while another writer holds the file."""
        conn = self._conn
        for attempt in range(self.retries):
            try:
                conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as error:
                if not _busy(error):
                    raise self._fail(f"cannot be written ({_describe(error)})") from None
                if attempt + 1 == self.retries:
                    raise self._fail(
                        f"is busy: another writer held it through {self.retries} attempts; nothing was "
                        "written"
                    ) from None
                time.sleep(0.05 * (attempt + 1))
            except sqlite3.Error as error:
                raise self._fail(f"cannot be written ({_describe(error)})") from None
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(error, sqlite3.Error):
                raise self._fail(f"the write failed, nothing was written ({_describe(error)})") from None
            raise

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: a consistent snapshot."""
        conn = self._conn
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")
        except sqlite3.Error as error:
            raise self._fail(f"cannot be read ({_describe(error)})") from None

    # --- the backend interface -------------------------------------------------------------------

    def append(
        self, case_id: str, expected_version: int, events: Sequence[EventRow], entry: AuditEntry
    ) -> AppendResult:
        if not events:
            raise self._fail(f"case {case_id}: an append holds at least one event")
        with self._write() as conn:
            row = conn.execute(
                "SELECT version, destroyed FROM cases WHERE case_id = ?", (case_id,)
            ).fetchone()
            current, destroyed = (row[0], bool(row[1])) if row else (0, False)
            if destroyed:
                raise self._fail(f"case {case_id} was destroyed; nothing is appended to it")
            repeated = self._repeated(conn, case_id, events)
            if repeated is not None:
                conn.execute("ROLLBACK")
                return repeated
            if current != expected_version:
                raise VersionConflictError(self._name, case_id, expected_version, current)
            positions = []
            for offset, event in enumerate(events, 1):
                cursor = conn.execute(
                    "INSERT INTO events (case_id, version, event_id, type, data) VALUES (?, ?, ?, ?, ?)",
                    (case_id, current + offset, event.event_id, event.type, event.data),
                )
                positions.append(int(cursor.lastrowid or 0))
            version = current + len(events)
            conn.execute(
                "INSERT INTO cases (case_id, version) VALUES (?, ?)"
                " ON CONFLICT (case_id) DO UPDATE SET version = excluded.version",
                (case_id, version),
            )
            self._chain(conn, entry)
        return AppendResult(case_id=case_id, version=version, positions=tuple(positions))

    def _repeated(
        self, conn: sqlite3.Connection, case_id: str, events: Sequence[EventRow]
    ) -> AppendResult | None:
        found = []
        for event in events:
            row = conn.execute(
                "SELECT version, position, data FROM events WHERE case_id = ? AND event_id = ?",
                (case_id, event.event_id),
            ).fetchone()
            if row is not None:
                found.append((row, event))
        if not found:
            return None
        versions = [row[0] for row, _ in found]
        if (
            len(found) != len(events)
            or any(bytes(row[2]) != event.data for row, event in found)
            or versions != list(range(versions[0], versions[0] + len(versions)))
        ):
            raise DuplicateEventError(
                self._name,
                f"case {case_id}: event ids of this append are already stored with other content; "
                "nothing was written",
            )
        return AppendResult(
            case_id=case_id, version=versions[-1], positions=tuple(row[1] for row, _ in found), repeated=True
        )

    def _chain(self, conn: sqlite3.Connection, entry: AuditEntry) -> AuditRecord:
        last = conn.execute(
            "SELECT seq, hash FROM audit WHERE case_id = ? ORDER BY seq DESC LIMIT 1", (entry.case_id,)
        ).fetchone()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
        content = entry.canonical()
        digest = seal(prev, content)
        cursor = conn.execute(
            "INSERT INTO audit (case_id, seq, content, prev_hash, hash) VALUES (?, ?, ?, ?, ?)",
            (entry.case_id, seq, content.decode("utf-8"), prev, digest),
        )
        refs = entry.sent_refs()
        if refs:
            audit_id = cursor.lastrowid
            conn.executemany(
                "INSERT INTO disclosed (resource, audit_id, case_id) VALUES (?, ?, ?)",
                [(ref, audit_id, entry.case_id) for ref in refs],
            )
        return AuditRecord(entry=entry, seq=seq, prev_hash=prev, hash=digest, content=content)

    def read_case(self, case_id: str) -> tuple[int, tuple[StoredEvent, ...]]:
        with self._read() as conn:
            row = conn.execute("SELECT version FROM cases WHERE case_id = ?", (case_id,)).fetchone()
            rows = conn.execute(
                "SELECT case_id, version, position, event_id, type, data FROM events"
                " WHERE case_id = ? ORDER BY version",
                (case_id,),
            ).fetchall()
        return (row[0] if row else 0), tuple(stored_event(r) for r in rows)

    def cases(self) -> tuple[CaseInfo, ...]:
        with self._read() as conn:
            rows = conn.execute("SELECT case_id, version, destroyed FROM cases ORDER BY case_id").fetchall()
        return tuple(CaseInfo(case_id=r[0], version=r[1], destroyed=bool(r[2])) for r in rows)

    def events_after(self, position: int, limit: int) -> tuple[StoredEvent, ...]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT case_id, version, position, event_id, type, data FROM events"
                " WHERE position > ? ORDER BY position LIMIT ?",
                (position, limit),
            ).fetchall()
        return tuple(stored_event(r) for r in rows)

    def audit(self, case_id: str | None = None) -> tuple[AuditRecord, ...]:
        query = "SELECT content, seq, prev_hash, hash FROM audit"
        with self._read() as conn:
            if case_id is None:
                rows = conn.execute(query + " ORDER BY case_id, seq").fetchall()
            else:
                rows = conn.execute(query + " WHERE case_id = ? ORDER BY seq", (case_id,)).fetchall()
        return self._records(rows)

    def received(self, resource: str) -> tuple[AuditRecord, ...]:
        rows = []
        with self._read() as conn:
            rows = conn.execute(
                "SELECT a.content, a.seq, a.prev_hash, a.hash"
                " FROM disclosed d JOIN audit a ON a.id = d.audit_id"
                " WHERE d.resource = ? ORDER BY a.case_id, a.seq",
                (resource,),
            ).fetchall()
        return self._records(rows)

    def _records(self, rows: Sequence[Sequence[object]]) -> tuple[AuditRecord, ...]:
        return audit_records(rows, self._fail)

    def add_audit(self, entry: AuditEntry) -> AuditRecord:
        with self._write() as conn:
            row = conn.execute("SELECT destroyed FROM cases WHERE case_id = ?", (entry.case_id,)).fetchone()
            if row is None:
                raise self._fail(f"case {entry.case_id} is not in the store")
            return self._chain(conn, entry)

    def destroy(self, case_id: str, entry: AuditEntry) -> AuditRecord:
        with self._write() as conn:
            row = conn.execute("SELECT destroyed FROM cases WHERE case_id = ?", (case_id,)).fetchone()
            if row is None:
                raise self._fail(f"case {case_id} is not in the store")
            if row[0]:
                raise self._fail(f"case {case_id} was already destroyed")
            conn.execute("DELETE FROM events WHERE case_id = ?", (case_id,))
            conn.execute("DELETE FROM disclosed WHERE case_id = ?", (case_id,))
            conn.execute("UPDATE cases SET destroyed = 1 WHERE case_id = ?", (case_id,))
            record = self._chain(conn, entry)
        self._scrub()
        return record

    def _scrub(self) -> None:
        """Leave no trace of deleted content: rebuild the file, then empty the write-ahead log."""
        conn = self._conn
        try:
            conn.execute("VACUUM")
            for attempt in range(self.retries * 10):
                busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                if not busy:
                    return
                time.sleep(0.05 * (attempt + 1))
        except sqlite3.Error as error:
            raise self._fail(
                f"the case's events are deleted, but the file could not be rebuilt ({_describe(error)}); "
                "traces may remain until the store is vacuumed"
            ) from None
        raise self._fail(
            "the case's events are deleted, but another connection keeps the write-ahead log from being "
            "emptied; traces may remain in it until all connections are closed"
        )

    def close(self) -> None:
        self._conn.close()


def _busy(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


def _describe(error: sqlite3.Error) -> str:
    """SQLite's own words (they never quote a stored value)."""
    return str(error) or type(error).__name__
