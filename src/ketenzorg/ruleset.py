"""The rule set a transition was decided under: the plugins with their versions, the ids of their
rules, and the policy (a fingerprint and its settings).

A phase change or closing records it (:attr:`PhaseChanged.rule_set
<ketenzorg.events.PhaseChanged.rule_set>`) so that replay can judge the transition by the rules in
force when it was made: an engine that has the same rules re-decides it exactly; one that has other
rules (a plugin installed, updated or removed since, another policy) re-decides it with the rules
both have and reports the rest (see :meth:`Engine.replay <ketenzorg.engine.Engine.replay>`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import attrs

from ketenzorg.domain import non_empty, optional_text, tuple_of
from ketenzorg.errors import Problem, ValidationError

__all__ = ["PluginRules", "RuleSet", "policy_fingerprint", "policy_settings"]

FINGERPRINT_PREFIX = "sha256:"
FINGERPRINT_LENGTH = 16
"""Hex digits of the SHA-256 kept in a fingerprint: enough to tell two policies apart."""


def policy_settings(settings: Mapping[str, Any]) -> str:
    """The canonical JSON of a policy's settings (:meth:`Policy.to_mapping
    <ketenzorg.policy.Policy.to_mapping>`): sorted keys, no spaces, UTF-8 text."""
    return json.dumps(dict(settings), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def policy_fingerprint(settings: str) -> str:
    """A short, stable fingerprint of a policy's canonical settings: ``sha256:`` and 16 hex digits."""
    digest = hashlib.sha256(settings.encode("utf-8")).hexdigest()
    return FINGERPRINT_PREFIX + digest[:FINGERPRINT_LENGTH]


def _rule_ids(_: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    tuple_of(str)(_, attribute, value)
    for item in value:
        non_empty(_, attribute, item)


@attrs.frozen(kw_only=True)
class PluginRules:
    """A plugin whose rules took part in a decision: its name, distribution, version and rule ids."""

    name: str = attrs.field(validator=non_empty)
    distribution: str | None = attrs.field(default=None, validator=optional_text)
    version: str | None = attrs.field(default=None, validator=optional_text)
    """The version of the distribution (``None``: unknown)."""
    rules: tuple[str, ...] = attrs.field(default=(), validator=_rule_ids)
    """The ids of the plugin's rules that ran (an override of another plugin's rule included)."""

    @property
    def label(self) -> str:
        """The plugin as a person reads it: ``name (distribution version)``."""
        origin = " ".join(v for v in (self.distribution, self.version) if v)
        return f"{self.name} ({origin})" if origin else self.name

    def same_plugin(self, other: PluginRules) -> bool:
        """Whether ``other`` is this plugin in the same distribution and version."""
        return (self.name, self.distribution, self.version) == (other.name, other.distribution, other.version)


def _check_fingerprint(instance: RuleSet, _: attrs.Attribute[Any], value: str | None) -> None:
    optional_text(instance, _, value)
    if value is not None and policy_fingerprint(value) != instance.policy:
        raise ValidationError([Problem("policy_settings", "does not match the policy fingerprint")])


@attrs.frozen(kw_only=True)
class RuleSet:
    """The rules a phase change or closing was decided under."""

    plugins: tuple[PluginRules, ...] = attrs.field(validator=tuple_of(PluginRules))
    """Each plugin whose rules ran, in rule order (the method's own rules first)."""
    policy: str = attrs.field(validator=non_empty)
    """The fingerprint of the policy (:func:`policy_fingerprint` of :attr:`policy_settings`)."""
    policy_settings: str | None = attrs.field(default=None, validator=_check_fingerprint)
    """The policy's settings as canonical JSON (no case data: thresholds, durations, roles), so that
    an engine with another policy can still judge the transition by the one it was made under."""

    def plugin(self, name: str) -> PluginRules | None:
        """The plugin named ``name``, if its rules took part."""
        return next((p for p in self.plugins if p.name == name), None)

    def same_rules(self, other: RuleSet) -> bool:
        """Whether ``other`` holds the same plugins, versions, rule ids and policy."""
        return self.policy == other.policy and self.plugins == other.plugins
