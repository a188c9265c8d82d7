"""Issue 20, defect 1: distinct Checkmk objects never share an iLert alert.

``Filesystem /Data`` and ``Filesystem /data`` are two mount points of one host. Before the fix
both folded to ``cmk/mysite/fs01/filesystem /data``: the RECOVERY of /data resolved the alert
while /Data was still CRITICAL, and after an outage ``coalesce`` dropped /Data's ALERT together
with /data's pair, so /Data was never paged. iLert compares alert keys case-insensitively (the
stand-in does too), so the keys must differ in more than case. Everything runs through the
installed script and ``python3 -m cmk_ilert flush`` against the stand-in; an alert opened under
the key of the previous release (index entry written in that release's format) is still
resolved after the upgrade.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Dict, List

import pytest

from tests.hostile.conftest import T0, load, no_crash, posted, run
from tests.support.contexts import api_params, checkmk_params, service
from tests.support.site import KEY_API

pytestmark = pytest.mark.outbox_logic

UPPER, LOWER = "Filesystem /Data", "Filesystem /data"
OLD_KEY = "cmk/mysite/fs01/filesystem /data"  # what both folded to before the fix


def ctx(url: str, ntype: str, desc: str, n: int, fmt: str = "api") -> Dict[str, str]:
    rule = (api_params if fmt == "api" else checkmk_params)(url, timeout="1")
    return service(ntype, rule, HOSTNAME="fs01", SERVICEDESC=desc, MICROTIME=str(T0 + n),
                   SERVICENOTIFICATIONNUMBER=str(n + 1), SERVICEOUTPUT="%s %s n%d" % (ntype, desc, n),
                   SERVICESTATE="OK" if ntype == "RECOVERY" else "CRITICAL")


def notify(site: Any, context: Dict[str, str]) -> Any:
    result = run(site, context=context, timeout=30)
    no_crash(result)
    return result


def mine(standin: Any) -> List[Dict[str, Any]]:
    return [a for a in standin.alerts() if a["alertKey"].startswith("cmk/mysite/fs01/")]


def by_summary(standin: Any, desc: str) -> List[Dict[str, Any]]:
    """Alerts whose first event was about ``desc`` (exact case)."""
    return [a for a in mine(standin) if (" %s " % desc) in json.dumps(a["events"][0])]


def test_two_services_differing_in_case_get_distinct_alerts(site, standin):
    assert notify(site, ctx(standin.url, "PROBLEM", UPPER, 0)).returncode == 0
    assert notify(site, ctx(standin.url, "PROBLEM", LOWER, 1)).returncode == 0
    alerts = mine(standin)
    assert len(alerts) == 2, [(a["alertKey"], a["status"]) for a in alerts]
    assert len({a["alertKey"].casefold() for a in alerts}) == 2  # distinct also for iLert's comparison
    assert notify(site, ctx(standin.url, "RECOVERY", LOWER, 2)).returncode == 0
    (upper,) = by_summary(standin, UPPER)
    (lower,) = by_summary(standin, LOWER)
    assert lower["status"] == "RESOLVED"
    assert upper["status"] == "PENDING", "/Data is still CRITICAL: its alert must stay open"


@pytest.mark.parametrize("fmt", ["api", "checkmk"])
def test_coalescing_after_an_outage_never_drops_another_objects_alert(site, standin, fmt):
    standin.stop()
    assert notify(site, ctx(standin.url, "PROBLEM", UPPER, 0, fmt)).returncode == 1
    assert notify(site, ctx(standin.url, "PROBLEM", LOWER, 1, fmt)).returncode == 1
    assert notify(site, ctx(standin.url, "RECOVERY", LOWER, 2, fmt)).returncode == 1
    standin.start()
    flushed = run(site, "flush", "--now", timeout=30)
    no_crash(flushed)
    sent = [(e["body"].get("eventType") or e["body"].get("NOTIFICATIONTYPE"),
             e["body"].get("SERVICEDESC") or e["body"].get("summary")) for e in posted(standin)]
    problems = [s for s in sent if s[0] in ("ALERT", "PROBLEM")]
    assert len(problems) == 1 and UPPER in str(problems[0][1]), (sent, flushed.output)
    assert not site.queue()


def _digest(*parts: str) -> str:
    return hashlib.sha256(b"".join(p.encode("utf-8") + b"\0" for p in parts)).hexdigest()


def old_group(url: str) -> str:
    """``queue/<group>.`` of the old key: SHA-256 of the endpoint (wire format, URL, key) and
    the alert key, as the outbox names groups (identity.py)."""
    return _digest("group", _digest("endpoint", "api", url, KEY_API)[:16], OLD_KEY)[:16]


def old_index_entry(site: Any, key: str, desc: str) -> None:
    """The key index entry the previous release wrote for an ALERT (format of keyindex.py)."""
    folder = site.state_dir / "index"
    folder.mkdir(parents=True, exist_ok=True)
    for path in (site.state_dir, folder):
        os.chmod(path, 0o700)
    name = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24] + ".json"
    (folder / name).write_text(json.dumps({"alert_key": key, "site": "mysite", "host": "fs01", "service": desc},
                                          sort_keys=True))


def test_an_alert_opened_under_the_previous_key_is_resolved_after_the_upgrade(site, standin):
    # The previous release sent /Data's ALERT under the folded key and recorded it in its index.
    import requests

    answer = requests.post(standin.url + "/api/events", json={
        "integrationKey": KEY_API, "eventType": "ALERT", "alertKey": OLD_KEY,
        "summary": "PROBLEM Service Alert: fs01/%s is CRITICAL" % UPPER}, timeout=10)
    assert answer.status_code == 202, answer.text
    site.state_dir.mkdir(parents=True, exist_ok=True)
    old_index_entry(site, OLD_KEY, UPPER)
    # After the upgrade: /data breaks and recovers, then /Data recovers.
    assert notify(site, ctx(standin.url, "PROBLEM", LOWER, 1)).returncode == 0
    assert notify(site, ctx(standin.url, "RECOVERY", LOWER, 2)).returncode == 0
    (old,) = [a for a in mine(standin) if a["alertKey"] == OLD_KEY]
    assert old["status"] == "PENDING", "/data's events must not touch /Data's alert"
    assert len(mine(standin)) == 2
    result = notify(site, ctx(standin.url, "RECOVERY", UPPER, 3))
    assert result.returncode == 0 and OLD_KEY in result.output, result.output
    assert {a["alertKey"]: a["status"] for a in mine(standin)}[OLD_KEY] == "RESOLVED"
    assert all(a["status"] == "RESOLVED" for a in mine(standin))
    # Closed under the old key: /Data's next problem opens an alert under its own key.
    again = notify(site, ctx(standin.url, "PROBLEM", UPPER, 4))
    assert again.returncode == 0 and OLD_KEY + ":" not in again.output, again.output
    assert len(mine(standin)) == 3


def test_queued_entries_of_the_previous_release_keep_their_key(site, standin):
    """An event queued by the previous release goes out under its key, and the RECOVERY of the
    same object after the upgrade follows it there, in order."""
    standin.stop()
    assert notify(site, ctx(standin.url, "PROBLEM", UPPER, 0)).returncode == 1
    (entry,) = site.queue()
    data = load(entry)
    new_key = data["alert_key"]
    assert new_key != OLD_KEY and new_key.startswith(OLD_KEY)
    # rewrite it as the previous release wrote it: the old key in the entry and the index
    data["alert_key"] = OLD_KEY
    data["request"]["body"]["alertKey"] = OLD_KEY
    entry.unlink()
    (site.state_dir / "queue" / ("%s.%s.json" % (old_group(standin.url), entry.name.split(".")[1]))).write_text(
        json.dumps(data))
    for path in (site.state_dir / "index").iterdir():
        path.unlink()
    old_index_entry(site, OLD_KEY, UPPER)
    standin.start()
    result = notify(site, ctx(standin.url, "RECOVERY", UPPER, 1))
    assert result.returncode == 0, result.output
    # same key, same group: the never-sent ALERT and the RESOLVE behind it coalesce (before the
    # fix of the key lookup the RESOLVE went to a group of its own, the old ALERT was sent alone)
    keys = [(e["body"]["eventType"], e["body"]["alertKey"]) for e in posted(standin)]
    assert keys == [("RESOLVE", OLD_KEY)], (keys, result.output)
    assert not site.queue() and all(a["status"] == "RESOLVED" for a in mine(standin))
