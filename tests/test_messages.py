"""The message catalog: complete in Dutch and English, covering every key the engine uses."""

from __future__ import annotations

import ast
import string
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

import ketenzorg
from ketenzorg import IncidentSeverity, Phase, RuleStatus
from ketenzorg.instruments import AdvisedSetting
from ketenzorg.messages import LANGUAGES, Message, render

SOURCE = Path(ketenzorg.__file__).parent
SCANNED = ("rules.py", "explain.py", "engine.py")
# functions whose argument at this position is a message key
KEY_ARGUMENT = {"Message": 0, "t": 0, "_blocked": 0, "_not_applicable": 1}
# f-string key families: literal prefix -> the values that complete it
FAMILIES = {
    "phase.": [str(int(p)) for p in Phase],
    "severity.": [s.value for s in IncidentSeverity],
    "setting.": [s.value for s in AdvisedSetting],
}
RESULT_STATUSES = (RuleStatus.PASSED.value, RuleStatus.FAILED.value)


def _catalog() -> dict[str, dict[str, str]]:
    from ketenzorg import messages

    return messages._CATALOG  # type: ignore[no-any-return]


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _strings(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _keys_in(tree: ast.Module) -> tuple[set[str], list[str]]:
    """Message keys used in a module, and the f-string key templates it could not expand."""
    keys: set[str] = set()
    unexpanded: list[str] = []
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]

    def enclosing(node: ast.AST) -> ast.FunctionDef | None:
        best = None
        for function in functions:
            inside = any(child is node for child in ast.walk(function))
            if inside and (best is None or function.lineno > best.lineno):
                best = function
        return best

    for function in functions:
        # defaults of a parameter called ``key`` (``_not_applicable(rule_id, key="rule.not_applicable")``)
        arguments = function.args.args[-len(function.args.defaults) :] if function.args.defaults else []
        for argument, default in zip(arguments, function.args.defaults, strict=True):
            if argument.arg == "key":
                keys.update(_strings(default))

    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        name = _name(call.func)
        if name == "_result" and len(call.args) >= 3:
            # _result(ctx, rule_id, key, passed, ...) renders f"{key}.{status.value}"
            for key in _strings(call.args[2]):
                keys.update(f"{key}.{status}" for status in RESULT_STATUSES)
            continue
        if name not in KEY_ARGUMENT or len(call.args) <= KEY_ARGUMENT[name]:
            continue
        argument = call.args[KEY_ARGUMENT[name]]
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            keys.add(argument.value)
        elif isinstance(argument, ast.JoinedStr):
            head = argument.values[0]
            prefix = head.value if isinstance(head, ast.Constant) else ""
            if prefix in FAMILIES:
                keys.update(prefix + value for value in FAMILIES[prefix])
            elif name == "Message" and enclosing(call) is not None and enclosing(call).name == "_result":
                pass  # expanded from the _result call sites above
            else:
                unexpanded.append(ast.unparse(argument))
        elif isinstance(argument, ast.Name):
            # a key chosen into a local variable: collect what is assigned to it
            function = enclosing(call)
            assigned = [
                node.value
                for node in ast.walk(function or tree)
                if isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == argument.id for t in node.targets)
            ]
            if assigned:
                for value in assigned:
                    keys.update(_strings(value))
            elif argument.id != "key":  # ``key`` parameters are covered by their callers and defaults
                unexpanded.append(argument.id)
    return keys, unexpanded


def used_keys() -> set[str]:
    keys: set[str] = set()
    for filename in SCANNED:
        found, unexpanded = _keys_in(ast.parse((SOURCE / filename).read_text(encoding="utf-8")))
        assert unexpanded == [], f"{filename}: message keys the test cannot resolve: {unexpanded}"
        keys |= found
    return keys


# --- the catalog ---------------------------------------------------------------------------------


def test_languages() -> None:
    assert set(LANGUAGES) == {"nl", "en"}


def test_every_key_has_dutch_and_english() -> None:
    catalog = _catalog()
    assert len(catalog) > 50
    for key, texts in catalog.items():
        assert set(texts) == {"nl", "en"}, key
        assert all(isinstance(t, str) and t.strip() for t in texts.values()), key


def test_dutch_and_english_use_the_same_placeholders() -> None:
    formatter = string.Formatter()
    for key, texts in _catalog().items():
        fields = {lang: {f for _, f, _, _ in formatter.parse(text) if f} for lang, text in texts.items()}
        assert fields["nl"] == fields["en"], key


def test_the_source_scan_finds_the_keys() -> None:
    keys = used_keys()
    assert len(keys) > 50
    for expected in (
        "label.client",
        "word.client_present",
        "word.client_absent",
        "rule.top3.failed",
        "rule.top3.not_applicable",
        "rule.not_applicable",
        "rule.consensus.passed",
        "phase.3",
        "severity.severe",
        "blocked.closed",
        "blocked.advance",
        "decision.heading",
        "decision.missing",
        "missing.since",
        "alert.reassess",
    ):
        assert expected in keys


def test_every_key_used_in_the_source_exists() -> None:
    missing = sorted(k for k in used_keys() if k not in _catalog())
    assert missing == []


@pytest.mark.parametrize("key", sorted(_catalog()))
def test_every_key_renders_in_every_language(key: str) -> None:
    formatter = string.Formatter()
    template = _catalog()[key]["en"]
    params = {f: "x" for _, f, _, _ in formatter.parse(template) if f}
    for lang in LANGUAGES:
        text = render(Message(key, params), lang)
        assert text
        assert "{" not in text


# --- rendering -----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["de", "", "EN", "nl-NL"])
def test_unknown_language_raises_value_error(lang: str) -> None:
    with pytest.raises(ValueError, match="unsupported language"):
        render(Message("phase.1"), lang)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unsupported language"):
        Message("phase.1").render(lang)  # type: ignore[arg-type]


@pytest.mark.parametrize("moment", [datetime(2026, 3, 12, 23, 30, tzinfo=UTC), date(2026, 3, 12)])
def test_dates_render_day_month_year(moment: date) -> None:
    message = Message("word.incident", {"date": moment})
    assert render(message, "en") == "the incident of 12 March 2026"
    assert render(message, "nl") == "het incident van 12 maart 2026"


@pytest.mark.parametrize(
    ("month", "en", "nl"),
    [
        (1, "January", "januari"),
        (2, "February", "februari"),
        (3, "March", "maart"),
        (4, "April", "april"),
        (5, "May", "mei"),
        (6, "June", "juni"),
        (7, "July", "juli"),
        (8, "August", "augustus"),
        (9, "September", "september"),
        (10, "October", "oktober"),
        (11, "November", "november"),
        (12, "December", "december"),
    ],
)
def test_month_names(month: int, en: str, nl: str) -> None:
    message = Message("word.relapse", {"date": date(2026, month, 1)})
    assert render(message, "en") == f"the relapse of 1 {en} 2026"
    assert render(message, "nl") == f"de terugval van 1 {nl} 2026"


def test_nested_messages_render_in_the_same_language() -> None:
    inner = Message("word.incident", {"date": date(2026, 3, 12)})
    message = Message("missing.since", {"party": Message("label.client"), "since": inner})
    assert render(message, "en") == "client has not scored since the incident of 12 March 2026"
    assert render(message, "nl") == "cliënt heeft niet meer gescoord sinds het incident van 12 maart 2026"


def test_lists_and_enums_render_as_text() -> None:
    ranks = Message("missing.bad_ranks", {"ranks": ["1", "-", 3], "count": 3})
    assert render(ranks, "en") == "active work goals have ranks 1, -, 3, expected 1..3 once each"
    assert render(Message("decision.phase", {"phase": Phase.RISK_DRIVEN_CARE}), "en") == "Current phase: 2"
    assert (
        render(Message("decision.heading", {"case": RuleStatus.PASSED}), "nl") == "Besluit voor casus passed"
    )


def test_default_language_is_english() -> None:
    assert render(Message("phase.1")) == "phase 1 (immediate safety)"
    assert Message("phase.1").render() == "phase 1 (immediate safety)"
    assert render(Message("phase.1"), "nl") == "fase 1 (directe veiligheid)"
