"""``outbox`` off: one attempt, nothing on disk, Checkmk's spooler owns retries."""

from __future__ import annotations

import pytest

from tests.delivery.conftest import accepted_counts, event, event_requests, no_traceback

pytestmark = pytest.mark.runtime

T0 = 1795341600000000


@pytest.fixture
def off(params):
    return dict(params, PARAMETER_OUTBOX="False")


def _nothing_on_disk(site):
    assert not site.state_dir.exists(), sorted(site.state_dir.rglob("*"))


def test_success_exits_0_and_writes_nothing(site, standin, off):
    run = site.run(event("off", off, micro=T0 + 1))
    no_traceback(run)
    assert run.returncode == 0, run.output
    assert "delivered" in run.stdout
    assert accepted_counts(event_requests(standin)) == {"off": 1}
    _nothing_on_disk(site)


@pytest.mark.parametrize("fault,code", [("503", 1), ("reset", 1), ("429:30", 1), ("400", 2), ("401", 2)])
def test_failure_exit_code_and_nothing_on_disk(site, standin, off, fault, code):
    standin.inject(fault)
    run = site.run(event("off", off, micro=T0 + 1))
    no_traceback(run)
    assert run.returncode == code, run.output
    _nothing_on_disk(site)


def test_refused_exits_1_and_spooler_retry_delivers(site, standin, off):
    standin.stop()
    ctx = event("off", off, micro=T0 + 1)
    run = site.run(ctx)
    assert run.returncode == 1, run.output
    assert "outbox off" in run.stdout
    _nothing_on_disk(site)
    standin.start()
    retry = site.run(ctx)  # Checkmk's spooler retries with the same context
    assert retry.returncode == 0, retry.output
    assert accepted_counts(event_requests(standin)) == {"off": 1}
    _nothing_on_disk(site)


def test_bulk_with_outbox_off_writes_nothing(site, standin, off):
    contexts = [event("b%d" % n, {}, micro=T0 + n, host="h%d" % n) for n in range(5)]
    run = site.run(bulk=contexts, bulk_parameters=off)
    no_traceback(run)
    assert run.returncode == 0, run.output
    assert accepted_counts(event_requests(standin)) == {"b%d" % n: 1 for n in range(5)}
    _nothing_on_disk(site)


@pytest.mark.parametrize("value", ["False", "false", "0", "off", "no"])
def test_false_spellings_switch_the_outbox_off(site, standin, params, value):
    standin.inject("503")
    run = site.run(event("sp", dict(params, PARAMETER_OUTBOX=value), micro=T0 + 1))
    assert run.returncode == 1, run.output
    _nothing_on_disk(site)


def test_cli_commands_do_not_create_the_outbox(site, standin):
    """``status`` reads, never creates; ``flush`` (the site cron) is the one command that creates the
    outbox (issue 16: the local check is OK from the cron's first run), empty."""
    for args in (("status",), ("status", "--json"), ("status", "--local-check")):
        run = site.cli(*args)
        no_traceback(run)
        # status without an outbox is UNKNOWN (3): it cannot vouch for anything
        assert run.returncode == 3, (args, run.output)
    _nothing_on_disk(site)
    for args in (("flush",), ("flush", "--now")):
        run = site.cli(*args)
        no_traceback(run)
        assert run.returncode == 0, (args, run.output)
    assert site.queue() == [] and site.dead() == []
