"""Loading input files for the command line, in one place: every command reads through here.

A file is read only when it is a regular file within :data:`~ketenzorg.limits.MAX_BYTES`; JSON and
FHIR XML are told apart by content (or by the ``fmt`` a caller forces) and read by the hardened
readers of :mod:`ketenzorg.interop.safeinput`; a FHIR bundle is validated (structure, profile and
case, under the caller's engine) before it becomes a case; and a case is replayed, so that a phase
change its rules would have blocked is refused rather than believed. Every refusal is a typed error
that names the file and the location, never the offending value.

The other direction: :func:`ensure_loadable` checks a result before it is written, so that what the
command line writes it can also read back (:class:`~ketenzorg.errors.OutputLimitError` otherwise).

This module sits beside the command line, not inside ``interop`` (``interop`` never imports it); the
command line imports it only when a command runs, so ``ketenzorg --version`` does not load it.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ketenzorg.errors import MalformedInputError, OutputLimitError, Problem, ValidationError
from ketenzorg.limits import MAX_BYTES, MAX_ENTRIES

if TYPE_CHECKING:
    from ketenzorg.case import Case
    from ketenzorg.engine import Engine
    from ketenzorg.policy import Policy

__all__ = [
    "Format",
    "ensure_loadable",
    "load_bundle",
    "load_case",
    "load_document",
    "load_json",
    "load_policy",
    "load_replayed",
    "load_resource",
    "read_file",
    "replay_issues",
    "validate_file",
]

Format = Literal["json", "xml"]


def read_file(path: str) -> bytes:
    """An input file's bytes: a regular file (no FIFO or device) of at most ``MAX_BYTES``."""
    try:
        info = Path(path).stat()
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError
        if not stat.S_ISREG(info.st_mode):
            raise MalformedInputError.at(path, "is not a regular file")
        if info.st_size > MAX_BYTES:
            raise MalformedInputError.at(path, f"is larger than {MAX_BYTES} bytes")
        with Path(path).open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:  # it grew since stat
            raise MalformedInputError.at(path, f"is larger than {MAX_BYTES} bytes")
        return data
    except FileNotFoundError:
        raise MalformedInputError.at(path, "file not found") from None
    except IsADirectoryError:
        raise MalformedInputError.at(path, "is a directory") from None
    except PermissionError:
        raise MalformedInputError.at(path, "permission denied") from None
    except OSError as exc:
        raise MalformedInputError.at(path, f"cannot be read ({exc.strerror})") from None


def load_json(path: str) -> Any:
    """Untrusted JSON (a policy, answers, keys), read defensively: no duplicate keys, NaN or lossy
    numbers, within the limits."""
    from ketenzorg.interop.safeinput import read_json

    return read_json(read_file(path), source=path)


def load_document(path: str, fmt: Format | None = None) -> Any:
    """A JSON document, or FHIR XML converted to its JSON form: by ``fmt``, else by content."""
    raw = read_file(path)
    if fmt == "xml" or (fmt is None and raw.lstrip()[:1] == b"<"):
        from ketenzorg.interop.fhirxml import from_xml

        try:
            return from_xml(raw, source=path)
        except ValidationError as error:
            raise error.with_source(path) from None
    from ketenzorg.interop.safeinput import read_json

    return read_json(raw, source=path)


def load_resource(path: str, fmt: Format | None = None) -> dict[str, Any]:
    """A FHIR resource (JSON or XML) in its JSON form."""
    data = load_document(path, fmt)
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise MalformedInputError.at(path, "not a FHIR resource")
    return data


def load_bundle(path: str, fmt: Format | None = None) -> dict[str, Any]:
    """A FHIR Bundle (JSON or XML) in its JSON form, not yet validated."""
    data = load_document(path, fmt)
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise MalformedInputError.at(path, "not a FHIR Bundle")
    return data


def load_policy(path: str) -> Policy:
    """An organisation's policy file."""
    from ketenzorg.policy import Policy

    data = load_json(path)
    try:
        return Policy.from_mapping(data)
    except ValidationError as error:
        raise error.with_source(path) from None


Warn = Callable[[dict[str, Any]], None]
"""Told each warning (an OperationOutcome issue) found while a bundle is read."""


def load_case(path: str, fmt: Format | None = None, *, engine: Engine, warn: Warn | None = None) -> Case:
    """A case from the engine's case JSON (not replayed) or from a FHIR bundle (JSON or XML; its
    validation re-decides every transition).

    A bundle is validated under ``engine`` (structure, profile, answers and case: its instruments
    and its policy's rules) and refused with the location of every problem; ``warn`` is told each
    warning of that validation (answers of an instrument the engine does not have, say), which
    does not refuse the bundle.
    """
    from ketenzorg import caseformat

    data = load_document(path, fmt)
    try:
        if isinstance(data, dict) and data.get("resourceType") is not None:
            return _case_from_bundle(data, engine, warn)
        return caseformat.case_from_dict(data)
    except ValidationError as error:
        raise error.with_source(path) from None


def _case_from_bundle(data: dict[str, Any], engine: Engine, warn: Warn | None) -> Case:
    """Validate a bundle (structure, profile, answers, case) and convert it once; refuse with
    locations."""
    from ketenzorg.interop.fhir import FhirMappingError, bundle_to_case
    from ketenzorg.interop.validate import read_bundle

    outcome, case = read_bundle(data, engine=engine)
    if warn is not None:
        for item in outcome["issue"]:
            if item["severity"] == "warning":
                warn(item)
    if case is not None:
        return case
    errors = [i for i in outcome["issue"] if i["severity"] in ("fatal", "error")]
    if not errors:  # a valid bundle that carries no whole case
        case = bundle_to_case(data, engine=engine)
        return engine.replay(case.case_id, case.events)
    problems = [Problem((i.get("expression") or ["Bundle"])[0], i["diagnostics"]) for i in errors]
    if any(i["severity"] == "fatal" for i in errors):
        raise MalformedInputError(problems)
    raise FhirMappingError(problems)


def load_replayed(engine: Engine, path: str, fmt: Format | None = None, *, warn: Warn | None = None) -> Case:
    """Load a case and re-decide every recorded transition under the engine's policy.

    A file whose phase changes the rules would have blocked (edited by hand, or from another
    policy) is refused rather than believed. ``warn``: as :func:`load_case`.
    """
    from ketenzorg import caseformat
    from ketenzorg.errors import TransitionBlockedError

    data = load_document(path, fmt)
    if isinstance(data, dict) and data.get("resourceType") is not None:
        try:  # a bundle's case comes back from its validation with every transition re-decided
            return _case_from_bundle(data, engine, warn)
        except ValidationError as error:
            raise error.with_source(path) from None
    try:
        case = caseformat.case_from_dict(data)
    except ValidationError as error:
        raise error.with_source(path) from None
    try:
        return engine.replay(case.case_id, case.events)
    except TransitionBlockedError as error:
        raise TransitionBlockedError(f"{path}: {error}", error.decision, event_id=error.event_id) from None


def validate_file(
    engine: Engine, path: str, fmt: Format | None = None, *, strict: bool = False
) -> dict[str, Any]:
    """The OperationOutcome for a FHIR bundle or a case document, judged by ``engine``.

    Problems of the contents are issues (a fatal one when the file cannot be used as a bundle); a
    file that is neither FHIR nor a case document is refused (:class:`MalformedInputError`).
    """
    from ketenzorg import caseformat
    from ketenzorg.interop.validate import issue, operation_outcome, read_bundle

    data = load_document(path, fmt)
    if isinstance(data, dict) and data.get("resourceType") is not None:
        return read_bundle(data, engine=engine, strict=strict)[0]  # transitions re-decided there
    if isinstance(data, dict) and data.get("format") == caseformat.FORMAT_NAME:
        try:
            case = caseformat.case_from_dict(data)
        except ValidationError as error:
            return operation_outcome(
                [issue("error", "invalid", p.message, p.path or None) for p in error.problems]
            )
        index = {event.id: f"events[{i}]" for i, event in enumerate(case.events)}
        return operation_outcome(replay_issues(engine, case, index.get))
    raise MalformedInputError.at(path, "neither a FHIR resource nor a ketenzorg case document")


def replay_issues(engine: Engine, case: Case, locate: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """Re-decide every recorded transition: a forged phase change is an error at its resource."""
    from ketenzorg.errors import TransitionBlockedError
    from ketenzorg.interop.validate import issue

    try:
        engine.replay(case.case_id, case.events)
    except TransitionBlockedError as error:
        where = locate(error.event_id) if error.event_id is not None else None
        return [issue("error", "business-rule", str(error), where)]
    return []


# --- what is written can be read back --------------------------------------------------------------


def ensure_loadable(data: bytes, fmt: Format, *, what: str) -> bytes:
    """``data`` itself when the readers above would accept it; else :class:`OutputLimitError`
    naming ``what`` and the limit it would break (nothing is written then).

    The check is the reader's own (size, nesting, the budgets on values, a bundle's entries), so a
    writer and its reader cannot disagree; it costs about one read of the result.
    """
    if len(data) > MAX_BYTES:
        raise OutputLimitError(
            what,
            f"{len(data):,} bytes of {fmt.upper()}: ketenzorg reads at most {MAX_BYTES:,} bytes "
            "(MAX_BYTES), so it is not written",
        )
    try:
        entries = _xml_entries(data, what) if fmt == "xml" else _json_entries(data, what)
    except MalformedInputError as error:
        found = "; ".join(p.message for p in error.problems)
        raise OutputLimitError(
            what, f"ketenzorg could not read it back ({found}), so it is not written"
        ) from None
    if entries > MAX_ENTRIES:
        raise OutputLimitError(
            what,
            f"{entries:,} entries: a bundle may hold at most {MAX_ENTRIES:,} (MAX_ENTRIES), "
            "so it is not written",
        )
    return data


def _json_entries(data: bytes, what: str) -> int:
    from ketenzorg.interop.safeinput import read_json

    value = read_json(data, source=what)
    entries = (
        value.get("entry") if isinstance(value, dict) and value.get("resourceType") == "Bundle" else None
    )
    return len(entries) if isinstance(entries, list) else 0


def _xml_entries(data: bytes, what: str) -> int:
    from ketenzorg.interop.fhirxml import FHIR_NS
    from ketenzorg.interop.safeinput import parse_xml

    root = parse_xml(data, source=what)
    if root.tag != f"{{{FHIR_NS}}}Bundle":
        return 0
    return sum(1 for _ in root.iterchildren(f"{{{FHIR_NS}}}entry"))
