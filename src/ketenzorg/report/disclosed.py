"""What of a case reached a recipient, read from the redacted bundle it was disclosed: the report's view.

A report for a recipient shows only what that recipient's disclosure profile allows. The profile is
applied once, by :func:`ketenzorg.disclosure.disclose`; the report does not apply it again but reads
the bundle that came out: every event travels in a resource that holds its event id (identifier
system ``NamingSystem/event-id``, or the ``event`` extension's ``id`` for an event without a resource
of its own), and a masked text is absent from the resource (its ``data-absent-reason`` stands in its
place). So an event is shown when its id reached the recipient, and a text of it when that very text
reached the recipient with it; anything else is shown as withheld, or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs

from ketenzorg.interop.definitions import EVENT_ID, PARTY_ID, X_EVENT

if TYPE_CHECKING:
    from datetime import datetime

    from ketenzorg.case import Case
    from ketenzorg.disclosure import Disclosed, DisclosureProfile, Recipient
    from ketenzorg.engine import Engine
    from ketenzorg.report.model import Report

__all__ = ["DECISION_INPUTS", "DisclosedView", "recipient_report"]

DECISION_INPUTS: Final = frozenset({"safety-score", "incident", "instrument-result", "phase"})
"""The categories a decision (may advance, what blocks, who must score, the alerts) is derived from:
a recipient that does not receive all of them does not see the decision either."""


def _strings(node: Any) -> Iterator[str]:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, str):
            yield current
        elif isinstance(current, dict):
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)


def _event_ids(resource: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    identifiers = resource.get("identifier")
    for ident in identifiers if isinstance(identifiers, list) else [identifiers]:
        if (
            isinstance(ident, dict)
            and ident.get("system") == EVENT_ID
            and isinstance(ident.get("value"), str)
        ):
            found.add(ident["value"])
    stack: list[Any] = [resource]
    while stack:
        current = stack.pop()
        if isinstance(current, list):
            stack.extend(current)
        elif isinstance(current, dict):
            if current.get("url") == X_EVENT:
                for part in current.get("extension", []):
                    if isinstance(part, dict) and part.get("url") == "id":
                        value = part.get("valueString")
                        if isinstance(value, str):
                            found.add(value)
            stack.extend(v for v in current.values() if isinstance(v, dict | list))
    return found


def _party_ids(resource: Mapping[str, Any]) -> set[str]:
    identifiers = resource.get("identifier")
    return {
        ident["value"]
        for ident in (identifiers if isinstance(identifiers, list) else [identifiers])
        if isinstance(ident, dict) and ident.get("system") == PARTY_ID and isinstance(ident.get("value"), str)
    }


@attrs.frozen
class DisclosedView:
    """The part of a case that reached one recipient, as its redacted bundle carries it."""

    events: frozenset[str]
    """The ids of the events that reached the recipient."""
    texts: Mapping[str, frozenset[str]]
    """For each event id, every text the resources carrying it held (masked texts are not there)."""
    parties: frozenset[str]
    """The party ids whose own resource (with their name) reached the recipient."""
    names: frozenset[str]
    """Every text of the resources that carry no event (persons, parties, organisations)."""
    received: frozenset[str]
    """The categories of resource the applied profile gives (``docs/disclosure.md``)."""

    @classmethod
    def from_bundle(cls, bundle: Mapping[str, Any], *, received: frozenset[str]) -> DisclosedView:
        """The view of a redacted bundle (as :func:`~ketenzorg.disclosure.disclose` gives it)."""
        events: set[str] = set()
        texts: dict[str, set[str]] = {}
        parties: set[str] = set()
        names: set[str] = set()
        for entry in bundle.get("entry", []):
            resource = entry.get("resource", {}) if isinstance(entry, dict) else {}
            strings = set(_strings(resource))
            ids = _event_ids(resource)
            identifiers = resource.get("identifier")
            own_event = any(
                isinstance(i, dict) and i.get("system") == EVENT_ID
                for i in (identifiers if isinstance(identifiers, list) else [identifiers])
            )
            for event_id in ids:
                texts.setdefault(event_id, set()).update(strings)
                # a part of an event in a resource of its own (a plan's goal: ``<plan>#<goal>``)
                # belongs to the event's texts; the event itself travels in its own resource
                base, part, _ = event_id.partition("#")
                if part:
                    texts.setdefault(base, set()).update(strings)
            events |= {i for i in ids if "#" not in i}
            parties |= _party_ids(resource)
            if not own_event:
                names |= strings
        return cls(
            events=frozenset(events),
            texts={k: frozenset(v) for k, v in texts.items()},
            parties=frozenset(parties),
            names=frozenset(names),
            received=received,
        )

    def has(self, event_id: str) -> bool:
        """Whether the event reached the recipient."""
        return event_id in self.events

    def text(self, event_id: str, value: str) -> str | None:
        """``value`` (a text of the event) if it reached the recipient with it, else ``None`` (withheld)."""
        return value if value in self.texts.get(event_id, frozenset()) else None

    def name(self, party_id: str, value: str) -> str:
        """A party's name if its own resource with that name reached the recipient, else ``""``."""
        return value if party_id in self.parties and value in self.names else ""

    @property
    def decision(self) -> bool:
        """Whether the decision and its alerts may be shown: every input they derive from is received."""
        return self.received >= DECISION_INPUTS


def recipient_report(
    case: Case,
    engine: Engine,
    recipient: Recipient,
    *,
    at: datetime | None = None,
    profiles: Mapping[str, DisclosureProfile] | None = None,
) -> tuple[Report, Disclosed]:
    """The report of ``case`` for ``recipient`` and the disclosure it is (record its ``written`` bytes).

    The case is disclosed to ``recipient`` as an export would be (:func:`~ketenzorg.disclosure.disclose`);
    the report shows what that bundle carries (:class:`DisclosedView`).
    """
    from ketenzorg.disclosure import disclose
    from ketenzorg.report.model import build_report

    known = engine.policy.disclosure_profiles() if profiles is None else profiles
    disclosed = disclose(case, engine=engine, recipient=recipient, profiles=known)
    applied = known.get(disclosed.record.profile_id)
    # a profile a plugin chose outside the mapping: its categories are read from nothing, so the
    # derived values (the decision) are withheld rather than guessed
    received = applied.resources if applied is not None else frozenset()
    view = DisclosedView.from_bundle(disclosed.bundle, received=received)
    named = "" if recipient.kind == "internal" else recipient.kind  # its own report names no recipient
    if named and recipient.organisation_value:
        named += f" ({recipient.organisation_value})"
    report = attrs.evolve(build_report(case, engine, at=at, view=view), recipient=named)
    return report, disclosed
