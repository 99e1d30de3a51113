"""The ``ketenzorg`` command line: a public contract others script against.

Exit codes: 0 ok; 1 a negative answer (invalid contents, transition blocked); 2 unusable input
or usage; 3 an internal error (a bug: reported without a traceback or any case data).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import orjson

from ketenzorg._version import __version__
from ketenzorg.errors import KetenzorgError, MalformedInputError, ValidationError
from ketenzorg.messages import LANGUAGES, Language, Message, render

__all__ = ["main"]

EXIT_OK = 0
EXIT_NEGATIVE = 1
EXIT_UNUSABLE = 2
EXIT_INTERNAL = 3


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: {message}")


def _out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(f"ketenzorg: error: {text}\n")


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise MalformedInputError.at(path, "file not found") from None
    except IsADirectoryError:
        raise MalformedInputError.at(path, "is a directory") from None
    except PermissionError:
        raise MalformedInputError.at(path, "permission denied") from None
    except OSError as exc:
        raise MalformedInputError.at(path, f"cannot be read ({exc.strerror})") from None


def _parse_at(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _UsageError(f"--at: {value!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise _UsageError("--at: give a timezone offset, e.g. 2026-05-01T12:00:00+02:00")
    return moment


def _engine(policy_path: str | None) -> object:
    from ketenzorg.engine import Engine
    from ketenzorg.policy import Policy

    if policy_path is None:
        return Engine()
    raw = _read(policy_path)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedInputError.at(policy_path, f"not valid JSON: {exc}") from None
    try:
        return Engine(Policy.from_mapping(data))
    except ValidationError as error:
        raise error.with_source(policy_path) from None


# --- commands ------------------------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace) -> int:
    from ketenzorg import caseformat
    from ketenzorg.demo import TITLES, walk
    from ketenzorg.engine import Engine

    lang: Language = args.lang
    steps = walk(Engine(lang=lang))
    refused = render(Message("demo.refused"), lang)
    for index, step in enumerate(steps, start=1):
        _out(f"\n=== {index}. {TITLES[step.key][lang]}")
        if step.refused is not None:
            _out(f"  -> {refused}: {step.refused}")
        _out(step.decision.explain(lang))
    if args.out:
        out = Path(args.out)
        try:
            out.mkdir(parents=True, exist_ok=True)
            (out / "case.json").write_bytes(caseformat.dumps(steps[-1].case))
        except OSError as exc:
            raise MalformedInputError.at(str(out), f"cannot write ({exc.strerror})") from None
        _out(f"\nwrote {out / 'case.json'}")
    return EXIT_OK


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from ketenzorg import caseformat
    from ketenzorg.engine import Engine

    engine = _engine(args.policy)
    assert isinstance(engine, Engine)
    at = _parse_at(args.at)
    raw = _read(args.case)
    try:
        case = caseformat.loads(raw)
    except ValidationError as error:
        raise error.with_source(args.case) from None
    decision = engine.evaluate(case, at=at)
    if args.json:
        sys.stdout.write(
            orjson.dumps(decision.to_dict(args.lang), option=orjson.OPT_INDENT_2).decode() + "\n"
        )
    else:
        _out(decision.explain(args.lang))
    return EXIT_OK


def _parser() -> _Parser:
    parser = _Parser(
        prog="ketenzorg",
        description="Phased chain care (gefaseerde ketenzorg): decisions that explain themselves.",
    )
    parser.add_argument("--version", action="version", version=f"ketenzorg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    demo = sub.add_parser("demo", help="walk a synthetic case through the whole method")
    demo.add_argument("--out", metavar="DIR", help="write DIR/case.json")
    demo.add_argument("--lang", choices=LANGUAGES, default="en")
    demo.set_defaults(func=_cmd_demo)

    evaluate = sub.add_parser("evaluate", help="print the decision on a case")
    evaluate.add_argument("case", metavar="CASE.json")
    evaluate.add_argument("--json", action="store_true", help="machine-readable output")
    evaluate.add_argument("--lang", choices=LANGUAGES, default="en")
    evaluate.add_argument("--at", metavar="DATETIME", help="moment of judgement (default: now)")
    evaluate.add_argument("--policy", metavar="POLICY.json", help="the organisation's policy")
    evaluate.set_defaults(func=_cmd_evaluate)
    return parser


def _run(argv: Sequence[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_UNUSABLE
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (never raises, never shows a traceback)."""
    try:
        return _run(argv)
    except _UsageError as exc:
        _err(str(exc))
        return EXIT_UNUSABLE
    except MalformedInputError as exc:
        _err(str(exc))
        return EXIT_UNUSABLE
    except KetenzorgError as exc:
        _err(str(exc))
        return EXIT_NEGATIVE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug: say so without a traceback or any data from the case
        _err(f"internal error ({type(exc).__name__}); please report it with the command you ran")
        return EXIT_INTERNAL
