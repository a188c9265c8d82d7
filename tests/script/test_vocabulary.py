"""One name per concept on the command line; every default and an example in ``--help``; the
usage names what the admin ran; ``dry-run`` prints the request really sent.

The CLI runs as a process (``python -m cmk_ilert`` and the notification script with a command),
against the stand-in on a real socket.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.inventory import trees
from tests.inventory.test_notification import LINE, inventory_dir
from tests.script.util import assert_clean, event_requests, event_type_of
from tests.support.contexts import api_params, service
from tests.support.site import KEY_API, RECORDED_OUTPUT, runtime_python

COMMANDS = ("notify", "flush", "status", "dry-run", "test", "heartbeat", "sync")


@pytest.mark.parametrize("spelling", ["--api-url", "--url"])
def test_test_takes_the_base_url_as_api_url_and_keeps_the_old_url(site, standin, tmp_path, spelling):
    key = tmp_path / "key"
    key.write_text(KEY_API + "\n")
    run = site.cli("test", "--key-file", str(key), spelling, standin.url, stdin=b"")
    assert_clean(run, 0, lines=2)
    # the default source type of the test is a new rule's: API
    assert [event_type_of(e) for e in event_requests(standin)] == ["ALERT", "RESOLVE"]


@pytest.mark.parametrize("spelling", ["--proxy-url", "--proxy"])
def test_test_takes_the_proxy_as_proxy_url_and_keeps_the_old_proxy(site, standin, tmp_path, spelling):
    key = tmp_path / "key"
    key.write_text(KEY_API + "\n")
    run = site.cli("test", "--key-file", str(key), "--api-url", standin.url, spelling, "NO_PROXY", stdin=b"")
    assert_clean(run, 0, lines=2)


def test_sync_and_test_use_the_same_option_for_the_base_url(site):
    for command in ("test", "sync"):
        text = site.cli(command, "--help").stdout
        assert "--api-url API_URL" in text, (command, text)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_help_shows_each_default_and_an_example(site, command):
    run = site.cli(command, "--help")
    assert run.returncode == 0, run.output
    text = " ".join(run.stdout.split())
    assert re.search(r"examples?: python3 -m cmk_ilert %s\b" % command, text), text
    for option, default in (("--max-time", "50"), ("--warn", "300"), ("--crit", "3600"), ("--timeout", "10"),
                            ("--min-interval", "60"), ("--max-pending-age", "900"),
                            ("--api-url", "https://api.ilert.com"), ("--source-type", "api")):
        options = text.split(" options: ", 1)[1]  # the option list, after the usage and description
        if option + " " in options:
            block = options.split(option + " ", 1)[1][:200]
            assert "default" in block and default in block, (command, option, block)
    if command == "status":
        assert "0 to 86400" in text  # the documented range of --warn/--crit


def test_the_usage_names_the_installed_script_when_that_ran(site):
    proc = subprocess.run([runtime_python(), str(site.script), "status", "--help"], env=site.environment(),
                          capture_output=True, text=True, timeout=60)
    RECORDED_OUTPUT.append(proc.stdout + proc.stderr)
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: ~/local/share/check_mk/notifications/cmk_ilert status"), proc.stdout
    assert "example" in proc.stdout and "~/local/share/check_mk/notifications/cmk_ilert status --local-check" \
        in proc.stdout
    assert site.cli("status", "--help").stdout.startswith("usage: python3 -m cmk_ilert status")


def test_dry_run_shows_the_request_really_sent_with_inventory_facts(site, standin, tmp_path):
    (inventory_dir(site) / "web01").write_text(repr(trees.legacy()), encoding="utf-8")
    ctx = service("PROBLEM", api_params(standin.url, inventory_facts="True"))
    context = tmp_path / "context.env"
    context.write_text("".join("%s=%s\n" % (k, v) for k, v in ctx.items()))
    dry = site.cli("dry-run", str(context))
    assert dry.returncode == 0, dry.output
    printed = json.loads(dry.stdout)
    assert printed["body"]["customDetails"]["inventory"] == dict(trees.EXPECTED)
    assert printed["body"]["details"].splitlines()[-1] == LINE
    # the same context, sent: the body iLert receives is the one dry-run printed (key redacted there)
    assert site.run(ctx).returncode == 0
    (sent,) = [e["body"] for e in event_requests(standin)]
    assert dict(sent, integrationKey="") == dict(printed["body"], integrationKey="")
    assert printed["body"]["integrationKey"] == "..." + KEY_API[-4:]
    assert printed["url"] == standin.url + "/api/events"
