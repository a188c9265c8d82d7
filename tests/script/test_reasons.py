"""Every "queued" line says why, with a time; a rejected key says which setting to look at.

The notification script runs as Checkmk runs it (a simulated site), against the iLert stand-in on a
real socket. The stand-in ties each test key to a source type (``source_types`` in
tests/conftest.py): a key posted to the other type's endpoint gets the answer of an unknown key,
404 NO_ALERT_SOURCE_FOUND (an assumption: iLert documents no answer for that case).
"""

from __future__ import annotations

import re

from tests.script.util import assert_clean, closed_port
from tests.support.contexts import api_params, checkmk_params, host, service
from tests.support.site import KEY_API, KEY_CMK, PROXY_PASSWORD

#: ISO 8601 local time with its UTC offset, to the second
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d"
HELD = {"CMK_ILERT_RATE_WINDOW": "600"}  # a "minute" of ten: the second event waits for its slot


def test_a_checkmk_key_on_the_api_endpoint_names_the_source_type_setting(site, standin):
    run = site.run(service("PROBLEM", api_params(standin.url, key=KEY_CMK)))
    line = assert_clean(run, 2)
    assert "rejected permanently (HTTP 404 NO_ALERT_SOURCE_FOUND rejected: check" in line, line
    assert ('no alert source of type API has this key: if it belongs to an alert source of type Checkmk, set '
            '"iLert alert source type" (ilert_source_type) to Checkmk') in line, line
    assert [r["status"] for r in standin.log()] == [404]


def test_an_api_key_on_the_checkmk_endpoint_names_the_source_type_setting(site, standin):
    run = site.run(service("PROBLEM", checkmk_params(standin.url, key=KEY_API)))
    line = assert_clean(run, 2)
    assert ('no alert source of type Checkmk has this key: if it belongs to an alert source of type API, set '
            '"iLert alert source type" (ilert_source_type) to API') in line, line


def test_each_key_on_its_own_endpoint_is_delivered(site, standin):
    assert site.run(service("PROBLEM", api_params(standin.url, key=KEY_API))).returncode == 0
    assert site.run(host("PROBLEM", checkmk_params(standin.url, key=KEY_CMK))).returncode == 0
    assert [r["status"] for r in standin.log()] == [202, 200]


def test_queued_by_the_client_side_rate_limit_says_so_with_the_next_slot(site, standin):
    params = api_params(standin.url, rate_limit="1")
    assert site.run(host("PROBLEM", params, HOSTNAME="web01"), env=HELD).returncode == 0
    line = assert_clean(site.run(host("PROBLEM", params, HOSTNAME="web02"), env=HELD), 1)
    assert re.search(r": queued: client-side rate limit: 1/min for alert source key \.\.\.%s \("
                     r"\"Rate limit\" \(rate_limit\)\), next slot at %s \(will be delivered" % (KEY_API[-4:], ISO),
                     line), line
    assert len(standin.log()) == 1


def test_queued_after_a_429_says_until_when_the_alert_source_is_paused(site, standin):
    standin.inject("429:300")
    params = api_params(standin.url)
    line = assert_clean(site.run(host("PROBLEM", params, HOSTNAME="web01")), 1)
    assert re.search(r"queued: HTTP 429( TOO_MANY_REQUESTS)? rate limited by iLert, "
                     r"key \.\.\.%s paused 300\.0s, until %s$" % (KEY_API[-4:], ISO), line), line
    line = assert_clean(site.run(host("PROBLEM", params, HOSTNAME="web02")), 1)
    assert re.search(r"ALERT cmk/mysite/web02: queued: alert source key \.\.\.%s paused after iLert's 429 until %s "
                     % (KEY_API[-4:], ISO), line), line
    # status names the paused alert source by its endpoint and key hint, never by an internal hash
    status = site.cli("status")
    assert re.search(r"alert source \[api, key \.\.\.%s, [^\]]+\] paused after iLert answered 429, until %s "
                     r"\(\d+m? ?\d*s?\)" % (KEY_API[-4:], ISO), status.stdout), status.stdout
    assert not re.search(r"[0-9a-f]{16}", status.stdout.split("dead letter")[0]), status.stdout


def test_queued_after_a_5xx_says_server_error_and_the_next_event_waits_for_the_retry_time(site, standin):
    standin.inject("503")
    params = api_params(standin.url)
    line = assert_clean(site.run(service("PROBLEM", params)), 1)
    assert re.search(r"queued for retry \(HTTP 503( SERVICE_UNAVAILABLE)? server error at iLert\), attempt 1, "
                     r"next in \d+s$", line), line
    line = assert_clean(site.run(service("ACKNOWLEDGEMENT", params)), 1, lines=2)  # the ACCEPT and its COMMENT
    assert re.search(r"ACCEPT cmk/mysite/web01/cpu load~f26268fd97: queued: retry 2 waits until %s after: "
                     r"HTTP 503( SERVICE_UNAVAILABLE)? server error at iLert \(will be delivered" % ISO, line), line


def test_queued_by_an_unreachable_proxy_names_the_proxy_without_its_password(site, standin):
    port = closed_port()
    proxy = "http://ops:%s@127.0.0.1:%d" % (PROXY_PASSWORD, port)
    run = site.run(service("PROBLEM", api_params(standin.url, proxy_url=proxy)))
    line = assert_clean(run, 1, extra_secrets=[PROXY_PASSWORD])
    assert ('queued for retry (proxy error: proxy unreachable or refused the request (proxy 127.0.0.1:%d from '
            '"HTTP proxy" (proxy_url))), attempt 1' % port) in line, line
    assert "ops" not in line.split("proxy 127.0.0.1")[1]


def test_a_missing_key_file_is_named(site, tmp_path):
    missing = tmp_path / "no-such.key"
    run = site.cli("test", "--key-file", str(missing), "--api-url", "http://127.0.0.1:9")
    assert run.returncode == 2 and "cannot read the key file %s (FileNotFoundError)" % missing in run.stdout, \
        run.output
    run = site.cli("heartbeat", "--url-file", str(missing))
    assert run.returncode == 2 and "cannot read the heartbeat URL file %s: ENOENT" % missing in run.stdout, \
        run.output
