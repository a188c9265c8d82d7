"""Where a release's site Python is on this machine (used by noxfile.py, tools/matrix.py, the tests).

pyenv's ``versions`` folder (``$PYENV_ROOT`` if set, else ``pyenv root`` and ``~/.pyenv``), then
``pythonX.Y`` on ``PATH``; each candidate must run and report its version (a pyenv shim of
another version does not).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from typing import Dict, List, Optional


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
    """The real path of an interpreter that is Python ``version``, or None."""
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
            return os.path.realpath(candidate)  # a symlink found on PATH today cannot break the venv tomorrow
    return None
