"""Issue 9, item 4: waits are capped, clocks may jump.

``Retry-After`` is read as seconds or an HTTP-date; non-finite, negative and garbage values count
as absent (the default pause, a quarter of the rate window: 15 s); every pause is capped at
600 s. Rate stamps, pauses and backoff times in the future (a clock stepped back, written here as
state an hour ahead) are clamped, and ``status --json`` is always valid JSON. Before the fix
``Retry-After: inf`` made ``status`` crash and ``status --json`` print ``Infinity``, a huge value
paused the key until its events expired, and a clock stepped back 1 h blocked a key for the hour.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

from tests.hostile.conftest import no_crash, notification, rewrite, run, strict_json
from tests.hostile.servers import Reply

pytestmark = pytest.mark.outbox_logic  # interpreter-independent: run once, on the dev Python

CAP = 600.0
DEFAULT_PAUSE = 15.0  # a quarter of the 60 s window, when iLert names no pause
BODY_429 = b'{"status": 429, "code": "TOO_MANY_REQUESTS", "message": "slow down"}'


def _date(offset: float) -> str:
    return email.utils.formatdate(time.time() + offset, usegmt=True)


# value -> (lowest, highest) pause in seconds that status may show right after the run
RETRY_AFTER = {
    "inf": (DEFAULT_PAUSE - 5, DEFAULT_PAUSE),
    "Infinity": (DEFAULT_PAUSE - 5, DEFAULT_PAUSE),
    "nan": (DEFAULT_PAUSE - 5, DEFAULT_PAUSE),
    "-5": (DEFAULT_PAUSE - 5, DEFAULT_PAUSE),
    "1e400": (DEFAULT_PAUSE - 5, DEFAULT_PAUSE),
    "soon": (DEFAULT_PAUSE - 5, DEFAULT_PAUSE),
    "99999999999": (CAP - 10, CAP),
    "30": (20, 30),
    "date+30s": (15, 31),
    "date+100y": (CAP - 10, CAP),
    "date-past": (0, 0),
}


def _header(name: str) -> str:
    return {"date+30s": _date(30), "date+100y": _date(100 * 365 * 86400),
            "date-past": "Thu, 01 Jan 1998 00:00:00 GMT"}.get(name, name)


def status_json(site) -> Dict[str, Any]:
    result = run(site, "status", "--json", timeout=20)
    no_crash(result)
    try:
        return strict_json(result.run.stdout)
    except ValueError as exc:
        raise AssertionError("status --json is not JSON (%s): %r" % (exc, result.run.stdout[:300])) from None


def rate_files(site) -> List[Path]:
    return sorted((site.state_dir / "rate").glob("*.json"))


@pytest.mark.parametrize("value", sorted(RETRY_AFTER))
def test_retry_after_is_parsed_and_capped(site, value):
    low, high = RETRY_AFTER[value]
    with Reply(429, [("Retry-After", _header(value)), ("Content-Type", "application/json")], BODY_429) as server:
        result = run(site, context=notification(server.url))
    no_crash(result)
    assert result.returncode == 1 and "HTTP 429" in result.output, result.output
    info = status_json(site)
    paused = [p["paused_for"] for p in info["paused"]]
    if high == 0:
        assert paused == [], info
    else:
        assert len(paused) == 1 and low <= paused[0] <= high, (value, info["paused"])
    (rate,) = rate_files(site)
    until = json.loads(rate.read_text()).get("paused_until", 0)
    assert until <= time.time() + CAP + 1
    assert info["pending"] == 1 and info["dead"] == []
    text = run(site, "status", timeout=20)
    no_crash(text)
    assert text.returncode in (0, 1), text.output


def _delivered_once(site, standin) -> Path:
    first = run(site, context=notification(standin.url, host="once01", n=0))
    assert first.returncode == 0, first.output
    (rate,) = rate_files(site)
    return rate


def test_rate_stamps_from_the_future_do_not_block_a_key(site, standin):
    """The clock was stepped back an hour after 50 sends: the stamps lie an hour ahead. They
    count as 'now' (one window), not for the hour."""
    rate = _delivered_once(site, standin)
    rate.write_text(json.dumps({"sent": [time.time() + 3600] * 50}))
    result = run(site, context=notification(standin.url, n=1), env={"CMK_ILERT_RATE_WINDOW": "1"})
    no_crash(result)
    assert result.returncode == 0, result.output
    assert len(standin.log()) == 2


def test_a_pause_from_the_future_is_capped(site, standin):
    rate = _delivered_once(site, standin)
    rate.write_text(json.dumps({"paused_until": time.time() + 3600, "sent": []}))
    result = run(site, context=notification(standin.url, n=1))
    no_crash(result)
    assert result.returncode == 1, result.output
    (paused,) = status_json(site)["paused"]
    assert 0 < paused["paused_for"] <= CAP
    text = run(site, "status")
    assert re.search(r"paused after iLert answered 429, until \S+ \((10m|9m[^)]*)\)", text.output), text.output


def test_a_backoff_from_the_future_is_capped(site, standin):
    standin.stop()
    result = run(site, context=notification(standin.url, timeout="1"))
    assert result.returncode == 1
    (entry,) = site.queue()
    rewrite(entry, next_attempt=time.time() + 3600, attempts=3)
    info = status_json(site)
    (key,) = info["keys"]
    assert 0 < key["next_attempt_in"] <= CAP, key
    text = run(site, "status")
    no_crash(text)
    assert "next try in 10m" in text.output or "next try in 9m" in text.output, text.output


def test_status_json_is_json_whatever_the_state_files_hold(site, standin):
    """Numbers JSON cannot hold (written by hand: NaN, Infinity, 1e400) in the rate file, a
    dead letter and a queue entry: status stays valid JSON and says CRIT for the dead letter."""
    rate = _delivered_once(site, standin)
    rate.write_text('{"paused_until": Infinity, "sent": [NaN, 1e400, -Infinity]}')
    dead = site.state_dir / "dead"
    dead.mkdir(exist_ok=True)
    (dead / ("0" * 32 + ".json")).write_text('{"reason": "x", "dead_since": -Infinity, "created": NaN}')
    standin.stop()
    run(site, context=notification(standin.url, n=1, timeout="1"))
    (entry,) = site.queue()
    rewrite(entry, next_attempt=1e308, created=-1e308)
    info = status_json(site)
    assert info["exit_code"] == 2
    text = run(site, "status")
    no_crash(text)
    assert text.returncode == 2, text.output
    local = run(site, "status", "--local-check")
    no_crash(local)
    assert local.run.stdout.startswith("2 "), local.output
