"""Property-based fuzzing of the real notification script: whatever Checkmk (or a broken rule)
hands over, the script answers with exit code 0, 1 or 2, one-line messages, no traceback, and
never shows a secret, neither in its output nor in a file name.

Every example runs the real script in a subprocess against the stand-in. Outgoing proxies of
the environment point at a closed local port, so a context that falls back to the default
iLert URL fails fast instead of reaching the internet.
"""

from __future__ import annotations

import itertools
from typing import Dict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ilert_standin import StandIn
from tests.delivery.conftest import spawn_notify
from tests.support.contexts import BASE_HOST, BASE_SERVICE
from tests.support.site import (
    KEY_API,
    KEY_CMK,
    KEY_STORED,
    KEY_UNAUTHORIZED,
    PROXY_PASSWORD,
    SECRETS,
    FakeSite,
    Run,
    bulk_stdin,
)

pytestmark = pytest.mark.outbox_logic  # interpreter-independent: run once, on the dev Python

ENV = {
    "http_proxy": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "no_proxy": "127.0.0.1,localhost",
    "NO_PROXY": "127.0.0.1,localhost",
}
REAL_TYPES = [
    "PROBLEM", "RECOVERY", "ACKNOWLEDGEMENT", "CUSTOM", "FLAPPINGSTART", "FLAPPINGSTOP", "FLAPPINGDISABLED",
    "DOWNTIMESTART", "DOWNTIMEEND", "DOWNTIMECANCELLED", "ALERTHANDLER (OK)", "ALERTHANDLER (EXIT)",
]
_counter = itertools.count()

# --- strategies ----------------------------------------------------------------------------

#: Any text an environment variable can carry (no NUL, no lone surrogates).
text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=60)
numberish = st.one_of(
    st.sampled_from(["", "0", "1", "-1", "0.5", "1e9", "nan", "inf", "-inf", "abc", "10", "50", "1.5", " 3 ", "0x10"]),
    st.integers(-10 ** 6, 10 ** 6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    text,
)
keys = st.sampled_from([KEY_API, KEY_CMK, KEY_UNAUTHORIZED, KEY_STORED, " %s " % KEY_API, "short", ""])


@st.composite
def key_params(draw) -> Dict[str, str]:
    key = draw(keys)
    shape = draw(st.sampled_from([
        "tab", "sub", "both", "formspec", "formspec-stored", "stored", "stored-missing", "plain",
        "unknown-kind", "formspec-unknown", "formspec-partial", "only-1", "empty", "absent", "garbage",
    ]))
    p = "PARAMETER_ILERT_API_KEY"
    return {
        "tab": {p: "password\t" + key},
        "sub": {p + "_1": "password", p + "_2": key},
        "both": {p: "password\t" + key, p + "_1": "password", p + "_2": key},
        "formspec": {p + "_1": "cmk_postprocessed", p + "_2": "explicit_password", p + "_3_1": "uuid-1",
                     p + "_3_2": key},
        "formspec-stored": {p + "_1": "cmk_postprocessed", p + "_2": "stored_password", p + "_3_1": "ilert",
                            p + "_3_2": ""},
        "stored": {p: "store\tilert"},
        "stored-missing": {p: "store\tno-such-id"},
        "plain": {p: key},
        "unknown-kind": {p: "weird\t" + key},
        "formspec-unknown": {p + "_1": "cmk_postprocessed", p + "_2": "weird", p + "_3_2": key},
        "formspec-partial": {p + "_1": "cmk_postprocessed"},
        "only-1": {p + "_1": "password"},
        "empty": {p: ""},
        "absent": {},
        "garbage": {p: draw(text), p + "_" + draw(st.sampled_from(["1", "2", "3_1", "9"])): draw(text)},
    }[shape]


VALID = {
    "PARAMETER_ILERT_SOURCE_TYPE": st.sampled_from(["api", "checkmk"]),
    "PARAMETER_ILERT_PRIORITY": st.sampled_from(["auto", "HIGH", "LOW"]),
    "PARAMETER_TIMEOUT": st.sampled_from(["1", "2.5", "10", "60"]),
    "PARAMETER_RATE_LIMIT": st.sampled_from(["0", "50", "1000"]),
    "PARAMETER_OUTBOX": st.sampled_from(["True", "False"]),
    "PARAMETER_FORWARD_CUSTOM": st.just("True"),
    "PARAMETER_ROUTING_KEY": text,
    "PARAMETER_ILERT_SUMMARY_SERVICE": text,
    "PARAMETER_ILERT_SUMMARY_HOST": text,
    "PARAMETER_ILERT_DETAILS_SERVICE": text,
}


@st.composite
def valid_rule(draw, url: str) -> Dict[str, str]:
    """A usable rule, so that most of these examples really go through outbox and delivery."""
    key = draw(st.sampled_from([KEY_API, KEY_CMK, KEY_STORED]))
    params = {"PARAMETER_ILERT_API_KEY": "password\t" + key, "PARAMETER_ILERT_API_URL": url}
    if key == KEY_STORED:
        params["PARAMETER_ILERT_API_KEY"] = "store\tilert"
    for name, strategy in VALID.items():
        if draw(st.booleans()):
            params[name] = draw(strategy)
    return params


def rule(url: str):
    return st.one_of(valid_rule(url), any_rule(url))


@st.composite
def any_rule(draw, url: str) -> Dict[str, str]:
    params = draw(key_params())
    optional = {
        "PARAMETER_ILERT_SOURCE_TYPE": st.one_of(st.sampled_from(["api", "checkmk", "API", "Checkmk", ""]), text),
        "PARAMETER_ILERT_API_URL": st.sampled_from([
            url, url, url, url + "/", "ftp://example.net", "http://user:pw@127.0.0.1:9", "not a url",
            "http://127.0.0.1:9", "", "http://[::1", url + "?q=1", "https://127.0.0.1:99999"]),
        "PARAMETER_ILERT_PRIORITY": st.one_of(st.sampled_from(["auto", "HIGH", "LOW", "high", "", "urgent"]), text),
        "PARAMETER_TIMEOUT": numberish,
        "PARAMETER_RATE_LIMIT": numberish,
        "PARAMETER_OUTBOX": st.one_of(st.sampled_from(["True", "False", "", "0", "yes"]), text),
        "PARAMETER_FORWARD_CUSTOM": st.sampled_from(["True", "False", ""]),
        "PARAMETER_IGNORE_SSL": st.sampled_from(["True", "False", ""]),
        "PARAMETER_ROUTING_KEY": text,
        "PARAMETER_PROXY_URL": st.sampled_from([
            "FROM_ENVIRONMENT", "NO_PROXY", "", "http://user:%s@127.0.0.1:9" % PROXY_PASSWORD,
            "url\thttp://user:%s@127.0.0.1:9" % PROXY_PASSWORD, "global\tcorp", "socks9://x", "http://[::1"]),
        "PARAMETER_URL_PREFIX": st.one_of(st.sampled_from(["automatic_https", "manual\thttps://cmk.example.net/mysite",
                                                           "manual\tftp://x", "weird"]), text),
        "PARAMETER_ILERT_SUMMARY_SERVICE": st.one_of(st.sampled_from(["$HOSTNAME$ $SERVICEOUTPUT$", "$NOPE$", "$"]),
                                                      text),
        "PARAMETER_ILERT_SUMMARY_HOST": text,
        "PARAMETER_ILERT_DETAILS_SERVICE": text,
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            params[name] = draw(strategy)
    if "PARAMETER_ILERT_API_URL" not in params and params.get("PARAMETER_PROXY_URL") == "NO_PROXY":
        params["PARAMETER_ILERT_API_URL"] = url  # never send to the real iLert without the dead proxy
    return params


@st.composite
def notification(draw) -> Dict[str, str]:
    ctx = dict(draw(st.sampled_from([BASE_SERVICE, BASE_HOST])))
    sending = st.sampled_from(["PROBLEM", "PROBLEM", "RECOVERY", "ACKNOWLEDGEMENT"])
    ctx["NOTIFICATIONTYPE"] = draw(st.one_of(sending, sending, st.sampled_from(REAL_TYPES), text))
    for name in ("HOSTNAME", "SERVICEDESC", "SERVICEOUTPUT", "HOSTOUTPUT", "LONGSERVICEOUTPUT", "HOSTALIAS",
                 "OMD_SITE", "WHAT", "SERVICESTATE", "HOSTSTATE", "MICROTIME", "NOTIFICATIONCOMMENT",
                 "NOTIFICATIONAUTHOR", "HOSTURL", "SERVICEURL", "CONTACTNAME"):
        choice = draw(st.sampled_from(["keep", "keep", "random", "drop"]))
        if choice == "random":
            ctx[name] = draw(text)
        elif choice == "drop":
            ctx.pop(name, None)
    if draw(st.booleans()):
        ctx["MICROTIME"] = str(draw(st.integers(0, 2 ** 64)))
    return ctx


# --- fixtures and checks ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_standin():
    with StandIn(keys=[KEY_API, KEY_CMK, KEY_STORED], unauthorized_keys=[KEY_UNAUTHORIZED], rate_limit=0) as server:
        yield server


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    base = tmp_path_factory.mktemp("fuzz")

    def make() -> FakeSite:
        site = FakeSite(base / ("site%05d" % next(_counter)))
        site.password_store({"ilert": KEY_STORED})
        return site

    return make


def check(site: FakeSite, run: Run) -> None:
    out = run.output
    assert run.returncode in (0, 1, 2), out
    assert "Traceback" not in out, out
    assert "internal error" not in out, out
    for secret in SECRETS:
        assert secret not in out, "output shows %s...: %r" % (secret[:6], out)
    for path in site.root.rglob("*"):
        for secret in SECRETS:
            assert secret not in str(path), path
    # one line per message: Checkmk reads the output with universal newlines
    for line in run.stdout.splitlines():
        assert not line or line.startswith("cmk_ilert: "), out


def _run_single(sites, url, ctx_params):
    ctx, params = ctx_params
    site = sites()
    context = dict(ctx)
    context.update(params)
    run = site.run(context, env=ENV, timeout=120)
    check(site, run)
    # the exit code tells the truth about the outbox
    queued = site.queue()
    if run.returncode == 1 and site.state_dir.exists():
        assert len(queued) == 1, run.output
    else:
        assert queued == [], run.output
    assert len(site.dead()) <= 1
    if site.dead():
        assert run.returncode == 2, run.output


def _run_bulk(sites, params, contexts, tail):
    site = sites()
    data = bulk_stdin(params, contexts) + tail
    proc = spawn_notify(site, raw_stdin=data, env=ENV)
    run = proc.finish(timeout=120)
    check(site, run)


SMALL = settings(max_examples=30, deadline=None, database=None, derandomize=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                        HealthCheck.data_too_large])
BIG = settings(max_examples=300, deadline=None, database=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                      HealthCheck.data_too_large])


def _single_strategy(url):
    return st.tuples(notification(), rule(url))


def _bulk_strategy(url):
    return st.tuples(
        rule(url),
        st.lists(notification(), min_size=0, max_size=5).filter(lambda c: c or True),
        st.one_of(st.just(b""), st.binary(max_size=300),
                  st.sampled_from([b"\n\n\n", b"=\n=x\n\nNOTIFY_X=1\n", b"\xff\xfe\x00\x01\n\nWHAT=HOST\n"])),
    )


def test_fuzz_single_notifications(fuzz_standin, sites):
    @SMALL
    @given(_single_strategy(fuzz_standin.url))
    def inner(ctx_params):
        _run_single(sites, fuzz_standin.url, ctx_params)

    inner()


def test_fuzz_bulk_stdin(fuzz_standin, sites):
    @settings(SMALL, max_examples=20)
    @given(_bulk_strategy(fuzz_standin.url))
    def inner(args):
        params, contexts, tail = args
        _run_bulk(sites, params, contexts, tail)

    inner()


@settings(SMALL, max_examples=15)
@given(raw=st.binary(max_size=2000))
def test_fuzz_raw_bulk_bytes(fuzz_standin, sites, raw):
    site = sites()
    run = spawn_notify(site, raw_stdin=raw, env=ENV).finish(timeout=60)
    check(site, run)


@pytest.mark.slow
def test_fuzz_single_notifications_big(fuzz_standin, sites):
    @BIG
    @given(_single_strategy(fuzz_standin.url))
    def inner(ctx_params):
        _run_single(sites, fuzz_standin.url, ctx_params)

    inner()


@pytest.mark.slow
def test_fuzz_bulk_stdin_big(fuzz_standin, sites):
    @settings(BIG, max_examples=150)
    @given(_bulk_strategy(fuzz_standin.url))
    def inner(args):
        params, contexts, tail = args
        _run_bulk(sites, params, contexts, tail)

    inner()


@settings(SMALL, max_examples=15)
@given(values=st.lists(st.binary(min_size=1, max_size=80).filter(lambda b: b"\x00" not in b), min_size=4, max_size=4),
       ntype=st.sampled_from(["PROBLEM", "RECOVERY", "ACKNOWLEDGEMENT"]))
def test_fuzz_non_utf8_environment(fuzz_standin, sites, values, ntype):
    """A Nagios core passes plugin output through byte for byte (Latin-1 and worse)."""
    import subprocess

    from tests.support.contexts import api_params, service
    from tests.support.site import RECORDED_OUTPUT, runtime_python

    site = sites()
    env = {k.encode(): v.encode() for k, v in site.environment(ENV).items()}
    for key, value in service(ntype, api_params(fuzz_standin.url, RATE_LIMIT="0")).items():
        env[b"NOTIFY_" + key.encode()] = value.encode()
    for name, raw in zip((b"HOSTNAME", b"SERVICEOUTPUT", b"LONGSERVICEOUTPUT", b"SERVICEDESC"), values):
        env[b"NOTIFY_" + name] = raw
    proc = subprocess.run([runtime_python(), str(site.script)], env=env, capture_output=True, timeout=60)
    run = Run(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))
    RECORDED_OUTPUT.append(run.output)
    check(site, run)
    assert run.returncode in (0, 1), run.output  # a valid rule: delivered or queued, never rejected
