"""The package: its resources, ``package.json``, ``.index.json``, and writing or checking it.

The committed package (``schemas/fhir/``) holds the shipped instruments only, so that it never
depends on the machine; :func:`write_package` writes the package of an installation, with the
Questionnaire and code systems of every installed instrument (``ketenzorg conformance --out``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import orjson

from ketenzorg.errors import FileWriteError, Problem, ValidationError
from ketenzorg.interop.canonical import canonical_base, questionnaire_canonical
from ketenzorg.interop.conformance.common import PACKAGE_NAME, package_version
from ketenzorg.interop.conformance.measures import measures
from ketenzorg.interop.conformance.profiles import profiles
from ketenzorg.interop.conformance.questionnaires import questionnaire
from ketenzorg.interop.conformance.structure import extension_definition
from ketenzorg.interop.conformance.terminology import terminology
from ketenzorg.interop.definitions import EXTENSIONS
from ketenzorg.interop.terminology import CANONICAL, FHIR_VERSION
from ketenzorg.pluginhost import RegisteredInstrument

__all__ = [
    "INSTALLED_PACKAGE_NAME",
    "check",
    "default_directory",
    "files",
    "main",
    "resources",
    "shipped_instruments",
    "write",
    "write_package",
]

INSTALLED_PACKAGE_NAME: Final = f"{PACKAGE_NAME}.installed"
"""The name of a package whose instruments are not exactly the shipped ones: never mistaken for
the published ``ketenzorg.fhir`` of the same version."""

Instruments = Mapping[str, RegisteredInstrument] | Sequence[RegisteredInstrument]
"""An engine's ``instruments`` (by id), or a list of registered instruments."""


def shipped_instruments() -> list[RegisteredInstrument]:
    """The shipped instruments (built-in plugins only, so the package never depends on the machine)."""
    from ketenzorg.engine import Engine

    registered = Engine().instruments
    return [registered[key] for key in sorted(registered)]


def _listed(instruments: Instruments | None) -> list[RegisteredInstrument]:
    if instruments is None:
        return shipped_instruments()
    values = instruments.values() if isinstance(instruments, Mapping) else instruments
    return sorted(values, key=lambda r: (canonical_base(r), r.spec.id))


def resources(instruments: Instruments | None = None) -> list[dict[str, Any]]:
    """Every resource of the package, in a stable order; ``instruments`` default to the shipped ones.

    Raises :class:`ValidationError` when two resources would have one type and id (or one URL).
    """
    listed = _listed(instruments)
    out = terminology(listed)
    out += [extension_definition(ext) for ext in EXTENSIONS]
    out += profiles()
    out += [questionnaire(registered) for registered in listed]
    out += measures()
    for key in ("id", "url"):
        seen = [(r["resourceType"], r[key]) for r in out]
        twice = sorted({k for k in seen if seen.count(k) > 1})
        if twice:
            where = ", ".join(f"{kind} {value}" for kind, value in twice)
            raise ValidationError([Problem("package", f"resources defined twice: {where}")])
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


def _is_shipped(listed: Sequence[RegisteredInstrument]) -> bool:
    ours = sorted(questionnaire_canonical(r) for r in listed)
    return ours == sorted(questionnaire_canonical(r) for r in shipped_instruments())


def _package_json(listed: Sequence[RegisteredInstrument]) -> dict[str, Any]:
    name, what = PACKAGE_NAME, "the questionnaires of the shipped instruments"
    how = "python -m ketenzorg.interop.conformance"
    if not _is_shipped(listed):
        bases = sorted({canonical_base(r) for r in listed} - {CANONICAL})
        name, how = INSTALLED_PACKAGE_NAME, "ketenzorg conformance"
        what = "the questionnaires and code systems of the instruments installed when it was written"
        if bases:
            what += f" (also under {', '.join(bases)})"
    return {
        "name": name,
        "version": package_version(),
        "type": "Conformance",
        "canonical": CANONICAL,
        "title": "ketenzorg: gefaseerde ketenzorg (phased chain care) in FHIR R4",
        "description": (
            "The conformance resources of the ketenzorg FHIR R4 mapping: code systems, value sets, "
            f"extensions, profiles and {what}. Generated from the code by {how}."
        ),
        "fhirVersions": [FHIR_VERSION],
        "dependencies": {"hl7.fhir.r4.core": FHIR_VERSION},
        "author": "ketenzorg developers",
        "license": "EUPL-1.2",
    }


def _dump(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"


def _by_filename(entry: Mapping[str, Any]) -> str:
    return str(entry["filename"])


def files(instruments: Instruments | None = None) -> dict[str, bytes]:
    """Every file of the package by its path relative to the package directory (``schemas/fhir``);
    ``instruments`` default to the shipped ones."""
    listed = _listed(instruments)
    generated = resources(listed)
    out = {"package/package.json": _dump(_package_json(listed))}
    index = {"index-version": 1, "files": sorted((_index_entry(r) for r in generated), key=_by_filename)}
    out["package/.index.json"] = _dump(index)
    for resource in generated:
        out[f"package/{_filename(resource)}"] = _dump(resource)
    return dict(sorted(out.items()))


def _existing(directory: Path) -> set[str]:
    package = directory / "package"
    if not package.is_dir():
        return set()
    return {path.relative_to(directory).as_posix() for path in package.rglob("*") if path.is_file()}


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def check(directory: Path | str) -> list[str]:
    """The files (relative to ``directory``) that are missing, differ from the generator, or are extra."""
    root = Path(directory)
    expected = files()
    stale = [name for name, data in expected.items() if _read(root / name) != data]
    stale += [name for name in _existing(root) if name not in expected]
    return sorted(stale)


def write(directory: Path | str) -> list[str]:
    """Write the shipped package into ``directory`` (``package/...``), remove files it no longer has;
    return the files written or removed (relative paths)."""
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


def write_package(directory: Path | str, instruments: Instruments, *, force: bool = False) -> list[str]:
    """Write the package of an installation (the profile and every one of ``instruments``) into
    ``directory``, each file atomically; return the files (relative paths).

    ``directory`` is created if needed; an existing one that is not empty is written into only with
    ``force``, which replaces the package's files and removes the other files of its ``package/``
    folder, so that the folder holds one package. Raises :class:`FileWriteError`.
    """
    from ketenzorg.files import write_atomically

    root = Path(directory)
    generated = files(instruments)  # before touching the disk: a clash leaves it as it was
    try:
        if root.is_symlink() or (root.exists() and not root.is_dir()):
            raise FileWriteError(str(root), "exists and is not a directory")
        if root.is_dir() and any(root.iterdir()) and not force:
            raise FileWriteError(str(root), "is not empty; it is written into only when asked (--force)")
        (root / "package").mkdir(parents=True, exist_ok=True)
        if force:
            for path in sorted((root / "package").iterdir()):
                if path.relative_to(root).as_posix() not in generated and not path.is_dir():
                    path.unlink()
    except FileWriteError:
        raise
    except OSError as error:
        raise FileWriteError(str(root), f"cannot be written ({error.strerror})") from None
    for name, data in generated.items():
        write_atomically(root / name, data, overwrite=force)
    return sorted(generated)


def default_directory() -> Path:
    """``schemas/fhir`` of the source checkout (or of the current directory when installed)."""
    repo = Path(__file__).resolve().parents[4]
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
