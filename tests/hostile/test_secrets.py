"""Issue 9, item 7: secrets.

A server or proxy that echoes the request (URL, headers, body) in its error answer, in both wire
formats, at ``notify`` and at ``flush``, never gets a key into any output, dead letter or
``status``; keys with whitespace or control characters, or shorter than 8 characters, are
configuration errors; secrets are scrubbed before anything is cut; a key from the password store
is queued as its store id and resolved at send time (a rotated key reaches queued events);
explicit keys and proxy credentials are kept only in 0600 files. "Never printed" is checked for
every 10-character piece of a secret, not only the whole.
"""

from __future__ import annotations

import json
import stat

import pytest

from ilert_standin import StandIn
from tests.hostile.conftest import (
    assert_no_fragment,
    load,
    no_crash,
    notification,
    refused_url,
    rewrite,
    run,
)
from tests.hostile.servers import Reply
from tests.support.hostile import Echo
from tests.support.site import KEY_API, KEY_CMK, KEY_STORED, PROXY_PASSWORD, without_kept_secrets

pytestmark = pytest.mark.runtime

KEYS = {"api": KEY_API, "checkmk": KEY_CMK}
#: The key after a rotation in the password store (not a real key: it says TEST).
KEY_ROTATED = "il1api-ROTATED-TEST-k9j8h7g6f5e4"


def everything_said(site, *runs) -> str:
    """Every output of the runs, of ``status`` (text and JSON), and every dead letter."""
    texts = [r.output for r in runs]
    for args in (("status",), ("status", "--json"), ("status", "--local-check")):
        result = run(site, *args, timeout=20)
        no_crash(result)
        texts.append(result.output)
    texts.extend(without_kept_secrets(p.read_text()) for p in site.dead())  # its event keeps the key as the queue does
    return "\n".join(texts)


ECHOES = [(fmt, status, "direct") for fmt in ("api", "checkmk") for status in (400, 401, 500)] + [
    (fmt, status, "proxy") for fmt in ("api", "checkmk") for status in (400, 500)]


@pytest.mark.parametrize("fmt,status,through", ECHOES)
def test_an_echoing_server_never_gets_the_key_printed(site, fmt, status, through):
    key = KEYS[fmt]
    with Echo(status=status) as echo:
        if through == "proxy":  # an HTTP proxy that echoes the request (absolute URL, key in it)
            ctx = notification("http://api.ilert.invalid", fmt=fmt, key=key, proxy_url=echo.url)
        else:
            ctx = notification(echo.url, fmt=fmt, key=key)
        result = run(site, context=ctx)
        no_crash(result)
        assert echo.arrivals and key in json.dumps([a.head + a.body.decode() for a in echo.arrivals])
        runs = [result]
        if status == 500:
            assert result.returncode == 1, result.output
            rewrite(site.queue()[0], next_attempt=0)
            flush = run(site, "flush")
            no_crash(flush)
            assert len(echo.arrivals) >= 2, flush.output
            runs.append(flush)
        else:
            assert result.returncode == 2 and len(site.dead()) == 1, result.output
        said = everything_said(site, *runs)
    assert "HTTP %d" % status in said
    assert_no_fragment(said, key)


def _echo_into_code(arrival) -> bytes:
    """An error answer whose ``code`` (the field a client is most tempted to print) holds the
    request line and body, key included."""
    text = arrival.request_line + " " + arrival.body.decode("utf-8", "replace")
    return json.dumps({"status": 400, "code": "REJECTED " + text, "message": text}).encode()


@pytest.mark.parametrize("status", [400, 500])
@pytest.mark.parametrize("fmt", ["api", "checkmk"])
def test_an_error_code_that_echoes_the_request_never_gets_the_key_printed(site, fmt, status):
    key = KEYS[fmt]
    with Reply(status, [("Content-Type", "application/json")], _echo_into_code) as server:
        result = run(site, context=notification(server.url, fmt=fmt, key=key))
        no_crash(result)
        runs = [result]
        if status == 500:
            assert result.returncode == 1, result.output
            rewrite(site.queue()[0], next_attempt=0)
            flush = run(site, "flush")
            no_crash(flush)
            assert server.requests() == 2, flush.output
            runs.append(flush)
        else:
            assert result.returncode == 2 and len(site.dead()) == 1, result.output
        said = everything_said(site, *runs)
    assert "HTTP %d" % status in said
    assert_no_fragment(said, key)


def _echo_in_2xx(field_value):
    def body(arrival) -> bytes:
        text = arrival.head + arrival.body.decode("utf-8", "replace")
        key = next(k for k in (KEY_API, KEY_CMK) if k in text)
        value = field_value(key)
        return json.dumps({"responseCode": value, "incidentKey": value,
                           "alertUrl": "https://ilert.example.invalid/alert/" + value}).encode()
    return body


@pytest.mark.parametrize("fmt", ["api", "checkmk"])
def test_a_2xx_answer_that_echoes_the_key_does_not_print_it(site, fmt):
    with Reply(202, [("Content-Type", "application/json")], _echo_in_2xx(lambda key: key)) as server:
        result = run(site, context=notification(server.url, fmt=fmt, key=KEYS[fmt]))
    no_crash(result)
    assert result.returncode == 0, result.output
    assert KEYS[fmt] not in result.output


@pytest.mark.parametrize("fmt", ["api", "checkmk"])
def test_a_2xx_answer_that_echoes_a_part_of_the_key_does_not_print_it(site, fmt):
    with Reply(202, [("Content-Type", "application/json")], _echo_in_2xx(lambda key: key[1:])) as server:
        result = run(site, context=notification(server.url, fmt=fmt, key=KEYS[fmt]))
    no_crash(result)
    assert_no_fragment(result.output, KEYS[fmt])


BAD_KEYS = {
    "newline": "il1api-LINE-ONE-a1b2\nLINE-TWO-c3d4e5f6",
    "x1c": "il1api-PART-ONE-a1b2\x1cPART-TWO-c3d4e5f6",
    "u2028": "il1api-PART-ONE-a1b2\u2028PART-TWO-c3d4e5f6",
    "space": "il1api-WORD-ONE-a1b2 WORD-TWO-c3d4e5f6",
    "tab": "il1api-CELL-ONE-a1b2\tCELL-TWO-c3d4e5f6",
    "short": "il1ab7z",
}


@pytest.mark.parametrize("name,source", [(name, "explicit") for name in sorted(BAD_KEYS)]
                         + [("newline", "password-store"), ("u2028", "password-store"), ("short", "password-store")])
def test_a_key_that_cannot_be_an_ilert_key_is_a_configuration_error(site, name, source):
    bad = BAD_KEYS[name]
    with Echo(status=400) as echo:
        ctx = notification(echo.url, key=bad)
        if source == "password-store":
            site.password_store({"odd": bad})
            ctx["PARAMETER_ILERT_API_KEY"] = "store\todd"
            for extra in ("PARAMETER_ILERT_API_KEY_1", "PARAMETER_ILERT_API_KEY_2"):
                ctx.pop(extra, None)
        result = run(site, context=ctx)
        no_crash(result)
        sent = len(echo.arrivals)
    assert result.returncode == 2 and "not an iLert key" in result.output, result.output
    assert len(result.lines) == 1, result.output
    assert sent == 0, "a key that cannot be an iLert key was sent"
    pieces = [p for p in bad.replace("\u2028", "\n").replace("\x1c", "\n").split() if len(p) >= 8] or [bad]
    said = everything_said(site, result)
    assert "not an iLert key" in said  # the dead letter of the rule
    for piece in pieces:
        assert_no_fragment(said, piece, size=min(8, len(piece)))


@pytest.mark.parametrize("fmt", ["api", "checkmk"])
def test_a_key_in_the_output_is_scrubbed_before_the_summary_is_cut(site, fmt):
    """The key straddles the summary's 250-character cut: not even its first characters may
    survive, in the dead letter, the output, or the summary that goes out."""
    key = KEYS[fmt]
    with Echo(status=400) as echo:
        ctx = notification(echo.url, fmt=fmt, key=key)
        ctx["SERVICEOUTPUT"] = "CRIT - " + "x" * 150 + " token " + key + " end"
        result = run(site, context=ctx)
        no_crash(result)
        (arrival,) = echo.arrivals
    assert result.returncode == 2, result.output
    said = everything_said(site, result)
    assert_no_fragment(said, key, size=8)
    body = json.loads(arrival.body)
    body.pop("integrationKey", None)  # the api format's key travels here, by design
    assert_no_fragment(json.dumps(body), key, size=8)


def test_a_key_at_the_64k_cut_of_a_value_leaves_no_prefix_in_the_queue(site):
    site.password_store({"ilert_key": KEY_STORED})
    ctx = notification(refused_url(), fmt="checkmk", key=KEY_STORED, timeout="1")
    ctx["PARAMETER_ILERT_API_KEY"] = "store\tilert_key"
    for extra in ("PARAMETER_ILERT_API_KEY_1", "PARAMETER_ILERT_API_KEY_2"):
        ctx.pop(extra, None)
    ctx["LONGSERVICEOUTPUT"] = "y" * (65536 - 20) + KEY_STORED
    result = run(site, context=ctx)
    assert result.returncode == 1, result.output
    (entry,) = site.queue()
    assert_no_fragment(entry.read_text(), KEY_STORED, size=8)


@pytest.mark.parametrize("fmt", ["api", "checkmk"])
def test_a_stored_key_is_queued_as_its_id_and_a_rotated_key_reaches_queued_events(site, fmt):
    site.password_store({"ilert_key": KEY_STORED})
    with StandIn(keys=[KEY_ROTATED]) as ilert:
        ilert.stop()
        ctx = notification(ilert.url, fmt=fmt, key=KEY_STORED, timeout="1")
        ctx["PARAMETER_ILERT_API_KEY"] = "store\tilert_key"
        for extra in ("PARAMETER_ILERT_API_KEY_1", "PARAMETER_ILERT_API_KEY_2"):
            ctx.pop(extra, None)
        result = run(site, context=ctx)
        assert result.returncode == 1, result.output
        (entry,) = site.queue()
        assert load(entry)["key"] == {"store": "ilert_key"}
        for path in site.state_dir.rglob("*"):
            if path.is_file():
                assert_no_fragment(path.read_text(errors="replace"), KEY_STORED)
        site.password_store({"ilert_key": KEY_ROTATED})  # the admin rotates the key in Checkmk
        ilert.start()
        flush = run(site, "flush", "--now")
        no_crash(flush)
        keys = [e["key"] for e in ilert.log() if e["method"] == "POST"]
    assert flush.returncode == 0 and keys == [KEY_ROTATED], flush.output
    assert_no_fragment(result.output + flush.output, KEY_STORED, KEY_ROTATED)


def test_explicit_keys_and_proxy_credentials_stay_in_0600_queue_files(site):
    proxy = refused_url().replace("http://", "http://proxyuser:%s@" % PROXY_PASSWORD)
    result = run(site, context=notification("http://api.ilert.invalid", proxy_url=proxy, timeout="1"))
    no_crash(result)
    assert result.returncode == 1 and "proxy" in result.output, result.output
    holders = []
    for path in site.root.rglob("*"):
        if path.is_file() and any(s in path.read_text(errors="replace") for s in (KEY_API, PROXY_PASSWORD)):
            holders.append(path)
    assert holders == site.queue(), holders
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in holders)
    assert_no_fragment(everything_said(site, result), KEY_API, PROXY_PASSWORD)
