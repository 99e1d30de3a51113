"""The flat events table: one row per event, with the case's region fields and the analytic fields
the indicators need, and nothing that points at a family.

No names, no free text (rationales, descriptions, agreements, notes), no addresses or location
ids, no person, party or event ids. The case id is replaced by a pseudonym: an HMAC of the id under
a key drawn at random for each export and never written anywhere, so the pseudonyms of two exports
cannot be linked to each other or back to the case. Parties are numbered within their case
(``party_seq``), which says nothing outside it.

The schema is defined once, in :data:`COLUMNS`; ``docs/monitoring.md`` documents it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ketenzorg.case import Case
from ketenzorg.domain import Party
from ketenzorg.events import (
    CareSettingChanged,
    CaseClosed,
    CaseOpened,
    ConferenceHeld,
    Event,
    IncidentReported,
    InstrumentApplied,
    PartyJoined,
    PartyLeft,
    PhaseChanged,
    ScoreGiven,
)
from ketenzorg.instruments import InstrumentResult
from ketenzorg.monitor import MonitorError, require

if TYPE_CHECKING:
    from ketenzorg.engine import Engine
    from ketenzorg.store import CaseStore

__all__ = [
    "BATCH_ROWS",
    "COLUMNS",
    "Pseudonymiser",
    "case_rows",
    "cases_from_dir",
    "cases_from_store",
    "half_year",
    "schema",
    "write_parquet",
]

COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("case_key", "string", "pseudonym of the case (keyed hash, key random per export)"),
    ("event_seq", "int32", "place of the event in its case's history, from 0"),
    ("event_type", "string", "the event's type tag (case_opened, phase_changed, ...)"),
    ("event_at", "timestamp", "when the event happened, UTC (a timestamp without zone)"),
    ("period", "string", "the half-year the event falls in: 2026H1 = [Jan 1, Jul 1) UTC"),
    ("case_day", "float64", "days from the case's opening to the event"),
    ("region", "string", "the case's region"),
    ("lead_municipality", "string", "the case's lead municipality (centrumgemeente)"),
    ("municipality", "string", "the case's municipality"),
    ("phase", "int8", "the case's phase after the event (1, 2, 3)"),
    ("closed", "bool", "whether the case is closed after the event"),
    ("care_setting", "string", "care setting after the event: ambulant or shelter"),
    ("phase_from", "int8", "phase_changed: the phase left"),
    ("phase_to", "int8", "phase_changed: the phase entered"),
    ("transition_kind", "string", "phase_changed: advance or relapse"),
    ("handover_count", "int16", "case_closed: how many chain partners take over"),
    ("party_seq", "int16", "score_given, party_joined, party_left: the party's number within the case"),
    ("party_role", "string", "the party's role: client, practitioner, chain_partner, network"),
    ("partner_type", "string", "a chain partner's type (police, veilig_thuis, ...)"),
    ("score", "int8", "score_given: the safety score 0-10"),
    ("has_rationale", "bool", "score_given: whether the score has a rationale (only then it counts)"),
    ("conference_seq", "int32", "score_given: event_seq of the conference it was given in"),
    ("conference_kind", "string", "conference_held: its kind (case-conference, marac, ...)"),
    ("client_present", "bool", "conference_held: whether the client took part"),
    ("incident_severity", "string", "incident_reported: minor, serious or severe"),
    ("incident_acute", "bool", "incident_reported: whether it was acute"),
    ("instrument_id", "string", "instrument_applied: the instrument"),
    ("result_level", "string", "instrument_applied: the result's level, else its safety code"),
)
"""Every column of the flat table: name, type and meaning. The one definition of the schema."""

BATCH_ROWS = 16_384
"""Rows buffered before a batch is written: memory stays bounded whatever the number of cases."""


def schema() -> Any:
    """The flat table's pyarrow schema, built from :data:`COLUMNS`."""
    pa = require("pyarrow")
    types = {
        "string": pa.string(),
        "int8": pa.int8(),
        "int16": pa.int16(),
        "int32": pa.int32(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "timestamp": pa.timestamp("us"),
    }
    return pa.schema([pa.field(name, types[kind]) for name, kind, _ in COLUMNS])


def half_year(at: datetime) -> str:
    """The half-year ``at`` falls in (``2026H1``: [Jan 1, Jul 1) UTC; ``2026H2``: [Jul 1, Jan 1))."""
    utc = at.astimezone(UTC)
    return f"{utc.year}H{1 if utc.month <= 6 else 2}"


class Pseudonymiser:
    """Case pseudonyms under a key drawn at random (or given, for a test) and kept in memory only."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)

    def __call__(self, case_id: str) -> str:
        return hmac.new(self._key, case_id.encode("utf-8"), hashlib.sha256).hexdigest()[:20]


def _level(result: InstrumentResult) -> str | None:
    if result.level is not None:
        return result.level
    if result.safety_code is not None:
        return result.safety_code.value
    return None


def _naive_utc(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None)


def case_rows(case: Case, key: str) -> Iterator[dict[str, Any]]:
    """The rows of one case under pseudonym ``key``, in the order of its history."""
    events = case.events
    opening = events[0]
    if not isinstance(opening, CaseOpened):  # the fold refuses such a case; kept as a guard
        raise MonitorError("a case's history starts with case_opened")
    start = opening.at
    region = opening.region
    phase, closed = 1, False
    setting = opening.care_setting.kind.value
    numbers: dict[str, int] = {}
    parties: dict[str, Party] = {}
    conferences: dict[str, int] = {}

    def number(party: Party) -> int:
        parties[party.id] = party
        return numbers.setdefault(party.id, len(numbers) + 1)

    def row(seq: int, event: Event, **fields: Any) -> dict[str, Any]:
        return {
            "case_key": key,
            "event_seq": seq,
            "event_type": event.type,
            "event_at": _naive_utc(event.at),
            "period": half_year(event.at),
            "case_day": (event.at - start).total_seconds() / 86400,
            "region": region.region,
            "lead_municipality": region.lead_municipality,
            "municipality": region.municipality,
            "phase": phase,
            "closed": closed,
            "care_setting": setting,
            **fields,
        }

    def party_fields(party: Party) -> dict[str, Any]:
        return {
            "party_seq": number(party),
            "party_role": party.role.value,
            "partner_type": party.partner_type.value if party.partner_type is not None else None,
        }

    for seq, event in enumerate(events):
        if isinstance(event, CaseOpened):
            yield row(seq, event)
            # The opening team joins at the opening: one party_joined row each, so that who was
            # in the team at a conference follows from party_joined and party_left rows alone.
            for party in event.parties:
                yield {**row(seq, event, **party_fields(party)), "event_type": PartyJoined.type}
        elif isinstance(event, PartyJoined):
            yield row(seq, event, **party_fields(event.party))
        elif isinstance(event, PartyLeft):
            left = parties.get(event.party_id)
            yield row(seq, event, **(party_fields(left) if left is not None else {}))
        elif isinstance(event, CareSettingChanged):
            setting = event.care_setting.kind.value
            yield row(seq, event)
        elif isinstance(event, ConferenceHeld):
            conferences[event.id] = seq
            yield row(seq, event, conference_kind=event.kind, client_present=event.client_present)
        elif isinstance(event, ScoreGiven):
            scorer = parties.get(event.party_id)
            fields = party_fields(scorer) if scorer is not None else {"party_role": event.role.value}
            yield row(
                seq,
                event,
                **fields,
                score=event.score,
                has_rationale=event.has_rationale,
                conference_seq=conferences.get(event.conference_id or ""),
            )
        elif isinstance(event, IncidentReported):
            yield row(seq, event, incident_severity=event.severity.value, incident_acute=event.acute)
        elif isinstance(event, InstrumentApplied):
            yield row(seq, event, instrument_id=event.instrument_id, result_level=_level(event.result))
        elif isinstance(event, PhaseChanged):
            phase = int(event.to_phase)
            yield row(
                seq,
                event,
                phase_from=int(event.from_phase),
                phase_to=int(event.to_phase),
                transition_kind=event.kind.value,
            )
        elif isinstance(event, CaseClosed):
            closed = True
            yield row(seq, event, handover_count=len(event.handover_to))
        else:  # plan revisions and any later event type: the moment only, none of the content
            yield row(seq, event)


def cases_from_store(store: CaseStore) -> Iterator[Case]:
    """Every case of ``store`` that was not destroyed, re-checked by the store's engine, one at a
    time (nothing is kept: memory does not grow with the number of cases)."""
    import orjson

    from ketenzorg.caseformat import converter
    from ketenzorg.errors import KetenzorgError

    conv = converter()
    for info in store.cases():
        if info.destroyed:
            continue
        _, rows = store.backend.read_case(info.case_id)
        if not rows:
            continue
        try:
            events = [conv.structure(orjson.loads(r.data), Event) for r in rows]
            yield store.engine.replay(info.case_id, events)
        except (KetenzorgError, ValueError, TypeError) as error:
            raise MonitorError(
                f"a case in store {store.name} does not replay ({type(error).__name__})"
            ) from None


def cases_from_dir(directory: str | os.PathLike[str], engine: Engine) -> Iterator[Case]:
    """Every case file (``*.json``) of ``directory``, in name order, loaded and re-checked by
    ``engine`` one at a time."""
    from ketenzorg.errors import TransitionBlockedError, ValidationError

    root = Path(directory)
    for path in sorted(root.glob("*.json")):
        try:
            data = path.read_bytes()
        except OSError as error:
            raise MonitorError(f"{path}: cannot be read ({error.strerror})") from None
        try:
            yield engine.load_json(data)
        except ValidationError as error:  # says which field is wrong, never its value
            raise error.with_source(str(path)) from None
        except TransitionBlockedError as error:
            raise MonitorError(f"{path}: a recorded transition the rules do not allow ({error})") from None


def check_table(path: str | os.PathLike[str]) -> None:
    """Refuse (:class:`MonitorError`) a file that is not a flat events table of this schema: not
    Parquet, or with other columns or types. Reads the file's footer only."""
    pq = require("pyarrow.parquet")
    try:
        found = pq.read_schema(os.fspath(path))
    except (OSError, ValueError) as error:
        raise MonitorError(f"{path}: not a Parquet file ({type(error).__name__})") from None
    expected = schema()
    if not found.remove_metadata().equals(expected):
        missing = [name for name in expected.names if name not in found.names]
        what = f"columns missing: {', '.join(missing)}" if missing else "columns of other types"
        raise MonitorError(f"{path}: not a flat events table of this version ({what})")


def write_parquet(
    cases: Iterable[Case],
    path: str | os.PathLike[str],
    *,
    pseudonymise: Pseudonymiser | None = None,
    batch_rows: int = BATCH_ROWS,
) -> int:
    """Write the flat table of ``cases`` to ``path`` (Parquet), streaming; returns the row count."""
    pa = require("pyarrow")
    pq = require("pyarrow.parquet")
    pseudonymise = pseudonymise or Pseudonymiser()
    table_schema = schema()
    names = [name for name, _, _ in COLUMNS]
    buffer: list[dict[str, Any]] = []
    written = 0
    with pq.ParquetWriter(os.fspath(path), table_schema, compression="zstd") as writer:

        def flush() -> None:
            columns = {name: [r.get(name) for r in buffer] for name in names}
            writer.write_batch(pa.RecordBatch.from_pydict(columns, schema=table_schema))
            buffer.clear()

        for case in cases:
            buffer.extend(case_rows(case, pseudonymise(case.case_id)))
            if len(buffer) >= batch_rows:
                written += len(buffer)
                flush()
        if buffer:
            written += len(buffer)
            flush()
    return written
