"""The method's own rules (gefaseerde ketenzorg), registered through ``ketenzorg_register_rules``,
and the shipped conference kinds (``ketenzorg_register_conference_kinds``)."""

from __future__ import annotations

from ketenzorg.conferences import BUILTIN_CONFERENCE_KINDS
from ketenzorg.hookspecs import hookimpl
from ketenzorg.pluginhost import ConferenceKindRegistry, RuleRegistry
from ketenzorg.rules import BUILTIN_RULES


@hookimpl(trylast=True)
def ketenzorg_register_rules(registry: RuleRegistry) -> None:
    """Register the phase rules, alerts and plan checks of the method."""
    for rule in BUILTIN_RULES:
        registry.add(rule)


@hookimpl(trylast=True)
def ketenzorg_register_conference_kinds(registry: ConferenceKindRegistry) -> None:
    """Register the conference kinds of the method: case conference (MDO), MARAC, safety check."""
    for kind in BUILTIN_CONFERENCE_KINDS:
        registry.add(kind)
