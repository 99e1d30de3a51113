"""The rule parameters of an organisation: frozen, validated, every default from the method.

An organisation overrides any parameter with :meth:`Policy.from_mapping` (or ``attrs.evolve``);
an inconsistent policy is refused with a :class:`~ketenzorg.errors.PolicyError` naming each field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs

from ketenzorg.domain import PartyRole
from ketenzorg.errors import PolicyError, Problem
from ketenzorg.settings import FrozenMapping, SettingValue

if TYPE_CHECKING:
    from ketenzorg.disclosure.profiles import DisclosureProfile

__all__ = ["Policy"]

_DAYS_FIELDS = ("max_score_age", "stability_window")

PluginSettings = FrozenMapping[str, FrozenMapping[str, SettingValue]]
"""The settings an organisation gives its plugins: plugin name -> setting name -> value."""


def _freeze_plugins(value: Any) -> Any:
    # Anything else is left as it is, for _problems to name.
    if isinstance(value, Mapping) and all(isinstance(v, Mapping) for v in value.values()):
        return FrozenMapping({name: FrozenMapping(values) for name, values in value.items()})
    return value


def _frozen_data(value: Any) -> Any:
    """JSON-like data made read-only (objects as FrozenMapping, lists as tuples): a rule reaches the
    policy, and must not change it."""
    if isinstance(value, Mapping):
        return FrozenMapping({k: _frozen_data(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_frozen_data(v) for v in value)
    return value


def _plain_data(value: Any) -> Any:
    """The inverse of :func:`_frozen_data`: dicts and lists, for JSON."""
    if isinstance(value, Mapping):
        return {k: _plain_data(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_plain_data(v) for v in value]
    return value


def _plugin_problems(value: Any) -> list[Problem]:
    """What is wrong with the shape of ``plugins`` (the plugins themselves judge the values)."""
    if not isinstance(value, Mapping):
        return [Problem("plugins", "expected an object of plugin names, each with an object of settings")]
    problems: list[Problem] = []
    for plugin, values in value.items():
        if not isinstance(plugin, str) or not plugin:
            problems.append(Problem("plugins", "a plugin name is a non-empty text"))
        elif not isinstance(values, Mapping):
            problems.append(Problem(f"plugins.{plugin}", "expected an object of settings"))
        else:
            for key, setting in values.items():
                if not isinstance(key, str) or not key:
                    problems.append(Problem(f"plugins.{plugin}", "a setting name is a non-empty text"))
                elif not isinstance(setting, bool | int | float | str):
                    problems.append(
                        Problem(f"plugins.{plugin}.{key}", "expected true or false, a number or a text")
                    )
    return problems


@attrs.frozen(kw_only=True)
class Policy:
    """Rule parameters. Defaults follow ``domain.md``: [method] facts and [design] choices."""

    advance_threshold: int = 6
    """Phase 1 -> 2: every required party's counting score is at least this [method]."""
    stable_threshold: int = 7
    """Phase 2 -> 3: every required party's counting score is at least this [method]."""
    acute_ceiling: int = 2
    """A score at or below this (0-2) raises the immediate-protection alert [method]."""
    relapse_threshold: int | None = None
    """In phase 2 or 3, a required counting score below this proposes a relapse [design];
    ``None`` (the default) means the advance threshold (6): safety below it is not safe."""
    required_roles: frozenset[PartyRole] = frozenset(
        {PartyRole.CLIENT, PartyRole.PRACTITIONER, PartyRole.CHAIN_PARTNER}
    )
    """Roles whose members in the care team must all score ("all involved") [method]."""
    max_score_age: timedelta = timedelta(days=60)
    """An older score no longer counts [design]."""
    stability_window: timedelta = timedelta(days=90)
    """Phase 2 -> 3 needs no unsafe incident in this window ("for some time") [design]."""
    max_active_goals: int = 3
    """At most this many active work goals, ranked 1..n (the Top 3) [method]."""
    plan_requires_client_present: bool = True
    """A plan revision is made in a conference with the client present [method]."""
    advance_requires_agreements: bool = True
    """Phase 1 -> 2 needs a plan with at least one safety agreement [design]."""
    max_clock_skew: timedelta = timedelta(minutes=5)
    """How far after the engine's clock an event may be dated: clocks of organisations differ a
    little, but an event is recorded when it has happened, so a score dated next year is refused
    (it would freeze the case) [design]."""
    plugins: PluginSettings = attrs.field(factory=FrozenMapping, converter=_freeze_plugins)
    """Settings of plugins, by plugin name then setting name (``{"org.dash": {"high_risk_yes_count":
    12}}``). Each plugin declares its settings; the engine refuses a value that does not fit them,
    a setting the plugin does not declare and a plugin it does not have."""
    disclosure: Mapping[str, Any] = attrs.field(factory=FrozenMapping, converter=_frozen_data)
    """The organisation's disclosure profiles as data: changes to the shipped ones (only the fields
    that change, with a new ``version``) and its own (every field); see ``docs/disclosure.md``.
    Validated when the policy is built, each problem named by profile and field."""

    def disclosure_profiles(self) -> Mapping[str, DisclosureProfile]:
        """The profiles a disclosure under this policy chooses from: the shipped ones, changed and
        added to by :attr:`disclosure`."""
        from ketenzorg.disclosure.profiles import profiles_from_mapping, shipped_profiles

        return profiles_from_mapping(self.disclosure) if self.disclosure else shipped_profiles()

    @property
    def relapse_below(self) -> int:
        """The score below which a required party's counting score proposes a relapse."""
        return self.advance_threshold if self.relapse_threshold is None else self.relapse_threshold

    def __attrs_post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise PolicyError(problems)

    def _problems(self) -> list[Problem]:
        problems: list[Problem] = []
        scores = ("acute_ceiling", "advance_threshold", "stable_threshold", "relapse_threshold")
        for name in scores:
            value = getattr(self, name)
            if name == "relapse_threshold" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                problems.append(Problem(name, f"expected an integer, got {type(value).__name__}"))
            elif not 0 <= value <= 10:
                problems.append(Problem(name, f"{value} is not in 0..10"))
        if not problems:  # the thresholds' order is only meaningful when each is valid
            problems += self._order_problems()
        problems += self._other_problems()
        return problems

    def _order_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        if self.stable_threshold < self.advance_threshold:
            problems.append(
                Problem(
                    "stable_threshold",
                    f"{self.stable_threshold} is below advance_threshold {self.advance_threshold}",
                )
            )
        if self.acute_ceiling >= self.advance_threshold:
            problems.append(
                Problem(
                    "acute_ceiling",
                    f"{self.acute_ceiling} must be below advance_threshold {self.advance_threshold}",
                )
            )
        if self.relapse_below > self.advance_threshold:
            # Otherwise every advance at the threshold would at once propose a relapse.
            problems.append(
                Problem(
                    "relapse_threshold",
                    f"{self.relapse_below} is above advance_threshold {self.advance_threshold}",
                )
            )
        return problems

    def _other_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        if not isinstance(self.required_roles, frozenset) or not all(
            isinstance(r, PartyRole) for r in self.required_roles
        ):
            problems.append(Problem("required_roles", "expected a set of party roles"))
        elif PartyRole.PRACTITIONER not in self.required_roles:
            problems.append(
                Problem("required_roles", "the organisation's own practitioner must always score")
            )
        for name in _DAYS_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, timedelta):
                problems.append(Problem(name, f"expected a duration, got {type(value).__name__}"))
            elif not timedelta(days=1) <= value <= timedelta(days=3650):
                problems.append(Problem(name, "must be between 1 and 3650 days"))
        if isinstance(self.max_active_goals, bool) or not isinstance(self.max_active_goals, int):
            problems.append(Problem("max_active_goals", "expected an integer"))
        elif not 1 <= self.max_active_goals <= 3:
            problems.append(Problem("max_active_goals", f"{self.max_active_goals} is not in 1..3 (Top 3)"))
        skew = getattr(self, "max_clock_skew")  # noqa: B009 (a wrong type is possible at run time)
        if not isinstance(skew, timedelta):
            problems.append(Problem("max_clock_skew", f"expected a duration, got {type(skew).__name__}"))
        elif not timedelta(0) <= skew <= timedelta(days=1):
            problems.append(Problem("max_clock_skew", "must be between 0 and 1440 minutes"))
        for name in ("plan_requires_client_present", "advance_requires_agreements"):
            if not isinstance(getattr(self, name), bool):
                problems.append(Problem(name, "expected true or false"))
        problems += _plugin_problems(self.plugins)
        disclosure = getattr(self, "disclosure")  # noqa: B009 (a wrong type is possible at run time)
        if not isinstance(disclosure, Mapping):
            problems.append(Problem("disclosure", "expected an object of profiles"))
        elif disclosure:
            try:
                self.disclosure_profiles()
            except PolicyError as error:
                problems += error.problems
        return problems

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], base: Policy | None = None) -> Policy:
        """Build a policy from plain data (JSON/TOML): ``max_score_age_days`` style durations.

        Unknown keys and wrong types are refused with one problem per key.
        """
        if not isinstance(data, Mapping):
            raise PolicyError([Problem("", "a policy is an object of settings")])
        base = base or cls()
        fields = attrs.fields_dict(cls)
        changes: dict[str, Any] = {}
        problems: list[Problem] = []
        for key, value in data.items():
            if key.endswith("_days") and key[: -len("_days")] in _DAYS_FIELDS:
                if isinstance(value, bool) or not isinstance(value, int):
                    problems.append(Problem(key, "expected a whole number of days"))
                elif not 1 <= value <= 3650:
                    problems.append(Problem(key, f"{value} is not in 1..3650 days"))
                else:
                    changes[key[: -len("_days")]] = timedelta(days=value)
            elif key == "max_clock_skew_minutes":
                if isinstance(value, bool) or not isinstance(value, int):
                    problems.append(Problem(key, "expected a whole number of minutes"))
                elif not 0 <= value <= 1440:
                    problems.append(Problem(key, "is not in 0..1440 minutes"))
                else:
                    changes["max_clock_skew"] = timedelta(minutes=value)
            elif key == "required_roles":
                try:
                    changes[key] = frozenset(PartyRole(v) for v in value)
                except (TypeError, ValueError):
                    allowed = ", ".join(r.value for r in PartyRole)
                    problems.append(Problem(key, f"expected a list of roles from: {allowed}"))
            elif key == "plugins":
                shape = _plugin_problems(value)
                if shape:
                    problems += shape
                else:
                    changes[key] = value
            elif key in fields and key not in _DAYS_FIELDS and key != "max_clock_skew":
                changes[key] = value
            else:
                problems.append(Problem(key, "unknown policy setting"))
        if problems:
            raise PolicyError(problems)
        return attrs.evolve(base, **changes)

    def to_mapping(self) -> dict[str, Any]:
        """The inverse of :meth:`from_mapping`."""
        out: dict[str, Any] = {}
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            if field.name == "plugins":
                if value:  # absent when empty: a policy without plugin settings reads as before
                    out["plugins"] = {name: dict(settings) for name, settings in value.items()}
            elif field.name == "disclosure":
                if value:
                    out["disclosure"] = _plain_data(value)
            elif field.name == "max_clock_skew":
                out["max_clock_skew_minutes"] = int(value.total_seconds() // 60)
            elif isinstance(value, timedelta):
                out[f"{field.name}_days"] = value.days
            elif isinstance(value, frozenset):
                out[field.name] = sorted(r.value for r in value)
            else:
                out[field.name] = value
        return out
