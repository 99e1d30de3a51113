"""The disclosure record: what went to whom, for the audit log and for AVG art. 19 / NEN 7513.

A :class:`Disclosure` says who received (part of) a case (recipient kind and organisation, the user
and the responsible user), why (purpose of use, legal basis), under which profile (id and version),
which resources and versions were sent, how much was held back (counts, never content) and the
SHA-256 of the exact bytes written, which the writer adds with :meth:`Disclosure.written`.
"""

from __future__ import annotations

from collections.abc import Mapping
from hashlib import sha256
from pathlib import Path
from typing import Any

import attrs
import orjson

from ketenzorg.disclosure.profiles import Recipient
from ketenzorg.disclosure.redact import SentResource
from ketenzorg.errors import Problem, ValidationError

__all__ = ["Disclosure", "append_log", "bytes_sha256", "log_path_for"]


def bytes_sha256(data: bytes) -> str:
    """The SHA-256 of the exact bytes written, as lowercase hex."""
    return sha256(data).hexdigest()


@attrs.frozen
class Disclosure:
    """One disclosure of a case to one recipient."""

    case_id: str
    at: str
    """When, as an ISO 8601 date-time (the engine's clock)."""
    recipient: Recipient
    profile_id: str
    profile_version: str
    purpose: str
    legal_basis: str
    """The legal basis's reference (an article)."""
    bundle_type: str
    sent: tuple[SentResource, ...]
    withheld_resources: int
    masked_elements: int
    screened_texts: int
    sha256: str | None = None
    """The SHA-256 of the bytes written; ``None`` until :meth:`written`."""
    format: str | None = None
    user: str | None = None
    responsible_user: str | None = None

    def written(
        self, data: bytes, *, format: str, user: str | None = None, responsible_user: str | None = None
    ) -> Disclosure:
        """This record completed with the hash of ``data``, the exact bytes that left, and who sent them."""
        return attrs.evolve(
            self,
            sha256=bytes_sha256(data),
            format=format,
            user=user if user is not None else self.user,
            responsible_user=responsible_user if responsible_user is not None else self.responsible_user,
        )

    def to_mapping(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "at": self.at,
            "recipient": self.recipient.to_mapping(),
            "profile": {"id": self.profile_id, "version": self.profile_version},
            "purpose": self.purpose,
            "legal_basis": self.legal_basis,
            "bundle_type": self.bundle_type,
            "format": self.format,
            "sha256": self.sha256,
            "user": self.user,
            "responsible_user": self.responsible_user,
            "sent": [[s.type, s.id, s.version] for s in self.sent],
            "withheld": {
                "resources": self.withheld_resources,
                "elements": self.masked_elements,
                "screened_texts": self.screened_texts,
            },
        }

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> Disclosure:
        """A record read back from the log (as :meth:`to_mapping` wrote it)."""
        try:
            return cls(
                case_id=raw["case_id"],
                at=raw["at"],
                recipient=Recipient(**raw["recipient"]),
                profile_id=raw["profile"]["id"],
                profile_version=raw["profile"]["version"],
                purpose=raw["purpose"],
                legal_basis=raw["legal_basis"],
                bundle_type=raw["bundle_type"],
                sent=tuple(SentResource(*s) for s in raw["sent"]),
                withheld_resources=raw["withheld"]["resources"],
                masked_elements=raw["withheld"]["elements"],
                screened_texts=raw["withheld"]["screened_texts"],
                sha256=raw.get("sha256"),
                format=raw.get("format"),
                user=raw.get("user"),
                responsible_user=raw.get("responsible_user"),
            )
        except (KeyError, TypeError) as error:
            raise ValidationError(
                [Problem("disclosure", f"not a disclosure record ({type(error).__name__})")]
            ) from None


def log_path_for(output: Path) -> Path:
    """The disclosure log next to an output written without a store: ``<output>.disclosures.jsonl``."""
    return output.with_name(output.name + ".disclosures.jsonl")


def append_log(path: Path, record: Disclosure) -> None:
    """Append ``record`` as one JSON line; a record without the hash of its bytes is refused."""
    if record.sha256 is None:
        raise ValidationError(
            [Problem("sha256", "a disclosure is logged with the hash of the bytes written")]
        )
    with path.open("ab") as log:
        log.write(orjson.dumps(record.to_mapping(), option=orjson.OPT_SORT_KEYS) + b"\n")
