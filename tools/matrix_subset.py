#!/usr/bin/env python3
"""Which runtime tests the interpreter matrix must repeat, by what they execute of the runtime.

The matrix (noxfile.py, ``matrix-2.0`` ... ``matrix-2.5``) exists to run the package's own code
under each Checkmk release's Python and ``requests``. Many runtime tests execute exactly the lines
and branches others do, with other data (137 notification types go through the same mapping
code). This tool measures, under one site Python, the branch coverage of ``src/cmk_ilert`` that
each runtime test causes in the scripts it starts, and picks a subset of tests that together
reach every line and branch the whole runtime family reaches (greedy set cover, cheapest first).
The rest are written to ``tests/support/matrix_repeat_not.txt``: the matrix does not repeat them
(pytest marker ``matrix_covered``); the suite still runs every one of them once, under Checkmk
2.2's Python.

Kept per release whatever coverage says (``ALWAYS``): families whose point is the behaviour of
the *libraries* under each pin (requests/urllib3 exceptions and their texts, TLS, network faults,
the installed MKP), which the same lines of ours meet differently per release; and every test
this tool could not measure (no coverage data: e.g. an installed MKP outside ``src/``).
A runtime test that is not in the list (a new one) runs per release: the safe default.

Run it after changing the runtime or its tests (about 4 minutes on 2 cores):
``.venv/bin/python tools/matrix_subset.py``; ``--check`` only reports how the list compares
with a fresh measurement. It needs ``coverage`` (requirements-dev.txt) and builds its own site
Python with it under ``.cache/matrix-coverage/`` (Checkmk 2.2's ``requests`` pin).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path
from typing import Dict, FrozenSet, List, Set, Tuple

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mkp.checkmk_releases import RELEASES  # noqa: E402

LIST = REPO / "tests" / "support" / "matrix_repeat_not.txt"
FOLDER = REPO / ".cache" / "matrix-coverage"
PYTHON = FOLDER / "bin" / "python"
RELEASE = RELEASES["2.2"]
#: Families run whole under every release, whatever their coverage (see the docstring).
ALWAYS = (
    "tests/hostile/test_secrets.py",  # exception texts of requests/urllib3 differ per pin
    "tests/delivery/test_fault_matrix.py",  # network faults as each urllib3 meets them
    "tests/script/test_network.py",  # TLS, proxies, timeouts through each requests
    "tests/install/test_installed_release.py",  # the MKP installed as that release installs it
    "tests/test_smoke_script.py",
)
Arc = Tuple[str, int, int]
DIGEST_LINE = "# runtime digest: "


def coverage_pin() -> str:
    for line in (REPO / "requirements-dev.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("coverage=="):
            return line.split("==", 1)[1].strip()
    raise SystemExit("requirements-dev.txt pins no coverage version")


def site_python() -> Path:
    """A site Python (Checkmk 2.2's requests pin) that starts coverage in every process."""
    stamp = FOLDER / ".ready"
    want = "%s %s" % (RELEASE.requests, coverage_pin())
    if stamp.exists() and stamp.read_text() == want and PYTHON.exists():
        return PYTHON
    shutil.rmtree(FOLDER, ignore_errors=True)
    venv.EnvBuilder(with_pip=True).create(str(FOLDER))
    subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "requests==" + RELEASE.requests, "coverage==" + coverage_pin()], check=True)
    purelib = subprocess.run([str(PYTHON), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    # coverage's documented way to measure subprocesses: process_startup() from a .pth, active
    # only where COVERAGE_PROCESS_START names a configuration.
    Path(purelib, "zz_coverage_startup.pth").write_text("import coverage; coverage.process_startup()\n")
    stamp.write_text(want)
    return PYTHON


Measured = Tuple[Dict[str, FrozenSet[Arc]], Dict[str, float], List[str]]


def measure(work: Path, jobs: int, reuse: bool = False) -> Measured:
    """Run the runtime family once with coverage; (arcs per test, seconds per test, all tests)."""
    work.mkdir(parents=True, exist_ok=True)
    rc = work / "coveragerc"
    # patch = _exit: the scripts end with os._exit (notify/script.py exit_now); coverage saves first.
    # source_pkgs: the package wherever a test's site imports it from (the checkout, or an MKP
    # installed into the site's local/lib/python3); _read maps both onto src/.
    rc.write_text("[run]\nbranch = True\nparallel = True\npatch = _exit\nsource_pkgs = cmk_ilert\n")
    data = work / "data"
    if not (reuse and data.is_dir()):
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        _run(rc, data, jobs)
    return _read(data)


def _run(rc: Path, data: Path, jobs: int) -> None:
    env = dict(os.environ, CMK_ILERT_TEST_PYTHON=str(site_python()), CMK_ILERT_TEST_RELEASE=RELEASE.line,
               COVERAGE_PROCESS_START=str(rc), CMK_ILERT_COVERAGE_DIR=str(data),
               COVERAGE_FILE=str(data / "outside-any-test"))  # e.g. the report header's interpreter check
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", str(jobs),
                           "-m", "runtime and not slow", "-W", "ignore"], cwd=str(REPO), env=env)
    if proc.returncode != 0:
        raise SystemExit("the runtime family failed under coverage (exit %d): fix that first" % proc.returncode)


def _read(data: Path) -> Measured:
    import coverage  # lazy: only this tool needs it

    tests: Dict[str, str] = {}
    seconds: Dict[str, float] = {}
    for index in data.glob("*.test.json"):
        record = json.loads(index.read_text())
        tests[record["id"]] = index.name[:-len(".test.json")]
        seconds[record["id"]] = record["seconds"]
    arcs: Dict[str, FrozenSet[Arc]] = {}
    for nodeid, tag in tests.items():
        found: Set[Arc] = set()
        for part in data.glob(tag + ".cov.*"):
            cov = coverage.CoverageData(basename=str(part))
            cov.read()
            for filename in cov.measured_files():
                rel = "src/cmk_ilert/" + filename.replace(os.sep, "/").rsplit("/cmk_ilert/", 1)[-1]
                for a, b in cov.arcs(filename) or ():
                    found.add((rel, a, b))
        arcs[nodeid] = frozenset(found)
    return arcs, seconds, sorted(tests)


def cover(arcs: Dict[str, FrozenSet[Arc]], seconds: Dict[str, float]) -> List[str]:
    """Greedy weighted set cover: the tests that reach every arc any test reaches, preferring
    the most new arcs per second."""
    chosen = [t for t in arcs if t.split("::")[0] in ALWAYS or not arcs[t]]
    covered: Set[Arc] = set().union(*(arcs[t] for t in chosen)) if chosen else set()
    universe: Set[Arc] = set().union(*arcs.values()) if arcs else set()
    left = {t: a - covered for t, a in arcs.items() if t not in chosen}
    while covered != universe:
        best = max(left, key=lambda t: (len(left[t]) / max(seconds.get(t, 1.0), 0.05), t))
        gain = left.pop(best)
        if not gain:
            break
        chosen.append(best)
        covered |= gain
        left = {t: a - gain for t, a in left.items()}
    return sorted(chosen)


def runtime_digest() -> str:
    """What the list was measured on: the runtime's sources (src/cmk_ilert, its .py files)."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "src" / "cmk_ilert").rglob("*.py")):
        digest.update(path.relative_to(REPO).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def recorded_digest() -> str:
    """The digest the list names (``# runtime digest: ...``), or "" without a list."""
    if not LIST.exists():
        return ""
    for line in LIST.read_text(encoding="utf-8").splitlines():
        if line.startswith(DIGEST_LINE):
            return line[len(DIGEST_LINE):].strip()
    return ""


def write(all_tests: List[str], chosen: List[str], arcs: Dict[str, FrozenSet[Arc]],
          seconds: Dict[str, float]) -> None:
    rest = sorted(set(all_tests) - set(chosen))
    universe = set().union(*arcs.values()) if arcs else set()
    header = [
        "# Runtime tests the interpreter matrix does not repeat: under Checkmk %s's Python with requests %s"
        % (RELEASE.line, RELEASE.requests),
        "# (tools/matrix_subset.py), the other runtime tests reach every line and branch of src/cmk_ilert",
        "# that these reach. The suite runs them once. Regenerate after changing the runtime or its tests.",
        "# measured: %d runtime tests, %d branch arcs; per release %d tests (%.0f s of %.0f s), %d not repeated"
        % (len(all_tests), len(universe), len(chosen), sum(seconds.get(t, 0.0) for t in chosen),
           sum(seconds.values()), len(rest)),
        DIGEST_LINE + runtime_digest(),
    ]
    LIST.write_text("\n".join(header + rest) + "\n", encoding="utf-8")
    print(header[-2])
    print("wrote %s" % LIST.relative_to(REPO))


def listed() -> Set[str]:
    if not LIST.exists():
        return set()
    return {line.strip() for line in LIST.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="measure and compare; write nothing")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--data", metavar="DIR", help="keep the measurement in DIR and reuse it if there")
    args = parser.parse_args()
    if args.data:
        arcs, seconds, all_tests = measure(Path(args.data), args.jobs, reuse=True)
    else:
        with tempfile.TemporaryDirectory(prefix="matrix-subset-") as tmp:
            arcs, seconds, all_tests = measure(Path(tmp), args.jobs)
    chosen = cover(arcs, seconds)
    if args.check:
        universe = set().union(*arcs.values()) if arcs else set()
        repeated = [t for t in all_tests if t not in listed()]
        reached = set().union(*(arcs[t] for t in repeated)) if repeated else set()
        missing = sorted(universe - reached)
        print("per release: %d tests reach %d of %d arcs" % (len(repeated), len(reached), len(universe)))
        for rel, a, b in missing[:20]:
            print("  not reached per release: %s %d->%d" % (rel, a, b))
        return 1 if missing else 0
    write(all_tests, chosen, arcs, seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
