"""Form tests: the GUI forms against per-release doubles of Checkmk's APIs, and the contract
between the forms' stored values and ``cmk_ilert.params.parse_settings``."""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
for path in (os.path.join(REPO, "src"), HERE):
    if path not in sys.path:
        sys.path.insert(0, path)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "forms_site_python: runs a form under the site Python of its release (3.8, 3.13)"
    )
    config.addinivalue_line(
        "markers", "forms_upgrade: walks stored values through a Checkmk 2.3 -> 2.4 -> 2.5 upgrade"
    )
