"""The limits on what ketenzorg reads, in one place: the readers, the writers and the README's table
take them from here.

Whatever ketenzorg writes, it reads back: a writer whose result would break one of these limits
refuses with :class:`~ketenzorg.errors.OutputLimitError` naming the limit, rather than writing a file
its own reader refuses. The budgets on values bound what a document costs in memory once parsed,
which can be many times its size in bytes (see :mod:`ketenzorg.strictjson`).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "MAX_BYTES",
    "MAX_CONTAINERS",
    "MAX_DECIMALS",
    "MAX_DEPTH",
    "MAX_ENTRIES",
    "MAX_ISSUES",
    "MAX_VALUES",
    "MAX_XML_NODES",
]

MAX_BYTES: Final = 32 * 1024 * 1024
"""The largest document read, JSON or XML (a case, a bundle, a policy, answers, a key): a FHIR
bundle of about 24,000 incidents as the export writes them in JSON, about 14,000 in XML."""
MAX_DEPTH: Final = 64
"""Nesting of arrays and objects (JSON) or elements (XML): deeper than any FHIR resource needs (a
bundle of contained resources nests about 20 deep)."""
MAX_CONTAINERS: Final = 1_500_000
"""Arrays and objects in one JSON document of at most :data:`MAX_BYTES`.

A FHIR bundle has about 28 per entry (the demo bundle: 2,352 in 84 entries, 56 bytes each; an
incident Observation: 29 in about 1.3 kB), so the largest legitimate bundle the byte limit admits
holds about 730,000: this is twice that. Parsed to Python, one container costs 90 to 230 bytes,
so the budget bounds them to about 340 MB, where 30 MiB of ``[],`` would take about 1 GB.
"""
MAX_VALUES: Final = 4_000_000
"""Values in one JSON document of at most :data:`MAX_BYTES`, every key, array and object included.

Counted as the ``[``, ``{``, ``,`` and ``:`` outside strings: one per value or key (an empty array
or object counts one more). The largest legitimate bundle the byte limit admits holds about 2.4
million (a FHIR value or key takes 13 bytes on average). The cheapest value that still costs memory,
a two-letter string, takes 5 bytes of input and about 85 bytes as a Python string in a list, so the
budget bounds values to about 340 MB.
"""
MAX_DECIMALS: Final = 500_000
"""Decimal numbers in one JSON document (``1.5``, ``2e3``): each is a :class:`~decimal.Decimal` of
about 200 bytes made from as few as 2 bytes of input. A FHIR bundle has few (quantities, a risk
assessment's probability); 500,000 is more than one per entry of the largest legitimate bundle.
"""
MAX_XML_NODES: Final = 2_000_000
"""Elements and attributes in one XML document of at most :data:`MAX_BYTES`.

FHIR XML writes every primitive as an element with a ``value`` attribute: our bundles take 23
(compact) to 32 (indented) bytes per node, so the largest legitimate bundle the byte limit admits
holds about 1.4 million. As lxml elements and then the JSON form, a node costs 130 to 430 bytes
while ``<entry/>`` takes 8 bytes and an attribute ``a=""`` 6, so 30 MiB of them took 3 GB and a
minute in ``evaluate``; the budget bounds them to well under a gigabyte.
"""
MAX_ENTRIES: Final = 50_000
"""Entries a bundle may hold: more than :data:`MAX_BYTES` can carry as real resources (a minimal
incident Observation is about 800 bytes, so about 40,000 fit), so the byte limit is the one a real
bundle meets first; a hostile bundle of empty entries beyond it is refused before any per-entry
work (the parse budgets bound its memory)."""
MAX_ISSUES: Final = 1_000
"""Issues an OperationOutcome lists; the last then says how many more were found and not listed."""
