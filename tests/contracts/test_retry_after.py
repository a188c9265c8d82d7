"""``Retry-After`` is parsed and capped where it is read (docs/delivery.md, "Waits are capped").

A 429 or 5xx answer may carry ``Retry-After`` as delta-seconds or as an HTTP date (RFC 9110,
section 10.2.3). ``transport.retry_after`` turns it into seconds, at most ``MAX_RETRY_AFTER``
(600 s); a value that is non-finite, negative or not one of the two forms counts as absent.
The cap holds at the parser itself, not only through the later cap of a key's pause
(``ratelimit.MAX_PAUSE``) or of sync's pause: every user of the value gets a bounded one.
"""

from __future__ import annotations

import time
from email.utils import formatdate
from typing import Dict, Optional

import pytest

from cmk_ilert.ilert.transport import MAX_RETRY_AFTER, TEMPORARY, Answer, classify_answer, retry_after

pytestmark = pytest.mark.outbox_logic  # interpreter-independent: run once, on the dev Python


def _date(offset: float) -> str:
    """An HTTP date ``offset`` seconds from now (IMF-fixdate, as servers send it)."""
    return formatdate(time.time() + offset, usegmt=True)


@pytest.mark.parametrize("raw, expected", [
    ("0", 0.0),
    ("1", 1.0),
    ("120", 120.0),
    (" 30 ", 30.0),
    ("2.5", 2.5),
    ("0.001", 0.001),
    ("600", 600.0),
    # capped at the parser
    ("601", MAX_RETRY_AFTER),
    ("86400", MAX_RETRY_AFTER),
    ("1e308", MAX_RETRY_AFTER),
    ("9" * 60, MAX_RETRY_AFTER),
    # non-finite, negative: absent
    ("inf", None),
    ("-inf", None),
    ("Infinity", None),
    ("nan", None),
    ("NaN", None),
    ("-1", None),
    ("-0.5", None),
    ("1e400", None),  # float() says inf
    # garbage, empty: absent
    ("", None),
    ("   ", None),
    ("soon", None),
    ("12 seconds", None),
    ("0x10", None),
    ("1,5", None),
    ("Mon, 99 Foo 2026 25:61:61 GMT", None),
    ("\x00\x01", None),
    ("A" * 100000, None),
    ("1" + " " * 100000 + "1", None),  # not cut into "1"
    ("2" + " " * 63 + "soon", None),
], ids=lambda v: repr(v)[:24])
def test_retry_after_in_seconds_is_parsed_and_capped_at_the_parser(raw: str, expected: Optional[float]) -> None:
    assert retry_after({"Retry-After": raw}) == expected


def test_retry_after_as_an_http_date_in_the_past_means_now() -> None:
    assert retry_after({"Retry-After": _date(-3600)}) == 0.0
    assert retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # RFC 9110's example


def test_retry_after_as_an_http_date_in_the_future_is_the_time_until_then() -> None:
    seconds = retry_after({"Retry-After": _date(120)})
    assert seconds is not None and 115 <= seconds <= 120


@pytest.mark.parametrize("offset", [601, 86400, 10 * 365 * 86400])
def test_retry_after_as_an_http_date_far_ahead_is_capped_at_the_parser(offset: float) -> None:
    assert retry_after({"Retry-After": _date(offset)}) == MAX_RETRY_AFTER


def test_retry_after_far_beyond_any_calendar_is_capped_or_absent_never_unbounded() -> None:
    for raw in ("Fri, 31 Dec 9999 23:59:59 GMT", "Sat, 01 Jan 10000 00:00:00 GMT"):
        assert retry_after({"Retry-After": raw}) in (MAX_RETRY_AFTER, None), raw


@pytest.mark.parametrize("headers", [None, {}, {"retry-after": None}, {"Retry-After": ""}])
def test_no_retry_after_is_none(headers: Optional[Dict[str, Optional[str]]]) -> None:
    assert retry_after(headers) is None


def test_headers_that_fail_to_be_read_mean_no_retry_after() -> None:
    class Broken:
        def get(self, name: str) -> str:
            raise RuntimeError("unreadable")

    assert retry_after(Broken()) is None


@pytest.mark.parametrize("status", [429, 503])
def test_a_429_or_5xx_answer_carries_the_capped_value(status: int) -> None:
    answer = Answer(status, {"Retry-After": "999999"}, b"", False)
    outcome = classify_answer(answer)
    assert outcome.status == TEMPORARY
    assert outcome.retry_after == MAX_RETRY_AFTER
