"""sync against hostile HTTP servers: every run ends within --max-time (plus interpreter start),
one clean line, exit 1 for what may heal and 2 for what will not; the key never leaks.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.support import hostile
from tests.support.site import FakeSite
from tests.sync.conftest import USER_KEY
from tests.sync.test_setup_and_failures import clean

pytestmark = pytest.mark.runtime

BUDGET = 3.0
#: The budget plus interpreter start and the one-second backstop on a loaded machine.
BOUND = BUDGET + 8.0


def timed_sync(site: FakeSite, url: str) -> Any:
    start = time.monotonic()
    run = site.cli("sync", "--api-url", url, "--max-time", str(BUDGET), timeout=60)
    clean(run)
    return run, time.monotonic() - start


@pytest.mark.parametrize("server", [
    pytest.param(lambda: hostile.DripHeaders(interval=0.5), id="drip-headers"),
    pytest.param(lambda: hostile.DripBody(interval=0.5), id="drip-body"),
    pytest.param(lambda: hostile.Silent(), id="silent"),
])
def test_trickling_or_silent_servers_cannot_stretch_the_run(cmk: FakeSite, server: Any) -> None:
    with server() as bad:
        run, elapsed = timed_sync(cmk, bad.url)
    assert run.returncode == 1, run.output
    assert len(run.lines) == 1, run.output
    assert elapsed < BOUND, elapsed


def test_endless_body_is_capped(cmk: FakeSite) -> None:
    with hostile.EndlessBody() as bad:
        run, elapsed = timed_sync(cmk, bad.url)
    assert run.returncode == 1 and elapsed < BOUND, (run.output, elapsed)
    assert ("larger than" in run.output or "time budget" in run.output), run.output


@pytest.mark.parametrize("status,code", [(400, 2), (401, 2), (500, 1)])
def test_echoing_error_pages_never_show_the_key(cmk: FakeSite, status: int, code: int) -> None:
    """The server echoes our request (with the Authorization header) into its error body."""
    with hostile.Echo(status=status) as bad:
        run, _ = timed_sync(cmk, bad.url)
        (arrival,) = bad.arrivals
    assert "Bearer " + USER_KEY in arrival.head  # it did get the key: only our output must not show it
    assert run.returncode == code, run.output
    assert USER_KEY not in run.output


def test_captive_portal_is_not_a_list_of_alerts(cmk: FakeSite) -> None:
    with hostile.CaptivePortal() as bad:
        run, _ = timed_sync(cmk, bad.url)
    assert run.returncode == 1 and "something other than a list" in run.output, run.output
