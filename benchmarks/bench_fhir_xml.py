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

import cProfile
import io
import os
import pstats
import sys
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import _bench
import orjson
from lxml import etree

try:
    import ketenzorg
except ImportError:  # running from a checkout without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    import ketenzorg

from ketenzorg.demo import build_demo_case
from ketenzorg.disclosure import Recipient
from ketenzorg.engine import Engine
from ketenzorg.interop.fhir import case_to_bundle
from ketenzorg.interop.fhirxml import element_to_resource, from_xml, to_xml
from ketenzorg.interop.safeinput import parse_xml, read_json

ENGINE = Engine()
"""The engine every export and import of this benchmark is given (the shipped plugins)."""

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
PER_40_WRITE_MS = 1.5
"""to_xml at most this many milliseconds per 40 entries of the bundle."""
PER_40_READ_MS = 3.0
"""from_xml at most this many milliseconds per 40 entries of the bundle."""
READ_FLOOR_TARGET = 5.0
"""from_xml at most this many times lxml's fromstring on the same bytes (the stricter read target)."""

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


def check(bundle: dict[str, Any], xml: bytes, dumped: bytes, r4b_xml: bytes) -> dict[str, Any]:
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

    # fhir.resources reads our XML (without the translations its R4B models refuse) to the same entries
    entries = Bundle.model_validate_xml(r4b_xml).entry or []
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
    raw = orjson.dumps(case_to_bundle(build_demo_case(), recipient=Recipient.internal(), engine=ENGINE))
    bundle = read_json(raw)  # the JSON form as from_xml gives it: decimals as Decimal
    # the first calls read the R4 layout table and fill the per-type caches
    first_write_ms = _first_call_ms(lambda: to_xml(bundle))
    xml = to_xml(bundle)
    first_read_ms = _first_call_ms(lambda: from_xml(xml))
    r4b_bundle = _bench.r4b_form(bundle)  # what the R4B models accept (see _bench.r4b_form)
    r4b_xml = to_xml(r4b_bundle)
    model = Bundle.model_validate(r4b_bundle)
    dump: Any = model.model_dump_xml()  # annotated str, returns bytes in fhir.resources 8.3
    dumped = dump if isinstance(dump, bytes) else dump.encode("utf-8")
    checks = check(bundle, xml, dumped, r4b_xml)
    tree = etree.fromstring(xml)
    root = parse_xml(xml)

    write_fns: dict[str, Callable[[], object]] = {
        "ours": lambda: to_xml(bundle),
        "ours_compact": lambda: to_xml(bundle, pretty=False),
        "baseline": lambda: Bundle.model_validate(r4b_bundle).model_dump_xml(),
        "baseline_dump_only": lambda: model.model_dump_xml(),
        "floor": lambda: floor_write(tree),
    }
    read_fns: dict[str, Callable[[], object]] = {
        "ours": lambda: from_xml(xml),
        "parse_xml": lambda: parse_xml(xml),
        "element_to_resource": lambda: element_to_resource(root),
        "baseline": lambda: Bundle.model_validate_xml(r4b_xml),
        "floor": lambda: etree.fromstring(xml),
    }
    rounds, budget, max_reps, min_reps = (1, 0.25, 400, 3) if quick else (3, 0.7, 2000, 5)
    timed = _bench.measure_groups({"write": write_fns, "read": read_fns}, rounds, budget, max_reps, min_reps)
    write, read = timed["write"], timed["read"]
    _bench.add_ratios(write)
    _bench.add_ratios(read)

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
    entries = len(bundle["entry"])

    def per_40(results: dict[str, dict[str, Any]], target_ms: float, refers_to: str) -> dict[str, Any]:
        ms = results["ours"]["median_us"] / 1000 * 40 / entries
        return {
            "refers_to": refers_to,
            "target_ms": target_ms,
            "ms_per_40_entries": ms,
            "ms_per_40_entries_min": results["ours"]["min_us"] / 1000 * 40 / entries,
            "met": ms <= target_ms,
        }

    read_floor_ratio = read["ours"]["median_us"] / read["floor"]["median_us"]
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
            "write_per_40_entries": per_40(
                write, PER_40_WRITE_MS, "to_xml(bundle_dict) median, scaled to 40 entries"
            ),
            "read_per_40_entries": per_40(
                read, PER_40_READ_MS, "from_xml(xml_bytes) median, scaled to 40 entries"
            ),
            "read_within_5x_of_lxml_fromstring": {
                "refers_to": "from_xml(xml_bytes) divided by etree.fromstring(xml_bytes); medians",
                "target": READ_FLOOR_TARGET,
                "ours_vs_floor": read_floor_ratio,
                "ours_vs_floor_min": read["ours"]["min_us"] / read["floor"]["min_us"],
                "met": read_floor_ratio <= READ_FLOOR_TARGET,
            },
        },
    }


# --- profile (optional) ----------------------------------------------------------------------------


def profile(reps: int = 30, top: int = 12) -> str:
    """cProfile of our write and read paths: the functions with the most own time."""
    bundle = read_json(
        orjson.dumps(case_to_bundle(build_demo_case(), recipient=Recipient.internal(), engine=ENGINE))
    )
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


def print_report(report: dict[str, Any]) -> None:
    meta = report["meta"]
    b = report["bundle"]
    c = report["checks"]
    xsd = c["xsd"]
    print(
        f"ketenzorg {meta['ketenzorg']} - FHIR XML write/read benchmark against fhir.resources R4B and lxml"
    )
    print(
        _bench.machine_line(
            meta,
            f"fhir.resources {meta['fhir.resources']}, pydantic {meta['pydantic']}, "
            f"pydantic-core {meta['pydantic-core']}, lxml {meta['lxml']}",
        )
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
        "  first call (reads the R4 layout table, fills the per-type caches): "
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
    print(_bench.results_table(report["write"], WRITE))
    print()
    print("Read (XML bytes -> JSON form)")
    print(_bench.results_table(report["read"], READ))
    print()
    t = report["targets"]
    wb, wf = t["write_vs_fhir_resources"], t["write_vs_lxml_tostring"]
    rb, rf = t["read_vs_fhir_resources"], t["read_vs_lxml_fromstring"]
    print("Targets (decided on medians; the ratio of the minimums in brackets):")
    rows = [
        [
            "write: at least 10x faster than R4B build + model_dump_xml",
            f"{_bench.x(wb['speedup'])} faster ({_bench.x(wb['speedup_min'])})",
            _bench.verdict(wb["met"]),
        ],
        [
            "write: within 10x of lxml etree.tostring",
            f"{_bench.x(wf['ours_vs_floor'])} the floor ({_bench.x(wf['ours_vs_floor_min'])})",
            _bench.verdict(wf["met"]),
        ],
        [
            "read: at least 5x faster than R4B Bundle.model_validate_xml",
            f"{_bench.x(rb['speedup'])} faster ({_bench.x(rb['speedup_min'])})",
            _bench.verdict(rb["met"]),
        ],
        [
            "read: within 10x of lxml etree.fromstring",
            f"{_bench.x(rf['ours_vs_floor'])} the floor ({_bench.x(rf['ours_vs_floor_min'])})",
            _bench.verdict(rf["met"]),
        ],
    ]
    w40, r40, r5 = t["write_per_40_entries"], t["read_per_40_entries"], t["read_within_5x_of_lxml_fromstring"]
    rows += [
        [
            f"write: at most {w40['target_ms']:g} ms per 40 entries",
            f"{w40['ms_per_40_entries']:.2f} ms ({w40['ms_per_40_entries_min']:.2f} ms)",
            _bench.verdict(w40["met"]),
        ],
        [
            f"read: at most {r40['target_ms']:g} ms per 40 entries",
            f"{r40['ms_per_40_entries']:.2f} ms ({r40['ms_per_40_entries_min']:.2f} ms)",
            _bench.verdict(r40["met"]),
        ],
        [
            "read: within 5x of lxml etree.fromstring",
            f"{_bench.x(r5['ours_vs_floor'])} the floor ({_bench.x(r5['ours_vs_floor_min'])})",
            _bench.verdict(r5["met"]),
        ],
    ]
    print(_bench.table(["target", "measured", "verdict"], rows))
    print(
        "  write without model construction: ours is "
        f"{_bench.x(wb['speedup_excluding_construction'])} faster than "
        "model_dump_xml on prebuilt models"
    )
    print(f"Total wall time {meta['total_s']:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = _bench.parser(__doc__)
    parser.add_argument("--profile", action="store_true", help="also print cProfile hotspots of our paths")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = run(args.quick)
    packages = _bench.versions("fhir.resources", "pydantic", "pydantic-core", "lxml")
    report = {
        "meta": _bench.meta(ketenzorg.__version__, args.quick, packages, _bench.CLOCK_INTERLEAVED),
        **result,
    }
    report["meta"]["total_s"] = time.perf_counter() - started
    if args.json and args.profile:
        report["profile"] = profile()
    _bench.emit(report, args.json, print_report)
    if args.profile and not args.json:
        print(profile())
    return 0


if __name__ == "__main__":
    sys.exit(main())
