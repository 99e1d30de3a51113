"""Retention rules, the legal hold, and ``ketenzorg store retention/hold/release/destroy``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import attrs
import pytest
from tests.factories import run_cli

from ketenzorg import caseformat
from ketenzorg.case import Case
from ketenzorg.demo import walk
from ketenzorg.domain import Person, PersonRole
from ketenzorg.engine import Engine
from ketenzorg.errors import PolicyError
from ketenzorg.events import CaseOpened
from ketenzorg.store import Actor, CaseStore
from ketenzorg.store.retention import (
    LegalHoldError,
    RetentionRules,
    _add_years,
    legal_hold,
    load_retention,
    set_hold,
)

ACTOR = ("--user", "u-17", "--role", "practitioner", "--organisation", "org-1")
ME = Actor(user="u-17", role="practitioner", organisation="org-1")
CLOSED_ON = dt.date(2026, 10, 5)  # the demo case's closing date


def closed_case(child_years: tuple[int | None, ...] | None = None) -> Case:
    """The demo case, closed on 5 October 2026; ``child_years`` replaces its children."""
    case = walk()[-1].case
    if child_years is None:
        return case
    opened = case.events[0]
    assert isinstance(opened, CaseOpened)
    others = tuple(p for p in opened.persons if p.role is not PersonRole.CHILD)
    children = tuple(
        Person(id=f"child-{i}", role=PersonRole.CHILD, label=f"child {i}", birth_year=year)
        for i, year in enumerate(child_years)
    )
    events = (attrs.evolve(opened, persons=others + children), *case.events[1:])
    return Engine().replay(case.case_id, events)


def test_youth_care_youth_protection_and_medical_keep_20_years_after_care_ends() -> None:
    case = closed_case()
    for kind in ("youth_care", "youth_protection", "medical"):
        due = RetentionRules(kind=kind).date(case)
        assert due.closed_on == CLOSED_ON
        assert due.until == dt.date(2046, 10, 5)
        assert due.rule == "20 years after care ends"


def test_a_closing_on_29_february_counts_to_1_march() -> None:
    assert _add_years(dt.date(2024, 2, 29), 20) == dt.date(2044, 2, 29)
    assert _add_years(dt.date(2024, 2, 29), 15) == dt.date(2039, 3, 1)


@pytest.mark.parametrize(
    ("children", "until", "basis"),
    [
        ((2019,), dt.date(2038, 1, 1), "the youngest child's birth year"),
        ((2010, 2019, 2014), dt.date(2038, 1, 1), "the youngest child's birth year"),
        ((2025,), dt.date(2041, 10, 5), "the maximum after the closing date"),
        ((2005,), CLOSED_ON, "the youngest child's birth year"),
        ((), dt.date(2041, 10, 5), "no child's birth year recorded: the maximum"),
        ((None,), dt.date(2041, 10, 5), "no child's birth year recorded: the maximum"),
    ],
)
def test_veilig_thuis_keeps_until_the_youngest_child_is_18_at_most_15_years(
    children: tuple[int | None, ...], until: dt.date, basis: str
) -> None:
    due = RetentionRules(kind="veilig_thuis").date(closed_case(children))
    assert (due.until, due.basis) == (until, basis)
    assert due.rule == "until the youngest child is 18, at most 15 years"


def test_an_open_case_is_never_past_its_date() -> None:
    case = walk()[5].case
    assert not case.state.is_closed
    due = RetentionRules().date(case)
    assert due.until is None
    assert not due.past(dt.date(2200, 1, 1))


def test_a_case_can_have_another_kind_than_the_store() -> None:
    case = closed_case()
    rules = RetentionRules.from_mapping(
        {
            "kind": "medical",
            "cases": {case.case_id: "veilig_thuis"},
            "rules": {"medical": {"years_after_care": 25}},
        }
    )
    assert rules.date(case).kind == "veilig_thuis"
    assert RetentionRules.from_mapping(
        {"kind": "medical", "rules": {"medical": {"years_after_care": 25}}}
    ).date(case).until == dt.date(2051, 10, 5)


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"kind": "archive"}, "kind"),
        ({"rules": {"medical": {"years_after_care": -1}}}, "rules.medical.years_after_care"),
        ({"rules": {"medical": {"years_after_care": "20"}}}, "rules.medical.years_after_care"),
        ({"rules": {"medical": {"years": 20}}}, "rules.medical.years"),
        ({"rules": {"medical": {}}}, "rules.medical"),
        ({"rules": {"vt": {"youngest_child_age": 18}}}, "rules.vt"),
        (
            {"rules": {"medical": {"years_after_care": 20, "at_most_years": 15}}},
            "rules.medical.at_most_years",
        ),
        ({"cases": {"c-1": "nope"}}, "cases.c-1"),
        ({"retain": 1}, "retain"),
    ],
)
def test_bad_rules_are_refused_with_their_path(data: object, path: str) -> None:
    with pytest.raises(PolicyError) as caught:
        RetentionRules.from_mapping(data)
    assert path in [p.path for p in caught.value.problems]


def test_a_bad_rules_file_names_the_file_and_the_path(tmp_path: Path) -> None:
    bad = tmp_path / "retention.json"
    bad.write_text(json.dumps({"rules": {"medical": {"years_after_care": 1000}}}))
    with pytest.raises(PolicyError) as caught:
        load_retention(str(bad))
    assert str(bad) in str(caught.value)
    assert "rules.medical.years_after_care" in str(caught.value)
    result = run_cli("store", "retention", "--retention", str(bad), "--store", str(tmp_path / "s.db"))
    assert result.returncode == 1
    assert "rules.medical.years_after_care" in result.stderr


def test_a_legal_hold_blocks_destroy_until_released(tmp_path: Path) -> None:
    case = closed_case()
    with CaseStore.open(tmp_path / "s.db", engine=Engine()) as store:
        store.create(case, actor=ME, command="test")
        set_hold(store, case.case_id, hold=True, reason="RBNHO C/15/1", actor=ME, command="test")
        held = legal_hold(store, case.case_id)
        assert held is not None
        assert held.entry.action == "hold"
        with pytest.raises(LegalHoldError, match="under legal hold"):
            store.destroy(case.case_id, reason="due", actor=ME)
        assert store.load(case.case_id).version == len(case.events)
        set_hold(store, case.case_id, hold=False, reason="RBNHO C/15/1 decided", actor=ME, command="test")
        assert legal_hold(store, case.case_id) is None
        store.destroy(case.case_id, reason="due", actor=ME)
        assert [r.entry.action for r in store.audit(case.case_id)] == ["append", "hold", "release", "destroy"]
        assert store.verify() == ()


@pytest.fixture
def closed_store(tmp_path: Path) -> tuple[Path, str]:
    case = closed_case()
    (tmp_path / "case.json").write_bytes(caseformat.dumps(case))
    store = tmp_path / "ketenzorg.db"
    result = run_cli("store", "open", "--from", str(tmp_path / "case.json"), "--store", str(store), *ACTOR)
    assert result.returncode == 0, result.stderr
    return store, case.case_id


def test_retention_lists_cases_past_their_date_with_the_rule(closed_store: tuple[Path, str]) -> None:
    store, case_id = closed_store
    before = run_cli("store", "retention", "--json", "--at", "2046-10-04", "--store", str(store))
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["past_retention"] == []
    after = run_cli("store", "retention", "--json", "--at", "2046-10-05", "--store", str(store))
    rows = json.loads(after.stdout)["past_retention"]
    assert rows == [
        {
            "case_id": case_id,
            "kind": "youth_care",
            "rule": "20 years after care ends",
            "closed_on": "2026-10-05",
            "retain_until": "2046-10-05",
            "basis": "closing date",
            "legal_hold": False,
        }
    ]
    text = run_cli("store", "retention", "--at", "2046-10-05", "--store", str(store))
    assert f"{case_id}  youth_care: 20 years after care ends" in text.stdout


def test_destroy_refuses_a_held_case_and_one_within_its_period(
    closed_store: tuple[Path, str], tmp_path: Path
) -> None:
    store, case_id = closed_store
    destroy = ("store", "destroy", case_id, "--reason", "due", "--yes", "--store", str(store), *ACTOR)
    early = run_cli(*destroy, "--at", "2030-01-01")
    assert early.returncode == 2
    assert "within its retention period" in early.stderr
    assert "until 2046-10-05" in early.stderr

    held = run_cli("store", "hold", case_id, "--reason", "ECLI:NL:X:1", "--store", str(store), *ACTOR)
    assert held.returncode == 0, held.stderr
    blocked = run_cli(*destroy, "--at", "2050-01-01")
    assert blocked.returncode == 1
    assert f"case {case_id} is under legal hold" in blocked.stderr
    listed = json.loads(
        run_cli("store", "retention", "--json", "--at", "2050-01-01", "--store", str(store)).stdout
    )
    assert listed["past_retention"][0]["legal_hold"] is True
    assert (
        run_cli("store", "hold", case_id, "--reason", "again", "--store", str(store), *ACTOR).returncode == 1
    )

    released = run_cli("store", "release", case_id, "--reason", "lifted", "--store", str(store), *ACTOR)
    assert released.returncode == 0, released.stderr
    # a shorter rule from a file: past on 2030-01-01
    rules = tmp_path / "retention.json"
    rules.write_text(json.dumps({"rules": {"youth_care": {"years_after_care": 2}}}))
    destroyed = run_cli(*destroy, "--at", "2030-01-01", "--retention", str(rules))
    assert destroyed.returncode == 0, destroyed.stderr


def test_destroy_early_needs_a_reason_and_records_it(closed_store: tuple[Path, str]) -> None:
    store, case_id = closed_store
    destroyed = run_cli(
        "store", "destroy", case_id, "--reason", "ECLI:NL:RBNHO:2021:5101", "--yes",
        "--force-early", "court order", "--store", str(store), *ACTOR,
    )  # fmt: skip
    assert destroyed.returncode == 0, destroyed.stderr
    with CaseStore.open(store, engine=Engine()) as opened:
        last = opened.audit(case_id)[-1].entry
    assert last.action == "destroy"
    assert last.reason == "ECLI:NL:RBNHO:2021:5101 (early: court order)"
