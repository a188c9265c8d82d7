"""sync: key handling, iLert's answers and failures -- through the installed package.

These runs never get as far as Livestatus: either nothing of this site needs a decision, or
iLert/the configuration stops them first.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Dict, List

import pytest

from tests.support.contexts import api_params, service
from tests.support.site import KEY_API, FakeSite, Run
from tests.sync.conftest import NO_READ_KEY, USER_KEY, write_key

pytestmark = pytest.mark.outbox_logic  # interpreter-independent: run once, on the dev Python


def sync(site: FakeSite, ilert: Any, *args: str, env: Dict[str, str] = None, timeout: float = 120) -> Run:  # type: ignore[assignment]
    run = site.cli("sync", "--api-url", ilert.url, *args, env=env, timeout=timeout)
    clean(run)
    return run


def clean(run: Run) -> None:
    assert "Traceback" not in run.output, run.output
    assert USER_KEY not in run.output and NO_READ_KEY not in run.output, run.output
    for line in run.lines:
        assert line.startswith("cmk_ilert: "), run.output


def alert_requests(ilert: Any) -> List[Dict[str, Any]]:
    return [e for e in ilert.log() if e["path"].startswith("/api/alerts")]


def state_file(site: FakeSite) -> Dict[str, Any]:
    return json.loads((site.state_dir / "sync" / "state.json").read_text())


def test_nothing_to_do_is_a_clean_exit(cmk: FakeSite, ilert: Any) -> None:
    run = sync(cmk, ilert)
    assert run.returncode == 0, run.output
    assert run.lines == ["cmk_ilert: sync: 0 open or resolved alerts of site mysite, 0 acknowledged, 0 commented, "
                         "0 unchanged, 0 skipped (2 requests to iLert)"]
    sent = alert_requests(ilert)
    assert len(sent) == 2 and all(e["status"] == 200 for e in sent)
    assert oct(os.stat(cmk.state_dir / "sync" / "state.json").st_mode & 0o777) == "0o600"
    assert state_file(cmk)["last"] > 0


def test_quiet_prints_nothing_when_nothing_changed(cmk: FakeSite, ilert: Any) -> None:
    run = sync(cmk, ilert, "--quiet")
    assert run.returncode == 0 and run.lines == [], run.output


def test_requests_use_the_api_reference_names(cmk: FakeSite, ilert: Any) -> None:
    sync(cmk, ilert, "--alert-source", str(ilert.source_id(KEY_API)))
    paths = [e["path"] for e in alert_requests(ilert)]
    assert paths[0].startswith("/api/alerts?states=PENDING&states=ACCEPTED&sources=")
    assert paths[1].startswith("/api/alerts?states=RESOLVED&sources=")
    for path in paths:
        assert "from=" in path and "until=" in path and "start-index=0" in path and "max-results=100" in path


@pytest.mark.parametrize("case,expected", [
    ("missing", "no key file"),
    ("0644", "accessible by group or others (mode 0644): chmod 600 it"),
    ("0640", "accessible by group or others (mode 0640)"),
    ("0604", "accessible by group or others (mode 0604)"),
    ("empty", "must hold the iLert user API key on exactly one line"),
    ("two-lines", "must hold the iLert user API key on exactly one line"),
    ("inner-space", "must hold the iLert user API key on exactly one line"),
    ("directory", "not a regular file"),
])
def test_bad_key_files_are_refused(cmk: FakeSite, ilert: Any, case: str, expected: str) -> None:
    path = cmk.root / "etc" / "cmk_ilert" / "sync.key"
    if case == "missing":
        path.unlink()
    elif case in ("0644", "0640", "0604"):
        os.chmod(path, int(case, 8))
    elif case == "empty":
        path.write_text("\n \n")
    elif case == "two-lines":
        path.write_text(USER_KEY + "\n" + USER_KEY + "\n")
    elif case == "inner-space":
        path.write_text(USER_KEY + " extra\n")
    elif case == "directory":
        path.unlink()
        path.mkdir()
    run = sync(cmk, ilert)
    assert run.returncode == 2, run.output
    assert len(run.lines) == 1 and expected in run.lines[0], run.output
    assert alert_requests(ilert) == []


def test_key_file_option_and_password_store(cmk: FakeSite, ilert: Any, tmp_path) -> None:
    other = tmp_path / "elsewhere.key"
    other.write_text(USER_KEY)
    os.chmod(other, 0o600)
    (cmk.root / "etc" / "cmk_ilert" / "sync.key").unlink()
    assert sync(cmk, ilert, "--key-file", str(other)).returncode == 0
    cmk.password_store({"ilert-sync": USER_KEY})
    assert sync(cmk, ilert, "--store-id", "ilert-sync").returncode == 0
    run = sync(cmk, ilert, "--store-id", "nope")
    assert run.returncode == 2 and "password store entry 'nope' for the sync API key not found" in run.output


@pytest.mark.parametrize("key,status", [("sync-TEST-UNKNOWN-000000000000", 401), (NO_READ_KEY, 403)])
def test_refused_keys_are_permanent(cmk: FakeSite, ilert: Any, key: str, status: int) -> None:
    write_key(cmk, key)
    run = sync(cmk, ilert)
    assert run.returncode == 2, run.output
    assert len(run.lines) == 1 and "HTTP %d" % status in run.output
    assert "use a user API key that may read alerts" in run.output
    assert key not in run.output


def test_integration_key_is_not_a_user_key(cmk: FakeSite, ilert: Any) -> None:
    write_key(cmk, KEY_API)
    run = sync(cmk, ilert)
    assert run.returncode == 2 and "HTTP 401" in run.output
    assert KEY_API not in run.output


@pytest.mark.parametrize("fault", ["500", "503", "reset", "drop"])
def test_server_and_network_failures_are_temporary(cmk: FakeSite, ilert: Any, fault: str) -> None:
    ilert.inject(fault, path_prefix="/api/alerts")
    run = sync(cmk, ilert)
    assert run.returncode == 1, run.output
    assert len(run.lines) == 1, run.output
    assert sync(cmk, ilert).returncode == 0  # the next cron run retries


def test_ilert_unreachable_is_temporary(cmk: FakeSite, ilert: Any) -> None:
    ilert.stop()
    run = sync(cmk, ilert)
    assert run.returncode == 1 and "cannot connect to iLert" in run.output, run.output


def test_redirects_are_not_followed(cmk: FakeSite, ilert: Any) -> None:
    ilert.inject("redirect", path_prefix="/api/alerts")
    run = sync(cmk, ilert)
    assert run.returncode == 2 and "redirect not followed" in run.output, run.output


def test_rate_limit_pauses_the_next_runs(cmk: FakeSite, ilert: Any) -> None:
    ilert.inject("429:7", path_prefix="/api/alerts")
    run = sync(cmk, ilert)
    assert run.returncode == 1 and "HTTP 429" in run.output and "pausing 7s" in run.output, run.output
    pause = state_file(cmk)["pause"]
    assert 5 < pause - time.time() <= 7.5
    before = len(alert_requests(ilert))
    again = sync(cmk, ilert)
    assert again.returncode == 1 and "paused, iLert asked to wait" in again.output
    assert len(alert_requests(ilert)) == before  # no request during the pause


def test_retry_after_is_capped(cmk: FakeSite, ilert: Any) -> None:
    ilert.inject("429:86400", path_prefix="/api/alerts")
    sync(cmk, ilert)
    assert state_file(cmk)["pause"] - time.time() <= 600.5


def test_run_is_bounded_by_max_time(cmk: FakeSite, ilert: Any) -> None:
    ilert.inject("delay:30", path_prefix="/api/alerts")
    start = time.monotonic()
    run = sync(cmk, ilert, "--max-time", "2")
    elapsed = time.monotonic() - start
    assert run.returncode == 1, run.output
    assert elapsed < 10, elapsed  # 2 s budget plus interpreter start; the delay is 30 s
    assert len(run.lines) == 1


def test_not_on_a_site(cmk: FakeSite, ilert: Any) -> None:
    run = sync(cmk, ilert, env={"OMD_SITE": ""})
    assert run.returncode == 2 and "run sync as the site user" in run.output


@pytest.mark.parametrize("args,expected", [
    (("--alert-url", "ftp://x/{id}"), "--alert-url must be an http(s) URL containing {id}"),
    (("--alert-url", "https://x/"), "--alert-url must be an http(s) URL containing {id}"),
    (("--max-time", "0"), "--max-time must be between"),
    (("--look-back", "-1"), "--look-back must be between"),
    (("--alert-source", "0"), "--alert-source ids are positive"),
])
def test_bad_options(cmk: FakeSite, ilert: Any, args, expected: str) -> None:
    run = sync(cmk, ilert, *args)
    assert run.returncode == 2 and expected in run.output, run.output


def test_bad_api_url(cmk: FakeSite, ilert: Any) -> None:
    run = cmk.cli("sync", "--api-url", "https://user:pw@example.invalid")
    clean(run)
    assert run.returncode == 2 and "must not contain credentials" in run.output


@pytest.mark.parametrize("content", ["{not json", "[]", '{"v": 2}', '{"v": 1, "first": "x"}',
                                     '{"v":1,"first":0,"last":0,"pause":0,"done":{"1:ACCEPTED":5},"intent":{},"watch":{}}'])
def test_broken_state_is_set_aside(cmk: FakeSite, ilert: Any, content: str) -> None:
    folder = cmk.state_dir / "sync"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "state.json").write_text(content)
    run = sync(cmk, ilert)
    assert run.returncode == 0, run.output
    assert "set aside as state.json.bad, starting afresh" in run.output
    assert (folder / "state.json.bad").read_text() == content
    assert state_file(cmk)["v"] == 1


def test_foreign_sites_and_other_keys_are_untouched(cmk: FakeSite, ilert: Any) -> None:
    """Alerts of another site sharing the alert source, and alerts not from cmk_ilert at all."""
    other = service("PROBLEM", api_params(ilert.url), OMD_SITE="othersite")
    assert cmk.run(other).returncode == 0
    lookalike = service("PROBLEM", api_params(ilert.url), OMD_SITE="mysite2", MICROTIME="1795341600000001")
    assert cmk.run(lookalike).returncode == 0
    import requests

    for key in ("nagios/mysite/web01", "MYSITE/web01", "cmk-mysite-web01"):  # not opened by cmk_ilert
        answer = requests.post(ilert.url + "/api/events", timeout=10, json={
            "integrationKey": KEY_API, "eventType": "ALERT", "summary": "other tool", "alertKey": key})
        assert answer.status_code == 202, answer.text
    for alert in ilert.alerts():
        ilert.accept_alert(alert["id"], "Jane Doe")
    run = sync(cmk, ilert)
    assert run.returncode == 0, run.output
    assert "0 open or resolved alerts of site mysite" in run.output
    assert not (cmk.root / "tmp" / "run" / "live").exists()  # nothing needed Livestatus


def test_parallel_runs_do_not_overlap(cmk: FakeSite, ilert: Any) -> None:
    import subprocess

    from tests.support.site import runtime_python

    ilert.inject("delay:3", path_prefix="/api/alerts")
    slow = subprocess.Popen([runtime_python(), "-m", "cmk_ilert", "sync", "--api-url", ilert.url],
                            env=cmk.environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        limit = time.monotonic() + 30
        while ilert.faults() and time.monotonic() < limit:  # the slow run holds the lock and its request
            time.sleep(0.02)
        run = sync(cmk, ilert)
        assert run.returncode == 0 and "another sync is running" in run.output, run.output
    finally:
        slow.communicate(timeout=60)
