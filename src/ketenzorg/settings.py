"""Plugin settings: what a plugin declares, what an organisation sets, what a rule or instrument reads.

A plugin declares each setting once (:class:`Setting`: a name, a default that gives its type, and
its bounds or codes) in ``ketenzorg_register_settings``. An organisation sets them in its policy,
under the plugin's name (``{"plugins": {"org.dash": {"high_risk_yes_count": 12}}}``:
:attr:`~ketenzorg.policy.Policy.plugins`). When an engine is built, :func:`resolve` checks the
policy against the declarations and gives each plugin its :class:`Settings` (every declared setting,
the policy's value or the default); rules read them from ``RuleContext.settings`` and instruments
receive them as ``assess(answers, settings=...)``. The settings belong to the engine, never to the
plugin's module, so two engines in one process can run one plugin with different settings.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

import attrs

from ketenzorg.domain import Text, to_optional_text
from ketenzorg.errors import PolicyError, Problem, ValidationError

__all__ = ["FrozenMapping", "Setting", "SettingValue", "Settings", "accepts_settings", "resolve"]

SettingValue = bool | int | float | str
"""The value of a setting: what a JSON policy file can hold as a single value."""

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T", bool, int, float, str)

_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_KINDS: dict[type, str] = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "a text",
}


class FrozenMapping(Mapping[K, V]):
    """A read-only, hashable mapping (a value: equal when the items are equal).

    What a plugin can reach of it is read-only too: its items through a ``MappingProxyType`` of
    a copy, and no attribute can be set, so a rule cannot change another evaluation's settings.
    """

    __slots__ = ("_data", "_hash")
    _data: MappingProxyType[K, V]
    _hash: int | None

    def __init__(self, data: Mapping[K, V] | None = None) -> None:
        object.__setattr__(self, "_data", MappingProxyType(dict(data or {})))
        object.__setattr__(self, "_hash", None)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            object.__setattr__(self, "_hash", hash(frozenset(self._data.items())))
        assert self._hash is not None
        return self._hash

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return dict(self._data) == dict(other.items())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self._data)!r})"


class Settings(FrozenMapping[str, SettingValue]):
    """One plugin's settings in one engine: every setting it declared, by name."""

    __slots__ = ()

    def value(self, name: str, kind: type[T]) -> T:
        """The setting ``name``, typed for the caller (``settings.value("count", int)``).

        Raises ``KeyError`` for a setting the plugin did not declare and ``TypeError`` when it
        declared another type: both are mistakes in the plugin, not in the policy.
        """
        value = self[name]
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise TypeError(f"setting {name!r} is not of type {kind.__name__}")
        return value


def _choices(value: Collection[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


@attrs.frozen
class Setting:
    """A setting a plugin declares: its name, its default (which gives its type) and its bounds.

    The type is that of ``default``: ``bool``, ``int``, ``float`` or ``str``. ``minimum`` and
    ``maximum`` (inclusive) bound a number; ``choices`` lists the codes a text may take (an
    enumeration). A declaration that contradicts itself is refused when it is made.
    """

    name: str
    """The key in the policy file: lower case, digits and ``_`` (``high_risk_yes_count``)."""
    default: SettingValue
    minimum: int | float | None = attrs.field(default=None, kw_only=True)
    maximum: int | float | None = attrs.field(default=None, kw_only=True)
    choices: tuple[str, ...] | None = attrs.field(default=None, kw_only=True, converter=_choices)
    description: Text | None = attrs.field(default=None, kw_only=True, converter=to_optional_text)
    """What the setting does, for the organisation that sets it (shown by ``ketenzorg plugins``), in
    Dutch and English (a :class:`~ketenzorg.domain.Text` or ``{"nl": ..., "en": ...}``; a plain
    string, the older form, is shown as it is in both languages)."""

    def __attrs_post_init__(self) -> None:
        problems = [Problem(f"settings.{self.name}", message) for message in self._declaration_problems()]
        if problems:
            raise ValidationError(problems)

    @property
    def type(self) -> type:
        """``bool``, ``int``, ``float`` or ``str``: the type of the default."""
        return type(self.default)

    def _declaration_problems(self) -> Iterator[str]:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            yield "a setting's name is lower case letters, digits and _ (at most 64), starting with a letter"
            return
        if type(self.default) not in _KINDS:
            yield "the default is true/false, a whole number, a number or a text"
            return
        if isinstance(self.default, float) and not math.isfinite(self.default):
            yield "the default is not a finite number"
        numeric = self.type in (int, float)
        bounds_ok = True
        for bound in ("minimum", "maximum"):
            value = getattr(self, bound)
            if value is None:
                continue
            if not numeric:
                yield f"a {bound} is only for a number"
                bounds_ok = False
            elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                yield f"the {bound} is not a finite number"
                bounds_ok = False
        if numeric and bounds_ok:
            low, high = self.minimum, self.maximum
            if low is not None and high is not None and low > high:
                yield "the minimum is above the maximum"
            else:
                yield from (f"the default: {m}" for m in self._value_problems(self.default))
        if self.choices is not None:
            if self.type is not str:
                yield "choices are only for a text"
            elif not self.choices or not all(isinstance(c, str) and c for c in self.choices):
                yield "choices are a non-empty list of codes"
            elif self.default not in self.choices:
                yield "the default is not one of the choices"
        description: object = self.description  # the declared type is not checked at run time
        if description is not None and not isinstance(description, Text):
            yield "the description is a text {'nl': ..., 'en': ...}"

    def _value_problems(self, value: Any) -> Iterator[str]:
        """What is wrong with ``value`` for this setting; never repeating the value."""
        if self.type is bool:
            if not isinstance(value, bool):
                yield "expected true or false"
            return
        if self.type is str:
            if not isinstance(value, str):
                yield "expected a text"
            elif self.choices is not None and value not in self.choices:
                yield f"is not one of the codes: {', '.join(self.choices)}"
            return
        if isinstance(value, bool) or not isinstance(value, int | float):
            yield f"expected {_KINDS[self.type]}"
            return
        if self.type is int and not isinstance(value, int):
            yield "expected a whole number"
            return
        if not math.isfinite(value):
            yield "expected a finite number"
            return
        low, high = self.minimum, self.maximum
        if low is not None and high is not None and not low <= value <= high:
            yield f"must be between {low:g} and {high:g}"
        elif low is not None and value < low:
            yield f"must be at least {low:g}"
        elif high is not None and value > high:
            yield f"must be at most {high:g}"

    def convert(self, value: Any) -> SettingValue:
        """``value`` as this setting holds it (a whole number for a number setting becomes a float)."""
        return float(value) if self.type is float else value


def resolve(
    given: Mapping[str, Mapping[str, Any]],
    declared: Mapping[str, Mapping[str, Setting]],
    *,
    loaded: Collection[str],
    blocked: Collection[str],
) -> dict[str, Settings]:
    """Each plugin's settings: what ``given`` (the policy's ``plugins``) sets, else the default.

    ``declared`` holds every loaded plugin's declarations (none for a plugin that declares no
    settings); ``loaded`` and ``blocked`` name the plugins the engine has and the ones it left out.
    Raises :class:`~ketenzorg.errors.PolicyError` with one problem per fault, at
    ``plugins.<plugin>.<setting>``: a value of the wrong type or out of range, a setting the plugin
    does not declare, a plugin the engine does not have (the settings of a blocked plugin are left
    unused). A value is never repeated in a message.
    """
    problems: list[Problem] = []
    out: dict[str, Settings] = {}
    for plugin, values in given.items():
        where = f"plugins.{plugin}"
        if plugin in blocked:
            # Blocking is explicit (``--block``) and must not need an edit of the organisation's
            # policy, e.g. to switch off a failing plugin at once; its settings have nothing to set.
            continue
        if plugin not in loaded:
            problems.append(
                Problem(where, "no plugin of this name is loaded (not installed, or not given to the engine)")
            )
            continue
        settings = declared.get(plugin, {})
        if not settings:
            problems.append(Problem(where, "this plugin declares no settings"))
            continue
        for key, value in values.items():
            setting = settings.get(key)
            if setting is None:
                known = ", ".join(sorted(settings))
                problems.append(
                    Problem(f"{where}.{key}", f"not a setting of this plugin; its settings: {known}")
                )
            else:
                problems += [Problem(f"{where}.{key}", m) for m in setting._value_problems(value)]
    if problems:
        raise PolicyError(problems)
    for plugin, settings in declared.items():
        values = given.get(plugin, {})
        out[plugin] = Settings(
            {name: s.convert(values[name]) if name in values else s.default for name, s in settings.items()}
        )
    return out


@functools.cache
def _takes_settings(function: Callable[..., Any]) -> bool:
    import inspect  # deferred: only an engine that assesses needs it

    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "settings" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def accepts_settings(method: Callable[..., Any]) -> bool:
    """Whether an instrument's ``assess`` takes ``settings`` (older instruments do not)."""
    # The function, not the bound method: the cache then holds no instrument.
    return _takes_settings(getattr(method, "__func__", method))
