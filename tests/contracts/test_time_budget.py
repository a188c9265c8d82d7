"""The time contract of a notification call, checked in-process without waiting.

Checkmk kills a notification plugin after ``notification_plugin_timeout`` seconds, 60 by
default (Checkmk/checkmk, ``cmk/base/default_config/notify.py``:
``notification_plugin_timeout = 60``; ``cmk/base/notify.py``, ``call_notification_script``:
the plugin's output is read inside ``Timeout(config.notification_plugin_timeout,
message="Notification plug-in timed out")`` and the plugin is ``p.kill()``-ed when it fires).

Our side (docs/delivery.md, "Time"): a call delivers for ``NOTIFY_BUDGET`` seconds, counted
from the start of ``run_notify``; every request ends by that deadline (the first one gets what
is left of the budget, a later one starts only if its full ``timeout`` fits, and the exchange
itself is armed with ``min(timeout, deadline - now)``); the watchdog (``HARD_LIMIT``, armed
before anything else) is the last resort. So the worst case of a call is the budget plus the
time before it starts and the bookkeeping after its deadline, and that must end before the
watchdog, and the watchdog before Checkmk's kill.
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from typing import Any, Dict, List

import pytest

from cmk_ilert.admin.cli import _hard_limit, build_parser
from cmk_ilert.checkmk.params import DEFAULT_TIMEOUT, MAX_TIMEOUT, Proxy
from cmk_ilert.ilert.transport import MAX_RETRY_AFTER, MIN_EXCHANGE, Transport, TransportConfig
from cmk_ilert.notify.fallback import SINGLE_MAX_RATE_WAIT
from cmk_ilert.notify.run import NOTIFY_BUDGET
from cmk_ilert.notify.script import HARD_LIMIT
from cmk_ilert.outbox.delivery import Deliverer
from cmk_ilert.outbox.ratelimit import MAX_PAUSE
from cmk_ilert.sync import lookup as sync_lookup
from cmk_ilert.sync import run as sync_run

from .events_server import EventsServer

pytestmark = pytest.mark.outbox_logic  # interpreter-independent: run once, on the dev Python

#: Checkmk's default ``notification_plugin_timeout`` (see the module docstring).
CHECKMK_PLUGIN_TIMEOUT = 60.0
#: From Checkmk starting the plugin to our watchdog being armed: interpreter start and the
#: import of ``cmk_ilert.notify.script`` (tens of milliseconds, docs/performance.md), on a
#: loaded host, plus the exit itself.
BEFORE_WATCHDOG = 3.0
#: From the watchdog being armed to ``run_notify`` taking its deadline: the lazy imports and
#: reading the context (milliseconds).
ARMED_TO_DEADLINE = 2.0
#: After the deadline: an exchange interrupted by its alarm returns, the entry is rescheduled
#: (a few fsync'd files) and the lines are printed.
AFTER_DEADLINE = 3.0


def test_a_notification_call_ends_before_the_watchdog_and_the_watchdog_before_checkmk_kills_it() -> None:
    # Every request ends by the deadline (the rule of fits() and exchange(), checked below),
    # so delivery itself never outlasts NOTIFY_BUDGET.
    worst_call = ARMED_TO_DEADLINE + NOTIFY_BUDGET + AFTER_DEADLINE
    assert worst_call <= HARD_LIMIT, (
        "a notification call may run %.0f s after the watchdog is armed (NOTIFY_BUDGET %.0f s + %.0f s before "
        "the deadline is taken + %.0f s of bookkeeping after it), but the watchdog (HARD_LIMIT) stops it at "
        "%.0f s" % (worst_call, NOTIFY_BUDGET, ARMED_TO_DEADLINE, AFTER_DEADLINE, HARD_LIMIT))
    assert BEFORE_WATCHDOG + HARD_LIMIT <= CHECKMK_PLUGIN_TIMEOUT, (
        "the watchdog (HARD_LIMIT %.0f s, armed up to %.0f s after Checkmk starts the plugin) does not end the "
        "call before Checkmk kills it at %.0f s" % (HARD_LIMIT, BEFORE_WATCHDOG, CHECKMK_PLUGIN_TIMEOUT))


def test_one_request_is_always_shorter_than_checkmks_limit_and_a_default_one_fits_the_budget() -> None:
    assert 0 < MIN_EXCHANGE < DEFAULT_TIMEOUT <= MAX_TIMEOUT
    assert MAX_TIMEOUT < CHECKMK_PLUGIN_TIMEOUT - BEFORE_WATCHDOG, "a single request could outlast Checkmk's kill"
    # A run is not spent on one request only: with the default timeout several full ones fit.
    assert NOTIFY_BUDGET >= 2 * DEFAULT_TIMEOUT


def test_a_single_notification_waits_for_a_rate_slot_only_briefly() -> None:
    assert 0 < SINGLE_MAX_RATE_WAIT <= NOTIFY_BUDGET - DEFAULT_TIMEOUT - MIN_EXCHANGE


def _cli(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


@pytest.mark.parametrize("command", ["flush", "sync"])
def test_the_cli_watchdog_of_flush_and_sync_comes_after_their_own_max_time(command: str) -> None:
    default = _cli(command)
    assert default.max_time < CHECKMK_PLUGIN_TIMEOUT, "the site cron's run outlasts its minute"
    for max_time in (0.5, 1.0, default.max_time, 600.0, 3600.0):
        args = _cli(command, "--max-time", str(max_time))
        limit = _hard_limit(args)
        assert limit >= max_time + AFTER_DEADLINE, "%s --max-time %g is stopped at %g s" % (command, max_time, limit)


@pytest.mark.parametrize("command", ["heartbeat", "test"])
def test_the_cli_watchdog_of_heartbeat_and_test_comes_after_their_requests(command: str) -> None:
    # `test` sends two requests (PROBLEM, RECOVERY) within 2 * timeout + 1 s; `heartbeat` one.
    for timeout in (0.5, DEFAULT_TIMEOUT, MAX_TIMEOUT, 1000.0):
        args = argparse.Namespace(command=command, timeout=timeout)
        own = 2 * min(timeout, MAX_TIMEOUT) + 1.0
        assert _hard_limit(args) >= own + AFTER_DEADLINE, "%s --timeout %g" % (command, timeout)


def test_the_cli_watchdog_of_the_offline_commands_is_checkmks_minute() -> None:
    for command in (["status"], ["dry-run"]):
        assert _hard_limit(_cli(*command)) <= CHECKMK_PLUGIN_TIMEOUT


def test_sync_requests_and_pauses_fit_its_run() -> None:
    default = _cli("sync").max_time
    assert sync_run.HTTP_TIMEOUT + sync_lookup.LIVESTATUS_TIMEOUT < default
    assert sync_run.MAX_PAUSE == MAX_RETRY_AFTER == MAX_PAUSE == 600.0  # docs/delivery.md, docs/sync.md


# --- the rule behind the worst case, observed on the real objects -------------------------------


def _data(timeout: float) -> Dict[str, Any]:
    return {"transport": {"timeout": timeout, "verify": True, "proxy_mode": "none"}}


@pytest.mark.parametrize("timeout, left, first, fits", [
    # the first request of a run gets what is left of the budget ...
    (10.0, 10.5, True, True),
    (10.0, 5.0, True, True),
    (10.0, MIN_EXCHANGE + 0.2, True, True),
    # ... but is not started with less than MIN_EXCHANGE left
    (10.0, MIN_EXCHANGE - 0.2, True, False),
    (10.0, 0.0, True, False),
    (10.0, -1.0, True, False),
    # a later request starts only if its full timeout fits
    (10.0, 10.2, False, True),
    (10.0, 9.8, False, False),
    # a timeout below MIN_EXCHANGE needs just its timeout
    (0.5, 0.7, True, True),
    (0.5, 0.3, True, False),
    (0.5, 0.7, False, True),
    (0.5, 0.3, False, False),
])
def test_a_request_starts_only_if_it_fits_the_rest_of_the_budget(timeout: float, left: float, first: bool,
                                                                 fits: bool) -> None:
    deliverer = Deliverer(60.0)
    deliverer.sent_any = not first
    assert deliverer.fits(_data(timeout), time.monotonic() + left) is fits, (
        "the %s request of a run with a %g s timeout and %g s left %s" % (
            "first" if first else "a later", timeout, left, "must start" if fits else "must not start"))


def _armed_seconds(timeout: float, left: float) -> float:
    """The wall-clock limit the exchange armed for itself, read by the server when the
    request arrives (ITIMER_REAL is per process), so nothing has to time out."""
    seen: List[float] = []
    with EventsServer(on_post=lambda path, body: seen.append(signal.getitimer(signal.ITIMER_REAL)[0])) as server:
        transport = Transport(TransportConfig(timeout, True, Proxy("none", None)))
        try:
            outcome = transport.post_json(server.url + "/api/events", {"alertKey": "k"}, time.monotonic() + left)
        finally:
            transport.close()
    assert outcome.status == "delivered", outcome
    assert len(seen) == 1
    return seen[0]


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"),
                    reason="the exchange's alarm exists only in the main thread")
def test_an_exchange_never_runs_past_the_deadline_it_is_given() -> None:
    # The first request of a run may start with less than its timeout left: it is cut at the deadline.
    armed = _armed_seconds(timeout=10.0, left=3.0)
    assert 0 < armed <= 3.0, "an exchange with 3 s left armed itself for %.2f s" % armed
    # With time to spare it is bounded by its own timeout.
    armed = _armed_seconds(timeout=2.0, left=30.0)
    assert 1.0 < armed <= 2.0, "an exchange with a 2 s timeout armed itself for %.2f s" % armed


def test_an_exchange_is_not_started_with_less_than_min_exchange_left() -> None:
    transport = Transport(TransportConfig(10.0, True, Proxy("none", None)))
    try:
        # No server: a request that were started would fail with "connection refused".
        outcome = transport.post_json("http://127.0.0.1:9/api/events", {}, time.monotonic() + MIN_EXCHANGE / 2)
    finally:
        transport.close()
    assert outcome.not_sent and not outcome.may_have_reached, outcome
    assert outcome.detail == "not sent: the run's time budget is used up"
