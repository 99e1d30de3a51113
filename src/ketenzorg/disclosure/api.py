"""Disclose a case to a recipient: the export, redacted and labelled by the recipient's profile."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ketenzorg.disclosure.profiles import DisclosureProfile, Recipient
from ketenzorg.disclosure.record import Disclosure
from ketenzorg.disclosure.redact import effective_profile, redact_bundle
from ketenzorg.errors import Problem, ValidationError

if TYPE_CHECKING:
    from ketenzorg.case import Case
    from ketenzorg.engine import Engine
    from ketenzorg.interop.export import BundleType

__all__ = ["Disclosed", "UnknownRecipientError", "choose_profile", "disclose"]


class UnknownRecipientError(ValidationError):
    """A recipient kind for which there is no profile; the message lists the known kinds."""


@attrs.frozen
class Disclosed:
    """A recipient's bundle and the record of its disclosure (to be completed with the bytes' hash)."""

    bundle: dict[str, Any]
    record: Disclosure


def choose_profile(
    case: Case, recipient: Recipient, *, engine: Engine, profiles: Mapping[str, DisclosureProfile]
) -> DisclosureProfile:
    """The profile a plugin's policy decision gives (``ketenzorg_disclosure_profile``), else the kind's."""
    if not isinstance(recipient, Recipient):
        raise ValidationError([Problem("recipient", "expected a Recipient")])
    for _plugin, answer in engine.ask_plugins(
        "ketenzorg_disclosure_profile", case=case, recipient=recipient, profiles=profiles
    ):
        if answer is not None:
            if not isinstance(answer, DisclosureProfile):
                raise ValidationError(
                    [Problem(f"ketenzorg_disclosure_profile ({_plugin})", "expected a profile")]
                )
            return answer
    found = profiles.get(recipient.kind)
    if found is None:
        raise UnknownRecipientError(
            [Problem("recipient.kind", f"is not a known recipient; known: {', '.join(sorted(profiles))}")]
        )
    return found


def disclose(
    case: Case,
    *,
    engine: Engine,
    recipient: Recipient,
    type: BundleType = "collection",
    profiles: Mapping[str, DisclosureProfile] | None = None,
    screens: Iterable[Callable[[str], bool]] = (),
) -> Disclosed:
    """The case as ``recipient`` may receive it (a FHIR R4 Bundle dict) and the record of it.

    ``profiles``: the organisation's profiles (:func:`~ketenzorg.disclosure.profiles_from_mapping`),
    by default those of the engine's policy (its ``disclosure`` setting over the shipped
    ones). Every outgoing text is screened by the engine's
    ``ketenzorg_screen_text`` plugins and by ``screens``. Write the bundle, then complete the record
    with ``record.written(data, format=...)`` and log it.
    """
    from ketenzorg.interop.export import unredacted_bundle

    profiles = engine.policy.disclosure_profiles() if profiles is None else profiles
    bundle = unredacted_bundle(case, engine=engine, type=type)
    profile = effective_profile(
        recipient, choose_profile(case, recipient, engine=engine, profiles=profiles), profiles, bundle
    )
    extra = tuple(screens)
    plugins = engine.has_plugins_for("ketenzorg_screen_text")
    verdicts: dict[str, bool] = {}

    def screen(text: str) -> bool:
        verdict = verdicts.get(text)
        if verdict is None:
            verdict = any(s(text) for s in extra) or (
                plugins
                and any(
                    answer is True
                    for _plugin, answer in engine.ask_plugins(
                        "ketenzorg_screen_text", text=text, recipient=recipient
                    )
                )
            )
            verdicts[text] = verdict
        return verdict

    redaction = redact_bundle(
        bundle, recipient=recipient, profile=profile, screen=screen if extra or plugins else None
    )
    record = Disclosure(
        case_id=case.case_id,
        at=engine.clock().isoformat(),
        recipient=recipient,
        profile_id=profile.id,
        profile_version=profile.version,
        purpose=profile.purpose,
        legal_basis=profile.legal_basis.reference,
        bundle_type=type,
        sent=redaction.sent,
        withheld_resources=redaction.withheld_resources,
        masked_elements=redaction.masked_elements,
        screened_texts=redaction.screened_texts,
    )
    return Disclosed(redaction.bundle, record)
