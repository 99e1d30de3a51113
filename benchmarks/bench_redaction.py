"""Redaction per recipient: each shipped profile's export against the internal export, same run.

A recipient export (``disclose`` with that recipient: the writer, then the profile's redaction,
labels and record) may cost at most 1.5x the internal export of the same case (``disclose`` with
``Recipient.internal()``: the writer, then labels and versions, nothing withheld). The unredacted
writer (``unredacted_bundle``) is timed beside them: what the internal export adds to it. Measured
on the demo case and on the two-year case of ``bench_evaluate.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import _bench
import orjson
from bench_evaluate import build_case

from ketenzorg import Case, Engine, __version__
from ketenzorg.demo import build_demo_case
from ketenzorg.disclosure import Recipient, disclose, shipped_profiles
from ketenzorg.domain import PersonRole
from ketenzorg.interop.export import unredacted_bundle

TARGET = 1.5
"""A recipient export costs at most this factor of the internal export of the same case."""

NOW = datetime(2030, 1, 1, tzinfo=UTC)

_PERSON_OF = {
    "school": PersonRole.CHILD,
    "network-member": PersonRole.NETWORK,
    "person-who-used-violence": PersonRole.PERSON_WHO_USED_VIOLENCE,
}
"""Recipients that are (or act for) a person of the case; the others are named by kind only."""


def recipient(case: Case, kind: str) -> Recipient:
    """``kind``'s recipient: the internal one, a person of the case for a person's profile, else the kind."""
    if kind == "internal":
        return Recipient.internal()
    role = _PERSON_OF.get(kind)
    if role is not None:
        person = next(
            (p.id for p in sorted(case.state.persons.values(), key=lambda p: p.id) if p.role is role), None
        )
        return Recipient(kind, person=person)
    return Recipient(kind)


def exports(case: Case, engine: Engine) -> dict[str, Callable[[], object]]:
    """The functions to time: the unredacted writer, then ``disclose`` for every shipped profile."""
    fns: dict[str, Callable[[], object]] = {"writer": lambda: unredacted_bundle(case, engine=engine)}
    for kind in sorted(shipped_profiles(), key=lambda k: (k != "internal", k)):
        who = recipient(case, kind)
        fns[kind] = lambda who=who: disclose(case, engine=engine, recipient=who)
    return fns


def check(case: Case, engine: Engine) -> dict[str, int]:
    """Before timing: every export is deterministic; the entries each recipient receives."""
    entries = {}
    for kind in shipped_profiles():
        who = recipient(case, kind)
        first = disclose(case, engine=engine, recipient=who)
        again = disclose(case, engine=engine, recipient=who)
        assert orjson.dumps(first.bundle) == orjson.dumps(again.bundle), kind
        assert first.record.profile_id == kind, (kind, first.record.profile_id)
        entries[kind] = len(first.bundle.get("entry", []))
    return entries


def run_case(case: Case, engine: Engine, quick: bool) -> dict[str, Any]:
    entries = check(case, engine)
    timed = _bench.measure_all(
        exports(case, engine),
        rounds=2 if quick else 5,
        budget_s=0.05 if quick else 0.25,
        max_reps=20 if quick else 200,
    )
    _bench.add_ratios(timed, ours="internal", floor="writer")
    for kind, result in timed.items():
        result["vs_internal_min"] = result["min_us"] / timed["internal"]["min_us"]
        if kind != "writer":
            result["entries"] = entries[kind]
            result["met"] = kind == "internal" or result["vs_ours"] <= TARGET
    bundle = unredacted_bundle(case, engine=engine)
    return {
        "events": len(case.events),
        "entries": len(bundle["entry"]),
        "bytes": len(orjson.dumps(bundle)),
        "results": timed,
    }


def run(quick: bool) -> dict[str, Any]:
    demo_engine = Engine(clock=lambda: NOW)
    long_engine = Engine(clock=lambda: NOW)
    return {
        "meta": _bench.meta(__version__, quick, {"target": TARGET}, _bench.CLOCK_INTERLEAVED),
        "cases": {
            "demo": run_case(build_demo_case(), demo_engine, quick),
            "two-year": run_case(build_case(long_engine, 1), long_engine, quick),
        },
    }


def print_report(report: dict[str, Any]) -> None:
    print("Redaction per recipient: each shipped profile's export against the internal export")
    print(_bench.machine_line(report["meta"], f"target: at most {_bench.x(TARGET)} the internal export"))
    for name, found in report["cases"].items():
        print()
        print(
            f"{name} case: {found['events']} events, {found['entries']} entries, "
            f"{found['bytes'] / 1024:,.0f} KiB unredacted"
        )
        rows = []
        for kind, r in found["results"].items():
            rows.append(
                [
                    "unredacted writer" if kind == "writer" else kind,
                    str(r.get("entries", found["entries"])),
                    _bench.us(r["median_us"]),
                    _bench.us(r["min_us"]),
                    str(r["reps"]),
                    _bench.x(r["vs_ours"]),
                    _bench.x(r["vs_internal_min"]),
                    "" if "met" not in r or kind == "internal" else _bench.verdict(r["met"]),
                ]
            )
        print(
            _bench.table(
                ["export", "entries", "median us", "min us", "reps", "/ internal", "(min)", "at most 1.5x"],
                rows,
            )
        )
        internal = found["results"]["internal"]
        print(
            f"internal export / unredacted writer: {_bench.x(internal['vs_floor'])} "
            f"(min {_bench.x(internal['min_us'] / found['results']['writer']['min_us'])})"
        )
        worst = max(
            (r["vs_ours"], kind) for kind, r in found["results"].items() if kind not in ("writer", "internal")
        )
        met = all(r.get("met", True) for r in found["results"].values())
        print(
            f"{name}: every recipient export at most {_bench.x(TARGET)} internal: {_bench.verdict(met)} "
            f"(highest {worst[1]}, {_bench.x(worst[0])})"
        )


def main() -> int:
    args = _bench.parser(__doc__).parse_args()
    _bench.emit(run(args.quick), args.json, print_report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
