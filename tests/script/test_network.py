"""Proxy modes through a real forward proxy, and TLS with a real certificate (trustme)."""

from __future__ import annotations

import pytest

from tests.script.conftest import PROXY_USER
from tests.script.util import FORMATS, assert_clean, event_requests, key_of, microtime, params
from tests.support.contexts import service
from tests.support.site import PROXY_PASSWORD

pytestmark = pytest.mark.runtime


def proxied(proxy, standin) -> list:
    return [(r["method"], r["target"]) for r in proxy.requests()]


# --- explicit proxy URL --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_explicit_proxy_with_credentials_is_used_and_authenticated(site, standin, auth_proxy, fmt):
    url = auth_proxy.url_with(PROXY_USER, PROXY_PASSWORD)
    run = site.run(service("PROBLEM", params(fmt, standin.url, proxy_url=url)))
    assert_clean(run, 0)
    seen = auth_proxy.requests()
    assert len(seen) == 1
    assert seen[0]["method"] == "POST" and seen[0]["target"].startswith(standin.url + "/api/")
    assert seen[0]["user"] == PROXY_USER and seen[0]["authorized"] is True
    assert len(event_requests(standin)) == 1
    # the proxy credentials never reach iLert
    entry = event_requests(standin)[0]
    assert PROXY_PASSWORD not in str(entry["headers"]) and PROXY_PASSWORD not in str(entry["body"])
    assert not any(k.lower().startswith("proxy-") for k in entry["headers"])


def test_explicit_proxy_ignores_environment_proxies(site, standin, auth_proxy, proxy):
    url = auth_proxy.url_with(PROXY_USER, PROXY_PASSWORD)
    env = {"http_proxy": proxy.url, "HTTP_PROXY": proxy.url, "https_proxy": proxy.url, "no_proxy": "127.0.0.1"}
    assert_clean(site.run(service("PROBLEM", params("api", standin.url, proxy_url=url)), env=env), 0)
    assert len(auth_proxy.requests()) == 1
    assert proxy.requests() == []


def test_explicit_proxy_with_wrong_password_fails_cleanly(site, standin, auth_proxy):
    url = auth_proxy.url_with(PROXY_USER, "wrong-" + PROXY_PASSWORD[:4])
    run = site.run(service("PROBLEM", params("api", standin.url, proxy_url=url, outbox="False")))
    assert run.returncode != 0
    assert_clean(run, run.returncode, extra_secrets=["wrong-" + PROXY_PASSWORD[:4]])
    assert [r["authorized"] for r in auth_proxy.requests()] == [False]
    assert event_requests(standin) == []


@pytest.mark.parametrize("scheme", [
    "http",
    "https",
])
def test_wrong_proxy_credentials_are_a_permanent_error(site, standin, tls_standin, tls_files, auth_proxy, scheme):
    target = tls_standin if scheme == "https" else standin
    url = auth_proxy.url_with(PROXY_USER, "wrong-" + PROXY_PASSWORD[:4])
    run = site.run(service("PROBLEM", params("api", target.url, proxy_url=url)),
                   env={"REQUESTS_CA_BUNDLE": str(tls_files.ca)})
    assert [r["status"] for r in auth_proxy.requests()] == [407]
    line = assert_clean(run, 2, extra_secrets=["wrong-" + PROXY_PASSWORD[:4]])
    assert "proxy" in line.lower() or "407" in line
    assert site.queue() == []


def test_explicit_proxy_unreachable_is_temporary(site, standin):
    from tests.script.util import closed_port

    url = "http://%s:%s@127.0.0.1:%d" % (PROXY_USER, PROXY_PASSWORD, closed_port())
    run = site.run(service("PROBLEM", params("checkmk", standin.url, proxy_url=url)))
    assert_clean(run, 1)
    assert len(site.queue()) == 1
    assert event_requests(standin) == []


# --- environment -----------------------------------------------------------------------------------


@pytest.mark.parametrize("proxy_param", ["FROM_ENVIRONMENT", None])
@pytest.mark.parametrize("variable", ["http_proxy", "HTTP_PROXY"])
def test_environment_proxy_for_http(site, standin, proxy, proxy_param, variable):
    extra = {"proxy_url": proxy_param} if proxy_param else {}
    run = site.run(service("PROBLEM", params("api", standin.url, **extra)), env={variable: proxy.url})
    assert_clean(run, 0)
    assert proxied(proxy, standin) == [("POST", standin.url + "/api/events")]
    assert len(event_requests(standin)) == 1


@pytest.mark.parametrize("proxy_param", ["FROM_ENVIRONMENT", None])
def test_environment_proxy_for_https_uses_connect(site, tls_standin, tls_files, proxy, proxy_param):
    extra = {"proxy_url": proxy_param} if proxy_param else {}
    env = {"HTTPS_PROXY": proxy.url, "REQUESTS_CA_BUNDLE": str(tls_files.ca)}
    run = site.run(service("PROBLEM", params("checkmk", tls_standin.url, **extra)), env=env)
    assert_clean(run, 0)
    assert proxied(proxy, tls_standin) == [("CONNECT", "127.0.0.1:%d" % tls_standin.port)]
    assert len(event_requests(tls_standin)) == 1


def test_environment_no_proxy_variable_is_honoured(site, standin, proxy):
    env = {"http_proxy": proxy.url, "no_proxy": "127.0.0.1,localhost"}
    assert_clean(site.run(service("PROBLEM", params("api", standin.url, proxy_url="FROM_ENVIRONMENT")), env=env), 0)
    assert proxy.requests() == []
    assert len(event_requests(standin)) == 1


@pytest.mark.parametrize("proxy_param", ["NO_PROXY", ""])
def test_no_proxy_ignores_environment_variables(site, standin, proxy, proxy_param):
    env = {"http_proxy": proxy.url, "HTTP_PROXY": proxy.url, "https_proxy": proxy.url, "HTTPS_PROXY": proxy.url,
           "ALL_PROXY": proxy.url}
    run = site.run(service("PROBLEM", params("api", standin.url, proxy_url=proxy_param)), env=env)
    assert_clean(run, 0)
    assert proxy.requests() == []
    assert len(event_requests(standin)) == 1


def test_no_proxy_still_uses_the_ca_bundle_of_the_environment(site, tls_standin, tls_files, proxy):
    env = {"https_proxy": proxy.url, "REQUESTS_CA_BUNDLE": str(tls_files.ca)}
    run = site.run(service("PROBLEM", params("api", tls_standin.url, proxy_url="NO_PROXY")), env=env)
    assert_clean(run, 0)
    assert proxy.requests() == []
    assert len(event_requests(tls_standin)) == 1


def test_explicit_proxy_to_https_tunnels_and_verifies(site, tls_standin, tls_files, auth_proxy):
    url = auth_proxy.url_with(PROXY_USER, PROXY_PASSWORD)
    env = {"REQUESTS_CA_BUNDLE": str(tls_files.ca)}
    run = site.run(service("PROBLEM", params("checkmk", tls_standin.url, proxy_url=url)), env=env)
    assert_clean(run, 0)
    seen = auth_proxy.requests()
    assert [(r["method"], r["authorized"]) for r in seen] == [("CONNECT", True)]
    assert len(event_requests(tls_standin)) == 1


# --- TLS -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_tls_verified_with_the_site_ca_bundle(site, tls_standin, tls_files, fmt):
    assert tls_standin.url.startswith("https://")
    env = {"REQUESTS_CA_BUNDLE": str(tls_files.ca)}
    run = site.run(service("PROBLEM", params(fmt, tls_standin.url)), env=env)
    line = assert_clean(run, 0)
    assert "delivered" in line
    assert len(tls_standin.alerts()) == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_tls_unknown_ca_is_temporary_and_queued(site, tls_standin, fmt):
    run = site.run(service("PROBLEM", params(fmt, tls_standin.url)))
    line = assert_clean(run, 1)
    assert "TLS" in line or "certificate" in line.lower()
    assert len(site.queue()) == 1
    assert site.dead() == []
    assert event_requests(tls_standin) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_ignore_ssl_delivers_without_warning(site, tls_standin, fmt):
    run = site.run(service("PROBLEM", params(fmt, tls_standin.url, ignore_ssl="True")),
                   env={"PYTHONWARNINGS": "default"})
    line = assert_clean(run, 0)
    assert "delivered" in line
    assert "InsecureRequestWarning" not in run.output and "Unverified HTTPS" not in run.output
    assert len(tls_standin.alerts()) == 1


def test_queued_tls_event_delivered_by_flush_once_the_ca_is_known(site, tls_standin, tls_files):
    assert_clean(site.run(service("PROBLEM", params("api", tls_standin.url))), 1)
    assert len(site.queue()) == 1
    run = site.cli("flush", "--now", env={"REQUESTS_CA_BUNDLE": str(tls_files.ca)})
    assert run.returncode == 0, run.output
    assert site.queue() == []
    assert len(tls_standin.alerts()) == 1


def test_bulk_over_https_proxy_uses_one_tunnel(site, tls_standin, tls_files, auth_proxy):
    """One HTTP session per bulk: one CONNECT (one TLS handshake) for every event."""
    url = auth_proxy.url_with(PROXY_USER, PROXY_PASSWORD)
    contexts = [service("PROBLEM", {}, HOSTNAME="web%02d" % n, MICROTIME=microtime(n)) for n in range(3)]
    run = site.run(bulk=contexts, bulk_parameters=params("api", tls_standin.url, proxy_url=url),
                   env={"REQUESTS_CA_BUNDLE": str(tls_files.ca)})
    assert_clean(run, 0, lines=None)
    assert [r["method"] for r in auth_proxy.requests()] == ["CONNECT"]
    sent = event_requests(tls_standin)
    assert [e["body"]["customDetails"]["host"] for e in sent] == ["web00", "web01", "web02"]
    assert all(e["body"]["integrationKey"] == key_of("api") for e in sent)
