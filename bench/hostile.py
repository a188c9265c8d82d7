#!/usr/bin/env python3
"""Worst-case run times under hostile servers, and the cost of rendering a huge output (issue 9).

Not a test (nothing here asserts a speed): it measures, once, and prints a table.

* One ``notify`` run (the repository's notification script, run as Checkmk runs it: a fake
  ``$OMD_ROOT``, ``NOTIFY_*`` variables) against each hostile server of
  ``tests/support/hostile.py`` at rule ``timeout`` 10 and 50, and one ``--bulk`` call of 5 events
  (5 alert keys) to the same server: wall time from spawn to exit, exit code, peak RSS of the
  child (``wait4``), events queued. Checkmk kills a notification plugin after 60 s.
* ``black hole x6``: a host name with six black-holed addresses, from a private ``/etc/hosts``
  (``unshare -m``, needs root; skipped otherwise).
* Rendering: ``mapping.map_notification`` (context in, summary + details out) for a service
  output and long output of 1 MB of brackets and blanks vs 1 kB of the same, and the text helpers
  alone (``render`` + ``one_line``/``paragraphs``) on the whole 1 MB value (no value limit),
  median of repeats.

    .venv/bin/python bench/hostile.py              # everything, the servers in parallel (~3 min)
    .venv/bin/python bench/hostile.py --render     # only the rendering figures
    .venv/bin/python bench/hostile.py --serial     # one run at a time (~20 min)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parent.parent
for extra in (REPO / "src", REPO):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from tests.support.contexts import api_params, service  # noqa: E402
from tests.support.hostile import BlackHole, DripBody, DripHeaders, EndlessBody, Silent, SlowTLS  # noqa: E402
from tests.support.site import FakeSite, bulk_stdin, runtime_python  # noqa: E402

SIX = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "::1")
SERVERS: Dict[str, Callable[[], Any]] = {
    "drip headers (1 B/s)": lambda: DripHeaders(interval=1.0),
    "drip body (1 B/s)": lambda: DripBody(interval=1.0),
    "endless body (length)": lambda: EndlessBody(),
    "endless body (chunked)": lambda: EndlessBody(chunked=True),
    "black hole": lambda: BlackHole(),
    "black hole x6 addresses": lambda: BlackHole(hosts=SIX),
    "silent": Silent,
    "slow TLS": SlowTLS,
}
NAME = "ilert.hostile.test"


class Measured:
    def __init__(self, seconds: float, code: int, rss_mb: float, queued: int) -> None:
        self.seconds, self.code, self.rss_mb, self.queued = seconds, code, rss_mb, queued


def private_hosts(folder: Path) -> Optional[List[str]]:
    hosts = folder / "hosts"
    hosts.write_text("127.0.0.1 localhost\n" + "".join("%s %s\n" % (a, NAME) for a in SIX))
    prefix = ["unshare", "-m", "sh", "-c", 'mount --bind "%s" /etc/hosts && exec "$@"' % hosts, "bench"]
    probe = subprocess.run(prefix + ["true"], capture_output=True)
    return prefix if probe.returncode == 0 else None


def measure(site: FakeSite, argv_prefix: Sequence[str], env: Dict[str, str], stdin: Optional[bytes]) -> Measured:
    argv = [*argv_prefix, runtime_python(), str(site.script)] + (["--bulk"] if stdin is not None else [])
    started = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if stdin is not None:
        assert proc.stdin is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Measured(seconds, proc.returncode, usage.ru_maxrss / 1024.0, len(site.queue()))


def one_series(kind: str, timeout: int, bulk: bool, root: Path, hosts_prefix: Optional[List[str]]) -> Measured:
    site = FakeSite(root / ("%s-%d-%s" % (kind.replace(" ", "_").replace("/", ""), timeout, bulk)))
    with SERVERS[kind]() as server:
        multi = "x6" in kind
        if multi and hosts_prefix is None:
            return Measured(float("nan"), -1, float("nan"), 0)
        url = server.url_for(NAME) if multi else server.url
        prefix = hosts_prefix if multi else []
        params = api_params(url, timeout=str(timeout))
        contexts = [service("PROBLEM", params, HOSTNAME="host%02d" % n, MICROTIME=str(1795341600000000 + n))
                    for n in range(5 if bulk else 1)]
        env = site.environment()
        if bulk:
            return measure(site, prefix or [], env, bulk_stdin({}, contexts))
        env.update({"NOTIFY_" + k: v for k, v in contexts[0].items()})
        return measure(site, prefix or [], env, None)


def servers_table(serial: bool) -> List[str]:
    root = Path(tempfile.mkdtemp(prefix="bench_hostile_"))
    try:
        hosts_prefix = private_hosts(root)
        jobs: List[Tuple[str, int, bool]] = [(k, t, b) for b in (False, True) for t in (10, 50) for k in SERVERS]
        with ThreadPoolExecutor(max_workers=1 if serial else len(SERVERS)) as pool:
            results = list(pool.map(lambda job: one_series(job[0], job[1], job[2], root, hosts_prefix), jobs))
        found = dict(zip(jobs, results))
        lines = ["| hostile server | single, timeout 10 | single, timeout 50 | bulk of 5, timeout 10 | "
                 "bulk of 5, timeout 50 |", "|---|---|---|---|---|"]
        for kind in SERVERS:
            cells = []
            for bulk in (False, True):
                for timeout in (10, 50):
                    m = found[(kind, timeout, bulk)]
                    if m.code == -1:
                        cells.append("skipped (no private /etc/hosts)")
                    else:
                        cells.append("%.1f s, exit %d, %d queued, %.0f MB" % (m.seconds, m.code, m.queued, m.rss_mb))
            lines.append("| %s | %s |" % (kind, " | ".join(cells)))
        return lines
    finally:
        shutil.rmtree(root, ignore_errors=True)


def render_table(repeats: int) -> List[str]:
    from cmk_ilert.base.text import one_line, paragraphs, render
    from cmk_ilert.checkmk.context import NotificationContext
    from cmk_ilert.checkmk.params import parse_settings
    from cmk_ilert.notify.mapping import map_notification

    def adversarial(size: int) -> str:
        unit = "(" + " " * 60 + "x) [" + "\t" * 10 + "], ( , " + " " * 20
        return (unit * (size // len(unit) + 1))[: size - 1] + ")"

    base = service("PROBLEM", api_params("https://api.ilert.com"))
    settings = parse_settings(base)

    def timed(work: Callable[[], object]) -> float:
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            work()
            samples.append(time.perf_counter() - started)
        return statistics.median(samples)

    figures = {}
    for size in (1000, 1_000_000):
        text = adversarial(size)
        values = dict(base, SERVICEOUTPUT=text, LONGSERVICEOUTPUT=text)
        figures[("map", size)] = timed(lambda v=values: map_notification(NotificationContext(v), settings))
        # the helpers with no value limit at all: the whole megabyte goes through them
        figures[("text", size)] = timed(lambda v=values, n=size + 1: (
            one_line(render(settings.summary_service, v, n)), paragraphs(render(settings.details_service, v, n))))
    lines = ["| what | 1 kB output | 1 MB output | ratio |", "|---|---|---|---|"]
    for what, label in (("map", "context -> event (summary + details), map_notification"),
                        ("text", "render + one_line / paragraphs, whole value (no cut)")):
        small, big = figures[(what, 1000)], figures[(what, 1_000_000)]
        lines.append("| %s | %.3f ms | %.3f ms | %.0fx |" % (label, small * 1e3, big * 1e3, big / small))
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--render", action="store_true", help="only the rendering figures")
    parser.add_argument("--serial", action="store_true", help="one server run at a time")
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args(argv)
    print("cmk_ilert hostile-conditions bench, %s, Python %s" % (time.strftime("%Y-%m-%d %H:%M"),
                                                                 sys.version.split()[0]))
    print()
    print("\n".join(render_table(args.repeats)))
    if not args.render:
        print()
        print("\n".join(servers_table(args.serial)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
