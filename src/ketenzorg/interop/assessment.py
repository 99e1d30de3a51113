"""An instrument application as ``QuestionnaireResponse`` + ``RiskAssessment``: written, and read back.

The result of the instrument is qualitative, and so is its FHIR form: the safety code is a
``prediction.qualitativeRisk`` in the profile's ``safety-code`` system, a classification (a family
profile, say) a ``prediction.outcome`` in the instrument's own code system, with its degree of fit
in the ``classification`` extension. No ``prediction.probability[x]`` is written: a degree of fit
or a code is no probability of an outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ketenzorg.domain import PartyRole, RiskFactor, Text
from ketenzorg.errors import Problem, ValidationError
from ketenzorg.events import InstrumentApplied
from ketenzorg.instruments import (
    Action,
    AdvisedSetting,
    Classification,
    InstrumentResult,
    InstrumentSpec,
    SafetyCode,
    Urgency,
)
from ketenzorg.interop.answers import AnswerIssue, answer_items, instrument_spec, read_answers
from ketenzorg.interop.canonical import (
    classification_system,
    instrument_system,
    level_system,
    questionnaire_url,
)
from ketenzorg.interop.definitions import (
    EVENT_ID,
    PERSON_ID,
    X_ACTION,
    X_ADVICE,
    X_ADVISED_SETTING,
    X_APPLIED_BY,
    X_CLASSIFICATION,
    X_EXPLANATION,
    X_PROVENANCE,
    X_RESULT_LEVEL,
    X_RISK_FACTOR,
    X_SEQUENCE,
    X_URGENCY,
)
from ketenzorg.interop.reading import (
    UNREADABLE,
    Entries,
    FhirMappingError,
    code,
    ext,
    exts,
    ident,
    read_moment,
    sequence,
    sub,
    sub_text,
    text,
)
from ketenzorg.interop.recheck import result_issues
from ketenzorg.interop.writing import Writer, coding, concept, optional, ref, x, xs, xt
from ketenzorg.interop.writing import text as text_element

if TYPE_CHECKING:
    from ketenzorg.pluginhost import RegisteredInstrument

__all__ = [
    "Applications",
    "application_issues",
    "read_assessment",
    "read_risk_factors",
    "risk_factor_extensions",
    "write_assessment",
]

Instruments = Mapping[str, "RegisteredInstrument"]


class Applications:
    """The instrument applications of one bundle read without an error, by entry index.

    The answers layer of validation reads (and re-checks) every application first; the case reader
    then takes each from here instead of reading it, and running its instrument, a second time.
    Only applications of ``bundle`` (the very object) are ever taken from here.
    """

    __slots__ = ("bundle", "read")

    def __init__(self, bundle: Mapping[str, Any]) -> None:
        self.bundle = bundle
        self.read: dict[int, tuple[InstrumentApplied, list[AnswerIssue]]] = {}
        """The event of each RiskAssessment read, and every issue (no error) found on the way."""


# --- writing -------------------------------------------------------------------------------------


def risk_factor_extensions(factors: tuple[RiskFactor, ...]) -> list[dict[str, Any]]:
    """The ``risk-factor`` extensions of a plan or an instrument result."""
    return [
        x(X_RISK_FACTOR, extension=[xs("id", r.id), xt("text", r.text), *optional("code", r.code)])
        for r in factors
    ]


def _predictions(spec: InstrumentSpec, result: InstrumentResult) -> list[dict[str, Any]]:
    predictions: list[dict[str, Any]] = []
    if result.safety_code is not None:
        predictions.append({"qualitativeRisk": concept("safety-code", result.safety_code.value)})
    if result.level is not None:  # the instrument's own level, in its own code system
        display = {"display": spec.level(result.level).display.nl} if _on_scale(spec, result.level) else {}
        predictions.append(
            {
                "extension": [xs(X_RESULT_LEVEL, result.level)],
                "qualitativeRisk": {
                    "coding": [{"system": level_system(spec), "code": result.level, **display}]
                },
            }
        )
    system = classification_system(spec)
    for c in result.classifications:
        prediction: dict[str, Any] = {
            "extension": [
                x(
                    X_CLASSIFICATION,
                    extension=[xs("code", c.code), xt("display", c.display), x("fit", valueDecimal=c.fit)],
                )
            ],
            "outcome": {"coding": [{"system": system, "code": c.code, "display": c.display.nl}]},
        }
        if c.emphasis is not None:
            prediction |= text_element("rationale", c.emphasis)
        predictions.append(prediction)
    return predictions


def _subject_ref(w: Writer, subject: str | None) -> dict[str, Any]:
    """The response's subject: the client's Patient, or the named person's Patient or
    RelatedPerson with the person id (what tells a named subject from the default on reading)."""
    if subject is None:
        return ref(w.patient)
    return {
        **ref(w.person_rid(w.state.persons[subject])),
        "identifier": {"system": PERSON_ID, "value": subject},
    }


def _on_scale(spec: InstrumentSpec, level: str) -> bool:
    return any(candidate.code == level for candidate in spec.levels)


def action_extension(action: Action) -> dict[str, Any]:
    """The ``instrument-action`` extension of an action of a result."""
    return x(
        X_ACTION,
        extension=[
            xs("kind", action.kind),
            *optional("conferenceKind", action.conference_kind),
            xs("nl", action.text.nl),
            xs("en", action.text.in_language("en")),
        ],
    )


def write_assessment(w: Writer, seq: int, event: InstrumentApplied, instruments: Instruments) -> None:
    """The answers (QuestionnaireResponse) and the result (RiskAssessment) of an application.

    The instrument's spec (from ``instruments``, the engine's) decides how each answer travels and
    the canonical base of its Questionnaire and code systems; an instrument that is not installed
    is refused (:class:`~ketenzorg.interop.answers.UnknownInstrumentError` at
    ``events[seq].instrument_id``). The Questionnaire's version is the one the event records.
    The person assessed (``subject``) is the response's subject; the RiskAssessment's subject
    stays the client's Patient (R4 allows only a Patient or Group there).
    """
    spec = instrument_spec(instruments, event.instrument_id, path=f"events[{seq}].instrument_id")
    rid = w.event_rid(event.id)
    qr = w.rid("answers", event.id)
    questionnaire = f"{questionnaire_url(spec)}|{event.instrument_version}"
    items = answer_items(spec, event.answers)
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": qr,
        "identifier": {"system": EVENT_ID, "value": f"{event.id}#answers"},
        "questionnaire": questionnaire,
        "status": "completed",
        "subject": _subject_ref(w, event.subject),
        "authored": event.at.isoformat(),
        "item": items,
    }
    if event.applied_by is not None:
        response["author"] = w.party_ref(event.applied_by)
    w.add(response)
    result = event.result
    extensions: list[dict[str, Any]] = [
        x(X_SEQUENCE, valueInteger=seq),
        x(
            X_PROVENANCE,
            extension=[
                xs("instrument", event.instrument_id),
                xs("version", event.instrument_version),
                xs("plugin", event.plugin),
                *optional("distribution", event.distribution),
                *optional("distributionVersion", event.distribution_version),
            ],
        ),
    ]
    if result.urgency is not None:
        extensions.append(x(X_URGENCY, valueCoding=coding("urgency", result.urgency.value)))
    if result.advised_setting is not None:
        extensions.append(
            x(X_ADVISED_SETTING, valueCoding=coding("advised-setting", result.advised_setting.value))
        )
    extensions += risk_factor_extensions(result.risk_factors)
    extensions += [xt(X_ADVICE, line) for line in result.advice]
    extensions += [xt(X_EXPLANATION, line) for line in result.explanation]
    extensions += [action_extension(action) for action in result.actions]
    resource: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "id": rid,
        "extension": extensions,
        "identifier": [{"system": EVENT_ID, "value": event.id}],
        "basedOn": ref(w.careplan),
        "status": "final",
        "method": {"coding": [{"system": instrument_system(spec), "code": event.instrument_id}]},
        "subject": ref(w.patient),
        "occurrenceDateTime": event.at.isoformat(),
        "basis": [ref(qr)],
    }
    if event.applied_by is not None:
        applied_by = w.party_ref_with_id(event.applied_by)
        extensions.append(x(X_APPLIED_BY, valueReference=applied_by))
        party = w.state.known_parties[event.applied_by]
        if party.role is PartyRole.PRACTITIONER and party.person_id is None:
            resource["performer"] = applied_by  # R4 allows only a Practitioner here
    predictions = _predictions(spec, result)
    if predictions:
        resource["prediction"] = predictions
    # for FHIR readers that know no ketenzorg extensions: the same lines, in Dutch and English
    if result.advice:
        resource |= text_element("mitigation", _joined(result.advice))
    if result.explanation:
        resource["note"] = [text_element("text", _joined(result.explanation))]
    w.add(resource)


def _joined(lines: tuple[Text, ...]) -> Text:
    """Lines as one text, a line each; in English only when every line has its English."""
    english = [line.en for line in lines]
    return Text(
        "\n".join(line.nl for line in lines), None if None in english else "\n".join(map(str, english))
    )


# --- reading -------------------------------------------------------------------------------------


def _text(extension: Mapping[str, Any]) -> Text:
    found = text(extension, "valueString")
    if found is None:
        raise KeyError("valueString")
    return found


def read_risk_factors(element: Mapping[str, Any]) -> tuple[RiskFactor, ...]:
    """The risk factors in the ``risk-factor`` extensions of an element."""
    return tuple(
        RiskFactor(id=sub(f, "id"), text=sub_text(f, "text") or "", code=sub(f, "code"))
        for f in exts(element, X_RISK_FACTOR)
    )


def read_actions(element: Mapping[str, Any]) -> tuple[Action, ...]:
    """The actions in the ``instrument-action`` extensions of a RiskAssessment."""
    return tuple(
        Action(
            kind=sub(a, "kind"),
            conference_kind=sub(a, "conferenceKind"),
            text={"nl": sub(a, "nl"), "en": sub(a, "en")},
        )
        for a in exts(element, X_ACTION)
    )


def _read_predictions(
    resource: Mapping[str, Any], where: str
) -> tuple[SafetyCode | None, tuple[Classification, ...], str | None]:
    safety: SafetyCode | None = None
    level: str | None = None
    classifications = []
    for n, prediction in enumerate(resource.get("prediction", ())):
        found = code(prediction.get("qualitativeRisk"), "safety-code")
        info = ext(prediction, X_CLASSIFICATION)
        own = ext(prediction, X_RESULT_LEVEL)
        if own is not None and level is None:
            level = own["valueString"]
        elif found is not None:
            safety = SafetyCode(found)
        elif info is not None:
            fit = sub(info, "fit")
            if isinstance(fit, bool) or not isinstance(fit, int | float | Decimal):
                raise TypeError("fit")
            classifications.append(
                Classification(
                    code=sub(info, "code"),
                    display=sub_text(info, "display") or "",
                    fit=float(fit),
                    emphasis=text(prediction, "rationale"),
                )
            )
        else:  # never dropped in silence (e.g. a safety code as an outcome, as written before)
            raise FhirMappingError(
                [
                    Problem(
                        f"{where}.prediction[{n}]",
                        "a prediction is a safety code (qualitativeRisk), the instrument's level "
                        "(result-level) or a classification (extension)",
                    )
                ]
            )
    return safety, tuple(classifications), level


def _questionnaire_issues(
    qr: Mapping[str, Any],
    qr_where: str,
    registered: RegisteredInstrument | None,
    instrument_id: str,
    version: str,
) -> list[AnswerIssue]:
    """Whether the response's ``questionnaire`` names the instrument the RiskAssessment records.

    Its id and version, under the installed instrument's canonical base (any base when the
    instrument is not installed: then only the id and version can be compared).
    """
    value = qr.get("questionnaire")
    tail = f"/Questionnaire/{instrument_id}|{version}"
    if registered is not None:
        matches = value == f"{questionnaire_url(registered)}|{version}"
    else:
        matches = isinstance(value, str) and value.endswith(tail) and len(value) > len(tail)
    if matches:
        return []
    where = "the installed instrument's canonical base" if registered is not None else "a canonical base"
    return [
        AnswerIssue(
            "error",
            "value",
            f"{qr_where}.questionnaire",
            "does not name the instrument and version the RiskAssessment records "
            f"(<base>/Questionnaire/<id>|<version>, under {where})",
        )
    ]


def _recorded_instrument(provenance: Mapping[str, Any], where: str) -> tuple[str, str]:
    """The instrument id and version the provenance of a RiskAssessment records."""
    instrument_id = sub(provenance, "instrument")
    version = sub(provenance, "version")
    if not isinstance(instrument_id, str) or not instrument_id or not isinstance(version, str) or not version:
        raise FhirMappingError(
            [Problem(f"{where}.extension", "needs the instrument and version of its provenance")]
        )
    return instrument_id, version


def read_assessment(
    entries: Entries,
    index: int,
    resource: Mapping[str, Any],
    instruments: Instruments,
    *,
    hook_timeout: float | None,
    issues: list[AnswerIssue],
    applications: Applications | None = None,
) -> tuple[int, InstrumentApplied]:
    """Read a RiskAssessment (and the QuestionnaireResponse it is based on) into the application.

    The response is checked against the instrument the provenance records (``instruments`` are
    the engine's): its ``questionnaire`` names that instrument and version, and every answer fits
    (:func:`~ketenzorg.interop.answers.read_answers`); the recorded result is what the installed
    instrument gives for the answers (:func:`~ketenzorg.interop.recheck.result_issues`, within
    ``hook_timeout``). Every issue found, warnings included, is appended to ``issues``; any error
    among them raises :class:`FhirMappingError` with all of them. An instrument that is not
    installed, or installed in another version, is a warning: its answers are read as they are.

    ``applications`` (of the same bundle as ``entries``): an application found there is taken as
    read, its issues appended again; one read here without an error is put there.
    """
    where = entries.where(index)
    done = applications.read.get(index) if applications is not None else None
    if done is not None:
        issues += done[1]
        return sequence(resource, where), done[0]
    event, found = _read_application(entries, index, resource, instruments, hook_timeout=hook_timeout)
    issues += found
    if event is None or any(i.is_error for i in found):
        raise FhirMappingError([i.problem() for i in found if i.is_error])
    if applications is not None:
        applications.read[index] = event, found
    return sequence(resource, where), event


def _read_application(
    entries: Entries,
    index: int,
    resource: Mapping[str, Any],
    instruments: Instruments,
    *,
    hook_timeout: float | None,
) -> tuple[InstrumentApplied | None, list[AnswerIssue]]:
    """The application a RiskAssessment records, and every issue found reading and re-checking it.

    No event (``None``) when the answers already hold an error: the result is then not re-checked.
    A resource that cannot be read raises, as :func:`read_assessment` does.
    """
    where = entries.where(index)
    provenance = ext(resource, X_PROVENANCE) or {}
    instrument_id, version = _recorded_instrument(provenance, where)
    qr_index, qr = entries.resolve(resource["basis"][0], index, "basis[0]")
    qr_where = entries.where(qr_index)
    registered = instruments.get(instrument_id)
    found = _questionnaire_issues(qr, qr_where, registered, instrument_id, version)
    spec = registered.spec if registered is not None and registered.spec.version == version else None
    same_version = spec is not None
    answers, answer_issues = read_answers(qr, where=qr_where, spec=spec)
    if registered is not None and not same_version:
        # Installed, in another version: result_issues says so (one warning, not "not installed").
        answer_issues = [i for i in answer_issues if i.is_error or i.expression != qr_where]
    found += answer_issues
    if any(i.is_error for i in found):
        return None, found
    safety_code, classifications, level = _read_predictions(resource, where)
    urgency = ext(resource, X_URGENCY)
    setting = ext(resource, X_ADVISED_SETTING)
    applied_by = ext(resource, X_APPLIED_BY)
    event = InstrumentApplied(
        id=ident(resource, EVENT_ID) or "",
        at=read_moment(resource, "occurrenceDateTime", where),
        instrument_id=instrument_id,
        instrument_version=version,
        plugin=sub(provenance, "plugin"),
        distribution=sub(provenance, "distribution"),
        distribution_version=sub(provenance, "distributionVersion"),
        answers=answers,
        result=InstrumentResult(
            safety_code=safety_code,
            classifications=classifications,
            risk_factors=read_risk_factors(resource),
            advised_setting=AdvisedSetting(setting["valueCoding"]["code"]) if setting else None,
            urgency=Urgency(urgency["valueCoding"]["code"]) if urgency else None,
            advice=tuple(_text(a) for a in exts(resource, X_ADVICE)),
            explanation=tuple(_text(e) for e in exts(resource, X_EXPLANATION)),
            level=level,
            actions=read_actions(resource),
        ),
        applied_by=applied_by["valueReference"]["identifier"]["value"] if applied_by else None,
        subject=_read_subject(entries, qr_index, qr),
    )
    found += result_issues(registered, event, where=where, hook_timeout=hook_timeout)
    return event, found


def _read_subject(entries: Entries, index: int, qr: Mapping[str, Any]) -> str | None:
    """The person a response names as its subject (``None``: no person id, the client)."""
    subject = qr.get("subject")
    person = ident(subject, PERSON_ID)
    if person is None:
        return None
    _, target = entries.resolve(subject, index, "subject")
    if ident(target, PERSON_ID) != person:
        raise FhirMappingError(
            [Problem(entries.where(index, "subject"), "the person id is not that of the person referred to")]
        )
    return person


def _claimed_spec(qr: Mapping[str, Any], instruments: Instruments) -> InstrumentSpec | None:
    """The installed spec a response names in its ``questionnaire`` (base, id and version), if any."""
    value = qr.get("questionnaire")
    if not isinstance(value, str):
        return None
    url, _, version = value.rpartition("|")
    instrument_id = url.rpartition("/Questionnaire/")[2]
    registered = instruments.get(instrument_id)
    if registered is None or registered.spec.version != version or questionnaire_url(registered) != url:
        return None
    return registered.spec


def application_issues(
    bundle: Mapping[str, Any],
    instruments: Instruments,
    *,
    hook_timeout: float | None,
    applications: Applications | None = None,
) -> list[AnswerIssue]:
    """Every problem with the instrument applications and answers of a bundle, none left out.

    Each RiskAssessment that records an instrument (``provenance``) is checked with the response it
    is based on as :func:`read_assessment` checks it; a QuestionnaireResponse no such
    RiskAssessment is based on is checked against the instrument its ``questionnaire`` names
    (an instrument that is not installed: a warning). What is no answer problem (a RiskAssessment
    that cannot be read at all) is left to the case reader. ``bundle`` has a list of entries.
    Each application read without an error is put in ``applications``, for the case reader.
    """
    if not isinstance(bundle.get("entry"), list):
        return []
    if applications is not None and applications.bundle is not bundle:
        applications = None
    entries = Entries(bundle)
    out: list[AnswerIssue] = []
    based_on: set[int] = set()
    for index, resource in entries.of_type("RiskAssessment"):
        if ext(resource, X_PROVENANCE) is None:
            continue
        try:
            based_on.add(entries.resolve(resource["basis"][0], index, "basis[0]")[0])
            read_assessment(
                entries,
                index,
                resource,
                instruments,
                hook_timeout=hook_timeout,
                issues=out,
                applications=applications,
            )
        except (*UNREADABLE, ValidationError):
            continue  # the answer problems are in ``out``; the rest is the case reader's to report
    for index, qr in entries.of_type("QuestionnaireResponse"):
        if index not in based_on:
            out += read_answers(qr, where=entries.where(index), spec=_claimed_spec(qr, instruments))[1]
    return out
