"""Bulk export: many cases as FHIR NDJSON in the Bulk Data layout, for one recipient, each case logged.

Each case is disclosed to the recipient (:func:`ketenzorg.disclosure.disclose`: its profile, labels,
screening) and its redacted resources are appended to one file per resource type
(``Patient.ndjson``, ...; one resource a line, compact JSON, no Bundle). A ``manifest.json`` in the
shape of the Bulk Data export manifest lists the files and their line counts.

Constant memory: cases come one at a time and are dropped once written; the ids already written (a
resource shared by several cases is written once) are kept in an SQLite file in the work directory,
not in memory. All or nothing: everything is written under a temporary directory beside the output,
which is renamed into place only when the last case is written; any failure removes it.

One disclosure record per case, in ``manifest.json.disclosures.jsonl`` in the output directory
(:func:`~ketenzorg.disclosure.log_path_for` of the manifest): every resource of the case's bundle with
its version (``sent``: who received resource R stays answerable), and the SHA-256 of the exact lines
the case added to the files, in the order written (a resource shared with an earlier case is
written, and hashed, with that case).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

import attrs
import orjson

from ketenzorg.disclosure import Disclosure, Recipient, append_log, disclose, log_path_for
from ketenzorg.errors import FileWriteError, Problem, ValidationError
from ketenzorg.interop.definitions import V3_CONFIDENTIALITY
from ketenzorg.interop.terminology import CANONICAL

if TYPE_CHECKING:
    from ketenzorg.case import Case
    from ketenzorg.disclosure import DisclosureProfile
    from ketenzorg.engine import Engine

__all__ = ["MANIFEST", "BulkConflictError", "BulkExport", "bulk_export"]

MANIFEST: Final = "manifest.json"
SECURITY_EXTENSION: Final = f"{CANONICAL}/bulk/security"
"""The manifest's extension with what a Bundle would carry in ``meta.security``: the highest
confidentiality of the cases, the sensitivity, the purpose of use and the refrain policy."""
_CONFIDENTIALITY_ORDER: Final = "ULMNRV"
FORMAT: Final = "ndjson"
"""The format named in each disclosure record."""


class BulkConflictError(ValidationError):
    """Two cases carry one resource id with different content; nothing is exported."""


@attrs.frozen
class BulkExport:
    """What a bulk export wrote: the directory, the line count per resource type, the cases."""

    directory: Path
    counts: Mapping[str, int]
    cases: int
    log: Path


class _Seen:
    """The resources written so far, ``(type, id) -> version``, on disk (memory stays flat)."""

    def __init__(self, path: Path) -> None:
        # one transaction, never committed: the file is a scratch index, removed with the work directory
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE seen (key TEXT PRIMARY KEY, version TEXT NOT NULL) WITHOUT ROWID")

    def add(self, key: str, version: str) -> bool:
        """Whether ``key`` is new; a key seen before with another version is a conflict."""
        cursor = self._db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (key, version))
        if cursor.rowcount == 1:
            return True
        (stored,) = self._db.execute("SELECT version FROM seen WHERE key = ?", (key,)).fetchone()
        if stored != version:
            raise BulkConflictError(
                [Problem(key, "is exported by two cases with different content; nothing was exported")]
            )
        return False

    def close(self) -> None:
        self._db.close()


class _Labels:
    """The union of the cases' Bundle labels, confidentiality only at its highest (a bounded set)."""

    def __init__(self) -> None:
        self.confidentiality: dict[str, Any] | None = None
        self.others: dict[tuple[str, str], dict[str, Any]] = {}

    def add(self, bundle: Mapping[str, Any]) -> None:
        for label in bundle.get("meta", {}).get("security", ()):
            if label.get("system") == V3_CONFIDENTIALITY:
                rank = _CONFIDENTIALITY_ORDER.find(str(label.get("code")))
                if self.confidentiality is None or rank > _CONFIDENTIALITY_ORDER.find(
                    str(self.confidentiality.get("code"))
                ):
                    self.confidentiality = label
            else:
                self.others.setdefault((str(label.get("system")), str(label.get("code"))), label)

    def labels(self) -> list[dict[str, Any]]:
        first = [self.confidentiality] if self.confidentiality is not None else []
        return [*first, *self.others.values()]


def _manifest(at: str, request: str, counts: Mapping[str, int], security: list[dict[str, Any]]) -> bytes:
    return orjson.dumps(
        {
            "transactionTime": at,
            "request": request,
            "requiresAccessToken": False,
            "output": [
                {"type": kind, "url": f"{kind}.ndjson", "count": counts[kind]} for kind in sorted(counts)
            ],
            "error": [],
            "extension": {SECURITY_EXTENSION: security},
        },
        option=orjson.OPT_INDENT_2,
    )


def _prepare(out: Path, force: bool) -> None:
    if os.path.islink(out):
        raise FileWriteError(str(out), "is a symbolic link; it is not written through (give the real path)")
    if out.exists():
        if not out.is_dir():
            raise FileWriteError(str(out), "exists and is not a directory")
        if any(out.iterdir()) and not force:
            raise FileWriteError(str(out), "exists; it is replaced only when asked (--force)")


def _put_in_place(work: Path, out: Path) -> None:
    """Rename the finished ``work`` directory to ``out``, replacing an earlier export there."""
    old: Path | None = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rename(out, old / "export")
    try:
        os.rename(work, out)
    except OSError:
        if old is not None:
            os.rename(old / "export", out)
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def bulk_export(
    cases: Iterable[Case],
    out: str | os.PathLike[str],
    *,
    engine: Engine,
    recipient: Recipient,
    profiles: Mapping[str, DisclosureProfile] | None = None,
    screens: Iterable[Callable[[str], bool]] = (),
    types: Collection[str] | None = None,
    request: str | None = None,
    user: str | None = None,
    responsible_user: str | None = None,
    force: bool = False,
    on_disclosure: Callable[[Disclosure], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> BulkExport:
    """Write ``cases`` as ``recipient`` may receive them to the directory ``out`` (Bulk Data NDJSON).

    ``types`` keeps only those resource types (the Bulk Data ``_type`` parameter); the records then
    list only what was written. ``out`` must not exist or be empty, unless ``force``: an earlier
    export there is replaced, its disclosure log carried over. ``on_disclosure`` gets each case's
    completed record once its lines are written (a store records it in its audit log);
    ``progress`` gets the number of cases written so far. Raises :class:`FileWriteError` when the
    output cannot be written, and whatever a case's disclosure raises; nothing is left then.
    """
    if not isinstance(recipient, Recipient):
        raise ValidationError([Problem("recipient", "expected a Recipient")])
    target = Path(out)
    _prepare(target, force)
    wanted = None if types is None else frozenset(types)
    at = engine.clock().isoformat()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as error:
        raise FileWriteError(str(target), f"cannot be written ({error.strerror})") from None
    files: dict[str, IO[bytes]] = {}
    counts: dict[str, int] = {}
    seen = _Seen(work / ".seen.sqlite")
    log = log_path_for(work / MANIFEST)
    labels = _Labels()
    done = 0
    try:
        earlier = log_path_for(target / MANIFEST)
        if earlier.is_file() and not earlier.is_symlink():
            shutil.copyfile(earlier, log)  # the disclosures of the export replaced stay on record
        for case in cases:
            result = disclose(case, engine=engine, recipient=recipient, profiles=profiles, screens=screens)
            record = result.record
            labels.add(result.bundle)
            versions = {(s.type, s.id): s.version for s in record.sent}
            written: list[bytes] = []
            for entry in result.bundle.get("entry", ()):
                resource: dict[str, Any] = entry["resource"]
                kind = resource["resourceType"]
                if not (isinstance(kind, str) and kind.isascii() and kind.isalpha()):  # a file name
                    raise ValidationError([Problem("resourceType", "is not a FHIR resource type")])
                if wanted is not None and kind not in wanted:
                    continue
                line = orjson.dumps(resource) + b"\n"
                if not seen.add(f"{kind}/{resource['id']}", versions[(kind, resource["id"])]):
                    continue
                stream = files.get(kind)
                if stream is None:
                    stream = files[kind] = (work / f"{kind}.ndjson").open("xb")
                stream.write(line)
                counts[kind] = counts.get(kind, 0) + 1
                written.append(line)
            if wanted is not None:
                record = attrs.evolve(record, sent=tuple(s for s in record.sent if s.type in wanted))
            record = record.written(
                b"".join(written), format=FORMAT, user=user, responsible_user=responsible_user
            )
            append_log(log, record)
            if on_disclosure is not None:
                on_disclosure(record)
            done += 1
            if progress is not None:
                progress(done)
        for stream in files.values():
            stream.flush()
            os.fsync(stream.fileno())
            stream.close()
        seen.close()
        (work / ".seen.sqlite").unlink()
        (work / MANIFEST).write_bytes(
            _manifest(at, request or f"ketenzorg bulk-export --for {recipient.kind}", counts, labels.labels())
        )
        if not log.exists():
            log.touch()
        _put_in_place(work, target)
    except FileWriteError:
        raise
    except OSError as error:
        raise FileWriteError(str(target), f"cannot be written ({error.strerror})") from None
    finally:
        for stream in files.values():
            with contextlib.suppress(OSError):
                stream.close()
        seen.close()
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return BulkExport(directory=target, counts=dict(counts), cases=done, log=log_path_for(target / MANIFEST))
