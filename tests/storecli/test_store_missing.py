"""A store command on an SQLite path that is not there refuses it and creates no file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.factories import run_cli

ACTOR = ("--user", "u-17", "--role", "practitioner", "--organisation", "org-1")


@pytest.mark.parametrize(
    "command",
    [
        ("list",),
        ("list", "--json"),
        ("show", "c-1"),
        ("verify",),
        ("retention",),
        ("export", "c-1", "--for", "veilig-thuis", *ACTOR),
        ("disclosures", "c-1"),
        ("received", "Patient/p-1"),
        ("score", "c-1", "--party", "p-1", "--score", "6", "--rationale", "ok", *ACTOR),
        ("advance", "c-1", *ACTOR),
        ("hold", "c-1", "--reason", "ref-1", *ACTOR),
    ],
)
def test_a_missing_store_is_refused_and_not_created(tmp_path: Path, command: tuple[str, ...]) -> None:
    store = tmp_path / "nowhere.db"
    result = run_cli("store", *command, "--store", str(store))
    assert result.returncode == 2, result.stderr
    assert f"no case store at {store}" in result.stderr
    assert result.stdout == ""
    assert os.listdir(tmp_path) == []


def test_the_default_store_is_refused_too_and_open_creates_it(tmp_path: Path) -> None:
    listed = run_cli("store", "list", cwd=tmp_path)
    assert listed.returncode == 2
    assert "no case store at ketenzorg.db" in listed.stderr
    assert not (tmp_path / "ketenzorg.db").exists()
    opened = run_cli(
        "store", "open", "--region", "R", "--lead-municipality", "L", "--municipality", "M", "--client", "C",
        *ACTOR, cwd=tmp_path,
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    assert (tmp_path / "ketenzorg.db").exists()
    assert run_cli("store", "list", cwd=tmp_path).returncode == 0
