"""Make the checkout's ``src/`` importable from the dev venv: ``make setup`` runs this.

An editable install of ``cmk_ilert`` with one deliberate limit: a process that simulates a
Checkmk site does not see the checkout, only the site's own ``local/lib/python3``, as on a real
site; otherwise a test of the installed package would pass with files the package lacks. Such a
process has ``OMD_ROOT`` set (FakeSite, the demo) or, standing in for a site's ``bin/python3``
run without any site environment, ``CMK_ILERT_SITE_PYTHON``. Written as a ``.pth`` file into the
venv's site-packages (``python -m cmk_ilert --help`` then works from anywhere).

Usage: ``.venv/bin/python tools/link_checkout.py`` (idempotent).
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NAME = "cmk_ilert-checkout.pth"


def pth_line(src: Path) -> str:
    return ("import os, sys; 'OMD_ROOT' in os.environ or 'CMK_ILERT_SITE_PYTHON' in os.environ "
            "or sys.path.append(%r)\n" % str(src))


def main() -> int:
    target = Path(sysconfig.get_paths()["purelib"]) / NAME
    target.write_text(pth_line(REPO / "src"), encoding="utf-8")
    print("linked %s -> %s (hidden where OMD_ROOT or CMK_ILERT_SITE_PYTHON is set)" % (target, REPO / "src"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
