"""Make the checkout's ``src/`` importable from the dev venv: ``make setup`` runs this.

An editable install of ``cmk_ilert``, written as a ``.pth`` file into the venv's
site-packages: ``.venv/bin/python -m cmk_ilert …`` then works from anywhere, a
Checkmk site included (a support engineer running the checkout's CLI there).

Tests of a simulated site stay honest without hiding anything here: they run the
installed script under the site's own Python (``tools/site_python.py``), which
never sees this venv or the checkout.

Usage: ``.venv/bin/python tools/link_checkout.py`` (idempotent).
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NAME = "cmk_ilert-checkout.pth"


def pth_line(src: Path) -> str:
    return "%s\n" % src


def main() -> int:
    target = Path(sysconfig.get_paths()["purelib"]) / NAME
    target.write_text(pth_line(REPO / "src"), encoding="utf-8")
    print("linked %s -> %s" % (target, REPO / "src"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
