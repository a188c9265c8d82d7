"""Fixtures shared by every test family: a fake site, the iLert stand-in, the secret scan."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Iterator, List

import pytest

REPO = Path(__file__).resolve().parents[1]
for extra in (REPO / "standin", REPO / "src", REPO):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from ilert_standin import StandIn  # noqa: E402
from ilert_standin.state import OBSERVERS  # noqa: E402
from tests.support.event_schema import SCHEMA, validate  # noqa: E402
from tests.support.site import (  # noqa: E402
    KEY_API,
    KEY_CMK,
    KEY_UNAUTHORIZED,
    RECORDED_OUTPUT,
    SECRETS,
    SITE_ROOTS,
    FakeSite,
    runtime_python,
    without_kept_secrets,
)

#: Runtime tests the interpreter matrix does not repeat (tools/matrix_subset.py): every line and
#: branch of the runtime they reach, the repeated ones reach too.
MATRIX_REPEAT_NOT = REPO / "tests" / "support" / "matrix_repeat_not.txt"
#: Set by tools/matrix_subset.py: where each test's coverage data of the scripts it starts goes.
COVERAGE_DIR = os.environ.get("CMK_ILERT_COVERAGE_DIR")


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    if not MATRIX_REPEAT_NOT.exists():
        return
    names = {line.strip() for line in MATRIX_REPEAT_NOT.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")}
    for item in items:
        if item.nodeid in names:
            item.add_marker(pytest.mark.matrix_covered)


@pytest.fixture(autouse=True)
def coverage_per_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Under tools/matrix_subset.py only: the scripts a test starts write their coverage to a
    file named for the test."""
    if not COVERAGE_DIR:
        yield
        return
    tag = hashlib.sha256(request.node.nodeid.encode("utf-8")).hexdigest()[:20]
    os.environ["COVERAGE_FILE"] = os.path.join(COVERAGE_DIR, tag + ".cov")
    started = time.monotonic()
    try:
        yield
    finally:
        os.environ.pop("COVERAGE_FILE", None)
        with open(os.path.join(COVERAGE_DIR, tag + ".test.json"), "w") as out:
            json.dump({"id": request.node.nodeid, "seconds": time.monotonic() - started}, out)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: long-running runs (crash trials, storms); deselect with -m 'not slow'")
    config.addinivalue_line("markers", "runtime: runs the notification script; repeated per site Python by the matrix")
    config.addinivalue_line("markers", "matrix_covered: a runtime test whose lines and branches of the runtime "
                                       "other runtime tests reach; the interpreter matrix does not repeat it")
    config.addinivalue_line("markers", "outbox_logic: interpreter-independent logic (outbox, state files, rate "
                                       "limit, sync setup), run once on the dev Python")


def pytest_report_header(config: pytest.Config) -> str:
    import subprocess

    out = subprocess.run([runtime_python(), "-c", "import sys, requests; print(sys.version.split()[0], "
                          "requests.__version__)"], capture_output=True, text=True)
    return "cmk_ilert runtime under test: %s (Python, requests: %s)" % (runtime_python(), out.stdout.strip())


#: Every events-API body this package sent to a stand-in of this process, and its violations
#: of the Event schema derived from iLert's OpenAPI document (tests/support/event_schema.py).
SCHEMA_SEEN: list = []
SCHEMA_FAILURES: list = []


def _observe(entry: dict) -> None:
    headers = {k.lower(): v for k, v in (entry.get("headers") or {}).items()}
    if entry.get("method") != "POST" or str(entry.get("path", "")).split("?")[0].rstrip("/") != "/api/events":
        return
    if not headers.get("user-agent", "").startswith("cmk_ilert/"):
        return  # a test's own hand-made request (the stand-in's tests send invalid ones on purpose)
    SCHEMA_SEEN.append(entry["body"])
    problems = validate(entry["body"]) if isinstance(entry["body"], dict) else ["body: not a JSON object"]
    if problems:
        SCHEMA_FAILURES.append("; ".join(problems[:5]))


OBSERVERS.append(_observe)


@pytest.fixture(autouse=True)
def event_schema_check() -> Iterator[None]:
    """Every event this package sends to a stand-in during a test is valid against iLert's
    ``Event`` schema (OpenAPI %s, derived into tests/support/ilert_event_schema.json)."""
    start = len(SCHEMA_FAILURES)
    yield
    failures = SCHEMA_FAILURES[start:]
    assert not failures, "event(s) not valid against iLert's Event schema (%s): %s" % (
        SCHEMA["x-openapi-version"], failures[:3])


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandIn(keys=[KEY_API, KEY_CMK], unauthorized_keys=[KEY_UNAUTHORIZED],
                 heartbeat_keys=["il1hbt-TEST-HEARTBEAT-0001"],
                 source_types={KEY_API: "api", KEY_CMK: "checkmk"}) as server:
        yield server


@pytest.fixture
def site(tmp_path: Path) -> FakeSite:
    return FakeSite(tmp_path / "site")


@pytest.fixture(scope="session", autouse=True)
def secret_scan() -> Iterator[None]:
    """After the whole session: no fake secret in any output, file name or dead letter."""
    yield
    leaks = []
    for n, text in enumerate(RECORDED_OUTPUT):
        for secret in SECRETS:
            if secret in text:
                leaks.append("run #%d printed %s...: %r" % (n, secret[:6], text[:200]))
    for root in SITE_ROOTS:
        if not root.exists():
            continue
        for path in root.rglob("*"):
            for secret in SECRETS:
                if secret in str(path):
                    leaks.append("file name %s" % path)
            if "dead" in path.parts and path.is_file():
                data = without_kept_secrets(path.read_text(errors="replace"))
                for secret in SECRETS:
                    if secret in data:
                        leaks.append("dead letter %s holds a secret" % path)
    assert not leaks, "secret leak(s):\n" + "\n".join(leaks)

