"""Careful writes: atomic, never through a symbolic link, never over an existing file unasked."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from factories import GEWELDSANALYSE_ORANGE as ANSWERS
from factories import run_cli as run
from ketenzorg import FileWriteError, caseformat
from ketenzorg.demo import P_POLICE, walk
from ketenzorg.files import write_atomically


def test_a_new_file_is_written_for_its_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "case.json"
    write_atomically(target, b"{}")
    assert target.read_bytes() == b"{}"
    assert target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["case.json"]  # no temporary left


def test_an_existing_file_is_replaced_only_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "case.json"
    target.write_bytes(b"old")
    with pytest.raises(FileWriteError) as caught:
        write_atomically(target, b"new")
    assert "--force" in str(caught.value)
    assert target.read_bytes() == b"old"
    write_atomically(target, b"new", overwrite=True)
    assert target.read_bytes() == b"new"


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_symbolic_link_is_never_written_through(tmp_path: Path, overwrite: bool) -> None:
    victim = tmp_path / "elsewhere.txt"
    victim.write_bytes(b"precious")
    link = tmp_path / "out.json"
    link.symlink_to(victim)
    with pytest.raises(FileWriteError) as caught:
        write_atomically(link, b"x", overwrite=overwrite)
    assert "symbolic link" in str(caught.value)
    assert victim.read_bytes() == b"precious"
    assert link.is_symlink()


def test_a_failing_write_leaves_the_old_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "case.json"
    target.write_bytes(b"the whole old case")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(FileWriteError) as caught:
        write_atomically(target, b"half", overwrite=True)
    assert "No space left on device" in str(caught.value)
    assert target.read_bytes() == b"the whole old case"
    assert [p.name for p in tmp_path.iterdir()] == ["case.json"]


def test_a_directory_is_not_replaced(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    with pytest.raises(FileWriteError):
        write_atomically(tmp_path / "dir", b"x", overwrite=True)


# --- the command line --------------------------------------------------------------------------


def test_assess_out_over_its_own_input_needs_force(tmp_path: Path) -> None:
    case = tmp_path / "case.json"
    original = caseformat.dumps(walk()[1].case)
    case.write_bytes(original)
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(ANSWERS), encoding="utf-8")
    args = ("assess", str(case), "geweldsanalyse", str(answers), "--at", "2026-01-20T10:00:00+00:00")
    refused = run(*args, "--out", str(case))
    assert refused.returncode == 2
    assert "exists" in refused.stderr
    assert case.read_bytes() == original
    forced = run(*args, "--out", str(case), "--force")
    assert forced.returncode == 0, forced.stderr
    assert caseformat.loads(case.read_bytes()).state.latest_assessment("geweldsanalyse") is not None


def test_merge_out_refuses_an_existing_file_and_a_link(tmp_path: Path) -> None:
    case = tmp_path / "case.json"
    case.write_bytes(caseformat.dumps(walk()[3].case))
    bundle = tmp_path / "empty.json"
    bundle.write_text(json.dumps({"resourceType": "Bundle", "type": "collection"}), encoding="utf-8")
    existing = tmp_path / "existing.json"
    existing.write_bytes(b"keep")
    result = run("merge", str(case), str(bundle), "--from", P_POLICE.id, "--out", str(existing))
    assert existing.read_bytes() == b"keep"
    assert result.returncode == 2
    assert "exists" in result.stderr
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    link = tmp_path / "link.json"
    link.symlink_to(victim)
    result = run("merge", str(case), str(bundle), "--from", P_POLICE.id, "--out", str(link), "--force")
    assert victim.read_bytes() == b"precious"
    assert result.returncode == 2
    assert "symbolic link" in result.stderr


def test_demo_out_never_overwrites_unasked(tmp_path: Path) -> None:
    (tmp_path / "case.json").write_bytes(b"a real case")
    result = run("demo", "--out", str(tmp_path))
    assert result.returncode == 2
    assert "--force" in result.stderr
    assert (tmp_path / "case.json").read_bytes() == b"a real case"
    assert not (tmp_path / "bundle.json").exists()  # refused before anything was written
    forced = run("demo", "--out", str(tmp_path), "--force")
    assert forced.returncode == 0, forced.stderr
    assert caseformat.loads((tmp_path / "case.json").read_bytes()).events


def test_merge_out_over_its_own_input_is_whole_or_untouched(tmp_path: Path) -> None:
    case = tmp_path / "case.json"
    original = caseformat.dumps(walk()[3].case)
    case.write_bytes(original)
    bundle = tmp_path / "empty.json"
    bundle.write_text(json.dumps({"resourceType": "Bundle", "type": "collection"}), encoding="utf-8")
    refused = run("merge", str(case), str(bundle), "--from", "no-such-party", "--out", str(case), "--force")
    assert refused.returncode != 0
    assert case.read_bytes() == original  # a refused merge leaves its input as it was
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left
    merged = run("merge", str(case), str(bundle), "--from", P_POLICE.id, "--out", str(case), "--force")
    assert merged.returncode == 0, merged.stderr
    assert caseformat.loads(case.read_bytes()) == caseformat.loads(original)
