"""tools/matrix.py (nox sessions, several at a time) on a machine with fewer interpreters: what ran, what did not,
and when that fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

import pytest

from mkp.checkmk_releases import RELEASES
from tests.support.site import REPO

MATRIX = str(REPO / "tools" / "matrix.py")


def hidden(tmp_path: Path, path: str, ci: Optional[str] = None) -> Dict[str, str]:
    """No pyenv (PYENV_ROOT names nothing, HOME has no ~/.pyenv) and only ``path`` to search."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYENV_ROOT", "PYENV_VERSION")}
    env.update(PATH=path, PYENV_ROOT=str(tmp_path / "no-pyenv"), HOME=str(tmp_path / "home"))
    if ci is not None:
        env["CI"] = ci
    return env


def test_no_interpreter_at_all_is_reported_loudly_and_passes(tmp_path: Path) -> None:
    """Every release but the one of the Python running nox (nox always finds its own interpreter)."""
    mine = "%d.%d" % sys.version_info[:2]
    others = {line: r for line, r in RELEASES.items() if r.python != mine}
    empty = tmp_path / "bin"
    empty.mkdir()
    proc = subprocess.run([sys.executable, MATRIX, "--jobs", "3", *["--release=" + line for line in others]],
                          env=hidden(tmp_path, str(empty)), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "0 of %d releases ran, 0 failed, %d NOT RUN" % (len(others), len(others)) in out
    for line, release in others.items():
        assert "Checkmk %s (Python %s)" % (line, release.python) in out
    versions = sorted({r.python for r in others.values()}, key=lambda v: [int(x) for x in v.split(".")])
    assert "Get them with:  pyenv install %s" % " ".join(versions) in out
    assert "CI (CI=true) fails on a missing interpreter" in out
    assert "passed" not in out  # no session ran a test


@pytest.mark.parametrize("ci", ["true", "1"])
def test_in_ci_a_missing_interpreter_fails(tmp_path: Path, ci: str) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    proc = subprocess.run([sys.executable, MATRIX, "--release", "2.0"], env=hidden(tmp_path, str(empty), ci),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "a missing interpreter FAILS it" in proc.stdout


def test_allow_missing_overrides_ci(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    proc = subprocess.run([sys.executable, MATRIX, "--release", "2.0", "--allow-missing"],
                          env=hidden(tmp_path, str(empty), "true"), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0


def test_a_present_interpreter_runs_with_progress(tmp_path: Path) -> None:
    """The release whose Python this one is runs as a nox session (a few tests only), its output shown,
    its pytest summary in the table. Its own venv folder: a real matrix may be using .cache/nox now."""
    mine = "%d.%d" % sys.version_info[:2]
    lines = [line for line, release in RELEASES.items() if release.python == mine]
    if not lines:
        pytest.skip("no Checkmk release uses Python %s" % mine)
    folder = Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable))).parent
    assert (folder / ("python" + mine)).exists()
    other = [line for line in RELEASES if RELEASES[line].python != mine][0]
    proc = subprocess.run([sys.executable, MATRIX, "--release", lines[0], "--release", other, "--jobs", "2",
                           "--envdir", str(tmp_path / "envs"),
                           "--", "-n", "1", "-k", "test_installed_script_has_checkmk_header"],
                          env=hidden(tmp_path, "%s:/usr/bin:/bin" % folder, "false"), capture_output=True, text=True,
                          timeout=600)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "Starting session matrix-%s..." % lines[0] in out
    assert "matrix-%s: success" % lines[0] in out  # nox's block of the session, with pytest's own lines
    assert "1 passed" in out.split("matrix-%s: success" % lines[0])[1]
    row = [x for x in out.splitlines() if x.startswith("  Checkmk %s " % lines[0])]
    assert len(row) == 1 and " PASS " in row[0] and "1 passed in" in row[0], out
    assert "1 of 2 releases ran, 0 failed, 1 NOT RUN" in out
    assert "NOT RUN: Checkmk %s (Python %s)" % (other, RELEASES[other].python) in out
