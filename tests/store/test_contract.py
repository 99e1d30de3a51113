"""The promises of a case store, on every backend (``BACKENDS``; each a location fixture)."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest

from ketenzorg import Case, Engine
from ketenzorg.disclosure import Disclosure, Recipient, disclose
from ketenzorg.domain import Phase
from ketenzorg.errors import (
    DuplicateEventError,
    InvalidEventError,
    StoreError,
    TransitionBlockedError,
    VersionConflictError,
)
from ketenzorg.events import IncidentReported, IncidentSeverity, PhaseChanged, TransitionKind
from ketenzorg.store import AuditEntry, CaseStore
from ketenzorg.testing import case_in_phase_2, day, engine_with, new_case, opened

sys.path.insert(0, str(Path(__file__).parent))
from store_workers import ACTOR, clock, writer

from services import PostgresqlSchema

BACKENDS = ["sqlite", "postgresql"]
MARKER = "MARKER-Zq7-synthetic-address-Kerkstraat-99"


def store_engine() -> Engine:
    return engine_with(clock=clock)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def location(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh, empty store of the backend under test: a file, or a schema of its own on the test
    server (``postgresql_schema``: skipped without a server outside CI, failed in CI)."""
    if backend == "postgresql":
        schema: PostgresqlSchema = request.getfixturevalue("postgresql_schema")
        return schema.url
    return str(tmp_path / "ketenzorg.db")


def raw_execute(backend: str, location: str, statement: str) -> None:
    """Run ``statement`` on the store behind its back (its own driver, not the store's code)."""
    if backend == "postgresql":
        import psycopg

        with psycopg.connect(location, autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]  # a test's fixed text
        return
    with sqlite3.connect(location) as raw:
        raw.execute(statement)
    raw.close()


SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
"""What only a file has (its bytes, its mode, another process's file lock); PostgreSQL's own
equivalents are in ``test_postgresql.py``."""


@pytest.fixture
def open_store(location: str) -> Iterator[Callable[[], CaseStore]]:
    """Opens a new store object on the location: a fresh cache, as another process has."""
    opened: list[CaseStore] = []

    def make() -> CaseStore:
        store = CaseStore.open(location, engine=store_engine())
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def incident(n: int = 0, description: str = "") -> IncidentReported:
    return IncidentReported(
        at=day(1 + n / 100), severity=IncidentSeverity.MINOR, acute=False, description=description
    )


def snapshot(store: CaseStore) -> tuple[object, ...]:
    return (store.cases(), store.events_after(0, 10_000), store.audit())


# --- round trip, versions, all or nothing ---------------------------------------------------------


def test_round_trip_equals_the_engines_case(open_store: Callable[[], CaseStore]) -> None:
    engine = store_engine()
    case = case_in_phase_2(engine)
    store = open_store()
    result = store.create(case, actor=ACTOR, command="test")
    assert result.version == len(case.events)
    loaded = open_store().load(case.case_id)  # another store object: replayed, not cached
    assert loaded.case == case
    assert loaded.version == len(case.events)
    assert loaded.case.unchecked_transitions == ()
    assert engine.evaluate(loaded.case) == engine.evaluate(case)
    later = engine.record(loaded.case, incident(300))
    store.append(case.case_id, later.events[-1:], expected_version=loaded.version, actor=ACTOR, command="t")
    assert open_store().load(case.case_id).case == later


def test_stale_version_conflicts_and_writes_nothing(open_store: Callable[[], CaseStore]) -> None:
    store = open_store()
    store.create(new_case(case_id="c1"), actor=ACTOR, command="test")
    store.append("c1", [incident(1)], expected_version=1, actor=ACTOR, command="t")
    before = snapshot(store)
    with pytest.raises(VersionConflictError) as caught:
        store.append("c1", [incident(2)], expected_version=1, actor=ACTOR, command="t")
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    assert str(caught.value).startswith(store.name)
    assert snapshot(store) == before
    other = Case.open(attrs.evolve(opened(), id="opened-2"), case_id="c1")
    with pytest.raises(VersionConflictError):  # a new case over an existing one
        store.create(other, actor=ACTOR, command="test")
    assert snapshot(store) == before


def test_backend_refuses_a_stale_version_itself(open_store: Callable[[], CaseStore]) -> None:
    """The check holds inside the backend's transaction too (a writer that passed the facade's check
    before another committed)."""
    store = open_store()
    store.create(new_case(case_id="c1"), actor=ACTOR, command="test")
    other = open_store()
    loaded = other.load("c1")
    store.append("c1", [incident(1)], expected_version=1, actor=ACTOR, command="t")
    from ketenzorg.store import AuditEntry, EventRow, event_bytes

    event = incident(2)
    row = EventRow(event_id=event.id, type=event.type, data=event_bytes(event))
    entry = AuditEntry.make("append", "c1", "2027-01-01T00:00:00+00:00", ACTOR, "t")
    before = snapshot(store)
    with pytest.raises(VersionConflictError):
        other.backend.append("c1", loaded.version, [row], entry)
    assert snapshot(store) == before


def test_blocked_transition_in_a_batch_stores_nothing(open_store: Callable[[], CaseStore]) -> None:
    store = open_store()
    store.create(new_case(case_id="c1"), actor=ACTOR, command="test")
    before = snapshot(store)
    forged = PhaseChanged(
        at=day(3),
        from_phase=Phase.IMMEDIATE_SAFETY,
        to_phase=Phase.RISK_DRIVEN_CARE,
        kind=TransitionKind.ADVANCE,
    )
    with pytest.raises(TransitionBlockedError) as caught:
        store.append("c1", [incident(1), forged, incident(4)], expected_version=1, actor=ACTOR, command="t")
    assert caught.value.event_id == forged.id
    assert snapshot(store) == before
    assert open_store().load("c1").version == 1


def test_an_event_that_does_not_fit_stores_nothing(open_store: Callable[[], CaseStore]) -> None:
    from ketenzorg.errors import InvalidEventError

    store = open_store()
    store.create(new_case(case_id="c1"), actor=ACTOR, command="test")
    before = snapshot(store)
    future = IncidentReported(at=day(900), severity=IncidentSeverity.MINOR, acute=False)
    with pytest.raises(InvalidEventError, match=r"events\[2\]\.at"):
        store.append("c1", [incident(1), future], expected_version=1, actor=ACTOR, command="t")
    assert snapshot(store) == before


def test_resending_an_append_is_idempotent(open_store: Callable[[], CaseStore]) -> None:
    store = open_store()
    store.create(new_case(case_id="c1"), actor=ACTOR, command="test")
    batch = [incident(1), incident(2)]
    first = store.append("c1", batch, expected_version=1, actor=ACTOR, command="t")
    before = snapshot(store)
    again = open_store().append("c1", batch, expected_version=1, actor=ACTOR, command="t")
    assert again.repeated
    assert (again.version, again.positions) == (first.version, first.positions)
    assert snapshot(store) == before
    changed = [batch[0], attrs.evolve(batch[1], description="other")]
    with pytest.raises(DuplicateEventError):
        store.append("c1", changed, expected_version=3, actor=ACTOR, command="t")
    with pytest.raises(DuplicateEventError):  # part of it stored before
        store.append("c1", [batch[1], incident(3)], expected_version=3, actor=ACTOR, command="t")
    assert snapshot(store) == before


def test_global_positions_follow_commit_order_without_gaps(open_store: Callable[[], CaseStore]) -> None:
    store = open_store()
    committed: list[str] = []
    for name in ("a", "b", "c"):
        case = new_case(case_id=name)
        store.create(case, actor=ACTOR, command="test")
        committed.append(f"{name}:{case.events[0].id}")
    for n in range(6):
        name = "abc"[n % 3]
        event = incident(n)
        store.append(name, [event], expected_version=1 + n // 3, actor=ACTOR, command="t")
        committed.append(f"{name}:{event.id}")
    seen = store.events_after(0, 4) + store.events_after(4, 100)
    assert [e.position for e in seen] == list(range(1, len(committed) + 1))
    assert [f"{e.case_id}:{e.event_id}" for e in seen] == committed


# --- audit -----------------------------------------------------------------------------------------


def disclosed(case: Case, kind: str = "police", data: bytes = b"the bytes") -> Disclosure:
    """A disclosure of ``case`` to a recipient of ``kind``, as written (with the hash of ``data``)."""
    recipient = Recipient(kind, organisation_system="urn:oid:2.16.528.1.1007.3.3", organisation_value=kind)
    record = disclose(case, engine=store_engine(), recipient=recipient).record
    return record.written(data, format="json")


def test_audit_records_who_for_whom_when_and_how(open_store: Callable[[], CaseStore]) -> None:
    store = open_store()
    case = new_case(case_id="c1")
    store.create(case, actor=ACTOR, command="store open")
    store.record_disclosure(disclosed(case), actor=ACTOR, command="export")
    first, second = store.audit("c1")
    assert (first.entry.user, first.entry.role, first.entry.organisation) == ("user-1", "practitioner", "org")
    assert first.entry.on_behalf_of == "lead-1"
    assert first.entry.at == clock().isoformat()
    assert (first.entry.command, first.entry.event_ids) == ("store open", (case.events[0].id,))
    assert (second.entry.action, second.entry.recipient, second.entry.purpose) == (
        "disclosure",
        "police:urn:oid:2.16.528.1.1007.3.3|police",
        "THREAT",
    )
    assert second.prev_hash == first.hash
    assert store.verify() == ()


def test_a_disclosure_keeps_its_full_record_in_the_chain(open_store: Callable[[], CaseStore]) -> None:
    store = open_store()
    case = case_in_phase_2(store_engine())
    store.create(case, actor=ACTOR, command="store open")
    record = disclosed(case, "school", b"exact bytes")
    store.record_disclosure(record, actor=ACTOR, command="store export")
    (audit,) = open_store().disclosures(case.case_id)
    full = audit.entry.disclosure
    assert full is not None
    assert full["recipient"] == {
        "kind": "school",
        "organisation_system": "urn:oid:2.16.528.1.1007.3.3",
        "organisation_value": "school",
    }
    assert (full["user"], full["responsible_user"]) == ("user-1", "lead-1")  # from the actor
    assert (full["purpose"], full["profile"], full["format"]) == (
        "COC",
        {"id": "school", "version": "1"},
        "json",
    )
    assert full["sha256"] == hashlib.sha256(b"exact bytes").hexdigest()
    assert full["sent"]
    assert full["sent"] == [[s.type, s.id, s.version] for s in record.sent]
    assert Disclosure.from_mapping(full).sent == record.sent
    assert b'"disclosure":{' in audit.content  # inside what the chain's hash covers
    assert store.verify() == ()


def test_a_disclosure_without_the_hash_of_its_bytes_is_refused(open_store: Callable[[], CaseStore]) -> None:
    store = open_store()
    case = new_case(case_id="c1")
    store.create(case, actor=ACTOR, command="store open")
    unwritten = disclose(case, engine=store_engine(), recipient=Recipient("police")).record
    with pytest.raises(InvalidEventError, match="hash"):
        store.record_disclosure(unwritten, actor=ACTOR, command="export")
    assert [r.entry.action for r in store.audit("c1")] == ["append"]


def test_chains_written_before_the_full_record_still_verify(open_store: Callable[[], CaseStore]) -> None:
    store = open_store()
    case = new_case(case_id="c1")
    store.create(case, actor=ACTOR, command="store open")
    old = AuditEntry.make(
        "disclosure", "c1", clock().isoformat(), ACTOR, "store export", recipient="org-police", purpose="x"
    )
    assert b'"disclosure":' not in old.canonical()  # such an entry's bytes are as they were before
    store.backend.add_audit(old)
    store.record_disclosure(disclosed(case), actor=ACTOR, command="store export")
    again = open_store()
    assert again.verify() == ()
    first, second = again.disclosures("c1")
    assert (first.entry.disclosure, first.entry.recipient) == (None, "org-police")
    assert second.entry.disclosure is not None
    assert first.entry.canonical() == first.content  # the old bytes read back as they were written


def refs(record: Disclosure) -> set[str]:
    return {f"{s.type}/{s.id}" for s in record.sent}


def test_received_finds_every_recipient_and_only_them(open_store: Callable[[], CaseStore]) -> None:
    store = open_store()
    case = case_in_phase_2(store_engine())
    store.create(case, actor=ACTOR, command="store open")
    records = [disclosed(case, kind) for kind in ("police", "school", "gp", "client")]
    for record in records:
        store.record_disclosure(record, actor=ACTOR, command="store export")
    every = set().union(*map(refs, records))
    assert refs(records[0]) - refs(records[1])  # the test can fail: some went to one of them only
    assert refs(records[0]) & refs(records[1])
    reader = open_store()
    for ref in sorted(every):
        found = reader.received(ref)
        kinds = [r.entry.disclosure["recipient"]["kind"] for r in found if r.entry.disclosure]
        assert kinds == [r.recipient.kind for r in records if ref in refs(r)], ref
        assert all(r.entry.action == "disclosure" and r.entry.case_id == case.case_id for r in found)
    assert store.received("Observation/not-sent") == ()
    with pytest.raises(InvalidEventError):
        store.received("not a reference")


def test_a_store_from_before_the_index_gets_it_when_opened(
    open_store: Callable[[], CaseStore], backend: str, location: str
) -> None:
    store = open_store()
    case = new_case(case_id="c1")
    store.create(case, actor=ACTOR, command="store open")
    store.close()
    raw_execute(backend, location, "DROP TABLE disclosed")  # a store of schema 1 as it was written before
    again = open_store()
    record = disclosed(case)
    again.record_disclosure(record, actor=ACTOR, command="store export")
    ref = f"{record.sent[0].type}/{record.sent[0].id}"
    assert [r.entry.case_id for r in again.received(ref)] == ["c1"]
    assert again.verify() == ()


def test_destroy_removes_the_case_from_who_received_what(open_store: Callable[[], CaseStore]) -> None:
    store = open_store()
    case, kept = case_in_phase_2(store_engine()), new_case(case_id="c-kept")
    store.create(case, actor=ACTOR, command="store open")
    store.create(kept, actor=ACTOR, command="store open")
    record = disclosed(case)
    store.record_disclosure(record, actor=ACTOR, command="store export")
    store.record_disclosure(disclosed(kept), actor=ACTOR, command="store export")
    ref = f"{record.sent[-1].type}/{record.sent[-1].id}"
    assert len(store.received(ref)) == 1
    kept_ref = f"{disclosed(kept).sent[0].type}/{disclosed(kept).sent[0].id}"
    store.destroy(case.case_id, reason="court order", actor=ACTOR)
    assert open_store().received(ref) == ()
    assert [r.entry.case_id for r in store.received(kept_ref)] == ["c-kept"]
    assert store.verify() == ()


@pytest.mark.parametrize("what", ["audit", "event"])
def test_verify_locates_a_tampered_record(
    open_store: Callable[[], CaseStore], backend: str, location: str, what: str
) -> None:
    store = open_store()
    store.create(new_case(case_id="c1"), actor=ACTOR, command="test")
    store.append("c1", [incident(1, "before")], expected_version=1, actor=ACTOR, command="t")
    store.create(new_case(case_id="c2"), actor=ACTOR, command="test")
    assert store.verify() == ()
    if what == "audit":
        statement = (
            "UPDATE audit SET content = replace(content, 'user-1', 'user-2') WHERE case_id = 'c1' AND seq = 2"
        )
    elif backend == "postgresql":
        statement = (
            "UPDATE events SET data = convert_to(replace(convert_from(data, 'UTF8'), 'before', 'after!'),"
            " 'UTF8') WHERE case_id = 'c1' AND version = 2"
        )
    else:
        statement = (
            "UPDATE events SET data = CAST(replace(CAST(data AS TEXT), 'before', 'after!') AS BLOB)"
            " WHERE case_id = 'c1' AND version = 2"
        )
    raw_execute(backend, location, statement)
    problems = open_store().verify()
    assert [p.path for p in problems] == ["cases[c1].audit[2]"]


def test_verify_replays_every_case(open_store: Callable[[], CaseStore], location: str) -> None:
    """A transition put in the store behind its back (audit and all) is found by the replay."""
    store = open_store()
    store.create(new_case(case_id="c1"), actor=ACTOR, command="test")
    forged = PhaseChanged(
        at=day(3),
        from_phase=Phase.IMMEDIATE_SAFETY,
        to_phase=Phase.RISK_DRIVEN_CARE,
        kind=TransitionKind.ADVANCE,
    )
    from ketenzorg.store import AuditEntry, EventRow, event_bytes

    row = EventRow(event_id=forged.id, type=forged.type, data=event_bytes(forged))
    entry = AuditEntry.make("append", "c1", "2027-01-01T00:00:00+00:00", ACTOR, "t")
    store.backend.append("c1", 1, [row], entry)  # the backend alone does not decide
    problems = open_store().verify()
    assert any(p.path == "cases[c1]" and "does not replay" in p.message for p in problems)
    with pytest.raises(StoreError, match="does not replay"):
        open_store().load("c1")


# --- erasure ---------------------------------------------------------------------------------------


def store_files(location: str) -> dict[str, bytes]:
    return {s: Path(location + s).read_bytes() for s in ("", "-wal", "-shm") if Path(location + s).exists()}


@SQLITE_ONLY
def test_destroy_leaves_no_trace_in_the_files(open_store: Callable[[], CaseStore], location: str) -> None:
    store = open_store()
    case = new_case(case_id="c-secret")
    store.create(case, actor=ACTOR, command="test")
    store.append("c-secret", [incident(1, MARKER)], expected_version=1, actor=ACTOR, command="t")
    store.create(new_case(case_id="c-other"), actor=ACTOR, command="test")
    store.append("c-other", [incident(1, "kept")], expected_version=1, actor=ACTOR, command="t")
    marker = MARKER.encode()
    assert any(marker in data for data in store_files(location).values())  # the scan can fail
    record = store.destroy("c-secret", reason="court order", actor=ACTOR)
    assert record.entry.action == "destroy"
    files = store_files(location)
    assert "-wal" in files or "" in files
    for suffix, data in files.items():
        assert marker not in data, suffix
        assert case.events[0].organisation.name.encode() not in data or suffix == ""  # shared by c-other
    with pytest.raises(StoreError, match="destroyed"):
        store.load("c-secret")
    with pytest.raises(StoreError, match="destroyed"):
        store.append("c-secret", [incident(2)], expected_version=2, actor=ACTOR, command="t")
    assert open_store().load("c-other").version == 2
    assert MARKER not in repr(store.audit("c-secret"))
    assert store.verify() == ()


@SQLITE_ONLY
def test_the_store_file_is_private(open_store: Callable[[], CaseStore], location: str) -> None:
    store = open_store()
    store.create(new_case(case_id="c1"), actor=ACTOR, command="test")
    for suffix in ("", "-wal", "-shm"):
        path = Path(location + suffix)
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, suffix


# --- refusals --------------------------------------------------------------------------------------


def _foreign(path: Path) -> None:
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE patients (name TEXT)")
    raw.close()


def _not_sqlite(path: Path) -> None:
    path.write_text("name;address\n")


def _newer(path: Path) -> None:
    CaseStore.open(path, engine=store_engine()).close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    raw.close()


def _corrupt(path: Path) -> None:
    CaseStore.open(path, engine=store_engine()).close()
    data = bytearray(path.read_bytes())
    data[100:] = b"\xa5" * (len(data) - 100)
    path.write_bytes(bytes(data))


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("make", "said"),
    [
        (_foreign, "another application"),
        (_not_sqlite, "not an SQLite database"),
        (_newer, "newer"),
        (_corrupt, "damaged"),
    ],
)
def test_a_file_that_is_no_store_is_refused(
    backend: str, tmp_path: Path, make: Callable[[Path], None], said: str
) -> None:
    path = tmp_path / "x.db"
    make(path)
    before = path.read_bytes()
    with pytest.raises(StoreError, match=said) as caught:
        CaseStore.open(path, engine=store_engine())
    assert caught.value.store == str(path)
    assert path.read_bytes() == before


@SQLITE_ONLY
def test_a_read_only_store_is_refused(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "x.db"
    CaseStore.open(path, engine=store_engine()).close()
    path.chmod(0o444)
    folder.chmod(0o555)
    if os.geteuid() == 0:  # root may write any file: make the system say what it says to a user
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: False if mode & os.W_OK else real(p, mode))
    try:
        with pytest.raises(StoreError, match="is read-only") as caught:
            CaseStore.open(path, engine=store_engine())
    finally:
        folder.chmod(0o755)
    assert caught.value.store == str(path)


@SQLITE_ONLY
def test_a_busy_store_gives_up_with_a_clear_error(open_store: Callable[[], CaseStore], location: str) -> None:
    store = open_store()
    store.create(new_case(case_id="c1"), actor=ACTOR, command="test")
    from ketenzorg.store.sqlite import SQLiteBackend

    impatient = CaseStore(SQLiteBackend(location, busy_timeout=0.05, retries=2), store_engine())
    holder = sqlite3.connect(location, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError, match="busy") as caught:
            impatient.append("c1", [incident(1)], expected_version=1, actor=ACTOR, command="t")
        assert caught.value.store == location
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        impatient.close()
    assert store.load("c1").version == 1


# --- concurrency -----------------------------------------------------------------------------------


def test_concurrent_writers_lose_nothing_and_stale_ones_conflict(
    open_store: Callable[[], CaseStore], location: str
) -> None:
    store = open_store()
    store.create(new_case(case_id="shared"), actor=ACTOR, command="test")
    writers, rounds = 3, 3
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Manager().Barrier(writers)
    with ctx.Pool(writers) as pool:
        results = pool.starmap(
            writer, [(location, "shared", f"own-{i}", rounds, barrier) for i in range(writers)]
        )
    acked = [event_id for r in results for event_id in r["acked"]]
    # Every round all writers read the same version: one wins, every other one is stale.
    assert len(acked) == rounds
    assert sum(r["conflicts"] for r in results) == rounds * (writers - 1)
    shared = open_store().load("shared")
    assert shared.version == 1 + rounds
    assert [e.id for e in shared.case.events[1:]] == acked or set(acked) == {
        e.id for e in shared.case.events[1:]
    }
    for i in range(writers):
        assert open_store().load(f"own-{i}").version == 1 + rounds
    positions = [e.position for e in store.events_after(0, 10_000)]
    assert positions == list(range(1, 1 + (1 + rounds) * (writers + 1)))
    assert store.verify() == ()


def test_import_ketenzorg_does_not_load_the_store() -> None:
    code = "import sys, ketenzorg; print(sorted(m for m in sys.modules if m == 'sqlite3' or 'store' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
