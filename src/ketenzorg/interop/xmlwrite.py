"""FHIR R4 JSON -> XML on the R4 layout (see :mod:`.fhirxml`)."""

from __future__ import annotations

import functools
import re
import typing
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from lxml import etree

from ketenzorg.errors import Problem
from ketenzorg.interop.xmllayout import (
    COMPLEX,
    FHIR_NS,
    PRIMITIVE,
    RESOURCE,
    XHTML_KIND,
    FhirXmlError,
    Field,
    Where,
    layout_of,
    location_of,
    resource_class,
    xml_error,
)

__all__ = ["resource_to_element", "to_xml"]

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


def _text(value: Any, path: Where) -> str:
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
    raise xml_error(path, f"expected a primitive value, got {type(value).__name__}")


def _attr(value: Any, path: Where, name: str = "") -> str:
    """An attribute value, escaped; whitespace characters as references so they survive parsing.

    ``path`` and ``name`` make the location, built only for an error.
    """
    text = value if type(value) is str else _text(value, (path, name, None))
    if _CAREFUL.search(text) is None:
        return text
    if _NOT_XML.search(text):
        raise xml_error((path, name, None) if name else path, "contains a control character XML cannot carry")
    return text.translate(_ESCAPES)


_PLAIN_ONE, _PLAIN_MANY, _OBJECT_ONE, _OBJECT_MANY, _GENERAL = range(5)
"""How :meth:`_Writer.body` writes an element of an object's plan: a primitive or an object, once
or repeated, without a ``_name`` part (the common shapes, written inline), or the general way."""


class _Step(typing.NamedTuple):
    name: str
    spec: Field
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

    def resource(self, resource: Any, path: Where, depth: int, *, root: bool = False) -> None:
        if not isinstance(resource, Mapping) or not isinstance(resource.get("resourceType"), str):
            raise xml_error(path, "a resource needs its resourceType")
        rtype = resource["resourceType"]
        klass = resource_class(rtype)
        if klass is None:
            raise xml_error(path, "its resourceType is not a FHIR R4 resource type")
        if rtype == "Bundle":
            _check_entries(resource.get("entry"), path)
        xmlns = f' xmlns="{FHIR_NS}"' if root else ""
        self.out.append(f"{self.pad(depth) if not root else ''}<{rtype}{xmlns}>")
        self.body(resource, klass, path, depth + 1, True)
        self.out.append(f"{self.pad(depth)}</{rtype}>")

    def body(self, obj: Any, klass: str, path: Where, depth: int, resource: bool) -> None:
        if type(obj) is not dict and not isinstance(obj, Mapping):
            raise xml_error(path, f"expected an object, got {type(obj).__name__}")
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

    def general(self, obj: Mapping[str, Any], step: _Step, path: Where, depth: int) -> None:
        """One element of an object in any shape: with a ``_name`` part, not an array where one is
        expected, the narrative, a contained resource; or a refusal naming where it is."""
        name, spec, extra_key = step.name, step.spec, step.extra_key
        values = obj.get(name)
        extras = obj.get(extra_key)
        where: Where = (path, name, None)
        if spec.many:
            values = values if values is not None else []
            extras = extras if extras is not None else []
            if not isinstance(values, list) or not isinstance(extras, list):
                raise xml_error(where, "expected an array")
            count = max(len(values), len(extras))
            pairs = [
                (values[i] if i < len(values) else None, extras[i] if i < len(extras) else None)
                for i in range(count)
            ]
        else:
            pairs = [(values, extras)]
        for index, (value, extra) in enumerate(pairs):
            self.child(name, spec, value, extra, (path, name, index) if spec.many else where, depth)

    def start(self, name: str, obj: Mapping[str, Any], path: Where, depth: int, is_extension: bool) -> str:
        attrs = ""
        if obj.get("id") is not None:
            attrs += f' id="{_attr(obj["id"], (path, "id", None))}"'
        if is_extension and obj.get("url") is not None:
            attrs += f' url="{_attr(obj["url"], (path, "url", None))}"'
        return f"{self.pad(depth)}<{name}{attrs}"

    def child(self, name: str, spec: Field, value: Any, extra: Any, path: Where, depth: int) -> None:
        out = self.out
        if spec.kind == XHTML_KIND:
            out.append(self.pad(depth) + _xhtml(value, path))
        elif spec.kind == PRIMITIVE:
            if extra is not None and not isinstance(extra, Mapping):
                raise xml_error(path, "a primitive's extension part is an object")
            extra = extra or {}
            head = self.start(name, extra, path, depth, False)
            if value is not None:
                head += f' value="{_attr(value, path)}"'
            extensions = extra.get("extension") or []
            if not isinstance(extensions, list):
                raise xml_error((path, "extension", None), "expected an array")
            if not extensions:
                out.append(head + "/>")
                return
            out.append(head + ">")
            for n, ext in enumerate(extensions):
                self.complex("extension", ext, "Extension", path, depth + 1, n)
            out.append(f"{self.pad(depth)}</{name}>")
        elif spec.kind == RESOURCE:
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
        path: Where,
        depth: int,
        index: int | None = None,
        *,
        where: Where | None = None,
    ) -> None:
        """A complex element under ``path`` (its parent's location), the ``index``-th if repeated;
        ``where`` is its own location when the caller already has it."""
        where = where or (path, name, index)
        if type(value) is not dict and not isinstance(value, Mapping):
            raise xml_error(where, f"expected an object, got {type(value).__name__}")
        pad = self.pad(depth)
        if "id" in value or "url" in value:
            head = self.start(name, value, where, depth, layout_of(klass).is_extension)
        else:
            head = pad + "<" + name
        self.out.append(head + ">")
        self.body(value, klass, where, depth + 1, False)
        self.out.append(pad + "</" + name + ">")


_PLANNED_KEYS: Final = 64


def _mode(spec: Field, has_extras: bool) -> int:
    if has_extras:
        return _GENERAL
    if spec.kind == PRIMITIVE:
        return _PLAIN_MANY if spec.many else _PLAIN_ONE
    if spec.kind == COMPLEX:
        return _OBJECT_MANY if spec.many else _OBJECT_ONE
    return _GENERAL


def _tags(name: str, spec: Field) -> tuple[str, str]:
    if spec.kind == PRIMITIVE:
        return f'<{name} value="', ""
    return f"<{name}>", f"</{name}>"


@functools.lru_cache(maxsize=8192)
def _plan(klass: str, resource: bool, keys: tuple[str, ...]) -> tuple[_Step, ...] | None:
    """The elements of an object with these keys, in FHIR order; ``None`` if a key is unknown."""
    layout = layout_of(klass)
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


def _unknown_key(obj: Mapping[str, Any], klass: str, path: Where, resource: bool) -> None:
    layout = layout_of(klass)
    for key in obj:
        if not isinstance(key, str) or not key.strip("_"):
            raise xml_error(path, f"an empty or non-text key is not an element of {klass}")
        name = key[1:] if key[:1] == "_" else key
        if key == "resourceType" and resource:
            continue
        if not resource and (name == "id" or (layout.is_extension and name == "url")):
            continue
        if name not in layout.fields:
            raise xml_error(path, f"has an element that {klass} does not define (its name is not repeated)")


def _xhtml(value: Any, path: Where) -> str:
    """The narrative div, checked to be a well-formed XHTML <div> (parsed safely) that keeps FHIR's
    narrative rules, as written."""
    if not isinstance(value, str):
        raise xml_error(path, "the narrative div is XHTML text")
    from ketenzorg.interop.narrative import check_xhtml

    problems = check_xhtml(value)
    if problems:
        raise FhirXmlError([Problem(location_of(path), f"narrative: {p}") for p in problems])
    return value


def _check_entries(entries: Any, path: Where) -> None:
    from ketenzorg.limits import MAX_ENTRIES

    if isinstance(entries, list) and len(entries) > MAX_ENTRIES:
        raise xml_error(
            (path, "entry", None), f"{len(entries)} entries: a bundle may hold at most {MAX_ENTRIES}"
        )


def to_xml(resource: Mapping[str, Any], *, pretty: bool = True) -> bytes:
    """A resource (JSON form) as FHIR XML bytes, UTF-8 with an XML declaration."""
    writer = _Writer(pretty)
    rtype = resource.get("resourceType") if isinstance(resource, Mapping) else None
    root = rtype if isinstance(rtype, str) and resource_class(rtype) is not None else ""
    writer.resource(resource, root, 0, root=True)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + "".join(writer.out) + "\n").encode("utf-8")


def resource_to_element(resource: Mapping[str, Any]) -> etree._Element:
    """A FHIR resource (JSON form) as an lxml element in the FHIR namespace."""
    return etree.fromstring(to_xml(resource, pretty=False))
