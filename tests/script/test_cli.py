"""``python -m cmk_ilert``: help, version, dry-run, test, status, flush, heartbeat, notify."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.script.util import assert_clean, assert_no_key_fragment, event_requests, event_type_of, params
from tests.support.contexts import host, service
from tests.support.site import KEY_API, KEY_CMK, KEY_STORED, bulk_stdin

pytestmark = pytest.mark.runtime

INIT = Path(__file__).resolve().parents[2] / "src" / "cmk_ilert" / "__init__.py"
HEARTBEAT_KEY = "il1hbt-TEST-HEARTBEAT-0001"
SUBCOMMANDS = ("notify", "flush", "status", "dry-run", "test", "heartbeat", "dead", "retry", "discard")


def version() -> str:
    match = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', INIT.read_text(), re.M)
    assert match, "no __version__ in %s" % INIT
    return match.group(1)


# --- help and version ------------------------------------------------------------------------


def test_help(site):
    run = site.cli("--help")
    assert run.returncode == 0, run.output
    assert "usage:" in run.stdout
    for name in SUBCOMMANDS:
        assert name in run.stdout


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_subcommand_help(site, name):
    run = site.cli(name, "--help")
    assert run.returncode == 0, run.output
    assert "usage:" in run.stdout and name in run.stdout
    assert "Traceback" not in run.output


def test_version(site):
    run = site.cli("--version")
    assert run.returncode == 0
    assert run.stdout.strip() == "cmk_ilert %s" % version()


def test_no_command_prints_help(site):
    run = site.cli()
    assert run.returncode == 0
    assert "usage:" in run.stdout


def test_unknown_command_is_a_usage_error(site):
    run = site.cli("frobnicate")
    assert run.returncode == 2
    assert "Traceback" not in run.output


# --- dry-run ---------------------------------------------------------------------------------


def write_context(path: Path, ctx, style: str) -> Path:
    if style == "json":
        path.write_text(json.dumps(ctx, ensure_ascii=False), encoding="utf-8")
    elif style == "env":
        path.write_text("".join("NOTIFY_%s=%s\n" % (k, v) for k, v in ctx.items()), encoding="utf-8")
    else:
        path.write_text("# exported from the notify backlog\n" + "".join("%s=%s\n" % (k, v) for k, v in ctx.items()),
                        encoding="utf-8")
    return path


def dry_document(run) -> dict:
    assert run.returncode == 0, run.output
    return json.loads(run.stdout)


@pytest.mark.parametrize("style", ["json", "env", "plain"])
@pytest.mark.parametrize("fmt", ["api", "checkmk"])
def test_dry_run_prints_the_redacted_request(site, standin, tmp_path, fmt, style):
    key = KEY_API if fmt == "api" else KEY_CMK
    ctx = service("PROBLEM", params(fmt, standin.url, routing_key="team-web"))
    path = write_context(tmp_path / "ctx.txt", ctx, style)
    run = site.cli("dry-run", str(path))
    doc = dry_document(run)
    assert key not in run.output
    assert_no_key_fragment(run.output, key)
    assert doc["method"] == "POST"
    if fmt == "api":
        assert doc["url"] == standin.url + "/api/events"
        body = doc["body"]
        assert body["eventType"] == "ALERT" and body["alertKey"] == "cmk/mysite/web01/cpu load~f26268fd97"
        assert body["integrationKey"].endswith(key[-4:])
        assert body["routingKey"] == "team-web"
    else:
        assert doc["url"].startswith(standin.url + "/api/v1/events/checkmk-ext/")
        assert doc["url"].endswith(key[-4:])
        assert doc["body"]["NOTIFICATIONTYPE"] == "PROBLEM"
        assert not [k for k in doc["body"] if k.startswith("PARAMETER_ILERT_API_KEY")]
    assert standin.log() == []  # nothing was sent


def test_dry_run_from_the_environment(site, standin):
    ctx = host("RECOVERY", params("api", standin.url))
    run = site.cli("dry-run", env={"NOTIFY_" + k: v for k, v in ctx.items()})
    doc = dry_document(run)
    assert doc["body"]["eventType"] == "RESOLVE" and doc["body"]["alertKey"] == "cmk/mysite/db01"
    assert KEY_API not in run.output
    assert standin.log() == []


def test_dry_run_from_stdin(site, standin):
    ctx = service("PROBLEM", params("api", standin.url))
    run = site.cli("dry-run", "-", stdin=json.dumps(ctx).encode())
    doc = dry_document(run)
    assert doc["body"]["eventType"] == "ALERT"
    assert KEY_API not in run.output


def test_dry_run_of_a_notification_with_two_events_prints_a_list(site, standin):
    """An ACK with a comment (api, comment_events) is an ACCEPT and a COMMENT."""
    ctx = service("ACKNOWLEDGEMENT", params("api", standin.url))
    run = site.cli("dry-run", "-", stdin=json.dumps(ctx).encode())
    assert run.returncode == 0 and run.stderr == "", run.output
    docs = json.loads(run.stdout)
    assert [d["body"]["eventType"] for d in docs] == ["ACCEPT", "COMMENT"]
    assert docs[1]["body"]["comments"] == [{"creator": "Carol Admin", "content": "Working on it"}]
    assert KEY_API not in run.output


@pytest.mark.parametrize("ntype", ["DOWNTIMESTART", "FLAPPINGSTART", "CUSTOM"])
def test_dry_run_of_an_ignored_type(site, standin, tmp_path, ntype):
    """The note goes to stderr: stdout is for the JSON document only."""
    path = write_context(tmp_path / "ctx.json", service(ntype, params("checkmk", standin.url)), "json")
    run = site.cli("dry-run", str(path))
    line = assert_clean(run, 0)
    assert "ignored" in line
    assert run.stdout == ""
    assert standin.log() == []


def test_dry_run_without_a_key_uses_a_placeholder(site, tmp_path):
    ctx = service("PROBLEM", {"PARAMETER_ILERT_SOURCE_TYPE": "api"})
    run = site.cli("dry-run", str(write_context(tmp_path / "c.json", ctx, "json")))
    doc = dry_document(run)
    assert doc["body"]["eventType"] == "ALERT"
    assert "placeholder" in doc.get("note", "")


@pytest.mark.parametrize("content", [None, "{not json"])
def test_dry_run_with_an_unreadable_file(site, tmp_path, content):
    path = tmp_path / "ctx.json"
    if content is not None:
        path.write_text(content)
    run = site.cli("dry-run", str(path))
    assert run.returncode == 2
    assert_clean(run, 2)


def test_dry_run_with_a_bad_parameter(site, tmp_path, standin):
    ctx = service("PROBLEM", params("api", standin.url, ilert_priority="urgent"))
    run = site.cli("dry-run", str(write_context(tmp_path / "c.json", ctx, "json")))
    line = assert_clean(run, 2)
    assert "ilert_priority" in line


# --- test ------------------------------------------------------------------------------------


@pytest.fixture
def key_file(tmp_path):
    def make(key: str) -> str:
        path = tmp_path / "ilert.key"
        path.write_text(key + "\n")
        path.chmod(0o600)
        return str(path)
    return make


@pytest.mark.parametrize("fmt", ["api", "checkmk"])
def test_test_command_opens_and_resolves_one_alert(site, standin, key_file, fmt):
    key = KEY_API if fmt == "api" else KEY_CMK
    run = site.cli("test", "--key-file", key_file(key), "--url", standin.url, "--source-type", fmt, stdin=b"")
    assert_clean(run, 0, lines=2)
    alerts = standin.alerts()
    assert len(alerts) == 1 and alerts[0]["status"] == "RESOLVED"
    types = [event_type_of(e) for e in event_requests(standin)]
    assert types == (["ALERT", "RESOLVE"] if fmt == "api" else ["PROBLEM", "RECOVERY"])
    assert_no_key_fragment(run.output, key)


def test_test_command_no_resolve(site, standin, key_file):
    run = site.cli("test", "--key-file", key_file(KEY_API), "--url", standin.url, "--source-type", "api",
                   "--no-resolve", stdin=b"")
    assert_clean(run, 0)
    assert [a["status"] for a in standin.alerts()] == ["PENDING"]


def test_test_command_key_from_environment(site, standin):
    run = site.cli("test", "--url", standin.url, "--source-type", "api", env={"ILERT_API_KEY": KEY_API}, stdin=b"")
    assert_clean(run, 0, lines=2)
    assert [a["status"] for a in standin.alerts()] == ["RESOLVED"]


def test_test_command_key_from_the_password_store(site, standin):
    standin.configure(keys=[KEY_STORED])
    site.password_store({"ilert": KEY_STORED}, raises=True)
    run = site.cli("test", "--store-id", "ilert", "--url", standin.url, "--source-type", "api", stdin=b"")
    assert_clean(run, 0, lines=2)
    assert [a["sourceKey"] for a in standin.alerts()] == [KEY_STORED]


@pytest.mark.parametrize("fmt", ["api", "checkmk"])
def test_test_command_with_an_unknown_key(site, standin, key_file, fmt):
    unknown = "il1api-NOSUCH-KEY-q9w8e7r6t5y4"
    run = site.cli("test", "--key-file", key_file(unknown), "--url", standin.url, "--source-type", fmt, stdin=b"")
    line = assert_clean(run, 2, extra_secrets=[unknown])
    assert "404" in line
    assert_no_key_fragment(run.output, unknown)
    assert standin.alerts() == []


def test_test_command_without_a_key(site, standin):
    run = site.cli("test", "--url", standin.url, stdin=b"")
    line = assert_clean(run, 2)
    assert "key" in line
    assert standin.log() == []


def test_test_command_with_a_missing_key_file(site, standin, tmp_path):
    run = site.cli("test", "--key-file", str(tmp_path / "nope"), "--url", standin.url, stdin=b"")
    assert_clean(run, 2)
    assert standin.log() == []


def test_test_command_server_down(site, key_file):
    from tests.script.util import closed_port

    run = site.cli("test", "--key-file", key_file(KEY_API), "--url", "http://127.0.0.1:%d" % closed_port(),
                   "--source-type", "api", stdin=b"")
    assert_clean(run, 1)


# --- status and flush ------------------------------------------------------------------------


def test_status_without_an_outbox_is_unknown(site):
    """Wrong user, not a site, a typo in CMK_ILERT_STATE_DIR: not "OK, nothing pending"."""
    run = site.cli("status")
    assert run.returncode == 3, run.output
    assert "Traceback" not in run.output and "UNKNOWN" in run.stdout and "no outbox" in run.stdout
    run = site.cli("status", "--json")
    assert run.returncode == 3
    info = json.loads(run.stdout)
    assert info["exists"] is False and info["exit_code"] == 3 and "no outbox" in info["problem"]
    run = site.cli("status", "--local-check")
    assert run.returncode == 3
    assert run.stdout.startswith('3 "iLert outbox" - no outbox at ')
    assert len(run.lines) == 1


def test_status_on_an_empty_outbox(site, standin):
    assert_clean(site.run(service("PROBLEM", params("api", standin.url))), 0)
    run = site.cli("status")
    assert run.returncode == 0, run.output
    assert "nothing pending" in run.stdout
    run = site.cli("status", "--json")
    info = json.loads(run.stdout)
    assert info["pending"] == 0 and info["dead"] == [] and info["exit_code"] == 0
    run = site.cli("status", "--local-check")
    assert run.returncode == 0
    assert run.stdout.startswith('0 "iLert outbox" pending=0|dead=0')
    assert "0 dead letters" in run.stdout


def test_status_shows_pending_and_dead_events(site, standin):
    standin.inject(503)
    assert_clean(site.run(service("PROBLEM", params("api", standin.url))), 1)
    standin.inject(400)
    assert_clean(site.run(host("PROBLEM", params("api", standin.url))), 2)
    run = site.cli("status", "--json")
    info = json.loads(run.stdout)
    assert run.returncode == 2  # a dead letter is CRIT
    assert info["pending"] == 1 and len(info["dead"]) == 1
    assert info["keys"][0]["alert_key"] == "cmk/mysite/web01/cpu load~f26268fd97"
    assert info["dead"][0]["alert_key"] == "cmk/mysite/db01"
    assert KEY_API not in run.output
    text = site.cli("status")
    assert "cmk/mysite/web01/cpu load~f26268fd97" in text.stdout and "cmk/mysite/db01" in text.stdout
    assert KEY_API not in text.output


def test_flush_on_an_empty_site(site):
    run = site.cli("flush")
    assert_clean(run, 0)


# --- heartbeat -------------------------------------------------------------------------------


def test_heartbeat_pings_once_a_minute(site, standin):
    url = standin.url + "/api/heartbeats/" + HEARTBEAT_KEY
    run = site.cli("heartbeat", url)
    line = assert_clean(run, 0, extra_secrets=[HEARTBEAT_KEY])
    assert "ok" in line.lower()
    pings = standin.pings()
    assert len(pings) == 1 and pings[0]["key"] == HEARTBEAT_KEY
    assert [e["status"] for e in standin.log()] == [202]
    again = site.cli("heartbeat", url)
    line = assert_clean(again, 0, extra_secrets=[HEARTBEAT_KEY])
    assert "skip" in line.lower()
    assert len(standin.pings()) == 1
    for out in (run.output, again.output):
        assert HEARTBEAT_KEY not in out and url not in out


def test_heartbeat_url_from_the_environment(site, standin):
    url = standin.url + "/api/heartbeats/" + HEARTBEAT_KEY
    run = site.cli("heartbeat", env={"ILERT_HEARTBEAT_URL": url})
    assert_clean(run, 0, extra_secrets=[HEARTBEAT_KEY])
    assert len(standin.pings()) == 1


def test_heartbeat_with_an_unknown_key(site, standin):
    unknown = "il1hbt-NOSUCH-HEARTBEAT-99"
    run = site.cli("heartbeat", standin.url + "/api/heartbeats/" + unknown)
    assert_clean(run, 2, extra_secrets=[unknown])
    assert standin.pings() == []


def test_heartbeat_without_url(site):
    run = site.cli("heartbeat")
    line = assert_clean(run, 2)
    assert "heartbeat" in line.lower()


# --- notify --------------------------------------------------------------------------------------


def test_notify_subcommand_runs_like_the_script(site, standin):
    ctx = service("PROBLEM", params("api", standin.url))
    run = site.cli("notify", env={"NOTIFY_" + k: v for k, v in ctx.items()})
    line = assert_clean(run, 0)
    assert "delivered" in line
    assert len(standin.alerts()) == 1


def test_notify_subcommand_bulk(site, standin):
    contexts = [service("PROBLEM", {}, HOSTNAME="web%02d" % n, MICROTIME=str(1795341600000000 + n)) for n in range(2)]
    run = site.cli("notify", "--bulk", stdin=bulk_stdin(params("api", standin.url), contexts))
    assert_clean(run, 0, lines=None)
    assert sorted(a["key"] for a in standin.alerts()) == ["cmk/mysite/web00/cpu load~3cea5450c5",
                                                           "cmk/mysite/web01/cpu load~f26268fd97"]


def test_dry_run_shows_the_alert_key_notify_sends(site, standin, tmp_path):
    ctx = service("PROBLEM", params("api", standin.url))
    del ctx["OMD_SITE"]
    doc = dry_document(site.cli("dry-run", str(write_context(tmp_path / "c.json", ctx, "json"))))
    assert_clean(site.run(ctx), 0)
    assert doc["body"]["alertKey"] == event_requests(standin)[0]["body"]["alertKey"]
