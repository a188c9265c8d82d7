"""``make demo`` shows what it claims: the payloads, the states, both source types, a verdict."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from cmk_ilert.admin.cli import CRON_LINE
from tests.support.site import RECORDED_OUTPUT, REPO
from tools.demo import KEYS


def test_demo_passes_and_shows_the_payloads(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "demo.py"), "--site", str(tmp_path / "site"),
                           "--dist", str(tmp_path / "dist")], capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    RECORDED_OUTPUT.append(out)
    assert proc.returncode == 0, out
    assert not any(key in out for key in KEYS)
    assert "cmk_ilert-0.1.0.mkp: refused, as expected on 2.4: it is the artifact for a newer Checkmk" in out
    # both source types, with the request's fields that matter and the key redacted
    assert "POST /api/v1/events/checkmk-ext/...%s -> 200" % KEYS[0][-4:] in out
    assert '"PARAMETER_ILERT_PRIORITY": "HIGH"' in out
    assert '"integrationKey": "...%s", "eventType": "ACCEPT"' % KEYS[1][-4:] in out
    assert '"comments": [{"content": "Looking into it, deploy rollback", "creator": "alice"}]' in out
    assert "alert     | cmk/demo/web01/cpu load~ce4dcf94ec: ACCEPTED, comment by alice" in out
    assert "alert     | cmk/demo/db01: RESOLVED" in out
    # the bulk in one line, the cron line as documented
    assert "bulk of 20 | exit 0, 21 script line(s), iLert got 20 x ALERT 202, 20 alerts of this source open" in out
    assert "site cron | " + CRON_LINE.split(None, 5)[5] in out
    assert "WRONG" not in out and re.search(r"^OK: \d+ steps, every exit code, request and alert state as expected",
                                            out, re.M)
