"""Case <-> FHIR R4 Bundle, both ways, without loss: the public face of the mapping.

The mapping lives by concept: :mod:`.definitions` (identifier systems, extensions and their
definitions), :mod:`.export` (case -> bundle) and :mod:`.read` (bundle -> case), which run the
modules of each kind of resource: :mod:`.careteam` (organisation, persons, parties, care team),
:mod:`.observations` (scores, incidents, phase changes), :mod:`.plans` (safety action plan, goals)
and :mod:`.assessment` (instrument applications). This module gathers what an embedding
application uses. See ``docs/fhir-mapping.md`` for the mapping, resource by resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ketenzorg.disclosure.profiles import Recipient
from ketenzorg.interop.definitions import SECRET_LOCATION_NAME, SECRET_LOCATION_PSEUDONYM
from ketenzorg.interop.export import BundleType, secret_location_pseudonyms
from ketenzorg.interop.observations import IncidentReading, ScoreReading, read_incident, read_score
from ketenzorg.interop.read import FhirMappingError, bundle_to_case, entry_of_event, read_case

if TYPE_CHECKING:
    from ketenzorg.case import Case
    from ketenzorg.disclosure import DisclosureProfile
    from ketenzorg.engine import Engine

__all__ = [
    "SECRET_LOCATION_NAME",
    "SECRET_LOCATION_PSEUDONYM",
    "BundleType",
    "FhirMappingError",
    "IncidentReading",
    "Recipient",
    "ScoreReading",
    "bundle_to_case",
    "case_to_bundle",
    "entry_of_event",
    "read_case",
    "read_incident",
    "read_score",
    "secret_location_pseudonyms",
]


def case_to_bundle(
    case: Case,
    *,
    engine: Engine,
    recipient: Recipient,
    type: BundleType = "collection",
    profiles: Mapping[str, DisclosureProfile] | None = None,
) -> dict[str, Any]:
    """The case as ``recipient`` may receive it: a FHIR R4 Bundle (a JSON-ready dict), labelled.

    ``recipient`` is required: ``Recipient.internal()`` is the organisation itself (the whole case);
    any other recipient gets what its disclosure profile gives (see ``docs/disclosure.md``).
    ``engine`` is the caller's: its instruments tell how each answer travels and its plugins screen
    every outgoing text. Identifiers are stable, so a ``transaction`` uses conditional updates
    (``PUT Observation?identifier=system|value``); references are ``urn:uuid:`` full URLs that
    resolve inside the bundle. To log the disclosure use :func:`ketenzorg.disclosure.disclose`,
    which also returns its record.
    """
    from ketenzorg.disclosure import disclose

    return disclose(case, engine=engine, recipient=recipient, type=type, profiles=profiles).bundle
