"""The README's promises: the embedding example runs, the quick start matches CI."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
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


POLICE = "9b289252eb9d5437a4346eed27d3c79d"  # the demo's police, the party the walkthrough's gate waits for


def test_the_store_walkthrough_runs_as_a_new_user_would(repo: Path, tmp_path: Path) -> None:
    """Open a case in the default store, record a conference with scores, see the blocked gate with
    party ids, record the missing score, advance, export: the README's store section, run as written."""
    readme = (repo / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Working a case in the store", 1)[1].split("\n## ", 1)[0]
    (script,) = _blocks(section, "sh")
    commands = [line for line in script.splitlines() if line.startswith("ketenzorg store")]
    verbs = [line.split()[2] for line in commands]
    assert verbs.index("open") < verbs.index("conference") < verbs.index("show") < verbs.index("score")
    assert verbs.index("score") < verbs.index("advance") < verbs.index("export")
    assert not any("--store" in line for line in commands), "the walkthrough uses the default store"
    assert "case-phase1.json" in script
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETENZORG_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        ["bash", "-e", "-x", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    # `store show` named the police, by id, as blocking the gate, before its score was recorded.
    blocked = re.search(rf"Parties blocking.*\n\s+{POLICE} \(chain partner: police", result.stdout)
    assert blocked is not None
    scored = result.stdout.index("recorded score")
    assert blocked.start() < scored < result.stdout.index("recorded advance")
    assert "every audit chain intact" in result.stdout
    assert json.loads((tmp_path / "bundle.json").read_text())["resourceType"] == "Bundle"
    assert (tmp_path / "ketenzorg.db").exists()  # the default store, in the working directory

    from ketenzorg import Engine
    from ketenzorg.store import CaseStore

    with CaseStore.open(tmp_path / "ketenzorg.db", engine=Engine()) as store:
        (info,) = store.cases()
        stored = store.load(info.case_id)
        audit = [record.entry for record in store.audit(info.case_id)]
    assert stored.case.state.phase is Phase.RISK_DRIVEN_CARE
    assert [entry.command for entry in audit] == [
        "store open",
        "store conference",
        "store score",
        "store advance",
        "store export",
    ]
    assert (audit[-1].action, audit[-1].recipient, audit[-1].user) == (
        "disclosure",
        "veilig-thuis:urn:oid:2.16.528.1.1007.3.3|01234567",
        "u-17",
    )
    full = audit[-1].disclosure
    assert full is not None
    assert full["profile"]["id"] == "veilig-thuis"
    assert full["sha256"] == hashlib.sha256((tmp_path / "bundle.json").read_bytes()).hexdigest()
    assert "profile veilig-thuis v1" in result.stdout  # `store disclosures` showed it
