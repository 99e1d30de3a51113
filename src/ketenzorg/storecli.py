"""``ketenzorg store ...``: an operator works cases in a case store (:mod:`ketenzorg.store`).

Every recording command loads the case with its version, records through the engine's public
API (so the usual checks apply), and appends with that version: a writer that lost a race with
another gets the store's conflict error (exit 1) and nothing is written. Every write and every
export names its actor (NEN 7513: user, role, organisation, on whose behalf) in the audit log.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ketenzorg.cli import (
    EXIT_NEGATIVE,
    EXIT_OK,
    _common,
    _dumps_json,
    _engine,
    _loadable,
    _out,
    _parse_at,
    _print_blocking_parties,
    _print_team,
    _team_members,
    _UsageError,
    _warn,
    _write,
)

if TYPE_CHECKING:
    from ketenzorg.case import Case
    from ketenzorg.decision import Decision
    from ketenzorg.engine import Engine
    from ketenzorg.events import Event
    from ketenzorg.messages import Language
    from ketenzorg.store import Actor, CaseStore, StoredCase

__all__ = ["register"]

_T = TypeVar("_T")

USER_ENV = "KETENZORG_USER"
ROLE_ENV = "KETENZORG_ROLE"
ORGANISATION_ENV = "KETENZORG_ORGANISATION"


# --- shared pieces -------------------------------------------------------------------------------


def actor(args: argparse.Namespace) -> Actor:
    """Who records: ``--user``/``--role``/``--organisation`` (else the environment); each is required."""
    from ketenzorg.store import Actor

    values: dict[str, str] = {}
    for name, option, env in (
        ("user", "--user", USER_ENV),
        ("role", "--role", ROLE_ENV),
        ("organisation", "--organisation", ORGANISATION_ENV),
    ):
        value = getattr(args, name, None) or os.environ.get(env) or ""
        if not value.strip():
            raise _UsageError(f"{option}: who records this is required (or set ${env})")
        values[name] = value
    return Actor(responsible=args.on_behalf_of or None, **values)


def _open(args: argparse.Namespace, engine: Engine | None = None) -> CaseStore:
    from ketenzorg.store import CaseStore

    return CaseStore.open(args.store, engine=engine or _engine(args))


def _load(store: CaseStore, args: argparse.Namespace) -> StoredCase:
    stored = store.load(args.case)
    expected: int | None = getattr(args, "expected_version", None)
    if expected is not None and expected != stored.version:
        from ketenzorg.errors import VersionConflictError

        raise VersionConflictError(store.name, args.case, expected, stored.version)
    return stored


def _at(args: argparse.Namespace, engine: Engine, case: Case) -> datetime:
    """``--at``, else now (never before the latest event: a history is ordered)."""
    return _parse_at(getattr(args, "at", None)) or max(engine.clock(), case.state.latest_at)


def _record(
    args: argparse.Namespace,
    command: str,
    change: Callable[[Engine, Case], Case],
    *,
    options: dict[str, str] | None = None,
    result: Callable[[Engine, Case], tuple[dict[str, Any], Callable[[], None]]] | None = None,
) -> int:
    """Load the case, make the change through the engine, append what it added, show the decision.

    ``options`` names the option behind a field the engine refuses; ``result`` gives what the change
    produced beyond the decision (for ``--json``) and how to print it.
    """
    from ketenzorg.errors import InvalidEventError, Problem

    who = actor(args)
    engine = _engine(args)
    with _open(args, engine) as store:
        stored = _load(store, args)
        try:
            new = change(engine, stored.case)
        except InvalidEventError as error:
            options = {
                "party_id": "--party",
                "score": "--score",
                "rationale": "--rationale",
                "at": "--at",
                "severity": "--severity",
                "description": "--description",
                "reported_by": "--by",
                "participants": "--participants",
                **(options or {}),
            }
            problems = [Problem(options.get(p.path, p.path), p.message) for p in error.problems]
            raise InvalidEventError(problems, source=args.case) from None
        added = new.events[len(stored.case.events) :]
        appended = store.append(
            args.case, added, expected_version=stored.version, actor=who, command=f"store {command}"
        )
    decision = engine.evaluate(new, at=max(engine.clock(), new.state.latest_at))
    shown, describe = result(engine, new) if result is not None else ({}, None)
    if args.json:
        sys.stdout.write(
            _dumps_json(
                {
                    "case_id": args.case,
                    "version": appended.version,
                    "event_ids": [e.id for e in added],
                    **shown,
                    "decision": decision.to_dict(args.lang),
                }
            )
        )
        return EXIT_OK
    _out(f"recorded {command} in case {args.case} (version {appended.version})")
    if describe is not None:
        describe()
    _out(decision.explain(args.lang))
    _print_blocking_parties(decision, new, args.lang)
    return EXIT_OK


def _summary(decision: Decision) -> dict[str, Any]:
    return {
        "phase": int(decision.phase),
        "closed": decision.closed,
        "alerts": len(decision.alerts),
        "next_phase": int(decision.next_phase) if decision.next_phase is not None else None,
        "may_advance": decision.may_advance,
        "blocking": [r.rule_id for r in decision.blocking],
    }


def _next_gate(decision: Decision) -> str:
    if decision.closed:
        return "closed"
    if decision.may_close:
        return "may close"
    if decision.next_phase is None:
        return "-"
    if decision.may_advance:
        return f"may advance to phase {int(decision.next_phase)}"
    blocking = ", ".join(r.rule_id for r in decision.blocking)
    return f"phase {int(decision.next_phase)} blocked by {blocking}"


# --- reading -------------------------------------------------------------------------------------


def _cmd_verify(args: argparse.Namespace) -> int:
    with _open(args) as store:
        problems = store.verify()
        count = len(store.cases())
    if args.json:
        shown = [{"path": p.path, "message": p.message} for p in problems]
        sys.stdout.write(_dumps_json({"store": store.name, "cases": count, "problems": shown}))
    elif problems:
        for problem in problems:
            _out(f"{store.name}: {problem.path}: {problem.message}")
        _out(f"{len(problems)} problem(s) in {count} case(s)")
    else:
        _out(f"{store.name}: {count} case(s), every audit chain intact, every case replays")
    return EXIT_NEGATIVE if problems else EXIT_OK


def _cmd_list(args: argparse.Namespace) -> int:
    engine = _engine(args)
    rows: list[dict[str, Any]] = []
    with _open(args, engine) as store:
        for info in store.cases():
            row: dict[str, Any] = {"case_id": info.case_id, "version": info.version}
            if info.destroyed:
                row["destroyed"] = True
            else:
                case = store.load(info.case_id).case
                decision = engine.evaluate(case, at=max(engine.clock(), case.state.latest_at))
                row |= _summary(decision)
                row["next_gate"] = _next_gate(decision)
            rows.append(row)
    if args.json:
        sys.stdout.write(_dumps_json({"cases": rows}))
        return EXIT_OK
    for row in rows:
        if row.get("destroyed"):
            _out(f"{row['case_id']}  destroyed")
        else:
            _out(
                f"{row['case_id']}  phase {row['phase']}  alerts {row['alerts']}  "
                f"version {row['version']}  {row['next_gate']}"
            )
    if not rows:
        _out("no cases in the store")
    return EXIT_OK


def _plan_json(case: Case) -> dict[str, Any] | None:
    plan = case.state.plan
    if plan is None:
        return None
    return {
        "version": case.state.plan_version,
        "conference_id": plan.conference_id,
        "agreements": [{"id": a.id, "what": a.what} for a in plan.agreements],
        "work_goals": [{"id": g.id, "text": g.text, "rank": g.rank} for g in plan.work_goals],
        "recovery_goals": len(plan.recovery_goals),
        "tasks": len(plan.tasks),
    }


def _cmd_show(args: argparse.Namespace) -> int:
    engine = _engine(args)
    with _open(args, engine) as store:
        stored = _load(store, args)
    case = stored.case
    decision = engine.evaluate(case, at=max(engine.clock(), case.state.latest_at))
    lang: Language = args.lang
    if args.json:
        shown = {
            "case_id": case.case_id,
            "version": stored.version,
            "members": _team_members(case, lang),
            "plan": _plan_json(case),
            "decision": decision.to_dict(lang),
        }
        sys.stdout.write(_dumps_json(shown))
        return EXIT_OK
    _out(f"case {case.case_id}, version {stored.version}")
    _print_team(case, lang)
    plan = _plan_json(case)
    if plan is None:
        _out("plan: none yet")
    else:
        _out(f"plan: version {plan['version']}")
        for agreement in plan["agreements"]:
            _out(f"  agreement: {agreement['what']}")
        for goal in plan["work_goals"]:
            _out(f"  work goal {goal['rank']}: {goal['text']}")
    _out("")
    _out(decision.explain(lang))
    _print_blocking_parties(decision, case, lang)
    return EXIT_OK


# --- new cases -----------------------------------------------------------------------------------


def _store_new(args: argparse.Namespace, engine: Engine, case: Case, command: str) -> int:
    from ketenzorg.errors import StoreError

    who = actor(args)
    with _open(args, engine) as store:
        if any(info.case_id == case.case_id for info in store.cases()):
            raise StoreError(store.name, f"case {case.case_id} is in the store already; nothing was written")
        result = store.create(case, actor=who, command=f"store {command}")
    if args.json:
        sys.stdout.write(_dumps_json({"case_id": case.case_id, "version": result.version}))
    else:
        _out(f"stored case {case.case_id} (version {result.version})")
    return EXIT_OK


def _cmd_open(args: argparse.Namespace) -> int:
    from ketenzorg.loading import load_replayed

    engine = _engine(args)
    case = load_replayed(engine, args.source, "json", warn=_warn(args.source))
    return _store_new(args, engine, case, "open")


def _cmd_import(args: argparse.Namespace) -> int:
    from ketenzorg.loading import load_replayed

    # As `ketenzorg import`: validated, its phase changes re-decided before it is stored.
    engine = _engine(args)
    case = load_replayed(engine, args.bundle, args.format, warn=_warn(args.bundle))
    return _store_new(args, engine, case, "import")


# --- recording -----------------------------------------------------------------------------------


def _cmd_score(args: argparse.Namespace) -> int:
    def change(engine: Engine, case: Case) -> Case:
        return engine.give_score(
            case,
            party_id=args.party,
            score=args.score,
            rationale=args.rationale,
            at=_at(args, engine, case),
        )

    return _record(args, "score", change)


def _scores(path: str) -> dict[str, tuple[int, str]]:
    """A scores file: ``{"<party-id>": {"score": 6, "rationale": "..."}, ...}``."""
    from ketenzorg.errors import MalformedInputError
    from ketenzorg.loading import load_json

    data = load_json(path)
    if not isinstance(data, dict) or not data:
        raise MalformedInputError.at(path, 'expected {"<party-id>": {"score": N, "rationale": TEXT}, ...}')
    scores: dict[str, tuple[int, str]] = {}
    for number, (party, item) in enumerate(data.items(), start=1):
        # by its place in the file: a key of an untrusted file may hold anything, it is not repeated
        where = f"score {number} of the file"
        if not isinstance(item, dict) or set(item) - {"score", "rationale"} or "score" not in item:
            raise MalformedInputError.at(path, 'expected {"score": N, "rationale": TEXT}', where)
        score, rationale = item["score"], item.get("rationale", "")
        if not isinstance(score, int) or isinstance(score, bool):
            raise MalformedInputError.at(path, "expected a whole number 0..10", f"{where}.score")
        if not isinstance(rationale, str):
            raise MalformedInputError.at(path, "expected a text", f"{where}.rationale")
        scores[party] = (score, rationale)
    return scores


def _cmd_conference(args: argparse.Namespace) -> int:
    from ketenzorg.domain import new_id
    from ketenzorg.errors import InvalidEventError, Problem
    from ketenzorg.events import ConferenceHeld, ScoreGiven

    scores = _scores(args.scores) if args.scores else {}
    participants = (
        [p.strip() for p in args.participants.split(",") if p.strip()] if args.participants else list(scores)
    )
    if not participants:
        raise _UsageError("--participants: name the parties that took part (or give --scores)")

    def change(engine: Engine, case: Case) -> Case:
        at = _at(args, engine, case)
        conference = ConferenceHeld(
            id=new_id(), at=at, participants=tuple(participants), client_present=args.client_present
        )
        events: list[Event] = [conference]
        team = case.state.care_team
        for party, (score, rationale) in scores.items():
            member = team.get(party)
            if member is None:
                raise InvalidEventError([Problem(f"--scores.{party}", "this party is not in the care team")])
            if party not in participants:
                raise InvalidEventError([Problem(f"--scores.{party}", "this party did not take part")])
            events.append(
                ScoreGiven(
                    id=new_id(),
                    at=at,
                    party_id=party,
                    role=member.role,
                    score=score,
                    rationale=rationale,
                    conference_id=conference.id,
                )
            )
        return engine.record_all(case, events)

    return _record(args, "conference", change)


def _cmd_incident(args: argparse.Namespace) -> int:
    from ketenzorg.domain import IncidentSeverity, new_id
    from ketenzorg.events import IncidentReported

    def change(engine: Engine, case: Case) -> Case:
        event = IncidentReported(
            id=new_id(),
            at=_at(args, engine, case),
            severity=IncidentSeverity(args.severity),
            acute=args.acute,
            description=args.description,
            reported_by=args.by,
        )
        return engine.record(case, event)

    return _record(args, "incident", change)


def _cmd_advance(args: argparse.Namespace) -> int:
    return _record(args, "advance", lambda engine, case: engine.advance(case, reason=args.reason or ""))


def _cmd_relapse(args: argparse.Namespace) -> int:
    return _record(args, "relapse", lambda engine, case: engine.relapse(case, reason=args.reason))


def _cmd_close(args: argparse.Namespace) -> int:
    handover = [h.strip() for h in args.handover.split(",") if h.strip()]
    if not handover:
        raise _UsageError("--handover: name the party or parties the care is handed over to")
    return _record(
        args,
        "close",
        lambda engine, case: engine.close(case, handover_to=handover, summary=args.summary or ""),
    )


def _file_object(path: str, what: str) -> dict[str, Any]:
    """A JSON object from ``path`` (``what`` says what it should hold, for the error)."""
    from ketenzorg.errors import MalformedInputError
    from ketenzorg.loading import load_json

    data = load_json(path)
    if not isinstance(data, dict):
        raise MalformedInputError.at(path, f"expected {what}")
    return data


def _structure(path: str, data: dict[str, Any], cls: type[_T]) -> _T:
    """``data`` as ``cls`` of the case format; a problem is the file's (exit 2), named by its path."""
    from ketenzorg import caseformat
    from ketenzorg.errors import CaseFormatError, MalformedInputError

    try:
        return caseformat.structure(data, cls)
    except CaseFormatError as error:
        raise MalformedInputError(error.problems, source=path) from None


def _cmd_plan(args: argparse.Namespace) -> int:
    from ketenzorg import caseformat
    from ketenzorg.domain import new_id
    from ketenzorg.errors import MalformedInputError
    from ketenzorg.events import PlanRevised

    # The shape a case file gives a plan_revised event; its type, id and at may be left out.
    data = _file_object(args.source, "a plan_revised event object, as the case format writes it")
    if data.get("type", PlanRevised.type) != PlanRevised.type:
        raise MalformedInputError.at(args.source, f"expected {PlanRevised.type!r}", "type")
    if "at" in data and args.at is not None:
        raise _UsageError("--at: the plan file gives its own `at`; leave one of them out")
    body = {key: value for key, value in data.items() if key != "type"}
    body.setdefault("id", new_id())

    def change(engine: Engine, case: Case) -> Case:
        if "at" not in body:
            body["at"] = caseformat.converter().unstructure(_at(args, engine, case))
        return engine.record(case, _structure(args.source, body, PlanRevised))

    return _record(args, "plan", change, options={"conference_id": f"{args.source}: conference_id"})


def _cmd_join(args: argparse.Namespace) -> int:
    from ketenzorg.domain import Party, new_id
    from ketenzorg.events import PartyJoined

    party = _structure(
        args.party_file, _file_object(args.party_file, "a party object (id, role, name, ...)"), Party
    )

    def change(engine: Engine, case: Case) -> Case:
        return engine.record(case, PartyJoined(id=new_id(), at=_at(args, engine, case), party=party))

    return _record(args, "join", change, options={"party": "--party-file", "party.id": "--party-file: id"})


def _cmd_leave(args: argparse.Namespace) -> int:
    from ketenzorg.domain import new_id
    from ketenzorg.events import PartyLeft

    def change(engine: Engine, case: Case) -> Case:
        event = PartyLeft(
            id=new_id(), at=_at(args, engine, case), party_id=args.party, reason=args.reason or ""
        )
        return engine.record(case, event)

    return _record(args, "leave", change, options={"reason": "--reason"})


def _cmd_setting(args: argparse.Namespace) -> int:
    from ketenzorg.domain import CareSetting, CareSettingKind, Location, new_id
    from ketenzorg.errors import InvalidEventError, Problem
    from ketenzorg.events import CareSettingChanged

    kind = CareSettingKind(args.kind)
    location = None
    if args.location_file:
        what = "a location object (id, name, secret)"
        location = _structure(args.location_file, _file_object(args.location_file, what), Location)
    if kind is CareSettingKind.SHELTER and location is None:
        raise _UsageError("--location-file: a shelter stay needs its location")
    try:
        setting = CareSetting(kind=kind, location=location)
    except (ValueError, TypeError):
        # Never the location itself in the message: a secret location's name must not leave.
        raise InvalidEventError(
            [Problem("--location-file", "does not fit this kind of care setting")]
        ) from None

    def change(engine: Engine, case: Case) -> Case:
        event = CareSettingChanged(
            id=new_id(), at=_at(args, engine, case), care_setting=setting, reason=args.reason or ""
        )
        return engine.record(case, event)

    return _record(args, "setting", change, options={"care_setting": "--kind", "reason": "--reason"})


def _cmd_assess(args: argparse.Namespace) -> int:
    from ketenzorg import caseformat
    from ketenzorg.cli import _print_result
    from ketenzorg.events import InstrumentApplied
    from ketenzorg.instruments import ResponseError
    from ketenzorg.loading import load_json

    answers = load_json(args.answers)
    if isinstance(answers, dict):  # {"missing": "unknown"}: as the case format writes it
        answers = {key: caseformat.answer_from_json(value) for key, value in answers.items()}

    def change(engine: Engine, case: Case) -> Case:
        try:
            return engine.assess(
                case,
                args.instrument,
                answers,
                at=_at(args, engine, case),
                applied_by=args.by,
                subject=args.subject,
            )
        except ResponseError as error:
            raise error.with_source(args.answers) from None

    def result(engine: Engine, case: Case) -> tuple[dict[str, Any], Callable[[], None]]:
        applied = case.events[-1]
        assert isinstance(applied, InstrumentApplied)
        shown = {
            "result": caseformat.converter().unstructure(applied.result),
            "subject": applied.subject,
        }
        spec = engine.instruments[args.instrument].spec

        def describe() -> None:
            _out(f"{spec.name[args.lang]} {spec.version}")
            _print_result(applied.result, args.lang, spec)
            _out("")

        return shown, describe

    options = {"applied_by": "--by", "instrument_id": "INSTRUMENT", "subject": "--subject"}
    return _record(args, "assess", change, options=options, result=result)


# --- leaving the store ---------------------------------------------------------------------------


def _cmd_export(args: argparse.Namespace) -> int:
    from ketenzorg.errors import ValidationError
    from ketenzorg.interop.fhir import Recipient, case_to_bundle

    who = actor(args)
    engine = _engine(args)
    with _open(args, engine) as store:
        case = _load(store, args).case
        try:
            bundle = case_to_bundle(case, engine=engine, recipient=Recipient.internal(), type=args.type)
        except ValidationError as error:
            raise error.with_source(args.case) from None
        what = f"case {args.case} as a FHIR bundle"
        if args.format == "xml":
            from ketenzorg.interop.fhirxml import to_xml

            data = _loadable(to_xml(bundle), "xml", what)
        else:
            data = _loadable(_dumps_json(bundle).encode(), "json", what)
        # Recorded before the bundle leaves: a failed write over-reports, a disclosure never goes unrecorded.
        store.record_disclosure(
            args.case, recipient=args.recipient, purpose=args.purpose, actor=who, command="store export"
        )
    if args.out:
        _write(args.out, data, force=args.force, fmt=args.format)
        _out(f"exported case {args.case} to {args.out}; the disclosure is in the audit log")
    else:
        sys.stdout.buffer.write(data)
    return EXIT_OK


def _cmd_destroy(args: argparse.Namespace) -> int:
    if not args.yes:
        raise _UsageError("--yes: destroying a case erases it for good; confirm with --yes")
    who = actor(args)
    with _open(args) as store:
        stored = store.load(args.case)  # refuses a case that is not there (or already destroyed)
        _check_retention(store, stored.case, args)
        record = store.destroy(args.case, reason=args.reason, actor=who, command="store destroy")
    if args.json:
        sys.stdout.write(_dumps_json({"case_id": args.case, "destroyed": True, "audit_seq": record.seq}))
    else:
        _out(f"destroyed case {args.case}; the audit log keeps a record without its content")
    return EXIT_OK


# --- retention and legal hold (ketenzorg.store.retention) -----------------------------------------


def _retention_day(args: argparse.Namespace, engine: Engine) -> date:
    """``--at DATE`` (a date or a moment), else today by the engine's clock."""
    at = getattr(args, "at", None)
    if at is None:
        return engine.clock().date()
    try:
        return date.fromisoformat(at)
    except ValueError:
        moment = _parse_at(at)
        assert moment is not None
        return moment.date()


def _check_retention(store: CaseStore, case: Case, args: argparse.Namespace) -> None:
    """A case still within its retention period is destroyed only with ``--force-early REASON``;
    the hold is checked by the store itself."""
    from ketenzorg.store.retention import LegalHoldError, legal_hold, load_retention

    hold = legal_hold(store, case.case_id)
    if hold is not None:  # said before the retention date, which would not matter
        raise LegalHoldError(
            store.name,
            f"case {case.case_id} is under legal hold (audit record {hold.seq}, set {hold.entry.at}); "
            "lift it with `store release` first",
        )
    due = load_retention(args.retention).date(case)
    if due.past(_retention_day(args, store.engine)):
        return
    if args.force_early is None:
        until = due.until.isoformat() if due.until else "the case is open"
        raise _UsageError(
            f"--force-early: case {case.case_id} is within its retention period ({due.kind}: {due.rule}; "
            f"until {until}); give --force-early REASON to destroy it early"
        )
    if not args.force_early.strip():
        raise _UsageError("--force-early: give the reason (e.g. a court order's ECLI)")
    args.reason = f"{args.reason} (early: {args.force_early})"


def _cmd_hold(args: argparse.Namespace) -> int:
    from ketenzorg.store.retention import set_hold

    hold = args.store_command == "hold"
    who = actor(args)
    with _open(args) as store:
        record = set_hold(
            store, args.case, hold=hold, reason=args.reason, actor=who, command=f"store {args.store_command}"
        )
    if args.json:
        sys.stdout.write(_dumps_json({"case_id": args.case, "legal_hold": hold, "audit_seq": record.seq}))
    else:
        _out(f"case {args.case}: legal hold {'set' if hold else 'lifted'} (audit record {record.seq})")
    return EXIT_OK


def _cmd_retention(args: argparse.Namespace) -> int:
    from ketenzorg.store.retention import legal_holds, load_retention

    rules = load_retention(args.retention)
    with _open(args) as store:
        on = _retention_day(args, store.engine)
        holds = legal_holds(store)
        rows = []
        for info in store.cases():
            if info.destroyed:
                continue
            due = rules.date(store.load(info.case_id).case)
            if due.past(on):
                row = due.as_json()
                held = holds.get(info.case_id)
                row["legal_hold"] = held is not None
                rows.append(row)
    if args.json:
        sys.stdout.write(_dumps_json({"at": on.isoformat(), "past_retention": rows}))
        return EXIT_OK
    if not rows:
        _out(f"no case is past its retention date on {on.isoformat()}")
    for row in rows:
        hold = "  LEGAL HOLD" if row["legal_hold"] else ""
        _out(
            f"{row['case_id']}  {row['kind']}: {row['rule']}; closed {row['closed_on']}, "
            f"kept until {row['retain_until']} ({row['basis']}){hold}"
        )
    return EXIT_OK


def _register_retention(command: Callable[..., Any]) -> None:
    """``store hold``, ``store release``, ``store retention``."""
    for name, help in (
        ("hold", "put a case under legal hold: it cannot be destroyed until released"),
        ("release", "lift a case's legal hold"),
    ):
        parser = command(name, help, _cmd_hold, write=True)
        parser.add_argument("case", metavar="CASE", help="the case id")
        parser.add_argument(
            "--reason", required=True, metavar="TEXT", help="why (a reference, not personal data)"
        )
    listing = command(
        "retention", "the cases past their retention date, with the rule", _cmd_retention, write=False
    )
    retention_options(listing)


def retention_options(parser: Any) -> None:
    parser.add_argument(
        "--retention", metavar="RETENTION.json", help="the retention rules (default: the law's)"
    )
    parser.add_argument("--at", metavar="DATE", help="on this day (default: today)")


def store_demo(args: argparse.Namespace, case: Case, engine: Engine) -> None:
    """``demo --store PATH``: the demo case stored as a new case."""
    from ketenzorg.store import CaseStore

    who = actor(args)
    with CaseStore.open(args.store, engine=engine) as store:
        store.create(case, actor=who, command="demo")
    _out(f"\nstored the demo case {case.case_id} in {store.name}")


# --- the parser ----------------------------------------------------------------------------------


def actor_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--user", metavar="USER", help=f"who records this (or ${USER_ENV})")
    command.add_argument("--role", metavar="ROLE", help=f"in which role (or ${ROLE_ENV})")
    command.add_argument(
        "--organisation", metavar="ORG", help=f"for which organisation (or ${ORGANISATION_ENV})"
    )
    command.add_argument(
        "--on-behalf-of", metavar="USER", help="the responsible user on whose behalf (default: --user)"
    )


def store_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--store",
        metavar="PATH",
        default=None,
        help="the case store (default: $KETENZORG_STORE, else ./ketenzorg.db)",
    )


def register(sub: Any) -> None:
    """Add ``ketenzorg store ...`` to the command line's subcommands."""
    store = sub.add_parser("store", help="work cases in a case store (open, record, advance, export, ...)")
    commands = store.add_subparsers(dest="store_command", metavar="STORE_COMMAND", required=True)

    def command(name: str, help: str, func: Callable[[argparse.Namespace], int], *, write: bool) -> Any:
        parser = commands.add_parser(name, help=help)
        store_option(parser)
        _common(parser)
        if write:
            actor_options(parser)
        parser.set_defaults(func=func)
        return parser

    def case_arg(parser: Any, *, expected: bool = True) -> None:
        parser.add_argument("case", metavar="CASE", help="the case id")
        if expected:
            parser.add_argument(
                "--expected-version",
                type=int,
                metavar="N",
                help="record only if the case is still at version N (as `store show` gave it)",
            )

    def at_arg(parser: Any) -> None:
        parser.add_argument("--at", metavar="DATETIME", help="when it happened (default: now)")

    command(
        "verify",
        "check every audit chain and replay every case; exit 1 on a problem",
        _cmd_verify,
        write=False,
    )
    command("list", "the cases: phase, alerts, next gate", _cmd_list, write=False)
    show = command("show", "a case: care team with party ids, plan, the decision", _cmd_show, write=False)
    case_arg(show)

    opened = command(
        "open", "store a new case from an intake (a case JSON holding its opening)", _cmd_open, write=True
    )
    opened.add_argument("--from", dest="source", required=True, metavar="CASE.json")

    imp = command(
        "import", "store a FHIR bundle as a new case (validated, re-decided)", _cmd_import, write=True
    )
    imp.add_argument("bundle", metavar="BUNDLE")
    imp.add_argument(
        "--format", choices=("json", "xml"), default=None, help="input format (default: by content)"
    )

    score = command("score", "record a party's safety score between conferences", _cmd_score, write=True)
    case_arg(score)
    score.add_argument("--party", required=True, metavar="PARTY_ID")
    score.add_argument("--score", required=True, type=int, metavar="0..10")
    score.add_argument("--rationale", required=True, metavar="TEXT")
    at_arg(score)

    conference = command(
        "conference", "record a conference with its participants and scores", _cmd_conference, write=True
    )
    case_arg(conference)
    conference.add_argument(
        "--participants", metavar="ID,...", help="party ids that took part (default: those in --scores)"
    )
    conference.add_argument(
        "--scores",
        metavar="SCORES.json",
        help='the scores given: {"<party-id>": {"score": N, "rationale": TEXT}, ...}',
    )
    present = conference.add_mutually_exclusive_group(required=True)
    present.add_argument("--client-present", dest="client_present", action="store_true", default=None)
    present.add_argument("--client-absent", dest="client_present", action="store_false")
    at_arg(conference)

    incident = command("incident", "record an unsafe incident", _cmd_incident, write=True)
    case_arg(incident)
    incident.add_argument("--severity", required=True, choices=("minor", "serious", "severe"))
    acute = incident.add_mutually_exclusive_group(required=True)
    acute.add_argument("--acute", dest="acute", action="store_true", default=None)
    acute.add_argument("--not-acute", dest="acute", action="store_false")
    incident.add_argument("--description", default="", metavar="TEXT")
    incident.add_argument("--by", metavar="PARTY_ID", help="the party that reported it")
    at_arg(incident)

    advance = command(
        "advance", "move the case to the next phase, if the decision allows it", _cmd_advance, write=True
    )
    case_arg(advance)
    advance.add_argument("--reason", metavar="TEXT")

    relapse = command("relapse", "record a relapse to phase 1", _cmd_relapse, write=True)
    case_arg(relapse)
    relapse.add_argument("--reason", required=True, metavar="TEXT")

    close = command("close", "close the case from phase 3 with its handover", _cmd_close, write=True)
    case_arg(close)
    close.add_argument("--handover", required=True, metavar="ID,...", help="who the care is handed over to")
    close.add_argument("--summary", metavar="TEXT")

    plan = command("plan", "record a plan revision from a file", _cmd_plan, write=True)
    case_arg(plan)
    plan.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="PLAN.json",
        help="a plan_revised event as the case format writes it (type, id and at may be left out)",
    )
    at_arg(plan)

    join = command("join", "record a party joining the care team", _cmd_join, write=True)
    case_arg(join)
    join.add_argument(
        "--party-file",
        required=True,
        metavar="PARTY.json",
        help="the party as the case format writes it (id, role, name, partner_type, person_id)",
    )
    at_arg(join)

    leave = command("leave", "record a party leaving the care team", _cmd_leave, write=True)
    case_arg(leave)
    leave.add_argument("--party", required=True, metavar="PARTY_ID")
    leave.add_argument("--reason", metavar="TEXT")
    at_arg(leave)

    setting = command("setting", "record a change of care setting", _cmd_setting, write=True)
    case_arg(setting)
    setting.add_argument("--kind", required=True, choices=("ambulant", "shelter"))
    setting.add_argument(
        "--location-file",
        metavar="LOC.json",
        help="the location (id, name, secret; a secret location has no address); needed for a shelter",
    )
    setting.add_argument("--reason", metavar="TEXT")
    at_arg(setting)

    assess = command("assess", "apply an instrument and record its result", _cmd_assess, write=True)
    case_arg(assess)
    assess.add_argument("instrument", metavar="INSTRUMENT", help="the instrument id")
    assess.add_argument("answers", metavar="ANSWERS.json", help="the answers, by item id")
    assess.add_argument("--by", required=True, metavar="PARTY_ID", help="the party that applied it")
    assess.add_argument(
        "--subject", metavar="PERSON_ID", help="the person assessed, if not the client (a child, ...)"
    )
    at_arg(assess)

    export = command("export", "the case as a FHIR bundle, recorded as a disclosure", _cmd_export, write=True)
    case_arg(export)
    export.add_argument("--format", choices=("json", "xml"), default="json")
    export.add_argument("--type", choices=("collection", "transaction"), default="collection")
    export.add_argument("--to", dest="recipient", required=True, metavar="RECIPIENT", help="who receives it")
    export.add_argument("--purpose", required=True, metavar="TEXT", help="why it is disclosed")
    export.add_argument("--out", metavar="FILE", help="write here atomically (else stdout)")
    export.add_argument("--force", action="store_true", help="replace an existing file")

    destroy = command(
        "destroy",
        "erase a case physically; the audit log keeps a content-free record",
        _cmd_destroy,
        write=True,
    )
    case_arg(destroy, expected=False)
    destroy.add_argument(
        "--reason", required=True, metavar="TEXT", help="why (a reference, not personal data)"
    )
    destroy.add_argument("--yes", action="store_true", help="confirm the erasure")
    destroy.add_argument(
        "--force-early", metavar="REASON", help="destroy a case within its retention period (why)"
    )
    retention_options(destroy)
    _register_retention(command)
