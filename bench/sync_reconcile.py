#!/usr/bin/env python3
"""Issue 17: what ``sync --reconcile`` costs and does, against both stand-ins.

Standalone (not part of ``make bench``), run from the repository::

    .venv/bin/python bench/sync_reconcile.py --alerts 10000 --stale 1000 --missing 200

The iLert stand-in holds N open alerts of site ``bench`` (opened through its events API, one
POST each, API-type source), the Livestatus stand-in N services on N/100 hosts; ``--stale``
of them show OK (hard, for an hour) while their alert is open, the rest CRIT; ``--missing``
more services are CRIT (hard, for an hour) with no alert at all. Each object's key index entry
(the route of its ALERT: a password-store rule) is in place, as the notification script
writes it. Every run starts from a copy of that site, so runs do not see each other's state.

Measured, each the median of ``--runs`` runs of the real command line (site Python):

* baseline: ``sync`` (no reconcile) over the same alerts;
* reconcile: ``sync --reconcile`` (default ``--reconcile-max`` 20), then ``flush --now``:
  run time and its ratio to the baseline, drift reconciled per run, REST requests to iLert of
  the run (against the baseline's), event requests per reconciled alert (the flush);
* reconcile-max 1000: one run's throughput (alerts resolved per second of run time).

With more open alerts than one run may list (30 requests per minute, 100 alerts a page),
missing problems are not looked for in that run; ``--alerts 1000`` shows that part.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

REPO = Path(__file__).resolve().parent.parent
for extra in (REPO / "src", REPO / "standin", REPO):
    sys.path.insert(0, str(extra))

import requests  # noqa: E402

from cmk_ilert.checkmk.context import NotificationContext  # noqa: E402
from cmk_ilert.notify.mapping import alert_key  # noqa: E402
from cmk_ilert.outbox import keyindex  # noqa: E402
from ilert_standin import StandIn  # noqa: E402
from livestatus_standin import LivestatusStandIn  # noqa: E402
from tests.support.site import SITE_PYTHON  # noqa: E402

SITE = "bench"
KEY = "il1api-BENCH-KEY-0a1b2c3d4e5f"
USER_KEY = "sync-BENCH-USERKEY-0a1b2c3d"
STORE_ID = "ilert-bench"
HOUR = 3600


def names(alerts: int, missing: int) -> Tuple[List[Tuple[str, str]], List[Tuple[str, str]]]:
    alerted = [("host-%04d" % (n // 100), "Service %03d" % (n % 100)) for n in range(alerts)]
    extra = [("spare-%04d" % (n // 100), "Service %03d" % (n % 100)) for n in range(missing)]
    return alerted, extra


def key_of(host: str, service: str) -> str:
    return str(alert_key(NotificationContext({"OMD_SITE": SITE, "HOSTNAME": host, "SERVICEDESC": service,
                                              "WHAT": "SERVICE"})))


def route(url: str) -> Dict[str, str]:
    return {"PARAMETER_ILERT_API_KEY": "store\t" + STORE_ID, "PARAMETER_ILERT_API_KEY_1": "store",
            "PARAMETER_ILERT_API_KEY_2": STORE_ID, "PARAMETER_ILERT_SOURCE_TYPE": "api",
            "PARAMETER_ILERT_API_URL": url, "PARAMETER_RATE_LIMIT": "0"}


def template_site(root: Path, url: str, alerted: List[Tuple[str, str]]) -> None:
    """A site as the notification script leaves it: key index with routes, password store, sync key."""
    state = root / "var" / "cmk_ilert"
    for name in ("queue", "sent", "dead", "tmp", "locks", "rate", "index", "journal", "links", "sync"):
        (state / name).mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(state, 0o700)
    (root / "var" / "log").mkdir(parents=True, exist_ok=True)
    (root / "tmp" / "run").mkdir(parents=True, exist_ok=True)
    for host, service in alerted:
        keyindex.remember(str(state), keyindex.Target(key_of(host, service), SITE, host, service), route(url))
    key_file = root / "etc" / "cmk_ilert" / "sync.key"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(USER_KEY + "\n")
    os.chmod(key_file, 0o600)
    pkg = root / "lib" / "python3" / "cmk" / "utils"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg.parent / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "password_store.py").write_text("def extract(ident):\n    return %r if ident == %r else None\n"
                                           % (KEY, STORE_ID))


def env_of(root: Path) -> Dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root), "LANG": "C.UTF-8",
            "OMD_ROOT": str(root), "OMD_SITE": SITE, "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(root / "lib" / "python3")])}


def cli(root: Path, *args: str) -> Tuple[float, str]:
    start = time.monotonic()
    proc = subprocess.run([str(SITE_PYTHON), "-m", "cmk_ilert", *args], env=env_of(root), capture_output=True,
                          timeout=600)
    took = time.monotonic() - start
    out = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
    if proc.returncode not in (0, 1) or "Traceback" in out:
        raise SystemExit("%s failed (%d): %s" % (args[0], proc.returncode, out[-2000:]))
    return took, out


def rest_requests(ilert: StandIn, since: int) -> int:
    return sum(1 for e in ilert.log(since) if e["path"].startswith("/api/alerts"))


def event_requests(ilert: StandIn, since: int) -> int:
    return sum(1 for e in ilert.log(since) if e["path"].startswith("/api/events"))


def one(template: Path, work: Path, ilert: StandIn, fixtures: Dict[str, Any], url: str,
        *args: str) -> Dict[str, Any]:
    """Copy the template site, put Livestatus on its socket, run ``sync ARGS`` (and a flush)."""
    root = work / ("site-%d" % time.monotonic_ns())
    shutil.copytree(template, root, symlinks=True)
    with LivestatusStandIn(root / "tmp" / "run" / "live", fixtures):
        mark = len(ilert.log())
        took, out = cli(root, "sync", "--api-url", url, *args)
        rest = rest_requests(ilert, mark)
        resolved = int((re.findall(r"(\d+) stale alerts resolved", out) or ["0"])[0])
        reported = int((re.findall(r"(\d+) missing reported", out) or ["0"])[0])
        mark = len(ilert.log())
        if resolved:
            cli(root, "flush", "--now")
        events = event_requests(ilert, mark)
    shutil.rmtree(root, ignore_errors=True)
    return {"seconds": took, "rest": rest, "resolved": resolved, "reported": reported, "events": events,
            "out": out}


def reopen(ilert: StandIn, keys: List[str]) -> None:
    """Alerts the last reconcile resolved are opened again (same keys): every run sees the same drift."""
    session = requests.Session()
    for key in keys:
        session.post(ilert.url + "/api/events", json={"integrationKey": KEY, "eventType": "ALERT", "alertKey": key,
                                                       "summary": "bench " + key}, timeout=10).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=10000)
    parser.add_argument("--stale", type=int, default=1000)
    parser.add_argument("--missing", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    alerted, extra = names(args.alerts, args.missing)
    now = int(time.time())
    stale = set(alerted[::max(1, args.alerts // max(1, args.stale))][:args.stale])
    hosts = sorted({h for h, _ in alerted + extra})
    fixtures = {"hosts": [{"name": h, "state": 0, "last_state_change": now - HOUR} for h in hosts],
                "services": [{"host_name": h, "description": s, "state": 0 if (h, s) in stale else 2,
                              "last_state_change": now - HOUR - (n % 600), "plugin_output": "bench"}
                             for n, (h, s) in enumerate(alerted + extra)]}
    with StandIn(keys=[KEY], user_api_keys=[USER_KEY], rate_limit=0, api_rate_limit=100000) as ilert, \
            tempfile.TemporaryDirectory(prefix="bench-reconcile-") as tmp:
        url = ilert.url
        start = time.monotonic()
        session = requests.Session()
        for host, service in alerted:
            session.post(url + "/api/events", json={"integrationKey": KEY, "eventType": "ALERT",
                                                    "alertKey": key_of(host, service), "summary": "bench"},
                         timeout=10).raise_for_status()
        print("seeded %d open alerts in %.1f s" % (len(alerted), time.monotonic() - start))
        work = Path(tmp)
        template = work / "template"
        template_site(template, url, alerted)
        results: Dict[str, List[Dict[str, Any]]] = {"baseline": [], "reconcile": [], "max1000": []}
        stale_keys = [key_of(h, s) for h, s in sorted(stale)]
        for _ in range(args.runs):
            results["baseline"].append(one(template, work, ilert, fixtures, url))
            results["reconcile"].append(one(template, work, ilert, fixtures, url, "--reconcile"))
            reopen(ilert, stale_keys)
        results["max1000"].append(one(template, work, ilert, fixtures, url, "--reconcile",
                                      "--reconcile-max", "1000"))
        reopen(ilert, stale_keys)
    base = statistics.median(r["seconds"] for r in results["baseline"])
    rec = statistics.median(r["seconds"] for r in results["reconcile"])
    last = results["reconcile"][-1]
    big = results["max1000"][0]
    figures = {
        "open_alerts": args.alerts, "stale": args.stale, "missing": args.missing,
        "baseline_seconds": round(base, 3), "reconcile_seconds": round(rec, 3), "ratio": round(rec / base, 3),
        "rest_requests_baseline": results["baseline"][-1]["rest"], "rest_requests_reconcile": last["rest"],
        "reconciled_per_run": last["resolved"], "missing_reported_per_run": last["reported"],
        "event_requests_per_reconciled_alert": round(last["events"] / last["resolved"], 3)
        if last["resolved"] else None,
        "max1000_resolved": big["resolved"], "max1000_seconds": round(big["seconds"], 3),
        "max1000_ratio": round(big["seconds"] / base, 3),
        "max1000_event_requests_per_alert": round(big["events"] / big["resolved"], 3) if big["resolved"] else None,
    }
    print(json.dumps(figures, indent=2))
    print("last reconcile run's summary: " + [ln for ln in last["out"].splitlines() if "reconcile:" in ln][-1])


if __name__ == "__main__":
    main()
