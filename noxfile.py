"""The test stages as nox sessions: the suite, the slow family, and one session per Checkmk release.

``matrix-2.0`` ... ``matrix-2.5`` each run the ``runtime`` tests (the notification script run as
a site runs it) except those marked ``matrix_covered``: tests whose every line and branch of the
runtime the others reach too (tools/matrix_subset.py measured it; the suite runs them once), with
``CMK_ILERT_TEST_PYTHON`` pointing at the session's virtual environment:
that release's site Python with its ``requests`` pin (mkp/checkmk_releases.py). The test process
itself stays on the dev Python (this one), exactly as before. ``suite`` is the default test suite,
``slow`` the slow family (crash, storm and budget trials); both run in the dev venv.

Run one directly: ``.venv/bin/nox -s matrix-2.0``; ``.venv/bin/nox -l`` lists them. What CI runs
(several sessions at a time, the table at the end) is ``tools/matrix.py``; see ``make test``.

Interpreters: nox's own discovery only sees what is on ``PATH`` (pyenv's shims expose just the
global version), so each release's interpreter is looked up here in pyenv's ``versions`` folder
(``$PYENV_ROOT`` if set, else ``pyenv root`` and ``~/.pyenv``), then as ``pythonX.Y`` on ``PATH``,
and must run and report its version; the session gets its absolute path. When none is found the
session asks nox for ``X.Y`` and nox skips it as "not found" (fails it with
``--error-on-missing-interpreters``). Nothing is ever downloaded (``download_python = never``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Dict

import nox

REPO = Path(__file__).resolve().parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from mkp.checkmk_releases import RELEASES, Release  # noqa: E402
from tools.interpreters import find_python  # noqa: E402

#: The suite's own script runs happen under this release's site Python and requests pin, so the
#: suite is that release's matrix run too (matrix-2.2 is then not run again: same tests, same
#: interpreter, same requests). Without that interpreter the suite's script runs use the site
#: Python of ``make setup`` and matrix-2.2 is NOT RUN like any release whose Python is missing.
SUITE_RELEASE = RELEASES["2.2"]
SUITE_PYTHON = find_python(SUITE_RELEASE.python)

nox.options.default_venv_backend = "venv"
nox.options.download_python = "never"
nox.options.envdir = str(REPO / ".cache" / "nox")
nox.options.reuse_venv = "yes"
# On reuse, nox checks the venv's interpreter only with this set: a venv kept in .cache/ must not
# stand in for an interpreter that is gone or hidden (then the session is "not found", as it should).
os.environ.setdefault("NOX_ENABLE_STALENESS_CHECK", "1")
nox.options.sessions = ["suite", "slow", *("matrix-" + line for line in RELEASES
                                            if not (SUITE_PYTHON and line == SUITE_RELEASE.line))]

#: pytest as every session runs it: the dev Python, no cache folder in the checkout.
PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
#: What each release runs: the script tests but those the others cover (tools/matrix_subset.py).
MATRIX_TESTS = "runtime and not slow and not matrix_covered"




def _suite(session: nox.Session, env: Dict[str, str]) -> None:
    session.run(*PYTEST, "-n", "2", *session.posargs, external=True, env=env)


if SUITE_PYTHON:
    @nox.session(name="suite", python=SUITE_PYTHON, allow_parallel=True)
    def suite(session: nox.Session) -> None:
        """The default test suite (everything but the slow family) on two workers, the notification
        script under Checkmk 2.2's Python and requests (the 2.2 matrix run included)."""
        session.install("--disable-pip-version-check", "requests==" + SUITE_RELEASE.requests)
        exe = os.path.join(session.virtualenv.location, "bin", "python")  # type: ignore[union-attr]
        _suite(session, {"CMK_ILERT_TEST_PYTHON": exe, "CMK_ILERT_TEST_RELEASE": SUITE_RELEASE.line})
else:
    @nox.session(name="suite", python=False, allow_parallel=True)
    def suite(session: nox.Session) -> None:
        """The default test suite (everything but the slow family) on two workers, in the dev venv."""
        _suite(session, {})


@nox.session(python=False, allow_parallel=True)
def slow(session: nox.Session) -> None:
    """The slow family: crash, storm and budget trials, in the dev venv; mostly waiting (the time
    bounds of hostile servers, 45-55 s each), so three workers overlap the waits."""
    session.run(*PYTEST, "-m", "slow", "-n", "3", *session.posargs, external=True)


def _matrix_session(release: Release) -> None:
    python = find_python(release.python) or release.python

    @nox.session(name="matrix-" + release.line, python=python, allow_parallel=True)
    def matrix(session: nox.Session) -> None:
        session.install("--disable-pip-version-check", "requests==" + release.requests)
        exe = os.path.join(session.virtualenv.location, "bin", "python")  # type: ignore[union-attr]
        session.run(*PYTEST, "-q", "-n", "2", "-m", MATRIX_TESTS, *session.posargs, external=True,
                    env={"CMK_ILERT_TEST_PYTHON": exe, "CMK_ILERT_TEST_RELEASE": release.line})

    matrix.__doc__ = "The script tests under Checkmk %s's Python %s with requests %s." % (
        release.line, release.python, release.requests)


for _release in RELEASES.values():
    _matrix_session(_release)
