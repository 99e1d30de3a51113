"""Per-recipient disclosure: who may receive what of a case, labelled, and every disclosure logged.

Profiles per kind of recipient (:mod:`.profiles`, shipped as data and overridable), the redaction
of an export by a profile with its security labels (:mod:`.redact`), the screening of outgoing free
text (:mod:`.screen`), the disclosure record and log (:mod:`.record`). See ``docs/disclosure.md``.
"""

from __future__ import annotations

from ketenzorg.disclosure.api import Disclosed, UnknownRecipientError, choose_profile, disclose
from ketenzorg.disclosure.auditevent import to_audit_event
from ketenzorg.disclosure.profiles import (
    CATEGORIES,
    DisclosureProfile,
    LegalBasis,
    Recipient,
    profiles_from_mapping,
    shipped_profiles,
)
from ketenzorg.disclosure.record import Disclosure, append_log, bytes_sha256, log_path_for
from ketenzorg.disclosure.redact import SentResource
from ketenzorg.disclosure.screen import ListScreen

__all__ = [
    "CATEGORIES",
    "Disclosed",
    "Disclosure",
    "DisclosureProfile",
    "LegalBasis",
    "ListScreen",
    "Recipient",
    "SentResource",
    "UnknownRecipientError",
    "append_log",
    "bytes_sha256",
    "choose_profile",
    "disclose",
    "log_path_for",
    "profiles_from_mapping",
    "shipped_profiles",
    "to_audit_event",
]
