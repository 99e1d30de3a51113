"""Property: over generated cases, no text, resource or reference outside the profile reaches a recipient.

Every free text, name and address of a generated case is replaced by a unique marker; the walk over
the recipient's bundle (JSON or XML, collection or transaction) then says which markers reached it,
and each must be one the profile gives. The number of examples follows the suite's hypothesis
profile (``HYPOTHESIS_PROFILE``: ``ci``, ``dev``, ``thorough``), times :data:`SCALE`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import attrs
from disclosure_checks import dangling, schema_errors, xsd_errors
from hypothesis import given, settings
from hypothesis import strategies as st

from factories import shipped_engine
from ketenzorg import Case
from ketenzorg.disclosure import DisclosureProfile, ListScreen, Recipient, disclose, shipped_profiles
from ketenzorg.disclosure.redact import classify
from ketenzorg.domain import Location, Party, Person, PersonRole, Text
from ketenzorg.interop.fhirxml import from_xml, to_xml
from strategies import History, histories

SCALE = 9
"""Examples per example of the suite's profile (``ci`` 60 -> 540, ``thorough`` 2,000 -> 18,000): each
draws a case, a profile with a recipient, a format and a bundle type."""

MARKER = re.compile(r"MRK\d{5}Z")

_PERSON_CATEGORY = {
    PersonRole.CLIENT: "client",
    PersonRole.CHILD: "child",
    PersonRole.PERSON_WHO_USED_VIOLENCE: "person-who-used-violence",
    PersonRole.FAMILY_MEMBER: "family-member",
    PersonRole.NETWORK: "network-member",
}

# (event type, owner class, field) -> the category whose free text it is; "agreement" for the plan's
_FREE_TEXT = {
    ("IncidentReported", "IncidentReported", "description"): "incident",
    ("CareSettingChanged", "CareSettingChanged", "reason"): "stay",
    ("ConferenceHeld", "ConferenceHeld", "notes"): "case-conference",
    ("CaseOpened", "CaseOpened", "reason"): "trajectory",
    ("CaseClosed", "CaseClosed", "summary"): "trajectory",
    ("PhaseChanged", "PhaseChanged", "reason"): "phase",
    ("PartyLeft", "PartyLeft", "reason"): "care-team",
    ("PlanRevised", "SafetyAgreement", "what"): "agreement",
    ("PlanRevised", "PlanTask", "text"): "agreement",
    ("PlanRevised", "RiskFactor", "text"): "safety-plan",
    ("PlanRevised", "WorkGoal", "description"): "goal",
    ("PlanRevised", "RecoveryGoal", "description"): "goal",
}
_PLANTED = {
    "reason",
    "notes",
    "rationale",
    "description",
    "summary",
    "what",
    "text",
    "label",
    "name",
    "address",
}


@attrs.frozen
class Planted:
    event: Any
    owner: Any
    field: str


class _Planter:
    def __init__(self) -> None:
        self.count = itertools.count(1)
        self.where: dict[str, Planted] = {}
        self.named: dict[Any, str] = {}

    def marker(self, event: Any, owner: Any, field: str) -> str:
        # an entity (party, person, location) keeps one name through the history
        key = (type(owner).__name__, getattr(owner, "id", None), field) if hasattr(owner, "id") else None
        if isinstance(owner, Party | Person | Location) and key in self.named:
            return self.named[key]
        marker = f"MRK{next(self.count):05d}Z"
        if isinstance(owner, Party | Person | Location):
            self.named[key] = marker
        self.where[marker] = Planted(event, owner, field)
        return marker

    def value(self, event: Any, owner: Any, field: str, value: Any) -> Any:
        if field in _PLANTED and isinstance(value, str):
            return self.marker(event, owner, field)
        if field in _PLANTED and isinstance(value, Text):
            return Text(nl=self.marker(event, owner, field), en=self.marker(event, owner, field))
        return self.plant(event, value)

    def plant(self, event: Any, value: Any) -> Any:
        if isinstance(value, tuple):
            return tuple(self.plant(event, v) for v in value)
        if attrs.has(type(value)) and not isinstance(value, Text):
            changes = {
                f.name: self.value(event, value, f.name, getattr(value, f.name))
                for f in attrs.fields(type(value))
                if f.init and f.name.lstrip("_") == f.name
            }
            return attrs.evolve(value, **changes)
        return value


def planted(case: Case) -> tuple[Case, dict[str, Planted]]:
    planter = _Planter()
    events = tuple(planter.plant(event, event) for event in case.events)
    return Case(case.case_id, events), planter.where


def allowed(
    where: Planted, profile: DisclosureProfile, recipient: Recipient, internal: bool, case: Case
) -> bool:
    """Whether a marker planted there may reach the recipient under the profile."""
    event, owner, field = type(where.event).__name__, where.owner, where.field
    if isinstance(owner, Location):
        return internal and not owner.secret and owner.id not in case.state.secret_locations
    if internal:
        return True
    if isinstance(owner, Person) and field == "label":
        category = _PERSON_CATEGORY[owner.role]
        return category in profile.resources and (
            category == "client" or profile.persons == "all" or owner.id == recipient.person
        )
    if event == "ScoreGiven" and field == "rationale":
        own = where.event.party_id == recipient.party
        return "safety-score" in profile.resources and (
            profile.rationales == "all" or (profile.rationales == "own" and own)
        )
    kind = _FREE_TEXT.get((event, type(owner).__name__, field))
    if kind is None:
        return True  # names of parties and organisations: checked through the resources they are in
    if kind == "agreement":
        return "safety-plan" in profile.resources and "agreement" in profile.free_text
    return kind in profile.resources and kind in profile.free_text


def markers(bundle: dict[str, Any]) -> Iterator[str]:
    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)
        elif isinstance(node, str):
            yield from MARKER.findall(node)

    return walk(bundle)


def _recipient(draw: Any, case: Case, kind: str) -> Recipient:
    persons = sorted(case.state.persons)
    parties = sorted(case.state.known_parties)
    person = draw(st.sampled_from([None, *persons]))
    party = draw(st.sampled_from([None, *parties]))
    return Recipient(kind, party=party, person=person)


@settings(max_examples=settings.default.max_examples * SCALE)
@given(
    history=histories(),
    kind=st.sampled_from(sorted(shipped_profiles())),
    xml=st.booleans(),
    bundle_type=st.sampled_from(["collection", "transaction"]),
    data=st.data(),
)
def test_nothing_outside_the_profile_reaches_the_recipient(
    history: History, kind: str, xml: bool, bundle_type: str, data: st.DataObject
) -> None:
    case, where = planted(history.case)
    recipient = _recipient(data.draw, case, kind)
    result = disclose(case, engine=shipped_engine(), recipient=recipient, type=bundle_type)  # type: ignore[arg-type]
    bundle = result.bundle
    if xml:
        written = to_xml(bundle)
        assert xsd_errors(written) == []
        bundle = from_xml(written)
    else:
        assert schema_errors(bundle) == []
    profile = shipped_profiles()[result.record.profile_id]
    internal = profile.id == "internal"
    leaked = sorted(
        m for m in set(markers(bundle)) if not allowed(where[m], profile, recipient, internal, case)
    )
    assert leaked == [], [(m, type(where[m].owner).__name__, where[m].field) for m in leaked]
    assert dangling(bundle) == []
    categories = {classify(e["resource"]) for e in bundle.get("entry", [])}
    assert categories <= profile.resources | {"client"}
    if internal:
        # the markers were planted: the organisation itself sees the texts of its case
        assert {MARKER.fullmatch(m) is not None for m in markers(bundle)} == {True}
        assert any(True for _ in markers(bundle))


@settings(max_examples=settings.default.max_examples * 2)
@given(history=histories(), kind=st.sampled_from(["client", "network-member", "person-who-used-violence"]))
def test_the_person_who_used_violence_never_learns_where_the_victim_stays(
    history: History, kind: str
) -> None:
    case = history.case
    perpetrators = [p for p in case.state.persons.values() if p.role is PersonRole.PERSON_WHO_USED_VIOLENCE]
    if not perpetrators:
        perpetrators = []
    case, where = planted(case)
    places = {m for m, w in where.items() if isinstance(w.owner, Location)}
    # a practitioner typed the place into texts: the organisation's register of addresses stops them
    register = ListScreen(places)
    person = perpetrators[0].id if perpetrators else None
    recipient = Recipient(kind, person=person) if person else Recipient("person-who-used-violence")
    result = disclose(case, engine=shipped_engine(), recipient=recipient, screens=[register])
    assert result.record.profile_id == "person-who-used-violence"
    bundle = result.bundle
    categories = {classify(e["resource"]) for e in bundle.get("entry", [])}
    assert not categories & {"stay", "location", "network-member", "party", "child", "case-conference"}
    assert not set(markers(bundle)) & places
    assert '"address"' not in str(bundle).replace("'", '"')
    assert dangling(bundle) == []
    assert schema_errors(bundle) == []
