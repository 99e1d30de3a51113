"""Time the start-up of whole processes: ``import ketenzorg``, ``--version``, and commands on the demo.

Every measure is one new process (the console script beside this interpreter, or the interpreter
itself), timed from start to exit with ``time.perf_counter_ns`` around ``subprocess.run``. The floor,
measured the same way in the same run, is ``python -c pass``: what any Python program pays. The
measures are interleaved (each round runs every command once, in a fixed order) so that a slow spell
of a shared machine does not fall on one measure only.

Measures:

* ``python -c "import ketenzorg"``: the package, as an application that embeds it imports it
* ``python -c "from ketenzorg import Engine"``: the package with the engine, for information
* ``ketenzorg --version``
* ``ketenzorg evaluate case.json``: the demo's case (``ketenzorg demo --out DIR`` writes it)
* ``ketenzorg export --format xml case.json --for internal --log LOG`` and
  ``ketenzorg convert --to xml bundle.json``
* ``ketenzorg report case.json``: the case report (HTML, to stdout) of the demo's case

Byte-compiled files are used warm, as in an installed package: the children write and read them in
a temporary folder (``PYTHONPYCACHEPREFIX``, also when ``PYTHONDONTWRITEBYTECODE`` is set), and every
command runs once before the timing. Targets (whole process, decided on the median): import 50 ms,
``--version`` 40 ms, ``evaluate`` 120 ms, ``export``/``convert`` to XML 200 ms, ``report`` 1 s. The
report also gives each median minus the floor and divided by it. The script always exits 0.

Run ``python benchmarks/bench_startup.py`` (``--quick`` for fewer rounds, ``--json`` for
machine-readable output, ``--importtime`` to add the slowest imports of each command as
``python -X importtime`` reports them). See ``benchmarks/README.md``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _bench

ROUNDS = 40
QUICK_ROUNDS = 8
TARGETS_MS: dict[str, float] = {
    "import": 50.0,
    "version": 40.0,
    "evaluate": 120.0,
    "export_xml": 200.0,
    "convert_xml": 200.0,
    "report": 1000.0,
}
"""Whole-process targets in ms; the other measures are for information."""
LABELS = {
    "floor": "python -c pass (floor)",
    "import": "python -c 'import ketenzorg'",
    "import_engine": "python -c 'from ketenzorg import Engine'",
    "version": "ketenzorg --version",
    "evaluate": "ketenzorg evaluate case.json",
    "export_xml": "ketenzorg export --format xml case.json --for internal --log LOG",
    "convert_xml": "ketenzorg convert --to xml bundle.json",
    "report": "ketenzorg report case.json --for internal --log LOG",
}
CONSOLE_SCRIPT = "import re, sys\nfrom ketenzorg.cli import main\nsys.exit(main(sys.argv[1:]))"
"""What the ``ketenzorg`` console script that pip writes runs (it imports ``re`` too)."""
IMPORTTIME_TOP = 12
"""How many of the slowest imports ``--importtime`` lists per command (by cumulative time)."""


def console_script() -> str:
    """The ``ketenzorg`` console script installed beside this interpreter."""
    script = Path(sys.executable).with_name("ketenzorg")
    if not script.exists():
        sys.exit(f"bench_startup.py needs the console script {script} (pip install -e .)")
    return str(script)


def commands(script: str, demo: Path) -> dict[str, list[str]]:
    """Name -> argv of every measure, the floor first."""
    python = sys.executable
    return {
        "floor": [python, "-c", "pass"],
        "import": [python, "-c", "import ketenzorg"],
        "import_engine": [python, "-c", "from ketenzorg import Engine"],
        "version": [script, "--version"],
        "evaluate": [script, "evaluate", str(demo / "case.json")],
        "export_xml": [
            script,
            *("export", "--format", "xml", str(demo / "case.json"), "--for", "internal"),
            *("--log", str(demo / "export.disclosures.jsonl")),
        ],
        "convert_xml": [script, "convert", "--to", "xml", str(demo / "bundle.json")],
        "report": [
            script,
            *("report", str(demo / "case.json"), "--for", "internal"),
            *("--log", str(demo / "report.disclosures.jsonl")),
        ],
    }


def child_env(pycache: Path) -> dict[str, str]:
    """The environment of every child: this one, with byte-compiled files kept in ``pycache``."""
    dropped = ("PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def run_once(argv: list[str], env: dict[str, str]) -> int:
    """Run ``argv`` to its end; its wall time in ns. A failing command stops the benchmark."""
    t0 = time.perf_counter_ns()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter_ns() - t0
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", errors="replace").strip().splitlines()[-1:]
        sys.exit(f"{' '.join(argv)} exited {done.returncode}: {tail}")
    return elapsed


def check(cmds: dict[str, list[str]], env: dict[str, str], version: str) -> None:
    """Before timing: ``--version`` prints the package's version, ``evaluate`` prints a decision."""
    out = subprocess.run(cmds["version"], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"ketenzorg {version}", out
    out = subprocess.run(cmds["evaluate"], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip(), "evaluate printed nothing"
    out = subprocess.run(cmds["export_xml"], env=env, capture_output=True, text=True, check=True).stdout
    assert out.lstrip().startswith("<?xml"), "export --format xml did not write XML"
    out = subprocess.run(cmds["report"], env=env, capture_output=True, text=True, check=True).stdout
    assert out.startswith("<!DOCTYPE html>"), "report did not write HTML"


def importtime(argv: list[str], env: dict[str, str]) -> list[dict[str, Any]]:
    """The slowest imports of one command by cumulative time, as ``-X importtime`` reports them."""
    if argv[0] != sys.executable:  # the console script: what it runs, under this interpreter
        argv = [sys.executable, "-X", "importtime", "-c", CONSOLE_SCRIPT, *argv[1:]]
    else:
        argv = [argv[0], "-X", "importtime", *argv[1:]]
    err = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True).stderr
    rows: list[dict[str, Any]] = []
    for line in err.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        own, total, name = line.removeprefix("import time:").split("|")
        rows.append({"module": name.strip(), "self_ms": int(own) / 1000, "cumulative_ms": int(total) / 1000})
    return sorted(rows, key=lambda r: -r["cumulative_ms"])[:IMPORTTIME_TOP]


def run(quick: bool, with_importtime: bool) -> dict[str, Any]:
    import ketenzorg  # only for its version: the children are what is timed

    script = console_script()
    rounds = QUICK_ROUNDS if quick else ROUNDS
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as folder:
        demo, env = Path(folder) / "demo", child_env(Path(folder) / "pycache")
        subprocess.run([script, "demo", "--out", str(demo)], env=env, stdout=subprocess.DEVNULL, check=True)
        cmds = commands(script, demo)
        check(cmds, env, ketenzorg.__version__)
        for argv in cmds.values():  # warm: byte-compiled files written, file caches filled
            run_once(argv, env)
        samples: dict[str, list[int]] = {name: [] for name in cmds}
        for _ in range(rounds):
            for name, argv in cmds.items():
                samples[name].append(run_once(argv, env))
        imports = {}
        if with_importtime:
            imports = {name: importtime(argv, env) for name, argv in cmds.items() if name != "floor"}
    floor_ms = statistics.median(samples["floor"]) / 1e6
    results: dict[str, dict[str, Any]] = {}
    for name, taken in samples.items():
        median_ms = statistics.median(taken) / 1e6
        target = TARGETS_MS.get(name)
        results[name] = {
            "median_ms": median_ms,
            "min_ms": min(taken) / 1e6,
            "runs": len(taken),
            "minus_floor_ms": median_ms - floor_ms,
            "vs_floor": median_ms / floor_ms,
            "target_ms": target,
            "met": None if target is None else median_ms <= target,
        }
    return {"results": results, "importtime": imports, "ketenzorg": ketenzorg.__version__, "rounds": rounds}


def print_report(report: dict[str, Any]) -> None:
    meta = report["meta"]
    print("ketenzorg: start-up of whole processes (one new process per run, warm byte-compiled files)")
    print(_bench.machine_line(meta, f"{meta['rounds']} interleaved rounds; {meta['total_s']:.0f} s in all"))
    print()
    rows = []
    for name, r in report["results"].items():
        target = "" if r["target_ms"] is None else f"<= {r['target_ms']:.0f}: {_bench.verdict(r['met'])}"
        rows.append(
            [
                LABELS[name],
                f"{r['median_ms']:.1f}",
                f"{r['min_ms']:.1f}",
                str(r["runs"]),
                f"{r['minus_floor_ms']:.1f}",
                _bench.x(r["vs_floor"]),
                target,
            ]
        )
    headers = ["measure", "median ms", "min ms", "runs", "- floor ms", "/ floor", "target (median ms)"]
    print(_bench.table(headers, rows))
    for name, top in report["importtime"].items():
        print()
        print(f"slowest imports of {LABELS[name]} (python -X importtime; cumulative, then self, in ms):")
        print(
            _bench.table(
                ["module", "cumulative", "self"],
                [[r["module"], f"{r['cumulative_ms']:.1f}", f"{r['self_ms']:.1f}"] for r in top],
            )
        )


def main(argv: list[str] | None = None) -> int:
    parser = _bench.parser(__doc__)
    parser.add_argument(
        "--importtime", action="store_true", help="also list the slowest imports of each command"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = run(args.quick, args.importtime)
    extra = {"rounds": result.pop("rounds"), "targets_ms": TARGETS_MS}
    clock = "time.perf_counter_ns around subprocess.run, per process; median and min"
    report = {"meta": _bench.meta(result.pop("ketenzorg"), args.quick, extra, clock), **result}
    report["meta"]["total_s"] = time.perf_counter() - started
    _bench.emit(report, args.json, print_report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
