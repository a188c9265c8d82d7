"""The forms under the site Python of their oldest / newest Checkmk release:
legacy form + 2.0/2.1 contract on Python 3.8, modern form + 2.5 contract on Python 3.13."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def _python(version):
    """An interpreter of ``version`` ("3.8"): $CMK_ILERT_PY38 / _PY313, pyenv, PATH."""
    candidates = [os.environ.get("CMK_ILERT_PY" + version.replace(".", ""))]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/%s.*/bin/python" % version)))
    candidates += sorted(glob.glob("/root/.pyenv/versions/%s.*/bin/python" % version))
    candidates.append(shutil.which("python" + version))
    for candidate in candidates:
        if not candidate or not os.path.exists(candidate):
            continue
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, check=False, timeout=30,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


@pytest.mark.forms_site_python
@pytest.mark.parametrize("version, which", [("3.8", "legacy"), ("3.13", "modern")])
def test_form_under_the_site_python(version, which):
    python = _python(version)
    if python is None:
        pytest.skip("no working Python %s interpreter" % version)
    result = subprocess.run(
        [python, os.path.join(HERE, "site_python_smoke.py"), which],
        capture_output=True, text=True, timeout=120, check=False,
        env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok ")
    assert result.stdout.split()[2].startswith(version)
