"""The plugin trust model: what the engine enforces on plugins it otherwise trusts.

Plugins are trusted code, but what they are given is read-only, a rule that replaces another
plugin's rule is named wherever the decision is shown, a hook call has a time budget, and a
plugin's failure is reported without the case data its message may hold.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs
import pytest

from factories import case_in_phase_1_ready, conference, day, incident, new_case, plan
from ketenzorg import Case, Engine, Event, PhaseChanged, PluginError, caseformat, hookimpl
from ketenzorg.decision import Decision, RuleResult, RuleStatus
from ketenzorg.instruments import AnswerType, InstrumentResult, InstrumentSpec, Item, SafetyCode
from ketenzorg.messages import Message
from ketenzorg.pluginhost import CORE_RULES_PLUGIN, InstrumentRegistry, PluginTimeoutError, RuleRegistry
from ketenzorg.rules import Finding, Rule, RuleContext
from ketenzorg.settings import FrozenMapping

MARKER = "Geheime-Rationale-7f3a"
"""Planted in case data and in plugins' exception messages; no error string may repeat it."""
BUDGET = 0.2
LONG = 20.0
"""A runaway hook gives up by itself after this long, so a missing budget fails instead of hanging."""


def _spin(seconds: float = LONG) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pass


def _passed(rule_id: str) -> Finding:
    return Finding(RuleResult(rule_id, RuleStatus.PASSED, Message.literal(nl="ja", en="yes")))


class RulesPlugin:
    def __init__(self, *rules: Rule, name: str = "org.rules", override: bool = False) -> None:
        self.rules = rules
        self.ketenzorg_plugin_name = name
        self.override = override

    @hookimpl
    def ketenzorg_register_rules(self, registry: RuleRegistry) -> None:
        for r in self.rules:
            (registry.override if self.override else registry.add)(r)


class InstrumentPlugin:
    def __init__(self, instrument: object, name: str = "org.instrument") -> None:
        self.instrument = instrument
        self.ketenzorg_plugin_name = name

    @hookimpl
    def ketenzorg_register_instruments(self, registry: InstrumentRegistry) -> None:
        registry.add(self.instrument)  # type: ignore[arg-type]


SPEC = InstrumentSpec(
    id="org.scan",
    version="1",
    canonical="https://fhir.example.org",
    name={"nl": "Scan", "en": "Scan"},
    description={"nl": "Voorbeeld", "en": "Example"},
    items=(
        Item(id="threat", text={"nl": "Dreiging?", "en": "Threat?"}, answer_type=AnswerType.BOOLEAN),
        Item(
            id="kinds",
            text={"nl": "Soorten", "en": "Kinds"},
            answer_type=AnswerType.MULTI_CHOICE,
            allowed=("physical", "psychological"),
        ),
        Item(id="note", text={"nl": "Toelichting", "en": "Note"}, answer_type=AnswerType.TEXT),
    ),
)
ANSWERS = {"threat": True, "kinds": ["physical"], "note": MARKER}


class Scan:
    """An instrument whose ``assess`` runs a given function first."""

    spec = SPEC

    def __init__(self, before: Callable[[Mapping[str, Any]], None] = lambda answers: None) -> None:
        self.before = before

    def assess(self, answers: Mapping[str, Any]) -> InstrumentResult:
        self.before(answers)
        return InstrumentResult(safety_code=SafetyCode.RED if answers["threat"] else SafetyCode.GREEN)


# --- inputs are read-only ------------------------------------------------------------------------


def _tamper(answers: Mapping[str, Any]) -> None:
    """What a careless instrument might do: 'clean up' the answers it was given."""
    for change in (
        lambda: answers.__setitem__("threat", False),  # type: ignore[attr-defined]
        lambda: answers.pop("note"),  # type: ignore[attr-defined]
        lambda: answers["kinds"].append("psychological"),
    ):
        with contextlib.suppress(TypeError, AttributeError):
            change()


def test_an_instrument_that_edits_its_answers_cannot_change_what_is_recorded() -> None:
    engine = Engine(plugins=[InstrumentPlugin(Scan(_tamper))])
    case = engine.assess(new_case(), "org.scan", ANSWERS, at=day(1))
    applied = case.events[-1]
    assert applied.type == "instrument_applied"
    assert dict(applied.answers) == {"threat": True, "kinds": ("physical",), "note": MARKER}  # type: ignore[attr-defined]
    assert applied.result.safety_code is SafetyCode.RED  # type: ignore[attr-defined]


def test_an_instrument_that_insists_on_editing_fails_and_records_nothing() -> None:
    class Clearing:
        spec = SPEC

        def assess(self, answers: Mapping[str, Any]) -> InstrumentResult:
            answers.clear()  # type: ignore[attr-defined]
            return InstrumentResult()

    engine = Engine(plugins=[InstrumentPlugin(Clearing(), name="org.clearing")])
    with pytest.raises(PluginError) as caught:
        engine.assess(new_case(), "org.scan", ANSWERS, at=day(1))
    assert (caught.value.plugin, caught.value.hook) == ("org.clearing", "assess of instrument 'org.scan'")


_IMMUTABLE = (str, int, float, bool, type(None), dt.datetime, dt.date, dt.timedelta, enum.Enum)


def _mutable_parts(obj: object, path: str = "", seen: set[int] | None = None) -> Iterator[str]:
    """Paths of every list, dict, set or unknown object reachable from ``obj``."""
    seen = set() if seen is None else seen
    if isinstance(obj, _IMMUTABLE) or id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, FrozenMapping):  # read-only: its items are behind a proxy of its own copy
        yield from _mutable_parts(obj._data, path, seen)
    elif isinstance(obj, MappingProxyType):
        for key, value in obj.items():
            yield from _mutable_parts(value, f"{path}[{key!r}]", seen)
    elif isinstance(obj, tuple | frozenset):
        for index, value in enumerate(obj):
            yield from _mutable_parts(value, f"{path}[{index}]", seen)
    elif attrs.has(type(obj)) and _is_frozen(obj):
        for field in attrs.fields(type(obj)):
            yield from _mutable_parts(getattr(obj, field.name), f"{path}.{field.name}", seen)
        for key, value in getattr(obj, "__dict__", {}).items():  # cached properties
            yield from _mutable_parts(value, f"{path}.{key}", seen)
    else:
        yield f"{path}: {type(obj).__name__}"


def _is_frozen(obj: object) -> bool:
    name = attrs.fields(type(obj))[0].name
    try:
        setattr(obj, name, getattr(obj, name))
    except attrs.exceptions.FrozenInstanceError:
        return True
    return False


def _rich_case(engine: Engine) -> Case:
    """A case with every kind of content a rule reads: scores, plan, incident, assessment."""
    case = case_in_phase_1_ready(engine)
    case = engine.assess(
        case, "geweldsanalyse", _geweldsanalyse_answers(), at=day(7), applied_by="practitioner"
    )
    case = incident(engine, case, day(7.5), acute=False)
    case, mdo = conference(engine, case, day(8), {"police": 2})
    return plan(engine, case, mdo, day(8), goals=4)


def _geweldsanalyse_answers() -> dict[str, Any]:
    return {
        "nature": ["physical", "psychological"],
        "injury": True,
        "weapon": False,
        "strangulation": False,
        "threats_to_kill": True,
        "fear_for_life": True,
        "frequency": "weekly",
        "escalation": True,
        "coercive_control": True,
        "children_witness": True,
        "violence_against_children": False,
        "separation": "recent",
        "perpetrator_access": "knows_address",
    }


def test_nothing_a_rule_can_reach_from_its_context_is_mutable(engine: Engine) -> None:
    case = _rich_case(engine)
    ctx = RuleContext(state=case.state, policy=engine.policy, at=day(9))
    # Every helper a rule may call, so that cached values are reached too.
    for party in ctx.required_parties:
        ctx.counting_score(party.id)
    assert ctx.reweigh_point is not None
    assert ctx.state.assessments
    assert ctx.state.plan is not None
    assert list(_mutable_parts(ctx, "ctx")) == []


def test_nothing_a_listener_is_given_is_mutable() -> None:
    heard: list[tuple[Case, Event, Decision | None]] = []

    class Keep:
        ketenzorg_plugin_name = "org.keep"

        @hookimpl
        def ketenzorg_event_recorded(self, case: Case, event: Event) -> None:
            heard.append((case, event, None))

        @hookimpl
        def ketenzorg_phase_changed(self, case: Case, change: PhaseChanged, decision: Decision) -> None:
            heard.append((case, change, decision))

    engine = Engine(plugins=[Keep()])
    engine.advance(case_in_phase_1_ready(engine), at=day(8))
    case, change, decision = heard[-1]
    assert decision is not None
    assert list(_mutable_parts((case, change, decision), "given")) == []


def test_a_rule_cannot_edit_what_the_rules_after_it_see() -> None:
    """Without a read-only context, a rule that ran first could drop the police from the parties
    that must agree, and the consensus gate after it would pass on the others' scores."""

    def drop_the_police(ctx: RuleContext) -> Finding:
        parties: Any = ctx.required_parties
        with contextlib.suppress(AttributeError):
            parties.remove(next(p for p in parties if p.id == "police"))
        return _passed("reassess.incident")

    engine = Engine(
        plugins=[RulesPlugin(Rule("reassess.incident", drop_the_police), name="org.drop", override=True)]
    )
    case = new_case()
    case, mdo = conference(engine, case, day(7), {"client": 6, "practitioner": 6, "police": 5, "vt": 6})
    case = plan(engine, case, mdo, day(7))
    decision = engine.evaluate(case, at=day(8))
    assert decision.result("advance.safety-consensus").status is RuleStatus.FAILED
    assert not decision.may_advance


# --- overrides are named -------------------------------------------------------------------------


def test_an_override_is_named_in_every_decision() -> None:
    always = Rule("advance.safety-consensus", lambda ctx: _passed("advance.safety-consensus"))
    engine = Engine(plugins=[RulesPlugin(always, name="org.lenient", override=True)])
    decision = engine.evaluate(new_case(), at=day(1))
    result = decision.result("advance.safety-consensus")
    assert (result.plugin, result.overrides) == ("org.lenient", CORE_RULES_PLUGIN)
    assert decision.result("advance.safety-agreements").overrides is None
    english = decision.explain("en")
    assert "[ok] advance.safety-consensus (overridden by plugin 'org.lenient'): yes" in english
    assert "[ok] advance.safety-consensus (vervangen door plugin 'org.lenient'): ja" in decision.explain("nl")
    assert "advance.safety-agreements (" not in english
    data = {r["rule_id"]: r for r in decision.to_dict()["results"]}
    assert data["advance.safety-consensus"]["plugin"] == "org.lenient"
    assert data["advance.safety-consensus"]["overrides"] == CORE_RULES_PLUGIN
    assert data["advance.safety-agreements"]["overrides"] is None


def test_an_override_cannot_hide_itself_in_its_result() -> None:
    def disguised(ctx: RuleContext) -> Finding:
        text = Message.literal(nl="ja", en="yes")
        return Finding(
            RuleResult("advance.safety-consensus", RuleStatus.PASSED, text, plugin=CORE_RULES_PLUGIN)
        )

    engine = Engine(
        plugins=[RulesPlugin(Rule("advance.safety-consensus", disguised), name="org.x", override=True)]
    )
    result = engine.evaluate(new_case(), at=day(1)).result("advance.safety-consensus")
    assert (result.plugin, result.overrides) == ("org.x", CORE_RULES_PLUGIN)


@pytest.mark.parametrize(
    ("rule_id", "gate", "turns"),
    [
        (
            "advance.safety-consensus",
            False,
            "would turn a gate of plugin 'ketenzorg.method' into an advisory",
        ),
        ("instrument.advice", True, "would turn an advisory rule of plugin 'ketenzorg.method' into a gate"),
    ],
)
def test_an_override_that_changes_a_gate_is_refused(rule_id: str, gate: bool, turns: str) -> None:
    changed = Rule(rule_id, lambda ctx: _passed(rule_id), gate=gate)
    with pytest.raises(PluginError) as caught:
        Engine(plugins=[RulesPlugin(changed, name="org.softener", override=True)])
    assert (caught.value.plugin, caught.value.hook) == ("org.softener", "ketenzorg_register_rules")
    assert f"rule {rule_id!r}" in str(caught.value)
    assert turns in str(caught.value)


# --- the time budget -----------------------------------------------------------------------------


@pytest.fixture
def no_alarm_left() -> Iterator[None]:
    handler = signal.getsignal(signal.SIGALRM)
    yield
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is handler


def _looping_rule(ctx: RuleContext) -> Finding:
    _spin()
    return _passed("org.loops")


@pytest.mark.usefixtures("no_alarm_left")
def test_a_looping_rule_is_stopped_and_changes_nothing() -> None:
    heard: list[Event] = []

    class Hears:
        ketenzorg_plugin_name = "org.hears"

        @hookimpl
        def ketenzorg_event_recorded(self, event: Event) -> None:
            heard.append(event)

    case = case_in_phase_1_ready(Engine())
    engine = Engine(
        plugins=[RulesPlugin(Rule("org.loops", _looping_rule), name="org.looper"), Hears()],
        hook_timeout=BUDGET,
    )
    started = time.monotonic()
    with pytest.raises(PluginTimeoutError) as caught:
        engine.advance(case, at=day(8))
    assert time.monotonic() - started < LONG / 2
    assert (caught.value.plugin, caught.value.hook) == ("org.looper", "rule 'org.loops'")
    assert caught.value.budget == BUDGET
    assert caught.value.location is not None
    assert caught.value.location[0] == __file__  # stopped in the plugin's own code
    assert str(caught.value) == (
        "plugin 'org.looper' failed in rule 'org.loops': "
        "took longer than its time budget of 0.2 s and was stopped"
    )
    assert heard == []  # no phase change was recorded
    # The engine is usable afterwards; the other rules run within their budget.
    assert Engine(hook_timeout=BUDGET).evaluate(case, at=day(8)).may_advance


@pytest.mark.usefixtures("no_alarm_left")
def test_a_rule_that_swallows_the_interruption_is_still_reported() -> None:
    def stubborn(ctx: RuleContext) -> Finding:
        try:
            _spin()
        except BaseException:  # what a careless plugin does: swallow everything
            return _passed("org.stubborn")
        return _passed("org.stubborn")

    engine = Engine(
        plugins=[RulesPlugin(Rule("org.stubborn", stubborn), name="org.stubborn")], hook_timeout=BUDGET
    )
    with pytest.raises(PluginTimeoutError, match=r"org\.stubborn"):
        engine.evaluate(new_case(), at=day(1))


@pytest.mark.usefixtures("no_alarm_left")
def test_a_looping_instrument_is_stopped_and_records_nothing() -> None:
    engine = Engine(
        plugins=[InstrumentPlugin(Scan(lambda answers: _spin()), name="org.slow")], hook_timeout=BUDGET
    )
    case = new_case()
    with pytest.raises(PluginTimeoutError) as caught:
        engine.assess(case, "org.scan", ANSWERS, at=day(1))
    assert (caught.value.plugin, caught.value.hook) == ("org.slow", "assess of instrument 'org.scan'")


@pytest.mark.usefixtures("no_alarm_left")
def test_a_looping_listener_is_stopped_and_the_event_stays_recorded() -> None:
    heard: list[str] = []

    class Hangs:
        ketenzorg_plugin_name = "org.hangs"

        @hookimpl
        def ketenzorg_event_recorded(self, event: Event) -> None:
            _spin()

    class Hears:
        ketenzorg_plugin_name = "org.hears"

        @hookimpl
        def ketenzorg_event_recorded(self, event: Event) -> None:
            heard.append(event.id)

    failures: list[PluginError] = []
    engine = Engine(plugins=[Hangs(), Hears()], on_listener_error=failures.append, hook_timeout=BUDGET)
    case = engine.give_score(
        new_case(), party_id="client", score=6, rationale=MARKER, at=day(1), event_id="s1"
    )
    assert case.events[-1].id == "s1"
    assert heard == ["s1"]  # the other listener still heard it
    assert len(failures) == 1
    assert isinstance(failures[0], PluginTimeoutError)
    assert (failures[0].plugin, failures[0].hook) == ("org.hangs", "ketenzorg_event_recorded")


@pytest.mark.usefixtures("no_alarm_left")
def test_a_listener_running_the_engine_is_blamed_for_its_own_time() -> None:
    """A listener that evaluates the case runs its rules under its own budget: the listener is named."""

    class Evaluates:
        ketenzorg_plugin_name = "org.evaluates"

        @hookimpl
        def ketenzorg_event_recorded(self, case: Case) -> None:
            looping.evaluate(case, at=day(1))

    failures: list[PluginError] = []
    looping = Engine(
        plugins=[RulesPlugin(Rule("org.loops", _looping_rule), name="org.looper")], hook_timeout=BUDGET
    )
    engine = Engine(plugins=[Evaluates()], on_listener_error=failures.append, hook_timeout=BUDGET)
    engine.give_score(new_case(), party_id="client", score=6, rationale="r", at=day(1))
    assert [(f.plugin, f.hook) for f in failures] == [("org.evaluates", "ketenzorg_event_recorded")]
    assert isinstance(failures[0], PluginTimeoutError)


@pytest.mark.usefixtures("no_alarm_left")
def test_a_looping_registration_is_stopped() -> None:
    class Registers:
        ketenzorg_plugin_name = "org.registers"

        @hookimpl
        def ketenzorg_register_rules(self, registry: RuleRegistry) -> None:
            _spin()

    with pytest.raises(PluginTimeoutError) as caught:
        Engine(plugins=[Registers()], hook_timeout=BUDGET)
    assert (caught.value.plugin, caught.value.hook) == ("org.registers", "ketenzorg_register_rules")


def test_outside_the_main_thread_there_is_no_budget() -> None:
    """Documented: SIGALRM reaches only the main thread, so a library user's worker thread has none."""

    def slow(ctx: RuleContext) -> Finding:
        time.sleep(3 * BUDGET)
        return _passed("org.slow")

    engine = Engine(plugins=[RulesPlugin(Rule("org.slow", slow, gate=False))], hook_timeout=BUDGET)
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(engine.evaluate(new_case(), at=day(1))))
    worker.start()
    worker.join(LONG)
    assert isinstance(outcome[0], Decision)


def test_an_application_timer_is_left_alone() -> None:
    """While the application runs its own real-time timer, hook calls run under it, not ours."""
    alarms: list[int] = []

    def own(signum: int, frame: object) -> None:
        alarms.append(signum)

    previous = signal.signal(signal.SIGALRM, own)
    try:
        signal.setitimer(signal.ITIMER_REAL, LONG)
        Engine(hook_timeout=BUDGET).evaluate(new_case(), at=day(1))
        assert signal.getsignal(signal.SIGALRM) is own
        assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] <= LONG
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert alarms == []


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), True, "10"])
def test_a_time_budget_is_a_positive_number_of_seconds(bad: Any) -> None:
    with pytest.raises(ValueError, match="positive number of seconds"):
        Engine(hook_timeout=bad)


# --- failures carry no case data -----------------------------------------------------------------


def test_a_failing_rule_is_reported_without_its_message() -> None:
    def leaks(ctx: RuleContext) -> Finding:
        rationale = ctx.state.latest_scores["client"].rationale
        raise ValueError(f"cannot parse rationale {rationale!r}")

    engine = Engine(plugins=[RulesPlugin(Rule("org.leaks", leaks), name="org.leaky")])
    case = engine.give_score(new_case(), party_id="client", score=6, rationale=MARKER, at=day(1))
    with pytest.raises(PluginError) as caught:
        engine.evaluate(case, at=day(1))
    error = caught.value
    assert str(error) == "plugin 'org.leaky' failed in rule 'org.leaks': ValueError"
    assert MARKER not in repr(error)
    assert MARKER not in repr(error.args)
    # The caller who wants the cause still has it.
    assert isinstance(error.cause, ValueError)
    assert error.__cause__ is error.cause
    assert MARKER in str(error.cause)


def test_failing_instruments_listeners_and_registrations_are_reported_without_their_message() -> None:
    def raises(answers: Mapping[str, Any]) -> None:
        raise RuntimeError(f"note was {answers['note']}")

    with pytest.raises(PluginError) as instrument:
        Engine(plugins=[InstrumentPlugin(Scan(raises))]).assess(new_case(), "org.scan", ANSWERS, at=day(1))

    class Listens:
        ketenzorg_plugin_name = "org.listens"

        @hookimpl
        def ketenzorg_event_recorded(self, event: Event) -> None:
            raise RuntimeError(f"could not store {event}")

    failures: list[PluginError] = []
    Engine(plugins=[Listens()], on_listener_error=failures.append).give_score(
        new_case(), party_id="client", score=6, rationale=MARKER, at=day(1)
    )

    class Registers:
        ketenzorg_plugin_name = "org.registers"

        @hookimpl
        def ketenzorg_register_rules(self, registry: RuleRegistry) -> None:
            raise KeyError(MARKER)

    with pytest.raises(PluginError) as registration:
        Engine(plugins=[Registers()])
    errors = [instrument.value, failures[0], registration.value]
    assert [str(e).rsplit(": ", 1)[1] for e in errors] == ["RuntimeError", "RuntimeError", "KeyError"]
    for error in errors:
        assert MARKER not in str(error)
        assert MARKER in str(error.cause)


def test_a_text_built_from_case_data_is_refused_without_repeating_it() -> None:
    def keyed(ctx: RuleContext) -> Finding:
        rationale = ctx.state.latest_scores["client"].rationale
        return Finding(RuleResult("org.keyed", RuleStatus.PASSED, Message(f"org.{rationale}")))

    engine = Engine(plugins=[RulesPlugin(Rule("org.keyed", keyed), name="org.keyed")])
    case = engine.give_score(new_case(), party_id="client", score=6, rationale=MARKER, at=day(1))
    with pytest.raises(PluginError, match="a text cannot be shown in 'nl': message") as caught:
        engine.evaluate(case, at=day(1))
    assert "unknown message key" in str(caught.value)
    assert MARKER not in str(caught.value)


# --- the command line ----------------------------------------------------------------------------


def _install(site: Path, name: str, source: str) -> None:
    """Lay out what pip leaves in site-packages: a module and its .dist-info with entry points."""
    module = name.replace("-", "_")
    (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = site / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[ketenzorg]\n{name} = {module}\n", encoding="utf-8")


def _cli(site: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "KETENZORG_PLUGIN_TIMEOUT"}
    environ.update({"PYTHONPATH": str(site), **(env or {})})
    result = subprocess.run(
        [sys.executable, "-m", "ketenzorg", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        env=environ,
        check=False,
    )
    assert "Traceback" not in result.stderr + result.stdout
    return result


LOOPING_RULE = f"""
    import time
    from ketenzorg import hookimpl
    from ketenzorg.rules import Rule

    def loops(ctx):
        deadline = time.monotonic() + {LONG}
        while time.monotonic() < deadline:
            pass

    @hookimpl
    def ketenzorg_register_rules(registry):
        registry.add(Rule("org.loops", loops))
"""


@pytest.fixture
def case_file(tmp_path: Path) -> Path:
    path = tmp_path / "case.json"
    path.write_bytes(caseformat.dumps(case_in_phase_1_ready(Engine())))
    return path


def test_the_cli_stops_a_looping_rule_with_an_error_naming_it(tmp_path: Path, case_file: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _install(site, "org-looper", LOOPING_RULE)
    started = time.monotonic()
    result = _cli(site, "evaluate", str(case_file), "--plugin-timeout", "0.5")
    assert result.returncode == 1
    assert time.monotonic() - started < LONG
    assert (
        "ketenzorg: error: plugin 'org-looper' failed in rule 'org.loops': "
        "took longer than its time budget of 0.5 s and was stopped"
    ) in result.stderr
    by_environment = _cli(site, "evaluate", str(case_file), env={"KETENZORG_PLUGIN_TIMEOUT": "0.5"})
    assert by_environment.returncode == 1
    assert "time budget of 0.5 s" in by_environment.stderr
    for bad in ("soon", "-1", "nan"):
        refused = _cli(site, "evaluate", str(case_file), "--plugin-timeout", bad)
        assert refused.returncode == 2
        assert "--plugin-timeout: expected a number of seconds" in refused.stderr


def test_the_cli_reports_a_failing_rule_by_plugin_type_and_place_never_its_message(
    tmp_path: Path, case_file: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _install(
        site,
        "org-raiser",
        f"""
        from ketenzorg import hookimpl
        from ketenzorg.rules import Rule

        def raises(ctx):
            raise ValueError("{MARKER}")

        @hookimpl
        def ketenzorg_register_rules(registry):
            registry.add(Rule("org.raises", raises))
        """,
    )
    result = _cli(site, "evaluate", str(case_file))
    assert result.returncode == 1
    expected = "ketenzorg: error: plugin 'org-raiser' failed in rule 'org.raises': ValueError at "
    assert expected in result.stderr
    assert "org_raiser.py:" in result.stderr
    assert MARKER not in result.stderr + result.stdout


def test_the_cli_reports_a_looping_listener_and_keeps_the_event(tmp_path: Path, case_file: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _install(
        site,
        "org-slow-audit",
        f"""
        import time
        from ketenzorg import hookimpl

        @hookimpl
        def ketenzorg_event_recorded(event):
            deadline = time.monotonic() + {LONG}
            while time.monotonic() < deadline:
                pass
        """,
    )
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(_geweldsanalyse_answers()), encoding="utf-8")
    out = tmp_path / "new.json"
    result = _cli(
        site, "assess", str(case_file), "geweldsanalyse", str(answers), "--out", str(out),
        "--at", day(8).isoformat(), "--plugin-timeout", "0.5",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (
        "ketenzorg: warning: plugin 'org-slow-audit' failed in ketenzorg_event_recorded: "
        "took longer than its time budget of 0.5 s and was stopped (the event is recorded)"
    ) in result.stderr
    assert caseformat.loads(out.read_bytes()).events[-1].type == "instrument_applied"


def test_the_cli_names_overrides_in_plugins_and_in_decisions(tmp_path: Path, case_file: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _install(
        site,
        "org-lenient",
        """
        from ketenzorg import hookimpl
        from ketenzorg.decision import RuleResult, RuleStatus
        from ketenzorg.messages import Message
        from ketenzorg.rules import Finding, Rule

        def lenient(ctx):
            text = Message.literal(nl="akkoord", en="agreed")
            return Finding(RuleResult("advance.safety-agreements", RuleStatus.PASSED, text))

        @hookimpl
        def ketenzorg_register_rules(registry):
            registry.override(Rule("advance.safety-agreements", lenient))
        """,
    )
    text = _cli(site, "plugins").stdout
    assert "  rules: advance.safety-agreements (overrides plugin 'ketenzorg.method')" in text
    assert "  overridden: advance.safety-agreements (by plugin 'org-lenient')" in text
    data = {p["name"]: p for p in json.loads(_cli(site, "plugins", "--json").stdout)}
    assert data["org-lenient"]["overrides"] == [
        {"rule": "advance.safety-agreements", "replaces": CORE_RULES_PLUGIN}
    ]
    assert data[CORE_RULES_PLUGIN]["overridden"] == [
        {"rule": "advance.safety-agreements", "by": "org-lenient"}
    ]
    assert data[CORE_RULES_PLUGIN]["overrides"] == []
    decision = _cli(site, "evaluate", str(case_file), "--at", day(8).isoformat())
    assert "[ok] advance.safety-agreements (overridden by plugin 'org-lenient'): agreed" in decision.stdout
    dutch = _cli(site, "evaluate", str(case_file), "--at", day(8).isoformat(), "--lang", "nl")
    assert "[ok] advance.safety-agreements (vervangen door plugin 'org-lenient'): akkoord" in dutch.stdout


def test_the_cli_places_a_failure_on_the_plugins_line_and_shows_its_message_only_with_debug(
    tmp_path: Path, case_file: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _install(
        site,
        "org-weights",
        f"""
        import pathlib
        from ketenzorg import hookimpl
        from ketenzorg.rules import Rule

        def weighs(ctx):
            rationale = ctx.state.latest_scores["client"].rationale
            return pathlib.Path("/nonexistent-{MARKER}", rationale).read_bytes()

        @hookimpl
        def ketenzorg_register_rules(registry):
            registry.add(Rule("org.weighs", weighs))
        """,
    )
    case_file.write_bytes(
        caseformat.dumps(
            Engine().give_score(new_case(), party_id="client", score=6, rationale=MARKER, at=day(1))
        )
    )
    plain = _cli(site, "evaluate", str(case_file), "--at", day(2).isoformat())
    assert plain.returncode == 1
    place = f"{site / 'org_weights.py'}:8"
    assert f"failed in rule 'org.weighs': FileNotFoundError at {place}\n" in plain.stderr
    assert "pathlib" not in plain.stderr
    assert "--debug" in plain.stderr
    assert MARKER not in plain.stderr + plain.stdout
    environ = {**os.environ, "PYTHONPATH": str(site)}
    environ.pop("KETENZORG_PLUGIN_TIMEOUT", None)
    at = day(2).isoformat()
    debug = subprocess.run(
        [sys.executable, "-m", "ketenzorg", "--debug", "evaluate", str(case_file), "--at", at],
        capture_output=True, text=True, encoding="utf-8", timeout=120, env=environ, check=False,
    )  # fmt: skip
    assert debug.returncode == 1
    assert f"FileNotFoundError at {place}: [Errno 2] No such file or directory" in debug.stderr
    assert MARKER in debug.stderr  # asked for: the message and the traceback
    assert "Traceback (most recent call last)" in debug.stderr


def test_the_cli_shows_a_plugins_bad_data_file_with_the_file_and_the_place(
    tmp_path: Path, case_file: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    package = site / "org_dash"
    package.mkdir()
    item = {"id": "q", "answer_type": "integer", "minimum": 3, "maximum": 1, "requird": True}
    item["text"] = {"nl": "Vraag", "en": "Question"}
    data = {
        "id": "org.dash",
        "version": "1",
        "name": item["text"],
        "description": item["text"],
        "items": [item],
    }
    (package / "dash.json").write_text(json.dumps(data), encoding="utf-8")
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            from ketenzorg import hookimpl
            from ketenzorg.instruments import load_data, spec_from_data

            class Dash:
                spec = property(lambda self: spec_from_data(load_data("org_dash", "dash.json")))

                def assess(self, answers):
                    raise AssertionError

            @hookimpl
            def ketenzorg_register_instruments(registry):
                registry.add(Dash())
            """
        ),
        encoding="utf-8",
    )
    info = site / "org_dash-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: org-dash\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[ketenzorg]\norg-dash = org_dash\n", encoding="utf-8")
    result = _cli(site, "plugins")
    assert result.returncode == 1
    assert (
        "failed in ketenzorg_register_instruments: InstrumentDataError at "
        f"{package / '__init__.py'}:6: org_dash/dash.json: "
        "items[0].requird: not a key of an item (did you mean 'required'?)\n"
    ) in result.stderr
    assert "items[0].minimum: is above the maximum" not in result.stderr  # the first problem stops the item
    assert "--debug" not in result.stderr  # nothing was left out
