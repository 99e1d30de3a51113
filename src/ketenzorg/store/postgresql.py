"""The PostgreSQL backend: several users on one server, through psycopg 3 (the ``postgresql`` extra).

The store lives in the connection's current schema (the first of its ``search_path``; give a store
a schema of its own with ``?options=-c%20search_path%3DNAME``). The schema is versioned in a
``meta`` table; a schema holding other tables, or a store of a newer schema, is refused.

Every write is one READ COMMITTED transaction that first locks the case's row (``FOR UPDATE``),
so writers of one case queue up and each sees the version the one before committed. Global
positions come from a single counter row, updated (and so locked until commit) as the last step
before the events are inserted: appends take their positions one after the other, in the order
they commit, and a reader following positions never skips an event that commits later with a
lower position. The counter never goes back, so a position is never reused (also not after a
rollback: the rolled-back update is undone with it, leaving no gap).

Errors name the store by its URL without the password (:func:`redact`). This is the only module
that imports psycopg.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg
from psycopg import errors as pgerrors

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

__all__ = ["SCHEMA_VERSION", "PostgreSQLBackend", "redact"]

STORE_FORMAT: Final = "ketenzorg.store"
SCHEMA_VERSION: Final = 1
_TABLES: Final = frozenset({"meta", "cases", "events", "audit", "position_counter"})
_SCHEMA_LOCK: Final = 0x6B74_7A73_746F_7265 & 0x7FFF_FFFF_FFFF_FFFF
"""The advisory lock key that serialises creating the schema (``ktzstore``)."""

# Who received a resource (AVG art. 19): each resource a disclosure sent -> its audit record, filled
# in the audit record's transaction; added to stores of schema 1 when they are opened (an index over
# the audit log, which holds the same facts).
_DISCLOSED: Final = (
    "CREATE TABLE IF NOT EXISTS disclosed (resource text NOT NULL, audit_id bigint NOT NULL,"
    " case_id text NOT NULL, PRIMARY KEY (resource, audit_id))",
    "CREATE INDEX IF NOT EXISTS disclosed_case ON disclosed (case_id)",
)

_SCHEMA: Final = (
    "CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL)",
    "CREATE TABLE cases (case_id text PRIMARY KEY, version integer NOT NULL,"
    " destroyed boolean NOT NULL DEFAULT false)",
    # One row: the last global position handed out. Updating it locks it until commit.
    "CREATE TABLE position_counter (id integer PRIMARY KEY CHECK (id = 1), last bigint NOT NULL)",
    "INSERT INTO position_counter (id, last) VALUES (1, 0)",
    "CREATE TABLE events (position bigint PRIMARY KEY, case_id text NOT NULL, version integer NOT NULL,"
    " event_id text NOT NULL, type text NOT NULL, data bytea NOT NULL,"
    " UNIQUE (case_id, version), UNIQUE (case_id, event_id))",
    "CREATE TABLE audit (id bigserial PRIMARY KEY, case_id text NOT NULL, seq integer NOT NULL,"
    " content text NOT NULL, prev_hash text NOT NULL, hash text NOT NULL, UNIQUE (case_id, seq))",
    *_DISCLOSED,
)


def redact(url: str) -> str:
    """``url`` as errors may show it: scheme, user, host, port and database; never a password
    (neither the URL's nor a ``password=`` parameter) nor any other parameter."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
        user = parts.username
    except ValueError:
        return "postgresql://(a URL that cannot be read)"
    scheme = parts.scheme or "postgresql"
    where = (f"[{host}]" if ":" in host else host) + (f":{port}" if port else "")
    who = f"{unquote(user)}@" if user else ""
    return f"{scheme}://{who}{where}{parts.path}"


class PostgreSQLBackend:
    """A case store in a PostgreSQL schema, reached at ``url`` (``postgresql://USER:PASSWORD@HOST:PORT/DB``).

    ``connect_timeout`` bounds the wait for the server (seconds); a write waits at most
    ``lock_timeout`` seconds for another writer's lock before it fails with a :class:`StoreError`.
    """

    def __init__(self, url: str, *, connect_timeout: int = 10, lock_timeout: float = 30.0) -> None:
        self._name = redact(url)
        self._secret = _password(url)
        self._conn = self._connect(url, connect_timeout, lock_timeout)
        try:
            self._check_schema()
        except BaseException:
            self._conn.close()
            raise

    @property
    def name(self) -> str:
        return self._name

    # --- opening ---------------------------------------------------------------------------------

    def _fail(self, message: str) -> StoreError:
        return StoreError(self._name, message)

    def _describe(self, error: BaseException, url: str = "") -> str:
        """The server's or driver's own words, first line only (later lines may quote values), with
        the URL and the password taken out should they ever appear."""
        diag = getattr(error, "diag", None)
        text = (getattr(diag, "message_primary", None) or str(error) or type(error).__name__).strip()
        text = text.splitlines()[0] if text else type(error).__name__
        if url:
            text = text.replace(url, self._name)
        if self._secret:
            text = text.replace(self._secret, "***")
        return text

    def _connect(self, url: str, connect_timeout: int, lock_timeout: float) -> psycopg.Connection[Any]:
        if not url.startswith(("postgresql://", "postgres://")):
            raise self._fail("is not a postgresql:// URL")
        try:
            conn = psycopg.connect(
                url,
                autocommit=True,
                connect_timeout=connect_timeout,
                application_name="ketenzorg",
            )
        except psycopg.ProgrammingError as error:  # the URL itself
            raise self._fail(f"is not a usable PostgreSQL URL ({self._describe(error, url)})") from None
        except psycopg.Error as error:
            raise self._fail(
                f"cannot be reached or refused the connection ({self._describe(error, url)}); "
                "nothing was changed"
            ) from None
        try:
            conn.execute("SELECT set_config('lock_timeout', %s, false)", (f"{int(lock_timeout * 1000)}ms",))
        except psycopg.Error as error:
            conn.close()
            raise self._fail(f"cannot be used ({self._describe(error)})") from None
        return conn

    def _check_schema(self) -> None:
        try:
            with self._conn.transaction():
                schema = self._one("SELECT current_schema()")
                if schema is None:
                    raise self._fail(
                        "has no schema to work in (the search_path names no existing schema); nothing was "
                        "changed"
                    )
                # Two processes opening a new store at once: one creates, the other then checks.
                self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                tables = {
                    str(r[0])
                    for r in self._conn.execute(
                        "SELECT table_name FROM information_schema.tables"
                        " WHERE table_schema = current_schema()"
                    )
                }
                if not tables:
                    for statement in _SCHEMA:
                        self._conn.execute(statement)
                    self._conn.execute(
                        "INSERT INTO meta (key, value) VALUES ('format', %s), ('schema_version', %s)",
                        (STORE_FORMAT, str(SCHEMA_VERSION)),
                    )
                    return
                self._check_existing(schema, tables)
        except StoreError:
            raise
        except psycopg.Error as error:
            raise self._fail(f"cannot be used ({self._describe(error)}); nothing was changed") from None

    def _check_existing(self, schema: object, tables: set[str]) -> None:
        foreign = f"is not a ketenzorg store (schema {schema} holds tables of another application)"
        if "meta" not in tables:
            raise self._fail(foreign)
        try:
            meta = {str(k): str(v) for k, v in self._conn.execute("SELECT key, value FROM meta")}
        except psycopg.Error:
            raise self._fail(foreign) from None
        if meta.get("format") != STORE_FORMAT:
            raise self._fail(foreign)
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
        if _TABLES - tables:
            raise self._fail("lacks tables of the store schema; is it damaged?")
        if "disclosed" not in tables:
            for statement in _DISCLOSED:
                self._conn.execute(statement)

    def _one(self, query: str, params: Sequence[object] = ()) -> Any:
        row = self._conn.execute(query, params).fetchone()
        return None if row is None else row[0]

    # --- transactions ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self) -> Iterator[psycopg.Connection[Any]]:
        """One READ COMMITTED write transaction; rolled back on any error."""
        conn = self._conn
        try:
            with conn.transaction():
                yield conn
        except pgerrors.LockNotAvailable:
            raise self._fail(
                "is busy: another writer held a lock longer than the lock timeout; nothing was written"
            ) from None
        except psycopg.Error as error:
            raise self._fail(f"the write failed, nothing was written ({self._describe(error)})") from None

    @contextlib.contextmanager
    def _read(self) -> Iterator[psycopg.Connection[Any]]:
        """One read-only transaction on one snapshot."""
        conn = self._conn
        try:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield conn
        except psycopg.Error as error:
            raise self._fail(f"cannot be read ({self._describe(error)})") from None

    # --- the backend interface -------------------------------------------------------------------

    def append(
        self, case_id: str, expected_version: int, events: Sequence[EventRow], entry: AuditEntry
    ) -> AppendResult:
        if not events:
            raise self._fail(f"case {case_id}: an append holds at least one event")
        try:
            return self._append(case_id, expected_version, events, entry)
        except _Repeated as repeated:  # the same append stored before: its result, nothing written
            return repeated.result

    def _append(
        self, case_id: str, expected_version: int, events: Sequence[EventRow], entry: AuditEntry
    ) -> AppendResult:
        with self._write() as conn:
            # The case's row, locked until commit: writers of this case queue up here. A new case's
            # row is inserted first, so two creators of one case queue up on it too.
            conn.execute(
                "INSERT INTO cases (case_id, version) VALUES (%s, 0) ON CONFLICT (case_id) DO NOTHING",
                (case_id,),
            )
            row = conn.execute(
                "SELECT version, destroyed FROM cases WHERE case_id = %s FOR UPDATE", (case_id,)
            ).fetchone()
            assert row is not None
            current, destroyed = int(row[0]), bool(row[1])
            if destroyed:
                raise self._fail(f"case {case_id} was destroyed; nothing is appended to it")
            repeated = self._repeated(conn, case_id, events)
            if repeated is not None:
                raise _Repeated(repeated)
            if current != expected_version:
                raise VersionConflictError(self._name, case_id, expected_version, current)
            # Last step before the inserts: the counter row, locked until commit (see the module).
            last = conn.execute(
                "UPDATE position_counter SET last = last + %s WHERE id = 1 RETURNING last", (len(events),)
            ).fetchone()
            assert last is not None
            first = int(last[0]) - len(events) + 1
            positions = tuple(range(first, first + len(events)))
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO events (position, case_id, version, event_id, type, data)"
                    " VALUES (%s, %s, %s, %s, %s, %s)",
                    [
                        (position, case_id, current + offset, e.event_id, e.type, e.data)
                        for offset, (position, e) in enumerate(zip(positions, events, strict=True), 1)
                    ],
                )
            version = current + len(events)
            conn.execute("UPDATE cases SET version = %s WHERE case_id = %s", (version, case_id))
            self._chain(conn, entry)
        return AppendResult(case_id=case_id, version=version, positions=positions)

    def _repeated(
        self, conn: psycopg.Connection[Any], case_id: str, events: Sequence[EventRow]
    ) -> AppendResult | None:
        ids = [e.event_id for e in events]
        stored = {
            str(r[0]): (int(r[1]), int(r[2]), bytes(r[3]))
            for r in conn.execute(
                "SELECT event_id, version, position, data FROM events"
                " WHERE case_id = %s AND event_id = ANY(%s)",
                (case_id, ids),
            )
        }
        if not stored:
            return None
        found = [(stored.get(e.event_id), e) for e in events]
        versions = [f[0] for f, _ in found if f is not None]
        if (
            any(f is None for f, _ in found)
            or any(f is not None and f[2] != e.data for f, e in found)
            or versions != list(range(versions[0], versions[0] + len(versions)))
        ):
            raise DuplicateEventError(
                self._name,
                f"case {case_id}: event ids of this append are already stored with other content; "
                "nothing was written",
            )
        return AppendResult(
            case_id=case_id,
            version=versions[-1],
            positions=tuple(f[1] for f, _ in found if f is not None),
            repeated=True,
        )

    def _chain(self, conn: psycopg.Connection[Any], entry: AuditEntry) -> AuditRecord:
        """Link ``entry`` to its case's chain; the caller holds the case's row lock."""
        last = conn.execute(
            "SELECT seq, hash FROM audit WHERE case_id = %s ORDER BY seq DESC LIMIT 1", (entry.case_id,)
        ).fetchone()
        seq, prev = (int(last[0]) + 1, str(last[1])) if last else (1, GENESIS_HASH)
        content = entry.canonical()
        digest = seal(prev, content)
        audit_id = conn.execute(
            "INSERT INTO audit (case_id, seq, content, prev_hash, hash) VALUES (%s, %s, %s, %s, %s)"
            " RETURNING id",
            (entry.case_id, seq, content.decode("utf-8"), prev, digest),
        ).fetchone()
        refs = entry.sent_refs()
        if refs and audit_id is not None:
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO disclosed (resource, audit_id, case_id) VALUES (%s, %s, %s)",
                    [(ref, audit_id[0], entry.case_id) for ref in refs],
                )
        return AuditRecord(entry=entry, seq=seq, prev_hash=prev, hash=digest, content=content)

    def read_case(self, case_id: str) -> tuple[int, tuple[StoredEvent, ...]]:
        with self._read() as conn:
            version = conn.execute("SELECT version FROM cases WHERE case_id = %s", (case_id,)).fetchone()
            rows = conn.execute(
                "SELECT case_id, version, position, event_id, type, data FROM events"
                " WHERE case_id = %s ORDER BY version",
                (case_id,),
            ).fetchall()
        return (int(version[0]) if version else 0), tuple(stored_event(r) for r in rows)

    def cases(self) -> tuple[CaseInfo, ...]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT case_id, version, destroyed FROM cases WHERE version > 0 OR destroyed"
                ' ORDER BY case_id COLLATE "C"'
            ).fetchall()
        return tuple(CaseInfo(case_id=str(r[0]), version=int(r[1]), destroyed=bool(r[2])) for r in rows)

    def events_after(self, position: int, limit: int) -> tuple[StoredEvent, ...]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT case_id, version, position, event_id, type, data FROM events"
                " WHERE position > %s ORDER BY position LIMIT %s",
                (position, limit),
            ).fetchall()
        return tuple(stored_event(r) for r in rows)

    def audit(self, case_id: str | None = None) -> tuple[AuditRecord, ...]:
        query = "SELECT content, seq, prev_hash, hash FROM audit"
        with self._read() as conn:
            if case_id is None:
                rows = conn.execute(query + ' ORDER BY case_id COLLATE "C", seq').fetchall()
            else:
                rows = conn.execute(query + " WHERE case_id = %s ORDER BY seq", (case_id,)).fetchall()
        return self._records(rows)

    def received(self, resource: str) -> tuple[AuditRecord, ...]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT a.content, a.seq, a.prev_hash, a.hash"
                " FROM disclosed d JOIN audit a ON a.id = d.audit_id"
                ' WHERE d.resource = %s ORDER BY a.case_id COLLATE "C", a.seq',
                (resource,),
            ).fetchall()
        return self._records(rows)

    def _records(self, rows: Sequence[Sequence[object]]) -> tuple[AuditRecord, ...]:
        return audit_records(rows, self._fail)

    def add_audit(self, entry: AuditEntry) -> AuditRecord:
        with self._write() as conn:
            row = conn.execute(
                "SELECT destroyed FROM cases WHERE case_id = %s AND version > 0 FOR UPDATE", (entry.case_id,)
            ).fetchone()
            if row is None:
                raise self._fail(f"case {entry.case_id} is not in the store")
            return self._chain(conn, entry)

    def destroy(self, case_id: str, entry: AuditEntry) -> AuditRecord:
        with self._write() as conn:
            row = conn.execute(
                "SELECT destroyed FROM cases WHERE case_id = %s AND version > 0 FOR UPDATE", (case_id,)
            ).fetchone()
            if row is None:
                raise self._fail(f"case {case_id} is not in the store")
            if row[0]:
                raise self._fail(f"case {case_id} was already destroyed")
            conn.execute("DELETE FROM events WHERE case_id = %s", (case_id,))
            conn.execute("DELETE FROM disclosed WHERE case_id = %s", (case_id,))
            conn.execute("UPDATE cases SET destroyed = true WHERE case_id = %s", (case_id,))
            record = self._chain(conn, entry)
        self._scrub()
        return record

    def _scrub(self) -> None:
        """Remove the deleted rows' dead versions from the tables (``VACUUM``, outside a transaction).

        What this does and does not reach is in ``docs/store.md`` (PostgreSQL, Erasure)."""
        try:
            self._conn.execute("VACUUM (ANALYZE) events, cases")
        except psycopg.Error as error:
            raise self._fail(
                "the case's events are deleted, but the tables could not be vacuumed "
                f"({self._describe(error)}); their dead row versions remain until the next (auto)vacuum"
            ) from None

    def close(self) -> None:
        self._conn.close()


class _Repeated(Exception):  # a control-flow signal, not an error
    """Leaves the write transaction (rolled back: nothing was written) with the stored result."""

    def __init__(self, result: AppendResult) -> None:
        super().__init__()
        self.result = result


def _password(url: str) -> str:
    """The password in ``url`` (user info or a ``password=`` parameter), to keep out of messages."""
    try:
        parts = urlsplit(url)
        secret = parts.password or ""
    except ValueError:
        return ""
    for key, value in parse_qsl(parts.query):
        if key == "password" and value:
            secret = value
    return unquote(secret)
