"""Issue 9, item 2: rendering is linear, and nothing unbounded runs before the event is durable.

Before the fix the summary's bracket clean-up was a regular expression with nested quantifiers
over the rendered line: a plugin output of "(" and 130 kB of blanks took over a minute, so
Checkmk killed the run before the event was queued. Values are now cut at 64 KiB on the way in,
templates at 8 KiB, and the clean-up runs on the template, not on the values.
"""

from __future__ import annotations

import pytest

from tests.hostile.conftest import CHECKMK_LIMIT, no_crash, notification, posted, run

pytestmark = pytest.mark.outbox_logic  # interpreter-independent: run once, on the dev Python

#: The largest value one environment variable can carry (Linux: 128 KiB per string).
ENV_VALUE = 129_000
#: "(" and a run of blanks: each start position scanned the run again (quadratic).
BLANKS = "(" + " " * (ENV_VALUE - 2) + "x"
#: A megabyte of brackets, separators and whitespace, for a bulk (stdin has no size limit).
MEGABYTE = ("( , " + " " * 60 + "(x) [y] , ) " + "\t" * 20) * 8000 + "(" + " " * 300_000 + "x"

MAX_SUMMARY = 250  # docs/configuration.md: summaries are cut here
MAX_DETAILS = 16000


def _bounded(standin, count: int) -> None:
    events = posted(standin)
    assert len(events) == count
    for entry in events:
        assert len(entry["body"]["summary"]) <= MAX_SUMMARY
        assert len(entry["body"].get("details", "")) <= MAX_DETAILS


@pytest.mark.parametrize("where", ["SERVICEOUTPUT", "LONGSERVICEOUTPUT", "PARAMETER_ILERT_SUMMARY_SERVICE",
                                   "PARAMETER_ILERT_DETAILS_SERVICE"])
def test_a_long_value_of_brackets_and_blanks_is_delivered_in_time(site, standin, where):
    ctx = notification(standin.url)
    ctx[where] = BLANKS if where.endswith("OUTPUT") else BLANKS + " $SERVICEOUTPUT$"
    result = run(site, context=ctx)
    no_crash(result)
    assert result.returncode == 0, result.output
    assert result.elapsed < CHECKMK_LIMIT
    _bounded(standin, 1)


@pytest.mark.parametrize("fmt", ["api", "checkmk"])
def test_a_bulk_of_megabyte_outputs_is_delivered_in_time(site, standin, fmt):
    bulk = []
    for n in range(3):
        ctx = notification(standin.url, host="big%02d" % n, n=n, fmt=fmt)
        ctx.update(SERVICEOUTPUT=MEGABYTE, LONGSERVICEOUTPUT=MEGABYTE, HOSTALIAS=MEGABYTE)
        bulk.append(ctx)
    assert len(MEGABYTE) >= 1_000_000
    result = run(site, bulk=bulk)
    no_crash(result)
    assert result.returncode == 0, result.output
    assert result.elapsed < CHECKMK_LIMIT
    events = posted(standin)
    assert len(events) == 3
    if fmt == "api":
        _bounded(standin, 3)
    else:  # the checkmk format forwards the context: each value cut at 64 KiB
        for entry in events:
            assert all(len(v) <= 65536 for v in entry["body"].values() if isinstance(v, str))
