"""Files that grow with time are bounded or pruned, as docs/delivery.md ("Files that grow") says.

Real notification runs and ``flush`` runs of the CLI on a simulated site; the clock is not faked:
old files are made old with ``os.utime``, a full journal is made full by writing it.
"""

from __future__ import annotations

import json
import os
import time

from cmk_ilert.outbox.markers import JOURNAL_MAX_BYTES
from cmk_ilert.outbox.policy import DEDUP_SECONDS
from tests.delivery.conftest import event, no_traceback
from tests.delivery.test_coalesce import HELD, held_alert, micro, resolved_before, run_ok
from tests.support.contexts import api_params


def test_sent_markers_older_than_the_dedup_window_are_pruned_by_flush(site, standin):
    params = api_params(standin.url)
    run_ok(site, event("old", params, micro=micro(0)))
    run_ok(site, event("new", params, "RECOVERY", micro=micro(1)))
    sent = site.state_dir / "sent"
    markers = sorted(p for p in sent.iterdir() if not p.name.startswith("."))
    assert len(markers) >= 2, markers
    old, fresh = markers[0], markers[1:]
    stamp = time.time() - DEDUP_SECONDS - 3600
    os.utime(old, (stamp, stamp))
    flush = site.cli("flush")
    no_traceback(flush)
    assert flush.returncode == 0, flush.output
    assert not old.exists()
    assert all(p.exists() for p in fresh)


def test_the_superseded_journal_is_rotated_at_its_size_and_keeps_one_old_file(site, standin):
    params = api_params(standin.url, rate_limit="2")
    resolved_before(site, standin, params, env=HELD)
    journal = site.state_dir / "journal" / "superseded.jsonl"
    journal.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"at": 0, "alert_key": "cmk/mysite/old", "events": ["ALERT", "RESOLVE"]}) + "\n"
    journal.write_text(line * (JOURNAL_MAX_BYTES // len(line) + 1))
    full = journal.read_bytes()
    (site.state_dir / "journal" / "superseded.jsonl.1").write_text("older still\n")
    held_alert(site, standin, params)
    run_ok(site, event("r1", params, "RECOVERY", micro=micro(3)), env=HELD)
    assert (site.state_dir / "journal" / "superseded.jsonl.1").read_bytes() == full  # the older one is gone
    records = [json.loads(x) for x in journal.read_text().splitlines()]
    assert [r["events"] for r in records] == [["ALERT", "RESOLVE"]]
    assert journal.stat().st_size < 4096
