"""Interoperability at the edge: FHIR R4 (4.0.1) in JSON. The core never imports this package.

- :mod:`ketenzorg.interop.terminology`: the canonical URL base and the profile's code systems.
- :mod:`ketenzorg.interop.fhir`: case <-> Bundle (plain dicts), both ways, without loss.
"""
