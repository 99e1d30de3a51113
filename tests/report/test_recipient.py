"""A report for a recipient shows only what the recipient's redacted bundle carries.

The property: over generated cases and every shipped profile, with a unique marker planted in every
free text, name and address of the case, every marker in the rendered report also reached that
recipient's bundle (report ⊆ bundle), and a report for the person who used violence holds no
location, care setting or location text. The number of examples follows the suite's hypothesis
profile (``HYPOTHESIS_PROFILE``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import attrs
import lxml.html
import pytest
from cases import demo
from hypothesis import given
from hypothesis import strategies as st

from factories import shipped_engine
from ketenzorg import Case, Engine, hookimpl
from ketenzorg.conferences import ConferenceKind
from ketenzorg.disclosure import Recipient, shipped_profiles
from ketenzorg.domain import CareSettingKind, Location, Party, Person, Text
from ketenzorg.events import CareSettingChanged, ConferenceHeld, ScoreGiven
from ketenzorg.messages import enum_label, render
from ketenzorg.report import build_report, render_html
from ketenzorg.report.disclosed import DisclosedView, recipient_report
from strategies import History, histories

MARKER = re.compile(r"MRK\d{5}Z")
_PLANTED = frozenset(
    {"reason", "notes", "rationale", "description", "summary", "what", "text", "label", "name", "address"}
)


class _Planter:
    """Replaces every free text, name and address of a case with a unique marker; an entity (party,
    person, location) keeps one marker per field through the history."""

    def __init__(self) -> None:
        self.count = itertools.count(1)
        self.named: dict[tuple[str, str, str], str] = {}
        self.locations: set[str] = set()

    def marker(self, owner: Any, field: str) -> str:
        entity = isinstance(owner, Party | Person | Location)
        key = (type(owner).__name__, str(getattr(owner, "id", "")), field)
        if entity and key in self.named:
            return self.named[key]
        marker = f"MRK{next(self.count):05d}Z"
        if entity:
            self.named[key] = marker
        if isinstance(owner, Location):
            self.locations.add(marker)
        return marker

    def plant(self, value: Any) -> Any:
        if isinstance(value, tuple):
            return tuple(self.plant(v) for v in value)
        if attrs.has(type(value)) and not isinstance(value, Text):
            changes = {}
            for f in attrs.fields(type(value)):
                if not f.init or f.name.startswith("_"):
                    continue
                current = getattr(value, f.name)
                if f.name in _PLANTED and isinstance(current, str):
                    changes[f.name] = self.marker(value, f.name)
                elif f.name in _PLANTED and isinstance(current, Text):
                    changes[f.name] = Text(nl=self.marker(value, f.name), en=self.marker(value, f.name))
                else:
                    changes[f.name] = self.plant(current)
            return attrs.evolve(value, **changes)
        return value


def _markers(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _markers(value)
    elif isinstance(node, list):
        for value in node:
            yield from _markers(value)
    elif isinstance(node, str):
        yield from MARKER.findall(node)


def _setting_words() -> set[str]:
    return {enum_label(kind, lang) for kind in CareSettingKind for lang in ("nl", "en")}


@given(
    history=histories(),
    kind=st.sampled_from(sorted(shipped_profiles())),
    lang=st.sampled_from(["nl", "en"]),
    data=st.data(),
)
def test_a_recipient_report_shows_only_what_reached_its_bundle(
    history: History, kind: str, lang: str, data: st.DataObject
) -> None:
    planter = _Planter()
    case = Case(history.case.case_id, tuple(planter.plant(e) for e in history.case.events))
    person = data.draw(st.sampled_from([None, *sorted(case.state.persons)]))
    party = data.draw(st.sampled_from([None, *sorted(case.state.known_parties)]))
    recipient = Recipient(kind, party=party, person=person)
    engine = shipped_engine()
    report, disclosed = recipient_report(case, engine, recipient, at=case.state.latest_at)
    html = render_html(report, lang)  # type: ignore[arg-type]
    shown = set(MARKER.findall(html))
    carried = set(_markers(disclosed.bundle))
    assert shown <= carried, [html[max(0, html.index(m) - 300) : html.index(m) + 20] for m in shown - carried]
    if disclosed.record.profile_id == "person-who-used-violence":
        assert not shown & planter.locations
        text = lxml.html.document_fromstring(html).text_content()
        assert not any(word in text for word in _setting_words())
        settings = {e.id for e in case.events if isinstance(e, CareSettingChanged)}
        assert not any(f'data-event="{event_id}"' in html for event_id in settings)


@pytest.fixture(scope="module")
def shown_demo() -> tuple[Engine, Case, Any]:
    engine = Engine()
    case, at = demo(engine)
    return engine, case, at


def test_the_internal_report_is_the_full_report(shown_demo: Any) -> None:
    """The organisation's own report, drawn from its (full) bundle, is the report of the whole case."""
    engine, case, at = shown_demo
    made, _ = recipient_report(case, engine, Recipient.internal(), at=at)
    assert render_html(made, "en") == render_html(build_report(case, engine, at=at), "en")


def test_a_withheld_rationale_is_shown_as_withheld(shown_demo: Any) -> None:
    """The client receives the scores but only its own party's rationales: the others are withheld."""
    engine, case, at = shown_demo
    client = next(p.id for p in case.state.known_parties.values() if p.role.value == "client")
    made, _ = recipient_report(case, engine, Recipient("client", party=client), at=at)
    points = [p for s in made.timeline.series for p in s.points]
    assert points
    scores = {e.id: e for e in case.events if isinstance(e, ScoreGiven)}
    for point in points:
        own = scores[point.event_id].party_id == client
        assert (point.rationale is not None) == (own and scores[point.event_id].has_rationale), point
    html = render_html(made, "nl")
    assert "achtergehouden" in html
    other = next(e for e in scores.values() if e.party_id != client)
    assert other.rationale not in html


def test_a_report_without_the_decisions_inputs_withholds_the_decision(shown_demo: Any) -> None:
    """A school receives no scores, incidents or instrument results: no decision, no alerts, no lines."""
    engine, case, at = shown_demo
    made, _ = recipient_report(case, engine, Recipient("school"), at=at)
    assert not made.shows_decision
    assert made.timeline.alerts == ()
    assert made.timeline.series == ()
    assert made.timeline.incidents == ()
    html = render_html(made, "en")
    assert "The decision (next step, what blocks it, alerts) is withheld from this recipient." in html
    assert "For school" in html
    full = engine.evaluate(case, at=at)
    assert full.alerts
    assert all(render(a.message, "en") not in html for a in full.alerts)


def test_a_view_is_read_from_the_bundle_alone() -> None:
    """Event ids come from the event-id identifier and the event extension; a goal's texts belong to
    its plan; a masked text is not carried."""
    from ketenzorg.interop.definitions import DATA_ABSENT_REASON, EVENT_ID, X_EVENT

    bundle = {
        "entry": [
            {
                "resource": {
                    "resourceType": "Observation",
                    "identifier": [{"system": EVENT_ID, "value": "e1"}],
                    "note": [{"_text": {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": "masked"}]}}],
                    "valueString": "kept",
                }
            },
            {
                "resource": {
                    "resourceType": "CarePlan",
                    "extension": [{"url": X_EVENT, "extension": [{"url": "id", "valueString": "e2"}]}],
                }
            },
            {
                "resource": {
                    "resourceType": "Goal",
                    "identifier": [{"system": EVENT_ID, "value": "e2#g1"}],
                    "description": {"text": "goal text"},
                }
            },
        ]
    }
    view = DisclosedView.from_bundle(bundle, received=frozenset())
    assert view.events == {"e1", "e2"}
    assert view.text("e1", "kept") == "kept"
    assert view.text("e1", "a rationale") is None
    assert view.text("e2", "goal text") == "goal text"
    assert not view.decision


class _NetworkMeeting:
    """A plugin that registers its own kind of conference."""

    @hookimpl
    def ketenzorg_register_conference_kinds(self, registry: Any) -> None:
        registry.add(ConferenceKind(code="x-network", name={"nl": "Netwerkberaad", "en": "Network meeting"}))


def test_a_plugins_conference_kind_is_named(shown_demo: Any) -> None:
    """A conference of a kind a plugin registered is named as the engine knows it, not by its code."""
    _engine, case, at = shown_demo
    engine = Engine(plugins=(_NetworkMeeting(),))
    conference = next(e for e in reversed(case.events) if isinstance(e, ConferenceHeld) and e.at < at)
    renamed = Case(
        case.case_id,
        tuple(attrs.evolve(e, kind="x-network") if e is conference else e for e in case.events),
    )
    made, _ = recipient_report(renamed, engine, Recipient.internal(), at=at)
    assert made.last_conference is not None
    assert made.last_conference.kind == "x-network"
    html = render_html(made, "en")
    assert "Network meeting" in html
    assert "x-network" not in lxml.html.document_fromstring(html).text_content()
