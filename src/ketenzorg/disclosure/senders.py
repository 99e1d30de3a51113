"""What a party of the care team may send about a case: the input side of the disclosure profiles.

``data/senders.json`` names, per kind of party (its role, or for a chain partner its partner type),
the categories of resource (:data:`~ketenzorg.disclosure.profiles.CATEGORIES`) it may send; merge
refuses the rest. The shipped lists are examples that a region's privacy protocol must confirm.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any, Final

from ketenzorg.disclosure.profiles import CATEGORIES
from ketenzorg.domain import PartnerType, Party, PartyRole, SecurityLabel
from ketenzorg.errors import Problem
from ketenzorg.interop.definitions import V3_ACT_CODE, V3_CONFIDENTIALITY

__all__ = [
    "SECURITY_CODES",
    "may_send",
    "read_security_labels",
    "referenced",
    "sender_kind",
    "shipped_senders",
]

SECURITY_CODES: Final = frozenset(
    {
        # HL7 v3 InformationSensitivityPolicy (v3-ActCode)
        *("ETH", "GDIS", "HIV", "MST", "PSY", "SCA", "SDV", "SEX", "SPI", "STD", "TBOO", "SOC", "BH"),
        # HL7 v3 RefrainPolicy (v3-ActCode)
        *("NOAUTH", "NOCOLLECT", "NODSCLCD", "NODSCLCDS", "NOINTEGRATE", "NOLIST", "NOMOU"),
        *("NOORGPOL", "NOPAT", "NOPERSISTP", "NORDSCLCD", "NORDSCLCDS", "NORDSCLW", "NORELINK"),
        *("NOREUSE", "NOVIP", "ORCON"),
    }
)
"""The v3-ActCode security labels a partner's resource may carry (sensitivity, refrain policy)."""


def sender_kind(party: Party) -> str:
    """The kind of sender a party is: its partner type for a chain partner, else its role."""
    if party.role is PartyRole.CHAIN_PARTNER and isinstance(party.partner_type, PartnerType):
        return party.partner_type.value
    return party.role.value


@cache
def shipped_senders() -> Mapping[str, frozenset[str]]:
    """The shipped lists: kind of sender -> the categories it may send."""
    raw = json.loads(resources.files("ketenzorg.disclosure").joinpath("data/senders.json").read_text("utf-8"))
    found = {kind: frozenset(categories) for kind, categories in raw["senders"].items()}
    for kind, categories in found.items():
        unknown = categories - set(CATEGORIES)
        assert not unknown, f"senders.json: {kind} names an unknown category"
    return found


def may_send(party: Party) -> frozenset[str]:
    """The categories ``party`` may send; nothing for a kind the lists do not name."""
    return shipped_senders().get(sender_kind(party), frozenset())


CONFIDENTIALITY_CODES: Final = frozenset({"U", "L", "M", "N", "R", "V"})
"""The HL7 v3 confidentiality codes (v3-Confidentiality)."""


def read_security_labels(
    resource: Mapping[str, Any], at: str
) -> tuple[tuple[SecurityLabel, ...], list[Problem]]:
    """A partner's resource's ``meta.security``: its labels, and a problem (located at ``at``, never
    repeating the label) for each one that is not an HL7 confidentiality, sensitivity or refrain code."""
    meta = resource.get("meta")
    found = meta.get("security") if isinstance(meta, Mapping) else None
    if found is None:
        return (), []
    if not isinstance(found, list):
        return (), [Problem(f"{at}.meta.security", "security labels are a list of codings")]
    labels: list[SecurityLabel] = []
    problems: list[Problem] = []
    for index, label in enumerate(found):
        system = label.get("system") if isinstance(label, Mapping) else None
        code = label.get("code") if isinstance(label, Mapping) else None
        if not (
            (system == V3_CONFIDENTIALITY and code in CONFIDENTIALITY_CODES)
            or (system == V3_ACT_CODE and code in SECURITY_CODES)
        ):
            problems.append(
                Problem(
                    f"{at}.meta.security[{index}]",
                    "is not a known security label (an HL7 confidentiality, sensitivity or refrain code)",
                )
            )
            continue
        assert isinstance(system, str)
        assert isinstance(code, str)
        kept = SecurityLabel(system=system, code=code)
        if kept not in labels:
            labels.append(kept)
    return tuple(labels), problems


def referenced(resources: Iterable[Any]) -> set[str]:
    """Every reference (``reference``) that ``resources`` (FHIR JSON) hold."""
    found: set[str] = set()
    stack: list[Any] = list(resources)
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            ref = node.get("reference")
            if isinstance(ref, str):
                found.add(ref)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found
