"""FHIR R4 XML, both ways, on lxml: generic over R4 resources, exact for values as written.

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
:data:`~ketenzorg.interop.validate.MAX_ENTRIES` entries. Any content of the wrong shape (a JSON value
of the wrong type, an unknown or empty key, an unknown element) is a :class:`FhirXmlError` naming
where it is.
"""

from __future__ import annotations

import functools
import re
import typing
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import orjson
from lxml import etree

from ketenzorg.errors import MalformedInputError, Problem, ValidationError
from ketenzorg.interop.decimals import ExactDecimal

__all__ = [
    "FHIR_NS",
    "XHTML_NS",
    "FhirXmlError",
    "element_to_resource",
    "from_xml",
    "resource_to_element",
    "to_xml",
]

FHIR_NS: Final = "http://hl7.org/fhir"
XHTML_NS: Final = "http://www.w3.org/1999/xhtml"
_F = "{" + FHIR_NS + "}"


class FhirXmlError(ValidationError):
    """FHIR content that has no XML (or JSON) form: an unknown element or type, a bad value."""


# --- the R4 layout (generated from the official R4 schemas) -----------------------------------------

_PRIMITIVE, _COMPLEX, _RESOURCE, _XHTML = "primitive", "complex", "resource", "xhtml"
_LAYOUT_FILE: Final = Path(__file__).resolve().parent / "data" / "r4layout.json"
_PYTHON: Final[dict[str, type]] = {"bool": bool, "int": int, "decimal": Decimal, "str": str}


class _Field(typing.NamedTuple):
    kind: str
    klass: str  # the R4 type of a complex element (``Observation.Component``); "" for the others
    many: bool
    python: type  # for primitives: bool, int, Decimal or str
    extra_key: str  # the JSON key of a primitive's id and extensions: "_" + name


class _Layout(typing.NamedTuple):
    order: dict[str, int]
    fields: dict[str, _Field]
    is_extension: bool


@functools.cache
def _r4() -> dict[str, Any]:
    """The R4 table (``data/r4layout.json``, made by :mod:`ketenzorg.interop.r4layout_gen`), read once."""
    table: dict[str, Any] = orjson.loads(_LAYOUT_FILE.read_bytes())
    return table


@functools.cache
def _resource_types() -> frozenset[str]:
    return frozenset(_r4()["resources"])


@functools.cache
def _layout(klass: str) -> _Layout:
    """The child elements of an R4 type, in XML order (only names from the table reach this cache)."""
    data = _r4()
    python = data["primitives"]
    fields: dict[str, _Field] = {}
    for name, fhir_type, maximum, kind in data["types"][klass]:
        fields[name] = _Field(
            kind,
            fhir_type if kind == _COMPLEX else "",
            maximum == "*",
            _PYTHON[python[fhir_type]] if kind == _PRIMITIVE else str,
            "_" + name,
        )
    return _Layout({name: index for index, name in enumerate(fields)}, fields, klass == "Extension")


def _resource_class(resource_type: str) -> str | None:
    """The R4 type of a resource; ``None`` for anything else (datatypes, R4B-only names, junk)."""
    return resource_type if resource_type in _resource_types() else None


_Where = str | tuple[Any, str, int | None]
"""A location: text, or ``(parent, name, index)``, made into text only for an error (the writer
passes locations down to every element it writes, and almost never needs one)."""


def _loc(where: _Where) -> str:
    """A location as text: ``Bundle.entry[2].resource.code``."""
    parts: list[str] = []
    while not isinstance(where, str):
        where, name, index = where
        parts.append(f".{name}" if index is None else f".{name}[{index}]")
    return where + "".join(reversed(parts))


def _error(path: _Where, message: str) -> FhirXmlError:
    return FhirXmlError([Problem(_loc(path), message)])


# --- JSON -> XML ---------------------------------------------------------------------------------

_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
)
_CAREFUL = re.compile(r'[&<>"\n\r\t\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_PADS = ["\n" + "  " * depth for depth in range(200)]


class _NoPads:
    """The indentation of compact XML: none, at any depth."""

    def __getitem__(self, depth: int) -> str:
        return ""


_NO_PADS: Final = _NoPads()


def _text(value: Any, path: _Where) -> str:
    """A primitive value as it is written: booleans in lower case, decimals exactly as read."""
    if type(value) is str:
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | Decimal | str):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    raise _error(path, f"expected a primitive value, got {type(value).__name__}")


def _attr(value: Any, path: _Where, name: str = "") -> str:
    """An attribute value, escaped; whitespace characters as references so they survive parsing.

    ``path`` and ``name`` make the location, built only for an error.
    """
    text = value if type(value) is str else _text(value, (path, name, None))
    if _CAREFUL.search(text) is None:
        return text
    if _NOT_XML.search(text):
        raise _error((path, name, None) if name else path, "contains a control character XML cannot carry")
    return text.translate(_ESCAPES)


_PLAIN_ONE, _PLAIN_MANY, _OBJECT_ONE, _OBJECT_MANY, _GENERAL = range(5)
"""How :meth:`_Writer.body` writes an element of an object's plan: a primitive or an object, once
or repeated, without a ``_name`` part (the common shapes, written inline), or the general way."""


class _Step(typing.NamedTuple):
    name: str
    spec: _Field
    extra_key: str
    mode: int  # one of _PLAIN_ONE .. _GENERAL: decided by the field and by the object's keys
    plain: int  # the mode when the object's ``_name`` part is null
    open_tag: str  # '<name value="' for a primitive, '<name>' for an object
    close_tag: str  # '</name>' for an object


class _Writer:
    """Writes XML text in one pass, in the R4 element order."""

    def __init__(self, pretty: bool) -> None:
        self.out: list[str] = []
        self.pretty = pretty
        self.pads = _PADS if pretty else _NO_PADS

    def pad(self, depth: int) -> str:
        return self.pads[depth]

    def resource(self, resource: Any, path: _Where, depth: int, *, root: bool = False) -> None:
        if not isinstance(resource, Mapping) or not isinstance(resource.get("resourceType"), str):
            raise _error(path, "a resource needs its resourceType")
        rtype = resource["resourceType"]
        klass = _resource_class(rtype)
        if klass is None:
            raise _error(path, "its resourceType is not a FHIR R4 resource type")
        if rtype == "Bundle":
            _check_entries(resource.get("entry"), path)
        xmlns = f' xmlns="{FHIR_NS}"' if root else ""
        self.out.append(f"{self.pad(depth) if not root else ''}<{rtype}{xmlns}>")
        self.body(resource, klass, path, depth + 1, True)
        self.out.append(f"{self.pad(depth)}</{rtype}>")

    def body(self, obj: Any, klass: str, path: _Where, depth: int, resource: bool) -> None:
        if type(obj) is not dict and not isinstance(obj, Mapping):
            raise _error(path, f"expected an object, got {type(obj).__name__}")
        keys = tuple(obj)
        # Objects of FHIR's size share a plan; a hostile one of many keys is not kept in the cache.
        plan = (
            _plan(klass, resource, keys)
            if len(keys) <= _PLANNED_KEYS
            else _plan.__wrapped__(klass, resource, keys)
        )
        if plan is None:
            _unknown_key(obj, klass, path, resource)
            return
        out = self.out
        pad = self.pads[depth]
        for step in plan:
            name, spec, extra_key, mode, plain, open_tag, close_tag = step
            values = obj.get(name)
            if mode == _GENERAL and obj.get(extra_key) is None:
                mode = plain
            if mode == _PLAIN_ONE:
                text = values if type(values) is str and _CAREFUL.search(values) is None else None
                out.append(f'{pad}{open_tag}{text or _attr(values, path, name)}"/>')
                continue
            if mode == _OBJECT_ONE:
                # a plain object (no id or url attribute) is written here, without a call
                if type(values) is dict and "id" not in values and "url" not in values:
                    out.append(pad + open_tag)
                    self.body(values, spec.klass, (path, name, None), depth + 1, False)
                    out.append(pad + close_tag)
                else:
                    self.complex(name, values, spec.klass, path, depth)
                continue
            if type(values) is list:
                if mode == _OBJECT_MANY:
                    for index, value in enumerate(values):
                        if type(value) is dict and "id" not in value:
                            if "url" not in value:
                                out.append(pad + open_tag)
                                self.body(value, spec.klass, (path, name, index), depth + 1, False)
                                out.append(pad + close_tag)
                                continue
                            url = value["url"]
                            if (
                                spec.klass == "Extension"
                                and type(url) is str
                                and _CAREFUL.search(url) is None
                            ):
                                # an extension: its url is an attribute
                                out.append(f'{pad}<{name} url="{url}">')
                                self.body(value, "Extension", (path, name, index), depth + 1, False)
                                out.append(pad + close_tag)
                                continue
                        self.complex(name, value, spec.klass, path, depth, index)
                    continue
                if mode == _PLAIN_MANY:
                    for value in values:
                        out.append(f'{pad}{open_tag}{_attr(value, path, name)}"/>')
                    continue
            self.general(obj, step, path, depth)

    def general(self, obj: Mapping[str, Any], step: _Step, path: _Where, depth: int) -> None:
        """One element of an object in any shape: with a ``_name`` part, not an array where one is
        expected, the narrative, a contained resource; or a refusal naming where it is."""
        name, spec, extra_key = step.name, step.spec, step.extra_key
        values = obj.get(name)
        extras = obj.get(extra_key)
        where: _Where = (path, name, None)
        if spec.many:
            values = values if values is not None else []
            extras = extras if extras is not None else []
            if not isinstance(values, list) or not isinstance(extras, list):
                raise _error(where, "expected an array")
            count = max(len(values), len(extras))
            pairs = [
                (values[i] if i < len(values) else None, extras[i] if i < len(extras) else None)
                for i in range(count)
            ]
        else:
            pairs = [(values, extras)]
        for index, (value, extra) in enumerate(pairs):
            self.child(name, spec, value, extra, (path, name, index) if spec.many else where, depth)

    def start(self, name: str, obj: Mapping[str, Any], path: _Where, depth: int, is_extension: bool) -> str:
        attrs = ""
        if obj.get("id") is not None:
            attrs += f' id="{_attr(obj["id"], (path, "id", None))}"'
        if is_extension and obj.get("url") is not None:
            attrs += f' url="{_attr(obj["url"], (path, "url", None))}"'
        return f"{self.pad(depth)}<{name}{attrs}"

    def child(self, name: str, spec: _Field, value: Any, extra: Any, path: _Where, depth: int) -> None:
        out = self.out
        if spec.kind == _XHTML:
            out.append(self.pad(depth) + _xhtml(value, path))
        elif spec.kind == _PRIMITIVE:
            if extra is not None and not isinstance(extra, Mapping):
                raise _error(path, "a primitive's extension part is an object")
            extra = extra or {}
            head = self.start(name, extra, path, depth, False)
            if value is not None:
                head += f' value="{_attr(value, path)}"'
            extensions = extra.get("extension") or []
            if not isinstance(extensions, list):
                raise _error((path, "extension", None), "expected an array")
            if not extensions:
                out.append(head + "/>")
                return
            out.append(head + ">")
            for n, ext in enumerate(extensions):
                self.complex("extension", ext, "Extension", path, depth + 1, n)
            out.append(f"{self.pad(depth)}</{name}>")
        elif spec.kind == _RESOURCE:
            out.append(f"{self.pad(depth)}<{name}>")
            self.resource(value, path, depth + 1)
            out.append(f"{self.pad(depth)}</{name}>")
        else:
            self.complex(name, value, spec.klass, path, depth, where=path)

    def complex(
        self,
        name: str,
        value: Any,
        klass: str,
        path: _Where,
        depth: int,
        index: int | None = None,
        *,
        where: _Where | None = None,
    ) -> None:
        """A complex element under ``path`` (its parent's location), the ``index``-th if repeated;
        ``where`` is its own location when the caller already has it."""
        where = where or (path, name, index)
        if type(value) is not dict and not isinstance(value, Mapping):
            raise _error(where, f"expected an object, got {type(value).__name__}")
        pad = self.pad(depth)
        if "id" in value or "url" in value:
            head = self.start(name, value, where, depth, _layout(klass).is_extension)
        else:
            head = pad + "<" + name
        self.out.append(head + ">")
        self.body(value, klass, where, depth + 1, False)
        self.out.append(pad + "</" + name + ">")


_PLANNED_KEYS: Final = 64


def _mode(spec: _Field, has_extras: bool) -> int:
    if has_extras:
        return _GENERAL
    if spec.kind == _PRIMITIVE:
        return _PLAIN_MANY if spec.many else _PLAIN_ONE
    if spec.kind == _COMPLEX:
        return _OBJECT_MANY if spec.many else _OBJECT_ONE
    return _GENERAL


def _tags(name: str, spec: _Field) -> tuple[str, str]:
    if spec.kind == _PRIMITIVE:
        return f'<{name} value="', ""
    return f"<{name}>", f"</{name}>"


@functools.lru_cache(maxsize=8192)
def _plan(klass: str, resource: bool, keys: tuple[str, ...]) -> tuple[_Step, ...] | None:
    """The elements of an object with these keys, in FHIR order; ``None`` if a key is unknown."""
    layout = _layout(klass)
    fields = layout.fields
    names: set[str] = set()
    for key in keys:
        if key == "resourceType" and resource:
            continue
        if type(key) is not str:
            return None
        name = key[1:] if key[:1] == "_" else key
        if not resource and (name == "id" or (layout.is_extension and name == "url")):
            continue  # attributes, written with the start tag
        if name not in fields:
            return None
        names.add(name)
    steps = []
    for name in sorted(names, key=layout.order.__getitem__):
        spec = fields[name]
        mode = _mode(spec, "_" + name in keys)
        steps.append(_Step(name, spec, "_" + name, mode, _mode(spec, False), *_tags(name, spec)))
    return tuple(steps)


def _unknown_key(obj: Mapping[str, Any], klass: str, path: _Where, resource: bool) -> None:
    layout = _layout(klass)
    for key in obj:
        if not isinstance(key, str) or not key.strip("_"):
            raise _error(path, f"an empty or non-text key is not an element of {klass}")
        name = key[1:] if key[:1] == "_" else key
        if key == "resourceType" and resource:
            continue
        if not resource and (name == "id" or (layout.is_extension and name == "url")):
            continue
        if name not in layout.fields:
            raise _error(path, f"has an element that {klass} does not define (its name is not repeated)")


def _xhtml(value: Any, path: _Where) -> str:
    """The narrative div, checked to be a well-formed XHTML <div> (parsed safely) that keeps FHIR's
    narrative rules, as written."""
    if not isinstance(value, str):
        raise _error(path, "the narrative div is XHTML text")
    from ketenzorg.interop.narrative import check_xhtml

    problems = check_xhtml(value)
    if problems:
        raise FhirXmlError([Problem(_loc(path), f"narrative: {p}") for p in problems])
    return value


def _check_entries(entries: Any, path: _Where) -> None:
    from ketenzorg.limits import MAX_ENTRIES

    if isinstance(entries, list) and len(entries) > MAX_ENTRIES:
        raise _error(
            (path, "entry", None), f"{len(entries)} entries: a bundle may hold at most {MAX_ENTRIES}"
        )


def to_xml(resource: Mapping[str, Any], *, pretty: bool = True) -> bytes:
    """A resource (JSON form) as FHIR XML bytes, UTF-8 with an XML declaration."""
    writer = _Writer(pretty)
    rtype = resource.get("resourceType") if isinstance(resource, Mapping) else None
    root = rtype if isinstance(rtype, str) and _resource_class(rtype) is not None else ""
    writer.resource(resource, root, 0, root=True)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + "".join(writer.out) + "\n").encode("utf-8")


def resource_to_element(resource: Mapping[str, Any]) -> etree._Element:
    """A FHIR resource (JSON form) as an lxml element in the FHIR namespace."""
    return etree.fromstring(to_xml(resource, pretty=False))


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
    klass = _resource_class(path)
    inside_resource = False
    for child in chain[1:]:
        if inside_resource:  # <resource><Observation>: the resource's own element adds nothing
            klass = _resource_class(_local(child))
            inside_resource = False
            continue
        spec = _layout(klass).fields.get(_local(child)) if klass else None
        if spec is None:
            return path
        path += f".{_local(child)}"
        if spec.many:
            path += f"[{sum(1 for s in child.itersiblings(preceding=True) if s.tag == child.tag)}]"
        inside_resource = spec.kind == _RESOURCE
        klass = spec.klass
    return path


def element_to_resource(element: etree._Element) -> dict[str, Any]:
    """An lxml element of a FHIR resource as its JSON form (decimals as Decimal)."""
    if not element.tag.startswith(_F):
        raise _error(_where(element), f"<{element.tag}> is not in the FHIR namespace {FHIR_NS}")
    rtype = _local(element)
    klass = _resource_class(rtype)
    if klass is None:
        raise _error(_where(element), "not a FHIR R4 resource type")
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
    raise _error(_where(element), f"<{_local(element)} value={raw!r}> is not a valid {python.__name__}")


_F_LEN: Final = len(_F)


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
    for name, spec in _layout(klass).fields.items():
        if spec.kind == _PRIMITIVE:
            python = None if spec.python is str else spec.python
            table[_F + name] = _ReadSpec(name, _PRIM, spec.many, "", python, spec.extra_key)
        elif spec.kind == _COMPLEX:
            table[_F + name] = _ReadSpec(name, _CPLX, spec.many, spec.klass, None, spec.extra_key)
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
                    raise _error(_where(child), f"<{name}> appears more than once")
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
                    raise _error(_where(child), f"<{name}> appears more than once")
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
    fields = _layout(klass).fields
    fhir = tag[:_F_LEN] == _F
    name = tag[_F_LEN:] if fhir else tag.rpartition("}")[2]
    spec = fields.get(name)
    if spec is None or (not fhir and spec.kind != _XHTML):
        raise _error(_where(child), f"an element that {klass} does not define (name not repeated)")
    value: Any = None
    extra: Any = None
    if spec.kind == _COMPLEX:
        value = {}
        _read(child, value, spec.klass, False)
    elif spec.kind == _XHTML:
        from ketenzorg.interop.narrative import check_div

        if tag != "{" + XHTML_NS + "}div":
            raise _error(_where(child), "the narrative is a <div> in the XHTML namespace")
        problems = check_div(child)
        if problems:
            where = _fhir_path(child)
            raise FhirXmlError([Problem(where, f"narrative: {p}") for p in problems])
        value = etree.tostring(child, encoding="unicode", with_tail=False)
    elif spec.kind == _PRIMITIVE:
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
                raise _error(_where(sub), f"<{_local(sub)}> cannot be inside the primitive <{name}>")
            ext: dict[str, Any] = {}
            _read(sub, ext, "Extension", False)
            extensions.append(ext)
        if extensions:
            extra["extension"] = extensions
        extra = extra or None
    elif spec.kind == _RESOURCE:
        inner = [c for c in child if isinstance(c.tag, str)]
        if len(inner) != 1:
            raise _error(_where(child), f"<{name}> holds exactly one resource")
        value = element_to_resource(inner[0])
    _put(out, name, value, extra, spec.many, child)
    if spec.many and value is None:
        return [*(holes or []), name]
    return holes


def _put(out: dict[str, Any], name: str, value: Any, extra: Any, many: bool, element: etree._Element) -> None:
    if not many:
        if name in out or "_" + name in out:
            raise _error(_where(element), f"<{name}> appears more than once")
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
    if root.tag == _F + "Bundle":
        count = sum(1 for _ in root.iterchildren(_F + "entry"))
        if count > MAX_ENTRIES:
            # a limit, like those of parse_xml: unusable input, not a bad value
            raise MalformedInputError(
                [Problem("Bundle.entry", f"{count} entries: a bundle may hold at most {MAX_ENTRIES}")],
                source=source or None,
            )
    return element_to_resource(root)
