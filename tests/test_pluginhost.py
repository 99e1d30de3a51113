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
    assert info[CORE_RULES_PLUGIN].hooks == (
        "ketenzorg_register_conference_kinds",
        "ketenzorg_register_rules",
    )
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


# --- provenance: the same whichever way a plugin is given ----------------------------------------

SCAN_PLUGIN = """
    from ketenzorg import hookimpl
    from ketenzorg.instruments import AnswerType, InstrumentResult, InstrumentSpec, Item

    class Scan:
        spec = InstrumentSpec(
            id="org.scan",
            version="1",
            canonical="https://fhir.example.org",
            name={"nl": "Scan", "en": "Scan"},
            description={"nl": "Synthetisch", "en": "Synthetic"},
            items=(Item(id="q", text={"nl": "Vraag", "en": "Question"}, answer_type=AnswerType.BOOLEAN),),
        )

        def assess(self, answers):
            return InstrumentResult()

    @hookimpl
    def ketenzorg_register_instruments(registry):
        registry.add(Scan())
"""


def _applied(engine: Engine) -> tuple[str, str | None, str | None]:
    event = engine.assess(new_case(), "org.scan", {"q": True}, at=day(1)).events[-1]
    return event.plugin, event.distribution, event.distribution_version  # type: ignore[attr-defined]


def test_an_in_process_plugin_records_the_distribution_its_entry_point_would(site: Path) -> None:
    _install_fake_distribution(site, "org-fake-scan", "org_fake_scan", SCAN_PLUGIN)
    by_entry_point = Engine(entry_points=True)
    in_process = Engine(plugins=[importlib.import_module("org_fake_scan")])
    assert _applied(by_entry_point) == ("org-fake-scan", "org-fake-scan", "1.2.3")
    assert _applied(in_process) == ("org_fake_scan", "org-fake-scan", "1.2.3")
    infos = {i.name: i for i in in_process.plugin_info()}
    assert (infos["org_fake_scan"].distribution, infos["org_fake_scan"].version) == ("org-fake-scan", "1.2.3")


def test_an_in_process_plugin_is_found_in_the_distribution_that_installed_it(site: Path) -> None:
    package = site / "org_fake_tool"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(SCAN_PLUGIN), encoding="utf-8")
    info = site / "org_fake_tool-4.5.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: org-fake-tool\nVersion: 4.5\n")
    (info / "RECORD").write_text("org_fake_tool/__init__.py,,\norg_fake_tool-4.5.dist-info/METADATA,,\n")
    engine = Engine(plugins=[importlib.import_module("org_fake_tool")])
    assert _applied(engine) == ("org_fake_tool", "org-fake-tool", "4.5")


def test_an_in_process_plugin_may_declare_its_distribution_and_version() -> None:
    class Declared:
        ketenzorg_plugin_name = "org.declared"
        ketenzorg_plugin_distribution = "org-declared"
        ketenzorg_plugin_version = "2.0.1"

        @hookimpl
        def ketenzorg_register_instruments(self, registry: InstrumentRegistry) -> None:
            module: dict[str, Any] = {}
            exec(textwrap.dedent(SCAN_PLUGIN), module)
            registry.add(module["Scan"]())

    engine = Engine(plugins=[Declared()])
    assert _applied(engine) == ("org.declared", "org-declared", "2.0.1")
    assert {i.name: (i.distribution, i.version) for i in engine.plugin_info()}["org.declared"] == (
        "org-declared",
        "2.0.1",
    )


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"ketenzorg_plugin_version": "1"}, "ketenzorg_plugin_version is given without"),
        ({"ketenzorg_plugin_distribution": ""}, "ketenzorg_plugin_distribution is not a text"),
        ({"ketenzorg_plugin_distribution": "x", "ketenzorg_plugin_version": 1}, "version is not a text"),
    ],
)
def test_a_declared_provenance_that_cannot_be_used_is_refused(
    attributes: dict[str, Any], message: str
) -> None:
    plugin = type("Declares", (), {"ketenzorg_plugin_name": "org.declares", **attributes})()
    with pytest.raises(PluginError, match=message) as caught:
        Engine(plugins=[plugin])
    assert (caught.value.plugin, caught.value.hook) == ("org.declares", "register")


def test_an_unknown_provenance_is_recorded_as_unknown() -> None:
    class Anonymous:
        ketenzorg_plugin_name = "org.anonymous"

        @hookimpl
        def ketenzorg_register_instruments(self, registry: InstrumentRegistry) -> None:
            module: dict[str, Any] = {}
            exec(textwrap.dedent(SCAN_PLUGIN), module)
            registry.add(module["Scan"]())

    engine = Engine(plugins=[Anonymous()])  # defined in a test module: no distribution installed it
    assert _applied(engine) == ("org.anonymous", None, None)


def test_building_an_engine_does_not_read_the_installed_distributions(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.metadata

    _install_fake_distribution(site, "org-fake-lazy", "org_fake_lazy", SCAN_PLUGIN)
    module = importlib.import_module("org_fake_lazy")
    reads: list[str] = []
    for name in ("entry_points", "packages_distributions"):
        real = getattr(importlib.metadata, name)
        monkeypatch.setattr(
            importlib.metadata,
            name,
            lambda *a, _real=real, _name=name, **k: reads.append(_name) or _real(*a, **k),
        )
    engine = Engine(plugins=[module])
    assert reads == []
    assert _applied(engine)[1:] == ("org-fake-lazy", "1.2.3")
    assert reads == ["entry_points"]
    _applied(engine)
    assert reads == ["entry_points"]  # looked up once per engine


# --- where a plugin failed -----------------------------------------------------------------------


def test_a_failure_inside_a_library_is_placed_on_the_plugins_own_line(tmp_path: Path) -> None:
    missing = tmp_path / "weights-missing.json"

    def reads_a_file(ctx: RuleContext) -> Finding:
        missing.read_bytes()  # the plugin's own line: the exception is raised inside pathlib
        raise AssertionError("unreachable")

    engine = Engine(plugins=[RulesPlugin(Rule("org.reads", reads_a_file), name="org.reader")])
    with pytest.raises(PluginError) as caught:
        engine.evaluate(new_case(), at=day(1))
    line = reads_a_file.__code__.co_firstlineno + 1
    assert caught.value.location == (__file__, line)
    described = caught.value.describe()
    assert (
        described == f"plugin 'org.reader' failed in rule 'org.reads': FileNotFoundError at {__file__}:{line}"
    )
    assert caught.value.message_hidden
    # The message (here the file name) and the traceback only when asked for.
    detailed = caught.value.describe(debug=True)
    assert detailed.startswith(f"{described}: [Errno 2] No such file or directory: '{missing}'\n")
    assert "Traceback (most recent call last)" in detailed
    assert "missing.read_bytes()" in detailed


def test_a_plugin_that_does_not_compile_is_placed_where_it_breaks(site: Path) -> None:
    _install_fake_distribution(site, "org-fake-typo", "org_fake_typo", "x = 1\ndef broken(:\n    pass\n")
    with pytest.raises(PluginError) as caught:
        Engine(entry_points=True)
    assert caught.value.location == (str(site / "org_fake_typo.py"), 2)
    assert "SyntaxError at " in caught.value.describe()


def test_a_plugins_own_validation_error_reaches_the_user_as_written() -> None:
    from ketenzorg.errors import Problem, ValidationError
    from ketenzorg.instruments import ResponseError

    class Strict:
        ketenzorg_plugin_name = "org.strict"

        @hookimpl
        def ketenzorg_register_instruments(self, registry: InstrumentRegistry) -> None:
            module: dict[str, Any] = {}
            exec(textwrap.dedent(SCAN_PLUGIN), module)

            class StrictScan(module["Scan"]):  # type: ignore[misc, name-defined]
                def assess(self, answers: Any) -> Any:
                    raise ResponseError([Problem("q", "answer 'no' needs a rationale item")])

            registry.add(StrictScan())

        @hookimpl
        def ketenzorg_register_rules(self, registry: RuleRegistry) -> None:
            def refuses(ctx: RuleContext) -> Finding:
                raise ValidationError([Problem("policy.threshold", "must be 1..24")])

            registry.add(Rule("org.refuses", refuses))

    engine = Engine(plugins=[Strict()])
    with pytest.raises(PluginError) as assessed:
        engine.assess(new_case(), "org.scan", {"q": False}, at=day(1))
    assert str(assessed.value) == (
        "plugin 'org.strict' failed in assess of instrument 'org.scan': "
        "ResponseError: q: answer 'no' needs a rationale item"
    )
    assert not assessed.value.message_hidden
    with pytest.raises(PluginError) as evaluated:
        engine.evaluate(new_case(), at=day(1))
    assert str(evaluated.value).endswith("ValidationError: policy.threshold: must be 1..24")
    described = evaluated.value.describe()
    assert f"ValidationError at {__file__}:" in described
    assert described.endswith(": policy.threshold: must be 1..24")


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
