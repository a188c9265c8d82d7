"""The measurements 1-6 (7, the outage, is in ``outage.py``). Each returns plain data;
``report.py`` turns it into the table.

Every measurement checks that the runs did the work (exit codes, the number of
events the stand-in accepted, an empty queue) before it reports a figure.
"""

from __future__ import annotations

import math
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

from .contexts import KEY, Contexts, notify_env
from .sites import SITE_PYTHON, Package, Site, check, peak_rss_kb, timed
from .standin import StandInProcess, accepted


def _ms(seconds: float) -> float:
    return seconds * 1000.0


def compile_site(site: Site) -> None:
    """Write the .pyc files a site's first run would write (see sites.py)."""
    subprocess.run([SITE_PYTHON, "-m", "compileall", "-q", str(site.root / "local" / "lib" / "python3")],
                   check=True, capture_output=True)


def _expect_accepted(standin: StandInProcess, since: int, count: int, what: str) -> List[Dict[str, object]]:
    entries = standin.events(since)
    ok = accepted(entries)
    if len(ok) != count:
        statuses = sorted({str(e.get("status")) for e in entries})
        raise RuntimeError("%s: the stand-in accepted %d of %d events (statuses %s)" % (
            what, len(ok), count, ", ".join(statuses)))
    return ok


# --- 1. single notification vs the floor -------------------------------------------------

@dataclass
class SinglePairs:
    ours: List[float] = field(default_factory=list)
    floor: List[float] = field(default_factory=list)

    @property
    def ratios(self) -> List[float]:
        return [o / f for o, f in zip(self.ours, self.floor)]

    @property
    def median_ours(self) -> float:
        return statistics.median(self.ours)

    @property
    def median_floor(self) -> float:
        return statistics.median(self.floor)

    @property
    def median_ratio(self) -> float:
        return statistics.median(self.ratios)


def measure_single(package: Package, standin: StandInProcess, pairs: int) -> SinglePairs:
    """``pairs`` alternating runs (ours, floor / floor, ours, ...), after one unmeasured warm-up pair."""
    site = package.new_site("single")
    compile_site(site)
    ctxs = Contexts(standin.url, rate_limit=0)
    since = standin.log_size()
    result = SinglePairs()
    for n in range(pairs + 1):
        ours_env = site.env(notify_env(ctxs.one()))
        floor_env = site.env(notify_env(ctxs.one()))
        if n % 2 == 0:
            ours = check(timed(site.notify_argv(), ours_env), "single notification")
            floor = check(timed(site.floor_argv(), floor_env), "floor script")
        else:
            floor = check(timed(site.floor_argv(), floor_env), "floor script")
            ours = check(timed(site.notify_argv(), ours_env), "single notification")
        if n == 0:
            continue  # warm-up pair: page cache, the stand-in's first connections
        result.ours.append(ours.seconds)
        result.floor.append(floor.seconds)
    _expect_accepted(standin, since, 2 * (pairs + 1), "single notifications")
    if site.queued():
        raise RuntimeError("single notifications: %d events left in the outbox" % site.queued())
    return result


# --- 2. bulk vs N single calls --------------------------------------------------------------

@dataclass
class Bulk:
    n: int
    seconds: float
    single_median: float

    @property
    def estimated_singles(self) -> float:
        return self.n * self.single_median

    @property
    def speedup(self) -> float:
        return self.estimated_singles / self.seconds

    @property
    def per_event_ms(self) -> float:
        return _ms(self.seconds) / self.n


def measure_bulk(package: Package, standin: StandInProcess, n: int, single_median: float) -> Bulk:
    site = package.new_site("bulk%d" % n)
    compile_site(site)
    ctxs = Contexts(standin.url, rate_limit=0)
    stdin = ctxs.bulk_stdin(n)
    since = standin.log_size()
    run = check(timed(site.notify_argv(bulk=True), site.env(), stdin), "bulk of %d" % n)
    _expect_accepted(standin, since, n, "bulk of %d" % n)
    if site.queued():
        raise RuntimeError("bulk of %d: %d events left in the outbox" % (n, site.queued()))
    return Bulk(n, run.seconds, single_median)


# --- 3. storm drain under the rate limit -----------------------------------------------------

@dataclass
class Storm:
    n: int
    limit: int
    window: float
    seconds: float  # start of the bulk call -> the stand-in accepted the last event
    first_accept: float  # start of the bulk call -> the stand-in accepted the first event
    bulk_seconds: float
    bulk_returncode: int
    flush_calls: int
    throttled: int  # 429 answers of the stand-in

    @property
    def minimum(self) -> float:
        """Theoretical minimum: the first window's events at once, then one window per further batch."""
        return (math.ceil(self.n / self.limit) - 1) * self.window

    @property
    def ratio(self) -> float:
        return self.seconds / self.minimum if self.minimum > 0 else float("nan")


def measure_storm(package: Package, n: int, limit: int, window: float) -> Storm:
    """One bulk call enqueues all ``n`` events and sends what it can; ``flush`` calls drain the rest."""
    with StandInProcess(KEY, rate_limit=limit, rate_window=window) as standin:
        site = package.new_site("storm")
        compile_site(site)
        ctxs = Contexts(standin.url, rate_limit=limit)
        env = site.env({"CMK_ILERT_RATE_WINDOW": repr(window)})
        stdin = ctxs.bulk_stdin(n)
        start = time.monotonic()
        bulk = timed(site.notify_argv(bulk=True), env, stdin)
        if bulk.returncode not in (0, 1):
            check(bulk, "storm bulk call")
        flushes = 0
        while site.queued() and flushes < 20:
            flushes += 1
            flush = timed(site.cli_argv("flush", "--max-time", "600"), env)
            if flush.returncode not in (0, 1):
                check(flush, "flush")
        if site.queued():
            raise RuntimeError("storm: %d events still queued after %d flush calls" % (site.queued(), flushes))
        entries = standin.events(0)
        ok = _expect_accepted(standin, 0, n, "storm drain")
        times = [float(str(e["mono"])) for e in ok]
        throttled = sum(1 for e in entries if e.get("status") == 429)
    return Storm(n, limit, window, max(times) - start, min(times) - start, bulk.seconds, bulk.returncode,
                 flushes, throttled)


# --- 4. peak RSS -----------------------------------------------------------------------------

@dataclass
class Memory:
    wrapper_kb: int  # the wrapper around /bin/true: the floor of the method
    python_kb: int  # `python -c pass`: the bare interpreter with site-packages
    floor_kb: List[int]
    single_kb: List[int]
    bulk_n: int
    bulk_kb: int

    @property
    def floor_median(self) -> float:
        return statistics.median(self.floor_kb)

    @property
    def single_median(self) -> float:
        return statistics.median(self.single_kb)

    @property
    def single_ratio(self) -> float:
        return self.single_median / self.floor_median

    @property
    def bulk_ratio(self) -> float:
        return self.bulk_kb / self.floor_median


def measure_memory(package: Package, standin: StandInProcess, runs: int, bulk_n: int) -> Memory:
    site = package.new_site("rss")
    compile_site(site)
    ctxs = Contexts(standin.url, rate_limit=0)
    check(timed(site.notify_argv(), site.env(notify_env(ctxs.one()))), "warm-up")
    wrapper = peak_rss_kb(["/bin/true"], site.env())
    python = peak_rss_kb([sys.executable, "-c", "pass"], site.env())
    floor: List[int] = []
    single: List[int] = []
    for _ in range(runs):
        floor.append(peak_rss_kb(site.floor_argv(), site.env(notify_env(ctxs.one()))))
        single.append(peak_rss_kb(site.notify_argv(), site.env(notify_env(ctxs.one()))))
    bulk_site = package.new_site("rss-bulk")
    compile_site(bulk_site)
    bulk = peak_rss_kb(bulk_site.notify_argv(bulk=True), bulk_site.env(), ctxs.bulk_stdin(bulk_n))
    if bulk_site.queued():
        raise RuntimeError("rss bulk: %d events left in the outbox" % bulk_site.queued())
    return Memory(wrapper, python, floor, single, bulk_n, bulk)


# --- 5. import time ----------------------------------------------------------------------------

@dataclass
class ImportLine:
    name: str
    level: int
    self_us: int
    cumulative_us: int


def parse_importtime(stderr: str) -> List[ImportLine]:
    """The lines of ``python -X importtime``: ``import time: self | cumulative | <indent>name``."""
    out: List[ImportLine] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:"):].split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        raw = parts[2].rstrip()
        level = (len(raw) - len(raw.lstrip()) - 1) // 2
        out.append(ImportLine(raw.strip(), level, int(parts[0]), int(parts[1])))
    return out


@dataclass
class ImportProfile:
    """Medians over the runs, in milliseconds."""

    runs: int
    top: List[Tuple[str, float]]  # top-level imports by cumulative time
    self_ms: Dict[str, float]  # every module's own time
    total_ms: float  # everything imported, interpreter startup included

    def cumulative(self, prefix: str) -> float:
        return sum(ms for name, ms in self.top if name == prefix or name.startswith(prefix + "."))


def _profile(runs: List[List[ImportLine]]) -> ImportProfile:
    top: Dict[str, List[float]] = {}
    own: Dict[str, List[float]] = {}
    totals: List[float] = []
    for lines in runs:
        totals.append(sum(line.self_us for line in lines) / 1000.0)
        for line in lines:
            own.setdefault(line.name, []).append(line.self_us / 1000.0)
            if line.level == 0:
                top.setdefault(line.name, []).append(line.cumulative_us / 1000.0)
    ranked = sorted(((name, statistics.median(v)) for name, v in top.items()), key=lambda x: -x[1])
    return ImportProfile(len(runs), ranked, {k: statistics.median(v) for k, v in own.items()},
                         statistics.median(totals))


@dataclass
class Imports:
    ours: ImportProfile
    floor: ImportProfile

    def ours_only(self) -> List[Tuple[str, float]]:
        """Modules our single call imports and the floor does not, by own time."""
        only = [(n, ms) for n, ms in self.ours.self_ms.items() if n not in self.floor.self_ms]
        return sorted(only, key=lambda x: -x[1])


def measure_imports(package: Package, standin: StandInProcess, runs: int) -> Imports:
    site = package.new_site("importtime")
    compile_site(site)
    ctxs = Contexts(standin.url, rate_limit=0)
    check(timed(site.notify_argv(), site.env(notify_env(ctxs.one()))), "warm-up")
    ours: List[List[ImportLine]] = []
    floor: List[List[ImportLine]] = []
    for _ in range(runs):
        run = check(timed([SITE_PYTHON, "-X", "importtime", *site.notify_argv()[1:]],
                          site.env(notify_env(ctxs.one()))), "single notification (importtime)")
        ours.append(parse_importtime(run.stderr))
        run = check(timed([SITE_PYTHON, "-X", "importtime", *site.floor_argv()[1:]],
                          site.env(notify_env(ctxs.one()))), "floor script (importtime)")
        floor.append(parse_importtime(run.stderr))
    return Imports(_profile(ours), _profile(floor))


# --- 6. one event for three contacts: duplicate and ignored calls -------------------------------

CONTACTS = ("alice", "bob", "carol")
#: An ignored notification for an ``api`` rule: flapping with ``comment_events`` off.
IGNORED = {"NOTIFICATIONTYPE": "FLAPPINGSTART", "PARAMETER_COMMENT_EVENTS": "False"}


@dataclass
class Duplicates:
    """Checkmk calls the script once per contact. Per rep: our three calls of one event
    (the first delivers, the others are duplicates), the floor's three posts of it, and one
    ignored call of ours. Seconds."""

    ours: List[List[float]] = field(default_factory=list)  # per rep: the calls in contact order
    floor: List[List[float]] = field(default_factory=list)  # per rep: the three posts
    ignored: List[float] = field(default_factory=list)

    @property
    def set_ratios(self) -> List[float]:
        return [sum(o) / sum(f) for o, f in zip(self.ours, self.floor)]

    @property
    def set_ratio(self) -> float:
        return statistics.median(self.set_ratios)

    @property
    def floor_post(self) -> float:
        return statistics.median([t for rep in self.floor for t in rep])

    @property
    def first(self) -> float:
        return statistics.median([rep[0] for rep in self.ours])

    @property
    def duplicate(self) -> float:
        return statistics.median([t for rep in self.ours for t in rep[1:]])

    @property
    def duplicate_ratio(self) -> float:
        return self.duplicate / self.floor_post

    @property
    def ignored_ratio(self) -> float:
        return statistics.median(self.ignored) / self.floor_post


def measure_duplicates(package: Package, standin: StandInProcess, reps: int) -> Duplicates:
    """``reps`` alternating rounds (ours first in even rounds), after one unmeasured warm-up round."""
    site = package.new_site("contacts")
    compile_site(site)
    ctxs = Contexts(standin.url, rate_limit=0)
    since = standin.log_size()
    result = Duplicates()

    def ours(ctx: Dict[str, str]) -> List[float]:
        times = []
        for n, contact in enumerate(CONTACTS):
            run = check(timed(site.notify_argv(), site.env(notify_env(dict(ctx, CONTACTNAME=contact)))),
                        "call for contact %s" % contact)
            expected = "delivered" if n == 0 else "duplicate of an event already delivered"
            if expected not in run.stdout:
                raise RuntimeError("call for contact %s: %r" % (contact, run.stdout))
            times.append(run.seconds)
        return times

    def floor(ctx: Dict[str, str]) -> List[float]:
        return [check(timed(site.floor_argv(), site.env(notify_env(dict(ctx, CONTACTNAME=contact)))),
                      "floor post").seconds for contact in CONTACTS]

    def ignored() -> float:
        run = check(timed(site.notify_argv(), site.env(notify_env(dict(ctxs.one(), **IGNORED)))), "ignored call")
        if "ignored" not in run.stdout:
            raise RuntimeError("ignored call: %r" % run.stdout)
        return run.seconds

    for n in range(reps + 1):
        ctx = ctxs.one()
        if n % 2 == 0:
            o, f, i = ours(ctx), floor(ctx), ignored()
        else:
            i, f, o = ignored(), floor(ctx), ours(ctx)
        if n == 0:
            continue  # warm-up round
        result.ours.append(o)
        result.floor.append(f)
        result.ignored.append(i)
    _expect_accepted(standin, since, (reps + 1) * (1 + len(CONTACTS)), "three contacts")
    if site.queued():
        raise RuntimeError("three contacts: %d events left in the outbox" % site.queued())
    return result
