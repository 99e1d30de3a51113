"""The ``ketenzorg`` command line: a public contract others script against.

Exit codes: 0 ok; 1 a negative answer (invalid contents, transition blocked); 2 unusable input
or usage; 3 an internal error (a bug: reported without a traceback or any case data).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from ketenzorg._version import __version__

# Everything past the standard library is imported where it is used: ``--version`` and ``--help``
# then load no engine, no attrs and no orjson, and each command loads only what it needs.
if TYPE_CHECKING:
    from ketenzorg.case import Case
    from ketenzorg.decision import Decision
    from ketenzorg.domain import Party
    from ketenzorg.engine import Engine
    from ketenzorg.instruments import InstrumentResult, InstrumentSpec
    from ketenzorg.interop.signature import PartyKeys
    from ketenzorg.loading import Format
    from ketenzorg.messages import Language
    from ketenzorg.pluginhost import PluginError
    from ketenzorg.settings import Setting

__all__ = ["main"]

EXIT_OK = 0
EXIT_NEGATIVE = 1
EXIT_UNUSABLE = 2
EXIT_INTERNAL = 3


STORE_HELP = "work cases in a case store (open, record, advance, merge, export, ...)"


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: {message}")


def _out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(f"ketenzorg: error: {text}\n")


def _parse_at(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _UsageError("--at: not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise _UsageError("--at: give a timezone offset, e.g. 2026-05-01T12:00:00+02:00")
    return moment


DEFAULT_PLUGIN_TIMEOUT = 10.0
"""Seconds one hook call of a plugin may take in the command line (a rule, an instrument, ...)."""
PLUGIN_TIMEOUT_ENV = "KETENZORG_PLUGIN_TIMEOUT"


def _plugin_timeout(args: argparse.Namespace) -> float | None:
    """The hook time budget: ``--plugin-timeout``, else the environment, else the default; 0 is none."""
    given: str | None = getattr(args, "plugin_timeout", None)
    source = "--plugin-timeout"
    if given is None:
        given, source = os.environ.get(PLUGIN_TIMEOUT_ENV), PLUGIN_TIMEOUT_ENV
    if given is None or not given.strip():
        return DEFAULT_PLUGIN_TIMEOUT
    try:
        seconds = float(given)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise _UsageError(f"{source}: expected a number of seconds (0: no limit)")
    return seconds or None


def _listener_failed(failure: PluginError) -> None:
    # str(PluginError) names plugin, hook and exception type only, never case data.
    sys.stderr.write(f"ketenzorg: warning: {failure} (the event is recorded)\n")


def _engine(args: argparse.Namespace) -> Engine:
    """The engine for a command: the policy file, installed plugins minus the blocked ones."""
    from ketenzorg.engine import Engine
    from ketenzorg.loading import load_policy
    from ketenzorg.policy import Policy

    policy_path: str | None = getattr(args, "policy", None)
    from ketenzorg.errors import PolicyError

    policy = Policy() if policy_path is None else load_policy(policy_path)
    try:
        return Engine(
            policy,
            entry_points=True,
            block=frozenset(args.block or ()),
            lang=args.lang,
            on_listener_error=_listener_failed,
            hook_timeout=_plugin_timeout(args),
        )
    except PolicyError as error:  # the plugins' settings, judged once the plugins are loaded
        raise error.with_source(policy_path) if policy_path else error from None


def _decimal(value: Any) -> Any:
    from decimal import Decimal

    import orjson

    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))  # a decimal exactly as it was written
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _dumps_json(data: Any) -> str:
    import orjson

    return orjson.dumps(data, option=orjson.OPT_INDENT_2, default=_decimal).decode() + "\n"


def _loadable(data: bytes, fmt: Format, what: str) -> bytes:
    """``data``, once it is sure ketenzorg reads it back (within the limits); else OutputLimitError."""
    from ketenzorg.loading import ensure_loadable

    return ensure_loadable(data, fmt, what=what)


def _write(path: str, data: bytes, *, force: bool, fmt: Format = "json") -> None:
    """Write a result file atomically; an existing file only with ``--force``, never via a link;
    never a file ketenzorg could not read back."""
    from ketenzorg.files import write_atomically

    write_atomically(path, _loadable(data, fmt, path), overwrite=force)


def _print_decision(decision: Decision, args: argparse.Namespace) -> None:
    import orjson

    if args.json:
        sys.stdout.write(
            orjson.dumps(decision.to_dict(args.lang), option=orjson.OPT_INDENT_2).decode() + "\n"
        )
    else:
        _out(decision.explain(args.lang))


# --- commands ------------------------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace) -> int:
    import orjson

    from ketenzorg import caseformat
    from ketenzorg.demo import TITLES, last_open_case, walk
    from ketenzorg.disclosure import Recipient, disclose, log_path_for
    from ketenzorg.disclosurecli import append_to_log
    from ketenzorg.engine import Engine
    from ketenzorg.errors import FileWriteError
    from ketenzorg.interop.fhirxml import to_xml
    from ketenzorg.messages import Message, render

    lang: Language = args.lang
    engine = Engine(lang=lang)
    steps = walk(engine)
    refused = render(Message("demo.refused"), lang)
    for index, step in enumerate(steps, start=1):
        _out(f"\n=== {index}. {TITLES[step.key][lang]}")
        if step.refused is not None:
            _out(f"  -> {refused}: {step.refused}")
        _out(step.decision.explain(lang))
    if args.out:
        out = Path(args.out)
        # The demo's bundles are the organisation's own (internal), and logged as such like any export.
        disclosed = disclose(steps[-1].case, engine=engine, recipient=Recipient.internal())
        bundle = disclosed.bundle
        files = {
            "case.json": caseformat.dumps(steps[-1].case),
            "case-open.json": caseformat.dumps(last_open_case(steps)),  # to try assess, team, plugins on
            "case-phase1.json": caseformat.dumps(steps[1].case),  # to open in a store and work on
            "bundle.json": orjson.dumps(bundle, option=orjson.OPT_INDENT_2),
            "bundle.xml": to_xml(bundle),
        }
        formats: dict[str, Format] = {name: "xml" if name.endswith(".xml") else "json" for name in files}
        for name, data in files.items():  # refuse before writing any, so nothing is half replaced
            _loadable(data, formats[name], str(out / name))
        from ketenzorg.demo import report_step
        from ketenzorg.disclosure import append_log, log_path_for
        from ketenzorg.report import render_html
        from ketenzorg.report.disclosed import recipient_report
        from ketenzorg.reportcli import write_report

        # The organisation's own full report (recipient internal), logged as every report is.
        shown = report_step(steps)
        made, disclosed = recipient_report(shown.case, engine, Recipient.internal(), at=shown.decision.at)
        report = render_html(made, lang)
        if not args.force:
            for name in [*files, "report.html"]:
                if os.path.lexists(out / name):
                    raise FileWriteError(str(out / name), "exists; it is replaced only when asked (--force)")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FileWriteError(str(out), f"cannot be created ({exc.strerror})") from None
        for name in ("bundle.json", "bundle.xml"):
            append_to_log(
                log_path_for(out / name),
                disclosed.record.written(files[name], format=formats[name], user="demo"),
            )
        for name, data in files.items():
            _write(str(out / name), data, force=args.force, fmt=formats[name])
        written = write_report(str(out / "report.html"), report, force=args.force)
        append_log(log_path_for(out / "report.html"), disclosed.record.written(written, format="html"))
        _out(
            f"\nwrote {out / 'case.json'}, {out / 'bundle.json'} and {out / 'bundle.xml'} (FHIR R4, for the "
            "organisation itself: logged in bundle.*.disclosures.jsonl), "
            f"and {out / 'case-open.json'} (the case before closing: try `ketenzorg team` and "
            "`ketenzorg assess` on it)"
        )
        _out(f"wrote {out / 'report.html'} (the case report of the conference in phase 2, after the relapse)")
    if args.store:
        from ketenzorg.storecli import store_demo

        store_demo(args, steps[-1].case, engine)
    return EXIT_OK


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from ketenzorg.errors import ValidationError
    from ketenzorg.loading import load_replayed

    engine = _engine(args)
    at = _parse_at(args.at)
    case = load_replayed(engine, args.case, args.format, warn=_warn(args.case))
    try:
        decision = engine.evaluate(case, at=at)
    except ValidationError as error:
        if at is None:  # the case itself cannot be judged now (an event dated in the future)
            raise error.with_source(args.case) from None
        raise _UsageError(f"--at: {error.problems[0].message}") from None
    _print_decision(decision, args)
    if not args.json:
        _print_blocking_parties(decision, case, args.lang)
    return EXIT_OK


# --- the care team: party ids for ``assess --by`` and for reading a blocked gate -----------------


def _role_text(party: Party, lang: Language) -> str:
    from ketenzorg.messages import Message, render

    role = render(Message(f"role.{party.role.value}"), lang)
    if party.partner_type is None:
        return role
    return f"{role}: {render(Message(f'partner.{party.partner_type.value}'), lang)}"


def _party_label(party: Party, lang: Language) -> str:
    """How the command line names a party: the client by role, never by name (as decisions do)."""
    from ketenzorg.domain import PartyRole

    if party.role is PartyRole.CLIENT:
        return _role_text(party, lang)
    return f"{_role_text(party, lang)}, {party.name}"


def _memberships(case: Case) -> dict[str, list[list[datetime | None]]]:
    """Every party's periods in the care team, ``[joined, left]`` (``left`` ``None`` while a
    member), in the order the parties first took part."""
    from ketenzorg.events import CaseOpened, PartyJoined, PartyLeft

    periods: dict[str, list[list[datetime | None]]] = {}
    for event in case.events:
        if isinstance(event, CaseOpened):
            for party in event.parties:
                periods.setdefault(party.id, []).append([event.at, None])
        elif isinstance(event, PartyJoined):
            periods.setdefault(event.party.id, []).append([event.at, None])
        elif isinstance(event, PartyLeft) and periods.get(event.party_id):
            periods[event.party_id][-1][1] = event.at
    return periods


def _cmd_team(args: argparse.Namespace) -> int:
    from ketenzorg.loading import load_replayed

    case = load_replayed(_engine(args), args.case, args.format)
    if args.json:
        sys.stdout.write(_dumps_json({"case_id": case.case_id, "members": _team_members(case, args.lang)}))
    else:
        _print_team(case, args.lang)
    return EXIT_OK


def _team_members(case: Case, lang: Language) -> list[dict[str, Any]]:
    """The care team, present and former members, as ``team --json`` (and ``store show``) print it."""
    from ketenzorg.domain import PartyRole

    state = case.state
    members = []
    for party_id, spans in _memberships(case).items():
        party = state.known_parties[party_id]
        client = party.role is PartyRole.CLIENT
        members.append(
            {
                "party_id": party.id,
                "role": party.role.value,
                "partner_type": party.partner_type.value if party.partner_type else None,
                "name": None if client else party.name,  # the client is named by role only
                "label": _party_label(party, lang),
                "person_id": party.person_id,
                "current": party_id in state.care_team,
                "periods": [
                    {
                        "joined": start.isoformat() if start else None,
                        "left": end.isoformat() if end else None,
                    }
                    for start, end in spans
                ],
            }
        )
    return members


def _print_team(case: Case, lang: Language) -> None:
    """The care team with party ids, since when; then former members."""
    from ketenzorg.messages import Message, render

    state = case.state
    periods = _memberships(case)

    def line(party_id: str) -> str:
        spans = [
            render(Message("team.since", {"date": start}), lang)
            if end is None
            else render(Message("team.period", {"start": start, "end": end}), lang)
            for start, end in periods[party_id]
        ]
        return f"  {party_id}  {_party_label(state.known_parties[party_id], lang)}; {'; '.join(spans)}"

    _out(render(Message("team.heading", {"case": case.case_id}), lang) + ":")
    for party_id in periods:
        if party_id in state.care_team:
            _out(line(party_id))
    former = [party_id for party_id in periods if party_id not in state.care_team]
    if former:
        _out(render(Message("team.former"), lang) + ":")
        for party_id in former:
            _out(line(party_id))


def _print_blocking_parties(decision: Decision, case: Case, lang: Language) -> None:
    """The parties a failed gate names, by id: what ``assess --by`` and ``merge --from`` take."""
    from ketenzorg.messages import Message, is_known_key, render

    if not decision.blocking_parties:
        return
    _out("  " + render(Message("team.blocking"), lang) + ":")
    for ref in decision.blocking_parties:
        party = case.state.known_parties.get(ref.party_id)
        label = (
            _party_label(party, lang)
            if party is not None
            else render(Message(f"role.{ref.role.value}"), lang)
        )
        key = f"party_reason.{ref.reason}"
        # A plugin's own reason code is shown as it is; the method's are translated.
        reason = render(Message(key), lang) if is_known_key(key) else ref.reason
        _out(f"    {ref.party_id} ({label})" + (f": {reason}" if reason else ""))


def _cmd_plugins(args: argparse.Namespace) -> int:
    import orjson

    engine = _engine(args)
    infos = engine.plugin_info()
    instruments = engine.instruments
    rules = engine.rules
    overrides = [r for r in rules if r.overrides is not None]
    if args.json:
        data = [
            {
                "name": info.name,
                "distribution": info.distribution,
                "version": info.version,
                "builtin": info.builtin,
                "hooks": list(info.hooks),
                "instruments": [
                    {"id": i.spec.id, "version": i.spec.version, "name": dict(i.spec.name)}
                    for i in instruments.values()
                    if i.plugin == info.name
                ],
                "rules": [r.id for r in rules if r.plugin == info.name],
                "overrides": [
                    {"rule": r.id, "replaces": r.overrides} for r in overrides if r.plugin == info.name
                ],
                "overridden": [{"rule": r.id, "by": r.plugin} for r in overrides if r.overrides == info.name],
                "conference_kinds": [
                    {"code": k.code, "name": {"nl": k.name.nl, "en": k.name.en}}
                    for k in engine.conference_kinds_of(info.name)
                ],
                "settings": [
                    {
                        "name": s.name,
                        "type": s.type.__name__,
                        "default": s.default,
                        "minimum": s.minimum,
                        "maximum": s.maximum,
                        "choices": list(s.choices) if s.choices is not None else None,
                        "description": None
                        if s.description is None
                        else {"nl": s.description.nl, "en": s.description.in_language("en")},
                    }
                    for s in engine.declared_settings(info.name).values()
                ],
            }
            for info in infos
        ]
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
        return EXIT_OK
    from ketenzorg.messages import Message, render

    def say(key: str, **params: object) -> str:
        return render(Message(f"plugins.{key}", params), args.lang)

    for info in infos:
        origin = (
            f"{info.distribution} {info.version or say('version_unknown')}"
            if info.distribution
            else say("distribution_unknown")
        )
        kind = f" ({say('shipped')})" if info.builtin else ""
        _out(f"{info.name}{kind}: {origin}")
        _out(f"  {say('hooks')}: {', '.join(info.hooks) or '-'}")
        for inst in (i for i in instruments.values() if i.plugin == info.name):
            _out(f"  {say('instrument')} {inst.spec.id} {inst.spec.version}: {inst.spec.name[args.lang]}")
        own = [
            say("overrides", rule=r.id, plugin=repr(r.overrides)) if r.overrides else r.id
            for r in rules
            if r.plugin == info.name
        ]
        if own:
            _out(f"  {say('rules')}: {', '.join(own)}")
        replaced = [
            say("overridden_by", rule=r.id, plugin=repr(r.plugin))
            for r in overrides
            if r.overrides == info.name
        ]
        if replaced:
            _out(f"  {say('overridden')}: {', '.join(replaced)}")
        for conference_kind in engine.conference_kinds_of(info.name):
            name = conference_kind.name.in_language(args.lang)
            _out(f"  {say('conference_kind')} {conference_kind.code}: {name}")
        for setting in engine.declared_settings(info.name).values():
            _out(f"  {say('setting')} {setting.name}: {_setting_summary(setting, args.lang)}")
    return EXIT_OK


def _setting_summary(setting: Setting, lang: Language) -> str:
    """A declared setting as an organisation reads it: type, default, bounds, what it does."""
    from ketenzorg.messages import Message, render

    def say(key: str, **params: object) -> str:
        return render(Message(key, params), lang)

    def shown(value: object) -> str:
        return ("true" if value else "false") if isinstance(value, bool) else str(value)

    parts = [
        say(f"setting_type.{setting.type.__name__}"),
        say("plugins.default", value=shown(setting.default)),
    ]
    if setting.minimum is not None or setting.maximum is not None:
        low = "" if setting.minimum is None else shown(setting.minimum)
        high = "" if setting.maximum is None else shown(setting.maximum)
        parts.append(say("plugins.range", minimum=low, maximum=high))
    if setting.choices is not None:
        parts.append(say("plugins.choices", choices=", ".join(setting.choices)))
    summary = ", ".join(parts)
    return f"{summary}; {setting.description.in_language(lang)}" if setting.description else summary


def _cmd_assess(args: argparse.Namespace) -> int:
    from ketenzorg import caseformat
    from ketenzorg.errors import InvalidEventError, Problem, ValidationError
    from ketenzorg.events import InstrumentApplied
    from ketenzorg.instruments import ResponseError
    from ketenzorg.loading import load_json, load_replayed
    from ketenzorg.messages import Message, render

    engine = _engine(args)
    case = load_replayed(engine, args.case, args.format, warn=_warn(args.case))
    answers = load_json(args.answers)
    if isinstance(answers, dict):  # {"missing": "unknown"}: as the case format writes it
        answers = {key: caseformat.answer_from_json(value) for key, value in answers.items()}
    at = _parse_at(args.at) or max(engine.clock(), case.state.latest_at)
    try:
        new = engine.assess(case, args.instrument, answers, at=at, applied_by=args.by, subject=args.subject)
        decision = engine.evaluate(new, at=at)
    except ResponseError as error:
        raise error.with_source(args.answers) from None
    except InvalidEventError as error:
        options = {"at": "--at", "applied_by": "--by", "instrument_id": "INSTRUMENT", "subject": "--subject"}
        problems = [Problem(options.get(p.path, p.path), p.message) for p in error.problems]
        raise InvalidEventError(problems, source=args.case) from None
    except ValidationError as error:
        raise _UsageError(f"--at: {error.problems[0].message}") from None
    applied = new.events[-1]
    assert isinstance(applied, InstrumentApplied)
    if args.out:  # write first: a failed write must not look like a success
        _write(args.out, caseformat.dumps(new), force=args.force)
    if args.json:
        result = caseformat.converter().unstructure(applied.result)
        shown = {"result": result, "subject": applied.subject, "decision": decision.to_dict(args.lang)}
        sys.stdout.write(_dumps_json(shown))
        return EXIT_OK
    spec = engine.instruments[args.instrument].spec
    _out(f"{spec.name[args.lang]} {spec.version}")
    _print_result(applied.result, args.lang, spec)
    _out("")
    _out(decision.explain(args.lang))
    _print_blocking_parties(decision, new, args.lang)
    if args.out:
        _out(f"\n{render(Message('cli.wrote', {'path': args.out}), args.lang)}")
    return EXIT_OK


def _print_result(result: InstrumentResult, lang: Language, spec: InstrumentSpec | None = None) -> None:
    from ketenzorg.messages import Message, enum_label, render

    def label(key: str) -> str:
        return render(Message(f"result.{key}"), lang)

    if result.level is not None:  # the instrument's own level, by its name in the language
        levels = {level.code: level.display for level in spec.levels} if spec is not None else {}
        name = levels[result.level].in_language(lang) if result.level in levels else result.level
        _out(f"  {label('level')}: {name}")

    for key, value in (
        ("safety_code", result.safety_code),
        ("urgency", result.urgency),
        ("advised_setting", result.advised_setting),
    ):
        if value is not None:
            _out(f"  {label(key)}: {enum_label(value, lang)}")
    for c in result.classifications:
        emphasis = f": {c.emphasis.in_language(lang)}" if c.emphasis is not None else ""
        _out(f"  {label('classification')}: {c.display.in_language(lang)} ({c.fit:.0%}){emphasis}")
    for factor in result.risk_factors:
        _out(f"  {label('risk_factor')}: {factor.text.in_language(lang)}")
    for line in result.advice:
        _out(f"  {label('advice')}: {line.in_language(lang)}")
    for action in result.actions:
        _out(f"  {label('action')}: {action.text.in_language(lang)}")
    for line in result.explanation:
        _out(f"  . {line.in_language(lang)}")


def _cmd_export(args: argparse.Namespace) -> int:
    from ketenzorg.disclosure import log_path_for
    from ketenzorg.disclosurecli import append_to_log, disclose_case, recipient_from
    from ketenzorg.errors import FileWriteError
    from ketenzorg.loading import load_replayed

    # What goes to a partner is re-decided first: a forged phase change is never sent on.
    engine = _engine(args)
    recipient_from(args, engine)  # refuse a missing or unknown recipient before reading the case
    if args.out is None and args.log is None:
        raise _UsageError(
            "--log: name the disclosure log (--log FILE) when the bundle goes to stdout, or write it "
            "with --out FILE (logged in FILE.disclosures.jsonl)"
        )
    if args.out is not None and not args.force and os.path.lexists(args.out):
        raise FileWriteError(args.out, "exists; it is replaced only when asked (--force)")
    case = load_replayed(engine, args.case, warn=_warn(args.case))
    data, record = disclose_case(args, case, engine, source=args.case)
    record = record.written(
        data, format=args.format, user=args.user, responsible_user=args.responsible_user or args.user
    )
    # Logged before the bytes leave: a failed write over-reports, a disclosure never goes unlogged.
    log = log_path_for(Path(args.out)) if args.out is not None else Path(args.log)
    append_to_log(log, record)
    if args.out is not None:
        _write(args.out, data, force=args.force, fmt=args.format)
    else:
        sys.stdout.buffer.write(data)
    return EXIT_OK


def _cmd_convert(args: argparse.Namespace) -> int:
    from ketenzorg.errors import ValidationError
    from ketenzorg.interop.fhirxml import to_xml
    from ketenzorg.loading import load_resource

    data = load_resource(args.file, args.format)
    # Both directions pass the same checks (R4 elements, narrative XHTML): what is written in one
    # form has the other form too, and no active narrative passes through unchecked.
    try:
        xml = to_xml(data)
    except ValidationError as error:
        raise error.with_source(args.file) from None
    if args.to == "xml":
        sys.stdout.buffer.write(_loadable(xml, "xml", f"{args.file} in XML"))
    else:
        sys.stdout.buffer.write(_loadable(_dumps_json(data).encode(), "json", f"{args.file} in JSON"))
    return EXIT_OK


def _warn(source: str) -> Callable[[dict[str, Any]], None]:
    """Print each warning found while ``source`` is read to stderr (the input is still used)."""
    return lambda item: _print_outcome({"issue": [item]}, source, sys.stderr)


def _cmd_import(args: argparse.Namespace) -> int:
    from ketenzorg import caseformat
    from ketenzorg.loading import load_replayed

    # A bundle's phase changes are re-decided before it becomes a case: a forged one is refused.
    # Its warnings (answers of an instrument not installed: not checked) go to stderr.
    case = load_replayed(_engine(args), args.bundle, args.format, warn=_warn(args.bundle))
    sys.stdout.buffer.write(_loadable(caseformat.dumps(case), "json", f"{args.bundle} as a case"))
    return EXIT_OK


def _merge_keys(args: argparse.Namespace) -> PartyKeys | None:
    """For ``merge`` and ``store merge``: the sender must be named (``--from``) or proven by a
    signature; the partners' keys of ``--keys``, if given."""
    from ketenzorg.errors import ValidationError
    from ketenzorg.interop.signature import PartyKeys
    from ketenzorg.loading import load_json

    if args.sender is None and args.keys is None:
        raise _UsageError(
            "--from: name the care-team member that sent the bundle (--from PARTY), "
            "or give the partners' keys (--keys KEYS.json) for a signed bundle"
        )
    if args.keys is None:
        return None
    try:
        return PartyKeys.from_mapping(load_json(args.keys))
    except ValidationError as error:
        raise error.with_source(args.keys) from None


def _merged(
    engine: Engine, case: Case, args: argparse.Namespace, keys: PartyKeys | None
) -> tuple[Case | None, int]:
    """``args.bundle`` merged into ``case`` as ``merge`` and ``store merge`` do, the outcome printed
    to stderr: the merged case and ``EXIT_OK``, or ``None`` and the exit code of a refusal."""
    from ketenzorg.interop.merge import MergeRefusedError, SenderUnknownError, merge_bundle
    from ketenzorg.loading import load_bundle

    bundle = load_bundle(args.bundle, args.format)
    try:
        new, outcome = merge_bundle(engine, case, bundle, sender=args.sender, keys=keys)
    except SenderUnknownError as error:
        _print_outcome(error.outcome, args.bundle, sys.stderr)
        return None, EXIT_UNUSABLE
    except MergeRefusedError as error:
        _print_outcome(error.outcome, args.bundle, sys.stderr)
        return None, EXIT_NEGATIVE
    _print_outcome(outcome, args.bundle, sys.stderr, quiet_ok=True)
    return new, EXIT_OK


def _cmd_merge(args: argparse.Namespace) -> int:
    from ketenzorg import caseformat
    from ketenzorg.loading import load_replayed

    keys = _merge_keys(args)
    engine = _engine(args)
    case = load_replayed(engine, args.case, args.format, warn=_warn(args.case))
    new, code = _merged(engine, case, args, keys)
    if new is None:
        return code
    added = len(new.events) - len(case.events)
    if args.out:
        _write(args.out, caseformat.dumps(new), force=args.force)
        _out(f"merged {added} event(s) from {args.bundle}; wrote {args.out}")
    else:
        sys.stdout.buffer.write(_loadable(caseformat.dumps(new), "json", "the merged case"))
    return EXIT_OK


def _cmd_sign(args: argparse.Namespace) -> int:
    from datetime import UTC

    from ketenzorg.errors import MalformedInputError
    from ketenzorg.interop.signature import canonical_json, sign_bundle
    from ketenzorg.loading import load_bundle, load_json

    when = _parse_at(args.at) or datetime.now(UTC)
    bundle = load_bundle(args.bundle, args.format)
    try:
        canonical_json(bundle)
    except ValueError as error:
        raise MalformedInputError.at(args.bundle, f"cannot be signed: {error}") from None
    jwk = load_json(args.key)
    if not isinstance(jwk, dict):
        raise MalformedInputError.at(args.key, "expected a private key as a JWK object")
    try:
        signed = sign_bundle(bundle, jwk, args.signer, when)
    except ValueError as error:
        raise MalformedInputError.at(args.key, f"cannot sign with it: {error}") from None
    data = _dumps_json(signed).encode("utf-8")
    if args.out:
        _write(args.out, data, force=args.force)
        _out(f"signed {args.bundle} as {args.signer}; wrote {args.out}")
    else:
        sys.stdout.buffer.write(_loadable(data, "json", f"{args.bundle} signed"))
    return EXIT_OK


def _print_outcome(outcome: dict[str, Any], source: str, stream: Any, *, quiet_ok: bool = False) -> None:
    for item in outcome["issue"]:
        if quiet_ok and item["severity"] == "information":
            continue
        where = ", ".join(item.get("expression", [])) or "-"
        stream.write(f"{source}: {item['severity']} [{item['code']}] {where}: {item['diagnostics']}\n")


def _cmd_validate(args: argparse.Namespace) -> int:
    from ketenzorg.interop.validate import is_valid
    from ketenzorg.loading import validate_file

    # The engine first: the plugins' instruments and the policy judge the file.
    outcome = validate_file(_engine(args), args.file, args.format, strict=args.strict)
    if any(i["severity"] == "fatal" for i in outcome["issue"]):
        _print_outcome(outcome, args.file, sys.stderr)
        return EXIT_UNUSABLE
    if args.json:
        sys.stdout.write(_dumps_json(outcome))
    else:
        _print_outcome(outcome, args.file, sys.stdout)
    return EXIT_OK if is_valid(outcome) else EXIT_NEGATIVE


def _cmd_conformance(args: argparse.Namespace) -> int:
    from ketenzorg.interop.conformance import write_package

    written = write_package(args.out, _engine(args).instruments, force=args.force)
    _out(f"{len(written)} files of the FHIR package in {Path(args.out) / 'package'}")
    return EXIT_OK


def _parser(argv: Sequence[str] = ()) -> _Parser:
    """The command line's parser; the subcommands of ``store`` only when ``argv`` selects it."""
    from ketenzorg import disclosurecli
    from ketenzorg.messages import LANGUAGES

    command = _command(argv)

    parser = _Parser(
        prog="ketenzorg",
        description="Phased chain care (gefaseerde ketenzorg): decisions that explain themselves.",
    )
    parser.add_argument("--version", action="version", version=f"ketenzorg {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="on a plugin's failure, also show its exception's message and traceback (may show case data)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    demo = sub.add_parser("demo", help="walk a synthetic case through the whole method")
    demo.add_argument(
        "--out",
        metavar="DIR",
        help="write DIR/case.json, DIR/case-open.json (before closing), DIR/case-phase1.json (after the "
        "first conference), DIR/bundle.json, DIR/bundle.xml, DIR/report.html",
    )
    _force(demo)
    demo.add_argument("--lang", choices=LANGUAGES, default="en")
    demo.set_defaults(func=_cmd_demo)

    evaluate = sub.add_parser("evaluate", help="print the decision on a case")
    evaluate.add_argument("case", metavar="CASE.json")
    _common(evaluate)
    evaluate.add_argument(
        "--format", choices=("json", "xml"), default=None, help="input format (default: by content)"
    )
    evaluate.add_argument("--at", metavar="DATETIME", help="moment of judgement (default: now)")
    evaluate.set_defaults(func=_cmd_evaluate)

    team = sub.add_parser(
        "team", help="list the care team with party ids (for assess --by, merge --from, a blocked gate)"
    )
    team.add_argument("case", metavar="CASE.json")
    _common(team)
    team.add_argument(
        "--format", choices=("json", "xml"), default=None, help="input format (default: by content)"
    )
    team.set_defaults(func=_cmd_team)

    plugins = sub.add_parser("plugins", help="list the loaded plugins, their instruments and hooks")
    _common(plugins, policy=False)
    plugins.set_defaults(func=_cmd_plugins)

    assess = sub.add_parser("assess", help="apply an instrument to a case and show the new decision")
    assess.add_argument("case", metavar="CASE.json")
    assess.add_argument("instrument", metavar="INSTRUMENT")
    assess.add_argument("answers", metavar="ANSWERS.json")
    assess.add_argument("--out", metavar="NEWCASE.json", help="write the case with the assessment")
    _force(assess)
    assess.add_argument("--at", metavar="DATETIME", help="moment of the assessment (default: now)")
    assess.add_argument("--by", metavar="PARTY_ID", help="the party that applied it")
    assess.add_argument(
        "--subject",
        metavar="PERSON_ID",
        help="the person of the client system who was assessed (default: the client)",
    )
    _common(assess)
    assess.add_argument(
        "--format", choices=("json", "xml"), default=None, help="input format (default: by content)"
    )
    assess.set_defaults(func=_cmd_assess)

    export = sub.add_parser(
        "export", help="write the case as a FHIR R4 Bundle for a recipient (--for), logging the disclosure"
    )
    export.add_argument("case", metavar="CASE.json")
    export.add_argument("--format", choices=("json", "xml"), default="json")
    export.add_argument("--type", choices=("collection", "transaction"), default="collection")
    disclosurecli.recipient_options(export)
    export.add_argument(
        "--out", metavar="FILE", help="write the bundle here, the disclosure in FILE.disclosures.jsonl"
    )
    _force(export)
    export.add_argument(
        "--log", metavar="LOG.jsonl", help="append the disclosure here (required when writing to stdout)"
    )
    _engine_options(export)
    export.set_defaults(func=_cmd_export)

    convert = sub.add_parser("convert", help="convert a FHIR resource between JSON and XML (stdout)")
    convert.add_argument("file", metavar="FILE")
    convert.add_argument("--to", choices=("xml", "json"), required=True)
    convert.add_argument(
        "--format", choices=("json", "xml"), default=None, help="input format (default: by content)"
    )
    convert.set_defaults(func=_cmd_convert)

    imp = sub.add_parser("import", help="read a FHIR R4 Bundle and write the engine's case JSON")
    imp.add_argument("bundle", metavar="BUNDLE.json")
    imp.add_argument(
        "--format", choices=("json", "xml"), default=None, help="input format (default: by content)"
    )
    _engine_options(imp)
    imp.set_defaults(func=_cmd_import)

    merge = sub.add_parser(
        "merge", help="merge a partner's bundle (its own scores, its incidents) into a case"
    )
    merge.add_argument("case", metavar="CASE.json")
    merge.add_argument("bundle", metavar="BUNDLE.json")
    merge.add_argument(
        "--from",
        dest="sender",
        metavar="PARTY",
        help="party id of the care-team member that sent the bundle (required unless it is signed)",
    )
    merge.add_argument(
        "--keys",
        metavar="KEYS.json",
        help='partners\' public keys {"<party-id>": [JWK, ...]}: a signed bundle is verified with them',
    )
    merge.add_argument("--out", metavar="NEWCASE.json", help="write the merged case here (else stdout)")
    _force(merge)
    _common(merge)
    merge.add_argument(
        "--format", choices=("json", "xml"), default=None, help="input format (default: by content)"
    )
    merge.set_defaults(func=_cmd_merge)

    sign = sub.add_parser("sign", help="sign a FHIR bundle as a partner (Bundle.signature, a JWS)")
    sign.add_argument("bundle", metavar="BUNDLE.json")
    sign.add_argument("--key", required=True, metavar="PRIVATE.jwk", help="the signer's private key (JWK)")
    sign.add_argument("--as", dest="signer", required=True, metavar="PARTY", help="the signer's party id")
    sign.add_argument("--at", metavar="DATETIME", help="moment of signing (default: now)")
    sign.add_argument("--out", metavar="SIGNED.json", help="write the signed bundle here (else stdout)")
    _force(sign)
    sign.add_argument(
        "--format", choices=("json", "xml"), default=None, help="input format (default: by content)"
    )
    sign.set_defaults(func=_cmd_sign)

    validate = sub.add_parser("validate", help="validate a FHIR bundle or a case; print the OperationOutcome")
    validate.add_argument("file", metavar="FILE")
    validate.add_argument("--json", action="store_true", help="print the OperationOutcome resource")
    validate.add_argument("--strict", action="store_true", help="also validate every resource in full")
    _engine_options(validate)
    validate.add_argument(
        "--format", choices=("json", "xml"), default=None, help="input format (default: by content)"
    )
    validate.set_defaults(func=_cmd_validate)

    conformance = sub.add_parser(
        "conformance",
        help="write the FHIR conformance package: the profile and every installed instrument",
    )
    conformance.add_argument("--out", required=True, metavar="DIR", help="write DIR/package/...")
    conformance.add_argument(
        "--force", action="store_true", help="write into a non-empty DIR, replacing its package"
    )
    _engine_options(conformance, policy=False)
    conformance.set_defaults(func=_cmd_conformance)

    disclosurecli.register(sub)
    from ketenzorg import reportcli

    reportcli.register(sub)
    from ketenzorg import monitorcli

    monitorcli.register(sub)
    from ketenzorg import bulkcli

    bulkcli.register(sub, command=command)
    # The store's subcommands are built only when asked for: every other command starts without them.
    if command == "store":
        from ketenzorg.storecli import register

        register(sub)
    else:
        sub.add_parser("store", help=STORE_HELP)
    if command == "demo":
        from ketenzorg.storecli import actor_options, store_option

        store_option(demo)
        actor_options(demo)
    else:
        demo.set_defaults(store=None)
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The command ``argv`` selects: its first argument past the options before it (``--debug``)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def _force(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--force", action="store_true", help="replace an existing output file (written atomically)"
    )


def _common(command: argparse.ArgumentParser, *, policy: bool = True) -> None:
    command.add_argument("--json", action="store_true", help="machine-readable output")
    _engine_options(command, policy=policy)


def _engine_options(command: argparse.ArgumentParser, *, policy: bool = True) -> None:
    """The options that build the engine: language, blocked plugins, the policy, the hook budget."""
    from ketenzorg.messages import LANGUAGES

    command.add_argument("--lang", choices=LANGUAGES, default="en")
    command.add_argument(
        "--block", metavar="PLUGIN", action="append", help="do not load this plugin (repeatable)"
    )
    if policy:
        command.add_argument("--policy", metavar="POLICY.json", help="the organisation's policy")
    _plugin_timeout_option(command)


def _plugin_timeout_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--plugin-timeout",
        metavar="SECONDS",
        help=f"stop a plugin's hook call that takes longer (default {DEFAULT_PLUGIN_TIMEOUT:g}, "
        f"or ${PLUGIN_TIMEOUT_ENV}; 0: no limit)",
    )


def _run(argv: Sequence[str] | None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    parser = _parser(given)
    args = parser.parse_args(given)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_UNUSABLE
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)


def _plugin_failure(error: PluginError, *, debug: bool) -> str:
    """Name plugin, hook, exception type and the plugin's line; the cause's message, which may carry
    case data, only with ``--debug``."""
    text = error.describe(debug=debug)
    if error.message_hidden and not debug:
        text += "\n(run `ketenzorg --debug ...` to see its message and traceback; they may show case data)"
    return text


def _debug(argv: Sequence[str]) -> bool:
    """Whether ``--debug`` is among the options before the command (where the parser takes it)."""
    for arg in argv:
        if not arg.startswith("-"):
            return False
        if arg == "--debug":
            return True
    return False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (never raises, never shows a traceback)."""
    if list(sys.argv[1:] if argv is None else argv) == ["--version"]:
        _out(f"ketenzorg {__version__}")  # what argparse prints, without building the parser
        return EXIT_OK
    from ketenzorg.errors import FileWriteError, KetenzorgError, MalformedInputError

    debug = _debug(list(sys.argv[1:] if argv is None else argv))
    try:
        return _run(argv)
    except _UsageError as exc:
        _err(str(exc))
        return EXIT_UNUSABLE
    except (MalformedInputError, FileWriteError) as exc:
        _err(str(exc))
        return EXIT_UNUSABLE
    except KetenzorgError as exc:
        # A PluginError exists only once the plugin host is loaded: no need to load it to tell.
        if "ketenzorg.pluginhost" in sys.modules:
            from ketenzorg.pluginhost import PluginError

            if isinstance(exc, PluginError):
                _err(_plugin_failure(exc, debug=debug))
                return EXIT_NEGATIVE
        _err(str(exc))
        return EXIT_NEGATIVE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug: say so without a traceback or any data from the case
        _err(f"internal error ({type(exc).__name__}); please report it with the command you ran")
        return EXIT_INTERNAL
