#!/usr/bin/env python3
"""Run the script tests under every Checkmk release's site Python and requests.

For each release (mkp/checkmk_releases.py) this finds the interpreter, keeps a
cached virtual environment with that release's requests pin under
``.cache/matrix/``, and runs the ``runtime`` tests with ``CMK_ILERT_TEST_PYTHON``
pointing at it: the test process stays on the dev Python, the notification
script under test runs on the old one, exactly as on a site.

Interpreters are looked up in pyenv's ``versions`` folder (``$PYENV_ROOT`` if
set, else ``pyenv root`` and ``~/.pyenv``), then as ``pythonX.Y`` on ``PATH``;
each candidate must run and report its version. To hide them all, e.g. to
try a machine with one Python: ``PYENV_ROOT=/nonexistent PATH=/usr/bin:/bin``.

A release whose interpreter is missing is NOT RUN, never silently: the run
ends with a summary naming it and how to get it. It fails the run only in CI
(``CI=true`` in the environment, as ``.ci/run`` has it) or with ``--strict``;
``--allow-missing`` passes even in CI.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Dict, List, NamedTuple, Optional, Tuple

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mkp.checkmk_releases import RELEASES, Release  # noqa: E402

RULE = "=" * 78


class Row(NamedTuple):
    line: str
    python: str
    requests: str
    verdict: str  # PASS, FAIL, NOT RUN
    detail: str


def in_ci(environ: Dict[str, str]) -> bool:
    return environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def pyenv_roots(environ: Dict[str, str]) -> List[str]:
    explicit = environ.get("PYENV_ROOT")
    if explicit is not None:
        return [explicit]  # pyenv's own variable: it decides, also when it names nothing
    roots = []
    try:
        out = subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=10, env=environ)
        roots.append(out.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    home = environ.get("HOME")
    if home:
        roots.append(os.path.join(home, ".pyenv"))
    return [r for r in roots if r]


def _version_key(path: str) -> List[int]:
    folder = path.split("/versions/")[1].split("/")[0]
    return [int(x) for x in folder.split(".") if x.isdigit()]


def reports_version(python: str, version: str) -> bool:
    """The candidate runs and is Python ``version`` (a pyenv shim of another version is not)."""
    try:
        out = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and out.stdout.strip() == version


def find_python(version: str, environ: Optional[Dict[str, str]] = None) -> Optional[str]:
    env = dict(os.environ if environ is None else environ)
    candidates: List[str] = []
    for root in pyenv_roots(env):
        pattern = os.path.join(root, "versions", version + ".*", "bin", "python" + version)
        candidates += sorted(glob.glob(pattern), key=_version_key, reverse=True)
    on_path = shutil.which("python" + version, path=env.get("PATH", ""))
    if on_path:
        candidates.append(on_path)
    for candidate in candidates:
        if reports_version(candidate, version):
            return candidate
    return None


def ensure_env(python: str, version: str, requests_pin: str, out: IO[str]) -> str:
    """The cached venv of this release's Python and requests pin; (re)made when missing or broken
    (e.g. its interpreter, a symlink, is gone). Made from the interpreter's real path, so that a
    symlink found on PATH today cannot break it tomorrow."""
    target = REPO / ".cache" / "matrix" / ("py%s-requests%s" % (version, requests_pin))
    exe = target / "bin" / "python"
    marker = target / ".ready"
    if not (marker.exists() and reports_version(str(exe), version)):
        python = os.path.realpath(python)
        out.write("    creating %s (requests==%s)\n" % (target.relative_to(REPO), requests_pin))
        out.flush()
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run([python, "-m", "venv", str(target)], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([str(exe), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "requests==" + requests_pin], check=True)
        marker.write_text("ok\n")
    return str(exe)


def stream(cmd: List[str], env: Dict[str, str], prefix: str, out: IO[str],
           quiet_after: float = 30.0) -> Tuple[int, List[str]]:
    """Run ``cmd`` and echo its output line by line behind ``prefix`` (pytest -q prints a line of
    dots and a percentage per ~75 tests); a status line overwritten with a carriage return is
    dropped. After ``quiet_after`` seconds without a line, say that it is still running.
    Returns the exit code and the output's last lines."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=str(REPO), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    lines: List[str] = []
    partial = ""
    last_line_at = time.monotonic()
    while True:
        ready, _, _ = select.select([fd], [], [], 5.0)
        if not ready:
            if time.monotonic() - last_line_at >= quiet_after:
                out.write("%s... still running, %.0fs so far\n" % (prefix, time.monotonic() - started))
                out.flush()
                last_line_at = time.monotonic()
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        partial += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        *complete, partial = partial.split("\n")
        for line in complete:
            line = line.rsplit("\r", 1)[-1]  # what a terminal would show after the overwrites
            if line.strip() and (not lines or line != lines[-1]):  # xdist repeats "bringing up nodes..."
                out.write(prefix + line + "\n")
                lines = (lines + [line])[-200:]
        if complete:
            out.flush()
            last_line_at = time.monotonic()
    if partial.strip():
        out.write(prefix + partial + "\n")
        lines.append(partial)
    return proc.wait(), lines


def run_release(index: int, total: int, release: Release, python: str, workers: int,
                pytest_args: List[str], out: IO[str]) -> Row:
    tag = "[%d/%d] Checkmk %s" % (index, total, release.line)
    started = time.monotonic()
    out.write("\n%s: started %s, Python %s (%s), requests %s\n" % (
        tag, time.strftime("%H:%M:%S"), release.python, python, release.requests))
    out.flush()
    try:
        exe = ensure_env(python, release.python, release.requests, out)
    except subprocess.CalledProcessError as exc:
        return Row(release.line, release.python, release.requests, "FAIL",
                   "could not prepare the venv (%s exited %d)" % (os.path.basename(str(exc.cmd[0])), exc.returncode))
    env = dict(os.environ, CMK_ILERT_TEST_PYTHON=exe, CMK_ILERT_TEST_RELEASE=release.line)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", str(workers),
           "-m", "runtime and not slow", *pytest_args]
    code, lines = stream(cmd, env, "    %s | " % release.line, out)
    tail = [re.sub(r" \(\d+:\d\d:\d\d\)", "", x.strip("= ")) for x in lines if x.strip()][-1:] or ["(no output)"]
    verdict = "PASS" if code == 0 else "FAIL"
    took = time.monotonic() - started
    out.write("%s: %s in %.0fs: %s\n" % (tag, verdict, took, tail[0]))
    out.flush()
    return Row(release.line, release.python, release.requests, verdict, "%s (%.0fs in all)" % (tail[0], took))


def summary(rows: List[Row], strict: bool, out: IO[str]) -> int:
    missing = [r for r in rows if r.verdict == "NOT RUN"]
    failed = [r for r in rows if r.verdict == "FAIL"]
    ran = [r for r in rows if r.verdict != "NOT RUN"]
    out.write("\n%s\nInterpreter matrix: the notification script's tests under each release's site Python\n" % RULE)
    out.write("  %-8s %-7s %-9s %-8s %s\n" % ("Checkmk", "Python", "requests", "result", "detail"))
    for row in rows:
        out.write("  %-8s %-7s %-9s %-8s %s\n" % row)
    out.write("  %d of %d releases ran, %d failed, %d NOT RUN\n" % (len(ran), len(rows), len(failed), len(missing)))
    if missing:
        versions = sorted({r.python for r in missing}, key=lambda v: [int(x) for x in v.split(".")])
        out.write("\n  NOT RUN: %s.\n" % ", ".join("Checkmk %s (Python %s)" % (r.line, r.python) for r in missing))
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
    return 1 if failed or (missing and strict) else 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    strictness = parser.add_mutually_exclusive_group()
    strictness.add_argument("--strict", action="store_true", help="a missing interpreter fails the run (CI's default)")
    strictness.add_argument("--allow-missing", action="store_true", help="a missing interpreter never fails the run")
    parser.add_argument("--release", action="append", help="only these release lines (e.g. 2.0)")
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers per run (default 2)")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments")
    args = parser.parse_args(argv)
    strict = args.strict or (in_ci(dict(os.environ)) and not args.allow_missing)
    out = sys.stdout

    chosen = [r for line, r in sorted(RELEASES.items(), key=lambda kv: [int(x) for x in kv[0].split(".")])
              if not args.release or line in args.release]
    found = {r.line: find_python(r.python) for r in chosen}
    present = [r for r in chosen if found[r.line]]
    out.write("Interpreter matrix: %d release(s) to run (%s)%s\n" % (
        len(present), ", ".join("%s on %s" % (r.line, r.python) for r in present) or "none",
        "; not found: " + ", ".join("Python %s for %s" % (r.python, r.line) for r in chosen if not found[r.line])
        if len(present) < len(chosen) else ""))
    out.flush()
    rows: List[Row] = []
    index = 0
    for release in chosen:
        python = found[release.line]
        if python is None:
            rows.append(Row(release.line, release.python, release.requests, "NOT RUN",
                            "python%s not found (pyenv or PATH)" % release.python))
            continue
        index += 1
        rows.append(run_release(index, len(present), release, python, args.workers, args.pytest_args, out))
    return summary(rows, strict, out)


if __name__ == "__main__":
    sys.exit(main())
