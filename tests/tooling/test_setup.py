"""``make setup`` on a fresh machine: the tooling's floor, the CLI from a checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from tests.support.site import REPO
from tools.check_python import MINIMUM
from tools.matrix import find_python


def top_level() -> Dict[str, str]:
    """The environment of a make typed at a prompt, not of one nested in ``make test``."""
    return {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}


def test_make_setup_refuses_a_too_old_python_in_one_line(tmp_path: Path) -> None:
    old = find_python("3.9")
    if old is None:
        pytest.skip("no Python 3.9 on this machine to try the refusal with")
    venv = tmp_path / "venv"
    proc = subprocess.run(["make", "setup", "PYTHON=" + old, "VENV=" + str(venv)], cwd=str(REPO), env=top_level(),
                          capture_output=True, text=True, timeout=120)
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert proc.returncode == 2, proc
    assert len(lines) == 1, lines
    assert "the tooling needs Python 3.10+ (the site runtime only 3.8+), but %s is 3.9." % old in lines[0]
    assert "make PYTHON=python3.11 setup" in lines[0]
    assert not venv.exists()


def test_make_setup_names_a_missing_python(tmp_path: Path) -> None:
    proc = subprocess.run(["make", "setup", "PYTHON=python3.99", "VENV=" + str(tmp_path / "venv")],
                          cwd=str(REPO), env=top_level(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "python3.99 not found: the tooling needs Python 3.10+" in proc.stderr


def test_this_python_passes_the_check() -> None:
    assert sys.version_info[:2] >= MINIMUM
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "check_python.py")], capture_output=True, text=True)
    assert (proc.returncode, proc.stdout) == (0, "")


def test_the_cli_runs_from_the_dev_venv_anywhere_a_site_included(tmp_path: Path) -> None:
    """``make setup`` links src/ into .venv: ``python -m cmk_ilert`` works from anywhere, also where
    ``OMD_ROOT`` is set (a support engineer running the checkout's CLI on a site)."""
    venv_python = REPO / ".venv" / "bin" / "python"
    if not venv_python.exists():
        pytest.skip("no .venv (make setup) in this checkout")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    for site in ({}, {"OMD_ROOT": str(tmp_path), "OMD_SITE": "prod"}):
        proc = subprocess.run([str(venv_python), "-m", "cmk_ilert", "dry-run", "--help"], cwd=str(tmp_path),
                              env=dict(env, **site), capture_output=True, text=True)
        assert proc.returncode == 0 and "usage: python3 -m cmk_ilert dry-run" in proc.stdout, (site, proc.stderr)


def test_the_simulated_site_python_never_sees_the_checkout(tmp_path: Path) -> None:
    """The tests run the installed script under the site's own Python (tools/site_python.py):
    requests is there, the checkout is not, so a file the package lacks fails as on a site."""
    site_python = REPO / ".cache" / "site-python" / "bin" / "python"
    if not site_python.exists():
        pytest.skip("no .cache/site-python (make setup) in this checkout")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "OMD_ROOT": str(tmp_path)}
    proc = subprocess.run([str(site_python), "-c", "import requests; import cmk_ilert"], cwd=str(tmp_path), env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "No module named 'cmk_ilert'" in proc.stderr, proc.stderr
    proc = subprocess.run([str(site_python), "-c", "import requests, sys; print(requests.__version__, sys.prefix)"],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True)
    assert proc.returncode == 0 and str(REPO / ".venv") not in proc.stdout


def test_ci_runs_strict() -> None:
    text = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert 'export CI="${CI:-true}"' in text.splitlines() and "make test" in text.splitlines()
