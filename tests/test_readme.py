"""The README's promises: the embedding example runs, the quick start matches CI."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from ketenzorg import Phase, PhaseChanged, TransitionBlockedError, TransitionKind, caseformat
from ketenzorg.demo import walk


def _blocks(readme: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", readme, flags=re.S)


def test_embedding_example_runs(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (example,) = _blocks((repo / "README.md").read_text(encoding="utf-8"), "python")
    assert len(example.strip().splitlines()) <= 16
    # The demo case just after the first conference: the police scored 5.
    (tmp_path / "case.json").write_bytes(caseformat.dumps(walk()[1].case))
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(example, "README.md", "exec"), namespace)
    decision = namespace["decision"]
    case = namespace["case"]
    assert decision.may_advance  # type: ignore[attr-defined]
    assert case.state.phase is Phase.RISK_DRIVEN_CARE  # type: ignore[attr-defined]
    assert len(namespace["stored"]) == len(case.events)  # type: ignore[attr-defined, arg-type]
    assert case.unchecked_transitions == ()  # type: ignore[attr-defined]


def test_embedding_example_refuses_a_forged_stored_history(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example loads the stored case the safe way: a forged advance in it is refused."""
    (example,) = _blocks((repo / "README.md").read_text(encoding="utf-8"), "python")
    stored = walk()[1].case  # phase 1, the police at 5: no advance allowed
    forged = PhaseChanged(
        at=stored.state.latest_at,
        from_phase=Phase.IMMEDIATE_SAFETY,
        to_phase=Phase.RISK_DRIVEN_CARE,
        kind=TransitionKind.ADVANCE,
    )
    (tmp_path / "case.json").write_bytes(caseformat.dumps(stored.append(forged)))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TransitionBlockedError, match=r"phase_changed at .* was not allowed \(advance\."):
        exec(compile(example, "README.md", "exec"), {})


def test_rule_table_states_the_relapse_line_as_the_policy_applies_it(repo: Path) -> None:
    readme = (repo / "README.md").read_text(encoding="utf-8")
    (row,) = [line for line in readme.splitlines() if line.startswith("| `relapse.score`")]
    assert "below 6" not in row
    assert "first gate" in row
    assert "`advance_threshold`" in row
    assert "`relapse_threshold`" in row


def test_ci_runs_the_readme_test_command(repo: Path) -> None:
    readme = (repo / "README.md").read_text(encoding="utf-8")
    commands = [b.strip() for b in _blocks(readme, "sh")]
    test_command = next(c for c in commands if "pytest" in c)
    demo_command = next(c for c in commands if "ketenzorg demo" in c)
    ci = (repo / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()
    assert any(line.startswith(demo_command) for line in ci.splitlines())
    assert os.access(repo / ".ci" / "run", os.X_OK)
