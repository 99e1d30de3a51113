"""Writers killed with SIGKILL at random moments, on every backend: the store stays whole.

Each round starts writers in other processes appending batches of two events to one case; each
writer prints an event's id only after its append returned (acknowledged). The test kills the
writers at random delays, then checks the store: the SQLite file passes ``PRAGMA
integrity_check``, ``CaseStore.verify()`` finds nothing, every case's versions and the global
positions run without a gap, every audit record's events are exactly the versions it names (no
half-written append), and every acknowledged event is stored. A few kills by default; at least
100 under ``HYPOTHESIS_PROFILE=thorough``.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_contract import backend, location, store_engine  # noqa: F401  (fixtures)

from ketenzorg.store import CaseStore
from ketenzorg.testing import new_case

sys.path.insert(0, str(Path(__file__).parent))
from store_workers import ACTOR

WORKER = Path(__file__).parent / "store_workers.py"
THOROUGH = os.environ.get("HYPOTHESIS_PROFILE", "ci") == "thorough"
ROUNDS = 55 if THOROUGH else 3
WRITERS = 2
"""Writers per round, all on the same case (so conflicts and lock waits are among the moments a
kill lands on); ``ROUNDS * WRITERS`` kills in all: 110 thorough, 6 by default."""
CASES = ("k1", "k2")


def start_writer(store_location: str, case_id: str) -> subprocess.Popen[str]:
    writer = subprocess.Popen(
        [sys.executable, str(WORKER), store_location, case_id],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    line = writer.stdout.readline()
    if line != "ready\n":
        writer.kill()
        _, err = writer.communicate()
        pytest.fail(f"a writer did not start: {line!r} {err}")
    return writer


def kill_round(store_location: str, case_id: str, rng: random.Random) -> list[str]:
    """Start the writers, kill each at a random moment; the event ids they acknowledged."""
    writers = [start_writer(store_location, case_id) for _ in range(WRITERS)]
    acked: list[str] = []
    for writer in writers:
        time.sleep(rng.uniform(0.0, 0.25))
        writer.send_signal(signal.SIGKILL)
    for writer in writers:
        out, err = writer.communicate(timeout=30)
        assert writer.returncode == -signal.SIGKILL, err
        # a line cut off by the kill was not acknowledged
        acked += [line for line in out.splitlines(keepends=True)[1:] if line.endswith("\n")]
    return [line.strip() for line in acked]


def test_writers_killed_at_random_moments_leave_a_whole_store(
    backend: str,  # noqa: F811  (the fixture imported above)
    location: str,  # noqa: F811
) -> None:
    rng = random.Random(os.environ.get("KETENZORG_KILL_SEED", "11"))
    with CaseStore.open(location, engine=store_engine()) as store:
        for case_id in CASES:
            store.create(new_case(case_id=case_id), actor=ACTOR, command="test")
    acked: list[str] = []
    for n in range(ROUNDS):
        acked += kill_round(location, CASES[n % len(CASES)], rng)
    assert acked, "no writer acknowledged an append before it was killed"

    if backend == "sqlite":
        raw = sqlite3.connect(location)
        try:
            assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        finally:
            raw.close()
    with CaseStore.open(location, engine=store_engine()) as store:
        assert store.verify() == ()
        stored_ids: set[str] = set()
        for case_id in CASES:
            version, events = store.backend.read_case(case_id)
            assert [e.version for e in events] == list(range(1, version + 1))
            records = [r for r in store.audit(case_id) if r.entry.action == "append"]
            # each append's events are exactly the versions its record names, and the records
            # cover the case without a gap: no append stored in part
            covered = 0
            for record in records:
                entry = record.entry
                assert entry.version_from == covered
                assert entry.event_ids == tuple(
                    e.event_id for e in events[entry.version_from : entry.version_to]
                )
                covered = entry.version_to
            assert covered == version
            stored_ids |= {e.event_id for e in events[1:]}  # the opening events share an id
        positions = [e.position for e in store.events_after(0, limit=1_000_000)]
        assert positions == list(range(1, len(positions) + 1))
        assert len(positions) == len(stored_ids) + len(CASES)
    missing = set(acked) - stored_ids
    assert not missing, f"{len(missing)} acknowledged events are not stored"
