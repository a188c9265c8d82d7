"""One event, many calls (one per contact, spooler retries, replays): delivered once."""

from __future__ import annotations

import pytest

from tests.delivery.conftest import accepted_counts, event, event_requests, load, no_traceback

pytestmark = pytest.mark.runtime

T0 = 1795341600000000
CONTACTS = [
    {"CONTACTNAME": "alice", "CONTACTEMAIL": "alice@example.net", "CONTACTALIAS": "Alice A."},
    {"CONTACTNAME": "bob", "CONTACTEMAIL": "bob@example.net", "CONTACTALIAS": "Bob B."},
    {"CONTACTNAME": "carol", "CONTACTEMAIL": "carol@example.net", "CONTACTALIAS": "Carol C."},
]


def _per_contact(params, tag="dup", micro=T0 + 1, **extra):
    return [event(tag, params, micro=micro, **dict(contact, **extra)) for contact in CONTACTS]


def test_same_problem_for_three_contacts_is_delivered_once(site, standin, params):
    first, second, third = (site.run(ctx) for ctx in _per_contact(params))
    for run in (first, second, third):
        no_traceback(run)
    assert first.returncode == 0, first.output
    assert "delivered" in first.stdout and "duplicate" not in first.stdout
    for run in (second, third):
        assert run.returncode == 0, run.output
        assert "duplicate" in run.stdout, run.output
        assert len(run.lines) == 1, run.output
    assert accepted_counts(event_requests(standin)) == {"dup": 1}
    assert len(event_requests(standin)) == 1

    # a genuinely new notification of the same problem (new MICROTIME, next number)
    again = site.run(event("dup", params, micro=T0 + 2, SERVICENOTIFICATIONNUMBER="2"))
    assert again.returncode == 0, again.output
    assert "duplicate" not in again.stdout
    assert accepted_counts(event_requests(standin)) == {"dup": 2}


def test_rule_parameters_do_not_split_an_event(site, standin, params):
    """Two rules (different parameters, same alert source) notifying the same event: one delivery."""
    assert site.run(event("rules", params, micro=T0 + 5)).returncode == 0
    other_rule = dict(params, PARAMETER_ILERT_PRIORITY="LOW", PARAMETER_TIMEOUT="7")
    run = site.run(event("rules", other_rule, micro=T0 + 5, CONTACTNAME="bob"))
    assert run.returncode == 0, run.output
    assert "duplicate" in run.stdout
    assert accepted_counts(event_requests(standin)) == {"rules": 1}


def test_retry_of_a_queued_event_is_a_duplicate_and_reports_temporary(site, standin, params):
    standin.stop()
    calls = _per_contact(params, tag="q")
    first = site.run(calls[0])
    assert first.returncode == 1, first.output
    retry = site.run(calls[0])  # Checkmk's spooler retrying the same call
    other = site.run(calls[1])  # the next contact
    for run in (retry, other):
        no_traceback(run)
        assert run.returncode == 1, run.output
        assert "duplicate" in run.stdout and "queued" in run.stdout, run.output
    assert len(site.queue()) == 1
    assert load(site.queue()[0])["attempts"] == 1, "a duplicate must not count as another attempt"

    standin.start()
    flush = site.cli("flush", "--now")
    assert flush.returncode == 0, flush.output
    assert accepted_counts(event_requests(standin)) == {"q": 1}
    # after delivery, a late duplicate is recognised as delivered and sends nothing
    late = site.run(calls[2])
    assert late.returncode == 0, late.output
    assert "duplicate" in late.stdout and "delivered" in late.stdout
    assert accepted_counts(event_requests(standin)) == {"q": 1}


def test_duplicate_of_a_dead_letter_reports_permanent(site, standin, params):
    standin.inject("400")
    calls = _per_contact(params, tag="dead")
    first = site.run(calls[0])
    assert first.returncode == 2, first.output
    second = site.run(calls[1])
    no_traceback(second)
    assert second.returncode == 2, second.output
    assert "duplicate" in second.stdout
    assert len(event_requests(standin)) == 1
    assert len(site.dead()) == 1


def test_different_alert_sources_are_different_events(site, standin, params):
    from tests.support.site import KEY_CMK

    standin.configure(source_types={})  # KEY_CMK stands for a second alert source of type API here
    assert site.run(event("src", params, micro=T0 + 9)).returncode == 0
    other_source = dict(params, PARAMETER_ILERT_API_KEY="password\t" + KEY_CMK,
                        PARAMETER_ILERT_API_KEY_2=KEY_CMK)
    run = site.run(event("src", other_source, micro=T0 + 9))
    assert run.returncode == 0, run.output
    assert "duplicate" not in run.stdout
    requests = event_requests(standin)
    assert accepted_counts(requests) == {"src": 2}
    assert len({r["key"] for r in requests}) == 2


def test_duplicate_inside_one_bulk_exits_0_when_delivered(site, standin, params):
    """Regression (fixed in 7bfb076): the duplicate used to report 'queued' (exit 1)."""
    contexts = _per_contact({}, tag="bulkdup")[:2]
    run = site.run(bulk=contexts, bulk_parameters=params)
    no_traceback(run)
    assert accepted_counts(event_requests(standin)) == {"bulkdup": 1}
    assert site.queue() == []
    assert run.returncode == 0, run.output
