"""tools/matrix.py on a machine with fewer interpreters: what ran, what did not, and when that fails."""

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
    empty = tmp_path / "bin"
    empty.mkdir()
    proc = subprocess.run([sys.executable, MATRIX], env=hidden(tmp_path, str(empty)), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "0 of %d releases ran, 0 failed, %d NOT RUN" % (len(RELEASES), len(RELEASES)) in out
    for line, release in RELEASES.items():
        assert "Checkmk %s (Python %s)" % (line, release.python) in out
    assert "Get them with:  pyenv install 3.8 3.9 3.11 3.12 3.13" in out
    assert "CI (CI=true) fails on a missing interpreter" in out


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
    """The release whose Python this one is runs (a few tests only), with its progress lines."""
    mine = "%d.%d" % sys.version_info[:2]
    lines = [line for line, release in RELEASES.items() if release.python == mine]
    if not lines:
        pytest.skip("no Checkmk release uses Python %s" % mine)
    folder = Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable))).parent
    assert (folder / ("python" + mine)).exists()
    proc = subprocess.run([sys.executable, MATRIX, "--release", lines[0], "--workers", "1",
                           "--", "-k", "test_installed_script_has_checkmk_header"],
                          env=hidden(tmp_path, "%s:/usr/bin:/bin" % folder, "false"), capture_output=True, text=True,
                          timeout=600)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "[1/1] Checkmk %s: started" % lines[0] in out
    assert "    %s | 1 passed" % lines[0] in out  # pytest's own lines, streamed behind the release
    assert "[1/1] Checkmk %s: PASS in" % lines[0] in out
    assert "1 of 1 releases ran, 0 failed, 0 NOT RUN" in out
