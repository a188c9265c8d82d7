"""Rule parameters in the shape of every Checkmk release 2.0 ... 2.5 (docs/forms.md, tests/forms/facts/).

Each case runs the real script and checks what the stand-in received: the right key (in the
body for `api`, in the path for `checkmk`), or, for unusable parameters, exit 2 with one
line that names the parameter and no secret, and no request at all.
"""

from __future__ import annotations

from typing import Dict

import pytest

from tests.script.util import CHECKMK_PATH, assert_clean, event_requests, microtime
from tests.support.contexts import service
from tests.support.site import KEY_API, KEY_CMK, KEY_STORED, PROXY_PASSWORD

pytestmark = pytest.mark.runtime

UUID = "uuidcdd72f8e-1b5e-4b2a-8a47-5d0c4c3e9f11"
STORE_ID = "ilert_prod_key"


def base(url: str, source_type: str = "api", **extra: str) -> Dict[str, str]:
    """Parameters without any ILERT_API_KEY entry."""
    out = {"PARAMETER_ILERT_SOURCE_TYPE": source_type, "PARAMETER_ILERT_API_URL": url}
    out.update({"PARAMETER_" + k.upper(): v for k, v in extra.items()})
    return out


def key_params(shape: str, key: str) -> Dict[str, str]:
    p = "PARAMETER_ILERT_API_KEY"
    if shape == "2.0 explicit":
        return {p: "password\t" + key}
    if shape == "2.0 built-in ilert_api_key":
        return {p: "ilert_api_key\t" + key}
    if shape == "2.1-2.3 explicit":
        return {p: "password\t" + key, p + "_1": "password", p + "_2": key}
    if shape == "2.4 explicit_password":
        return {p + "_1": "cmk_postprocessed", p + "_2": "explicit_password", p + "_3": UUID + "\t" + key,
                p + "_3_1": UUID, p + "_3_2": key}
    if shape == "2.4 explicit_password without _3_x":
        return {p + "_1": "cmk_postprocessed", p + "_2": "explicit_password", p + "_3": UUID + "\t" + key}
    if shape == "plain value":
        return {p: key}
    raise AssertionError(shape)


EXPLICIT_SHAPES = ("2.0 explicit", "2.0 built-in ilert_api_key", "2.1-2.3 explicit", "2.4 explicit_password",
                   "2.4 explicit_password without _3_x", "plain value")


def delivered_with(standin, fmt: str, key: str) -> None:
    sent = event_requests(standin)
    assert len(sent) == 1, sent
    assert sent[0]["status"] == 202 if fmt == "api" else sent[0]["status"] == 200
    if fmt == "api":
        assert sent[0]["body"]["integrationKey"] == key
    else:
        assert sent[0]["path"].startswith(CHECKMK_PATH)
    assert sent[0]["key"] == key
    assert [a["sourceKey"] for a in standin.alerts()] == [key]


# --- explicit keys ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", EXPLICIT_SHAPES)
def test_explicit_key_shapes_api(site, standin, shape):
    run = site.run(service("PROBLEM", dict(base(standin.url), **key_params(shape, KEY_API))))
    assert_clean(run, 0)
    delivered_with(standin, "api", KEY_API)


@pytest.mark.parametrize("shape", ["2.0 explicit", "2.4 explicit_password"])
def test_explicit_key_shapes_checkmk(site, standin, shape):
    run = site.run(service("PROBLEM", dict(base(standin.url, "checkmk"), **key_params(shape, KEY_CMK))))
    assert_clean(run, 0)
    delivered_with(standin, "checkmk", KEY_CMK)


@pytest.mark.parametrize("fmt", ["api", "checkmk"])
@pytest.mark.parametrize("key", ["il1apiWITH SPACE inside\tand tab", "il1apiNEWLINE\ninside-0123",
                                 "il1apiFS\x1cinside-012345", "il1apiLS\u2028inside-01234", "short12"])
def test_key_that_cannot_be_an_ilert_key_is_a_configuration_error(site, standin, fmt, key):
    """iLert keys never hold whitespace or control characters, and are not this short. Such a
    "key" is refused in one line, exit 2, and no part of it is printed (joined lines, or a short
    key that redaction would have to find inside ordinary words, leaked before)."""
    standin.configure(keys=[key])
    run = site.run(service("PROBLEM", dict(base(standin.url, fmt), PARAMETER_ILERT_API_KEY="password\t" + key)))
    line = assert_clean(run, 2, extra_secrets=[key])
    assert "not an iLert key" in line
    for part in key.split():
        if len(part) >= 6:
            assert part not in run.output
    assert standin.log() == []


def test_key_surrounding_whitespace_is_ignored(site, standin):
    run = site.run(service("PROBLEM", dict(base(standin.url), **key_params("2.1-2.3 explicit", " %s\n" % KEY_API))))
    assert_clean(run, 0)
    delivered_with(standin, "api", KEY_API)


# --- stored keys -----------------------------------------------------------------------------


def stored_params(shape: str, store_id: str) -> Dict[str, str]:
    p = "PARAMETER_ILERT_API_KEY"
    if shape == "2.0 store":
        return {p: "store\t" + store_id}
    if shape == "2.1-2.3 store":
        return {p: "store\t" + store_id, p + "_1": "store", p + "_2": store_id}
    if shape == "2.4 stored_password":
        return {p + "_1": "cmk_postprocessed", p + "_2": "stored_password", p + "_3": store_id + "\t",
                p + "_3_1": store_id, p + "_3_2": ""}
    if shape == "2.5 explicit_password kept in the store":
        return {p + "_1": "cmk_postprocessed", p + "_2": "explicit_password", p + "_3": store_id + "\t",
                p + "_3_1": store_id, p + "_3_2": ""}
    raise AssertionError(shape)


STORED_CASES = [
    ("2.0 store", False),
    ("2.1-2.3 store", False),
    ("2.4 stored_password", True),
    ("2.5 explicit_password kept in the store", True),
]


@pytest.mark.parametrize("shape, raises", STORED_CASES)
def test_stored_key_resolved_through_the_site_password_store(site, standin, shape, raises):
    standin.configure(keys=[KEY_API, KEY_STORED])
    store_id = UUID if shape.startswith("2.5") else STORE_ID
    site.password_store({store_id: KEY_STORED, "other": KEY_API}, raises=raises)
    run = site.run(service("PROBLEM", dict(base(standin.url), **stored_params(shape, store_id))))
    assert_clean(run, 0)
    delivered_with(standin, "api", KEY_STORED)


def test_stored_key_in_checkmk_format_stays_out_of_the_body(site, standin):
    standin.configure(keys=[KEY_STORED])
    site.password_store({STORE_ID: KEY_STORED}, raises=True)
    run = site.run(service("PROBLEM", dict(base(standin.url, "checkmk"), **stored_params("2.4 stored_password",
                                                                                        STORE_ID))))
    assert_clean(run, 0)
    entry = event_requests(standin)[0]
    assert entry["path"] == CHECKMK_PATH + KEY_STORED
    assert KEY_STORED not in str(entry["body"])
    assert STORE_ID not in str(entry["body"])


@pytest.mark.parametrize("shape, raises", STORED_CASES)
def test_missing_store_id_is_a_permanent_error_naming_the_id(site, standin, shape, raises):
    site.password_store({"some_other_id": KEY_STORED}, raises=raises)
    store_id = "ilert_missing_entry"
    run = site.run(service("PROBLEM", dict(base(standin.url), **stored_params(shape, store_id))))
    line = assert_clean(run, 2)
    assert store_id in line
    assert event_requests(standin) == []


def test_store_id_outside_a_site_is_a_permanent_error(site, standin):
    """No cmk.utils.password_store importable (e.g. a dry run on a laptop): exit 2, no traceback."""
    run = site.run(service("PROBLEM", dict(base(standin.url), **stored_params("2.1-2.3 store", STORE_ID))))
    line = assert_clean(run, 2)
    assert STORE_ID in line
    assert event_requests(standin) == []


@pytest.mark.parametrize(
    "key_entries",
    [
        {},
        {"PARAMETER_ILERT_API_KEY": "password\t"},
        {"PARAMETER_ILERT_API_KEY": "password\t   "},
        {"PARAMETER_ILERT_API_KEY_1": "cmk_postprocessed", "PARAMETER_ILERT_API_KEY_2": "explicit_password",
         "PARAMETER_ILERT_API_KEY_3": "\t", "PARAMETER_ILERT_API_KEY_3_1": "", "PARAMETER_ILERT_API_KEY_3_2": ""},
    ],
    ids=["absent", "empty", "blank", "2.4 empty"],
)
def test_missing_key_is_a_permanent_error(site, standin, key_entries):
    run = site.run(service("PROBLEM", dict(base(standin.url), **key_entries)))
    line = assert_clean(run, 2)
    assert "ilert_api_key" in line or "password store" in line
    assert event_requests(standin) == []


def test_unknown_password_kind_is_a_permanent_error(site, standin):
    run = site.run(service("PROBLEM", dict(base(standin.url), PARAMETER_ILERT_API_KEY="vault\t" + KEY_API)))
    line = assert_clean(run, 2)
    assert "ilert_api_key" in line
    assert event_requests(standin) == []


# --- checkboxes and choices ----------------------------------------------------------------


def test_lowercase_priority_of_the_20_builtin(site, standin):
    ctx = service("PROBLEM", dict(base(standin.url), **key_params("2.0 explicit", KEY_API)),
                  PARAMETER_ILERT_PRIORITY="high", SERVICESTATE="WARNING", SERVICESHORTSTATE="WARN")
    assert_clean(site.run(ctx), 0)
    assert event_requests(standin)[0]["body"]["priority"] == "HIGH"


@pytest.mark.parametrize("value, expected", [("True", "PROBLEM sent"), (None, "ignored")])
def test_forward_custom_checkbox(site, standin, value, expected):
    extra = {"forward_custom": value} if value else {}
    run = site.run(service("CUSTOM", dict(base(standin.url, **extra), **key_params("2.1-2.3 explicit", KEY_API))))
    line = assert_clean(run, 0)
    if expected == "ignored":
        assert "ignored" in line.lower() and event_requests(standin) == []
    else:
        assert len(standin.alerts()) == 1


@pytest.mark.parametrize("value", ["True", None])
def test_outbox_on_keeps_a_failed_event(site, standin, value):
    extra = {"outbox": value} if value else {}
    standin.inject(503)
    run = site.run(service("PROBLEM", dict(base(standin.url, **extra), **key_params("2.1-2.3 explicit", KEY_API))))
    assert_clean(run, 1)
    assert len(site.queue()) == 1


@pytest.mark.parametrize("value", ["False", ""])
def test_outbox_off_writes_nothing(site, standin, value):
    standin.inject(503)
    run = site.run(service("PROBLEM", dict(base(standin.url, outbox=value), **key_params("2.1-2.3 explicit",
                                                                                       KEY_API))))
    assert_clean(run, 1)
    queue = site.state_dir / "queue"
    assert not queue.exists() or list(queue.iterdir()) == []
    # a later, successful run delivers only its own event: nothing was kept
    ok = service("PROBLEM", dict(base(standin.url, outbox=value), **key_params("2.1-2.3 explicit", KEY_API)),
                 MICROTIME=microtime(1))
    assert_clean(site.run(ok), 0)
    assert len(event_requests(standin)) == 2
    assert not queue.exists() or list(queue.iterdir()) == []


@pytest.mark.parametrize("value", ["2.5", "600"])
def test_timeout_values_accepted(site, standin, value):
    run = site.run(service("PROBLEM", dict(base(standin.url, timeout=value), **key_params("2.0 explicit", KEY_API))))
    assert_clean(run, 0)


def test_defaults_source_type_is_checkmk(site, standin):
    ctx = service("PROBLEM", {"PARAMETER_ILERT_API_URL": standin.url, **key_params("2.1-2.3 explicit", KEY_CMK)})
    assert_clean(site.run(ctx), 0)
    assert event_requests(standin)[0]["path"] == CHECKMK_PATH + KEY_CMK


# --- bad values ----------------------------------------------------------------------------

BAD_VALUES = {
    "priority urgent": ({"ilert_priority": "urgent"}, "ilert_priority"),
    "source type foo": ({"ilert_source_type": "foo"}, "ilert_source_type"),
    "api url with credentials": ({"ilert_api_url": "https://admin:%s@api.ilert.com" % PROXY_PASSWORD},
                                 "ilert_api_url"),
    "api url with query": ({"ilert_api_url": "https://api.ilert.com/?token=%s" % KEY_API}, "ilert_api_url"),
    "api url with fragment": ({"ilert_api_url": "https://api.ilert.com/#%s" % KEY_API}, "ilert_api_url"),
    "api url ftp": ({"ilert_api_url": "ftp://api.ilert.com"}, "ilert_api_url"),
    "api url bad port": ({"ilert_api_url": "https://api.ilert.com:99999"}, "ilert_api_url"),
    "timeout abc": ({"timeout": "abc"}, "timeout"),
    "timeout zero": ({"timeout": "0"}, "timeout"),
    "timeout negative": ({"timeout": "-5"}, "timeout"),
    "timeout nan": ({"timeout": "nan"}, "timeout"),
    "rate limit negative": ({"rate_limit": "-1"}, "rate_limit"),
    "rate limit fraction": ({"rate_limit": "1.5"}, "rate_limit"),
    "url prefix unknown": ({"url_prefix": "somewhere"}, "url_prefix"),
    "url prefix manual not a url": ({"url_prefix_manual": "cmk.example.net/mysite"}, "url_prefix"),
    "proxy global unresolved": ({"proxy_url_1": "global", "proxy_url_2": "corp-proxy"}, "proxy_url"),
}


@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_bad_value_is_a_permanent_error_naming_the_parameter(site, standin, case):
    extra, name = BAD_VALUES[case]
    params = dict(base(standin.url), **key_params("2.1-2.3 explicit", KEY_API))
    params.update({"PARAMETER_" + k.upper(): v for k, v in extra.items()})
    run = site.run(service("PROBLEM", params))
    line = assert_clean(run, 2)
    assert name in line
    assert event_requests(standin) == []
    assert site.queue() == []


def test_bad_value_in_bulk_rejects_each_event_once(site, standin):
    params = dict(base(standin.url, ilert_priority="urgent"), **key_params("2.1-2.3 explicit", KEY_API))
    ctxs = [service("PROBLEM", {}, MICROTIME=microtime(n), HOSTNAME="web0%d" % n) for n in range(2)]
    run = site.run(bulk=ctxs, bulk_parameters=params)
    assert_clean(run, 2, lines=None)
    assert event_requests(standin) == []
    assert sum("ilert_priority" in line for line in run.lines) == 2


# --- proxy shapes (the proxy tests in test_network.py show the modes in depth) -------------------

PROXY_SHAPES = {
    "absent": ({}, True),
    "FROM_ENVIRONMENT": ({"PARAMETER_PROXY_URL": "FROM_ENVIRONMENT"}, True),
    "NO_PROXY": ({"PARAMETER_PROXY_URL": "NO_PROXY"}, False),
    "empty (2.0 no proxy)": ({"PARAMETER_PROXY_URL": ""}, False),
    "tuple environment": ({"PARAMETER_PROXY_URL_1": "cmk_postprocessed", "PARAMETER_PROXY_URL_2": "environment_proxy",
                           "PARAMETER_PROXY_URL_3": ""}, True),
    "tuple no_proxy": ({"PARAMETER_PROXY_URL_1": "cmk_postprocessed", "PARAMETER_PROXY_URL_2": "no_proxy",
                        "PARAMETER_PROXY_URL_3": ""}, False),
}


@pytest.mark.parametrize("shape", list(PROXY_SHAPES))
def test_proxy_shapes_with_environment_proxy(site, standin, proxy, shape):
    entries, via_proxy = PROXY_SHAPES[shape]
    params = dict(base(standin.url), **key_params("2.1-2.3 explicit", KEY_API))
    params.update(entries)
    run = site.run(service("PROBLEM", params), env={"http_proxy": proxy.url, "HTTP_PROXY": proxy.url})
    assert_clean(run, 0)
    assert len(event_requests(standin)) == 1
    seen = proxy.requests()
    if via_proxy:
        assert [(r["method"], r["target"]) for r in seen] == [("POST", standin.url + "/api/events")]
    else:
        assert seen == []


@pytest.mark.parametrize("shape", ["plain URL", "tuple explicit_proxy", "URL without scheme"])
def test_proxy_url_shapes(site, standin, auth_proxy, shape):
    url = auth_proxy.url_with("proxyuser", PROXY_PASSWORD)
    if shape == "plain URL":
        entries = {"PARAMETER_PROXY_URL": url}
    elif shape == "URL without scheme":
        entries = {"PARAMETER_PROXY_URL": url[len("http://"):]}
    else:
        entries = {"PARAMETER_PROXY_URL_1": "cmk_postprocessed", "PARAMETER_PROXY_URL_2": "explicit_proxy",
                   "PARAMETER_PROXY_URL_3": url}
    params = dict(base(standin.url), **key_params("2.1-2.3 explicit", KEY_API))
    params.update(entries)
    run = site.run(service("PROBLEM", params))
    assert_clean(run, 0)
    assert [(r["method"], r["authorized"]) for r in auth_proxy.requests()] == [("POST", True)]
    assert len(event_requests(standin)) == 1
