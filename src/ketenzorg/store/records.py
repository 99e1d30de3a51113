"""What a case store keeps and returns: stored events, audit records, the actor of a change.

Plain values shared by the store facade and its backends; no I/O here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any, Final, Literal

import attrs
import orjson

__all__ = [
    "GENESIS_HASH",
    "Actor",
    "AppendResult",
    "AuditEntry",
    "AuditRecord",
    "CaseInfo",
    "EventRow",
    "StoredEvent",
    "events_digest",
    "seal",
]

GENESIS_HASH: Final = "0" * 64
"""The ``prev_hash`` of the first audit record of a case."""

AuditAction = Literal["append", "disclosure", "destroy", "hold", "release"]


def _text(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{attribute.name}: expected a non-empty text")


@attrs.frozen(kw_only=True)
class Actor:
    """Who makes a change (NEN 7513): the user, in which role, for which organisation, and the
    responsible user on whose behalf (the user themself when not given)."""

    user: str = attrs.field(validator=_text)
    role: str = attrs.field(validator=_text)
    organisation: str = attrs.field(validator=_text)
    responsible: str | None = attrs.field(default=None)

    @property
    def on_behalf_of(self) -> str:
        return self.responsible if self.responsible else self.user


@attrs.frozen(kw_only=True)
class EventRow:
    """One event as a backend writes it: its id, type and case-format JSON bytes."""

    event_id: str
    type: str
    data: bytes


@attrs.frozen(kw_only=True)
class StoredEvent:
    """One stored event: its case, its version in the case (1 for ``case_opened``), its global
    position (commit order over the whole store) and its case-format JSON bytes."""

    case_id: str
    version: int
    position: int
    event_id: str
    type: str
    data: bytes


@attrs.frozen(kw_only=True)
class CaseInfo:
    """A case in the store: its id, its version (number of events), whether it was destroyed."""

    case_id: str
    version: int
    destroyed: bool = False


@attrs.frozen(kw_only=True)
class AppendResult:
    """What an append committed: the case's new version and the events' global positions;
    ``repeated``: the same append was already stored (nothing new was written)."""

    case_id: str
    version: int
    positions: tuple[int, ...]
    repeated: bool = False


@attrs.frozen(kw_only=True)
class AuditEntry:
    """The content of one audit record: never case content, only ids, who, when, what, how.

    ``at`` is the engine's clock (ISO 8601). For an append: the event ids, the versions before and
    after, and the SHA-256 of the events' stored bytes (:func:`events_digest`), so that the chain
    also covers the events. For a disclosure: the recipient (its label) and purpose, and
    ``disclosure``, the full record (:meth:`ketenzorg.disclosure.Disclosure.to_mapping`: recipient
    kind and organisation, user and responsible user, purpose code, profile id and version, the
    resources and versions sent, the SHA-256 of the bytes, the format); records written before it
    existed have none. For a destruction: the reason and the version the case had.
    """

    action: AuditAction
    case_id: str
    at: str
    user: str
    role: str
    organisation: str
    on_behalf_of: str
    command: str
    event_ids: tuple[str, ...] = ()
    version_from: int = 0
    version_to: int = 0
    events_sha256: str = ""
    recipient: str = ""
    purpose: str = ""
    reason: str = ""
    disclosure: dict[str, Any] | None = attrs.field(default=None, hash=False)

    @classmethod
    def make(
        cls, action: AuditAction, case_id: str, at: str, actor: Actor, command: str, **more: Any
    ) -> AuditEntry:
        return cls(
            action=action,
            case_id=case_id,
            at=at,
            user=actor.user,
            role=actor.role,
            organisation=actor.organisation,
            on_behalf_of=actor.on_behalf_of,
            command=command,
            **more,
        )

    def canonical(self) -> bytes:
        """The bytes the hash covers: the entry as JSON with sorted keys."""
        data = attrs.asdict(self, recurse=False)
        data["event_ids"] = list(self.event_ids)
        if self.disclosure is None:  # the bytes of every other entry stay as they were before it existed
            del data["disclosure"]
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)

    def sent_refs(self) -> tuple[str, ...]:
        """The resources a disclosure sent, as ``Type/id`` (for the index of who received what)."""
        if self.action != "disclosure" or not self.disclosure:
            return ()
        return tuple(dict.fromkeys(f"{s[0]}/{s[1]}" for s in self.disclosure.get("sent", ())))

    @classmethod
    def from_canonical(cls, data: bytes | str) -> AuditEntry:
        raw = orjson.loads(data)
        if not isinstance(raw, dict):
            raise ValueError("not an audit entry")
        raw["event_ids"] = tuple(raw.get("event_ids", ()))
        return cls(**raw)


@attrs.frozen(kw_only=True)
class AuditRecord:
    """An audit entry as stored: its place ``seq`` in its case's chain (from 1), the hash of the
    record before it (:data:`GENESIS_HASH` for the first), its own hash (:func:`seal`) and the
    exact content the hash was taken over, as stored."""

    entry: AuditEntry
    seq: int
    prev_hash: str
    hash: str
    content: bytes


def seal(prev_hash: str, canonical: bytes) -> str:
    """The hash of an audit record: SHA-256 over the previous record's hash and its own content."""
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical).hexdigest()


def events_digest(datas: list[bytes] | tuple[bytes, ...]) -> str:
    """SHA-256 over events' stored bytes, each prefixed with its length (no two lists collide)."""
    h = hashlib.sha256()
    for data in datas:
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def stored_event(row: tuple[Any, ...]) -> StoredEvent:
    """An ``events`` row (case_id, version, position, event_id, type, data) as either backend reads it."""
    return StoredEvent(
        case_id=str(row[0]),
        version=int(row[1]),
        position=int(row[2]),
        event_id=str(row[3]),
        type=str(row[4]),
        data=bytes(row[5]),
    )


def audit_record(row: tuple[Any, ...]) -> AuditRecord:
    """An ``audit`` row (content, seq, prev_hash, hash) as either backend reads it: the stored text,
    not a re-encoding, since verification hashes what is there. Raises ``ValueError`` or
    ``TypeError`` when the content is not an audit entry (the backend names the store)."""
    content, seq, prev, digest = row
    return AuditRecord(
        entry=AuditEntry.from_canonical(content),
        seq=int(seq),
        prev_hash=str(prev),
        hash=str(digest),
        content=str(content).encode("utf-8"),
    )


def audit_records(
    rows: Sequence[Sequence[object]], fail: Callable[[str], Exception]
) -> tuple[AuditRecord, ...]:
    """Audit rows ``(content, seq, prev_hash, hash)`` as records, for every backend; a row that cannot
    be read raises ``fail(message)`` naming its place in the chain, never its content."""
    records = []
    for row in rows:
        try:
            records.append(audit_record(tuple(row)))
        except (ValueError, TypeError):
            raise fail(f"audit record {row[1]} cannot be read; is the store damaged?") from None
    return tuple(records)
