"""CodeSystems and ValueSets: the profile's code systems, and those the instruments bring.

Every code system of :mod:`ketenzorg.interop.terminology` gets a CodeSystem and a ValueSet. Each
canonical base that instruments declare gets a code system of its instrument ids
(``<base>/CodeSystem/instrument``, the codes of ``RiskAssessment.method``), and an instrument that
declares classifications gets a code system of them (``<base>/CodeSystem/<instrument id>``); an
instrument with its own result scale gets a code system of its levels
(``<base>/CodeSystem/<instrument id>-level``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ketenzorg.domain import CareSettingKind
from ketenzorg.errors import Problem, ValidationError
from ketenzorg.interop.canonical import canonical_base
from ketenzorg.interop.conformance.common import (
    CARE_SETTING_VALUE_SET,
    INSTRUMENT_SYSTEM,
    PUBLISHER,
    metadata,
    pascal,
    resource_id,
    value_set_url,
)
from ketenzorg.interop.terminology import CANONICAL, CODE_SYSTEMS, CodeSystemDef, Concept, code_system
from ketenzorg.pluginhost import RegisteredInstrument

__all__ = [
    "by_base",
    "classifications",
    "code_system_resource",
    "publisher",
    "terminology",
    "value_set_resource",
]


def code_system_resource(
    cs: CodeSystemDef,
    *,
    base: str = CANONICAL,
    content: str = "complete",
    version: str | None = None,
    publisher: str = PUBLISHER,
) -> dict[str, Any]:
    """The CodeSystem ``<base>/CodeSystem/<name>``, pointing to its ValueSet of all codes."""
    url = f"{base}/CodeSystem/{cs.name}"
    resource = metadata("CodeSystem", resource_id(base, cs.name), url, pascal(cs.name), cs.title, publisher)
    resource["language"] = "nl"
    if version is not None:
        resource["version"] = version
    resource |= {
        "description": cs.description,
        "caseSensitive": True,
        "valueSet": value_set_url(cs.name, base),
        "content": content,
        "count": len(cs.concepts),
    }
    if cs.concepts:  # FHIR has no empty arrays
        resource["concept"] = [
            {"code": c.code, "display": c.display} | ({"definition": c.definition} if c.definition else {})
            for c in cs.concepts
        ]
    return resource


def value_set_resource(
    name: str,
    title: str,
    description: str,
    system: str,
    codes: Sequence[str] = (),
    version: str | None = None,
    *,
    base: str = CANONICAL,
    publisher: str = PUBLISHER,
) -> dict[str, Any]:
    """The ValueSet ``<base>/ValueSet/<name>``: ``codes`` of ``system``, or all of its codes."""
    resource = metadata(
        "ValueSet", resource_id(base, name), value_set_url(name, base), pascal(name), title, publisher
    )
    resource["language"] = "nl"
    if version is not None:
        resource["version"] = version
    include: dict[str, Any] = {"system": system}
    if codes:
        include["concept"] = [{"code": code} for code in codes]
    resource |= {"description": description, "compose": {"include": [include]}}
    return resource


def classifications(instrument: object) -> tuple[Concept, ...]:
    """The classification codes an instrument can give, where its data declares them.

    The :class:`~ketenzorg.instruments.Instrument` protocol has no declaration of its own for them,
    so they are read from the instrument's data (``profiles`` with ``code`` and ``display``), as the
    reference Gezinsprofielen has it.
    """
    data = getattr(instrument, "data", None)
    profiles = data.get("profiles") if isinstance(data, Mapping) else None
    if not isinstance(profiles, list):
        return ()

    def language(value: Any, lang: str) -> str:
        """A display given in both languages (``{"nl": ..., "en": ...}``) or as one Dutch string."""
        return str(value.get(lang, "")) if isinstance(value, Mapping) else str(value) if lang == "nl" else ""

    # a Concept's display is Dutch (the profile's language) and its definition English
    return tuple(
        Concept(str(p["code"]), language(p["display"], "nl"), language(p["display"], "en"))
        for p in profiles
        if isinstance(p, Mapping) and "code" in p and "display" in p
    )


def publisher(registered: RegisteredInstrument) -> str:
    """Who publishes an instrument's definitions: ketenzorg under its own base, else the plugin's
    distribution (or the plugin's name when it is not installed from one)."""
    if canonical_base(registered) == CANONICAL:
        return PUBLISHER
    return registered.distribution or registered.plugin


def by_base(instruments: Sequence[RegisteredInstrument]) -> Iterator[tuple[str, list[RegisteredInstrument]]]:
    """The instruments grouped by canonical base: ketenzorg's first (always), then the others by URL;
    within a base by id."""
    groups: dict[str, list[RegisteredInstrument]] = {CANONICAL: []}
    for registered in sorted(instruments, key=lambda r: r.spec.id):
        groups.setdefault(canonical_base(registered), []).append(registered)
    yield CANONICAL, groups.pop(CANONICAL)
    yield from sorted(groups.items())


def _clash(instrument_id: str, what: str) -> ValidationError:
    return ValidationError([Problem(f"instruments.{instrument_id}", f"clashes with {what}")])


def _profile_terminology() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for cs in CODE_SYSTEMS.values():
        out.append(code_system_resource(cs))
        out.append(value_set_resource(cs.name, cs.title, f"Alle codes van {cs.url}.", cs.url))
    kinds = [kind.value for kind in CareSettingKind]
    out.append(
        value_set_resource(
            CARE_SETTING_VALUE_SET,
            "Soort zorgsetting",
            "The encounter types of a care setting (a stay): ambulant or in a shelter.",
            code_system("encounter-type"),
            kinds,
        )
    )
    return out


def _instrument_system(base: str, members: Sequence[RegisteredInstrument]) -> list[dict[str, Any]]:
    """The code system of the instrument ids under one base, with its ValueSet."""
    concepts = tuple(Concept(r.spec.id, r.spec.name["nl"], r.spec.description["en"]) for r in members)
    if base == CANONICAL:
        if INSTRUMENT_SYSTEM in CODE_SYSTEMS:
            raise ValueError(f"code system {INSTRUMENT_SYSTEM!r} is defined twice")
        description = (
            "The assessment instruments (RiskAssessment.method). Organisations register their own "
            "instruments as plugins, so this code system holds only the shipped ones (content fragment)."
        )
        who = PUBLISHER
    else:
        description = (
            f"The assessment instruments published under {base} (RiskAssessment.method): those that "
            "were installed when this package was written (content fragment)."
        )
        who = publisher(members[0])
    methods = CodeSystemDef(INSTRUMENT_SYSTEM, "Instrument", description, concepts)
    url = f"{base}/CodeSystem/{INSTRUMENT_SYSTEM}"
    return [
        code_system_resource(methods, base=base, content="fragment", publisher=who),
        value_set_resource(methods.name, methods.title, methods.description, url, base=base, publisher=who),
    ]


def _classification_system(registered: RegisteredInstrument) -> list[dict[str, Any]]:
    """The code system of an instrument's classifications (none when it declares none)."""
    spec = registered.spec
    base = canonical_base(registered)
    concepts = classifications(registered.instrument)
    if not concepts:
        return []
    if spec.id == INSTRUMENT_SYSTEM or (base == CANONICAL and spec.id in CODE_SYSTEMS):
        raise _clash(spec.id, "a code system of the same canonical base")
    classes = CodeSystemDef(
        spec.id,
        f"Classificaties {spec.name['nl']}",
        f"The classifications of the instrument {spec.name['en']} (version {spec.version}).",
        concepts,
    )
    url = f"{base}/CodeSystem/{spec.id}"
    who = publisher(registered)
    return [
        code_system_resource(classes, base=base, version=spec.version, publisher=who),
        value_set_resource(
            spec.id, classes.title, classes.description, url, version=spec.version, base=base, publisher=who
        ),
    ]


def _level_system(registered: RegisteredInstrument, taken: set[str]) -> list[dict[str, Any]]:
    """The code system of an instrument's own levels, with its ValueSet (none without a scale)."""
    spec = registered.spec
    if not spec.levels:
        return []
    base = canonical_base(registered)
    name = f"{spec.id}-level"
    if name in taken or (base == CANONICAL and name in CODE_SYSTEMS):
        raise _clash(spec.id, "a code system of the same canonical base")
    levels = CodeSystemDef(
        name,
        f"Niveaus {spec.name['nl']}",
        f"The levels of the result scale of the instrument {spec.name['en']} (version {spec.version}), "
        "from the lowest to the highest.",
        tuple(Concept(lv.code, lv.display.nl, lv.display.in_language("en")) for lv in spec.levels),
    )
    url = f"{base}/CodeSystem/{name}"
    who = publisher(registered)
    return [
        code_system_resource(levels, base=base, version=spec.version, publisher=who),
        value_set_resource(
            name, levels.title, levels.description, url, version=spec.version, base=base, publisher=who
        ),
    ]


def terminology(instruments: Sequence[RegisteredInstrument]) -> list[dict[str, Any]]:
    """Every CodeSystem and ValueSet of the package, for the profile and ``instruments``."""
    out = _profile_terminology()
    groups = list(by_base(instruments))
    for base, members in groups:
        if members or base == CANONICAL:
            out += _instrument_system(base, members)
    for _, members in groups:
        taken = {INSTRUMENT_SYSTEM, *(r.spec.id for r in members)}
        for registered in members:
            out += _classification_system(registered)
        for registered in members:
            out += _level_system(registered, taken)
    return out
