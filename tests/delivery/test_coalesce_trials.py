"""Coalescing under concurrency and SIGKILL, like the outbox's own families
(test_concurrency.py, test_crash.py).

Each alert key gets a sequence of notifications (PROBLEM, RECOVERY, ACKNOWLEDGEMENT) in
Checkmk's order; the client rate limit (a scaled window) makes runs leave events queued
without an attempt, so coalescing has pairs to fold while other runs, flushes and the
other contacts' duplicate calls work on the same keys. Afterwards, per key:

* every event that never reached iLert belongs to a run that starts with an ALERT and ends
  with a RESOLVE, or is followed by a RESOLVE that was sent: never a lost ALERT whose
  RESOLVE was not also dropped (or sent);
* nothing arrived out of order (a RESOLVE never before its ALERT);
* what the journal says was superseded never reached iLert, and every unsent run is in it;
* when the last notification of a key was a RECOVERY, no alert of that key is open.
"""

from __future__ import annotations

import json
import random
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import pytest

from tests.delivery.conftest import MARKER, accepted_counts, event, event_requests, marker_of, spawn_cli, spawn_notify
from tests.support.contexts import api_params
from tests.support.site import KEY_API, KEY_CMK, FakeSite

pytestmark = pytest.mark.runtime

T0 = 1795341600000000
TYPES = {"PROBLEM": ("ALERT",), "RECOVERY": ("RESOLVE",), "ACKNOWLEDGEMENT": ("ACCEPT", "COMMENT")}


class Note:
    """One notification of a key: its tag, type and place in Checkmk's order."""

    def __init__(self, tag: str, ntype: str, micro: int, host: str) -> None:
        self.tag, self.ntype, self.micro, self.host = tag, ntype, micro, host


def sequence(rnd: random.Random, prefix: str, host: str, length: int, start: int) -> List[Note]:
    """PROBLEM first; then a RECOVERY after a problem, an ACK now and then, a new PROBLEM after a recovery."""
    notes = [Note("%s0" % prefix, "PROBLEM", T0 + start, host)]
    for n in range(1, length):
        last = notes[-1].ntype
        if last == "RECOVERY":
            ntype = "PROBLEM"
        else:
            ntype = rnd.choice(("RECOVERY", "RECOVERY", "ACKNOWLEDGEMENT", "PROBLEM")) if last == "PROBLEM" \
                else "RECOVERY"
        notes.append(Note("%s%d" % (prefix, n), ntype, T0 + start + n, host))
    return notes


def journal(site: FakeSite) -> List[Dict[str, Any]]:
    path = site.state_dir / "journal" / "superseded.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def distinct(records: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One record per superseded run: a run recorded twice (a kill after the journal line,
    before the entries were gone, and the next run dropped it again) counts once."""
    seen: Dict[Tuple[Any, ...], Dict[str, Any]] = {}
    for r in records:
        seen.setdefault((r["alert_key"], r["queued_since"], tuple(r["events"])), r)
    return list(seen.values())


def check_key(notes: List[Note], requests: List[Dict[str, Any]], records: List[Dict[str, Any]],
              alerts: List[Dict[str, Any]], created: Dict[float, str], extra_allowed: int = 0) -> Dict[str, Any]:
    """The invariants of the module docstring for one alert key; returns counts for the summary."""
    info = {"tags": [n.tag for n in notes]}
    counts = accepted_counts(requests)
    ours = [n.tag for n in notes]
    assert set(counts) <= set(ours), (info, counts)
    extra = sum(max(0, c - 1) for c in counts.values())
    assert extra <= extra_allowed, ("sent more than once", info, counts)
    # order: first arrivals follow Checkmk's order
    first: List[str] = []
    for entry in requests:
        tag = marker_of(entry)
        if tag in ours and tag not in first and counts.get(str(tag)):
            first.append(str(tag))
    assert first == [t for t in ours if counts.get(t)], ("out of order", info, first)
    # unsent runs
    runs: List[List[Note]] = []
    current: List[Note] = []
    for note in notes:
        if counts.get(note.tag):
            if current:
                runs.append(current)
                current = []
            continue
        current.append(note)
    if current:
        runs.append(current)
    position = {n.tag: i for i, n in enumerate(notes)}
    for run in runs:
        assert run[0].ntype == "PROBLEM", ("lost events that do not start with an ALERT", info, [n.tag for n in run])
        after = position[run[-1].tag] + 1
        ends = run[-1].ntype == "RECOVERY" or (after < len(notes) and notes[after].ntype == "RECOVERY")
        assert ends, ("a lost ALERT whose RESOLVE was neither dropped nor sent", info, [n.tag for n in run])
    # journal: every unsent run is recorded, and nothing recorded was sent; a run that holds
    # several problems and their recoveries is recorded as one record per recovery
    pieces: List[List[Note]] = []
    for run in runs:
        piece: List[Note] = []
        for note in run:
            piece.append(note)
            if note.ntype == "RECOVERY":
                pieces.append(piece)
                piece = []
        if piece:
            pieces.append(piece)
    unique = distinct(records)
    expected = sorted(tuple(t for n in piece for t in TYPES[n.ntype]) for piece in pieces)
    if created:
        for record in unique:
            tag = created.get(record["queued_since"])
            assert tag is not None and not counts.get(tag), ("a superseded ALERT was sent", info, record, counts)
        got = sorted(tuple(r["events"]) for r in unique)
        # a kill between the journal line and the markers may leave the RESOLVE to be sent: a prefix then
        assert len(got) == len(expected), ("journal", info, got, expected)
    else:
        assert sorted(tuple(r["events"]) for r in unique) == expected, ("journal", info, unique, expected)
    # nothing stays open after a final recovery
    if notes[-1].ntype == "RECOVERY":
        still = [a for a in alerts if a["status"] != "RESOLVED"]
        assert not still, ("an alert stays open after the recovery", info, still)
    return {"runs": len(runs), "unsent": sum(len(r) for r in runs), "sent": len(counts)}


def key_of(host: str) -> str:
    from tests.support.contexts import alert_key

    return alert_key("mysite", host, "CPU load")


# --- concurrency --------------------------------------------------------------------------------


def _concurrent(site: FakeSite, standin: Any, seed: int, keys: int = 4, length: int = 6) -> Dict[str, Any]:
    rnd = random.Random(seed)
    standin.configure(rate_limit=0)
    params = api_params(standin.url, rate_limit="2")  # most ALERTs wait: recoveries arrive behind them, even when slow
    held = {"CMK_ILERT_RATE_WINDOW": "3"}
    hosts = ["h%d" % k for k in range(keys)]
    plans = {h: sequence(rnd, "%s-" % h, h, length, k * 100) for k, h in enumerate(hosts)}
    # some requests are slow (runs of one key overlap), some fail (attempted ALERTs)
    standin.inject(*(["delay:0.2"] * 12 + ["503"] * 2))
    errors: List[str] = []
    stop = threading.Event()

    def one_key(host: str, key_seed: int) -> None:
        krnd = random.Random(key_seed)
        for note in plans[host]:
            ctx = event(note.tag, params, note.ntype, micro=note.micro, host=note.host)
            procs = [spawn_notify(site, ctx, env=held)]
            if krnd.random() < 0.5:  # another contact: the same notification, at the same time
                procs.append(spawn_notify(site, dict(ctx, CONTACTNAME="bob", CONTACTEMAIL="bob@example.net"),
                                          env=held))
            for proc in procs:
                run = proc.finish(timeout=90)
                if "Traceback" in run.output or run.returncode not in (0, 1):
                    errors.append(run.output)
            time.sleep(krnd.uniform(0, 0.3))

    def flushes() -> None:
        while not stop.is_set():
            run = spawn_cli(site, "flush", "--max-time", "4", env=held).finish(timeout=90)
            if "Traceback" in run.output or run.returncode not in (0, 1, 2):
                errors.append(run.output)
            stop.wait(0.5)

    flusher = threading.Thread(target=flushes, daemon=True)
    flusher.start()
    with ThreadPoolExecutor(max_workers=keys) as pool:
        list(pool.map(one_key, hosts, [seed * 31 + k for k in range(keys)]))
    stop.set()
    flusher.join(timeout=120)
    assert not errors, errors[:3]
    for _ in range(5):  # a 503 left for the last flush puts its event back: flush again
        final = site.cli("flush", "--now", env={"CMK_ILERT_RATE_WINDOW": "0.05"})
        assert final.returncode in (0, 1) and "Traceback" not in final.output, final.output
        if not site.queue():
            break
    assert site.queue() == [] and site.dead() == [], final.output
    records = journal(site)
    totals: Counter = Counter()
    for host in hosts:
        key = key_of(host)
        requests = [e for e in event_requests(standin) if isinstance(e.get("body"), dict)
                    and e["body"].get("alertKey") == key]
        alerts = [a for a in standin.alerts() if a["key"] == key]
        result = check_key(plans[host], requests, [r for r in records if r["alert_key"] == key], alerts, {})
        totals.update(result)
    assert not [e for e in event_requests(standin) if e["status"] == 429]
    return dict(totals)


def test_coalescing_with_concurrent_runs_and_flushes(site, standin):
    """Under concurrency the invariants hold (``check_key`` per key) *and* coalescing happened:
    some problems recovered while their ALERT waited for the rate limit and were dropped, each
    drop journaled (``check_key`` compares the journal with what was not sent)."""
    totals = _concurrent(site, standin, seed=3)
    assert totals["runs"] >= 1 and totals["unsent"] >= 2, totals  # at least one ALERT+RESOLVE pair dropped
    assert totals["sent"] >= 1, totals


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
def test_coalescing_with_concurrent_runs_and_flushes_repeated(site, standin, seed):
    totals = _concurrent(site, standin, seed=50 + seed, keys=4, length=8)
    assert totals["runs"] >= 1, totals


# --- SIGKILL --------------------------------------------------------------------------------------

VICTIMS = ("recovery", "flush", "alert-in-flight")


def _trial_key(n: int) -> str:
    return "il1apiCOALESCETRIAL%05dzz" % n


def _trial(n: int, seed: int, standin: Any, root: Path) -> Dict[str, Any]:
    """One site and integration key; three ways to be killed:

    * ``recovery``: an ALERT (and maybe an ACK) wait for the rate limit, never attempted;
      the RECOVERY's run, which supersedes them, is killed at a random moment and called
      again, as Checkmk's spooler does;
    * ``flush``: the first ALERT fails (503, attempted), the RECOVERY, a new PROBLEM (maybe
      an ACK) and its RECOVERY queue behind it; ``flush --now`` sends the first pair and
      supersedes the second, and is killed at a random moment;
    * ``alert-in-flight``: the ALERT's own run is killed while iLert holds its request
      (nothing recorded an attempt in the entry, only the marker written before the request).
    """
    rnd = random.Random(seed)
    key = _trial_key(n)
    site = FakeSite(root / ("trial%03d" % n))
    kind = VICTIMS[n % len(VICTIMS)]
    # before: a delivered RESOLVE (iLert is known to hold no open alert of the key), a
    # delivered ALERT (an alert is open), or nothing known
    before = rnd.choice(("closed", "closed", "open", "unknown"))
    host = "web01"
    notes: List[Note] = []

    def note(tag: str, ntype: str) -> Note:
        notes.append(Note("%d-%s" % (n, tag), ntype, T0 + 1000 * n + len(notes) + 1, host))
        return notes[-1]

    prelude = [] if before == "unknown" else [note("p0", "PROBLEM")]
    if before == "closed":
        prelude.append(note("r0", "RECOVERY"))
    body = [note("p1", "PROBLEM")]
    if kind == "flush":
        body += [note("r1", "RECOVERY"), note("p2", "PROBLEM")]
    if rnd.random() < 0.4:
        body.append(note("k", "ACKNOWLEDGEMENT"))
    body.append(note("r", "RECOVERY"))
    held = {"CMK_ILERT_RATE_WINDOW": "600"}
    drain = {"CMK_ILERT_RATE_WINDOW": "0.05"}
    limit = (len(prelude) or 1) if kind == "recovery" else 0
    params = api_params(standin.url, key=key, rate_limit=str(limit))
    env = held if kind == "recovery" else {}
    info: Dict[str, Any] = {"n": n, "victim": kind, "before": before, "tags": [x.tag for x in notes]}
    outputs: List[str] = []

    def run(item: Note, codes: Tuple[int, ...] = (0, 1)) -> None:
        result = site.run(event(item.tag, params, item.ntype, micro=item.micro, host=item.host), env=env)
        outputs.append(result.output)
        assert "Traceback" not in result.output and result.returncode in codes, (info, result.output)

    def kill(proc: Any, pause: float) -> None:
        time.sleep(pause)
        proc.popen.send_signal(signal.SIGKILL)
        result = proc.finish(timeout=60)
        outputs.append(result.output)
        info["killed"] = result.returncode == -signal.SIGKILL

    def snapshot() -> Dict[float, str]:
        """created time -> tag of every queued entry (journal records name their head's)."""
        out = {}
        for path in site.queue():
            data = json.loads(path.read_text())
            found = MARKER.search(str(data.get("summary", "")))
            if found:
                out[data["created"]] = found.group(0)[4:]
        return out

    for item in prelude:
        run(item, (0,))
    extra_allowed = 0
    if kind == "recovery":
        if not prelude:  # the one slot goes to another key, so the ALERT below waits
            result = site.run(event("%d-x" % n, params, micro=T0 + 1000 * n, host="db01"), env=held)
            assert result.returncode == 0, result.output
        for item in body[:-1]:
            run(item, (1,))
        created = snapshot()
        item = body[-1]
        kill(spawn_notify(site, event(item.tag, params, item.ntype, micro=item.micro, host=host), env=held),
             rnd.uniform(0.02, 0.4))
        run(item)  # Checkmk's spooler calls the killed plugin again
    elif kind == "flush":
        standin.inject("503", key=key)
        for item in body:
            run(item, (1,))
        created = snapshot()
        kill(spawn_cli(site, "flush", "--now"), rnd.uniform(0.02, 0.5))
        extra_allowed = 1  # killed between a request and its marker: sent once more
    else:
        delay = round(rnd.uniform(0.3, 0.8), 2)
        standin.inject("delay:%s" % delay, key=key)
        item = body[0]
        proc = spawn_notify(site, event(item.tag, params, item.ntype, micro=item.micro, host=host))
        deadline = time.monotonic() + 20
        while any(f["key"] == key for f in standin.faults()) and time.monotonic() < deadline:
            time.sleep(0.003)  # until the request arrived and is held
        kill(proc, rnd.uniform(0.0, delay * 0.7))
        time.sleep(delay + 0.2)  # the request the dead process left behind completes
        created = snapshot()
        extra_allowed = 1  # that request arrived, and the ALERT is sent once more
        for item in body[1:]:
            run(item)
    final = site.cli("flush", "--now", env=drain)
    outputs.append(final.output)
    assert final.returncode == 0 and site.queue() == [] and site.dead() == [], (info, final.output)
    requests = [e for e in event_requests(standin, key=key) if isinstance(e.get("body"), dict)
                and e["body"].get("alertKey") == key_of(host)]
    alerts = [a for a in standin.alerts() if a["sourceKey"] == key and a["key"] == key_of(host)]
    result_info = check_key(notes, requests, journal(site), alerts, created, extra_allowed)
    if kind == "alert-in-flight":
        assert result_info["runs"] == 0, ("an ALERT that may have reached iLert was dropped", info)
    for text in outputs:
        assert key not in text, "trial %s printed its integration key" % info
    info.update(result_info)
    return info


def _run_trials(standin: Any, tmp_path: Path, trials: int, workers: int, seed: int) -> List[Dict[str, Any]]:
    standin.configure(keys=[KEY_API, KEY_CMK] + [_trial_key(n) for n in range(trials)], rate_limit=0)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_trial, n, seed * 100003 + n, standin, tmp_path) for n in range(trials)]
        results, errors = [], []
        for future in futures:
            try:
                results.append(future.result(timeout=300))
            except AssertionError as exc:
                errors.append(str(exc))
    assert not errors, "%d of %d trials failed:\n%s" % (len(errors), trials, "\n\n".join(errors[:5]))
    return results


def _summary(results: List[Dict[str, Any]]) -> Counter:
    return Counter((r["victim"], r["before"], r.get("killed"), r["runs"]) for r in results)


def test_coalescing_crash_trials_small(standin, tmp_path):
    results = _run_trials(standin, tmp_path, trials=9, workers=3, seed=11)
    print("coalescing crash trials (victim, before, killed, superseded runs): %s" % sorted(
        _summary(results).items(), key=str))
    assert any(r.get("killed") for r in results), _summary(results)


@pytest.mark.slow
def test_coalescing_crash_trials(standin, tmp_path):
    results = _run_trials(standin, tmp_path, trials=90, workers=3, seed=5)
    summary = _summary(results)
    print("coalescing crash trials (victim, before, killed, superseded runs): %s" % sorted(
        summary.items(), key=str))
    assert sum(1 for r in results if r.get("killed")) >= len(results) // 2, summary
    assert sum(1 for r in results if r["runs"]) >= len(results) // 4, summary
