"""merge_bundle: a partner's scores and incidents become events, or the whole bundle is refused."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from factories import run_cli as run
from factories import shipped_engine
from ketenzorg import (
    Case,
    Engine,
    IncidentReported,
    IncidentSeverity,
    PartyRole,
    Phase,
    ScoreGiven,
    TransitionKind,
    caseformat,
    hookimpl,
)
from ketenzorg.demo import P_CLIENT, P_GGZ, P_POLICE, P_PRACTITIONER, walk
from ketenzorg.disclosure import Recipient
from ketenzorg.interop.definitions import CASE_ID, EVENT_ID, PARTY_ID
from ketenzorg.interop.fhir import case_to_bundle
from ketenzorg.interop.merge import MergeRefusedError, SenderUnknownError, merge_bundle, partner_event_id
from ketenzorg.interop.terminology import code_system
from ketenzorg.interop.validate import is_valid

PARTNER_SYSTEM = "https://politie.example.org/fhir/NamingSystem/observatie"
WHEN = "2026-03-20T10:00:00+01:00"
AT = datetime(2026, 3, 20, 10, 0, tzinfo=timezone(timedelta(hours=1)))
RATIONALE = "Partner is gezien in de straat van cliënt; contactverbod overtreden (synthetisch)."
ISSUE_SEVERITY = {"fatal", "error", "warning", "information"}


@functools.cache
def _steps() -> list[Any]:
    return walk()


@pytest.fixture
def case() -> Case:
    """The demo case in phase 2, after the Top 3 plan (2026-03-09)."""
    found: Case = _steps()[3].case
    assert found.state.phase is Phase.RISK_DRIVEN_CARE
    return found


def url(n: int) -> str:
    return f"urn:uuid:0a7e57ed-0000-4000-8000-{n:012d}"


def kind(code: str) -> dict[str, Any]:
    return {"coding": [{"system": code_system("observation-kind"), "code": code}]}


def observation(
    code: str,
    *,
    ident: str = "obs-1",
    case_id: str | None = None,
    party: str | None = P_POLICE.id,
    when: str | None = WHEN,
    note: str | None = RATIONALE,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "identifier": [{"system": PARTNER_SYSTEM, "value": ident}],
        "status": "final",
        "code": kind(code),
        "basedOn": [{"identifier": {"system": CASE_ID, "value": case_id or _steps()[3].case.case_id}}],
    }
    if party is not None:
        resource["performer"] = [{"identifier": {"system": PARTY_ID, "value": party}}]
    if when is not None:
        resource["effectiveDateTime"] = when
    if note is not None:
        resource["note"] = [{"text": note}]
    return resource


def score(value: Any = 4, **kwargs: Any) -> dict[str, Any]:
    resource = observation("safety-score", **kwargs)
    resource["valueInteger"] = value
    return resource


def incident(*, acute: bool = True, severity: str = "severe", **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("ident", "incident-1")
    kwargs.setdefault("note", "Partner verschijnt aan de deur (synthetisch).")
    resource = observation("incident", **kwargs)
    resource["valueCodeableConcept"] = {
        "coding": [{"system": code_system("incident-severity"), "code": severity}]
    }
    resource["component"] = [{"code": kind("incident-acute"), "valueBoolean": acute}]
    return resource


def bundle(*resources: dict[str, Any], type: str = "collection") -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": type,
        "entry": [{"fullUrl": url(n), "resource": r} for n, r in enumerate(resources)],
    }


def refused(
    engine: Engine, case: Case, partner: dict[str, Any], *, sender: str | None = P_POLICE.id, **kwargs: Any
) -> list[dict[str, Any]]:
    """Merge must refuse; return the errors of its OperationOutcome (and check the case is unchanged)."""
    before = case.events
    with pytest.raises(MergeRefusedError) as caught:
        merge_bundle(engine, case, partner, sender=sender, **kwargs)
    assert case.events == before
    outcome = caught.value.outcome
    assert outcome["resourceType"] == "OperationOutcome"
    assert all(i["severity"] in ISSUE_SEVERITY for i in outcome["issue"])
    assert not is_valid(outcome)
    found = [i for i in outcome["issue"] if i["severity"] in ("fatal", "error")]
    # The error's problems carry the same locations as the outcome.
    assert [p.path for p in caught.value.problems] == [(i.get("expression") or ["Bundle"])[0] for i in found]
    return found


def merged(
    engine: Engine, case: Case, partner: dict[str, Any], *, sender: str | None = P_POLICE.id, **kwargs: Any
) -> tuple[Case, dict[str, Any]]:
    new, outcome = merge_bundle(engine, case, partner, sender=sender, **kwargs)
    assert outcome["resourceType"] == "OperationOutcome"
    assert is_valid(outcome)
    assert new.events[: len(case.events)] == case.events
    return new, outcome


# --- scores --------------------------------------------------------------------------------------


def test_a_partner_score_becomes_one_score_event(engine: Engine, case: Case) -> None:
    before = case.events
    new, outcome = merged(engine, case, bundle(score(4)))
    assert case.events == before  # the given case is never changed
    assert len(new.events) == len(case.events) + 1
    event = new.events[-1]
    assert isinstance(event, ScoreGiven)
    assert event.party_id == P_POLICE.id
    assert event.role is PartyRole.CHAIN_PARTNER
    assert event.score == 4
    assert event.rationale == RATIONALE
    assert event.at == AT
    assert event.conference_id is None
    assert [i["severity"] for i in outcome["issue"]] == ["information"]
    assert new.state.latest_scores[P_POLICE.id] == event


@pytest.mark.parametrize(
    ("party", "role"),
    [
        (P_CLIENT, PartyRole.CLIENT),
        (P_PRACTITIONER, PartyRole.PRACTITIONER),
        (P_GGZ, PartyRole.CHAIN_PARTNER),
    ],
    ids=["client", "practitioner", "ggz-joined-later"],
)
def test_the_role_comes_from_the_care_team(engine: Engine, case: Case, party: Any, role: PartyRole) -> None:
    new, _ = merged(engine, case, bundle(score(6, party=party.id)), sender=party.id)
    event = new.events[-1]
    assert isinstance(event, ScoreGiven)
    assert (event.party_id, event.role, event.score) == (party.id, role, 6)


def test_merging_the_same_bundle_twice_adds_nothing(engine: Engine, case: Case) -> None:
    partner = bundle(score(4), incident(acute=False, severity="minor"))
    once, _ = merged(engine, case, partner)
    twice, outcome = merged(engine, once, partner)
    assert len(once.events) == len(case.events) + 2
    assert twice.events == once.events
    assert is_valid(outcome)


def test_the_event_id_is_stable_across_engines_and_runs(case: Case) -> None:
    first, _ = merged(Engine(), case, bundle(score(4)))
    second, _ = merged(Engine(), case, bundle(score(4)))
    assert first.events[-1].id == second.events[-1].id
    other, _ = merged(Engine(), case, bundle(score(4, ident="obs-2")))
    assert other.events[-1].id != first.events[-1].id


def test_our_own_event_id_identifier_for_a_new_event_is_refused(engine: Engine, case: Case) -> None:
    """Finding 10: a partner may not pick the id of an event (ours or another partner's)."""
    resource = score(4)
    resource["identifier"] = [{"system": EVENT_ID, "value": "partner-event-1"}, *resource["identifier"]]
    found = refused(engine, case, bundle(resource))
    assert [i["expression"][0] for i in found] == ["Bundle.entry[0].resource.identifier"]


def test_a_low_partner_score_in_phase_2_proposes_a_relapse(engine: Engine, case: Case) -> None:
    at = AT + timedelta(hours=1)
    assert engine.evaluate(case, at=at).relapse is None
    new, _ = merged(engine, case, bundle(score(4)))
    decision = engine.evaluate(new, at=at)
    assert decision.relapse is not None
    assert decision.relapse.kind is TransitionKind.RELAPSE
    assert decision.relapse.to_phase is Phase.IMMEDIATE_SAFETY
    assert new.events[-1].id in decision.relapse.evidence
    relapsed = engine.relapse(new, at=at)
    assert relapsed.state.phase is Phase.IMMEDIATE_SAFETY


def test_an_acute_partner_score_raises_the_alert(engine: Engine, case: Case) -> None:
    at = AT + timedelta(hours=1)
    assert "alert.acute-score" not in {a.rule_id for a in engine.evaluate(case, at=at).alerts}
    new, _ = merged(engine, case, bundle(score(1)))
    assert "alert.acute-score" in {a.rule_id for a in engine.evaluate(new, at=at).alerts}


def test_a_partner_score_replaces_the_partys_earlier_score(engine: Engine, case: Case) -> None:
    at = AT + timedelta(hours=1)
    new, _ = merged(engine, case, bundle(score(7)))
    decision = engine.evaluate(new, at=at)
    assert decision.relapse is None
    assert new.state.latest_scores[P_POLICE.id].score == 7


# --- incidents -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("acute", "severity"), [(True, "severe"), (False, "minor")])
def test_an_incident_becomes_an_incident_event(
    engine: Engine, case: Case, acute: bool, severity: str
) -> None:
    new, _ = merged(engine, case, bundle(incident(acute=acute, severity=severity)))
    assert len(new.events) == len(case.events) + 1
    event = new.events[-1]
    assert isinstance(event, IncidentReported)
    assert event.acute is acute
    assert event.severity is IncidentSeverity(severity)
    assert event.reported_by == P_POLICE.id
    assert event.description == "Partner verschijnt aan de deur (synthetisch)."
    assert event.at == AT


def test_an_acute_incident_raises_the_alert_and_proposes_a_relapse(engine: Engine, case: Case) -> None:
    new, _ = merged(engine, case, bundle(incident(acute=True)))
    decision = engine.evaluate(new, at=AT + timedelta(hours=1))
    assert "alert.acute-incident" in {a.rule_id for a in decision.alerts}
    assert decision.relapse is not None
    assert new.events[-1].id in decision.relapse.evidence


def test_an_incident_without_a_reporter_is_reported_by_the_sender(engine: Engine, case: Case) -> None:
    new, _ = merged(engine, case, bundle(incident(party=None)), sender=P_GGZ.id)
    event = new.events[-1]
    assert isinstance(event, IncidentReported)
    assert event.reported_by == P_GGZ.id


def test_an_incident_without_its_acute_component_is_refused(engine: Engine, case: Case) -> None:
    resource = incident()
    del resource["component"]
    found = refused(engine, case, bundle(resource))
    assert [i["expression"][0] for i in found] == ["Bundle.entry[0].resource.component"]


# --- references through entries of the bundle ----------------------------------------------------


def test_references_through_careplan_and_organization_entries(engine: Engine, case: Case) -> None:
    plan = {
        "resourceType": "CarePlan",
        "identifier": [{"system": CASE_ID, "value": case.case_id}],
        "status": "active",
        "intent": "plan",
        "subject": {"display": "Cliënt A"},
    }
    police = {
        "resourceType": "Organization",
        "identifier": [{"system": PARTY_ID, "value": P_POLICE.id}],
        "name": "Politie basisteam Demo",
    }
    resource = score(4)
    resource["basedOn"] = [{"reference": url(1)}]
    resource["performer"] = [{"reference": url(2)}]
    new, outcome = merged(engine, case, bundle(resource, plan, police))
    by_identifier, _ = merged(engine, case, bundle(score(4)))
    assert new.events == by_identifier.events
    assert [i["severity"] for i in outcome["issue"]] == ["information"]


def test_a_reference_to_a_careplan_of_another_case_is_refused(engine: Engine, case: Case) -> None:
    plan = {"resourceType": "CarePlan", "identifier": [{"system": CASE_ID, "value": "een-andere-casus"}]}
    resource = score(4)
    resource["basedOn"] = [{"reference": url(1)}]
    found = refused(engine, case, bundle(resource, plan))
    assert [i["expression"][0] for i in found] == ["Bundle.entry[0].resource.basedOn[0]"]
    assert "een-andere-casus" not in found[0]["diagnostics"]  # a value from the bundle is not echoed


def test_a_transaction_from_a_partner_merges_too(engine: Engine, case: Case) -> None:
    partner = bundle(score(4), type="transaction")
    partner["entry"][0]["request"] = {"method": "POST", "url": "Observation"}
    new, _ = merged(engine, case, partner)
    assert isinstance(new.events[-1], ScoreGiven)


# --- refusals ------------------------------------------------------------------------------------


def _no(key: str) -> Callable[[dict[str, Any]], None]:
    def change(resource: dict[str, Any]) -> None:
        del resource[key]

    return change


REFUSALS: list[Any] = [
    pytest.param(_no("note"), "note", id="no-rationale"),
    pytest.param(lambda r: r.update(note=[{"text": "  "}]), "note", id="blank-rationale"),
    pytest.param(lambda r: r.update(valueInteger=11), "valueInteger", id="11"),
    pytest.param(lambda r: r.update(valueInteger=-1), "valueInteger", id="-1"),
    pytest.param(lambda r: r.update(valueInteger="7"), "valueInteger", id="string-7"),
    pytest.param(_no("valueInteger"), "valueInteger", id="no-value"),
    pytest.param(
        lambda r: r["performer"][0]["identifier"].update(value="onbekende-partij"),
        "performer[0]",
        id="unknown-party",
    ),
    pytest.param(
        _no("performer"),
        "performer",
        id="no-performer",
    ),
    pytest.param(
        lambda r: r["basedOn"][0]["identifier"].update(value="een-andere-casus"),
        "basedOn[0]",
        id="other-case",
    ),
    pytest.param(_no("basedOn"), "basedOn", id="no-basedOn"),
    pytest.param(_no("identifier"), "identifier", id="no-identifier"),
    pytest.param(
        lambda r: r.update(effectiveDateTime="2026-03-20T10:00:00"), "effectiveDateTime", id="naive-time"
    ),
    pytest.param(lambda r: r.update(effectiveDateTime="gisteren"), "effectiveDateTime", id="not-a-time"),
    pytest.param(
        _no("effectiveDateTime"),
        "effectiveDateTime",
        id="no-time",
    ),
]


@pytest.mark.parametrize(("change", "element"), REFUSALS)
def test_a_broken_score_is_refused_with_its_location(
    engine: Engine, case: Case, change: Callable[[dict[str, Any]], None], element: str
) -> None:
    resource = score(4)
    change(resource)
    found = refused(engine, case, bundle(resource))
    assert len(found) == 1, found
    assert found[0]["severity"] == "error"
    assert found[0]["expression"] == [f"Bundle.entry[0].resource.{element}"]


@pytest.mark.parametrize("element", ["performer", "effectiveDateTime"])
def test_a_score_without_performer_or_time_is_refused(engine: Engine, case: Case, element: str) -> None:
    resource = score(4)
    del resource[element]
    found = refused(engine, case, bundle(resource))
    assert found
    assert {i["expression"][0] for i in found} == {f"Bundle.entry[0].resource.{element}"}


def test_every_problem_is_reported_at_once(engine: Engine, case: Case) -> None:
    partner = bundle(
        score(4, ident="a", note=None),
        score(11, ident="b"),
        score(4, ident="c", party="onbekende-partij"),
        score(4, ident="d", case_id="een-andere-casus"),
        score(4, ident="e", when="2026-03-20T10:00:00"),
    )
    found = refused(engine, case, partner)
    assert sorted(i["expression"][0] for i in found) == [
        "Bundle.entry[0].resource.note",
        "Bundle.entry[1].resource.valueInteger",
        "Bundle.entry[2].resource.performer[0]",
        "Bundle.entry[3].resource.basedOn[0]",
        "Bundle.entry[4].resource.effectiveDateTime",
    ]


def test_all_or_nothing(case: Case) -> None:
    heard = Listener()
    engine = Engine(plugins=[heard])
    partner = bundle(score(4, ident="good"), incident(), score(11, ident="bad"))
    found = refused(engine, case, partner)
    assert [i["expression"][0] for i in found] == ["Bundle.entry[2].resource.valueInteger"]
    assert heard.events == []


def test_a_same_event_id_with_other_content_is_refused(engine: Engine, case: Case) -> None:
    once, _ = merged(engine, case, bundle(score(4)))
    found = refused(engine, once, bundle(score(5)))
    assert len(found) == 1
    assert "other content" in found[0]["diagnostics"]


def test_not_a_bundle_is_refused_as_fatal(engine: Engine, case: Case) -> None:
    found = refused(engine, case, {"resourceType": "Observation", **score(4)})
    assert [i["severity"] for i in found] == ["fatal"]


def test_a_closed_case_takes_no_more_scores(engine: Engine) -> None:
    closed = _steps()[-1].case
    found = refused(engine, closed, bundle(score(8, when="2026-10-20T10:00:00+02:00")))
    assert len(found) == 1


def test_an_identifier_that_is_not_an_array_is_refused(engine: Engine, case: Case) -> None:
    resource = score(4)
    resource["identifier"] = resource["identifier"][0]
    found = refused(engine, case, bundle(resource))
    assert found[0]["expression"][0].startswith("Bundle.entry[0].resource")


def test_a_performer_that_is_not_an_array_is_refused_not_dropped(engine: Engine, case: Case) -> None:
    resource = score(4)
    resource["performer"] = resource["performer"][0]
    found = refused(engine, case, bundle(resource))
    assert found[0]["expression"][0].startswith("Bundle.entry[0].resource")


# --- what is not merged --------------------------------------------------------------------------


def test_an_unsupported_resource_beside_a_score_is_a_warning(engine: Engine, case: Case) -> None:
    condition = {
        "resourceType": "Condition",
        "identifier": [{"system": PARTNER_SYSTEM, "value": "cond-1"}],
        "subject": {"reference": url(2)},
        "code": {"text": "Angstklachten (synthetisch)"},
    }
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": PARTNER_SYSTEM, "value": "client-1"}],
        "name": [{"text": "Cliënt A"}],
    }
    resource = score(4)
    resource["subject"] = {"reference": url(2)}
    new, outcome = merged(engine, case, bundle(resource, condition, patient))
    assert len(new.events) == len(case.events) + 1
    assert isinstance(new.events[-1], ScoreGiven)
    warnings = [i for i in outcome["issue"] if i["severity"] == "warning"]
    assert [(i["code"], i["expression"]) for i in warnings] == [
        ("not-supported", ["Bundle.entry[1].resource"])
    ]
    assert "Condition" in warnings[0]["diagnostics"]


def test_a_phase_change_from_a_partner_is_refused_and_nothing_is_merged(engine: Engine, case: Case) -> None:
    """A partner never sends a phase change (``disclosure/data/senders.json``): the whole bundle goes back."""
    other = observation("phase-change", ident="phase-1", note="MRK-PHASE (synthetisch)")
    found = refused(engine, case, bundle(score(4), other))
    assert [(i["code"], i["expression"]) for i in found] == [("forbidden", ["Bundle.entry[1].resource"])]
    assert "phase" in found[0]["diagnostics"]
    assert "MRK-PHASE" not in found[0]["diagnostics"]


def test_our_own_export_merges_to_nothing(engine: Engine, case: Case) -> None:
    new, outcome = merged(
        engine, case, case_to_bundle(case, recipient=Recipient.internal(), engine=shipped_engine())
    )
    assert new.events == case.events
    assert {i["severity"] for i in outcome["issue"]} <= {"warning", "information"}


def test_a_later_export_of_ours_cannot_add_events_under_our_ids(engine: Engine, case: Case) -> None:
    """Our own event ids are ours: a bundle may repeat them for events we hold, never add one."""
    later = _steps()[4].case  # the acute incident of May, reported by the police
    incident_id = later.events[-1].id
    assert isinstance(later.events[-1], IncidentReported)
    exported = case_to_bundle(later, recipient=Recipient.internal(), engine=shipped_engine())
    found = refused(engine, case, exported)
    where = next(
        f"Bundle.entry[{i}].resource"
        for i, e in enumerate(exported["entry"])
        if e["resource"]["resourceType"] == "Observation"
        and {"system": EVENT_ID, "value": incident_id} in e["resource"]["identifier"]
    )
    assert [i["expression"][0] for i in found] == [f"{where}.identifier"]


# --- listeners -----------------------------------------------------------------------------------


class Listener:
    ketenzorg_plugin_name = "test.listener"

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.cases: list[Case] = []

    @hookimpl
    def ketenzorg_event_recorded(self, case: Case, event: Any) -> None:
        self.events.append(event)
        self.cases.append(case)


def test_listeners_hear_the_merged_event(case: Case) -> None:
    heard = Listener()
    engine = Engine(plugins=[heard])
    new, _ = merged(engine, case, bundle(score(4), incident()))
    assert heard.events == list(new.events[len(case.events) :])
    assert [type(e) for e in heard.events] == [ScoreGiven, IncidentReported]
    assert heard.cases[-1] == new
    assert heard.events[0] in heard.cases[0].events
    merged(engine, new, bundle(score(4), incident()))
    assert len(heard.events) == 2  # nothing new, nothing heard


def test_merge_times_keep_their_offset(engine: Engine, case: Case) -> None:
    new, _ = merged(engine, case, bundle(score(4, when="2026-03-20T09:00:00Z")))
    assert new.events[-1].at == datetime(2026, 3, 20, 9, 0, tzinfo=UTC)


# --- who sent it (finding 2) ---------------------------------------------------------------------

NOW = datetime(2026, 3, 21, 12, 0, tzinfo=timezone(timedelta(hours=1)))
"""A fixed clock for the time bounds: the day after the partner's observations."""


def at_now(**policy: Any) -> Engine:
    from ketenzorg import Policy

    return Engine(Policy(**policy), clock=lambda: NOW)


def test_without_a_sender_nothing_is_merged(engine: Engine, case: Case) -> None:
    before = case.events
    with pytest.raises(SenderUnknownError) as caught:
        merge_bundle(engine, case, bundle(score(4)))
    assert case.events == before
    [found] = caught.value.outcome["issue"]
    assert found["severity"] == "error"
    assert "who sent the bundle is not known" in found["diagnostics"]
    assert isinstance(caught.value, MergeRefusedError)


def test_a_sender_outside_the_care_team_is_refused_without_echoing_it(engine: Engine, case: Case) -> None:
    found = refused(engine, case, bundle(score(4)), sender="Jan de Vries")
    assert [(i["expression"], i["severity"]) for i in found] == [(["Bundle"], "error")]
    assert "not a member of the case's care team" in found[0]["diagnostics"]
    assert "Jan" not in found[0]["diagnostics"]


def test_the_sender_must_be_a_party_id(engine: Engine, case: Case) -> None:
    with pytest.raises(TypeError):
        merge_bundle(engine, case, bundle(score(4)), sender="")


def test_forged_8s_by_other_parties_no_longer_make_the_case_eligible_to_advance(case: Case) -> None:
    engine = at_now()
    forged = [
        score(8, party=pid, ident=f"forged-{n}", note="Alles rustig (synthetisch).")
        for n, pid in enumerate(case.state.care_team)
    ]
    found = refused(engine, case, bundle(*forged))
    others = [n for n, pid in enumerate(case.state.care_team) if pid != P_POLICE.id]
    assert len(others) == len(case.state.care_team) - 1
    assert [i["expression"][0] for i in found] == [f"Bundle.entry[{n}].resource.performer[0]" for n in others]
    # The police's own 8 is its right; alone it does not make the case eligible to advance.
    own, _ = merged(engine, case, bundle(forged[list(case.state.care_team).index(P_POLICE.id)]))
    assert engine.evaluate(own, at=NOW).advance is None


def test_a_forged_client_0_no_longer_raises_an_alert(engine: Engine, case: Case) -> None:
    found = refused(engine, case, bundle(score(0, party=P_CLIENT.id)))
    assert [i["expression"][0] for i in found] == ["Bundle.entry[0].resource.performer[0]"]
    assert "own scores" in found[0]["diagnostics"]
    assert "alert.acute-score" not in {a.rule_id for a in engine.evaluate(case, at=NOW).alerts}


@pytest.mark.parametrize("party", [P_CLIENT, P_PRACTITIONER, P_GGZ], ids=["client", "practitioner", "ggz"])
def test_a_score_by_any_other_party_is_refused(engine: Engine, case: Case, party: Any) -> None:
    found = refused(engine, case, bundle(score(6, party=party.id)))
    assert [i["expression"][0] for i in found] == ["Bundle.entry[0].resource.performer[0]"]


def test_resending_another_partys_old_7_with_a_new_identifier_and_date_is_refused(case: Case) -> None:
    engine = at_now()
    ggz_7 = score(7, party=P_GGZ.id, ident="ggz-1", when="2026-03-15T10:00:00+01:00")
    ggz_4 = score(4, party=P_GGZ.id, ident="ggz-2", when="2026-03-18T10:00:00+01:00")
    case, _ = merged(engine, case, bundle(ggz_7, ggz_4), sender=P_GGZ.id)
    assert case.state.latest_scores[P_GGZ.id].score == 4
    copy = score(7, party=P_GGZ.id, ident="ggz-1-again", when="2026-03-20T10:00:00+01:00")
    found = refused(engine, case, bundle(copy), sender=P_POLICE.id)
    assert [i["expression"][0] for i in found] == ["Bundle.entry[0].resource.performer[0]"]
    assert case.state.latest_scores[P_GGZ.id].score == 4
    # The same resource sent by the GGZ itself (its identifier) changes nothing.
    again, _ = merged(engine, case, bundle(ggz_7), sender=P_GGZ.id)
    assert again.events == case.events


def test_an_incident_reported_by_another_party_is_refused(engine: Engine, case: Case) -> None:
    found = refused(engine, case, bundle(incident(party=P_CLIENT.id)))
    assert [i["expression"][0] for i in found] == ["Bundle.entry[0].resource.performer[0]"]


def test_one_refusal_refuses_the_sender_s_own_resources_too(engine: Engine, case: Case) -> None:
    found = refused(engine, case, bundle(score(4), incident(), score(9, party=P_CLIENT.id, ident="x")))
    assert [i["expression"][0] for i in found] == ["Bundle.entry[2].resource.performer[0]"]


# --- event ids (finding 10) ----------------------------------------------------------------------


def test_two_partners_with_the_same_identifier_get_different_events(engine: Engine, case: Case) -> None:
    police, _ = merged(engine, case, bundle(score(4, ident="obs-1")))
    both, _ = merged(engine, police, bundle(score(5, party=P_GGZ.id, ident="obs-1")), sender=P_GGZ.id)
    first, second = both.events[-2:]
    assert isinstance(first, ScoreGiven)
    assert isinstance(second, ScoreGiven)
    assert (first.party_id, second.party_id) == (P_POLICE.id, P_GGZ.id)
    assert first.id != second.id


def test_a_partner_event_id_never_looks_like_one_of_ours(engine: Engine, case: Case) -> None:
    new, _ = merged(engine, case, bundle(score(4)))
    event_id = new.events[-1].id
    assert event_id == partner_event_id(P_POLICE.id, PARTNER_SYSTEM, "obs-1")
    assert event_id.startswith("partner-")
    assert len(event_id) == len("partner-") + 32
    assert event_id != partner_event_id(P_GGZ.id, PARTNER_SYSTEM, "obs-1")
    # no separator tricks: the three parts are encoded without ambiguity
    assert partner_event_id("a|b", "c", "d") != partner_event_id("a", "b|c", "d")


def test_a_resend_of_a_bundle_merged_by_an_earlier_version_changes_nothing(
    engine: Engine, case: Case
) -> None:
    import uuid

    earlier_id = uuid.uuid5(uuid.UUID("5d2c0a8e-3f4b-4c59-8d1e-2b7a9e6c4f10"), f"{PARTNER_SYSTEM}|obs-1").hex
    earlier = engine.record(
        case,
        ScoreGiven(
            id=earlier_id,
            at=AT,
            party_id=P_POLICE.id,
            role=PartyRole.CHAIN_PARTNER,
            score=4,
            rationale=RATIONALE,
        ),
    )
    incident_id = uuid.uuid5(
        uuid.UUID("5d2c0a8e-3f4b-4c59-8d1e-2b7a9e6c4f10"), f"{PARTNER_SYSTEM}|incident-1"
    ).hex
    earlier = engine.record(
        earlier,
        IncidentReported(
            id=incident_id,
            at=AT,
            severity=IncidentSeverity.SEVERE,
            acute=True,
            description="Partner verschijnt aan de deur (synthetisch).",
        ),
    )
    again, _ = merged(engine, earlier, bundle(score(4), incident(party=None)))
    assert again.events == earlier.events


def test_two_resources_of_one_bundle_with_one_identifier_and_other_content(
    engine: Engine, case: Case
) -> None:
    found = refused(engine, case, bundle(score(4), score(5)))
    assert [i["expression"][0] for i in found] == ["Bundle.entry[1].resource.identifier"]
    same, _ = merged(engine, case, bundle(score(4), score(4)))
    assert len(same.events) == len(case.events) + 1


# --- times (findings 4 and 10) -------------------------------------------------------------------


def test_a_score_dated_2099_is_refused_with_its_location(case: Case) -> None:
    found = refused(at_now(), case, bundle(score(8, when="2099-01-01T10:00:00+01:00")))
    assert [i["expression"][0] for i in found] == ["Bundle.entry[0].resource.effectiveDateTime"]
    assert "later than now" in found[0]["diagnostics"]
    assert "2099" not in found[0]["diagnostics"]


def test_an_incident_dated_9999_is_refused(case: Case) -> None:
    found = refused(at_now(), case, bundle(incident(when="9999-12-31T23:59:59Z")))
    assert [i["expression"][0] for i in found] == ["Bundle.entry[0].resource.effectiveDateTime"]


@pytest.mark.parametrize(
    ("offset", "skew", "accepted"),
    [
        (timedelta(minutes=4), 5, True),
        (timedelta(minutes=6), 5, False),
        (timedelta(minutes=1), 0, False),
        (timedelta(minutes=50), 60, True),
    ],
)
def test_the_allowed_clock_skew_is_the_policy_s(
    case: Case, offset: timedelta, skew: int, accepted: bool
) -> None:
    from ketenzorg import Policy

    engine = Engine(Policy.from_mapping({"max_clock_skew_minutes": skew}), clock=lambda: NOW)
    partner = bundle(score(4, when=(NOW + offset).isoformat()))
    if accepted:
        new, _ = merged(engine, case, partner)
        assert new.events[-1].at == NOW + offset
    else:
        found = refused(engine, case, partner)
        assert [i["expression"][0] for i in found] == ["Bundle.entry[0].resource.effectiveDateTime"]


def test_a_time_before_the_case_was_opened_is_refused(engine: Engine, case: Case) -> None:
    found = refused(engine, case, bundle(incident(when="2025-12-01T10:00:00+01:00")))
    assert [i["expression"][0] for i in found] == ["Bundle.entry[0].resource.effectiveDateTime"]
    assert "before the case was opened" in found[0]["diagnostics"]


@pytest.mark.parametrize(
    "when",
    [
        "2026-W12-5T10:00:00+01:00",  # ISO week date
        "2026-079T10:00:00+01:00",  # ordinal date
        "20260320T100000+0100",  # compact
        "20260320T0900Z",
        "2026-03-20 10:00:00+01:00",  # a space for the T
        "2026-03-20T10:00+01:00",  # no seconds (R4 requires them)
        "2026-03-20T10:00:00",  # no timezone
        "2026-03-20T10:00:00+15:00",  # beyond R4's offsets
        "2026-03-20",  # a date, not a moment
        "2026-03",
        "2026-02-30T10:00:00+01:00",  # not a date of the calendar
        "2026-12-31T23:59:60Z",  # a leap second
        "１２０２６-03-20T10:00:00Z",
    ],
)
def test_only_fhir_r4_date_times_are_accepted(engine: Engine, case: Case, when: str) -> None:
    found = refused(engine, case, bundle(score(4, when=when)))
    assert [i["expression"][0] for i in found] == ["Bundle.entry[0].resource.effectiveDateTime"]
    assert when not in found[0]["diagnostics"]


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2026-03-20T09:00:00Z", datetime(2026, 3, 20, 9, 0, tzinfo=UTC)),
        ("2026-03-20T10:00:00.1234567+01:00", AT.replace(microsecond=123456)),
        ("2026-03-20T05:00:00-04:00", datetime(2026, 3, 20, 9, 0, tzinfo=UTC)),
    ],
)
def test_r4_date_times_are_read_exactly(engine: Engine, case: Case, when: str, expected: datetime) -> None:
    new, _ = merged(engine, case, bundle(score(4, when=when)))
    assert new.events[-1].at == expected


# --- basedOn (finding 10) ------------------------------------------------------------------------


def _based_on(case_id: str) -> dict[str, Any]:
    return {"identifier": {"system": CASE_ID, "value": case_id}}


@pytest.mark.parametrize(("order", "other"), [("ours-first", 1), ("other-first", 0)])
def test_a_score_based_on_this_case_and_another_is_refused_in_any_order(
    engine: Engine, case: Case, order: str, other: int
) -> None:
    refs = [_based_on(case.case_id), _based_on("een-andere-casus")]
    resource = score(4)
    resource["basedOn"] = refs if order == "ours-first" else refs[::-1]
    found = refused(engine, case, bundle(resource))
    assert [i["expression"][0] for i in found] == [f"Bundle.entry[0].resource.basedOn[{other}]"]


def test_a_basedon_without_a_case_id_beside_ours_is_fine(engine: Engine, case: Case) -> None:
    resource = score(4)
    resource["basedOn"] = [{"display": "Politie-dossier (synthetisch)"}, _based_on(case.case_id)]
    new, _ = merged(engine, case, bundle(resource))
    assert isinstance(new.events[-1], ScoreGiven)


# --- conferences (finding 10) --------------------------------------------------------------------


def _without_police(engine: Engine, case: Case) -> tuple[Case, str]:
    from ketenzorg import ConferenceHeld

    conference = ConferenceHeld(
        id="mdo-zonder-politie",
        at=AT - timedelta(days=1),
        participants=(P_CLIENT.id, P_PRACTITIONER.id),
        client_present=True,
    )
    return engine.record(case, conference), conference.id


def _in_conference(conference_id: str, **kwargs: Any) -> dict[str, Any]:
    resource = score(6, **kwargs)
    resource["encounter"] = {"identifier": {"system": EVENT_ID, "value": conference_id}}
    return resource


def test_a_score_naming_a_conference_its_party_did_not_attend_is_refused(engine: Engine, case: Case) -> None:
    case, conference_id = _without_police(engine, case)
    found = refused(engine, case, bundle(_in_conference(conference_id)))
    assert [i["expression"][0] for i in found] == ["Bundle.entry[0].resource.encounter"]
    assert "took no part" in found[0]["diagnostics"]


def test_a_score_naming_a_conference_its_party_attended_is_merged(engine: Engine, case: Case) -> None:
    attended = case.state.last_conference
    assert attended is not None
    assert P_POLICE.id in attended.participants
    new, _ = merged(engine, case, bundle(_in_conference(attended.id)))
    event = new.events[-1]
    assert isinstance(event, ScoreGiven)
    assert event.conference_id == attended.id


def test_a_score_naming_an_unknown_conference_is_refused(engine: Engine, case: Case) -> None:
    found = refused(engine, case, bundle(_in_conference("mdo-onbekend")))
    assert [i["expression"][0] for i in found] == ["Bundle.entry[0].resource.encounter"]


def test_a_partner_s_own_encounter_is_not_a_conference(engine: Engine, case: Case) -> None:
    resource = score(6)
    resource["encounter"] = {"identifier": {"system": "https://politie.example.org/inzet", "value": "i-1"}}
    new, outcome = merged(engine, case, bundle(resource))
    event = new.events[-1]
    assert isinstance(event, ScoreGiven)
    assert event.conference_id is None
    assert [i["expression"] for i in outcome["issue"] if i["severity"] == "warning"] == [
        ["Bundle.entry[0].resource.encounter"]
    ]


# --- linear --------------------------------------------------------------------------------------


def test_a_large_bundle_is_recorded_in_one_batch(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding 7: every event is checked and folded once (record_all), not the history per event."""
    calls: list[int] = []
    record_all = Engine.record_all

    def counting(self: Engine, case: Case, events: Any) -> Case:
        batch = list(events)
        calls.append(len(batch))
        return record_all(self, case, batch)

    def one_by_one(self: Engine, case: Case, event: Any) -> Case:
        raise AssertionError("merge records the bundle as one batch")

    monkeypatch.setattr(Engine, "record_all", counting)
    monkeypatch.setattr(Engine, "record", one_by_one)
    partner = bundle(*(incident(ident=f"i-{n}", acute=False, severity="minor") for n in range(200)))
    new, _ = merged(Engine(), case, partner)
    assert calls == [200]
    assert len(new.events) == len(case.events) + 200


# --- the command line ----------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> Callable[[dict[str, Any]], tuple[Path, Path]]:
    def write(partner: dict[str, Any]) -> tuple[Path, Path]:
        case_path = tmp_path / "case.json"
        case_path.write_bytes(caseformat.dumps(_steps()[3].case))
        bundle_path = tmp_path / "partner.json"
        bundle_path.write_text(json.dumps(partner), encoding="utf-8")
        return case_path, bundle_path

    return write


def test_cli_merge_without_from_is_a_usage_error(files: Any, tmp_path: Path) -> None:
    case_path, bundle_path = files(bundle(score(4)))
    out = tmp_path / "new.json"
    result = run("merge", str(case_path), str(bundle_path), "--out", str(out))
    assert result.returncode == 2
    assert "--from PARTY" in result.stderr
    assert not out.exists()


def test_cli_merge_of_a_forged_score_exits_1_with_the_outcome(files: Any, tmp_path: Path) -> None:
    case_path, bundle_path = files(bundle(score(0, party=P_CLIENT.id)))
    out = tmp_path / "new.json"
    result = run("merge", str(case_path), str(bundle_path), "--from", P_POLICE.id, "--out", str(out))
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"{bundle_path}: error [business-rule] Bundle.entry[0].resource.performer[0]: " in result.stderr
    assert not out.exists()


def test_cli_merge_from_a_party_outside_the_care_team_exits_1(files: Any) -> None:
    case_path, bundle_path = files(bundle(score(4)))
    result = run("merge", str(case_path), str(bundle_path), "--from", "Jan de Vries")
    assert result.returncode == 1
    assert "not a member of the case's care team" in result.stderr
    assert "Jan" not in result.stderr


def test_cli_merge_from_the_sender_writes_its_score(files: Any, tmp_path: Path) -> None:
    case_path, bundle_path = files(bundle(score(4)))
    out = tmp_path / "new.json"
    result = run("merge", str(case_path), str(bundle_path), "--from", P_POLICE.id, "--out", str(out))
    assert result.returncode == 0, result.stderr
    new = caseformat.loads(out.read_bytes())
    assert isinstance(new.events[-1], ScoreGiven)
    assert new.events[-1].party_id == P_POLICE.id


def test_cli_merge_with_a_policy_bounds_the_clock_skew(files: Any, tmp_path: Path) -> None:
    soon = (datetime.now(UTC) + timedelta(minutes=30)).isoformat(timespec="seconds")
    case_path, bundle_path = files(bundle(score(4, when=soon)))
    refused_run = run("merge", str(case_path), str(bundle_path), "--from", P_POLICE.id)
    assert refused_run.returncode == 1
    assert "Bundle.entry[0].resource.effectiveDateTime" in refused_run.stderr
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"max_clock_skew_minutes": 60}), encoding="utf-8")
    accepted = run("merge", str(case_path), str(bundle_path), "--from", P_POLICE.id, "--policy", str(policy))
    assert accepted.returncode == 0, accepted.stderr


def test_a_careplan_entry_that_also_names_another_case_is_refused(engine: Engine, case: Case) -> None:
    plan = {
        "resourceType": "CarePlan",
        "identifier": [
            {"system": PARTY_ID, "value": P_POLICE.id},
            {"system": CASE_ID, "value": "een-andere-casus"},
        ],
    }
    resource = score(4)
    resource["basedOn"] = [_based_on(case.case_id), {"reference": url(1)}]
    found = refused(engine, case, bundle(resource, plan))
    assert [i["expression"][0] for i in found] == ["Bundle.entry[0].resource.basedOn[1]"]


# --- one reader of a score: merge and the case reader read alike ----------------------------------


def test_merge_reads_a_score_with_the_readers_own_reading(engine: Engine, case: Case) -> None:
    from ketenzorg.interop.fhir import read_score

    resource = score(5, note=None)
    resource["note"] = [{"text": "Eerste waarneming."}, {"text": "  Tweede, met spaties.  "}]
    new, _ = merged(engine, case, bundle(resource))
    event = new.events[-1]
    assert isinstance(event, ScoreGiven)
    reading = read_score(resource, "Bundle.entry[0].resource")
    assert event.rationale == reading.rationale == "Eerste waarneming.\n  Tweede, met spaties.  "
    assert (event.at, event.score, event.party_id) == (reading.at, reading.score, reading.party_id)


def test_a_note_of_the_wrong_shape_is_refused_not_dropped(engine: Engine, case: Case) -> None:
    resource = score(5, note=None)
    resource["note"] = {"text": RATIONALE}
    found = refused(engine, case, bundle(resource))
    assert "Bundle.entry[0].resource.note" in [i["expression"][0] for i in found]
    assert RATIONALE not in str(found)


def test_a_date_without_a_time_is_refused_alike_by_merge_and_the_case_reader(
    engine: Engine, case: Case
) -> None:
    from ketenzorg.interop.fhir import FhirMappingError, bundle_to_case

    found = refused(engine, case, bundle(score(5, when="2026-03-20")))
    assert [i["expression"][0] for i in found] == ["Bundle.entry[0].resource.effectiveDateTime"]
    exported = case_to_bundle(case, recipient=Recipient.internal(), engine=engine)
    index = next(i for i, e in enumerate(exported["entry"]) if "valueInteger" in e["resource"])
    exported["entry"][index]["resource"]["effectiveDateTime"] = "2026-03-20"
    with pytest.raises(FhirMappingError) as caught:
        bundle_to_case(exported, engine=engine)
    problems = [(p.path, p.message) for p in caught.value.problems]
    assert problems == [(f"Bundle.entry[{index}].resource.effectiveDateTime", found[0]["diagnostics"])]
    assert "date without a time" in found[0]["diagnostics"]


# --- what a partner may send, and its labels ----------------------------------------------------

CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


def labelled(resource: dict[str, Any], *labels: tuple[str, str]) -> dict[str, Any]:
    resource["meta"] = {"security": [{"system": system, "code": code} for system, code in labels]}
    return resource


def exported_labels(case: Case, event_id: str, recipient: Recipient) -> set[tuple[str, str]]:
    """The labels of the resource written for ``event_id`` in ``recipient``'s export."""
    exported = case_to_bundle(case, recipient=recipient, engine=shipped_engine())
    found = [
        e["resource"]
        for e in exported["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and {"system": EVENT_ID, "value": event_id} in e["resource"]["identifier"]
    ]
    assert len(found) == 1
    return {(label["system"], label["code"]) for label in found[0]["meta"]["security"]}


def test_a_location_from_a_partner_that_is_not_the_shelter_is_refused(engine: Engine, case: Case) -> None:
    place = {
        "resourceType": "Location",
        "identifier": [{"system": PARTNER_SYSTEM, "value": "loc-1"}],
        "name": "Opvang De Linde (synthetisch)",
    }
    found = refused(engine, case, bundle(score(4), place))
    assert [(i["code"], i["expression"]) for i in found] == [("forbidden", ["Bundle.entry[1].resource"])]
    assert "De Linde" not in found[0]["diagnostics"]


def test_a_partner_sending_another_partys_score_beside_its_own_merges_nothing(
    engine: Engine, case: Case
) -> None:
    found = refused(engine, case, bundle(score(4), score(8, ident="obs-2", party=P_CLIENT.id)))
    assert [i["expression"] for i in found] == [["Bundle.entry[1].resource.performer[0]"]]


def test_the_partner_s_labels_survive_merge_and_export(engine: Engine, case: Case) -> None:
    sent = labelled(incident(), (CONFIDENTIALITY, "V"), (ACT_CODE, "ETH"), (ACT_CODE, "NORDSCLCD"))
    new, _ = merged(engine, case, bundle(sent))
    event = new.events[-1]
    assert isinstance(event, IncidentReported)
    assert {(label.system, label.code) for label in event.security} == {
        (CONFIDENTIALITY, "V"),
        (ACT_CODE, "ETH"),
        (ACT_CODE, "NORDSCLCD"),
    }
    # kept in the case format, and what came from the partner leaves with its labels
    assert caseformat.loads(caseformat.dumps(new)).events[-1] == event
    for recipient in (Recipient.internal(), Recipient("police"), Recipient("veilig-thuis")):
        labels = exported_labels(new, event.id, recipient)
        assert {
            (CONFIDENTIALITY, "V"),
            (ACT_CODE, "ETH"),
            (ACT_CODE, "NORDSCLCD"),
            (ACT_CODE, "SDV"),
        } <= labels
        assert [code for system, code in labels if system == CONFIDENTIALITY] == ["V"]


def test_a_v_labelled_partner_score_is_exported_with_v_and_a_lower_label_never_lowers(
    engine: Engine, case: Case
) -> None:
    high, _ = merged(engine, case, bundle(labelled(score(4), (CONFIDENTIALITY, "V"))))
    low, _ = merged(engine, case, bundle(labelled(score(4), (CONFIDENTIALITY, "N"), (ACT_CODE, "PSY"))))
    for new in (high, low):
        labels = exported_labels(new, new.events[-1].id, Recipient.internal())
        assert [code for system, code in labels if system == CONFIDENTIALITY] == ["V"]
    assert (ACT_CODE, "PSY") in exported_labels(low, low.events[-1].id, Recipient.internal())


def test_an_unknown_security_label_is_refused_without_repeating_it(engine: Engine, case: Case) -> None:
    sent = labelled(score(4), (CONFIDENTIALITY, "V"), (ACT_CODE, "Kerkstraat 12 Demodorp"))
    found = refused(engine, case, bundle(sent))
    assert [(i["code"], i["expression"]) for i in found] == [
        ("code-invalid", ["Bundle.entry[0].resource.meta.security[1]"])
    ]
    assert "Kerkstraat" not in json.dumps(found)


def test_a_resend_with_other_labels_adds_nothing(engine: Engine, case: Case) -> None:
    new, _ = merged(engine, case, bundle(labelled(score(4), (CONFIDENTIALITY, "V"))))
    again, _ = merged(engine, new, bundle(labelled(score(4), (CONFIDENTIALITY, "R"))))
    assert again.events == new.events


def test_a_case_stored_before_labels_keeps_its_bytes(case: Case) -> None:
    """A field added later is written only when it holds something: stored cases keep their bytes."""
    written = caseformat.dumps(case)
    assert b'"security"' not in written
    assert caseformat.loads(written) == case
