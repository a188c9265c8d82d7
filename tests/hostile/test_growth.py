"""Issue 20, defect 6: per-key state does not grow forever.

``index/``, ``links/`` and ``locks/`` got a file per distinct alert key and were never pruned:
300 hosts alerted and resolved, files aged 3 days, ``flush`` -> 901 files remained. Now the
files of keys that are closed (last RESOLVE delivered) and idle longer than the ``sent/``
retention (48 h) are removed by ``flush``; the index entry of a key whose alert is still open
stays (``sync`` needs it). ``status`` reads only the links of the keys it shows.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.hostile.conftest import no_crash, notification, run
from tests.support.site import bulk_stdin

pytestmark = pytest.mark.outbox_logic

HOSTS = 300
AGE = 3 * 24 * 3600


def per_key_files(state: Path) -> int:
    return sum(1 for folder in ("index", "links", "locks") for p in (state / folder).glob("*")
               if p.is_file() and not p.name.startswith("."))


def age_everything(state: Path, seconds: float) -> None:
    past = time.time() - seconds
    for path in state.rglob("*"):
        if path.is_file():
            os.utime(path, (past, past))


def test_state_of_closed_idle_keys_is_pruned_and_open_keys_keep_their_index(site, standin):
    standin.configure(rate_limit=0)
    url = standin.url
    problems = [notification(url, host="h%03d" % i, n=2 * i, rate_limit="0") for i in range(HOSTS)]
    recoveries = [notification(url, "RECOVERY", host="h%03d" % i, n=2 * i + 1, rate_limit="0")
                  for i in range(HOSTS)]
    for batch in (problems, recoveries[1:]):  # h000 stays open
        result = run(site, raw_stdin=bulk_stdin({}, batch), timeout=120)
        no_crash(result)
        assert result.returncode == 0, result.output[-500:]
    state = site.state_dir
    before = per_key_files(state)
    assert before >= 2 * HOSTS, before  # an index entry and a link (and a lock) per key
    age_everything(state, AGE)
    flushed = run(site, "flush", timeout=60)
    no_crash(flushed)
    after = per_key_files(state)
    assert after <= 10, "%d per-key files remain of %d after flush (closed keys idle for 3 days)" % (after, before)
    # h000's alert is open in iLert: sync still finds its object
    index = [p.read_text() for p in (state / "index").glob("*.json")]
    assert len(index) == 1 and '"h000"' in index[0], index
    # and the next alert of a pruned key works as before
    again = run(site, context=notification(url, host="h005", n=10 * HOSTS))
    no_crash(again)
    assert again.returncode == 0, again.output


def test_status_does_not_read_the_links_of_every_key_ever_alerted(site, standin):
    """A links/ file that cannot be read (a FIFO: opening it would block) of a key with nothing
    pending must not be touched by status; before the fix status read every links/ file."""
    result = run(site, context=notification(standin.url, host="h1", n=0))
    assert result.returncode == 0, result.output
    os.mkfifo(site.state_dir / "links" / ("f" * 24 + ".json"), 0o600)
    started = time.monotonic()
    status = run(site, "status", timeout=20)
    no_crash(status)
    assert status.returncode == 0, status.output
    assert time.monotonic() - started < 10
