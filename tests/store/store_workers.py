"""Writers run in other processes by the concurrency tests (importable by a spawned process)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ketenzorg.errors import VersionConflictError
from ketenzorg.events import IncidentReported, IncidentSeverity
from ketenzorg.store import Actor, CaseStore
from ketenzorg.testing import day, engine_with, new_case

ACTOR = Actor(user="user-1", role="practitioner", organisation="org", responsible="lead-1")


def clock() -> datetime:
    return day(400)


def incident_event(n: int) -> IncidentReported:
    return IncidentReported(at=day(1 + n / 100), severity=IncidentSeverity.MINOR, acute=False)


def writer(location: str, shared_case: str, own_case: str, rounds: int, barrier: Any) -> dict[str, Any]:
    """Per round: read the shared case, wait for the others, append (stale writers must conflict);
    then append to this writer's own case. Returns what was acknowledged and each conflict."""
    store = CaseStore.open(location, engine=engine_with(clock=clock))
    acked: list[str] = []
    conflicts = 0
    try:
        store.create(new_case(case_id=own_case), actor=ACTOR, command="test")
        for n in range(rounds):
            stored = store.load(shared_case)
            barrier.wait(timeout=60)
            event = incident_event(n)
            try:
                store.append(
                    shared_case, [event], expected_version=stored.version, actor=ACTOR, command="test"
                )
                acked.append(event.id)
            except VersionConflictError:
                conflicts += 1
            own = store.load(own_case)
            store.append(
                own_case, [incident_event(n)], expected_version=own.version, actor=ACTOR, command="t"
            )
    finally:
        store.close()
    return {"acked": acked, "conflicts": conflicts}


def append_until_killed(location: str, case_id: str, out: Any) -> None:
    """Append batches of two incidents to ``case_id`` for ever (a conflict: read again and retry),
    writing each acknowledged event id to ``out`` only after its append returned; the kill test
    stops this process with SIGKILL at a random moment. Writes ``ready`` once the store is open."""
    store = CaseStore.open(location, engine=engine_with(clock=clock))
    out.write("ready\n")
    out.flush()
    while True:
        stored = store.load(case_id)
        batch = [
            IncidentReported(
                at=day(1 + (stored.version + k) / 10_000), severity=IncidentSeverity.MINOR, acute=False
            )
            for k in (0, 1)
        ]
        try:
            store.append(case_id, batch, expected_version=stored.version, actor=ACTOR, command="kill")
        except VersionConflictError:
            continue
        out.write("".join(f"{event.id}\n" for event in batch))
        out.flush()


if __name__ == "__main__":
    import sys

    append_until_killed(sys.argv[1], sys.argv[2], sys.stdout)
