"""Generate the JSON Schema of the case format from the attrs classes (one source of truth).

``python -m ketenzorg.caseschema > schemas/case.schema.json`` regenerates the published file;
a test fails when the file in the repository is out of date.
"""

from __future__ import annotations

import enum
import sys
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs
import orjson

from ketenzorg.caseformat import FORMAT_NAME, FORMAT_VERSION, ISO_DATETIME_PATTERN
from ketenzorg.domain import Text, bilingual
from ketenzorg.events import EVENT_TYPES, Event
from ketenzorg.instruments import Answer, Missing

__all__ = ["SCHEMA_ID", "case_schema", "main"]

SCHEMA_ID = f"urn:ketenzorg:schema:{FORMAT_NAME}:{FORMAT_VERSION}"


def _validator_schema(validator: Any) -> dict[str, Any]:
    """Constraints a field's validators declare through their ``__schema__`` attribute."""
    if validator is None:
        return {}
    out: dict[str, Any] = {}
    for inner in getattr(validator, "_validators", (validator,)):
        out.update(getattr(inner, "__schema__", {}))
    return out


class _Builder:
    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}

    def ref(self, cls: type) -> dict[str, Any]:
        name = cls.__name__
        if name not in self.defs:
            self.defs[name] = {}  # reserve, against recursion
            self.defs[name] = self.object(cls)
        return {"$ref": f"#/$defs/{name}"}

    def object(self, cls: type) -> dict[str, Any]:
        hints = typing.get_type_hints(cls)
        properties: dict[str, Any] = {}
        required: list[str] = []
        tag = getattr(cls, "type", None) if issubclass(cls, Event) else None
        if tag is not None:
            properties["type"] = {"const": tag}
            required.append("type")
        for field in attrs.fields(cls):
            if not field.init:
                continue
            schema = self.bilingual_text() if field.validator is bilingual else self.type(hints[field.name])
            extra = _validator_schema(field.validator)
            if extra:
                schema = _constrain(schema, extra)
            properties[field.name] = schema
            if field.default is attrs.NOTHING:
                required.append(field.name)
        doc = (cls.__doc__ or "").strip().splitlines()
        result: dict[str, Any] = {"type": "object"}
        if doc:
            result["description"] = doc[0]
        result |= {"properties": properties, "required": required, "additionalProperties": False}
        return result

    def text(self) -> dict[str, Any]:
        if "Text" not in self.defs:
            visible = {"type": "string", "minLength": 1, "pattern": r"\S"}
            self.defs["Text"] = {
                "description": "A text a person reads, in Dutch and English; a plain string (as "
                "stored before texts had two languages) is Dutch only.",
                "anyOf": [
                    {
                        "type": "object",
                        "properties": {"nl": visible, "en": visible},
                        "required": ["nl"],
                        "additionalProperties": False,
                    },
                    visible,
                ],
            }
        return {"$ref": "#/$defs/Text"}

    def bilingual_text(self) -> dict[str, Any]:
        """A text that must have both languages (a level's name, an action, a task)."""
        if "BilingualText" not in self.defs:
            visible = {"type": "string", "minLength": 1, "pattern": r"\S"}
            self.defs["BilingualText"] = {
                "description": "A text a person reads, in Dutch and in English.",
                "type": "object",
                "properties": {"nl": visible, "en": visible},
                "required": ["nl", "en"],
                "additionalProperties": False,
            }
        return {"$ref": "#/$defs/BilingualText"}

    def type(self, hint: Any) -> dict[str, Any]:
        if hint is Text:
            return self.text()
        if hint == Text | None:  # an empty string: no text, as stored before
            return {"anyOf": [self.text(), {"const": ""}, {"type": "null"}]}
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin in (types.UnionType, typing.Union):
            options = [a for a in args if a is not type(None)]
            inner = self.type(options[0]) if len(options) == 1 else {"anyOf": [self.type(a) for a in options]}
            return {"anyOf": [inner, {"type": "null"}]} if type(None) in args else inner
        if origin is tuple:
            return {"type": "array", "items": self.type(args[0])}
        if hint is bool:
            return {"type": "boolean"}
        if hint is int:
            return {"type": "integer"}
        if hint is str:
            return {"type": "string"}
        if hint is float:
            return {"type": "number"}
        if hint == Mapping[str, Answer]:
            answer = {
                "anyOf": [
                    {"type": "boolean"},
                    {"type": "integer"},
                    {"type": "string"},
                    {"type": "array", "items": {"type": "string"}},
                    {
                        "type": "object",
                        "description": "No answer of the item's type, for a reason the item allows",
                        "properties": {"missing": {"enum": [m.value for m in Missing]}},
                        "required": ["missing"],
                        "additionalProperties": False,
                    },
                ]
            }
            return {"type": "object", "additionalProperties": answer}
        if hint == Mapping[str, str]:  # a text by language: Dutch and English, others may be added
            text = {"type": "string", "minLength": 1, "pattern": r"\S"}
            return {"type": "object", "required": ["nl", "en"], "additionalProperties": text}
        if hint is datetime:
            return {"type": "string", "format": "date-time", "pattern": ISO_DATETIME_PATTERN}
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return {"enum": [m.value for m in hint]}
        if hint is Event:
            return {"oneOf": [self.ref(cls) for cls in EVENT_TYPES.values()]}
        if attrs.has(hint):
            return self.ref(hint)
        raise TypeError(f"no JSON Schema mapping for {hint!r}")


def _constrain(schema: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    if "anyOf" in schema and {"type": "null"} in schema["anyOf"]:
        options = [o if o == {"type": "null"} else {**o, **extra} for o in schema["anyOf"]]
        return {"anyOf": options}
    return {**schema, **extra}


def case_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a case document."""
    builder = _Builder()
    events = builder.type(Event)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "ketenzorg case",
        "description": (
            "A case (trajectory) of phased chain care: its id and its append-only history of "
            "events. Generated from the ketenzorg domain classes; do not edit by hand."
        ),
        "type": "object",
        "properties": {
            "format": {"const": FORMAT_NAME},
            "version": {"const": FORMAT_VERSION},
            "case_id": {"type": "string", "minLength": 1, "pattern": r"\S"},
            "events": {"type": "array", "minItems": 1, "items": events},
        },
        "required": ["format", "version", "case_id", "events"],
        "additionalProperties": False,
        "$defs": dict(sorted(builder.defs.items())),
    }


def render() -> bytes:
    """The schema file's exact contents."""
    return orjson.dumps(case_schema(), option=orjson.OPT_INDENT_2) + b"\n"


def main() -> int:
    sys.stdout.buffer.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
