#!/usr/bin/env python3
"""The main job, end to end, without a Checkmk site or an iLert account.

1. build both .mkp artifacts (mkp/build.py);
2. install them into a simulated Checkmk site (2.4 unless --release says otherwise) the way
   Checkmk does: the artifact for that release installs, the other one is refused, as on a
   real site;
3. start the local iLert stand-in (a real HTTP server in its own process);
4. run the scenarios: each step is one notification (or bulk, or site command) through the
   *installed* script with the environment Checkmk (or the site cron) gives it, then shows
   what Checkmk sent (the fields that matter), the script's line and exit code, the request
   iLert received (key redacted) and the alert's state;
5. exit 0 only if every step came out as its expectation says.

Adding a scenario: write a function that returns a ``Scenario`` (a title, an alert source and a
list of ``Step``) and add it to ``SCENARIOS``; see ``Step`` and ``Expect`` for what a step can
do and check. ``--full`` prints whole request bodies instead of their main fields.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "standin"), str(REPO / "src")]

from cmk_ilert.admin.cli import CRON_LINE  # noqa: E402
from ilert_standin import StandInClient  # noqa: E402
from mkp.build import build  # noqa: E402
from mkp.site_install import InstallRefusedError, install  # noqa: E402
from tools.site_python import PYTHON as SITE_PYTHON  # noqa: E402

SITE = "demo"
SCRIPT = "local/share/check_mk/notifications/cmk_ilert"
#: Made-up keys, known only to the local stand-in.
KEY_CMK = "il1cmk-DEMO-KEY-0000demo0000cmk7"
KEY_API = "il1api-DEMO-KEY-0000demo0000api9"
#: A made-up iLert *user* API key for `sync` (REST API, Bearer), known only to the stand-in.
KEY_USER = "demo-user-api-key-0000demo0000usr5"
KEYS = (KEY_CMK, KEY_API, KEY_USER)
#: The site cron line's command (docs/site-cron.md), without its schedule.
CRON_COMMAND = CRON_LINE.split(None, 5)[5]
CRON_LOG = "var/log/cmk_ilert.log"
#: Where Checkmk's Livestatus socket is on a site; the demo's Livestatus stand-in listens there.
LIVE_SOCKET = "tmp/run/live"


# ---- what a scenario is made of ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Expect:
    """What must be true after a step; the demo fails if anything differs."""

    exit: int = 0
    #: the followed alert's state in iLert afterwards (None: not checked)
    state: Optional[str] = None
    #: the event types iLert received in this step, in order (None: not checked; (): nothing)
    events: Optional[Tuple[str, ...]] = None
    #: fields the step's last request body must have, with these values
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One thing that happens on the site. Exactly one of ``context``, ``bulk``, ``command``."""

    title: str
    #: one notification: the NOTIFY_* context without the prefix and without the rule's parameters
    context: Optional[Mapping[str, str]] = None
    #: a bulk notification: one context per notification
    bulk: Sequence[Mapping[str, str]] = ()
    #: a shell command line run as the site cron runs it (SHELL=/bin/bash, OMD_ROOT, no PYTHONPATH)
    command: str = ""
    #: prepare the world first, e.g. make iLert answer the next request with a fault
    before: Optional[Callable[[StandInClient], None]] = None
    #: the alert (as iLert keys it) whose state is shown and checked
    follow: str = ""
    expect: Expect = Expect()
    #: further checks: return what is wrong (empty when all is well)
    check: Optional[Callable[["Outcome"], List[str]]] = None
    #: one summary line instead of the full view (for bulks)
    compact: bool = False
    #: more to show after what iLert got: (label, line) pairs, e.g. what Livestatus received
    note: Optional[Callable[[], List[Tuple[str, str]]]] = None


@dataclass(frozen=True)
class Source:
    """An iLert alert source and the rule parameters that point at it."""

    source_type: str  # "checkmk" | "api"
    key: str
    #: the rule names the type explicitly; False: the default (checkmk) is left to the script
    explicit: bool = True

    def alert_key(self, host: str, service: str = "") -> str:
        """How iLert keys the alert: the API source uses our alertKey, the Checkmk source its own."""
        if self.source_type == "api":
            exact = ["cmk", SITE, host] + ([service] if service else [])
            key = "/".join(exact).casefold()
            if key != "/".join(exact):  # docs/configuration.md, "The alert key": digest of the exact names
                key += "~" + hashlib.sha256("\0".join(exact).encode("utf-8")).hexdigest()[:10]
            return key
        return ("%s/%s" % (host, service) if service else host).casefold()


@dataclass(frozen=True)
class Scenario:
    title: str
    source: Source
    steps: Sequence[Step]


class Outcome(NamedTuple):
    code: int
    lines: List[str]  # what the script printed (its notify.log lines)
    requests: List[Dict[str, Any]]  # what iLert received in this step (the stand-in's log)
    alerts: List[Dict[str, Any]]  # every alert of this scenario's alert source afterwards


def fault(spec: str) -> Callable[[StandInClient], None]:
    """``before=fault("503")``: iLert answers the next request with this fault (stand-in spec)."""
    return lambda ilert: ilert.inject(spec)


_SERIAL = itertools.count()


def stamp() -> Dict[str, str]:
    """One notification's time fields: Checkmk's calls for several contacts share them."""
    now = time.time()
    return {"MICROTIME": "%d" % (now * 1e6 + next(_SERIAL)),
            "LONGDATETIME": time.strftime("%a %b %d %H:%M:%S %Z %Y", time.localtime(now))}


def service(ntype: str, state: str, output: str, **extra: str) -> Dict[str, str]:
    ctx = {"WHAT": "SERVICE", "NOTIFICATIONTYPE": ntype, **stamp(), "HOSTNAME": "web01", "SERVICEDESC": "CPU load",
           "SERVICESTATE": state, "SERVICESHORTSTATE": state[:4] if state != "WARNING" else "WARN",
           "SERVICEOUTPUT": output, "SERVICEPERFDATA": "load15=9.8;5;9;0;"}
    ctx.update(extra)
    return ctx


def host(ntype: str, name: str, state: str, output: str = "", **extra: str) -> Dict[str, str]:
    ctx = {"WHAT": "HOST", "NOTIFICATIONTYPE": ntype, **stamp(), "HOSTNAME": name, "HOSTSTATE": state,
           "HOSTSHORTSTATE": state, "HOSTOUTPUT": output}
    ctx.update(extra)
    return ctx


# ---- the scenarios ----------------------------------------------------------------------------------------------
def lifecycle(source: Source) -> Scenario:
    """A service problem from WARN to recovered, with a second contact and an acknowledgement."""
    key = source.alert_key("web01", "CPU load")
    api = source.source_type == "api"
    comment = "Looking into it, deploy rollback"
    ack_fields: Dict[str, Any] = (
        {"eventType": "COMMENT", "comments": [{"creator": "alice", "content": comment}]} if api
        else {"NOTIFICATIONTYPE": "ACKNOWLEDGEMENT", "NOTIFICATIONAUTHOR": "alice", "NOTIFICATIONCOMMENT": comment})
    crit = service("PROBLEM", "CRITICAL", "CRIT - 15 min load: 9.80 (!!)")
    title = ("Alert source type checkmk (the default): Checkmk's own format, to an iLert 'Checkmk' alert source"
             if not api else "Alert source type api: an iLert event, to an iLert 'API' alert source")
    return Scenario(title, source, [
        Step("web01/CPU load goes WARN: a PROBLEM, priority LOW",
             context=service("PROBLEM", "WARNING", "WARN - 15 min load: 5.10 (!)"), follow=key,
             expect=Expect(0, "PENDING", ("ALERT",) if api else ("PROBLEM",),
                           {"priority": "LOW"} if api else {"PARAMETER_ILERT_PRIORITY": "LOW"})),
        Step("It goes CRIT: a PROBLEM, priority HIGH; iLert appends it to the open alert",
             context=crit, follow=key,
             expect=Expect(0, "PENDING", ("ALERT",) if api else ("PROBLEM",),
                           {"priority": "HIGH"} if api else {"PARAMETER_ILERT_PRIORITY": "HIGH"})),
        Step("Checkmk calls the script again for a second contact: nothing is sent twice",
             context=dict(crit, CONTACTNAME="bob"), follow=key, expect=Expect(0, "PENDING", ())),
        Step("Alice acknowledges it with a comment: the alert is accepted, the comment goes along"
             + (" as a COMMENT event (it reaches the alert even if it was accepted in iLert already)" if api else ""),
             context=service("ACKNOWLEDGEMENT", "CRITICAL", "CRIT - 15 min load: 9.80 (!!)",
                             NOTIFICATIONAUTHOR="alice", NOTIFICATIONCOMMENT=comment),
             follow=key, expect=Expect(0, "ACCEPTED", ("ACCEPT", "COMMENT") if api else ("ACKNOWLEDGEMENT",),
                                       ack_fields)),
        Step("It recovers: a RECOVERY resolves the alert",
             context=service("RECOVERY", "OK", "OK - 15 min load: 0.40"), follow=key,
             expect=Expect(0, "RESOLVED", ("RESOLVE",) if api else ("RECOVERY",))),
    ])


def outage(source: Source) -> Scenario:
    """A host problem, downtime and flapping as comments, and iLert unreachable for a moment."""
    key = source.alert_key("db01")
    return Scenario("A host outage: downtime and flapping as comments, iLert down for a moment", source, [
        Step("Host db01 goes DOWN", context=host("PROBLEM", "db01", "DOWN", "CRIT - 10.0.0.21: rta nan, lost 100%"),
             follow=key, expect=Expect(0, "PENDING", ("ALERT",), {"priority": "HIGH"})),
        Step("Carol puts db01 into a downtime: a COMMENT on the open alert says so (comment_events)",
             context=host("DOWNTIMESTART", "db01", "DOWN", NOTIFICATIONAUTHOR="carol",
                          NOTIFICATIONCOMMENT="maintenance until 14:00"), follow=key,
             expect=Expect(0, "PENDING", ("COMMENT",))),
        Step("db01/Disk IO starts flapping: a COMMENT too, but no alert is open for it: nothing to comment on",
             context=dict(service("FLAPPINGSTART", "WARNING", "WARN - disk latency 40 ms"),
                          HOSTNAME="db01", SERVICEDESC="Disk IO"),
             expect=Expect(0, None, ("COMMENT",))),
        Step("db01 comes back UP, but iLert answers 503: the RESOLVE is queued on disk, exit 1",
             context=host("RECOVERY", "db01", "UP", "OK - 10.0.0.21: rta 0.3 ms"), before=fault("503"),
             follow=key, expect=Expect(1, "PENDING", ("RESOLVE",))),
        Step("The outage is over; the admin delivers the queue at once (flush --now)",
             command="$OMD_ROOT/bin/python3 $OMD_ROOT/%s flush --now" % SCRIPT, follow=key,
             expect=Expect(0, "RESOLVED", ("RESOLVE",))),
    ])


def storm(source: Source) -> Scenario:
    """Many problems at once: a bulk notification, iLert's rate limit, the site cron line."""
    burst = [dict(service("PROBLEM", "CRITICAL", "CRIT - link down (!!)"), HOSTNAME="node%02d" % i,
                  SERVICEDESC="Interface eth0") for i in range(1, 21)]
    keys = [source.alert_key("node%02d" % i, "Interface eth0") for i in range(1, 21)]

    def twenty_open(outcome: Outcome) -> List[str]:
        states = {a["key"]: a["status"] for a in outcome.alerts}
        wrong = [k for k in keys if states.get(k) != "PENDING"]
        return ["%d of the 20 alerts are not open: %s" % (len(wrong), ", ".join(wrong[:3]))] if wrong else []

    lb = source.alert_key("lb01")
    return Scenario("A switch dies: a bulk notification, iLert's rate limit, the site cron line", source, [
        Step("20 services go CRIT; Checkmk sends them as one bulk notification", bulk=burst, compact=True,
             expect=Expect(0, None, ("ALERT",) * 20), check=twenty_open),
        Step("Host lb01 goes DOWN, but iLert's rate limit answers 429 (Retry-After 1 s): queued, exit 1",
             context=host("PROBLEM", "lb01", "DOWN", "CRIT - 10.0.0.5: rta nan, lost 100%"),
             before=fault("429:1"), follow=lb, expect=Expect(1, None, ("ALERT",))),
        Step("The site cron line runs (docs/site-cron.md): it waits out the pause and delivers",
             command=CRON_COMMAND, follow=lb, expect=Expect(0, "PENDING", ("ALERT",))),
    ])


def superseded(source: Source) -> Scenario:
    """A problem that recovers while its ALERT still waits in the outbox (coalesce)."""
    key = source.alert_key("web02", "HTTP")

    def web02(ntype: str, state: str, output: str) -> Dict[str, str]:
        return dict(service(ntype, state, output), HOSTNAME="web02", SERVICEDESC="HTTP")

    return Scenario("Nobody is paged for what already recovered (coalesce)", source, [
        Step("web02/HTTP fails and recovers; both are delivered, so iLert holds no open alert for it",
             context=web02("PROBLEM", "CRITICAL", "CRIT - HTTP 503 from backend (!!)"), follow=key,
             expect=Expect(0, "PENDING", ("ALERT",))),
        Step("... the RECOVERY resolves it", context=web02("RECOVERY", "OK", "OK - HTTP 200 in 0.1 s"), follow=key,
             expect=Expect(0, "RESOLVED", ("RESOLVE",))),
        Step("It fails again while iLert rate-limits this alert source (429, Retry-After 1 s): queued, exit 1",
             context=web02("PROBLEM", "CRITICAL", "CRIT - HTTP 503 from backend (!!)"),
             before=fault("429:1"), follow=key, expect=Expect(1, "RESOLVED", ("ALERT",))),
        Step("It recovers before the queue was delivered: the ALERT and its RESOLVE are superseded, nothing is sent",
             context=web02("RECOVERY", "OK", "OK - HTTP 200 in 0.1 s"), follow=key,
             expect=Expect(0, "RESOLVED", ())),
    ])


def live_commands(root: Path) -> List[Dict[str, Any]]:
    """What the Livestatus stand-in of the demo site recorded (its own table ``standin_commands``)."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(root / LIVE_SOCKET))
        sock.sendall(b"GET standin_commands\nColumns: name args\nOutputFormat: json\n\n")
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return [{"name": row[0], "args": row[1]} for row in json.loads(data.decode("utf-8"))]


def two_way(source: Source) -> Scenario:
    """iLert -> Checkmk: a responder accepts on the phone, `sync` acknowledges in Checkmk."""
    key = source.alert_key("web03", "Disk /var")
    seen: Dict[str, int] = {}

    def accept_in_ilert(ilert: StandInClient) -> None:
        seen["commands"] = len(live_commands(Path(os.environ["CMK_ILERT_DEMO_SITE"])))
        alert = next(a for a in ilert.alerts() if a.get("key") == key)
        ilert.accept_alert(alert["id"], "Jane Doe")

    def new_commands() -> List[Dict[str, Any]]:
        return live_commands(Path(os.environ["CMK_ILERT_DEMO_SITE"]))[seen.get("commands", 0):]

    def acknowledged(outcome: Outcome) -> List[str]:
        new = new_commands()
        if [c["name"] for c in new] != ["ACKNOWLEDGE_SVC_PROBLEM"] or new[0]["args"][:2] != ["web03", "Disk /var"]:
            return ["Checkmk was not acknowledged through Livestatus: %s" % new]
        return []

    def shown() -> List[Tuple[str, str]]:
        return [("Livestatus", "COMMAND [...] %s;%s" % (c["name"], ";".join(c["args"]))) for c in new_commands()]

    sync = "$OMD_ROOT/bin/python3 $OMD_ROOT/%s sync --api-url %s" % (SCRIPT, "$CMK_ILERT_DEMO_ILERT")
    return Scenario("Two-way: accepted on a phone in iLert, acknowledged in Checkmk (sync)", source, [
        Step("web03/Disk /var goes CRIT: an ALERT", follow=key,
             context=dict(service("PROBLEM", "CRITICAL", "CRIT - 97% used (!!)"), HOSTNAME="web03",
                          SERVICEDESC="Disk /var"),
             expect=Expect(0, "PENDING", ("ALERT",))),
        Step("Jane accepts the alert in the iLert app; the site cron's sync line acknowledges it in Checkmk",
             command=sync, before=accept_in_ilert, follow=key, check=acknowledged, note=shown,
             expect=Expect(0, "ACCEPTED")),
        Step("The acknowledgement's own notification reaches iLert as an ACCEPT of an accepted alert: "
             "nothing to do, no loop",
             context=dict(service("ACKNOWLEDGEMENT", "CRITICAL", "CRIT - 97% used (!!)"), HOSTNAME="web03",
                          SERVICEDESC="Disk /var", NOTIFICATIONAUTHOR="iLert: Jane Doe",
                          NOTIFICATIONCOMMENT="Accepted in iLert by Jane Doe"),
             follow=key, expect=Expect(0, "ACCEPTED", ("ACCEPT", "COMMENT"))),
    ])


SCENARIOS: List[Callable[[], Scenario]] = [
    lambda: lifecycle(Source("checkmk", KEY_CMK, explicit=False)),
    lambda: lifecycle(Source("api", KEY_API)),
    lambda: outage(Source("api", KEY_API)),
    lambda: superseded(Source("api", KEY_API)),
    lambda: two_way(Source("api", KEY_API)),
    lambda: storm(Source("api", KEY_API)),
]


# ---- running them -----------------------------------------------------------------------------------------------
def redact(text: str) -> str:
    for key in KEYS:
        text = text.replace(key, "..." + key[-4:])
    return text


def one_line(value: Any, limit: int = 90) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[:limit - 3] + "..."


#: The context fields a reader needs to follow a step (Checkmk sends ~30 more).
CONTEXT_FIELDS = ("NOTIFICATIONTYPE", "HOSTNAME", "SERVICEDESC", "HOSTSTATE", "SERVICESTATE", "HOSTOUTPUT",
                  "SERVICEOUTPUT", "CONTACTNAME", "NOTIFICATIONAUTHOR", "NOTIFICATIONCOMMENT")
#: The request fields shown by default: iLert's own view of the event.
API_FIELDS = ("integrationKey", "eventType", "alertKey", "priority", "summary", "comments")
CHECKMK_FIELDS = ("NOTIFICATIONTYPE", "HOSTNAME", "SERVICEDESC", "HOSTSTATE", "SERVICESTATE",
                  "PARAMETER_ILERT_PRIORITY", "PARAMETER_ILERT_SUMMARY_HOST", "PARAMETER_ILERT_SUMMARY_SERVICE",
                  "NOTIFICATIONAUTHOR", "NOTIFICATIONCOMMENT")


class Demo:
    def __init__(self, root: Path, url: str, full: bool) -> None:
        self.root = root
        self.url = url
        self.full = full
        self.ilert = StandInClient(url)
        self.failures: List[str] = []
        self.number = 0
        python = root / "bin" / "python3"  # the site's Python; here the simulated one (tools/site_python.py)
        python.parent.mkdir(parents=True, exist_ok=True)
        python.write_text("#!/bin/sh\nexec %s \"$@\"\n" % SITE_PYTHON)
        python.chmod(0o755)

    # -- the environments -----------------------------------------------------------------------------------------
    def notify_env(self, extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
        """The notification script's environment, as Checkmk's core passes it on."""
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": str(self.root),
               "OMD_ROOT": str(self.root), "OMD_SITE": SITE,
               # what the site Python's sitecustomize does: local/lib/python3 first on sys.path
               "PYTHONPATH": str(self.root / "local" / "lib" / "python3"), "PYTHONDONTWRITEBYTECODE": "1"}
        env.update(extra or {})
        return env

    def cron_env(self) -> Dict[str, str]:
        """A site crontab's environment: what cron and the crontab's header set, nothing more
        (Checkmk's etc/init.d/crontab writes SHELL, OMD_ROOT, OMD_SITE, PATH, MAILTO; see
        docs/site-cron.md). No PYTHONPATH; the .profile (BASH_ENV) is left out on purpose.
        (CMK_ILERT_DEMO_ILERT only tells the demo's sync line where the stand-in listens.)"""
        return {"SHELL": "/bin/bash", "PATH": "/usr/bin:/bin", "HOME": str(self.root), "LOGNAME": SITE,
                "OMD_ROOT": str(self.root), "OMD_SITE": SITE, "MAILTO": "", "PYTHONDONTWRITEBYTECODE": "1",
                "CMK_ILERT_DEMO_ILERT": self.url}

    def parameters(self, source: Source) -> Dict[str, str]:
        params = {"PARAMETER_ILERT_API_KEY": "password\t" + source.key, "PARAMETER_ILERT_API_KEY_1": "password",
                  "PARAMETER_ILERT_API_KEY_2": source.key, "PARAMETER_ILERT_API_URL": self.url,
                  "PARAMETER_URL_PREFIX_AUTOMATIC": "https"}
        if source.explicit:
            params["PARAMETER_ILERT_SOURCE_TYPE"] = source.source_type
        return params

    def full_context(self, ctx: Mapping[str, str], contact: str = "alice") -> Dict[str, str]:
        """The context as Checkmk builds it (the fields a step leaves out get everyday values)."""
        values = {"OMD_SITE": SITE, "MONITORING_HOST": "cmk.example.net", "HOSTALIAS": ctx.get("HOSTNAME", ""),
                  "HOSTADDRESS": "10.0.0.%d" % (10 + len(ctx.get("HOSTNAME", ""))),
                  **stamp(),
                  "CONTACTNAME": contact, "HOSTURL": "/check_mk/index.py?start_url=view.py%3Fhost%3D"
                  + ctx.get("HOSTNAME", "")}
        values.update(ctx)
        return values

    # -- one step ---------------------------------------------------------------------------------------------------
    def execute(self, step: Step, source: Source) -> Tuple[int, List[str]]:
        params = self.parameters(source)
        script = str(self.root / SCRIPT)
        if step.context is not None:
            ctx = dict(self.full_context(step.context), **params)
            proc = subprocess.run([str(SITE_PYTHON), script], env=self.notify_env({"NOTIFY_" + k: v for k, v in
                                                                                  ctx.items()}),
                                  capture_output=True, text=True)
            return proc.returncode, (proc.stdout + proc.stderr).splitlines()
        if step.bulk:
            def block(values: Mapping[str, str]) -> str:
                return "".join("%s=%s\n" % (k, v.replace("\n", "\x01")) for k, v in values.items())

            stdin = block(params) + "".join("\n" + block(dict(self.full_context(c), **params)) for c in step.bulk)
            proc = subprocess.run([str(SITE_PYTHON), script, "--bulk"], input=stdin, env=self.notify_env(),
                                  capture_output=True, text=True)
            return proc.returncode, (proc.stdout + proc.stderr).splitlines()
        log = self.root / CRON_LOG
        seen = log.stat().st_size if log.exists() else 0
        proc = subprocess.run(["/bin/bash", "-c", step.command], env=self.cron_env(), capture_output=True,
                              text=True, cwd=str(self.root))
        lines = (proc.stdout + proc.stderr).splitlines()
        if log.exists():
            with log.open("r", encoding="utf-8") as handle:
                handle.seek(seen)
                lines += handle.read().splitlines()
        return proc.returncode, lines

    def run_step(self, step: Step, source: Source) -> None:
        self.number += 1
        cursor = len(self.ilert.log())
        if step.before:
            step.before(self.ilert)
        code, lines = self.execute(step, source)
        requests = [e for e in self.ilert.log(since=cursor) if not str(e.get("path", "")).startswith("/_standin")]
        alerts = [a for a in self.ilert.alerts() if a.get("sourceKey") == source.key]
        outcome = Outcome(code, lines, requests, alerts)
        problems = self.judge(step, outcome, source)
        if step.compact:
            self.show_compact(step, outcome, problems)
        else:
            self.show(step, outcome, source, problems)
        self.failures += ["step %d (%s): %s" % (self.number, step.title, p) for p in problems]

    def judge(self, step: Step, outcome: Outcome, source: Source) -> List[str]:
        problems = []
        expect = step.expect
        if outcome.code != expect.exit:
            problems.append("exit %d, expected %d" % (outcome.code, expect.exit))
        if expect.events is not None:
            got = tuple(event_type(e, source) for e in outcome.requests)
            if got != expect.events:
                problems.append("iLert received %s, expected %s" % (list(got) or "nothing", list(expect.events)
                                                                    or "nothing"))
        if expect.fields:
            body = outcome.requests[-1].get("body") if outcome.requests else None
            for name, value in expect.fields.items():
                if not isinstance(body, dict) or body.get(name) != value:
                    problems.append("request field %s is %s, expected %s" % (
                        name, one_line(body.get(name) if isinstance(body, dict) else None), one_line(value)))
        if expect.state is not None:
            state = self.state(step.follow, outcome)
            if state != expect.state:
                problems.append("alert %s is %s, expected %s" % (step.follow, state, expect.state))
        if step.check:
            problems += step.check(outcome)
        if any(key in "\n".join(outcome.lines) for key in KEYS):
            problems.append("the script printed an integration key")
        return problems

    @staticmethod
    def state(key: str, outcome: Outcome) -> str:
        found = [a for a in outcome.alerts if a.get("key") == key]
        return str(found[-1]["status"]) if found else "no alert (yet)"

    # -- showing it ---------------------------------------------------------------------------------------------------
    def show(self, step: Step, outcome: Outcome, source: Source, problems: List[str]) -> None:
        print("\n%2d. %s" % (self.number, step.title))
        if step.context is not None:
            shown = ["%s=%s" % (k, one_line(step.context[k], 48)) for k in CONTEXT_FIELDS if step.context.get(k)]
            print("    Checkmk   | %s" % "  ".join(shown))
        else:
            print("    site cron | %s" % step.command)
        for line in outcome.lines[:3]:
            print("    script    | %s" % redact(line))
        if len(outcome.lines) > 3:
            print("    script    | ... %d more line(s)" % (len(outcome.lines) - 3))
        meaning = {0: "done", 1: "queued, a later run retries", 2: "failed permanently"}.get(outcome.code, "?")
        print("    exit      | %d (%s)" % (outcome.code, meaning))
        if not outcome.requests:
            print("    iLert got | nothing%s" % (" (by design)" if step.expect.events == () else ""))
        for entry in outcome.requests:
            print("    iLert got | %s %s -> %s" % (entry.get("method"), redact(str(entry.get("path"))),
                                                   entry.get("status")))
            if entry.get("body") is not None:
                print("              | %s" % self.body_view(entry.get("body"), source))
        for label, text in (step.note() if step.note else []):
            print("    %-10s| %s" % (label, text))
        if step.follow:
            alert = [a for a in outcome.alerts if a.get("key") == step.follow]
            extra = ""
            if alert and alert[-1].get("comments"):
                last = alert[-1]["comments"][-1]
                extra = ", comment by %s: %s" % (last.get("creator"), one_line(last.get("content"), 60))
            print("    alert     | %s: %s%s" % (step.follow, self.state(step.follow, outcome), extra))
        print("    verdict   | %s" % ("as expected" if not problems else "WRONG: " + "; ".join(problems)))

    def body_view(self, body: Any, source: Source) -> str:
        if not isinstance(body, dict):
            return one_line(body)
        if self.full:
            return redact(json.dumps(body, ensure_ascii=False, indent=2)).replace("\n", "\n              | ")
        names = API_FIELDS if "eventType" in body else CHECKMK_FIELDS
        shown = {k: body[k] for k in names if k in body}
        rest = [k for k in body if k not in shown]
        more = ""
        if rest and "eventType" in body:
            more = "  (+ %s)" % ", ".join(rest)
        elif rest:
            more = "  (+ %d more context fields; no secret, no other rule parameter)" % len(rest)
        return redact(json.dumps(shown, ensure_ascii=False)) + more

    def show_compact(self, step: Step, outcome: Outcome, problems: List[str]) -> None:
        print("\n%2d. %s" % (self.number, step.title))
        statuses: Dict[str, int] = {}
        for entry in outcome.requests:
            label = "%s %s" % ((entry.get("body") or {}).get("eventType", "?"), entry.get("status"))
            statuses[label] = statuses.get(label, 0) + 1
        received = ", ".join("%d x %s" % (n, label) for label, n in statuses.items()) or "nothing"
        open_alerts = sum(1 for a in outcome.alerts if a.get("status") == "PENDING")
        print("    bulk of %d | exit %d, %d script line(s), iLert got %s, %d alerts of this source open: %s"
              % (len(step.bulk), outcome.code, len(outcome.lines), received, open_alerts,
                 "as expected" if not problems else "WRONG: " + "; ".join(problems)))

    def run(self, scenario: Scenario) -> None:
        print("\n--- %s" % scenario.title)
        for step in scenario.steps:
            self.run_step(step, scenario.source)


def event_type(entry: Mapping[str, Any], source: Source) -> str:
    body = entry.get("body")
    if not isinstance(body, dict):
        return "?"
    return str(body.get("eventType") if source.source_type == "api" else body.get("NOTIFICATIONTYPE"))


# ---- main -------------------------------------------------------------------------------------------------------
def install_site(root: Path, release: str, artifacts: Sequence[Path]) -> Optional[Path]:
    """Install every artifact the way the release does; return the one it accepted."""
    shutil.rmtree(root, ignore_errors=True)
    (root / "var" / "log").mkdir(parents=True)
    chosen = None
    for path in artifacts:
        try:
            result = install(path, root, release)
        except InstallRefusedError as exc:
            why = {"too_old": "it is the artifact for a newer Checkmk (2.5: the cmk.rulesets.v1 form)",
                   "outdated": "it is the artifact for older releases; this one uses the other"}.get(exc.reason)
            text = str(exc).split(": ", 1)[-1]
            if why:
                print("   %s: refused, as expected on %s: %s (%s)" % (path.name, release, why, text))
            else:
                print("   %s: refused: %s" % (path.name, text))
            continue
        chosen = path
        print("   %s: installed %d files, among them %s" % (path.name, len(result.paths), SCRIPT))
    return chosen


def start_livestatus(root: Path) -> "subprocess.Popen[str]":
    """The site's Livestatus, as a stand-in process on $OMD_ROOT/tmp/run/live, with one problem."""
    fixtures = root / "tmp" / "demo-livestatus.json"
    fixtures.parent.mkdir(parents=True, exist_ok=True)
    fixtures.write_text(json.dumps({
        "hosts": [{"name": "web03", "state": 0}],
        "services": [{"host_name": "web03", "description": "Disk /var", "state": 2,
                      "plugin_output": "CRIT - 97% used"}],
    }))
    (root / LIVE_SOCKET).parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "livestatus_standin", "--socket", str(root / LIVE_SOCKET),
                             "--fixtures", str(fixtures)], env=dict(os.environ, PYTHONPATH=str(REPO / "standin")),
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    proc.stdout.readline()  # {"socket": ...}: it listens
    return proc


def shown_path(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--release", default="2.4", help="Checkmk release to simulate (default 2.4)")
    parser.add_argument("--site", type=Path, default=REPO / "demo-site", help="simulated $OMD_ROOT")
    parser.add_argument("--dist", type=Path, default=REPO / "dist", help="where the artifacts go (default dist/)")
    parser.add_argument("--full", action="store_true", help="print whole request bodies (keys redacted)")
    args = parser.parse_args()
    started = time.monotonic()

    print("== 1. Build the MKP artifacts")
    built = build(REPO, args.dist)
    for artifact in built:
        print("   %s" % shown_path(artifact.path))
    print("== 2. Install them into a simulated Checkmk %s site at %s" % (args.release, args.site))
    if install_site(args.site, args.release, [a.path for a in built]) is None:
        print("\nno artifact installs on Checkmk %s" % args.release)
        return 1

    print("== 3. Start the local iLert stand-in")
    server = subprocess.Popen([sys.executable, "-m", "ilert_standin", "--port", "0", "--key", KEY_CMK,
                               "--key", KEY_API, "--user-api-key", KEY_USER],
                              env=dict(os.environ, PYTHONPATH=str(REPO / "standin")),
                              stdout=subprocess.PIPE, text=True)
    live = start_livestatus(args.site)
    try:
        assert server.stdout is not None
        url = json.loads(server.stdout.readline())["url"]
        print("   listening on %s (alert sources: Checkmk key ...%s, API key ...%s; a user API key ...%s for sync)"
              % (url, KEY_CMK[-4:], KEY_API[-4:], KEY_USER[-4:]))
        print("   Livestatus stand-in on $OMD_ROOT/%s (web03/Disk /var CRIT, not acknowledged)" % LIVE_SOCKET)
        key_file = args.site / "etc" / "cmk_ilert" / "sync.key"  # where sync looks (docs/sync.md)
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(KEY_USER + "\n")
        key_file.chmod(0o600)
        os.environ["CMK_ILERT_DEMO_SITE"] = str(args.site)
        print("== 4. Scenarios, through the installed script %s" % SCRIPT)
        demo = Demo(args.site, url, args.full)
        for make in SCENARIOS:
            demo.run(make())
        status = subprocess.run(["/bin/bash", "-c", "$OMD_ROOT/bin/python3 $OMD_ROOT/%s status" % SCRIPT],
                                env=demo.cron_env(), capture_output=True, text=True)
        print("\n--- The outbox afterwards: $OMD_ROOT/bin/python3 $OMD_ROOT/%s status" % SCRIPT)
        for line in (status.stdout + status.stderr).strip().splitlines():
            print("    %s" % line)
        if status.returncode != 0:
            demo.failures.append("status exits %d, expected 0" % status.returncode)
    finally:
        server.terminate()
        server.wait(timeout=10)
        live.terminate()
        live.wait(timeout=10)
    print("\n== 5. Where things are")
    print("   artifacts:   %s" % ", ".join(shown_path(a.path) for a in built))
    print("   site:        %s (notify.log lines: what 'script' showed; outbox: var/cmk_ilert/; cron log: %s)"
          % (args.site, CRON_LOG))
    print("   took %.1fs" % (time.monotonic() - started))
    if demo.failures:
        print("\nWRONG (%d):\n  %s" % (len(demo.failures), "\n  ".join(demo.failures)))
        return 1
    print("\nOK: %d steps, every exit code, request and alert state as expected." % demo.number)
    return 0


if __name__ == "__main__":
    sys.exit(main())
