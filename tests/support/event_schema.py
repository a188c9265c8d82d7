"""Validate an events-API body against ``ilert_event_schema.json`` (derived from iLert's OpenAPI
``Event`` by ``tools/derive_event_schema.py``; the version is in the file).

jsonschema is not a dev dependency; the derived schema uses only a handful of keywords, which
this validator implements. Any other keyword is an error here, so the derivation cannot start
relying on a constraint that nothing checks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

SCHEMA_PATH = Path(__file__).with_name("ilert_event_schema.json")
EXCERPT_PATH = Path(__file__).with_name("ilert_openapi_event_excerpt.json")
SCHEMA: Dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
_ANNOTATIONS = frozenset(("$schema", "title", "definitions", "format", "x-derived-from", "x-openapi-version",
                          "x-source-sha256", "x-tightened"))
_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}
_INT_FORMATS = {"int32": 2 ** 31, "int64": 2 ** 63}


def validate(body: Any, schema: Dict[str, Any] = SCHEMA) -> List[str]:
    """Every violation of ``schema`` by ``body``, as ``path: problem`` lines ([] = valid)."""
    errors: List[str] = []
    _check(body, schema, "body", errors)
    return errors


def _resolve(schema: Dict[str, Any]) -> Dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    assert ref.startswith("#/definitions/"), ref
    return SCHEMA["definitions"][ref[len("#/definitions/"):]]


def _check(value: Any, schema: Dict[str, Any], path: str, errors: List[str]) -> None:
    schema = _resolve(schema)
    unknown = set(schema) - _ANNOTATIONS - {"type", "enum", "required", "properties", "items",
                                            "additionalProperties", "minimum", "maximum"}
    assert not unknown, "the validator does not know %s" % sorted(unknown)
    kind = schema.get("type")
    if kind is not None and not _TYPES[kind](value):
        errors.append("%s: %r is not of type %s" % (path, _short(value), kind))
        return
    if "enum" in schema and value not in schema["enum"]:
        errors.append("%s: %r is not one of %s" % (path, _short(value), schema["enum"]))
    if kind == "integer" and schema.get("format") in _INT_FORMATS:
        limit = _INT_FORMATS[schema["format"]]
        if not -limit <= value < limit:
            errors.append("%s: %r is out of %s" % (path, value, schema["format"]))
    if "minimum" in schema and value < schema["minimum"]:
        errors.append("%s: %r is below %r" % (path, value, schema["minimum"]))
    if "maximum" in schema and value > schema["maximum"]:
        errors.append("%s: %r is above %r" % (path, value, schema["maximum"]))
    if kind == "object":
        for name in schema.get("required", ()):
            if name not in value:
                errors.append("%s: %s is required" % (path, name))
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                _check(item, properties[name], "%s.%s" % (path, name), errors)
            elif extra is False:
                errors.append("%s: unknown field %s" % (path, name))
            elif isinstance(extra, dict):
                _check(item, extra, "%s.%s" % (path, name), errors)
    if kind == "array" and "items" in schema:
        for n, item in enumerate(value):
            _check(item, schema["items"], "%s[%d]" % (path, n), errors)


def _short(value: Any) -> Any:
    return value[:40] + "..." if isinstance(value, str) and len(value) > 40 else value


def event_bodies(log: List[Dict[str, Any]]) -> List[Any]:
    """The bodies of every ``POST /api/events`` in a stand-in's request log."""
    return [e["body"] for e in log if e.get("method") == "POST" and str(e.get("path", "")).split("?")[0]
            .rstrip("/") == "/api/events"]
