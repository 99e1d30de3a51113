"""Recording commands, one record each: ``store score``, ``conference``, ``incident``, ``plan``,
``join``, ``leave``, ``setting``, ``assess``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ketenzorg.cli import (
    _out,
    _UsageError,
)
from ketenzorg.storecli.common import file_object, moment, record, structure

if TYPE_CHECKING:
    from ketenzorg.case import Case
    from ketenzorg.engine import Engine
    from ketenzorg.events import Event


def cmd_score(args: argparse.Namespace) -> int:
    def change(engine: Engine, case: Case) -> Case:
        return engine.give_score(
            case,
            party_id=args.party,
            score=args.score,
            rationale=args.rationale,
            at=moment(args, engine, case),
        )

    return record(args, "score", change)


def scores_file(path: str) -> dict[str, tuple[int, str]]:
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


def cmd_conference(args: argparse.Namespace) -> int:
    from ketenzorg.domain import new_id
    from ketenzorg.errors import InvalidEventError, Problem
    from ketenzorg.events import ConferenceHeld, ScoreGiven

    scores = scores_file(args.scores) if args.scores else {}
    participants = (
        [p.strip() for p in args.participants.split(",") if p.strip()] if args.participants else list(scores)
    )
    if not participants:
        raise _UsageError("--participants: name the parties that took part (or give --scores)")

    def change(engine: Engine, case: Case) -> Case:
        at = moment(args, engine, case)
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

    return record(args, "conference", change)


def cmd_incident(args: argparse.Namespace) -> int:
    from ketenzorg.domain import IncidentSeverity, new_id
    from ketenzorg.events import IncidentReported

    def change(engine: Engine, case: Case) -> Case:
        event = IncidentReported(
            id=new_id(),
            at=moment(args, engine, case),
            severity=IncidentSeverity(args.severity),
            acute=args.acute,
            description=args.description,
            reported_by=args.by,
        )
        return engine.record(case, event)

    return record(args, "incident", change)


def cmd_plan(args: argparse.Namespace) -> int:
    from ketenzorg import caseformat
    from ketenzorg.domain import new_id
    from ketenzorg.errors import MalformedInputError
    from ketenzorg.events import PlanRevised

    # The shape a case file gives a plan_revised event; its type, id and at may be left out.
    data = file_object(args.source, "a plan_revised event object, as the case format writes it")
    if data.get("type", PlanRevised.type) != PlanRevised.type:
        raise MalformedInputError.at(args.source, f"expected {PlanRevised.type!r}", "type")
    if "at" in data and args.at is not None:
        raise _UsageError("--at: the plan file gives its own `at`; leave one of them out")
    body = {key: value for key, value in data.items() if key != "type"}
    body.setdefault("id", new_id())

    def change(engine: Engine, case: Case) -> Case:
        if "at" not in body:
            body["at"] = caseformat.converter().unstructure(moment(args, engine, case))
        return engine.record(case, structure(args.source, body, PlanRevised))

    return record(args, "plan", change, options={"conference_id": f"{args.source}: conference_id"})


def cmd_join(args: argparse.Namespace) -> int:
    from ketenzorg.domain import Party, new_id
    from ketenzorg.events import PartyJoined

    party = structure(
        args.party_file, file_object(args.party_file, "a party object (id, role, name, ...)"), Party
    )

    def change(engine: Engine, case: Case) -> Case:
        return engine.record(case, PartyJoined(id=new_id(), at=moment(args, engine, case), party=party))

    return record(args, "join", change, options={"party": "--party-file", "party.id": "--party-file: id"})


def cmd_leave(args: argparse.Namespace) -> int:
    from ketenzorg.domain import new_id
    from ketenzorg.events import PartyLeft

    def change(engine: Engine, case: Case) -> Case:
        event = PartyLeft(
            id=new_id(), at=moment(args, engine, case), party_id=args.party, reason=args.reason or ""
        )
        return engine.record(case, event)

    return record(args, "leave", change, options={"reason": "--reason"})


def cmd_setting(args: argparse.Namespace) -> int:
    from ketenzorg.domain import CareSetting, CareSettingKind, Location, new_id
    from ketenzorg.errors import InvalidEventError, Problem
    from ketenzorg.events import CareSettingChanged

    kind = CareSettingKind(args.kind)
    location = None
    if args.location_file:
        what = "a location object (id, name, secret)"
        location = structure(args.location_file, file_object(args.location_file, what), Location)
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
            id=new_id(), at=moment(args, engine, case), care_setting=setting, reason=args.reason or ""
        )
        return engine.record(case, event)

    return record(args, "setting", change, options={"care_setting": "--kind", "reason": "--reason"})


def cmd_assess(args: argparse.Namespace) -> int:
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
                at=moment(args, engine, case),
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
    return record(args, "assess", change, options=options, result=result)
