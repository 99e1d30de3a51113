"""ketenzorg.testing: the helpers plugin authors (and these tests) build cases and answers with."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import factories
from ketenzorg import (
    IncidentSeverity,
    InvalidEventError,
    Phase,
    PolicyError,
    TransitionBlockedError,
)
from ketenzorg import testing as kt
from ketenzorg.instruments import AnswerType, InstrumentSpec, Item, validate_answers

GUIDE = Path(__file__).parent.parent / "docs" / "plugins.md"


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_import_ketenzorg_does_not_load_the_testing_module() -> None:
    assert _run("import sys, ketenzorg; print('ketenzorg.testing' in sys.modules)") == "False"


def test_the_testing_module_needs_no_test_framework() -> None:
    loaded = _run(
        "import sys, ketenzorg.testing; "
        "print(sorted(m for m in ('pytest', 'hypothesis', '_pytest') if m in sys.modules))"
    )
    assert loaded == "[]"


def test_the_project_tests_use_the_same_builders() -> None:
    """One implementation: the project's factories are the public helpers, not copies."""
    for name in ("new_case", "conference", "plan", "incident", "case_in_phase_2", "day", "opened"):
        assert getattr(factories, name) is getattr(kt, name), name
    assert factories.TEAM is kt.TEAM


# --- engine_with ---------------------------------------------------------------------------------


def test_engine_with_loads_the_given_plugins_only() -> None:
    from ketenzorg import hookimpl

    class Listener:
        ketenzorg_plugin_name = "test.listener"

        def __init__(self) -> None:
            self.seen: list[str] = []

        @hookimpl
        def ketenzorg_event_recorded(self, event: object) -> None:
            self.seen.append(type(event).__name__)

    listener = Listener()
    engine = kt.engine_with(listener)
    assert engine.entry_points is False
    assert "test.listener" in {info.name for info in engine.plugin_info()}
    kt.CaseBuilder(engine).incident(kt.day(1))
    assert listener.seen == ["IncidentReported"]
    assert "test.listener" not in {info.name for info in kt.engine_with().plugin_info()}


def test_engine_with_reads_a_policy_mapping_as_a_policy_file() -> None:
    engine = kt.engine_with(policy={"advance_threshold": 7})
    assert engine.policy.advance_threshold == 7
    with pytest.raises(PolicyError):
        kt.engine_with(policy={"advance_treshold": 7})


def test_engine_with_blocks_by_name() -> None:
    engine = kt.engine_with(block={"ketenzorg.geweldsanalyse"})
    assert "geweldsanalyse" not in engine.instruments


# --- the case builder ----------------------------------------------------------------------------


def test_the_builder_walks_a_case_to_phase_2() -> None:
    builder = kt.CaseBuilder(kt.engine_with()).conference(kt.day(7), scores=6).plan()
    assert builder.evaluate().may_advance
    assert builder.advance().case.state.phase is Phase.RISK_DRIVEN_CARE


def test_a_refused_step_raises_and_leaves_the_case() -> None:
    builder = kt.CaseBuilder(kt.engine_with()).conference(kt.day(7), scores={kt.POLICE.id: 5})
    before = builder.case
    with pytest.raises(TransitionBlockedError):
        builder.advance()
    assert builder.case is before
    with pytest.raises(InvalidEventError):
        builder.score("nobody", 6)
    assert builder.case is before


def test_a_plan_needs_a_conference_first() -> None:
    with pytest.raises(ValueError, match="conference first"):
        kt.CaseBuilder(kt.engine_with()).plan()


def test_the_builder_records_team_changes_incidents_and_assessments() -> None:
    builder = (
        kt.CaseBuilder(kt.engine_with())
        .join(kt.NETWORK, kt.day(1))
        .leave(kt.POLICE.id, kt.day(2))
        .incident(kt.day(3), acute=True)
        .assess("geweldsanalyse", at=kt.day(4))
    )
    state = builder.case.state
    assert set(state.care_team) == {kt.CLIENT.id, kt.PRACTITIONER.id, kt.VEILIG_THUIS.id, kt.NETWORK.id}
    assert [i.severity for i in state.incidents] == [IncidentSeverity.SEVERE]
    (applied,) = state.assessments
    assert applied.applied_by == kt.PRACTITIONER.id
    assert applied.answers == kt.answers_for(builder.engine.instruments["geweldsanalyse"].spec)


# --- answers_for ---------------------------------------------------------------------------------


@pytest.mark.parametrize("instrument_id", ["geweldsanalyse", "gezinsprofielen"])
def test_answers_for_every_shipped_instrument_are_valid(instrument_id: str) -> None:
    spec = kt.engine_with().instruments[instrument_id].spec
    answers = kt.answers_for(spec)
    assert set(answers) == {item.id for item in spec.items if item.required}
    assert validate_answers(spec, answers) == answers
    everything = kt.answers_for(spec, optional=True)
    assert set(everything) == {item.id for item in spec.items}
    assert validate_answers(spec, everything) == everything


def _spec(*items: Item) -> InstrumentSpec:
    return InstrumentSpec(
        id="test.scan",
        version="1",
        name={"nl": "Scan", "en": "Scan"},
        description={"nl": "Test", "en": "Test"},
        items=items,
    )


def _item(item_id: str, answer_type: AnswerType, **more: object) -> Item:
    return Item(id=item_id, text={"nl": item_id, "en": item_id}, answer_type=answer_type, **more)  # type: ignore[arg-type]


def test_answers_for_stays_within_each_items_range() -> None:
    spec = _spec(
        _item("above", AnswerType.INTEGER, minimum=3, maximum=9),
        _item("below", AnswerType.INTEGER, minimum=-9, maximum=-2),
        _item("around", AnswerType.INTEGER, minimum=-1, maximum=1),
        _item("pick", AnswerType.CHOICE, allowed=("a", "b")),
        _item("picks", AnswerType.MULTI_CHOICE, allowed=("a", "b")),
        _item("note", AnswerType.TEXT),
        _item("flag", AnswerType.BOOLEAN, required=False),
    )
    answers = kt.answers_for(spec)
    assert answers == {
        "above": 3,
        "below": -2,
        "around": 0,
        "pick": "a",
        "picks": (),
        "note": answers["note"],
    }
    assert validate_answers(spec, answers) == answers


def test_answers_for_takes_overrides_and_refuses_unknown_items() -> None:
    spec = _spec(_item("q-1", AnswerType.BOOLEAN), _item("weapon", AnswerType.BOOLEAN))
    assert kt.answers_for(spec, {"q-1": True}, weapon=True) == {"q-1": True, "weapon": True}
    assert kt.answers_for(spec, weapon="yes")["weapon"] == "yes"  # invalid on purpose is allowed
    with pytest.raises(KeyError, match="wepon"):
        kt.answers_for(spec, wepon=True)
    with pytest.raises(TypeError):
        kt.answers_for("geweldsanalyse")


# --- the guide's example -------------------------------------------------------------------------


def test_the_guides_testing_example_passes_under_pytest(tmp_path: Path) -> None:
    """docs/plugins.md's "Testing your plugin" module, run as a plugin author runs it."""
    section = GUIDE.read_text(encoding="utf-8").split("## Testing your plugin", 1)[1]
    (example,) = re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], flags=re.S)
    assert "from ketenzorg.testing import" in example
    (tmp_path / "test_org_plugin.py").write_text(example, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", "test_org_plugin.py"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b5 passed\b", result.stdout), result.stdout
