"""What every ``store`` command shares: the actor, opening the store, loading, recording.

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
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ketenzorg.cli import (
    EXIT_OK,
    _dumps_json,
    _engine,
    _out,
    _parse_at,
    _print_blocking_parties,
    _UsageError,
)
from ketenzorg.storecli.options import ORGANISATION_ENV, ROLE_ENV, USER_ENV

if TYPE_CHECKING:
    from ketenzorg.case import Case
    from ketenzorg.engine import Engine
    from ketenzorg.store import Actor, CaseStore, StoredCase

_T = TypeVar("_T")


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


def open_store(args: argparse.Namespace, engine: Engine | None = None, *, create: bool = False) -> CaseStore:
    """The store ``--store`` names; an SQLite file that is not there is created only for ``create``
    (a new case): reading, or recording in a case, refuses it (exit 2) and leaves no file behind."""
    from ketenzorg.store import CaseStore, default_location

    where = args.store or default_location()
    if not create and not where.startswith(("postgresql:", "postgres:")) and not os.path.exists(where):
        raise _UsageError(
            f"--store: there is no case store at {where} (open a case to create one, or name the store)"
        )
    return CaseStore.open(where, engine=engine or _engine(args))


def load_stored(store: CaseStore, args: argparse.Namespace) -> StoredCase:
    stored = store.load(args.case)
    expected: int | None = getattr(args, "expected_version", None)
    if expected is not None and expected != stored.version:
        from ketenzorg.errors import VersionConflictError

        raise VersionConflictError(store.name, args.case, expected, stored.version)
    return stored


def moment(args: argparse.Namespace, engine: Engine, case: Case) -> datetime:
    """``--at``, else now (never before the latest event: a history is ordered)."""
    return _parse_at(getattr(args, "at", None)) or max(engine.clock(), case.state.latest_at)


def record(
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
    with open_store(args, engine) as store:
        stored = load_stored(store, args)
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


def file_object(path: str, what: str) -> dict[str, Any]:
    """A JSON object from ``path`` (``what`` says what it should hold, for the error)."""
    from ketenzorg.errors import MalformedInputError
    from ketenzorg.loading import load_json

    data = load_json(path)
    if not isinstance(data, dict):
        raise MalformedInputError.at(path, f"expected {what}")
    return data


def structure(path: str, data: dict[str, Any], cls: type[_T]) -> _T:
    """``data`` as ``cls`` of the case format; a problem is the file's (exit 2), named by its path."""
    from ketenzorg import caseformat
    from ketenzorg.errors import CaseFormatError, MalformedInputError

    try:
        return caseformat.structure(data, cls)
    except CaseFormatError as error:
        raise MalformedInputError(error.problems, source=path) from None


def store_new(args: argparse.Namespace, engine: Engine, case: Case, command: str) -> int:
    from ketenzorg.errors import StoreError

    who = actor(args)
    with open_store(args, engine, create=True) as store:
        if any(info.case_id == case.case_id for info in store.cases()):
            raise StoreError(store.name, f"case {case.case_id} is in the store already; nothing was written")
        result = store.create(case, actor=who, command=f"store {command}")
    if args.json:
        sys.stdout.write(_dumps_json({"case_id": case.case_id, "version": result.version}))
    else:
        _out(f"stored case {case.case_id} (version {result.version})")
    return EXIT_OK


def store_demo(args: argparse.Namespace, case: Case, engine: Engine) -> None:
    """``demo --store PATH``: the demo case stored as a new case."""
    from ketenzorg.store import CaseStore

    who = actor(args)
    with CaseStore.open(args.store, engine=engine) as store:
        store.create(case, actor=who, command="demo")
    _out(f"\nstored the demo case {case.case_id} in {store.name}")
