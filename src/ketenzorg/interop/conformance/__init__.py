"""The ketenzorg FHIR R4 (4.0.1) conformance package, generated from the code.

One source of truth: the code systems and the canonical URL base come from
:mod:`ketenzorg.interop.terminology`, the extensions from :mod:`ketenzorg.interop.definitions`, the
questionnaires from the instruments (each under its own canonical base,
:mod:`ketenzorg.interop.canonical`). The generated files are committed in ``schemas/fhir/``
(an NPM-style FHIR package: ``package/package.json``, ``package/.index.json`` and one JSON file per
resource); regenerate them with::

    python -m ketenzorg.interop.conformance            # writes schemas/fhir/
    python -m ketenzorg.interop.conformance --check    # lists the files that are out of date

What the package holds:

- a CodeSystem and a ValueSet for every code system of the profile, plus the code systems the mapping
  takes from the instruments (the instrument ids, and an instrument's classifications);
- a StructureDefinition (differential) for every extension the mapping uses and for every profiled
  resource it emits, with a Bundle profile ``ketenzorg-bundle`` that slices the entries by profile;
- a Questionnaire per shipped instrument, so that a QuestionnaireResponse's ``questionnaire``
  (``.../Questionnaire/<instrument id>|<version>``) resolves.

``ketenzorg conformance --out DIR`` (:func:`write_package`) writes the same package for an
installation: with a Questionnaire and code systems for every installed instrument, a plugin's
under the plugin's canonical base.

By kind: :mod:`.terminology` (CodeSystems, ValueSets), :mod:`.structure` (extension definitions and
the building blocks of a differential), :mod:`.profiles` (one function per profile),
:mod:`.questionnaires`, :mod:`.package` (the files, checking and writing them).
"""

from __future__ import annotations

from ketenzorg.interop.conformance.common import (
    PACKAGE_NAME,
    package_version,
    profile_url,
    questionnaire_url,
    value_set_url,
)
from ketenzorg.interop.conformance.package import (
    INSTALLED_PACKAGE_NAME,
    check,
    default_directory,
    files,
    main,
    resources,
    shipped_instruments,
    write,
    write_package,
)
from ketenzorg.interop.conformance.profiles import (
    BUNDLE,
    CARE_SETTING,
    CARE_TEAM,
    CASE_CONFERENCE,
    GOAL,
    INCIDENT,
    INSTRUMENT_ANSWERS,
    INSTRUMENT_APPLICATION,
    PHASE_CHANGE,
    PROFILES,
    SAFETY_ACTION_PLAN,
    SAFETY_SCORE,
    TRAJECTORY,
)
from ketenzorg.interop.definitions import EXTENSIONS, ExtensionDef, Part

__all__ = [
    "BUNDLE",
    "CARE_SETTING",
    "CARE_TEAM",
    "CASE_CONFERENCE",
    "EXTENSIONS",
    "GOAL",
    "INCIDENT",
    "INSTALLED_PACKAGE_NAME",
    "INSTRUMENT_ANSWERS",
    "INSTRUMENT_APPLICATION",
    "PACKAGE_NAME",
    "PHASE_CHANGE",
    "PROFILES",
    "SAFETY_ACTION_PLAN",
    "SAFETY_SCORE",
    "TRAJECTORY",
    "ExtensionDef",
    "Part",
    "check",
    "default_directory",
    "files",
    "main",
    "package_version",
    "profile_url",
    "questionnaire_url",
    "resources",
    "shipped_instruments",
    "value_set_url",
    "write",
    "write_package",
]
