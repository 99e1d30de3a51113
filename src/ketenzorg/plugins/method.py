"""The method's own rules (gefaseerde ketenzorg), registered through ``ketenzorg_register_rules``."""

from __future__ import annotations

from ketenzorg.hookspecs import hookimpl
from ketenzorg.pluginhost import RuleRegistry
from ketenzorg.rules import BUILTIN_RULES


@hookimpl(trylast=True)
def ketenzorg_register_rules(registry: RuleRegistry) -> None:
    """Register the phase rules, alerts and plan checks of the method."""
    for rule in BUILTIN_RULES:
        registry.add(rule)
