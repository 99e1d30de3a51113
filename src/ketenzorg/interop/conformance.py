"""The ketenzorg FHIR R4 (4.0.1) conformance package, generated from the code.

One source of truth: the code systems and the canonical URL base come from
:mod:`ketenzorg.interop.terminology`, the extension URLs from :mod:`ketenzorg.interop.fhir`, the
questionnaires from the shipped instruments. The generated files are committed in ``schemas/fhir/``
(an NPM-style FHIR package: ``package/package.json``, ``package/.index.json`` and one JSON file per
resource); regenerate them with::

    python -m ketenzorg.interop.conformance            # writes schemas/fhir/
    python -m ketenzorg.interop.conformance --check    # lists the files that are out of date

What the package holds:

- a CodeSystem and a ValueSet for every code system of the profile, plus the code systems the mapping
  takes from the instruments (the instrument ids, and an instrument's classifications);
- a StructureDefinition (differential) for every extension the mapping uses and for every profiled
  resource it emits, with a Bundle profile ``ketenzorg-bundle`` that slices the entries by profile;
- a Questionnaire per shipped instrument, so that a QuestionnaireResponse's ``questionnaire``
  (``.../Questionnaire/<instrument id>|<version>``) resolves.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import orjson

from ketenzorg._version import __version__
from ketenzorg.domain import CareSettingKind
from ketenzorg.instruments import AnswerType, InstrumentSpec, Item
from ketenzorg.interop.definitions import (
    EXTENSIONS,
    PARTY_TYPES,
    X_ADDRESSES_RISK,
    X_ADVICE,
    X_ADVISED_SETTING,
    X_AGREEMENT,
    X_CARE_SETTING,
    X_CLASSIFICATION,
    X_CLIENT_PRESENT,
    X_EVENT,
    X_EVIDENCE,
    X_EXPLANATION,
    X_GOAL_STATUS,
    X_HANDOVER,
    X_JOINED,
    X_LEFT,
    X_NO_CODES,
    X_NOTES,
    X_PARTICIPANT,
    X_PARTY,
    X_PROVENANCE,
    X_RANK,
    X_REGION,
    X_RISK_FACTOR,
    X_RULES,
    X_SECRET_LOCATION,
    X_SEQUENCE,
    X_URGENCY,
    ExtensionDef,
    Part,
)
from ketenzorg.interop.terminology import (
    CANONICAL,
    CODE_SYSTEMS,
    FHIR_VERSION,
    CodeSystemDef,
    Concept,
    code_system,
    safety_band,
)
from ketenzorg.pluginhost import RegisteredInstrument

__all__ = [
    "EXTENSIONS",
    "PACKAGE_NAME",
    "PROFILES",
    "ExtensionDef",
    "Part",
    "check",
    "default_directory",
    "files",
    "main",
    "package_version",
    "profile_url",
    "questionnaire_url",
    "resources",
    "value_set_url",
    "write",
]

PACKAGE_NAME: Final = "ketenzorg.fhir"
PUBLISHER: Final = "ketenzorg"
CORE: Final = "http://hl7.org/fhir/StructureDefinition/"
TRANSLATION: Final = "http://hl7.org/fhir/StructureDefinition/translation"
MIN_VALUE: Final = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE: Final = "http://hl7.org/fhir/StructureDefinition/maxValue"
INSTRUMENT_SYSTEM: Final = "instrument"
"""The code system of ``RiskAssessment.method``: the ids of the instruments."""
CARE_SETTING_VALUE_SET: Final = "care-setting-kind"
"""The encounter types of a stay (ambulant, shelter): part of the code system ``encounter-type``."""

_ID = re.compile(r"[^A-Za-z0-9\-.]")
_DEV = re.compile(r"\.?dev\d*$")


def package_version() -> str:
    """The package version: the ketenzorg version without a development suffix (0.1.0.dev0 -> 0.1.0)."""
    return _DEV.sub("", __version__) or __version__


def profile_url(name: str) -> str:
    """The canonical URL of a StructureDefinition (a profile or an extension)."""
    return f"{CANONICAL}/StructureDefinition/{name}"


def value_set_url(name: str) -> str:
    return f"{CANONICAL}/ValueSet/{name}"


def questionnaire_url(instrument_id: str) -> str:
    return f"{CANONICAL}/Questionnaire/{instrument_id}"


def _fhir_id(text: str) -> str:
    return _ID.sub("-", text)[:64]


def _pascal(text: str) -> str:
    name = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text) if part)
    return name if name[:1].isalpha() else f"K{name}"


def _coding(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": code_system(system), "code": code}]}


def _translated(element: str, texts: Mapping[str, str], base: str = "nl") -> dict[str, Any]:
    """``element`` in the ``base`` language, with ``_element`` holding the other languages (if any)."""
    translations = [
        {
            "url": TRANSLATION,
            "extension": [{"url": "lang", "valueCode": lang}, {"url": "content", "valueString": text}],
        }
        for lang, text in sorted(texts.items())
        if lang != base
    ]
    out: dict[str, Any] = {element: texts[base]}
    if translations:
        out[f"_{element}"] = {"extension": translations}
    return out


def _metadata(resource_type: str, rid: str, url: str, name: str, title: str) -> dict[str, Any]:
    return {
        "resourceType": resource_type,
        "id": rid,
        "url": url,
        "version": package_version(),
        "name": name,
        "title": title,
        "status": "active",
        "publisher": PUBLISHER,
    }


# --- terminology -----------------------------------------------------------------------------------


def _code_system(
    cs: CodeSystemDef, *, content: str = "complete", version: str | None = None
) -> dict[str, Any]:
    resource = _metadata("CodeSystem", _fhir_id(cs.name), cs.url, _pascal(cs.name), cs.title)
    resource["language"] = "nl"
    if version is not None:
        resource["version"] = version
    resource |= {
        "description": cs.description,
        "caseSensitive": True,
        "valueSet": value_set_url(cs.name),
        "content": content,
        "count": len(cs.concepts),
        "concept": [
            {"code": c.code, "display": c.display} | ({"definition": c.definition} if c.definition else {})
            for c in cs.concepts
        ],
    }
    return resource


def _value_set(
    name: str,
    title: str,
    description: str,
    system: str,
    codes: Sequence[str] = (),
    version: str | None = None,
) -> dict[str, Any]:
    resource = _metadata("ValueSet", _fhir_id(name), value_set_url(name), _pascal(name), title)
    resource["language"] = "nl"
    if version is not None:
        resource["version"] = version
    include: dict[str, Any] = {"system": system}
    if codes:
        include["concept"] = [{"code": code} for code in codes]
    resource |= {"description": description, "compose": {"include": [include]}}
    return resource


def _instruments() -> list[RegisteredInstrument]:
    """The shipped instruments (built-in plugins only, so the package never depends on the machine)."""
    from ketenzorg.engine import Engine

    registered = Engine().instruments
    return [registered[key] for key in sorted(registered)]


def _classifications(instrument: object) -> tuple[Concept, ...]:
    """The classification codes an instrument can give, where its data declares them.

    The :class:`~ketenzorg.instruments.Instrument` protocol has no declaration of its own for them,
    so they are read from the instrument's data (``profiles`` with ``code`` and ``display``), as the
    reference Gezinsprofielen has it.
    """
    data = getattr(instrument, "data", None)
    profiles = data.get("profiles") if isinstance(data, Mapping) else None
    if not isinstance(profiles, list):
        return ()
    return tuple(
        Concept(str(p["code"]), str(p["display"]), str(p.get("emphasis", "")))
        for p in profiles
        if isinstance(p, Mapping) and "code" in p and "display" in p
    )


def _terminology() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for cs in CODE_SYSTEMS.values():
        out.append(_code_system(cs))
        out.append(_value_set(cs.name, cs.title, f"Alle codes van {cs.url}.", cs.url))
    kinds = [kind.value for kind in CareSettingKind]
    out.append(
        _value_set(
            CARE_SETTING_VALUE_SET,
            "Soort zorgsetting",
            "The encounter types of a care setting (a stay): ambulant or in a shelter.",
            code_system("encounter-type"),
            kinds,
        )
    )
    instruments = _instruments()
    methods = CodeSystemDef(
        INSTRUMENT_SYSTEM,
        "Instrument",
        "The assessment instruments (RiskAssessment.method). Organisations register their own "
        "instruments as plugins, so this code system holds only the shipped ones (content fragment).",
        tuple(Concept(r.spec.id, r.spec.name["nl"], r.spec.description["en"]) for r in instruments),
    )
    if methods.name in CODE_SYSTEMS:
        raise ValueError(f"code system {methods.name!r} is defined twice")
    out.append(_code_system(methods, content="fragment"))
    out.append(_value_set(methods.name, methods.title, methods.description, methods.url))
    for registered in instruments:
        spec: InstrumentSpec = registered.spec
        concepts = _classifications(registered.instrument)
        if not concepts:
            continue
        if spec.id in CODE_SYSTEMS or spec.id == INSTRUMENT_SYSTEM:
            raise ValueError(f"instrument {spec.id!r} clashes with a code system of the profile")
        classes = CodeSystemDef(
            spec.id,
            f"Classificaties {spec.name['nl']}",
            f"The classifications of the instrument {spec.name['en']} (version {spec.version}).",
            concepts,
        )
        out.append(_code_system(classes, version=spec.version))
        out.append(_value_set(spec.id, classes.title, classes.description, classes.url, version=spec.version))
    return out


def _el(element_id: str, **rules: Any) -> dict[str, Any]:
    """A differential element; the path is the id without slice names."""
    path = ".".join(segment.split(":")[0] for segment in element_id.split("."))
    out: dict[str, Any] = {"id": element_id, "path": path}
    last = element_id.rsplit(".", 1)[-1]
    if ":" in last:
        out["sliceName"] = last.split(":", 1)[1]
    out.update(rules)
    return out


def _target(name: str) -> str:
    return name if "/" in name else CORE + name


def _reference(*targets: str) -> list[dict[str, Any]]:
    return [{"code": "Reference", "targetProfile": [_target(t) for t in targets]}]


def _value_type(type_: str, targets: Sequence[str]) -> list[dict[str, Any]]:
    return _reference(*targets) if type_ == "Reference" and targets else [{"code": type_}]


def _required(system: str) -> dict[str, Any]:
    return {"strength": "required", "valueSet": value_set_url(system)}


def _structure(
    sid: str, type_: str, kind: str, title: str, description: str, elements: list[dict[str, Any]]
) -> dict[str, Any]:
    resource = _metadata("StructureDefinition", sid, profile_url(sid), _pascal(sid), title)
    resource |= {"description": description, "fhirVersion": FHIR_VERSION, "kind": kind, "abstract": False}
    return resource | {
        "type": type_,
        "baseDefinition": CORE + type_,
        "derivation": "constraint",
        "differential": {"element": elements},
    }


def _extension_definition(ext: ExtensionDef) -> dict[str, Any]:
    elements = [_el("Extension", short=ext.title, definition=ext.description)]
    if ext.type is not None:
        value = _el("Extension.value[x]", min=1, type=_value_type(ext.type, ext.targets))
        if ext.binding:
            value["binding"] = _required(ext.binding)
        elements += [
            _el("Extension.extension", max="0"),
            _el("Extension.url", fixedUri=ext.url),
            value,
        ]
    else:
        elements.append(
            _el(
                "Extension.extension",
                slicing={"discriminator": [{"type": "value", "path": "url"}], "rules": "closed"},
                min=sum(part.min for part in ext.parts),
            )
        )
        for part in ext.parts:
            prefix = f"Extension.extension:{part.url}"
            value = _el(f"{prefix}.value[x]", min=1, type=_value_type(part.type, part.targets))
            if part.binding:
                value["binding"] = _required(part.binding)
            elements += [
                _el(prefix, short=part.short, definition=part.short, min=part.min, max=part.max),
                _el(f"{prefix}.url", fixedUri=part.url),
                value,
            ]
        elements += [_el("Extension.url", fixedUri=ext.url), _el("Extension.value[x]", max="0")]
    resource = _structure(ext.name, "Extension", "complex-type", ext.title, ext.description, elements)
    return resource | {"context": [{"type": "element", "expression": context} for context in ext.contexts]}


# --- profiles --------------------------------------------------------------------------------------

TRAJECTORY: Final = "ketenzorg-trajectory"
SAFETY_ACTION_PLAN: Final = "ketenzorg-safety-action-plan"
SAFETY_SCORE: Final = "ketenzorg-safety-score"
INCIDENT: Final = "ketenzorg-incident"
PHASE_CHANGE: Final = "ketenzorg-phase-change"
GOAL: Final = "ketenzorg-goal"
CASE_CONFERENCE: Final = "ketenzorg-case-conference"
CARE_SETTING: Final = "ketenzorg-care-setting"
CARE_TEAM: Final = "ketenzorg-care-team"
INSTRUMENT_APPLICATION: Final = "ketenzorg-instrument-application"
INSTRUMENT_ANSWERS: Final = "ketenzorg-instrument-answers"
BUNDLE: Final = "ketenzorg-bundle"
PROFILES: Final = (
    TRAJECTORY,
    SAFETY_ACTION_PLAN,
    SAFETY_SCORE,
    INCIDENT,
    PHASE_CHANGE,
    GOAL,
    CASE_CONFERENCE,
    CARE_SETTING,
    CARE_TEAM,
    INSTRUMENT_APPLICATION,
    INSTRUMENT_ANSWERS,
    BUNDLE,
)
"""The ids of the resource profiles (their URL is ``profile_url(id)``)."""


def _x(base: str, slice_name: str, url: str, min_: int = 0, max_: str = "1") -> dict[str, Any]:
    """An extension slice on ``base`` (the base resources already slice extensions by url)."""
    return _el(
        f"{base}.extension:{slice_name}",
        min=min_,
        max=max_,
        type=[{"code": "Extension", "profile": [url]}],
    )


def _constraint(key: str, human: str, expression: str) -> dict[str, Any]:
    return {"key": key, "severity": "error", "human": human, "expression": expression}


def _root(type_: str, title: str, description: str, *constraints: dict[str, Any]) -> dict[str, Any]:
    root = _el(type_, short=title, definition=description)
    if constraints:
        root["constraint"] = list(constraints)
    return root


def _band_expression() -> str:
    """FHIRPath: the interpretation is the band of the score (derived from ``safety_band``)."""
    ranges: list[tuple[int, str]] = []
    for score in range(11):
        band = safety_band(score)
        if ranges and ranges[-1][1] == band:
            ranges[-1] = (score, band)
        else:
            ranges.append((score, band))
    expression = f"'{ranges[-1][1]}'"
    for high, band in reversed(ranges[:-1]):
        expression = f"iif(value <= {high}, '{band}', {expression})"
    return f"interpretation.coding.where(system = '{code_system('safety-band')}').code = {expression}"


def _observation(
    sid: str,
    kind: str,
    title: str,
    description: str,
    *,
    extensions: Sequence[dict[str, Any]] = (),
    middle: Sequence[dict[str, Any]] = (),
    constraints: Sequence[dict[str, Any]] = (),
    components: Sequence[tuple[str, str, list[dict[str, Any]]]] = (),
    encounter: bool = False,
) -> dict[str, Any]:
    """An Observation profile: event sequence, identifier, the kind as code; ``middle`` holds the
    elements between ``effective[x]`` and ``component``; ``components`` are slices by code;
    ``encounter`` says the observation may refer to the case conference it was given in."""
    elements = [
        _root("Observation", title, description, *constraints),
        _x("Observation", "eventSequence", X_SEQUENCE, 1),
        *extensions,
        _el("Observation.identifier", min=1),
        _el("Observation.basedOn", min=1, max="1", type=_reference(profile_url(TRAJECTORY))),
        _el("Observation.code", patternCodeableConcept=_coding("observation-kind", kind)),
        _el("Observation.subject", min=1, type=_reference("Patient")),
        *([_el("Observation.encounter", type=_reference(profile_url(CASE_CONFERENCE)))] if encounter else []),
        _el("Observation.effective[x]", min=1, type=[{"code": "dateTime"}]),
        *middle,
    ]
    if components:
        elements.append(
            _el(
                "Observation.component",
                slicing={"discriminator": [{"type": "pattern", "path": "code"}], "rules": "open"},
                min=len(components),
            )
        )
    for name, code, value in components:
        elements += [
            _el(f"Observation.component:{name}", min=1, max="1"),
            _el(
                f"Observation.component:{name}.code",
                patternCodeableConcept=_coding("observation-kind", code),
            ),
            _el(f"Observation.component:{name}.value[x]", min=1, **value[0]),
        ]
    return _structure(sid, "Observation", "resource", title, description, elements)


def _concept_value(system: str) -> list[dict[str, Any]]:
    return [{"type": [{"code": "CodeableConcept"}], "binding": _required(system)}]


def _category_slices(base: str, slices: Sequence[tuple[str, str, str | None]]) -> list[dict[str, Any]]:
    """``category`` sliced by pattern: (slice, code system, code or None for 'any code of it')."""
    out = [
        _el(
            f"{base}.category",
            slicing={"discriminator": [{"type": "pattern", "path": "$this"}], "rules": "open"},
            min=len(slices),
        )
    ]
    for name, system, code in slices:
        if code is None:
            out.append(
                _el(
                    f"{base}.category:{name}",
                    min=1,
                    max="1",
                    patternCodeableConcept={"coding": [{"system": code_system(system)}]},
                    binding=_required(system),
                )
            )
        else:
            out.append(
                _el(f"{base}.category:{name}", min=1, max="1", patternCodeableConcept=_coding(system, code))
            )
    return out


def _profiles() -> list[dict[str, Any]]:
    party = _reference(*PARTY_TYPES)
    patient = _reference("Patient")
    out: list[dict[str, Any]] = []

    title, text = "Traject gefaseerde ketenzorg", "The case: one trajectory of phased chain care."
    out.append(
        _structure(
            TRAJECTORY,
            "CarePlan",
            "resource",
            title,
            text,
            [
                _root("CarePlan", title, text),
                _x("CarePlan", "caseOpened", X_EVENT, 1),
                _x("CarePlan", "region", X_REGION, 1),
                _x("CarePlan", "handover", X_HANDOVER),
                _el("CarePlan.identifier", min=1, short="The case id"),
                _el("CarePlan.intent", fixedCode="plan"),
                *_category_slices(
                    "CarePlan", [("kind", "careplan-kind", "trajectory"), ("phase", "phase", None)]
                ),
                _el("CarePlan.subject", type=patient),
                _el("CarePlan.period", min=1),
                _el("CarePlan.author", min=1, type=_reference("Organization")),
                _el("CarePlan.careTeam", min=1, max="1", type=_reference(profile_url(CARE_TEAM))),
                _el("CarePlan.supportingInfo", max="1", short="The current safety action plan"),
            ],
        )
    )

    title, text = "Veiligheidsactieplan", "One version of the safety action plan, made in a case conference."
    out.append(
        _structure(
            SAFETY_ACTION_PLAN,
            "CarePlan",
            "resource",
            title,
            text,
            [
                _root("CarePlan", title, text),
                _x("CarePlan", "eventSequence", X_SEQUENCE, 1),
                _x("CarePlan", "riskFactor", X_RISK_FACTOR, 0, "*"),
                _el("CarePlan.identifier", min=1),
                _el("CarePlan.replaces", max="1", type=_reference(profile_url(SAFETY_ACTION_PLAN))),
                _el("CarePlan.partOf", min=1, max="1", type=_reference(profile_url(TRAJECTORY))),
                _el("CarePlan.intent", fixedCode="plan"),
                *_category_slices("CarePlan", [("kind", "careplan-kind", "safety-action-plan")]),
                _el("CarePlan.subject", type=patient),
                _el("CarePlan.encounter", min=1, type=_reference(profile_url(CASE_CONFERENCE))),
                _el("CarePlan.created", min=1),
                _el("CarePlan.author", min=1, type=_reference("Organization")),
                _el("CarePlan.goal", type=_reference(profile_url(GOAL))),
                _el("CarePlan.activity.detail", min=1, short="A safety agreement"),
                _x("CarePlan.activity.detail", "agreement", X_AGREEMENT, 1),
                _el("CarePlan.activity.detail.performer", min=1, max="1", short="Who is responsible"),
                _el("CarePlan.activity.detail.description", min=1, short="What is agreed"),
            ],
        )
    )

    title = "Veiligheidsscore"
    text = (
        "A party's safety score 0-10 with its rationale (onderbouwing): a score without a rationale "
        "does not count. The interpretation is the band of the score."
    )
    out.append(
        _observation(
            SAFETY_SCORE,
            "safety-score",
            title,
            text,
            constraints=[
                _constraint("ktz-1", "The interpretation is the band of the score", _band_expression())
            ],
            encounter=True,
            middle=[
                _el("Observation.performer", min=1, max="1", type=party, short="The party that scores"),
                _el(
                    "Observation.value[x]",
                    min=1,
                    type=[{"code": "integer"}],
                    minValueInteger=0,
                    maxValueInteger=10,
                    short="The score 0-10",
                ),
                _el("Observation.interpretation", min=1, max="1", binding=_required("safety-band")),
                _el("Observation.note", min=1, short="The rationale (onderbouwing)"),
            ],
        )
    )

    title, text = (
        "Onveilig incident",
        "An unsafe incident: its severity, whether it was acute, who reported it.",
    )
    out.append(
        _observation(
            INCIDENT,
            "incident",
            title,
            text,
            middle=[
                _el("Observation.performer", max="1", type=party, short="Who reported the incident"),
                _el("Observation.value[x]", min=1, **_concept_value("incident-severity")[0]),
            ],
            components=[("acute", "incident-acute", [{"type": [{"code": "boolean"}]}])],
        )
    )

    title, text = "Fasewissel", "The trajectory moved to another phase (advance or relapse), and why."
    out.append(
        _observation(
            PHASE_CHANGE,
            "phase-change",
            title,
            text,
            extensions=[
                _x("Observation", "decisionRule", X_RULES, 0, "*"),
                _x("Observation", "decisionEvidence", X_EVIDENCE, 0, "*"),
            ],
            middle=[_el("Observation.value[x]", min=1, short="The new phase", **_concept_value("phase")[0])],
            components=[
                ("phaseFrom", "phase-from", _concept_value("phase")),
                ("transitionKind", "transition-kind", _concept_value("transition-kind")),
            ],
        )
    )

    title, text = "Doel", "A work goal (Top 3, ranked) or a recovery goal of a safety action plan."
    rank = _constraint(
        "ktz-2",
        "Only a work goal has a rank",
        f"extension('{X_RANK}').exists() implies "
        f"category.coding.where(system = '{code_system('goal-kind')}' and code = 'work-goal').exists()",
    )
    out.append(
        _structure(
            GOAL,
            "Goal",
            "resource",
            title,
            text,
            [
                _root("Goal", title, text, rank),
                _x("Goal", "goalStatus", X_GOAL_STATUS, 1),
                _x("Goal", "rank", X_RANK),
                _x("Goal", "addressesRiskFactor", X_ADDRESSES_RISK),
                _el("Goal.identifier", min=1),
                _el("Goal.category", min=1, max="1", binding=_required("goal-kind")),
                _el("Goal.description.text", min=1),
                _el("Goal.subject", type=patient),
                _el("Goal.start[x]", min=1, type=[{"code": "date"}]),
            ],
        )
    )

    title, text = "MDO", "A case conference (multidisciplinair overleg) of client, network and partners."
    out.append(
        _structure(
            CASE_CONFERENCE,
            "Encounter",
            "resource",
            title,
            text,
            [
                _root("Encounter", title, text),
                _x("Encounter", "eventSequence", X_SEQUENCE, 1),
                _x("Encounter", "clientPresent", X_CLIENT_PRESENT, 1),
                _x("Encounter", "participant", X_PARTICIPANT, 0, "*"),
                _x("Encounter", "notes", X_NOTES),
                _el("Encounter.identifier", min=1),
                _el(
                    "Encounter.type",
                    min=1,
                    max="1",
                    patternCodeableConcept=_coding("encounter-type", "case-conference"),
                ),
                _el("Encounter.subject", min=1, type=patient),
                _el("Encounter.period", min=1),
                _el("Encounter.serviceProvider", min=1),
            ],
        )
    )

    title, text = (
        "Zorgsetting",
        "A stay in a care setting: ambulant or in a shelter, from one event to the next.",
    )
    secret = _constraint(
        "ktz-3",
        "A secret location is never exported: only that it is secret",
        f"extension('{X_SECRET_LOCATION}').exists() implies location.empty()",
    )
    out.append(
        _structure(
            CARE_SETTING,
            "Encounter",
            "resource",
            title,
            text,
            [
                _root("Encounter", title, text, secret),
                _x("Encounter", "careSetting", X_CARE_SETTING, 1),
                _x("Encounter", "secretLocation", X_SECRET_LOCATION),
                _el("Encounter.identifier", min=1),
                _el(
                    "Encounter.type",
                    min=1,
                    max="1",
                    binding={"strength": "required", "valueSet": value_set_url(CARE_SETTING_VALUE_SET)},
                ),
                _el("Encounter.subject", min=1, type=patient),
                _el("Encounter.period", min=1),
                _el("Encounter.location.location", type=_reference("Location")),
                _el("Encounter.serviceProvider", min=1),
            ],
        )
    )

    title, text = "Zorgteam", "Everyone involved in the case: the parties, when they joined and left."
    out.append(
        _structure(
            CARE_TEAM,
            "CareTeam",
            "resource",
            title,
            text,
            [
                _root("CareTeam", title, text),
                _el("CareTeam.identifier", min=1, short="The case id"),
                _el("CareTeam.subject", min=1, type=patient),
                _x("CareTeam.participant", "party", X_PARTY, 1),
                _x("CareTeam.participant", "joined", X_JOINED),
                _x("CareTeam.participant", "left", X_LEFT),
                _el(
                    "CareTeam.participant.role",
                    slicing={"discriminator": [{"type": "pattern", "path": "$this"}], "rules": "open"},
                    min=1,
                ),
                _el(
                    "CareTeam.participant.role:partyRole",
                    min=1,
                    max="1",
                    patternCodeableConcept={"coding": [{"system": code_system("party-role")}]},
                    binding=_required("party-role"),
                ),
                _el(
                    "CareTeam.participant.role:partnerType",
                    max="1",
                    patternCodeableConcept={"coding": [{"system": code_system("partner-type")}]},
                    binding=_required("partner-type"),
                ),
                _el("CareTeam.participant.member", min=1, type=party),
                _el("CareTeam.participant.period", min=1),
                _el("CareTeam.managingOrganization", min=1, max="1"),
            ],
        )
    )

    title = "Toepassing instrument"
    text = "The result of an assessment instrument, with its provenance and the answers as basis."
    out.append(
        _structure(
            INSTRUMENT_APPLICATION,
            "RiskAssessment",
            "resource",
            title,
            text,
            [
                _root("RiskAssessment", title, text),
                _x("RiskAssessment", "eventSequence", X_SEQUENCE, 1),
                _x("RiskAssessment", "provenance", X_PROVENANCE, 1),
                _x("RiskAssessment", "urgency", X_URGENCY),
                _x("RiskAssessment", "advisedSetting", X_ADVISED_SETTING),
                _x("RiskAssessment", "riskFactor", X_RISK_FACTOR, 0, "*"),
                _x("RiskAssessment", "advice", X_ADVICE, 0, "*"),
                _x("RiskAssessment", "explanation", X_EXPLANATION, 0, "*"),
                _el("RiskAssessment.identifier", min=1),
                _el("RiskAssessment.basedOn", type=_reference(profile_url(TRAJECTORY))),
                _el(
                    "RiskAssessment.method",
                    min=1,
                    binding={"strength": "extensible", "valueSet": value_set_url(INSTRUMENT_SYSTEM)},
                ),
                _el("RiskAssessment.subject", type=patient),
                _el("RiskAssessment.occurrence[x]", min=1, type=[{"code": "dateTime"}]),
                _el(
                    "RiskAssessment.basis",
                    min=1,
                    max="1",
                    type=_reference(profile_url(INSTRUMENT_ANSWERS)),
                ),
                _x("RiskAssessment.prediction", "classification", X_CLASSIFICATION),
            ],
        )
    )

    title, text = "Antwoorden instrument", "The answers given to an instrument (its Questionnaire)."
    answered = _constraint(
        "ktz-4",
        "An item has an answer, or says that none of its codes was chosen",
        f"answer.exists() or extension('{X_NO_CODES}').exists()",
    )
    out.append(
        _structure(
            INSTRUMENT_ANSWERS,
            "QuestionnaireResponse",
            "resource",
            title,
            text,
            [
                _root("QuestionnaireResponse", title, text),
                _el("QuestionnaireResponse.identifier", min=1),
                _el("QuestionnaireResponse.questionnaire", min=1, short="<instrument url>|<version>"),
                _el("QuestionnaireResponse.subject", min=1, type=patient),
                _el("QuestionnaireResponse.authored", min=1),
                _el("QuestionnaireResponse.item", constraint=[answered]),
                _x("QuestionnaireResponse.item", "noCodesChosen", X_NO_CODES),
            ],
        )
    )

    out.append(_bundle_profile())
    return out


_BUNDLE_SLICES: Final = (
    ("trajectory", "CarePlan", TRAJECTORY, 1, "1"),
    ("careTeam", "CareTeam", CARE_TEAM, 1, "1"),
    ("careSetting", "Encounter", CARE_SETTING, 1, "*"),
    ("conference", "Encounter", CASE_CONFERENCE, 0, "*"),
    ("safetyActionPlan", "CarePlan", SAFETY_ACTION_PLAN, 0, "*"),
    ("goal", "Goal", GOAL, 0, "*"),
    ("safetyScore", "Observation", SAFETY_SCORE, 0, "*"),
    ("incident", "Observation", INCIDENT, 0, "*"),
    ("phaseChange", "Observation", PHASE_CHANGE, 0, "*"),
    ("instrumentApplication", "RiskAssessment", INSTRUMENT_APPLICATION, 0, "*"),
    ("instrumentAnswers", "QuestionnaireResponse", INSTRUMENT_ANSWERS, 0, "*"),
)


def _bundle_profile() -> dict[str, Any]:
    title = "Ketenzorg-bundel"
    text = (
        "A whole case as a collection or transaction: the trajectory, its care team and every "
        "resource that carries an event of the history."
    )
    kind = _constraint(
        "ktz-5", "A collection or a transaction", "type = 'collection' or type = 'transaction'"
    )
    elements = [
        _root("Bundle", title, text, kind),
        _el("Bundle.identifier", min=1, short="The case id"),
        _el("Bundle.timestamp", min=1),
        _el(
            "Bundle.entry",
            min=2,
            slicing={"discriminator": [{"type": "profile", "path": "resource"}], "rules": "open"},
        ),
        _el("Bundle.entry.fullUrl", min=1),
        _el("Bundle.entry.resource", min=1),
    ]
    for name, type_, profile, low, high in _BUNDLE_SLICES:
        elements += [
            _el(f"Bundle.entry:{name}", min=low, max=high),
            _el(f"Bundle.entry:{name}.resource", type=[{"code": type_, "profile": [profile_url(profile)]}]),
        ]
    return _structure(BUNDLE, "Bundle", "resource", title, text, elements)


# --- questionnaires --------------------------------------------------------------------------------

_ITEM_TYPES: Final = {
    AnswerType.BOOLEAN: "boolean",
    AnswerType.INTEGER: "integer",
    AnswerType.CHOICE: "choice",
    AnswerType.MULTI_CHOICE: "choice",
    AnswerType.TEXT: "string",
}


def _question(item: Item) -> dict[str, Any]:
    multiple = item.answer_type is AnswerType.MULTI_CHOICE
    out: dict[str, Any] = {"linkId": item.id}
    bounds = [
        {"url": url, "valueInteger": value}
        for url, value in ((MIN_VALUE, item.minimum), (MAX_VALUE, item.maximum))
        if value is not None and item.answer_type is AnswerType.INTEGER
    ]
    if bounds:
        out["extension"] = bounds
    out |= _translated("text", item.text)
    out |= {
        "type": _ITEM_TYPES[item.answer_type],
        # Several codes may be chosen and "none" is an answer too (exported as an item without an
        # answer, extension no-codes-chosen): FHIR's required means "at least one answer".
        "required": item.required and not multiple,
    }
    if multiple:
        out["repeats"] = True
    if item.allowed:
        out["answerOption"] = [{"valueCoding": {"code": code}} for code in item.allowed]
    return out


def _questionnaire(spec: InstrumentSpec) -> dict[str, Any]:
    resource = _metadata(
        "Questionnaire", _fhir_id(spec.id), questionnaire_url(spec.id), _pascal(spec.id), spec.name["nl"]
    )
    resource["language"] = "nl"
    resource["version"] = spec.version
    resource |= _translated("title", spec.name)
    return resource | {
        "subjectType": ["Patient"],
        **_translated("description", spec.description),
        "item": [_question(item) for item in spec.items],
    }


# --- the package -----------------------------------------------------------------------------------


def resources() -> list[dict[str, Any]]:
    """Every resource of the package, in a stable order."""
    out = _terminology()
    out += [_extension_definition(ext) for ext in EXTENSIONS]
    out += _profiles()
    out += [_questionnaire(registered.spec) for registered in _instruments()]
    keys = [(r["resourceType"], r["id"]) for r in out]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"resources defined twice: {duplicates}")
    return out


def _filename(resource: Mapping[str, Any]) -> str:
    return f"{resource['resourceType']}-{resource['id']}.json"


def _index_entry(resource: Mapping[str, Any]) -> dict[str, Any]:
    entry = {key: resource[key] for key in ("resourceType", "id", "url", "version") if key in resource}
    entry = {"filename": _filename(resource), **entry}
    if resource["resourceType"] == "StructureDefinition":
        entry |= {"kind": resource["kind"], "type": resource["type"], "derivation": resource["derivation"]}
    if resource["resourceType"] == "CodeSystem":
        entry["content"] = resource["content"]
    return entry


def _package_json() -> dict[str, Any]:
    return {
        "name": PACKAGE_NAME,
        "version": package_version(),
        "type": "Conformance",
        "canonical": CANONICAL,
        "title": "ketenzorg: gefaseerde ketenzorg (phased chain care) in FHIR R4",
        "description": (
            "The conformance resources of the ketenzorg FHIR R4 mapping: code systems, value sets, "
            "extensions, profiles and the questionnaires of the shipped instruments. Generated from "
            "the code by python -m ketenzorg.interop.conformance."
        ),
        "fhirVersions": [FHIR_VERSION],
        "dependencies": {"hl7.fhir.r4.core": FHIR_VERSION},
        "author": "ketenzorg developers",
        "license": "EUPL-1.2",
    }


def _dump(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"


def files() -> dict[str, bytes]:
    """Every file of the package by its path relative to the package directory (``schemas/fhir``)."""
    generated = resources()
    out = {"package/package.json": _dump(_package_json())}
    index = {"index-version": 1, "files": sorted((_index_entry(r) for r in generated), key=_by_filename)}
    out["package/.index.json"] = _dump(index)
    for resource in generated:
        out[f"package/{_filename(resource)}"] = _dump(resource)
    return dict(sorted(out.items()))


def _by_filename(entry: Mapping[str, Any]) -> str:
    return str(entry["filename"])


def _existing(directory: Path) -> set[str]:
    package = directory / "package"
    if not package.is_dir():
        return set()
    return {path.relative_to(directory).as_posix() for path in package.rglob("*") if path.is_file()}


def check(directory: Path | str) -> list[str]:
    """The files (relative to ``directory``) that are missing, differ from the generator, or are extra."""
    root = Path(directory)
    expected = files()
    stale = [name for name, data in expected.items() if _read(root / name) != data]
    stale += [name for name in _existing(root) if name not in expected]
    return sorted(stale)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def write(directory: Path | str) -> list[str]:
    """Write the package into ``directory`` (``package/...``), remove files it no longer has; return
    the files written or removed (relative paths)."""
    root = Path(directory)
    expected = files()
    changed = []
    for name in sorted(_existing(root) - set(expected)):
        (root / name).unlink()
        changed.append(name)
    for name, data in expected.items():
        path = root / name
        if _read(path) != data:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            changed.append(name)
    return sorted(changed)


def default_directory() -> Path:
    """``schemas/fhir`` of the source checkout (or of the current directory when installed)."""
    repo = Path(__file__).resolve().parents[3]
    base = repo if (repo / "pyproject.toml").is_file() else Path.cwd()
    return base / "schemas" / "fhir"


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ketenzorg.interop.conformance",
        description="Generate the FHIR R4 conformance package of ketenzorg (schemas/fhir/).",
    )
    parser.add_argument("directory", nargs="?", type=Path, help="default: schemas/fhir of the checkout")
    parser.add_argument("--check", action="store_true", help="only list out-of-date files (exit 1 if any)")
    args = parser.parse_args(None if argv is None else list(argv))
    directory: Path = args.directory or default_directory()
    if args.check:
        stale = check(directory)
        for name in stale:
            print(f"out of date: {directory / name}")
        return 1 if stale else 0
    changed = write(directory)
    print(f"{len(files())} files in {directory}; {len(changed)} written or removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
