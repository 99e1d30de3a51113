"""Helpers shared by the benchmark scripts in this folder: timing, formatting, meta data and output.

The scripts run as ``python benchmarks/bench_x.py``, so this folder is on ``sys.path`` and they
import this module as plain ``import _bench``. It is not part of the ``ketenzorg`` package.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import version
from typing import Any

Timing = dict[str, Any]
"""One measure: ``median_us``, ``min_us`` and ``reps``; the scripts add their own ratios to it."""

CLOCK = "time.perf_counter_ns, per call; median and min"
"""How ``measure`` times, as the report's ``meta.clock`` says it."""
CLOCK_INTERLEAVED = CLOCK + "; rounds interleaved"
"""How ``measure_all`` and ``measure_groups`` time, as the report's ``meta.clock`` says it."""


# --- timing ----------------------------------------------------------------------------------------


def measure_all(
    fns: Mapping[str, Callable[[], object]],
    rounds: int,
    budget_s: float,
    max_reps: int,
    min_reps: int = 5,
) -> dict[str, Timing]:
    """Time every function per call with perf_counter_ns, interleaved over ``rounds`` rounds (so
    that a slow spell of the machine does not fall on one measure only). In each round a function
    runs up to ``max_reps`` calls, stopping early (after at least ``min_reps``) when ``budget_s``
    is spent. One untimed warm-up call per function first. The GC stays enabled."""
    samples: dict[str, list[int]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for name, fn in fns.items():
            gc.collect()
            taken = samples[name]
            deadline = clock() + int(budget_s * 1e9)
            for n in range(max_reps):
                t0 = clock()
                fn()
                taken.append(clock() - t0)
                if n + 1 >= min_reps and clock() > deadline:
                    break
    return {
        name: {
            "median_us": statistics.median(taken) / 1000,
            "min_us": min(taken) / 1000,
            "reps": len(taken),
        }
        for name, taken in samples.items()
    }


def measure(fn: Callable[[], object], reps: int, budget_s: float, min_reps: int = 5) -> Timing:
    """Time one function per call: ``measure_all`` with a single function and a single round."""
    return measure_all({"fn": fn}, 1, budget_s, reps, min_reps)["fn"]


def measure_groups(
    groups: Mapping[str, Mapping[str, Callable[[], object]]],
    rounds: int,
    budget_s: float,
    max_reps: int,
    min_reps: int = 5,
) -> dict[str, dict[str, Timing]]:
    """``measure_all`` over the functions of all groups at once (interleaved across the groups too),
    with the timings split back into their groups, in the groups' order."""
    flat = {f"{group}.{name}": fn for group, fns in groups.items() for name, fn in fns.items()}
    timed = measure_all(flat, rounds, budget_s, max_reps, min_reps)
    return {group: {name: timed[f"{group}.{name}"] for name in fns} for group, fns in groups.items()}


def add_ratios(results: Mapping[str, Timing], ours: str = "ours", floor: str = "floor") -> None:
    """Add ``vs_ours`` and ``vs_floor`` (medians divided by those of ``ours`` and ``floor``) in place."""
    ours_us, floor_us = results[ours]["median_us"], results[floor]["median_us"]
    for r in results.values():
        r["vs_ours"] = r["median_us"] / ours_us
        r["vs_floor"] = r["median_us"] / floor_us


# --- formatting ------------------------------------------------------------------------------------


def us(value: float) -> str:
    """Microseconds: one decimal below 10,000, none above; thousands separated by commas."""
    return f"{value:,.1f}" if value < 10_000 else f"{value:,.0f}"


def x(value: float) -> str:
    """A ratio: two decimals below 10, one above, followed by ``x``."""
    return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"


def verdict(met: bool) -> str:
    """``MET`` or ``NOT MET``."""
    return "MET" if met else "NOT MET"


def table(headers: list[str], rows: Iterable[list[str]]) -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned, a rule under
    the headers, two spaces between columns."""
    all_rows = [headers, *rows]
    widths = [max(len(r[i]) for r in all_rows) for i in range(len(headers))]
    lines = []
    for n, r in enumerate(all_rows):
        cells = [r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def results_table(results: Mapping[str, Timing], labels: Mapping[str, str]) -> str:
    """The table of measures with ratios (after ``add_ratios``): median, min, reps, / ours, / floor."""
    rows = [
        [labels[key], us(r["median_us"]), us(r["min_us"]), str(r["reps"]), x(r["vs_ours"]), x(r["vs_floor"])]
        for key, r in results.items()
    ]
    return table(["measure", "median us", "min us", "reps", "/ ours", "/ floor"], rows)


# --- meta data, arguments and output ---------------------------------------------------------------


def versions(*packages: str) -> dict[str, str]:
    """The installed version of each package, by its distribution name."""
    return {name: version(name) for name in packages}


def meta(ketenzorg_version: str, quick: bool, extra: Mapping[str, Any], clock: str) -> dict[str, Any]:
    """The report's ``meta``: the versions and the machine, the mode, ``extra``, then the clock.
    The script adds ``total_s`` at the end of its run."""
    return {
        "ketenzorg": ketenzorg_version,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "cpus": os.cpu_count(),
        "quick": quick,
        **extra,
        "clock": clock,
    }


def machine_line(meta: Mapping[str, Any], tail: str) -> str:
    """The report's second line: Python, platform, CPUs and mode, then ``tail``."""
    return (
        f"Python {meta['python']} on {meta['platform']}, {meta['cpus']} CPU(s); "
        f"mode: {'quick' if meta['quick'] else 'full'}; {tail}"
    )


def parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser with ``--quick`` and ``--json``, described by the first line of ``doc``."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    p.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    return p


def emit(report: dict[str, Any], as_json: bool, print_report: Callable[[dict[str, Any]], None]) -> None:
    """Print the report: one JSON document (keys in their order) or, else, ``print_report``'s tables."""
    if as_json:
        print(json.dumps(report, indent=2, sort_keys=False))
    else:
        print_report(report)


def r4b_form(value: Any) -> Any:
    """``value`` without the primitive extensions of an extension's value (``_valueString``: the
    English translation of a text). FHIR R4 allows them, fhir.resources' R4B ``Extension`` model
    refuses them; the R4B baselines get this form, ours the whole bundle (so the comparison, if
    anything, favours the baseline, which has less to do)."""
    if isinstance(value, list):
        return [r4b_form(v) for v in value]
    if isinstance(value, dict):
        is_extension = "url" in value
        return {k: r4b_form(v) for k, v in value.items() if not (is_extension and k.startswith("_value"))}
    return value
