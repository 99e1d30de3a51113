"""Every hook is documented with its exact signature and has a test; the guide's example runs."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from factories import TEAM, all_score, conference, day, new_case, opened, plan
from ketenzorg import Case, Engine, PartnerType, hookspecs
from ketenzorg.decision import RuleStatus

TESTS = Path(__file__).resolve().parent
GUIDE = TESTS.parent / "docs" / "plugins.md"

HOOKS = sorted(
    name for name, value in vars(hookspecs).items() if name.startswith("ketenzorg_") and callable(value)
)


def _signature(name: str) -> str:
    function = getattr(hookspecs, name)
    params = ", ".join(f"{p.name}: {p.annotation}" for p in inspect.signature(function).parameters.values())
    return f"def {name}({params}) -> {inspect.signature(function).return_annotation}"


def test_hooks_are_found() -> None:
    assert HOOKS == [
        "ketenzorg_disclosure_profile",
        "ketenzorg_event_recorded",
        "ketenzorg_phase_changed",
        "ketenzorg_register_conference_kinds",
        "ketenzorg_register_instruments",
        "ketenzorg_register_rules",
        "ketenzorg_register_settings",
        "ketenzorg_screen_text",
    ]


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_marked_and_documented_in_the_spec(name: str) -> None:
    function = getattr(hookspecs, name)
    assert hasattr(function, "ketenzorg_spec"), f"{name} is not marked with @hookspec"
    doc = inspect.getdoc(function) or ""
    assert doc.splitlines()[0].startswith("Called "), "the first line says when it is called"
    for param in inspect.signature(function).parameters:
        assert f"{param}:" in doc, f"{name}: parameter {param} is not described"
    assert "Returns" in doc


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_in_the_guide_with_its_exact_signature(name: str) -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    assert f"### `{name}`" in guide
    assert _signature(name) in guide, f"docs/plugins.md must show `{_signature(name)}`"


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_test(name: str) -> None:
    implemented_in = [
        path.name
        for path in TESTS.rglob("test_*.py")
        if path.name != "test_hookspecs.py" and re.search(rf"def {name}\(", path.read_text(encoding="utf-8"))
    ]
    assert implemented_in, f"no test implements {name}"


def test_the_guide_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.S)
    example = next(b for b in blocks if "class OrganisationPlugin" in b)
    namespace: dict[str, object] = {"__name__": "guide_example"}
    exec(compile(example, str(GUIDE), "exec"), namespace)
    engine = namespace["engine"]
    plugin = namespace["plugin"]
    assert isinstance(engine, Engine)

    # Without a Veilig Thuis party, the organisation's rule blocks the advance.
    case = new_case()
    case, mdo = conference(engine, case, day(7), all_score(case, 6))
    case = plan(engine, case, mdo, day(7))
    assert engine.evaluate(case, at=day(7)).result("org.veilig-thuis-scored").status is (RuleStatus.PASSED)
    no_vt = Case.open(opened(tuple(p for p in TEAM if p.partner_type is not PartnerType.VEILIG_THUIS)))
    no_vt, mdo = conference(engine, no_vt, day(7), all_score(no_vt, 6))
    no_vt = plan(engine, no_vt, mdo, day(7))
    blocked = engine.evaluate(no_vt, at=day(7))
    assert blocked.blocking[0].rule_id == "org.veilig-thuis-scored"
    assert Engine().evaluate(no_vt, at=day(7)).may_advance  # the plain engine has no such rule

    # Its instrument, and its audit trail through both listener hooks.
    case = engine.assess(
        case, "org.quickscan", {"threat": True, "children": True, "weapon": False}, at=day(7)
    )
    assert case.events[-1].result.safety_code.value == "orange"  # type: ignore[attr-defined]
    case = engine.advance(case, at=day(7))
    audit = plugin.audit  # type: ignore[attr-defined]
    assert audit[-2:] == ["phase_changed", "phase 1 -> 2"]
    assert "instrument_applied" in audit
