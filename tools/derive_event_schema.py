#!/usr/bin/env python3
"""Derive the JSON Schema of iLert's events API ``Event`` from iLert's OpenAPI document.

Usage: ``python3 tools/derive_event_schema.py OPENAPI.json [OUT.json]``

The input is iLert's public OpenAPI document (published in iLert's ``ilert-cli`` repository as
``tests/fixtures/openapi.json``; ``info.version`` v2.2026.3-r.4 when this was written) or the
excerpt ``tests/support/ilert_openapi_event_excerpt.json`` (the same ``components.schemas``
entries, plus the version and the SHA-256 of the document it was cut from). The output,
``tests/support/ilert_event_schema.json``, is what the test suite validates every event the
stand-in receives against (``tests/support/event_schema.py``).

Derivation, deliberately small: ``Event`` and every schema it references (``$ref`` resolved,
transitively) are copied with the keywords that constrain a value (``type``, ``enum``,
``required``, ``properties``, ``items``, ``additionalProperties``, ``minimum``, ``maximum``,
``format``); descriptions are dropped. One tightening, marked in the output: an object schema
that does not say ``additionalProperties`` gets ``false`` (a typo such as ``alertkey`` must
fail a test, not pass silently). With ``--excerpt`` the script writes the excerpt instead.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any, Dict, List

ROOT = "Event"
KEEP = ("type", "enum", "required", "properties", "items", "additionalProperties", "minimum", "maximum",
        "format", "$ref")
PREFIX = "#/components/schemas/"


def _refs(node: Any, found: List[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(PREFIX) and ref[len(PREFIX):] not in found:
            found.append(ref[len(PREFIX):])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def closure(schemas: Dict[str, Any]) -> List[str]:
    """``Event`` and every schema it references, in order of discovery."""
    names = [ROOT]
    i = 0
    while i < len(names):
        _refs(schemas[names[i]], names)
        i += 1
    return names


def _copy(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for key in KEEP:
            if key not in node:
                continue
            value = node[key]
            if key == "$ref":
                out[key] = "#/definitions/" + value[len(PREFIX):]
            elif key == "properties":
                out[key] = {name: _copy(sub) for name, sub in value.items()}
            else:
                out[key] = _copy(value)
        if out.get("type") == "object" and "additionalProperties" not in out:
            out["additionalProperties"] = False
            out["x-tightened"] = "additionalProperties: false added (the OpenAPI document leaves it open)"
        return out
    if isinstance(node, list):
        return [_copy(v) for v in node]
    return node


def excerpt(document: Dict[str, Any], raw: bytes) -> Dict[str, Any]:
    schemas = document["components"]["schemas"]
    return {
        "info": {"version": document["info"]["version"]},
        "x-source": "iLert OpenAPI document (ilert-cli tests/fixtures/openapi.json)",
        "x-source-sha256": hashlib.sha256(raw).hexdigest(),
        "components": {"schemas": {name: schemas[name] for name in closure(schemas)}},
    }


def derive(document: Dict[str, Any]) -> Dict[str, Any]:
    schemas = document["components"]["schemas"]
    names = closure(schemas)
    root = _copy(schemas[ROOT])
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "iLert events API Event",
        "x-derived-from": "iLert OpenAPI %s, components.schemas.%s (tools/derive_event_schema.py)" % (
            document["info"]["version"], ROOT),
        "x-openapi-version": document["info"]["version"],
        "x-source-sha256": document.get("x-source-sha256", ""),
        **root,
        "definitions": {name: _copy(schemas[name]) for name in names[1:]},
    }


def dumps(data: Dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: List[str]) -> int:
    args = [a for a in argv if a != "--excerpt"]
    if not args:
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    with open(args[0], "rb") as handle:
        raw = handle.read()
    document = json.loads(raw.decode("utf-8"))
    if "x-source-sha256" not in document:
        document = excerpt(document, raw) if "--excerpt" in argv else dict(
            excerpt(document, raw), info=document["info"])
    out = dumps(document if "--excerpt" in argv else derive(document))
    if len(args) > 1:
        with open(args[1], "w", encoding="utf-8") as handle:
            handle.write(out)
    else:
        sys.stdout.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
