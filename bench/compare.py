#!/usr/bin/env python3
"""A/B one figure between two source trees, interleaved: ``bench/compare.py BEFORE AFTER``.

For the "Levers" section of docs/performance.md: copy the repository (``src``,
``notifications``, ``mkp``, ``web``, ``cmk_addons_plugins``) to a temporary
directory, patch the copy, and compare it with the repository::

    .venv/bin/python bench/compare.py . /tmp/patched --figure single --reps 20
    .venv/bin/python bench/compare.py . /tmp/patched --figure single --type FLAPPINGSTART
    .venv/bin/python bench/compare.py . /tmp/patched --figure duplicate --reps 20
    .venv/bin/python bench/compare.py . /tmp/patched --figure contacts --reps 20
    .venv/bin/python bench/compare.py . /tmp/patched --figure bulk --n 1000 --reps 3
    .venv/bin/python bench/compare.py . /tmp/patched --figure storm --reps 3

Runs alternate between the trees (before, after / after, before, ...) so that
drift on the machine hits both alike. Prints the median and every run of both.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import figures  # noqa: E402
from bench.contexts import KEY, Contexts, notify_env  # noqa: E402
from bench.sites import Package, Site, check, timed  # noqa: E402
from bench.standin import StandInProcess  # noqa: E402

Measure = Callable[[Package], float]


def single(standin: StandInProcess, ntype: str, sites: Dict[int, Site]) -> Measure:
    def run(package: Package) -> float:
        site = sites.get(id(package))
        if site is None:
            site = sites[id(package)] = package.new_site("single")
            figures.compile_site(site)
        ctx = Contexts(standin.url, rate_limit=0).one()
        ctx["NOTIFICATIONTYPE"] = ntype
        return check(timed(site.notify_argv(), site.env(notify_env(ctx))), "single").seconds

    return run


def contacts(standin: StandInProcess, sites: Dict[int, Site], which: str) -> Measure:
    """One event for three contacts: ``which`` = "duplicate" times the second call only,
    "set" all three calls (the first delivers)."""
    def run(package: Package) -> float:
        site = sites.get(id(package))
        if site is None:
            site = sites[id(package)] = package.new_site("contacts")
            figures.compile_site(site)
        ctx = Contexts(standin.url, rate_limit=0).one()
        times = [check(timed(site.notify_argv(), site.env(notify_env(dict(ctx, CONTACTNAME=c)))), c).seconds
                 for c in figures.CONTACTS]
        return times[1] if which == "duplicate" else sum(times)

    return run


def bulk(standin: StandInProcess, n: int) -> Measure:
    def run(package: Package) -> float:
        return figures.measure_bulk(package, standin, n, 1.0).seconds

    return run


def storm(n: int) -> Measure:
    def run(package: Package) -> float:
        result = figures.measure_storm(package, n, 50, 1.0)
        print("    storm: %.3f× minimum, first event after %.2f s, %d × 429, %d flush call(s)" % (
            result.ratio, result.first_accept, result.throttled, result.flush_calls))
        return result.seconds

    return run


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/compare.py", description=__doc__.split("\n")[0])
    parser.add_argument("before", type=Path, help="source tree A (e.g. .)")
    parser.add_argument("after", type=Path, help="source tree B (e.g. a patched copy)")
    parser.add_argument("--figure", choices=("single", "duplicate", "contacts", "bulk", "storm"), default="single")
    parser.add_argument("--reps", type=int, default=10, help="runs per tree (default 10)")
    parser.add_argument("--n", type=int, default=1000, help="events for bulk and storm (default 1000)")
    parser.add_argument("--type", default="PROBLEM", help="NOTIFICATIONTYPE for --figure single")
    parser.add_argument("--release", default="2.4")
    args = parser.parse_args(argv)
    times: Dict[str, List[float]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory(prefix="cmk_ilert-compare-") as tmp:
        packages = {
            "before": Package(Path(tmp) / "before", args.release, args.before.resolve()),
            "after": Package(Path(tmp) / "after", args.release, args.after.resolve()),
        }
        with StandInProcess(KEY, rate_limit=0) as standin:
            sites: Dict[int, Site] = {}
            if args.figure == "single":
                measure = single(standin, args.type, sites)
            elif args.figure in ("duplicate", "contacts"):
                measure = contacts(standin, sites, "duplicate" if args.figure == "duplicate" else "set")
            elif args.figure == "bulk":
                measure = bulk(standin, args.n)
            else:
                measure = storm(args.n)
            if args.figure in ("single", "duplicate", "contacts"):
                for name in ("before", "after"):  # warm-up: page cache, the stand-in's first connections
                    measure(packages[name])
            for rep in range(args.reps):
                order = ("before", "after") if rep % 2 == 0 else ("after", "before")
                for name in order:
                    times[name].append(measure(packages[name]))
                    print("  %-6s %8.1f ms" % (name, times[name][-1] * 1000))
    before, after = statistics.median(times["before"]), statistics.median(times["after"])
    print("%s (%s): before %.1f ms, after %.1f ms (median of %d): %+.1f%%" % (
        args.figure, args.type if args.figure == "single" else "N=%d" % args.n if args.figure in ("bulk", "storm")
        else "three contacts", before * 1000, after * 1000,
        args.reps, (after / before - 1) * 100))
    return 0


if __name__ == "__main__":
    sys.exit(main())
