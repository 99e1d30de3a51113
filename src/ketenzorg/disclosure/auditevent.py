"""A disclosure record as a FHIR R4 AuditEvent, in the shape of IHE BALP's privacy disclosure at the source.

Type DICOM ``110106`` (Export), subtype ``disclose``; agents: the organisation as source, the
recipient as destination, the user and the responsible user; entities: the case (the patient role)
and each resource sent, with its version; the bytes' SHA-256 on the bundle entity.
"""

from __future__ import annotations

from typing import Any

from ketenzorg.disclosure.record import Disclosure
from ketenzorg.interop.definitions import (
    AUDIT_ENTITY_TYPE,
    BALP_PRIVACY_DISCLOSURE_SOURCE,
    CASE_ID,
    DICOM_DCM,
    ISO_21089_LIFECYCLE,
    OBJECT_ROLE,
    SECURITY_ROLE_TYPE,
    URI,
    V3_ACT_CODE,
    V3_ACT_REASON,
    V3_CONFIDENTIALITY,
    V3_PARTICIPATION_TYPE,
)
from ketenzorg.interop.writing import resource_id

__all__ = ["to_audit_event"]

SECURITY_SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    found = {"system": system, "code": code}
    if display:
        found["display"] = display
    return found


def to_audit_event(record: Disclosure, *, source: str) -> dict[str, Any]:
    """``record`` as an AuditEvent (a JSON-ready dict); ``source`` names the system that recorded it."""
    recipient = record.recipient
    who: dict[str, Any] = {"display": recipient.kind}
    if recipient.organisation_system and recipient.organisation_value:
        who["identifier"] = {"system": recipient.organisation_system, "value": recipient.organisation_value}
    agents: list[dict[str, Any]] = [
        {
            "type": {"coding": [_coding(DICOM_DCM, "110153", "Source Role ID")]},
            "who": {"display": source},
            "requestor": False,
        },
        {
            "type": {"coding": [_coding(DICOM_DCM, "110152", "Destination Role ID")]},
            "who": who,
            "requestor": False,
        },
    ]
    if record.user:
        agents.append(
            {
                "type": {"coding": [_coding(SECURITY_ROLE_TYPE, "humanuser", "human user")]},
                "who": {"identifier": {"value": record.user}},
                "requestor": True,
            }
        )
    if record.responsible_user:
        agents.append(
            {
                "type": {"coding": [_coding(V3_PARTICIPATION_TYPE, "RESP", "responsible party")]},
                "who": {"identifier": {"value": record.responsible_user}},
                "requestor": False,
            }
        )
    entities: list[dict[str, Any]] = [
        {
            "what": {"identifier": {"system": CASE_ID, "value": record.case_id}},
            "type": _coding(AUDIT_ENTITY_TYPE, "1", "Person"),
            "role": _coding(OBJECT_ROLE, "1", "Patient"),
        }
    ]
    bundle: dict[str, Any] = {
        "what": {"identifier": {"system": URI, "value": f"urn:ketenzorg:disclosure:{record.case_id}"}},
        "type": _coding(AUDIT_ENTITY_TYPE, "2", "System Object"),
        "role": _coding(OBJECT_ROLE, "20", "Job"),
        "name": f"{record.bundle_type} bundle, profile {record.profile_id} version {record.profile_version}",
        "detail": [
            {"type": "withheld-resources", "valueString": str(record.withheld_resources)},
            {"type": "masked-elements", "valueString": str(record.masked_elements)},
            {"type": "screened-texts", "valueString": str(record.screened_texts)},
        ],
    }
    if record.sha256:
        bundle["detail"].insert(0, {"type": "sha256", "valueString": record.sha256})
    entities.append(bundle)
    entities += [
        {
            "what": {"type": sent.type, "identifier": {"system": URI, "value": f"urn:uuid:{sent.id}"}},
            "type": _coding(AUDIT_ENTITY_TYPE, "2", "System Object"),
            "role": _coding(OBJECT_ROLE, "4", "Domain Resource"),
            "detail": [{"type": "version", "valueString": sent.version}],
        }
        for sent in record.sent
    ]
    # The moment and recipient too: the same bytes sent twice are two disclosures.
    key = f"{record.at}|{record.recipient.label()}|{record.sha256 or ''}"
    return {
        "resourceType": "AuditEvent",
        "id": resource_id(record.case_id, "disclosure", key),
        "meta": {
            "profile": [BALP_PRIVACY_DISCLOSURE_SOURCE],
            "security": [_coding(V3_CONFIDENTIALITY, "R"), _coding(V3_ACT_CODE, "SDV")],
        },
        "type": _coding(DICOM_DCM, "110106", "Export"),
        "subtype": [_coding(ISO_21089_LIFECYCLE, "disclose", "Disclose Record Lifecycle Event")],
        "action": "R",
        "recorded": record.at,
        "outcome": "0",
        "purposeOfEvent": [{"coding": [_coding(V3_ACT_REASON, record.purpose)]}],
        "agent": agents,
        "source": {
            "observer": {"display": source},
            "type": [
                _coding(
                    "http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server"
                )
            ],
        },
        "entity": entities,
    }
