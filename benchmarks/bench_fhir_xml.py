"""Benchmark FHIR XML (Bundle JSON form <-> XML bytes) against fhir.resources' R4B models and lxml.

The benchmark bundle is the demo case (``ketenzorg.demo.build_demo_case()``, invented names, fixed
dates) exported with ``case_to_bundle`` as a ``collection`` and read back into its JSON form with
``safeinput.read_json`` (so decimals are ``Decimal``, as ``from_xml`` gives them). Everything is
measured in the same run, per call:

Write (JSON form -> XML bytes)

* ours              ``fhirxml.to_xml(bundle_dict)`` (pretty, with the XML declaration)
* baseline          ``Bundle.model_validate(bundle_dict).model_dump_xml()`` (fhir.resources.R4B):
                    build the models, then serialise them. Target: ours at least 10x faster.
* baseline, dump    ``model.model_dump_xml()`` on models built once beforehand (for information)
* floor             ``etree.tostring(tree, pretty_print=True, xml_declaration=True, encoding="UTF-8")``
                    of our document parsed once with ``etree.fromstring``. Target: ours within 10x.

Read (XML bytes -> JSON form)

* ours              ``fhirxml.from_xml(xml_bytes)``: safe parse (``safeinput.parse_xml``) and
                    conversion to the JSON form. Target: at least 5x faster than the baseline.
* baseline          ``Bundle.model_validate_xml(xml_bytes)`` (fhir.resources.R4B)
* floor             ``etree.fromstring(xml_bytes)``. Target: ours within 10x.

Before timing, the script checks that our XML validates against the official R4 XSD
(``fhir-single.xsd`` in ``../shared/fhir-r4`` or ``$KETENZORG_FHIR_R4``; skipped with a note if
absent), that ``from_xml(to_xml(d)) == d``, that fhir.resources reads our XML to the same entries,
and that the lxml floor writes the same document.

Run ``python benchmarks/bench_fhir_xml.py`` (``--quick`` for fewer repetitions, ``--json`` for
machine-readable output, ``--profile`` for the hotspots of our two paths). Needs ``fhir.resources``
(the ``test`` extra). See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any

import orjson
from lxml import etree

try:
    import ketenzorg
except ImportError:  # running from a checkout without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    import ketenzorg

from ketenzorg.demo import build_demo_case
from ketenzorg.interop.fhir import case_to_bundle
from ketenzorg.interop.fhirxml import element_to_resource, from_xml, to_xml
from ketenzorg.interop.safeinput import parse_xml, read_json

try:
    from fhir.resources.R4B.bundle import Bundle  # R4B only: never the R5 default imports
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit("bench_fhir_xml.py needs fhir.resources (pip install 'ketenzorg[test]')")

WRITE_TARGET = 10.0
"""Ours (to_xml) at least this many times faster than building R4B models + model_dump_xml."""
READ_TARGET = 5.0
"""Ours (from_xml) at least this many times faster than Bundle.model_validate_xml."""
FLOOR_TARGET = 10.0
"""Ours at most this many times the time of lxml's own tostring / fromstring on the same document."""

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("KETENZORG_FHIR_R4", REPO.parent / "shared" / "fhir-r4"))
XSD = SHARED / "fhir-single.xsd"


def floor_write(tree: etree._Element) -> bytes:
    written: bytes = etree.tostring(tree, pretty_print=True, xml_declaration=True, encoding="UTF-8")
    return written


# --- the checks ------------------------------------------------------------------------------------


def _decimals(obj: Any) -> int:
    if isinstance(obj, dict):
        return sum(_decimals(v) for v in obj.values())
    if isinstance(obj, list):
        return sum(_decimals(v) for v in obj)
    return int(isinstance(obj, Decimal))


def _types(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["resourceType"] for e in bundle["entry"]]


def check(bundle: dict[str, Any], xml: bytes, dumped: bytes) -> dict[str, Any]:
    """Everything that must hold before the timings mean anything; raises AssertionError if not."""
    assert to_xml(bundle) == xml, "to_xml is not deterministic"

    # conformance: the official R4 XSD (optional: the schemas are not part of the repository)
    xsd: dict[str, Any] = {"path": str(XSD), "present": XSD.exists()}
    if XSD.exists():
        started = time.perf_counter()
        schema = etree.XMLSchema(etree.parse(str(XSD), etree.XMLParser(no_network=True)))
        xsd["load_s"] = time.perf_counter() - started
        ours_ok = schema.validate(etree.fromstring(xml))
        assert ours_ok, f"our XML does not validate against {XSD.name}: {schema.error_log.last_error}"
        xsd["ours_valid"] = True
        # for information: does fhir.resources' own XML pass too?
        xsd["fhir_resources_dump_valid"] = bool(schema.validate(etree.fromstring(dumped)))
        xsd["fhir_resources_dump_error"] = (
            None if xsd["fhir_resources_dump_valid"] else str(schema.error_log.last_error)
        )

    # round trip: exact, decimals included
    assert from_xml(xml) == bundle, "from_xml(to_xml(d)) != d"

    # fhir.resources reads our XML to the same entries
    entries = Bundle.model_validate_xml(xml).entry or []
    assert len(entries) == len(bundle["entry"]), "fhir.resources reads another number of entries"
    assert [e.resource.get_resource_type() for e in entries if e.resource] == _types(bundle)

    # the floor writes the same document (lxml quotes the declaration with ' instead of ")
    floor = floor_write(etree.fromstring(xml))
    ours_declaration = b'<?xml version="1.0" encoding="UTF-8"?>'
    lxml_declaration = b"<?xml version='1.0' encoding='UTF-8'?>"
    assert floor == xml.replace(ours_declaration, lxml_declaration, 1), (
        "the lxml floor writes another document"
    )

    # for information: what our reader makes of fhir.resources' XML
    try:
        dump_reads_back = from_xml(dumped) == bundle
    except ValueError:
        dump_reads_back = False

    return {
        "deterministic_write": True,
        "xsd": xsd,
        "round_trip_equal": True,
        "decimals_in_bundle": _decimals(bundle),
        "fhir_resources_reads_ours_entries": len(entries),
        "fhir_resources_same_resource_types": True,
        "floor_same_document": True,
        "fhir_resources_dump_reads_back_equal": dump_reads_back,
    }


# --- timing ----------------------------------------------------------------------------------------


def measure_all(
    fns: dict[str, Callable[[], object]], rounds: int, budget_s: float, max_reps: int, min_reps: int = 5
) -> dict[str, dict[str, Any]]:
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


WRITE = {
    "ours": "ours: to_xml(bundle_dict)",
    "ours_compact": "ours: to_xml(bundle_dict, pretty=False)",
    "baseline": "R4B: Bundle.model_validate(dict).model_dump_xml()",
    "baseline_dump_only": "R4B: model_dump_xml() of prebuilt models",
    "floor": "floor: etree.tostring(tree, pretty_print=True)",
}
READ = {
    "ours": "ours: from_xml(xml_bytes)",
    "parse_xml": "  of which safeinput.parse_xml(xml_bytes)",
    "element_to_resource": "  of which element_to_resource(root)",
    "baseline": "R4B: Bundle.model_validate_xml(xml_bytes)",
    "floor": "floor: etree.fromstring(xml_bytes)",
}


def _first_call_ms(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def run(quick: bool) -> dict[str, Any]:
    raw = orjson.dumps(case_to_bundle(build_demo_case()))
    bundle = read_json(raw)  # the JSON form as from_xml gives it: decimals as Decimal
    # the first calls fill the per-type caches (element order and types from the R4B models)
    first_write_ms = _first_call_ms(lambda: to_xml(bundle))
    xml = to_xml(bundle)
    first_read_ms = _first_call_ms(lambda: from_xml(xml))
    model = Bundle.model_validate(bundle)
    dump: Any = model.model_dump_xml()  # annotated str, returns bytes in fhir.resources 8.3
    dumped = dump if isinstance(dump, bytes) else dump.encode("utf-8")
    checks = check(bundle, xml, dumped)
    tree = etree.fromstring(xml)
    root = parse_xml(xml)

    write_fns: dict[str, Callable[[], object]] = {
        "ours": lambda: to_xml(bundle),
        "ours_compact": lambda: to_xml(bundle, pretty=False),
        "baseline": lambda: Bundle.model_validate(bundle).model_dump_xml(),
        "baseline_dump_only": lambda: model.model_dump_xml(),
        "floor": lambda: floor_write(tree),
    }
    read_fns: dict[str, Callable[[], object]] = {
        "ours": lambda: from_xml(xml),
        "parse_xml": lambda: parse_xml(xml),
        "element_to_resource": lambda: element_to_resource(root),
        "baseline": lambda: Bundle.model_validate_xml(xml),
        "floor": lambda: etree.fromstring(xml),
    }
    rounds, budget, max_reps, min_reps = (1, 0.25, 400, 3) if quick else (3, 0.7, 2000, 5)
    timed = measure_all(
        {f"write.{k}": f for k, f in write_fns.items()} | {f"read.{k}": f for k, f in read_fns.items()},
        rounds,
        budget,
        max_reps,
        min_reps,
    )
    write = {k: timed[f"write.{k}"] for k in write_fns}
    read = {k: timed[f"read.{k}"] for k in read_fns}

    def ratios(results: dict[str, dict[str, Any]]) -> None:
        ours, floor = results["ours"], results["floor"]
        for r in results.values():
            r["vs_ours"] = r["median_us"] / ours["median_us"]
            r["vs_floor"] = r["median_us"] / floor["median_us"]

    ratios(write)
    ratios(read)

    def faster(results: dict[str, dict[str, Any]], key: str, refers_to: str, target: float) -> dict[str, Any]:
        speedup = results[key]["median_us"] / results["ours"]["median_us"]
        return {
            "refers_to": refers_to,
            "target": target,
            "speedup": speedup,
            "speedup_min": results[key]["min_us"] / results["ours"]["min_us"],
            "met": speedup >= target,
        }

    def within(results: dict[str, dict[str, Any]], refers_to: str) -> dict[str, Any]:
        ratio = results["ours"]["median_us"] / results["floor"]["median_us"]
        return {
            "refers_to": refers_to,
            "target": FLOOR_TARGET,
            "ours_vs_floor": ratio,
            "ours_vs_floor_min": results["ours"]["min_us"] / results["floor"]["min_us"],
            "met": ratio <= FLOOR_TARGET,
        }

    write_vs_baseline = faster(
        write,
        "baseline",
        "Bundle.model_validate(bundle_dict).model_dump_xml(), model construction included, "
        "divided by to_xml(bundle_dict); medians",
        WRITE_TARGET,
    )
    write_vs_baseline["speedup_excluding_construction"] = (
        write["baseline_dump_only"]["median_us"] / write["ours"]["median_us"]
    )
    return {
        "bundle": {
            "type": bundle["type"],
            "entries": len(bundle["entry"]),
            "resource_types": dict(Counter(_types(bundle))),
            "bytes_json": len(raw),
            "bytes_xml_ours": len(xml),
            "bytes_xml_fhir_resources_dump": len(dumped),
            "first_call_ms": {"to_xml": first_write_ms, "from_xml": first_read_ms},
        },
        "checks": checks,
        "write": write,
        "read": read,
        "targets": {
            "write_vs_fhir_resources": write_vs_baseline,
            "write_vs_lxml_tostring": within(
                write,
                "to_xml(bundle_dict) divided by etree.tostring(tree, pretty_print=True, "
                "xml_declaration=True, encoding='UTF-8') of the same document; medians",
            ),
            "read_vs_fhir_resources": faster(
                read,
                "baseline",
                "Bundle.model_validate_xml(xml_bytes) divided by from_xml(xml_bytes); medians",
                READ_TARGET,
            ),
            "read_vs_lxml_fromstring": within(
                read, "from_xml(xml_bytes) divided by etree.fromstring(xml_bytes); medians"
            ),
        },
    }


# --- profile (optional) ----------------------------------------------------------------------------


def profile(reps: int = 30, top: int = 12) -> str:
    """cProfile of our write and read paths: the functions with the most own time."""
    bundle = read_json(orjson.dumps(case_to_bundle(build_demo_case())))
    xml = to_xml(bundle)
    from_xml(xml)
    out = io.StringIO()
    for title, fn in (
        ("to_xml(bundle_dict)", lambda: to_xml(bundle)),
        ("from_xml(xml_bytes)", lambda: from_xml(xml)),
    ):
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(reps):
            fn()
        profiler.disable()
        out.write(f"\n--- profile of {title}, {reps} calls, sorted by own time ---\n")
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats("tottime").print_stats(top)
    return out.getvalue()


# --- output ----------------------------------------------------------------------------------------


def _us(value: float) -> str:
    return f"{value:,.1f}" if value < 10_000 else f"{value:,.0f}"


def _x(value: float) -> str:
    return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"


def _table(headers: list[str], rows: Iterable[list[str]]) -> str:
    rows = [headers, *rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(headers))]
    lines = []
    for n, r in enumerate(rows):
        cells = [r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _results(results: dict[str, dict[str, Any]], labels: dict[str, str]) -> str:
    rows = [
        [
            labels[key],
            _us(r["median_us"]),
            _us(r["min_us"]),
            str(r["reps"]),
            _x(r["vs_ours"]),
            _x(r["vs_floor"]),
        ]
        for key, r in results.items()
    ]
    return _table(["measure", "median us", "min us", "reps", "/ ours", "/ floor"], rows)


def _verdict(met: bool) -> str:
    return "MET" if met else "NOT MET"


def print_report(report: dict[str, Any]) -> None:
    meta = report["meta"]
    b = report["bundle"]
    c = report["checks"]
    xsd = c["xsd"]
    print(
        f"ketenzorg {meta['ketenzorg']} - FHIR XML write/read benchmark against fhir.resources R4B and lxml"
    )
    print(
        f"Python {meta['python']} on {meta['platform']}, {meta['cpus']} CPU(s); "
        f"mode: {'quick' if meta['quick'] else 'full'}; fhir.resources {meta['fhir.resources']}, "
        f"pydantic {meta['pydantic']}, pydantic-core {meta['pydantic-core']}, lxml {meta['lxml']}"
    )
    print()
    print(
        f"Demo bundle ({b['type']}, {b['entries']} entries): {b['bytes_xml_ours']:,} bytes of XML "
        "(ours, pretty) / "
        f"{b['bytes_xml_fhir_resources_dump']:,} bytes (fhir.resources model_dump_xml, compact) / "
        f"{b['bytes_json']:,} bytes of JSON"
    )
    print("  resources: " + ", ".join(f"{k} {v}" for k, v in b["resource_types"].items()))
    print(
        "  first call (fills the per-type caches from the R4B models): "
        f"to_xml {b['first_call_ms']['to_xml']:.0f} ms, from_xml {b['first_call_ms']['from_xml']:.0f} ms"
    )
    print("Checks before timing:")
    if xsd["present"]:
        dump_note = (
            "passes too"
            if xsd["fhir_resources_dump_valid"]
            else f"does not pass ({xsd['fhir_resources_dump_error']})"
        )
        print(
            f"  our XML validates against {xsd['path']} (schema loaded in {xsd['load_s']:.2f} s); "
            f"fhir.resources' model_dump_xml {dump_note}"
        )
    else:
        print(
            f"  NOTE: XSD check skipped: {xsd['path']} not found "
            "(set KETENZORG_FHIR_R4 to the R4 schema folder)"
        )
    print(
        "  to_xml is deterministic; from_xml(to_xml(d)) == d "
        f"({c['decimals_in_bundle']} decimal(s) kept as Decimal); Bundle.model_validate_xml reads our XML "
        f"to {c['fhir_resources_reads_ours_entries']} entries of the same types"
    )
    print(
        "  the lxml floor writes the same document byte for byte (apart from the declaration's quotes); "
        f"from_xml(model_dump_xml) == d: {'yes' if c['fhir_resources_dump_reads_back_equal'] else 'no'}"
    )
    print()
    print("Time per call in microseconds: median, min, repetitions; '/ ours' and '/ floor' divide medians")
    print()
    print("Write (JSON form -> XML bytes)")
    print(_results(report["write"], WRITE))
    print()
    print("Read (XML bytes -> JSON form)")
    print(_results(report["read"], READ))
    print()
    t = report["targets"]
    wb, wf = t["write_vs_fhir_resources"], t["write_vs_lxml_tostring"]
    rb, rf = t["read_vs_fhir_resources"], t["read_vs_lxml_fromstring"]
    print("Targets (decided on medians; the ratio of the minimums in brackets):")
    rows = [
        [
            "write: at least 10x faster than R4B build + model_dump_xml",
            f"{_x(wb['speedup'])} faster ({_x(wb['speedup_min'])})",
            _verdict(wb["met"]),
        ],
        [
            "write: within 10x of lxml etree.tostring",
            f"{_x(wf['ours_vs_floor'])} the floor ({_x(wf['ours_vs_floor_min'])})",
            _verdict(wf["met"]),
        ],
        [
            "read: at least 5x faster than R4B Bundle.model_validate_xml",
            f"{_x(rb['speedup'])} faster ({_x(rb['speedup_min'])})",
            _verdict(rb["met"]),
        ],
        [
            "read: within 10x of lxml etree.fromstring",
            f"{_x(rf['ours_vs_floor'])} the floor ({_x(rf['ours_vs_floor_min'])})",
            _verdict(rf["met"]),
        ],
    ]
    print(_table(["target", "measured", "verdict"], rows))
    print(
        f"  write without model construction: ours is {_x(wb['speedup_excluding_construction'])} faster than "
        "model_dump_xml on prebuilt models"
    )
    print(f"Total wall time {meta['total_s']:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    parser.add_argument("--profile", action="store_true", help="also print cProfile hotspots of our paths")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = run(args.quick)
    report = {
        "meta": {
            "ketenzorg": ketenzorg.__version__,
            "python": platform.python_version(),
            "platform": platform.platform(terse=True),
            "cpus": os.cpu_count(),
            "quick": args.quick,
            "fhir.resources": version("fhir.resources"),
            "pydantic": version("pydantic"),
            "pydantic-core": version("pydantic-core"),
            "lxml": version("lxml"),
            "clock": "time.perf_counter_ns, per call; median and min; rounds interleaved",
        },
        **result,
    }
    report["meta"]["total_s"] = time.perf_counter() - started
    if args.json:
        if args.profile:
            report["profile"] = profile()
        print(json.dumps(report, indent=2, sort_keys=False))
    else:
        print_report(report)
        if args.profile:
            print(profile())
    return 0


if __name__ == "__main__":
    sys.exit(main())
