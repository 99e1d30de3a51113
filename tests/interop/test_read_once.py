"""Reading a bundle runs each recorded instrument application's instrument once, not once per layer.

The answers layer of :func:`read_bundle` reads and re-checks every application; the case reader
takes those it read instead of reading them, and running the instrument, again. The issues stay
those of each layer read on its own (``test_validate.py``, ``test_answers*.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import pytest

from ketenzorg.demo import build_demo_case
from ketenzorg.disclosure import Recipient
from ketenzorg.engine import Engine
from ketenzorg.events import InstrumentApplied
from ketenzorg.instruments import Answer, InstrumentResult
from ketenzorg.interop.fhir import case_to_bundle, read_case
from ketenzorg.interop.safeinput import read_json
from ketenzorg.interop.validate import is_valid, read_bundle
from ketenzorg.pluginhost import RegisteredInstrument


@pytest.fixture
def assessed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The id of the instrument of every ``assess`` run from now on, in order."""
    calls: list[str] = []
    original = RegisteredInstrument.assess

    def counted(self: RegisteredInstrument, answers: Mapping[str, Answer]) -> InstrumentResult:
        calls.append(self.instrument.spec.id)
        return original(self, answers)

    monkeypatch.setattr(RegisteredInstrument, "assess", counted)
    return calls


def _demo(engine: Engine) -> tuple[Any, int]:
    """The demo case's bundle, freshly parsed, and the number of instrument applications it records."""
    case = build_demo_case()
    applied = sum(isinstance(e, InstrumentApplied) for e in case.events)
    assert applied >= 2
    return read_json(
        orjson.dumps(case_to_bundle(case, recipient=Recipient.internal(), engine=engine))
    ), applied


def test_read_bundle_assesses_each_application_once(engine: Engine, assessed: list[str]) -> None:
    data, applied = _demo(engine)
    assessed.clear()  # building the demo case assessed each application
    outcome, case = read_bundle(data, engine=engine)
    assert is_valid(outcome)
    assert case is not None
    assert sum(isinstance(e, InstrumentApplied) for e in case.events) == applied
    assert len(assessed) == applied  # was twice as many: answers layer and case reader each ran it


def test_applications_of_another_bundle_are_not_taken(engine: Engine, assessed: list[str]) -> None:
    from ketenzorg.interop.assessment import Applications, application_issues  # new with this check

    data, applied = _demo(engine)
    applications = Applications(data)
    assert application_issues(data, engine.instruments, hook_timeout=None, applications=applications) == []
    assert len(applications.read) == applied
    copy, _ = _demo(engine)  # equal, but not the bundle these were read from: read and re-checked again
    assessed.clear()
    read_case(copy, engine=engine, applications=applications)
    assert len(assessed) == applied
    assessed.clear()
    read_case(data, engine=engine, applications=applications)  # the very bundle: taken as read
    assert assessed == []
