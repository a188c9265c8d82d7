"""Event storms: one bulk of hundreds of events against iLert's per-key rate limit.

The stand-in limits to 50 events per window per integration key; the window is scaled down
to 0.5 s (stand-in ``rate_window`` and ``CMK_ILERT_RATE_WINDOW`` for script and flush), so
1,000 events need at least ~10 s.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from tests.delivery.conftest import (
    accepted_counts,
    event,
    event_requests,
    flush_until_empty,
    no_traceback,
    spawn_notify,
)

pytestmark = pytest.mark.outbox_logic  # interpreter-independent: run once, on the dev Python

T0 = 1795341600000000
WINDOW = 0.5
LIMIT = 50
ENV = {"CMK_ILERT_RATE_WINDOW": str(WINDOW)}
#: Send-to-arrival delay tolerated when checking the client's sliding window at the server
#: (scheduling noise on a loaded 2-core machine; a broken limiter sends 51 events within
#: milliseconds, a slot taken before the transport exists is ~0.1 s early: both stay far outside).
#: 0.07: with the CI's seven test workers on two cores, 51 arrivals within 0.448 s were seen once
#: from a correct limiter (its own window count at the server held).
JITTER = 0.07


def _contexts(n: int, hosts: int, prefix: str = "s", start: int = 0):
    return [event("%s%d" % (prefix, i), {}, micro=T0 + start + i, host="h%02d" % (i % hosts)) for i in range(n)]


def _check_rate(standin, requests, jitter: float = JITTER) -> None:
    origin = standin._app.state.origin  # the stand-in's windows are aligned to this instant
    per_window = Counter(int((r["mono"] - origin) // WINDOW) for r in requests if r["status"] != 429)
    assert max(per_window.values()) <= LIMIT, "the stand-in accepted more than %d in a window" % LIMIT
    monos = sorted(r["mono"] for r in requests)
    tight = [(monos[i + LIMIT] - monos[i], i) for i in range(len(monos) - LIMIT)
             if monos[i + LIMIT] - monos[i] < WINDOW - jitter]
    assert not tight, "more than %d requests within %.2fs: %s" % (LIMIT, WINDOW - jitter, tight[:5])


def _storm(site, standin, params, n: int, hosts: int) -> None:
    standin.configure(rate_limit=LIMIT, rate_window=WINDOW)
    started = time.monotonic()
    run = site.run(bulk=_contexts(n, hosts), bulk_parameters=params, env=ENV, timeout=120)
    elapsed = time.monotonic() - started
    no_traceback(run)
    assert run.returncode in (0, 1), run.output
    assert elapsed < 60, "the bulk call outlived Checkmk's 60 s plugin limit"
    assert "bulk: %d notifications" % n in run.stdout, run.output[-500:]
    if run.returncode == 0:
        assert "%d delivered, 0 queued, 0 rejected" % n in run.stdout
    flush_until_empty(site, env=ENV)
    assert site.queue() == []
    assert site.dead() == []
    requests = event_requests(standin)
    counts = accepted_counts(requests)
    wanted = {"s%d" % i for i in range(n)}
    assert set(counts) == wanted, "lost: %s" % sorted(wanted - set(counts))[:10]
    assert {t: c for t, c in counts.items() if c != 1} == {}, "delivered more than once"
    throttled = [r for r in requests if r["status"] == 429]
    assert len(throttled) <= 3, "%d requests throttled: the client does not keep the limit" % len(throttled)
    _check_rate(standin, requests)
    accepted = sorted(r["mono"] for r in requests if r["status"] != 429)
    assert accepted[-1] - accepted[0] >= (n // LIMIT - 1) * WINDOW * 0.95


def test_storm_200_events_in_one_bulk(site, standin, params):
    _storm(site, standin, params, n=200, hosts=20)


@pytest.mark.slow
def test_storm_1000_events_in_one_bulk(site, standin, params):
    _storm(site, standin, params, n=1000, hosts=50)


@pytest.mark.slow
def test_storm_1000_events_one_key(site, standin, params):
    _storm(site, standin, params, n=1000, hosts=1)


def test_rate_limit_holds_across_concurrent_bulk_calls(site, standin, params):
    standin.configure(rate_limit=LIMIT, rate_window=WINDOW)
    procs = [spawn_notify(site, bulk=_contexts(80, 8, prefix="p%d-" % p, start=1000 * p),
                          bulk_parameters=params, env=ENV) for p in range(3)]
    for proc in procs:
        run = proc.finish(timeout=90)
        no_traceback(run)
        assert run.returncode in (0, 1), run.output
    flush_until_empty(site, env=ENV)
    assert site.queue() == [] and site.dead() == []
    requests = event_requests(standin)
    counts = accepted_counts(requests)
    assert len(counts) == 240 and set(counts.values()) == {1}
    assert len([r for r in requests if r["status"] == 429]) <= 3
    _check_rate(standin, requests)


def test_429_storm_pauses_and_everything_arrives(site, standin, params):
    """The server is stricter than the client thinks (10 per window): 429s pause the key,
    nothing is lost, nothing is dead-lettered, nothing is delivered twice."""
    standin.configure(rate_limit=10, rate_window=WINDOW, retry_after_mode="seconds-float")
    run = site.run(bulk=_contexts(60, 6), bulk_parameters=params, env=ENV, timeout=120)
    no_traceback(run)
    assert run.returncode in (0, 1), run.output
    flush_until_empty(site, env=ENV, rounds=30)
    assert site.queue() == [] and site.dead() == []
    requests = event_requests(standin)
    assert any(r["status"] == 429 for r in requests)
    counts = accepted_counts(requests)
    assert len(counts) == 60 and set(counts.values()) == {1}


def test_sliding_window_holds_at_the_server(site, standin, params):
    """Regression (fixed in 7bfb076): the slot was taken before the lazy HTTP transport was built
    (import requests, ~70 ms), so the first request arrived late and 51 requests landed within
    less than one window at the server."""
    standin.configure(rate_limit=0)  # the stand-in counts nothing: we only look at arrival times
    run = site.run(bulk=_contexts(120, 10), bulk_parameters=params, env=ENV, timeout=120)
    assert run.returncode == 0, run.output
    requests = event_requests(standin)
    assert len(requests) == 120
    _check_rate(standin, requests, jitter=0.03)


@pytest.mark.slow
def test_the_readme_storm_figures_hold_with_a_scaled_minute(site, standin, params):
    """README, "In a storm": iLert takes N events per minute per alert source, so A alerts take M
    minutes. The figures are read from the README; A events of one bulk then go out through the
    real script and flush, with the minute scaled to WINDOW: none early (no window at the server
    holds more than N), none lost, and the last one arrives about M scaled minutes after the first,
    not (much) later."""
    import re

    from cmk_ilert.checkmk.params import DEFAULT_RATE_LIMIT
    from tests.support.site import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    storm = readme.split("## In a storm\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"iLert accepts (\d+) events per minute per alert source, so (\d+) alerts take (\d+)\s+"
                      r"minutes", storm)
    assert match is not None
    per_minute, alerts, minutes = (int(x) for x in match.groups())
    assert per_minute == DEFAULT_RATE_LIMIT == LIMIT
    _storm(site, standin, params, alerts, hosts=40)  # also: nothing lost, nothing twice, never early
    accepted = sorted(r["mono"] for r in event_requests(standin) if r["status"] != 429)
    span = accepted[-1] - accepted[0]
    assert (minutes - 1) * WINDOW * 0.95 <= span, span
    assert span <= minutes * WINDOW * 4 + 10, "the storm took %.1fs for %d scaled minutes" % (span, minutes)
