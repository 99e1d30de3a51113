"""Conference kinds: a case conference (MDO), a MARAC, a safety check, and the organisations' own.

A :class:`~ketenzorg.events.ConferenceHeld` records its kind by code. The shipped kinds are
registered by the method's plugin through ``ketenzorg_register_conference_kinds``, the same hook
an organisation's plugin uses to add its own; rules ask for a kind with
:meth:`~ketenzorg.rules.RuleContext.last_conference`.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from ketenzorg.domain import Text, bilingual, non_empty, to_text

__all__ = [
    "BUILTIN_CONFERENCE_KINDS",
    "CASE_CONFERENCE",
    "MARAC",
    "SAFETY_CHECK",
    "ConferenceKind",
]

CASE_CONFERENCE: Final = "case-conference"
"""A case conference (multidisciplinair overleg, MDO): the default kind."""
MARAC: Final = "marac"
"""A multi-agency risk assessment conference for high-risk cases."""
SAFETY_CHECK: Final = "safety-check"
"""A short check of the safety agreements (veiligheidscheck) between conferences."""


def _code(_: object, attribute: attrs.Attribute[Any], value: str) -> None:
    non_empty(_, attribute, value)
    if value != value.strip() or any(c.isspace() for c in value):
        from ketenzorg.errors import Problem, ValidationError

        raise ValidationError([Problem(attribute.name, "a code has no spaces")])


@attrs.frozen(kw_only=True)
class ConferenceKind:
    """A kind of conference: its code (as events record it) and its name in Dutch and English."""

    code: str = attrs.field(validator=_code)
    name: Text = attrs.field(converter=to_text, validator=bilingual)
    """The name in Dutch and English (a :class:`~ketenzorg.domain.Text` or ``{"nl": ..., "en": ...}``)."""


BUILTIN_CONFERENCE_KINDS: Final[tuple[ConferenceKind, ...]] = (
    ConferenceKind(
        code=CASE_CONFERENCE, name={"nl": "multidisciplinair overleg (MDO)", "en": "case conference"}
    ),
    ConferenceKind(code=MARAC, name={"nl": "MARAC-overleg", "en": "MARAC"}),
    ConferenceKind(code=SAFETY_CHECK, name={"nl": "veiligheidscheck", "en": "safety check"}),
)
"""The kinds shipped with ketenzorg (registered by the method's plugin)."""
