"""The plugin host: one pluggy manager per engine, the registries, and failure reporting.

Nothing is registered at import time. Each :class:`~ketenzorg.engine.Engine` builds its own
:class:`PluginHost` from the built-in plugins, the plugins it is given and (if asked) the
``ketenzorg`` entry-point group, minus the blocked names; two engines in one process never share
a plugin.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import math
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from types import FrameType, ModuleType, TracebackType
from typing import Any

import attrs
import pluggy

from ketenzorg import hookspecs
from ketenzorg.conferences import ConferenceKind
from ketenzorg.errors import KetenzorgError
from ketenzorg.instruments import Answer, Instrument, InstrumentResult, InstrumentSpec
from ketenzorg.rules import Rule
from ketenzorg.settings import Setting, Settings, accepts_settings, resolve

__all__ = [
    "BUILTIN_PLUGINS",
    "CORE_RULES_PLUGIN",
    "ENTRY_POINT_GROUP",
    "ConferenceKindRegistry",
    "HookBudget",
    "InstrumentRegistry",
    "PluginError",
    "PluginHost",
    "PluginInfo",
    "PluginTimeoutError",
    "RegisteredInstrument",
    "RuleRegistry",
    "SettingRegistry",
]


ENTRY_POINT_GROUP = "ketenzorg"
CORE_RULES_PLUGIN = "ketenzorg.method"
"""The method's own rules; they cannot be blocked (single rules can be overridden)."""
BUILTIN_PLUGINS: tuple[tuple[str, str], ...] = (
    (CORE_RULES_PLUGIN, "ketenzorg.plugins.method"),
    ("ketenzorg.geweldsanalyse", "ketenzorg.plugins.geweldsanalyse"),
    ("ketenzorg.gezinsprofielen", "ketenzorg.plugins.gezinsprofielen"),
)
"""Name and module of each plugin shipped with ketenzorg (registered like any other)."""


class PluginError(KetenzorgError):
    """A plugin failed: to load, to register, or in a hook. Names the plugin and the hook.

    ``str()`` names the plugin, the hook and the type of the exception, never the exception's
    message: a plugin's message may repeat what it was given (a rationale, a name), and an
    application may log this error. The exception is the one exception to that: an error of
    ketenzorg's own kinds (a :class:`~ketenzorg.errors.KetenzorgError`, such as the
    ``ValidationError`` or ``ResponseError`` a plugin raises on purpose with its problems) is shown
    as written, because those texts are written to be shown and never repeat case data.

    The original exception is ``__cause__`` (and :attr:`cause`), with its message and traceback,
    for a caller that decides to look at it; :attr:`location` is the file and line in the plugin's
    own code where it went wrong, and :meth:`describe` renders all of it for a developer. A text
    ``cause`` is a description ketenzorg wrote itself and holds no case data; ``detail`` is such a
    description added to an exception's type.
    """

    def __init__(
        self,
        plugin: str,
        hook: str,
        cause: BaseException | str,
        *,
        detail: str | None = None,
        location: tuple[str, int] | None = None,
    ) -> None:
        self.plugin = plugin
        self.hook = hook
        self.cause = cause
        self.detail = detail if not isinstance(cause, str) else None
        self.location: tuple[str, int] | None = (
            location if location is not None or isinstance(cause, str) else own_frame(cause)
        )
        """The file and line of the plugin's own code where it failed, if known."""
        super().__init__(f"plugin {plugin!r} failed in {hook}: {self._what(at=False, debug=False)}")

    @property
    def message_hidden(self) -> bool:
        """Whether :meth:`describe` leaves out the exception's message unless asked for detail."""
        cause = self.cause
        return not isinstance(cause, str | KetenzorgError) and bool(str(cause))

    def _what(self, *, at: bool, debug: bool) -> str:
        cause = self.cause
        where = f"{self.location[0]}:{self.location[1]}" if at and self.location else ""
        if isinstance(cause, str):
            return f"{cause} (at {where})" if where else cause
        text = type(cause).__name__
        if self.detail:
            text += f" ({self.detail})"
        if where:
            text += f" at {where}"
        if isinstance(cause, KetenzorgError) or (debug and str(cause)):
            text += f": {cause}"
        return text

    def describe(self, *, debug: bool = False) -> str:
        """The failure for a developer: plugin, hook, exception type and where in the plugin.

        Without ``debug``, the exception's message is left out (it may repeat case data) unless
        it is one of ketenzorg's own errors; with ``debug``, the message and the traceback are
        added. Show ``debug`` output only to whoever may see the case.
        """
        text = f"plugin {self.plugin!r} failed in {self.hook}: {self._what(at=True, debug=debug)}"
        cause = self.cause
        if debug and isinstance(cause, BaseException):
            import traceback

            text += "\n" + "".join(traceback.format_exception(cause)).rstrip()
        return text


class PluginTimeoutError(PluginError):
    """A hook call ran longer than the engine's time budget (``hook_timeout``) and was stopped."""

    def __init__(
        self, plugin: str, hook: str, budget: float, *, location: tuple[str, int] | None = None
    ) -> None:
        self.budget = budget
        super().__init__(
            plugin,
            hook,
            f"took longer than its time budget of {budget:g} s and was stopped",
            location=location,
        )


class _OutOfTime(BaseException):
    """Raised into a hook call whose time is up.

    A ``BaseException`` (like ``KeyboardInterrupt``), so that a plugin's ``except Exception``
    does not swallow it.
    """


class HookBudget:
    """Stops the hook call it wraps after ``seconds`` with a :class:`PluginTimeoutError`.

    Uses ``SIGALRM`` (``signal.setitimer``): only on POSIX, only in the main thread and only when
    no other real-time timer runs (an outer budget, or the application's own alarm, then governs);
    elsewhere the call runs without a budget. A call that catches the interruption and returns
    anyway is still reported as timed out, and its result is not used. Code that never returns to
    the interpreter (a blocking C call) is stopped only when it does.
    """

    def __init__(self, plugin: str, hook: str, seconds: float | None) -> None:
        self.plugin = plugin
        self.hook = hook
        self.seconds = seconds
        self._armed = False
        self._expired = False
        self._previous: Any = None

    def __enter__(self) -> HookBudget:
        if self.seconds is None or not _can_alarm() or signal.getitimer(signal.ITIMER_REAL)[0] > 0:
            return self
        self._previous = signal.signal(signal.SIGALRM, self._alarm)
        self._armed = True
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def _alarm(self, signum: int, frame: FrameType | None) -> None:
        if not self._armed or (frame is not None and frame.f_code is _EXIT_CODE):
            return
        self._expired = True
        raise _OutOfTime

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._armed:
            return
        self._armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        # None: the previous handler was not set from Python; the default is the closest to it.
        signal.signal(signal.SIGALRM, signal.SIG_DFL if self._previous is None else self._previous)
        if self._expired:
            # The budget is spent: whatever the call did with the interruption, it failed.
            assert self.seconds is not None
            where = own_frame(error) if isinstance(error, _OutOfTime) else None
            raise PluginTimeoutError(self.plugin, self.hook, self.seconds, location=where) from None


_EXIT_CODE = HookBudget.__exit__.__code__
_NO_BUDGET: AbstractContextManager[object] = contextlib.nullcontext()


def own_frame(error: BaseException) -> tuple[str, int] | None:
    """The file and line in the plugin's own code where ``error`` was raised, if there is one.

    The plugin's code is the package of the first frame of the traceback outside ketenzorg's core,
    pluggy and the standard library (where ketenzorg called into the plugin); its own frame is the
    deepest frame in that package, so a failure inside a library the plugin called (``pathlib``)
    is placed on the plugin's line that called it. A plugin that does not compile is placed where
    the compiler found the fault. Without any frame of the plugin's, the deepest frame.
    """
    if isinstance(error, SyntaxError) and error.filename and error.lineno:
        return error.filename, error.lineno
    frames: list[tuple[str, str, int]] = []
    tb = error.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        frames.append((str(tb.tb_frame.f_globals.get("__name__", "")), code.co_filename, tb.tb_lineno))
        tb = tb.tb_next
    if not frames:
        return None
    package = next((_package(module) for module, _, _ in frames if not _is_library(module)), None)
    if package is not None:
        for module, filename, line in reversed(frames):
            if module == package or module.startswith(package + "."):
                return filename, line
    return frames[-1][1], frames[-1][2]


def _is_library(module: str) -> bool:
    top = module.partition(".")[0]
    if top == "ketenzorg":
        return not module.startswith("ketenzorg.plugins.")
    return top in sys.stdlib_module_names or top in ("pluggy", "attr", "attrs")


def _package(module: str) -> str:
    # A plugin shipped inside ketenzorg is its own module; any other plugin is its whole package.
    return module if module.startswith("ketenzorg.") else module.partition(".")[0]


def _can_alarm() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def check_budget(seconds: float | None) -> float | None:
    """A time budget in seconds: a positive, finite number, or ``None`` for no budget."""
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds < math.inf:
        raise ValueError("a hook time budget is a positive number of seconds, or None")
    return float(seconds)


@attrs.frozen
class PluginInfo:
    """A loaded plugin: its name, where it comes from and which hooks it implements."""

    name: str
    distribution: str | None
    version: str | None
    builtin: bool
    hooks: tuple[str, ...]


@attrs.frozen
class RegisteredInstrument:
    """An instrument with the plugin that registered it (its provenance)."""

    instrument: Instrument
    plugin: str
    provenance: Callable[[], tuple[str | None, str | None]] = attrs.field(eq=False, repr=False)
    """The plugin's distribution and version (``None``: unknown), found when first asked."""
    settings: Settings = attrs.field(factory=Settings, eq=False, repr=False)
    """The plugin's settings in this engine (empty for a plugin that declares none)."""

    def assess(self, answers: Mapping[str, Answer]) -> InstrumentResult:
        """The instrument's ``assess``, given this engine's settings when it takes them.

        Unguarded: callers wrap it in the hook budget and report a failure as a plugin error.
        """
        method: Any = self.instrument.assess
        if accepts_settings(method):
            return method(answers, settings=self.settings)  # type: ignore[no-any-return]
        return method(answers)  # type: ignore[no-any-return]

    @property
    def distribution(self) -> str | None:
        return self.provenance()[0]

    @property
    def version(self) -> str | None:
        return self.provenance()[1]

    @property
    def spec(self) -> InstrumentSpec:
        return self.instrument.spec


class _Registry:
    def __init__(self) -> None:
        self._plugin = ""

    def _as(self, plugin: str) -> _Registry:
        self._plugin = plugin
        return self

    def _duplicate(self, hook: str, what: str, other: str) -> PluginError:
        # Blame the plugin that is not shipped with ketenzorg, whichever registered first.
        builtin = {name for name, _ in BUILTIN_PLUGINS}
        culprit, first = (other, self._plugin) if self._plugin in builtin else (self._plugin, other)
        return PluginError(culprit, hook, f"{what} is registered by both plugin {first!r} and {culprit!r}")


class RuleRegistry(_Registry):
    """Collects rules during ``ketenzorg_register_rules``."""

    def __init__(self) -> None:
        super().__init__()
        self._rules: dict[str, Rule] = {}
        self._overrides: dict[str, Rule] = {}

    def add(self, rule: Rule) -> None:
        """Add ``rule``; a rule id another plugin registered is an error naming both."""
        if not isinstance(rule, Rule):
            raise TypeError(f"expected a ketenzorg.rules.Rule, got {type(rule).__name__}")
        existing = self._rules.get(rule.id)
        if existing is not None:
            raise self._duplicate("ketenzorg_register_rules", f"rule id {rule.id!r}", existing.plugin)
        self._rules[rule.id] = attrs.evolve(rule, plugin=self._plugin, overrides=None)

    def override(self, rule: Rule) -> None:
        """Replace the rule with the same id, whichever plugin registered it.

        The replacement keeps the replaced rule's kind: a gate stays a gate and an advisory rule
        stays advisory (an override that changes ``gate`` is refused). Every decision names the
        plugin whose rule ran (``RuleResult.plugin``) and the one it replaced
        (``RuleResult.overrides``).
        """
        if not isinstance(rule, Rule):
            raise TypeError(f"expected a ketenzorg.rules.Rule, got {type(rule).__name__}")
        if rule.id in self._overrides:
            raise PluginError(
                self._plugin,
                "ketenzorg_register_rules",
                f"rule id {rule.id!r} is already overridden by {self._overrides[rule.id].plugin!r}",
            )
        self._overrides[rule.id] = attrs.evolve(rule, plugin=self._plugin, overrides=None)

    def rules(self) -> tuple[Rule, ...]:
        for rule_id, rule in self._overrides.items():
            replaced = self._rules.get(rule_id)
            if replaced is None:
                raise PluginError(rule.plugin, "ketenzorg_register_rules", f"no rule {rule_id!r} to override")
            if rule.gate is not replaced.gate:
                kinds = ("a gate", "an advisory rule") if replaced.gate else ("an advisory rule", "a gate")
                raise PluginError(
                    rule.plugin,
                    "ketenzorg_register_rules",
                    f"the override of rule {rule_id!r} would turn {kinds[0]} of plugin "
                    f"{replaced.plugin!r} into {kinds[1]}; an override keeps the rule's gate",
                )
            self._overrides[rule_id] = attrs.evolve(rule, overrides=replaced.plugin)
        # The method's rules first, then the organisations', each in registration order; an
        # override takes the place of the rule it replaces.
        ordered = sorted(self._rules.items(), key=lambda item: item[1].plugin != CORE_RULES_PLUGIN)
        return tuple(self._overrides.get(rid, rule) for rid, rule in ordered)


class SettingRegistry(_Registry):
    """Collects the settings plugins declare during ``ketenzorg_register_settings``."""

    def __init__(self) -> None:
        super().__init__()
        self._settings: dict[str, dict[str, Setting]] = {}

    def add(self, setting: Setting) -> None:
        """Declare ``setting`` for the calling plugin; a name it already declared is an error."""
        if not isinstance(setting, Setting):
            raise TypeError(f"expected a ketenzorg.settings.Setting, got {type(setting).__name__}")
        own = self._settings.setdefault(self._plugin, {})
        if setting.name in own:
            raise PluginError(
                self._plugin, "ketenzorg_register_settings", f"setting {setting.name!r} is declared twice"
            )
        own[setting.name] = setting

    def settings(self) -> Mapping[str, Mapping[str, Setting]]:
        return {plugin: dict(own) for plugin, own in self._settings.items()}


class ConferenceKindRegistry(_Registry):
    """Collects conference kinds during ``ketenzorg_register_conference_kinds``."""

    def __init__(self) -> None:
        super().__init__()
        self._kinds: dict[str, tuple[str, ConferenceKind]] = {}

    def add(self, kind: ConferenceKind) -> None:
        """Add ``kind``; a code another plugin registered is an error naming both."""
        if not isinstance(kind, ConferenceKind):
            raise TypeError(f"expected a ketenzorg.conferences.ConferenceKind, got {type(kind).__name__}")
        existing = self._kinds.get(kind.code)
        if existing is not None:
            raise self._duplicate(
                "ketenzorg_register_conference_kinds", f"conference kind {kind.code!r}", existing[0]
            )
        self._kinds[kind.code] = (self._plugin, kind)

    def kinds(self) -> Mapping[str, ConferenceKind]:
        return {code: kind for code, (_, kind) in self._kinds.items()}

    def plugins(self) -> Mapping[str, str]:
        """The plugin that registered each kind, by code."""
        return {code: plugin for code, (plugin, _) in self._kinds.items()}


class InstrumentRegistry(_Registry):
    """Collects instruments during ``ketenzorg_register_instruments``."""

    def __init__(
        self,
        provenance: Callable[[str], tuple[str | None, str | None]],
        settings: Mapping[str, Settings] | None = None,
    ) -> None:
        super().__init__()
        self._provenance = provenance
        self._settings = settings or {}
        self._items: dict[str, RegisteredInstrument] = {}

    def add(self, instrument: Instrument) -> None:
        """Add ``instrument``; an id another plugin registered is an error naming both."""
        if not isinstance(instrument, Instrument) or not isinstance(instrument.spec, InstrumentSpec):
            raise TypeError("an instrument has a `spec` (InstrumentSpec) and an `assess` method")
        spec = instrument.spec
        if spec.canonical is None:
            # Never ketenzorg's base by default: two organisations' instruments with one id would
            # then share a Questionnaire URL and code systems.
            raise PluginError(
                self._plugin,
                "ketenzorg_register_instruments",
                f"instrument {spec.id!r} declares no canonical base (InstrumentSpec.canonical, the "
                "organisation's own URL for its FHIR definitions, e.g. https://fhir.example.org)",
            )
        existing = self._items.get(spec.id)
        if existing is not None:
            raise self._duplicate(
                "ketenzorg_register_instruments", f"instrument {spec.id!r}", existing.plugin
            )
        self._items[spec.id] = RegisteredInstrument(
            instrument,
            self._plugin,
            functools.partial(self._provenance, self._plugin),
            self._settings.get(self._plugin, Settings()),
        )

    def instruments(self) -> Mapping[str, RegisteredInstrument]:
        return dict(self._items)


def _builtin_version() -> str:
    from ketenzorg._version import __version__

    return __version__


def _may_declare_entry_points(group: str) -> bool:
    """Whether an installed distribution may declare an entry point in ``group``; ``False`` only
    when none on ``sys.path`` can.

    ``importlib.metadata.entry_points`` costs about 15 ms in a command that takes 100 (importing it
    brings in the ``email`` package, and it reads every distribution's metadata), while most
    installations have no plugin at all. This looks where ``importlib.metadata`` looks, the
    ``*.dist-info`` and ``*.egg-info`` folders of every ``sys.path`` folder, for an
    ``entry_points.txt`` with a ``[group]`` section, read by the same rule (a stripped line in
    brackets). Anything it cannot judge cheaply (a zip file on the path, another finder of
    distributions in ``sys.meta_path``, an unreadable folder) answers ``True``, so that
    ``importlib.metadata`` decides.
    """
    import os
    import sys
    from importlib.machinery import PathFinder

    for finder in sys.meta_path:
        if finder is not PathFinder and getattr(finder, "find_distributions", None) is not None:
            return True
    for entry in sys.path:
        folder = entry or "."
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            continue  # importlib.metadata finds nothing there either
        except OSError:  # a zip file or an egg (importlib.metadata reads inside it), or unreadable
            return True
        for name in names:
            if not name.lower().endswith((".dist-info", ".egg-info")):
                continue
            try:
                with open(os.path.join(folder, name, "entry_points.txt"), "rb") as file:
                    text = file.read().decode("utf-8", errors="replace")
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError:
                return True
            for line in text.splitlines():
                value = line.strip()
                if value.startswith("[") and value.endswith("]") and value.strip("[]") == group:
                    return True
    return False


class PluginHost:
    """One engine's plugins, hooks and registries.

    ``settings`` are the policy's plugin settings (:attr:`~ketenzorg.policy.Policy.plugins`),
    checked against what the plugins declare (a :class:`~ketenzorg.errors.PolicyError` otherwise);
    :attr:`settings` then holds every declaring plugin's settings, defaults filled in.
    """

    def __init__(
        self,
        plugins: Iterable[object] = (),
        *,
        entry_points: bool = False,
        block: Iterable[str] = (),
        on_listener_error: Callable[[PluginError], None] | None = None,
        hook_timeout: float | None = None,
        settings: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.hook_timeout = check_budget(hook_timeout)
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self._dist: dict[str, tuple[str | None, str | None]] = {}
        self._undeclared: dict[str, object] = {}
        """In-process plugins that declared no distribution: it is looked up when first needed."""
        self._builtin: set[str] = set()
        self._on_listener_error = on_listener_error or _log_listener_error
        blocked = set(block)
        if CORE_RULES_PLUGIN in blocked:
            raise PluginError(
                CORE_RULES_PLUGIN,
                "block",
                "the method's rules cannot be blocked; override single rules instead",
            )
        for name in blocked:
            self.pm.set_blocked(name)
        for name, module in BUILTIN_PLUGINS:
            if name not in blocked:
                self._register(importlib.import_module(module), name, ("ketenzorg", _builtin_version()))
                self._builtin.add(name)
        for plugin in plugins:
            name = _plugin_name(plugin)
            if name not in blocked:
                self._register(plugin, name, _declared_provenance(plugin, name))
                if self._dist[name] == (None, None):
                    self._undeclared[name] = plugin
        if entry_points:
            self._load_entry_points(blocked)
        for impl_plugin, hook_name in self._wrappers():
            raise PluginError(
                impl_plugin, hook_name, "hook wrappers are not supported: implement the hook plainly"
            )
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as error:
            name = self.pm.get_name(error.plugin) or _plugin_name(error.plugin)
            raise PluginError(name, "check_pending", error, detail=str(error)) from error
        self.settings: Mapping[str, Settings] = self._collect_settings(settings or {}, blocked)
        self.rules = self._collect_rules()
        self.instruments = self._collect_instruments()
        self.conference_kinds = self._collect_conference_kinds()

    # --- loading ---------------------------------------------------------------------------------

    def _wrappers(self) -> Iterator[tuple[str, str]]:
        # Implementations are called one by one (to name a failing plugin), so wrappers never run.
        for name in dir(self.pm.hook):
            if not name.startswith("ketenzorg_"):
                continue
            for impl in getattr(self.pm.hook, name).get_hookimpls():
                if impl.hookwrapper or impl.wrapper:
                    yield impl.plugin_name, name

    def _register(self, plugin: object, name: str, dist: tuple[str | None, str | None]) -> None:
        if self.pm.has_plugin(name) or self.pm.is_registered(plugin):
            raise PluginError(name, "register", "a plugin with this name is already registered")
        try:
            self.pm.register(plugin, name=name)
        except pluggy.PluginValidationError as error:
            raise PluginError(name, "register", error, detail=str(error)) from error
        self._dist[name] = dist

    def _load_entry_points(self, blocked: set[str]) -> None:
        if not _may_declare_entry_points(ENTRY_POINT_GROUP):
            return  # nothing installed declares a plugin: importlib.metadata would find none
        import importlib.metadata  # deferred: it costs about as much to import as the engine itself

        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in blocked:
                continue
            if self.pm.has_plugin(ep.name):
                raise PluginError(
                    ep.name,
                    "register",
                    f"an installed plugin and a plugin given to the engine are both named {ep.name!r}",
                )
            dist = ep.dist
            hook = f"import of {ep.value!r}"
            with self.budget(ep.name, hook):
                try:
                    plugin = ep.load()
                except Exception as error:  # reported with the plugin's name and the original cause
                    missing = error.name if isinstance(error, ImportError) else None
                    detail = f"module {missing!r}" if missing else None
                    raise PluginError(ep.name, hook, error, detail=detail) from error
            self._register(
                plugin,
                ep.name,
                (dist.name if dist else None, dist.version if dist else None),
            )

    def _impls(self, hook_name: str) -> Iterator[tuple[str, Callable[..., Any]]]:
        """Each implementation of a hook with its plugin's name, in pluggy's call order."""
        hook = getattr(self.pm.hook, hook_name)
        for impl in reversed(hook.get_hookimpls()):
            yield impl.plugin_name, impl.function

    def _call_each(self, hook_name: str, registry: _Registry, **kwargs: Any) -> None:
        for plugin, function in self._impls(hook_name):
            with self.budget(plugin, hook_name):
                try:
                    function(**_accepted(function, kwargs, registry._as(plugin)))
                except PluginError:
                    raise
                except Exception as error:
                    raise PluginError(plugin, hook_name, error) from error

    def _collect_rules(self) -> tuple[Rule, ...]:
        registry = RuleRegistry()
        self._call_each("ketenzorg_register_rules", registry)
        return registry.rules()

    def _collect_settings(
        self, given: Mapping[str, Mapping[str, Any]], blocked: set[str]
    ) -> Mapping[str, Settings]:
        registry = SettingRegistry()
        self._call_each("ketenzorg_register_settings", registry)
        self.declared_settings: Mapping[str, Mapping[str, Setting]] = registry.settings()
        loaded = {name for name, plugin in self.pm.list_name_plugin() if plugin is not None}
        return resolve(given, registry.settings(), loaded=loaded, blocked=blocked)

    def _collect_instruments(self) -> Mapping[str, RegisteredInstrument]:
        registry = InstrumentRegistry(self.provenance, self.settings)
        self._call_each("ketenzorg_register_instruments", registry)
        return registry.instruments()

    def _collect_conference_kinds(self) -> Mapping[str, ConferenceKind]:
        registry = ConferenceKindRegistry()
        self._call_each("ketenzorg_register_conference_kinds", registry)
        self.conference_kind_plugins: Mapping[str, str] = registry.plugins()
        return registry.kinds()

    # --- notifications ---------------------------------------------------------------------------

    def budget(self, plugin: str, hook: str) -> AbstractContextManager[object]:
        """The time budget of one hook call (none when the engine has no ``hook_timeout``)."""
        if self.hook_timeout is None:
            return _NO_BUDGET
        return HookBudget(plugin, hook, self.hook_timeout)

    def ask(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Each plugin's answer to a question hook, with the plugin's name, in pluggy's call order.

        Unlike a listener, a plugin that fails or runs out of time fails the call (a
        :class:`PluginError`): a question such as "may this text leave?" never goes unanswered.
        """
        answers: list[tuple[str, Any]] = []
        for plugin, function in self._impls(hook_name):
            with self.budget(plugin, hook_name):
                try:
                    answers.append(
                        (plugin, function(**{k: v for k, v in kwargs.items() if k in _argnames(function)}))
                    )
                except PluginError:
                    raise
                except Exception as error:
                    raise PluginError(plugin, hook_name, error) from error
        return answers

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call every listener of ``hook_name``; a failing listener never stops the others.

        A listener that fails or runs out of time is reported to ``on_listener_error``; the
        event it was told about stays recorded.
        """
        for plugin, function in self._impls(hook_name):
            try:
                with self.budget(plugin, hook_name):
                    function(**{k: v for k, v in kwargs.items() if k in _argnames(function)})
            except PluginTimeoutError as timeout:
                if (timeout.plugin, timeout.hook) != (plugin, hook_name):  # from a call it made
                    self._listener_failed(plugin, hook_name, timeout)
                else:
                    self._on_listener_error(timeout)
            except Exception as error:
                self._listener_failed(plugin, hook_name, error)

    def _listener_failed(self, plugin: str, hook_name: str, error: Exception) -> None:
        failure = PluginError(plugin, hook_name, error)
        failure.__cause__ = error
        self._on_listener_error(failure)

    # --- introspection ---------------------------------------------------------------------------

    def provenance(self, plugin: str) -> tuple[str | None, str | None]:
        """The distribution and version a plugin comes from; ``(None, None)`` when unknown.

        Shipped plugins come from ``ketenzorg``; installed ones from the distribution of their entry
        point; an in-process plugin from what it declares (``ketenzorg_plugin_distribution``,
        ``ketenzorg_plugin_version``), else from the installed distribution its module belongs
        to, looked up on first use (reading the installed distributions costs tens of
        milliseconds, which building an engine does not pay).
        """
        waiting = self._undeclared.pop(plugin, None)
        if waiting is not None:
            self._dist[plugin] = _installed_provenance(waiting)
        return self._dist.get(plugin, (None, None))

    def info(self) -> tuple[PluginInfo, ...]:
        out = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or ()))
            dist, version = self.provenance(name)
            out.append(PluginInfo(name, dist, version, name in self._builtin, hooks))
        return tuple(out)


def _declared_provenance(plugin: object, name: str) -> tuple[str | None, str | None]:
    """What an in-process plugin says about its distribution and version (both optional)."""
    distribution = getattr(plugin, "ketenzorg_plugin_distribution", None)
    version = getattr(plugin, "ketenzorg_plugin_version", None)
    for attribute, value in (("distribution", distribution), ("version", version)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise PluginError(name, "register", f"ketenzorg_plugin_{attribute} is not a text")
    if version is not None and distribution is None:
        raise PluginError(
            name, "register", "ketenzorg_plugin_version is given without ketenzorg_plugin_distribution"
        )
    if distribution is not None and version is None:
        import importlib.metadata

        try:
            version = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            version = None
    return distribution, version


def _installed_provenance(plugin: object) -> tuple[str | None, str | None]:
    """The installed distribution an in-process plugin's module belongs to, or ``(None, None)``.

    First a distribution that names the module's package in its ``ketenzorg`` entry points (what
    loading it through the entry point would record), then the one distribution that installed
    that package.
    """
    import importlib.metadata

    module = plugin.__name__ if isinstance(plugin, ModuleType) else type(plugin).__module__
    package = module.partition(".")[0]
    if package == "ketenzorg":
        return "ketenzorg", _builtin_version()
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.module.partition(".")[0] == package and ep.dist is not None:
            return ep.dist.name, ep.dist.version
    names = set(importlib.metadata.packages_distributions().get(package, ()))
    if len(names) == 1:
        [name] = names
        try:
            return name, importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return None, None
    return None, None


def _plugin_name(plugin: object) -> str:
    name = getattr(plugin, "ketenzorg_plugin_name", None) or getattr(plugin, "__name__", None)
    if isinstance(name, str) and name:
        return name
    return f"{type(plugin).__module__}.{type(plugin).__qualname__}"


@functools.cache
def _argnames(function: Callable[..., Any]) -> frozenset[str]:
    """The keyword arguments an implementation accepts (it may take fewer than the spec)."""
    return frozenset(inspect.signature(function).parameters)


def _accepted(function: Callable[..., Any], kwargs: dict[str, Any], registry: _Registry) -> dict[str, Any]:
    args = {**kwargs, "registry": registry}
    names = _argnames(function)
    return {k: v for k, v in args.items() if k in names}


def _log_listener_error(failure: PluginError) -> None:
    # str(PluginError) holds only the plugin, the hook and the exception type: the message may
    # hold case data. logging is imported here, when a listener has failed: importing it costs every
    # command a few milliseconds of start-up.
    import logging

    logging.getLogger("ketenzorg.plugins").error("listener failed: %s (the event is recorded)", failure)
