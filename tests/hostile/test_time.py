"""Issue 9, item 1: time is bounded, whatever the network does.

``timeout`` is the wall-clock limit of one whole exchange (resolve, connect to every address,
TLS, all reads); the answer is read up to a small cap; the run budget is checked before every
request; ``notify`` ends before Checkmk's 60 s kill with the event queued; ``flush --max-time``
is a hard bound and a hanging key does not starve the others; ``heartbeat`` and ``test`` are
bounded and overlapping heartbeats do not pile up; a stuck run is ended by the watchdog.
Before the fix a drip or an endless body kept ``notify`` running indefinitely (each socket read
had its own timeout) and every resolved address got the whole connect timeout.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.hostile.conftest import (
    CHECKMK_LIMIT,
    SLACK,
    T,
    load,
    memory_limit,
    no_crash,
    notification,
    posted,
    rewrite,
    run,
    start,
    wait_for,
)
from tests.support.hostile import BlackHole, DripBody, DripHeaders, EndlessBody, Silent, SlowTLS
from tests.support.site import KEY_API, runtime_python

pytestmark = pytest.mark.runtime

SERVERS = {
    "drip-headers": (lambda: DripHeaders(interval=0.25), "timeout after 2s"),
    "drip-body": (lambda: DripBody(interval=0.25), "timeout after 2s"),
    "endless-body": (lambda: EndlessBody(), "not an iLert answer"),
    "endless-chunked-body": (lambda: EndlessBody(chunked=True), "not an iLert answer"),
    "silent": (Silent, "timeout after 2s"),
    "slow-tls": (SlowTLS, "timeout after 2s"),
    "black-hole": (BlackHole, "timeout after 2s"),
}
#: Peak RSS a notification run may reach; the endless body once took 4 GB.
MAX_RSS_MB = 300.0
RESOLVE = ("import socket; print(len({i[4][0] for i in socket.getaddrinfo(%r, 80, type=socket.SOCK_STREAM)}))")
#: Bytes an endless body may push into the client: the 64 KiB cap plus socket buffers.
MAX_PUSHED = 32 << 20


@pytest.mark.parametrize("kind", sorted(SERVERS))
def test_one_exchange_ends_within_its_timeout(site, kind):
    """A single notification against each hostile server: one line, exit 1, the event queued
    with its error, and the run over within ``timeout`` (plus process start)."""
    factory, reason = SERVERS[kind]
    with factory() as server:
        result = run(site, context=notification(server.url, timeout=str(T)), preexec=[memory_limit(2048)])
        pushed = sum(a.sent for a in server.arrivals)
    no_crash(result)
    assert result.returncode == 1, result.output
    assert len(result.lines) == 1 and reason in result.output, result.output
    assert result.elapsed < T + SLACK, "the run took %.1fs at timeout %gs" % (result.elapsed, T)
    (entry,) = site.queue()
    assert load(entry)["attempts"] == 1 and reason in load(entry)["last_error"]
    assert result.maxrss_mb < MAX_RSS_MB
    assert pushed < MAX_PUSHED, "the client read %d bytes of an answer" % pushed


def _hosts_file(tmp_path: Path, name: str, addresses) -> Path:
    path = tmp_path / "hosts"
    path.write_text("127.0.0.1 localhost\n" + "".join("%s %s\n" % (a, name) for a in addresses))
    return path


def test_black_holed_addresses_share_one_timeout(site, namespace, tmp_path):
    """A host name with six addresses that all black-hole the connect: before the fix each
    address got the whole connect timeout (6 x timeout); now the exchange ends at ``timeout``."""
    addresses = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "::1")
    prefix = namespace({"/etc/hosts": _hosts_file(tmp_path, "ilert.hostile.test", addresses)})
    with BlackHole(hosts=addresses) as hole:
        check = subprocess.run([*prefix, runtime_python(), "-c", RESOLVE % "ilert.hostile.test"],
                               capture_output=True, text=True, timeout=30)
        assert check.stdout.split() == ["6"], "the private hosts file is not in use: %r" % check
        result = run(site, context=notification(hole.url_for("ilert.hostile.test"), timeout=str(T)), prefix=prefix)
    no_crash(result)
    assert result.returncode == 1 and "timeout after 2s" in result.output, result.output
    assert result.elapsed < T + SLACK, "six addresses took %.1fs at timeout %gs" % (result.elapsed, T)


def test_a_resolver_that_never_answers_costs_at_most_the_timeout(site, namespace, silent_dns, tmp_path):
    """The system resolver asks a DNS server that never answers (30 s per try, 3 tries): the
    lookup is abandoned when the exchange's time is up."""
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver %s\noptions timeout:30 attempts:3\n" % silent_dns.address)
    prefix = namespace({"/etc/resolv.conf": resolv})
    result = run(site, context=notification("http://ilert.hostile.invalid:8080", timeout=str(T)), prefix=prefix)
    no_crash(result)
    assert silent_dns.queries >= 1, "the resolver never asked the silent DNS server"
    assert result.returncode == 1 and ("DNS" in result.output or "timeout after 2s" in result.output), result.output
    assert result.elapsed < T + SLACK, "the lookup took %.1fs at timeout %gs" % (result.elapsed, T)
    assert len(site.queue()) == 1


def test_flush_max_time_is_a_hard_bound_and_a_hanging_key_does_not_starve_others(site, standin):
    """Key A (older) hangs (drip), key B waits behind it. The first flush ends at --max-time
    with A rescheduled; a concurrent cron flush exits at once; the next flush delivers B."""
    with DripHeaders(interval=0.25) as drip:
        first = run(site, context=notification(drip.url, host="hang01", n=0, timeout="1"))
        assert first.returncode == 1, first.output
        standin.stop()
        second = run(site, context=notification(standin.url, host="good01", n=1, timeout="1"))
        assert second.returncode == 1, second.output
        standin.start()
        for path in site.queue():
            rewrite(path, next_attempt=0, **{"transport.timeout": 20})
        flush = start(site, "flush", "--max-time", "3")
        wait_for(lambda: len(drip.arrivals) >= 2, what="the flush's request to the hanging key")
        overlap = run(site, "flush", "--max-time", "3", timeout=10)
        result = flush.finish(CHECKMK_LIMIT, "flush --max-time 3")
    no_crash(result)
    assert overlap.returncode == 0 and "another flush is running" in overlap.output, overlap.output
    assert result.elapsed < 3 + SLACK, "flush --max-time 3 took %.1fs" % result.elapsed
    hanging = [load(p) for p in site.queue() if "hang01" in load(p)["alert_key"]]
    assert hanging and hanging[0]["attempts"] == 2, "the hanging key was not rescheduled with backoff"
    later = run(site, "flush", "--max-time", "3")
    no_crash(later)
    assert [e for e in posted(standin) if "good01" in str(e["body"])], later.output
    assert later.elapsed < 3 + SLACK
    assert [load(p)["alert_key"] for p in site.queue()] == ["cmk/mysite/hang01/cpu load~48811e190f"]


def test_heartbeat_is_bounded_and_overlapping_runs_do_not_pile_up(site, tmp_path):
    with DripHeaders(interval=0.25) as drip:
        url_file = tmp_path / "heartbeat_url"
        url_file.write_text(drip.url + "/api/heartbeats/il1hbt-TEST-HEARTBEAT-0001\n")
        url_file.chmod(0o600)
        args = ("heartbeat", "--url-file", str(url_file), "--timeout", str(T))
        first = start(site, *args)
        wait_for(lambda: len(drip.arrivals) >= 1, what="the first heartbeat's request")
        second = run(site, *args, timeout=10)
        result = first.finish(CHECKMK_LIMIT, "heartbeat")
        arrivals = len(drip.arrivals)
    no_crash(second)
    no_crash(result)
    assert second.returncode == 0 and "another heartbeat is running" in second.output, second.output
    assert second.elapsed < SLACK
    assert result.returncode == 1 and "timeout" in result.output, result.output
    assert result.elapsed < T + SLACK, "heartbeat --timeout 2 took %.1fs" % result.elapsed
    assert arrivals == 1, "overlapping heartbeats both pinged"


def test_test_command_is_bounded(site, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(KEY_API)
    with DripHeaders(interval=0.25) as drip:
        result = run(site, "test", "--key-file", str(key_file), "--source-type", "api", "--url", drip.url,
                     "--timeout", str(T))
    no_crash(result)
    assert result.returncode == 1, result.output
    assert result.elapsed < 2 * T + SLACK, "test --timeout 2 took %.1fs" % result.elapsed


def test_a_heartbeat_url_file_that_is_a_fifo_does_not_hang(site, tmp_path):
    fifo = tmp_path / "heartbeat_url"
    os.mkfifo(fifo)
    result = run(site, "heartbeat", "--url-file", str(fifo), timeout=20)
    no_crash(result)
    assert result.returncode == 2 and "heartbeat URL file" in result.output, result.output


# --- long runs: the real budget (45 s), the watchdogs -------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["silent", "drip-headers"])
def test_a_single_notification_at_timeout_50_ends_before_checkmk_kills_it(site, kind):
    """timeout 50 is above the run's budget: the first request gets what is left of 45 s."""
    factory, _ = SERVERS[kind]
    with factory() as server:
        result = run(site, context=notification(server.url, timeout="50"))
    no_crash(result)
    assert result.returncode == 1 and len(site.queue()) == 1, result.output
    assert result.elapsed < CHECKMK_LIMIT, "the run took %.1fs" % result.elapsed


@pytest.mark.slow
@pytest.mark.parametrize("timeout", ["10", "50"])
def test_a_bulk_to_a_silent_server_ends_before_checkmk_kills_it(site, timeout):
    """Five alert keys, each request hangs: later requests start only if a full timeout fits."""
    with Silent() as server:
        bulk = [notification(server.url, host="bulk%02d" % n, n=n, timeout=timeout) for n in range(5)]
        result = run(site, bulk=bulk)
        started = len(server.arrivals)
    no_crash(result)
    assert result.returncode == 1, result.output
    assert len(site.queue()) == 5, "every event of the bulk is safely queued"
    assert result.elapsed < CHECKMK_LIMIT, "the bulk took %.1fs" % result.elapsed
    # 45 s budget: at timeout 10 four requests (the fifth would end after 50 s), at 50 one (cut at 45 s)
    assert started == {"10": 4, "50": 1}[timeout], "%d requests were started" % started


@pytest.mark.slow
def test_two_black_holed_addresses_at_timeout_50_end_before_checkmk_kills_it(site, namespace, tmp_path):
    """Two addresses at timeout 50 took 100 s before the fix."""
    addresses = ("127.0.0.2", "::1")
    prefix = namespace({"/etc/hosts": _hosts_file(tmp_path, "ilert.hostile.test", addresses)})
    with BlackHole(hosts=addresses) as hole:
        result = run(site, context=notification(hole.url_for("ilert.hostile.test"), timeout="50"), prefix=prefix,
                     timeout=CHECKMK_LIMIT + 60)
    no_crash(result)
    assert result.returncode == 1 and len(site.queue()) == 1, result.output
    assert result.elapsed < CHECKMK_LIMIT, "the run took %.1fs" % result.elapsed


@pytest.mark.slow
def test_the_watchdog_ends_a_stuck_notification_run(site):
    """Stdin of a bulk call never closes: the last-resort watchdog ends the run at 55 s,
    with one line and exit 1, before Checkmk's kill."""
    process = start(site, keep_stdin_open=True, raw_stdin=b"")
    result = process.finish(CHECKMK_LIMIT + 10, "the stuck notification run")
    assert result.returncode == 1, result.output
    assert result.elapsed < CHECKMK_LIMIT
    assert len(result.lines) == 1 and "stopped after 55s" in result.output, result.output


@pytest.mark.slow
def test_every_cli_command_has_a_watchdog(site, tmp_path):
    """``test`` reads its key file; a FIFO nobody writes blocks the open: the command's watchdog
    (2 x timeout + 10 s) ends it with one line."""
    fifo = tmp_path / "key"
    os.mkfifo(fifo)
    result = run(site, "test", "--key-file", str(fifo), "--timeout", "1", timeout=40)
    assert result.returncode == 1, result.output
    assert "test stopped after 12s" in result.output, result.output
    assert result.elapsed < 12 + SLACK
