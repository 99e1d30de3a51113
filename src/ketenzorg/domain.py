"""Domain types: the client system, the parties around it, the care setting and the plan parts.

All values are frozen attrs classes. Constructing one with an invalid value raises
:class:`~ketenzorg.errors.ValidationError` naming the field.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import attrs

from ketenzorg.errors import Problem, ValidationError

__all__ = [
    "AgreementStatus",
    "CareSetting",
    "CareSettingKind",
    "GoalStatus",
    "IncidentSeverity",
    "Location",
    "Organisation",
    "PartnerType",
    "Party",
    "PartyRole",
    "Person",
    "PersonRole",
    "Phase",
    "PlanTask",
    "RecoveryGoal",
    "Region",
    "RiskFactor",
    "SafetyAgreement",
    "SecurityLabel",
    "TaskStatus",
    "Text",
    "TextLike",
    "WorkGoal",
    "new_id",
]

T = TypeVar("T")


def new_id() -> str:
    """Return a fresh, opaque identifier (a UUID4 as 32 hex digits)."""
    return uuid.uuid4().hex


# --- validators ----------------------------------------------------------------------------------


def _fail(attribute: attrs.Attribute[Any], message: str) -> ValidationError:
    return ValidationError([Problem(attribute.name, message)])


def non_empty(_: object, attribute: attrs.Attribute[Any], value: str) -> None:
    """Require a string with visible content."""
    if not isinstance(value, str):
        raise _fail(attribute, f"expected text, got {type(value).__name__}")
    if not value.strip():
        raise _fail(attribute, "must not be empty")


setattr(non_empty, "__schema__", {"minLength": 1, "pattern": r"\S"})  # noqa: B010


def any_text(_: object, attribute: attrs.Attribute[Any], value: str) -> None:
    """Require a string (it may be empty)."""
    if not isinstance(value, str):
        raise _fail(attribute, f"expected text, got {type(value).__name__}")


def optional_text(_: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    """Allow ``None`` or a string."""
    if value is not None and not isinstance(value, str):
        raise _fail(attribute, f"expected text, got {type(value).__name__}")


def integer_in(low: int, high: int) -> Callable[[object, attrs.Attribute[Any], int], None]:
    """Require an ``int`` (not ``bool``) in ``low..high``."""

    def check(_: object, attribute: attrs.Attribute[Any], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(attribute, f"expected an integer, got {type(value).__name__}")
        if not low <= value <= high:
            raise _fail(attribute, f"{value} is not in {low}..{high}")

    setattr(check, "__schema__", {"minimum": low, "maximum": high})  # noqa: B010
    return check


def optional_integer_in(low: int, high: int) -> Callable[[object, attrs.Attribute[Any], int | None], None]:
    """Like :func:`integer_in` but ``None`` is allowed."""
    inner = integer_in(low, high)

    def check(instance: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
        if value is not None:
            inner(instance, attribute, value)

    setattr(check, "__schema__", {"minimum": low, "maximum": high})  # noqa: B010
    return check


EARLIEST_YEAR = 1900
LATEST_YEAR = 2199
"""Every moment the engine records or judges lies in these years: an absurd date (9999) is refused
where it enters, so no date arithmetic (a window after an incident, a score's age) can overflow."""


def in_years(value: datetime) -> bool:
    """Whether ``value`` lies within :data:`EARLIEST_YEAR`..:data:`LATEST_YEAR`."""
    return EARLIEST_YEAR <= value.year <= LATEST_YEAR


def aware_datetime(_: object, attribute: attrs.Attribute[Any], value: datetime) -> None:
    """Require a timezone-aware :class:`datetime` (a case crosses organisations and clocks)
    within the years the engine accepts."""
    if not isinstance(value, datetime):
        raise _fail(attribute, f"expected a date-time, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise _fail(attribute, "date-time has no timezone offset")
    if not in_years(value):
        raise _fail(attribute, f"the year is outside {EARLIEST_YEAR}..{LATEST_YEAR}")


def is_enum(kind: type[enum.Enum]) -> Callable[[object, attrs.Attribute[Any], Any], None]:
    """Require a member of ``kind``."""

    def check(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, kind):
            raise _fail(attribute, f"expected a {kind.__name__}")

    return check


def tuple_of(kind: type[T]) -> Callable[[object, attrs.Attribute[Any], tuple[T, ...]], None]:
    """Require a tuple whose items are all ``kind``."""

    def check(_: object, attribute: attrs.Attribute[Any], value: tuple[T, ...]) -> None:
        if not isinstance(value, tuple):
            raise _fail(attribute, f"expected a tuple, got {type(value).__name__}")
        for index, item in enumerate(value):
            if not isinstance(item, kind):
                raise ValidationError([Problem(f"{attribute.name}[{index}]", f"expected {kind.__name__}")])

    return check


def unique_ids(_: object, attribute: attrs.Attribute[Any], value: tuple[Any, ...]) -> None:
    """Require that the ``id`` of every item in a tuple is unique."""
    seen: set[str] = set()
    for index, item in enumerate(value):
        if item.id in seen:
            raise ValidationError([Problem(f"{attribute.name}[{index}].id", "this id is used twice")])
        seen.add(item.id)


def text_field() -> Any:
    return attrs.field(validator=non_empty)


def id_field() -> Any:
    return attrs.field(factory=new_id, validator=non_empty)


# --- texts a person reads -----------------------------------------------------------------------


def _visible_or_none(_: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None:
        non_empty(_, attribute, value)


@attrs.frozen
class Text:
    """A text a person reads, in Dutch (``nl``) and English (``en``).

    Everything a plugin returns for a person to read has both. ``en`` is ``None`` only in a text
    written in one language: one a practitioner typed, or one stored or sent before results had
    two languages (a plain string then, read as Dutch). Such a text shows its Dutch in English
    output too (:meth:`in_language`): nothing is translated by guessing.
    """

    nl: str = attrs.field(validator=non_empty)
    en: str | None = attrs.field(default=None, validator=_visible_or_none)

    @property
    def bilingual(self) -> bool:
        """Whether the text has both Dutch and English."""
        return self.en is not None

    def in_language(self, lang: str) -> str:
        """The text in ``lang`` ("nl" or "en"); the Dutch when there is no English."""
        return self.en if lang == "en" and self.en is not None else self.nl

    @classmethod
    def of(cls, value: TextLike) -> Text:
        """A :class:`Text` from a ``Text``, a mapping ``{"nl": ..., "en": ...}`` or a plain string
        (Dutch only). Raises :class:`ValidationError` for anything else."""
        converted = to_text(value)
        if not isinstance(converted, Text):
            raise ValidationError([Problem("", _TEXT_EXPECTED)])
        return converted


TextLike = Text | Mapping[str, str] | str
"""What a text may be given as: a :class:`Text`, ``{"nl": ..., "en": ...}``, or a plain string
(Dutch only: the form of plugins written before results had two languages)."""

_TEXT_EXPECTED = "expected a text: {'nl': ..., 'en': ...} with visible content in each"


def to_text(value: TextLike) -> Text:
    """Convert what a text may be given as into a :class:`Text` (a field converter).

    A value that cannot be one is passed on unchanged, for the field's validator to name."""
    if isinstance(value, str):
        return Text(value) if value.strip() else value  # type: ignore[return-value]
    if isinstance(value, Mapping) and "nl" in value and set(value) <= {"nl", "en"}:
        nl, en = value["nl"], value.get("en")
        if isinstance(nl, str) and nl.strip() and (en is None or (isinstance(en, str) and en.strip())):
            return Text(nl, en)
    return value  # type: ignore[return-value]


def to_texts(value: Iterable[TextLike]) -> tuple[Text, ...]:
    """Convert a tuple or list of texts (a field converter); anything else is passed on unchanged."""
    if isinstance(value, tuple | list):
        return tuple(to_text(v) for v in value)
    return value  # type: ignore[return-value]


def to_optional_text(value: TextLike | None) -> Text | None:
    """Like :func:`to_text`; ``None`` and an empty string are no text."""
    if value is None or value == "":
        return None
    return to_text(value)


def is_text(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Require a :class:`Text`."""
    if not isinstance(value, Text):
        raise _fail(attribute, _TEXT_EXPECTED)


def is_optional_text(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        is_text(_, attribute, value)


def texts_of(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Require a tuple of :class:`Text`."""
    if not isinstance(value, tuple):
        raise _fail(attribute, f"expected a tuple of texts, got {type(value).__name__}")
    for index, item in enumerate(value):
        if not isinstance(item, Text):
            raise ValidationError([Problem(f"{attribute.name}[{index}]", _TEXT_EXPECTED)])


# --- enumerations --------------------------------------------------------------------------------


class Phase(enum.IntEnum):
    """The three phases of the method, in order."""

    IMMEDIATE_SAFETY = 1
    """Directe veiligheid: stop the violence now; agreements in the safety action plan."""
    RISK_DRIVEN_CARE = 2
    """Risicogestuurde zorg: reduce the risk factors that keep the violence going."""
    RECOVERY_CARE = 3
    """Herstelgerichte zorg: recovery goals; finish and hand over."""


class PersonRole(enum.Enum):
    """A person's place in the client system (cliëntsysteem)."""

    CLIENT = "client"
    """Victim; the cliënt."""
    PERSON_WHO_USED_VIOLENCE = "person_who_used_violence"
    """Pleger."""
    CHILD = "child"
    FAMILY_MEMBER = "family_member"
    NETWORK = "network"
    """Informal network (netwerk): family, friends, neighbours."""


class PartyRole(enum.Enum):
    """The standing of a party that gives safety scores."""

    CLIENT = "client"
    PRACTITIONER = "practitioner"
    """The organisation's own practitioner (hulpverlener)."""
    CHAIN_PARTNER = "chain_partner"
    """Another organisation involved with the family (ketenpartner)."""
    NETWORK = "network"


class PartnerType(enum.Enum):
    """The kind of chain partner."""

    VEILIG_THUIS = "veilig_thuis"
    POLICE = "police"
    RECLASSERING = "reclassering"
    """Probation service."""
    YOUTH_PROTECTION = "youth_protection"
    """Gecertificeerde instelling jeugdbescherming."""
    CHILD_PROTECTION_BOARD = "child_protection_board"
    """Raad voor de Kinderbescherming."""
    GGZ = "ggz"
    """Mental health care."""
    LOCAL_TEAM = "local_team"
    """Wijkteam / sociaal team of the municipality."""
    SCHOOL = "school"
    GENERAL_PRACTITIONER = "general_practitioner"
    """Huisarts."""
    SHELTER = "shelter"
    """Another shelter or women's service (opvang)."""
    OTHER = "other"


class CareSettingKind(enum.Enum):
    """Where care is given."""

    AMBULANT = "ambulant"
    """Ambulante hulpverlening: the client lives at home (the default)."""
    SHELTER = "shelter"
    """A stay in a shelter (opvang), open (Oranje Huis) or at a secret location."""


class IncidentSeverity(enum.Enum):
    """How serious an unsafe incident was."""

    MINOR = "minor"
    SERIOUS = "serious"
    SEVERE = "severe"


class AgreementStatus(enum.Enum):
    """State of a safety agreement (veiligheidsafspraak)."""

    ACTIVE = "active"
    KEPT = "kept"
    BROKEN = "broken"
    ENDED = "ended"


class GoalStatus(enum.Enum):
    """Lifecycle of a work goal or recovery goal."""

    ACTIVE = "active"
    ON_HOLD = "on_hold"
    ACHIEVED = "achieved"
    CANCELLED = "cancelled"


class TaskStatus(enum.Enum):
    """State of a task of the safety action plan."""

    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


# --- the client system and the parties -----------------------------------------------------------


@attrs.frozen(kw_only=True)
class Person:
    """A member of the client system. ``label`` is a pseudonymous display label."""

    id: str = id_field()
    role: PersonRole = attrs.field(validator=is_enum(PersonRole))
    label: str = text_field()
    birth_year: int | None = attrs.field(default=None, validator=optional_integer_in(1900, 2200))


@attrs.frozen(kw_only=True)
class Organisation:
    """An organisation with its Dutch registry identifiers where known (AGB, URA)."""

    id: str = id_field()
    name: str = text_field()
    agb: str | None = attrs.field(default=None, validator=optional_text)
    ura: str | None = attrs.field(default=None, validator=optional_text)


@attrs.frozen(kw_only=True)
class SecurityLabel:
    """A security label a chain partner gave what it sent (FHIR ``meta.security``): a code of an HL7
    system, e.g. confidentiality ``V`` or sensitivity ``PSY``. Kept so that what came from the partner
    leaves again with at least these labels."""

    system: str = attrs.field(validator=non_empty)
    code: str = attrs.field(validator=non_empty)


@attrs.frozen(kw_only=True)
class Party:
    """Someone who takes part in the case and gives safety scores."""

    id: str = id_field()
    role: PartyRole = attrs.field(validator=is_enum(PartyRole))
    name: str = text_field()
    partner_type: PartnerType | None = attrs.field(default=None)
    person_id: str | None = attrs.field(default=None, validator=optional_text)
    """For the client and network: the member of the client system this party is."""

    @partner_type.validator
    def _check_partner_type(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if self.role is PartyRole.CHAIN_PARTNER:
            if not isinstance(value, PartnerType):
                raise _fail(attribute, "a chain partner needs a partner_type")
        elif value is not None:
            raise _fail(attribute, f"only a chain partner has a partner_type, not {self.role.value}")


@attrs.frozen(kw_only=True)
class Region:
    """Where the case is: the region, its lead municipality (centrumgemeente) and municipality."""

    region: str = text_field()
    lead_municipality: str = text_field()
    municipality: str = text_field()


@attrs.frozen(kw_only=True)
class Location:
    """A place of care. A secret location's address is never recorded in the case.

    Keeping the address of a secret shelter out of the engine entirely is what guarantees it
    cannot appear in an export, a log line or an error message; the shelter keeps it in its own
    register and the case refers to the location by ``id``.
    """

    id: str = id_field()
    name: str = text_field()
    secret: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    address: str | None = attrs.field(default=None, repr=False)

    @address.validator
    def _check_address(self, attribute: attrs.Attribute[Any], value: str | None) -> None:
        optional_text(self, attribute, value)
        if value is not None and self.secret:
            raise _fail(
                attribute,
                "the address of a secret location is not recorded in a case "
                "(keep it in the shelter's own register; refer to the location by id)",
            )


@attrs.frozen(kw_only=True)
class CareSetting:
    """Ambulant care, or a shelter stay at a location."""

    kind: CareSettingKind = attrs.field(validator=is_enum(CareSettingKind))
    location: Location | None = attrs.field(default=None)

    @location.validator
    def _check_location(self, attribute: attrs.Attribute[Any], value: Location | None) -> None:
        if self.kind is CareSettingKind.SHELTER and value is None:
            raise _fail(attribute, "a shelter stay needs a location")


# --- plan parts ----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RiskFactor:
    """An underlying cause that keeps the violence going (risicofactor)."""

    id: str = id_field()
    text: Text = attrs.field(converter=to_text, validator=is_text)
    """What the factor is, in Dutch and English (one typed in a plan may be in Dutch only)."""
    code: str | None = attrs.field(default=None, validator=optional_text)


@attrs.frozen(kw_only=True)
class SafetyAgreement:
    """Who does what, by when, to keep everyone safe (veiligheidsafspraak)."""

    id: str = id_field()
    what: str = text_field()
    responsible: str = text_field()
    """Id of the party or client-system member who carries the agreement out."""
    due: datetime | None = attrs.field(default=None)
    status: AgreementStatus = attrs.field(default=AgreementStatus.ACTIVE, validator=is_enum(AgreementStatus))

    @due.validator
    def _check_due(self, attribute: attrs.Attribute[Any], value: datetime | None) -> None:
        if value is not None:
            aware_datetime(self, attribute, value)


@attrs.frozen(kw_only=True)
class WorkGoal:
    """A goal worked on now (werkdoel); at most three are active, ranked 1-3 (the Top 3)."""

    id: str = id_field()
    text: str = text_field()
    rank: int | None = attrs.field(default=None, validator=optional_integer_in(1, 99))
    status: GoalStatus = attrs.field(default=GoalStatus.ACTIVE, validator=is_enum(GoalStatus))
    risk_factor_id: str | None = attrs.field(default=None, validator=optional_text)
    """The risk factor this goal addresses, if any."""


@attrs.frozen(kw_only=True)
class RecoveryGoal:
    """A goal for the future, set in the recovery phase (hersteldoel)."""

    id: str = id_field()
    text: str = text_field()
    status: GoalStatus = attrs.field(default=GoalStatus.ACTIVE, validator=is_enum(GoalStatus))


def bilingual(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Require a :class:`Text` in Dutch and in English (a field given ``{"nl": ..., "en": ...}``
    converts with :func:`to_text`)."""
    if not isinstance(value, Text) or value.en is None:
        raise _fail(attribute, "needs a text in 'nl' and in 'en'")


@attrs.frozen(kw_only=True)
class PlanTask:
    """A task of the safety action plan with its status, e.g. a referral an instrument asked for.

    A task made from an instrument's action has the id :func:`ketenzorg.case.task_id` gives
    (the application's event id and the action's place), its ``source``, and the action's kind,
    conference kind and text.
    """

    id: str = id_field()
    kind: str = text_field()
    """What kind of task: an action's kind (``referral``) or the organisation's own code."""
    text: Text = attrs.field(converter=to_text, validator=bilingual)
    """What to do, in Dutch and English (given as a :class:`Text` or ``{"nl": ..., "en": ...}``)."""
    status: TaskStatus = attrs.field(default=TaskStatus.OPEN, validator=is_enum(TaskStatus))
    conference_kind: str | None = attrs.field(default=None, validator=optional_text)
    """For a referral to a conference: its kind (e.g. ``marac``)."""
    source: str | None = attrs.field(default=None, validator=optional_text)
    """The id of the instrument application whose action the task carries, if any."""
