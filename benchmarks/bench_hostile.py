"""Measure what hostile inputs inside the 32 MiB limit cost the command line, in time and memory.

The script writes each input to a temporary folder and runs ``ketenzorg evaluate FILE`` and
``ketenzorg validate FILE`` on it, one subprocess per measurement (the console script beside this
interpreter), taking the wall time and the peak resident set size of that subprocess (``ru_maxrss``
of ``RUSAGE_CHILDREN`` in a small launcher that starts only that subprocess). The baseline for each
input is a plain interpreter that reads the same file (``python -c "open(path, 'rb').read()"``),
measured the same way in the same run.

Inputs, in three groups:

hostile, 30 MiB each (inside the 32 MiB limit, as an attacker would choose them):

* ``[]`` array, ``{}`` array   ``[[],[],...]`` and ``[{},{},...]``
* keys in one object          ``{"0":{},"1":{},...}``
* deep nesting (63)           arrays nested 63 levels deep, side by side (inside the outer array
                              that is 64, the limit, so each is allowed)
* small strings               ``["ab","ab",...]``
* decimals                    ``[1.5,1.5,...]``
* empty case events           a case document whose events are ``{},{},...``
* ``<entry/>`` XML            empty ``<entry/>`` elements in a FHIR Bundle
* XML attributes              entries with 100,000 attributes each

at the budget (only when the readers have node budgets): for the costliest shapes per byte, the
largest input the budgets let through (worked out from the budgets, and checked: accepted, one
item more refused). This is the worst an input can cost once it is parsed in full.

legitimate, for comparison: the demo case (``ketenzorg.demo``) with 24,000 extra incidents
exported with ``case_to_bundle`` as compact JSON, and with 20,000 as compact XML (``to_xml``): as
many as fit in 32 MiB (an incident takes about 1.3 kB of JSON, 1.6 kB of XML).

``--quick`` makes the hostile and legitimate inputs 8x smaller and leaves the budget group out.

Per input and command the report gives the size, the exit status, the wall time, the peak RSS,
RSS / size, and the growth over the baseline divided by the size: ``(peak - baseline peak) / size``.
The target is a growth of at most 10x the size; a verdict line per group says whether it is met,
with the worst ratio, the highest peak and the slowest run. The script always exits 0.

Run ``python benchmarks/bench_hostile.py`` (``--quick`` for smaller inputs, ``--json`` for
machine-readable output, ``--only NAME`` to run some inputs only). See ``benchmarks/README.md``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import _bench
import orjson

try:
    import ketenzorg
except ImportError:  # running from a checkout without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    import ketenzorg

from ketenzorg.case import Case
from ketenzorg.demo import walk
from ketenzorg.disclosure import Recipient
from ketenzorg.domain import IncidentSeverity
from ketenzorg.engine import Engine
from ketenzorg.events import IncidentReported
from ketenzorg.interop import safeinput
from ketenzorg.interop.fhir import case_to_bundle
from ketenzorg.interop.fhirxml import to_xml
from ketenzorg.interop.safeinput import read_json

ENGINE = Engine()
"""The engine every export and import of this benchmark is given (the shipped plugins)."""

MIB = 1024 * 1024
HOSTILE_SIZE = 30 * MIB
"""The size of the hostile inputs: inside the 32 MiB limit, as an attacker would choose it."""
GROWTH_TARGET = 10.0
"""Peak RSS growth over the baseline at most this many times the input size, for hostile inputs."""
TIMEOUT_S = 600.0
"""A run that takes longer is stopped and reported as such."""
COMMANDS = ("evaluate", "validate")
BASELINE = "import sys; open(sys.argv[1], 'rb').read()"
"""The baseline: a plain interpreter that reads the same file."""
LEGIT_JSON_INCIDENTS = 24_000
"""As many incidents as fit in 32 MiB of the export's compact JSON (about 1.3 kB each)."""
LEGIT_XML_INCIDENTS = 20_000
"""As many incidents as fit in 32 MiB of compact XML (about 1.6 kB each)."""
FHIR_NS = b'xmlns="http://hl7.org/fhir"'


# --- the inputs --------------------------------------------------------------------------------------


def repeated(head: bytes, item: bytes, tail: bytes, size: int, last: bytes | None = None) -> bytes:
    """``head``, then ``item`` as often as fits in ``size`` bytes (the last one as ``last``), ``tail``."""
    count = max(1, (size - len(head) - len(tail)) // len(item))
    return head + item * (count - 1) + (item.rstrip(b",") if last is None else last) + tail


def items(head: bytes, item: bytes, n: int, tail: bytes) -> bytes:
    """``head``, ``n`` times ``item`` separated by commas, ``tail``."""
    return head + b",".join([item] * n) + tail


def keys_object(n: int, value: bytes = b"{}") -> bytes:
    """One object with ``n`` distinct keys: ``{"0":{},"1":{},...}``."""
    return b"{" + b",".join(b'"%x":%s' % (i, value) for i in range(n)) + b"}"


def keys_object_of_size(size: int) -> bytes:
    """``keys_object`` with as many keys as fit in ``size`` bytes (from above, a few steps)."""
    n = size // 8
    while len(data := keys_object(n)) > size:
        n = min(n - 1, int(n * size / len(data)))
    return data


def deep_arrays(size: int) -> bytes:
    """Arrays nested 63 levels deep (inside the outer array: 64, the limit), side by side."""
    one = b"[" * 63 + b"]" * 63
    return repeated(b"[", one + b",", b"]", size, last=one)


BUNDLE_HEAD = b"<Bundle " + FHIR_NS + b'><type value="collection"/>'


def entries_xml(n: int) -> bytes:
    return BUNDLE_HEAD + b"<entry/>" * n + b"</Bundle>"


def attributes_xml(elements: int, per_element: int) -> bytes:
    """``elements`` entries with ``per_element`` attributes each (libxml2 takes a tag of 10 MB at most)."""
    tag = b"<entry " + b" ".join(b'a%x=""' % i for i in range(per_element)) + b"/>"
    return BUNDLE_HEAD + tag * elements + b"</Bundle>"


def case_events(n: int) -> bytes:
    """A case document with ``n`` empty events: valid JSON, every event wrong."""
    return items(b'{"format":"ketenzorg.case","version":1,"case_id":"x","events":[', b"{}", n, b"]}")


def legit_bundle(incidents: int) -> dict[str, Any]:
    """The demo case (without its closing) with ``incidents`` more, minor and not acute, as a bundle."""
    case = walk(Engine())[-1].case
    events = list(case.events[:-1])
    reporter = next(e.reported_by for e in events if isinstance(e, IncidentReported))
    start = events[-1].at
    events += [
        IncidentReported(
            id=f"incident-{n:06d}",
            at=start + timedelta(minutes=2 * (n + 1)),
            severity=IncidentSeverity.MINOR,
            acute=False,
            reported_by=reporter,
        )
        for n in range(incidents)
    ]
    return case_to_bundle(Case(case.case_id, tuple(events)), recipient=Recipient.internal(), engine=ENGINE)


def hostile_inputs(size: int) -> dict[str, Callable[[], bytes]]:
    """The hostile inputs of ``size`` bytes (about)."""
    per_element = 100_000  # about 0.9 MiB per tag
    return {
        "[] array": lambda: repeated(b"[", b"[],", b"]", size),
        "{} array": lambda: repeated(b"[", b"{},", b"]", size),
        "keys in one object": lambda: keys_object_of_size(size),
        "deep nesting (63)": lambda: deep_arrays(size),
        "small strings": lambda: repeated(b"[", b'"ab",', b"]", size),
        "decimals": lambda: repeated(b"[", b"1.5,", b"]", size),
        "empty case events": lambda: repeated(case_events(0)[:-2], b"{},", b"]}", size),
        "<entry/> XML": lambda: repeated(BUNDLE_HEAD, b"<entry/>", b"</Bundle>", size, last=b"<entry/>"),
        "XML attributes": lambda: attributes_xml(size // (per_element * 9), per_element),
    }


def budget_inputs() -> dict[str, Callable[[], bytes]]:
    """The largest inputs of the costliest shapes that the readers' node budgets let through.

    Worked out from the budgets (containers ``C``, values ``V``, decimals ``D``, XML nodes ``N``)
    and checked: the input is accepted by the reader, one item more is refused.
    """
    try:
        from ketenzorg import strictjson
    except ImportError:  # readers without node budgets: nothing to show
        return {}
    c, v, d = strictjson.MAX_CONTAINERS, strictjson.MAX_VALUES, strictjson.MAX_DECIMALS
    n_xml = safeinput.MAX_XML_NODES
    per_element = 99_999
    makers: dict[str, tuple[Callable[[int], bytes], int, Callable[[bytes], object]]] = {
        # [{"a":0},...]: n + 1 containers, 3n values
        "objects with a key": (lambda n: items(b"[", b'{"a":0}', n, b"]"), min(c - 1, v // 3), read_json),
        "small strings": (lambda n: items(b"[", b'"ab"', n, b"]"), v, read_json),
        "decimals": (lambda n: items(b"[", b"1.5", n, b"]"), min(d, v), read_json),
        "keys in one object": (lambda n: keys_object(n, b"0"), v // 2, read_json),  # 2n values
        "empty case events": (case_events, min(c - 2, (v - 8) // 2), read_json),
        "<entry/> XML": (entries_xml, n_xml - 3, safeinput.parse_xml),  # Bundle, type and its value
        "XML attributes": (
            lambda m: attributes_xml(m, per_element),
            (n_xml - 3) // (per_element + 1),
            safeinput.parse_xml,
        ),
    }

    def largest(make: Callable[[int], bytes], n: int, read: Callable[[bytes], object]) -> bytes:
        data = make(n)
        read(data)  # accepted
        try:
            read(make(n + 1))
        except safeinput.UnsafeInputError as error:
            if "more than" not in str(error):
                raise AssertionError(f"refused for another reason: {error}") from None
        else:
            raise AssertionError("one item more than the budget is accepted")
        return data

    return {
        f"{name}, at the budget": lambda make=make, n=n, read=read: largest(make, n, read)
        for name, (make, n, read) in makers.items()
    }


def inputs(quick: bool) -> dict[str, tuple[str, Callable[[], bytes]]]:
    """Name -> (group, maker). ``--quick`` makes everything 8x smaller and leaves the budget group out."""
    scale = 8 if quick else 1
    json_incidents, xml_incidents = LEGIT_JSON_INCIDENTS // scale, LEGIT_XML_INCIDENTS // scale
    legit: dict[str, Callable[[], bytes]] = {
        f"legit JSON ({json_incidents:,} incidents)": lambda: orjson.dumps(legit_bundle(json_incidents)),
        f"legit XML ({xml_incidents:,} incidents)": lambda: to_xml(legit_bundle(xml_incidents), pretty=False),
    }
    return {
        **{name: ("hostile", make) for name, make in hostile_inputs(HOSTILE_SIZE // scale).items()},
        **{name: ("at the budget", make) for name, make in ({} if quick else budget_inputs()).items()},
        **{name: ("legitimate", make) for name, make in legit.items()},
    }


# --- one measured subprocess -------------------------------------------------------------------------


LAUNCHER = """
import json, resource, subprocess, sys, time
timeout, argv = float(sys.argv[1]), sys.argv[2:]
started = time.perf_counter()
process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
try:
    _, err = process.communicate(timeout=timeout)
    status = process.returncode
except subprocess.TimeoutExpired:
    process.kill()
    _, err = process.communicate()
    status = "timeout"
elapsed = time.perf_counter() - started
lines = err.decode("utf-8", errors="replace").strip().splitlines()
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux; one child only
print(json.dumps({"exit": status, "time_s": elapsed, "peak_mib": peak / 1024,
                  "message": lines[-1][:160] if lines else ""}))
"""
"""Runs one command and reports its exit status, wall time and peak RSS as JSON.

A small interpreter of its own starts each measured process, so that the process's peak RSS is
not inflated by the (large) benchmark process it would otherwise be forked from: Linux keeps the
peak of the forked copy across ``exec``. The launcher has one child, so ``RUSAGE_CHILDREN`` is
that child's.
"""


def run_measured(argv: list[str]) -> dict[str, Any]:
    """Run ``argv`` once, through the launcher; its exit status, wall time and peak RSS (MiB)."""
    launched = subprocess.run(
        [sys.executable, "-c", LAUNCHER, str(TIMEOUT_S), *argv], capture_output=True, check=True
    )
    result: dict[str, Any] = orjson.loads(launched.stdout)
    return result


def console_script() -> str:
    """The ``ketenzorg`` console script installed beside this interpreter."""
    script = Path(sys.executable).with_name("ketenzorg")
    if not script.exists():
        sys.exit(f"bench_hostile.py needs the console script {script} (pip install -e .)")
    return str(script)


# --- the run -----------------------------------------------------------------------------------------


def run(quick: bool, only: list[str]) -> dict[str, Any]:
    script = console_script()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as folder:
        for n, (name, (group, make)) in enumerate(inputs(quick).items()):
            if only and not any(word.lower() in name.lower() for word in only):
                continue
            data = make()
            path = Path(folder) / f"input-{n}.{'xml' if data.lstrip()[:1] == b'<' else 'json'}"
            path.write_bytes(data)
            del data
            size = path.stat().st_size
            base = run_measured([sys.executable, "-c", BASELINE, str(path)])
            for command in COMMANDS:
                measured = run_measured([script, command, str(path)])
                rows.append(
                    {
                        "input": name,
                        "group": group,
                        "size_mib": size / MIB,
                        "command": command,
                        **measured,
                        "rss_per_size": measured["peak_mib"] * MIB / size,
                        "baseline_peak_mib": base["peak_mib"],
                        "baseline_time_s": base["time_s"],
                        "growth_per_size": (measured["peak_mib"] - base["peak_mib"]) * MIB / size,
                    }
                )
            path.unlink()
    return {"rows": rows, "targets": {group: summary(rows, group) for group in GROUPS}}


GROUPS = ("hostile", "at the budget", "legitimate")


def summary(rows: list[dict[str, Any]], group: str) -> dict[str, Any] | None:
    """The target for one group of inputs: met or not, the worst growth, the highest peak, the slowest."""
    chosen = [r for r in rows if r["group"] == group]
    if not chosen:
        return None

    def name(r: dict[str, Any]) -> str:
        return f"{r['input']} / {r['command']}"

    worst = max(chosen, key=lambda r: r["growth_per_size"])
    highest = max(chosen, key=lambda r: r["peak_mib"])
    slowest = max(chosen, key=lambda r: r["time_s"])
    return {
        "growth_target": GROWTH_TARGET,
        "met": all(r["growth_per_size"] <= GROWTH_TARGET for r in chosen),
        "worst": name(worst),
        "worst_growth_per_size": worst["growth_per_size"],
        "highest": name(highest),
        "highest_peak_mib": highest["peak_mib"],
        "slowest": name(slowest),
        "slowest_s": slowest["time_s"],
        "all_exit_0": all(r["exit"] == 0 for r in chosen),
    }


# --- output ------------------------------------------------------------------------------------------


def print_report(report: dict[str, Any]) -> None:
    meta = report["meta"]
    print("ketenzorg: hostile inputs inside the size limit, per command (one subprocess each)")
    print(_bench.machine_line(meta, f"{meta['total_s']:.0f} s in all"))
    headers = ["input", "MiB", "command", "exit", "time s", "peak MiB", "RSS/size", "base MiB", "growth/size"]
    for group in GROUPS:
        rows = [
            [
                r["input"],
                f"{r['size_mib']:.1f}",
                r["command"],
                str(r["exit"]),
                f"{r['time_s']:.1f}",
                f"{r['peak_mib']:,.0f}",
                _bench.x(r["rss_per_size"]),
                f"{r['baseline_peak_mib']:,.0f}",
                _bench.x(r["growth_per_size"]),
            ]
            for r in report["rows"]
            if r["group"] == group
        ]
        if rows:
            print()
            print(f"{group}:")
            print(_bench.table(headers, rows))
    print()
    print(
        "base MiB: peak RSS of a plain interpreter reading the same file; growth/size: (peak - base) / size"
    )
    for group, target in report["targets"].items():
        if target is None:
            continue
        tail = (
            f"worst {_bench.x(target['worst_growth_per_size'])} ({target['worst']}), "
            f"highest peak {target['highest_peak_mib']:,.0f} MiB ({target['highest']}), "
            f"slowest {target['slowest_s']:.1f} s ({target['slowest']})"
        )
        if group == "legitimate":
            accepted = "all accepted (exit 0)" if target["all_exit_0"] else "NOT all accepted"
            print(f"legitimate bundles: {accepted}; for comparison: {tail}")
        else:
            print(
                f"target for {group} inputs: growth <= {target['growth_target']:.0f}x the size: "
                f"{_bench.verdict(target['met'])}; {tail}"
            )
    print()
    print("last line of stderr per run:")
    for r in report["rows"]:
        print(f"  {r['input']} / {r['command']}: {r['message'] or '-'}")


def main(argv: list[str] | None = None) -> int:
    parser = _bench.parser(__doc__)
    parser.add_argument("--only", action="append", default=[], help="run the inputs whose name has this word")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = run(args.quick, args.only)
    extra = {"hostile_size_mib": (HOSTILE_SIZE // (8 if args.quick else 1)) / MIB, "timeout_s": TIMEOUT_S}
    clock = "wall time and peak RSS per subprocess"
    report = {"meta": _bench.meta(ketenzorg.__version__, args.quick, extra, clock), **result}
    report["meta"]["total_s"] = time.perf_counter() - started
    _bench.emit(report, args.json, print_report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
