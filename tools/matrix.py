#!/usr/bin/env python3
"""Run the script tests under every Checkmk release's site Python and requests.

For each release (mkp/checkmk_releases.py) this finds the interpreter
(pyenv's versions folder, then ``pythonX.Y`` on PATH), keeps a cached virtual
environment with that release's requests pin under ``.cache/matrix/``, and
runs the ``runtime`` tests with ``CMK_ILERT_TEST_PYTHON`` pointing at it: the
test process stays on the dev Python, the notification script under test runs
on the old one, exactly as on a site.

A missing interpreter is reported as MISSING and fails the run, unless
``--allow-missing`` is given; it is never skipped silently.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional, Tuple

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mkp.checkmk_releases import RELEASES  # noqa: E402


def find_python(version: str) -> Optional[str]:
    roots = []
    try:
        roots.append(subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=10).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    roots.append(os.path.expanduser("~/.pyenv"))
    for root in roots:
        if not root:
            continue
        found = sorted(glob.glob(os.path.join(root, "versions", version + ".*", "bin", "python" + version)),
                       key=lambda p: [int(x) for x in p.split("/versions/")[1].split("/")[0].split(".")
                                      if x.isdigit()])
        if found:
            return found[-1]
    return shutil.which("python" + version)


def ensure_env(python: str, version: str, requests_pin: str) -> str:
    target = REPO / ".cache" / "matrix" / ("py%s-requests%s" % (version, requests_pin))
    exe = target / "bin" / "python"
    marker = target / ".ready"
    if not marker.exists():
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run([python, "-m", "venv", str(target)], check=True)
        subprocess.run([str(exe), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "requests==" + requests_pin], check=True)
        marker.write_text("ok\n")
    return str(exe)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--allow-missing", action="store_true", help="report missing interpreters but pass")
    parser.add_argument("--release", action="append", help="only these release lines (e.g. 2.0)")
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers per run (default 2)")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments")
    args = parser.parse_args()

    rows: List[Tuple[str, str, str, str, str]] = []
    failed = False
    for line, release in sorted(RELEASES.items(), key=lambda kv: [int(x) for x in kv[0].split(".")]):
        if args.release and line not in args.release:
            continue
        python = find_python(release.python)
        if python is None:
            rows.append((line, release.python, release.requests, "MISSING", "interpreter not found"))
            failed = failed or not args.allow_missing
            continue
        started = time.monotonic()
        exe = ensure_env(python, release.python, release.requests)
        env = dict(os.environ, CMK_ILERT_TEST_PYTHON=exe, CMK_ILERT_TEST_RELEASE=line)
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", str(args.workers),
               "-m", "runtime and not slow", *args.pytest_args]
        print("==> Checkmk %s: Python %s, requests %s (%s)" % (line, release.python, release.requests, exe),
              flush=True)
        proc = subprocess.run(cmd, cwd=str(REPO), env=env, capture_output=True, text=True)
        tail = [x for x in proc.stdout.strip().splitlines() if x.strip()][-1:] or ["(no output)"]
        verdict = "PASS" if proc.returncode == 0 else "FAIL"
        if proc.returncode != 0:
            failed = True
            print(proc.stdout[-6000:], proc.stderr[-2000:], sep="\n")
        rows.append((line, release.python, release.requests, verdict,
                     "%s (%.0fs)" % (tail[0], time.monotonic() - started)))
    print("\nInterpreter matrix (script tests under each site Python):")
    print("%-8s %-8s %-10s %-8s %s" % ("Checkmk", "Python", "requests", "result", "detail"))
    for row in rows:
        print("%-8s %-8s %-10s %-8s %s" % row)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
