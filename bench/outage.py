"""7. An outage of iLert while services flap: what coalescing saves.

Two sites run the same notifications side by side, one rule with ``coalesce`` on, one
with it off, each with its own integration key at one stand-in (so every request and
every alert can be told apart). Time is scaled like the storm figure: one minute of the
scenario is ``window`` seconds (``CMK_ILERT_RATE_WINDOW`` and the stand-in's rate
window), the rate limit 50 per window.

1. Before the outage every flapping service had a problem that was delivered and
   resolved (its history).
2. iLert goes down (the stand-in stops: connection refused) for ``minutes`` minutes.
   Meanwhile ``flapping`` services go CRIT and OK every 1.5-3 minutes, ``one_off``
   services fail once and recover 0.5-1.5 minutes later, ``down`` services fail and stay
   failed. Every notification is one call of the installed script, in the scenario's
   order (as fast as the machine runs them: during a total outage only the order matters).
3. iLert is back: ``flush --now`` drains both outboxes at the rate limit.

Reported per arm: calls, requests iLert received, pages (alerts opened in iLert), alerts
open at the end (the ``down`` services in both arms, or the figure is refused), the
superseded events (journal) and the drain time.

What coalescing can and cannot fold here: the first problem of a key during the outage
is attempted by its own call (connection refused), so it and its recovery are sent when
iLert is back (an attempted ALERT may have reached iLert: never dropped). Every later
problem of a flapping service and its recovery were never attempted: they are dropped.
"""

from __future__ import annotations

import json
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Dict, List, NamedTuple, Tuple

from tests.support.contexts import service

from .figures import compile_site
from .sites import Package, Site, check, timed
from .standin import STANDIN_DIR

#: Made-up integration keys, valid only at the local stand-in.
KEY_ON = "il1api-BENCH-OUTAGE-ON-0000bench00001"
KEY_OFF = "il1api-BENCH-OUTAGE-OFF-000bench00002"
T0 = 1795341600000000
LIMIT = 50


class Note(NamedTuple):
    minute: float
    host: str
    service: str
    ntype: str


def scenario(minutes: float, flapping: int, one_off: int, down: int,
             seed: int = 13) -> Tuple[List[Note], List[Note]]:
    """(history before the outage, notifications during it), each in time order."""
    rnd = random.Random(seed)
    history: List[Note] = []
    during: List[Note] = []
    for i in range(flapping):
        host, svc = "flap%02d" % i, "Interface eth0"
        history += [Note(-3.0 + i * 0.01, host, svc, "PROBLEM"), Note(-2.0 + i * 0.01, host, svc, "RECOVERY")]
        t = rnd.uniform(0.0, 1.0)
        while t < minutes - 1.0:
            during.append(Note(t, host, svc, "PROBLEM"))
            during.append(Note(t + rnd.uniform(0.3, 1.0), host, svc, "RECOVERY"))
            t += rnd.uniform(1.5, 3.0)
    for i in range(one_off):
        u = rnd.uniform(0.0, max(0.1, minutes - 2.0))
        during += [Note(u, "once%02d" % i, "Disk /var", "PROBLEM"),
                   Note(u + rnd.uniform(0.5, 1.5), "once%02d" % i, "Disk /var", "RECOVERY")]
    for i in range(down):
        during.append(Note(rnd.uniform(0.0, minutes), "down%02d" % i, "HTTP", "PROBLEM"))
    return sorted(history), sorted(during)


@dataclass
class Arm:
    coalesce: bool
    calls: int = 0
    requests: int = 0
    pages: int = 0
    open_at_end: int = 0
    queued: int = 0
    superseded: int = 0
    superseded_runs: int = 0
    drain_seconds: float = 0.0
    flush_calls: int = 0


@dataclass
class Outage:
    minutes: float
    window: float
    flapping: int
    one_off: int
    down: int
    on: Arm = field(default_factory=lambda: Arm(True))
    off: Arm = field(default_factory=lambda: Arm(False))

    @property
    def requests_ratio(self) -> float:
        return self.on.requests / self.off.requests if self.off.requests else float("nan")

    @property
    def pages_avoided(self) -> int:
        return self.off.pages - self.on.pages


def _context(note: Note, params: Dict[str, str], n: int) -> Dict[str, str]:
    ctx = service(note.ntype, params, HOSTNAME=note.host, HOSTALIAS=note.host, SERVICEDESC=note.service,
                  OMD_SITE="bench", MICROTIME=str(T0 + int(note.minute * 60e6) + n))
    return {"NOTIFY_" + k: v for k, v in ctx.items()}


def _params(url: str, key: str, coalesce: bool) -> Dict[str, str]:
    return {
        "PARAMETER_ILERT_API_KEY": "password\t" + key, "PARAMETER_ILERT_API_KEY_1": "password",
        "PARAMETER_ILERT_API_KEY_2": key, "PARAMETER_ILERT_SOURCE_TYPE": "api", "PARAMETER_ILERT_API_URL": url,
        "PARAMETER_RATE_LIMIT": str(LIMIT), "PARAMETER_COALESCE": str(coalesce),
    }


def _journal(site: Site) -> List[Dict[str, Any]]:
    path = site.root / "var" / "cmk_ilert" / "journal" / "superseded.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def measure_outage(package: Package, minutes: float, flapping: int, one_off: int, down: int,
                   window: float = 1.0) -> Outage:
    assert STANDIN_DIR.is_dir()  # bench.standin put the stand-in on sys.path
    from ilert_standin import StandIn

    history, during = scenario(minutes, flapping, one_off, down)
    result = Outage(minutes, window, flapping, one_off, down)
    env = {"CMK_ILERT_RATE_WINDOW": repr(window)}
    with StandIn(keys=[KEY_ON, KEY_OFF], rate_limit=LIMIT, rate_window=window) as standin:
        arms = []
        for arm, key in ((result.on, KEY_ON), (result.off, KEY_OFF)):
            site = package.new_site("outage-%s" % ("on" if arm.coalesce else "off"))
            compile_site(site)
            arms.append((arm, key, site, _params(standin.url, key, arm.coalesce)))

        def call(arm: Arm, site: Site, params: Dict[str, str], note: Note, n: int, codes: Tuple[int, ...]) -> None:
            run = timed(site.notify_argv(), site.env(dict(env, **_context(note, params, n))))
            if run.returncode not in codes:
                check(run, "outage: %s %s/%s" % (note.ntype, note.host, note.service))
            arm.calls += 1

        for n, note in enumerate(history):
            for arm, _, site, params in arms:
                call(arm, site, params, note, n, (0,))
                arm.calls -= 1  # the history is not part of the figure
        since = len(standin.log())
        before = {a["id"] for a in standin.alerts()}
        standin.stop()
        with ThreadPoolExecutor(max_workers=2) as pool:  # the two arms side by side
            for n, note in enumerate(during, start=len(history)):
                for done in [pool.submit(call, arm, site, params, note, n, (0, 1)) for arm, _, site, params in arms]:
                    done.result()
        for arm, _, site, _ in arms:
            arm.queued = site.queued()
        standin.start()

        def drain(arm: Arm, site: Site) -> None:
            start = time.monotonic()
            while site.queued() and arm.flush_calls < 10:
                arm.flush_calls += 1
                run = timed(site.cli_argv("flush", "--now", "--max-time", "600"), site.env(env))
                if run.returncode not in (0, 1):
                    check(run, "outage: flush")
            arm.drain_seconds = time.monotonic() - start
            if site.queued():
                raise RuntimeError("outage: %d events still queued" % site.queued())

        with ThreadPoolExecutor(max_workers=2) as pool:
            for done in [pool.submit(drain, arm, site) for arm, _, site, _ in arms]:
                done.result()
        log = standin.log(since)
        alerts = [a for a in standin.alerts() if a["id"] not in before]
        for arm, key, site, _ in arms:
            arm.requests = sum(1 for e in log if e["key"] == key and str(e["path"]).startswith("/api/events"))
            mine = [a for a in alerts if a["sourceKey"] == key]
            arm.pages = len(mine)
            arm.open_at_end = sum(1 for a in mine if a["status"] != "RESOLVED")
            records = _journal(site)
            arm.superseded_runs = len(records)
            arm.superseded = sum(len(r.get("events", [])) for r in records)
            if arm.open_at_end != down or any(e["status"] == 429 for e in log if e["key"] == key):
                raise RuntimeError("outage (coalesce %s): %d alerts open at the end, expected %d; 429s: %d" % (
                    arm.coalesce, arm.open_at_end, down, sum(1 for e in log if e["key"] == key
                                                            and e["status"] == 429)))
            if arm.coalesce is False and records:
                raise RuntimeError("outage: events superseded with coalesce off")
    return result
