"""Issue 9, item 9: failures are visible.

A rule that cannot be used (no key, an unknown password-store id, a bad value) prints one line,
exits 2, and leaves one dead letter per rule and reason (without secrets), so ``status`` turns
CRIT even for bulk calls, whose exit code Checkmk ignores. ``status`` without an outbox (not the
site user, not a site, a typo in ``CMK_ILERT_STATE_DIR``) is UNKNOWN: exit 3, local check state 3.
Before the fix nothing reached ``status`` and it said "OK, nothing pending".
"""

from __future__ import annotations

import pytest

from tests.hostile.conftest import assert_no_fragment, load, no_crash, notification, run, strict_json
from tests.support.site import KEY_API

pytestmark = pytest.mark.outbox_logic  # interpreter-independent: run once, on the dev Python


def _rule(name: str, url: str, n: int = 0, host: str = "web01"):
    ctx = notification(url, n=n, host=host)
    if name == "missing-key":
        for key in [k for k in ctx if k.startswith("PARAMETER_ILERT_API_KEY")]:
            del ctx[key]
    elif name in ("unknown-store-id", "unknown-store-id-raises"):
        for key in ("PARAMETER_ILERT_API_KEY_1", "PARAMETER_ILERT_API_KEY_2"):
            ctx.pop(key, None)
        ctx["PARAMETER_ILERT_API_KEY"] = "store\tno_such_id"
    elif name == "bad-timeout":
        ctx["PARAMETER_TIMEOUT"] = "ten"
    elif name == "bad-source-type":
        ctx["PARAMETER_ILERT_SOURCE_TYPE"] = "webhook"
    elif name == "bad-url":
        ctx["PARAMETER_ILERT_API_URL"] = "ftp://" + KEY_API + "@api.ilert.com"
    return ctx


RULES = ("missing-key", "unknown-store-id", "unknown-store-id-raises", "bad-timeout", "bad-source-type", "bad-url")


@pytest.mark.parametrize("call", ["single", "bulk"])
@pytest.mark.parametrize("name", RULES)
def test_a_rule_that_cannot_be_used_leaves_a_dead_letter_and_status_turns_crit(site, standin, name, call):
    site.password_store({"other": KEY_API}, raises=name.endswith("raises"))
    if call == "single":
        result = run(site, context=_rule(name, standin.url))
        assert result.returncode == 2 and len(result.lines) == 1, result.output
    else:
        result = run(site, bulk=[_rule(name, standin.url, n=n, host="h%d" % n) for n in range(3)])
        assert result.returncode == 2, result.output
    no_crash(result)
    assert "configuration error" in result.output
    assert standin.log() == []
    (dead,) = site.dead()
    record = load(dead)
    assert record["reason"].startswith("configuration error: ") and record["endpoint"] == "rule", record
    status = run(site, "status")
    no_crash(status)
    assert status.returncode == 2 and "CRIT" in status.output and record["reason"] in status.output, status.output
    local = run(site, "status", "--local-check")
    assert local.run.stdout.startswith("2 "), local.output
    assert_no_fragment(dead.read_text() + result.output + status.output + local.output, KEY_API)


def test_one_dead_letter_per_rule_and_reason(site, standin):
    for n in range(3):
        run(site, context=_rule("bad-timeout", standin.url, n=n, host="h%d" % n))
    assert len(site.dead()) == 1
    run(site, context=_rule("bad-source-type", standin.url, n=4))
    assert len(site.dead()) == 2


@pytest.mark.parametrize("where", ["never-used", "typo-in-state-dir"])
def test_status_without_an_outbox_is_unknown(site, standin, where):
    env = {}
    if where == "typo-in-state-dir":
        run(site, context=notification(standin.url))  # the real outbox exists and is fine
        env = {"CMK_ILERT_STATE_DIR": str(site.state_dir) + "-typo"}
    text = run(site, "status", env=env)
    no_crash(text)
    assert text.returncode == 3 and "UNKNOWN" in text.output and "no outbox" in text.output, text.output
    local = run(site, "status", "--local-check", env=env)
    assert local.returncode == 3 and local.run.stdout.startswith("3 "), local.output
    as_json = run(site, "status", "--json", env=env)
    assert as_json.returncode == 3
    info = strict_json(as_json.run.stdout)
    assert info["exit_code"] == 3 and info["exists"] is False, info
