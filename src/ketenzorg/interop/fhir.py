"""Case <-> FHIR R4 Bundle, both ways, without loss: the public face of the mapping.

The mapping lives by concept: :mod:`.definitions` (identifier systems, extensions and their
definitions), :mod:`.export` (case -> bundle) and :mod:`.read` (bundle -> case), which run the
modules of each kind of resource: :mod:`.careteam` (organisation, persons, parties, care team),
:mod:`.observations` (scores, incidents, phase changes), :mod:`.plans` (safety action plan, goals)
and :mod:`.assessment` (instrument applications). This module gathers what an embedding
application uses. See ``docs/fhir-mapping.md`` for the mapping, resource by resource.
"""

from __future__ import annotations

from ketenzorg.interop.definitions import SECRET_LOCATION_NAME, SECRET_LOCATION_PSEUDONYM
from ketenzorg.interop.export import BundleType, case_to_bundle, secret_location_pseudonyms
from ketenzorg.interop.observations import IncidentReading, ScoreReading, read_incident, read_score
from ketenzorg.interop.read import FhirMappingError, bundle_to_case, entry_of_event, read_case

__all__ = [
    "SECRET_LOCATION_NAME",
    "SECRET_LOCATION_PSEUDONYM",
    "BundleType",
    "FhirMappingError",
    "IncidentReading",
    "ScoreReading",
    "bundle_to_case",
    "case_to_bundle",
    "entry_of_event",
    "read_case",
    "read_incident",
    "read_score",
    "secret_location_pseudonyms",
]
