"""The PostgreSQL test server and the primitives the PostgreSQL store is built on.

The server (``KETENZORG_TEST_POSTGRESQL``; CI starts one with ``.ci/postgresql``) is on loopback, runs as
a non-root user and is reached through psycopg 3 as a role without superuser rights; each test gets a
schema of its own. Two writers appending the same version of a case: the second waits for the first,
then gets a unique violation (READ COMMITTED) or a serialization failure (SERIALIZABLE), and nothing
of its transaction is written; a lock on the case's head row (``SELECT ... FOR UPDATE``) orders them.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from psycopg import errors

from services import PostgresqlSchema, isolated_schema, url_with_search_path

LOCK_WAIT = 20.0
"""Seconds a blocked writer may wait before the test fails instead of hanging."""


def _is_loopback(address: str) -> bool:
    return address == "localhost" or ipaddress.ip_address(address).is_loopback


def _wait_until_waiting_for_a_lock(observer: psycopg.Connection[tuple[object, ...]], pid: int) -> None:
    """Return once the backend ``pid`` waits on a lock (the other writer's); fail after LOCK_WAIT."""
    deadline = time.monotonic() + LOCK_WAIT
    while time.monotonic() < deadline:
        query = "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s"
        row = observer.execute(query, (pid,)).fetchone()
        if row is not None and row[0] == "Lock":
            return
        time.sleep(0.01)
    pytest.fail(f"backend {pid} never waited for the other writer's lock")


def _race(
    url: str,
    first: Callable[[psycopg.Connection[tuple[object, ...]]], object],
    second: Callable[[psycopg.Connection[tuple[object, ...]]], object],
    isolation: psycopg.IsolationLevel = psycopg.IsolationLevel.READ_COMMITTED,
) -> tuple[object, BaseException | None]:
    """Run ``first`` in an open transaction, then ``second`` on another connection until it blocks,
    commit the first, and return what ``second`` returned and what it raised (its transaction is then
    committed, or rolled back if it raised)."""
    with (
        psycopg.connect(url) as one,
        psycopg.connect(url) as two,
        psycopg.connect(url, autocommit=True) as observer,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        for conn in (one, two):
            conn.isolation_level = isolation
            conn.execute(f"SET lock_timeout = '{int(LOCK_WAIT * 2)}s'")
            conn.commit()
        first(one)

        def run_second() -> object:
            with two.transaction():
                return second(two)

        pending = pool.submit(run_second)
        _wait_until_waiting_for_a_lock(observer, two.info.backend_pid)
        one.commit()
        error = pending.exception(timeout=LOCK_WAIT)
        return (None if error else pending.result()), error


def _events_table(schema: PostgresqlSchema) -> None:
    with psycopg.connect(schema.url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE events (case_id text NOT NULL, version integer NOT NULL,"
            " PRIMARY KEY (case_id, version))"
        )


def test_the_server_is_reached_through_psycopg_on_loopback(postgresql_url: str) -> None:
    with psycopg.connect(postgresql_url) as conn:
        server, listening = conn.execute(
            "SELECT host(inet_server_addr()), current_setting('listen_addresses')"
        ).fetchone() or (None, None)
    assert isinstance(server, str)
    assert _is_loopback(server)
    assert isinstance(listening, str)
    addresses = [a.strip() for a in listening.split(",")]
    assert addresses
    assert all(_is_loopback(a) for a in addresses), "the test server listens beyond loopback"


def test_the_server_runs_as_a_non_root_user_and_the_test_role_is_no_superuser(postgresql_url: str) -> None:
    with psycopg.connect(postgresql_url) as conn:
        pid, superuser = conn.execute(
            "SELECT pg_backend_pid(), rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone() or (None, None)
        assert isinstance(pid, int)
        # The server is on this machine (loopback, tested above): its process serving us is in /proc.
        if not Path("/proc/self").is_dir():
            pytest.skip("no /proc on this system to find the server process's owner")
        owner = Path(f"/proc/{pid}").stat().st_uid
    assert owner != 0, "the PostgreSQL server runs as root"
    assert superuser is False


def test_each_test_gets_a_fresh_schema_of_its_own(postgresql_schema: PostgresqlSchema) -> None:
    with isolated_schema(postgresql_schema.server_url) as other:
        assert other.name != postgresql_schema.name
        for schema in (postgresql_schema, other):
            with psycopg.connect(schema.url, autocommit=True) as conn:
                assert conn.execute("SELECT current_schema()").fetchone() == (schema.name,)
                # fresh: nothing in it yet
                assert conn.execute(
                    "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
                ).fetchone() == (0,)
                conn.execute("CREATE TABLE events (case_id text, version integer)")
        with psycopg.connect(postgresql_schema.url, autocommit=True) as conn:
            conn.execute("INSERT INTO events VALUES ('case-1', 1)")
        with psycopg.connect(other.url, autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM events").fetchone() == (0,)
    with psycopg.connect(postgresql_schema.url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (1,)
        gone = conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (other.name,)).fetchone()
    assert gone == (0,), "the schema was not dropped after use"


def test_the_schema_url_keeps_the_servers_other_parameters() -> None:
    url = url_with_search_path("postgresql://u:p@127.0.0.1:5432/db?sslmode=disable&options=-c%20x%3D1", "s")
    assert url == "postgresql://u:p@127.0.0.1:5432/db?sslmode=disable&options=-c%20search_path%3Ds"


def test_a_second_writer_of_the_same_version_gets_a_unique_violation_and_writes_nothing(
    postgresql_schema: PostgresqlSchema,
) -> None:
    _events_table(postgresql_schema)

    def second(conn: psycopg.Connection[tuple[object, ...]]) -> object:
        conn.execute("INSERT INTO events VALUES ('case-2', 1)")  # an append of two events: all or nothing
        return conn.execute("INSERT INTO events VALUES ('case-1', 1)")

    _, error = _race(
        postgresql_schema.url, lambda conn: conn.execute("INSERT INTO events VALUES ('case-1', 1)"), second
    )
    assert isinstance(error, errors.UniqueViolation)
    with psycopg.connect(postgresql_schema.url) as conn:
        assert conn.execute("SELECT case_id, version FROM events").fetchall() == [("case-1", 1)]


def test_serializable_reports_the_same_race_as_a_serialization_failure(
    postgresql_schema: PostgresqlSchema,
) -> None:
    """Under SERIALIZABLE a writer that read the head before inserting gets 40001, not 23505."""
    _events_table(postgresql_schema)
    head = "SELECT coalesce(max(version), 0) FROM events WHERE case_id = 'case-1'"

    def append(conn: psycopg.Connection[tuple[object, ...]]) -> object:
        assert conn.execute(head).fetchone() == (0,)
        return conn.execute("INSERT INTO events VALUES ('case-1', 1)")

    _, error = _race(postgresql_schema.url, append, append, isolation=psycopg.IsolationLevel.SERIALIZABLE)
    assert isinstance(error, errors.SerializationFailure)
    assert error.sqlstate == "40001"
    with psycopg.connect(postgresql_schema.url) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (1,)


def test_a_lock_on_the_case_head_makes_the_second_writer_see_the_first_writers_version(
    postgresql_schema: PostgresqlSchema,
) -> None:
    with psycopg.connect(postgresql_schema.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE cases (case_id text PRIMARY KEY, version integer NOT NULL)")
        conn.execute("INSERT INTO cases VALUES ('case-1', 0)")
    lock = "SELECT version FROM cases WHERE case_id = 'case-1' FOR UPDATE"

    def first(conn: psycopg.Connection[tuple[object, ...]]) -> object:
        assert conn.execute(lock).fetchone() == (0,)
        return conn.execute("UPDATE cases SET version = 1 WHERE case_id = 'case-1'")

    seen, error = _race(postgresql_schema.url, first, lambda conn: conn.execute(lock).fetchone())
    assert error is None
    assert seen == (1,), "the second writer must see the version the first committed (its view is stale)"


@pytest.mark.parametrize(("ci", "outcome"), [("true", "1 error"), ("", "1 skipped")])
def test_without_a_server_url_the_tests_skip_outside_ci_and_fail_in_ci(
    repo: Path, ci: str, outcome: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "KETENZORG_TEST_POSTGRESQL")}
    env["CI"] = ci
    test = f"{Path(__file__).relative_to(repo)}::test_the_server_is_reached_through_psycopg_on_loopback"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert outcome in result.stdout.splitlines()[-1]
    assert result.returncode == (1 if ci else 0)
    assert "KETENZORG_TEST_POSTGRESQL" in result.stdout
