"""FHIR R4 XML, both ways, on lxml: generic over R4 resources, exact for values as written.

The public face of :mod:`.xmllayout` (the R4 layout), :mod:`.xmlwrite` and :mod:`.xmlread`.

The element order, cardinality and primitive types of every R4 type come from
``data/r4layout.json``, generated from the official R4 XSD and JSON Schema by
:mod:`ketenzorg.interop.r4layout_gen` and read once, on the first XML call; all 146 R4 resource
types are written and read. Primitive values are ``value`` attributes, an
element's ``id`` and an extension's ``url`` are attributes, primitive extensions (``_field`` in
JSON) are child ``extension`` elements, contained resources and bundle entries are wrapped the
FHIR way, and the narrative ``div`` is kept as XHTML. Decimals travel as
:class:`decimal.Decimal`, so ``1.50`` stays ``1.50`` in both directions; date-times are strings
and are never reformatted.

Reading XML goes through :func:`ketenzorg.interop.safeinput.parse_xml` (no DTD, no entities, no
network; comments and processing instructions dropped; size and depth limits). Both directions hold
the narrative to FHIR's rules (:mod:`ketenzorg.interop.narrative`: no script, no event attributes,
no ``javascript:`` URLs, only the allowed elements) and a bundle to at most
:data:`~ketenzorg.limits.MAX_ENTRIES` entries. Any content of the wrong shape (a JSON value
of the wrong type, an unknown or empty key, an unknown element) is a :class:`FhirXmlError` naming
where it is.
"""

from __future__ import annotations

from ketenzorg.interop.xmllayout import FHIR_NS, XHTML_NS, FhirXmlError
from ketenzorg.interop.xmlread import element_to_resource, from_xml
from ketenzorg.interop.xmlwrite import resource_to_element, to_xml

__all__ = [
    "FHIR_NS",
    "XHTML_NS",
    "FhirXmlError",
    "element_to_resource",
    "from_xml",
    "resource_to_element",
    "to_xml",
]
