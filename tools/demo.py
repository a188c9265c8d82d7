#!/usr/bin/env python3
"""The main job, end to end, without a Checkmk site or an iLert account.

1. build both .mkp artifacts (mkp/build.py);
2. install one into a simulated site directory the way Checkmk does
   (part tars extracted with GNU tar into $OMD_ROOT/local/...);
3. start the local iLert stand-in (a real HTTP server in its own process);
4. fire a realistic sequence through the *installed* notification script,
   with Checkmk's environment, exactly as Checkmk's notification core would;
5. print a timeline: what Checkmk sent, the script's notify.log line, what
   iLert received and the alert's state afterwards;
6. exit 0 only if the alert lifecycle came out right.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "standin")]

from ilert_standin import StandInClient  # noqa: E402
from mkp.build import build  # noqa: E402
from mkp.site_install import install  # noqa: E402

KEY = "il1api-DEMO-KEY-0000demo0000demo42"  # a made-up key for the local stand-in only
SITE = "demo"


class Demo:
    def __init__(self, root: Path, url: str, release: str) -> None:
        self.root = root
        self.url = url
        self.release = release
        self.ilert = StandInClient(url)
        self.script = root / "local" / "share" / "check_mk" / "notifications" / "cmk_ilert"
        self.log = root / "var" / "log" / "notify.log"
        self.failures: List[str] = []
        self.step = 0
        self.params = {
            "PARAMETER_ILERT_API_KEY": "password\t" + KEY,
            "PARAMETER_ILERT_API_KEY_1": "password",
            "PARAMETER_ILERT_API_KEY_2": KEY,
            "PARAMETER_ILERT_SOURCE_TYPE": "api",
            "PARAMETER_ILERT_API_URL": url,
            "PARAMETER_URL_PREFIX_AUTOMATIC": "https",
        }

    def env(self, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": str(self.root),
            "OMD_ROOT": str(self.root),
            "OMD_SITE": SITE,
            # what the site's sitecustomize does: local/lib/python3 first on sys.path
            "PYTHONPATH": str(self.root / "local" / "lib" / "python3"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        env.update(extra or {})
        return env

    def context(self, what: str, ntype: str, host: str, **values: str) -> Dict[str, str]:
        ctx = {
            "WHAT": what, "NOTIFICATIONTYPE": ntype, "OMD_SITE": SITE, "MONITORING_HOST": "cmk.example.net",
            "HOSTNAME": host, "HOSTALIAS": host, "HOSTADDRESS": "10.0.0.%d" % (len(host) + 10),
            "MICROTIME": str(int(time.time() * 1e6)), "LONGDATETIME": time.strftime("%a %b %d %H:%M:%S %Z %Y"),
            "CONTACTNAME": "oncall", "HOSTURL": "/check_mk/index.py?start_url=view.py%%3Fhost%%3D%s" % host,
        }
        if what == "SERVICE":
            ctx["SERVICEURL"] = ctx["HOSTURL"] + "%26service%3DCPU"
        ctx.update(values)
        ctx.update(self.params)
        return ctx

    def notify(self, ctx: Dict[str, str]) -> subprocess.CompletedProcess:
        env = self.env({"NOTIFY_" + k: v for k, v in ctx.items()})
        proc = subprocess.run([sys.executable, str(self.script)], env=env, capture_output=True, text=True)
        self._log(proc.stdout + proc.stderr)
        return proc

    def notify_bulk(self, contexts: List[Dict[str, str]]) -> subprocess.CompletedProcess:
        def block(values: Dict[str, str]) -> str:
            return "".join("%s=%s\n" % (k, v.replace("\n", "\x01")) for k, v in values.items())

        stdin = block(self.params) + "".join("\n" + block(c) for c in contexts)
        proc = subprocess.run([sys.executable, str(self.script), "--bulk"], input=stdin, env=self.env(),
                              capture_output=True, text=True)
        self._log(proc.stdout + proc.stderr)
        return proc

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "cmk_ilert", *args], env=self.env(), capture_output=True,
                              text=True)

    def _log(self, text: str) -> None:
        with self.log.open("a", encoding="utf-8") as handle:
            for line in text.splitlines():
                handle.write("%s %s\n" % (time.strftime("%Y-%m-%d %H:%M:%S"), line))

    def alert(self, key: str) -> Optional[dict]:
        found = [a for a in self.ilert.alerts() if a.get("key") == key]
        return found[-1] if found else None

    def show(self, title: str, proc: subprocess.CompletedProcess, key: str, log_from: int,
             expect_exit: int, expect_state: Optional[str]) -> None:
        received = [e for e in self.ilert.log(since=log_from) if not str(e.get("path", "")).startswith("/_standin")]
        alert = self.alert(key) if key else None
        state = alert["status"] if alert else "-"
        sent = ", ".join("%s %s" % ((e.get("body") or {}).get("eventType", "?"), e.get("status")) for e in received)
        self.step += 1
        ok = proc.returncode == expect_exit and (expect_state is None or state == expect_state)
        print("\n%2d. %s" % (self.step, title))
        for line in (proc.stdout + proc.stderr).strip().splitlines()[:4]:
            print("    script  | %s" % line)
        more = len((proc.stdout + proc.stderr).strip().splitlines()) - 4
        if more > 0:
            print("    script  | ... %d more line(s) in notify.log" % more)
        print("    exit    | %d (%s)" % (proc.returncode, {0: "done", 1: "queued, retry later", 2: "failed"}.get(
            proc.returncode, "?")))
        print("    iLert   | received: %s" % (sent or "nothing (by design)"))
        if key:
            print("    alert   | %s -> %s%s" % (key, state, "" if ok else "   <-- UNEXPECTED"))
        if not ok:
            self.failures.append("step %d (%s): exit %d, state %s; expected exit %d, state %s" % (
                self.step, title, proc.returncode, state, expect_exit, expect_state))

    def run(self) -> int:
        log_at = lambda: len(self.ilert.log())  # noqa: E731
        svc = "cmk/demo/web01/cpu load"
        common = {"SERVICEDESC": "CPU load", "SERVICEPERFDATA": "load1=7.9;4;8;0;"}

        n = log_at()
        p = self.notify(self.context("SERVICE", "PROBLEM", "web01", SERVICESTATE="WARNING", SERVICESHORTSTATE="WARN",
                                     SERVICEOUTPUT="WARN - 15 min load: 5.10 (!)", **common))
        self.show("Service web01/CPU load goes WARN (PROBLEM)", p, svc, n, 0, "PENDING")
        n = log_at()
        crit = self.context("SERVICE", "PROBLEM", "web01", SERVICESTATE="CRITICAL", SERVICESHORTSTATE="CRIT",
                            SERVICEOUTPUT="CRIT - 15 min load: 9.80 (!!)", **common)
        p = self.notify(crit)
        self.show("It goes CRIT (PROBLEM, priority HIGH)", p, svc, n, 0, "PENDING")
        n = log_at()
        p = self.notify(dict(crit, CONTACTNAME="second-contact"))
        self.show("Checkmk calls the script again for a second contact", p, svc, n, 0, "PENDING")
        n = log_at()
        p = self.notify(self.context("SERVICE", "ACKNOWLEDGEMENT", "web01", SERVICESTATE="CRITICAL",
                                     NOTIFICATIONAUTHOR="alice", NOTIFICATIONCOMMENT="Looking into it, deploy rollback",
                                     **common))
        self.show("Alice acknowledges it with a comment (ACKNOWLEDGEMENT)", p, svc, n, 0, "ACCEPTED")
        n = log_at()
        p = self.notify(self.context("SERVICE", "RECOVERY", "web01", SERVICESTATE="OK", SERVICESHORTSTATE="OK",
                                     SERVICEOUTPUT="OK - 15 min load: 0.40", **common))
        self.show("It recovers (RECOVERY)", p, svc, n, 0, "RESOLVED")

        host = "cmk/demo/db01"
        n = log_at()
        p = self.notify(self.context("HOST", "PROBLEM", "db01", HOSTSTATE="DOWN", HOSTSHORTSTATE="DOWN",
                                     HOSTOUTPUT="CRIT - 10.0.0.14: rta nan, lost 100%"))
        self.show("Host db01 goes DOWN (PROBLEM)", p, host, n, 0, "PENDING")
        n = log_at()
        p = self.notify(self.context("HOST", "DOWNTIMESTART", "db01", HOSTSTATE="DOWN",
                                     NOTIFICATIONCOMMENT="maintenance"))
        self.show("A downtime starts on db01 (DOWNTIMESTART: ignored)", p, host, n, 0, "PENDING")
        n = log_at()
        p = self.notify(self.context("SERVICE", "FLAPPINGSTART", "db01", SERVICEDESC="Disk IO", SERVICESTATE="WARNING"))
        self.show("db01/Disk IO starts flapping (FLAPPINGSTART: ignored)", p, "", n, 0, None)
        n = log_at()
        self.ilert.inject("503")
        p = self.notify(self.context("HOST", "RECOVERY", "db01", HOSTSTATE="UP", HOSTSHORTSTATE="UP",
                                     HOSTOUTPUT="OK - 10.0.0.14: rta 0.3ms"))
        self.show("db01 comes back UP, but iLert answers 503 once (RECOVERY queued)", p, host, n, 1, "PENDING")
        n = log_at()
        p = self.cli("flush", "--now")
        self.show("The site cron runs 'python3 -m cmk_ilert flush' (outbox delivers it)", p, host, n, 0, "RESOLVED")

        n = log_at()
        burst = [self.context("SERVICE", "PROBLEM", "node%02d" % i, SERVICEDESC="Interface eth0",
                              SERVICESTATE="CRITICAL", SERVICEOUTPUT="Link down (!!)") for i in range(1, 21)]
        p = self.notify_bulk(burst)
        opened = [a for a in self.ilert.alerts() if str(a.get("key", "")).endswith("/interface eth0")]
        self.show("A switch dies: 20 services go CRIT in one bulk notification", p, "", n, 0, None)
        print("    alerts  | %d open alerts for interface eth0" % len(opened))
        if len(opened) != 20:
            self.failures.append("bulk: %d alerts instead of 20" % len(opened))

        status = self.cli("status")
        print("\n'python3 -m cmk_ilert status' says:")
        for line in status.stdout.strip().splitlines():
            print("    " + line)
        if status.returncode != 0:
            self.failures.append("status exit %d" % status.returncode)
        return 0 if not self.failures else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--release", default="2.4", help="Checkmk release to simulate (default 2.4)")
    parser.add_argument("--site", type=Path, default=REPO / "demo-site", help="simulated $OMD_ROOT")
    args = parser.parse_args()
    started = time.monotonic()

    print("== 1. Build the MKP artifacts")
    built = build(REPO, REPO / "dist")
    for artifact in built:
        print("   %s" % artifact.path.relative_to(REPO))
    print("== 2. Install into a simulated Checkmk %s site at %s" % (args.release, args.site))
    shutil.rmtree(args.site, ignore_errors=True)
    (args.site / "var" / "log").mkdir(parents=True)
    chosen = None
    for artifact in built:
        try:
            result = install(artifact.path, args.site, args.release)
        except Exception as exc:  # noqa: BLE001 - the other line refuses this release, as on a real site
            print("   %s: refused (%s)" % (artifact.path.name, str(exc).splitlines()[0][:100]))
            continue
        chosen = artifact
        print("   %s: installed %d files, e.g." % (artifact.path.name, len(result.paths)))
        for path in result.paths[:3]:
            print("     %s" % path.relative_to(args.site))
    if chosen is None:
        print("no artifact installs on Checkmk %s" % args.release)
        return 1

    print("== 3. Start the local iLert stand-in")
    server = subprocess.Popen([sys.executable, "-m", "ilert_standin", "--port", "0", "--key", KEY],
                              env=dict(os.environ, PYTHONPATH=str(REPO / "standin")), stdout=subprocess.PIPE,
                              text=True)
    try:
        assert server.stdout is not None
        url = json.loads(server.stdout.readline())["url"]
        print("   listening on %s" % url)
        print("== 4. Notifications through the installed script (%s)" % (
            args.site / "local/share/check_mk/notifications/cmk_ilert"))
        demo = Demo(args.site, url, args.release)
        code = demo.run()
    finally:
        server.terminate()
        server.wait(timeout=10)
    print("\n== 5. Where things are")
    print("   artifacts:   %s" % ", ".join(str(a.path.relative_to(REPO)) for a in built))
    print("   site:        %s (notify.log: var/log/notify.log, outbox: var/cmk_ilert/)" % args.site)
    print("   took %.1fs" % (time.monotonic() - started))
    if code:
        print("\nLIFECYCLE WRONG:\n  " + "\n  ".join(demo.failures))
    else:
        print("\nOK: every notification reached the stand-in as the contract says.")
    return code


if __name__ == "__main__":
    sys.exit(main())
