"""A notification call must end before Checkmk kills it (60 s), however slow iLert answers.

The run has a budget (runner.NOTIFY_BUDGET, 45 s); a request may take up to the rule's
``timeout``. So after the first request of a run, no request may start that could end
beyond the budget. These tests need real waiting (the budget is not scalable): slow.
"""

from __future__ import annotations

import time

import pytest

from tests.delivery.conftest import accepted_counts, event, event_requests, load, no_traceback, rewrite

pytestmark = [pytest.mark.runtime, pytest.mark.slow]

T0 = 1795341600000000
CHECKMK_LIMIT = 60.0
MARGIN = 5.0


def test_run_draining_one_keys_backlog_ends_in_time(site, standin, params):
    """Regression (fixed in 7bfb076): the budget was not checked between the sends of one key."""
    params = dict(params, PARAMETER_TIMEOUT="20")
    standin.stop()
    for n in range(4):  # an outage: the head fails, later events queue behind it
        run = site.run(event("b%d" % n, params, micro=T0 + n, SERVICENOTIFICATIONNUMBER=str(n + 1)))
        assert run.returncode == 1, run.output
    assert len(site.queue()) == 4
    standin.start()
    for path in site.queue():
        if load(path)["attempts"]:
            rewrite(path, next_attempt=time.time() - 1)  # the head's retry time has come
    standin.inject(*["delay:12"] * 3)  # iLert is slow: 12 s per answer, below the 20 s timeout
    started = time.monotonic()
    run = site.run(event("b4", params, micro=T0 + 4, SERVICENOTIFICATIONNUMBER="5"), timeout=180)
    elapsed = time.monotonic() - started
    no_traceback(run)
    assert run.returncode == 1, run.output  # the rest is left to flush
    flush = site.cli("flush", "--now", timeout=180)
    assert flush.returncode == 0, flush.output
    assert set(accepted_counts(event_requests(standin))) == {"b0", "b1", "b2", "b3", "b4"}
    assert elapsed < CHECKMK_LIMIT - MARGIN, "the notification call took %.0fs" % elapsed


def test_bulk_over_several_keys_ends_in_time(site, standin, params):
    """Each alert key's first request must respect the budget too, not only the later ones."""
    params = dict(params, PARAMETER_TIMEOUT="30")
    contexts = [event("k%d" % n, {}, micro=T0 + n, host="h%d" % n) for n in range(3)]
    standin.inject(*["delay:22"] * 3)  # iLert is slow: 22 s per answer, below the 30 s timeout
    started = time.monotonic()
    run = site.run(bulk=contexts, bulk_parameters=params, timeout=180)
    elapsed = time.monotonic() - started
    no_traceback(run)
    assert run.returncode in (0, 1), run.output
    delivered = set(accepted_counts(event_requests(standin)))
    standin.reset()  # drop unused delay faults: the flush need not wait for them
    flush = site.cli("flush", "--now", timeout=180)
    assert flush.returncode == 0, flush.output
    assert delivered | set(accepted_counts(event_requests(standin))) == {"k0", "k1", "k2"}
    assert elapsed < CHECKMK_LIMIT - MARGIN, "the bulk call took %.0fs" % elapsed
