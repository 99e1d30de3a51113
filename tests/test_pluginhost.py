"""The plugin host: isolation per engine, blocking, overriding, and failures that name the plugin."""

from __future__ import annotations

import importlib
import logging
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from factories import all_score, case_in_phase_1_ready, conference, day, new_case
from ketenzorg import Case, Engine, Event, PhaseChanged, PluginError, hookimpl
from ketenzorg.decision import Decision, RuleResult, RuleStatus
from ketenzorg.messages import Message
from ketenzorg.pluginhost import CORE_RULES_PLUGIN, InstrumentRegistry, RuleRegistry
from ketenzorg.rules import BUILTIN_RULES, Finding, Rule, RuleContext, rule


@rule("org.always-fails")
def always_fails(ctx: RuleContext) -> Finding:
    return Finding(RuleResult("org.always-fails", RuleStatus.FAILED, Message.literal(nl="nee", en="no")))


class RulesPlugin:
    def __init__(self, *rules: Rule, name: str = "org.rules", override: bool = False) -> None:
        self.rules = rules
        self.ketenzorg_plugin_name = name
        self.override = override

    @hookimpl
    def ketenzorg_register_rules(self, registry: RuleRegistry) -> None:
        for r in self.rules:
            (registry.override if self.override else registry.add)(r)


class Listener:
    ketenzorg_plugin_name = "org.listener"

    def __init__(self) -> None:
        self.events: list[str] = []
        self.changes: list[tuple[int, int, bool]] = []

    @hookimpl
    def ketenzorg_event_recorded(self, case: Case, event: Event) -> None:
        assert case.events[-1] is event
        self.events.append(event.type)

    @hookimpl
    def ketenzorg_phase_changed(self, case: Case, change: PhaseChanged, decision: Decision) -> None:
        self.changes.append((change.from_phase, change.to_phase, decision.may_advance))


class BrokenListener:
    ketenzorg_plugin_name = "org.broken-listener"

    @hookimpl
    def ketenzorg_event_recorded(self, event: Event) -> None:
        raise RuntimeError("audit store is down")


def test_builtin_plugins_are_registered_like_any_other() -> None:
    info = {i.name: i for i in Engine().plugin_info()}
    assert set(info) == {CORE_RULES_PLUGIN, "ketenzorg.geweldsanalyse", "ketenzorg.gezinsprofielen"}
    assert info[CORE_RULES_PLUGIN].hooks == ("ketenzorg_register_rules",)
    assert info["ketenzorg.geweldsanalyse"].hooks == ("ketenzorg_register_instruments",)
    assert all(i.builtin and i.distribution == "ketenzorg" for i in info.values())


def test_two_engines_in_one_process_do_not_share_plugins() -> None:
    strict = Engine(plugins=[RulesPlugin(always_fails)])
    plain = Engine()
    case = case_in_phase_1_ready(plain)
    assert plain.evaluate(case, at=day(8)).may_advance
    assert not strict.evaluate(case, at=day(8)).may_advance
    assert "org.always-fails" not in {r.id for r in plain.rules}
    # Building the strict engine again does not change the plain one.
    Engine(plugins=[RulesPlugin(always_fails)])
    assert plain.evaluate(case, at=day(8)).may_advance


def test_blocking_a_shipped_instrument() -> None:
    engine = Engine(block={"ketenzorg.gezinsprofielen"})
    assert set(engine.instruments) == {"geweldsanalyse"}
    assert "ketenzorg.gezinsprofielen" not in {i.name for i in engine.plugin_info()}


def test_blocking_an_in_process_plugin_by_name() -> None:
    engine = Engine(plugins=[RulesPlugin(always_fails)], block={"org.rules"})
    assert "org.always-fails" not in {r.id for r in engine.rules}


def test_the_method_rules_cannot_be_blocked() -> None:
    with pytest.raises(PluginError, match="cannot be blocked") as caught:
        Engine(block={CORE_RULES_PLUGIN})
    assert caught.value.plugin == CORE_RULES_PLUGIN


def test_overriding_a_method_rule_records_the_plugin() -> None:
    lenient = Rule("advance.safety-agreements", lambda ctx: _passed("advance.safety-agreements"))
    engine = Engine(plugins=[RulesPlugin(lenient, name="org.lenient", override=True)])
    decision = engine.evaluate(new_case(), at=day(1))
    result = decision.result("advance.safety-agreements")
    assert result.status is RuleStatus.PASSED
    assert result.plugin == "org.lenient"
    assert [r.id for r in engine.rules] == [r.id for r in BUILTIN_RULES]


def test_overriding_an_unknown_rule_is_an_error() -> None:
    ghost = Rule("org.ghost", lambda ctx: _passed("org.ghost"))
    with pytest.raises(PluginError, match=r"no rule 'org\.ghost' to override") as caught:
        Engine(plugins=[RulesPlugin(ghost, name="org.ghostwriter", override=True)])
    assert caught.value.plugin == "org.ghostwriter"


def _passed(rule_id: str) -> Finding:
    return Finding(RuleResult(rule_id, RuleStatus.PASSED, Message.literal(nl="ja", en="yes")))


def test_duplicate_instrument_names_both_plugins() -> None:
    from ketenzorg.plugins.geweldsanalyse import Geweldsanalyse

    class Copy:
        ketenzorg_plugin_name = "org.copy"

        @hookimpl
        def ketenzorg_register_instruments(self, registry: InstrumentRegistry) -> None:
            registry.add(Geweldsanalyse())

    with pytest.raises(PluginError) as caught:
        Engine(plugins=[Copy()])
    assert caught.value.plugin == "org.copy"
    assert "'ketenzorg.geweldsanalyse'" in str(caught.value)
    assert "'org.copy'" in str(caught.value)
    # Blocking the shipped one lets the organisation's replace it.
    assert Engine(plugins=[Copy()], block={"ketenzorg.geweldsanalyse"}).instruments[
        "geweldsanalyse"
    ].plugin == ("org.copy")


def test_misspelt_hook_fails_when_the_engine_is_built() -> None:
    class Typo:
        ketenzorg_plugin_name = "org.typo"

        @hookimpl
        def ketenzorg_register_rule(self, registry: RuleRegistry) -> None:  # missing "s"
            raise AssertionError("never called")

    with pytest.raises(PluginError, match="ketenzorg_register_rule") as caught:
        Engine(plugins=[Typo()])
    assert caught.value.plugin == "org.typo"


def test_registration_failure_names_plugin_and_hook_with_the_cause() -> None:
    class Crashes:
        ketenzorg_plugin_name = "org.crashes"

        @hookimpl
        def ketenzorg_register_instruments(self, registry: InstrumentRegistry) -> None:
            raise KeyError("missing data file")

    with pytest.raises(PluginError) as caught:
        Engine(plugins=[Crashes()])
    error = caught.value
    assert (error.plugin, error.hook) == ("org.crashes", "ketenzorg_register_instruments")
    assert isinstance(error.__cause__, KeyError)
    assert error.__cause__.__traceback__ is not None


def test_a_failing_rule_is_reported_and_changes_nothing() -> None:
    @rule("org.crashes")
    def crashes(ctx: RuleContext) -> Finding:
        raise ZeroDivisionError("bug in the organisation's rule")

    engine = Engine(plugins=[RulesPlugin(crashes, name="org.buggy")])
    case = case_in_phase_1_ready(Engine())
    events = case.events
    with pytest.raises(PluginError) as caught:
        engine.advance(case, at=day(8))
    assert caught.value.plugin == "org.buggy"
    assert caught.value.hook == "rule 'org.crashes'"
    assert isinstance(caught.value.__cause__, ZeroDivisionError)
    assert case.events == events


def test_a_rule_returning_the_wrong_thing_is_reported() -> None:
    sloppy = Rule("org.sloppy", lambda ctx: _passed("org.other-id"))
    engine = Engine(plugins=[RulesPlugin(sloppy, name="org.sloppy")])
    with pytest.raises(PluginError, match="did not return a Finding for its own id"):
        engine.evaluate(new_case(), at=day(1))


def test_listeners_hear_every_recorded_event_and_phase_change() -> None:
    listener = Listener()
    engine = Engine(plugins=[listener])
    case = case_in_phase_1_ready(engine)
    case = engine.advance(case, at=day(8))
    assert listener.events[0] == "conference_held"
    assert listener.events.count("score_given") == 4
    assert listener.events[-2:] == ["plan_revised", "phase_changed"]
    assert listener.changes == [(1, 2, True)]
    # Replaying stored events records nothing new.
    engine.replay(case.case_id, case.events)
    assert listener.changes == [(1, 2, True)]


def test_a_failing_listener_never_loses_the_event(caplog: pytest.LogCaptureFixture) -> None:
    listener = Listener()
    failures: list[PluginError] = []
    engine = Engine(plugins=[BrokenListener(), listener], on_listener_error=failures.append)
    case, _ = conference(engine, new_case(), day(1), all_score(new_case(), 6))
    assert case.events[-1].type == "score_given"
    assert listener.events.count("score_given") == 4  # the other listener still ran
    assert len(failures) == 5
    assert {(f.plugin, f.hook) for f in failures} == {("org.broken-listener", "ketenzorg_event_recorded")}
    assert isinstance(failures[0].__cause__, RuntimeError)
    # The default handler logs plugin, hook and exception type, not the message or case data.
    with caplog.at_level(logging.ERROR, logger="ketenzorg.plugins"):
        Engine(plugins=[BrokenListener()]).give_score(
            new_case(), party_id="client", score=6, rationale="geheim adres Teststraat 1", at=day(1)
        )
    assert "org.broken-listener" in caplog.text
    assert "RuntimeError" in caplog.text
    assert "audit store is down" not in caplog.text
    assert "Teststraat" not in caplog.text


# --- installed plugins through the entry-point group ---------------------------------------------


def _install_fake_distribution(root: Path, name: str, module: str, source: str) -> None:
    """Lay out what pip leaves in site-packages: a module and its .dist-info with entry points."""
    (root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = root / f"{name.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[ketenzorg]\n{name} = {module}\n")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    importlib.invalidate_caches()
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for module in [m for m in sys.modules if m.startswith("org_fake_")]:
        del sys.modules[module]
    importlib.invalidate_caches()


def test_entry_point_plugin_is_loaded_with_its_distribution(site: Path) -> None:
    _install_fake_distribution(
        site,
        "org-fake-audit",
        "org_fake_audit",
        """
        from ketenzorg import hookimpl

        @hookimpl
        def ketenzorg_event_recorded(event):
            pass
        """,
    )
    assert "org-fake-audit" not in {i.name for i in Engine().plugin_info()}
    info = {i.name: i for i in Engine(entry_points=True).plugin_info()}
    assert info["org-fake-audit"].distribution == "org-fake-audit"
    assert info["org-fake-audit"].version == "1.2.3"
    assert info["org-fake-audit"].hooks == ("ketenzorg_event_recorded",)
    assert "org-fake-audit" not in {
        i.name for i in Engine(entry_points=True, block={"org-fake-audit"}).plugin_info()
    }


def test_entry_point_plugin_that_fails_to_import_is_named(site: Path) -> None:
    _install_fake_distribution(site, "org-fake-broken", "org_fake_broken", "import does_not_exist_xyz\n")
    with pytest.raises(PluginError) as caught:
        Engine(entry_points=True)
    assert caught.value.plugin == "org-fake-broken"
    assert "org_fake_broken" in caught.value.hook
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)
    assert str(caught.value).endswith("ModuleNotFoundError (module 'does_not_exist_xyz')")
    # Blocking it lets the engine start.
    assert Engine(entry_points=True, block={"org-fake-broken"}).rules


def _names(engine: Engine) -> set[Any]:
    return {i.name for i in engine.plugin_info()}


def test_a_plugin_rule_with_an_unknown_text_is_named() -> None:
    unknown = Rule(
        "org.bad-text",
        lambda ctx: Finding(RuleResult("org.bad-text", RuleStatus.PASSED, Message("org.no-such-key"))),
    )
    engine = Engine(plugins=[RulesPlugin(unknown, name="org.texts")])
    with pytest.raises(PluginError, match="a text cannot be shown") as caught:
        engine.evaluate(new_case(), at=day(1))
    assert (caught.value.plugin, caught.value.hook) == ("org.texts", "rule 'org.bad-text'")


# --- the cheap look for installed plugins before importlib.metadata ---------------------------------


def _dist_info(root: Path, name: str, entry_points: str | None) -> None:
    info = root / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8")
    if entry_points is not None:
        (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")


@pytest.mark.parametrize(
    ("entry_points", "declares"),
    [
        (None, False),
        ("[console_scripts]\nketenzorg = ketenzorg.cli:main\n", False),
        ("[ketenzorg.extra]\nx = y\n", False),
        ("[ketenzorg]\norg = org_mod\n", True),
        ("[console_scripts]\na = b\n\n  [ketenzorg]  \norg = org_mod\n", True),
    ],
)
def test_the_look_for_installed_plugins_reads_the_section_as_importlib_metadata_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry_points: str | None, declares: bool
) -> None:
    import importlib.metadata

    from ketenzorg.pluginhost import _may_declare_entry_points

    _dist_info(tmp_path, "some_dist", entry_points)
    monkeypatch.setattr(sys, "path", [str(tmp_path), str(tmp_path / "absent")])
    assert _may_declare_entry_points("ketenzorg") is declares
    assert bool(importlib.metadata.entry_points(group="ketenzorg")) is declares


def test_what_the_look_cannot_judge_goes_to_importlib_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ketenzorg.pluginhost import _may_declare_entry_points

    _dist_info(tmp_path, "some_dist", None)
    archive = tmp_path / "plugins.zip"
    archive.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    assert _may_declare_entry_points("ketenzorg") is False
    monkeypatch.setattr(sys, "path", [str(tmp_path), str(archive)])
    assert _may_declare_entry_points("ketenzorg") is True

    class Finder:
        @staticmethod
        def find_distributions(*args: object, **kwargs: object) -> list[object]:
            return []

    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    monkeypatch.setattr(sys, "meta_path", [Finder(), *sys.meta_path])
    assert _may_declare_entry_points("ketenzorg") is True


@pytest.mark.parametrize("module", ["importlib.metadata", "logging", "lxml"])
def test_an_engine_without_installed_plugins_does_not_import(tmp_path: Path, module: str) -> None:
    # importlib.metadata costs about 15 ms of every command, logging and lxml a few: only an installed
    # plugin, a failing listener or an XML document pays for them.
    import subprocess

    code = (
        "import sys\n"
        "from ketenzorg import Engine\n"
        "engine = Engine(entry_points=True)\n"
        "assert engine.plugin_info()\n"
        f"print({module!r} in sys.modules)\n"
    )
    env = {"PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src"), "PYTHONNOUSERSITE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path, env=env
    )
    assert result.stdout.split() == ["False"]
