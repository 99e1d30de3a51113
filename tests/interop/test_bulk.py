"""Bulk export: FHIR NDJSON in the Bulk Data layout, per recipient, all or nothing, constant memory."""

from __future__ import annotations

import json
import os
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from hashlib import sha256
from pathlib import Path
from typing import Any

import orjson
import pytest

from ketenzorg.case import Case
from ketenzorg.disclosure import Disclosure, Recipient
from ketenzorg.engine import Engine
from ketenzorg.errors import FileWriteError, ValidationError
from ketenzorg.interop.bulk import MANIFEST, SECURITY_EXTENSION, BulkConflictError, bulk_export
from ketenzorg.monitor.synth import generate, synth_engine

MARKER = "qqbulkmarkerqq"
SCHEMA = Path(
    os.environ.get("KETENZORG_FHIR_R4", Path(__file__).resolve().parents[3] / "shared" / "fhir-r4")
) / ("fhir.schema.json")
OUTSIDE_POLICE = (f"rationale {MARKER}", f"notes {MARKER}", f"goal {MARKER}", f"reden {MARKER}")
"""Texts the synthetic cases carry that the police profile does not give (rationales, notes, goals,
the reason for opening): each must reach ``internal`` and never ``police``."""


@cache
def _validator(resource_type: str) -> Any:
    import jsonschema

    definitions = json.loads(SCHEMA.read_text(encoding="utf-8"))["definitions"]
    return jsonschema.Draft6Validator({"$ref": f"#/definitions/{resource_type}", "definitions": definitions})


def engine() -> Engine:
    return synth_engine(datetime(2026, 10, 1, tzinfo=UTC))


def cases(n: int, seed: int = 4) -> Iterator[Case]:
    return generate(n, seed=seed, marker=MARKER, engine=engine())


def read_export(directory: Path) -> tuple[dict[str, Any], dict[str, list[bytes]]]:
    manifest = json.loads((directory / MANIFEST).read_bytes())
    lines = {
        path.stem: path.read_bytes().splitlines(keepends=True) for path in sorted(directory.glob("*.ndjson"))
    }
    return manifest, lines


def read_log(directory: Path) -> list[Disclosure]:
    log = directory / f"{MANIFEST}.disclosures.jsonl"
    return [Disclosure.from_mapping(orjson.loads(line)) for line in log.read_bytes().splitlines()]


@pytest.fixture(scope="module", params=["internal", "police"])
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp("bulk") / request.param
    result = bulk_export(cases(6), out, engine=engine(), recipient=Recipient(request.param), user="u-1")
    assert result.cases == 6
    return request.param, out


def test_one_file_per_type_each_line_a_valid_resource_of_that_type(exported: tuple[str, Path]) -> None:
    _, out = exported
    _manifest, lines = read_export(out)
    assert lines, "nothing exported"
    errors = []
    for kind, found in lines.items():
        for number, line in enumerate(found):
            assert line.endswith(b"\n")
            assert b"\n" not in line[:-1]
            resource = orjson.loads(line)
            assert resource["resourceType"] == kind
            assert orjson.dumps(resource) + b"\n" == line  # compact JSON, one resource a line
            if SCHEMA.exists():
                errors += [f"{kind}:{number}: {e.message}" for e in _validator(kind).iter_errors(resource)]
    assert errors == []
    assert "Bundle" not in lines


def test_the_manifest_is_a_bulk_data_manifest_whose_counts_match_the_lines(
    exported: tuple[str, Path],
) -> None:
    kind, out = exported
    manifest, lines = read_export(out)
    assert set(manifest) == {
        "transactionTime",
        "request",
        "requiresAccessToken",
        "output",
        "error",
        "extension",
    }
    # what a Bundle would carry: the highest confidentiality, SDV, the purpose, no redisclosure
    codes = [label["code"] for label in manifest["extension"][SECURITY_EXTENSION]]
    assert codes[0] == "V"
    assert {"SDV", "NORDSCLCD", "TREAT" if kind == "internal" else "THREAT"} <= set(codes)
    assert "R" not in codes
    assert datetime.fromisoformat(manifest["transactionTime"]).tzinfo is not None
    assert manifest["requiresAccessToken"] is False
    assert manifest["error"] == []
    assert f"--for {kind}" in manifest["request"]
    assert {o["type"]: (o["url"], o["count"]) for o in manifest["output"]} == {
        k: (f"{k}.ndjson", len(v)) for k, v in lines.items()
    }


def test_the_profile_applies_as_for_a_single_export(exported: tuple[str, Path]) -> None:
    kind, out = exported
    text = b"".join(b"".join(v) for v in read_export(out)[1].values()).decode("utf-8")
    for planted in OUTSIDE_POLICE:
        assert (planted in text) is (kind == "internal"), planted
    if kind == "police":
        assert "QuestionnaireResponse" not in read_export(out)[1]


def test_one_disclosure_per_case_with_the_hash_of_its_lines(exported: tuple[str, Path]) -> None:
    kind, out = exported
    _, lines = read_export(out)
    records = read_log(out)
    assert [r.case_id for r in records] == [c.case_id for c in cases(6)]
    by_id = {(k, orjson.loads(line)["id"]): line for k, found in lines.items() for line in found}
    assert sum(len(r.sent) for r in records) == len(by_id)
    for record in records:
        assert record.recipient.kind == kind
        assert record.profile_id == kind
        assert record.format == "ndjson"
        assert record.user == "u-1"
        mine = b"".join(by_id[(s.type, s.id)] for s in record.sent)
        # the lines are appended per type, so the case's own bytes are its lines in the order sent
        assert record.sha256 == sha256(mine).hexdigest()
        for s in record.sent:  # each version is the SHA-256 of the resource's canonical JSON as sent
            assert len(s.version) == 64


def test_a_failure_midway_leaves_no_output_and_no_half_files(tmp_path: Path) -> None:
    def failing() -> Iterator[Case]:
        yield from cases(3)
        raise ValidationError([])

    out = tmp_path / "export"
    with pytest.raises(ValidationError):
        bulk_export(failing(), out, engine=engine(), recipient=Recipient("police"))
    assert list(tmp_path.iterdir()) == []


def test_a_failure_midway_leaves_an_earlier_export_as_it_was(tmp_path: Path) -> None:
    out = tmp_path / "export"
    bulk_export(cases(2), out, engine=engine(), recipient=Recipient("police"))
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def failing() -> Iterator[Case]:
        yield from cases(3, seed=9)
        raise ValidationError([])

    with pytest.raises(ValidationError):
        bulk_export(failing(), out, engine=engine(), recipient=Recipient("police"), force=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["export"]


def test_an_existing_export_is_replaced_only_with_force_and_its_log_is_kept(tmp_path: Path) -> None:
    out = tmp_path / "export"
    bulk_export(cases(2), out, engine=engine(), recipient=Recipient("police"))
    with pytest.raises(FileWriteError, match="--force"):
        bulk_export(cases(1), out, engine=engine(), recipient=Recipient("police"))
    bulk_export(cases(1, seed=7), out, engine=engine(), recipient=Recipient("gp"), force=True)
    assert [r.profile_id for r in read_log(out)] == ["police", "police", "gp"]
    manifest, lines = read_export(out)
    assert sum(o["count"] for o in manifest["output"]) == sum(len(v) for v in lines.values())
    assert [p.name for p in tmp_path.iterdir()] == ["export"]


def test_a_type_filter_keeps_only_those_types_and_the_log_says_so(tmp_path: Path) -> None:
    out = tmp_path / "export"
    bulk_export(cases(3), out, engine=engine(), recipient=Recipient("internal"), types={"Patient", "Goal"})
    _, lines = read_export(out)
    assert set(lines) == {"Patient", "Goal"}
    assert {s.type for r in read_log(out) for s in r.sent} == {"Patient", "Goal"}


def test_a_resource_shared_by_cases_is_written_once(tmp_path: Path) -> None:
    one = next(cases(1))
    out = tmp_path / "export"
    result = bulk_export([one, one], out, engine=engine(), recipient=Recipient("police"))
    _, lines = read_export(out)
    single = tmp_path / "single"
    bulk_export([one], single, engine=engine(), recipient=Recipient("police"))
    assert lines == read_export(single)[1]
    first, second = read_log(out)
    assert first.sent == second.sent  # both cases' records say R went to the recipient
    assert second.sha256 == sha256(b"").hexdigest()  # no line of its own: all written with the first
    assert result.cases == 2


def test_one_id_with_two_contents_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    one = next(cases(1))
    changed = engine().replay(one.case_id, one.events[:-1])
    with pytest.raises(BulkConflictError):
        bulk_export([one, changed], tmp_path / "export", engine=engine(), recipient=Recipient("internal"))
    assert list(tmp_path.iterdir()) == []


def test_every_disclosure_is_handed_on_and_progress_counts_the_cases(tmp_path: Path) -> None:
    handed: list[str] = []
    counted: list[int] = []
    bulk_export(
        cases(3),
        tmp_path / "export",
        engine=engine(),
        recipient=Recipient("police"),
        on_disclosure=lambda record: handed.append(str(record.sha256)),
        progress=counted.append,
    )
    assert handed == [str(r.sha256) for r in read_log(tmp_path / "export")]
    assert counted == [1, 2, 3]


def test_no_export_without_a_recipient(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="Recipient"):
        bulk_export(cases(1), tmp_path / "x", engine=engine(), recipient="police")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def _peak(n: int, out: Path) -> int:
    source = cases(n, seed=11)
    tracemalloc.start()
    try:
        bulk_export(source, out, engine=engine(), recipient=Recipient("police"))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_with_the_number_of_cases(tmp_path: Path) -> None:
    small = _peak(50, tmp_path / "small")
    large = _peak(500, tmp_path / "large")
    assert len(read_log(tmp_path / "large")) == 500
    assert large < 2 * small, (small, large)
