"""Every hook a ketenzorg plugin can implement. Hook signatures only ever grow.

Plugins mark their implementations with :data:`ketenzorg.hookimpl` and are installed through the
``ketenzorg`` entry-point group, or passed to :class:`~ketenzorg.engine.Engine` directly.
Hooks are called with keyword arguments; an implementation may accept fewer of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from ketenzorg.case import Case
    from ketenzorg.decision import Decision
    from ketenzorg.disclosure.profiles import DisclosureProfile, Recipient
    from ketenzorg.events import Event, PhaseChanged
    from ketenzorg.pluginhost import (
        ConferenceKindRegistry,
        InstrumentRegistry,
        RuleRegistry,
        SettingRegistry,
    )

__all__ = ["PROJECT", "hookimpl", "hookspec"]

PROJECT = "ketenzorg"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def ketenzorg_register_instruments(registry: InstrumentRegistry) -> None:
    """Called once when an engine is built, to register assessment instruments.

    registry: call ``registry.add(instrument)`` for each instrument the plugin provides; an
        instrument id that another plugin already registered is an error naming both plugins.
    Returns nothing.
    """


@hookspec
def ketenzorg_register_rules(registry: RuleRegistry) -> None:
    """Called once when an engine is built, to register rules that add conditions and alerts.

    registry: ``registry.add(rule)`` adds a rule (a duplicate rule id is an error naming both
        plugins); ``registry.override(rule)`` replaces a rule of another plugin with the same id,
        and the decision records which plugin did so.
    Returns nothing.
    """


@hookspec
def ketenzorg_register_settings(registry: SettingRegistry) -> None:
    """Called once when an engine is built, to declare the settings an organisation may give the plugin.

    registry: ``registry.add(Setting(name, default, minimum=..., maximum=..., choices=...))`` for
        each setting; a name the plugin already declared is an error. The organisation sets them in
        its policy under the plugin's name; rules read them from ``RuleContext.settings`` and
        instruments receive them as ``assess(answers, *, settings)``.
    Returns nothing.
    """


@hookspec
def ketenzorg_register_conference_kinds(registry: ConferenceKindRegistry) -> None:
    """Called once when an engine is built, to register the kinds of conference a case may record.

    registry: call ``registry.add(ConferenceKind(code=..., name={"nl": ..., "en": ...}))`` for each
        kind; a code another plugin already registered is an error naming both plugins. The method's
        plugin registers ``case-conference``, ``marac`` and ``safety-check``.
    Returns nothing.
    """


@hookspec
def ketenzorg_event_recorded(case: Case, event: Event) -> None:
    """Called after an event was appended to a case (vendors use it for audit and messaging).

    case: the case with the event appended.
    event: the event just recorded (also phase changes and closing).
    Returns nothing. A listener that raises is reported to the engine's ``on_listener_error``;
    the event stays recorded and the other listeners are still called.
    """


@hookspec
def ketenzorg_phase_changed(case: Case, change: PhaseChanged, decision: Decision) -> None:
    """Called after an advance or a relapse was recorded, after ``ketenzorg_event_recorded``.

    case: the case in its new phase.
    change: the ``phase_changed`` event, with the rules and evidence it rested on.
    decision: the decision that allowed (or proposed) the transition.
    Returns nothing. Failures are handled as for ``ketenzorg_event_recorded``.
    """


@hookspec(firstresult=True)
def ketenzorg_disclosure_profile(
    case: Case, recipient: Recipient, profiles: Mapping[str, DisclosureProfile]
) -> DisclosureProfile | None:
    """Called before a case is exported, to decide what the recipient may receive (first result).

    case: the case to be exported.
    recipient: who receives it (its kind, organisation, party and person).
    profiles: the shipped profiles with the organisation's overrides, by id.
    Returns the profile to apply, or ``None`` to leave the decision to the next plugin; when no
    plugin decides, the profile of the recipient's kind applies (an organisation's policy engine
    plugs in here). The person who used violence always gets his own profile, whatever is returned.
    """


@hookspec
def ketenzorg_screen_text(text: str, recipient: Recipient) -> bool | None:
    """Called for every free text of an export before it leaves (rationales, descriptions, names).

    text: the text (never stored or logged by the engine).
    recipient: who would receive it.
    Returns ``True`` to withhold the text (it is masked and counted in the disclosure record);
    ``False`` or ``None`` to let it pass. Any plugin's ``True`` withholds it.
    """
