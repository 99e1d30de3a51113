"""The canonical URLs of an instrument's FHIR definitions, under the base the instrument declares.

An instrument's Questionnaire and code systems live under its own canonical base
(:attr:`~ketenzorg.instruments.InstrumentSpec.canonical`): the shipped instruments under
ketenzorg's, a plugin's under its organisation's. The exporter and the conformance package both
take the URLs from here. Light on purpose: it imports neither the conformance generator nor the
exporter.
"""

from __future__ import annotations

from typing import Final, Protocol

from ketenzorg.errors import Problem, ValidationError
from ketenzorg.instruments import InstrumentSpec

__all__ = [
    "INSTRUMENT_SYSTEM",
    "canonical_base",
    "classification_system",
    "instrument_system",
    "level_system",
    "questionnaire_canonical",
    "questionnaire_url",
]

INSTRUMENT_SYSTEM: Final = "instrument"
"""The name of a base's code system of instrument ids (``RiskAssessment.method``)."""


class HasSpec(Protocol):
    """An instrument, or a registered instrument: anything with a ``spec``."""

    @property
    def spec(self) -> InstrumentSpec: ...


def _spec(instrument: InstrumentSpec | HasSpec) -> InstrumentSpec:
    return instrument if isinstance(instrument, InstrumentSpec) else instrument.spec


def canonical_base(instrument: InstrumentSpec | HasSpec) -> str:
    """The instrument's canonical base; :class:`ValidationError` if it declares none."""
    spec = _spec(instrument)
    if spec.canonical is None:
        raise ValidationError([Problem("canonical", f"instrument {spec.id!r} declares no canonical base")])
    return spec.canonical


def questionnaire_url(instrument: InstrumentSpec | HasSpec) -> str:
    """The URL of the instrument's Questionnaire: ``<base>/Questionnaire/<id>``."""
    return f"{canonical_base(instrument)}/Questionnaire/{_spec(instrument).id}"


def questionnaire_canonical(instrument: InstrumentSpec | HasSpec) -> str:
    """What ``QuestionnaireResponse.questionnaire`` holds: ``<base>/Questionnaire/<id>|<version>``."""
    return f"{questionnaire_url(instrument)}|{_spec(instrument).version}"


def classification_system(instrument: InstrumentSpec | HasSpec) -> str:
    """The code system of the instrument's classifications: ``<base>/CodeSystem/<id>``."""
    return f"{canonical_base(instrument)}/CodeSystem/{_spec(instrument).id}"


def level_system(instrument: InstrumentSpec | HasSpec) -> str:
    """The code system of the instrument's own result levels: ``<base>/CodeSystem/<id>-level``."""
    return f"{canonical_base(instrument)}/CodeSystem/{_spec(instrument).id}-level"


def instrument_system(instrument: InstrumentSpec | HasSpec) -> str:
    """The code system of the ids of the instruments under the instrument's base: the system of
    ``RiskAssessment.method``, ``<base>/CodeSystem/instrument``."""
    return f"{canonical_base(instrument)}/CodeSystem/{INSTRUMENT_SYSTEM}"
