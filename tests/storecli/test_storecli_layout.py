"""The shape of ``ketenzorg.storecli``: one concept per module, loaded only for ``store`` commands."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

STORECLI = Path(__file__).resolve().parents[2] / "src" / "ketenzorg" / "storecli"
MAX_LINES = 600


def _modules() -> dict[str, Path]:
    return {
        "ketenzorg.storecli" if p.stem == "__init__" else f"ketenzorg.storecli.{p.stem}": p
        for p in STORECLI.glob("*.py")
    }


def _module_level_imports(path: Path) -> set[str]:
    """The ketenzorg modules a file imports when it is imported (not inside a function)."""
    out: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("ketenzorg"))
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").startswith("ketenzorg")
        ):
            out.add(str(node.module))
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def test_no_module_of_storecli_is_over_the_size_limit() -> None:
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in _modules().items()}
    assert len(sizes) >= 6, "found too few modules"
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_the_package_itself_loads_only_the_options() -> None:
    """``ketenzorg.storecli`` gives cli.py what ``demo --store`` needs without the commands."""
    imported = _module_level_imports(STORECLI / "__init__.py")
    assert {i for i in imported if i.startswith("ketenzorg.")} <= {
        "ketenzorg.storecli.options",
        "ketenzorg.storecli.options.actor_options",
        "ketenzorg.storecli.options.store_option",
        "ketenzorg.case",
        "ketenzorg.case.Case",
        "ketenzorg.engine",
        "ketenzorg.engine.Engine",
    }


def _loaded_after(code: str) -> list[str]:
    probe = (
        "import sys, contextlib, io\n"
        f"{code}\n"
        "print(sorted(m for m in sys.modules if m.startswith(('ketenzorg.storecli', 'ketenzorg.store'))))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded: list[str] = ast.literal_eval(result.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize(
    "argv",
    [
        None,
        ["--help"],
        ["evaluate", "--help"],
        ["demo", "--help"],  # demo has --store, which needs the options only
        ["evaluate", "no-such-file.json"],
    ],
)
def test_other_commands_never_load_the_store_commands(argv: list[str] | None) -> None:
    if argv is None:
        code = "import ketenzorg.cli"
    else:
        code = (
            "from ketenzorg.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
            f"    with contextlib.suppress(SystemExit):\n        main({argv!r})"
        )
    loaded = _loaded_after(code)
    allowed = ["ketenzorg.storecli", "ketenzorg.storecli.options"] if argv and argv[0] == "demo" else []
    assert loaded == allowed


def test_help_still_lists_store_and_store_help_lists_its_commands() -> None:
    from tests.factories import run_cli

    top = run_cli("--help")
    assert top.returncode == 0
    assert "store" in top.stdout
    assert "work cases in a case store" in top.stdout
    store = run_cli("store", "--help")
    assert store.returncode == 0
    for command in ("open", "list", "show", "conference", "merge", "advance", "export", "destroy"):
        assert command in store.stdout
    show = run_cli("--debug", "store", "show", "--help")
    assert show.returncode == 0
    assert "--expected-version" in show.stdout
