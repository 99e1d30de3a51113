"""Who may receive what: recipients and their disclosure profiles (data, overridable by the organisation).

A :class:`DisclosureProfile` says, for one kind of recipient, which resources of a case it receives
(by *category*, see :data:`CATEGORIES`), which free texts, whose score rationales and which safety
agreements; the purpose of use (an HL7 v3 PurposeOfUse code) and the legal basis. The shipped
profiles (``data/profiles.json``) are examples that a region's privacy protocol must confirm; an
organisation overrides or adds profiles with :func:`profiles_from_mapping`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

import attrs

from ketenzorg.errors import PolicyError, Problem

__all__ = [
    "CATEGORIES",
    "FREE_TEXT_KINDS",
    "INTERNAL",
    "PERSON_WHO_USED_VIOLENCE",
    "PURPOSES",
    "DisclosureProfile",
    "LegalBasis",
    "Recipient",
    "profiles_from_mapping",
    "shipped_profiles",
]

INTERNAL: Final = "internal"
PERSON_WHO_USED_VIOLENCE: Final = "person-who-used-violence"

CATEGORIES: Final = (
    "organisation",
    "client",
    "child",
    "person-who-used-violence",
    "family-member",
    "network-member",
    "practitioner",
    "party",
    "care-team",
    "trajectory",
    "safety-plan",
    "goal",
    "instrument-answers",
    "instrument-result",
    "safety-score",
    "incident",
    "phase",
    "case-conference",
    "stay",
    "location",
)
"""The kinds of resource of an export a profile names (see ``docs/disclosure.md``)."""

FREE_TEXT_KINDS: Final = (*CATEGORIES, "agreement")
"""Where a free text may stand: a resource category, or ``agreement`` (a safety agreement's text)."""

PURPOSES: Final = frozenset(
    {
        "TREAT",
        "COC",
        "ETREAT",
        "HLEGAL",
        "THREAT",
        "PUBHLTH",
        "PATRQT",
        "FAMRQT",
        "PWATRNY",
        "SUPNWK",
        "HOPERAT",
    }
)
"""The HL7 v3 PurposeOfUse codes (v3-ActReason) a profile may name."""

Share = Literal["all", "own", "none"]
Agreements = Literal["all", "concerning", "none"]
Persons = Literal["all", "concerning"]


@attrs.frozen
class LegalBasis:
    """The ground on which a recipient may receive the data: in words, and a reference (article)."""

    text: str
    reference: str


@attrs.frozen
class DisclosureProfile:
    """What one kind of recipient receives of a case."""

    id: str
    version: str
    title: str
    purpose: str
    """HL7 v3 PurposeOfUse code (v3-ActReason), e.g. ``COC`` (coordination of care)."""
    legal_basis: LegalBasis
    resources: frozenset[str]
    """The categories of resource it receives (:data:`CATEGORIES`); the client's Patient always."""
    rationales: Share
    """Score rationales: every party's (``all``), only the recipient's own party's, or none."""
    free_text: frozenset[str]
    """Where it receives free texts (:data:`FREE_TEXT_KINDS`); elsewhere they are masked."""
    agreements: Agreements
    """Safety agreements of the plan: all, only those the recipient (party or person) is
    responsible for, or none."""
    persons: Persons
    """Persons and network parties: every one of the received categories, or only the recipient's own."""

    def to_mapping(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "purpose": self.purpose,
            "legal_basis": {"text": self.legal_basis.text, "reference": self.legal_basis.reference},
            "resources": sorted(self.resources),
            "rationales": self.rationales,
            "free_text": sorted(self.free_text),
            "agreements": self.agreements,
            "persons": self.persons,
        }


@attrs.frozen
class Recipient:
    """Who receives an export: a kind of recipient (a profile), optionally named.

    ``organisation_system``/``organisation_value``: the recipient organisation's identifier (so the
    log says who, not only which kind). ``party``: the recipient's party id in the case's care team;
    ``person``: the person id the recipient is or acts for (a network member, the child a school
    teaches). A recipient whose ``person`` is the person who used violence is always given the
    ``person-who-used-violence`` profile, whatever kind it names.
    """

    kind: str
    organisation_system: str | None = None
    organisation_value: str | None = None
    party: str | None = None
    person: str | None = None

    @classmethod
    def internal(cls) -> Recipient:
        """The organisation itself: the whole case (today's full export)."""
        return cls(INTERNAL)

    def label(self) -> str:
        """``kind`` or ``kind:system|value``: how the audit log names the recipient."""
        if self.organisation_system and self.organisation_value:
            return f"{self.kind}:{self.organisation_system}|{self.organisation_value}"
        return self.kind

    def to_mapping(self) -> dict[str, str]:
        fields = attrs.asdict(self)
        return {k: v for k, v in fields.items() if v is not None}


_FIELDS: Final = ("version", "title", "purpose", "legal_basis", "resources", "rationales", "free_text")
_CHOICES: Final[Mapping[str, tuple[str, ...]]] = {
    "rationales": ("all", "own", "none"),
    "agreements": ("all", "concerning", "none"),
    "persons": ("all", "concerning"),
}


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _profile(pid: str, raw: object, base: DisclosureProfile | None, where: str) -> DisclosureProfile:
    """One profile from its mapping; an override names only the fields it changes."""
    problems: list[Problem] = []
    at = f"{where}.{pid}"
    if not isinstance(raw, Mapping):
        raise PolicyError([Problem(at, "expected an object")])
    known = {*_FIELDS, *_CHOICES, "id"}
    for key in raw:
        if key not in known:
            problems.append(Problem(f"{at}.{key}" if isinstance(key, str) else at, "is not a profile field"))
    if "id" in raw and raw["id"] != pid:
        problems.append(Problem(f"{at}.id", "differs from the profile's name"))
    fields: dict[str, Any] = base.to_mapping() if base is not None else {}
    fields.update({k: v for k, v in raw.items() if k in known})
    for key in ("version", "title"):
        if key not in fields or not _text(fields[key]):
            problems.append(Problem(f"{at}.{key}", "expected a non-empty text"))
    purpose = fields.get("purpose")
    if purpose not in PURPOSES:
        problems.append(Problem(f"{at}.purpose", f"expected one of {', '.join(sorted(PURPOSES))}"))
    basis = fields.get("legal_basis")
    if not (
        isinstance(basis, Mapping) and set(basis) == {"text", "reference"} and all(map(_text, basis.values()))
    ):
        problems.append(
            Problem(f"{at}.legal_basis", "expected an object with a non-empty text and reference")
        )
    for key, allowed in (("resources", CATEGORIES), ("free_text", FREE_TEXT_KINDS)):
        value = fields.get(key)
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            problems.append(Problem(f"{at}.{key}", "expected a list of names"))
            continue
        problems += [
            Problem(f"{at}.{key}[{i}]", "is not a known category")
            for i, v in enumerate(value)
            if v not in allowed
        ]
    for key, choices in _CHOICES.items():
        if fields.get(key) not in choices:
            problems.append(Problem(f"{at}.{key}", f"expected one of {', '.join(choices)}"))
    if problems:
        raise PolicyError(problems)
    return DisclosureProfile(
        id=pid,
        version=fields["version"],
        title=fields["title"],
        purpose=fields["purpose"],
        legal_basis=LegalBasis(fields["legal_basis"]["text"], fields["legal_basis"]["reference"]),
        # the client's Patient is the subject of almost every resource: always sent
        resources=frozenset(fields["resources"]) | {"client"},
        rationales=fields["rationales"],
        free_text=frozenset(fields["free_text"]),
        agreements=fields["agreements"],
        persons=fields["persons"],
    )


@cache
def shipped_profiles() -> Mapping[str, DisclosureProfile]:
    """The shipped example profiles, by id (``internal`` gives everything)."""
    raw = json.loads(resources.files(__package__).joinpath("data/profiles.json").read_text(encoding="utf-8"))
    return _frozen({pid: _profile(pid, p, None, "profiles") for pid, p in raw["profiles"].items()})


def _frozen(profiles: dict[str, DisclosureProfile]) -> Mapping[str, DisclosureProfile]:
    from types import MappingProxyType

    return MappingProxyType(profiles)


def profiles_from_mapping(
    overrides: Mapping[str, Any], *, base: Mapping[str, DisclosureProfile] | None = None
) -> Mapping[str, DisclosureProfile]:
    """The shipped profiles (or ``base``) with an organisation's ``disclosure`` configuration applied.

    ``overrides`` maps a profile id to its fields: for a known id only the fields that change (a
    changed profile must raise its ``version``), for a new id every field. ``internal`` cannot be
    narrowed (it is the organisation itself). Errors (:class:`~ketenzorg.errors.PolicyError`) name
    the profile and the field (``disclosure.school.free_text[0]``).
    """
    if not isinstance(overrides, Mapping):
        raise PolicyError([Problem("disclosure", "expected an object of profiles")])
    found = dict(shipped_profiles() if base is None else base)
    problems: list[Problem] = []
    for pid, raw in overrides.items():
        if not isinstance(pid, str) or not pid.strip() or not pid.replace("-", "").isalnum():
            problems.append(Problem("disclosure", "a profile name is not a lowercase name with hyphens"))
            continue
        if pid == INTERNAL:
            problems.append(Problem(f"disclosure.{pid}", "the organisation's own profile cannot be changed"))
            continue
        original = found.get(pid)
        try:
            profile = _profile(pid, raw, original, "disclosure")
        except PolicyError as error:
            problems += error.problems
            continue
        if original is not None and profile != original and profile.version == original.version:
            problems.append(Problem(f"disclosure.{pid}.version", "a changed profile needs a new version"))
            continue
        found[pid] = profile
    if problems:
        raise PolicyError(problems)
    return _frozen(found)
