"""Dead letters keep what an admin needs (reason, type, alert key) and, for ``retry``, the event as the
queue keeps it (the key only as its reference, in a 0600 file); nothing else holds a secret."""

from __future__ import annotations

import json

import pytest

from tests.delivery.conftest import event, event_requests, no_traceback
from tests.support.contexts import api_params, checkmk_params
from tests.support.site import KEY_CMK, PROXY_PASSWORD, SECRETS, without_kept_secrets

pytestmark = pytest.mark.runtime

T0 = 1795341600000000


def test_checkmk_source_dead_letter_has_no_key_from_the_url(site, standin):
    params = checkmk_params(standin.url, PARAMETER_PROXY_URL="http://user:%s@127.0.0.1:9" % PROXY_PASSWORD)
    params["PARAMETER_PROXY_URL"] = "NO_PROXY"
    standin.inject("403")
    run = site.run(event("cmkdead", params, micro=T0 + 1))
    no_traceback(run)
    assert run.returncode == 2, run.output
    [dead] = site.dead()
    record = json.loads(dead.read_text())
    text = without_kept_secrets(dead.read_text())
    assert "HTTP 403" in record["reason"]
    assert record["endpoint"] == "checkmk" and record["key_hint"].endswith(KEY_CMK[-4:])
    for secret in SECRETS:
        assert secret not in text
    assert record["entry"]["key"] == {"value": KEY_CMK}  # kept for retry, as in the queue
    assert dead.stat().st_mode & 0o077 == 0


def test_queue_entry_with_proxy_credentials_never_reaches_a_dead_letter(site):
    # a fixed URL: no digits of a random port that could look like a status code
    params = api_params("http://127.0.0.1:8", PROXY_URL="http://user:%s@127.0.0.1:9" % PROXY_PASSWORD)
    run = site.run(event("proxy", params, micro=T0 + 1))  # proxy refuses: queued
    no_traceback(run)
    assert run.returncode == 1, run.output
    assert PROXY_PASSWORD not in run.output
    assert len(site.queue()) == 1
    path = site.queue()[0]
    data = json.loads(path.read_text())
    data["created"] -= 25 * 3600  # expire it
    path.write_text(json.dumps(data))
    flush = site.cli("flush")
    assert flush.returncode == 2, flush.output
    [dead] = site.dead()
    assert PROXY_PASSWORD not in without_kept_secrets(dead.read_text())
    assert "expired" in json.loads(dead.read_text())["reason"]


@pytest.mark.parametrize("source", ["api", "checkmk"])
def test_summary_template_cannot_pull_the_key_into_the_event(site, standin, params, source):
    """Regression (fixed in 7bfb076): $PARAMETER_*$ macros were expanded from the rule, so the key
    reached the alert summary (sent to iLert, shown to responders) and the dead letter."""
    params = dict(params, PARAMETER_ILERT_SOURCE_TYPE=source,
                  PARAMETER_ILERT_SUMMARY_SERVICE="$HOSTNAME$ $PARAMETER_ILERT_API_KEY_2$ $SERVICEOUTPUT$")
    key = params["PARAMETER_ILERT_API_KEY_2"]
    standin.inject("400")
    run = site.run(event("tpl", params, micro=T0 + 1))
    no_traceback(run)
    assert run.returncode == 2, run.output
    assert key not in run.output
    sent = event_requests(standin) if source == "api" else [e for e in standin.log() if e["method"] == "POST"]
    body = json.dumps(sent[-1]["body"])
    dead_texts = [without_kept_secrets(p.read_text()) for p in site.dead()]
    for path in site.dead():  # keep the session's secret scan meaningful for the other tests
        path.unlink()
    assert key not in body.replace('"integrationKey": "%s"' % key, ""), "the key was sent inside the event"
    assert all(key not in text for text in dead_texts), "the dead letter holds the key"


def test_unreachable_proxy_is_temporary(site):
    params = api_params("http://127.0.0.1:8", PROXY_URL="http://user:%s@127.0.0.1:9" % PROXY_PASSWORD)
    run = site.run(event("px", params, micro=T0 + 1))
    no_traceback(run)
    assert PROXY_PASSWORD not in run.output
    assert run.returncode == 1, run.output
    assert "proxy" in run.stdout
    assert len(site.queue()) == 1 and site.dead() == []


@pytest.mark.parametrize("api_url", ["http://ilert407.example.net", "http://127.0.0.1:40799"])
def test_unreachable_proxy_is_temporary_whatever_the_url(site, api_url):
    """Regression (fixed in 7bfb076): any '407' in the exception text (the target URL's host or
    port) made an unreachable proxy a permanent failure, and the event a dead letter."""
    params = api_params(api_url, PROXY_URL="http://user:%s@127.0.0.1:9" % PROXY_PASSWORD)
    run = site.run(event("px", params, micro=T0 + 1))
    no_traceback(run)
    assert PROXY_PASSWORD not in run.output
    assert run.returncode == 1, run.output
    assert "proxy" in run.stdout
    assert len(site.queue()) == 1 and site.dead() == []
