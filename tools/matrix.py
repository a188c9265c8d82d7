#!/usr/bin/env python3
"""Run test stages as nox sessions (noxfile.py), several at a time, and end with a loud table.

The sessions: ``matrix-2.0`` ... ``matrix-2.5`` run the ``runtime`` tests under each Checkmk
release's site Python and ``requests`` pin (nox keeps a venv per release under ``.cache/nox/``);
with ``--suite`` the default test suite, with ``--slow`` the slow family (crash, storm and budget
trials) join them. nox runs them (``nox --parallel``: ``--jobs`` at a time, each session's output
printed as one block when it ends); this script only adds what nox has not:

* the table at the end naming every session's result, and what did NOT run and how to get it;
* strictness: a missing interpreter fails the run only in CI (``CI=true``, ``1`` or ``yes``, as
  ``.ci/run`` has it) or with ``--strict``; ``--allow-missing`` passes even in CI. (nox's own
  default treats any ``CI`` variable, even ``CI=false``, as CI; this passes the flag explicitly.)
* a line every minute naming the sessions still running (nox is silent between blocks when its
  output is not a terminal, as in CI).

Interpreters are found as noxfile.py says (pyenv's ``versions`` folder, then ``pythonX.Y`` on
``PATH``); to hide them all, e.g. to try a machine with one Python:
``PYENV_ROOT=/nonexistent PATH=/usr/bin:/bin``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Dict, List, NamedTuple, Optional

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mkp.checkmk_releases import RELEASES  # noqa: E402
from tools.interpreters import find_python  # noqa: E402
from tools.matrix_subset import LIST, recorded_digest, runtime_digest  # noqa: E402

RULE = "=" * 78
#: The release whose matrix run the suite session is (noxfile.py SUITE_RELEASE).
SUITE_RELEASE = "2.2"
NOT_FOUND = re.compile(r"[Ii]nterpreter .* not found")
BLOCK = re.compile(r"^=+ \S+ (?P<name>[\w.-]+): (?P<status>\w+)")
STARTING = re.compile(r"^Starting session (?P<name>[\w.-]+)\.\.\.")
PYTEST_TAIL = re.compile(r"^=*\s*(\d+ (passed|failed|error|errors|skipped|deselected)\b.*? in [\d.]+s)")


class Stage(NamedTuple):
    session: str  # nox session name
    label: str  # as the table names it
    python: str
    requests: str


class Row(NamedTuple):
    label: str
    python: str
    requests: str
    verdict: str  # PASS, FAIL, NOT RUN
    detail: str


def in_ci(environ: Dict[str, str]) -> bool:
    return environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def dev_versions() -> tuple[str, str]:
    import requests  # the dev venv's

    return "%d.%d" % sys.version_info[:2], requests.__version__


def stages(suite: bool, slow: bool, lines: Optional[List[str]]) -> List[Stage]:
    """Longest first: nox starts them in this order."""
    python, requests = dev_versions()
    chosen: List[Stage] = []
    if slow:
        chosen.append(Stage("slow", "slow family", python, requests))
    covered = ""
    if suite:
        # noxfile.py: the suite's script runs happen under 2.2's Python and requests when it is found,
        # which is the 2.2 matrix run; then matrix-2.2 is not run a second time.
        release = RELEASES[SUITE_RELEASE]
        if find_python(release.python):
            covered = SUITE_RELEASE
            chosen.append(Stage("suite", "suite+" + SUITE_RELEASE, release.python, release.requests))
        else:
            chosen.append(Stage("suite", "test suite", python, requests))
    for line, release in sorted(RELEASES.items(), key=lambda kv: [int(x) for x in kv[0].split(".")]):
        if (not lines or line in lines) and line != covered:
            chosen.append(Stage("matrix-" + line, "Checkmk " + line, release.python, release.requests))
    return chosen


class Watch:
    """Passes nox's output through; notes which sessions run and each one's last pytest summary."""

    def __init__(self, out: IO[str], every: float) -> None:
        self.out = out
        self.every = every
        self.lock = threading.Lock()
        self.running: Dict[str, float] = {}
        self.current: Optional[str] = None  # the session whose block is being printed
        self.tails: Dict[str, str] = {}
        self.last_output = time.monotonic()
        self.done = threading.Event()

    def line(self, text: str) -> None:
        with self.lock:
            self.out.write(text + "\n")
            self.out.flush()
            self.last_output = time.monotonic()
            started = STARTING.match(text)
            block = BLOCK.match(text)
            if started:
                self.running[started.group("name")] = time.monotonic()
            elif block:
                self.current = block.group("name")
                self.running.pop(self.current, None)
            elif self.current:
                tail = PYTEST_TAIL.match(text.strip())
                if tail:
                    self.tails[self.current] = tail.group(1)

    def heartbeat(self) -> None:
        while not self.done.wait(5.0):
            with self.lock:
                if self.running and time.monotonic() - self.last_output >= self.every:
                    now = time.monotonic()
                    self.out.write("... still running: %s\n" % ", ".join(
                        "%s (%.0fs)" % (name, now - since) for name, since in self.running.items()))
                    self.out.flush()
                    self.last_output = now


def children_of(pid: int) -> List[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def run_nox(chosen: List[Stage], jobs: int, strict: bool, pytest_args: List[str], out: IO[str],
            report: Path, every: float, envdir: Optional[str]) -> tuple[int, Dict[str, str]]:
    cmd = [sys.executable, "-m", "nox", "-f", str(REPO / "noxfile.py"), "--no-color", "--parallel", str(jobs),
           "--report", str(report), *(["--envdir", envdir] if envdir else []),
           "--error-on-missing-interpreters" if strict else "--no-error-on-missing-interpreters",
           "-s", *[s.session for s in chosen]]
    if pytest_args:
        cmd += ["--", *pytest_args]
    watch = Watch(out, every)
    beat = threading.Thread(target=watch.heartbeat, daemon=True)
    beat.start()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(cmd, cwd=str(REPO), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace")
    assert proc.stdout is not None

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        for raw in proc.stdout:
            watch.line(raw.rstrip("\n").rsplit("\r", 1)[-1])
    except KeyboardInterrupt:  # stopped (Ctrl-C, or SIGTERM, e.g. a CI timeout)
        # nox --parallel runs each session in a child of its own session (process group); nox 2026.10.20
        # leaves them running when it is interrupted itself, so they are stopped here, group by group.
        sessions = children_of(proc.pid)
        proc.send_signal(signal.SIGINT)
        for pid in sessions:
            try:
                os.killpg(pid, signal.SIGTERM)
            except OSError:
                pass
        proc.wait()
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    code = proc.wait()
    watch.done.set()
    beat.join()
    return code, watch.tails


def rows_from(chosen: List[Stage], report: Path, code: int, tails: Dict[str, str]) -> List[Row]:
    try:
        sessions = {s["name"]: s for s in json.loads(report.read_text())["sessions"]}
    except (OSError, ValueError, KeyError):
        sessions = {}
    rows = []
    for stage in chosen:
        entry = sessions.get(stage.session)
        if entry is None:
            rows.append(Row(stage.label, stage.python, stage.requests, "FAIL",
                            "no result from nox (it exited %d)" % code))
            continue
        reason = entry.get("reason") or ""
        took = " (%.0fs)" % entry["duration"] if entry.get("duration") else ""
        if NOT_FOUND.search(reason):
            rows.append(Row(stage.label, stage.python, stage.requests, "NOT RUN",
                            "python%s not found (pyenv or PATH)" % stage.python))
        elif entry["result"] == "success":
            rows.append(Row(stage.label, stage.python, stage.requests, "PASS", tails.get(stage.session, "") + took))
        else:
            rows.append(Row(stage.label, stage.python, stage.requests, "FAIL",
                            (tails.get(stage.session) or reason or entry["result"]) + took))
    return rows


def summary(rows: List[Row], strict: bool, wall: float, out: IO[str]) -> int:
    missing = [r for r in rows if r.verdict == "NOT RUN"]
    failed = [r for r in rows if r.verdict == "FAIL"]
    releases = [r for r in rows if r.label.startswith("Checkmk ")]
    out.write("\n%s\nTest stages (nox sessions; the matrix runs the script's tests under each release's site "
              "Python)\n" % RULE)
    out.write("  %-12s %-7s %-9s %-8s %s\n" % ("stage", "Python", "requests", "result", "detail"))
    for row in rows:
        out.write("  %-12s %-7s %-9s %-8s %s\n" % row)
    if releases:
        out.write("  %d of %d releases ran, %d failed, %d NOT RUN\n" % (
            sum(r.verdict != "NOT RUN" for r in releases), len(releases),
            sum(r.verdict == "FAIL" for r in releases), sum(r.verdict == "NOT RUN" for r in releases)))
    stale = releases and subset_is_stale()
    if releases:
        out.write("  The releases skip the script tests listed in %s (the suite runs them): the others reach\n"
                  "  every line and branch of the runtime they reach (tools/matrix_subset.py).\n"
                  % LIST.relative_to(REPO))
    if stale:
        out.write("  STALE: that list was measured on another src/cmk_ilert; code changed since may not run under\n"
                  "  every release. Run: .venv/bin/python tools/matrix_subset.py (about 5 minutes), commit the list.\n")
        if strict:
            out.write("  This run is strict (CI=true or --strict): a stale list FAILS it.\n")
    out.write("  %d stage(s) in %.0fs wall, %d failed\n" % (len(rows), wall, len(failed)))
    if missing:
        versions = sorted({r.python for r in missing}, key=lambda v: [int(x) for x in v.split(".")])
        out.write("\n  NOT RUN: %s.\n" % ", ".join("%s (Python %s)" % (r.label, r.python) for r in missing))
        out.write("  The script was NOT tested under %s on this machine.\n" % ", ".join(
            "Python " + v for v in versions))
        out.write("  Get them with:  pyenv install %s   (or put %s on PATH), then: make matrix\n" % (
            " ".join(versions), ", ".join("python" + v for v in versions)))
        if strict:
            out.write("  This run is strict (CI=true or --strict): a missing interpreter FAILS it.\n")
        else:
            out.write("  Not a failure here; CI (CI=true) fails on a missing interpreter.\n")
    out.write("%s\n" % RULE)
    out.flush()
    return 1 if failed or ((missing or stale) and strict) else 0


def subset_is_stale() -> bool:
    """The list of tests the releases skip was measured on other runtime sources."""
    return recorded_digest() != runtime_digest()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    strictness = parser.add_mutually_exclusive_group()
    strictness.add_argument("--strict", action="store_true", help="a missing interpreter fails the run (CI's default)")
    strictness.add_argument("--allow-missing", action="store_true", help="a missing interpreter never fails the run")
    parser.add_argument("--release", action="append", help="only these release lines (e.g. 2.0)")
    parser.add_argument("--suite", action="store_true", help="also run the default test suite (nox session suite)")
    parser.add_argument("--slow", action="store_true", help="also run the slow family (nox session slow)")
    parser.add_argument("--jobs", type=int, default=2, help="sessions at a time (default 2)")
    parser.add_argument("--envdir", help="where nox keeps the venvs (default .cache/nox)")
    parser.add_argument("--heartbeat", type=float, default=60.0, help="seconds of silence before a still-running line")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments, given to every session")
    args = parser.parse_args(argv)
    strict = args.strict or (in_ci(dict(os.environ)) and not args.allow_missing)
    out = sys.stdout

    chosen = stages(args.suite, args.slow, args.release)
    out.write("Test stages: %s, %d at a time (nox --parallel)\n" % (", ".join(s.session for s in chosen), args.jobs))
    out.flush()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "nox-report.json"
        try:
            code, tails = run_nox(chosen, args.jobs, strict, args.pytest_args, out, report, args.heartbeat,
                                  args.envdir)
        except KeyboardInterrupt:
            out.write("\nStopped: the sessions were ended, nothing is reported.\n")
            return 130
        rows = rows_from(chosen, report, code, tails)
    return summary(rows, strict, time.monotonic() - started, out)


if __name__ == "__main__":
    sys.exit(main())
