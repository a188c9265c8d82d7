"""Simulated Checkmk sites with the real MKP installed, and timed runs of their script.

The MKP is built once per benchmark run from the repository (``mkp.build``) into
a temporary directory and installed into a fresh temporary ``$OMD_ROOT`` per
measurement series (``mkp.site_install``), so every figure measures the
*installed* script: ``local/share/check_mk/notifications/cmk_ilert`` with
``PYTHONPATH=<site>/local/lib/python3``, as a site's sitecustomize sets it up.

Unlike the repository's Makefile, the children do *not* get
``PYTHONDONTWRITEBYTECODE``: on a real site ``local/lib/python3`` belongs to the
site user, so the first run writes the ``.pyc`` files and every later run uses
them. Each series starts with one unmeasured warm-up run for that reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from mkp.build import build  # noqa: E402
from mkp.site_install import InstallRefusedError, install  # noqa: E402

#: The site's Python (tools/site_python.py: requests only, never the checkout); the dev
#: interpreter where ``make setup`` has not made it.
_SITE_PYTHON = REPO / ".cache" / "site-python" / "bin" / "python"
SITE_PYTHON = str(_SITE_PYTHON) if _SITE_PYTHON.exists() else sys.executable

FLOOR = Path(__file__).resolve().parent / "floor.py"
RSS_WRAPPER = Path(__file__).resolve().parent / "rss.py"
SCRIPT_IN_SITE = Path("local", "share", "check_mk", "notifications", "cmk_ilert")
LIB_IN_SITE = Path("local", "lib", "python3")


class Timed(NamedTuple):
    seconds: float
    returncode: int
    stdout: str
    stderr: str


class Package:
    """The MKP built from ``source_root`` (the repository, or a patched copy of it)."""

    def __init__(self, workdir: Path, release: str, source_root: Path = REPO) -> None:
        self.release = release
        self.workdir = workdir
        built = build(source_root, workdir / "dist")
        self._paths = [artifact.path for artifact in built]
        self._counter = 0

    def new_site(self, name: str) -> "Site":
        """A fresh ``$OMD_ROOT`` with the package installed (the line this release accepts)."""
        self._counter += 1
        root = self.workdir / ("%02d-%s" % (self._counter, name))
        (root / "var" / "log").mkdir(parents=True)
        refusals = []
        for path in self._paths:
            try:
                install(path, root, self.release)
                return Site(root)
            except InstallRefusedError as exc:
                refusals.append(str(exc))
        raise RuntimeError("no artifact installs on Checkmk %s: %s" % (self.release, "; ".join(refusals)))


class Site:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.script = root / SCRIPT_IN_SITE

    @property
    def queue_dir(self) -> Path:
        return self.root / "var" / "cmk_ilert" / "queue"

    def queued(self) -> int:
        return len(list(self.queue_dir.glob("*.json"))) if self.queue_dir.exists() else 0

    def env(self, extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": str(self.root),
            "OMD_ROOT": str(self.root),
            "OMD_SITE": "bench",
            "PYTHONPATH": str(self.root / LIB_IN_SITE),
        }
        env.update(extra or {})
        return env

    def notify_argv(self, bulk: bool = False) -> List[str]:
        return [SITE_PYTHON, str(self.script)] + (["--bulk"] if bulk else [])

    def floor_argv(self) -> List[str]:
        return [SITE_PYTHON, str(FLOOR)]

    def cli_argv(self, *args: str) -> List[str]:
        return [SITE_PYTHON, "-m", "cmk_ilert", *args]


def timed(argv: Sequence[str], env: Mapping[str, str], stdin: Optional[bytes] = None,
          timeout: float = 900.0) -> Timed:
    """Wall time of one child, from spawn to exit."""
    start = time.perf_counter()
    proc = subprocess.run(list(argv), env=dict(env), input=stdin if stdin is not None else b"",
                          capture_output=True, timeout=timeout)
    seconds = time.perf_counter() - start
    return Timed(seconds, proc.returncode, proc.stdout.decode("utf-8", "replace"),
                 proc.stderr.decode("utf-8", "replace"))


def peak_rss_kb(argv: Sequence[str], env: Mapping[str, str], stdin: Optional[bytes] = None,
                timeout: float = 900.0) -> int:
    """Peak RSS (KiB) of one child, measured by the tiny fork wrapper ``rss.py``."""
    with tempfile.NamedTemporaryFile("r", suffix=".json") as out:
        wrapped = [sys.executable, "-I", "-S", str(RSS_WRAPPER), out.name, "--", *argv]
        proc = subprocess.run(wrapped, env=dict(env), input=stdin if stdin is not None else b"",
                              capture_output=True, timeout=timeout)
        result = json.loads(Path(out.name).read_text() or "{}")
    if proc.returncode != 0 or result.get("returncode") not in (0,):
        raise RuntimeError("measured command failed (%s): %s" % (result, proc.stderr.decode("utf-8", "replace")))
    return int(result["maxrss_kb"])


def check(run: Timed, what: str, expect: int = 0) -> Timed:
    """A benchmark must not report figures of runs that did not do the work."""
    if run.returncode != expect:
        raise RuntimeError("%s exited %d (expected %d):\n%s%s" % (what, run.returncode, expect, run.stdout[-2000:],
                                                                  run.stderr[-2000:]))
    return run
