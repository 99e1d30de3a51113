"""Per-recipient disclosure: each profile rule, the labels, the hooks, the screen and the record."""

from __future__ import annotations

import inspect
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
from disclosure_checks import dangling, schema_errors, strings, xsd_errors

from factories import shipped_engine
from ketenzorg import Case
from ketenzorg.demo import SECRET_SHELTER, build_demo_case
from ketenzorg.disclosure import (
    Disclosure,
    DisclosureProfile,
    ListScreen,
    Recipient,
    UnknownRecipientError,
    append_log,
    bytes_sha256,
    disclose,
    log_path_for,
    profiles_from_mapping,
    shipped_profiles,
)
from ketenzorg.disclosure.redact import classify
from ketenzorg.errors import PolicyError, ValidationError
from ketenzorg.hookspecs import hookimpl
from ketenzorg.interop.definitions import DATA_ABSENT_REASON, X_EVIDENCE
from ketenzorg.interop.export import unredacted_bundle
from ketenzorg.interop.fhir import case_to_bundle
from ketenzorg.interop.fhirxml import to_xml
from ketenzorg.testing import engine_with

CLIENT_PERSON = "0d4cf98bc0fb5f848b97be295e09484a"
PARTNER_PERSON = "330df7cb7c165a91aba9edcd2bca92e4"
CHILD_PERSON = "24b234dfe3bd5fbf8723001780cc9046"
VEILIG_THUIS_PARTY = "d492b8d1519753bd8065631f118d840b"
MASKED = {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": "masked"}]}


@cache
def demo() -> Case:
    return build_demo_case()


def sent(recipient: Recipient, **kwargs: Any) -> dict[str, Any]:
    return disclose(demo(), engine=shipped_engine(), recipient=recipient, **kwargs).bundle


def of(bundle: dict[str, Any], category: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle.get("entry", []) if classify(e["resource"]) == category]


def labels(resource: dict[str, Any]) -> set[str]:
    return {label["code"] for label in resource["meta"]["security"]}


# --- the API -------------------------------------------------------------------------------------


def test_no_public_export_without_a_recipient() -> None:
    parameter = inspect.signature(case_to_bundle).parameters["recipient"]
    assert parameter.default is inspect.Parameter.empty
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    with pytest.raises(TypeError):
        case_to_bundle(demo(), engine=shipped_engine())  # type: ignore[call-arg]


def test_internal_is_the_whole_case_labelled() -> None:
    full = unredacted_bundle(demo(), engine=shipped_engine())
    internal = case_to_bundle(demo(), engine=shipped_engine(), recipient=Recipient.internal())
    assert [e["fullUrl"] for e in internal["entry"]] == [e["fullUrl"] for e in full["entry"]]
    for mine, theirs in zip(internal["entry"], full["entry"], strict=True):
        assert {k: v for k, v in mine["resource"].items() if k != "meta"} == theirs["resource"]


def test_an_unknown_recipient_is_refused_with_the_known_ones() -> None:
    with pytest.raises(UnknownRecipientError) as caught:
        sent(Recipient("Jan de Vries"))
    assert "Jan de Vries" not in str(caught.value)
    assert "police" in str(caught.value)
    assert "internal" in str(caught.value)


# --- labels --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(shipped_profiles()))
def test_every_resource_and_the_bundle_are_labelled(kind: str) -> None:
    bundle = sent(Recipient(kind))
    for entry in bundle.get("entry", []):
        found = labels(entry["resource"])
        assert "SDV" in found
        assert len(found & {"R", "V"}) == 1
    top = labels(bundle)
    assert {"NORDSCLCD", "SDV", shipped_profiles()[kind].purpose} <= top


def test_derived_resources_carry_the_highest_confidentiality_of_their_inputs() -> None:
    bundle = sent(Recipient.internal())
    assert of(bundle, "safety-score")
    assert all("V" in labels(r) for r in of(bundle, "safety-score"))
    # a phase change and the trajectory are derived from scores (V), a Top 3 from the instrument result
    for category in ("phase", "trajectory", "goal"):
        assert all("V" in labels(r) for r in of(bundle, category)), category
    assert all("R" in labels(r) for r in of(bundle, "client"))


def test_mental_health_content_is_labelled_psy() -> None:
    scores = of(sent(Recipient.internal()), "safety-score")
    ggz = [s for s in scores if "GGZ" in s["performer"][0].get("display", "")]
    assert ggz
    assert all("PSY" in labels(s) for s in ggz)
    assert any("PSY" not in labels(s) for s in scores)


# --- profile rules -------------------------------------------------------------------------------


def test_police_gets_instrument_results_but_not_the_answers() -> None:
    bundle = sent(Recipient("police"))
    assert of(bundle, "instrument-result")
    assert not of(bundle, "instrument-answers")


@pytest.mark.parametrize("kind", sorted(set(shipped_profiles()) - {"internal"}))
def test_no_one_but_the_organisation_receives_a_care_setting_or_location(kind: str) -> None:
    bundle = sent(Recipient(kind))
    assert not of(bundle, "stay")
    assert not of(bundle, "location")
    assert SECRET_SHELTER.name not in set(strings(bundle))


def test_school_receives_only_what_concerns_the_child_it_teaches() -> None:
    bundle = sent(Recipient("school", person=CHILD_PERSON))
    people = of(bundle, "child") + of(bundle, "person-who-used-violence") + of(bundle, "network-member")
    assert [p["identifier"][0]["value"] for p in people] == [CHILD_PERSON]
    assert not of(bundle, "goal")
    assert not of(bundle, "instrument-answers")
    assert not of(bundle, "safety-score")
    # the one agreement of the demo is the partner's: not the school's
    assert all("activity" not in plan for plan in of(bundle, "safety-plan"))


def test_agreements_that_concern_the_recipient_only() -> None:
    mine = sent(Recipient("person-who-used-violence", person=PARTNER_PERSON))
    plans = of(mine, "safety-plan")
    assert any("activity" in plan for plan in plans)
    others = sent(Recipient("network-member", person=CHILD_PERSON))
    assert all("activity" not in plan for plan in of(others, "safety-plan"))


def test_a_withheld_free_text_is_masked_not_dropped() -> None:
    full = of(sent(Recipient.internal()), "trajectory")
    assert full
    assert isinstance(full[0]["description"], str)
    ggz = of(sent(Recipient("ggz")), "trajectory")
    assert ggz
    assert "description" not in ggz[0]
    assert ggz[0]["_description"] == MASKED


def test_rationales_of_other_parties_are_masked_own_are_kept() -> None:
    bundle = sent(Recipient("veilig-thuis", party=VEILIG_THUIS_PARTY))
    scores = of(bundle, "safety-score")
    own = [s for s in scores if s["performer"][0]["identifier"]["value"] == VEILIG_THUIS_PARTY]
    others = [s for s in scores if s not in own]
    assert own
    assert others
    assert any("text" in n for s in own for n in s.get("note", []))
    assert all(n == {"_text": MASKED} for s in others for n in s.get("note", []))


def test_phase_evidence_is_masked_when_its_inputs_are_withheld() -> None:
    phases = of(sent(Recipient("gp")), "phase")
    evidence = [x for p in phases for x in p.get("extension", []) if x["url"] == X_EVIDENCE]
    assert evidence
    assert all("valueString" not in x and x["_valueString"] == MASKED for x in evidence)
    full = of(sent(Recipient.internal()), "phase")
    assert any("valueString" in x for p in full for x in p.get("extension", []) if x["url"] == X_EVIDENCE)


def test_a_top_3_goes_only_with_the_plan_it_was_derived_from() -> None:
    profiles = profiles_from_mapping(
        {"ggz": {"version": "2", "resources": ["organisation", "client", "goal", "phase"]}}
    )
    bundle = sent(Recipient("ggz"), profiles=profiles)
    assert not of(bundle, "goal")
    assert not of(bundle, "safety-plan")


@pytest.mark.parametrize("kind", sorted(shipped_profiles()))
@pytest.mark.parametrize("type", ["collection", "transaction"])
def test_every_shipped_profile_gives_a_valid_bundle_without_dangling_references(kind: str, type: str) -> None:
    bundle = sent(Recipient(kind, party=VEILIG_THUIS_PARTY, person=CHILD_PERSON), type=type)
    assert dangling(bundle) == []
    assert schema_errors(bundle) == []
    assert xsd_errors(to_xml(bundle)) == []


# --- the person who used violence ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["client", "network-member", "wijkteam", "person-who-used-violence"])
def test_the_person_who_used_violence_gets_his_own_profile_whatever_the_kind(kind: str) -> None:
    result = disclose(demo(), engine=shipped_engine(), recipient=Recipient(kind, person=PARTNER_PERSON))
    assert result.record.profile_id == "person-who-used-violence"
    bundle = result.bundle
    for category in ("stay", "location", "network-member", "child", "care-team", "case-conference", "party"):
        assert not of(bundle, category), category
    assert "address" not in set(strings(bundle))
    assert not of(bundle, "trajectory")  # its region names the municipality the client lives in


# --- profiles as configuration -------------------------------------------------------------------


def test_shipped_profiles_cover_every_kind_of_the_issue() -> None:
    assert set(shipped_profiles()) >= {
        "police",
        "veilig-thuis",
        "youth-protection",
        "raad-kinderbescherming",
        "ggz",
        "wijkteam",
        "gp",
        "school",
        "reclassering",
        "client",
        "network-member",
        "internal",
    }
    for profile in shipped_profiles().values():
        assert profile.legal_basis.text
        assert profile.legal_basis.reference
        assert profile.version


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        (
            {"school": {"version": "2", "free_text": ["agreement", "secrets"]}},
            "disclosure.school.free_text[1]",
        ),
        ({"school": {"version": "2", "purpose": "GOSSIP"}}, "disclosure.school.purpose"),
        ({"school": {"version": "2", "colour": "red"}}, "disclosure.school.colour"),
        ({"school": {"free_text": []}}, "disclosure.school.version"),
        ({"internal": {"version": "2", "resources": []}}, "disclosure.internal"),
        ({"sport-club": {"version": "1", "title": "Sport club"}}, "disclosure.sport-club.purpose"),
        ({"gp": {"version": "2", "agreements": "some"}}, "disclosure.gp.agreements"),
        ({"gp": {"version": "2", "legal_basis": {"text": "x"}}}, "disclosure.gp.legal_basis"),
    ],
)
def test_a_bad_override_is_refused_naming_profile_and_field(overrides: dict[str, Any], path: str) -> None:
    with pytest.raises(PolicyError) as caught:
        profiles_from_mapping(overrides)
    assert path in [p.path for p in caught.value.problems]
    assert "GOSSIP" not in str(caught.value)
    assert "red" not in str(caught.value)


def test_an_organisation_adds_and_overrides_profiles() -> None:
    profiles = profiles_from_mapping(
        {
            "school": {"version": "2", "resources": ["organisation", "client"]},
            "sport-club": {
                "version": "1",
                "title": "Sport club",
                "purpose": "COC",
                "legal_basis": {"text": "consent", "reference": "AVG art. 6(1)(a)"},
                "resources": ["client"],
                "rationales": "none",
                "free_text": [],
                "agreements": "none",
                "persons": "concerning",
            },
        }
    )
    assert profiles["school"].version == "2"
    assert profiles["school"].free_text == {"agreement"}
    result = disclose(demo(), engine=shipped_engine(), recipient=Recipient("sport-club"), profiles=profiles)
    assert {e["resource"]["resourceType"] for e in result.bundle["entry"]} == {"Patient"}
    assert result.record.profile_id == "sport-club"


# --- hooks ---------------------------------------------------------------------------------------


class NothingPolicy:
    """An organisation's policy decision: the police gets the client only."""

    @hookimpl
    def ketenzorg_disclosure_profile(self, recipient: Recipient) -> DisclosureProfile | None:
        if recipient.kind != "police":
            return None
        base = shipped_profiles()["police"]
        import attrs

        return attrs.evolve(base, id="police-minimal", resources=frozenset({"client"}))


def test_a_policy_plugin_decides_the_profile() -> None:
    engine = engine_with(NothingPolicy())
    result = disclose(demo(), engine=engine, recipient=Recipient("police"))
    assert result.record.profile_id == "police-minimal"
    assert {e["resource"]["resourceType"] for e in result.bundle["entry"]} == {"Patient"}
    assert disclose(demo(), engine=engine, recipient=Recipient("gp")).record.profile_id == "gp"


class AddressRegister:
    @hookimpl
    def ketenzorg_screen_text(self, text: str) -> bool:
        return "enkelband" in text


def test_a_screen_plugin_withholds_a_text_and_the_record_counts_it() -> None:
    recipient = Recipient("person-who-used-violence", person=PARTNER_PERSON)
    plain = disclose(demo(), engine=shipped_engine(), recipient=recipient)
    hits = sum("enkelband" in s for s in strings(plain.bundle))
    assert hits > 0
    screened = disclose(demo(), engine=engine_with(AddressRegister()), recipient=recipient)
    assert not any("enkelband" in s for s in strings(screened.bundle))
    # one count for each text withheld (the agreement stands in each version of the plan)
    assert screened.record.screened_texts == hits
    assert plain.record.screened_texts == 0
    assert schema_errors(screened.bundle) == []


def test_the_list_screen_reads_a_file_case_and_space_insensitively(tmp_path: Path) -> None:
    path = tmp_path / "secret-addresses.txt"
    path.write_text("# register\n\nKOMT   niet in\n", encoding="utf-8")
    screen = ListScreen.from_file(path)
    assert screen("Partner draagt enkelband en komt niet\tin de wijk")
    assert not screen("komt wel in")
    recipient = Recipient("person-who-used-violence", person=PARTNER_PERSON)
    result = disclose(demo(), engine=shipped_engine(), recipient=recipient, screens=[screen])
    assert result.record.screened_texts > 0
    assert not any("komt niet in" in s for s in strings(result.bundle))


def test_an_unreadable_screen_list_is_an_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"missing\.txt"):
        ListScreen.from_file(tmp_path / "missing.txt")


# --- the record ----------------------------------------------------------------------------------


def test_the_record_names_the_recipient_profile_and_what_was_sent(tmp_path: Path) -> None:
    recipient = Recipient(
        "police", organisation_system="urn:oid:2.16.528.1.1007.3.3", organisation_value="123"
    )
    result = disclose(demo(), engine=shipped_engine(), recipient=recipient)
    record = result.record
    assert record.recipient == recipient
    assert record.profile_id == "police"
    assert record.purpose == "THREAT"
    assert [(s.type, s.id) for s in record.sent] == [
        (e["resource"]["resourceType"], e["resource"]["id"]) for e in result.bundle["entry"]
    ]
    assert record.withheld_resources == 84 - len(result.bundle["entry"])
    assert record.sha256 is None
    data = orjson.dumps(result.bundle)
    output = tmp_path / "police.json"
    output.write_bytes(data)
    with pytest.raises(ValidationError):
        append_log(log_path_for(output), record)
    done = record.written(data, format="json", user="u1", responsible_user="u2")
    append_log(log_path_for(output), done)
    logged = [orjson.loads(line) for line in log_path_for(output).read_bytes().splitlines()]
    assert len(logged) == 1
    assert logged[0]["sha256"] == bytes_sha256(output.read_bytes())
    assert Disclosure.from_mapping(logged[0]) == done
    assert logged[0]["recipient"]["organisation_value"] == recipient.organisation_value


def test_a_disclosure_becomes_a_balp_privacy_disclosure_audit_event() -> None:
    from ketenzorg.disclosure import to_audit_event

    recipient = Recipient(
        "police", organisation_system="urn:oid:2.16.528.1.1007.3.3", organisation_value="123"
    )
    result = disclose(demo(), engine=shipped_engine(), recipient=recipient)
    data = orjson.dumps(result.bundle)
    record = result.record.written(data, format="json", user="u1", responsible_user="u2")
    event = to_audit_event(record, source="ketenzorg test")
    assert event["type"]["code"] == "110106"
    assert event["subtype"][0]["code"] == "disclose"
    assert event["purposeOfEvent"][0]["coding"][0]["code"] == "THREAT"
    destination = next(a for a in event["agent"] if a["type"]["coding"][0]["code"] == "110152")
    assert destination["who"]["identifier"]["value"] == recipient.organisation_value
    details = {d["type"]: d["valueString"] for e in event["entity"] for d in e.get("detail", [])}
    assert details["sha256"] == bytes_sha256(data)
    sent_ids = {e["what"]["identifier"]["value"] for e in event["entity"] if e["role"]["code"] == "4"}
    assert sent_ids == {f"urn:uuid:{s.id}" for s in record.sent}
    shell = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": event}]}
    assert schema_errors(shell) == []
    assert xsd_errors(to_xml(event)) == []


def test_a_text_in_an_extension_the_redaction_does_not_know_is_masked() -> None:
    from ketenzorg.disclosure.redact import redact_bundle

    bundle = unredacted_bundle(demo(), engine=shipped_engine())
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    patient["extension"] = [{"url": "https://example.org/fhir/new-note", "valueString": "Dorpsstraat 1"}]
    result = redact_bundle(
        bundle, recipient=Recipient("police"), profile=shipped_profiles()["police"], screen=None
    )
    sent_patient = of(result.bundle, "client")[0]
    assert sent_patient["extension"] == [{"url": "https://example.org/fhir/new-note", "_valueString": MASKED}]
    assert "Dorpsstraat 1" not in set(strings(result.bundle))
    assert schema_errors(result.bundle) == []


def test_references_to_a_withheld_resource_go_wherever_they_stand_in_every_resource_of_a_category() -> None:
    from ketenzorg.disclosure.redact import redact_bundle

    stay = "urn:uuid:00000000-0000-4000-8000-000000000001"
    kind = {
        "coding": [
            {"system": "https://fhir.ketenzorg.nl/CodeSystem/observation-kind", "code": "safety-score"}
        ]
    }

    def score(n: int, **refs: Any) -> dict[str, Any]:
        resource = {"resourceType": "Observation", "id": f"s{n}", "code": kind, "valueInteger": n, **refs}
        return {"fullUrl": f"urn:uuid:00000000-0000-4000-8000-00000000001{n}", "resource": resource}

    other = {"reference": "urn:uuid:00000000-0000-4000-8000-000000000011"}
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": stay, "resource": {"resourceType": "Encounter", "id": "stay"}},
            score(1, encounter={"reference": stay}),
            score(2, encounter={"reference": stay, "display": "x"}, partOf=[{"reference": stay}, other]),
            score(3, partOf=[{"reference": stay}]),
            score(4, encounter={"reference": stay}, hasMember=[other]),
        ],
    }
    profile = shipped_profiles()["raad-kinderbescherming"]
    result = redact_bundle(
        bundle, recipient=Recipient("raad-kinderbescherming"), profile=profile, screen=None
    )
    sent = {
        r["id"]: {k: v for k, v in r.items() if k not in ("meta", "code")}
        for r in of(result.bundle, "safety-score")
    }
    assert sent == {
        "s1": {"resourceType": "Observation", "id": "s1", "valueInteger": 1, "encounter": MASKED},
        "s2": {
            "resourceType": "Observation",
            "id": "s2",
            "valueInteger": 2,
            "encounter": MASKED,
            "partOf": [other],
        },
        "s3": {"resourceType": "Observation", "id": "s3", "valueInteger": 3},
        "s4": {
            "resourceType": "Observation",
            "id": "s4",
            "valueInteger": 4,
            "encounter": MASKED,
            "hasMember": [other],
        },
    }
    assert result.masked_elements == 5
    assert result.withheld_resources == 1
    assert stay not in orjson.dumps(result.bundle).decode()
