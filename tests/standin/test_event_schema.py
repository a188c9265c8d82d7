"""The ``Event`` schema the suite validates every sent event against (tests/conftest.py) is the
one of iLert's OpenAPI document v2.2026.3-r.4, derived by ``tools/derive_event_schema.py``.

``tests/support/ilert_openapi_event_excerpt.json`` holds the document's ``Event`` and the schemas
it references, with the document's version and SHA-256; the derivation from it must give the
stored schema byte for byte. With ``ILERT_OPENAPI_JSON=/path/to/openapi.json`` (iLert's
``ilert-cli`` repository, ``tests/fixtures/openapi.json``) the excerpt is also checked against
the full document.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.support.event_schema import EXCERPT_PATH, SCHEMA, SCHEMA_PATH, validate
from tests.support.site import KEY_API

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "derive_event_schema.py"
VALID = {"integrationKey": "k", "eventType": "ALERT", "summary": "s"}


def _derive(source: Path, *flags: str) -> str:
    out = subprocess.run([sys.executable, str(TOOL), *flags, str(source)], capture_output=True, text=True,
                         check=True)
    return out.stdout


def test_the_stored_schema_is_the_derivation_of_the_openapi_excerpt():
    assert _derive(EXCERPT_PATH) == SCHEMA_PATH.read_text(encoding="utf-8")


def test_the_excerpt_is_cut_from_the_openapi_document():
    path = os.environ.get("ILERT_OPENAPI_JSON")
    if not path:
        pytest.skip("set ILERT_OPENAPI_JSON to iLert's OpenAPI document to check the excerpt against it")
    raw = Path(path).read_bytes()
    excerpt = json.loads(EXCERPT_PATH.read_text(encoding="utf-8"))
    assert hashlib.sha256(raw).hexdigest() == excerpt["x-source-sha256"]
    assert _derive(Path(path), "--excerpt") == EXCERPT_PATH.read_text(encoding="utf-8")
    assert _derive(Path(path)) == SCHEMA_PATH.read_text(encoding="utf-8")


def test_the_schema_has_every_field_of_the_event_with_its_type():
    assert SCHEMA["x-openapi-version"] == "v2.2026.3-r.4"
    props = SCHEMA["properties"]
    kinds = {name: spec.get("type", spec.get("$ref")) for name, spec in props.items()}
    assert kinds == {
        "integrationKey": "string", "eventType": "string", "summary": "string", "details": "string",
        "alertKey": "string", "priority": "#/definitions/AlertPriority", "severity": "integer",
        "images": "array", "links": "array", "comments": "array", "labels": "object", "services": "array",
        "customDetails": "object", "routingKey": "string",
    }
    assert sorted(SCHEMA["required"]) == ["eventType", "integrationKey", "summary"]
    assert props["eventType"]["enum"] == ["ALERT", "ACCEPT", "RESOLVE", "COMMENT"]
    assert (props["severity"]["minimum"], props["severity"]["maximum"]) == (1, 5)
    assert props["services"]["items"] == {"$ref": "#/definitions/EventServiceRef"}
    assert set(SCHEMA["definitions"]["EventServiceRef"]["properties"]) == {"id", "alias"}
    assert set(SCHEMA["definitions"]["EventComment"]["properties"]) == {"creator", "content"}


@pytest.mark.parametrize("body, problem", [
    ({}, "integrationKey is required"),
    (dict(VALID, eventType="OPEN"), "is not one of"),
    (dict(VALID, severity=0), "is below 1"),
    (dict(VALID, severity=6), "is above 5"),
    (dict(VALID, severity="2"), "is not of type integer"),
    (dict(VALID, severity=True), "is not of type integer"),
    (dict(VALID, priority="high"), "is not one of"),
    (dict(VALID, services=[{"alias": 3}]), "is not of type string"),
    (dict(VALID, services=[{"name": "x"}]), "unknown field name"),
    (dict(VALID, services={"alias": "x"}), "is not of type array"),
    (dict(VALID, comments=[{"creator": "a", "text": "b"}]), "unknown field text"),
    (dict(VALID, labels={"a": 1}), "is not of type string"),
    (dict(VALID, routingKey=["a"]), "is not of type string"),
    (dict(VALID, alertkey="typo"), "unknown field alertkey"),
])
def test_the_validator_finds_what_is_wrong(body, problem):
    errors = validate(body)
    assert any(problem in e for e in errors), errors


def test_every_field_at_once_is_valid():
    body = dict(VALID, details="d", alertKey="k", priority="HIGH", severity=5, images=[{"src": "s"}],
                links=[{"href": "h", "text": "t"}], comments=[{"creator": "c", "content": "x"}], labels={"a": "b"},
                services=[{"alias": "a"}, {"id": 7}], customDetails={"n": 1, "x": [1]}, routingKey="r")
    assert validate(body) == []


def test_what_the_package_sends_to_a_standin_is_validated(standin):
    """The observer of tests/conftest.py sees a request with the package's User-Agent and
    records its violations (this one is taken back, so that the test itself passes)."""
    from tests.conftest import SCHEMA_FAILURES

    before = len(SCHEMA_FAILURES)
    body = dict(VALID, integrationKey=KEY_API, severity=9)
    requests.post(standin.url + "/api/events", json=body, headers={"User-Agent": "cmk_ilert/test"}, timeout=5)
    requests.post(standin.url + "/api/events", json=body, headers={"User-Agent": "someone-else"}, timeout=5)
    found = SCHEMA_FAILURES[before:]
    del SCHEMA_FAILURES[before:]
    assert len(found) == 1 and "severity: 9 is above 5" in found[0]
