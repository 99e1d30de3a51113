"""``ketenzorg assess`` with a plugin's own scale, installed through its entry point: the level and
the actions are shown in the language asked for."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from factories import run_cli
from ketenzorg import caseformat

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The DASH-like plugin of ``test_results`` installed as the distribution ``org-dash5``."""
    site = tmp_path / "site"
    (site / "org_dash5").mkdir(parents=True)
    (site / "org_dash5" / "__init__.py").write_text(
        "from test_results import DashPlugin\n\nplugin = DashPlugin()\n", encoding="utf-8"
    )
    info = site / "org_dash5-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: org-dash5\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[ketenzorg]\norg.dash5 = org_dash5:plugin\n", encoding="utf-8")
    path = [str(site), str(TESTS), os.environ.get("PYTHONPATH")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, path)))
    return site


@pytest.mark.parametrize(
    ("lang", "level", "action"),
    [
        ("en", "level: high", "action: Refer to the MARAC"),
        ("nl", "niveau: hoog", "actie: Verwijs naar de MARAC"),
    ],
)
def test_assess_shows_the_level_and_the_actions(
    installed: Path, tmp_path: Path, lang: str, level: str, action: str
) -> None:
    from ketenzorg.demo import walk

    case = tmp_path / "case.json"
    case.write_bytes(caseformat.dumps(walk()[1].case))
    answers = tmp_path / "answers.json"
    answers.write_text(
        json.dumps(dict.fromkeys(("threats", "strangulation", "escalation", "separation", "fear"), True))
    )
    out = tmp_path / "new.json"
    result = run_cli(
        "assess", str(case), "org.dash5", str(answers), "--lang", lang,
        "--out", str(out), "--at", "2026-01-25T10:00:00+01:00",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert level in result.stdout
    assert action in result.stdout
    recorded = caseformat.loads(out.read_bytes()).events[-1]
    assert recorded.result.level == "high"  # type: ignore[attr-defined]
