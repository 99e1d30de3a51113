"""FHIR R4 XML -> JSON on the R4 layout, through the hardened parser (see :mod:`.fhirxml`)."""

from __future__ import annotations

import functools
import re
import typing
from decimal import Decimal
from typing import Any, Final

from lxml import etree

from ketenzorg.errors import MalformedInputError, Problem
from ketenzorg.interop.decimals import ExactDecimal
from ketenzorg.interop.xmllayout import (
    COMPLEX,
    FHIR_NS,
    NS_PREFIX,
    PRIMITIVE,
    RESOURCE,
    XHTML_KIND,
    XHTML_NS,
    FhirXmlError,
    layout_of,
    resource_class,
    xml_error,
)

__all__ = ["element_to_resource", "from_xml"]

# --- XML -> JSON ---------------------------------------------------------------------------------


def _local(element: etree._Element) -> str:
    tag: str = element.tag
    return tag.rpartition("}")[2]


def _where(element: etree._Element) -> str:
    return f"line {element.sourceline}" if element.sourceline else ""


def _fhir_path(element: etree._Element) -> str:
    """The FHIRPath-style location of an element of a resource (``Bundle.entry[2].resource.text.div``),
    for an error message."""
    chain = [element, *element.iterancestors()][::-1]
    path = _local(chain[0])
    klass = resource_class(path)
    inside_resource = False
    for child in chain[1:]:
        if inside_resource:  # <resource><Observation>: the resource's own element adds nothing
            klass = resource_class(_local(child))
            inside_resource = False
            continue
        spec = layout_of(klass).fields.get(_local(child)) if klass else None
        if spec is None:
            return path
        path += f".{_local(child)}"
        if spec.many:
            path += f"[{sum(1 for s in child.itersiblings(preceding=True) if s.tag == child.tag)}]"
        inside_resource = spec.kind == RESOURCE
        klass = spec.klass
    return path


def element_to_resource(element: etree._Element) -> dict[str, Any]:
    """An lxml element of a FHIR resource as its JSON form (decimals as Decimal)."""
    if not element.tag.startswith(NS_PREFIX):
        raise xml_error(_where(element), f"<{element.tag}> is not in the FHIR namespace {FHIR_NS}")
    rtype = _local(element)
    klass = resource_class(rtype)
    if klass is None:
        raise xml_error(_where(element), "not a FHIR R4 resource type")
    out: dict[str, Any] = {"resourceType": rtype}
    _read(element, out, klass, True)
    return out


_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def _convert(raw: str, python: type, element: etree._Element) -> Any:
    """A primitive's value by the R4 lexical rules (no '+5', '007', 'NaN' or 33-bit integers)."""
    if python is bool:
        if raw in ("true", "false"):
            return raw == "true"
    elif python is int:
        if len(raw) <= 11 and _INTEGER.fullmatch(raw) and -(2**31) <= int(raw) < 2**31:
            return int(raw)
    elif python is Decimal:
        if _DECIMAL.fullmatch(raw) and len(raw) <= 64:
            return ExactDecimal(raw)
    else:
        return raw
    raise xml_error(_where(element), f"<{_local(element)} value={raw!r}> is not a valid {python.__name__}")


_F_LEN: Final = len(NS_PREFIX)


_PRIM, _CPLX, _OTHER = 0, 1, 2
"""How :func:`_read` takes a child: a primitive, a complex element, or the general way."""


class _ReadSpec(typing.NamedTuple):
    name: str
    mode: int
    many: bool
    klass: str
    python: type | None  # the value's conversion; None for text, kept as it is
    extra_key: str


@functools.cache
def _read_table(klass: str) -> dict[str, _ReadSpec]:
    """The children of an R4 type by their qualified tag (``{http://hl7.org/fhir}status``).

    Only FHIR-namespace primitives and complex elements are in it: any other tag (the narrative,
    a contained resource, another namespace, junk) takes the general way, which words the error.
    """
    table: dict[str, _ReadSpec] = {}
    for name, spec in layout_of(klass).fields.items():
        if spec.kind == PRIMITIVE:
            python = None if spec.python is str else spec.python
            table[NS_PREFIX + name] = _ReadSpec(name, _PRIM, spec.many, "", python, spec.extra_key)
        elif spec.kind == COMPLEX:
            table[NS_PREFIX + name] = _ReadSpec(name, _CPLX, spec.many, spec.klass, None, spec.extra_key)
    return table


def _read(element: etree._Element, out: dict[str, Any], klass: str, resource: bool) -> None:
    """Read the children of ``element`` (an R4 ``klass``) into ``out``.

    One pass over the children with one table lookup each; the common shapes (a primitive with
    only a ``value``, a complex element) are read here, anything else by :func:`_read_general`.
    """
    if not resource:
        ident = element.get("id")
        if ident is not None:
            out["id"] = ident
        if klass == "Extension":
            url = element.get("url")
            if url is not None:
                out["url"] = url
    table = _read_table(klass)
    holes: list[str] | None = None  # primitive lists that got an element without a value
    for child in element:
        spec = table.get(child.tag)
        if spec is not None and spec.mode == _PRIM and not len(child):
            attrs = child.items()
            if len(attrs) == 1 and attrs[0][0] == "value":
                raw: Any = attrs[0][1]
            elif child.get("id") is None:
                raw = child.get("value")
            else:
                holes = _read_general(child, out, klass, holes)
                continue
            # the common case, kept lean: <status value="final"/>
            name = spec.name
            if raw is not None and spec.python is not None:
                raw = _convert(raw, spec.python, child)
            if not spec.many:
                if name in out or spec.extra_key in out:
                    raise xml_error(_where(child), f"<{name}> appears more than once")
                if raw is not None:
                    out[name] = raw
                continue
            values = out.get(name)
            if values is None:
                out[name] = [raw]
            else:
                values.append(raw)
            extras = out.get(spec.extra_key)
            if extras is not None:
                extras.append(None)
            if raw is None:
                holes = [*(holes or []), name]
            continue
        if spec is not None and spec.mode == _CPLX:
            name = spec.name
            value: dict[str, Any] = {}
            _read(child, value, spec.klass, False)
            if not spec.many:
                if name in out:
                    raise xml_error(_where(child), f"<{name}> appears more than once")
                out[name] = value
            else:
                values = out.get(name)
                if values is None:
                    out[name] = [value]
                else:
                    values.append(value)
            continue
        holes = _read_general(child, out, klass, holes)
    for name in holes or ():
        # a list of only elements without a value (only ids or extensions): no value array in JSON
        if name in out and all(v is None for v in out[name]):
            del out[name]


def _read_general(
    child: etree._Element, out: dict[str, Any], klass: str, holes: list[str] | None
) -> list[str] | None:
    """One child of any shape (a primitive with an id or extensions, the narrative, a contained
    resource) or a refusal naming what is wrong; returns ``holes`` with this child's name added
    when it is a repeated element without a value."""
    tag = child.tag
    if type(tag) is not str:
        return holes  # comments and processing instructions are not content
    fields = layout_of(klass).fields
    fhir = tag[:_F_LEN] == NS_PREFIX
    name = tag[_F_LEN:] if fhir else tag.rpartition("}")[2]
    spec = fields.get(name)
    if spec is None or (not fhir and spec.kind != XHTML_KIND):
        raise xml_error(_where(child), f"an element that {klass} does not define (name not repeated)")
    value: Any = None
    extra: Any = None
    if spec.kind == COMPLEX:
        value = {}
        _read(child, value, spec.klass, False)
    elif spec.kind == XHTML_KIND:
        from ketenzorg.interop.narrative import check_div

        if tag != "{" + XHTML_NS + "}div":
            raise xml_error(_where(child), "the narrative is a <div> in the XHTML namespace")
        problems = check_div(child)
        if problems:
            where = _fhir_path(child)
            raise FhirXmlError([Problem(where, f"narrative: {p}") for p in problems])
        value = etree.tostring(child, encoding="unicode", with_tail=False)
    elif spec.kind == PRIMITIVE:
        raw = child.get("value")
        value = _convert(raw, spec.python, child) if raw is not None else None
        extra = {}
        if child.get("id") is not None:
            extra["id"] = child.get("id")
        extensions = []
        for sub in child:
            if not isinstance(sub.tag, str):
                continue
            if _local(sub) != "extension":
                raise xml_error(_where(sub), f"<{_local(sub)}> cannot be inside the primitive <{name}>")
            ext: dict[str, Any] = {}
            _read(sub, ext, "Extension", False)
            extensions.append(ext)
        if extensions:
            extra["extension"] = extensions
        extra = extra or None
    elif spec.kind == RESOURCE:
        inner = [c for c in child if isinstance(c.tag, str)]
        if len(inner) != 1:
            raise xml_error(_where(child), f"<{name}> holds exactly one resource")
        value = element_to_resource(inner[0])
    _put(out, name, value, extra, spec.many, child)
    if spec.many and value is None:
        return [*(holes or []), name]
    return holes


def _put(out: dict[str, Any], name: str, value: Any, extra: Any, many: bool, element: etree._Element) -> None:
    if not many:
        if name in out or "_" + name in out:
            raise xml_error(_where(element), f"<{name}> appears more than once")
        if value is not None:
            out[name] = value
        if extra is not None:
            out["_" + name] = extra
        return
    values = out.setdefault(name, [])
    extras = out.get("_" + name)
    if extra is not None and extras is None:
        extras = out["_" + name] = [None] * len(values)
    values.append(value)
    if extras is not None:
        extras.append(extra)


def from_xml(data: bytes, *, source: str = "") -> dict[str, Any]:
    """Parse FHIR XML (safely) into the JSON form of the resource.

    Raises :class:`~ketenzorg.errors.MalformedInputError` for input beyond the limits (size, depth,
    more than :data:`~ketenzorg.interop.validate.MAX_ENTRIES` entries) or not well-formed, and
    :class:`FhirXmlError` for content FHIR does not allow.
    """
    from ketenzorg.interop.safeinput import parse_xml
    from ketenzorg.limits import MAX_ENTRIES

    root = parse_xml(data, source=source)
    if root.tag == NS_PREFIX + "Bundle":
        count = sum(1 for _ in root.iterchildren(NS_PREFIX + "entry"))
        if count > MAX_ENTRIES:
            # a limit, like those of parse_xml: unusable input, not a bad value
            raise MalformedInputError(
                [Problem("Bundle.entry", f"{count} entries: a bundle may hold at most {MAX_ENTRIES}")],
                source=source or None,
            )
    return element_to_resource(root)
