"""``ketenzorg report``, run as a user would; ``ketenzorg demo --out`` writes the report too."""

from __future__ import annotations

import os
from pathlib import Path

import lxml.html
import pytest

from factories import run_cli as run


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    result = run("demo", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def test_demo_writes_the_report(demo_dir: Path) -> None:
    document = lxml.html.document_fromstring((demo_dir / "report.html").read_bytes())
    assert document.xpath("//svg[@id='timeline']")
    assert 0 < (demo_dir / "report.html").stat().st_size <= 1_000_000


@pytest.mark.parametrize("source", ["case-open.json", "bundle.json", "bundle.xml"])
def test_report_from_a_case_file_or_a_bundle(demo_dir: Path, tmp_path: Path, source: str) -> None:
    out = tmp_path / "report.html"
    result = run("report", str(demo_dir / source), "--lang", "nl", "--out", str(out))
    assert result.returncode == 0, result.stderr
    document = lxml.html.document_fromstring(out.read_bytes())
    assert document.get("lang") == "nl"
    assert "Tijdlijn" in document.text_content()
    assert os.stat(out).st_mode & 0o077 == 0  # case data: for its owner only


def test_report_to_stdout(demo_dir: Path) -> None:
    result = run("report", str(demo_dir / "case.json"), "--at", "2026-12-01T12:00:00+01:00")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("<!DOCTYPE html>")


def test_report_replaces_a_file_only_with_force(demo_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    out.write_text("kept")
    refused = run("report", str(demo_dir / "case.json"), "--out", str(out))
    assert refused.returncode == 2
    assert "--force" in refused.stderr
    assert out.read_text() == "kept"
    assert run("report", str(demo_dir / "case.json"), "--out", str(out), "--force").returncode == 0
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_report_of_a_missing_or_broken_case_is_a_usage_error(tmp_path: Path) -> None:
    missing = run("report", str(tmp_path / "nothing.json"))
    assert missing.returncode == 2
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert run("report", str(broken)).returncode == 2
