"""Apply a disclosure profile to an exported bundle: withhold, mask, screen and label.

The profile is applied to the bundle the exporter wrote, not to the case before export: the case is
an event history whose fold and rules need every event (a case without its scores is another
case), and what a profile names (a resource, an element, a free text) and how its absence is said
(``data-absent-reason`` ``masked``) are FHIR's. One walk over the written resources sees every text
that would leave, including those the concept modules add later, so nothing escapes by being new.

- A withheld resource leaves no dangling reference: the reference's nearest enclosing list item
  goes with it (a performer, a care team participant with its party extension, a conference
  participant); a single reference is masked.
- A withheld element is masked (``_element`` with ``data-absent-reason`` ``masked``), never dropped.
- A derived resource carries the highest confidentiality of its inputs; a Top 3 goal goes with the
  plan it was derived from; a phase change's evidence is masked when one of its inputs is withheld.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from hashlib import sha256
from typing import Any, Final

import attrs
import orjson

from ketenzorg.disclosure.profiles import (
    FREE_TEXT_KINDS,
    PERSON_WHO_USED_VIOLENCE,
    DisclosureProfile,
    Recipient,
)
from ketenzorg.interop.definitions import (
    DATA_ABSENT_REASON,
    PARTY_ID,
    PERSON_ID,
    REFRAIN_NO_REDISCLOSURE,
    SENSITIVITY_DOMESTIC_VIOLENCE,
    SENSITIVITY_MENTAL_HEALTH,
    V3_ACT_CODE,
    V3_ACT_REASON,
    V3_CONFIDENTIALITY,
    X_ADDRESSES_RISK,
    X_ADVICE,
    X_AGREEMENT,
    X_EVIDENCE,
    X_EXPLANATION,
    X_PARTY,
    X_RULES,
)

__all__ = ["Redaction", "SentResource", "classify", "redact_bundle"]

Screen = Callable[[str], bool]
_Text = tuple[dict[str, Any], str, str, bool]
_CONTAINERS: Final = (dict, list)

MASKED: Final = {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": "masked"}]}

_VERY_RESTRICTED: Final = frozenset(
    {
        "instrument-answers",
        "instrument-result",
        "safety-score",
        "incident",
        "stay",
        "location",
        "case-conference",
    }
)
"""Categories whose content is very restricted (confidentiality ``V``); the rest is ``R``."""

DERIVED_FROM: Final[Mapping[str, frozenset[str]]] = {
    "phase": frozenset({"safety-score", "incident", "instrument-result"}),
    "trajectory": frozenset({"phase", "safety-score", "incident", "instrument-result"}),
    "goal": frozenset({"safety-plan", "instrument-result"}),
    "instrument-result": frozenset({"instrument-answers"}),
}
"""The inputs of each derived category: it carries their highest confidentiality."""

_PERSON_ROLES: Final = {
    "child": "child",
    "person_who_used_violence": PERSON_WHO_USED_VIOLENCE,
    "family_member": "family-member",
    "network": "network-member",
}
_PERSONS: Final = frozenset({*_PERSON_ROLES.values(), "party"})

# Keys whose strings are structure, never text a person wrote: not screened.
_STRUCTURAL: Final = frozenset(
    {
        "resourceType",
        "id",
        "fullUrl",
        "reference",
        "system",
        "url",
        "code",
        "valueCode",
        "status",
        "intent",
        "lifecycleStatus",
        "method",
        "questionnaire",
        "linkId",
        "type",
    }
)
_FREE_TEXT_KEYS: Final = frozenset({"description", "rationale", "mitigation"})
_FREE_TEXT_IN: Final = frozenset({"note", "reasonCode", "description"})
"""``text`` is free text inside these (an Annotation, a reason, a goal's description), not in a name."""
_STRUCTURAL_PARTS: Final = frozenset(
    {
        X_RULES,
        X_ADDRESSES_RISK,
        X_ADVICE,
        X_EXPLANATION,
        *("id", "code", "display", "kind", "conferenceKind", "source", "responsible", "person", "name"),
        *("instrument", "plugin", "distribution", "distributionVersion", "version", "rule"),
        *("fingerprint", "settings", "region", "leadMunicipality", "municipality"),
    }
)
"""Extensions (and parts) whose ``valueString`` is not free text: ids, codes, names, provenance, the
region, an instrument's own texts. Any other ``valueString`` (notes, summaries, reasons, evidence,
a plan's texts, and any part added later) is free text: unknown means masked unless given."""


@attrs.frozen
class SentResource:
    """A resource that left: its type, id and version (SHA-256 of its canonical JSON as sent)."""

    type: str
    id: str
    version: str


@attrs.frozen
class Redaction:
    """A bundle as a recipient receives it, and what was held back (counts, never the content)."""

    bundle: dict[str, Any]
    profile: DisclosureProfile
    sent: tuple[SentResource, ...]
    withheld_resources: int
    masked_elements: int
    screened_texts: int


def _code(concepts: object, system_part: str) -> str | None:
    if isinstance(concepts, dict):
        concepts = [concepts]
    if not isinstance(concepts, list):
        return None
    for concept in concepts:
        for coding in concept.get("coding", []) if isinstance(concept, dict) else []:
            if isinstance(coding, dict) and str(coding.get("system", "")).endswith(system_part):
                code = coding.get("code")
                return code if isinstance(code, str) else None
    return None


def classify(resource: Mapping[str, Any]) -> str:
    """The disclosure category of a resource of an export (:data:`~.profiles.CATEGORIES`)."""
    kind = resource.get("resourceType")
    if kind == "Organization":
        return "organisation"
    if kind == "Patient":
        return "client"
    if kind == "Practitioner":
        return "practitioner"
    if kind == "RelatedPerson":
        role = _code(resource.get("relationship"), "/person-role")
        return _PERSON_ROLES.get(role, "family-member") if role is not None else "party"
    if kind == "CareTeam":
        return "care-team"
    if kind == "CarePlan":
        return (
            "trajectory"
            if _code(resource.get("category"), "/careplan-kind") == "trajectory"
            else "safety-plan"
        )
    if kind == "Goal":
        return "goal"
    if kind == "QuestionnaireResponse":
        return "instrument-answers"
    if kind == "RiskAssessment":
        return "instrument-result"
    if kind == "Observation":
        code = _code(resource.get("code"), "/observation-kind")
        return {"safety-score": "safety-score", "incident": "incident"}.get(code or "", "phase")
    if kind == "Encounter":
        encounter = _code(resource.get("type"), "/encounter-type")
        return "case-conference" if encounter == "case-conference" else "stay"
    if kind == "Location":
        return "location"
    # unknown to the profiles: only the organisation itself receives it
    return "unknown"


def _identifier(resource: Mapping[str, Any], system: str) -> str | None:
    found = resource.get("identifier")
    for ident in found if isinstance(found, list) else [found]:
        if isinstance(ident, dict) and ident.get("system") == system:
            value = ident.get("value")
            return value if isinstance(value, str) else None
    return None


def _sub(extension: Mapping[str, Any], url: str) -> Any:
    for part in extension.get("extension", []):
        if part.get("url") == url:
            return next((v for k, v in part.items() if k.startswith("value")), None)
    return None


def _extensions(resource: Mapping[str, Any], url: str) -> Iterator[Mapping[str, Any]]:
    return (e for e in resource.get("extension", []) if isinstance(e, dict) and e.get("url") == url)


class _Walk:
    """One recipient's redaction of one bundle, in progress."""

    def __init__(self, profile: DisclosureProfile, recipient: Recipient, screen: Screen) -> None:
        self.profile = profile
        self.recipient = recipient
        self.screen = screen
        self.masked = 0
        self.screened = 0

    # --- masking ---------------------------------------------------------------------------------

    def mask(self, node: dict[str, Any], key: str) -> None:
        node.pop(key, None)
        node["_" + key] = _masked()  # replaces a translation of the text with it
        self.masked += 1

    def texts(self, resource: dict[str, Any], category: str) -> None:
        """Mask the free texts the profile does not give, and every text the screen stops.

        Raises :class:`_Withhold`, before anything is masked, when a screened identifier or list of
        texts names the resource.
        """
        screen, given = self.screen, self.profile.free_text
        # without a screen, a plan's texts (below ``activity``) matter only when they are not given
        found = _texts(resource, category, skip_agreements=screen is _nothing and "agreement" in given)
        to_mask: list[tuple[dict[str, Any], str, bool]] = []
        for node, key, kind, free in found:
            value = node[key]
            if isinstance(value, list):
                if any(isinstance(v, str) and screen(v) for v in value):
                    raise _Withhold
                continue
            # a score's rationale follows the profile's rule on rationales (see elements)
            if free and kind not in given and kind != "safety-score":
                to_mask.append((node, key, False))
            elif screen(value):
                if key == "value" or node.get("system") is not None:
                    raise _Withhold  # an identifier that names it: the resource cannot go at all
                to_mask.append((node, key, True))
        for node, key, screened in to_mask:
            self.mask(node, key)
            self.screened += screened

    # --- element rules ---------------------------------------------------------------------------

    def concerns_recipient(self, responsible: object) -> bool:
        return responsible is not None and responsible in (self.recipient.party, self.recipient.person)

    def elements(self, resource: dict[str, Any], category: str) -> None:
        profile = self.profile
        if category == "safety-plan":
            kept = []
            for activity in resource.get("activity", []):
                detail = activity.get("detail", {})
                agreement = next(_extensions(detail, X_AGREEMENT), None)
                if profile.agreements == "all" or (
                    profile.agreements == "concerning"
                    and agreement is not None
                    and self.concerns_recipient(_sub(agreement, "responsible"))
                ):
                    kept.append(activity)
            if kept:
                resource["activity"] = kept
            else:
                resource.pop("activity", None)
        elif category == "safety-score" and profile.rationales != "all":
            performer = resource.get("performer", [{}])[0]
            party = performer.get("identifier", {}).get("value") if isinstance(performer, dict) else None
            own = profile.rationales == "own" and party is not None and party == self.recipient.party
            if not own:
                for note in resource.get("note", []):
                    if "text" in note:
                        self.mask(note, "text")
        elif category == "phase" and not DERIVED_FROM["phase"] <= profile.resources:
            # the evidence of a decision names the scores and incidents it rested on
            for evidence in _extensions(resource, X_EVIDENCE):
                self.mask(evidence, "valueString")  # type: ignore[arg-type]


class _Withhold(Exception):
    """A resource cannot be sent at all (a screened identifier)."""


def _texts(resource: dict[str, Any], category: str, *, skip_agreements: bool = False) -> list[_Text]:
    """Every text element under ``resource``: (its dict, its key, its free-text kind, whether free text).

    A list of strings is given as one text. Structure (ids, codes, references, ``meta``) holds no
    text a person wrote. ``skip_agreements``: leave out a plan's texts (those below ``activity``).
    """
    found: list[_Text] = []
    add = found.append

    def walk(node: Any, parent: str, url: str, kind: str) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, parent, url, kind)
            return
        if not isinstance(node, dict):
            return
        found_url = node.get("url")
        here_url = found_url if isinstance(found_url, str) else url
        for key, value in node.items():
            if key in _STRUCTURAL or key == "meta" or (skip_agreements and key == "activity"):
                continue
            if isinstance(value, str) or (isinstance(value, list) and value and isinstance(value[0], str)):
                free = (
                    key in _FREE_TEXT_KEYS
                    or (key == "text" and parent in _FREE_TEXT_IN)
                    or (key == "valueString" and here_url not in _STRUCTURAL_PARTS)
                )
                add((node, key, kind, free))
            elif isinstance(value, _CONTAINERS):
                if key.startswith("_"):
                    # a text's translation (its English): free text as the text it translates
                    walk(value, parent, here_url, kind)
                else:
                    walk(value, key, here_url, "agreement" if key == "activity" else kind)

    walk(resource, "", "", category)
    return found


_REFERENCE_KEY: Final = b'"reference":"'
_ACTIVITY: Final = b'"activity":'
"""The key under which a plan's texts (``agreement``) stand, in JSON as orjson writes it."""
_PLAIN_REFERENCE: Final = re.compile(rb'"reference":"([^"\\\\]*)"')
_REFERENCE: Final = re.compile(rb'"reference":"((?:[^"\\]|\\.)*)"')
"""A reference in JSON as orjson writes it: inside a string a quote is escaped, so this matches only
a key ``reference`` with a string value, wherever it stands (as a walk over the resource would)."""


def _canonical(resource: Mapping[str, Any]) -> bytes:
    """The canonical JSON of ``resource``: sorted keys (its version is the SHA-256 of it)."""
    return orjson.dumps(resource, option=orjson.OPT_SORT_KEYS)


def _references(written: bytes) -> set[bytes]:
    """Every reference in a resource (UTF-8), from its JSON as orjson wrote it."""
    found = _PLAIN_REFERENCE.findall(written)
    if len(found) == written.count(_REFERENCE_KEY):
        return set(found)
    # one holds an escape: read each as JSON
    return {orjson.loads(b'"' + value + b'"').encode() for value in _REFERENCE.findall(written)}


def _drop_references(
    resource: dict[str, Any],
    withheld: frozenset[str],
    counter: list[int],
    written: bytes,
    direct: list[int] | None = None,
) -> dict[str, Any]:
    """``resource`` (whose JSON is ``written``) without references to withheld resources: the
    enclosing list item goes with one, a single reference is masked.

    A list or dict that holds none is given back as it is (not copied); one that loses all it held
    goes too, and an extension left with neither value nor parts is given as ``{}``. ``direct``
    counts those that stood directly under ``resource``.
    """
    # where one stands is asked of JSON (orjson, in C): only the way to each is walked, and only
    # until every one is found
    patterns = tuple(_REFERENCE_KEY[:-1] + orjson.dumps(url) for url in withheld)
    found = sum(written.count(pattern) for pattern in patterns)
    dropped: dict[str, Any] = _drop(resource, found, withheld, patterns, counter, direct)
    return dropped


def _drop_direct(resource: dict[str, Any], withheld: frozenset[str], counter: list[int]) -> dict[str, Any]:
    """``resource`` with each reference to a withheld resource that stands directly under it (a
    score's encounter) masked, as :func:`_drop_references` masks one, found without writing it."""
    direct = [
        key
        for key, value in resource.items()
        if isinstance(value, dict) and _withheld(value.get("reference"), withheld)
    ]
    if not direct or _withheld(resource.get("reference"), withheld):
        return resource  # (one that is itself a reference is no resource: left to _drop_references)
    counter[0] += len(direct)
    return {key: _masked() if key in direct else value for key, value in resource.items()}


def _withheld(reference: object, withheld: frozenset[str]) -> bool:
    return isinstance(reference, str) and reference in withheld


def _occurrences(node: Any, withheld: frozenset[str], patterns: tuple[bytes, ...]) -> int:
    if isinstance(node, dict) and not any(isinstance(value, _CONTAINERS) for value in node.values()):
        # a reference with only text beside it (a display): nothing else in it can be one
        return 1 if node.get("reference") in withheld else 0
    data = orjson.dumps(node)
    return sum(data.count(pattern) for pattern in patterns)


def _drop(
    node: Any,
    found: int,
    withheld: frozenset[str],
    patterns: tuple[bytes, ...],
    counter: list[int],
    direct: list[int] | None = None,
) -> Any:
    """``node``, which holds ``found`` references to withheld resources, without them."""
    if isinstance(node, list):
        changed = False
        kept = []
        for item in node:
            if found and isinstance(item, _CONTAINERS):
                here = _occurrences(item, withheld, patterns)
                if here:
                    found -= here
                    changed = True
                    if isinstance(item, dict) and _refers(item, withheld):
                        counter[0] += 1
                        continue
                    item = _drop(item, here, withheld, patterns, counter)
            kept.append(item)
        return kept if changed else node
    if isinstance(node, dict):
        if node.get("reference") in withheld:
            counter[0] += 1
            return _masked()  # a single reference with no list around it
        changes: dict[str, Any] = {}
        # a single reference directly under it (a score's encounter) is found without writing the
        # larger values beside it
        for key, value in node.items():
            if isinstance(value, dict) and _withheld(value.get("reference"), withheld):
                found -= _occurrences(value, withheld, patterns)
                counter[0] += 1
                if direct is not None:
                    direct[0] += 1
                changes[key] = _masked()  # a single reference with no list around it
        for key, value in node.items():
            if not found:
                break
            if key not in changes and isinstance(value, _CONTAINERS):
                here = _occurrences(value, withheld, patterns)
                if here:
                    found -= here
                    changes[key] = _drop(value, here, withheld, patterns, counter)
        if not changes:
            return node
        out = {}
        for key, value in node.items():
            if key in changes:
                value = changes[key]
                if not value:
                    continue
            out[key] = value
        if "url" in out and len(out) == 1:  # an extension left with neither value nor parts
            return {}
        return out
    return node


def _masked() -> dict[str, Any]:
    """A new :data:`MASKED` element (each place gets its own)."""
    return {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": "masked"}]}


def _refers(node: dict[str, Any], withheld: frozenset[str]) -> bool:
    """Whether a list item holds a reference to a withheld resource outside a nested list."""
    if node.get("reference") in withheld:
        return True
    return any(isinstance(value, dict) and _refers(value, withheld) for value in node.values())


def _label(code: str, system: str) -> dict[str, str]:
    return {"system": system, "code": code}


def _security(confidentiality: str, mental_health: bool) -> list[dict[str, str]]:
    labels = [
        _label(confidentiality, V3_CONFIDENTIALITY),
        _label(SENSITIVITY_DOMESTIC_VIOLENCE, V3_ACT_CODE),
    ]
    if mental_health:
        labels.append(_label(SENSITIVITY_MENTAL_HEALTH, V3_ACT_CODE))
    return labels


CONFIDENTIALITY_ORDER: Final = ("U", "L", "M", "N", "R", "V")
"""HL7 v3 confidentiality codes, from the lowest to the highest."""


def _label_resource(
    resource: dict[str, Any], confidentiality: str, mental_health: bool, sender: list[Any] | None
) -> str:
    """Label ``resource``; ``sender`` the labels a partner gave it (kept, its confidentiality the
    lower bound). Returns the confidentiality given."""
    if not sender:
        resource.setdefault("meta", {})["security"] = _security(confidentiality, mental_health)
        return confidentiality
    for label in sender:
        code = label.get("code")
        if (
            label.get("system") == V3_CONFIDENTIALITY
            and code in CONFIDENTIALITY_ORDER
            and CONFIDENTIALITY_ORDER.index(code) > CONFIDENTIALITY_ORDER.index(confidentiality)
        ):
            confidentiality = code
    labels = _security(confidentiality, mental_health)
    ours = {(label["system"], label["code"]) for label in labels}
    for label in sender:
        key = (label.get("system"), label.get("code"))
        if key not in ours and key[0] != V3_CONFIDENTIALITY:
            ours.add(key)
            labels.append({"system": label["system"], "code": label["code"]})
    resource.setdefault("meta", {})["security"] = labels
    return confidentiality


def _confidentialities(categories: Mapping[str, str]) -> dict[str, str]:
    """Each category present -> ``R`` or ``V``: a derived one the highest of its inputs (transitively)."""
    present = set(categories.values())
    level = {c: "V" if c in _VERY_RESTRICTED else "R" for c in present}
    changed = True
    while changed:
        changed = False
        for category in present:
            inputs = DERIVED_FROM.get(category, frozenset()) & present
            if level[category] == "R" and any(level[i] == "V" for i in inputs):
                level[category] = "V"
                changed = True
    return level


def effective_profile(
    recipient: Recipient,
    chosen: DisclosureProfile,
    profiles: Mapping[str, DisclosureProfile],
    bundle: Mapping[str, Any],
) -> DisclosureProfile:
    """The profile that applies: the person who used violence always gets his own, whatever was chosen."""
    if chosen.id == PERSON_WHO_USED_VIOLENCE or recipient.kind == "internal":
        return chosen
    if recipient.person is None and recipient.party is None:
        return chosen  # he can only be named by his person or his party
    perpetrators: set[str] = set()
    for entry in bundle.get("entry", []):
        resource = entry["resource"]
        if classify(resource) == PERSON_WHO_USED_VIOLENCE:
            person = _identifier(resource, PERSON_ID)
            if person is not None:
                perpetrators.add(person)
    parties = set()
    for entry in bundle.get("entry", []):
        resource = entry["resource"]
        if resource.get("resourceType") == "CareTeam":
            for participant in resource.get("participant", []):
                for party in _extensions(participant, X_PARTY):
                    if _sub(party, "person") in perpetrators:
                        parties.add(_sub(party, "id"))
    if recipient.person in perpetrators or (recipient.party is not None and recipient.party in parties):
        return profiles[PERSON_WHO_USED_VIOLENCE]
    return chosen


def redact_bundle(
    bundle: Mapping[str, Any], *, recipient: Recipient, profile: DisclosureProfile, screen: Screen | None
) -> Redaction:
    """The bundle as ``recipient`` may receive it under ``profile``, labelled, with what was held back.

    ``screen`` says of a text whether it must not leave (any hit is masked and counted); ``None``
    when nothing screens. The bundle's resources are changed in place: pass one written for this
    disclosure (as :func:`ketenzorg.disclosure.disclose` does), never one that is used elsewhere.
    """
    entries = bundle["entry"]
    categories = {entry["fullUrl"]: classify(entry["resource"]) for entry in entries}
    levels = _confidentialities(categories)
    keep = set()
    for entry in entries:
        url, resource = entry["fullUrl"], entry["resource"]
        category = categories[url]
        if category not in profile.resources:
            continue
        if category in _PERSONS and profile.persons == "concerning":
            person = _identifier(resource, PERSON_ID)
            party = _identifier(resource, PARTY_ID)
            if not (
                (person is not None and person == recipient.person)
                or (party is not None and party == recipient.party)
            ):
                continue
        if category == "goal" and "safety-plan" not in profile.resources:
            continue  # a Top 3 would reveal the plan it was derived from
        keep.add(url)
    walk = _Walk(profile, recipient, screen or _nothing)
    every_text = profile.free_text >= set(FREE_TEXT_KINDS) and profile.rationales == "all"
    mental_health = {
        entry["fullUrl"]
        for entry in entries
        if entry["resource"].get("resourceType") == "Organization"
        and _code(entry["resource"].get("type"), "/partner-type") == "ggz"
    }
    out: list[dict[str, Any]] = []
    withheld_refs: set[str] = {url for url in categories if url not in keep}
    given = profile.free_text
    # no text of a resource is masked when the profile gives the free text of its category, unless
    # it holds a plan's texts (below ``activity``) and the profile does not give those
    check_activity = not (every_text or "agreement" in given)
    pending: list[tuple[dict[str, Any], dict[str, Any], str]] = []
    for entry in entries:
        url = entry["fullUrl"]
        if url not in keep:
            continue
        resource = entry["resource"]
        category = categories[url]
        masked = walk.masked
        walk.elements(resource, category)
        if (
            screen is not None
            or not (every_text or category in given or category == "safety-score")
            or (check_activity and _ACTIVITY in orjson.dumps(resource))
        ):
            try:
                walk.texts(resource, category)
            except _Withhold:
                walk.masked = masked  # nothing of it is sent: nothing of it was masked
                withheld_refs.add(url)
                walk.screened += 1
                continue
        pending.append((entry, resource, category))
    frozen = frozenset(withheld_refs)
    withheld_url = {url.encode(): url for url in frozen}
    frozen_utf8 = withheld_url.keys()
    mental_health_utf8 = {url.encode() for url in mental_health}
    counter = [0]
    direct: set[str] = set()
    sent: list[SentResource] = []
    highest = "R"
    for entry, resource, category in pending:
        own_mental_health = entry["fullUrl"] in mental_health
        meta = resource.get("meta")
        sender = meta.get("security") if meta else None  # a partner's labels, written from its event
        level = _label_resource(resource, levels[category], own_mental_health, sender)
        if level == "V":
            highest = "V"
        if category in direct:
            # the last one of its category held a withheld reference directly under it: so will this
            # one, most likely (every score of a conference the recipient does not receive)
            dropped = _drop_direct(resource, frozen, counter)
            if dropped is resource:
                direct.discard(category)
            resource = dropped
        # its canonical JSON is its version, and says where its (other) references are
        data = _canonical(resource)
        if frozen or mental_health:
            references = _references(data)
            if not frozen_utf8.isdisjoint(references):
                hit = frozenset(withheld_url[ref] for ref in references & frozen_utf8)
                found_direct = [0]
                resource = _drop_references(resource, hit, counter, data, found_direct)
                if found_direct[0]:
                    direct.add(category)
                data = _canonical(resource)
                if not mental_health_utf8.isdisjoint(references):
                    references = _references(data)  # one it held may have gone with a withheld one
            if (
                not own_mental_health
                and category != "care-team"
                and not mental_health_utf8.isdisjoint(references)
            ):
                _label_resource(resource, levels[category], True, sender)
                data = _canonical(resource)
        out.append({**entry, "resource": resource})
        sent.append(SentResource(resource["resourceType"], resource["id"], sha256(data).hexdigest()))
    result = {key: value for key, value in bundle.items() if key != "entry"}
    meta = result.setdefault("meta", {})
    meta["security"] = [
        *_security(highest, False),
        _label(profile.purpose, V3_ACT_REASON),
        _label(REFRAIN_NO_REDISCLOSURE, V3_ACT_CODE),
    ]
    result["entry"] = out
    if not out:
        del result["entry"]
    return Redaction(
        bundle=result,
        profile=profile,
        sent=tuple(sent),
        withheld_resources=len(entries) - len(out),
        masked_elements=walk.masked + counter[0],
        screened_texts=walk.screened,
    )


def _nothing(text: str) -> bool:
    return False
