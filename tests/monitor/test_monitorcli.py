"""``ketenzorg monitor`` from a directory of case files, a store and a flat table."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest
from tests.factories import run_cli

from ketenzorg.caseformat import dumps
from ketenzorg.monitor import MonitorError, require
from ketenzorg.monitor.flat import write_parquet
from ketenzorg.monitor.synth import generate

MARKER = "qqclimarkerqq"


@pytest.fixture(scope="module")
def cases_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cases")
    for case in generate(30, seed=5, marker=MARKER):
        (root / f"{case.case_id}.json").write_bytes(dumps(case))
    return root


def read_csv(path: Path) -> list[dict[str, str]]:
    text = path.read_text(encoding="utf-8")
    assert MARKER not in text
    assert "case-" not in text
    return list(csv.DictReader(io.StringIO(text)))


def test_from_a_directory_of_case_files_by_municipality(cases_dir: Path, tmp_path: Path) -> None:
    result = run_cli(
        "monitor", str(cases_dir), "--period", "2025H2", "--by", "municipality", "--out", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    rows = read_csv(tmp_path / "monitor-2025H2-municipality.csv")
    assert {r["level"] for r in rows} == {"municipality", "lead_municipality", "region", "total"}
    assert all(r["period"] == "2025H2" for r in rows)
    total = next(r for r in rows if r["level"] == "total")
    assert int(total["scoring.total"]) >= 10


def test_from_a_store_and_from_a_table_the_same_figures(cases_dir: Path, tmp_path: Path) -> None:
    from ketenzorg.monitor.flat import cases_from_dir
    from ketenzorg.store import Actor, CaseStore
    from ketenzorg.testing import engine_with

    engine = engine_with()
    store_path = tmp_path / "cases.db"
    with CaseStore.open(store_path, engine=engine) as store:
        for case in cases_from_dir(cases_dir, engine):
            store.create(
                case, actor=Actor(user="u-1", role="practitioner", organisation="org"), command="test"
            )
    table = tmp_path / "events.parquet"
    write_parquet(cases_from_dir(cases_dir, engine), table)
    by_store = run_cli(
        "monitor", "--store", str(store_path), "--period", "2025H2", "--out", str(tmp_path / "a")
    )
    by_table = run_cli("monitor", str(table), "--period", "2025H2", "--out", str(tmp_path / "b"))
    assert by_store.returncode == 0, by_store.stderr
    assert by_table.returncode == 0, by_table.stderr
    a = (tmp_path / "a" / "monitor-2025H2-region.csv").read_text(encoding="utf-8")
    b = (tmp_path / "b" / "monitor-2025H2-region.csv").read_text(encoding="utf-8")
    assert a == b
    assert {r["level"] for r in read_csv(tmp_path / "a" / "monitor-2025H2-region.csv")} == {"region", "total"}


def test_bad_input_is_refused_without_echoing_it(tmp_path: Path) -> None:
    result = run_cli("monitor", str(tmp_path), "--period", "2026H3x", "--out", str(tmp_path))
    assert result.returncode == 1
    assert "2026H3x" not in result.stderr
    assert "half-year" in result.stderr
    missing = run_cli(
        "monitor", str(tmp_path / "nothing.parquet"), "--period", "2026H1", "--out", str(tmp_path)
    )
    assert missing.returncode == 1
    existing = tmp_path / "monitor-2026H1-region.csv"
    existing.write_text("x", encoding="utf-8")
    again = run_cli("monitor", str(tmp_path), "--period", "2026H1", "--out", str(tmp_path))
    assert again.returncode == 1
    assert existing.read_text(encoding="utf-8") == "x"


def test_a_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "duckdb", None)
    with pytest.raises(MonitorError, match=r"ketenzorg\[monitor\]"):
        require("duckdb")


def test_the_command_line_and_the_package_start_without_the_monitoring_libraries() -> None:
    probe = (
        "import sys\nfrom ketenzorg.cli import _parser\n_parser(['report'])\nimport ketenzorg\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('duckdb', 'pyarrow', 'sqlglot')"
        " or m.split('.')[:2] == ['ketenzorg', 'monitor']))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_by_lead_municipality_and_by_municipality_suppress_alike(cases_dir: Path, tmp_path: Path) -> None:
    for by in ("municipality", "lead-municipality"):
        result = run_cli("monitor", str(cases_dir), "--period", "2025H2", "--by", by, "--out", str(tmp_path))
        assert result.returncode == 0, result.stderr
    fine = read_csv(tmp_path / "monitor-2025H2-municipality.csv")
    coarse = read_csv(tmp_path / "monitor-2025H2-lead-municipality.csv")
    shared = [r for r in fine if r["level"] != "municipality"]
    assert shared
    assert shared == coarse


def test_the_flat_table_is_kept_for_analysts_without_personal_data(cases_dir: Path, tmp_path: Path) -> None:
    duckdb = require("duckdb")
    kept = tmp_path / "events.parquet"
    args = ("monitor", str(cases_dir), "--period", "2025H2", "--out", str(tmp_path / "figures"))
    result = run_cli(*args, "--table-out", str(kept))
    assert result.returncode == 0, result.stderr
    data = kept.read_bytes()
    assert MARKER.encode() not in data  # planted in every name, free text and address of the cases
    assert not any(case.stem.encode() in data for case in cases_dir.iterdir())  # case ids pseudonymised
    rows = duckdb.connect().execute("SELECT count(*) FROM read_parquet(?)", [str(kept)]).fetchone()
    assert rows is not None
    assert rows[0] > 30
    # the same figures from the kept table as from the case files it was built from
    again = run_cli("monitor", str(kept), "--period", "2025H2", "--out", str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr
    name = "monitor-2025H2-region.csv"
    assert (tmp_path / "again" / name).read_bytes() == (tmp_path / "figures" / name).read_bytes()
    before = kept.read_bytes()
    again_refused = run_cli("monitor", str(cases_dir), "--period", "2025H2", "--out", str(tmp_path / "x"),
                            "--table-out", str(kept))  # fmt: skip
    assert again_refused.returncode != 0
    assert kept.read_bytes() == before  # an existing table is replaced only with --force


def test_a_store_that_is_not_there_is_refused_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    result = run_cli("monitor", "--store", str(missing), "--period", "2025H2", "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    assert "no case store" in result.stderr
    assert not missing.exists()
    assert not (tmp_path / "o").exists()


def test_a_file_that_is_no_flat_table_is_refused_by_name(tmp_path: Path) -> None:
    fake = tmp_path / "fake.parquet"
    fake.write_bytes(b"not parquet at all")
    other = tmp_path / "other.parquet"
    pa, pq = require("pyarrow"), require("pyarrow.parquet")
    pq.write_table(pa.table({"x": [1]}), other)
    for source, why in ((fake, "not a Parquet file"), (other, "not a flat events table")):
        result = run_cli("monitor", str(source), "--period", "2026H1", "--out", str(tmp_path / "o"))
        assert result.returncode == 1, result.stderr  # a usage error, never an internal one (3)
        assert why in result.stderr
        assert not (tmp_path / "o").exists()


def test_a_bad_case_file_is_refused_naming_the_file_and_field(tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "a.json").write_text('{"case_id": 1, "note": "' + MARKER + '"}', encoding="utf-8")
    result = run_cli("monitor", str(cases), "--period", "2026H1", "--out", str(tmp_path / "o"))
    assert result.returncode == 2, result.stderr
    assert "a.json" in result.stderr
    assert "format" in result.stderr
    assert MARKER not in result.stderr
