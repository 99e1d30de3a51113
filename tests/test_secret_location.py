"""A secret shelter stays secret across a case's whole history.

The finding this guards against: a location recorded as open (its name and address go to every
partner) and later made secret under the same id tied the secret stay to that address in every
export. Now the engine refuses that change (a move to a secret shelter is a new location), the
exporter treats any location that was ever secret as secret everywhere, a secret location goes out
under a pseudonym of the case instead of its own id, and ``validate`` refuses a bundle that ties a
secret stay to a findable place.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import attrs
import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from factories import as_exported, day, new_case, shipped_engine
from ketenzorg import (
    CareSetting,
    CareSettingChanged,
    CareSettingKind,
    Case,
    CaseClosed,
    CaseFormatError,
    CaseOpened,
    Engine,
    InvalidEventError,
    Location,
    caseformat,
)
from ketenzorg.disclosure import Recipient
from ketenzorg.interop.definitions import X_SECRET_LOCATION
from ketenzorg.interop.fhir import (
    SECRET_LOCATION_NAME,
    FhirMappingError,
    bundle_to_case,
    case_to_bundle,
    secret_location_pseudonyms,
)
from ketenzorg.interop.fhirxml import from_xml, to_xml
from ketenzorg.interop.validate import is_valid, read_bundle, validate_bundle
from strategies import FAR_FUTURE, histories

ADDRESS = "Schuilweg 7, 1234 AB Nergenshuizen (synthetisch)"
OPEN = Location(id="shelter-noord", name="Opvang Noord (synthetisch)", address=ADDRESS)
SECRET = Location(id="shelter-geheim", name="Opvang Geheim (synthetisch)", secret=True)
KINDS = ("collection", "transaction")


def shelter(location: Location) -> CareSetting:
    return CareSetting(kind=CareSettingKind.SHELTER, location=location)


def moved(engine: Engine, case: Case, at_day: float, location: Location | None, event_id: str) -> Case:
    setting = shelter(location) if location is not None else CareSetting(kind=CareSettingKind.AMBULANT)
    return engine.record(case, CareSettingChanged(id=event_id, at=day(at_day), care_setting=setting))


def exported(case: Case, kind: str = "collection") -> dict[str, Any]:
    """The bundle as a partner receives it (JSON text parsed back)."""
    return orjson.loads(
        orjson.dumps(case_to_bundle(case, recipient=Recipient.internal(), engine=shipped_engine(), type=kind))
    )  # type: ignore[arg-type]


def all_bytes(case: Case) -> list[bytes]:
    """Every form an export takes: collection and transaction, JSON and XML."""
    out = []
    for kind in KINDS:
        bundle = case_to_bundle(case, recipient=Recipient.internal(), engine=shipped_engine(), type=kind)  # type: ignore[arg-type]
        out += [orjson.dumps(bundle), to_xml(bundle)]
    return out


def never_repeats(error: BaseException, *values: str) -> None:
    text = f"{error}\n{error!r}"
    for value in values:
        assert value not in text


def stay_ids(bundle: dict[str, Any]) -> list[str]:
    """The secret-location id of each stay at a secret location, in bundle order."""
    out = []
    for entry in bundle["entry"]:
        for ext in entry["resource"].get("extension", ()):
            if ext["url"] == X_SECRET_LOCATION:
                out += [part["valueString"] for part in ext["extension"] if part["url"] == "id"]
    return out


@pytest.fixture
def engine() -> Engine:
    return Engine()


@pytest.fixture
def open_then_secret(engine: Engine) -> Case:
    """At an open shelter with its address, then at a secret shelter (a new id, as it should be)."""
    case = moved(engine, new_case(), 1, OPEN, "move-open")
    return moved(engine, case, 2, SECRET, "move-secret")


# --- (a) the finding: open -> secret under the same id -----------------------------------------


def test_the_engine_refuses_to_make_an_open_location_secret(engine: Engine) -> None:
    case = moved(engine, new_case(), 1, OPEN, "move-open")
    made_secret = Location(id=OPEN.id, name=OPEN.name, secret=True)
    with pytest.raises(InvalidEventError) as caught:
        moved(engine, case, 2, made_secret, "move-secret")
    assert [p.path for p in caught.value.problems] == ["care_setting.location.secret"]
    assert "new location" in caught.value.problems[0].message
    never_repeats(caught.value, OPEN.id, OPEN.name, ADDRESS)


def test_the_engine_refuses_it_also_after_other_stays(engine: Engine) -> None:
    case = moved(engine, new_case(), 1, OPEN, "move-open")
    case = moved(engine, case, 2, None, "move-home")
    case = moved(engine, case, 3, SECRET, "move-secret")
    with pytest.raises(InvalidEventError, match=r"care_setting\.location\.secret"):
        moved(engine, case, 4, Location(id=OPEN.id, name="Andere naam", secret=True), "move-again")


def test_a_location_open_at_the_opening_never_becomes_secret(engine: Engine) -> None:
    opened = attrs.evolve(new_case().events[0], care_setting=shelter(OPEN))
    assert isinstance(opened, CaseOpened)
    case = Case.open(opened, case_id="case-test")
    with pytest.raises(InvalidEventError) as caught:
        moved(engine, case, 1, attrs.evolve(SECRET, id=OPEN.id), "move-secret")
    assert [p.path for p in caught.value.problems] == ["care_setting.location.secret"]
    never_repeats(caught.value, OPEN.id, OPEN.name, ADDRESS)


def test_a_secret_location_still_never_becomes_open(engine: Engine, open_then_secret: Case) -> None:
    with pytest.raises(InvalidEventError, match="stays secret"):
        moved(engine, open_then_secret, 3, Location(id=SECRET.id, name="Nu open"), "move-open-again")


def test_an_open_location_may_be_visited_again(engine: Engine) -> None:
    case = moved(engine, new_case(), 1, OPEN, "move-open")
    case = moved(engine, case, 2, None, "move-home")
    case = moved(engine, case, 3, OPEN, "move-back")
    bundle = exported(case)
    assert is_valid(validate_bundle(bundle, engine=Engine()))  # one Location, not two under one fullUrl
    assert [e["resource"]["resourceType"] for e in bundle["entry"]].count("Location") == 1
    assert bundle_to_case(bundle, engine=shipped_engine()) == case
    assert case.state.open_locations == {OPEN.id}


def test_a_case_file_that_makes_an_open_location_secret_is_refused(open_then_secret: Case) -> None:
    data = caseformat.case_to_dict(open_then_secret)
    assert data["events"][2]["care_setting"]["location"]["id"] == SECRET.id
    data["events"][2]["care_setting"]["location"]["id"] = OPEN.id
    with pytest.raises(CaseFormatError) as caught:
        caseformat.case_from_dict(data)
    assert [p.path for p in caught.value.problems] == ["events[2].care_setting.location.secret"]
    never_repeats(caught.value, OPEN.id, OPEN.name, ADDRESS)


def tie_secret_stay_to_open_location(bundle: dict[str, Any]) -> tuple[int, int]:
    """Forge the finding's bundle: the secret stay's id is the open Location's identifier.

    Returns the entry indexes of that Location and of the secret stay's Encounter.
    """
    location = next(i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == "Location")
    for index, entry in enumerate(bundle["entry"]):
        for ext in entry["resource"].get("extension", ()):
            if ext["url"] == X_SECRET_LOCATION:
                ext["extension"][0]["valueString"] = OPEN.id
                return location, index
    raise AssertionError("no secret stay")


@pytest.mark.parametrize("kind", KINDS)
def test_import_refuses_a_bundle_that_makes_an_open_location_secret(
    open_then_secret: Case, kind: str
) -> None:
    bundle = exported(open_then_secret, kind)
    _, stay = tie_secret_stay_to_open_location(bundle)
    with pytest.raises(FhirMappingError) as caught:
        bundle_to_case(bundle, engine=shipped_engine())
    assert [p.path for p in caught.value.problems] == [f"Bundle.entry[{stay}].resource"]
    assert "care_setting.location.secret" in str(caught.value)
    never_repeats(caught.value, OPEN.name, ADDRESS)


# --- (c) validate: a secret stay's Location points at no findable place ------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_validate_reports_a_secret_stay_tied_to_an_addressed_location(
    open_then_secret: Case, kind: str
) -> None:
    bundle = exported(open_then_secret, kind)
    location, _ = tie_secret_stay_to_open_location(bundle)
    outcome, case = read_bundle(bundle, engine=Engine())
    assert case is None
    errors = {i["expression"][0]: i["diagnostics"] for i in outcome["issue"] if i["severity"] == "error"}
    at = f"Bundle.entry[{location}].resource"
    assert {f"{at}.address", f"{at}.name", at} <= set(errors)
    assert "open stay" in errors[at]
    for text in orjson.dumps(outcome).decode(), str(outcome):
        assert ADDRESS not in text
        assert OPEN.name not in text


def test_validate_reports_every_findable_element_of_a_secret_stays_location(open_then_secret: Case) -> None:
    bundle = exported(open_then_secret)
    location = next(i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == "Location")
    stay = next(i for i, e in enumerate(bundle["entry"]) if X_SECRET_LOCATION in orjson.dumps(e).decode())
    place = bundle["entry"][location]["resource"]
    place["telecom"] = [{"system": "phone", "value": "0612345678"}]
    place["position"] = {"longitude": 5.1, "latitude": 52.1}
    place["name"] = SECRET_LOCATION_NAME  # the placeholder is the one name allowed
    secret_stay = bundle["entry"][stay]["resource"]
    secret_stay["location"] = [{"location": {"reference": bundle["entry"][location]["fullUrl"]}}]
    outcome = validate_bundle(bundle, engine=Engine())
    errors = {i["expression"][0] for i in outcome["issue"] if i["severity"] == "error"}
    at = f"Bundle.entry[{location}].resource"
    assert {f"{at}.address", f"{at}.telecom", f"{at}.position", at} <= errors
    assert f"{at}.name" not in errors
    assert f"Bundle.entry[{stay}].resource.location" in errors
    text = orjson.dumps(outcome).decode()
    assert ADDRESS not in text
    assert "0612345678" not in text
    with pytest.raises(FhirMappingError) as caught:
        bundle_to_case(bundle, engine=shipped_engine())
    assert [p.path for p in caught.value.problems] == [f"Bundle.entry[{stay}].resource.location"]


def test_validate_accepts_what_the_engine_exports(open_then_secret: Case) -> None:
    for kind in KINDS:
        outcome, case = read_bundle(exported(open_then_secret, kind), strict=True, engine=Engine())
        assert is_valid(outcome), outcome
        assert case == as_exported(open_then_secret)


# --- (d) pseudonymous ids ------------------------------------------------------------------------


def test_a_secret_location_goes_out_under_a_pseudonym_of_the_case(
    engine: Engine, open_then_secret: Case
) -> None:
    assert secret_location_pseudonyms(open_then_secret) == {SECRET.id: "secret-location-1"}
    for data in all_bytes(open_then_secret):
        assert SECRET.id.encode() not in data
        assert SECRET.name.encode() not in data
        assert b"secret-location-1" in data
        assert OPEN.id.encode() in data  # an open location keeps its id (and address)


def test_a_pseudonym_is_the_same_in_every_stay_and_form(engine: Engine) -> None:
    other = Location(id="shelter-zuid-geheim", name="Opvang Zuid (synthetisch)", secret=True)
    renamed = attrs.evolve(SECRET, name="Opvang Geheim, nieuwe naam")
    case = moved(engine, new_case(), 1, SECRET, "m1")
    case = moved(engine, case, 2, other, "m2")
    case = moved(engine, case, 3, None, "m3")
    case = moved(engine, case, 4, renamed, "m4")
    case = moved(engine, case, 5, other, "m5")
    expected = ["secret-location-1", "secret-location-2", "secret-location-1", "secret-location-2"]
    for kind in KINDS:
        bundle = exported(case, kind)
        assert stay_ids(bundle) == expected
        assert stay_ids(from_xml(to_xml(bundle))) == expected
    for data in all_bytes(case):
        for secret in (SECRET.id, SECRET.name, renamed.name, other.id, other.name):
            assert secret.encode() not in data


def test_two_cases_at_one_shelter_cannot_be_linked_by_it(engine: Engine) -> None:
    bundles = []
    for case_id, first in (("case-a", None), ("case-b", OPEN)):
        case = Case.open(new_case().events[0], case_id=case_id)  # type: ignore[arg-type]
        if first is not None:
            case = moved(engine, case, 1, first, "m0")
        bundles.append(exported(moved(engine, case, 2, SECRET, "m1")))
    assert stay_ids(bundles[0]) == stay_ids(bundles[1]) == ["secret-location-1"]
    for bundle in bundles:
        assert SECRET.id not in orjson.dumps(bundle).decode()


def test_a_pseudonym_skips_the_id_of_an_open_location(engine: Engine) -> None:
    open_named_so = attrs.evolve(OPEN, id="secret-location-1")
    case = moved(engine, new_case(), 1, open_named_so, "m1")
    case = moved(engine, case, 2, SECRET, "m2")
    bundle = exported(case)
    assert stay_ids(bundle) == ["secret-location-2"]
    again = bundle_to_case(bundle, engine=shipped_engine())
    assert again == as_exported(case)
    assert orjson.dumps(
        case_to_bundle(again, recipient=Recipient.internal(), engine=shipped_engine())
    ) == orjson.dumps(case_to_bundle(case, recipient=Recipient.internal(), engine=shipped_engine()))


@pytest.mark.parametrize("kind", KINDS)
def test_export_import_export_is_stable(engine: Engine, open_then_secret: Case, kind: str) -> None:
    case = moved(engine, open_then_secret, 3, attrs.evolve(SECRET, id="shelter-2", name="Tweede"), "m3")
    first = case_to_bundle(case, recipient=Recipient.internal(), engine=shipped_engine(), type=kind)  # type: ignore[arg-type]
    imported = bundle_to_case(orjson.loads(orjson.dumps(first)), engine=shipped_engine())
    assert imported == as_exported(case)
    assert imported.state.secret_locations == {"secret-location-1", "secret-location-2"}
    assert {loc.name for loc in _locations(imported) if loc.secret} == {SECRET_LOCATION_NAME}
    second = case_to_bundle(imported, recipient=Recipient.internal(), engine=shipped_engine(), type=kind)  # type: ignore[arg-type]
    assert orjson.dumps(second) == orjson.dumps(first)
    via_xml = bundle_to_case(from_xml(to_xml(first)), engine=shipped_engine())
    assert to_xml(
        case_to_bundle(via_xml, recipient=Recipient.internal(), engine=shipped_engine(), type=kind)
    ) == to_xml(first)  # type: ignore[arg-type]


def _locations(case: Case) -> list[Location]:
    settings_ = [e.care_setting for e in case.events if isinstance(e, CaseOpened | CareSettingChanged)]
    return [s.location for s in settings_ if s.location is not None]


# --- defence in depth: the exporter does not rely on the fold ------------------------------------


def test_a_location_that_was_ever_secret_is_exported_as_secret_everywhere(open_then_secret: Case) -> None:
    # A state the fold never builds: the open location's id counted as secret too.
    state = attrs.evolve(open_then_secret.state, secret_locations=frozenset({OPEN.id, SECRET.id}))
    forged = copy.copy(open_then_secret)
    object.__setattr__(forged, "_state", state)
    bundle = case_to_bundle(forged, recipient=Recipient.internal(), engine=shipped_engine())
    assert not [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Location"]
    assert stay_ids(bundle) == ["secret-location-1", "secret-location-2"]
    for data in all_bytes(forged):
        for secret in (OPEN.id, OPEN.name, ADDRESS, SECRET.id, SECRET.name):
            assert secret.encode() not in data


# --- (b) the property over generated histories ---------------------------------------------------


@dataclass(frozen=True)
class Move:
    """A change of care setting planted into a generated history, before event ``position``."""

    position: int
    location: int | None
    """Index in the pool of location ids; ``None`` is ambulant care."""
    secret: bool


POOL = 3
moves = st.builds(
    Move,
    position=st.integers(1, 200),
    location=st.sampled_from([None, *range(POOL)]),
    secret=st.booleans(),
)


def location_id(index: int) -> str:
    return f"LOCID-{index}-MARKQ"


def open_address(index: int) -> str:
    return f"ADDR-{index}-MARKQ"


def planted(move: Move, number: int) -> CareSetting:
    """The setting of a move, every free text a unique marker (a secret one a name per move)."""
    if move.location is None:
        return CareSetting(kind=CareSettingKind.AMBULANT)
    lid = location_id(move.location)
    if move.secret:
        return shelter(Location(id=lid, name=f"SECRET-NAME-{number}-MARKQ", secret=True))
    return shelter(
        Location(id=lid, name=f"OPEN-NAME-{move.location}-MARKQ", address=open_address(move.location))
    )


@dataclass
class Planted:
    """What was recorded and what was refused while planting the moves."""

    case: Case
    secret_names: dict[str, set[str]]
    refused: int = 0


def plant(engine: Engine, history_case: Case, first: Move, planned: list[Move]) -> Planted:
    base = list(history_case.events)
    opened = base[0]
    assert isinstance(opened, CaseOpened)
    opening = planted(first, 0)
    case = Case.open(attrs.evolve(opened, care_setting=opening), case_id=history_case.case_id)
    result = Planted(case, {})
    open_ids: set[str] = set()
    secret_ids: set[str] = set()

    def note(setting: CareSetting) -> None:
        location = setting.location
        if location is None:
            return
        if location.secret:
            secret_ids.add(location.id)
            result.secret_names.setdefault(location.id, set()).add(location.name)
        else:
            open_ids.add(location.id)

    note(opening)
    last = len(base) - 1 if isinstance(base[-1], CaseClosed) else len(base)
    by_position: dict[int, list[Move]] = {}
    for move in planned:
        by_position.setdefault(1 + move.position % last, []).append(move)
    number = 0
    for position in range(1, len(base) + 1):
        for move in by_position.get(position, ()):
            number += 1
            setting = planted(move, number)
            event = CareSettingChanged(id=f"move-{number}", at=base[position - 1].at, care_setting=setting)
            location = setting.location
            refusal: InvalidEventError | None = None
            try:
                case = engine.record(case, event)
            except InvalidEventError as error:
                refusal = error
            should_refuse = location is not None and location.id in (
                open_ids if location.secret else secret_ids
            )
            assert (refusal is not None) == should_refuse, "an open id became secret, or the reverse"
            if refusal is None:
                note(setting)
                continue
            assert location is not None
            assert [p.path for p in refusal.problems] == ["care_setting.location.secret"]
            never_repeats(refusal, location.id, location.name, *(open_address(i) for i in range(POOL)))
            result.refused += 1
        if position < len(base):
            case = case.append(base[position])
    result.case = case
    return result


@given(
    history=histories(max_actions=20),
    first=moves,
    planned=st.lists(moves, min_size=1, max_size=10),
)
@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_no_secret_location_leaks_from_any_history(history: Any, first: Move, planned: list[Move]) -> None:
    engine = Engine(clock=lambda: FAR_FUTURE)  # generated histories run years ahead of the real date
    result = plant(engine, history.case, first, planned)
    case = result.case
    secret = case.state.secret_locations
    event(f"moves refused: {min(result.refused, 2)}+")
    event(f"secret locations: {len(secret)}")
    assert secret == set(result.secret_names)
    assert not secret & case.state.open_locations
    pseudonyms = secret_location_pseudonyms(case)
    assert set(pseudonyms) == secret
    forbidden = [
        text.encode()
        for lid in secret
        for text in (lid, open_address(int(lid.split("-")[1])), *result.secret_names[lid])
    ]
    for data in all_bytes(case):
        for text in forbidden:
            assert text not in data
        for pseudonym in pseudonyms.values():
            assert pseudonym.encode() in data
    for kind in KINDS:
        bundle = exported(case, kind)
        # Generated histories may break rules of their own (a score without rationale, a Top 3 of
        # four); nothing may be said about a Location, a stay's location or a repeated fullUrl.
        places = {
            f"Bundle.entry[{n}]"
            for n, e in enumerate(bundle["entry"])
            if e["resource"]["resourceType"] == "Location"
        }
        located = [
            where
            for i in validate_bundle(bundle, engine=Engine())["issue"]
            if i["severity"] == "error"
            for where in i["expression"]
            if ".location" in where or ".fullUrl" in where or where.partition(".resource")[0] in places
        ]
        assert located == []
        imported = bundle_to_case(bundle, engine=shipped_engine())
        assert imported == as_exported(case)
        assert orjson.dumps(
            case_to_bundle(imported, recipient=Recipient.internal(), engine=shipped_engine(), type=kind)
        ) == orjson.dumps(bundle)  # type: ignore[arg-type]
