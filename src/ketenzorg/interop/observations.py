"""Safety scores, incidents and phase changes as ``Observation``: written, and read back.

:func:`read_score` and :func:`read_incident` are the one reader of each kind: the case reader
(:mod:`.read`) and merge (:mod:`.merge`) both use them and add their own rules on top (the case
reader: the party is of this case's care team; merge: what the sender may speak for).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from ketenzorg.domain import IncidentSeverity, Phase
from ketenzorg.errors import Problem, ValidationError
from ketenzorg.events import Event, IncidentReported, PhaseChanged, ScoreGiven, TransitionKind
from ketenzorg.interop.definitions import (
    EVENT_ID,
    OBSERVATION_CATEGORY,
    PARTY_ID,
    X_DECISION_PLUGIN,
    X_DECISION_POLICY,
    X_EVIDENCE,
    X_RULES,
    X_SEQUENCE,
)
from ketenzorg.interop.reading import (
    FhirMappingError,
    Resolver,
    code,
    exts,
    ident,
    is_object,
    items,
    notes,
    read_moment,
    reference_values,
    sub,
)
from ketenzorg.interop.terminology import safety_band
from ketenzorg.interop.writing import Writer, concept, optional, ref, xs
from ketenzorg.ruleset import PluginRules, RuleSet

__all__ = [
    "IncidentReading",
    "ScoreReading",
    "observation_kind",
    "read_incident",
    "read_phase_change",
    "read_rule_set",
    "read_score",
    "rule_set_extensions",
]


# --- writing -------------------------------------------------------------------------------------


def _observation(w: Writer, seq: int, event: Event, kind: str) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": w.event_rid(event.id),
        "extension": [{"url": X_SEQUENCE, "valueInteger": seq}],
        "identifier": [{"system": EVENT_ID, "value": event.id}],
        "basedOn": [ref(w.careplan)],
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}],
        "code": concept("observation-kind", kind),
        "subject": ref(w.patient),
        "effectiveDateTime": event.at.isoformat(),
    }
    labels = getattr(event, "security", ())
    if labels:
        # a partner's labels: the redaction keeps them beside its own (never a lower confidentiality)
        resource["meta"] = {"security": [{"system": label.system, "code": label.code} for label in labels]}
    return resource


def write_score(w: Writer, seq: int, event: ScoreGiven) -> None:
    resource = _observation(w, seq, event, "safety-score")
    resource["performer"] = [w.party_ref_with_id(event.party_id)]
    resource["valueInteger"] = event.score
    resource["interpretation"] = [concept("safety-band", safety_band(event.score))]
    if event.rationale:
        resource["note"] = [{"text": event.rationale}]
    if event.conference_id is not None:
        resource["encounter"] = ref(w.event_rid(event.conference_id))
    w.add(resource)


def write_incident(w: Writer, seq: int, event: IncidentReported) -> None:
    resource = _observation(w, seq, event, "incident")
    if event.reported_by is not None:
        resource["performer"] = [w.party_ref_with_id(event.reported_by)]
    resource["valueCodeableConcept"] = concept("incident-severity", event.severity.value)
    if event.description:
        resource["note"] = [{"text": event.description}]
    resource["component"] = [
        {"code": concept("observation-kind", "incident-acute"), "valueBoolean": event.acute}
    ]
    w.add(resource)


def write_phase_change(w: Writer, seq: int, event: PhaseChanged) -> None:
    resource = _observation(w, seq, event, "phase-change")
    resource["valueCodeableConcept"] = concept("phase", str(int(event.to_phase)))
    resource["component"] = [
        {
            "code": concept("observation-kind", "phase-from"),
            "valueCodeableConcept": concept("phase", str(int(event.from_phase))),
        },
        {
            "code": concept("observation-kind", "transition-kind"),
            "valueCodeableConcept": concept("transition-kind", event.kind.value),
        },
    ]
    if event.reason:
        resource["note"] = [{"text": event.reason}]
    resource["extension"] += [xs(X_RULES, r) for r in event.rules]
    resource["extension"] += [xs(X_EVIDENCE, e) for e in event.evidence]
    resource["extension"] += rule_set_extensions(event.rule_set)
    w.add(resource)


def rule_set_extensions(rule_set: RuleSet | None) -> list[dict[str, Any]]:
    """The rules a transition was decided under: one ``decision-plugin`` per plugin and the
    ``decision-policy``; none when it records no rules."""
    if rule_set is None:
        return []
    out: list[dict[str, Any]] = []
    for plugin in rule_set.plugins:
        parts = [xs("name", plugin.name), *optional("distribution", plugin.distribution)]
        parts += optional("version", plugin.version) + [xs("rule", r) for r in plugin.rules]
        out.append({"url": X_DECISION_PLUGIN, "extension": parts})
    policy = [xs("fingerprint", rule_set.policy), *optional("settings", rule_set.policy_settings)]
    out.append({"url": X_DECISION_POLICY, "extension": policy})
    return out


# --- reading -------------------------------------------------------------------------------------


def observation_kind(resource: Mapping[str, Any]) -> str | None:
    """What an Observation of the profile records (``safety-score``, ``incident``, ...)."""
    return code(resource.get("code"), "observation-kind")


@attrs.frozen
class ScoreReading:
    """A safety score as an Observation states it; whose case it is, is the caller's to judge."""

    event_id: str | None
    """The profile's own event id (``NamingSystem/event-id``), if the resource carries one."""
    at: datetime
    score: int
    """0..10."""
    rationale: str
    party_id: str
    """The party that gave it (the ``party-id`` of ``performer[0]``)."""
    encounter: bool
    """Whether the score names an encounter at all."""
    conference_id: str | None
    """The event id of the conference the encounter is (``None``: it names none)."""


@attrs.frozen
class IncidentReading:
    """An unsafe incident as an Observation states it."""

    event_id: str | None
    at: datetime
    severity: IncidentSeverity
    acute: bool
    description: str
    reported_by: str | None
    """The party that reported it (``None``: the Observation names no performer)."""


def _performer(resource: Mapping[str, Any], where: str, resolve: Resolver | None) -> str | None:
    performers = resource.get("performer")
    if performers is None or performers == []:
        return None
    if type(performers) is not list:
        raise FhirMappingError([Problem(f"{where}.performer", "performer is a list of references")])
    found = reference_values(performers[0], PARTY_ID, resolve)
    if not found:
        raise FhirMappingError([Problem(f"{where}.performer[0]", "names no party (no party-id identifier)")])
    return found[0]


def read_score(resource: Mapping[str, Any], where: str, resolve: Resolver | None = None) -> ScoreReading:
    """Read a safety-score Observation; :class:`FhirMappingError` (located) when it cannot be.

    ``where`` is the resource's FHIRPath location; ``resolve`` finds the resource a reference points
    to in the bundle (for a performer or encounter that carries no identifier of its own).
    """
    problems: list[Problem] = []
    at: datetime | None = None
    try:
        at = read_moment(resource, "effectiveDateTime", where)
    except FhirMappingError as error:
        problems += error.problems
    score = resource.get("valueInteger")
    if type(score) is not int or not 0 <= score <= 10:
        problems.append(Problem(f"{where}.valueInteger", "a safety score is a whole number 0..10"))
    party_id: str | None = None
    try:
        party_id = _performer(resource, where, resolve)
        if party_id is None:
            problems.append(Problem(f"{where}.performer", "a safety score names the party that gave it"))
    except FhirMappingError as error:
        problems += error.problems
    encounter = resource.get("encounter")
    conferences = reference_values(encounter, EVENT_ID, resolve) if encounter is not None else []
    if len(conferences) > 1:
        problems.append(Problem(f"{where}.encounter", "names more than one conference"))
    rationale = ""
    try:
        rationale = notes(resource, where)
    except FhirMappingError as error:
        problems += error.problems
    if problems:
        raise FhirMappingError(problems)
    assert at is not None
    assert party_id is not None
    assert type(score) is int
    return ScoreReading(
        event_id=ident(resource, EVENT_ID),
        at=at,
        score=score,
        rationale=rationale,
        party_id=party_id,
        encounter=encounter is not None,
        conference_id=conferences[0] if conferences else None,
    )


def read_incident(
    resource: Mapping[str, Any], where: str, resolve: Resolver | None = None
) -> IncidentReading:
    """Read an incident Observation; :class:`FhirMappingError` (located) when it cannot be."""
    problems: list[Problem] = []
    at: datetime | None = None
    try:
        at = read_moment(resource, "effectiveDateTime", where)
    except FhirMappingError as error:
        problems += error.problems
    severity: IncidentSeverity | None = None
    try:
        severity = IncidentSeverity(code(resource.get("valueCodeableConcept"), "incident-severity"))
    except ValueError:
        problems.append(
            Problem(f"{where}.valueCodeableConcept", "an incident needs its severity (incident-severity)")
        )
    acute = [
        c.get("valueBoolean")
        for c in items(resource.get("component"))
        if is_object(c) and code(c.get("code"), "observation-kind") == "incident-acute"
    ]
    if len(acute) != 1 or type(acute[0]) is not bool:
        problems.append(Problem(f"{where}.component", "an incident needs whether it was acute (a boolean)"))
    reported_by: str | None = None
    description = ""
    try:
        reported_by = _performer(resource, where, resolve)
        description = notes(resource, where)
    except FhirMappingError as error:
        problems += error.problems
    if problems:
        raise FhirMappingError(problems)
    assert at is not None
    assert severity is not None
    return IncidentReading(
        event_id=ident(resource, EVENT_ID),
        at=at,
        severity=severity,
        acute=bool(acute[0]),
        description=description,
        reported_by=reported_by,
    )


def read_phase_change(resource: Mapping[str, Any], where: str) -> PhaseChanged:
    """Read a phase-change Observation into the event (its id: the event-id identifier, else ``""``)."""
    components = {
        code(c["code"], "observation-kind"): c["valueCodeableConcept"] for c in resource["component"]
    }
    return PhaseChanged(
        id=ident(resource, EVENT_ID) or "",
        at=read_moment(resource, "effectiveDateTime", where),
        from_phase=Phase(int(code(components["phase-from"], "phase") or 0)),
        to_phase=Phase(int(code(resource["valueCodeableConcept"], "phase") or 0)),
        kind=TransitionKind(code(components["transition-kind"], "transition-kind")),
        reason=notes(resource, where),
        rules=tuple(x["valueString"] for x in exts(resource, X_RULES)),
        evidence=tuple(x["valueString"] for x in exts(resource, X_EVIDENCE)),
        rule_set=read_rule_set(resource, where),
    )


def read_rule_set(element: Mapping[str, Any], where: str) -> RuleSet | None:
    """The rules recorded on a phase-change Observation (or a trajectory, for its closing);
    ``None`` when it records none (no ``decision-policy``)."""
    policy = exts(element, X_DECISION_POLICY)
    if not policy:
        return None
    plugins = []
    try:
        for x in exts(element, X_DECISION_PLUGIN):
            rules = tuple(p["valueString"] for p in items(x.get("extension")) if p.get("url") == "rule")
            plugins.append(
                PluginRules(
                    name=sub(x, "name"),
                    distribution=sub(x, "distribution"),
                    version=sub(x, "version"),
                    rules=rules,
                )
            )
        return RuleSet(
            plugins=tuple(plugins),
            policy=sub(policy[0], "fingerprint"),
            policy_settings=sub(policy[0], "settings"),
        )
    except ValidationError as error:
        problems = [
            Problem(f"{where}.extension", f"decision rules: {p.path} {p.message}") for p in error.problems
        ]
        raise FhirMappingError(problems) from None
