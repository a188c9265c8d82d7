"""Many notification runs and flushes at once share the outbox safely."""

from __future__ import annotations

import random
import subprocess
import time

import pytest

from tests.delivery.conftest import (
    accepted_counts,
    event,
    event_requests,
    no_traceback,
    rewrite,
    spawn_cli,
    spawn_notify,
)

pytestmark = pytest.mark.runtime

T0 = 1795341600000000
HOSTS = ("web01", "web02", "db01", "db02")


def _storm(site, standin, params, seed: int, runs: int = 20, flushes: int = 3, prequeued: int = 4,
           delayed: int = 30):
    rnd = random.Random(seed)
    # coalesce off: every distinct event must arrive exactly once here; with it on, a problem and
    # its recovery queued behind a key in backoff are superseded (test_coalesce_trials.py)
    params = dict(params, PARAMETER_COALESCE="False")
    # a few events wait in the outbox already, so the flushes have work while notifications run
    standin.inject(*["503"] * prequeued)
    for n in range(prequeued):
        host = HOSTS[n % len(HOSTS)]
        run = site.run(event("pre%d" % n, params, micro=T0 + n, host=host))
        assert run.returncode == 1, run.output
    assert len(site.queue()) == prequeued
    for path in site.queue():  # their retry time has come: notification runs deliver them too
        rewrite(path, next_attempt=time.time() - 1)

    distinct = []
    for n in range(runs - runs // 4):
        host = rnd.choice(HOSTS)
        ntype = "PROBLEM" if n < 4 else rnd.choice(("PROBLEM", "ACKNOWLEDGEMENT", "RECOVERY"))
        distinct.append(event("c%d" % n, params, ntype, micro=T0 + 100 + n, host=host))
    calls = list(distinct)
    for n in range(runs - len(distinct)):  # the same event for other contacts
        calls.append(dict(rnd.choice(distinct), CONTACTNAME="contact%d" % n, CONTACTEMAIL="c%d@example.net" % n))
    rnd.shuffle(calls)
    # some requests are slow, so deliveries of the same key overlap in time
    standin.inject(*["delay:0.2"] * delayed)

    procs = [spawn_notify(site, ctx) for ctx in calls]
    procs[len(procs) // 2:len(procs) // 2] = [spawn_cli(site, "flush", "--now") for _ in range(flushes)]
    deadline = time.monotonic() + 90
    results = []
    for proc in procs:
        try:
            results.append(proc.finish(timeout=max(1.0, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            raise AssertionError("deadlock: a process did not finish within 90 s") from None
    for run in results:
        no_traceback(run)
        assert run.returncode in (0, 1), run.output
    wanted = {"pre%d" % n for n in range(prequeued)} | {"c%d" % n for n in range(len(distinct))}
    return wanted, results


def test_twenty_notifications_and_three_flushes_at_once(site, standin, params):
    wanted, _ = _storm(site, standin, params, seed=4)
    final = site.cli("flush", "--now")
    no_traceback(final)
    assert final.returncode == 0, final.output
    assert site.queue() == []
    assert site.dead() == []
    counts = accepted_counts(event_requests(standin))
    assert set(counts) == wanted, "lost: %s, unexpected: %s" % (wanted - set(counts), set(counts) - wanted)
    twice = {tag: n for tag, n in counts.items() if n != 1}
    assert not twice, "delivered more than once: %s" % twice
    assert not [e for e in event_requests(standin) if e["status"] == 429]


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_concurrency_repeated(site, standin, params, seed):
    wanted, _ = _storm(site, standin, params, seed=100 + seed, runs=30, flushes=3, prequeued=6)
    final = site.cli("flush", "--now")
    assert final.returncode == 0, final.output
    assert site.queue() == [] and site.dead() == []
    counts = accepted_counts(event_requests(standin))
    assert set(counts) == wanted
    assert all(n == 1 for n in counts.values()), counts
