"""Benchmark ``Engine.evaluate`` against a minimal hand-written baseline over plain dicts.

The benchmark case is synthetic (invented names, fixed seed, fixed UTC dates) and built through
the public engine API: about two years of history with 40 case conferences where 6 parties each
give a safety score with a rationale, 10 incidents (4 acute, each followed by the relapse the
engine proposes, if it does), 20 plan revisions and every phase transition the engine allows.

Three things are timed per call, each on the same history and at the same moment:

* engine full      ``engine.evaluate(Case(case_id, events), at=...)``: fold the events + decide
* engine evaluate  ``engine.evaluate(case, at=...)`` on a case whose state is already folded
* baseline         ``baseline_decide(plain_events, at)``: one pass over plain dicts + decide

The baseline folds its plain event dicts on every call too, so "engine full" and "baseline" do
the same kind of work. Before timing, the script asserts that both agree on the phase, the
advance, the proposed relapse and the alerts at every conference and incident of the history.

Run ``python benchmarks/bench_evaluate.py`` (``--quick`` for fewer repetitions, ``--json`` for
machine-readable output). See ``benchmarks/README.md``.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _bench

try:
    import ketenzorg
except ImportError:  # running from a checkout without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    import ketenzorg

from ketenzorg import (
    AlertLevel,
    CareSetting,
    CareSettingKind,
    Case,
    CaseClosed,
    CaseOpened,
    ConferenceHeld,
    Decision,
    Engine,
    Event,
    GoalStatus,
    IncidentReported,
    IncidentSeverity,
    Organisation,
    PartnerType,
    Party,
    PartyJoined,
    PartyLeft,
    PartyRole,
    Person,
    PersonRole,
    PhaseChanged,
    PlanRevised,
    Policy,
    Region,
    RiskFactor,
    SafetyAgreement,
    ScoreGiven,
    WorkGoal,
)

# --- the synthetic case ----------------------------------------------------------------------------

SEED = 20240108
T0 = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)
CYCLE_DAYS = 730
"""One 'pattern' is two years; longer histories repeat it over more time."""
CONFERENCES_PER_CYCLE = 40
CONFERENCE_INTERVAL_DAYS = 18
FIRST_CONFERENCE_DAY = 5
PLAN_EVERY = 2
"""A plan revision in every second conference: 20 per cycle."""
FLAWED_PLAN = 7
"""The 8th plan of each cycle ranks two goals 2 (a Top-3 mistake, fixed by the next revision)."""
INCIDENT_DAYS = (20, 70, 130, 190, 250, 440, 500, 560, 620, 690)
ACUTE_DAYS = frozenset({20, 190, 440, 620})
SIZES = (1, 10, 100)

CLIENT_PERSON = Person(id="person-client", role=PersonRole.CLIENT, label="Cliënt A (synthetisch)")
PUV_PERSON = Person(id="person-puv", role=PersonRole.PERSON_WHO_USED_VIOLENCE, label="Partner B (synth.)")
CHILD_PERSON = Person(id="person-child", role=PersonRole.CHILD, label="Kind C (synthetisch)", birth_year=2017)
NETWORK_PERSON = Person(id="person-network", role=PersonRole.NETWORK, label="Buurvrouw D (synth.)")

PARTIES = (
    Party(id="client", role=PartyRole.CLIENT, name="Cliënt A (synthetisch)", person_id=CLIENT_PERSON.id),
    Party(id="practitioner", role=PartyRole.PRACTITIONER, name="Hulpverlener E (synthetisch)"),
    Party(
        id="police",
        role=PartyRole.CHAIN_PARTNER,
        name="Politie Eenheid Testland",
        partner_type=PartnerType.POLICE,
    ),
    Party(
        id="veilig-thuis",
        role=PartyRole.CHAIN_PARTNER,
        name="Veilig Thuis Regio Testland",
        partner_type=PartnerType.VEILIG_THUIS,
    ),
    Party(
        id="reclassering",
        role=PartyRole.CHAIN_PARTNER,
        name="Reclassering Testland",
        partner_type=PartnerType.RECLASSERING,
    ),
    Party(
        id="network", role=PartyRole.NETWORK, name="Buurvrouw D (synthetisch)", person_id=NETWORK_PERSON.id
    ),
)
PARTY_IDS = tuple(p.id for p in PARTIES)
PARTY_BIAS = {"client": 0, "practitioner": 0, "police": 0, "veilig-thuis": 0, "reclassering": 0, "network": 1}
RATIONALES = (
    "afspraken uit het veiligheidsplan worden nagekomen",
    "geen nieuwe meldingen sinds het vorige MDO",
    "spanning thuis is merkbaar maar hanteerbaar",
    "netwerk houdt dagelijks contact met de cliënt",
    "pleger volgt de agressieregulatietraining",
    "kind vertelt op school dat het thuis rustiger is",
)
RISK_TEXTS = (
    "alcoholgebruik bij spanning",
    "financiële schulden",
    "beperkte probleemoplossende vaardigheden",
    "sociaal isolement",
    "eigen geschiedenis van geweld",
)
GOAL_TEXTS = (
    "schuldhulpverlening aanvragen",
    "training agressieregulatie afronden",
    "time-out-afspraak oefenen",
    "netwerkberaad organiseren",
    "opvoedondersteuning starten",
)


def _opened(case_id: str) -> CaseOpened:
    return CaseOpened(
        id=f"{case_id}-opened",
        at=T0,
        organisation=Organisation(id="org-test", name="Vrouwenopvang Testland (synthetisch)"),
        region=Region(region="Regio Testland", lead_municipality="Centrumstad", municipality="Dorpsveen"),
        persons=(CLIENT_PERSON, PUV_PERSON, CHILD_PERSON, NETWORK_PERSON),
        parties=PARTIES,
        care_setting=CareSetting(kind=CareSettingKind.AMBULANT),
        reason="Synthetische casus voor de benchmark",
    )


def _score(
    rng: random.Random,
    party_id: str,
    at: datetime,
    last_incident: datetime,
    last_acute: datetime | None,
) -> int:
    """Scores rise with the time since the last incident and drop right after an acute one."""
    quiet_days = (at - last_incident).days
    value = min(8, 4 + quiet_days // 25) + PARTY_BIAS[party_id] + rng.choice((-1, 0, 0, 0, 1))
    if last_acute is not None and at - last_acute < timedelta(days=CONFERENCE_INTERVAL_DAYS):
        value = {"client": 2, "police": 3}.get(party_id, min(value, 4))
    return max(0, min(10, value))


def _plan(rng: random.Random, prefix: str, conference_id: str, at: datetime, flawed: bool) -> PlanRevised:
    risks = tuple(
        RiskFactor(id=f"{prefix}-rf{i}", text=text, code=f"RF{i}")
        for i, text in enumerate(rng.sample(RISK_TEXTS, rng.randint(1, 3)))
    )
    goal_count = rng.randint(1, 3)
    goals = [
        WorkGoal(
            id=f"{prefix}-wg{i}",
            text=text,
            rank=i + 1,
            risk_factor_id=risks[i % len(risks)].id,
        )
        for i, text in enumerate(rng.sample(GOAL_TEXTS, goal_count))
    ]
    if flawed:
        goals = [
            WorkGoal(id=f"{prefix}-wg{i}", text=GOAL_TEXTS[i], rank=rank) for i, rank in enumerate((1, 2, 2))
        ]
    if rng.random() < 0.5:  # an achieved goal stays in the plan but is not in the Top 3
        goals.append(
            WorkGoal(id=f"{prefix}-wg-done", text="veilige slaapplek geregeld", status=GoalStatus.ACHIEVED)
        )
    responsible = ("practitioner", "client", "police", CLIENT_PERSON.id, PUV_PERSON.id)
    agreements = tuple(
        SafetyAgreement(
            id=f"{prefix}-sa{i}",
            what=f"veiligheidsafspraak {i + 1} (synthetisch)",
            responsible=rng.choice(responsible),
            due=at + timedelta(days=14 * (i + 1)),
        )
        for i in range(rng.randint(1, 3))
    )
    return PlanRevised(
        id=prefix,
        at=at,
        conference_id=conference_id,
        agreements=agreements,
        work_goals=tuple(goals),
        risk_factors=risks,
    )


def build_case(engine: Engine, cycles: int, seed: int = SEED) -> Case:
    """The benchmark case: ``cycles`` times the two-year pattern, recorded through the engine."""
    rng = random.Random(seed)
    case_id = f"bench-{cycles}x"
    case = Case.open(_opened(case_id), case_id=case_id)
    last_incident = T0
    last_acute: datetime | None = None
    for cycle in range(cycles):
        base = T0 + timedelta(days=CYCLE_DAYS * cycle)
        schedule: list[tuple[datetime, str, int]] = [
            (base + timedelta(days=FIRST_CONFERENCE_DAY + j * CONFERENCE_INTERVAL_DAYS, hours=1), "mdo", j)
            for j in range(CONFERENCES_PER_CYCLE)
        ]
        schedule += [(base + timedelta(days=d, hours=12, minutes=30), "incident", d) for d in INCIDENT_DAYS]
        schedule.sort()
        for at, kind, n in schedule:
            prefix = f"{case_id}-c{cycle}"
            if kind == "incident":
                acute = n in ACUTE_DAYS
                severity = (
                    IncidentSeverity.SEVERE
                    if acute
                    else (IncidentSeverity.MINOR, IncidentSeverity.SERIOUS)[n % 2]
                )
                case = engine.record(
                    case,
                    IncidentReported(
                        id=f"{prefix}-inc{n}",
                        at=at,
                        severity=severity,
                        acute=acute,
                        description="incident (synthetisch)",
                        reported_by=("police", "practitioner")[n % 2],
                    ),
                )
                last_incident = at
                if acute:
                    last_acute = at
                    moment = at + timedelta(hours=2)
                    if engine.evaluate(case, at=moment).relapse is not None:
                        case = engine.relapse(
                            case, at=moment, reason="acuut incident", event_id=f"{prefix}-relapse{n}"
                        )
                continue
            conference_id = f"{prefix}-mdo{n:02d}"
            with_plan = n % PLAN_EVERY == 0
            case = engine.record(
                case,
                ConferenceHeld(
                    id=conference_id,
                    at=at,
                    participants=PARTY_IDS,
                    client_present=with_plan or n % 7 != 3,
                    notes=f"MDO {n + 1} (synthetisch)",
                ),
            )
            for party_id in PARTY_IDS:
                case = engine.give_score(
                    case,
                    party_id=party_id,
                    score=_score(rng, party_id, at, last_incident, last_acute),
                    rationale=f"{rng.choice(RATIONALES)} (MDO {n + 1})",
                    at=at,
                    conference_id=conference_id,
                    event_id=f"{conference_id}-{party_id}",
                )
            if with_plan:
                plan_index = n // PLAN_EVERY
                plan = _plan(
                    rng, f"{prefix}-plan{plan_index:02d}", conference_id, at, plan_index == FLAWED_PLAN
                )
                case = engine.record(case, plan)
            decision = engine.evaluate(case, at=at)
            if decision.relapse is not None:
                case = engine.relapse(
                    case, at=at, reason="score onder 6", event_id=f"{conference_id}-relapse"
                )
            elif decision.may_advance:
                case = engine.advance(case, at=at, reason="consensus in MDO", event_id=f"{conference_id}-adv")
    return case


# --- the baseline: plain dicts, one pass, the same core decision -----------------------------------

REQUIRED_ROLES = frozenset({"client", "practitioner", "chain_partner"})
MAX_SCORE_AGE = timedelta(days=60)
STABILITY_WINDOW = timedelta(days=90)


def to_plain(event: Event) -> dict[str, Any]:
    """An event as a plain dict (enums as strings, times stay aware datetimes)."""
    d: dict[str, Any] = {"type": event.type, "id": event.id, "at": event.at}
    if isinstance(event, CaseOpened):
        d["parties"] = [{"id": p.id, "role": p.role.value} for p in event.parties]
    elif isinstance(event, PartyJoined):
        d["party"] = {"id": event.party.id, "role": event.party.role.value}
    elif isinstance(event, PartyLeft):
        d["party_id"] = event.party_id
    elif isinstance(event, ConferenceHeld):
        d["client_present"] = event.client_present
    elif isinstance(event, ScoreGiven):
        d.update(party_id=event.party_id, score=event.score, rationale=event.rationale)
    elif isinstance(event, IncidentReported):
        d["acute"] = event.acute
    elif isinstance(event, PlanRevised):
        d["conference_id"] = event.conference_id
        d["agreements"] = [{"id": a.id} for a in event.agreements]
        d["work_goals"] = [{"rank": g.rank, "status": g.status.value} for g in event.work_goals]
    elif isinstance(event, PhaseChanged):
        d.update(from_phase=int(event.from_phase), to_phase=int(event.to_phase), kind=event.kind.value)
    elif isinstance(event, CaseClosed):
        pass
    return d


def baseline_decide(events: list[dict[str, Any]], at: datetime) -> dict[str, Any]:
    """Fold the plain events and decide, with the default policy's numbers hard-coded.

    Covers every gate the engine has, so that ``may_advance`` is comparable: acute score (0-2),
    acute and non-acute incident since the last conference, consensus (>= 6 in phase 1, >= 7 in
    phase 2) over counting scores (rationale, <= 60 days, after the latest incident/relapse),
    agreements in the plan (phase 1), no incident in 90 days (phase 2), Top 3 on the latest plan,
    plan made with the client present, and the relapse proposal (score < 6 / acute incident).
    """
    team: dict[str, str] = {}
    latest: dict[str, dict[str, Any]] = {}
    client_present: dict[str, bool] = {}
    incidents: list[dict[str, Any]] = []
    phase = 1
    phase_since = at
    closed = False
    last_conference: datetime | None = None
    plan: dict[str, Any] | None = None
    reweigh: datetime | None = None
    for e in events:
        kind = e["type"]
        if kind == "score_given":
            previous = latest.get(e["party_id"])
            if previous is None or previous["at"] <= e["at"]:
                latest[e["party_id"]] = e
        elif kind == "conference_held":
            client_present[e["id"]] = e["client_present"]
            if last_conference is None or e["at"] >= last_conference:
                last_conference = e["at"]
        elif kind == "incident_reported":
            incidents.append(e)
            if e["at"] <= at and (reweigh is None or e["at"] > reweigh):
                reweigh = e["at"]
        elif kind == "plan_revised":
            plan = e
        elif kind == "phase_changed":
            phase = e["to_phase"]
            phase_since = e["at"]
            if e["kind"] == "relapse" and (reweigh is None or e["at"] > reweigh):
                reweigh = e["at"]
        elif kind == "case_opened":
            team = {p["id"]: p["role"] for p in e["parties"]}
            phase_since = e["at"]
        elif kind == "party_joined":
            team[e["party"]["id"]] = e["party"]["role"]
        elif kind == "party_left":
            del team[e["party_id"]]
        elif kind == "case_closed":
            closed = True

    # the latest score per required party, if it counts
    counting: dict[str, dict[str, Any] | None] = {}
    for party_id, role in team.items():
        if role not in REQUIRED_ROLES:
            continue
        s = latest.get(party_id)
        if (
            s is None
            or not s["rationale"].strip()
            or at - s["at"] > MAX_SCORE_AGE
            or (reweigh is not None and s["at"] < reweigh)
        ):
            s = None
        counting[party_id] = s

    acute_score = any(s["score"] <= 2 for pid, s in latest.items() if pid in team)
    since_conference = [
        i for i in incidents if i["at"] <= at and (last_conference is None or i["at"] >= last_conference)
    ]
    acute_incident = any(i["acute"] for i in since_conference)
    reassess = any(not i["acute"] for i in since_conference)
    blocked = acute_score or acute_incident or reassess
    relapse_proposed = False
    if phase == 1:
        consensus = bool(counting) and all(s is not None and s["score"] >= 6 for s in counting.values())
        blocked = blocked or not consensus or plan is None or not plan["agreements"]
    else:
        low = any(s is not None and s["score"] < 6 for s in counting.values())
        acute_since_phase = any(i["acute"] and phase_since <= i["at"] <= at for i in incidents)
        relapse_proposed = (low or acute_since_phase) and not closed
        blocked = blocked or low or acute_since_phase
        if phase == 2:
            consensus = bool(counting) and all(s is not None and s["score"] >= 7 for s in counting.values())
            quiet = not any(at - STABILITY_WINDOW <= i["at"] <= at for i in incidents)
            blocked = blocked or not consensus or not quiet
    if plan is not None:
        active = [g for g in plan["work_goals"] if g["status"] == "active"]
        ranks = sorted(g["rank"] for g in active if g["rank"] is not None)
        top3_ok = len(active) <= 3 and ranks == list(range(1, len(active) + 1))
        blocked = blocked or not top3_ok or not client_present[plan["conference_id"]]
    return {
        "phase": phase,
        "closed": closed,
        "may_advance": phase < 3 and not closed and not blocked,
        "relapse": relapse_proposed,
        "acute_alert": acute_score or acute_incident,
        "any_alert": acute_score or acute_incident or (reassess and phase != 1),
        "counting_scores": {pid: (s["score"] if s else None) for pid, s in counting.items()},
    }


# --- agreement check -------------------------------------------------------------------------------


def engine_summary(decision: Decision) -> dict[str, Any]:
    return {
        "phase": int(decision.phase),
        "may_advance": decision.may_advance,
        "relapse": decision.relapse is not None,
        "acute_alert": any(a.level is AlertLevel.IMMEDIATE_PROTECTION for a in decision.alerts),
        "any_alert": bool(decision.alerts),
    }


COMPARED = ("phase", "may_advance", "relapse", "acute_alert", "any_alert")


def check_agreement(engine: Engine, case: Case) -> dict[str, Any]:
    """Compare engine and baseline on the history up to every moment (a conference with its
    scores and plan, an incident and 2 hours after it, just before and after every transition) and
    on the whole history 30 and 75 days after its end (scores then stale)."""
    events = case.events
    moments: list[tuple[int, datetime]] = []
    for index, event in enumerate(events):
        if isinstance(event, PhaseChanged):
            moments.append((index, event.at))  # just before the transition: it must be allowed
        if index + 1 < len(events) and events[index + 1].at == event.at:
            continue  # evaluate once all events of the same moment are in
        moments.append((index + 1, event.at))
        if isinstance(event, IncidentReported):
            moments.append((index + 1, event.at + timedelta(hours=2)))
    end = events[-1].at
    moments += [(len(events), end + timedelta(days=30)), (len(events), end + timedelta(days=75))]
    counts = {"moments": 0, "may_advance": 0, "relapse": 0, "acute_alert": 0, "any_alert": 0}
    phases: dict[int, int] = {}
    for size, at in moments:
        prefix = events[:size]
        got_engine = engine_summary(engine.evaluate(Case(case.case_id, prefix), at=at))
        got_base = baseline_decide([to_plain(e) for e in prefix], at)
        for key in COMPARED:
            assert got_engine[key] == got_base[key], (
                f"baseline disagrees with the engine on {key} after {size} events at {at.isoformat()}: "
                f"engine {got_engine}, baseline {got_base}"
            )
        counts["moments"] += 1
        for key in ("may_advance", "relapse", "acute_alert", "any_alert"):
            counts[key] += bool(got_engine[key])
        phases[got_engine["phase"]] = phases.get(got_engine["phase"], 0) + 1
    return {"agree": True, "compared": list(COMPARED), **counts, "phases": dict(sorted(phases.items()))}


# --- timing ----------------------------------------------------------------------------------------


def run_size(engine: Engine, cycles: int, quick: bool) -> dict[str, Any]:
    t_build = time.perf_counter()
    case = build_case(engine, cycles)
    build_s = time.perf_counter() - t_build
    events = case.events
    plain = [to_plain(e) for e in events]
    at = events[-1].at + timedelta(days=1)
    case_id = case.case_id

    # the decision being timed must be the same one on both sides
    full = engine_summary(engine.evaluate(Case(case_id, events), at=at))
    base = baseline_decide(plain, at)
    assert all(full[k] == base[k] for k in COMPARED), (full, base)

    reps = max(3 if quick else 5, (60 if quick else 400) // cycles)
    fast_reps = max(5, (300 if quick else 3000) // cycles)
    budget = 0.4 if quick else 2.5
    results = {
        "engine_full": _bench.measure(
            lambda: engine.evaluate(Case(case_id, events), at=at), reps, budget, reps
        ),
        "engine_evaluate": _bench.measure(lambda: engine.evaluate(case, at=at), fast_reps, budget),
        "baseline": _bench.measure(lambda: baseline_decide(plain, at), fast_reps, budget),
    }
    n = len(events)
    for r in results.values():
        r["per_event_us"] = r["median_us"] / n
    kinds: dict[str, int] = {}
    for e in events:
        kinds[e.type] = kinds.get(e.type, 0) + 1
    changes = [e for e in events if isinstance(e, PhaseChanged)]
    return {
        "size": f"{cycles}x",
        "cycles": cycles,
        "events": n,
        "event_kinds": kinds,
        "advances": sum(1 for e in changes if e.kind.value == "advance"),
        "relapses": sum(1 for e in changes if e.kind.value == "relapse"),
        "final_phase": int(case.state.phase),
        "evaluated_at": at.isoformat(),
        "build_s": build_s,
        "ratio_full_vs_baseline": results["engine_full"]["median_us"] / results["baseline"]["median_us"],
        "ratio_evaluate_vs_baseline": results["engine_evaluate"]["median_us"]
        / results["baseline"]["median_us"],
        **results,
    }


def growth(runs: list[dict[str, Any]]) -> dict[str, Any]:
    first = runs[0]
    out: dict[str, Any] = {}
    for run in runs[1:]:
        events_ratio = run["events"] / first["events"]
        entry: dict[str, Any] = {"events": events_ratio}
        for key in ("engine_full", "engine_evaluate", "baseline"):
            ratio = run[key]["median_us"] / first[key]["median_us"]
            entry[key] = ratio
            entry[f"{key}_per_event"] = ratio / events_ratio
        out[f"{run['size']}/{first['size']}"] = entry
    return out


# --- output ----------------------------------------------------------------------------------------

TARGET = 5.0


def print_report(report: dict[str, Any]) -> None:
    meta = report["meta"]
    print(f"ketenzorg {meta['ketenzorg']} - Engine.evaluate benchmark")
    print(_bench.machine_line(meta, f"seed {meta['seed']}"))
    print()
    one = report["sizes"][0]
    print(
        f"Benchmark case (1x): {one['events']} events over {CYCLE_DAYS} days: "
        + ", ".join(f"{k} {v}" for k, v in one["event_kinds"].items())
    )
    print(
        f"  phase transitions: {one['advances']} advances, {one['relapses']} relapses; "
        f"final phase {one['final_phase']}"
    )
    agreement = report["agreement"]
    print(
        f"Baseline agrees with the engine at {agreement['moments']} of {agreement['moments']} moments "
        f"on {', '.join(agreement['compared'])}"
    )
    print(
        f"  (moments with: may_advance {agreement['may_advance']}, relapse proposed {agreement['relapse']}, "
        f"acute alert {agreement['acute_alert']}, any alert {agreement['any_alert']}; "
        f"by phase {agreement['phases']})"
    )
    print()
    print("Time per call in microseconds: median (min), repetitions; evaluated 1 day after the last event")
    rows = []
    for run in report["sizes"]:
        for key, label in (
            ("engine_full", "engine full (fold + evaluate)"),
            ("engine_evaluate", "engine evaluate only (folded)"),
            ("baseline", "baseline (dict fold + decide)"),
        ):
            r = run[key]
            rows.append(
                [
                    f"{run['size']:>4}  {label}",
                    f"{run['events']:,}",
                    _bench.us(r["median_us"]),
                    _bench.us(r["min_us"]),
                    str(r["reps"]),
                    f"{r['per_event_us']:.3f}",
                    f"{r['median_us'] / run['baseline']['median_us']:.1f}x",
                ]
            )
    print(
        _bench.table(["size  measure", "events", "median us", "min us", "reps", "us/event", "vs base"], rows)
    )
    print()
    print("Growth of the median time per call (linear would follow the events column):")
    rows = []
    for label, g in report["growth"].items():
        rows.append(
            [
                label,
                f"{g['events']:.1f}x",
                f"{g['engine_full']:.1f}x",
                f"{g['engine_evaluate']:.1f}x",
                f"{g['baseline']:.1f}x",
                f"{g['engine_full_per_event']:.2f}",
                f"{g['engine_evaluate_per_event']:.2f}",
                f"{g['baseline_per_event']:.2f}",
            ]
        )
    print(
        _bench.table(
            ["growth", "events", "full", "evaluate", "baseline", "full/ev", "eval/ev", "base/ev"],
            rows,
        )
    )
    print(
        "  (x/ev = growth of the time per event; <= ~1.2 is linear or better, clearly above is superlinear)"
    )
    for label, verdict in report["linearity"].items():
        print(f"  {label}: {verdict}")
    print()
    ratio = report["ratio_full_vs_baseline"]
    print(
        f"Engine full / baseline (1x): {ratio:.1f}x; engine evaluate only / baseline: "
        f"{report['ratio_evaluate_vs_baseline']:.2f}x"
    )
    evaluate_ok = report["ratio_evaluate_vs_baseline"] <= TARGET
    print(
        f"Target: Engine.evaluate(case) within {TARGET:.0f}x of the baseline -> {_bench.verdict(evaluate_ok)}"
    )
    status = _bench.verdict(report["target_met"])
    print(
        f"  and with the whole history folded from scratch in every call (Case(...) + evaluate), "
        f"within {TARGET:.0f}x -> {status}"
    )
    print(f"Total wall time {report['meta']['total_s']:.1f} s (building the cases included)")


def main(argv: list[str] | None = None) -> int:
    args = _bench.parser(__doc__).parse_args(argv)
    started = time.perf_counter()

    engine = Engine(Policy())
    agreement = check_agreement(engine, build_case(engine, 1))
    runs = [run_size(engine, cycles, args.quick) for cycles in SIZES]
    grown = growth(runs)
    linearity = {}
    for key in ("engine_full", "engine_evaluate", "baseline"):
        worst = max(g[f"{key}_per_event"] for g in grown.values())
        linearity[key] = f"time per event grows at most {worst:.2f}x -> " + (
            "at most linear" if worst <= 1.2 else "SUPERLINEAR"
        )
    ratio = runs[0]["ratio_full_vs_baseline"]
    report = {
        "meta": _bench.meta(ketenzorg.__version__, args.quick, {"seed": SEED}, _bench.CLOCK),
        "agreement": agreement,
        "sizes": runs,
        "growth": grown,
        "linearity": linearity,
        "target_ratio": TARGET,
        "ratio_full_vs_baseline": ratio,
        "ratio_evaluate_vs_baseline": runs[0]["ratio_evaluate_vs_baseline"],
        "target_met": ratio <= TARGET,
    }
    report["meta"]["total_s"] = time.perf_counter() - started
    _bench.emit(report, args.json, print_report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
