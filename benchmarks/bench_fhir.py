"""Benchmark the FHIR interop (case <-> Bundle JSON bytes) against fhir.resources' R4B models.

The benchmark bundle is the demo case (``ketenzorg.demo.build_demo_case()``, invented names, fixed
dates) exported with ``case_to_bundle`` as a ``collection``. Everything is measured in the same
run, per call:

Export (case -> JSON bytes)

* ours              ``orjson.dumps(case_to_bundle(case))``
* baseline          ``Bundle.model_validate(bundle_dict).model_dump_json()`` (fhir.resources.R4B):
                    build the models for the same bundle, then serialise them. This is the one the
                    target refers to: ours at least 10x faster.
* baseline, dump    ``model.model_dump_json()`` on models built once beforehand (for information)
* floor             ``orjson.dumps(bundle_dict)`` of the already-built dict

Import (JSON bytes -> validated case)

* ours              ``orjson.loads(raw)`` + ``read_bundle(data, engine=...)``: validation (structure, profile
                    and case layers; not strict) and the conversion to a case, done once.
                    Target: at least 5x faster than the baseline.
* baseline          ``Bundle.model_validate_json(raw)`` (fhir.resources.R4B)
* floor             ``orjson.loads(raw)``
* strict            as ours, with ``validate_bundle(data, strict=True)`` (the opt-in full structural
                    validation through the R4B models), for reference

Before timing, the script checks that the import gives back the case (equal to it apart from the
secret location's name, which never leaves the engine), that our bundle validates without errors
(also strictly), and that the fhir.resources dump parses to the same resources.

Run ``python benchmarks/bench_fhir.py`` (``--quick`` for fewer repetitions, ``--json`` for
machine-readable output). Needs ``fhir.resources`` (the ``test`` extra). See ``benchmarks/README.md``.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _bench
import attrs
import orjson

try:
    import ketenzorg
except ImportError:  # running from a checkout without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    import ketenzorg

from ketenzorg import CareSetting, Case
from ketenzorg.demo import build_demo_case
from ketenzorg.disclosure import Recipient
from ketenzorg.engine import Engine
from ketenzorg.interop.fhir import (
    SECRET_LOCATION_NAME,
    bundle_to_case,
    case_to_bundle,
    secret_location_pseudonyms,
)
from ketenzorg.interop.safeinput import read_json
from ketenzorg.interop.validate import is_valid, read_bundle, validate_bundle

ENGINE = Engine()
"""The engine every export and import of this benchmark is given (the shipped plugins)."""

try:
    from fhir.resources.R4B.bundle import Bundle  # R4B only: never the R5 default imports
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit("bench_fhir.py needs fhir.resources (pip install 'ketenzorg[test]')")

EXPORT_TARGET = 10.0
"""Ours (case -> bytes) at least this many times faster than building R4B models + model_dump_json."""
IMPORT_TARGET = 5.0
"""Ours (bytes -> validated case) at least this many times faster than Bundle.model_validate_json."""
PER_40_EXPORT_MS = 0.5
"""Ours (case -> bytes) at most this many milliseconds per 40 entries of the bundle."""
PER_40_IMPORT_MS = 1.0
"""Ours (bytes -> validated case) at most this many milliseconds per 40 entries of the bundle."""
IMPORT_FLOOR_TARGET = 8.0
"""Ours (bytes -> validated case) at most this many times orjson.loads on the same bytes."""

ENGINE = Engine()
"""The engine validation judges the case with (shipped plugins, default policy), built once."""


# --- the benchmark bundle and the checks ------------------------------------------------------------


def without_secret_name(case: Case) -> Case:
    """The case as it comes back from FHIR: a secret location keeps neither its name nor its id
    (the placeholder name under the case's pseudonym); everything else comes back exactly."""
    pseudonyms = secret_location_pseudonyms(case)

    def blank(setting: CareSetting) -> CareSetting:
        location = setting.location
        if location is None or location.id not in pseudonyms:
            return setting
        hidden = attrs.evolve(location, id=pseudonyms[location.id], name=SECRET_LOCATION_NAME, secret=True)
        return attrs.evolve(setting, location=hidden)

    events = []
    for event in case.events:
        if hasattr(event, "care_setting"):
            event = attrs.evolve(event, care_setting=blank(event.care_setting))
        events.append(event)
    return Case(case.case_id, events)


def secret_names(case: Case) -> set[str]:
    names = set()
    for event in case.events:
        setting = getattr(event, "care_setting", None)
        if setting is not None and setting.location is not None and setting.location.secret:
            names.add(setting.location.name)
    return names


def import_ours(raw: bytes, *, strict: bool = False) -> Case:
    """Our import path, as ``ketenzorg import`` runs it: the hardened JSON reader (duplicate keys,
    NaN, exact decimals, limits), then ``read_bundle`` validates (structure, profile and case
    layers; fast unless ``strict``) and converts once."""
    data = read_json(raw)
    outcome, case = read_bundle(data, strict=strict, engine=ENGINE)
    if not is_valid(outcome) or case is None:
        raise ValueError(f"the bundle does not validate: {outcome['issue']}")
    return case


def _errors(outcome: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in outcome["issue"] if i["severity"] in ("fatal", "error")]


def check(
    case: Case, bundle: dict[str, Any], r4b_raw: bytes, model: Any, dumped: str, raw: bytes
) -> dict[str, Any]:
    """Everything that must hold before the timings mean anything; raises AssertionError if not."""
    entries = bundle["entry"]
    types = [e["resource"]["resourceType"] for e in entries]

    # export: deterministic, and the secret location's name is not in the bytes
    assert orjson.dumps(case_to_bundle(case, recipient=Recipient.internal(), engine=ENGINE)) == raw, (
        "case_to_bundle is not deterministic"
    )
    secrets = secret_names(case)
    assert secrets, "the demo case should have a secret location (else the round-trip check is too easy)"
    for name in secrets:
        assert name.encode() not in raw, "a secret location's name is in the exported bytes"

    # import: validates without errors (fast and strict) and gives back the case
    data = orjson.loads(raw)
    fast = validate_bundle(data, engine=ENGINE)
    assert not _errors(fast), f"validate_bundle finds errors in our own bundle: {_errors(fast)}"
    strict = validate_bundle(data, strict=True, engine=ENGINE)
    assert not _errors(strict), f"validate_bundle(strict=True) finds errors: {_errors(strict)}"
    imported = import_ours(raw)
    expected = without_secret_name(case)
    assert imported == expected, "the import does not give back the case (apart from the secret name)"
    assert imported != case, "expected the secret location's name to differ after the round trip"
    assert import_ours(raw, strict=True) == expected, "the strict import gives back another case"
    assert data == orjson.loads(raw), "validate_bundle or bundle_to_case modified the parsed bundle"

    # baseline: the fhir.resources dump and model_validate_json hold the same resources
    assert len(model.entry) == len(entries)
    parsed_dump = orjson.loads(dumped)
    dump_types = [e["resource"]["resourceType"] for e in parsed_dump["entry"]]
    assert dump_types == types, "the fhir.resources dump does not hold the same resources"
    from_json = Bundle.model_validate_json(r4b_raw)
    assert [e.resource.get_resource_type() for e in from_json.entry] == types
    # fhir.resources writes UTC as 'Z' where we write '+00:00'; apart from that the content is equal
    same_content = orjson.loads(raw.replace(b"+00:00", b"Z")) == parsed_dump

    return {
        "deterministic_export": True,
        "secret_name_absent_from_bytes": True,
        "validate_errors": 0,
        "validate_strict_errors": 0,
        "validate_issues": [i["diagnostics"] for i in fast["issue"]],
        "import_equals_case_apart_from_secret_name": True,
        "import_strict_equals": True,
        "parsed_bundle_not_modified": True,
        "fhir_resources_dump_resources": len(dump_types),
        "fhir_resources_same_resource_types": True,
        "fhir_resources_dump_equal_apart_from_utc_z": same_content,
    }


# --- timing ----------------------------------------------------------------------------------------


EXPORT = {
    "ours": "ours: orjson.dumps(case_to_bundle(case))",
    "case_to_bundle": "  of which case_to_bundle(case)",
    "baseline": "R4B: Bundle.model_validate(dict).model_dump_json()",
    "baseline_dump_only": "R4B: model_dump_json() of prebuilt models",
    "floor": "floor: orjson.dumps(bundle dict)",
}
IMPORT = {
    "ours": "ours: read_json + read_bundle (validate + convert)",
    "validate_bundle": "  of which validate_bundle(data)",
    "bundle_to_case": "  of which bundle_to_case(data)",
    "strict": "ours, strict: loads + validate(strict=True) + b2c",
    "validate_strict": "  of which validate_bundle(data, strict=True)",
    "baseline": "R4B: Bundle.model_validate_json(raw)",
    "floor": "floor: orjson.loads(raw)",
}


def run(quick: bool) -> dict[str, Any]:
    case = build_demo_case()
    bundle = case_to_bundle(case, recipient=Recipient.internal(), engine=ENGINE)
    raw = orjson.dumps(bundle)
    r4b_bundle = _bench.r4b_form(bundle)  # what the R4B models accept (see _bench.r4b_form)
    r4b_raw = orjson.dumps(r4b_bundle)
    model = Bundle.model_validate(r4b_bundle)
    dumped = model.model_dump_json()
    checks = check(case, bundle, r4b_raw, model, dumped, raw)
    data = orjson.loads(raw)

    export_fns: dict[str, Callable[[], object]] = {
        "ours": lambda: orjson.dumps(case_to_bundle(case, recipient=Recipient.internal(), engine=ENGINE)),
        "case_to_bundle": lambda: case_to_bundle(case, recipient=Recipient.internal(), engine=ENGINE),
        "baseline": lambda: Bundle.model_validate(r4b_bundle).model_dump_json(),
        "baseline_dump_only": lambda: model.model_dump_json(),
        "floor": lambda: orjson.dumps(bundle),
    }
    import_fns: dict[str, Callable[[], object]] = {
        "ours": lambda: import_ours(raw),
        "validate_bundle": lambda: validate_bundle(data, engine=ENGINE),
        "bundle_to_case": lambda: bundle_to_case(data, engine=ENGINE),
        "strict": lambda: import_ours(raw, strict=True),
        "validate_strict": lambda: validate_bundle(data, strict=True, engine=ENGINE),
        "baseline": lambda: Bundle.model_validate_json(r4b_raw),
        "floor": lambda: orjson.loads(raw),
    }
    rounds, budget, max_reps = (1, 0.25, 400) if quick else (3, 0.7, 2000)
    timed = _bench.measure_groups({"export": export_fns, "import": import_fns}, rounds, budget, max_reps)
    export, imp = timed["export"], timed["import"]
    _bench.add_ratios(export)
    _bench.add_ratios(imp)
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

    export_speedup = export["baseline"]["median_us"] / export["ours"]["median_us"]
    import_speedup = imp["baseline"]["median_us"] / imp["ours"]["median_us"]
    return {
        "bundle": {
            "case_id": case.case_id,
            "events": len(case.events),
            "type": bundle["type"],
            "entries": len(bundle["entry"]),
            "resource_types": dict(Counter(e["resource"]["resourceType"] for e in bundle["entry"])),
            "bytes_ours": len(raw),
            "bytes_fhir_resources_dump": len(dumped.encode()),
        },
        "checks": checks,
        "export": export,
        "import": imp,
        "targets": {
            "export": {
                "refers_to": "Bundle.model_validate(bundle_dict).model_dump_json(), model construction "
                "included, divided by orjson.dumps(case_to_bundle(case)); medians",
                "target": EXPORT_TARGET,
                "speedup": export_speedup,
                "speedup_min": export["baseline"]["min_us"] / export["ours"]["min_us"],
                "speedup_excluding_construction": export["baseline_dump_only"]["median_us"]
                / export["ours"]["median_us"],
                "ours_vs_floor": export["ours"]["vs_floor"],
                "met": export_speedup >= EXPORT_TARGET,
            },
            "import": {
                "refers_to": "Bundle.model_validate_json(raw) divided by orjson.loads + read_bundle "
                "(validate, not strict, and convert once); medians",
                "target": IMPORT_TARGET,
                "speedup": import_speedup,
                "speedup_min": imp["baseline"]["min_us"] / imp["ours"]["min_us"],
                "strict_vs_baseline": imp["strict"]["median_us"] / imp["baseline"]["median_us"],
                "ours_vs_floor": imp["ours"]["vs_floor"],
                "met": import_speedup >= IMPORT_TARGET,
            },
            "export_per_40_entries": per_40(
                export, PER_40_EXPORT_MS, "orjson.dumps(case_to_bundle(case)) median, scaled to 40 entries"
            ),
            "import_per_40_entries": per_40(
                imp, PER_40_IMPORT_MS, "read_json + read_bundle median, scaled to 40 entries"
            ),
            "import_within_8x_of_orjson_loads": {
                "refers_to": "read_json + read_bundle divided by orjson.loads(raw); medians",
                "target": IMPORT_FLOOR_TARGET,
                "ours_vs_floor": imp["ours"]["vs_floor"],
                "ours_vs_floor_min": imp["ours"]["min_us"] / imp["floor"]["min_us"],
                "met": imp["ours"]["vs_floor"] <= IMPORT_FLOOR_TARGET,
            },
        },
    }


# --- output ----------------------------------------------------------------------------------------


def print_report(report: dict[str, Any]) -> None:
    meta = report["meta"]
    b = report["bundle"]
    c = report["checks"]
    print(f"ketenzorg {meta['ketenzorg']} - FHIR export/import benchmark against fhir.resources R4B")
    print(
        _bench.machine_line(
            meta,
            f"fhir.resources {meta['fhir.resources']}, pydantic {meta['pydantic']}, "
            f"pydantic-core {meta['pydantic-core']}, orjson {meta['orjson']}",
        )
    )
    print()
    print(
        f"Demo case {b['case_id']}: {b['events']} events -> {b['type']} Bundle with {b['entries']} entries, "
        f"{b['bytes_ours']:,} bytes (ours, orjson) / {b['bytes_fhir_resources_dump']:,} bytes "
        "(fhir.resources model_dump_json)"
    )
    print("  resources: " + ", ".join(f"{k} {v}" for k, v in b["resource_types"].items()))
    print(
        "Checks before timing: the export is deterministic and holds no secret location name; "
        "validate_bundle finds 0 errors (strict too: 0);"
    )
    print(
        "  the import gives back the case (equal apart from the secret location's name), also strictly; "
        "the parsed dict is not modified;"
    )
    print(
        f"  the fhir.resources dump parses to {c['fhir_resources_dump_resources']} resources of the same "
        "types in the same order; content equal apart from UTC written as 'Z': "
        f"{'yes' if c['fhir_resources_dump_equal_apart_from_utc_z'] else 'no'}"
    )
    print()
    print("Time per call in microseconds: median, min, repetitions; '/ ours' and '/ floor' divide medians")
    print()
    print("Export (case -> JSON bytes)")
    print(_bench.results_table(report["export"], EXPORT))
    print()
    print("Import (JSON bytes -> validated case)")
    print(_bench.results_table(report["import"], IMPORT))
    print()
    te, ti = report["targets"]["export"], report["targets"]["import"]
    print(
        f"Export: ours is {_bench.x(te['speedup'])} faster than building R4B models + model_dump_json "
        f"(by min: {_bench.x(te['speedup_min'])}); "
        f"{_bench.x(te['speedup_excluding_construction'])} faster than "
        f"model_dump_json alone on prebuilt models; {_bench.x(te['ours_vs_floor'])} the time of the "
        "orjson.dumps floor"
    )
    print(
        f"  Target: at least {EXPORT_TARGET:.0f}x faster than building the models + model_dump_json "
        f"(construction included, as the target means) -> {_bench.verdict(te['met'])}"
    )
    print(
        f"Import: ours is {_bench.x(ti['speedup'])} faster than Bundle.model_validate_json "
        f"(by min: {_bench.x(ti['speedup_min'])}); "
        f"{_bench.x(ti['ours_vs_floor'])} the time of the orjson.loads floor"
    )
    print(
        f"  Target: at least {IMPORT_TARGET:.0f}x faster than Bundle.model_validate_json "
        f"(loads + read_bundle: validate, not strict, and convert) -> {_bench.verdict(ti['met'])}"
    )
    e40, i40 = report["targets"]["export_per_40_entries"], report["targets"]["import_per_40_entries"]
    i8 = report["targets"]["import_within_8x_of_orjson_loads"]
    print(
        f"Per 40 entries: export {e40['ms_per_40_entries']:.2f} ms (min {e40['ms_per_40_entries_min']:.2f}), "
        f"target {e40['target_ms']:g} ms -> {_bench.verdict(e40['met'])}; import "
        f"{i40['ms_per_40_entries']:.2f} ms (min {i40['ms_per_40_entries_min']:.2f}), target "
        f"{i40['target_ms']:g} ms -> {_bench.verdict(i40['met'])}"
    )
    print(
        f"  Import within {IMPORT_FLOOR_TARGET:.0f}x of orjson.loads: {_bench.x(i8['ours_vs_floor'])} "
        f"(by min: {_bench.x(i8['ours_vs_floor_min'])}) -> {_bench.verdict(i8['met'])}"
    )
    print(
        f"Strict import (opt-in, for reference): {_bench.x(ti['strict_vs_baseline'])} the time of "
        "Bundle.model_validate_json (it runs the R4B models on every resource and then our layers)"
    )
    print(f"Total wall time {meta['total_s']:.1f} s")


def main(argv: list[str] | None = None) -> int:
    args = _bench.parser(__doc__).parse_args(argv)
    started = time.perf_counter()
    result = run(args.quick)
    packages = _bench.versions("fhir.resources", "pydantic", "pydantic-core", "orjson")
    report = {
        "meta": _bench.meta(ketenzorg.__version__, args.quick, packages, _bench.CLOCK_INTERLEAVED),
        **result,
    }
    report["meta"]["total_s"] = time.perf_counter() - started
    _bench.emit(report, args.json, print_report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
