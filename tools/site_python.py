"""The simulated site's Python: ``.cache/site-python/``, made by ``make setup``.

A Checkmk site runs the package under its own ``bin/python3``, which sees the site's
``local/lib/python3`` and ``requests`` — never a developer's checkout. The tests, the
demo and the benchmarks run the installed script under this interpreter for the same
reason: a venv of the dev interpreter holding only ``requests`` (the dev pin from
requirements-dev.txt) and nothing of the checkout, so a file the package lacks fails
there as it would on a site. The dev venv (``.venv``) sees the checkout's ``src/``
wherever it runs, a site included (``tools/link_checkout.py``).

Usage: ``.venv/bin/python tools/site_python.py`` (idempotent; prints the interpreter).
The interpreter-matrix environments under ``.cache/matrix/`` are site Pythons too, one
per Checkmk release.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FOLDER = REPO / ".cache" / "site-python"
PYTHON = FOLDER / "bin" / "python"


def requests_pin() -> str:
    text = (REPO / "requirements-dev.txt").read_text(encoding="utf-8")
    found = re.search(r"^requests==(\S+)$", text, re.M)
    if not found:
        raise SystemExit("requirements-dev.txt pins no requests version")
    return found.group(1)


def ready(pin: str) -> bool:
    if not PYTHON.exists():
        return False
    proc = subprocess.run([str(PYTHON), "-c", "import requests, sys; sys.stdout.write(requests.__version__)"],
                          capture_output=True, text=True, timeout=60)
    return proc.returncode == 0 and proc.stdout == pin


def main() -> int:
    pin = requests_pin()
    if not ready(pin):
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", "--clear", str(FOLDER)], check=True)
        subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "requests==" + pin], check=True, env=dict(os.environ, PIP_NO_WARN_SCRIPT_LOCATION="1"))
    print("site Python: %s (requests %s, no checkout on its path)" % (PYTHON, pin))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
