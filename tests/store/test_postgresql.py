"""What only the PostgreSQL store has: its URL, the server, its schema, commit order across
connections, what destroy erases. The promises common to all backends are in ``test_contract.py``."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from ketenzorg.errors import StoreError
from ketenzorg.events import IncidentReported, IncidentSeverity
from ketenzorg.store import AuditEntry, CaseStore, EventRow, event_bytes
from ketenzorg.store.postgresql import PostgreSQLBackend, redact
from ketenzorg.testing import day, engine_with, new_case

sys.path.insert(0, str(Path(__file__).parent))
from store_workers import ACTOR, clock

from services import PostgresqlSchema, url_with_search_path

MARKER = "MARKER-Pg4-synthetic-address-Dorpsstraat-12"
WAIT = 20.0


@pytest.fixture
def open_store(postgresql_schema: PostgresqlSchema) -> Iterator[Callable[[], CaseStore]]:
    opened: list[CaseStore] = []

    def make() -> CaseStore:
        store = CaseStore.open(postgresql_schema.url, engine=engine_with(clock=clock))
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def incident(n: int, description: str = "") -> IncidentReported:
    return IncidentReported(
        at=day(1 + n / 100), severity=IncidentSeverity.MINOR, acute=False, description=description
    )


def tables(url: str) -> set[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").fetchall()
    return {str(r[0]) for r in rows}


def password_of(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).password or ""


# --- naming the store, refusing what is not one ---------------------------------------------------


def test_the_name_never_holds_a_password() -> None:
    assert redact("postgresql://u:s3cret@db.example:5433/cases?sslmode=require&password=x") == (
        "postgresql://u@db.example:5433/cases"
    )
    assert redact("postgresql://[::1]:5432/cases") == "postgresql://[::1]:5432/cases"
    assert "s3cret" not in redact("postgresql://u:s3cret@[bad/cases")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed again: nothing listens there


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("postgresql://ketenzorg:S3cret-pw@127.0.0.1:{port}/ketenzorg_test", "cannot be reached"),
        ("postgresql://ketenzorg:S3cret-pw@[127.0.0.1/ketenzorg_test", "not a usable PostgreSQL URL"),
        (
            "postgresql://ketenzorg@127.0.0.1:{port}/db?password=S3cret-pw&connect_timeout=2",
            "cannot be reached",
        ),
    ],
)
def test_a_server_that_is_down_or_a_wrong_url_is_a_clear_error(url: str, said: str) -> None:
    url = url.format(port=closed_port())
    with pytest.raises(StoreError, match=said) as caught:
        CaseStore.open(url, engine=engine_with(clock=clock))
    message = str(caught.value)
    assert "S3cret-pw" not in message
    assert caught.value.store.startswith("postgresql://")
    assert "S3cret-pw" not in caught.value.store


def test_bad_credentials_are_a_clear_error_without_the_password(postgresql_schema: PostgresqlSchema) -> None:
    real = password_of(postgresql_schema.url)
    wrong = postgresql_schema.url.replace(f":{real}@", ":Wr0ng-pw@", 1)
    with pytest.raises(StoreError, match="authentication failed") as caught:
        CaseStore.open(wrong, engine=engine_with(clock=clock))
    assert caught.value.store == redact(postgresql_schema.url)
    assert "Wr0ng-pw" not in str(caught.value)
    assert real not in str(caught.value)
    assert tables(postgresql_schema.url) == set()  # nothing was changed


def test_a_schema_of_another_application_is_refused(postgresql_schema: PostgresqlSchema) -> None:
    with psycopg.connect(postgresql_schema.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE patients (name text)")
    with pytest.raises(StoreError, match="another application") as caught:
        CaseStore.open(postgresql_schema.url, engine=engine_with(clock=clock))
    assert caught.value.store == redact(postgresql_schema.url)
    assert tables(postgresql_schema.url) == {"patients"}


def test_a_store_of_a_newer_schema_is_refused(
    open_store: Callable[[], CaseStore], postgresql_schema: PostgresqlSchema
) -> None:
    open_store().close()
    with psycopg.connect(postgresql_schema.url, autocommit=True) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="newer"):
        open_store()


def test_a_search_path_without_a_schema_is_refused(postgresql_schema: PostgresqlSchema) -> None:
    url = url_with_search_path(postgresql_schema.server_url, "ktz_test_no_such_schema")
    with pytest.raises(StoreError, match="no schema"):
        CaseStore.open(url, engine=engine_with(clock=clock))


def test_two_processes_opening_a_new_store_at_once_create_it_once(
    postgresql_schema: PostgresqlSchema,
) -> None:
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            PostgreSQLBackend(postgresql_schema.url).close()
        except BaseException as error:  # collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert errors == []
    assert tables(postgresql_schema.url) == {
        "meta",
        "cases",
        "events",
        "audit",
        "position_counter",
        "disclosed",
    }


# --- locks ------------------------------------------------------------------------------------------


def test_a_writer_held_up_by_a_lock_gives_up_with_a_clear_error(
    open_store: Callable[[], CaseStore], postgresql_schema: PostgresqlSchema
) -> None:
    store = open_store()
    store.create(new_case(case_id="c1"), actor=ACTOR, command="test")
    impatient = CaseStore(
        PostgreSQLBackend(postgresql_schema.url, lock_timeout=0.2), engine_with(clock=clock)
    )
    with psycopg.connect(postgresql_schema.url) as holder:
        holder.execute("SELECT * FROM cases WHERE case_id = 'c1' FOR UPDATE")
        try:
            with pytest.raises(StoreError, match="busy") as caught:
                impatient.append("c1", [incident(1)], expected_version=1, actor=ACTOR, command="t")
        finally:
            holder.rollback()
            impatient.close()
    assert caught.value.store == redact(postgresql_schema.url)
    assert store.load("c1").version == 1


def _wait_for_lock(observer: psycopg.Connection[Any], pid: int) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        row = observer.execute(
            "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
        ).fetchone()
        if row is not None and row[0] in ("Lock", "Advisory"):
            return
        time.sleep(0.01)
    pytest.fail(f"backend {pid} never waited for a lock")


def test_a_reader_following_positions_never_skips_an_event_committed_later(
    open_store: Callable[[], CaseStore], postgresql_schema: PostgresqlSchema
) -> None:
    """Writer A takes its position, then is held up before its commit (a trigger waits on a gate);
    writer B, started after it, must not commit a higher position first: a reader in between would
    see B's and then never A's. B waits for A (the position counter's row lock) instead."""
    store = open_store()
    store.create(new_case(case_id="slow"), actor=ACTOR, command="test")
    store.create(new_case(case_id="fast"), actor=ACTOR, command="test")
    with psycopg.connect(postgresql_schema.url, autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION gate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " PERFORM pg_advisory_lock_shared(4242); PERFORM pg_advisory_unlock_shared(4242);"
            " RETURN NEW; END $$"
        )
        conn.execute(
            "CREATE TRIGGER gate AFTER INSERT ON events FOR EACH ROW"
            " WHEN (NEW.case_id = 'slow') EXECUTE FUNCTION gate()"
        )
    a, b, reader = open_store(), open_store(), open_store()
    seen = list(reader.events_after(0))
    assert [e.position for e in seen] == [1, 2]
    done: dict[str, Any] = {}

    def write(name: str, store: CaseStore) -> None:
        try:
            done[name] = store.append(name, [incident(5)], expected_version=1, actor=ACTOR, command="t")
        except BaseException as error:  # reported by the assertions below
            done[name] = error

    pid = {"slow": a.backend._conn.info.backend_pid, "fast": b.backend._conn.info.backend_pid}  # type: ignore[attr-defined]
    with psycopg.connect(postgresql_schema.server_url, autocommit=True) as gate:
        gate.execute("SELECT pg_advisory_lock(4242)")
        slow = threading.Thread(target=write, args=("slow", a))
        slow.start()
        _wait_for_lock(gate, pid["slow"])  # A holds position 3, uncommitted
        fast = threading.Thread(target=write, args=("fast", b))
        fast.start()
        _wait_for_lock(gate, pid["fast"])  # B waits for A
        seen += reader.events_after(seen[-1].position)
        assert [e.position for e in seen] == [1, 2]  # neither committed: nothing to skip yet
        assert done == {}
        gate.execute("SELECT pg_advisory_unlock(4242)")
        slow.join(WAIT)
        fast.join(WAIT)
    assert done["slow"].positions == (3,)
    assert done["fast"].positions == (4,)
    seen += reader.events_after(seen[-1].position)
    assert [(e.position, e.case_id) for e in seen[2:]] == [(3, "slow"), (4, "fast")]


# --- erasure ----------------------------------------------------------------------------------------


def test_destroy_deletes_the_rows_and_vacuums_the_tables(
    open_store: Callable[[], CaseStore], postgresql_schema: PostgresqlSchema
) -> None:
    """What can be tested as a role without superuser rights: the rows are gone from every table,
    the tables were vacuumed after the delete and hold no dead row versions. The table files
    themselves cannot be read by such a role (``docs/store.md``, PostgreSQL erasure)."""
    store = open_store()
    store.create(new_case(case_id="c-secret"), actor=ACTOR, command="test")
    store.append("c-secret", [incident(1, MARKER)], expected_version=1, actor=ACTOR, command="t")
    store.create(new_case(case_id="c-other"), actor=ACTOR, command="test")

    def everything() -> str:
        with psycopg.connect(postgresql_schema.url, autocommit=True) as conn:
            texts = []
            for table in sorted(tables(postgresql_schema.url)):
                query = sql.SQL("SELECT t::text FROM {} AS t").format(sql.Identifier(table))
                texts += [str(r[0]) for r in conn.execute(query)]
        return "\n".join(texts)

    def with_marker() -> int:
        with psycopg.connect(postgresql_schema.url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM events WHERE position(%s IN convert_from(data, 'UTF8')) > 0", (MARKER,)
            ).fetchone()
        assert row is not None
        return int(row[0])

    assert with_marker() == 1  # the check below can fail
    store.destroy("c-secret", reason="court order", actor=ACTOR)
    assert with_marker() == 0
    assert MARKER not in everything()
    with psycopg.connect(postgresql_schema.url, autocommit=True) as conn:
        stats = conn.execute(
            "SELECT relname, n_dead_tup, vacuum_count FROM pg_stat_user_tables"
            " WHERE schemaname = current_schema() AND relname IN ('events', 'cases') ORDER BY relname"
        ).fetchall()
        left = conn.execute("SELECT count(*) FROM events WHERE case_id = 'c-secret'").fetchone()
    assert [(name, dead) for name, dead, _ in stats] == [("cases", 0), ("events", 0)]
    assert all(count >= 1 for _, _, count in stats)
    assert left == (0,)
    assert [r.entry.action for r in store.audit("c-secret")] == ["append", "append", "destroy"]
    assert store.verify() == ()
    with pytest.raises(StoreError, match="destroyed"):
        open_store().load("c-secret")
    assert open_store().load("c-other").version == 1


def test_the_backend_alone_keeps_its_promises(postgresql_schema: PostgresqlSchema) -> None:
    """Appending without the facade: empty appends and appends to a destroyed case are refused."""
    backend = PostgreSQLBackend(postgresql_schema.url)
    try:
        event = incident(1)
        row = EventRow(event_id=event.id, type=event.type, data=event_bytes(event))
        entry = AuditEntry.make("append", "c1", "2027-01-01T00:00:00+00:00", ACTOR, "t")
        with pytest.raises(StoreError, match="at least one event"):
            backend.append("c1", 0, [], entry)
        assert backend.append("c1", 0, [row], entry).positions == (1,)
        backend.destroy("c1", AuditEntry.make("destroy", "c1", "2027-01-01T00:00:00+00:00", ACTOR, "t"))
        other = incident(2)
        with pytest.raises(StoreError, match="destroyed"):
            backend.append("c1", 1, [EventRow(event_id=other.id, type=other.type, data=b"{}")], entry)
        with pytest.raises(StoreError, match="not in the store"):
            backend.add_audit(AuditEntry.make("disclosure", "nope", "2027-01-01T00:00:00+00:00", ACTOR, "t"))
    finally:
        backend.close()
